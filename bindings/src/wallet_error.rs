//! [`WalletFfiError`]: the core's `WalletError` as the apps see it.
//!
//! One variant per thing an app does differently (show a field error, ask for the code again,
//! start over, retry later, …). Every variant carries a stable snake_case `code` and a
//! human-readable `error_message`; [`WalletFfiError::WrongCode`] also the tries left.

use wallet_core::backend::api::tsm::codes as tsm_codes;
use wallet_core::backend::BackendError;
use wallet_core::binding::validate::ValidationError;
use wallet_core::binding::BindingError;
use wallet_core::crypto::CryptoError;
use wallet_core::hce::HceError;
use wallet_core::ota::OtaError;
use wallet_core::store::{KeyStoreError, StoreError};
use wallet_core::tsm::CardError;
use wallet_core::WalletError;

/// A wallet operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum WalletFfiError {
    /// The wallet cannot be opened with this configuration. Codes: `invalid_url`, `data_dir`.
    #[error("configuration error ({code}): {error_message}")]
    Config {
        /// Stable machine-readable code.
        code: String,
        /// What is wrong.
        error_message: String,
    },
    /// A field failed a local check; nothing was sent. Codes: `invalid_card_number`,
    /// `invalid_phone`, `invalid_holder_name`, `invalid_id_number`, `invalid_otp`.
    #[error("invalid input ({code}): {error_message}")]
    InvalidInput {
        /// Stable machine-readable code naming the field.
        code: String,
        /// What is wrong with it.
        error_message: String,
    },
    /// The bank refused the card or the holder's data. Codes: `unknown_card`, `name_mismatch`,
    /// `id_mismatch`, `phone_mismatch`, `card_not_eligible`.
    #[error("card rejected ({code}): {error_message}")]
    CardRejected {
        /// Stable machine-readable code.
        code: String,
        /// The reason, for the user.
        error_message: String,
    },
    /// Wrong one-time code, payment password or PIN; ask again. Codes: `otp_wrong` (binding),
    /// `password_wrong`, `sms_code_wrong`, `pin_wrong` (remote payment).
    #[error("wrong code ({code}): {error_message}")]
    WrongCode {
        /// Stable machine-readable code.
        code: String,
        /// The reason, for the user.
        error_message: String,
        /// Tries left before the code, password or PIN locks.
        attempts_left: u32,
    },
    /// The one-time code can no longer be used; begin the binding again (`otp_locked`,
    /// `otp_expired`), register a new payment password (`password_locked`), ask for a new SMS
    /// code (`sms_code_locked`, `sms_code_expired`) or pay in another mode (`pin_blocked`).
    #[error("code unusable ({code}): {error_message}")]
    CodeUnusable {
        /// Stable machine-readable code.
        code: String,
        /// The reason, for the user.
        error_message: String,
    },
    /// No such pending binding or binding (here or at the bank).
    /// Codes: `session_not_found`, `binding_not_found`.
    #[error("not found ({code}): {error_message}")]
    NotFound {
        /// Stable machine-readable code.
        code: String,
        /// What was not found.
        error_message: String,
    },
    /// The back end could not be reached; the same call may succeed later.
    /// Codes: `unreachable`, `timeout`.
    #[error("network error ({code}): {error_message}")]
    Network {
        /// Stable machine-readable code.
        code: String,
        /// What failed.
        error_message: String,
    },
    /// The back end refused the request for another reason or broke the protocol. Code: the
    /// back end's error code in lower case (`signature_invalid`, `replay`, `internal`, …) or
    /// `protocol`.
    #[error("back-end error ({code}): {error_message}")]
    Backend {
        /// Stable machine-readable code.
        code: String,
        /// What the back end said.
        error_message: String,
    },
    /// A card operation on a secure element failed. Codes: `no_secure_element` (use host card
    /// emulation), `card_exists`, `card_not_found`, `invalid_state` (e.g. reading the e-cash of a
    /// locked card), `ecash_load_refused`, `ota` (the management session with the TSM failed),
    /// `secure_element` (the SE or the platform's SE service failed), `unknown_se` (the TSM
    /// cannot manage this SE, e.g. it could not be identified), `route_refused`, or the TSM's
    /// failure code of the order in lower case (`local_agent_failure`, `se_rejected`,
    /// `card_state`, `superseded`, `session_lost`). Host card emulation: `hce_card_not_found`,
    /// `hce_not_eligible` (the account cannot have an HCE card), `token_suspended` (a newer
    /// token replaced it), `keys_exhausted` (open a new HCE card), `hce_protocol` (the token
    /// service answered inconsistent data).
    #[error("card error ({code}): {error_message}")]
    Card {
        /// Stable machine-readable code.
        code: String,
        /// What failed.
        error_message: String,
    },
    /// The wallet's local store failed. Codes: `store_corrupt`, `store_newer_version`,
    /// `store_tampered`, `store_io`, `crypto`.
    #[error("storage error ({code}): {error_message}")]
    Storage {
        /// Stable machine-readable code.
        code: String,
        /// What failed.
        error_message: String,
    },
    /// A remote payment was refused; nothing was debited. Codes: `order_expired`,
    /// `order_already_paid`, `order_mismatch`, `insufficient_funds`, `password_not_set` (register
    /// one first), `signature_rejected` (the device or SE key is not the one registered),
    /// `replay`, `se_key_not_registered` (pay in non-SE mode).
    /// Elsewhere: wrong password, SMS code or PIN are [`WalletFfiError::WrongCode`]
    /// (`password_wrong`, `sms_code_wrong`, `pin_wrong`); a locked password or code, or a blocked
    /// PIN, [`WalletFfiError::CodeUnusable`]; unknown order, merchant or SMS challenge
    /// [`WalletFfiError::NotFound`] (`order_not_found`, `merchant_not_found`,
    /// `challenge_not_found`); a password or PIN of the wrong shape
    /// [`WalletFfiError::InvalidInput`] (`invalid_password`, `invalid_pin`, `invalid_order_id`);
    /// SE trouble [`WalletFfiError::Card`] (`no_se_card`, `no_secure_element`, `secure_element`,
    /// `card_status`).
    #[error("payment refused ({code}): {error_message}")]
    Payment {
        /// Stable machine-readable code.
        code: String,
        /// The reason, for the user.
        error_message: String,
    },
    /// The platform's [`crate::Signer`] failed to create or use a device key. Codes:
    /// `signer_key_not_found` (the platform lost the key: bind the card again),
    /// `signer_user_not_authenticated` (authenticate the user, then retry), `signer_failure`
    /// (the message starts with the platform's own code).
    #[error("signer error ({code}): {error_message}")]
    Signer {
        /// Stable machine-readable code.
        code: String,
        /// What failed.
        error_message: String,
    },
    /// The platform key store failed to wrap or unwrap the store's data key.
    /// Codes: `key_store_failure` (the message starts with the platform's own code),
    /// `key_store_unwrap`.
    #[error("key store error ({code}): {error_message}")]
    KeyStore {
        /// Stable machine-readable code.
        code: String,
        /// What failed.
        error_message: String,
    },
}

