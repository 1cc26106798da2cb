//! Idempotency keys for every state-changing endpoint, as a reusable middleware.
//!
//! A request carrying an [`IDEMPOTENCY_KEY_HEADER`] is identified by (endpoint, key), where the
//! endpoint is the method and the concrete path (`POST /bank/v1/bindings/ab12/unbind`). The first
//! answer is stored with the SHA-256 of the request body:
//! - the same key with the same body replays the stored status and body (with
//!   [`REPLAYED_HEADER`]` : true`) without running the handler again;
//! - the same key with a different body answers `409 IDEMPOTENCY_CONFLICT`;
//! - requests with the same key are serialised, so a retry racing the first attempt waits for it
//!   and then replays its answer.
//!
//! Answers that never started executing (malformed requests, `400 BAD_REQUEST`) and server
//! failures (5xx) are not stored, so a corrected request or a retry after a failure may reuse the
//! key. The header is optional: a request without one is simply not deduplicated. Stored answers
//! do not expire (the mock world is short-lived).
//!
//! Usage: `router.route_layer(axum::middleware::from_fn_with_state(idem, idempotency::enforce))`.

use crate::error::{ApiError, NotReplayable};
use crate::persist::{Store, StoreError, Table};
use axum::body::{to_bytes, Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ring::digest::{digest, SHA256};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use wallet_core::backend::api::IDEMPOTENCY_KEY_HEADER;

/// Largest request body the middleware buffers (1 MiB).
pub const MAX_REQUEST_BYTES: usize = 1 << 20;
/// Largest response body stored for replay (16 MiB).
pub const MAX_RESPONSE_BYTES: usize = 16 << 20;
/// Longest accepted idempotency key.
pub const MAX_KEY_LEN: usize = 255;
/// Response header set to `true` on a replayed answer.
pub const REPLAYED_HEADER: &str = "Idempotent-Replayed";

/// A stored first answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredAnswer {
    /// SHA-256 of the request body, hex.
    request_sha256: String,
    /// HTTP status of the first answer.
    status: u16,
    /// Content type of the first answer, if any.
    content_type: Option<String>,
    /// Body of the first answer, hex.
    body_hex: String,
}

type KeyLocks = HashMap<String, Arc<tokio::sync::Mutex<()>>>;

/// The idempotency store shared by every endpoint. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Idempotency {
    answers: Table<StoredAnswer>,
    in_flight: Arc<Mutex<KeyLocks>>,
}

impl Idempotency {
    /// Opens the idempotency records in `store`.
    pub fn open(store: &Store) -> Result<Self, StoreError> {
        Ok(Self {
            answers: store.table("idempotency")?,
            in_flight: Arc::default(),
        })
    }

    fn lock_for(&self, record_key: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut map = self
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        Arc::clone(map.entry(record_key.to_owned()).or_default())
    }

    fn release(&self, record_key: &str, lock: Arc<tokio::sync::Mutex<()>>) {
        let mut map = self
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // Only the map and our clone left: nobody is waiting on this key.
        if Arc::strong_count(&lock) <= 2 {
            map.remove(record_key);
        }
    }
}

/// Middleware: deduplicates state-changing requests that carry an idempotency key.
pub async fn enforce(State(idem): State<Idempotency>, request: Request, next: Next) -> Response {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return next.run(request).await;
    }
    let key = match request.headers().get(IDEMPOTENCY_KEY_HEADER) {
        None => return next.run(request).await,
        Some(value) => match parse_key(value) {
            Ok(key) => key.to_owned(),
            Err(err) => return err.into_response(),
        },
    };
    let record_key = format!("{} {}\n{key}", request.method(), request.uri().path());
    let (parts, body) = request.into_parts();
    let body = match to_bytes(body, MAX_REQUEST_BYTES).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return ApiError::BadRequest(format!(
                "request body unreadable or larger than {MAX_REQUEST_BYTES} bytes"
            ))
            .into_response()
        }
    };
    let request_sha256 = hex::encode(digest(&SHA256, &body));

    let lock = idem.lock_for(&record_key);
    let response = {
        let _guard = lock.lock().await;
        match idem.answers.get(&record_key) {
            Err(err) => ApiError::from(err).into_response(),
            Ok(Some(stored)) if stored.request_sha256 == request_sha256 => replay(&stored),
            Ok(Some(_)) => ApiError::IdempotencyConflict(format!(
                "idempotency key {key:?} was already used with a different request"
            ))
            .into_response(),
            Ok(None) => {
                let response = next.run(Request::from_parts(parts, Body::from(body))).await;
                remember(&idem, &record_key, request_sha256, response).await
            }
        }
    };
    idem.release(&record_key, lock);
    response
}

