//! Remote payment through the facade against the in-process mock world, with a foreign-style
//! [`Signer`] implemented in Rust: what the Kotlin / Swift / Python suites check, here fast and
//! with the callback contract (a signer that fails or "throws" gives typed errors, never a panic).

#![cfg(feature = "test-hooks")]

use std::sync::{Arc, Mutex, PoisonError};

use mock_backend::{MockWorld, MockWorldConfig};
use wallet_core::backend::api::SmsOutbox;
use wallet_ffi::{
    AuthMode, MockMerchant, OrderStatus, PayAuth, Signer, SignerFfiError, SoftwareP256Key, Wallet,
    WalletConfig, WalletFfiError,
};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Test card `DEBIT` of the mock bank (see mock-backend/src/bank/test_cards.rs).
const PAN: &str = "6222021234567894";
const NAME: &str = "张三";
const ID: &str = "110101199003071233";
const PHONE: &str = "13800138000";

async fn world() -> Result<MockWorld, Box<dyn std::error::Error>> {
    Ok(MockWorld::start(MockWorldConfig::default()).await?)
}

fn config(dir: &tempfile::TempDir, url: &str) -> WalletConfig {
    WalletConfig {
        data_dir: dir.path().to_string_lossy().into_owned(),
        backend_url: url.to_owned(),
        request_timeout_ms: 10_000,
        max_retries: 0,
        ota_max_delay_ms: None,
    }
}

/// The last one-time code the mock SMS channel delivered to `phone`.
async fn last_code(url: &str, phone: &str) -> Result<String, Box<dyn std::error::Error>> {
    let outbox: SmsOutbox = reqwest::get(format!("{url}/test/sms/outbox?phone={phone}"))
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(outbox.messages.last().ok_or("no SMS")?.code.clone())
}

async fn bind(wallet: &Wallet, url: &str) -> Result<String, Box<dyn std::error::Error>> {
    let pending = wallet
        .begin_binding(PAN.into(), NAME.into(), ID.into(), PHONE.into())
        .await?;
    let code = last_code(url, PHONE).await?;
    Ok(wallet
        .confirm_binding(pending.session_id, code)
        .await?
        .binding_id)
}

/// A platform-like signer: keys by alias, every call recorded; `fail_sign` makes `sign` behave
/// like a platform exception the bindings did not declare.
#[derive(Default)]
struct RecordingSigner {
    keys: Mutex<Vec<(String, Arc<SoftwareP256Key>)>>,
    calls: Mutex<Vec<String>>,
    fail_sign: bool,
}

impl RecordingSigner {
    fn record(&self, call: String) {
        self.calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(call);
    }
    fn count(&self, prefix: &str) -> usize {
        let calls = self.calls.lock().unwrap_or_else(PoisonError::into_inner);
        calls.iter().filter(|c| c.starts_with(prefix)).count()
    }
    fn key(&self, alias: &str) -> Option<Arc<SoftwareP256Key>> {
        let keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        keys.iter()
            .find(|(a, _)| a == alias)
            .map(|(_, k)| k.clone())
    }
}

impl Signer for RecordingSigner {
    fn generate_key(&self, alias: String) -> Result<Vec<u8>, SignerFfiError> {
        self.record(format!("generate:{alias}"));
        let key = SoftwareP256Key::generate()?;
        let public = key.public_key();
        let mut keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        keys.retain(|(a, _)| *a != alias);
        keys.push((alias, key));
        Ok(public)
    }
    fn public_key(&self, alias: String) -> Result<Option<Vec<u8>>, SignerFfiError> {
        self.record(format!("public:{alias}"));
        Ok(self.key(&alias).map(|k| k.public_key()))
    }
    fn sign(&self, alias: String, message: Vec<u8>) -> Result<Vec<u8>, SignerFfiError> {
        self.record(format!("sign:{alias}"));
        if self.fail_sign {
            return Err(uniffi::UnexpectedUniFFICallbackError::new(
                "SecurityException: key invalidated",
            )
            .into());
        }
        let key = self.key(&alias).ok_or(SignerFfiError::KeyNotFound {
            error_message: alias,
        })?;
        key.sign(message)
    }
    fn delete_key(&self, alias: String) -> Result<(), SignerFfiError> {
        self.record(format!("delete:{alias}"));
        let mut keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        keys.retain(|(a, _)| *a != alias);
        Ok(())
    }
}

