//! The HCE token service over HTTP: provisioning and key batches signed by the binding's device
//! key, replays, idempotency, malformed input, token life cycle, and the keys checked against
//! the documented derivation from the public test IMK-AC.

mod common;

use common::*;
use mock_backend::bank::test_cards;
use mock_backend::hce::{HceDecline, LUK_MAX_USES, LUK_TTL_SECS, TOKEN_BIN};
use mock_backend::idempotency::REPLAYED_HEADER;
use wallet_core::backend::api::hce::{
    keys_path, HceCardProvisioned, HceCardRequest, KeyBatch, KeyBatchRequest, PATH_HCE_CARDS,
};
use wallet_core::backend::api::AccountKind;
use wallet_core::binding::validate::luhn_valid;
use wallet_core::card::keys::{derive_icc_master_key, CryptogramData};
use wallet_core::card::test_issuer::{test_issuer_master_keys, TEST_IMK_AC};
use wallet_core::card::CardCrypto;
use wallet_core::crypto::ecdsa::P256SigningKey;
use wallet_core::hce::luk::{luk_from_master_key, IssuerView};

fn open_request(
    key: &P256SigningKey,
    binding_id: &str,
    keys: u32,
    now: u64,
    nonce: &str,
) -> HceCardRequest {
    let mut request = HceCardRequest {
        binding_id: binding_id.into(),
        keys,
        timestamp: now,
        nonce: nonce.into(),
        signature: String::new(),
    };
    request.signature = hex::encode(key.sign(&request.signing_message()).unwrap());
    request
}

fn batch_request(
    key: &P256SigningKey,
    binding_id: &str,
    token_id: &str,
    keys: u32,
    now: u64,
    nonce: &str,
) -> KeyBatchRequest {
    let mut request = KeyBatchRequest {
        binding_id: binding_id.into(),
        keys,
        timestamp: now,
        nonce: nonce.into(),
        signature: String::new(),
    };
    request.signature = hex::encode(key.sign(&request.signing_message(token_id)).unwrap());
    request
}

/// A world with the debit test card bound to a fresh device key.
async fn bound(card: &test_cards::TestCard) -> TestResult<(Harness, P256SigningKey, String)> {
    let h = start().await?;
    let key = P256SigningKey::generate()?;
    let binding = h.bind(card, &key).await?;
    Ok((h, key, binding.binding_id))
}

#[tokio::test]
async fn provisioning_returns_a_token_profile_and_keys_of_the_documented_derivation() -> TestResult
{
    let (h, key, binding) = bound(&test_cards::DEBIT).await?;
    let now = h.now();
    let request = open_request(&key, &binding, 3, now, "01");
    let card: HceCardProvisioned =
        ok_json(h.post(PATH_HCE_CARDS, &request, Some("open-1")).await?).await?;
    let profile = &card.profile;
    assert_eq!(card.binding_id, binding);
    assert!(profile.token_pan.starts_with(TOKEN_BIN) && luhn_valid(&profile.token_pan));
    assert_eq!(profile.token_pan.len(), 16);
    assert_ne!(profile.token_pan, test_cards::DEBIT.pan);
    assert_eq!(
        (profile.account_kind, profile.pan_sequence, profile.crypto),
        (AccountKind::Debit, 1, CardCrypto::Sm4)
    );
    assert_eq!(
        (profile.currency, profile.country, profile.expiry.len()),
        (156, 156, 6)
    );
    // The JSON carries no master key: only the profile fields and the limited-use keys.
    let json = serde_json::to_value(&card)?;
    let fields: Vec<&String> = json["profile"]
        .as_object()
        .ok_or("profile")?
        .keys()
        .collect();
    assert_eq!(
        fields,
        [
            "account_kind",
            "country",
            "crypto",
            "currency",
            "cvm_limit",
            "expiry",
            "pan_sequence",
            "token_pan"
        ]
    );

    let indices: Vec<u8> = card.keys.iter().map(|k| k.index).collect();
    assert_eq!(indices, [1, 2, 3]);
    let mk = derive_icc_master_key(CardCrypto::Sm4, &TEST_IMK_AC, &profile.token_pan, 1)?;
    for luk in &card.keys {
        assert_eq!(
            luk.key[..],
            luk_from_master_key(CardCrypto::Sm4, &mk, luk.index)?[..]
        );
        assert_eq!(luk.max_uses, LUK_MAX_USES);
        assert_eq!(luk.expires_at, luk.issued_at + LUK_TTL_SECS);
        assert!(luk.issued_at.abs_diff(now) < 5);
    }

    // The resolver the issuer uses knows the token.
    let hce = h.world.state().hce();
    let resolved = hce.resolve(&profile.token_pan)?.ok_or("resolved")?;
    assert_eq!(
        (
            resolved.binding_id.as_str(),
            resolved.account_pan.as_str(),
            resolved.pan_sequence,
            resolved.active
        ),
        (binding.as_str(), test_cards::DEBIT.pan, 1, true)
    );
    let status = hce.luk_status(&profile.token_pan, 2)?.ok_or("status")?;
    assert_eq!((status.uses, status.max_uses), (0, LUK_MAX_USES));
    assert_eq!(hce.luk_status(&profile.token_pan, 4)?, None);
    assert_eq!(hce.resolve(test_cards::DEBIT.pan)?, None);

    // Replenishment: the next indices.
    let more = batch_request(&key, &binding, &card.token_id, 2, h.now(), "02");
    let batch: KeyBatch = ok_json(
        h.post(&keys_path(&card.token_id), &more, Some("keys-1"))
            .await?,
    )
    .await?;
    let indices: Vec<u8> = batch.keys.iter().map(|k| k.index).collect();
    assert_eq!(
        (batch.token_id.as_str(), indices),
        (card.token_id.as_str(), vec![4, 5])
    );
    Ok(())
}

