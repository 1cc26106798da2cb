//! The account management system (the bank): accounts and test cards, real-name checks, and the
//! card binding lifecycle (begin → one-time code → confirm with a device key → unbind).
//!
//! Rules the bank applies, in order:
//! - **begin**: blank fields → `BAD_REQUEST`; card number 13–19 digits with a valid Luhn digit
//!   (`INVALID_CARD_NUMBER`); phone 11 digits, optional `+86` (`INVALID_PHONE`); card on file
//!   (`UNKNOWN_CARD`); card not blocked (`CARD_NOT_ELIGIBLE`); holder name exact after trimming
//!   (`NAME_MISMATCH`); ID number the full ID or a suffix of ≥ 4 characters, `X` in any case
//!   (`ID_MISMATCH`); phone equal to the one on file (`PHONE_MISMATCH`). Then a session is opened
//!   and the SMS channel sends a code.
//! - **confirm**: request shape first (blank fields, code not 6 digits, device key not a SEC1
//!   uncompressed P-256 point → `BAD_REQUEST`, without spending a try); session known
//!   (`SESSION_NOT_FOUND`); same `device_id` as begin (`BAD_REQUEST`); the one-time code
//!   (`OTP_WRONG` / `OTP_LOCKED` / `OTP_EXPIRED`); then the binding is created. Confirming an
//!   already-confirmed session with the same device key and code answers the same binding; with
//!   another device key it answers `BAD_REQUEST` (a session binds one key, once).
//! - **unbind**: binding known (`BINDING_NOT_FOUND`); signature by the registered device key over
//!   [`unbind_signing_message`] (`SIGNATURE_INVALID`); timestamp within ±[`UNBIND_WINDOW_SECS`]
//!   (`REPLAY`); nonce never seen for this binding (`REPLAY`); binding still active
//!   (`BINDING_REVOKED`). The nonce is remembered once the signature and timestamp pass.

pub mod accounts;
pub mod credit;
pub mod debit;
mod routes;
pub mod test_cards;
pub mod validate;

pub use accounts::Account;
pub use credit::{Credit, CreditError};
pub use debit::{Debit, DebitError};
pub use routes::routes;

use crate::error::ApiError;
use crate::persist::{Store, StoreError, Table};
use crate::sms::{mask_phone, normalize_phone, SmsChannel};
use serde::{Deserialize, Serialize};
use std::sync::{Mutex, PoisonError};
use test_cards::AccountStatus;
use wallet_core::backend::api::{
    unbind_signing_message, BeginBindingRequest, BeginBindingResponse, BindingRecord,
    BindingStatus, ConfirmBindingRequest, UnbindRequest,
};
use wallet_core::crypto::{ecdsa, random};

/// Accepted distance between an unbind request's timestamp and the bank's clock, in seconds.
pub const UNBIND_WINDOW_SECS: u64 = 300;
/// Longest accepted free-text field (names, device ids, nonces…), in characters.
pub const MAX_FIELD_CHARS: usize = 256;

/// A binding attempt between begin and confirm.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct BindingSession {
    pan: String,
    device_id: String,
    code_id: String,
    created_at: u64,
    /// Set once confirmed: the binding this session created.
    binding_id: Option<String>,
}

/// A binding with what the bank keeps beside the public record.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredBinding {
    record: BindingRecord,
    pan: String,
    device_id: String,
    /// SEC1 uncompressed point, lowercase hex.
    device_public_key: String,
}

/// A binding with its account and registered device key ([`Bank::binding_account`]).
#[derive(Clone)]
pub struct BoundAccount {
    /// The bank's public record (status, masked PAN, issuer).
    pub record: BindingRecord,
    /// The registered device public key (SEC1 uncompressed P-256 point).
    pub device_public_key: Vec<u8>,
    /// The account (PAN, phone on file, balance, issuer).
    pub account: Account,
}