/// Builds a variant from a code and a displayable message.
macro_rules! variant {
    ($variant:ident, $code:expr, $message:expr) => {
        WalletFfiError::$variant {
            code: ($code).to_owned(),
            error_message: ($message).to_string(),
        }
    };
}
pub(crate) use variant;

impl WalletFfiError {
    /// The stable machine-readable code of any variant.
    pub fn code(&self) -> &str {
        match self {
            Self::Config { code, .. }
            | Self::InvalidInput { code, .. }
            | Self::CardRejected { code, .. }
            | Self::WrongCode { code, .. }
            | Self::CodeUnusable { code, .. }
            | Self::NotFound { code, .. }
            | Self::Network { code, .. }
            | Self::Backend { code, .. }
            | Self::Card { code, .. }
            | Self::Storage { code, .. }
            | Self::Payment { code, .. }
            | Self::Signer { code, .. }
            | Self::KeyStore { code, .. } => code,
        }
    }
}

impl From<WalletError> for WalletFfiError {
    fn from(err: WalletError) -> Self {
        match err {
            WalletError::Binding(e) => e.into(),
            WalletError::Card(e) => e.into(),
            WalletError::Hce(e) => e.into(),
            WalletError::Store(e) => e.into(),
            WalletError::Backend(e) => e.into(),
            WalletError::Crypto(e) => e.into(),
            WalletError::Config(message) => variant!(Config, "data_dir", message),
            WalletError::RemotePay(e) => e.into(),
        }
    }
}

