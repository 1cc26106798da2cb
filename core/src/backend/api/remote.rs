//! Wire types of remote (in-app) payment: the payment content platform (merchant orders) and the
//! remote payment system (RPS) that verifies signed payment messages and debits the account.
//! Served by the mock backend's `merchant` and `rps` modules.
//!
//! Endpoints (merchant = payment content platform):
//! - `POST {PATH_MERCHANT_ORDERS}` [`CreateOrderRequest`] (with an `Idempotency-Key`) → [`Order`].
//! - `GET  {PATH_MERCHANT_ORDERS}/{order_id}` → [`Order`] (its status tells the merchant the result).
//! - `GET  {PATH_MERCHANT_NOTIFICATIONS}?merchant_id=…` → [`MerchantNotifications`]: the payment
//!   results the platform pushed to the merchant, oldest first.
//!
//! Endpoints (remote payment system), every `POST` with an `Idempotency-Key` (optional for the
//! history read):
//! - `POST {PATH_RPS_PASSWORDS}` [`SetPasswordRequest`] → [`PasswordStatus`]: registers (or
//!   replaces) the binding's payment-password verifier.
//! - `POST {PATH_RPS_SMS_CHALLENGES}` [`SmsChallengeRequest`] → [`SmsChallenge`]: sends a
//!   one-time code for one order to the binding's phone.
//! - `POST {PATH_RPS_PAYMENTS}` [`PaymentRequest`] → [`PaymentReceipt`].
//! - `POST {PATH_RPS_PAYMENT_HISTORY}` [`PaymentHistoryRequest`] → [`PaymentHistory`], newest
//!   first. A `POST` (not a `GET`) because the request is signed and spends a nonce.
//!
//! The password, SMS-challenge and history requests are signed by the binding's device key
//! (timestamp, nonce, signature: see [`DeviceSigned`] for the signed messages), so nobody who
//! merely knows a binding id can send SMS codes to its phone or read its payments.
//!
//! ## The payment message
//! The phone signs [`PaymentMessage::canonical_bytes`]: UTF-8 lines `key=value` joined by `\n`
//! (no trailing newline) in exactly this order:
//! `openwallet/remote-pay/v1`, `order_id`, `merchant_id`, `amount` (decimal minor units),
//! `currency` (ISO 4217 alphabetic, e.g. `CNY`), `binding_id`, `auth` (`se`, `password`, `sms`),
//! `se_id` (empty unless `auth=se`), `timestamp` (Unix seconds, decimal), `nonce` (lowercase hex,
//! [`MIN_NONCE_CHARS`]–[`MAX_NONCE_CHARS`] characters).
//! Every value is restricted to printable ASCII without `=` or newline ([`PaymentMessage::validate`]),
//! so the encoding is unambiguous.
//!
//! Signatures, by [`AuthMode`]:
//! - `se`: the SE payment applet's key, created on the card during card opening: ECDSA P-256 /
//!   SHA-256 (ASN.1 DER) when the card profile is 3DES, SM2 with SM3 and the default user ID
//!   `1234567812345678` (`r ‖ s`, 64 bytes) when it is SM4. The applet signs only after the
//!   user's PIN verified on the card.
//! - `password` and `sms`: the binding's device key (ECDSA P-256 / SHA-256, DER) registered at
//!   binding, plus the password proof or the SMS code.
//!
//! The password never leaves the phone: the phone derives
//! [`password_verifier`] `= PBKDF2-HMAC-SHA256(password, salt = "openwallet/pay-password/v1/" ‖
//! binding_id, 100 000 iterations, 32 bytes)`, registers it once (signed by the device key) and
//! proves it per payment with [`password_proof`] `= HMAC-SHA256(verifier, canonical message)`.
//! The RPS keeps only the verifier, sealed.
//!
//! The RPS accepts a message when: the order is pending and not expired; merchant, amount and
//! currency match the order; the timestamp is within ±[`PAYMENT_WINDOW_SECS`]; the nonce is new
//! for the binding; the signature verifies; the password proof or SMS code is right. Then it
//! debits the account once per order, marks the order paid, notifies the merchant and records the
//! payment for clearing ([`super::clearing::ClearingChannel::RemotePayment`]).

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

mod signed;

