//! A fault-injecting HTTP/1.1 proxy to put in front of the mock world: the network between the
//! phone (or the POS terminal) and the back end, made unreliable on purpose.
//!
//! Every exchange is forwarded to the upstream server unless a [`FaultRule`] matches it; the
//! matching rule's [`Fault`] then decides its fate — never sent, answer lost after the server
//! executed the request, delayed, answered by a 5xx, body cut short, connection reset in the
//! middle of the answer. The proxy records every exchange ([`Exchange`]) so that a test can first
//! run a flow cleanly to learn its calls, then replay it with a fault on each call in turn.
//!
//! ```no_run
//! # async fn demo(upstream: &str) -> std::io::Result<()> {
//! use mock_backend::fault_proxy::{Fault, FaultProxy, FaultRule};
//! let proxy = FaultProxy::start(upstream).await?;
//! proxy.inject(FaultRule::path("/rps/v1/payments", Fault::LoseAnswer));
//! // point the wallet at proxy.url() …
//! # Ok(()) }
//! ```
//!
//! Test tooling: it understands only `Content-Length` framed messages (what reqwest and axum
//! send) and serves plain `http`.

mod spec;
mod wire;

pub use spec::FaultSpecError;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use wire::{read_message, request_line, split_body, MessageReader};

/// What happens to an exchange a rule matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The request never reaches the server: the client's connection is closed unanswered.
    DropRequest,
    /// The server executes the request; its answer is lost on the way back (connection closed).
    LoseAnswer,
    /// The exchange is held this long before it is forwarded (beyond the client's timeout, the
    /// client gives up while the server may still execute it).
    Delay(Duration),
    /// The proxy answers this status itself (a gateway error); the server never sees the request.
    Status(u16),
    /// The server executes the request, but the client gets this status instead of the answer
    /// (a gateway that timed out after forwarding).
    StatusAfterForward(u16),
    /// The server executes the request; the client gets the answer's head and half its body,
    /// then the connection closes.
    TruncateBody,
    /// The server executes the request; the client gets part of the answer, then a TCP reset.
    ResetMidResponse,
}

impl Fault {
    /// Every kind of fault, with `delay` for [`Fault::Delay`] — for tests that try them all.
    pub fn all(delay: Duration) -> [Fault; 7] {
        [
            Fault::DropRequest,
            Fault::LoseAnswer,
            Fault::Delay(delay),
            Fault::Status(503),
            Fault::StatusAfterForward(502),
            Fault::TruncateBody,
            Fault::ResetMidResponse,
        ]
    }

    /// Whether the server executes the request under this fault (`Delay`: it does, late).
    pub fn reaches_server(&self) -> bool {
        !matches!(self, Fault::DropRequest | Fault::Status(_))
    }
}

/// Which exchanges a fault applies to: those whose method (if set) and path prefix match, after
/// `skip` matching exchanges went through, for `times` exchanges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultRule {
    /// HTTP method to match (`None`: any).
    pub method: Option<String>,
    /// Path prefix to match (`""`: any; the query string is part of the path).
    pub path_prefix: String,
    /// Matching exchanges let through before the fault starts.
    pub skip: usize,
    /// Matching exchanges the fault applies to (then the rule is spent).
    pub times: usize,
    /// The fault.
    pub fault: Fault,
}

impl FaultRule {
    /// The next exchange whose path starts with `path_prefix` suffers `fault`, once.
    pub fn path(path_prefix: &str, fault: Fault) -> Self {
        Self {
            method: None,
            path_prefix: path_prefix.to_owned(),
            skip: 0,
            times: 1,
            fault,
        }
    }

    /// The exchange number `index` (0-based, counted from when the rule is injected) suffers
    /// `fault`, whatever it is.
    pub fn nth(index: usize, fault: Fault) -> Self {
        Self {
            method: None,
            path_prefix: String::new(),
            skip: index,
            times: 1,
            fault,
        }
    }

    /// The same rule for `times` matching exchanges.
    pub fn times(mut self, times: usize) -> Self {
        self.times = times;
        self
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        self.method.as_deref().is_none_or(|m| m == method) && path.starts_with(&self.path_prefix)
    }
}

/// One exchange the proxy saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    /// HTTP method.
    pub method: String,
    /// Path with query.
    pub path: String,
    /// The fault applied, if any.
    pub fault: Option<Fault>,
}

#[derive(Debug, Default)]
struct State {
    rules: Vec<FaultRule>,
    exchanges: Vec<Exchange>,
    lost: Vec<Vec<u8>>,
    round_trip: Duration,
}

impl State {
    /// Records the exchange and picks its fault (the first live rule that matches).
    fn admit(&mut self, method: &str, path: &str) -> Option<Fault> {
        let mut fault = None;
        for rule in self.rules.iter_mut().filter(|r| r.times > 0) {
            if !rule.matches(method, path) {
                continue;
            }
            if rule.skip > 0 {
                rule.skip -= 1;
                continue;
            }
            rule.times -= 1;
            fault = Some(rule.fault);
            break;
        }
        self.rules.retain(|r| r.times > 0);
        self.exchanges.push(Exchange {
            method: method.to_owned(),
            path: path.to_owned(),
            fault,
        });
        fault
    }
}

