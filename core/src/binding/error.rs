//! Everything that can go wrong while binding or unbinding a card.

use super::validate::ValidationError;
use crate::backend::api::codes;
use crate::backend::BackendError;
use crate::crypto::CryptoError;
use crate::signer::SignerError;
use crate::store::StoreError;

/// A binding operation failed. Each variant is something the app can act on.
#[derive(Debug, thiserror::Error)]
pub enum BindingError {
    /// A field failed a local check; nothing was sent.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The bank has no such card.
    #[error("the bank does not know this card")]
    UnknownCard,
    /// The holder name does not match the card.
    #[error("the holder name does not match the card")]
    NameMismatch,
    /// The ID number does not match the card holder.
    #[error("the ID number does not match the card holder")]
    IdMismatch,
    /// The phone number is not the one on file for the card.
    #[error("the phone number is not the one on file")]
    PhoneMismatch,
    /// The card cannot be bound (blocked, closed).
    #[error("this card cannot be bound")]
    CardNotEligible,
    /// Wrong one-time code.
    #[error("wrong code, {attempts_left} attempt(s) left")]
    WrongCode {
        /// Tries left before the code locks.
        attempts_left: u32,
    },
    /// Too many wrong codes: begin again for a new code.
    #[error("too many wrong codes; request a new code")]
    CodeLocked,
    /// The code expired: begin again for a new code.
    #[error("the code has expired; request a new code")]
    CodeExpired,
    /// No such pending binding (here or at the bank).
    #[error("no such pending binding")]
    SessionNotFound,
    /// No such binding (here or at the bank).
    #[error("no such binding")]
    BindingNotFound,
    /// The back end failed or rejected the request for another reason.
    #[error(transparent)]
    Backend(BackendError),
    /// The local store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A cryptographic operation failed.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// The platform signer holding the device key failed (or wants the user to authenticate).
    #[error(transparent)]
    Signer(#[from] SignerError),
}

impl From<BackendError> for BindingError {
    /// Maps the bank's stable error codes onto the binding errors; everything else stays a
    /// back-end error (network, timeout, protocol, other rejections).
    fn from(e: BackendError) -> Self {
        let BackendError::Rejected {
            code,
            attempts_left,
            ..
        } = &e
        else {
            return BindingError::Backend(e);
        };
        match code.as_str() {
            codes::UNKNOWN_CARD => BindingError::UnknownCard,
            codes::NAME_MISMATCH => BindingError::NameMismatch,
            codes::ID_MISMATCH => BindingError::IdMismatch,
            codes::PHONE_MISMATCH => BindingError::PhoneMismatch,
            codes::CARD_NOT_ELIGIBLE => BindingError::CardNotEligible,
            codes::INVALID_CARD_NUMBER => {
                BindingError::Invalid(ValidationError::InvalidCardNumber("rejected by the bank"))
            }
            codes::INVALID_PHONE => {
                BindingError::Invalid(ValidationError::InvalidPhone("rejected by the bank"))
            }
            codes::OTP_WRONG => BindingError::WrongCode {
                attempts_left: attempts_left.unwrap_or(0),
            },
            codes::OTP_LOCKED => BindingError::CodeLocked,
            codes::OTP_EXPIRED => BindingError::CodeExpired,
            codes::SESSION_NOT_FOUND => BindingError::SessionNotFound,
            codes::BINDING_NOT_FOUND => BindingError::BindingNotFound,
            _ => BindingError::Backend(e),
        }
    }
}
