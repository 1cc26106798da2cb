//! HTTP endpoints of the acquirer (paths from `wallet_core::backend::api::acquiring`).

use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::idempotency;
use crate::state::AppState;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::middleware::from_fn_with_state;
use axum::routing::post;
use axum::{Json, Router};
use wallet_core::backend::api::acquiring::{
    AuthorizationRequest, AuthorizationResponse, OfflineAdviceRequest, OfflineAdviceResponse,
    ReversalRequest, ReversalResponse, PATH_AUTHORIZATIONS, PATH_OFFLINE_ADVICES, PATH_REVERSALS,
};
use wallet_core::backend::api::IDEMPOTENCY_KEY_HEADER;

/// The acquirer's routes, with idempotency keys enforced.
pub fn routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .route(PATH_AUTHORIZATIONS, post(authorize))
        .route(PATH_OFFLINE_ADVICES, post(offline_advice))
        .route(PATH_REVERSALS, post(reverse))
        .route_layer(from_fn_with_state(
            state.idempotency().clone(),
            idempotency::enforce,
        ))
}

/// `POST /acquirer/v1/authorizations`
async fn authorize(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(request): ApiJson<AuthorizationRequest>,
) -> Result<Json<AuthorizationResponse>, ApiError> {
    let now = state.clock().now();
    let key = idempotency_key(&headers);
    super::authorize_keyed(&state, &request, key, now).map(Json)
}

/// The request's `Idempotency-Key`, if any (the middleware checked its shape).
fn idempotency_key(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(IDEMPOTENCY_KEY_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|k| !k.is_empty())
}

/// `POST /acquirer/v1/offline-advices`
async fn offline_advice(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<OfflineAdviceRequest>,
) -> Result<Json<OfflineAdviceResponse>, ApiError> {
    let now = state.clock().now();
    super::offline_advice(&state, &request, now).map(Json)
}

/// `POST /acquirer/v1/reversals`
async fn reverse(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<ReversalRequest>,
) -> Result<Json<ReversalResponse>, ApiError> {
    let now = state.clock().now();
    super::reverse(&state, &request, now).map(Json)
}
