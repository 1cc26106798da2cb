//! Shared fixtures of the core's integration tests: the in-process mock world, wallets on
//! temporary directories, and stub servers (the fault-injecting proxy is `mock_backend::fault_proxy`).

#![allow(dead_code)]

use mock_backend::{MockWorld, MockWorldConfig};
use std::time::Duration;
use wallet_core::backend::api::{SmsOutbox, PATH_TEST_SMS_OUTBOX};
use wallet_core::binding::{Binding, BindingRequest};
use wallet_core::{Wallet, WalletConfig};

/// A mock world on an ephemeral loopback port, in memory.
pub async fn mock_world() -> MockWorld {
    MockWorld::start(MockWorldConfig::default())
        .await
        .expect("mock world starts")
}

/// A wallet in a fresh temporary directory talking to `url`.
pub fn wallet(url: &str) -> (Wallet, tempfile::TempDir) {
    wallet_with(url, |_| {})
}

/// Like [`wallet`], with the configuration adjusted by `tune`.
pub fn wallet_with(url: &str, tune: impl FnOnce(&mut WalletConfig)) -> (Wallet, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = WalletConfig::new(dir.path(), url);
    config.request_timeout = Duration::from_secs(5);
    tune(&mut config);
    (Wallet::open(config, None).expect("wallet opens"), dir)
}

/// TEST ONLY outbox: the newest code the mock SMS channel sent to `phone`.
pub async fn latest_code(url: &str, phone: &str) -> String {
    let outbox: SmsOutbox = reqwest::get(format!("{url}{PATH_TEST_SMS_OUTBOX}?phone={phone}"))
        .await
        .expect("outbox reachable")
        .json()
        .await
        .expect("outbox JSON");
    outbox
        .messages
        .last()
        .expect("a message was sent")
        .code
        .clone()
}

/// Binds the test card `card` to `wallet` (begin, the code from the mock SMS outbox at
/// `world_url`, confirm).
pub async fn bind_test_card(
    wallet: &Wallet,
    world_url: &str,
    card: &mock_backend::bank::test_cards::TestCard,
) -> Binding {
    let pending = wallet
        .begin_binding(&BindingRequest {
            pan: card.pan.into(),
            holder_name: card.holder_name.into(),
            id_number: card.id_number.into(),
            phone: card.phone.into(),
        })
        .await
        .expect("begin binding");
    let code = latest_code(world_url, card.phone).await;
    wallet
        .confirm_binding(&pending.session_id, &code)
        .await
        .expect("confirm binding")
}

/// Moves the mock world's clock forward.
pub async fn advance_clock(url: &str, seconds: u64) {
    let status = reqwest::Client::new()
        .post(format!("{url}/test/clock/advance"))
        .json(&serde_json::json!({ "seconds": seconds }))
        .send()
        .await
        .expect("clock endpoint reachable")
        .status();
    assert!(status.is_success(), "clock advance answered {status}");
}