impl From<BindingError> for WalletFfiError {
    fn from(err: BindingError) -> Self {
        let message = err.to_string();
        match err {
            BindingError::Invalid(e) => e.into(),
            BindingError::UnknownCard => variant!(CardRejected, "unknown_card", message),
            BindingError::NameMismatch => variant!(CardRejected, "name_mismatch", message),
            BindingError::IdMismatch => variant!(CardRejected, "id_mismatch", message),
            BindingError::PhoneMismatch => variant!(CardRejected, "phone_mismatch", message),
            BindingError::CardNotEligible => variant!(CardRejected, "card_not_eligible", message),
            BindingError::WrongCode { attempts_left } => Self::WrongCode {
                code: "otp_wrong".to_owned(),
                error_message: message,
                attempts_left,
            },
            BindingError::CodeLocked => variant!(CodeUnusable, "otp_locked", message),
            BindingError::CodeExpired => variant!(CodeUnusable, "otp_expired", message),
            BindingError::SessionNotFound => variant!(NotFound, "session_not_found", message),
            BindingError::BindingNotFound => variant!(NotFound, "binding_not_found", message),
            BindingError::Backend(e) => e.into(),
            BindingError::Store(e) => e.into(),
            BindingError::Crypto(e) => e.into(),
            BindingError::Signer(e) => e.into(),
        }
    }
}

impl From<CardError> for WalletFfiError {
    fn from(err: CardError) -> Self {
        let message = err.to_string();
        match err {
            CardError::NoSecureElement => variant!(Card, "no_secure_element", message),
            CardError::BindingNotFound => variant!(NotFound, "binding_not_found", message),
            CardError::CardExists => variant!(Card, "card_exists", message),
            CardError::CardNotFound => variant!(Card, "card_not_found", message),
            CardError::InvalidState(_) => variant!(Card, "invalid_state", message),
            CardError::ECashLoadRefused(_) => variant!(Card, "ecash_load_refused", message),
            CardError::OrderFailed { code, .. } => {
                variant!(Card, code.to_ascii_lowercase(), message)
            }
            CardError::Ota(OtaError::NoSecureElement) => {
                variant!(Card, "no_secure_element", message)
            }
            CardError::Ota(OtaError::Network(e)) => e.into(),
            CardError::Ota(OtaError::Se(_)) => variant!(Card, "secure_element", message),
            CardError::Ota(_) => variant!(Card, "ota", message),
            CardError::Se(_) => variant!(Card, "secure_element", message),
            CardError::Backend(BackendError::Rejected { code, message, .. })
                if code == tsm_codes::UNKNOWN_SE || code == tsm_codes::ROUTE_REFUSED =>
            {
                variant!(Card, code.to_ascii_lowercase(), message)
            }
            CardError::Backend(e) => e.into(),
            CardError::Store(e) => e.into(),
            CardError::Crypto(e) => e.into(),
        }
    }
}

impl From<HceError> for WalletFfiError {
    fn from(err: HceError) -> Self {
        let message = err.to_string();
        match err {
            HceError::CardNotFound => variant!(Card, "hce_card_not_found", message),
            HceError::NotEligible => variant!(Card, "hce_not_eligible", message),
            HceError::TokenSuspended => variant!(Card, "token_suspended", message),
            HceError::KeysExhausted => variant!(Card, "keys_exhausted", message),
            HceError::Protocol(_) => variant!(Card, "hce_protocol", message),
            HceError::Binding(e) => e.into(),
            HceError::Backend(e) => e.into(),
            HceError::Store(e) => e.into(),
            HceError::Crypto(e) => e.into(),
        }
    }
}

