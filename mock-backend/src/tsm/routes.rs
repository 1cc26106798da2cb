//! HTTP endpoints of the TSM side (paths from `wallet_core::backend::api::tsm`).

use axum::extract::State;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};
use axum::{Json, Router};
use wallet_core::backend::api::tsm::{
    CardOrderRequest, OrderAccepted, OrderStatus, PATH_TSM_ORDERS,
};

use super::error::TsmError;
use super::{orders, remote_agent};
use crate::extract::{ApiJson, ApiPath};
use crate::idempotency;
use crate::state::AppState;

/// The order API (idempotency keys enforced) and the SERAM remote agent (which has its own
/// retry rules, so no idempotency layer).
pub fn routes(state: &AppState) -> Router<AppState> {
    let orders = Router::new()
        .route(PATH_TSM_ORDERS, post(create_order))
        .route(
            &format!("{PATH_TSM_ORDERS}/{{order_id}}"),
            get(order_status),
        )
        .route_layer(from_fn_with_state(
            state.idempotency().clone(),
            idempotency::enforce,
        ));
    let (handshake, remote_management) = remote_agent::paths();
    orders
        .route(&handshake, post(remote_agent::handshake))
        .route(&remote_management, post(remote_agent::remote_management))
}

/// `POST /tsm/v1/orders`
async fn create_order(
    State(state): State<AppState>,
    request: Result<ApiJson<CardOrderRequest>, crate::ApiError>,
) -> Result<Json<OrderAccepted>, TsmError> {
    let ApiJson(request) = request?;
    let now = state.clock().now();
    orders::create(state.tsm(), &request, now).await.map(Json)
}

/// `GET /tsm/v1/orders/{order_id}`
async fn order_status(
    State(state): State<AppState>,
    order_id: Result<ApiPath<String>, crate::ApiError>,
) -> Result<Json<OrderStatus>, TsmError> {
    let ApiPath(order_id) = order_id?;
    let now = state.clock().now();
    orders::status(state.tsm(), &order_id, now).await.map(Json)
}