#[tokio::test]
async fn pay_by_password_and_sms_with_a_platform_signer() -> TestResult {
    let world = world().await?;
    let url = world.url().to_owned();
    let dir = tempfile::tempdir()?;
    let signer = Arc::new(RecordingSigner::default());
    let wallet = Wallet::open_with_signer(config(&dir, &url), signer.clone(), None, None)?;
    let merchant = MockMerchant::new(url.clone())?;

    let binding_id = bind(&wallet, &url).await?;
    assert_eq!(signer.count("generate:"), 1);
    let status = wallet
        .set_payment_password(binding_id.clone(), "135790".into())
        .await?;
    assert_eq!(status.attempts_left, 5);

    let tea = merchant
        .create_order(1234, "green tea".into(), None)
        .await?;
    assert_eq!(tea.status, OrderStatus::Pending);
    assert_eq!(wallet.fetch_order(tea.order_id.clone()).await?, tea);

    let wrong = wallet
        .pay_order(
            binding_id.clone(),
            tea.order_id.clone(),
            PayAuth::Password {
                password: "000000".into(),
            },
        )
        .await;
    assert!(
        matches!(wrong, Err(WalletFfiError::WrongCode { ref code, attempts_left: 4, .. }) if code == "password_wrong"),
        "{wrong:?}"
    );

    let signs = signer.count("sign:");
    let paid = wallet
        .pay_order(
            binding_id.clone(),
            tea.order_id.clone(),
            PayAuth::Password {
                password: "135790".into(),
            },
        )
        .await?;
    assert_eq!(signer.count("sign:"), signs + 1);
    assert_eq!((paid.amount, paid.auth), (1234, AuthMode::Password));
    let after = merchant.order(tea.order_id.clone()).await?;
    assert_eq!(after.status, OrderStatus::Paid);
    assert_eq!(after.payment_id.as_deref(), Some(paid.payment_id.as_str()));

    let twice = wallet
        .pay_order(
            binding_id.clone(),
            tea.order_id.clone(),
            PayAuth::Password {
                password: "135790".into(),
            },
        )
        .await;
    assert!(
        matches!(twice, Err(WalletFfiError::Payment { ref code, .. }) if code == "order_already_paid"),
        "{twice:?}"
    );

    let cake = merchant.create_order(888, "cake".into(), None).await?;
    let challenge = wallet
        .request_payment_sms(binding_id.clone(), cake.order_id.clone())
        .await?;
    assert_eq!(challenge.sent_to, "138****8000");
    let code = last_code(&url, PHONE).await?;
    let by_sms = wallet
        .pay_order(
            binding_id.clone(),
            cake.order_id.clone(),
            PayAuth::Sms {
                challenge_id: challenge.challenge_id,
                code,
            },
        )
        .await?;
    assert_eq!(by_sms.auth, AuthMode::Sms);

    let mut ids: Vec<_> = wallet
        .payment_history()?
        .into_iter()
        .map(|p| p.order_id)
        .collect();
    ids.sort();
    let mut expected = vec![tea.order_id, cake.order_id];
    expected.sort();
    assert_eq!(ids, expected);
    Ok(())
}

#[tokio::test]
async fn a_failing_signer_is_a_typed_error_and_nothing_is_paid() -> TestResult {
    let world = world().await?;
    let url = world.url().to_owned();
    let dir = tempfile::tempdir()?;
    let signer = Arc::new(RecordingSigner {
        fail_sign: true,
        ..RecordingSigner::default()
    });
    let wallet = Wallet::open_with_signer(config(&dir, &url), signer.clone(), None, None)?;
    let merchant = MockMerchant::new(url.clone())?;
    let binding_id = bind(&wallet, &url).await?;
    let order = merchant.create_order(100, "gum".into(), None).await?;
    // Asking for a code is signed by the device key too: it fails the same way.
    let asked = wallet
        .request_payment_sms(binding_id.clone(), order.order_id.clone())
        .await;
    assert!(
        matches!(asked, Err(WalletFfiError::Signer { ref code, ref error_message })
            if code == "signer_failure" && error_message.contains("key invalidated")),
        "{asked:?}"
    );
    let result = wallet
        .pay_order(
            binding_id,
            order.order_id.clone(),
            PayAuth::Sms {
                challenge_id: "chl_000000000000000000000000".into(),
                code: "123456".into(),
            },
        )
        .await;
    assert!(
        matches!(result, Err(WalletFfiError::Signer { ref code, ref error_message })
            if code == "signer_failure" && error_message.contains("key invalidated")),
        "{result:?}"
    );
    assert_eq!(
        merchant.order(order.order_id).await?.status,
        OrderStatus::Pending
    );
    assert!(signer.count("sign:") >= 1);
    Ok(())
}
