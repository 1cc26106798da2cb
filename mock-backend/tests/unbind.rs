//! Unbinding: the device proves possession of its key; stale or repeated requests are refused.

mod common;

use common::*;
use mock_backend::bank::test_cards;
use wallet_core::backend::api::{
    BindingRecord, BindingStatus, UnbindRequest, IDEMPOTENCY_KEY_HEADER,
};
use wallet_core::crypto::ecdsa::P256SigningKey;

#[tokio::test]
async fn signatures_that_do_not_verify() -> TestResult {
    let h = start().await?;
    let key = P256SigningKey::generate()?;
    let bound = h.bind(&test_cards::DEBIT, &key).await?;
    let id = bound.binding_id.as_str();
    let now = h.now();

    let other_key = P256SigningKey::generate()?;
    let cases = [
        // Signed by another key.
        signed_unbind(&other_key, id, now, "aa01")?,
        // Signed over another binding id.
        UnbindRequest {
            ..signed_unbind(&key, "ffff", now, "aa02")?
        },
        // Signed over another timestamp / nonce than sent.
        UnbindRequest {
            timestamp: now + 1,
            ..signed_unbind(&key, id, now, "aa03")?
        },
        UnbindRequest {
            nonce: "aa05".into(),
            ..signed_unbind(&key, id, now, "aa04")?
        },
        // Hex, but not a DER signature.
        UnbindRequest {
            signature: "3006020101020101".into(),
            ..signed_unbind(&key, id, now, "aa06")?
        },
    ];
    for request in &cases {
        expect_error(h.unbind(id, request).await?, 401, "SIGNATURE_INVALID").await?;
    }
    let not_hex = UnbindRequest {
        signature: "not hex".into(),
        ..signed_unbind(&key, id, now, "aa07")?
    };
    expect_error(h.unbind(id, &not_hex).await?, 400, "BAD_REQUEST").await?;
    let bad_nonce = signed_unbind(&key, id, now, "nonce!")?;
    expect_error(h.unbind(id, &bad_nonce).await?, 400, "BAD_REQUEST").await?;

    let fetched: BindingRecord = ok_json(h.get_binding(id).await?).await?;
    assert_eq!(fetched.status, BindingStatus::Active);
    Ok(())
}

#[tokio::test]
async fn timestamps_outside_five_minutes_are_replays() -> TestResult {
    let h = start().await?;
    let key = P256SigningKey::generate()?;
    let bound = h.bind(&test_cards::CREDIT, &key).await?;
    let id = bound.binding_id.as_str();
    let now = h.now();

    let stale = signed_unbind(&key, id, now - 400, "bb01")?;
    expect_error(h.unbind(id, &stale).await?, 409, "REPLAY").await?;
    let future = signed_unbind(&key, id, now + 400, "bb02")?;
    expect_error(h.unbind(id, &future).await?, 409, "REPLAY").await?;

    // Signed now, sent after the mock clock moved on.
    let late = signed_unbind(&key, id, now, "bb03")?;
    h.advance_clock(310).await?;
    expect_error(h.unbind(id, &late).await?, 409, "REPLAY").await?;

    // Within the window (a client clock 4 minutes behind) it works.
    let ok = signed_unbind(&key, id, h.now() - 240, "bb04")?;
    let revoked: BindingRecord = ok_json(h.unbind(id, &ok).await?).await?;
    assert_eq!(revoked.status, BindingStatus::Revoked);
    Ok(())
}

#[tokio::test]
async fn repeated_and_late_unbinds() -> TestResult {
    let h = start().await?;
    let key = P256SigningKey::generate()?;
    let bound = h.bind(&test_cards::E_CASH, &key).await?;
    let id = bound.binding_id.as_str();
    let path = format!("/bank/v1/bindings/{id}/unbind");

    let request = signed_unbind(&key, id, h.now(), "cc01")?;
    let first = h.post(&path, &request, Some("unbind-1")).await?;
    let revoked: BindingRecord = ok_json(first).await?;
    assert_eq!(revoked.status, BindingStatus::Revoked);

    // The same idempotency key replays the success.
    let replay = h.post(&path, &request, Some("unbind-1")).await?;
    assert_eq!(
        replay
            .headers()
            .get("idempotent-replayed")
            .map(|v| v.as_bytes()),
        Some(&b"true"[..])
    );
    let replayed: BindingRecord = ok_json(replay).await?;
    assert_eq!(replayed, revoked);

    // The same signed body without the key (or under a new key) is a replay.
    expect_error(h.unbind(id, &request).await?, 409, "REPLAY").await?;
    expect_error(
        h.post(&path, &request, Some("unbind-2")).await?,
        409,
        "REPLAY",
    )
    .await?;

    // A fresh, correctly signed request meets a revoked binding.
    let fresh = signed_unbind(&key, id, h.now(), "cc02")?;
    expect_error(h.unbind(id, &fresh).await?, 409, "BINDING_REVOKED").await?;

    // And the header name is the contract's.
    assert_eq!(IDEMPOTENCY_KEY_HEADER, "Idempotency-Key");
    Ok(())
}