pub use signed::{
    history_signing_message, password_signing_message, sms_challenge_signing_message, DeviceProof,
    DeviceSigned, PaymentHistoryRequest, SetPasswordRequest, SmsChallengeRequest,
    HISTORY_SIGNING_VERSION, PASSWORD_SIGNING_VERSION, SMS_CHALLENGE_SIGNING_VERSION,
};

/// Path of the merchant order endpoint (`POST` to create, `GET …/{order_id}` to read).
pub const PATH_MERCHANT_ORDERS: &str = "/merchant/v1/orders";
/// Path of the merchant notifications (`GET ?merchant_id=…`).
pub const PATH_MERCHANT_NOTIFICATIONS: &str = "/merchant/v1/notifications";
/// Path of the payment-password registration.
pub const PATH_RPS_PASSWORDS: &str = "/rps/v1/passwords";
/// Path of the SMS challenge endpoint.
pub const PATH_RPS_SMS_CHALLENGES: &str = "/rps/v1/sms-challenges";
/// Path of the payment endpoint (`POST` to pay).
pub const PATH_RPS_PAYMENTS: &str = "/rps/v1/payments";
/// Path of the signed payment-history read (`POST` [`PaymentHistoryRequest`]).
pub const PATH_RPS_PAYMENT_HISTORY: &str = "/rps/v1/payments/history";
/// Shortest accepted nonce, hex characters (64 bits).
pub const MIN_NONCE_CHARS: usize = 16;
/// Longest accepted nonce, hex characters.
pub const MAX_NONCE_CHARS: usize = 128;
/// Accepted distance between a payment message's timestamp and the RPS clock, in seconds.
pub const PAYMENT_WINDOW_SECS: u64 = 300;
/// Wrong passwords in a row before the binding's password is locked.
pub const PASSWORD_MAX_ATTEMPTS: u32 = 5;
/// PBKDF2 iterations of [`password_verifier`].
pub const PASSWORD_PBKDF2_ITERATIONS: u32 = 100_000;
/// First line of every payment message.
pub const PAYMENT_MESSAGE_VERSION: &str = "openwallet/remote-pay/v1";
/// SM2 user ID of SE signatures (GM/T 0009 default).
pub const SM2_DEFAULT_USER_ID: &[u8] = b"1234567812345678";

/// Where a merchant order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Waiting for payment.
    Pending,
    /// Paid (once; `payment_id` says by which payment).
    Paid,
    /// Its expiry passed unpaid.
    Expired,
}

/// A merchant asks the payment content platform for an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateOrderRequest {
    /// The merchant (must be known to the platform; the mock's are the acquirer's merchants
    /// `898310058120001` 模拟便利店 and `898310058120002` 模拟咖啡馆).
    pub merchant_id: String,
    /// Amount in minor units (fen), at least 1.
    pub amount: u64,
    /// ISO 4217 alphabetic currency (`CNY`).
    pub currency: String,
    /// What is bought (1–128 characters).
    pub description: String,
    /// Seconds until the order expires (default 900, at most one day).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in_secs: Option<u64>,
}

/// An order as the platform knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    /// The platform's order identifier.
    pub order_id: String,
    /// The merchant.
    pub merchant_id: String,
    /// The merchant's display name.
    pub merchant_name: String,
    /// Amount, minor units.
    pub amount: u64,
    /// ISO 4217 alphabetic currency.
    pub currency: String,
    /// What is bought.
    pub description: String,
    /// Unix time (seconds) of creation.
    pub created_at: u64,
    /// Unix time (seconds) after which it cannot be paid.
    pub expires_at: u64,
    /// Where it stands.
    pub status: OrderStatus,
    /// The payment that paid it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_id: Option<String>,
}

/// A result the platform told the merchant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MerchantNotification {
    /// The order.
    pub order_id: String,
    /// Its new status.
    pub status: OrderStatus,
    /// The payment, when paid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_id: Option<String>,
    /// Amount, minor units.
    pub amount: u64,
    /// Unix time (seconds) of the notification.
    pub notified_at: u64,
}

/// The notifications of one merchant, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MerchantNotifications {
    /// Notifications.
    pub notifications: Vec<MerchantNotification>,
}

/// How the payer proves themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMode {
    /// SE mode: the SE payment applet signs after verifying the PIN.
    Se,
    /// Non-SE mode: device key + payment password.
    Password,
    /// Non-SE mode: device key + SMS one-time code.
    Sms,
}

