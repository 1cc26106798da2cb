//! HTTP endpoint of the clearing system (path from `wallet_core::backend::api::acquiring`).

use super::date::Day;
use crate::error::ApiError;
use crate::extract::ApiPath;
use crate::state::AppState;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use wallet_core::backend::api::clearing::{ClearingBatch, PATH_CLEARING_BATCHES};

/// The clearing system's routes.
pub fn routes() -> Router<AppState> {
    Router::new().route(&format!("{PATH_CLEARING_BATCHES}/{{date}}"), get(batch))
}

/// `GET /clearing/v1/batches/{YYYY-MM-DD}`
async fn batch(
    State(state): State<AppState>,
    ApiPath(date): ApiPath<String>,
) -> Result<Json<ClearingBatch>, ApiError> {
    let day = Day::parse_iso(&date).ok_or_else(|| {
        ApiError::BadRequest("date must be a calendar day written YYYY-MM-DD".into())
    })?;
    Ok(Json(state.clearing().batch(&day)?))
}
