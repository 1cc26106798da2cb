//! Load on the mock backend: N wallets (default 1,000), each with its own store, bind the test
//! debit card (sequentially: the SMS outbox is per phone), then all open their HCE card at once
//! (`Wallet::open_hce_card`: token, card profile and a first batch of limited-use keys, over real
//! HTTP to the in-process mock world). The runtime has as many workers as the machine has cores
//! (run it under `taskset -c 0,1` for "2 cores").
//!
//! `cargo bench -p wallet-core --bench hce_load [-- N]` prints one `BENCH` line per phase; the
//! target is "all N succeed in < 30 s".

#[path = "../tests/support/mod.rs"]
mod support;

use mock_backend::bank::test_cards;
use std::time::{Duration, Instant};
use wallet_core::{Wallet, WalletConfig};

const DEFAULT_WALLETS: usize = 1_000;
const TARGET: Duration = Duration::from_secs(30);

/// One wallet in its own directory, bound to the test debit card.
struct BoundWallet {
    wallet: Wallet,
    binding_id: String,
    _dir: tempfile::TempDir,
}

async fn bind(url: &str, root: &std::path::Path) -> BoundWallet {
    let dir = tempfile::tempdir_in(root).expect("wallet directory");
    let mut config = WalletConfig::new(dir.path(), url);
    // 1,000 requests queue up behind 2 cores: allow far more than a phone's default.
    config.request_timeout = Duration::from_secs(60);
    let wallet = Wallet::open(config, None).expect("wallet opens");
    let binding = support::bind_test_card(&wallet, url, &test_cards::DEBIT).await;
    BoundWallet {
        wallet,
        binding_id: binding.binding_id,
        _dir: dir,
    }
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    sorted[((sorted.len() as f64 * q) as usize).min(sorted.len() - 1)]
}

fn main() {
    let n = std::env::args()
        .skip(1)
        .find_map(|a| a.parse::<usize>().ok())
        .unwrap_or(DEFAULT_WALLETS);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let workers = runtime.metrics().num_workers();
    runtime.block_on(async {
        let world = support::mock_world().await;
        let url = world.url().to_owned();
        // Stores on tmpfs when there is one: the figure is the back end's, not the disk's.
        let shm = std::path::Path::new("/dev/shm");
        let root = if shm.is_dir() {
            tempfile::tempdir_in(shm)
        } else {
            tempfile::tempdir()
        }
        .expect("root directory");

        let start = Instant::now();
        let mut wallets = Vec::with_capacity(n);
        for _ in 0..n {
            wallets.push(bind(&url, root.path()).await);
        }
        println!(
            "BENCH hce_load bind: {n} wallets bound sequentially in {:.2} s",
            start.elapsed().as_secs_f64()
        );

        let start = Instant::now();
        let tasks: Vec<_> = wallets
            .iter()
            .map(|w| {
                let wallet = w.wallet.clone();
                let binding_id = w.binding_id.clone();
                tokio::spawn(async move {
                    let t = Instant::now();
                    let result = wallet.open_hce_card(&binding_id).await;
                    (result.map(|card| card.usable_keys), t.elapsed())
                })
            })
            .collect();
        let mut times = Vec::with_capacity(n);
        let mut failures = Vec::new();
        for task in tasks {
            match task.await {
                Ok((Ok(keys), t)) if keys > 0 => times.push(t),
                Ok((Ok(_), _)) => failures.push("opened without usable keys".to_owned()),
                Ok((Err(e), _)) => failures.push(e.to_string()),
                Err(e) => failures.push(format!("task failed: {e}")),
            }
        }
        let total = start.elapsed();
        times.sort();
        let ok = times.len();
        let (p50, p99, max) = if times.is_empty() {
            Default::default()
        } else {
            (
                percentile(&times, 0.5),
                percentile(&times, 0.99),
                times[times.len() - 1],
            )
        };
        println!(
            "BENCH hce_load open: {ok}/{n} HCE card openings succeeded, all concurrent, in {:.2} s \
             on {workers} worker threads (per opening p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms); \
             target all in < {} s: {}",
            total.as_secs_f64(),
            p50.as_secs_f64() * 1e3,
            p99.as_secs_f64() * 1e3,
            max.as_secs_f64() * 1e3,
            TARGET.as_secs(),
            if ok == n && total < TARGET {
                "met"
            } else {
                "MISSED"
            }
        );
        for failure in failures.iter().take(5) {
            println!("  failure: {failure}");
        }
        drop(wallets);
        world.shutdown().await;
    });
}
