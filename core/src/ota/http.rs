//! The GP SERAM HTTP REST binding, client side: `POST {RA endpoint}/handshake` and
//! `POST {RA endpoint}/remoteManagement` with `?sessionId=…`, JSON bodies, status mapping,
//! a size cap on answers, and the spec's resume rules (retry a request whose connection failed
//! or timed out, for at most the retry window).
//!
//! A private adapter over reqwest rather than [`crate::backend::BackendClient`]: that client
//! turns a 404 / 406 without an error body into `BackendError::Protocol(String)` (the status is
//! lost), reads answers without a size limit, and retries on its own policy.

use std::time::{Duration, Instant};

use reqwest::{StatusCode, Url};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::agent::AgentConfig;
use super::error::OtaError;
use super::seram::{
    HandshakeCommand, HandshakeResponse, RemoteManagementOrder, RemoteManagementReport,
    PATH_HANDSHAKE, PATH_REMOTE_MANAGEMENT, SESSION_ID_PARAM,
};
use crate::backend::BackendError;

/// Longest pause between two retries.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// The remote agent as seen over HTTP, for one session.
pub(crate) struct RaHttp {
    client: reqwest::Client,
    handshake_url: Url,
    remote_management_url: Url,
    max_message_bytes: usize,
    retry_window: Duration,
    retry_backoff: Duration,
    round_trips: u32,
}

/// Why one attempt failed.
enum Attempt {
    /// Worth repeating: connection failure, timeout, answer cut short.
    Transient(BackendError),
    /// Final.
    Fatal(OtaError),
}

