//! Criterion benchmarks of the crypto primitives on the wallet's hot paths.
//!
//! Run with `cargo bench -p wallet-core --bench crypto`.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use wallet_core::crypto::cmac::aes_cmac;
use wallet_core::crypto::ecdsa::{verify_p256, P256SigningKey};
use wallet_core::crypto::mac::{retail_mac, Padding};
use wallet_core::crypto::sm2::{verify_sm2, Sm2SigningKey, DEFAULT_USER_ID};
use wallet_core::crypto::sm4::sm4_mac;
use wallet_core::crypto::{aead, CryptoError};

fn ecdsa(c: &mut Criterion) -> Result<(), CryptoError> {
    let key = P256SigningKey::generate()?;
    let public = key.public_key_sec1();
    let message = [0x5au8; 128];
    let signature = key.sign(&message)?;
    c.bench_function("ecdsa_p256_sign", |b| {
        b.iter(|| key.sign(black_box(&message)))
    });
    c.bench_function("ecdsa_p256_verify", |b| {
        b.iter(|| {
            verify_p256(
                black_box(&public),
                black_box(&message),
                black_box(&signature),
            )
        })
    });
    Ok(())
}

fn symmetric(c: &mut Criterion) {
    let gcm_key = [0x42u8; aead::KEY_LEN];
    let plain = [0xa5u8; 256];
    c.bench_function("aes256_gcm_seal_256B", |b| {
        b.iter(|| aead::seal(black_box(&gcm_key), b"aad", black_box(&plain)))
    });
    let data = [0x33u8; 64];
    let des_key = [0x11u8; 16];
    c.bench_function("retail_mac_64B", |b| {
        b.iter(|| {
            retail_mac(
                black_box(&des_key),
                &[0; 8],
                black_box(&data),
                Padding::Method2,
            )
        })
    });
    let sm4_key = [0x22u8; 16];
    c.bench_function("sm4_mac_64B", |b| {
        b.iter(|| sm4_mac(black_box(&sm4_key), &[0; 16], black_box(&data)))
    });
    let aes_key = [0x44u8; 16];
    c.bench_function("aes_cmac_64B", |b| {
        b.iter(|| aes_cmac(black_box(&aes_key), black_box(&data)))
    });
}

fn sm2(c: &mut Criterion) -> Result<(), CryptoError> {
    let key = Sm2SigningKey::generate()?;
    let public = key.public_key();
    let message = [0x5au8; 128];
    let signature = key.sign(DEFAULT_USER_ID, &message)?;
    c.bench_function("sm2_sign", |b| {
        b.iter(|| key.sign(DEFAULT_USER_ID, black_box(&message)))
    });
    c.bench_function("sm2_verify", |b| {
        b.iter(|| {
            verify_sm2(
                black_box(&public),
                DEFAULT_USER_ID,
                black_box(&message),
                black_box(&signature),
            )
        })
    });
    Ok(())
}

fn all(c: &mut Criterion) {
    if let Err(e) = ecdsa(c) {
        eprintln!("ECDSA benchmarks skipped: {e}");
    }
    symmetric(c);
    if let Err(e) = sm2(c) {
        eprintln!("SM2 benchmarks skipped: {e}");
    }
}

criterion_group!(benches, all);
criterion_main!(benches);
