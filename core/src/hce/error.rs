//! Failures of HCE card management (provisioning, replenishment). The APDU path never fails:
//! it answers status words.

use crate::backend::api::codes;
use crate::backend::api::hce::codes as hce_codes;
use crate::backend::BackendError;
use crate::binding::BindingError;
use crate::crypto::CryptoError;
use crate::store::StoreError;

/// An HCE operation failed. Each variant is something the app can act on.
#[derive(Debug, thiserror::Error)]
pub enum HceError {
    /// This wallet has no HCE card for the binding.
    #[error("no HCE card for this binding")]
    CardNotFound,
    /// The account cannot have an HCE card (stand-alone e-cash).
    #[error("this account cannot have an HCE card")]
    NotEligible,
    /// The token was suspended by the token service (a newer token replaced it).
    #[error("the token is suspended")]
    TokenSuspended,
    /// Every key index of the token is issued: open a new HCE card.
    #[error("the token has no key index left; open a new HCE card")]
    KeysExhausted,
    /// The token service answered something inconsistent (wrong binding or token, a profile
    /// the card application refuses, a malformed key).
    #[error("the token service answered inconsistent data: {0}")]
    Protocol(String),
    /// The binding is unknown here or at the bank, or its device key is unavailable.
    #[error(transparent)]
    Binding(#[from] BindingError),
    /// The back end failed or refused for another reason.
    #[error(transparent)]
    Backend(BackendError),
    /// The local store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A cryptographic operation failed.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
}

impl From<BackendError> for HceError {
    /// Maps the token service's stable codes; everything else stays a back-end error.
    fn from(e: BackendError) -> Self {
        match e.code() {
            Some(hce_codes::HCE_NOT_ELIGIBLE) => HceError::NotEligible,
            Some(hce_codes::TOKEN_SUSPENDED) => HceError::TokenSuspended,
            Some(hce_codes::KEYS_EXHAUSTED) => HceError::KeysExhausted,
            Some(hce_codes::TOKEN_NOT_FOUND) => HceError::CardNotFound,
            Some(codes::BINDING_NOT_FOUND) => HceError::Binding(BindingError::BindingNotFound),
            _ => HceError::Backend(e),
        }
    }
}

impl From<crate::card::CardError> for HceError {
    fn from(e: crate::card::CardError) -> Self {
        HceError::Protocol(format!("the card application refuses the profile: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected(code: &str) -> BackendError {
        BackendError::Rejected {
            status: 409,
            code: code.into(),
            message: "m".into(),
            attempts_left: None,
        }
    }

    #[test]
    fn service_codes_map_to_actionable_errors() {
        assert!(matches!(
            HceError::from(rejected("KEYS_EXHAUSTED")),
            HceError::KeysExhausted
        ));
        assert!(matches!(
            HceError::from(rejected("HCE_NOT_ELIGIBLE")),
            HceError::NotEligible
        ));
        assert!(matches!(
            HceError::from(rejected("TOKEN_SUSPENDED")),
            HceError::TokenSuspended
        ));
        assert!(matches!(
            HceError::from(rejected("BINDING_NOT_FOUND")),
            HceError::Binding(BindingError::BindingNotFound)
        ));
        assert!(matches!(
            HceError::from(BackendError::Timeout),
            HceError::Backend(BackendError::Timeout)
        ));
    }
}
