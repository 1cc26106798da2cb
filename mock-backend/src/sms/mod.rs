//! The SMS access channel: one-time codes sent to a phone, checked once, then gone.
//!
//! Codes are 6 digits from the secure RNG, valid for [`CODE_TTL_SECS`] by the mock world's clock,
//! and lock after [`MAX_WRONG_ATTEMPTS`] wrong tries. They are stored only as SHA-256 with a
//! per-code random salt — except in the **test-only outbox**, which stands for the handset that
//! receives the message: `GET /test/sms/outbox?phone=…` lets tests and the CLI demo read the
//! delivered text. A real SMS gateway has no such endpoint.

pub mod otp;

use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::persist::{Store, StoreError, Table};
use crate::state::AppState;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use std::sync::{Mutex, PoisonError};
use wallet_core::backend::api::{SmsMessage, SmsOutbox, PATH_TEST_SMS_OUTBOX};
use wallet_core::crypto::{random, CryptoError};

/// Seconds a code stays valid after it is sent.
pub const CODE_TTL_SECS: u64 = 300;
/// Wrong tries that lock a code (the last one answers "locked", not "wrong").
pub const MAX_WRONG_ATTEMPTS: u32 = 5;

/// Sending a code failed.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The random number generator failed.
    #[error(transparent)]
    Rng(#[from] CryptoError),
    /// The state could not be stored.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<SendError> for ApiError {
    fn from(err: SendError) -> Self {
        Self::Internal(format!("sms: {err}"))
    }
}

/// Checking a code failed.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// Wrong code; this many tries remain.
    #[error("wrong code, {attempts_left} left")]
    Wrong {
        /// Tries left before the code locks.
        attempts_left: u32,
    },
    /// Too many wrong tries.
    #[error("code locked")]
    Locked,
    /// Past its expiry time.
    #[error("code expired")]
    Expired,
    /// No code with this id.
    #[error("unknown code")]
    Unknown,
    /// The state could not be read or stored.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<VerifyError> for ApiError {
    fn from(err: VerifyError) -> Self {
        match err {
            VerifyError::Wrong { attempts_left } => Self::OtpWrong { attempts_left },
            VerifyError::Locked => Self::OtpLocked,
            VerifyError::Expired => Self::OtpExpired,
            VerifyError::Unknown => Self::Internal("one-time code record missing".into()),
            VerifyError::Store(err) => err.into(),
        }
    }
}

/// A code that was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentCode {
    /// Identifies the code in [`SmsChannel::verify`].
    pub code_id: String,
    /// Unix time (seconds) after which the code is refused.
    pub expires_at: u64,
}

/// How a code verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verified {
    /// First successful use: the code is now consumed.
    Fresh,
    /// The code had already been used successfully (a retry of the same confirmation).
    AlreadyUsed,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct CodeRecord {
    phone: String,
    salt_hex: String,
    hash_hex: String,
    expires_at: u64,
    wrong_attempts: u32,
    consumed: bool,
}

/// The SMS channel: issues codes, checks them, and keeps the test-only outbox.
#[derive(Debug)]
pub struct SmsChannel {
    store: Store,
    codes: Table<CodeRecord>,
    outbox: Table<SmsMessage>,
    lock: Mutex<()>,
}

impl SmsChannel {
    /// Opens the channel's state in `store`.
    pub fn open(store: &Store) -> Result<Self, StoreError> {
        Ok(Self {
            store: store.clone(),
            codes: store.table("sms.codes")?,
            outbox: store.table("sms.outbox")?,
            lock: Mutex::new(()),
        })
    }

