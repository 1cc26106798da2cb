//! Refusals of remote payment — the payment content platform ([`crate::merchant`]) and the remote
//! payment system ([`super`]): the contract's error body with [`codes`] or remote payment's
//! [`remote_codes`], `attempts_left` set for wrong passwords and codes.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use wallet_core::backend::api::remote::codes as remote_codes;
use wallet_core::backend::api::{codes, ErrorBody};
use wallet_core::crypto::CryptoError;

use crate::error::{error_answer, error_body_with_attempts, ApiError};
use crate::persist::StoreError;
use crate::sms::{SendError, VerifyError};

/// A refusal of the payment content platform or the remote payment system.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// Malformed request (400).
    #[error("{0}")]
    BadRequest(String),
    /// Unknown merchant (404).
    #[error("unknown merchant {0:?}")]
    MerchantNotFound(String),
    /// Unknown order (404).
    #[error("unknown order")]
    OrderNotFound,
    /// The order expired unpaid (410).
    #[error("the order expired")]
    OrderExpired,
    /// The order is already paid (409).
    #[error("the order is already paid")]
    OrderAlreadyPaid,
    /// The message's merchant, amount or currency differ from the order (422).
    #[error("{0}")]
    OrderMismatch(String),
    /// Unknown binding (404).
    #[error("unknown binding")]
    BindingNotFound,
    /// The binding is revoked (409).
    #[error("the binding is revoked")]
    BindingRevoked,
    /// Timestamp outside the window or nonce seen before (409).
    #[error("{0}")]
    Replay(String),
    /// The signature does not verify with the registered key (401).
    #[error("{0}")]
    SignatureInvalid(String),
    /// No SE payment key registered for this binding and SE (409).
    #[error("no SE payment key is registered for this binding and SE")]
    SeKeyNotRegistered,
    /// No payment password registered (409).
    #[error("no payment password is registered for this binding")]
    PasswordNotSet,
    /// Wrong password (401).
    #[error("wrong payment password, {attempts_left} attempt(s) left")]
    PasswordWrong {
        /// Wrong passwords left before lock-out.
        attempts_left: u32,
    },
    /// Too many wrong passwords (423).
    #[error("too many wrong payment passwords: locked until a new password is registered")]
    PasswordLocked,
    /// Unknown SMS challenge, or one for another order or binding (404).
    #[error("unknown SMS challenge for this order and binding")]
    ChallengeNotFound,
    /// Wrong SMS code (422).
    #[error("wrong SMS code, {attempts_left} attempt(s) left")]
    OtpWrong {
        /// Tries left before the code locks.
        attempts_left: u32,
    },
    /// Too many wrong SMS codes (423).
    #[error("too many wrong SMS codes: ask for a new code")]
    OtpLocked,
    /// The SMS code expired or was already used (410).
    #[error("{0}")]
    OtpExpired(String),
    /// The account cannot cover the amount (402).
    #[error("insufficient funds")]
    InsufficientFunds,
    /// The account is blocked by its issuer (422).
    #[error("the account is blocked by its issuer")]
    AccountBlocked,
    /// Unexpected failure (500); the detail is logged, not answered.
    #[error("internal error: {0}")]
    Internal(String),
}

impl RemoteError {
    /// HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::MerchantNotFound(_)
            | Self::OrderNotFound
            | Self::BindingNotFound
            | Self::ChallengeNotFound => StatusCode::NOT_FOUND,
            Self::OrderExpired | Self::OtpExpired(_) => StatusCode::GONE,
            Self::OrderAlreadyPaid
            | Self::BindingRevoked
            | Self::Replay(_)
            | Self::SeKeyNotRegistered
            | Self::PasswordNotSet => StatusCode::CONFLICT,
            Self::OrderMismatch(_) | Self::OtpWrong { .. } | Self::AccountBlocked => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            Self::SignatureInvalid(_) | Self::PasswordWrong { .. } => StatusCode::UNAUTHORIZED,
            Self::PasswordLocked | Self::OtpLocked => StatusCode::LOCKED,
            Self::InsufficientFunds => StatusCode::PAYMENT_REQUIRED,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Stable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => codes::BAD_REQUEST,
            Self::MerchantNotFound(_) => remote_codes::MERCHANT_NOT_FOUND,
            Self::OrderNotFound => remote_codes::ORDER_NOT_FOUND,
            Self::OrderExpired => remote_codes::ORDER_EXPIRED,
            Self::OrderAlreadyPaid => remote_codes::ORDER_ALREADY_PAID,
            Self::OrderMismatch(_) => remote_codes::ORDER_MISMATCH,
            Self::BindingNotFound => codes::BINDING_NOT_FOUND,
            Self::BindingRevoked => codes::BINDING_REVOKED,
            Self::Replay(_) => codes::REPLAY,
            Self::SignatureInvalid(_) => codes::SIGNATURE_INVALID,
            Self::SeKeyNotRegistered => remote_codes::SE_KEY_NOT_REGISTERED,
            Self::PasswordNotSet => remote_codes::PASSWORD_NOT_SET,
            Self::PasswordWrong { .. } => remote_codes::PASSWORD_WRONG,
            Self::PasswordLocked => remote_codes::PASSWORD_LOCKED,
            Self::ChallengeNotFound => remote_codes::CHALLENGE_NOT_FOUND,
            Self::OtpWrong { .. } => codes::OTP_WRONG,
            Self::OtpLocked => codes::OTP_LOCKED,
            Self::OtpExpired(_) => codes::OTP_EXPIRED,
            Self::InsufficientFunds => remote_codes::INSUFFICIENT_FUNDS,
            Self::AccountBlocked => codes::CARD_NOT_ELIGIBLE,
            Self::Internal(_) => codes::INTERNAL,
        }
    }

    /// Tries left before lock-out, for password and SMS code errors.
    pub fn attempts_left(&self) -> Option<u32> {
        match self {
            Self::PasswordWrong { attempts_left } | Self::OtpWrong { attempts_left } => {
                Some(*attempts_left)
            }
            Self::PasswordLocked | Self::OtpLocked => Some(0),
            _ => None,
        }
    }

    /// The contract's error body.
    pub fn body(&self) -> ErrorBody {
        let message = match self {
            Self::Internal(_) => "internal error".to_owned(),
            other => other.to_string(),
        };
        error_body_with_attempts(self.code(), message, self.attempts_left())
    }
}

