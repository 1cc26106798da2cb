//! Remote payment over HTTP: merchant orders, payment passwords, SMS challenges, signed payment
//! messages — and every way a payment must be refused with nothing debited twice.

mod common;
#[path = "remote_payment/support.rs"]
mod support;

use common::*;
use mock_backend::bank::test_cards;
use mock_backend::idempotency::REPLAYED_HEADER;
use mock_backend::rps::debit_reference;
use support::*;
use wallet_core::backend::api::clearing::{ClearingBatch, ClearingChannel, PATH_CLEARING_BATCHES};
use wallet_core::backend::api::remote::{
    password_signing_message, password_verifier, AuthMode, MerchantNotifications, OrderStatus,
    PasswordStatus, PaymentCredential, PaymentReceipt, PaymentRequest, SetPasswordRequest,
    PATH_MERCHANT_NOTIFICATIONS, PATH_MERCHANT_ORDERS, PATH_RPS_PASSWORDS, PATH_RPS_SMS_CHALLENGES,
};
use wallet_core::backend::api::BindingRecord;
use wallet_core::crypto::ecdsa::P256SigningKey;

#[tokio::test]
async fn password_payment_debits_once_and_tells_everyone() -> TestResult {
    let h = start().await?;
    let p = payer(&h, test_cards::DEBIT).await?;
    let status = register_password(&h, &p, PASSWORD).await?;
    assert_eq!(status.attempts_left, 5);
    let before = balance(&h, &p.card)?;
    let order = create_order(&h, 1_234, None).await?;
    assert_eq!(
        (order.status, order.expires_at - order.created_at),
        (OrderStatus::Pending, 900)
    );

    let request = password_payment(
        message(&h, &order, &p, AuthMode::Password)?,
        &p.key,
        PASSWORD,
    )?;
    let key = idem()?;
    let receipt: PaymentReceipt = ok_json(pay(&h, &request, Some(&key)).await?).await?;
    assert_eq!(
        (
            receipt.order_id.as_str(),
            receipt.amount,
            receipt.auth,
            receipt.binding_id.as_str()
        ),
        (order.order_id.as_str(), 1_234, AuthMode::Password, p.id())
    );
    assert_eq!(
        (receipt.merchant_name.as_str(), receipt.masked_pan.as_str()),
        ("模拟咖啡馆", "622202******7894")
    );
    assert_eq!(balance(&h, &p.card)?, before - 1_234);

    // The same submission again (lost answer): the first receipt, nothing more debited.
    let again = pay(&h, &request, Some(&key)).await?;
    assert_eq!(
        again.headers().get(REPLAYED_HEADER).map(|v| v.as_bytes()),
        Some(&b"true"[..])
    );
    assert_eq!(ok_json::<PaymentReceipt>(again).await?, receipt);
    // Under a new key: the order is paid.
    expect_error(
        pay(&h, &request, Some(&idem()?)).await?,
        409,
        "ORDER_ALREADY_PAID",
    )
    .await?;
    assert_eq!(balance(&h, &p.card)?, before - 1_234);

    let paid = order_status(&h, &order).await?;
    assert_eq!(
        (paid.status, paid.payment_id.as_deref()),
        (OrderStatus::Paid, Some(receipt.payment_id.as_str()))
    );
    let told: MerchantNotifications = ok_json(
        h.get(&format!("{PATH_MERCHANT_NOTIFICATIONS}?merchant_id={CAFE}"))
            .await?,
    )
    .await?;
    assert_eq!(told.notifications.len(), 1);
    assert_eq!(
        (told.notifications[0].status, told.notifications[0].amount),
        (OrderStatus::Paid, 1_234)
    );
    assert_eq!(history(&h, &p).await?.payments, vec![receipt]);
    Ok(())
}

