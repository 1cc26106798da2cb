//! Lost answers: a repeated payment returns the first receipt and debits once — after the app
//! restarted, and after the RPS itself restarted.

use crate::helpers::*;
use crate::support;
use mock_backend::bank::test_cards;
use mock_backend::clearing::date::Day;
use mock_backend::fault_proxy::{Fault, FaultProxy, FaultRule};
use mock_backend::{MockWorld, MockWorldConfig};
use wallet_core::backend::api::remote::{PaymentReceipt, PATH_RPS_PAYMENTS};
use wallet_core::backend::BackendError;
use wallet_core::remote::{RemotePayError, RemotePayment};
use wallet_core::{Wallet, WalletConfig};

#[tokio::test]
async fn a_payment_repeated_after_a_lost_answer_and_a_restart_debits_once() {
    let world = support::mock_world().await;
    let proxy = FaultProxy::start(world.url()).await.expect("proxy starts");
    let (wallet, dir) = support::wallet_with(proxy.url(), |c| c.max_retries = 0);
    let card = test_cards::DEBIT;
    let binding = bind_with_password(&wallet, world.url(), &card).await;
    let before = balance(&world, &card);
    let order = create_order(world.url(), 2_500, None).await;

    // The RPS debits and answers; the answer is lost on the way back.
    proxy.inject(FaultRule::path(PATH_RPS_PAYMENTS, Fault::LoseAnswer));
    let err = pay_error(
        wallet
            .pay_order(&binding, &order.order_id, password(PASSWORD))
            .await
            .unwrap_err(),
    );
    assert!(
        matches!(err, RemotePayError::Backend(BackendError::Network(_))),
        "{err:?}"
    );
    assert_eq!(balance(&world, &card), before - 2_500, "the RPS did pay");
    assert_eq!(proxy.lost_answers().len(), 1);
    assert!(wallet.payment_history().unwrap().is_empty());

    // The app is restarted, then repeats (even with another proof): the submission stored
    // before it left is re-sent and the RPS answers with the first receipt.
    drop(wallet);
    let mut config = WalletConfig::new(dir.path(), proxy.url());
    config.max_retries = 0;
    let wallet = Wallet::open(config, None).unwrap();
    let payment = wallet
        .pay_order(&binding, &order.order_id, password("999999"))
        .await
        .unwrap();
    assert_eq!(payment.order_id, order.order_id);
    assert_eq!(balance(&world, &card), before - 2_500, "debited once");
    assert_eq!(wallet.payment_history().unwrap(), vec![payment]);

    // A third call finds nothing pending and the order paid.
    let err = pay_error(
        wallet
            .pay_order(&binding, &order.order_id, password(PASSWORD))
            .await
            .unwrap_err(),
    );
    assert!(matches!(err, RemotePayError::OrderAlreadyPaid), "{err:?}");
    assert_eq!(balance(&world, &card), before - 2_500);
}

#[tokio::test]
async fn the_client_retry_after_a_lost_answer_gets_the_first_receipt() {
    let world = support::mock_world().await;
    let proxy = FaultProxy::start(world.url()).await.expect("proxy starts");
    let (wallet, _dir) = support::wallet_with(proxy.url(), |c| c.max_retries = 2);
    let card = test_cards::DEBIT;
    let binding = bind_with_password(&wallet, world.url(), &card).await;
    let before = balance(&world, &card);
    let order = create_order(world.url(), 990, None).await;

    proxy.inject(FaultRule::path(PATH_RPS_PAYMENTS, Fault::LoseAnswer));
    let payment = wallet
        .pay_order(&binding, &order.order_id, password(PASSWORD))
        .await
        .unwrap();
    assert_eq!(proxy.lost_answers().len(), 1);
    assert_eq!(balance(&world, &card), before - 990);
    assert_eq!(wallet.payment_history().unwrap(), vec![payment]);
}

#[tokio::test]
async fn a_payment_repeated_after_a_lost_answer_and_an_rps_restart_debits_once() {
    // A persistent mock world behind the proxy: it can be stopped and started again on the same
    // address with the same state.
    let data = tempfile::tempdir().unwrap();
    let config = MockWorldConfig {
        data_dir: Some(data.path().to_owned()),
        ..MockWorldConfig::default()
    };
    let world = MockWorld::start(config.clone()).await.unwrap();
    let proxy = FaultProxy::start(world.url()).await.expect("proxy starts");
    let (wallet, _dir) = support::wallet_with(proxy.url(), |c| c.max_retries = 0);
    let card = test_cards::DEBIT;
    let binding = bind_with_password(&wallet, world.url(), &card).await;
    let before = balance(&world, &card);
    let order = create_order(world.url(), 3_300, None).await;

    // The RPS debits and answers; the answer is lost; then the RPS goes down.
    proxy.inject(FaultRule::path(PATH_RPS_PAYMENTS, Fault::LoseAnswer));
    let err = pay_error(
        wallet
            .pay_order(&binding, &order.order_id, password(PASSWORD))
            .await
            .unwrap_err(),
    );
    assert!(
        matches!(err, RemotePayError::Backend(BackendError::Network(_))),
        "{err:?}"
    );
    assert_eq!(balance(&world, &card), before - 3_300, "the RPS did pay");
    let lost: PaymentReceipt =
        serde_json::from_slice(&proxy.lost_answers()[0]).expect("the lost receipt");
    let addr = world.addr();
    world.shutdown().await;

    // While it is down the repeat fails without an answer and the submission stays pending.
    let err = pay_error(
        wallet
            .pay_order(&binding, &order.order_id, password(PASSWORD))
            .await
            .unwrap_err(),
    );
    assert!(
        matches!(err, RemotePayError::Backend(BackendError::Network(_))),
        "{err:?}"
    );
    assert!(wallet.payment_history().unwrap().is_empty());

    // Restarted from its data directory on the same address: the repeat gets the first receipt.
    let world = MockWorld::start(MockWorldConfig {
        addr,
        ..config.clone()
    })
    .await
    .unwrap();
    let payment = wallet
        .pay_order(&binding, &order.order_id, password(PASSWORD))
        .await
        .unwrap();
    assert_eq!(payment, RemotePayment::from(lost.clone()));
    assert_eq!(balance(&world, &card), before - 3_300, "debited once");
    assert_eq!(wallet.payment_history().unwrap(), vec![payment.clone()]);
    let day = Day::parse_iso(&lost.clearing_date).expect("an ISO clearing date");
    let batch = world.state().clearing().batch(&day).unwrap();
    let cleared = batch
        .transactions
        .iter()
        .filter(|e| e.id == lost.payment_id)
        .count();
    assert_eq!(cleared, 1, "cleared once");
    world.shutdown().await;
}
