//! An application-level relay between the wallet and the mock world that plays the attacker on
//! the network path of payments: it records every payment request the wallet sends and can
//! rewrite the next one's JSON before forwarding it (a tampered message). Other requests pass
//! unchanged. (The byte-level `mock_backend::fault_proxy` loses answers; this one edits
//! requests.)

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use std::sync::{Arc, Mutex};
use wallet_core::backend::api::remote::PATH_RPS_PAYMENTS;
use wallet_core::backend::api::IDEMPOTENCY_KEY_HEADER;

type Rewrite = Box<dyn FnOnce(&mut serde_json::Value) + Send>;

#[derive(Default)]
struct Tap {
    rewrite: Option<Rewrite>,
    /// Bodies of the payment requests as forwarded, in order.
    payments: Vec<Vec<u8>>,
}

#[derive(Clone)]
struct Shared {
    upstream: String,
    http: reqwest::Client,
    tap: Arc<Mutex<Tap>>,
}

/// A running relay.
pub struct Relay {
    /// Base URL the wallet uses.
    pub url: String,
    tap: Arc<Mutex<Tap>>,
}

impl Relay {
    /// Starts a relay in front of `upstream` (e.g. "http://127.0.0.1:1234").
    pub async fn start(upstream: &str) -> Self {
        let tap = Arc::new(Mutex::new(Tap::default()));
        let shared = Shared {
            upstream: upstream.trim_end_matches('/').to_owned(),
            http: reqwest::Client::new(),
            tap: tap.clone(),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let app = Router::new().fallback(forward).with_state(shared);
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url, tap }
    }

    /// Rewrites the JSON body of the next payment request with `rewrite` before forwarding it.
    pub fn tamper_next_payment(
        &self,
        rewrite: impl FnOnce(&mut serde_json::Value) + Send + 'static,
    ) {
        self.tap.lock().expect("tap").rewrite = Some(Box::new(rewrite));
    }

    /// The payment request bodies forwarded so far, oldest first.
    pub fn payments(&self) -> Vec<Vec<u8>> {
        self.tap.lock().expect("tap").payments.clone()
    }
}

async fn forward(
    State(shared): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
    let mut body = body.to_vec();
    if method == Method::POST && uri.path() == PATH_RPS_PAYMENTS {
        let mut tap = shared.tap.lock().expect("tap");
        if let Some(rewrite) = tap.rewrite.take() {
            let mut json: serde_json::Value = serde_json::from_slice(&body).expect("JSON body");
            rewrite(&mut json);
            body = serde_json::to_vec(&json).expect("JSON");
        }
        tap.payments.push(body.clone());
    }
    let mut request = shared
        .http
        .request(method, format!("{}{path}", shared.upstream))
        .body(body);
    for name in [
        axum::http::header::CONTENT_TYPE.as_str(),
        IDEMPOTENCY_KEY_HEADER,
    ] {
        if let Some(value) = headers.get(name) {
            request = request.header(name, value.clone());
        }
    }
    match request.send().await {
        Ok(answer) => {
            let status = StatusCode::from_u16(answer.status().as_u16()).expect("status");
            let content_type = answer.headers().get("content-type").cloned();
            let bytes = answer.bytes().await.unwrap_or_default();
            let mut response = (status, bytes).into_response();
            if let Some(value) = content_type {
                response.headers_mut().insert("content-type", value);
            }
            response
        }
        Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    }
}