#[tokio::test]
async fn sms_payment_with_a_code_for_this_order_only() -> TestResult {
    let h = start().await?;
    let p = payer(&h, test_cards::CREDIT).await?;
    let before = balance(&h, &p.card)?;
    let order = create_order(&h, 5_000, None).await?;
    let other = create_order(&h, 5_000, None).await?;
    let sent = challenge(&h, &p, &order).await?;
    assert_eq!(sent.sent_to, "139****5678");
    let code = h.latest_code(p.card.phone).await?;

    // The challenge of another order, then a wrong code: refused, and each spends its message.
    let for_other = sms_payment(
        message(&h, &other, &p, AuthMode::Sms)?,
        &p.key,
        &sent.challenge_id,
        &code,
    )?;
    expect_error(pay(&h, &for_other, None).await?, 404, "CHALLENGE_NOT_FOUND").await?;
    let wrong = sms_payment(
        message(&h, &order, &p, AuthMode::Sms)?,
        &p.key,
        &sent.challenge_id,
        &wrong_code(&code),
    )?;
    let body = expect_error(pay(&h, &wrong, None).await?, 422, "OTP_WRONG").await?;
    assert_eq!(body.error.attempts_left, Some(4));
    expect_error(pay(&h, &wrong, None).await?, 409, "REPLAY").await?;

    let right = sms_payment(
        message(&h, &order, &p, AuthMode::Sms)?,
        &p.key,
        &sent.challenge_id,
        &code,
    )?;
    let receipt: PaymentReceipt = ok_json(pay(&h, &right, None).await?).await?;
    assert_eq!((receipt.auth, receipt.amount), (AuthMode::Sms, 5_000));
    assert_eq!(balance(&h, &p.card)?, before - 5_000);
    // The other order needs its own challenge.
    let sent = challenge(&h, &p, &other).await?;
    let code = h.latest_code(p.card.phone).await?;
    let second = sms_payment(
        message(&h, &other, &p, AuthMode::Sms)?,
        &p.key,
        &sent.challenge_id,
        &code,
    )?;
    ok_json::<PaymentReceipt>(pay(&h, &second, None).await?).await?;
    assert_eq!(balance(&h, &p.card)?, before - 10_000);
    Ok(())
}

#[tokio::test]
async fn tampered_replayed_and_foreign_messages_are_refused() -> TestResult {
    let h = start().await?;
    let p = payer(&h, test_cards::DEBIT).await?;
    register_password(&h, &p, PASSWORD).await?;
    let before = balance(&h, &p.card)?;
    let order = create_order(&h, 800, None).await?;
    let twin = create_order(&h, 800, None).await?;

    // Amount changed after signing: it no longer matches the order.
    let mut tampered = password_payment(
        message(&h, &order, &p, AuthMode::Password)?,
        &p.key,
        PASSWORD,
    )?;
    tampered.message.amount = 1;
    expect_error(pay(&h, &tampered, None).await?, 422, "ORDER_MISMATCH").await?;
    // Pointed at another order of the same amount after signing: the signature breaks.
    let mut redirected = password_payment(
        message(&h, &order, &p, AuthMode::Password)?,
        &p.key,
        PASSWORD,
    )?;
    redirected.message.order_id = twin.order_id.clone();
    expect_error(pay(&h, &redirected, None).await?, 401, "SIGNATURE_INVALID").await?;
    // Signed by another key.
    let stranger = P256SigningKey::generate()?;
    let foreign = password_payment(
        message(&h, &order, &p, AuthMode::Password)?,
        &stranger,
        PASSWORD,
    )?;
    expect_error(pay(&h, &foreign, None).await?, 401, "SIGNATURE_INVALID").await?;
    // Stale timestamp.
    let mut stale = message(&h, &order, &p, AuthMode::Password)?;
    stale.timestamp -= 301;
    expect_error(
        pay(&h, &password_payment(stale, &p.key, PASSWORD)?, None).await?,
        409,
        "REPLAY",
    )
    .await?;
    // Credential of another mode.
    let mut mixed = password_payment(
        message(&h, &order, &p, AuthMode::Password)?,
        &p.key,
        PASSWORD,
    )?;
    mixed.credential = PaymentCredential::Se;
    expect_error(pay(&h, &mixed, None).await?, 400, "BAD_REQUEST").await?;
    assert_eq!(balance(&h, &p.card)?, before);

    // Paid once; the nonce of that message is then refused on another order.
    let first = password_payment(
        message(&h, &order, &p, AuthMode::Password)?,
        &p.key,
        PASSWORD,
    )?;
    ok_json::<PaymentReceipt>(pay(&h, &first, None).await?).await?;
    let mut replayed = message(&h, &twin, &p, AuthMode::Password)?;
    replayed.nonce = first.message.nonce.clone();
    expect_error(
        pay(&h, &password_payment(replayed, &p.key, PASSWORD)?, None).await?,
        409,
        "REPLAY",
    )
    .await?;
    assert_eq!(balance(&h, &p.card)?, before - 800);
    assert_eq!(order_status(&h, &twin).await?.status, OrderStatus::Pending);

    // SE mode without a key registered for the binding and SE.
    let mut se = message(&h, &twin, &p, AuthMode::Se)?;
    se.se_id = "0102030405060708090A".into();
    let se = PaymentRequest {
        signature: hex::encode(p.key.sign(&se.canonical_bytes())?),
        credential: PaymentCredential::Se,
        message: se,
    };
    expect_error(pay(&h, &se, None).await?, 409, "SE_KEY_NOT_REGISTERED").await?;
    Ok(())
}

