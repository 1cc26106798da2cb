//! SE-mode remote payment end to end: the TSM opens the card on the simulated eSE (the core's
//! local agent runs the GP SERAM session), the card's payment applet signs the payment message
//! after VERIFY PIN (PSO COMPUTE DIGITAL SIGNATURE), and the RPS checks the signature with the
//! key the TSM registered — SM2 for an SM4 card profile, ECDSA P-256 for a 3DES one.

mod common;
#[path = "remote_payment/support.rs"]
mod support;

use common::*;
use mock_backend::bank::test_cards::{self, TestCard, TEST_PIN};
use mock_backend::se_sim::SimulatedSeTransport;
use mock_backend::world_keys::reader_name;
use std::sync::Arc;
use std::time::Duration;
use support::*;
use wallet_core::apdu::CommandApdu;
use wallet_core::backend::api::remote::{
    AuthMode, PaymentCredential, PaymentReceipt, PaymentRequest,
};
use wallet_core::backend::api::tsm::{
    CardOperation, CardOrderRequest, OrderAccepted, OrderSecureElement, PATH_TSM_ORDERS,
};
use wallet_core::card::aids;
use wallet_core::card::signing::PinBlock;
use wallet_core::ota::{identity, AgentConfig, LocalAgent};
use wallet_core::se::{ReaderKind, SeService};

/// A bound card opened on the phone's eSE; answers the phone's SEs and the eSE's SERAM id.
async fn open_card(
    h: &Harness,
    p: &Payer,
) -> TestResult<(Arc<SimulatedSeTransport>, OrderSecureElement)> {
    let se = Arc::new(SimulatedSeTransport::in_memory()?);
    let kind = ReaderKind::Ese;
    let reader = SeService::new(se.clone()).reader(reader_name(kind))?;
    let target = OrderSecureElement::from(&identity::describe(&reader));
    let mut order = CardOrderRequest {
        binding_id: p.id().into(),
        operation: CardOperation::Open,
        se: target.clone(),
        initial_ecash_load: None,
        timestamp: h.now(),
        nonce: nonce()?,
        signature: String::new(),
    };
    order.signature = hex::encode(p.key.sign(&order.signing_message())?);
    let accepted: OrderAccepted =
        ok_json(h.post(PATH_TSM_ORDERS, &order, Some(&idem()?)).await?).await?;
    let config = AgentConfig {
        allow_http: true,
        preferred_kind: Some(kind),
        retry_window: Duration::from_secs(2),
        se_identities: vec![(reader_name(kind).to_owned(), target.to_seram())],
        ..AgentConfig::default()
    };
    LocalAgent::new(SeService::new(se.clone()), config)
        .run(&h.url(&accepted.ra_endpoint), &accepted.session_id)
        .await?;
    Ok((se, target))
}

/// SELECT the card's application, VERIFY `pin`, PSO COMPUTE DIGITAL SIGNATURE over `message`.
fn applet_sign(
    phone: &SimulatedSeTransport,
    card: &TestCard,
    pin: &str,
    message: &[u8],
) -> TestResult<Vec<u8>> {
    let shared = phone.se(ReaderKind::Ese);
    let mut se = shared
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let aid = aids::for_account(card.kind);
    let mut send = |apdu: Vec<u8>| -> TestResult<Vec<u8>> {
        let answer = se.transmit(&apdu);
        match answer.split_last_chunk::<2>() {
            Some((data, [0x90, 0x00])) => Ok(data.to_vec()),
            _ => Err(format!("{} answered {}", hex::encode(&apdu), hex::encode(&answer)).into()),
        }
    };
    send(CommandApdu::select_by_name(&aid, wallet_core::apdu::Occurrence::First)?.to_bytes())?;
    let pin = PinBlock::new(pin).ok_or("bad PIN")?;
    send(
        CommandApdu::new(0x00, 0x20, 0x00, 0x80)
            .with_data(pin.as_bytes().to_vec())?
            .to_bytes(),
    )?;
    let signature = send(
        CommandApdu::new(0x00, 0x2A, 0x9E, 0x9A)
            .with_data(message.to_vec())?
            .with_le(if message.len() > 255 { 65_536 } else { 256 })?
            .to_bytes(),
    )?;
    se.reset();
    Ok(signature)
}

/// Opens `card` on an eSE and pays one order in SE mode; checks the wrong-SE and wrong-key cases.
async fn se_payment(card: TestCard) -> TestResult {
    let h = start().await?;
    let p = payer(&h, card).await?;
    let (phone, target) = open_card(&h, &p).await?;
    let before = balance(&h, &p.card)?;
    let order = create_order(&h, 4_321, None).await?;

    // A message naming another SE: no key registered for it.
    let mut elsewhere = message(&h, &order, &p, AuthMode::Se)?;
    elsewhere.se_id = "00112233445566778899".into();
    let signature = applet_sign(&phone, &p.card, TEST_PIN, &elsewhere.canonical_bytes())?;
    let request = PaymentRequest {
        message: elsewhere,
        signature: hex::encode(signature),
        credential: PaymentCredential::Se,
    };
    expect_error(pay(&h, &request, None).await?, 409, "SE_KEY_NOT_REGISTERED").await?;

    // Signed by the device key instead of the applet.
    let mut by_device = message(&h, &order, &p, AuthMode::Se)?;
    by_device.se_id = target.se_id.clone();
    let request = PaymentRequest {
        signature: hex::encode(p.key.sign(&by_device.canonical_bytes())?),
        message: by_device,
        credential: PaymentCredential::Se,
    };
    expect_error(pay(&h, &request, None).await?, 401, "SIGNATURE_INVALID").await?;

    let mut signed = message(&h, &order, &p, AuthMode::Se)?;
    signed.se_id = target.se_id.clone();
    let signature = applet_sign(&phone, &p.card, TEST_PIN, &signed.canonical_bytes())?;
    let request = PaymentRequest {
        message: signed,
        signature: hex::encode(signature),
        credential: PaymentCredential::Se,
    };
    let receipt: PaymentReceipt = ok_json(pay(&h, &request, Some(&idem()?)).await?).await?;
    assert_eq!((receipt.auth, receipt.amount), (AuthMode::Se, 4_321));
    assert_eq!(balance(&h, &p.card)?, before - 4_321);
    expect_error(
        pay(&h, &request, Some(&idem()?)).await?,
        409,
        "ORDER_ALREADY_PAID",
    )
    .await?;
    assert_eq!(balance(&h, &p.card)?, before - 4_321);
    Ok(())
}

#[tokio::test]
async fn an_sm4_card_pays_with_an_sm2_applet_signature() -> TestResult {
    se_payment(test_cards::DEBIT).await
}

#[tokio::test]
async fn a_3des_card_pays_with_a_p256_applet_signature() -> TestResult {
    se_payment(test_cards::CREDIT).await
}