    /// Sends a fresh code to `phone` (11 digits) signed by `sender`, mentioning `purpose`.
    pub fn send_code(
        &self,
        phone: &str,
        sender: &str,
        purpose: &str,
        now: u64,
    ) -> Result<SentCode, SendError> {
        let code = otp::generate_code()?;
        let salt = random::bytes::<16>()?;
        let code_id = random::hex_id(16)?;
        let expires_at = now.saturating_add(CODE_TTL_SECS);
        let record = CodeRecord {
            phone: phone.to_owned(),
            salt_hex: hex::encode(salt),
            hash_hex: hex::encode(otp::hash_code(&salt, &code)),
            expires_at,
            wrong_attempts: 0,
            consumed: false,
        };
        self.codes.put(&code_id, &record)?;
        let minutes = CODE_TTL_SECS / 60;
        let message = SmsMessage {
            phone: phone.to_owned(),
            text: format!(
                "【{sender}】验证码{code}，用于{purpose}，{minutes}分钟内有效，请勿泄露。"
            ),
            code,
            sent_at: now,
        };
        // Zero-padded sequence numbers keep each phone's messages in sending order.
        let seq = self.store.next_id()?;
        self.outbox.put(format!("{phone}/{seq:020}"), &message)?;
        tracing::info!(phone = %mask_phone(phone), "one-time code sent");
        Ok(SentCode {
            code_id,
            expires_at,
        })
    }

    /// Checks `candidate` against code `code_id` at time `now`.
    ///
    /// A locked code stays locked; an unused code past its expiry is refused; a wrong candidate
    /// counts a try and the [`MAX_WRONG_ATTEMPTS`]th locks the code. A code already used
    /// successfully verifies again (without the expiry check) so a retried confirmation can be
    /// answered, but wrong tries against it still count.
    pub fn verify(
        &self,
        code_id: &str,
        candidate: &str,
        now: u64,
    ) -> Result<Verified, VerifyError> {
        let _guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        let mut record = self.codes.get(code_id)?.ok_or(VerifyError::Unknown)?;
        if record.wrong_attempts >= MAX_WRONG_ATTEMPTS {
            return Err(VerifyError::Locked);
        }
        if !record.consumed && now > record.expires_at {
            return Err(VerifyError::Expired);
        }
        let salt = hex::decode(&record.salt_hex).map_err(|_| VerifyError::Unknown)?;
        let expected = hex::decode(&record.hash_hex).map_err(|_| VerifyError::Unknown)?;
        if otp::digests_equal(&otp::hash_code(&salt, candidate), &expected) {
            if record.consumed {
                return Ok(Verified::AlreadyUsed);
            }
            record.consumed = true;
            self.codes.put(code_id, &record)?;
            return Ok(Verified::Fresh);
        }
        record.wrong_attempts += 1;
        self.codes.put(code_id, &record)?;
        match MAX_WRONG_ATTEMPTS.saturating_sub(record.wrong_attempts) {
            0 => Err(VerifyError::Locked),
            attempts_left => Err(VerifyError::Wrong { attempts_left }),
        }
    }

    /// Messages delivered to `phone` (11 digits), oldest first. Test only.
    pub fn outbox(&self, phone: &str) -> Result<Vec<SmsMessage>, StoreError> {
        self.outbox.scan_prefix(format!("{phone}/"))
    }
}

/// Normalises a mainland China mobile number with the wallet's own rule
/// ([`wallet_core::binding::validate::phone`]): separators and a `+86` / `86` prefix dropped, then
/// 11 digits starting with 1.
pub fn normalize_phone(raw: &str) -> Option<String> {
    wallet_core::binding::validate::phone(raw).ok()
}

/// Masks a normalised phone number to its first 3 and last 4 digits (`138****5678`).
pub fn mask_phone(phone: &str) -> String {
    match (phone.get(..3), phone.get(phone.len().saturating_sub(4)..)) {
        (Some(head), Some(tail)) if phone.len() >= 7 => format!("{head}****{tail}"),
        _ => "****".to_owned(),
    }
}

/// Query of the test-only outbox endpoint.
#[derive(Debug, Deserialize)]
struct OutboxQuery {
    phone: String,
}

/// Routes of the SMS channel (only the test-only outbox so far).
pub fn routes() -> Router<AppState> {
    Router::new().route(PATH_TEST_SMS_OUTBOX, get(test_outbox))
}