impl AuthMode {
    /// The wire name (`se`, `password`, `sms`), as signed.
    pub const fn as_str(self) -> &'static str {
        match self {
            AuthMode::Se => "se",
            AuthMode::Password => "password",
            AuthMode::Sms => "sms",
        }
    }
}

/// The signed content of a remote payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentMessage {
    /// The order paid.
    pub order_id: String,
    /// Its merchant.
    pub merchant_id: String,
    /// Its amount, minor units.
    pub amount: u64,
    /// Its currency (ISO 4217 alphabetic).
    pub currency: String,
    /// The binding (account) that pays.
    pub binding_id: String,
    /// How the payer proves themselves.
    pub auth: AuthMode,
    /// The SE whose applet signs (`auth = se`), else empty.
    #[serde(default)]
    pub se_id: String,
    /// Unix time (seconds) the phone built the message.
    pub timestamp: u64,
    /// Random lowercase hex ([`MIN_NONCE_CHARS`]–[`MAX_NONCE_CHARS`] characters), never
    /// accepted twice per binding.
    pub nonce: String,
}

/// Whether `nonce` is lowercase hex of [`MIN_NONCE_CHARS`]–[`MAX_NONCE_CHARS`] characters, the
/// only nonces the RPS accepts (in payment messages and device-signed requests).
pub fn is_well_formed_nonce(nonce: &str) -> bool {
    (MIN_NONCE_CHARS..=MAX_NONCE_CHARS).contains(&nonce.len())
        && nonce
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A field of a [`PaymentMessage`] cannot be encoded unambiguously.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("payment message field `{0}` is malformed (empty, outside printable ASCII, `=`, or a nonce that is not 16–128 lowercase hex)")]
pub struct MessageFieldError(pub &'static str);

impl PaymentMessage {
    /// Checks that every text field is printable ASCII without `=` (and non-empty, but for
    /// `se_id` when not in SE mode), so [`Self::canonical_bytes`] is unambiguous, and that the
    /// nonce is one the RPS accepts ([`is_well_formed_nonce`]), so the phone refuses locally what
    /// the RPS would refuse.
    pub fn validate(&self) -> Result<(), MessageFieldError> {
        let ok = |v: &str| v.bytes().all(|b| (0x21..=0x7E).contains(&b) && b != b'=');
        for (name, value) in [
            ("order_id", &self.order_id),
            ("merchant_id", &self.merchant_id),
            ("currency", &self.currency),
            ("binding_id", &self.binding_id),
            ("nonce", &self.nonce),
        ] {
            if value.is_empty() || !ok(value) {
                return Err(MessageFieldError(name));
            }
        }
        let se_needed = self.auth == AuthMode::Se;
        if !ok(&self.se_id) || se_needed == self.se_id.is_empty() {
            return Err(MessageFieldError("se_id"));
        }
        if !is_well_formed_nonce(&self.nonce) {
            return Err(MessageFieldError("nonce"));
        }
        Ok(())
    }

    /// The exact bytes signed (see the module documentation).
    pub fn canonical_bytes(&self) -> Vec<u8> {
        format!(
            "{PAYMENT_MESSAGE_VERSION}\norder_id={}\nmerchant_id={}\namount={}\ncurrency={}\n\
             binding_id={}\nauth={}\nse_id={}\ntimestamp={}\nnonce={}",
            self.order_id,
            self.merchant_id,
            self.amount,
            self.currency,
            self.binding_id,
            self.auth.as_str(),
            self.se_id,
            self.timestamp,
            self.nonce,
        )
        .into_bytes()
    }
}

/// The payer's proof beside the signature. `Debug` never shows an SMS code (it is zeroized on
/// drop and shows as `Zeroizing { .. }`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum PaymentCredential {
    /// SE mode: the applet's signature is the proof (the PIN was verified on the card).
    Se,
    /// [`password_proof`] over the canonical message, lowercase hex.
    Password {
        /// HMAC-SHA256(verifier, canonical message), hex.
        proof: String,
    },
    /// The SMS code of a challenge for this order.
    Sms {
        /// From [`SmsChallenge::challenge_id`].
        challenge_id: String,
        /// The 6-digit code (a plain JSON string on the wire).
        code: Zeroizing<String>,
    },
}

/// Submit a remote payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentRequest {
    /// The signed content.
    pub message: PaymentMessage,
    /// Signature over [`PaymentMessage::canonical_bytes`], hex (format per [`AuthMode`]).
    pub signature: String,
    /// The payer's proof; its mode must equal `message.auth`.
    pub credential: PaymentCredential,
}

