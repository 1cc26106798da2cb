//! The network path attacked from the core's side: a payment message the wallet built and signed
//! is tampered with on its way, or captured and sent again — the RPS refuses it and nothing is
//! debited twice. (The mock backend's own tests cover every refusal over raw HTTP.)

use crate::helpers::*;
use crate::relay::Relay;
use crate::support;
use mock_backend::bank::test_cards;
use wallet_core::backend::api::remote::PATH_RPS_PAYMENTS;
use wallet_core::backend::api::{ErrorBody, IDEMPOTENCY_KEY_HEADER};
use wallet_core::backend::client::IdempotencyKey;
use wallet_core::remote::RemotePayError;

/// Sends a captured payment body straight to the world again, under a fresh idempotency key;
/// answers the status and the error code.
async fn replay(world_url: &str, body: &[u8]) -> (u16, String) {
    let answer = reqwest::Client::new()
        .post(format!("{world_url}{PATH_RPS_PAYMENTS}"))
        .header("content-type", "application/json")
        .header(
            IDEMPOTENCY_KEY_HEADER,
            IdempotencyKey::generate().unwrap().as_str(),
        )
        .body(body.to_vec())
        .send()
        .await
        .expect("world reachable");
    let status = answer.status().as_u16();
    let error: ErrorBody = answer.json().await.expect("an error body");
    (status, error.error.code)
}

#[tokio::test]
async fn a_tampered_payment_message_is_rejected_and_nothing_is_debited() {
    let world = support::mock_world().await;
    let relay = Relay::start(world.url()).await;
    let (wallet, _dir) = support::wallet(&relay.url);
    let card = test_cards::DEBIT;
    let binding = bind_with_password(&wallet, world.url(), &card).await;
    let before = balance(&world, &card);
    let order = create_order(world.url(), 5_000, None).await;

    // The amount lowered on the way: it no longer matches the order.
    relay.tamper_next_payment(|json| json["message"]["amount"] = 1.into());
    let err = pay_error(
        wallet
            .pay_order(&binding, &order.order_id, password(PASSWORD))
            .await
            .unwrap_err(),
    );
    assert!(matches!(err, RemotePayError::OrderMismatch), "{err:?}");
    // Another nonce (or any signed field) changed: the signature no longer verifies.
    relay.tamper_next_payment(|json| {
        json["message"]["nonce"] = "ffffffffffffffffffffffffffffffff".into()
    });
    let err = pay_error(
        wallet
            .pay_order(&binding, &order.order_id, password(PASSWORD))
            .await
            .unwrap_err(),
    );
    assert!(matches!(err, RemotePayError::SignatureRejected), "{err:?}");
    assert_eq!(balance(&world, &card), before);

    // Untouched, the next attempt pays, once.
    let payment = wallet
        .pay_order(&binding, &order.order_id, password(PASSWORD))
        .await
        .unwrap();
    assert_eq!(payment.amount, 5_000);
    assert_eq!(balance(&world, &card), before - 5_000);
    // Each rejection was definitive: the wallet dropped that submission and built a new
    // message (new nonce) instead of re-sending the stored one.
    let nonces: std::collections::HashSet<String> = relay
        .payments()
        .iter()
        .map(|body| {
            let json: serde_json::Value = serde_json::from_slice(body).unwrap();
            json["message"]["nonce"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(nonces.len(), 3);
}

#[tokio::test]
async fn a_replayed_payment_message_is_refused() {
    let world = support::mock_world().await;
    let relay = Relay::start(world.url()).await;
    let (wallet, _dir) = support::wallet(&relay.url);
    let card = test_cards::DEBIT;
    let binding = bind_with_password(&wallet, world.url(), &card).await;
    let before = balance(&world, &card);
    let order = create_order(world.url(), 1_500, None).await;

    // A captured wrong guess buys no second guess: replayed, it is refused before the password
    // is checked, and the attempt count is untouched.
    let err = pay_error(
        wallet
            .pay_order(&binding, &order.order_id, password("000000"))
            .await
            .unwrap_err(),
    );
    assert!(
        matches!(err, RemotePayError::PasswordWrong { attempts_left: 4 }),
        "{err:?}"
    );
    let guess = relay.payments().pop().expect("a captured payment");
    assert_eq!(replay(world.url(), &guess).await, (409, "REPLAY".into()));
    let err = pay_error(
        wallet
            .pay_order(&binding, &order.order_id, password("000000"))
            .await
            .unwrap_err(),
    );
    assert!(
        matches!(err, RemotePayError::PasswordWrong { attempts_left: 3 }),
        "{err:?}"
    );

    // A captured accepted payment, replayed: the order is paid, nothing more is debited.
    wallet
        .pay_order(&binding, &order.order_id, password(PASSWORD))
        .await
        .unwrap();
    let accepted = relay.payments().pop().expect("a captured payment");
    assert_eq!(
        replay(world.url(), &accepted).await,
        (409, "ORDER_ALREADY_PAID".into())
    );
    assert_eq!(balance(&world, &card), before - 1_500);
}