impl BoundAccount {
    /// Whether the binding is active.
    pub fn is_active(&self) -> bool {
        self.record.status == BindingStatus::Active
    }
}

impl std::fmt::Debug for BoundAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BoundAccount")
            .field("binding_id", &self.record.binding_id)
            .field("masked_pan", &self.record.masked_pan)
            .field("status", &self.record.status)
            .finish_non_exhaustive()
    }
}

/// The bank's state and rules.
#[derive(Debug)]
pub struct Bank {
    accounts: Table<Account>,
    sessions: Table<BindingSession>,
    bindings: Table<StoredBinding>,
    nonces: Table<u64>,
    /// Debits by reference ([`Bank::debit`]).
    debits: Table<Debit>,
    /// Credits by reference ([`Bank::credit`]).
    credits: Table<credit::Credit>,
    /// Serialises read-modify-write of sessions, bindings and balances.
    lock: Mutex<()>,
}

impl Bank {
    /// Opens the bank's state in `store`, adding any test card not yet on file.
    pub fn open(store: &Store) -> Result<Self, StoreError> {
        let bank = Self {
            accounts: store.table("bank.accounts")?,
            sessions: store.table("bank.sessions")?,
            bindings: store.table("bank.bindings")?,
            nonces: store.table("bank.unbind_nonces")?,
            debits: store.table("bank.debits")?,
            credits: store.table("bank.credits")?,
            lock: Mutex::new(()),
        };
        for card in &test_cards::ALL {
            bank.accounts
                .put_if_absent(card.pan, &Account::from(card))?;
        }
        Ok(bank)
    }

    /// The account behind card number `pan`, if on file.
    pub fn account(&self, pan: &str) -> Result<Option<Account>, StoreError> {
        self.accounts.get(pan)
    }

    /// Checks the card and the holder's data, then sends a one-time code to the phone on file.
    pub fn begin(
        &self,
        request: &BeginBindingRequest,
        sms: &SmsChannel,
        now: u64,
    ) -> Result<BeginBindingResponse, ApiError> {
        let pan = required("pan", &request.pan)?;
        let holder_name = required("holder_name", &request.holder_name)?;
        let id_number = required("id_number", &request.id_number)?;
        let phone = required("phone", &request.phone)?;
        let device_id = required("device_id", &request.device_id)?;
        if !validate::is_valid_pan(pan) {
            return Err(ApiError::InvalidCardNumber(
                "card number must be 13 to 19 digits with a valid Luhn check digit".into(),
            ));
        }
        let phone = normalize_phone(phone).ok_or_else(|| {
            ApiError::InvalidPhone("phone must be 11 digits starting with 1, optionally +86".into())
        })?;
        let account = self.accounts.get(pan)?.ok_or(ApiError::UnknownCard)?;
        if account.status != AccountStatus::Active {
            return Err(ApiError::CardNotEligible(
                "the card is blocked by its issuer".into(),
            ));
        }
        if holder_name != account.holder_name {
            return Err(ApiError::NameMismatch);
        }
        if !validate::id_matches(id_number, &account.id_number) {
            return Err(ApiError::IdMismatch);
        }
        if phone != account.phone {
            return Err(ApiError::PhoneMismatch);
        }
        let last4 = pan.get(pan.len().saturating_sub(4)..).unwrap_or_default();
        let purpose = format!("绑定尾号{last4}的银行卡");
        let sent = sms.send_code(&phone, &account.issuer_name, &purpose, now)?;
        let session_id = random::hex_id(16)?;
        let session = BindingSession {
            pan: pan.to_owned(),
            device_id: device_id.to_owned(),
            code_id: sent.code_id,
            created_at: now,
            binding_id: None,
        };
        self.sessions.put(&session_id, &session)?;
        Ok(BeginBindingResponse {
            binding_session_id: session_id,
            masked_pan: validate::mask_pan(pan),
            account_kind: account.kind,
            otp_sent_to: mask_phone(&phone),
            otp_expires_at: sent.expires_at,
        })
    }

