//! The SMS channel's one-time codes as the wallet meets them: wrong tries, lock-out, expiry.

mod common;

use common::*;
use mock_backend::bank::test_cards;
use wallet_core::backend::api::{BindingRecord, ConfirmBindingRequest, PATH_TEST_SMS_OUTBOX};
use wallet_core::crypto::ecdsa::P256SigningKey;

#[tokio::test]
async fn the_fifth_wrong_code_locks_and_the_right_one_no_longer_works() -> TestResult {
    let h = start().await?;
    let key = P256SigningKey::generate()?;
    let begun = h.begin(&test_cards::DEBIT).await?;
    let code = h.latest_code("13800138000").await?;
    let right = confirm_request(&begun.binding_session_id, &code, &key);
    let wrong = ConfirmBindingRequest {
        otp: wrong_code(&code).into(),
        ..right.clone()
    };

    for left in [4, 3, 2, 1] {
        let body = expect_error(h.confirm(&wrong).await?, 422, "OTP_WRONG").await?;
        assert_eq!(body.error.attempts_left, Some(left));
    }
    let body = expect_error(h.confirm(&wrong).await?, 423, "OTP_LOCKED").await?;
    assert_eq!(body.error.attempts_left, Some(0));
    expect_error(h.confirm(&right).await?, 423, "OTP_LOCKED").await?;

    // A new begin sends a new code and starts over.
    let again = h.begin(&test_cards::DEBIT).await?;
    let fresh = h.latest_code("13800138000").await?;
    let _: BindingRecord = ok_json(
        h.confirm(&confirm_request(&again.binding_session_id, &fresh, &key))
            .await?,
    )
    .await?;
    Ok(())
}

#[tokio::test]
async fn a_code_expires_after_five_minutes_of_mock_time() -> TestResult {
    let h = start().await?;
    let key = P256SigningKey::generate()?;

    // Still valid shortly before expiry.
    let begun = h.begin(&test_cards::CREDIT).await?;
    let code = h.latest_code("13912345678").await?;
    h.advance_clock(290).await?;
    let _: BindingRecord = ok_json(
        h.confirm(&confirm_request(&begun.binding_session_id, &code, &key))
            .await?,
    )
    .await?;

    // Refused once the five minutes are over, even with the right code.
    let begun = h.begin(&test_cards::CREDIT).await?;
    let code = h.latest_code("13912345678").await?;
    h.advance_clock(301).await?;
    let body = expect_error(
        h.confirm(&confirm_request(&begun.binding_session_id, &code, &key))
            .await?,
        410,
        "OTP_EXPIRED",
    )
    .await?;
    assert_eq!(body.error.attempts_left, None);
    Ok(())
}

#[tokio::test]
async fn clock_advance_is_visible_in_expiry_times() -> TestResult {
    let h = start().await?;
    let response = h
        .post(
            "/test/clock/advance",
            &serde_json::json!({ "seconds": 3600 }),
            None,
        )
        .await?;
    let clock: mock_backend::ClockState = ok_json(response).await?;
    assert_eq!(clock.offset_seconds, 3600);
    let begun = h.begin(&test_cards::DEBIT).await?;
    assert!(begun.otp_expires_at >= clock.now + 300);
    // Backwards or absurd moves are malformed requests.
    for body in [
        serde_json::json!({ "seconds": -5 }),
        serde_json::json!({ "seconds": u64::MAX }),
        serde_json::json!({}),
    ] {
        expect_error(
            h.post("/test/clock/advance", &body, None).await?,
            400,
            "BAD_REQUEST",
        )
        .await?;
    }
    Ok(())
}

#[tokio::test]
async fn each_session_has_its_own_code() -> TestResult {
    let h = start().await?;
    let key = P256SigningKey::generate()?;
    let first = h.begin(&test_cards::QUASI_CREDIT).await?;
    let second = h.begin(&test_cards::QUASI_CREDIT).await?;
    let outbox = h.outbox("+8615012345678").await?;
    assert_eq!(outbox.messages.len(), 2);
    let (code1, code2) = (
        outbox.messages[0].code.clone(),
        outbox.messages[1].code.clone(),
    );
    assert!(outbox.messages[0].sent_at <= outbox.messages[1].sent_at);
    if code1 != code2 {
        let cross = confirm_request(&second.binding_session_id, &code1, &key);
        let body = expect_error(h.confirm(&cross).await?, 422, "OTP_WRONG").await?;
        assert_eq!(body.error.attempts_left, Some(4));
    }
    let a: BindingRecord = ok_json(
        h.confirm(&confirm_request(&first.binding_session_id, &code1, &key))
            .await?,
    )
    .await?;
    let b: BindingRecord = ok_json(
        h.confirm(&confirm_request(&second.binding_session_id, &code2, &key))
            .await?,
    )
    .await?;
    assert_ne!(a.binding_id, b.binding_id);
    Ok(())
}

#[tokio::test]
async fn outbox_query_checks() -> TestResult {
    let h = start().await?;
    assert!(h.outbox("13800138000").await?.messages.is_empty());
    let bad = h
        .http
        .get(h.url(PATH_TEST_SMS_OUTBOX))
        .query(&[("phone", "12")])
        .send()
        .await?;
    expect_error(bad, 400, "INVALID_PHONE").await?;
    let missing = h.get(PATH_TEST_SMS_OUTBOX).await?;
    expect_error(missing, 400, "BAD_REQUEST").await?;
    Ok(())
}