impl IntoResponse for RemoteError {
    fn into_response(self) -> Response {
        if let Self::Internal(detail) = &self {
            tracing::error!(%detail, "remote payment internal error");
        }
        let replayable = !matches!(self, Self::BadRequest(_) | Self::Internal(_));
        error_answer(self.status(), self.body(), replayable)
    }
}

impl From<StoreError> for RemoteError {
    fn from(err: StoreError) -> Self {
        Self::Internal(err.to_string())
    }
}

impl From<CryptoError> for RemoteError {
    fn from(err: CryptoError) -> Self {
        Self::Internal(format!("crypto: {err}"))
    }
}

impl From<ApiError> for RemoteError {
    fn from(err: ApiError) -> Self {
        match err {
            ApiError::BadRequest(message) => Self::BadRequest(message),
            ApiError::BindingNotFound => Self::BindingNotFound,
            ApiError::BindingRevoked => Self::BindingRevoked,
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<SendError> for RemoteError {
    fn from(err: SendError) -> Self {
        Self::Internal(format!("sms: {err}"))
    }
}

impl From<VerifyError> for RemoteError {
    fn from(err: VerifyError) -> Self {
        match err {
            VerifyError::Wrong { attempts_left } => Self::OtpWrong { attempts_left },
            VerifyError::Locked => Self::OtpLocked,
            VerifyError::Expired => {
                Self::OtpExpired("the SMS code expired: ask for a new code".into())
            }
            VerifyError::Unknown => Self::Internal("SMS code record missing".into()),
            VerifyError::Store(err) => err.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_codes_and_attempts_follow_the_contract() {
        let cases: Vec<(RemoteError, u16, &str, Option<u32>)> = vec![
            (
                RemoteError::BadRequest("x".into()),
                400,
                "BAD_REQUEST",
                None,
            ),
            (
                RemoteError::MerchantNotFound("M".into()),
                404,
                "MERCHANT_NOT_FOUND",
                None,
            ),
            (RemoteError::OrderNotFound, 404, "ORDER_NOT_FOUND", None),
            (RemoteError::OrderExpired, 410, "ORDER_EXPIRED", None),
            (
                RemoteError::OrderAlreadyPaid,
                409,
                "ORDER_ALREADY_PAID",
                None,
            ),
            (
                RemoteError::OrderMismatch("x".into()),
                422,
                "ORDER_MISMATCH",
                None,
            ),
            (
                RemoteError::SignatureInvalid("x".into()),
                401,
                "SIGNATURE_INVALID",
                None,
            ),
            (
                RemoteError::SeKeyNotRegistered,
                409,
                "SE_KEY_NOT_REGISTERED",
                None,
            ),
            (RemoteError::PasswordNotSet, 409, "PASSWORD_NOT_SET", None),
            (
                RemoteError::PasswordWrong { attempts_left: 3 },
                401,
                "PASSWORD_WRONG",
                Some(3),
            ),
            (RemoteError::PasswordLocked, 423, "PASSWORD_LOCKED", Some(0)),
            (
                RemoteError::ChallengeNotFound,
                404,
                "CHALLENGE_NOT_FOUND",
                None,
            ),
            (
                RemoteError::OtpWrong { attempts_left: 2 },
                422,
                "OTP_WRONG",
                Some(2),
            ),
            (RemoteError::OtpLocked, 423, "OTP_LOCKED", Some(0)),
            (
                RemoteError::OtpExpired("x".into()),
                410,
                "OTP_EXPIRED",
                None,
            ),
            (
                RemoteError::InsufficientFunds,
                402,
                "INSUFFICIENT_FUNDS",
                None,
            ),
            (RemoteError::AccountBlocked, 422, "CARD_NOT_ELIGIBLE", None),
            (
                RemoteError::Internal("secret".into()),
                500,
                "INTERNAL",
                None,
            ),
        ];
        for (err, status, code, attempts) in cases {
            let body = err.body();
            assert_eq!(
                (
                    err.status().as_u16(),
                    body.error.code.as_str(),
                    body.error.attempts_left
                ),
                (status, code, attempts)
            );
            assert!(!body.error.message.contains("secret"));
        }
    }
}
