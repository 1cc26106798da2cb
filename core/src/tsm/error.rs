//! Everything that can go wrong opening or managing a card on a secure element.

use crate::backend::api::{codes as common, tsm::codes};
use crate::backend::BackendError;
use crate::binding::BindingError;
use crate::crypto::CryptoError;
use crate::ota::OtaError;
use crate::se::SeError;
use crate::store::StoreError;

/// A card operation failed.
#[derive(Debug, thiserror::Error)]
pub enum CardError {
    /// No secure element is present: host card emulation is the route for this phone.
    #[error("no secure element is present; use host card emulation")]
    NoSecureElement,
    /// No such binding in this wallet.
    #[error("no such binding")]
    BindingNotFound,
    /// The SE already holds an active or locked card for this account.
    #[error("this secure element already holds the card")]
    CardExists,
    /// No card of this binding is known on that SE.
    #[error("no card of this binding on that secure element")]
    CardNotFound,
    /// The operation does not apply to the card's state (unlock an active card…).
    #[error("the card's state does not allow this ({0})")]
    InvalidState(String),
    /// The account cannot fund the initial electronic cash load, or it exceeds the limit.
    #[error("the electronic cash load was refused: {0}")]
    ECashLoadRefused(String),
    /// The TSM could not complete the order.
    #[error("the TSM could not complete the order ({code}): {message}")]
    OrderFailed {
        /// Stable failure code (`backend::api::tsm::failures`).
        code: String,
        /// The TSM's explanation.
        message: String,
    },
    /// The GP SERAM session failed.
    #[error(transparent)]
    Ota(#[from] OtaError),
    /// The secure element failed.
    #[error(transparent)]
    Se(#[from] SeError),
    /// The back end failed or refused.
    #[error(transparent)]
    Backend(BackendError),
    /// The local store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A cryptographic operation failed.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
}

impl From<BackendError> for CardError {
    fn from(e: BackendError) -> Self {
        let BackendError::Rejected { code, message, .. } = &e else {
            return CardError::Backend(e);
        };
        match code.as_str() {
            codes::CARD_EXISTS => CardError::CardExists,
            codes::CARD_NOT_FOUND => CardError::CardNotFound,
            codes::INVALID_STATE => CardError::InvalidState(message.clone()),
            codes::ECASH_LOAD_REFUSED => CardError::ECashLoadRefused(message.clone()),
            common::BINDING_NOT_FOUND | common::BINDING_REVOKED => CardError::BindingNotFound,
            _ => CardError::Backend(e),
        }
    }
}

impl From<BindingError> for CardError {
    fn from(e: BindingError) -> Self {
        match e {
            BindingError::BindingNotFound => CardError::BindingNotFound,
            BindingError::Store(e) => CardError::Store(e),
            BindingError::Crypto(e) => CardError::Crypto(e),
            BindingError::Backend(e) => e.into(),
            other => CardError::Backend(BackendError::Protocol(other.to_string())),
        }
    }
}
