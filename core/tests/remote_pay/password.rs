//! Non-SE mode with the payment password: paying, lock-out, expired and unknown orders, an
//! unbound binding.

use crate::helpers::*;
use crate::support;
use mock_backend::bank::test_cards;
use wallet_core::backend::api::remote::{AuthMode, OrderStatus};
use wallet_core::remote::RemotePayError;

#[tokio::test]
async fn pay_an_order_with_the_payment_password() {
    let world = support::mock_world().await;
    let (wallet, _dir) = support::wallet(world.url());
    let card = test_cards::DEBIT;
    let binding = bind(&wallet, world.url(), &card).await;
    let before = balance(&world, &card);

    // No password yet.
    let order = create_order(world.url(), 1_234, None).await;
    let err = pay_error(
        wallet
            .pay_order(&binding, &order.order_id, password(PASSWORD))
            .await
            .unwrap_err(),
    );
    assert!(matches!(err, RemotePayError::PasswordNotSet), "{err:?}");
    // A malformed password never leaves the phone.
    let err = pay_error(
        wallet
            .set_payment_password(&binding, "12ab56")
            .await
            .unwrap_err(),
    );
    assert!(matches!(err, RemotePayError::InvalidPassword), "{err:?}");

    let status = wallet
        .set_payment_password(&binding, PASSWORD)
        .await
        .unwrap();
    assert_eq!(status.attempts_left, 5);
    let fetched = wallet.fetch_order(&order.order_id).await.unwrap();
    assert_eq!(fetched.status, OrderStatus::Pending);
    let payment = wallet
        .pay_order(&binding, &order.order_id, password(PASSWORD))
        .await
        .unwrap();
    assert_eq!(payment.order_id, order.order_id);
    assert_eq!(payment.amount, 1_234);
    assert_eq!(payment.auth, AuthMode::Password);
    assert_eq!(payment.binding_id, binding);
    assert_eq!(balance(&world, &card), before - 1_234);
    let paid = wallet.fetch_order(&order.order_id).await.unwrap();
    assert_eq!(paid.status, OrderStatus::Paid);
    assert_eq!(
        paid.payment_id.as_deref(),
        Some(payment.payment_id.as_str())
    );

    // Paying it again is refused before anything is sent; nothing more is debited.
    let err = pay_error(
        wallet
            .pay_order(&binding, &order.order_id, password(PASSWORD))
            .await
            .unwrap_err(),
    );
    assert!(matches!(err, RemotePayError::OrderAlreadyPaid), "{err:?}");
    assert_eq!(balance(&world, &card), before - 1_234);
    assert_eq!(wallet.payment_history().unwrap(), vec![payment]);
}

#[tokio::test]
async fn five_wrong_passwords_lock_the_password_until_a_new_one_is_set() {
    let world = support::mock_world().await;
    let (wallet, _dir) = support::wallet(world.url());
    let card = test_cards::DEBIT;
    let binding = bind_with_password(&wallet, world.url(), &card).await;
    let before = balance(&world, &card);
    let order = create_order(world.url(), 500, None).await;

    for left in (1..=4).rev() {
        let err = pay_error(
            wallet
                .pay_order(&binding, &order.order_id, password("000000"))
                .await
                .unwrap_err(),
        );
        assert!(
            matches!(err, RemotePayError::PasswordWrong { attempts_left } if attempts_left == left),
            "{err:?}"
        );
    }
    let err = pay_error(
        wallet
            .pay_order(&binding, &order.order_id, password("000000"))
            .await
            .unwrap_err(),
    );
    assert!(matches!(err, RemotePayError::PasswordLocked), "{err:?}");
    // Locked: even the right password is refused.
    let err = pay_error(
        wallet
            .pay_order(&binding, &order.order_id, password(PASSWORD))
            .await
            .unwrap_err(),
    );
    assert!(matches!(err, RemotePayError::PasswordLocked), "{err:?}");
    assert_eq!(balance(&world, &card), before);

    // A new password lifts the lock.
    wallet
        .set_payment_password(&binding, "246802")
        .await
        .unwrap();
    wallet
        .pay_order(&binding, &order.order_id, password("246802"))
        .await
        .unwrap();
    assert_eq!(balance(&world, &card), before - 500);
}

#[tokio::test]
async fn an_expired_order_is_refused_and_nothing_is_debited() {
    let world = support::mock_world().await;
    let (wallet, _dir) = support::wallet(world.url());
    let card = test_cards::DEBIT;
    let binding = bind_with_password(&wallet, world.url(), &card).await;
    let before = balance(&world, &card);
    let order = create_order(world.url(), 700, Some(60)).await;
    support::advance_clock(world.url(), 120).await;

    let err = pay_error(
        wallet
            .pay_order(&binding, &order.order_id, password(PASSWORD))
            .await
            .unwrap_err(),
    );
    assert!(matches!(err, RemotePayError::OrderExpired), "{err:?}");
    let err = pay_error(
        wallet
            .pay_order(&binding, "ord_unknown", password(PASSWORD))
            .await
            .unwrap_err(),
    );
    assert!(matches!(err, RemotePayError::OrderNotFound), "{err:?}");
    let err = pay_error(
        wallet
            .pay_order(&binding, "../bank", password(PASSWORD))
            .await
            .unwrap_err(),
    );
    assert!(matches!(err, RemotePayError::InvalidOrderId), "{err:?}");
    assert_eq!(balance(&world, &card), before);
    assert!(wallet.payment_history().unwrap().is_empty());
}

#[tokio::test]
async fn an_unbound_binding_can_no_longer_set_a_password() {
    let world = support::mock_world().await;
    let (wallet, _dir) = support::wallet(world.url());
    let binding = bind(&wallet, world.url(), &test_cards::DEBIT).await;
    wallet
        .set_payment_password(&binding, PASSWORD)
        .await
        .unwrap();
    wallet.unbind(&binding).await.unwrap();
    let err = pay_error(
        wallet
            .set_payment_password(&binding, PASSWORD)
            .await
            .unwrap_err(),
    );
    assert!(matches!(err, RemotePayError::BindingNotFound), "{err:?}");
}