/// `GET /test/sms/outbox?phone=…` — **test only**: what the handset received.
async fn test_outbox(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<OutboxQuery>,
) -> Result<Json<SmsOutbox>, ApiError> {
    let phone = normalize_phone(&query.phone)
        .ok_or_else(|| ApiError::InvalidPhone("phone must be 11 digits, optionally +86".into()))?;
    Ok(Json(SmsOutbox {
        messages: state.sms().outbox(&phone)?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channel() -> Result<SmsChannel, StoreError> {
        SmsChannel::open(&Store::open(None)?)
    }

    fn sent_code(sms: &SmsChannel, phone: &str) -> Result<String, Box<dyn std::error::Error>> {
        let message = sms.outbox(phone)?.pop().ok_or("no message")?;
        Ok(message.code)
    }

    /// A 6-digit code guaranteed different from `code`.
    fn other_than(code: &str) -> String {
        if code == "000000" { "111111" } else { "000000" }.to_owned()
    }

    #[test]
    fn phone_normalisation() {
        assert_eq!(
            normalize_phone("13800138000").as_deref(),
            Some("13800138000")
        );
        assert_eq!(
            normalize_phone(" +8613800138000 ").as_deref(),
            Some("13800138000")
        );
        assert_eq!(
            normalize_phone("8613800138000").as_deref(),
            Some("13800138000")
        );
        assert_eq!(normalize_phone("1380013800"), None);
        assert_eq!(normalize_phone("23800138000"), None);
        assert_eq!(normalize_phone("138-0013-800"), None);
        assert_eq!(
            normalize_phone("138-0013-8000").as_deref(),
            Some("13800138000")
        );
        assert_eq!(mask_phone("13800135678"), "138****5678");
    }

    #[test]
    fn code_is_delivered_and_stored_only_hashed() -> Result<(), Box<dyn std::error::Error>> {
        let sms = channel()?;
        let sent = sms.send_code("13800138000", "测试银行", "绑卡", 1_000)?;
        assert_eq!(sent.expires_at, 1_300);
        let message = sms.outbox("13800138000")?.pop().ok_or("no message")?;
        assert!(message.text.contains(&message.code));
        assert!(message.text.starts_with("【测试银行】"));
        let record = sms.codes.get(&sent.code_id)?.ok_or("no record")?;
        assert!(!record.hash_hex.contains(&message.code) && record.hash_hex.len() == 64);
        assert!(sms.outbox("13900000000")?.is_empty());
        Ok(())
    }

    #[test]
    fn five_wrong_tries_lock_the_code() -> Result<(), Box<dyn std::error::Error>> {
        let sms = channel()?;
        let sent = sms.send_code("13800138000", "B", "p", 0)?;
        let code = sent_code(&sms, "13800138000")?;
        let wrong = other_than(&code);
        for left in [4, 3, 2, 1] {
            let err = sms.verify(&sent.code_id, &wrong, 10).err();
            assert!(
                matches!(err, Some(VerifyError::Wrong { attempts_left }) if attempts_left == left)
            );
        }
        assert!(matches!(
            sms.verify(&sent.code_id, &wrong, 10),
            Err(VerifyError::Locked)
        ));
        assert!(matches!(
            sms.verify(&sent.code_id, &code, 10),
            Err(VerifyError::Locked)
        ));
        Ok(())
    }

    #[test]
    fn expiry_and_single_use() -> Result<(), Box<dyn std::error::Error>> {
        let sms = channel()?;
        let sent = sms.send_code("13800138000", "B", "p", 0)?;
        let code = sent_code(&sms, "13800138000")?;
        assert!(matches!(
            sms.verify(&sent.code_id, &code, 301),
            Err(VerifyError::Expired)
        ));
        let sent = sms.send_code("13800138000", "B", "p", 0)?;
        let code = sent_code(&sms, "13800138000")?;
        assert_eq!(sms.verify(&sent.code_id, &code, 300)?, Verified::Fresh);
        assert_eq!(
            sms.verify(&sent.code_id, &code, 10_000)?,
            Verified::AlreadyUsed
        );
        Ok(())
    }
}
