//! HTTP endpoints of the payment content platform (paths from
//! `wallet_core::backend::api::remote`).

use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::idempotency;
use crate::rps::RemoteError;
use crate::state::AppState;
use axum::extract::State;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use wallet_core::backend::api::remote::{
    CreateOrderRequest, MerchantNotifications, Order, PATH_MERCHANT_NOTIFICATIONS,
    PATH_MERCHANT_ORDERS,
};

/// The platform's routes, with idempotency keys enforced on order creation.
pub fn routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .route(PATH_MERCHANT_ORDERS, post(create_order))
        .route(
            &format!("{PATH_MERCHANT_ORDERS}/{{order_id}}"),
            get(get_order),
        )
        .route(PATH_MERCHANT_NOTIFICATIONS, get(notifications))
        .route_layer(from_fn_with_state(
            state.idempotency().clone(),
            idempotency::enforce,
        ))
}

/// `POST /merchant/v1/orders`
async fn create_order(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<CreateOrderRequest>,
) -> Result<Json<Order>, RemoteError> {
    let now = state.clock().now();
    state.merchant().create(&request, now).map(Json)
}

/// `GET /merchant/v1/orders/{order_id}`
async fn get_order(
    State(state): State<AppState>,
    ApiPath(order_id): ApiPath<String>,
) -> Result<Json<Order>, RemoteError> {
    let now = state.clock().now();
    state.merchant().order(&order_id, now).map(Json)
}

/// Query of the notifications endpoint.
#[derive(Debug, Deserialize)]
struct NotificationsQuery {
    merchant_id: String,
}

/// `GET /merchant/v1/notifications?merchant_id=…`
async fn notifications(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<NotificationsQuery>,
) -> Result<Json<MerchantNotifications>, RemoteError> {
    let notifications = state.merchant().notifications(query.merchant_id.trim())?;
    Ok(Json(MerchantNotifications { notifications }))
}