impl RaHttp {
    /// A client for the RA at `endpoint` (the base URI, e.g. `https://tsm.example/gp/seram`).
    pub(crate) fn new(
        endpoint: &str,
        session_id: &str,
        config: &AgentConfig,
    ) -> Result<RaHttp, OtaError> {
        let base = Url::parse(endpoint).map_err(|e| OtaError::InvalidEndpoint(e.to_string()))?;
        match base.scheme() {
            "https" => {}
            "http" if config.allow_http => {}
            "http" => {
                return Err(OtaError::InvalidEndpoint(
                    "plain http is not allowed (AgentConfig::allow_http)".into(),
                ))
            }
            other => return Err(OtaError::InvalidEndpoint(format!("scheme {other}"))),
        }
        let client = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .connect_timeout(config.connect_timeout)
            .user_agent(concat!("openwallet-seram-la/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| OtaError::Network(BackendError::Network(e.to_string())))?;
        Ok(RaHttp {
            client,
            handshake_url: endpoint_url(&base, PATH_HANDSHAKE, session_id)?,
            remote_management_url: endpoint_url(&base, PATH_REMOTE_MANAGEMENT, session_id)?,
            max_message_bytes: config.max_message_bytes,
            retry_window: config.retry_window,
            retry_backoff: config.retry_backoff,
            round_trips: 0,
        })
    }

    /// HTTP requests sent so far (retries included).
    pub(crate) fn round_trips(&self) -> u32 {
        self.round_trips
    }

    /// The handshake: `200` → the selection, `404` → unknown session, `406` → refused.
    pub(crate) async fn handshake(
        &mut self,
        command: &HandshakeCommand,
    ) -> Result<HandshakeResponse, OtaError> {
        let url = self.handshake_url.clone();
        let (status, body) = self.post(&url, command).await?;
        match status {
            StatusCode::OK => decode(&body),
            StatusCode::NOT_FOUND => Err(OtaError::SessionNotFound),
            StatusCode::NOT_ACCEPTABLE => Err(OtaError::HandshakeRefused),
            other => Err(unexpected(other)),
        }
    }

    /// One command exchange step: posts `report`, returns the next order.
    pub(crate) async fn exchange(
        &mut self,
        report: &RemoteManagementReport,
    ) -> Result<RemoteManagementOrder, OtaError> {
        let url = self.remote_management_url.clone();
        let (status, body) = self.post(&url, report).await?;
        match status {
            StatusCode::OK => decode(&body),
            StatusCode::NOT_FOUND => Err(OtaError::SessionNotFound),
            other => Err(unexpected(other)),
        }
    }

    /// Posts `body`, repeating it after transient failures until the retry window is spent.
    async fn post<B: Serialize>(
        &mut self,
        url: &Url,
        body: &B,
    ) -> Result<(StatusCode, Vec<u8>), OtaError> {
        let body =
            serde_json::to_vec(body).map_err(|e| OtaError::MalformedMessage(e.to_string()))?;
        let first_failure = Instant::now();
        let mut backoff = self.retry_backoff;
        loop {
            self.round_trips = self.round_trips.saturating_add(1);
            match self.send_once(url, body.clone()).await {
                Ok(answer) => return Ok(answer),
                Err(Attempt::Fatal(e)) => return Err(e),
                Err(Attempt::Transient(e)) => {
                    if first_failure.elapsed() + backoff > self.retry_window {
                        return Err(OtaError::Network(e));
                    }
                    tracing::warn!(error = %e, path = url.path(), "remote agent unreachable, retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = backoff.saturating_mul(2).min(MAX_BACKOFF);
                }
            }
        }
    }

    async fn send_once(&self, url: &Url, body: Vec<u8>) -> Result<(StatusCode, Vec<u8>), Attempt> {
        let mut response = self
            .client
            .post(url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(reqwest::header::ACCEPT, "application/json")
            .body(body)
            .send()
            .await
            .map_err(transient)?;
        let status = response.status();
        tracing::debug!(
            status = status.as_u16(),
            path = url.path(),
            "remote agent answered"
        );
        if status != StatusCode::OK {
            return Ok((status, Vec::new()));
        }
        let too_large = || {
            Attempt::Fatal(OtaError::MessageTooLarge {
                limit: self.max_message_bytes,
            })
        };
        if response
            .content_length()
            .is_some_and(|len| len > self.max_message_bytes as u64)
        {
            return Err(too_large());
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transient)? {
            if bytes.len() + chunk.len() > self.max_message_bytes {
                return Err(too_large());
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok((status, bytes))
    }
}

/// `{base}/{path}?sessionId={id}`, keeping the base's own path (`…/gp/seram`).
fn endpoint_url(base: &Url, path: &str, session_id: &str) -> Result<Url, OtaError> {
    let mut url = base.clone();
    url.path_segments_mut()
        .map_err(|()| OtaError::InvalidEndpoint("not a base URL".into()))?
        .pop_if_empty()
        .push(path.trim_start_matches('/'));
    url.query_pairs_mut()
        .append_pair(SESSION_ID_PARAM, session_id);
    Ok(url)
}

fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, OtaError> {
    serde_json::from_slice(body).map_err(|e| OtaError::MalformedMessage(e.to_string()))
}

fn unexpected(status: StatusCode) -> OtaError {
    if status.is_client_error() || status.is_server_error() {
        OtaError::RemoteAgent {
            status: status.as_u16(),
        }
    } else {
        OtaError::Protocol(format!("unexpected HTTP status {status}"))
    }
}

/// A reqwest failure as a transient network error, without the URL (it carries the session id).
fn transient(e: reqwest::Error) -> Attempt {
    if e.is_timeout() {
        return Attempt::Transient(BackendError::Timeout);
    }
    let e = e.without_url();
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    Attempt::Transient(BackendError::Network(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_urls_keep_the_base_path_and_carry_the_session() {
        let base = Url::parse("https://tsm.example/gp/seram").unwrap();
        let url = endpoint_url(&base, PATH_HANDSHAKE, "0f96af97 f879").unwrap();
        assert_eq!(
            url.as_str(),
            "https://tsm.example/gp/seram/handshake?sessionId=0f96af97+f879"
        );
        let slash = Url::parse("https://tsm.example/gp/seram/").unwrap();
        let url = endpoint_url(&slash, PATH_REMOTE_MANAGEMENT, "a&b").unwrap();
        assert_eq!(
            url.as_str(),
            "https://tsm.example/gp/seram/remoteManagement?sessionId=a%26b"
        );
    }

    #[test]
    fn only_https_unless_http_is_allowed() {
        let mut config = AgentConfig::default();
        assert!(matches!(
            RaHttp::new("http://127.0.0.1:1/gp/seram", "s", &config),
            Err(OtaError::InvalidEndpoint(_))
        ));
        assert!(matches!(
            RaHttp::new("ftp://x/gp/seram", "s", &config),
            Err(OtaError::InvalidEndpoint(_))
        ));
        assert!(RaHttp::new("https://tsm.example/gp/seram", "s", &config).is_ok());
        config.allow_http = true;
        assert!(RaHttp::new("http://127.0.0.1:1/gp/seram", "s", &config).is_ok());
    }
}