#[tokio::test]
async fn five_wrong_passwords_lock_until_a_new_one_is_registered() -> TestResult {
    let h = start().await?;
    let p = payer(&h, test_cards::DEBIT).await?;
    let order = create_order(&h, 300, None).await?;
    let request = password_payment(
        message(&h, &order, &p, AuthMode::Password)?,
        &p.key,
        PASSWORD,
    )?;
    expect_error(pay(&h, &request, None).await?, 409, "PASSWORD_NOT_SET").await?;
    register_password(&h, &p, PASSWORD).await?;
    let before = balance(&h, &p.card)?;

    for left in [4, 3, 2, 1] {
        let wrong = password_payment(
            message(&h, &order, &p, AuthMode::Password)?,
            &p.key,
            "000000",
        )?;
        let body = expect_error(pay(&h, &wrong, None).await?, 401, "PASSWORD_WRONG").await?;
        assert_eq!(body.error.attempts_left, Some(left));
        // A wrong password spends its message: the same one again is a replay, not a free guess.
        expect_error(pay(&h, &wrong, None).await?, 409, "REPLAY").await?;
    }
    let fifth = password_payment(
        message(&h, &order, &p, AuthMode::Password)?,
        &p.key,
        "000000",
    )?;
    let body = expect_error(pay(&h, &fifth, None).await?, 423, "PASSWORD_LOCKED").await?;
    assert_eq!(body.error.attempts_left, Some(0));
    let right = password_payment(
        message(&h, &order, &p, AuthMode::Password)?,
        &p.key,
        PASSWORD,
    )?;
    expect_error(pay(&h, &right, None).await?, 423, "PASSWORD_LOCKED").await?;
    assert_eq!(balance(&h, &p.card)?, before);
    assert_eq!(order_status(&h, &order).await?.status, OrderStatus::Pending);

    // Only a new registration (signed by the device key) unlocks.
    register_password(&h, &p, "246802").await?;
    let after_reset = password_payment(
        message(&h, &order, &p, AuthMode::Password)?,
        &p.key,
        "246802",
    )?;
    ok_json::<PaymentReceipt>(pay(&h, &after_reset, None).await?).await?;
    assert_eq!(balance(&h, &p.card)?, before - 300);
    Ok(())
}