    /// Checks the one-time code and registers the device key; answers the binding.
    pub fn confirm(
        &self,
        request: &ConfirmBindingRequest,
        sms: &SmsChannel,
        now: u64,
    ) -> Result<BindingRecord, ApiError> {
        let session_id = required("binding_session_id", &request.binding_session_id)?;
        let otp = required("otp", &request.otp)?;
        let device_id = required("device_id", &request.device_id)?;
        let key_hex = required("device_public_key", &request.device_public_key)?;
        if !crate::sms::otp::is_well_formed(otp) {
            return Err(ApiError::BadRequest("otp must be exactly 6 digits".into()));
        }
        let device_key = validate::parse_device_key(key_hex).ok_or_else(|| {
            ApiError::BadRequest(
                "device_public_key must be a hex SEC1 uncompressed P-256 point (65 bytes, 04…)"
                    .into(),
            )
        })?;
        let device_key = hex::encode(device_key);

        let _guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        let mut session = self
            .sessions
            .get(session_id)?
            .ok_or(ApiError::SessionNotFound)?;
        if session.device_id != device_id {
            return Err(ApiError::BadRequest(
                "device_id does not match the begin request".into(),
            ));
        }
        if let Some(binding_id) = &session.binding_id {
            let stored = self.stored_binding(binding_id)?;
            if stored.device_public_key != device_key {
                return Err(ApiError::BadRequest(
                    "this binding session was already confirmed with another device key".into(),
                ));
            }
            sms.verify(&session.code_id, otp, now)?;
            return Ok(stored.record);
        }
        sms.verify(&session.code_id, otp, now)?;
        let account = self
            .accounts
            .get(&session.pan)?
            .ok_or_else(|| ApiError::Internal("account of a binding session vanished".into()))?;
        let record = BindingRecord {
            binding_id: random::hex_id(16)?,
            account_token: random::hex_id(16)?,
            masked_pan: validate::mask_pan(&account.pan),
            account_kind: account.kind,
            holder_name_masked: validate::mask_name(&account.holder_name),
            issuer_name: account.issuer_name.clone(),
            status: BindingStatus::Active,
            created_at: now,
        };
        let stored = StoredBinding {
            record: record.clone(),
            pan: account.pan,
            device_id: device_id.to_owned(),
            device_public_key: device_key,
        };
        self.bindings.put(&record.binding_id, &stored)?;
        session.binding_id = Some(record.binding_id.clone());
        self.sessions.put(session_id, &session)?;
        tracing::info!(binding_id = %record.binding_id, masked_pan = %record.masked_pan, "card bound");
        Ok(record)
    }

    /// The binding `binding_id` as the bank knows it.
    pub fn binding(&self, binding_id: &str) -> Result<BindingRecord, ApiError> {
        Ok(self.stored_binding(binding_id)?.record)
    }

