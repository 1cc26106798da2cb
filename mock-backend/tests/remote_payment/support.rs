//! Helpers of the remote payment tests: orders, passwords, signed messages, challenges.
#![allow(dead_code)] // each test binary uses a different subset

use super::common::*;
use mock_backend::bank::test_cards::TestCard;
use reqwest::Response;
use wallet_core::backend::api::remote::{
    history_signing_message, password_proof, password_signing_message, password_verifier,
    sms_challenge_signing_message, AuthMode, CreateOrderRequest, DeviceProof, Order,
    PasswordStatus, PaymentCredential, PaymentHistory, PaymentHistoryRequest, PaymentMessage,
    PaymentReceipt, PaymentRequest, SetPasswordRequest, SmsChallenge, SmsChallengeRequest,
    PATH_MERCHANT_ORDERS, PATH_RPS_PASSWORDS, PATH_RPS_PAYMENTS, PATH_RPS_PAYMENT_HISTORY,
    PATH_RPS_SMS_CHALLENGES,
};
use wallet_core::backend::api::BindingRecord;
use wallet_core::crypto::ecdsa::P256SigningKey;
use wallet_core::crypto::random;

pub const CAFE: &str = "898310058120002";
pub const PASSWORD: &str = "135790";

/// A bound card and its device key.
pub struct Payer {
    pub card: TestCard,
    pub key: P256SigningKey,
    pub binding: BindingRecord,
}

impl Payer {
    pub fn id(&self) -> &str {
        &self.binding.binding_id
    }
}

pub async fn payer(h: &Harness, card: TestCard) -> TestResult<Payer> {
    let key = P256SigningKey::generate()?;
    let binding = h.bind(&card, &key).await?;
    Ok(Payer { card, key, binding })
}

pub fn nonce() -> TestResult<String> {
    Ok(random::hex_id(16)?)
}

pub fn idem() -> TestResult<String> {
    Ok(random::hex_id(8)?)
}

pub async fn create_order(
    h: &Harness,
    amount: u64,
    expires_in_secs: Option<u64>,
) -> TestResult<Order> {
    let request = CreateOrderRequest {
        merchant_id: CAFE.into(),
        amount,
        currency: "CNY".into(),
        description: "拿铁".into(),
        expires_in_secs,
    };
    ok_json(
        h.post(PATH_MERCHANT_ORDERS, &request, Some(&idem()?))
            .await?,
    )
    .await
}

pub async fn register_password(
    h: &Harness,
    p: &Payer,
    password: &str,
) -> TestResult<PasswordStatus> {
    let verifier = hex::encode(&password_verifier(password, p.id())[..]);
    let proof = device_proof(h, &p.key, |t, n| {
        password_signing_message(p.id(), &verifier, t, n)
    })?;
    let request = SetPasswordRequest {
        binding_id: p.id().into(),
        verifier: verifier.into(),
        proof,
    };
    ok_json(h.post(PATH_RPS_PASSWORDS, &request, Some(&idem()?)).await?).await
}

pub fn message(
    h: &Harness,
    order: &Order,
    p: &Payer,
    auth: AuthMode,
) -> TestResult<PaymentMessage> {
    Ok(PaymentMessage {
        order_id: order.order_id.clone(),
        merchant_id: order.merchant_id.clone(),
        amount: order.amount,
        currency: order.currency.clone(),
        binding_id: p.id().into(),
        auth,
        se_id: String::new(),
        timestamp: h.now(),
        nonce: nonce()?,
    })
}

/// A password payment of `message`, signed by `key`, proving `password`.
pub fn password_payment(
    message: PaymentMessage,
    key: &P256SigningKey,
    password: &str,
) -> TestResult<PaymentRequest> {
    let canonical = message.canonical_bytes();
    let verifier = password_verifier(password, &message.binding_id);
    Ok(PaymentRequest {
        signature: hex::encode(key.sign(&canonical)?),
        credential: PaymentCredential::Password {
            proof: hex::encode(password_proof(&verifier[..], &canonical)),
        },
        message,
    })
}