/// A running fault-injecting proxy (stops when dropped).
#[derive(Debug)]
pub struct FaultProxy {
    url: String,
    state: Arc<Mutex<State>>,
    acceptor: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    /// Starts a proxy on an ephemeral loopback port in front of `upstream`
    /// (`http://host:port`, as [`crate::MockWorld::url`] gives it).
    pub async fn start(upstream: &str) -> std::io::Result<Self> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), upstream).await
    }

    /// Like [`FaultProxy::start`], listening on `addr` (port 0 picks a free port).
    pub async fn start_on(addr: SocketAddr, upstream: &str) -> std::io::Result<Self> {
        let upstream: SocketAddr = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .parse()
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        let listener = TcpListener::bind(addr).await?;
        let url = format!("http://{}", listener.local_addr()?);
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let acceptor = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let state = shared.clone();
                tokio::spawn(async move {
                    if let Err(err) = serve(client, upstream, state).await {
                        tracing::debug!(%err, "fault proxy connection ended");
                    }
                });
            }
        });
        Ok(Self {
            url,
            state,
            acceptor,
        })
    }

    /// The base URL clients use instead of the upstream's.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Adds a rule (rules are tried in the order they were added).
    pub fn inject(&self, rule: FaultRule) {
        self.lock().rules.push(rule);
    }

    /// Removes every rule not spent yet.
    pub fn clear_rules(&self) {
        self.lock().rules.clear();
    }

    /// Whether every injected rule has been spent.
    pub fn rules_spent(&self) -> bool {
        self.lock().rules.is_empty()
    }

    /// Adds `rtt` to every exchange from now on (half before forwarding, half after).
    pub fn set_round_trip(&self, rtt: Duration) {
        self.lock().round_trip = rtt;
    }

    /// Every exchange seen so far, in arrival order.
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.lock().exchanges.clone()
    }

    /// Forgets the exchanges seen so far (rules stay).
    pub fn clear_exchanges(&self) {
        self.lock().exchanges.clear();
    }

    /// Bodies of the answers the server gave but the client never got in full, in order.
    pub fn lost_answers(&self) -> Vec<Vec<u8>> {
        self.lock().lost.clone()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.acceptor.abort();
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    // A panicking test thread must not hide the proxy's records from the others.
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Serves one client connection: its requests go, in order, over one upstream connection.
async fn serve(
    mut client: TcpStream,
    upstream: SocketAddr,
    state: Arc<Mutex<State>>,
) -> std::io::Result<()> {
    let mut server: Option<(TcpStream, MessageReader)> = None;
    let mut from_client = MessageReader::default();
    while let Some(request) = read_message(&mut client, &mut from_client).await? {
        let (method, path) = request_line(&request);
        let (fault, half_rtt) = {
            let mut state = lock(&state);
            (state.admit(&method, &path), state.round_trip / 2)
        };
        match fault {
            Some(Fault::DropRequest) => return Ok(()),
            Some(Fault::Status(status)) => {
                client.write_all(&gateway_answer(status)).await?;
                return Ok(());
            }
            Some(Fault::Delay(delay)) => tokio::time::sleep(delay).await,
            _ => {}
        }
        tokio::time::sleep(half_rtt).await;
        if server.is_none() {
            server = Some((
                TcpStream::connect(upstream).await?,
                MessageReader::default(),
            ));
        }
        let Some((upstream_stream, from_server)) = server.as_mut() else {
            return Ok(());
        };
        upstream_stream.write_all(&request).await?;
        let Some(answer) = read_message(upstream_stream, from_server).await? else {
            return Ok(());
        };
        tokio::time::sleep(half_rtt).await;
        match fault {
            Some(Fault::LoseAnswer) => {
                lose(&state, &answer);
                return Ok(());
            }
            Some(Fault::StatusAfterForward(status)) => {
                lose(&state, &answer);
                client.write_all(&gateway_answer(status)).await?;
                return Ok(());
            }
            Some(Fault::TruncateBody) => {
                lose(&state, &answer);
                let (head, body) = split_body(&answer);
                client.write_all(head).await?;
                client.write_all(&body[..body.len() / 2]).await?;
                client.flush().await?;
                return Ok(());
            }
            Some(Fault::ResetMidResponse) => {
                lose(&state, &answer);
                client.write_all(&answer[..answer.len() / 2]).await?;
                client.flush().await?;
                // Linger 0: closing sends RST instead of FIN. (Deprecated because a non-zero
                // linger blocks the thread on drop; a zero linger never does.)
                #[allow(deprecated)]
                client.set_linger(Some(Duration::ZERO))?;
                return Ok(());
            }
            _ => client.write_all(&answer).await?,
        }
    }
    Ok(())
}

fn lose(state: &Mutex<State>, answer: &[u8]) {
    lock(state).lost.push(split_body(answer).1.to_vec());
}

/// A gateway's error answer (plain text, not the back end's JSON error body).
fn gateway_answer(status: u16) -> Vec<u8> {
    let body = format!("fault injected: {status}");
    format!(
        "HTTP/1.1 {status} Fault Injected\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[cfg(test)]
mod tests;
