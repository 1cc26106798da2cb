//! The GP SERAM HTTP REST binding, server side: `POST {ra}/handshake?sessionId=…` and
//! `POST {ra}/remoteManagement?sessionId=…` under [`PATH_TSM_SERAM`].
//!
//! Statuses (gpseram.yaml): `200` with the answer; `404` unknown or finished session; `406`
//! handshake proposal not acceptable (transport, data format, version, or the order's SE not
//! offered); `400` a message that is not SERAM (bad JSON, schema violation such as an unknown
//! `ramResponseType`, a body over [`MAX_SERAM_BODY`] bytes, limits of
//! [`wallet_core::ota::seram::validate`]) or out of sequence; `500` unexpected failures.
//!
//! Unknown transport protocols, data formats and versions in a proposal are not errors: they
//! are ignored, and only a proposal with nothing acceptable left is refused (`406`).

use axum::body::{to_bytes, Body};
use axum::extract::{Query, State};
use axum::Json;
use serde::Deserialize;
use serde_json::Value;
use wallet_core::backend::api::tsm::{OrderFailure, OrderState, PATH_TSM_SERAM};
use wallet_core::ota::seram::{
    validate_session_id, HandshakeCommand, HandshakeResponse, RemoteManagementOrder,
    RemoteManagementReport,
};

use super::error::SeramError;
use super::job::{Finish, JobEnv};
use super::orders;
use super::{SharedSession, Tsm};
use crate::state::AppState;

/// Largest SERAM request body accepted (256 KiB: a report of every R-APDU of a card opening is
/// a few kilobytes).
pub const MAX_SERAM_BODY: usize = 256 * 1024;

/// `?sessionId=…`
#[derive(Debug, Deserialize)]
pub struct SessionQuery {
    /// The SERAM session id.
    #[serde(rename = "sessionId")]
    pub session_id: Option<String>,
}

/// The session named by the query: `400` without a valid id, `404` if unknown.
fn session(
    tsm: &Tsm,
    query: Result<Query<SessionQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<SharedSession, SeramError> {
    let Query(query) =
        query.map_err(|e| SeramError::Malformed(format!("query: {}", e.body_text())))?;
    let id = query
        .session_id
        .ok_or_else(|| SeramError::Malformed("the sessionId query parameter is required".into()))?;
    validate_session_id(&id).map_err(|e| SeramError::Malformed(e.to_string()))?;
    tsm.sessions().get(&id).ok_or(SeramError::SessionNotFound)
}

async fn body_bytes(body: Body) -> Result<axum::body::Bytes, SeramError> {
    to_bytes(body, MAX_SERAM_BODY).await.map_err(|_| {
        SeramError::Malformed(format!(
            "body unreadable or larger than {MAX_SERAM_BODY} bytes"
        ))
    })
}

/// Keeps only the proposal entries this implementation knows, so that an unknown transport
/// or format leads to `406` rather than a parse error; a list left empty is refused.
fn known_entries(mut value: Value) -> Result<Value, SeramError> {
    let keep: [(&str, &[&str]); 2] = [
        ("supportedTransportProtocols", &["HTTPS"]),
        ("supportedDataFormats", &["application/json"]),
    ];
    if let Some(object) = value.as_object_mut() {
        for (field, known) in keep {
            if let Some(Value::Array(list)) = object.get_mut(field) {
                let proposed = !list.is_empty();
                list.retain(|v| v.as_str().is_some_and(|s| known.contains(&s)));
                if proposed && list.is_empty() {
                    return Err(SeramError::NotAcceptable(format!(
                        "nothing acceptable in {field}"
                    )));
                }
            }
        }
    }
    Ok(value)
}

/// `POST /tsm/v1/seram/handshake`
pub async fn handshake(
    State(state): State<AppState>,
    query: Result<Query<SessionQuery>, axum::extract::rejection::QueryRejection>,
    body: Body,
) -> Result<Json<HandshakeResponse>, SeramError> {
    let tsm = state.tsm();
    let shared = session(tsm, query)?;
    let bytes = body_bytes(body).await?;
    let value: Value =
        serde_json::from_slice(&bytes).map_err(|e| SeramError::Malformed(e.to_string()))?;
    let value = known_entries(value)?;
    let proposal: HandshakeCommand =
        serde_json::from_value(value).map_err(|e| SeramError::Malformed(e.to_string()))?;
    proposal
        .validate()
        .map_err(|e| SeramError::Malformed(e.to_string()))?;
    let mut session = shared.lock().await;
    let now = state.clock().now();
    if !session.is_over() {
        orders::count_request(tsm, &session.order_id, now)?;
    }
    Ok(Json(session.handshake(&proposal)?))
}

/// `POST /tsm/v1/seram/remoteManagement`
pub async fn remote_management(
    State(state): State<AppState>,
    query: Result<Query<SessionQuery>, axum::extract::rejection::QueryRejection>,
    body: Body,
) -> Result<Json<RemoteManagementOrder>, SeramError> {
    let tsm = state.tsm();
    let shared = session(tsm, query)?;
    let bytes = body_bytes(body).await?;
    let report: RemoteManagementReport =
        serde_json::from_slice(&bytes).map_err(|e| SeramError::Malformed(e.to_string()))?;
    report
        .validate()
        .map_err(|e| SeramError::Malformed(e.to_string()))?;
    let now = state.clock().now();
    let mut session = shared.lock().await;
    if !session.is_over() {
        orders::count_request(tsm, &session.order_id, now)?;
    }
    let env = JobEnv {
        records: tsm.records(),
        bank: tsm.bank(),
        ledger: state.bank(),
        now,
    };
    let answer = match session.report(&env, &bytes, &report) {
        Ok(answer) => answer,
        Err(SeramError::Internal(detail)) => {
            // The job cannot go on: the order fails, the agent gets a 500.
            let finish = Finish {
                state: OrderState::Failed,
                failure: Some(OrderFailure {
                    code: "INTERNAL".into(),
                    message: "the TSM failed while running the order".into(),
                }),
                card: None,
            };
            session.stop();
            orders::finish_order(tsm, &session.order_id, &finish, now)?;
            return Err(SeramError::Internal(detail));
        }
        Err(other) => return Err(other),
    };
    if let Some(finish) = &answer.finish {
        orders::finish_order(tsm, &session.order_id, finish, now)?;
    }
    Ok(Json(answer.order))
}

/// The RA endpoint's paths.
pub fn paths() -> (String, String) {
    (
        format!("{PATH_TSM_SERAM}/handshake"),
        format!("{PATH_TSM_SERAM}/remoteManagement"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_proposal_entries_are_dropped_and_empty_lists_refused() {
        let value = known_entries(json!({
            "secureElements": [],
            "supportedTransportProtocols": ["HTTP/3", "HTTPS"],
            "supportedDataFormats": ["application/json"]
        }))
        .unwrap();
        assert_eq!(value["supportedTransportProtocols"], json!(["HTTPS"]));
        let refused = known_entries(
            json!({"secureElements": [], "supportedDataFormats": ["application/cbor"]}),
        );
        assert!(matches!(refused, Err(SeramError::NotAcceptable(_))));
        assert!(known_entries(json!({"secureElements": []})).is_ok());
        assert_eq!(paths().0, "/tsm/v1/seram/handshake");
    }
}