/// Where a payment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    /// The account was debited and the order paid.
    Succeeded,
}

/// A payment the RPS accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentReceipt {
    /// The RPS's identifier of the payment.
    pub payment_id: String,
    /// The order paid.
    pub order_id: String,
    /// The merchant.
    pub merchant_id: String,
    /// The merchant's display name.
    pub merchant_name: String,
    /// Amount, minor units.
    pub amount: u64,
    /// Currency (ISO 4217 alphabetic).
    pub currency: String,
    /// The binding that paid.
    pub binding_id: String,
    /// The paying card, masked.
    pub masked_pan: String,
    /// How the payer proved themselves.
    pub auth: AuthMode,
    /// Where it stands.
    pub status: PaymentStatus,
    /// Unix time (seconds) it was accepted.
    pub paid_at: u64,
    /// The clearing day (`YYYY-MM-DD`, Beijing time) it was recorded in.
    pub clearing_date: String,
}

/// A binding's payments as the RPS knows them, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentHistory {
    /// Payments.
    pub payments: Vec<PaymentReceipt>,
}

/// The binding's password state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordStatus {
    /// The binding.
    pub binding_id: String,
    /// Unix time (seconds) the current verifier was registered.
    pub set_at: u64,
    /// Wrong passwords left before lock-out.
    pub attempts_left: u32,
}

/// A code was sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmsChallenge {
    /// Names the challenge in [`PaymentCredential::Sms`].
    pub challenge_id: String,
    /// Masked phone (`138****5678`).
    pub sent_to: String,
    /// Unix time (seconds) after which the code is refused.
    pub expires_at: u64,
}

/// The password verifier of `binding_id` (see the module documentation).
pub fn password_verifier(password: &str, binding_id: &str) -> Zeroizing<[u8; 32]> {
    let mut out = Zeroizing::new([0u8; 32]);
    let salt = format!("openwallet/pay-password/v1/{binding_id}");
    ring::pbkdf2::derive(
        ring::pbkdf2::PBKDF2_HMAC_SHA256,
        std::num::NonZeroU32::new(PASSWORD_PBKDF2_ITERATIONS).unwrap_or(std::num::NonZeroU32::MIN),
        salt.as_bytes(),
        password.as_bytes(),
        &mut out[..],
    );
    out
}

/// The password proof of one payment message: HMAC-SHA256(verifier, canonical bytes).
pub fn password_proof(verifier: &[u8], canonical_message: &[u8]) -> [u8; 32] {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, verifier);
    let tag = ring::hmac::sign(&key, canonical_message);
    let mut out = [0u8; 32];
    out.copy_from_slice(tag.as_ref());
    out
}

/// Checks a password proof in constant time.
pub fn verify_password_proof(verifier: &[u8], canonical_message: &[u8], proof: &[u8]) -> bool {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, verifier);
    ring::hmac::verify(&key, canonical_message, proof).is_ok()
}

/// Stable error codes of remote payment (beside [`super::codes`]: `SIGNATURE_INVALID`, `REPLAY`,
/// `OTP_WRONG`, `OTP_LOCKED`, `OTP_EXPIRED`, `BINDING_NOT_FOUND`, `BINDING_REVOKED`, …).
pub mod codes {
    /// Unknown merchant (404).
    pub const MERCHANT_NOT_FOUND: &str = "MERCHANT_NOT_FOUND";
    /// Unknown order (404).
    pub const ORDER_NOT_FOUND: &str = "ORDER_NOT_FOUND";
    /// The order expired (410).
    pub const ORDER_EXPIRED: &str = "ORDER_EXPIRED";
    /// The order is already paid by another payment (409).
    pub const ORDER_ALREADY_PAID: &str = "ORDER_ALREADY_PAID";
    /// Merchant, amount or currency of the message differ from the order (422).
    pub const ORDER_MISMATCH: &str = "ORDER_MISMATCH";
    /// The account cannot cover the amount (402).
    pub const INSUFFICIENT_FUNDS: &str = "INSUFFICIENT_FUNDS";
    /// No payment password registered for the binding (409).
    pub const PASSWORD_NOT_SET: &str = "PASSWORD_NOT_SET";
    /// Wrong password; `attempts_left` says how many remain (401).
    pub const PASSWORD_WRONG: &str = "PASSWORD_WRONG";
    /// Too many wrong passwords: locked until a new password is registered (423).
    pub const PASSWORD_LOCKED: &str = "PASSWORD_LOCKED";
    /// No SE payment key is registered for this binding and SE (409).
    pub const SE_KEY_NOT_REGISTERED: &str = "SE_KEY_NOT_REGISTERED";
    /// Unknown SMS challenge, or one for another order or binding (404).
    pub const CHALLENGE_NOT_FOUND: &str = "CHALLENGE_NOT_FOUND";
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(auth: AuthMode) -> PaymentMessage {
        PaymentMessage {
            order_id: "ord-1".into(),
            merchant_id: "M0001".into(),
            amount: 1234,
            currency: "CNY".into(),
            binding_id: "b-1".into(),
            auth,
            se_id: if auth == AuthMode::Se {
                "0102".into()
            } else {
                String::new()
            },
            timestamp: 1_700_000_000,
            nonce: "00112233445566778899".into(),
        }
    }

