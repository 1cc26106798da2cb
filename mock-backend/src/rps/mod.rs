//! The remote payment system (RPS): verifies signed payment messages
//! ([`wallet_core::backend::api::remote`]), authenticates the payer (SE applet signature, or
//! device key plus payment password or SMS code), debits the account through the bank once per
//! order, marks the order paid at the payment content platform ([`crate::merchant`]) and records
//! the payment for clearing.
//!
//! # Payments (`POST /rps/v1/payments`), checks in this order
//! 1. request shape: [`PaymentMessage::validate`](wallet_core::backend::api::remote::PaymentMessage::validate),
//!    nonce lowercase hex of 16–128 characters, signature hex → `BAD_REQUEST`;
//! 2. binding known and active (`BINDING_NOT_FOUND`, `BINDING_REVOKED`);
//! 3. order known (`ORDER_NOT_FOUND`), not expired (`ORDER_EXPIRED`), not paid
//!    (`ORDER_ALREADY_PAID`), merchant, amount and currency equal to the order's (`ORDER_MISMATCH`);
//! 4. timestamp within ±`PAYMENT_WINDOW_SECS` of the mock world's clock and nonce never accepted
//!    for the binding (`REPLAY`);
//! 5. credential mode equal to `message.auth` and well formed (`BAD_REQUEST`);
//! 6. signature (`SIGNATURE_INVALID`): the device key registered at binding for `password` and
//!    `sms`; for `se` the SE payment applet's key the TSM registered for the binding and SE
//!    (`SE_KEY_NOT_REGISTERED` if none), ECDSA P-256 or SM2 (user ID `1234567812345678`);
//! 7. **the nonce is now spent** — whatever the password or code turns out to be, this signed
//!    message can never be submitted again: a wrong password or code needs a new message (new
//!    nonce, new proof), so one captured message never buys more than one guess;
//! 8. password proof (`PASSWORD_NOT_SET`, `PASSWORD_WRONG` with `attempts_left`,
//!    `PASSWORD_LOCKED` — see [`password`]) or SMS code of a challenge for this order and binding
//!    (`CHALLENGE_NOT_FOUND`, `OTP_WRONG`, `OTP_LOCKED`, `OTP_EXPIRED`; a code already used
//!    answers `OTP_EXPIRED`);
//! 9. debit through the bank with reference `rps/{order_id}` (`INSUFFICIENT_FUNDS`, 402, the order
//!    stays pending; a blocked account `CARD_NOT_ELIGIBLE`);
//! 10. order marked paid and merchant notified, clearing entry recorded (channel
//!     `remote_payment`, terminal `RPS`, the acquirer of [`crate::acquirer::merchants`], the
//!     issuer named by its BIN), receipt stored.
//!
//! Steps 2–10 run under one lock per order, so concurrent submissions for one order pay it once.
//! A payment is identified by its order (`pay_…` with the order's suffix) and every step after
//! the debit is keyed by it, so a crash between steps never charges twice: the next accepted
//! message for the order finds the bank's debit already done and completes the rest. A retried
//! request with the same `Idempotency-Key` is answered the first answer by the middleware; the
//! same message under a new key finds the order paid (`ORDER_ALREADY_PAID`).
//!
//! # Device-signed requests
//! Password registration, SMS challenges and history reads are signed by the binding's device
//! key (see [`wallet_core::backend::api::remote::DeviceSigned`] for the signed messages) and go
//! through one check (`device::verify`), in this order: shape (binding id not blank, nonce,
//! signature hex → `BAD_REQUEST`) → binding known and active (`BINDING_NOT_FOUND`,
//! `BINDING_REVOKED`) → device-key signature (`SIGNATURE_INVALID`) → timestamp window and nonce
//! (`REPLAY`; nonces are shared with payments: a nonce is accepted once per binding, whatever
//! it signed). Nothing changes before the signature verified.
//!
//! # Passwords (`POST /rps/v1/passwords`)
//! Verifier 32 bytes of hex → device-signed request checks → verifier sealed, attempt count
//! reset.
//!
//! # SMS challenges (`POST /rps/v1/sms-challenges`)
//! Order id not blank → device-signed request checks → order payable → a code from the SMS
//! channel ([`crate::sms`]: 6 digits, 300 s, 5 tries) to the phone the bank has on file for the
//! account.
//!
//! # History (`POST /rps/v1/payments/history`)
//! Device-signed request checks → the binding's receipts, newest first. A `POST` with a signed
//! JSON body (not a `GET` with headers) so every device-signed request has one shape; the
//! `Idempotency-Key` header is optional here (a retry with the same key is answered the same
//! list; the same body under another key is a `REPLAY`).