#[tokio::test]
async fn requests_are_signed_fresh_and_single_use() -> TestResult {
    let (h, key, binding) = bound(&test_cards::CREDIT).await?;
    let now = h.now();
    let stranger = P256SigningKey::generate()?;
    let forged = open_request(&stranger, &binding, 2, now, "a1");
    expect_error(
        h.post(PATH_HCE_CARDS, &forged, Some("k1")).await?,
        401,
        "SIGNATURE_INVALID",
    )
    .await?;
    let mut tampered = open_request(&key, &binding, 2, now, "a2");
    tampered.keys = 3;
    expect_error(
        h.post(PATH_HCE_CARDS, &tampered, Some("k2")).await?,
        401,
        "SIGNATURE_INVALID",
    )
    .await?;
    let stale = open_request(&key, &binding, 2, now - 400, "a3");
    expect_error(
        h.post(PATH_HCE_CARDS, &stale, Some("k3")).await?,
        409,
        "REPLAY",
    )
    .await?;
    let unknown = open_request(&key, "no-such-binding", 2, now, "a4");
    expect_error(
        h.post(PATH_HCE_CARDS, &unknown, Some("k4")).await?,
        404,
        "BINDING_NOT_FOUND",
    )
    .await?;

    let first = open_request(&key, &binding, 2, now, "a5");
    let card: HceCardProvisioned =
        ok_json(h.post(PATH_HCE_CARDS, &first, Some("k5")).await?).await?;
    // The same signed request under another idempotency key is a replay.
    expect_error(
        h.post(PATH_HCE_CARDS, &first, Some("k6")).await?,
        409,
        "REPLAY",
    )
    .await?;
    let path = keys_path(&card.token_id);
    let reused = batch_request(&key, &binding, &card.token_id, 1, now, "a5");
    expect_error(h.post(&path, &reused, Some("k7")).await?, 409, "REPLAY").await?;
    // A batch signed for another token does not verify for this one.
    let mut other_token = batch_request(&key, &binding, "another-token", 1, now, "a8");
    other_token.nonce = "a8".into();
    expect_error(
        h.post(&path, &other_token, Some("k8")).await?,
        401,
        "SIGNATURE_INVALID",
    )
    .await?;
    Ok(())
}

#[tokio::test]
async fn a_repeated_idempotency_key_answers_the_first_answer() -> TestResult {
    let (h, key, binding) = bound(&test_cards::DEBIT).await?;
    let request = open_request(&key, &binding, 2, h.now(), "b1");
    let first = h.post(PATH_HCE_CARDS, &request, Some("same")).await?;
    let first: HceCardProvisioned = ok_json(first).await?;
    let again = h.post(PATH_HCE_CARDS, &request, Some("same")).await?;
    assert_eq!(
        again.headers().get(REPLAYED_HEADER).map(|v| v.as_bytes()),
        Some(&b"true"[..])
    );
    let again: HceCardProvisioned = ok_json(again).await?;
    assert_eq!(again, first, "same token, same keys");
    assert_eq!(h.world.state().hce().tokens_of(&binding)?.len(), 1);

    let path = keys_path(&first.token_id);
    let more = batch_request(&key, &binding, &first.token_id, 2, h.now(), "b2");
    let a: KeyBatch = ok_json(h.post(&path, &more, Some("batch")).await?).await?;
    let b: KeyBatch = ok_json(h.post(&path, &more, Some("batch")).await?).await?;
    assert_eq!(a, b);
    assert_eq!(
        h.world.state().hce().keys_of(&first.token_id)?.len(),
        4,
        "issued once"
    );
    let different = batch_request(&key, &binding, &first.token_id, 3, h.now(), "b3");
    expect_error(
        h.post(&path, &different, Some("batch")).await?,
        409,
        "IDEMPOTENCY_CONFLICT",
    )
    .await?;
    Ok(())
}

