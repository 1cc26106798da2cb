//! Wire types of the back-end HTTP APIs, shared by the wallet's client and the mock backend so
//! both sides agree by construction. JSON, `snake_case`; binary values as lowercase hex.
//!
//! Conventions every endpoint follows:
//! - Requests that change state carry an `Idempotency-Key` header ([`IDEMPOTENCY_KEY_HEADER`]); the
//!   server answers a repeated key with the first answer, and a key reused with a different body
//!   with `409 IDEMPOTENCY_CONFLICT`.
//! - Failures answer a 4xx/5xx status with an [`ErrorBody`] whose `code` is one of [`codes`].
//!
//! Entity APIs beside this file: [`tsm`] (card opening and management orders; the GP SERAM wire
//! format itself lives in [`crate::ota`]).
//!
//! Endpoints (account management system = the bank, and the SMS access channel):
//! - `POST /bank/v1/bindings` [`BeginBindingRequest`] → [`BeginBindingResponse`]
//! - `POST /bank/v1/bindings/confirm` [`ConfirmBindingRequest`] → [`BindingRecord`]
//! - `GET  /bank/v1/bindings/{binding_id}` → [`BindingRecord`]
//! - `POST /bank/v1/bindings/{binding_id}/unbind` [`UnbindRequest`] → [`BindingRecord`] (status revoked)
//! - `GET  /test/sms/outbox?phone=…` → [`SmsOutbox`] — **test only**: the SMS channel's delivered
//!   messages, so tests and the CLI demo can read one-time codes.
//! - `GET  /health` → `"ok"`

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

pub mod acquiring;
pub mod clearing;
pub mod hce;
pub mod remote;
pub mod tsm;

/// Header carrying the idempotency key of a state-changing request.
pub const IDEMPOTENCY_KEY_HEADER: &str = "Idempotency-Key";

/// Path of the begin-binding endpoint.
pub const PATH_BINDINGS: &str = "/bank/v1/bindings";
/// Path of the confirm-binding endpoint.
pub const PATH_BINDINGS_CONFIRM: &str = "/bank/v1/bindings/confirm";
/// Path of the test-only SMS outbox.
pub const PATH_TEST_SMS_OUTBOX: &str = "/test/sms/outbox";

/// Kind of the bank account behind a card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    /// Debit card (UnionPay AID A000000333010101).
    Debit,
    /// Credit card (A000000333010102).
    Credit,
    /// Quasi-credit card (A000000333010103).
    QuasiCredit,
    /// Stand-alone electronic cash (A000000333010106).
    ECash,
}

/// Lifecycle of a binding at the bank.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BindingStatus {
    /// Bound: the device key is registered and accepted.
    Active,
    /// Unbound: the device key is revoked.
    Revoked,
}

/// Start binding a card: the bank checks the card and the holder's real-name data, then sends a
/// one-time code to the phone on file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BeginBindingRequest {
    /// Full card number (PAN), digits only.
    pub pan: String,
    /// Card holder's name as on file at the bank.
    pub holder_name: String,
    /// The holder's ID number, or at least its last 4 (or more) characters.
    pub id_number: String,
    /// Mobile number on file (11 digits, mainland China format, optionally `+86`-prefixed).
    pub phone: String,
    /// The wallet installation's device identifier.
    pub device_id: String,
}

/// The bank accepted the card and sent a one-time code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BeginBindingResponse {
    /// Identifies this binding attempt in [`ConfirmBindingRequest`].
    pub binding_session_id: String,
    /// Card number masked to first 6 and last 4 digits (`622202******1234`).
    pub masked_pan: String,
    /// Kind of the account.
    pub account_kind: AccountKind,
    /// Masked phone the code was sent to (`138****5678`).
    pub otp_sent_to: String,
    /// Unix time (seconds) after which the code is no longer accepted.
    pub otp_expires_at: u64,
}

/// Finish binding with the one-time code and register the device public key.
///
/// The code is zeroized on drop; `Debug` shows `Zeroizing { .. }` in its place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfirmBindingRequest {
    /// From [`BeginBindingResponse::binding_session_id`].
    pub binding_session_id: String,
    /// The 6-digit one-time code (a plain JSON string on the wire).
    pub otp: Zeroizing<String>,
    /// Device public key, ECDSA P-256, SEC1 uncompressed point, hex.
    pub device_public_key: String,
    /// The wallet installation's device identifier (must match the begin request).
    pub device_id: String,
}