    #[test]
    fn canonical_bytes_are_the_documented_lines() {
        let m = message(AuthMode::Password);
        assert!(m.validate().is_ok());
        assert_eq!(
            String::from_utf8(m.canonical_bytes()).unwrap(),
            "openwallet/remote-pay/v1\norder_id=ord-1\nmerchant_id=M0001\namount=1234\n\
             currency=CNY\nbinding_id=b-1\nauth=password\nse_id=\ntimestamp=1700000000\n\
             nonce=00112233445566778899"
        );
    }

    #[test]
    fn ambiguous_fields_are_refused() {
        let mut m = message(AuthMode::Sms);
        m.order_id = "a\nb".into();
        assert_eq!(m.validate(), Err(MessageFieldError("order_id")));
        let mut m = message(AuthMode::Sms);
        m.merchant_id = "x=y".into();
        assert_eq!(m.validate(), Err(MessageFieldError("merchant_id")));
        let mut m = message(AuthMode::Se);
        m.se_id.clear();
        assert_eq!(m.validate(), Err(MessageFieldError("se_id")));
        let mut m = message(AuthMode::Sms);
        m.se_id = "0102".into();
        assert_eq!(m.validate(), Err(MessageFieldError("se_id")));
        assert!(message(AuthMode::Se).validate().is_ok());
    }

    #[test]
    fn nonces_must_be_what_the_rps_accepts() {
        for good in ["0011223344556677", &"ab".repeat(64)] {
            let mut m = message(AuthMode::Password);
            m.nonce = good.to_string();
            assert!(m.validate().is_ok(), "{good}");
        }
        for bad in [
            "001122334455667",
            "00112233445566778899AABB",
            "0011223344556677zz",
            "0011223344556677-",
            &"a".repeat(129),
        ] {
            let mut m = message(AuthMode::Password);
            m.nonce = bad.to_string();
            assert_eq!(m.validate(), Err(MessageFieldError("nonce")), "{bad}");
            assert!(!is_well_formed_nonce(bad));
        }
    }

    #[test]
    fn password_proof_round_trips_and_depends_on_everything() {
        let v = password_verifier("135790", "b-1");
        assert_ne!(*v, *password_verifier("135790", "b-2"), "salted by binding");
        assert_ne!(*v, *password_verifier("135791", "b-1"));
        let bytes = message(AuthMode::Password).canonical_bytes();
        let proof = password_proof(&v[..], &bytes);
        assert!(verify_password_proof(&v[..], &bytes, &proof));
        let mut other = message(AuthMode::Password);
        other.amount += 1;
        assert!(!verify_password_proof(
            &v[..],
            &other.canonical_bytes(),
            &proof
        ));
    }

    #[test]
    fn credential_json_is_tagged_by_mode() {
        let c = PaymentCredential::Sms {
            challenge_id: "c1".into(),
            code: Zeroizing::new("123456".into()),
        };
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(json["mode"], "sms");
        assert_eq!(json["code"], "123456");
        let debug = format!("{c:?}");
        assert!(!debug.contains("123456") && debug.contains("c1"), "{debug}");
        assert_eq!(
            serde_json::from_value::<PaymentCredential>(json).unwrap(),
            c
        );
        assert_eq!(
            serde_json::to_value(PaymentCredential::Se).unwrap()["mode"],
            "se"
        );
    }
}