#[tokio::test]
async fn malformed_requests_are_400() -> TestResult {
    let (h, key, binding) = bound(&test_cards::DEBIT).await?;
    let now = h.now();
    for (keys, nonce) in [(0, "c1"), (17, "c2"), (2, "not-hex"), (2, "")] {
        let request = open_request(&key, &binding, keys, now, nonce);
        expect_error(
            h.post(PATH_HCE_CARDS, &request, None).await?,
            400,
            "BAD_REQUEST",
        )
        .await?;
    }
    let blank = open_request(&key, " ", 2, now, "c3");
    expect_error(
        h.post(PATH_HCE_CARDS, &blank, None).await?,
        400,
        "BAD_REQUEST",
    )
    .await?;
    let mut not_hex = open_request(&key, &binding, 2, now, "c4");
    not_hex.signature = "zz".into();
    expect_error(
        h.post(PATH_HCE_CARDS, &not_hex, None).await?,
        400,
        "BAD_REQUEST",
    )
    .await?;
    let missing = serde_json::json!({ "binding_id": binding, "keys": 2 });
    expect_error(
        h.post(PATH_HCE_CARDS, &missing, Some("m1")).await?,
        400,
        "BAD_REQUEST",
    )
    .await?;
    let wrong_type = serde_json::json!({ "binding_id": binding, "keys": "two", "timestamp": now, "nonce": "c5", "signature": "00" });
    expect_error(
        h.post(PATH_HCE_CARDS, &wrong_type, Some("m2")).await?,
        400,
        "BAD_REQUEST",
    )
    .await?;
    let response = h
        .http
        .post(h.url(PATH_HCE_CARDS))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await?;
    expect_error(response, 400, "BAD_REQUEST").await?;
    // A 400 is not stored: the key may be used again with a corrected body.
    let fixed = open_request(&key, &binding, 2, now, "c6");
    let _: HceCardProvisioned = ok_json(h.post(PATH_HCE_CARDS, &fixed, Some("m1")).await?).await?;
    Ok(())
}

