//! Refusals of the token service: the contract's error body with [`codes`] or the token
//! service's [`hce_codes`].

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use wallet_core::backend::api::codes;
use wallet_core::backend::api::hce::codes as hce_codes;
use wallet_core::crypto::CryptoError;

use crate::error::{error_answer, error_body, ApiError};
use crate::persist::StoreError;
use crate::tsm::TsmError;

/// A refusal of the token service.
#[derive(Debug, thiserror::Error)]
pub enum HceServiceError {
    /// Malformed request (400).
    #[error("{0}")]
    BadRequest(String),
    /// Unknown binding (404).
    #[error("unknown binding")]
    BindingNotFound,
    /// The binding is revoked (409).
    #[error("the binding is revoked")]
    BindingRevoked,
    /// The signature does not verify with the binding's device key (401).
    #[error("signature does not verify against the registered device key")]
    SignatureInvalid,
    /// Timestamp out of the window or nonce reused (409).
    #[error("{0}")]
    Replay(String),
    /// Unknown token, or another binding's (404).
    #[error("unknown token")]
    TokenNotFound,
    /// The token is suspended (409).
    #[error("the token is suspended")]
    TokenSuspended,
    /// Every key index of the token is issued (409).
    #[error("every key index of the token is issued")]
    KeysExhausted,
    /// The account cannot have an HCE card (422).
    #[error("{0}")]
    NotEligible(String),
    /// Unexpected failure (500); the detail is logged, not answered.
    #[error("internal error: {0}")]
    Internal(String),
}

impl HceServiceError {
    /// HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::BindingNotFound | Self::TokenNotFound => StatusCode::NOT_FOUND,
            Self::SignatureInvalid => StatusCode::UNAUTHORIZED,
            Self::BindingRevoked | Self::Replay(_) | Self::TokenSuspended | Self::KeysExhausted => {
                StatusCode::CONFLICT
            }
            Self::NotEligible(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Stable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => codes::BAD_REQUEST,
            Self::BindingNotFound => codes::BINDING_NOT_FOUND,
            Self::BindingRevoked => codes::BINDING_REVOKED,
            Self::SignatureInvalid => codes::SIGNATURE_INVALID,
            Self::Replay(_) => codes::REPLAY,
            Self::TokenNotFound => hce_codes::TOKEN_NOT_FOUND,
            Self::TokenSuspended => hce_codes::TOKEN_SUSPENDED,
            Self::KeysExhausted => hce_codes::KEYS_EXHAUSTED,
            Self::NotEligible(_) => hce_codes::HCE_NOT_ELIGIBLE,
            Self::Internal(_) => codes::INTERNAL,
        }
    }
}

impl IntoResponse for HceServiceError {
    fn into_response(self) -> Response {
        if let Self::Internal(detail) = &self {
            tracing::error!(%detail, "token service internal error");
        }
        let message = match &self {
            Self::Internal(_) => "internal error".to_owned(),
            other => other.to_string(),
        };
        let replayable = !matches!(self, Self::BadRequest(_) | Self::Internal(_));
        error_answer(self.status(), error_body(self.code(), message), replayable)
    }
}

impl From<StoreError> for HceServiceError {
    fn from(err: StoreError) -> Self {
        Self::Internal(err.to_string())
    }
}

impl From<CryptoError> for HceServiceError {
    fn from(err: CryptoError) -> Self {
        Self::Internal(format!("crypto: {err}"))
    }
}

impl From<ApiError> for HceServiceError {
    /// Extractor rejections (bad JSON, bad path) are the only API errors that reach here.
    fn from(err: ApiError) -> Self {
        match err {
            ApiError::Internal(detail) => Self::Internal(detail),
            other => Self::BadRequest(other.to_string()),
        }
    }
}

impl From<TsmError> for HceServiceError {
    /// The bank link answers with TSM errors; only these can occur.
    fn from(err: TsmError) -> Self {
        match err {
            TsmError::BindingNotFound => Self::BindingNotFound,
            other => Self::Internal(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_codes_follow_the_contract() {
        let cases = [
            (HceServiceError::BadRequest("x".into()), 400, "BAD_REQUEST"),
            (HceServiceError::BindingNotFound, 404, "BINDING_NOT_FOUND"),
            (HceServiceError::BindingRevoked, 409, "BINDING_REVOKED"),
            (HceServiceError::SignatureInvalid, 401, "SIGNATURE_INVALID"),
            (HceServiceError::Replay("x".into()), 409, "REPLAY"),
            (HceServiceError::TokenNotFound, 404, "TOKEN_NOT_FOUND"),
            (HceServiceError::TokenSuspended, 409, "TOKEN_SUSPENDED"),
            (HceServiceError::KeysExhausted, 409, "KEYS_EXHAUSTED"),
            (
                HceServiceError::NotEligible("x".into()),
                422,
                "HCE_NOT_ELIGIBLE",
            ),
            (HceServiceError::Internal("x".into()), 500, "INTERNAL"),
        ];
        for (err, status, code) in cases {
            assert_eq!(err.status().as_u16(), status, "{code}");
            assert_eq!(err.code(), code);
        }
    }
}