pub async fn pay(h: &Harness, request: &PaymentRequest, key: Option<&str>) -> TestResult<Response> {
    h.post(PATH_RPS_PAYMENTS, request, key).await
}

pub async fn pay_by_password(h: &Harness, p: &Payer, order: &Order) -> TestResult<PaymentReceipt> {
    let request = password_payment(message(h, order, p, AuthMode::Password)?, &p.key, PASSWORD)?;
    ok_json(pay(h, &request, Some(&idem()?)).await?).await
}

/// A device proof at the mock world's time with a fresh nonce: `key` signs
/// `signing_message(timestamp, nonce)`.
pub fn device_proof(
    h: &Harness,
    key: &P256SigningKey,
    signing_message: impl FnOnce(u64, &str) -> Vec<u8>,
) -> TestResult<DeviceProof> {
    let (timestamp, nonce) = (h.now(), nonce()?);
    let signature = hex::encode(key.sign(&signing_message(timestamp, &nonce))?);
    Ok(DeviceProof {
        timestamp,
        nonce,
        signature,
    })
}

/// An SMS challenge request for `order_id`, signed by `key`.
pub fn challenge_request(
    h: &Harness,
    p: &Payer,
    order_id: &str,
    key: &P256SigningKey,
) -> TestResult<SmsChallengeRequest> {
    Ok(SmsChallengeRequest {
        binding_id: p.id().into(),
        order_id: order_id.into(),
        proof: device_proof(h, key, |t, n| {
            sms_challenge_signing_message(p.id(), order_id, t, n)
        })?,
    })
}

pub async fn challenge(h: &Harness, p: &Payer, order: &Order) -> TestResult<SmsChallenge> {
    let request = challenge_request(h, p, &order.order_id, &p.key)?;
    ok_json(
        h.post(PATH_RPS_SMS_CHALLENGES, &request, Some(&idem()?))
            .await?,
    )
    .await
}

/// A history read of `p`'s binding, signed by `key`.
pub fn history_request(
    h: &Harness,
    p: &Payer,
    key: &P256SigningKey,
) -> TestResult<PaymentHistoryRequest> {
    Ok(PaymentHistoryRequest {
        binding_id: p.id().into(),
        proof: device_proof(h, key, |t, n| history_signing_message(p.id(), t, n))?,
    })
}

/// `p`'s payments as the RPS lists them (a signed read).
pub async fn history(h: &Harness, p: &Payer) -> TestResult<PaymentHistory> {
    let request = history_request(h, p, &p.key)?;
    ok_json(h.post(PATH_RPS_PAYMENT_HISTORY, &request, None).await?).await
}

pub fn sms_payment(
    message: PaymentMessage,
    key: &P256SigningKey,
    challenge_id: &str,
    code: &str,
) -> TestResult<PaymentRequest> {
    Ok(PaymentRequest {
        signature: hex::encode(key.sign(&message.canonical_bytes())?),
        credential: PaymentCredential::Sms {
            challenge_id: challenge_id.into(),
            code: code.to_owned().into(),
        },
        message,
    })
}

pub fn balance(h: &Harness, card: &TestCard) -> TestResult<i64> {
    let account = h
        .world
        .state()
        .bank()
        .account(card.pan)?
        .ok_or("no account")?;
    Ok(account.balance_fen)
}

pub async fn order_status(h: &Harness, order: &Order) -> TestResult<Order> {
    ok_json(
        h.get(&format!("{PATH_MERCHANT_ORDERS}/{}", order.order_id))
            .await?,
    )
    .await
}

/// Sends every request at once; answers the statuses.
pub async fn pay_all(h: &Harness, requests: &[PaymentRequest]) -> TestResult<Vec<u16>> {
    let mut tasks = Vec::new();
    for request in requests {
        let (http, url, request) = (h.http.clone(), h.url(PATH_RPS_PAYMENTS), request.clone());
        tasks.push(tokio::spawn(async move {
            http.post(url)
                .json(&request)
                .send()
                .await
                .map(|r| r.status().as_u16())
        }));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await??);
    }
    Ok(statuses)
}
