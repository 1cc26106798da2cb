//! What the store costs: a sealed put + get of a ~200-byte record, a durable write of a small
//! record (the ATC case, through `put_durable` and `update_durable`), and for comparison a plain
//! `std::fs` write + `sync_all` of the same number of bytes in the same directory, an in-place
//! overwrite + `sync_data`, and raw sled's `flush()` without the store's `fsync`.
//!
//! The store lives in a temporary directory (`$STORE_BENCH_DIR` if set, else the system's): put
//! it on the file system you want to measure — on tmpfs every `fsync` is free. After the Criterion
//! groups, a latency report prints p50 / p99 / max of the durable writes, the figure the
//! wallet's budget is stated in (durable ATC write p99 < 5 ms).

use criterion::{black_box, criterion_group, Criterion};
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use wallet_core::store::{SoftwareKeyStore, Store, StoreError};

/// A card record of about 200 bytes of JSON.
#[derive(Serialize, Deserialize)]
struct CardRecord {
    card_id: String,
    pan_suffix: String,
    status: String,
    issuer: String,
    expiry: String,
    token_ref: String,
    counters: Vec<u32>,
}

fn card_record() -> CardRecord {
    CardRecord {
        card_id: "card-7f3a9c2e5b1d4f60".into(),
        pan_suffix: "4242".into(),
        status: "active".into(),
        issuer: "Bank of the Mock World, Shanghai branch".into(),
        expiry: "2031-12".into(),
        token_ref: "tok-0a1b2c3d4e5f60718293a4b5c6d7e8f9".into(),
        counters: vec![17, 0, 5, 1024],
    }
}

/// The ATC record: what must be on disk before a cryptogram leaves.
#[derive(Serialize, Deserialize)]
struct Atc {
    atc: u16,
}

/// AES-GCM adds a 12-byte nonce and a 16-byte tag to the JSON.
const SEAL_OVERHEAD: usize = 12 + 16;

fn bench_dir() -> tempfile::TempDir {
    match std::env::var_os("STORE_BENCH_DIR") {
        Some(dir) => tempfile::tempdir_in(dir),
        None => tempfile::tempdir(),
    }
    .expect("temporary directory for the benchmark")
}

fn open_store(dir: &Path) -> Store {
    let key_store = Arc::new(SoftwareKeyStore::open(&dir.join("kek.bin")).expect("key store"));
    Store::open(&dir.join("store"), key_store).expect("store")
}

/// Truncates and rewrites `path` with `bytes`, then `fsync`s it: the plain-file reference.
fn fs_write_sync(path: &Path, bytes: &[u8]) {
    let mut f = File::create(path).expect("create");
    f.write_all(bytes).expect("write");
    f.sync_all().expect("fsync");
}

/// Overwrites the start of an open file in place with `bytes`, then `fdatasync`s it: the cheapest
/// durable write a file system offers (no size or block allocation change to journal).
fn fs_overwrite_sync(f: &mut File, bytes: &[u8]) {
    f.seek(SeekFrom::Start(0)).expect("seek");
    f.write_all(bytes).expect("write");
    f.sync_data().expect("fdatasync");
}

/// Raw sled, no sealing: insert then `flush()` alone, which on Linux is `sync_file_range` and
/// not an `fsync` (what `put_durable` adds on top is one `fdatasync`). The first two bytes change
/// every time, as an ATC does.
fn sled_insert_flush(db: &sled::Db, bytes: &mut [u8], counter: &mut u16) {
    *counter = counter.wrapping_add(1);
    if let Some(head) = bytes.get_mut(..2) {
        head.copy_from_slice(&counter.to_be_bytes());
    }
    db.insert(b"atc", &*bytes).expect("insert");
    db.flush().expect("flush");
}

fn next_atc(atc: Option<Atc>) -> Result<Atc, StoreError> {
    Ok(Atc {
        atc: atc.map_or(1, |a| a.atc.wrapping_add(1)),
    })
}

