//! Failures of the TSM side: [`TsmError`] for the order API (the contract's error body with
//! [`codes`] or the order API's [`tsm_codes`]), [`SeramError`] for the GP SERAM remote agent
//! (the statuses of `gpseram.yaml`: `400`, `404`, `406`, `500`, with the same error body for
//! humans — the local agent acts on the status alone).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use wallet_core::backend::api::codes;
use wallet_core::backend::api::tsm::codes as tsm_codes;
use wallet_core::crypto::CryptoError;
use wallet_core::gp::GpError;

use crate::error::{error_answer, error_body, ApiError};
use crate::persist::StoreError;

/// A refusal of the order API.
#[derive(Debug, thiserror::Error)]
pub enum TsmError {
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
    /// Unknown order (404).
    #[error("unknown order")]
    OrderNotFound,
    /// The SE cannot be managed (422).
    #[error("{0}")]
    UnknownSe(String),
    /// Open on an SE that already holds the card (409).
    #[error("{0}")]
    CardExists(String),
    /// No such card for this binding on this SE (409).
    #[error("{0}")]
    CardNotFound(String),
    /// The operation does not apply to the card's life cycle (409).
    #[error("{0}")]
    InvalidState(String),
    /// The e-cash load cannot be funded or exceeds the card's limit (422).
    #[error("{0}")]
    EcashLoadRefused(String),
    /// The public service platform refused to route the order (422).
    #[error("{0}")]
    RouteRefused(String),
    /// Unexpected failure (500); the detail is logged, not answered.
    #[error("internal error: {0}")]
    Internal(String),
}

impl TsmError {
    /// HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            TsmError::BadRequest(_) => StatusCode::BAD_REQUEST,
            TsmError::BindingNotFound | TsmError::OrderNotFound => StatusCode::NOT_FOUND,
            TsmError::SignatureInvalid => StatusCode::UNAUTHORIZED,
            TsmError::BindingRevoked
            | TsmError::Replay(_)
            | TsmError::CardExists(_)
            | TsmError::CardNotFound(_)
            | TsmError::InvalidState(_) => StatusCode::CONFLICT,
            TsmError::UnknownSe(_) | TsmError::EcashLoadRefused(_) | TsmError::RouteRefused(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            TsmError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Stable code.
    pub fn code(&self) -> &'static str {
        match self {
            TsmError::BadRequest(_) => codes::BAD_REQUEST,
            TsmError::BindingNotFound => codes::BINDING_NOT_FOUND,
            TsmError::BindingRevoked => codes::BINDING_REVOKED,
            TsmError::SignatureInvalid => codes::SIGNATURE_INVALID,
            TsmError::Replay(_) => codes::REPLAY,
            TsmError::OrderNotFound => tsm_codes::ORDER_NOT_FOUND,
            TsmError::UnknownSe(_) => tsm_codes::UNKNOWN_SE,
            TsmError::CardExists(_) => tsm_codes::CARD_EXISTS,
            TsmError::CardNotFound(_) => tsm_codes::CARD_NOT_FOUND,
            TsmError::InvalidState(_) => tsm_codes::INVALID_STATE,
            TsmError::EcashLoadRefused(_) => tsm_codes::ECASH_LOAD_REFUSED,
            TsmError::RouteRefused(_) => tsm_codes::ROUTE_REFUSED,
            TsmError::Internal(_) => codes::INTERNAL,
        }
    }
}

impl IntoResponse for TsmError {
    fn into_response(self) -> Response {
        if let TsmError::Internal(detail) = &self {
            tracing::error!(%detail, "TSM internal error");
        }
        let message = match &self {
            TsmError::Internal(_) => "internal error".to_owned(),
            other => other.to_string(),
        };
        let replayable = !matches!(self, TsmError::BadRequest(_) | TsmError::Internal(_));
        error_answer(self.status(), error_body(self.code(), message), replayable)
    }
}

impl From<StoreError> for TsmError {
    fn from(err: StoreError) -> TsmError {
        TsmError::Internal(err.to_string())
    }
}

impl From<CryptoError> for TsmError {
    fn from(err: CryptoError) -> TsmError {
        TsmError::Internal(format!("crypto: {err}"))
    }
}

