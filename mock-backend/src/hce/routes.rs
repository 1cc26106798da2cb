//! HTTP endpoints of the token service (paths from `wallet_core::backend::api::hce`), behind the
//! idempotency middleware.

use axum::extract::State;
use axum::middleware::from_fn_with_state;
use axum::routing::post;
use axum::{Json, Router};
use wallet_core::backend::api::hce::{
    HceCardProvisioned, HceCardRequest, KeyBatch, KeyBatchRequest, PATH_HCE_CARDS,
};

use super::error::HceServiceError;
use crate::extract::{ApiJson, ApiPath};
use crate::idempotency;
use crate::state::AppState;

/// `POST /hce/v1/cards` and `POST /hce/v1/cards/{token_id}/keys`.
pub fn routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .route(PATH_HCE_CARDS, post(provision))
        .route(&format!("{PATH_HCE_CARDS}/{{token_id}}/keys"), post(keys))
        .route_layer(from_fn_with_state(
            state.idempotency().clone(),
            idempotency::enforce,
        ))
}

/// `POST /hce/v1/cards`
async fn provision(
    State(state): State<AppState>,
    request: Result<ApiJson<HceCardRequest>, crate::ApiError>,
) -> Result<Json<HceCardProvisioned>, HceServiceError> {
    let ApiJson(request) = request?;
    let now = state.clock().now();
    state.hce().provision(&request, now).map(Json)
}

/// `POST /hce/v1/cards/{token_id}/keys`
async fn keys(
    State(state): State<AppState>,
    token_id: Result<ApiPath<String>, crate::ApiError>,
    request: Result<ApiJson<KeyBatchRequest>, crate::ApiError>,
) -> Result<Json<KeyBatch>, HceServiceError> {
    let ApiPath(token_id) = token_id?;
    let ApiJson(request) = request?;
    let now = state.clock().now();
    state.hce().replenish(&token_id, &request, now).map(Json)
}
