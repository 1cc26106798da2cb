//! Helpers shared by the remote-payment test modules: orders, bindings, balances, errors.

use crate::support;
use mock_backend::acquirer::merchants::CONVENIENCE_STORE;
use mock_backend::bank::test_cards::TestCard;
use mock_backend::MockWorld;
use wallet_core::backend::api::remote::{CreateOrderRequest, Order, PATH_MERCHANT_ORDERS};
use wallet_core::backend::client::IdempotencyKey;
use wallet_core::backend::{BackendClient, ClientConfig};
use wallet_core::remote::{PayAuth, RemotePayError};
use wallet_core::{Wallet, WalletError};

pub const PASSWORD: &str = "135790";

/// Creates an order of `amount` fen at the mock convenience store.
pub async fn create_order(url: &str, amount: u64, expires_in_secs: Option<u64>) -> Order {
    let client = BackendClient::new(ClientConfig::new(url)).unwrap();
    let request = CreateOrderRequest {
        merchant_id: CONVENIENCE_STORE.id.into(),
        amount,
        currency: "CNY".into(),
        description: "green tea".into(),
        expires_in_secs,
    };
    client
        .post(
            PATH_MERCHANT_ORDERS,
            &request,
            &IdempotencyKey::generate().unwrap(),
        )
        .await
        .unwrap()
}

/// Binds `card` to `wallet`; returns the binding id.
pub async fn bind(wallet: &Wallet, world_url: &str, card: &TestCard) -> String {
    support::bind_test_card(wallet, world_url, card)
        .await
        .binding_id
}

/// Binds `card` to `wallet` and sets the payment password [`PASSWORD`]; returns the binding id.
pub async fn bind_with_password(wallet: &Wallet, world_url: &str, card: &TestCard) -> String {
    let binding = bind(wallet, world_url, card).await;
    wallet
        .set_payment_password(&binding, PASSWORD)
        .await
        .unwrap();
    binding
}

pub fn balance(world: &MockWorld, card: &TestCard) -> i64 {
    world
        .state()
        .bank()
        .account(card.pan)
        .unwrap()
        .unwrap()
        .balance_fen
}

pub fn pay_error(e: WalletError) -> RemotePayError {
    match e {
        WalletError::RemotePay(e) => e,
        other => panic!("not a remote-payment error: {other:?}"),
    }
}

pub fn password(p: &str) -> PayAuth {
    PayAuth::Password { password: p.into() }
}

/// Messages the mock SMS channel sent to `phone` (read in-process).
pub fn sms_count(world: &MockWorld, phone: &str) -> usize {
    world.state().sms().outbox(phone).unwrap().len()
}
