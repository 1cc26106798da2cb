//! The RPS requests only the bound phone may make — SMS challenges and history reads (and the
//! password registration, covered in `remote_payment.rs`) — are signed by the binding's device
//! key: unsigned, wrongly signed, tampered, stale and replayed requests are refused and change
//! nothing (no SMS sent, no history disclosed).

mod common;
#[path = "remote_payment/support.rs"]
mod support;

use common::*;
use mock_backend::bank::test_cards;
use support::*;
use wallet_core::backend::api::remote::{
    history_signing_message, sms_challenge_signing_message, AuthMode, PaymentHistory,
    PaymentReceipt, SmsChallenge, PATH_RPS_PAYMENTS, PATH_RPS_PAYMENT_HISTORY,
    PATH_RPS_SMS_CHALLENGES,
};
use wallet_core::backend::api::BindingRecord;
use wallet_core::crypto::ecdsa::P256SigningKey;

/// Messages the mock SMS channel sent to `phone`.
async fn sms_count(h: &Harness, phone: &str) -> TestResult<usize> {
    Ok(h.outbox(phone).await?.messages.len())
}

#[tokio::test]
async fn sms_challenges_need_the_device_signature() -> TestResult {
    let h = start().await?;
    let p = payer(&h, test_cards::DEBIT).await?;
    let order = create_order(&h, 300, None).await?;
    let sent_before = sms_count(&h, p.card.phone).await?;

    // The old unsigned body: refused before anything happens.
    let unsigned = serde_json::json!({ "binding_id": p.id(), "order_id": order.order_id });
    expect_error(
        h.post(PATH_RPS_SMS_CHALLENGES, &unsigned, None).await?,
        400,
        "BAD_REQUEST",
    )
    .await?;
    // Signed by a key that is not the binding's.
    let stranger = P256SigningKey::generate()?;
    let wrong_key = challenge_request(&h, &p, &order.order_id, &stranger)?;
    expect_error(
        h.post(PATH_RPS_SMS_CHALLENGES, &wrong_key, None).await?,
        401,
        "SIGNATURE_INVALID",
    )
    .await?;
    // Signed for another order, sent for this one (tampered).
    let other = create_order(&h, 400, None).await?;
    let mut tampered = challenge_request(&h, &p, &other.order_id, &p.key)?;
    tampered.order_id = order.order_id.clone();
    expect_error(
        h.post(PATH_RPS_SMS_CHALLENGES, &tampered, None).await?,
        401,
        "SIGNATURE_INVALID",
    )
    .await?;
    // Malformed nonce and signature.
    let mut bad_nonce = challenge_request(&h, &p, &order.order_id, &p.key)?;
    bad_nonce.proof.nonce = "ABCDEF0123456789".into();
    expect_error(
        h.post(PATH_RPS_SMS_CHALLENGES, &bad_nonce, None).await?,
        400,
        "BAD_REQUEST",
    )
    .await?;
    // Out of the ±300 s window.
    let stale = challenge_request(&h, &p, &order.order_id, &p.key)?;
    h.advance_clock(301).await?;
    expect_error(
        h.post(PATH_RPS_SMS_CHALLENGES, &stale, None).await?,
        409,
        "REPLAY",
    )
    .await?;
    assert_eq!(
        sms_count(&h, p.card.phone).await?,
        sent_before,
        "no SMS sent"
    );

    // Properly signed: one code; the same request again (new or no idempotency key) is a replay.
    let request = challenge_request(&h, &p, &order.order_id, &p.key)?;
    let key = idem()?;
    let first: SmsChallenge = ok_json(
        h.post(PATH_RPS_SMS_CHALLENGES, &request, Some(&key))
            .await?,
    )
    .await?;
    assert_eq!(first.sent_to, "138****8000");
    expect_error(
        h.post(PATH_RPS_SMS_CHALLENGES, &request, None).await?,
        409,
        "REPLAY",
    )
    .await?;
    expect_error(
        h.post(PATH_RPS_SMS_CHALLENGES, &request, Some(&idem()?))
            .await?,
        409,
        "REPLAY",
    )
    .await?;
    // The same idempotency key is answered the first answer, without a second SMS.
    let again: SmsChallenge = ok_json(
        h.post(PATH_RPS_SMS_CHALLENGES, &request, Some(&key))
            .await?,
    )
    .await?;
    assert_eq!(again, first);
    assert_eq!(sms_count(&h, p.card.phone).await?, sent_before + 1);

    // The code pays the order.
    let code = h.latest_code(p.card.phone).await?;
    let pay_request = sms_payment(
        message(&h, &order, &p, AuthMode::Sms)?,
        &p.key,
        &first.challenge_id,
        &code,
    )?;
    ok_json::<PaymentReceipt>(pay(&h, &pay_request, None).await?).await?;
    Ok(())
}