fn parse_key(value: &HeaderValue) -> Result<&str, ApiError> {
    let key = value.to_str().map_err(|_| {
        ApiError::BadRequest(format!("{IDEMPOTENCY_KEY_HEADER} must be visible ASCII"))
    })?;
    let key = key.trim();
    if key.is_empty() || key.len() > MAX_KEY_LEN {
        return Err(ApiError::BadRequest(format!(
            "{IDEMPOTENCY_KEY_HEADER} must be 1 to {MAX_KEY_LEN} characters"
        )));
    }
    Ok(key)
}

/// Stores `response` if it is replayable, and returns it (rebuilt from its buffered body).
async fn remember(
    idem: &Idempotency,
    record_key: &str,
    request_sha256: String,
    response: Response,
) -> Response {
    let storable = !response.status().is_server_error()
        && response.extensions().get::<NotReplayable>().is_none();
    if !storable {
        return response;
    }
    let (parts, body) = response.into_parts();
    let bytes: Bytes = match to_bytes(body, MAX_RESPONSE_BYTES).await {
        Ok(bytes) => bytes,
        Err(err) => {
            return ApiError::Internal(format!("response body unreadable: {err}")).into_response()
        }
    };
    let stored = StoredAnswer {
        request_sha256,
        status: parts.status.as_u16(),
        content_type: parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned),
        body_hex: hex::encode(&bytes),
    };
    if let Err(err) = idem.answers.put(record_key, &stored) {
        // The work is done; failing to remember it only costs a later replay.
        tracing::error!(%err, "could not store idempotent answer");
    }
    Response::from_parts(parts, Body::from(bytes))
}

fn replay(stored: &StoredAnswer) -> Response {
    let Ok(body) = hex::decode(&stored.body_hex) else {
        return ApiError::Internal("stored idempotent answer is corrupt".into()).into_response();
    };
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.remove(header::CONTENT_TYPE);
    if let Some(content_type) = stored
        .content_type
        .as_deref()
        .and_then(|ct| HeaderValue::from_str(ct).ok())
    {
        headers.insert(header::CONTENT_TYPE, content_type);
    }
    headers.insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_validated() {
        assert_eq!(
            parse_key(&HeaderValue::from_static(" k-1 ")).ok(),
            Some("k-1")
        );
        assert!(parse_key(&HeaderValue::from_static("")).is_err());
        let long = "a".repeat(MAX_KEY_LEN + 1);
        assert!(
            parse_key(&HeaderValue::from_str(&long).unwrap_or(HeaderValue::from_static("")))
                .is_err()
        );
        let non_ascii = HeaderValue::from_bytes(&[0xE4, 0xBD, 0xA0]).ok();
        assert!(non_ascii.map(|v| parse_key(&v).is_err()).unwrap_or(false));
    }

    #[test]
    fn replay_restores_status_body_and_marks_it() {
        let stored = StoredAnswer {
            request_sha256: String::new(),
            status: 422,
            content_type: Some("application/json".into()),
            body_hex: hex::encode(b"{}"),
        };
        let response = replay(&stored);
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            response
                .headers()
                .get(REPLAYED_HEADER)
                .map(|v| v.as_bytes()),
            Some(&b"true"[..])
        );
        assert_eq!(
            response
                .headers()
                .get(header::CONTENT_TYPE)
                .map(|v| v.as_bytes()),
            Some(&b"application/json"[..])
        );
    }
}