impl From<GpError> for TsmError {
    fn from(err: GpError) -> TsmError {
        TsmError::Internal(format!("GlobalPlatform: {err}"))
    }
}

impl From<ApiError> for TsmError {
    fn from(err: ApiError) -> TsmError {
        match err {
            ApiError::BadRequest(message) => TsmError::BadRequest(message),
            other => TsmError::Internal(other.to_string()),
        }
    }
}

/// A refusal of the GP SERAM remote agent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SeramError {
    /// The message is not a valid SERAM message (bad JSON, schema, limits) (400).
    #[error("malformed SERAM message: {0}")]
    Malformed(String),
    /// The session is unknown or over (404).
    #[error("session not found")]
    SessionNotFound,
    /// The handshake proposal cannot be fulfilled (406).
    #[error("proposal not acceptable: {0}")]
    NotAcceptable(String),
    /// The message is valid but not at this point of the session (400).
    #[error("out of sequence: {0}")]
    OutOfSequence(String),
    /// Unexpected failure (500).
    #[error("internal error: {0}")]
    Internal(String),
}

impl SeramError {
    /// HTTP status (gpseram.yaml).
    pub fn status(&self) -> StatusCode {
        match self {
            SeramError::Malformed(_) | SeramError::OutOfSequence(_) => StatusCode::BAD_REQUEST,
            SeramError::SessionNotFound => StatusCode::NOT_FOUND,
            SeramError::NotAcceptable(_) => StatusCode::NOT_ACCEPTABLE,
            SeramError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            SeramError::Malformed(_) | SeramError::OutOfSequence(_) => codes::BAD_REQUEST,
            SeramError::SessionNotFound => tsm_codes::SERAM_SESSION_NOT_FOUND,
            SeramError::NotAcceptable(_) => tsm_codes::SERAM_NOT_ACCEPTABLE,
            SeramError::Internal(_) => codes::INTERNAL,
        }
    }
}

impl IntoResponse for SeramError {
    fn into_response(self) -> Response {
        let message = match &self {
            SeramError::Internal(detail) => {
                tracing::error!(%detail, "SERAM remote agent internal error");
                "internal error".to_owned()
            }
            other => other.to_string(),
        };
        // SERAM requests carry no idempotency key: nothing to mark.
        error_answer(self.status(), error_body(self.code(), message), true)
    }
}

impl From<StoreError> for SeramError {
    fn from(err: StoreError) -> SeramError {
        SeramError::Internal(err.to_string())
    }
}

impl From<TsmError> for SeramError {
    fn from(err: TsmError) -> SeramError {
        SeramError::Internal(err.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_the_contract_and_the_binding() {
        let cases: Vec<(TsmError, u16, &str)> = vec![
            (TsmError::BadRequest("x".into()), 400, "BAD_REQUEST"),
            (TsmError::BindingNotFound, 404, "BINDING_NOT_FOUND"),
            (TsmError::BindingRevoked, 409, "BINDING_REVOKED"),
            (TsmError::SignatureInvalid, 401, "SIGNATURE_INVALID"),
            (TsmError::Replay("x".into()), 409, "REPLAY"),
            (TsmError::OrderNotFound, 404, "ORDER_NOT_FOUND"),
            (TsmError::UnknownSe("x".into()), 422, "UNKNOWN_SE"),
            (TsmError::CardExists("x".into()), 409, "CARD_EXISTS"),
            (TsmError::CardNotFound("x".into()), 409, "CARD_NOT_FOUND"),
            (TsmError::InvalidState("x".into()), 409, "INVALID_STATE"),
            (
                TsmError::EcashLoadRefused("x".into()),
                422,
                "ECASH_LOAD_REFUSED",
            ),
            (TsmError::RouteRefused("x".into()), 422, "ROUTE_REFUSED"),
            (TsmError::Internal("x".into()), 500, "INTERNAL"),
        ];
        for (err, status, code) in cases {
            assert_eq!((err.status().as_u16(), err.code()), (status, code));
        }
        assert_eq!(
            SeramError::Malformed("x".into()).status(),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(SeramError::SessionNotFound.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            SeramError::NotAcceptable("x".into()).status(),
            StatusCode::NOT_ACCEPTABLE
        );
        assert_eq!(
            SeramError::OutOfSequence("x".into()).status(),
            StatusCode::BAD_REQUEST
        );
    }
}
