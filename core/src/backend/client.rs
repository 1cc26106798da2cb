//! The HTTP client of the back end: reqwest over rustls, per-request timeouts, typed errors, an
//! idempotency key on every state-changing request and automatic retry of requests that are safe
//! to repeat (GETs, and POSTs carrying an idempotency key).

use super::api::{ErrorBody, IDEMPOTENCY_KEY_HEADER};
use serde::{de::DeserializeOwned, Serialize};
use std::time::Duration;

/// Client settings.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Base URL of the back end, e.g. `http://127.0.0.1:8080`.
    pub base_url: String,
    /// Time allowed for one whole request (connect, send, receive).
    pub request_timeout: Duration,
    /// Time allowed to establish a connection.
    pub connect_timeout: Duration,
    /// How many times a request that is safe to repeat is retried after a network failure, a
    /// timeout or a 5xx answer (0 = no retry).
    pub max_retries: u32,
    /// Pause before the first retry; doubled for each further one.
    pub retry_backoff: Duration,
}

impl ClientConfig {
    /// Settings for `base_url` with the defaults: 10 s per request, 3 s to connect, 2 retries
    /// starting at 200 ms.
    pub fn new(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            request_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(3),
            max_retries: 2,
            retry_backoff: Duration::from_millis(200),
        }
    }
}

/// A back-end call failed. The variants tell apart what a caller handles differently.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackendError {
    /// The back end could not be reached (connection refused, reset, DNS, TLS).
    #[error("network failure: {0}")]
    Network(String),
    /// The back end did not answer in time.
    #[error("the back end did not answer in time")]
    Timeout,
    /// The back end answered with an error: its HTTP status and stable error code.
    #[error("rejected by the back end ({status} {code}): {message}")]
    Rejected {
        /// HTTP status.
        status: u16,
        /// Stable error code (see [`super::api::codes`]).
        code: String,
        /// The back end's explanation.
        message: String,
        /// Tries left, for wrong codes and passwords.
        attempts_left: Option<u32>,
    },
    /// The back end answered something that is not the protocol (bad JSON, unexpected status).
    #[error("protocol error: {0}")]
    Protocol(String),
    /// The configured base URL is not a valid http(s) URL.
    #[error("invalid back-end URL: {0}")]
    InvalidUrl(String),
}

impl BackendError {
    /// The stable back-end error code, if the back end rejected the request.
    pub fn code(&self) -> Option<&str> {
        match self {
            BackendError::Rejected { code, .. } => Some(code),
            _ => None,
        }
    }

    /// Whether repeating the same request may succeed (network trouble, timeout, server error).
    pub fn is_transient(&self) -> bool {
        match self {
            BackendError::Network(_) | BackendError::Timeout => true,
            BackendError::Rejected { status, .. } => *status >= 500,
            BackendError::Protocol(_) | BackendError::InvalidUrl(_) => false,
        }
    }
}

/// The key that makes a state-changing request safe to repeat: the server answers a repeated
/// key with its first answer. Generate one per *intended* operation and keep it (persisted) until
/// that operation is known to have completed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// A fresh random key (128 bits).
    pub fn generate() -> Result<Self, crate::crypto::CryptoError> {
        Ok(Self(crate::crypto::random::hex_id(16)?))
    }

    /// The key as sent in the header.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The back-end client. Cheap to clone (connection pool shared).
#[derive(Debug, Clone)]
pub struct BackendClient {
    http: reqwest::Client,
    base_url: reqwest::Url,
    config: ClientConfig,
}