    /// Revokes `binding_id` after checking the device's signature, timestamp and nonce.
    pub fn unbind(
        &self,
        binding_id: &str,
        request: &UnbindRequest,
        now: u64,
    ) -> Result<BindingRecord, ApiError> {
        let nonce = required("nonce", &request.nonce)?;
        if nonce.len() != request.nonce.len() || !nonce.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ApiError::BadRequest("nonce must be hex".into()));
        }
        let signature = hex::decode(required("signature", &request.signature)?)
            .map_err(|_| ApiError::BadRequest("signature must be hex (ASN.1 DER)".into()))?;

        let _guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        let mut stored = self.stored_binding(binding_id)?;
        let device_key = hex::decode(&stored.device_public_key)
            .map_err(|_| ApiError::Internal("stored device key is not hex".into()))?;
        let message = unbind_signing_message(binding_id, request.timestamp, nonce);
        ecdsa::verify_p256(&device_key, &message, &signature)
            .map_err(|_| ApiError::SignatureInvalid)?;
        if now.abs_diff(request.timestamp) > UNBIND_WINDOW_SECS {
            return Err(ApiError::Replay(format!(
                "timestamp {} is more than {UNBIND_WINDOW_SECS} s from the bank's time {now}",
                request.timestamp
            )));
        }
        let nonce_key = format!("{binding_id}/{}", nonce.to_ascii_lowercase());
        if !self.nonces.put_if_absent(&nonce_key, &now)? {
            return Err(ApiError::Replay(
                "nonce already used for this binding".into(),
            ));
        }
        if stored.record.status == BindingStatus::Revoked {
            return Err(ApiError::BindingRevoked);
        }
        stored.record.status = BindingStatus::Revoked;
        self.bindings.put(binding_id, &stored)?;
        tracing::info!(%binding_id, "binding revoked");
        Ok(stored.record)
    }

    /// The binding `binding_id` with what another entity of the mock world needs to act for it
    /// (the remote payment system): its account and registered device key, whatever its status.
    /// `None` if unknown.
    pub fn binding_account(&self, binding_id: &str) -> Result<Option<BoundAccount>, ApiError> {
        let Some(stored) = self.bindings.get(binding_id)? else {
            return Ok(None);
        };
        let device_public_key = hex::decode(&stored.device_public_key)
            .map_err(|_| ApiError::Internal("stored device key is not hex".into()))?;
        let account = self
            .accounts
            .get(&stored.pan)?
            .ok_or_else(|| ApiError::Internal("account of a binding vanished".into()))?;
        Ok(Some(BoundAccount {
            record: stored.record,
            device_public_key,
            account,
        }))
    }

    fn stored_binding(&self, binding_id: &str) -> Result<StoredBinding, ApiError> {
        self.bindings
            .get(binding_id)?
            .ok_or(ApiError::BindingNotFound)
    }
}

/// `value` trimmed; blank or overlong → `BAD_REQUEST` naming the field.
fn required<'a>(field: &str, value: &'a str) -> Result<&'a str, ApiError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(ApiError::BadRequest(format!("{field} must not be blank")));
    }
    if trimmed.chars().count() > MAX_FIELD_CHARS {
        return Err(ApiError::BadRequest(format!(
            "{field} is longer than {MAX_FIELD_CHARS} characters"
        )));
    }
    Ok(trimmed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use wallet_core::crypto::ecdsa::P256SigningKey;

    #[test]
    fn binding_account_answers_the_account_and_the_device_key(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let store = Store::open(None)?;
        let (bank, sms) = (Bank::open(&store)?, SmsChannel::open(&store)?);
        assert!(bank.binding_account("nope")?.is_none());
        let card = test_cards::DEBIT;
        let begun = bank.begin(
            &BeginBindingRequest {
                pan: card.pan.into(),
                holder_name: card.holder_name.into(),
                id_number: card.id_number.into(),
                phone: card.phone.into(),
                device_id: "d1".into(),
            },
            &sms,
            100,
        )?;
        let code = sms.outbox(card.phone)?.pop().ok_or("no code")?.code;
        let key = P256SigningKey::generate()?;
        let record = bank.confirm(
            &ConfirmBindingRequest {
                binding_session_id: begun.binding_session_id,
                otp: code.into(),
                device_public_key: hex::encode(key.public_key_sec1()),
                device_id: "d1".into(),
            },
            &sms,
            101,
        )?;
        let bound = bank
            .binding_account(&record.binding_id)?
            .ok_or("binding not found")?;
        assert!(bound.is_active());
        assert_eq!(bound.device_public_key, key.public_key_sec1());
        assert_eq!(
            (bound.account.pan.as_str(), bound.account.phone.as_str()),
            (card.pan, card.phone)
        );
        assert!(
            !format!("{bound:?}").contains(card.pan),
            "Debug must not show the PAN"
        );
        Ok(())
    }
}
