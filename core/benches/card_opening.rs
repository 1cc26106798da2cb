//! Air card opening against the local mock world: wall time and HTTP exchanges, without and with
//! an injected network round-trip time (a delaying proxy in front of the mock backend).
//!
//! `cargo bench -p wallet-core --bench card_opening` prints the figures (no criterion: each run
//! is a whole protocol session of tens of milliseconds).

#[path = "../tests/support/mod.rs"]
mod support;

use mock_backend::bank::test_cards;
use mock_backend::fault_proxy::FaultProxy;
use mock_backend::se_sim::SimulatedSeTransport;
use std::sync::Arc;
use std::time::{Duration, Instant};
use wallet_core::ota::AgentConfig;
use wallet_core::se::ReaderKind;
use wallet_core::{Wallet, WalletConfig};

struct Run {
    elapsed: Duration,
    seram_round_trips: u32,
    http_exchanges: usize,
}

async fn open_once(world_url: &str, proxy: &FaultProxy, kind: ReaderKind) -> Run {
    let dir = tempfile::tempdir().expect("tempdir");
    let se = Arc::new(SimulatedSeTransport::in_memory().expect("simulated SEs"));
    let agent = AgentConfig {
        allow_http: true,
        max_delay: Duration::ZERO,
        ..AgentConfig::default()
    };
    let wallet = Wallet::open(WalletConfig::new(dir.path(), proxy.url()), None)
        .expect("wallet")
        .with_secure_elements(se)
        .with_ota_config(agent);
    let binding = support::bind_test_card(&wallet, world_url, &test_cards::DEBIT).await;

    let before = proxy.exchanges().len();
    let start = Instant::now();
    let opened = wallet
        .open_card(&binding.binding_id, Some(kind), 10_000, None)
        .await
        .expect("card opening");
    Run {
        elapsed: start.elapsed(),
        seram_round_trips: opened.last_round_trips,
        http_exchanges: proxy.exchanges().len() - before,
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let world = support::mock_world().await;
        let proxy = FaultProxy::start(world.url()).await.expect("proxy starts");
        println!("card opening (debit card, ¥100 e-cash), median of N runs");
        println!(
            "{:<6} {:<14} {:>4} {:>12} {:>12} {:>18} {:>14}",
            "SE", "injected RTT", "N", "median", "max", "SERAM round trips", "HTTP in total"
        );
        for (kind, name) in [(ReaderKind::Ese, "eSE"), (ReaderKind::Sd, "SD")] {
            for (rtt, n) in [(Duration::ZERO, 20), (Duration::from_millis(100), 5)] {
                // The delay applies to every exchange (binding too, but only the opening is timed).
                proxy.set_round_trip(rtt);
                let mut runs = Vec::new();
                for _ in 0..n {
                    runs.push(open_once(world.url(), &proxy, kind).await);
                }
                let times: Vec<Duration> = runs.iter().map(|r| r.elapsed).collect();
                let max = times.iter().max().copied().unwrap_or_default();
                let rts = runs
                    .iter()
                    .map(|r| r.seram_round_trips)
                    .max()
                    .unwrap_or_default();
                let http = runs
                    .iter()
                    .map(|r| r.http_exchanges)
                    .max()
                    .unwrap_or_default();
                println!(
                    "{:<6} {:<14} {:>4} {:>10.1}ms {:>10.1}ms {:>18} {:>14}",
                    name,
                    format!("{} ms", rtt.as_millis()),
                    n,
                    median(times).as_secs_f64() * 1e3,
                    max.as_secs_f64() * 1e3,
                    rts,
                    http
                );
            }
        }
    });
}