fn store_benches(c: &mut Criterion) {
    let tmp = bench_dir();
    let store = open_store(tmp.path());
    let record = card_record();
    let record_len = serde_json::to_vec(&record).expect("json").len();
    let atc_len = serde_json::to_vec(&Atc { atc: 0x1234 })
        .expect("json")
        .len();
    eprintln!("record: {record_len} bytes of JSON; ATC: {atc_len} bytes (+{SEAL_OVERHEAD} sealed)");

    let mut fast = c.benchmark_group("store");
    fast.bench_function("put_get_200B", |b| {
        b.iter(|| {
            store
                .put("cards", "card-1", black_box(&record))
                .expect("put");
            black_box(store.get::<CardRecord>("cards", "card-1").expect("get"))
        })
    });
    fast.finish();

    let mut durable = c.benchmark_group("durable");
    durable
        .sample_size(30)
        .measurement_time(Duration::from_secs(6));
    let mut atc = 0u16;
    durable.bench_function("put_durable_atc", |b| {
        b.iter(|| {
            atc = atc.wrapping_add(1);
            store
                .put_durable("atc", "card-1", &Atc { atc })
                .expect("put_durable")
        })
    });
    durable.bench_function("update_durable_atc", |b| {
        b.iter(|| {
            store
                .update_durable("atc", "card-1", next_atc)
                .expect("update_durable")
        })
    });
    let bytes = vec![0xA5u8; atc_len + SEAL_OVERHEAD];
    let plain = tmp.path().join("plain.bin");
    durable.bench_function("fs_write_sync_all_same_bytes", |b| {
        b.iter(|| fs_write_sync(&plain, &bytes))
    });
    let mut file = File::create(tmp.path().join("overwrite.bin")).expect("create");
    durable.bench_function("fs_overwrite_sync_data_same_bytes", |b| {
        b.iter(|| fs_overwrite_sync(&mut file, &bytes))
    });
    let db = sled::open(tmp.path().join("raw-sled")).expect("sled");
    durable.bench_function("sled_insert_flush_only", |b| {
        let (mut raw, mut counter) = (bytes.clone(), 0u16);
        b.iter(|| sled_insert_flush(&db, &mut raw, &mut counter))
    });
    durable.finish();
}

/// p50 / p99 / max of `n` runs of `op`.
fn percentiles(n: usize, mut op: impl FnMut()) -> [Duration; 3] {
    let mut times: Vec<Duration> = (0..n)
        .map(|_| {
            let start = Instant::now();
            op();
            start.elapsed()
        })
        .collect();
    times.sort_unstable();
    let at = |q: usize| {
        times
            .get((n * q / 100).min(n - 1))
            .copied()
            .unwrap_or_default()
    };
    [at(50), at(99), times.last().copied().unwrap_or_default()]
}

/// Prints the tail latency of the durable writes (Criterion reports central figures only).
fn latency_report() {
    const RUNS: usize = 1000;
    let tmp = bench_dir();
    let store = open_store(tmp.path());
    let atc_len = serde_json::to_vec(&Atc { atc: 0x1234 })
        .expect("json")
        .len();
    let bytes = vec![0xA5u8; atc_len + SEAL_OVERHEAD];
    let plain = tmp.path().join("plain.bin");
    let mut file = File::create(tmp.path().join("overwrite.bin")).expect("create");
    let db = sled::open(tmp.path().join("raw-sled")).expect("sled");
    let (mut raw, mut counter) = (bytes.clone(), 0u16);
    let mut atc = 0u16;
    let rows = [
        (
            "put_durable_atc",
            percentiles(RUNS, || {
                atc = atc.wrapping_add(1);
                store
                    .put_durable("atc", "card-1", &Atc { atc })
                    .expect("put_durable")
            }),
        ),
        (
            "update_durable_atc",
            percentiles(RUNS, || {
                store
                    .update_durable("atc", "card-1", next_atc)
                    .expect("update_durable");
            }),
        ),
        (
            "fs_write_sync_all_same_bytes",
            percentiles(RUNS, || fs_write_sync(&plain, &bytes)),
        ),
        (
            "fs_overwrite_sync_data_same_bytes",
            percentiles(RUNS, || fs_overwrite_sync(&mut file, &bytes)),
        ),
        (
            "sled_insert_flush_only",
            percentiles(RUNS, || sled_insert_flush(&db, &mut raw, &mut counter)),
        ),
    ];
    println!("\nlatency over {RUNS} runs each (p50 / p99 / max):");
    for (name, [p50, p99, max]) in rows {
        println!("  {name:<34} {p50:>10.2?} {p99:>10.2?} {max:>10.2?}");
    }
}

criterion_group!(benches, store_benches);

fn main() {
    benches();
    // Skip the report when Criterion only lists or smoke-tests the benchmarks.
    if !std::env::args().any(|a| a == "--list" || a == "--test") {
        latency_report();
    }
    Criterion::default().configure_from_args().final_summary();
}
