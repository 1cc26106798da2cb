//! HTTP endpoints of the bank (paths from `wallet_core::backend::api`).

use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath};
use crate::idempotency;
use crate::state::AppState;
use axum::extract::State;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};
use axum::{Json, Router};
use wallet_core::backend::api::{
    BeginBindingRequest, BeginBindingResponse, BindingRecord, ConfirmBindingRequest, UnbindRequest,
    PATH_BINDINGS, PATH_BINDINGS_CONFIRM,
};

/// The bank's routes, with idempotency keys enforced on every state-changing request.
pub fn routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .route(PATH_BINDINGS, post(begin_binding))
        .route(PATH_BINDINGS_CONFIRM, post(confirm_binding))
        .route(&format!("{PATH_BINDINGS}/{{binding_id}}"), get(get_binding))
        .route(
            &format!("{PATH_BINDINGS}/{{binding_id}}/unbind"),
            post(unbind),
        )
        .route_layer(from_fn_with_state(
            state.idempotency().clone(),
            idempotency::enforce,
        ))
}

/// `POST /bank/v1/bindings`
async fn begin_binding(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<BeginBindingRequest>,
) -> Result<Json<BeginBindingResponse>, ApiError> {
    let now = state.clock().now();
    state.bank().begin(&request, state.sms(), now).map(Json)
}

/// `POST /bank/v1/bindings/confirm`
async fn confirm_binding(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<ConfirmBindingRequest>,
) -> Result<Json<BindingRecord>, ApiError> {
    let now = state.clock().now();
    state.bank().confirm(&request, state.sms(), now).map(Json)
}

/// `GET /bank/v1/bindings/{binding_id}`
async fn get_binding(
    State(state): State<AppState>,
    ApiPath(binding_id): ApiPath<String>,
) -> Result<Json<BindingRecord>, ApiError> {
    state.bank().binding(&binding_id).map(Json)
}

/// `POST /bank/v1/bindings/{binding_id}/unbind`
async fn unbind(
    State(state): State<AppState>,
    ApiPath(binding_id): ApiPath<String>,
    ApiJson(request): ApiJson<UnbindRequest>,
) -> Result<Json<BindingRecord>, ApiError> {
    let now = state.clock().now();
    state.bank().unbind(&binding_id, &request, now).map(Json)
}
