//! Binding a card end to end, and every way begin and confirm refuse.

mod common;

use common::*;
use mock_backend::bank::test_cards::{self, TestCard};
use wallet_core::backend::api::{
    AccountKind, BeginBindingRequest, BindingRecord, BindingStatus, PATH_BINDINGS,
};
use wallet_core::crypto::ecdsa::P256SigningKey;

fn is_hex_id(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

#[tokio::test]
async fn begin_outbox_confirm_get_unbind() -> TestResult {
    let h = start().await?;
    let card = test_cards::DEBIT;
    let before = h.now();

    let begun = h.begin(&card).await?;
    assert_eq!(begun.masked_pan, "622202******7894");
    assert_eq!(begun.otp_sent_to, "138****8000");
    assert_eq!(begun.account_kind, AccountKind::Debit);
    assert!(is_hex_id(&begun.binding_session_id));
    assert!((before + 300..=h.now() + 300).contains(&begun.otp_expires_at));

    let outbox = h.outbox("13800138000").await?;
    assert_eq!(outbox.messages.len(), 1);
    let sms = &outbox.messages[0];
    assert_eq!(sms.phone, "13800138000");
    assert_eq!(sms.code.len(), 6);
    assert!(sms.code.bytes().all(|b| b.is_ascii_digit()));
    assert!(sms.text.starts_with("【中国工商银行】"), "{}", sms.text);
    assert!(sms.text.contains(&sms.code) && sms.text.contains("7894"));

    let key = P256SigningKey::generate()?;
    let response = h
        .confirm(&confirm_request(&begun.binding_session_id, &sms.code, &key))
        .await?;
    let bound: BindingRecord = ok_json(response).await?;
    assert!(is_hex_id(&bound.binding_id) && is_hex_id(&bound.account_token));
    assert_ne!(bound.binding_id, bound.account_token);
    assert_eq!(bound.masked_pan, "622202******7894");
    assert_eq!(bound.account_kind, AccountKind::Debit);
    assert_eq!(bound.holder_name_masked, "*三");
    assert_eq!(bound.issuer_name, "中国工商银行");
    assert_eq!(bound.status, BindingStatus::Active);
    assert!(bound.created_at >= before);

    let fetched: BindingRecord = ok_json(h.get_binding(&bound.binding_id).await?).await?;
    assert_eq!(fetched, bound);

    let unbind = signed_unbind(&key, &bound.binding_id, h.now(), "0a1b2c3d4e5f6071")?;
    let revoked: BindingRecord = ok_json(h.unbind(&bound.binding_id, &unbind).await?).await?;
    assert_eq!(revoked.status, BindingStatus::Revoked);
    assert_eq!(revoked.binding_id, bound.binding_id);
    let fetched: BindingRecord = ok_json(h.get_binding(&bound.binding_id).await?).await?;
    assert_eq!(fetched.status, BindingStatus::Revoked);
    h.world.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn every_active_test_card_binds_with_the_documented_data() -> TestResult {
    let h = start().await?;
    let key = P256SigningKey::generate()?;
    let cases: [(TestCard, &str, &str); 5] = [
        (test_cards::DEBIT, "622202******7894", "*三"),
        (test_cards::CREDIT, "625965******7894", "*四"),
        (test_cards::QUASI_CREDIT, "622848******7894", "**明"),
        (test_cards::E_CASH, "621786******7890", "*六"),
        (
            test_cards::LATIN_NAME_DEBIT,
            "622260*********0126",
            "**********h",
        ),
    ];
    for (card, masked_pan, masked_name) in cases {
        let bound = h.bind(&card, &key).await?;
        assert_eq!(bound.masked_pan, masked_pan);
        assert_eq!(bound.holder_name_masked, masked_name);
        assert_eq!(bound.account_kind, card.kind);
        assert_eq!(bound.issuer_name, card.issuer_name);
    }
    Ok(())
}

#[tokio::test]
async fn lenient_forms_of_the_holder_data_are_accepted() -> TestResult {
    let h = start().await?;
    // ID suffix with a lower-case check character, +86 phone, padded name.
    let request = BeginBindingRequest {
        holder_name: " 李四 ".into(),
        id_number: "002x".into(),
        phone: "+8613912345678".into(),
        ..begin_request(&test_cards::CREDIT)
    };
    let begun: wallet_core::backend::api::BeginBindingResponse =
        ok_json(h.post(PATH_BINDINGS, &request, None).await?).await?;
    assert_eq!(begun.otp_sent_to, "139****5678");
    assert_eq!(begun.account_kind, AccountKind::Credit);
    Ok(())
}

#[tokio::test]
async fn begin_refusals() -> TestResult {
    let h = start().await?;
    let base = || begin_request(&test_cards::DEBIT);
    let cases: Vec<(BeginBindingRequest, u16, &str)> = vec![
        (
            BeginBindingRequest {
                pan: "  ".into(),
                ..base()
            },
            400,
            "BAD_REQUEST",
        ),
        (
            BeginBindingRequest {
                holder_name: "".into(),
                ..base()
            },
            400,
            "BAD_REQUEST",
        ),
        (
            BeginBindingRequest {
                id_number: " ".into(),
                ..base()
            },
            400,
            "BAD_REQUEST",
        ),
        (
            BeginBindingRequest {
                phone: "".into(),
                ..base()
            },
            400,
            "BAD_REQUEST",
        ),
        (
            BeginBindingRequest {
                device_id: "".into(),
                ..base()
            },
            400,
            "BAD_REQUEST",
        ),
        // Luhn digit off by one.
        (
            BeginBindingRequest {
                pan: "6222021234567895".into(),
                ..base()
            },
            400,
            "INVALID_CARD_NUMBER",
        ),
        // 12 digits; 20 digits; letters; spaces.
        (
            BeginBindingRequest {
                pan: "622202123453".into(),
                ..base()
            },
            400,
            "INVALID_CARD_NUMBER",
        ),
        (
            BeginBindingRequest {
                pan: "62220212345678901236".into(),
                ..base()
            },
            400,
            "INVALID_CARD_NUMBER",
        ),
        (
            BeginBindingRequest {
                pan: "622202123456789A".into(),
                ..base()
            },
            400,
            "INVALID_CARD_NUMBER",
        ),
        (
            BeginBindingRequest {
                pan: "6222 0212 3456 7894".into(),
                ..base()
            },
            400,
            "INVALID_CARD_NUMBER",
        ),
        (
            BeginBindingRequest {
                phone: "1380013800".into(),
                ..base()
            },
            400,
            "INVALID_PHONE",
        ),
        (
            BeginBindingRequest {
                phone: "+85213800138000".into(),
                ..base()
            },
            400,
            "INVALID_PHONE",
        ),
        (
            BeginBindingRequest {
                phone: "138-0013-800".into(),
                ..base()
            },
            400,
            "INVALID_PHONE",
        ),
        (
            BeginBindingRequest {
                pan: test_cards::UNKNOWN_PAN.into(),
                ..base()
            },
            404,
            "UNKNOWN_CARD",
        ),
        (
            begin_request(&test_cards::BLOCKED),
            422,
            "CARD_NOT_ELIGIBLE",
        ),
        (
            BeginBindingRequest {
                holder_name: "张四".into(),
                ..base()
            },
            422,
            "NAME_MISMATCH",
        ),
        (
            BeginBindingRequest {
                holder_name: "张 三".into(),
                ..base()
            },
            422,
            "NAME_MISMATCH",
        ),
        (
            BeginBindingRequest {
                id_number: "1234".into(),
                ..base()
            },
            422,
            "ID_MISMATCH",
        ),
        // A suffix of only 3 characters is not enough.
        (
            BeginBindingRequest {
                id_number: "233".into(),
                ..base()
            },
            422,
            "ID_MISMATCH",
        ),
        (
            BeginBindingRequest {
                id_number: "110101199003071234".into(),
                ..base()
            },
            422,
            "ID_MISMATCH",
        ),
        (
            BeginBindingRequest {
                phone: "13912345678".into(),
                ..base()
            },
            422,
            "PHONE_MISMATCH",
        ),
    ];
    for (request, status, code) in cases {
        let response = h.post(PATH_BINDINGS, &request, None).await?;
        expect_error(response, status, code)
            .await
            .map_err(|e| format!("{request:?}: {e}"))?;
    }
    // The ID suffix of exactly 4 characters is accepted.
    let four = BeginBindingRequest {
        id_number: "1233".into(),
        ..base()
    };
    let _: wallet_core::backend::api::BeginBindingResponse =
        ok_json(h.post(PATH_BINDINGS, &four, None).await?).await?;
    // Only that successful begin sent a message.
    assert_eq!(h.outbox("13800138000").await?.messages.len(), 1);
    Ok(())
}

#[tokio::test]
async fn confirm_refusals_do_not_spend_a_try() -> TestResult {
    let h = start().await?;
    let key = P256SigningKey::generate()?;
    let begun = h.begin(&test_cards::DEBIT).await?;
    let code = h.latest_code("13800138000").await?;
    let good = confirm_request(&begun.binding_session_id, &code, &key);

    let unknown = confirm_request("00112233445566778899aabbccddeeff", &code, &key);
    expect_error(h.confirm(&unknown).await?, 404, "SESSION_NOT_FOUND").await?;

    let other_device = wallet_core::backend::api::ConfirmBindingRequest {
        device_id: "device-9999".into(),
        ..good.clone()
    };
    expect_error(h.confirm(&other_device).await?, 400, "BAD_REQUEST").await?;

    let sec1 = key.public_key_sec1();
    let compressed = format!("{:02x}{}", 2 + (sec1[64] & 1), hex::encode(&sec1[1..33]));
    for bad_key in [
        compressed,
        hex::encode(&sec1[..64]),
        format!("05{}", hex::encode(&sec1[1..])),
        "zz".repeat(65),
    ] {
        let request = wallet_core::backend::api::ConfirmBindingRequest {
            device_public_key: bad_key,
            ..good.clone()
        };
        expect_error(h.confirm(&request).await?, 400, "BAD_REQUEST").await?;
    }
    for bad_otp in ["12345", "1234567", "12345a", ""] {
        let request = wallet_core::backend::api::ConfirmBindingRequest {
            otp: String::from(bad_otp).into(),
            ..good.clone()
        };
        expect_error(h.confirm(&request).await?, 400, "BAD_REQUEST").await?;
    }
    // None of the above counted: the first wrong code still leaves 4 tries.
    let wrong = wallet_core::backend::api::ConfirmBindingRequest {
        otp: wrong_code(&code).into(),
        ..good.clone()
    };
    let body = expect_error(h.confirm(&wrong).await?, 422, "OTP_WRONG").await?;
    assert_eq!(body.error.attempts_left, Some(4));
    let _: BindingRecord = ok_json(h.confirm(&good).await?).await?;
    Ok(())
}

#[tokio::test]
async fn a_confirmed_session_answers_the_same_binding_and_only_for_its_key() -> TestResult {
    let h = start().await?;
    let key = P256SigningKey::generate()?;
    let begun = h.begin(&test_cards::E_CASH).await?;
    let code = h.latest_code("18612345678").await?;
    let request = confirm_request(&begun.binding_session_id, &code, &key);

    let first: BindingRecord = ok_json(h.confirm(&request).await?).await?;
    // A retry without an idempotency key, even after the code's lifetime.
    h.advance_clock(600).await?;
    let second: BindingRecord = ok_json(h.confirm(&request).await?).await?;
    assert_eq!(first, second);

    let other_key = P256SigningKey::generate()?;
    let hijack = confirm_request(&begun.binding_session_id, &code, &other_key);
    expect_error(h.confirm(&hijack).await?, 400, "BAD_REQUEST").await?;
    // Still the one binding.
    let fetched: BindingRecord = ok_json(h.get_binding(&first.binding_id).await?).await?;
    assert_eq!(fetched, first);
    Ok(())
}

#[tokio::test]
async fn unknown_binding() -> TestResult {
    let h = start().await?;
    expect_error(
        h.get_binding("00112233445566778899aabbccddeeff").await?,
        404,
        "BINDING_NOT_FOUND",
    )
    .await?;
    let key = P256SigningKey::generate()?;
    let request = signed_unbind(&key, "nope", h.now(), "01")?;
    expect_error(h.unbind("nope", &request).await?, 404, "BINDING_NOT_FOUND").await?;
    Ok(())
}
