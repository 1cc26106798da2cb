//! HTTP endpoints of the remote payment system (paths from `wallet_core::backend::api::remote`).

use crate::extract::ApiJson;
use crate::idempotency;
use crate::state::AppState;
use axum::extract::State;
use axum::middleware::from_fn_with_state;
use axum::routing::post;
use axum::{Json, Router};
use wallet_core::backend::api::remote::{
    PasswordStatus, PaymentHistory, PaymentHistoryRequest, PaymentReceipt, PaymentRequest,
    SetPasswordRequest, SmsChallenge, SmsChallengeRequest, PATH_RPS_PASSWORDS, PATH_RPS_PAYMENTS,
    PATH_RPS_PAYMENT_HISTORY, PATH_RPS_SMS_CHALLENGES,
};

use super::{challenge, device, password, payment, RemoteError};

/// The RPS's routes, with idempotency keys enforced on every state-changing request.
pub fn routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .route(PATH_RPS_PASSWORDS, post(set_password))
        .route(PATH_RPS_SMS_CHALLENGES, post(sms_challenge))
        .route(PATH_RPS_PAYMENTS, post(pay))
        .route(PATH_RPS_PAYMENT_HISTORY, post(history))
        .route_layer(from_fn_with_state(
            state.idempotency().clone(),
            idempotency::enforce,
        ))
}

/// `POST /rps/v1/passwords`
async fn set_password(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<SetPasswordRequest>,
) -> Result<Json<PasswordStatus>, RemoteError> {
    let now = state.clock().now();
    password::set_password(&state, &request, now).map(Json)
}

/// `POST /rps/v1/sms-challenges`
async fn sms_challenge(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<SmsChallengeRequest>,
) -> Result<Json<SmsChallenge>, RemoteError> {
    let now = state.clock().now();
    challenge::create(&state, &request, now).map(Json)
}

/// `POST /rps/v1/payments`
async fn pay(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<PaymentRequest>,
) -> Result<Json<PaymentReceipt>, RemoteError> {
    let now = state.clock().now();
    payment::pay(&state, &request, now).map(Json)
}

/// `POST /rps/v1/payments/history`, signed by the binding's device key.
async fn history(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<PaymentHistoryRequest>,
) -> Result<Json<PaymentHistory>, RemoteError> {
    let now = state.clock().now();
    device::verify(&state, &request, now)?;
    Ok(Json(PaymentHistory {
        payments: state.rps().history(&request.binding_id)?,
    }))
}