#[tokio::test]
async fn tokens_follow_their_binding_and_life_cycle() -> TestResult {
    let (h, key, binding) = bound(&test_cards::DEBIT).await?;
    let first: HceCardProvisioned = ok_json(
        h.post(
            PATH_HCE_CARDS,
            &open_request(&key, &binding, 1, h.now(), "d1"),
            None,
        )
        .await?,
    )
    .await?;

    // Another binding cannot fetch keys for this token.
    let other_key = P256SigningKey::generate()?;
    let other = h.bind(&test_cards::QUASI_CREDIT, &other_key).await?;
    let foreign = batch_request(
        &other_key,
        &other.binding_id,
        &first.token_id,
        1,
        h.now(),
        "d2",
    );
    expect_error(
        h.post(&keys_path(&first.token_id), &foreign, None).await?,
        404,
        "TOKEN_NOT_FOUND",
    )
    .await?;
    let unknown = batch_request(&key, &binding, "nope", 1, h.now(), "d3");
    expect_error(
        h.post(&keys_path("nope"), &unknown, None).await?,
        404,
        "TOKEN_NOT_FOUND",
    )
    .await?;

    // A new token for the binding suspends the first one.
    let second: HceCardProvisioned = ok_json(
        h.post(
            PATH_HCE_CARDS,
            &open_request(&key, &binding, 1, h.now(), "d4"),
            None,
        )
        .await?,
    )
    .await?;
    assert_ne!(second.profile.token_pan, first.profile.token_pan);
    let old = batch_request(&key, &binding, &first.token_id, 1, h.now(), "d5");
    expect_error(
        h.post(&keys_path(&first.token_id), &old, None).await?,
        409,
        "TOKEN_SUSPENDED",
    )
    .await?;
    let hce = h.world.state().hce();
    assert!(
        !hce.resolve(&first.profile.token_pan)?
            .ok_or("token")?
            .active
    );
    let data = CryptogramData::default();
    assert_eq!(
        hce.check_arqc(
            &first.profile.token_pan,
            1,
            &[7, 1, 1, 3, 0xA0, 0, 0, 4],
            &data,
            &[0; 8],
            h.now()
        ),
        Err(HceDecline::TokenSuspended)
    );

    // All 255 indices, then KEYS_EXHAUSTED.
    let path = keys_path(&second.token_id);
    let mut issued = 1;
    for n in 0..20 {
        let request = batch_request(
            &key,
            &binding,
            &second.token_id,
            16,
            h.now(),
            &format!("e{n:02}"),
        );
        let response = h.post(&path, &request, None).await?;
        if issued == 255 {
            expect_error(response, 409, "KEYS_EXHAUSTED").await?;
            break;
        }
        let batch: KeyBatch = ok_json(response).await?;
        issued += batch.keys.len();
        assert_eq!(
            batch.keys.last().map(|k| usize::from(k.index)),
            Some(issued)
        );
    }
    assert_eq!(issued, 255);

    // An e-cash account is not eligible; a revoked binding gets nothing.
    let ecash_key = P256SigningKey::generate()?;
    let ecash = h.bind(&test_cards::E_CASH, &ecash_key).await?;
    let request = open_request(&ecash_key, &ecash.binding_id, 1, h.now(), "f1");
    expect_error(
        h.post(PATH_HCE_CARDS, &request, None).await?,
        422,
        "HCE_NOT_ELIGIBLE",
    )
    .await?;
    let revoked: wallet_core::backend::api::BindingRecord = ok_json(
        h.unbind(
            &other.binding_id,
            &signed_unbind(&other_key, &other.binding_id, h.now(), "f2")?,
        )
        .await?,
    )
    .await?;
    assert_eq!(
        revoked.status,
        wallet_core::backend::api::BindingStatus::Revoked
    );
    let request = open_request(&other_key, &other.binding_id, 1, h.now(), "f3");
    expect_error(
        h.post(PATH_HCE_CARDS, &request, None).await?,
        409,
        "BINDING_REVOKED",
    )
    .await?;
    Ok(())
}

#[tokio::test]
async fn the_issuer_counts_key_uses_and_refuses_spent_keys() -> TestResult {
    let (h, key, binding) = bound(&test_cards::DEBIT).await?;
    let card: HceCardProvisioned = ok_json(
        h.post(
            PATH_HCE_CARDS,
            &open_request(&key, &binding, 1, h.now(), "9a1"),
            None,
        )
        .await?,
    )
    .await?;
    let pan = &card.profile.token_pan;
    let imk = test_issuer_master_keys();
    let iad = [0x07, 0x01, 0x01, 0x03, 0xA0, 0x00, 0x00, 0x04];
    let hce = h.world.state().hce();
    for atc in 1..=6u16 {
        let data = CryptogramData {
            atc,
            aip: [0x04, 0x00],
            cvr: [0x03, 0xA0, 0x00, 0x00],
            ..CryptogramData::default()
        };
        let session = IssuerView::session_key(&imk, CardCrypto::Sm4, pan, 1, 1, atc)?;
        let arqc = wallet_core::card::keys::application_cryptogram(&session, &data.encode())?;
        let result = hce.check_arqc(pan, 1, &iad, &data, &arqc, h.now());
        if atc <= 5 {
            assert_eq!(result.map(|a| a.uses), Ok(u32::from(atc)));
        } else {
            assert_eq!(result, Err(HceDecline::KeySpent));
        }
        assert_eq!(
            hce.check_arqc(pan, 2, &iad, &data, &arqc, h.now()),
            Err(HceDecline::PsnMismatch)
        );
    }
    let mut other_key = iad;
    other_key[1] = 2;
    assert_eq!(
        hce.check_arqc(
            pan,
            1,
            &other_key,
            &CryptogramData::default(),
            &[0; 8],
            h.now()
        ),
        Err(HceDecline::UnknownKey)
    );
    assert_eq!(
        hce.check_arqc(
            "6288890000000000",
            1,
            &iad,
            &CryptogramData::default(),
            &[0; 8],
            h.now()
        ),
        Err(HceDecline::UnknownToken)
    );
    Ok(())
}
