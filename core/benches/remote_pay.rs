//! Criterion benchmarks of remote payment on the phone and at the RPS: the canonical payment
//! message built, signed with the P-256 device key and verified; the password verifier (PBKDF2,
//! 100 000 iterations — what dominates a password payment) and the per-payment proof, separately;
//! and one remote payment end to end against the in-process mock world over loopback HTTP
//! (merchant order created, order fetched, message built and signed, submitted, debited).
//!
//! Run with `cargo bench -p wallet-core --bench remote_pay`.

#[path = "../tests/support/mod.rs"]
mod support;

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use wallet_core::backend::api::remote::{
    password_proof, password_verifier, verify_password_proof, AuthMode, PaymentMessage,
};
use wallet_core::backend::api::remote::{CreateOrderRequest, Order, PATH_MERCHANT_ORDERS};
use wallet_core::backend::client::IdempotencyKey;
use wallet_core::backend::{BackendClient, ClientConfig};
use wallet_core::crypto::ecdsa::{verify_p256, P256SigningKey};
use wallet_core::crypto::{random, CryptoError};
use wallet_core::remote::PayAuth;

fn message(nonce: String) -> PaymentMessage {
    PaymentMessage {
        order_id: "ord_3a686c72c0fd294c8ff79bc8".into(),
        merchant_id: "898310058120001".into(),
        amount: 1_234,
        currency: "CNY".into(),
        binding_id: "62aec50edd7a8b5f27e0ea1d161f6ded".into(),
        auth: AuthMode::Password,
        se_id: String::new(),
        timestamp: 1_795_608_541,
        nonce,
    }
}

fn device_key(c: &mut Criterion) -> Result<(), CryptoError> {
    let key = P256SigningKey::generate()?;
    let public = key.public_key_sec1();
    c.bench_function("remote_message_build", |b| {
        b.iter(|| -> Result<Vec<u8>, CryptoError> {
            let m = message(random::hex_id(16)?);
            Ok(black_box(&m).canonical_bytes())
        })
    });
    c.bench_function("remote_message_build_sign_verify_p256", |b| {
        b.iter(|| -> Result<(), CryptoError> {
            let m = message(random::hex_id(16)?);
            let bytes = m.canonical_bytes();
            let signature = key.sign(black_box(&bytes))?;
            verify_p256(black_box(&public), &bytes, &signature)
        })
    });
    Ok(())
}

fn password(c: &mut Criterion) {
    let mut group = c.benchmark_group("remote_password");
    group.sample_size(20);
    group.bench_function("verifier_pbkdf2_100k", |b| {
        b.iter(|| password_verifier(black_box("135790"), black_box("b-1")))
    });
    group.finish();
    let verifier = password_verifier("135790", "b-1");
    let bytes = message("00112233445566778899aabbccddeeff".into()).canonical_bytes();
    c.bench_function("remote_password_proof_and_check", |b| {
        b.iter(|| {
            let proof = password_proof(black_box(&verifier[..]), black_box(&bytes));
            verify_password_proof(&verifier[..], &bytes, &proof)
        })
    });
}

/// A password payment end to end (order created, fetched, signed, proved, submitted, debited):
/// it includes the phone's PBKDF2 (see `remote_password`).
fn end_to_end(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let (world, wallet, binding, client, _dir) = runtime.block_on(async {
        let world = support::mock_world().await;
        let (wallet, dir) = support::wallet(world.url());
        let card = mock_backend::bank::test_cards::CREDIT;
        let binding = support::bind_test_card(&wallet, world.url(), &card)
            .await
            .binding_id;
        wallet
            .set_payment_password(&binding, "135790")
            .await
            .expect("password set");
        let client = BackendClient::new(ClientConfig::new(world.url())).expect("client");
        (world, wallet, binding, client, dir)
    });
    let mut group = c.benchmark_group("remote_payment_end_to_end");
    group.sample_size(20);
    group.bench_function("order_then_password_payment", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let request = CreateOrderRequest {
                    merchant_id: mock_backend::acquirer::merchants::CAFE.id.into(),
                    amount: 1,
                    currency: "CNY".into(),
                    description: "bench".into(),
                    expires_in_secs: None,
                };
                let key = IdempotencyKey::generate().expect("key");
                let order: Order = client
                    .post(PATH_MERCHANT_ORDERS, &request, &key)
                    .await
                    .expect("order");
                let auth = PayAuth::Password {
                    password: "135790".into(),
                };
                wallet
                    .pay_order(&binding, &order.order_id, auth)
                    .await
                    .expect("paid")
            })
        })
    });
    group.finish();
    runtime.block_on(world.shutdown());
}

fn benches(c: &mut Criterion) {
    if let Err(e) = device_key(c) {
        eprintln!("device-key benchmarks skipped: {e}");
    }
    password(c);
    end_to_end(c);
}

criterion_group!(remote, benches);
criterion_main!(remote);
