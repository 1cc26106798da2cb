//! Opening the wallet on an existing store (target < 10 ms): `Wallet::open` on a data directory
//! that already holds a store, a software key store and a device identifier, i.e. the work an app
//! does at every start — unwrap the data key, open sled (recovering its log), read the device
//! identifier, build the back-end client. The wallet is dropped outside the timed section.
//!
//! sled releases its directory lock a moment after the last handle is dropped (its background
//! writer still holds the log), so an open that finds the lock still held is retried after a
//! millisecond and only the successful open is timed.
//!
//! The store lives in `$STORE_BENCH_DIR` if set, else the system's temporary directory.

use criterion::{criterion_group, criterion_main, Criterion};
use std::time::{Duration, Instant};
use wallet_core::{Wallet, WalletConfig};

fn config(dir: &std::path::Path) -> WalletConfig {
    WalletConfig::new(dir, "http://127.0.0.1:9")
}

fn wallet_open(c: &mut Criterion) {
    let dir = match std::env::var_os("STORE_BENCH_DIR") {
        Some(root) => tempfile::tempdir_in(root),
        None => tempfile::tempdir(),
    }
    .expect("bench directory");
    // First open: creates the store, the key file and the device identifier (durable).
    let device_id = Wallet::open(config(dir.path()), None)
        .expect("first open")
        .device_id()
        .to_owned();
    let mut group = c.benchmark_group("wallet");
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(5));
    group.bench_function("open on an existing store", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                total += open_once(dir.path(), &device_id);
            }
            total
        })
    });
    group.finish();
}

/// Time of one successful `Wallet::open` (the wallet is dropped untimed).
fn open_once(dir: &std::path::Path, device_id: &str) -> Duration {
    for _ in 0..1_000 {
        let start = Instant::now();
        match Wallet::open(config(dir), None) {
            Ok(wallet) => {
                let elapsed = start.elapsed();
                assert_eq!(wallet.device_id(), device_id);
                return elapsed;
            }
            Err(e) if e.to_string().contains("lock") => {
                std::thread::sleep(Duration::from_millis(1))
            }
            Err(e) => panic!("reopen: {e}"),
        }
    }
    panic!("the store stayed locked for a second after the wallet was dropped");
}

criterion_group!(benches, wallet_open);
criterion_main!(benches);
