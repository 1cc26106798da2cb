//! Cost of one `Wallet::process_apdu` from Rust, the baseline of the per-APDU figures through the
//! bindings (Kotlin/JNA, Python/ctypes in scripts/bench-ffi.sh): SELECT PPSE against an open HCE
//! card (no cryptogram, no durable write), as `HostApduService.processCommandApdu` makes it. The
//! card is opened against the in-process mock world first.

#[path = "../tests/support/mod.rs"]
mod support;

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use mock_backend::bank::test_cards;
use std::time::Duration;
use wallet_core::apdu::{CommandApdu, Occurrence};
use wallet_core::card::aids;

fn process_apdu(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let (world, wallet, _dir) = runtime.block_on(async {
        let world = support::mock_world().await;
        let (wallet, dir) = support::wallet(world.url());
        let card = test_cards::DEBIT;
        let binding = support::bind_test_card(&wallet, world.url(), &card).await;
        wallet
            .open_hce_card(&binding.binding_id)
            .await
            .expect("HCE card");
        (world, wallet, dir)
    });
    let select_ppse = CommandApdu::select_by_name(aids::PPSE, Occurrence::First)
        .expect("SELECT PPSE")
        .to_bytes();
    let answer = wallet.process_apdu(&select_ppse);
    assert_eq!(answer.get(answer.len() - 2..), Some(&[0x90, 0x00][..]));

    let mut group = c.benchmark_group("hce");
    group.measurement_time(Duration::from_secs(3));
    group.bench_function("process_apdu(SELECT PPSE), Rust", |b| {
        b.iter(|| wallet.process_apdu(black_box(&select_ppse)))
    });
    group.finish();
    runtime.block_on(world.shutdown());
}

criterion_group!(benches, process_apdu);
criterion_main!(benches);
