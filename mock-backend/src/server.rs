//! Router assembly and the running mock world ([`MockWorld`]).

use crate::clock::MAX_ADVANCE_SECS;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::persist::StoreError;
use crate::state::AppState;
use crate::{acquirer, bank, clearing, hce, merchant, mtps, rps, sms, tsm};
use axum::extract::State;
use axum::http::{Method, Uri};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use wallet_core::backend::api::tsm::Topology;

/// Path of the test-only clock control.
pub const PATH_TEST_CLOCK_ADVANCE: &str = "/test/clock/advance";
/// Path of the health check.
pub const PATH_HEALTH: &str = "/health";

/// Where and how to run the mock world.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MockWorldConfig {
    /// Address to listen on; port 0 picks a free port.
    pub addr: SocketAddr,
    /// Directory of the persistent state; `None` keeps the state in a temporary database.
    pub data_dir: Option<PathBuf>,
    /// How the TSM side is organised (direct, convergence, MTPS hub).
    pub topology: Topology,
}

impl Default for MockWorldConfig {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            data_dir: None,
            topology: Topology::Direct,
        }
    }
}

/// Starting the mock world failed.
#[derive(Debug, thiserror::Error)]
pub enum MockError {
    /// The state could not be opened (for example, another process holds the data directory).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The requested address.
        addr: SocketAddr,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// A running mock world: every entity on one HTTP port.
#[derive(Debug)]
pub struct MockWorld {
    url: String,
    addr: SocketAddr,
    state: AppState,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl MockWorld {
    /// Opens the state, binds `config.addr` and serves in a background task.
    pub async fn start(config: MockWorldConfig) -> Result<MockWorld, MockError> {
        let state = AppState::open_with(config.data_dir.as_deref(), config.topology)?;
        let listener = TcpListener::bind(config.addr)
            .await
            .map_err(|source| MockError::Bind {
                addr: config.addr,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| MockError::Bind {
            addr: config.addr,
            source,
        })?;
        let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();
        let app = router(state.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    // Resolves on an explicit shutdown and when the MockWorld is dropped.
                    let _ = shutdown_rx.await;
                })
                .await
        });
        let url = format!("http://{}", connectable(addr));
        tracing::info!(%url, "mock world serving");
        Ok(MockWorld {
            url,
            addr,
            state,
            shutdown: Some(shutdown_tx),
            task: Some(task),
        })
    }

    /// Base URL, e.g. `http://127.0.0.1:41234` (an unspecified bind address shows as loopback).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The address actually bound.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The world's state, for in-process inspection (clock, bank, SMS channel).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Stops accepting requests, waits for open connections to finish and flushes the state.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            match task.await {
                Ok(Ok(())) => {}
                Ok(Err(err)) => tracing::error!(%err, "server error"),
                Err(err) => tracing::error!(%err, "server task failed"),
            }
        }
        if let Err(err) = self.state.store().flush().await {
            tracing::error!(%err, "flushing the mock world's state failed");
        }
    }
}

fn connectable(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::from((Ipv4Addr::LOCALHOST, addr.port()))
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::from((Ipv6Addr::LOCALHOST, addr.port()))
        }
        _ => addr,
    }
}

/// Every route of the mock world over `state`.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route(PATH_HEALTH, get(health))
        .route(PATH_TEST_CLOCK_ADVANCE, post(test_clock_advance))
        .merge(bank::routes(&state))
        .merge(sms::routes())
        .merge(tsm::routes(&state))
        .merge(hce::routes(&state))
        .merge(mtps::routes())
        .merge(acquirer::routes(&state))
        .merge(clearing::routes())
        .merge(merchant::routes(&state))
        .merge(rps::routes(&state))
        .fallback(no_route)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            durable_answers,
        ))
        .with_state(state)
}

/// Every state-changing request is on disk before it is answered: a mock world killed right
/// after answering (the CLI's embedded world dies with its process) never forgets what it told
/// the phone — limited-use keys handed out, codes sent, cards opened.
async fn durable_answers(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let changes_state = request.method() != Method::GET && request.method() != Method::HEAD;
    let response = next.run(request).await;
    if changes_state {
        if let Err(e) = state.store().flush().await {
            tracing::error!(error = %e, "could not make the answer durable");
            return axum::response::IntoResponse::into_response(ApiError::Internal(format!(
                "store flush: {e}"
            )));
        }
    }
    response
}

/// `GET /health` → `ok`.
async fn health() -> &'static str {
    "ok"
}

async fn no_route(method: Method, uri: Uri) -> ApiError {
    ApiError::NoRoute(format!("{method} {}", uri.path()))
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::MethodNotAllowed(format!("{method} {}", uri.path()))
}

/// Body of `POST /test/clock/advance`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockAdvanceRequest {
    /// Seconds to move the clock forward (at most ten years per call).
    pub seconds: u64,
}

/// Answer of `POST /test/clock/advance`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockState {
    /// The mock world's Unix time after the advance.
    pub now: u64,
    /// Total seconds the clock is ahead of system time.
    pub offset_seconds: u64,
}

/// `POST /test/clock/advance` — **test only**: moves the mock world's clock forward.
async fn test_clock_advance(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<ClockAdvanceRequest>,
) -> Result<Json<ClockState>, ApiError> {
    if request.seconds > MAX_ADVANCE_SECS {
        return Err(ApiError::BadRequest(format!(
            "seconds must be at most {MAX_ADVANCE_SECS}"
        )));
    }
    let offset_seconds = state.clock().advance(request.seconds)?;
    tracing::info!(offset_seconds, "test clock advanced");
    Ok(Json(ClockState {
        now: state.clock().now(),
        offset_seconds,
    }))
}