#[tokio::test]
async fn history_reads_need_the_device_signature() -> TestResult {
    let h = start().await?;
    let alice = payer(&h, test_cards::DEBIT).await?;
    let bob = payer(&h, test_cards::CREDIT).await?;
    register_password(&h, &alice, PASSWORD).await?;
    let order = create_order(&h, 120, None).await?;
    let receipt = pay_by_password(&h, &alice, &order).await?;

    // The old unsigned query is gone; an unsigned body is refused.
    let query = format!("{PATH_RPS_PAYMENTS}?binding_id={}", alice.id());
    assert_eq!(h.get(&query).await?.status().as_u16(), 405);
    let unsigned = serde_json::json!({ "binding_id": alice.id() });
    expect_error(
        h.post(PATH_RPS_PAYMENT_HISTORY, &unsigned, None).await?,
        400,
        "BAD_REQUEST",
    )
    .await?;
    // Bob's key cannot read Alice's payments, nor can a stranger's.
    for key in [&bob.key, &P256SigningKey::generate()?] {
        expect_error(
            h.post(
                PATH_RPS_PAYMENT_HISTORY,
                &history_request(&h, &alice, key)?,
                None,
            )
            .await?,
            401,
            "SIGNATURE_INVALID",
        )
        .await?;
    }
    // A signature for Bob's binding does not read Alice's (tampered binding id).
    let mut tampered = history_request(&h, &bob, &bob.key)?;
    tampered.binding_id = alice.id().into();
    expect_error(
        h.post(PATH_RPS_PAYMENT_HISTORY, &tampered, None).await?,
        401,
        "SIGNATURE_INVALID",
    )
    .await?;

    // Signed by Alice's device: her payments; replayed: refused.
    let request = history_request(&h, &alice, &alice.key)?;
    let listed: PaymentHistory =
        ok_json(h.post(PATH_RPS_PAYMENT_HISTORY, &request, None).await?).await?;
    assert_eq!(listed.payments, vec![receipt]);
    expect_error(
        h.post(PATH_RPS_PAYMENT_HISTORY, &request, None).await?,
        409,
        "REPLAY",
    )
    .await?;
    // Nonces are shared by every signed request of a binding: one spent on a history read
    // cannot sign an SMS challenge.
    let mut reused = challenge_request(&h, &alice, &order.order_id, &alice.key)?;
    reused.proof.nonce = request.proof.nonce.clone();
    reused.proof.timestamp = request.proof.timestamp;
    reused.proof.signature = hex::encode(alice.key.sign(&sms_challenge_signing_message(
        alice.id(),
        &order.order_id,
        reused.proof.timestamp,
        &reused.proof.nonce,
    ))?);
    expect_error(
        h.post(PATH_RPS_SMS_CHALLENGES, &reused, None).await?,
        409,
        "REPLAY",
    )
    .await?;
    // Stale.
    let mut stale = history_request(&h, &alice, &alice.key)?;
    stale.proof.timestamp -= 301;
    stale.proof.signature = hex::encode(alice.key.sign(&history_signing_message(
        alice.id(),
        stale.proof.timestamp,
        &stale.proof.nonce,
    ))?);
    expect_error(
        h.post(PATH_RPS_PAYMENT_HISTORY, &stale, None).await?,
        409,
        "REPLAY",
    )
    .await?;
    // Bob reads his own (empty) list.
    assert!(history(&h, &bob).await?.payments.is_empty());

    // An unknown binding, and a revoked one.
    let mut ghost = history_request(&h, &alice, &alice.key)?;
    ghost.binding_id = "ffff".into();
    expect_error(
        h.post(PATH_RPS_PAYMENT_HISTORY, &ghost, None).await?,
        404,
        "BINDING_NOT_FOUND",
    )
    .await?;
    let unbind = signed_unbind(&bob.key, bob.id(), h.now(), &nonce()?)?;
    ok_json::<BindingRecord>(h.unbind(bob.id(), &unbind).await?).await?;
    expect_error(
        h.post(
            PATH_RPS_PAYMENT_HISTORY,
            &history_request(&h, &bob, &bob.key)?,
            None,
        )
        .await?,
        409,
        "BINDING_REVOKED",
    )
    .await?;
    Ok(())
}