mod challenge;
mod device;
pub mod error;
mod locks;
pub mod password;
mod payment;
mod routes;

pub use error::RemoteError;
pub use password::set_password;
pub use payment::pay;
pub use routes::routes;

use crate::bank::BoundAccount;
use crate::persist::{Store, StoreError, Table};
use crate::state::AppState;
use challenge::ChallengeRecord;
use locks::KeyedLocks;
use password::Passwords;
use wallet_core::backend::api::remote::{
    is_well_formed_nonce, PaymentReceipt, PAYMENT_WINDOW_SECS,
};
pub use wallet_core::backend::api::remote::{MAX_NONCE_CHARS, MIN_NONCE_CHARS};
/// Terminal identification of remote payments in clearing entries.
pub const CLEARING_TERMINAL_ID: &str = "RPS";

/// The remote payment system's state.
#[derive(Debug)]
pub struct Rps {
    passwords: Passwords,
    challenges: Table<ChallengeRecord>,
    /// Accepted nonces, keyed `{binding_id}/{nonce}`, valued with the time of acceptance.
    nonces: Table<u64>,
    /// Receipts by payment id.
    receipts: Table<PaymentReceipt>,
    /// Payment ids keyed `{binding_id}/{sequence:020}`.
    history: Table<String>,
    store: Store,
    order_locks: KeyedLocks,
}

impl Rps {
    /// Opens the RPS's state in `store`.
    pub fn open(store: &Store) -> Result<Self, StoreError> {
        Ok(Self {
            passwords: Passwords::open(store)?,
            challenges: store.table("rps.sms_challenges")?,
            nonces: store.table("rps.nonces")?,
            receipts: store.table("rps.receipts")?,
            history: store.table("rps.history")?,
            store: store.clone(),
            order_locks: KeyedLocks::default(),
        })
    }

    /// The payment passwords.
    pub fn passwords(&self) -> &Passwords {
        &self.passwords
    }

    /// The receipt of payment `payment_id`, if accepted.
    pub fn receipt(&self, payment_id: &str) -> Result<Option<PaymentReceipt>, StoreError> {
        self.receipts.get(payment_id)
    }

    /// The receipts of `binding_id`, newest first.
    pub fn history(&self, binding_id: &str) -> Result<Vec<PaymentReceipt>, StoreError> {
        let ids = self.history.scan_prefix(format!("{binding_id}/"))?;
        let mut receipts = Vec::with_capacity(ids.len());
        for id in ids.iter().rev() {
            if let Some(receipt) = self.receipts.get(id)? {
                receipts.push(receipt);
            }
        }
        Ok(receipts)
    }

    /// Stores `receipt` once; a receipt already stored for its payment is answered instead.
    fn store_receipt(&self, receipt: PaymentReceipt) -> Result<PaymentReceipt, StoreError> {
        if !self.receipts.put_if_absent(&receipt.payment_id, &receipt)? {
            if let Some(first) = self.receipts.get(&receipt.payment_id)? {
                return Ok(first);
            }
        }
        let key = format!("{}/{:020}", receipt.binding_id, self.store.next_id()?);
        self.history.put(key, &receipt.payment_id)?;
        Ok(receipt)
    }

    /// `REPLAY` unless `nonce` was never accepted for `binding_id`.
    fn nonce_unseen(&self, binding_id: &str, nonce: &str) -> Result<(), RemoteError> {
        if self.nonces.contains(nonce_key(binding_id, nonce))? {
            return Err(replayed_nonce());
        }
        Ok(())
    }

    /// Spends `nonce` for `binding_id` (`REPLAY` if it already was).
    fn spend_nonce(&self, binding_id: &str, nonce: &str, now: u64) -> Result<(), RemoteError> {
        if !self
            .nonces
            .put_if_absent(nonce_key(binding_id, nonce), &now)?
        {
            return Err(replayed_nonce());
        }
        Ok(())
    }
}

