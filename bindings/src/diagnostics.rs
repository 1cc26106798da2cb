//! Small calls that check the binding itself: version, byte echo, async round trip, backend ping.

use std::time::Duration;

use crate::error::FfiError;

/// How long [`ping_backend`] waits for the backend before giving up.
const PING_TIMEOUT: Duration = Duration::from_secs(5);

/// The version of the wallet library (core and facade share the workspace version).
#[uniffi::export]
pub fn core_version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}

/// Returns `data` unchanged: one bytes-in / bytes-out call, the unit of the FFI cost benchmark.
#[uniffi::export]
pub fn echo_bytes(data: Vec<u8>) -> Vec<u8> {
    data
}

/// Returns `data` after sleeping `delay_ms` milliseconds on the library's tokio runtime, without
/// blocking the caller's thread: proves that async calls and the runtime work from the platform.
#[uniffi::export(async_runtime = "tokio")]
pub async fn delayed_echo(data: Vec<u8>, delay_ms: u32) -> Vec<u8> {
    tracing::debug!(len = data.len(), delay_ms, "delayed_echo");
    tokio::time::sleep(Duration::from_millis(u64::from(delay_ms))).await;
    data
}

/// Checks a backend base URL and returns it in canonical form (no trailing slash).
///
/// Accepts `http` and `https` URLs with a host and without query or fragment; anything else is
/// [`FfiError::InvalidArgument`] with code `invalid_url`.
#[uniffi::export]
pub fn normalize_backend_url(url: String) -> Result<String, FfiError> {
    let parsed = reqwest::Url::parse(url.trim())
        .map_err(|err| FfiError::invalid_argument("invalid_url", format!("{url:?}: {err}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(FfiError::invalid_argument(
            "invalid_url",
            format!("{url:?}: scheme must be http or https"),
        ));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(FfiError::invalid_argument(
            "invalid_url",
            format!("{url:?}: no host"),
        ));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(FfiError::invalid_argument(
            "invalid_url",
            format!("{url:?}: a base URL has no query or fragment"),
        ));
    }
    Ok(parsed.as_str().trim_end_matches('/').to_owned())
}

/// Asks the backend at `url` for `GET /health` and returns the trimmed body (`"ok"`).
///
/// Errors: [`FfiError::InvalidArgument`] for a bad URL, [`FfiError::Network`] when the backend is
/// unreachable or silent for 5 s, [`FfiError::Backend`] (code `http_<status>`) for a non-2xx answer.
#[uniffi::export(async_runtime = "tokio")]
pub async fn ping_backend(url: String) -> Result<String, FfiError> {
    let base = normalize_backend_url(url)?;
    tracing::debug!(%base, "ping_backend");
    let client = reqwest::Client::builder().timeout(PING_TIMEOUT).build()?;
    let response = client.get(format!("{base}/health")).send().await?;
    let status = response.status();
    let body = response.text().await?;
    if !status.is_success() {
        return Err(FfiError::Backend {
            code: format!("http_{}", status.as_u16()),
            error_message: body.chars().take(200).collect(),
        });
    }
    Ok(body.trim().to_owned())
}

/// Panics with `message`: lets the binding tests check that a Rust panic reaches the platform as
/// an exception (Kotlin `InternalException`, Swift thrown error, Python `InternalError`) instead of
/// killing the process. Compiled only with the `test-hooks` feature.
///
/// It returns a `Result` (never `Ok`) because uniffi's Swift bindings call infallible functions
/// with `try!`, which would turn the panic into a trap; a throwing signature lets Swift catch it.
#[cfg(feature = "test-hooks")]
#[uniffi::export]
pub fn debug_panic(message: String) -> Result<(), FfiError> {
    panic!("{message}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo_returns_the_same_bytes() {
        let data: Vec<u8> = (0..64).collect();
        assert_eq!(echo_bytes(data.clone()), data);
        assert!(echo_bytes(Vec::new()).is_empty());
    }

    #[test]
    fn version_is_the_workspace_version() {
        assert_eq!(core_version(), env!("CARGO_PKG_VERSION"));
        assert_eq!(core_version().split('.').count(), 3);
    }

    #[test]
    fn normalize_strips_trailing_slash_and_keeps_path() {
        let url = normalize_backend_url("http://127.0.0.1:8080/".into());
        assert_eq!(url, Ok("http://127.0.0.1:8080".to_owned()));
        let url = normalize_backend_url(" https://bank.example/api/ ".into());
        assert_eq!(url, Ok("https://bank.example/api".to_owned()));
    }

    #[test]
    fn normalize_rejects_what_is_not_a_base_url() {
        for bad in [
            "",
            "not a url",
            "ftp://host",
            "http://host/?q=1",
            "http://host/#frag",
        ] {
            let err = normalize_backend_url(bad.into()).expect_err(bad);
            assert_eq!(err.code(), "invalid_url", "{bad}");
        }
    }

    #[tokio::test]
    async fn delayed_echo_waits_and_returns_the_bytes() {
        let start = std::time::Instant::now();
        assert_eq!(delayed_echo(vec![1, 2, 3], 20).await, vec![1, 2, 3]);
        assert!(start.elapsed() >= Duration::from_millis(20));
    }

    #[tokio::test]
    async fn ping_of_a_closed_port_is_a_network_error() {
        // Bind then drop a listener: the port is free and nobody listens on it.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let port = listener.local_addr().expect("local addr").port();
        drop(listener);
        let err = ping_backend(format!("http://127.0.0.1:{port}"))
            .await
            .expect_err("nobody listens");
        assert!(matches!(err, FfiError::Network { .. }), "{err:?}");
        assert_eq!(err.code(), "unreachable");
    }

    #[tokio::test]
    async fn ping_reads_health_and_maps_http_errors() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let server = tokio::spawn(async move {
            for reply in [
                "HTTP/1.1 200 OK\r\ncontent-length: 3\r\nconnection: close\r\n\r\nok\n",
                "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 4\r\nconnection: close\r\n\r\ndown",
            ] {
                let (mut sock, _) = listener.accept().await.expect("accept");
                let mut buf = [0u8; 1024];
                let n = sock.read(&mut buf).await.expect("read");
                assert!(buf[..n].starts_with(b"GET /health HTTP/1.1\r\n"));
                sock.write_all(reply.as_bytes()).await.expect("write");
            }
        });
        assert_eq!(ping_backend(base.clone()).await, Ok("ok".to_owned()));
        let err = ping_backend(base).await.expect_err("503");
        assert_eq!(
            err,
            FfiError::Backend {
                code: "http_503".into(),
                error_message: "down".into()
            }
        );
        server.await.expect("server task");
    }
}