/// A binding as the bank knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BindingRecord {
    /// The bank's identifier of this binding.
    pub binding_id: String,
    /// Opaque token that stands for the account in later requests (never the PAN).
    pub account_token: String,
    /// Card number masked to first 6 and last 4 digits.
    pub masked_pan: String,
    /// Kind of the account.
    pub account_kind: AccountKind,
    /// Holder's name masked (`*明` style: all but the last character).
    pub holder_name_masked: String,
    /// Name of the issuing bank.
    pub issuer_name: String,
    /// Active or revoked.
    pub status: BindingStatus,
    /// Unix time (seconds) the binding was created.
    pub created_at: u64,
}

/// Unbind: proves possession of the device key by signing [`unbind_signing_message`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnbindRequest {
    /// Unix time (seconds) of the request; the bank accepts ±300 s.
    pub timestamp: u64,
    /// Random hex nonce, never accepted twice.
    pub nonce: String,
    /// ECDSA P-256 / SHA-256 signature (ASN.1 DER, hex) over [`unbind_signing_message`].
    pub signature: String,
}

/// The exact bytes a device signs to unbind `binding_id`.
pub fn unbind_signing_message(binding_id: &str, timestamp: u64, nonce: &str) -> Vec<u8> {
    format!("openwallet/unbind/v1\n{binding_id}\n{timestamp}\n{nonce}").into_bytes()
}

/// One message the SMS channel delivered (test-only view).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmsMessage {
    /// Destination phone number (normalized, 11 digits).
    pub phone: String,
    /// Full text as the user would see it.
    pub text: String,
    /// The one-time code in the text.
    pub code: String,
    /// Unix time (seconds) it was sent.
    pub sent_at: u64,
}

/// The SMS channel's outbox for one phone, newest last (test-only view).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmsOutbox {
    /// Messages, oldest first.
    pub messages: Vec<SmsMessage>,
}

/// Body of every error answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// The error inside an [`ErrorBody`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// Stable machine-readable code, one of [`codes`].
    pub code: String,
    /// Human-readable explanation (English).
    pub message: String,
    /// For wrong codes / passwords: tries left before lock-out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempts_left: Option<u32>,
}

/// Stable error codes of [`ErrorDetail::code`].
pub mod codes {
    /// Malformed JSON, missing field, wrong type, bad header (HTTP 400).
    pub const BAD_REQUEST: &str = "BAD_REQUEST";
    /// Card number fails length or Luhn checks (400).
    pub const INVALID_CARD_NUMBER: &str = "INVALID_CARD_NUMBER";
    /// Phone number malformed (400).
    pub const INVALID_PHONE: &str = "INVALID_PHONE";
    /// No such card at this bank (404).
    pub const UNKNOWN_CARD: &str = "UNKNOWN_CARD";
    /// Holder name does not match the card (422).
    pub const NAME_MISMATCH: &str = "NAME_MISMATCH";
    /// ID number does not match the card holder (422).
    pub const ID_MISMATCH: &str = "ID_MISMATCH";
    /// Phone does not match the number on file (422).
    pub const PHONE_MISMATCH: &str = "PHONE_MISMATCH";
    /// Card is not in a state that can be bound (blocked, closed) (422).
    pub const CARD_NOT_ELIGIBLE: &str = "CARD_NOT_ELIGIBLE";
    /// Wrong one-time code; `attempts_left` says how many remain (422).
    pub const OTP_WRONG: &str = "OTP_WRONG";
    /// Too many wrong codes: this code is locked (423).
    pub const OTP_LOCKED: &str = "OTP_LOCKED";
    /// The code expired (410).
    pub const OTP_EXPIRED: &str = "OTP_EXPIRED";
    /// Unknown binding session (404).
    pub const SESSION_NOT_FOUND: &str = "SESSION_NOT_FOUND";
    /// Unknown binding (404).
    pub const BINDING_NOT_FOUND: &str = "BINDING_NOT_FOUND";
    /// The binding is revoked (409).
    pub const BINDING_REVOKED: &str = "BINDING_REVOKED";
    /// Signature did not verify against the registered key (401).
    pub const SIGNATURE_INVALID: &str = "SIGNATURE_INVALID";
    /// Timestamp outside the window or nonce seen before (409).
    pub const REPLAY: &str = "REPLAY";
    /// Idempotency key reused with a different request (409).
    pub const IDEMPOTENCY_CONFLICT: &str = "IDEMPOTENCY_CONFLICT";
    /// Unexpected server failure (500).
    pub const INTERNAL: &str = "INTERNAL";
}