/// The payment that pays `order_id` (one per order: `ord_X` → `pay_X`).
pub fn payment_id_of(order_id: &str) -> String {
    format!("pay_{}", order_id.strip_prefix("ord_").unwrap_or(order_id))
}

/// The bank's debit reference of the payment of `order_id`.
pub fn debit_reference(order_id: &str) -> String {
    format!("rps/{order_id}")
}

fn nonce_key(binding_id: &str, nonce: &str) -> String {
    format!("{binding_id}/{nonce}")
}

fn replayed_nonce() -> RemoteError {
    RemoteError::Replay("nonce already used for this binding".into())
}

/// `REPLAY` unless `timestamp` is within ±[`PAYMENT_WINDOW_SECS`] of `now`.
fn check_window(timestamp: u64, now: u64) -> Result<(), RemoteError> {
    if now.abs_diff(timestamp) > PAYMENT_WINDOW_SECS {
        return Err(RemoteError::Replay(format!(
            "timestamp {timestamp} is more than {PAYMENT_WINDOW_SECS} s from the RPS time {now}"
        )));
    }
    Ok(())
}

/// `BAD_REQUEST` unless `nonce` is lowercase hex of [`MIN_NONCE_CHARS`]–[`MAX_NONCE_CHARS`].
fn check_nonce_shape(nonce: &str) -> Result<(), RemoteError> {
    if !is_well_formed_nonce(nonce) {
        return Err(RemoteError::BadRequest(format!(
            "nonce must be {MIN_NONCE_CHARS} to {MAX_NONCE_CHARS} lowercase hex characters"
        )));
    }
    Ok(())
}

/// Decodes a hex signature (`BAD_REQUEST` if not hex or empty).
fn decode_signature(signature: &str) -> Result<Vec<u8>, RemoteError> {
    match hex::decode(signature.trim()) {
        Ok(bytes) if !bytes.is_empty() => Ok(bytes),
        _ => Err(RemoteError::BadRequest(
            "signature must be non-empty hex".into(),
        )),
    }
}

/// The binding `binding_id`, which must exist and be active.
fn active_binding(world: &AppState, binding_id: &str) -> Result<BoundAccount, RemoteError> {
    let bound = world
        .bank()
        .binding_account(binding_id)?
        .ok_or(RemoteError::BindingNotFound)?;
    if !bound.is_active() {
        return Err(RemoteError::BindingRevoked);
    }
    Ok(bound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_windows_and_ids() {
        assert!(check_nonce_shape("00112233445566778899aabbccddeeff").is_ok());
        for bad in [
            "001122334455667",
            "00112233445566778899AABB",
            "0011223344556677zz",
            "",
        ] {
            assert!(
                matches!(check_nonce_shape(bad), Err(RemoteError::BadRequest(_))),
                "{bad}"
            );
        }
        assert!(check_nonce_shape(&"a".repeat(129)).is_err());
        assert!(check_window(1_000, 1_300).is_ok() && check_window(1_300, 1_000).is_ok());
        assert!(matches!(
            check_window(1_000, 1_301),
            Err(RemoteError::Replay(_))
        ));
        assert!(matches!(
            check_window(1_301, 1_000),
            Err(RemoteError::Replay(_))
        ));
        assert_eq!(payment_id_of("ord_00ff"), "pay_00ff");
        assert_eq!(debit_reference("ord_00ff"), "rps/ord_00ff");
        assert!(decode_signature("zz").is_err() && decode_signature("").is_err());
        assert_eq!(decode_signature("0a0B").ok(), Some(vec![0x0a, 0x0b]));
    }

    #[test]
    fn nonces_are_spent_once_per_binding() -> Result<(), Box<dyn std::error::Error>> {
        let rps = Rps::open(&Store::open(None)?)?;
        rps.nonce_unseen("b1", "n")?;
        rps.spend_nonce("b1", "n", 1)?;
        assert!(matches!(
            rps.nonce_unseen("b1", "n"),
            Err(RemoteError::Replay(_))
        ));
        assert!(matches!(
            rps.spend_nonce("b1", "n", 2),
            Err(RemoteError::Replay(_))
        ));
        rps.spend_nonce("b2", "n", 2)?;
        Ok(())
    }
}