#[tokio::test]
async fn expired_orders_cannot_be_paid() -> TestResult {
    let h = start().await?;
    let p = payer(&h, test_cards::DEBIT).await?;
    register_password(&h, &p, PASSWORD).await?;
    let before = balance(&h, &p.card)?;
    let order = create_order(&h, 999, Some(60)).await?;
    h.advance_clock(61).await?;
    let request = password_payment(
        message(&h, &order, &p, AuthMode::Password)?,
        &p.key,
        PASSWORD,
    )?;
    expect_error(pay(&h, &request, None).await?, 410, "ORDER_EXPIRED").await?;
    assert_eq!(order_status(&h, &order).await?.status, OrderStatus::Expired);
    let told: MerchantNotifications = ok_json(
        h.get(&format!("{PATH_MERCHANT_NOTIFICATIONS}?merchant_id={CAFE}"))
            .await?,
    )
    .await?;
    let statuses: Vec<OrderStatus> = told.notifications.iter().map(|n| n.status).collect();
    assert_eq!(statuses, [OrderStatus::Expired]);
    // No SMS code for it either.
    let refused = h
        .post(
            PATH_RPS_SMS_CHALLENGES,
            &challenge_request(&h, &p, &order.order_id, &p.key)?,
            None,
        )
        .await?;
    expect_error(refused, 410, "ORDER_EXPIRED").await?;
    assert_eq!(balance(&h, &p.card)?, before);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_submissions_pay_once() -> TestResult {
    let h = start().await?;
    let p = payer(&h, test_cards::DEBIT).await?;
    register_password(&h, &p, PASSWORD).await?;
    let before = balance(&h, &p.card)?;
    let order = create_order(&h, 2_500, None).await?;
    let mut requests = Vec::new();
    for _ in 0..8 {
        requests.push(password_payment(
            message(&h, &order, &p, AuthMode::Password)?,
            &p.key,
            PASSWORD,
        )?);
    }
    let answers = pay_all(&h, &requests).await?;
    let paid = answers.iter().filter(|s| **s == 200).count();
    let already = answers.iter().filter(|s| **s == 409).count();
    assert_eq!((paid, already), (1, 7), "{answers:?}");
    assert_eq!(balance(&h, &p.card)?, before - 2_500);
    let debit = h
        .world
        .state()
        .bank()
        .debit_of(&debit_reference(&order.order_id))?;
    assert_eq!(debit.map(|d| d.amount), Some(2_500));
    Ok(())
}

#[tokio::test]
async fn insufficient_funds_leave_the_order_pending() -> TestResult {
    let h = start().await?;
    let p = payer(&h, test_cards::E_CASH).await?;
    register_password(&h, &p, PASSWORD).await?;
    let before = balance(&h, &p.card)?;
    let order = create_order(&h, u64::try_from(before)? + 1, None).await?;
    let request = password_payment(
        message(&h, &order, &p, AuthMode::Password)?,
        &p.key,
        PASSWORD,
    )?;
    expect_error(pay(&h, &request, None).await?, 402, "INSUFFICIENT_FUNDS").await?;
    assert_eq!(balance(&h, &p.card)?, before);
    assert_eq!(order_status(&h, &order).await?.status, OrderStatus::Pending);
    assert_eq!(
        h.world
            .state()
            .bank()
            .debit_of(&debit_reference(&order.order_id))?,
        None
    );
    Ok(())
}

#[tokio::test]
async fn clearing_totals_match_the_payments() -> TestResult {
    let h = start().await?;
    let alice = payer(&h, test_cards::DEBIT).await?;
    let bob = payer(&h, test_cards::CREDIT).await?;
    register_password(&h, &alice, PASSWORD).await?;
    register_password(&h, &bob, PASSWORD).await?;
    let mut receipts = Vec::new();
    for (who, amount) in [(&alice, 100), (&bob, 2_000), (&alice, 35)] {
        let order = create_order(&h, amount, None).await?;
        receipts.push(pay_by_password(&h, who, &order).await?);
    }
    let date = receipts[0].clearing_date.clone();
    let batch: ClearingBatch =
        ok_json(h.get(&format!("{PATH_CLEARING_BATCHES}/{date}")).await?).await?;
    let remote: Vec<_> = batch
        .transactions
        .iter()
        .filter(|t| t.channel == ClearingChannel::RemotePayment)
        .collect();
    assert_eq!(remote.len(), 3);
    let paid: u64 = receipts.iter().map(|r| r.amount).sum();
    assert_eq!(remote.iter().map(|t| t.amount).sum::<u64>(), paid);
    assert_eq!(batch.amount, paid);
    assert!(remote
        .iter()
        .all(|t| t.terminal_id == "RPS" && t.currency == 156 && t.atc == 0));
    assert_eq!(batch.totals.iter().map(|t| t.net).sum::<i64>(), 0);
    let net = |id: &str| {
        batch
            .totals
            .iter()
            .find(|t| t.institution_id == id)
            .map(|t| t.net)
    };
    assert_eq!(net("48020000"), Some(2_135));
    assert_eq!((net("622202"), net("625965")), (Some(-135), Some(-2_000)));
    let amounts: Vec<u64> = history(&h, &alice)
        .await?
        .payments
        .iter()
        .map(|r| r.amount)
        .collect();
    assert_eq!(amounts, [35, 100], "newest first");
    Ok(())
}

#[tokio::test]
async fn bad_orders_bindings_and_registrations_are_refused() -> TestResult {
    let h = start().await?;
    let good = serde_json::json!({"merchant_id": CAFE, "amount": 100, "currency": "CNY", "description": "x"});
    for (field, value, needle) in [
        ("amount", serde_json::json!(0), "amount"),
        ("currency", serde_json::json!("cny"), "currency"),
        ("description", serde_json::json!(""), "description"),
        (
            "expires_in_secs",
            serde_json::json!(86_401),
            "expires_in_secs",
        ),
    ] {
        let mut bad = good.clone();
        bad[field] = value;
        let body = expect_error(
            h.post(PATH_MERCHANT_ORDERS, &bad, None).await?,
            400,
            "BAD_REQUEST",
        )
        .await?;
        assert!(
            body.error.message.contains(needle),
            "{}",
            body.error.message
        );
    }
    let mut unknown = good.clone();
    unknown["merchant_id"] = serde_json::json!("M0001");
    expect_error(
        h.post(PATH_MERCHANT_ORDERS, &unknown, None).await?,
        404,
        "MERCHANT_NOT_FOUND",
    )
    .await?;
    expect_error(
        h.get(&format!("{PATH_MERCHANT_ORDERS}/ord_nope")).await?,
        404,
        "ORDER_NOT_FOUND",
    )
    .await?;

    let p = payer(&h, test_cards::DEBIT).await?;
    register_password(&h, &p, PASSWORD).await?;
    let order = create_order(&h, 100, None).await?;
    // A registration signed by another key, or replayed, is refused.
    let verifier = hex::encode(&password_verifier("111111", p.id())[..]);
    let stranger = P256SigningKey::generate()?;
    let mut request = SetPasswordRequest {
        binding_id: p.id().into(),
        proof: device_proof(&h, &stranger, |t, n| {
            password_signing_message(p.id(), &verifier, t, n)
        })?,
        verifier: verifier.into(),
    };
    let signed = password_signing_message(
        p.id(),
        &request.verifier,
        request.proof.timestamp,
        &request.proof.nonce,
    );
    expect_error(
        h.post(PATH_RPS_PASSWORDS, &request, None).await?,
        401,
        "SIGNATURE_INVALID",
    )
    .await?;
    request.proof.signature = hex::encode(p.key.sign(&signed)?);
    ok_json::<PasswordStatus>(h.post(PATH_RPS_PASSWORDS, &request, None).await?).await?;
    expect_error(
        h.post(PATH_RPS_PASSWORDS, &request, None).await?,
        409,
        "REPLAY",
    )
    .await?;

    // Unknown and revoked bindings.
    let mut ghost = message(&h, &order, &p, AuthMode::Password)?;
    ghost.binding_id = "ffff".into();
    expect_error(
        pay(&h, &password_payment(ghost, &p.key, "111111")?, None).await?,
        404,
        "BINDING_NOT_FOUND",
    )
    .await?;
    let unbind = signed_unbind(&p.key, p.id(), h.now(), &nonce()?)?;
    ok_json::<BindingRecord>(h.unbind(p.id(), &unbind).await?).await?;
    let revoked = password_payment(
        message(&h, &order, &p, AuthMode::Password)?,
        &p.key,
        "111111",
    )?;
    expect_error(pay(&h, &revoked, None).await?, 409, "BINDING_REVOKED").await?;
    Ok(())
}