impl BackendClient {
    /// Builds a client for `config.base_url`.
    pub fn new(config: ClientConfig) -> Result<Self, BackendError> {
        let base_url = reqwest::Url::parse(&config.base_url)
            .map_err(|e| BackendError::InvalidUrl(format!("{}: {e}", config.base_url)))?;
        if !matches!(base_url.scheme(), "http" | "https") || base_url.cannot_be_a_base() {
            return Err(BackendError::InvalidUrl(config.base_url.clone()));
        }
        let http = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .connect_timeout(config.connect_timeout)
            .user_agent(concat!("openwallet/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| BackendError::Network(e.to_string()))?;
        Ok(Self {
            http,
            base_url,
            config,
        })
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        self.base_url.as_str()
    }

    /// `GET path`, decoding a JSON answer. Retried when transient.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, BackendError> {
        let url = self.url(path)?;
        self.with_retry(|| self.http.get(url.clone())).await
    }

    /// `POST path` with a JSON body and an idempotency key, decoding a JSON answer. Retried with
    /// the same key when transient, so the server applies it at most once.
    pub async fn post<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        key: &IdempotencyKey,
    ) -> Result<T, BackendError> {
        let url = self.url(path)?;
        let body = serde_json::to_vec(body).map_err(|e| BackendError::Protocol(e.to_string()))?;
        self.with_retry(|| {
            self.http
                .post(url.clone())
                .header(IDEMPOTENCY_KEY_HEADER, key.as_str())
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.clone())
        })
        .await
    }

    fn url(&self, path: &str) -> Result<reqwest::Url, BackendError> {
        self.base_url
            .join(path.trim_start_matches('/'))
            .map_err(|e| BackendError::InvalidUrl(format!("{path}: {e}")))
    }

    async fn with_retry<T: DeserializeOwned>(
        &self,
        build: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<T, BackendError> {
        let mut backoff = self.config.retry_backoff;
        let mut attempt = 0;
        loop {
            match self.send_once(build()).await {
                Err(e) if e.is_transient() && attempt < self.config.max_retries => {
                    attempt += 1;
                    tracing::debug!(attempt, error = %e, "retrying back-end request");
                    tokio::time::sleep(backoff).await;
                    backoff = backoff.saturating_mul(2);
                }
                other => return other,
            }
        }
    }

    async fn send_once<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<T, BackendError> {
        let response = request.send().await.map_err(classify)?;
        let status = response.status();
        // The body is read as raw bytes (JSON is decoded below): a failure here is the
        // connection's (cut short, reset), never the answer's format, so it is worth a retry.
        let bytes = response.bytes().await.map_err(|e| match classify(e) {
            BackendError::Protocol(cause) => BackendError::Network(cause),
            other => other,
        })?;
        if status.is_success() {
            return serde_json::from_slice(&bytes).map_err(|e| {
                BackendError::Protocol(format!("unexpected answer to a {status} response: {e}"))
            });
        }
        match serde_json::from_slice::<ErrorBody>(&bytes) {
            Ok(body) => Err(BackendError::Rejected {
                status: status.as_u16(),
                code: body.error.code,
                message: body.error.message,
                attempts_left: body.error.attempts_left,
            }),
            Err(_) if status.is_server_error() => Err(BackendError::Rejected {
                status: status.as_u16(),
                code: super::api::codes::INTERNAL.to_owned(),
                message: format!("server error {status} without an error body"),
                attempts_left: None,
            }),
            Err(_) => Err(BackendError::Protocol(format!(
                "{status} without an error body"
            ))),
        }
    }
}

/// Sorts reqwest's failures into network failure, timeout and protocol error.
fn classify(e: reqwest::Error) -> BackendError {
    if e.is_timeout() {
        BackendError::Timeout
    } else if e.is_connect() || e.is_request() || e.is_body() {
        BackendError::Network(without_url(&e))
    } else if e.is_decode() {
        BackendError::Protocol(without_url(&e))
    } else {
        BackendError::Network(without_url(&e))
    }
}

/// The error text without the URL (URLs may carry identifiers that do not belong in logs).
fn without_url(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    if let Some(url) = e.url() {
        text = text.replace(url.as_str(), "<url>");
    }
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_urls_that_are_not_http() {
        for bad in ["ftp://example.org", "not a url", "mailto:x@y"] {
            let err = BackendClient::new(ClientConfig::new(bad)).unwrap_err();
            assert!(matches!(err, BackendError::InvalidUrl(_)), "{bad}: {err:?}");
        }
    }

    #[test]
    fn transient_errors_are_the_ones_worth_repeating() {
        assert!(BackendError::Timeout.is_transient());
        assert!(BackendError::Network("reset".into()).is_transient());
        let rejected = |status| BackendError::Rejected {
            status,
            code: "X".into(),
            message: String::new(),
            attempts_left: None,
        };
        assert!(rejected(503).is_transient());
        assert!(!rejected(422).is_transient());
        assert!(!BackendError::Protocol("x".into()).is_transient());
    }

    #[tokio::test]
    async fn connection_refused_is_a_network_error() {
        // Bind then drop a listener so the port is (almost certainly) closed.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap_or(9);
        let mut config = ClientConfig::new(format!("http://127.0.0.1:{port}"));
        config.max_retries = 0;
        let client = BackendClient::new(config).unwrap();
        let err = client
            .get::<serde_json::Value>("/health")
            .await
            .unwrap_err();
        assert!(matches!(err, BackendError::Network(_)), "{err:?}");
    }

    #[tokio::test]
    async fn a_silent_server_is_a_timeout() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        // Accept and hold connections without ever answering.
        let holder = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        let mut config = ClientConfig::new(format!("http://{addr}"));
        config.request_timeout = Duration::from_millis(200);
        config.max_retries = 1;
        config.retry_backoff = Duration::from_millis(10);
        let client = BackendClient::new(config).unwrap();
        let err = client
            .get::<serde_json::Value>("/health")
            .await
            .unwrap_err();
        assert_eq!(err, BackendError::Timeout);
        holder.abort();
    }
}
