//! Every failure the mock world answers, as the contract's [`ErrorBody`] with a stable code.
//!
//! Malformed input of any kind (bad JSON, a missing field, a wrong type, a wrong content type, a
//! bad query string or header) is `400 BAD_REQUEST` with a message saying what was wrong — never a
//! 500. Unexpected server-side failures are `500 INTERNAL`; their details are logged, not sent.

use crate::persist::StoreError;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use wallet_core::backend::api::{codes, ErrorBody, ErrorDetail};
use wallet_core::crypto::CryptoError;

/// Marker in a response's extensions: the answer must not be stored for idempotent replay
/// (malformed requests that never started executing, conflicts, and server failures).
#[derive(Debug, Clone, Copy)]
pub struct NotReplayable;

/// An error answer of the mock world.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Malformed request: JSON, field, type, content type, header or query (400).
    #[error("{0}")]
    BadRequest(String),
    /// No endpoint at this path (404, code `BAD_REQUEST`: the contract has no not-found code).
    #[error("no endpoint {0}")]
    NoRoute(String),
    /// The path exists but not with this method (405, code `BAD_REQUEST`).
    #[error("method not allowed: {0}")]
    MethodNotAllowed(String),
    /// Card number fails the length or Luhn check (400).
    #[error("{0}")]
    InvalidCardNumber(String),
    /// Phone number malformed (400).
    #[error("{0}")]
    InvalidPhone(String),
    /// No such card at this bank (404).
    #[error("no such card at this bank")]
    UnknownCard,
    /// Holder name does not match the card (422).
    #[error("holder name does not match the card")]
    NameMismatch,
    /// ID number does not match the holder (422).
    #[error("ID number does not match the card holder")]
    IdMismatch,
    /// Phone does not match the number on file (422).
    #[error("phone number does not match the number on file")]
    PhoneMismatch,
    /// Card is blocked or closed (422).
    #[error("{0}")]
    CardNotEligible(String),
    /// Wrong one-time code (422).
    #[error("wrong one-time code, {attempts_left} attempt(s) left")]
    OtpWrong {
        /// Tries left before the code locks.
        attempts_left: u32,
    },
    /// Too many wrong codes (423).
    #[error("too many wrong codes: this code is locked, start binding again")]
    OtpLocked,
    /// The code expired (410).
    #[error("the one-time code expired, start binding again")]
    OtpExpired,
    /// Unknown binding session (404).
    #[error("unknown binding session")]
    SessionNotFound,
    /// Unknown binding (404).
    #[error("unknown binding")]
    BindingNotFound,
    /// The binding is revoked (409).
    #[error("the binding is revoked")]
    BindingRevoked,
    /// The signature did not verify against the registered device key (401).
    #[error("signature does not verify against the registered device key")]
    SignatureInvalid,
    /// Timestamp outside the window or nonce seen before (409).
    #[error("{0}")]
    Replay(String),
    /// Idempotency key reused with a different request (409).
    #[error("{0}")]
    IdempotencyConflict(String),
    /// Unexpected server failure (500); the detail is logged, not answered.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) | Self::InvalidCardNumber(_) | Self::InvalidPhone(_) => {
                StatusCode::BAD_REQUEST
            }
            Self::NoRoute(_)
            | Self::UnknownCard
            | Self::SessionNotFound
            | Self::BindingNotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::NameMismatch
            | Self::IdMismatch
            | Self::PhoneMismatch
            | Self::CardNotEligible(_)
            | Self::OtpWrong { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::OtpLocked => StatusCode::LOCKED,
            Self::OtpExpired => StatusCode::GONE,
            Self::BindingRevoked | Self::Replay(_) | Self::IdempotencyConflict(_) => {
                StatusCode::CONFLICT
            }
            Self::SignatureInvalid => StatusCode::UNAUTHORIZED,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Stable code of this error, one of [`codes`].
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) | Self::NoRoute(_) | Self::MethodNotAllowed(_) => {
                codes::BAD_REQUEST
            }
            Self::InvalidCardNumber(_) => codes::INVALID_CARD_NUMBER,
            Self::InvalidPhone(_) => codes::INVALID_PHONE,
            Self::UnknownCard => codes::UNKNOWN_CARD,
            Self::NameMismatch => codes::NAME_MISMATCH,
            Self::IdMismatch => codes::ID_MISMATCH,
            Self::PhoneMismatch => codes::PHONE_MISMATCH,
            Self::CardNotEligible(_) => codes::CARD_NOT_ELIGIBLE,
            Self::OtpWrong { .. } => codes::OTP_WRONG,
            Self::OtpLocked => codes::OTP_LOCKED,
            Self::OtpExpired => codes::OTP_EXPIRED,
            Self::SessionNotFound => codes::SESSION_NOT_FOUND,
            Self::BindingNotFound => codes::BINDING_NOT_FOUND,
            Self::BindingRevoked => codes::BINDING_REVOKED,
            Self::SignatureInvalid => codes::SIGNATURE_INVALID,
            Self::Replay(_) => codes::REPLAY,
            Self::IdempotencyConflict(_) => codes::IDEMPOTENCY_CONFLICT,
            Self::Internal(_) => codes::INTERNAL,
        }
    }

    /// Tries left before lock-out, for one-time code errors.
    pub fn attempts_left(&self) -> Option<u32> {
        match self {
            Self::OtpWrong { attempts_left } => Some(*attempts_left),
            Self::OtpLocked => Some(0),
            _ => None,
        }
    }

    /// The contract's error body for this error.
    pub fn body(&self) -> ErrorBody {
        let message = match self {
            Self::Internal(_) => "internal error".to_owned(),
            other => other.to_string(),
        };
        error_body_with_attempts(self.code(), message, self.attempts_left())
    }

    fn replayable(&self) -> bool {
        !matches!(
            self,
            Self::BadRequest(_)
                | Self::NoRoute(_)
                | Self::MethodNotAllowed(_)
                | Self::IdempotencyConflict(_)
                | Self::Internal(_)
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::Internal(detail) = &self {
            tracing::error!(%detail, "internal error");
        }
        error_answer(self.status(), self.body(), self.replayable())
    }
}