impl From<ValidationError> for WalletFfiError {
    fn from(err: ValidationError) -> Self {
        let code = match &err {
            ValidationError::InvalidCardNumber(_) => "invalid_card_number".to_owned(),
            ValidationError::InvalidPhone(_) => "invalid_phone".to_owned(),
            ValidationError::InvalidField { field, .. } => format!("invalid_{field}"),
        };
        Self::InvalidInput {
            code,
            error_message: err.to_string(),
        }
    }
}

impl From<BackendError> for WalletFfiError {
    fn from(err: BackendError) -> Self {
        let message = err.to_string();
        match err {
            BackendError::Network(_) => variant!(Network, "unreachable", message),
            BackendError::Timeout => variant!(Network, "timeout", message),
            BackendError::Rejected { code, message, .. } => {
                variant!(Backend, code.to_ascii_lowercase(), message)
            }
            BackendError::Protocol(_) => variant!(Backend, "protocol", message),
            BackendError::InvalidUrl(_) => variant!(Config, "invalid_url", message),
        }
    }
}

impl From<StoreError> for WalletFfiError {
    fn from(err: StoreError) -> Self {
        let message = err.to_string();
        match err {
            StoreError::Corrupt(_) => variant!(Storage, "store_corrupt", message),
            StoreError::NewerVersion { .. } => variant!(Storage, "store_newer_version", message),
            StoreError::Tampered(_) => variant!(Storage, "store_tampered", message),
            StoreError::KeyStore(e) => e.into(),
            StoreError::Io(_) => variant!(Storage, "store_io", message),
        }
    }
}

impl From<KeyStoreError> for WalletFfiError {
    fn from(err: KeyStoreError) -> Self {
        match &err {
            KeyStoreError::Failure(detail) => variant!(KeyStore, "key_store_failure", detail),
            KeyStoreError::Unwrap => variant!(KeyStore, "key_store_unwrap", err),
        }
    }
}

