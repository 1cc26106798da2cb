//! Non-SE mode with an SMS code, and the history synchronised from the RPS.

use crate::helpers::*;
use crate::support;
use mock_backend::bank::test_cards;
use wallet_core::backend::api::remote::AuthMode;
use wallet_core::remote::{PayAuth, RemotePayError};

#[tokio::test]
async fn pay_an_order_with_an_sms_code_and_sync_the_history() {
    let world = support::mock_world().await;
    let (wallet, _dir) = support::wallet(world.url());
    let card = test_cards::CREDIT;
    let binding = bind(&wallet, world.url(), &card).await;
    let before = balance(&world, &card);
    let order = create_order(world.url(), 8_800, None).await;

    let challenge = wallet
        .request_payment_sms(&binding, &order.order_id)
        .await
        .unwrap();
    let code = support::latest_code(world.url(), card.phone).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let err = pay_error(
        wallet
            .pay_order(
                &binding,
                &order.order_id,
                PayAuth::Sms {
                    challenge_id: challenge.challenge_id.clone(),
                    code: wrong.into(),
                },
            )
            .await
            .unwrap_err(),
    );
    assert!(
        matches!(err, RemotePayError::SmsCodeWrong { attempts_left } if attempts_left > 0),
        "{err:?}"
    );
    let payment = wallet
        .pay_order(
            &binding,
            &order.order_id,
            PayAuth::Sms {
                challenge_id: challenge.challenge_id,
                code,
            },
        )
        .await
        .unwrap();
    assert_eq!(payment.auth, AuthMode::Sms);
    assert_eq!(balance(&world, &card), before - 8_800);

    // Another installation of the same account sees the payment once synchronised.
    let (other, _other_dir) = support::wallet(world.url());
    let other_binding = bind(&other, world.url(), &card).await;
    assert!(other.payment_history().unwrap().is_empty());
    let err = pay_error(other.sync_payment_history("nope").await.unwrap_err());
    assert!(matches!(err, RemotePayError::BindingNotFound), "{err:?}");
    let synced = other.sync_payment_history(&other_binding).await.unwrap();
    assert!(
        synced.is_empty() || synced.iter().all(|p| p.binding_id == other_binding),
        "another binding's payments are not merged: {synced:?}"
    );
    // Every read is a new signed request (fresh nonce): reading again works.
    for _ in 0..2 {
        let mine = wallet.sync_payment_history(&binding).await.unwrap();
        assert_eq!(mine, vec![payment.clone()]);
    }
}

#[tokio::test]
async fn only_the_bound_phone_can_have_payment_codes_sent() {
    let world = support::mock_world().await;
    let (wallet, _dir) = support::wallet(world.url());
    let card = test_cards::DEBIT;
    let binding = bind(&wallet, world.url(), &card).await;
    let order = create_order(world.url(), 100, None).await;
    let sent = sms_count(&world, card.phone);

    // Another phone knowing the binding id has no device key for it: nothing leaves.
    let (stranger, _stranger_dir) = support::wallet(world.url());
    let err = pay_error(
        stranger
            .request_payment_sms(&binding, &order.order_id)
            .await
            .unwrap_err(),
    );
    assert!(matches!(err, RemotePayError::BindingNotFound), "{err:?}");
    let err = pay_error(stranger.sync_payment_history(&binding).await.unwrap_err());
    assert!(matches!(err, RemotePayError::BindingNotFound), "{err:?}");
    assert_eq!(sms_count(&world, card.phone), sent);

    // The bound phone's signed request is accepted: one code, to the phone on file.
    let challenge = wallet
        .request_payment_sms(&binding, &order.order_id)
        .await
        .unwrap();
    assert_eq!(challenge.sent_to, "138****8000");
    assert_eq!(sms_count(&world, card.phone), sent + 1);
}
