//! Everything that can go wrong while paying an order remotely.

use crate::backend::api::codes;
use crate::backend::api::remote::{codes as remote_codes, MessageFieldError};
use crate::backend::BackendError;
use crate::binding::BindingError;
use crate::crypto::CryptoError;
use crate::se::SeError;
use crate::signer::SignerError;
use crate::store::StoreError;

/// A remote-payment operation failed. Each variant is something the app can act on.
#[derive(Debug, thiserror::Error)]
pub enum RemotePayError {
    /// The platform has no such order.
    #[error("no such order")]
    OrderNotFound,
    /// The order id is not one the platform could have issued (nothing was sent).
    #[error("not a valid order id")]
    InvalidOrderId,
    /// The merchant of the order is unknown.
    #[error("no such merchant")]
    MerchantNotFound,
    /// The order expired unpaid.
    #[error("the order has expired")]
    OrderExpired,
    /// The order is already paid (by another payment).
    #[error("the order is already paid")]
    OrderAlreadyPaid,
    /// Merchant, amount or currency of the signed message differ from the order.
    #[error("the payment does not match the order")]
    OrderMismatch,
    /// The account cannot cover the amount.
    #[error("insufficient funds")]
    InsufficientFunds,
    /// Wrong payment password.
    #[error("wrong payment password, {attempts_left} attempt(s) left")]
    PasswordWrong {
        /// Tries left before the password locks.
        attempts_left: u32,
    },
    /// Too many wrong passwords: set a new payment password.
    #[error("the payment password is locked; set a new one")]
    PasswordLocked,
    /// No payment password registered for the binding.
    #[error("no payment password is set for this binding")]
    PasswordNotSet,
    /// The password is not 6 digits (checked locally; nothing was sent).
    #[error("the payment password must be 6 digits")]
    InvalidPassword,
    /// Wrong SMS code.
    #[error("wrong SMS code, {attempts_left} attempt(s) left")]
    SmsCodeWrong {
        /// Tries left before the challenge locks.
        attempts_left: u32,
    },
    /// Too many wrong SMS codes: request a new one.
    #[error("too many wrong SMS codes; request a new code")]
    SmsCodeLocked,
    /// The SMS code expired: request a new one.
    #[error("the SMS code has expired; request a new code")]
    SmsCodeExpired,
    /// Unknown SMS challenge, or one for another order or binding.
    #[error("no such SMS challenge for this order")]
    ChallengeNotFound,
    /// The remote payment system did not accept the signature.
    #[error("the payment signature was rejected")]
    SignatureRejected,
    /// The message was refused as a replay (nonce seen, or timestamp out of the window).
    #[error("the payment message was refused as a replay")]
    Replay,
    /// No SE payment key is registered for this binding and SE.
    #[error("no SE payment key is registered for this binding and SE")]
    SeKeyNotRegistered,
    /// Wrong PIN: the applet refused to sign.
    #[error("wrong PIN, {attempts_left} attempt(s) left")]
    PinWrong {
        /// Tries left before the PIN blocks.
        attempts_left: u8,
    },
    /// The applet's PIN is blocked.
    #[error("the PIN is blocked")]
    PinBlocked,
    /// The PIN is not 4–12 digits (checked locally; nothing was sent to the card).
    #[error("the PIN must be 4 to 12 digits")]
    InvalidPin,
    /// No active card of this binding in that SE (or the card has no signing key).
    #[error("no active card with a signing key for this binding in that SE")]
    NoSeCard,
    /// The card answered a status word that is not part of the signing protocol.
    #[error("the card answered status {0:04X}")]
    CardStatus(u16),
    /// SE signing is not available in this build or on this wallet (no secure elements).
    #[error("SE-mode signing is not available")]
    SeUnavailable,
    /// No such binding (here or at the bank).
    #[error("no such binding")]
    BindingNotFound,
    /// The platform signer holding the device key failed.
    #[error(transparent)]
    Signer(SignerError),
    /// The secure element could not be reached.
    #[error(transparent)]
    Se(#[from] SeError),
    /// A field of the payment message cannot be encoded (an order field the platform sent).
    #[error(transparent)]
    Message(#[from] MessageFieldError),
    /// The back end failed (network, timeout) or rejected the request for another reason.
    #[error(transparent)]
    Backend(BackendError),
    /// Another binding failure.
    #[error(transparent)]
    Binding(BindingError),
    /// The local store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A cryptographic operation failed.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
}

impl RemotePayError {
    /// For an error made from a back-end answer: whether that answer is definitive (a
    /// rejection other than a server error). Network failures, timeouts, 5xx answers and
    /// unreadable answers leave the outcome of the request unknown.
    pub fn is_definitive_rejection(&self) -> bool {
        match self {
            RemotePayError::Backend(e) => !e.is_transient() && e.code().is_some(),
            _ => true,
        }
    }
}

impl From<BackendError> for RemotePayError {
    /// Maps the stable codes of the platform and the remote payment system (and the general
    /// ones that concern payment); everything else stays a back-end error.
    fn from(e: BackendError) -> Self {
        let BackendError::Rejected {
            code,
            attempts_left,
            ..
        } = &e
        else {
            return RemotePayError::Backend(e);
        };
        let left = attempts_left.unwrap_or(0);
        match code.as_str() {
            remote_codes::MERCHANT_NOT_FOUND => RemotePayError::MerchantNotFound,
            remote_codes::ORDER_NOT_FOUND => RemotePayError::OrderNotFound,
            remote_codes::ORDER_EXPIRED => RemotePayError::OrderExpired,
            remote_codes::ORDER_ALREADY_PAID => RemotePayError::OrderAlreadyPaid,
            remote_codes::ORDER_MISMATCH => RemotePayError::OrderMismatch,
            remote_codes::INSUFFICIENT_FUNDS => RemotePayError::InsufficientFunds,
            remote_codes::PASSWORD_NOT_SET => RemotePayError::PasswordNotSet,
            remote_codes::PASSWORD_WRONG => RemotePayError::PasswordWrong {
                attempts_left: left,
            },
            remote_codes::PASSWORD_LOCKED => RemotePayError::PasswordLocked,
            remote_codes::SE_KEY_NOT_REGISTERED => RemotePayError::SeKeyNotRegistered,
            remote_codes::CHALLENGE_NOT_FOUND => RemotePayError::ChallengeNotFound,
            codes::SIGNATURE_INVALID => RemotePayError::SignatureRejected,
            codes::REPLAY => RemotePayError::Replay,
            codes::OTP_WRONG => RemotePayError::SmsCodeWrong {
                attempts_left: left,
            },
            codes::OTP_LOCKED => RemotePayError::SmsCodeLocked,
            codes::OTP_EXPIRED => RemotePayError::SmsCodeExpired,
            codes::BINDING_NOT_FOUND | codes::BINDING_REVOKED => RemotePayError::BindingNotFound,
            _ => RemotePayError::Backend(e),
        }
    }
}

impl From<BindingError> for RemotePayError {
    /// The device-key failures a payment can meet.
    fn from(e: BindingError) -> Self {
        match e {
            BindingError::BindingNotFound => RemotePayError::BindingNotFound,
            BindingError::Signer(e) => RemotePayError::Signer(e),
            BindingError::Store(e) => RemotePayError::Store(e),
            BindingError::Crypto(e) => RemotePayError::Crypto(e),
            BindingError::Backend(e) => e.into(),
            other => RemotePayError::Binding(other),
        }
    }
}

impl From<SignerError> for RemotePayError {
    fn from(e: SignerError) -> Self {
        RemotePayError::Signer(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected(status: u16, code: &str, attempts_left: Option<u32>) -> BackendError {
        BackendError::Rejected {
            status,
            code: code.into(),
            message: "m".into(),
            attempts_left,
        }
    }

    #[test]
    fn every_payment_code_maps_to_an_actionable_error() {
        type Check = fn(&RemotePayError) -> bool;
        let cases: [(&str, Check); 16] = [
            ("ORDER_NOT_FOUND", |e| {
                matches!(e, RemotePayError::OrderNotFound)
            }),
            ("MERCHANT_NOT_FOUND", |e| {
                matches!(e, RemotePayError::MerchantNotFound)
            }),
            ("ORDER_EXPIRED", |e| {
                matches!(e, RemotePayError::OrderExpired)
            }),
            ("ORDER_ALREADY_PAID", |e| {
                matches!(e, RemotePayError::OrderAlreadyPaid)
            }),
            ("ORDER_MISMATCH", |e| {
                matches!(e, RemotePayError::OrderMismatch)
            }),
            ("INSUFFICIENT_FUNDS", |e| {
                matches!(e, RemotePayError::InsufficientFunds)
            }),
            ("PASSWORD_NOT_SET", |e| {
                matches!(e, RemotePayError::PasswordNotSet)
            }),
            ("PASSWORD_LOCKED", |e| {
                matches!(e, RemotePayError::PasswordLocked)
            }),
            ("SE_KEY_NOT_REGISTERED", |e| {
                matches!(e, RemotePayError::SeKeyNotRegistered)
            }),
            ("CHALLENGE_NOT_FOUND", |e| {
                matches!(e, RemotePayError::ChallengeNotFound)
            }),
            ("SIGNATURE_INVALID", |e| {
                matches!(e, RemotePayError::SignatureRejected)
            }),
            ("REPLAY", |e| matches!(e, RemotePayError::Replay)),
            ("OTP_LOCKED", |e| matches!(e, RemotePayError::SmsCodeLocked)),
            ("OTP_EXPIRED", |e| {
                matches!(e, RemotePayError::SmsCodeExpired)
            }),
            ("BINDING_NOT_FOUND", |e| {
                matches!(e, RemotePayError::BindingNotFound)
            }),
            ("BINDING_REVOKED", |e| {
                matches!(e, RemotePayError::BindingNotFound)
            }),
        ];
        for (code, check) in cases {
            let e = RemotePayError::from(rejected(409, code, None));
            assert!(check(&e), "{code} → {e:?}");
            assert!(e.is_definitive_rejection(), "{code}");
        }
    }

    #[test]
    fn attempts_left_are_carried() {
        assert!(matches!(
            RemotePayError::from(rejected(401, "PASSWORD_WRONG", Some(3))),
            RemotePayError::PasswordWrong { attempts_left: 3 }
        ));
        assert!(matches!(
            RemotePayError::from(rejected(401, "OTP_WRONG", Some(2))),
            RemotePayError::SmsCodeWrong { attempts_left: 2 }
        ));
    }

    #[test]
    fn network_trouble_is_not_definitive() {
        for e in [
            BackendError::Timeout,
            BackendError::Network("reset".into()),
            rejected(503, "INTERNAL", None),
        ] {
            let e = RemotePayError::from(e);
            assert!(matches!(e, RemotePayError::Backend(_)));
            assert!(!e.is_definitive_rejection(), "{e:?}");
        }
        let other = RemotePayError::from(rejected(400, "BAD_REQUEST", None));
        assert!(matches!(other, RemotePayError::Backend(_)));
        assert!(other.is_definitive_rejection());
    }
}