impl From<CryptoError> for WalletFfiError {
    fn from(err: CryptoError) -> Self {
        variant!(Storage, "crypto", err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(err: impl Into<WalletFfiError>) -> String {
        err.into().code().to_owned()
    }

    #[test]
    fn binding_errors_map_to_actionable_variants() {
        let wrong = WalletFfiError::from(BindingError::WrongCode { attempts_left: 3 });
        assert_eq!(
            wrong,
            WalletFfiError::WrongCode {
                code: "otp_wrong".into(),
                error_message: "wrong code, 3 attempt(s) left".into(),
                attempts_left: 3
            }
        );
        assert!(matches!(
            WalletFfiError::from(BindingError::NameMismatch),
            WalletFfiError::CardRejected { ref code, .. } if code == "name_mismatch"
        ));
        assert!(matches!(
            WalletFfiError::from(BindingError::CodeExpired),
            WalletFfiError::CodeUnusable { ref code, .. } if code == "otp_expired"
        ));
        assert_eq!(code(BindingError::SessionNotFound), "session_not_found");
        assert_eq!(code(BindingError::CardNotEligible), "card_not_eligible");
    }

    #[test]
    fn validation_codes_name_the_field() {
        let err = ValidationError::InvalidField {
            field: "holder_name",
            reason: "empty",
        };
        assert_eq!(
            WalletFfiError::from(BindingError::Invalid(err)),
            WalletFfiError::InvalidInput {
                code: "invalid_holder_name".into(),
                error_message: "invalid holder_name: empty".into()
            }
        );
        assert_eq!(code(ValidationError::InvalidPhone("x")), "invalid_phone");
    }

    #[test]
    fn backend_errors_split_into_network_backend_and_config() {
        assert!(matches!(
            WalletFfiError::from(BackendError::Timeout),
            WalletFfiError::Network { ref code, .. } if code == "timeout"
        ));
        let rejected = BackendError::Rejected {
            status: 401,
            code: "SIGNATURE_INVALID".into(),
            message: "bad signature".into(),
            attempts_left: None,
        };
        assert_eq!(
            WalletFfiError::from(WalletError::Backend(rejected)),
            WalletFfiError::Backend {
                code: "signature_invalid".into(),
                error_message: "bad signature".into()
            }
        );
        assert_eq!(
            code(BackendError::InvalidUrl("ftp://x".into())),
            "invalid_url"
        );
        assert_eq!(code(BackendError::Protocol("404".into())), "protocol");
    }

    #[test]
    fn store_and_key_store_errors() {
        assert_eq!(code(StoreError::Tampered("x".into())), "store_tampered");
        let failure = WalletFfiError::from(WalletError::Store(StoreError::KeyStore(
            KeyStoreError::Failure("user_not_authenticated: unlock first".into()),
        )));
        assert_eq!(
            failure,
            WalletFfiError::KeyStore {
                code: "key_store_failure".into(),
                error_message: "user_not_authenticated: unlock first".into()
            }
        );
        assert_eq!(code(KeyStoreError::Unwrap), "key_store_unwrap");
        assert_eq!(code(WalletError::Config("no dir".into())), "data_dir");
        assert_eq!(code(CryptoError::Rng), "crypto");
    }

    #[test]
    fn card_errors() {
        assert_eq!(code(CardError::NoSecureElement), "no_secure_element");
        let failed = CardError::OrderFailed {
            code: "APPLET_INSTALL_FAILED".into(),
            message: "6A80".into(),
        };
        assert!(matches!(
            WalletFfiError::from(WalletError::Card(failed)),
            WalletFfiError::Card { ref code, .. } if code == "applet_install_failed"
        ));
        assert!(matches!(
            WalletFfiError::from(CardError::BindingNotFound),
            WalletFfiError::NotFound { .. }
        ));
        assert_eq!(
            WalletFfiError::from(CardError::InvalidState("the card is Locked".into())),
            WalletFfiError::Card {
                code: "invalid_state".into(),
                error_message: "the card's state does not allow this (the card is Locked)".into()
            }
        );
        assert_eq!(
            code(CardError::Ota(OtaError::NoSecureElement)),
            "no_secure_element"
        );
        assert_eq!(code(CardError::Ota(OtaError::SessionTimedOut)), "ota");
        assert!(matches!(
            WalletFfiError::from(CardError::Ota(OtaError::Network(BackendError::Timeout))),
            WalletFfiError::Network { ref code, .. } if code == "timeout"
        ));
        let se = wallet_core::se::SeError::Io {
            message: "removed".into(),
        };
        assert_eq!(code(CardError::Se(se.clone())), "secure_element");
        assert_eq!(code(CardError::Ota(OtaError::Se(se))), "secure_element");
        let unknown_se = BackendError::Rejected {
            status: 422,
            code: "UNKNOWN_SE".into(),
            message: "se_id must be hex".into(),
            attempts_left: None,
        };
        assert_eq!(
            WalletFfiError::from(CardError::Backend(unknown_se)),
            WalletFfiError::Card {
                code: "unknown_se".into(),
                error_message: "se_id must be hex".into()
            }
        );
        let other = BackendError::Rejected {
            status: 401,
            code: "SIGNATURE_INVALID".into(),
            message: "bad signature".into(),
            attempts_left: None,
        };
        assert_eq!(code(CardError::Backend(other)), "signature_invalid");
    }

    #[test]
    fn hce_errors_have_their_own_codes() {
        assert_eq!(
            code(WalletError::Hce(HceError::CardNotFound)),
            "hce_card_not_found"
        );
        assert_eq!(code(HceError::NotEligible), "hce_not_eligible");
        assert_eq!(code(HceError::TokenSuspended), "token_suspended");
        assert_eq!(code(HceError::KeysExhausted), "keys_exhausted");
        assert_eq!(
            code(HceError::Protocol("wrong token".into())),
            "hce_protocol"
        );
        assert!(matches!(
            WalletFfiError::from(HceError::KeysExhausted),
            WalletFfiError::Card { .. }
        ));
        assert!(matches!(
            WalletFfiError::from(HceError::Binding(BindingError::BindingNotFound)),
            WalletFfiError::NotFound { ref code, .. } if code == "binding_not_found"
        ));
        assert!(matches!(
            WalletFfiError::from(HceError::Backend(BackendError::Timeout)),
            WalletFfiError::Network { ref code, .. } if code == "timeout"
        ));
    }
}