/// The contract's error body without tries left.
pub fn error_body(code: &str, message: String) -> ErrorBody {
    error_body_with_attempts(code, message, None)
}

/// [`error_body`] of a wrong or locked code / password, with the tries left before lock-out.
pub fn error_body_with_attempts(
    code: &str,
    message: String,
    attempts_left: Option<u32>,
) -> ErrorBody {
    ErrorBody {
        error: ErrorDetail {
            code: code.to_owned(),
            message,
            attempts_left,
        },
    }
}

/// Every entity's error answer: `status` with `body`; when not `replayable` (malformed requests,
/// internal failures) it is marked so the idempotency middleware does not store it and the key
/// can be used again for the corrected request.
pub fn error_answer(status: StatusCode, body: ErrorBody, replayable: bool) -> Response {
    let mut response = (status, Json(body)).into_response();
    if !replayable {
        response.extensions_mut().insert(NotReplayable);
    }
    response
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        Self::Internal(err.to_string())
    }
}

impl From<CryptoError> for ApiError {
    fn from(err: CryptoError) -> Self {
        Self::Internal(format!("crypto: {err}"))
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        Self::BadRequest(format!("invalid JSON request: {}", rejection.body_text()))
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::BadRequest(format!("invalid query string: {}", rejection.body_text()))
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        Self::BadRequest(format!("invalid path: {}", rejection.body_text()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_the_contract() {
        let cases: Vec<(ApiError, u16, &str)> = vec![
            (ApiError::BadRequest("x".into()), 400, "BAD_REQUEST"),
            (
                ApiError::InvalidCardNumber("x".into()),
                400,
                "INVALID_CARD_NUMBER",
            ),
            (ApiError::InvalidPhone("x".into()), 400, "INVALID_PHONE"),
            (ApiError::UnknownCard, 404, "UNKNOWN_CARD"),
            (ApiError::NameMismatch, 422, "NAME_MISMATCH"),
            (ApiError::IdMismatch, 422, "ID_MISMATCH"),
            (ApiError::PhoneMismatch, 422, "PHONE_MISMATCH"),
            (
                ApiError::CardNotEligible("x".into()),
                422,
                "CARD_NOT_ELIGIBLE",
            ),
            (ApiError::OtpWrong { attempts_left: 3 }, 422, "OTP_WRONG"),
            (ApiError::OtpLocked, 423, "OTP_LOCKED"),
            (ApiError::OtpExpired, 410, "OTP_EXPIRED"),
            (ApiError::SessionNotFound, 404, "SESSION_NOT_FOUND"),
            (ApiError::BindingNotFound, 404, "BINDING_NOT_FOUND"),
            (ApiError::BindingRevoked, 409, "BINDING_REVOKED"),
            (ApiError::SignatureInvalid, 401, "SIGNATURE_INVALID"),
            (ApiError::Replay("x".into()), 409, "REPLAY"),
            (
                ApiError::IdempotencyConflict("x".into()),
                409,
                "IDEMPOTENCY_CONFLICT",
            ),
            (ApiError::Internal("x".into()), 500, "INTERNAL"),
        ];
        for (err, status, code) in cases {
            assert_eq!(err.status().as_u16(), status, "{code}");
            assert_eq!(err.code(), code);
        }
    }

    #[test]
    fn internal_details_are_not_answered() {
        let body = ApiError::Internal("sled exploded at /secret/path".into()).body();
        assert_eq!(body.error.message, "internal error");
        assert_eq!(body.error.attempts_left, None);
    }

    #[test]
    fn wrong_code_carries_attempts_left() {
        let body = ApiError::OtpWrong { attempts_left: 2 }.body();
        assert_eq!(body.error.attempts_left, Some(2));
        assert!(body.error.message.contains('2'));
    }
}
