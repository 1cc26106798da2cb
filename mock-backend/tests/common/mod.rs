//! Helpers shared by the integration tests: a mock world on 127.0.0.1:0 and a small client.
#![allow(dead_code)] // each test binary uses a different subset

use mock_backend::bank::test_cards::TestCard;
use mock_backend::{MockWorld, MockWorldConfig};
use reqwest::{Response, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::path::PathBuf;
use wallet_core::backend::api::{
    unbind_signing_message, BeginBindingRequest, BeginBindingResponse, BindingRecord,
    ConfirmBindingRequest, ErrorBody, SmsOutbox, UnbindRequest, IDEMPOTENCY_KEY_HEADER,
    PATH_BINDINGS, PATH_BINDINGS_CONFIRM, PATH_TEST_SMS_OUTBOX,
};
use wallet_core::crypto::ecdsa::P256SigningKey;

pub type TestResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

pub const DEVICE_ID: &str = "device-0001";

/// A running world and an HTTP client pointed at it.
pub struct Harness {
    pub world: MockWorld,
    pub http: reqwest::Client,
}

pub async fn start() -> TestResult<Harness> {
    start_with(None).await
}

pub async fn start_with(data_dir: Option<PathBuf>) -> TestResult<Harness> {
    let config = MockWorldConfig {
        data_dir,
        ..MockWorldConfig::default()
    };
    let world = MockWorld::start(config).await?;
    Ok(Harness {
        world,
        http: reqwest::Client::new(),
    })
}

/// The begin request a well-informed holder of `card` sends.
pub fn begin_request(card: &TestCard) -> BeginBindingRequest {
    BeginBindingRequest {
        pan: card.pan.to_owned(),
        holder_name: card.holder_name.to_owned(),
        id_number: card.id_number.to_owned(),
        phone: card.phone.to_owned(),
        device_id: DEVICE_ID.to_owned(),
    }
}

/// A confirm request for `session` with `otp` and `key`.
pub fn confirm_request(session: &str, otp: &str, key: &P256SigningKey) -> ConfirmBindingRequest {
    ConfirmBindingRequest {
        binding_session_id: session.to_owned(),
        otp: otp.to_owned().into(),
        device_public_key: hex::encode(key.public_key_sec1()),
        device_id: DEVICE_ID.to_owned(),
    }
}

/// An unbind request signed by `key`.
pub fn signed_unbind(
    key: &P256SigningKey,
    binding_id: &str,
    timestamp: u64,
    nonce: &str,
) -> TestResult<UnbindRequest> {
    let signature = key.sign(&unbind_signing_message(binding_id, timestamp, nonce))?;
    Ok(UnbindRequest {
        timestamp,
        nonce: nonce.to_owned(),
        signature: hex::encode(signature),
    })
}

/// A 6-digit code different from `code`.
pub fn wrong_code(code: &str) -> String {
    if code == "000000" { "111111" } else { "000000" }.to_owned()
}

impl Harness {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.world.url())
    }

    /// The world's current time.
    pub fn now(&self) -> u64 {
        self.world.state().clock().now()
    }

    pub async fn post<T: Serialize + ?Sized>(
        &self,
        path: &str,
        body: &T,
        idempotency_key: Option<&str>,
    ) -> TestResult<Response> {
        let mut request = self.http.post(self.url(path)).json(body);
        if let Some(key) = idempotency_key {
            request = request.header(IDEMPOTENCY_KEY_HEADER, key);
        }
        Ok(request.send().await?)
    }

    pub async fn get(&self, path: &str) -> TestResult<Response> {
        Ok(self.http.get(self.url(path)).send().await?)
    }

    pub async fn begin(&self, card: &TestCard) -> TestResult<BeginBindingResponse> {
        ok_json(self.post(PATH_BINDINGS, &begin_request(card), None).await?).await
    }

    pub async fn confirm(&self, request: &ConfirmBindingRequest) -> TestResult<Response> {
        self.post(PATH_BINDINGS_CONFIRM, request, None).await
    }

    pub async fn outbox(&self, phone: &str) -> TestResult<SmsOutbox> {
        let response = self
            .http
            .get(self.url(PATH_TEST_SMS_OUTBOX))
            .query(&[("phone", phone)])
            .send()
            .await?;
        ok_json(response).await
    }

    /// The code of the newest message sent to `phone`.
    pub async fn latest_code(&self, phone: &str) -> TestResult<String> {
        let message = self
            .outbox(phone)
            .await?
            .messages
            .pop()
            .ok_or("outbox is empty")?;
        Ok(message.code)
    }

    /// Begin + outbox + confirm for `card` with `key`.
    pub async fn bind(&self, card: &TestCard, key: &P256SigningKey) -> TestResult<BindingRecord> {
        let begun = self.begin(card).await?;
        let code = self.latest_code(card.phone).await?;
        ok_json(
            self.confirm(&confirm_request(&begun.binding_session_id, &code, key))
                .await?,
        )
        .await
    }

    pub async fn unbind(&self, binding_id: &str, request: &UnbindRequest) -> TestResult<Response> {
        self.post(
            &format!("{PATH_BINDINGS}/{binding_id}/unbind"),
            request,
            None,
        )
        .await
    }

    pub async fn get_binding(&self, binding_id: &str) -> TestResult<Response> {
        self.get(&format!("{PATH_BINDINGS}/{binding_id}")).await
    }

    /// Moves the world's clock through the test-only endpoint.
    pub async fn advance_clock(&self, seconds: u64) -> TestResult {
        let response = self
            .post(
                "/test/clock/advance",
                &serde_json::json!({ "seconds": seconds }),
                None,
            )
            .await?;
        let _: serde_json::Value = ok_json(response).await?;
        Ok(())
    }
}

/// Asserts a 200 and decodes the body.
pub async fn ok_json<T: DeserializeOwned>(response: Response) -> TestResult<T> {
    let status = response.status();
    let text = response.text().await?;
    if status != StatusCode::OK {
        return Err(format!("expected 200, got {status}: {text}").into());
    }
    Ok(serde_json::from_str(&text)?)
}

/// Asserts an error answer with `status` and `code`; returns its body.
pub async fn expect_error(response: Response, status: u16, code: &str) -> TestResult<ErrorBody> {
    let actual = response.status().as_u16();
    let text = response.text().await?;
    let body: ErrorBody = serde_json::from_str(&text).map_err(|e| format!("{e}: {text}"))?;
    assert_eq!((actual, body.error.code.as_str()), (status, code), "{text}");
    assert!(!body.error.message.is_empty());
    Ok(body)
}
