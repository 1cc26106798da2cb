//! An HTTP/1.1 proxy that forwards requests to an upstream server and can *lose* the answer to
//! chosen requests: the upstream processes the request, the proxy records its answer, then closes
//! the client's connection without sending it — the "response lost on the way back" fault. It can
//! also add a fixed delay to every exchange (an injected network round-trip time).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A running proxy.
pub struct LossyProxy {
    /// Base URL clients use.
    pub url: String,
    rule: Arc<Mutex<Rule>>,
    /// Bodies of the answers that were lost, in order.
    pub lost: Arc<Mutex<Vec<Vec<u8>>>>,
}

struct Rule {
    path_prefix: String,
    drops_left: usize,
    round_trip: std::time::Duration,
    exchanges: usize,
}

impl LossyProxy {
    /// Starts a proxy in front of `upstream` (e.g. "http://127.0.0.1:1234").
    pub async fn start(upstream: &str) -> Self {
        let upstream: SocketAddr = upstream
            .trim_start_matches("http://")
            .parse()
            .expect("upstream host:port");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let rule = Arc::new(Mutex::new(Rule {
            path_prefix: String::new(),
            drops_left: 0,
            round_trip: std::time::Duration::ZERO,
            exchanges: 0,
        }));
        let lost = Arc::new(Mutex::new(Vec::new()));
        let (rule2, lost2) = (rule.clone(), lost.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (rule, lost) = (rule2.clone(), lost2.clone());
                tokio::spawn(async move {
                    let _ = serve(client, upstream, rule, lost).await;
                });
            }
        });
        Self { url, rule, lost }
    }

    /// Adds `rtt` to every exchange from now on (half before forwarding, half after).
    pub fn set_round_trip(&self, rtt: std::time::Duration) {
        self.rule.lock().expect("rule").round_trip = rtt;
    }

    /// HTTP exchanges forwarded so far.
    pub fn exchanges(&self) -> usize {
        self.rule.lock().expect("rule").exchanges
    }

    /// Loses the answers of the next `count` requests whose path starts with `path_prefix`.
    pub fn lose_answers(&self, path_prefix: &str, count: usize) {
        let mut rule = self.rule.lock().expect("rule");
        rule.path_prefix = path_prefix.to_owned();
        rule.drops_left = count;
    }
}

async fn serve(
    mut client: TcpStream,
    upstream: SocketAddr,
    rule: Arc<Mutex<Rule>>,
    lost: Arc<Mutex<Vec<Vec<u8>>>>,
) -> std::io::Result<()> {
    let mut server = TcpStream::connect(upstream).await?;
    let (mut client_buf, mut server_buf) = (Vec::new(), Vec::new());
    loop {
        let Some(request) = read_message(&mut client, &mut client_buf).await? else {
            return Ok(());
        };
        let path = request_path(&request);
        let half_rtt = {
            let mut rule = rule.lock().expect("rule");
            rule.exchanges += 1;
            rule.round_trip / 2
        };
        tokio::time::sleep(half_rtt).await;
        server.write_all(&request).await?;
        let Some(answer) = read_message(&mut server, &mut server_buf).await? else {
            return Ok(());
        };
        tokio::time::sleep(half_rtt).await;
        let drop_it = {
            let mut rule = rule.lock().expect("rule");
            let hit = rule.drops_left > 0 && path.starts_with(&rule.path_prefix);
            if hit {
                rule.drops_left -= 1;
            }
            hit
        };
        if drop_it {
            let body_at = find(&answer, b"\r\n\r\n")
                .map(|i| i + 4)
                .unwrap_or(answer.len());
            lost.lock().expect("lost").push(answer[body_at..].to_vec());
            return Ok(()); // both connections close: the client never sees the answer
        }
        client.write_all(&answer).await?;
    }
}

/// Reads one HTTP/1.1 message (headers + Content-Length body); `None` at a clean end of stream.
async fn read_message(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
) -> std::io::Result<Option<Vec<u8>>> {
    loop {
        if let Some(head_end) = find(buf, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
            let body_len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            let total = head_end + 4 + body_len;
            if buf.len() >= total {
                let rest = buf.split_off(total);
                return Ok(Some(std::mem::replace(buf, rest)));
            }
        }
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn request_path(request: &[u8]) -> String {
    let line_end = find(request, b"\r\n").unwrap_or(request.len());
    String::from_utf8_lossy(&request[..line_end])
        .split(' ')
        .nth(1)
        .unwrap_or_default()
        .to_owned()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
