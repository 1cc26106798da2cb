//! The facade's binding flow against the in-process mock world, through the FFI types: what the
//! Kotlin / Swift / Python suites check, here in Rust (fast, and with the callback contracts).

use std::sync::{Arc, Mutex, PoisonError};

use mock_backend::{MockWorld, MockWorldConfig};
use wallet_core::backend::api::SmsOutbox;
use wallet_ffi::{AccountKind, KeyStore, KeyStoreFfiError, Wallet, WalletConfig, WalletFfiError};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Test card `DEBIT` of the mock bank (see mock-backend/src/bank/test_cards.rs).
const PAN: &str = "6222021234567894";
const NAME: &str = "张三";
const ID: &str = "110101199003071233";
const PHONE: &str = "13800138000";

async fn world() -> Result<MockWorld, Box<dyn std::error::Error>> {
    let addr = "127.0.0.1:0".parse()?;
    Ok(MockWorld::start(MockWorldConfig {
        addr,
        ..MockWorldConfig::default()
    })
    .await?)
}

fn config(dir: &tempfile::TempDir, url: &str) -> WalletConfig {
    WalletConfig {
        data_dir: dir.path().to_string_lossy().into_owned(),
        backend_url: url.to_owned(),
        request_timeout_ms: 5_000,
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

/// The error's code and the error, if `result` failed.
fn code_of<T>(result: Result<T, WalletFfiError>) -> Option<(String, WalletFfiError)> {
    result.err().map(|e| (e.code().to_owned(), e))
}

/// XOR key store that counts its calls, standing in for a platform implementation.
#[derive(Default)]
struct CountingStore(Mutex<Vec<String>>);

impl KeyStore for CountingStore {
    fn wrap_key(&self, alias: String, key: Vec<u8>) -> Result<Vec<u8>, KeyStoreFfiError> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(format!("wrap:{alias}"));
        Ok(key.iter().map(|b| b ^ 0xA5).collect())
    }
    fn unwrap_key(&self, alias: String, wrapped: Vec<u8>) -> Result<Vec<u8>, KeyStoreFfiError> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(format!("unwrap:{alias}"));
        Ok(wrapped.iter().map(|b| b ^ 0xA5).collect())
    }
}

#[tokio::test]
async fn bind_list_unbind_with_a_platform_key_store() -> TestResult {
    let world = world().await?;
    let url = world.url().to_owned();
    let dir = tempfile::tempdir()?;
    let store = Arc::new(CountingStore::default());
    let wallet = Wallet::open(config(&dir, &url), Some(store.clone()), None)?;

    let pending = wallet
        .begin_binding(PAN.into(), NAME.into(), "1233".into(), PHONE.into())
        .await?;
    assert_eq!(pending.masked_pan, "622202******7894");
    assert_eq!(pending.account_kind, AccountKind::Debit);
    assert_eq!(wallet.pending_bindings()?, vec![pending.clone()]);

    let wrong = wallet
        .confirm_binding(pending.session_id.clone(), "000000".into())
        .await;
    let code = last_code(&url, PHONE).await?;
    if code != "000000" {
        assert!(
            matches!(
                wrong,
                Err(WalletFfiError::WrongCode {
                    attempts_left: 4,
                    ..
                })
            ),
            "{wrong:?}"
        );
    }
    let binding = wallet.confirm_binding(pending.session_id, code).await?;
    assert_eq!(binding.issuer_name, "中国工商银行");
    assert_eq!(binding.holder_name_masked, "*三");
    assert_eq!(wallet.bindings()?, vec![binding.clone()]);
    assert!(wallet.pending_bindings()?.is_empty());

    wallet.unbind(binding.binding_id.clone()).await?;
    assert!(wallet.bindings()?.is_empty());
    let again = wallet.unbind(binding.binding_id).await;
    assert!(
        matches!(again, Err(WalletFfiError::NotFound { ref code, .. }) if code == "binding_not_found")
    );

    // The data key was wrapped once by the platform store on first open.
    let calls = store
        .0
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    assert_eq!(
        calls.iter().filter(|c| c.starts_with("wrap:")).count(),
        1,
        "{calls:?}"
    );
    drop(wallet);
    let reopened = Wallet::open(config(&dir, &url), Some(store.clone()), None)?;
    let calls = store
        .0
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    assert_eq!(
        calls.iter().filter(|c| c.starts_with("unwrap:")).count(),
        1,
        "{calls:?}"
    );
    drop(reopened);
    world.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn bank_rejections_and_local_checks_are_typed() -> TestResult {
    let world = world().await?;
    let dir = tempfile::tempdir()?;
    let wallet = Wallet::open(config(&dir, world.url()), None, None)?;
    let begin = |pan: &str, name: &str, id: &str, phone: &str| {
        wallet.begin_binding(pan.into(), name.into(), id.into(), phone.into())
    };

    let (code, err) = code_of(begin("6222021234567895", NAME, ID, PHONE).await).ok_or("luhn")?;
    assert_eq!(code, "invalid_card_number");
    assert!(matches!(err, WalletFfiError::InvalidInput { .. }));
    let (code, _) = code_of(begin(PAN, NAME, ID, "12345").await).ok_or("phone")?;
    assert_eq!(code, "invalid_phone");
    let (code, err) = code_of(begin("6222029999999996", NAME, ID, PHONE).await).ok_or("unknown")?;
    assert_eq!(code, "unknown_card");
    assert!(matches!(err, WalletFfiError::CardRejected { .. }));
    let (code, _) = code_of(begin(PAN, "李四", ID, PHONE).await).ok_or("name")?;
    assert_eq!(code, "name_mismatch");
    let (code, _) = code_of(begin(PAN, NAME, "9999", PHONE).await).ok_or("id")?;
    assert_eq!(code, "id_mismatch");
    let (code, _) = code_of(begin(PAN, NAME, ID, "13900139000").await).ok_or("phone")?;
    assert_eq!(code, "phone_mismatch");
    let blocked = begin("6217001234567893", "陈七", "5676", "18812345678").await;
    assert_eq!(code_of(blocked).ok_or("blocked")?.0, "card_not_eligible");
    let unknown_session = wallet.confirm_binding("nope".into(), "123456".into()).await;
    assert_eq!(
        code_of(unknown_session).ok_or("session")?.0,
        "session_not_found"
    );
    drop(wallet);
    world.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn unreachable_backend_is_a_network_error() -> TestResult {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let dir = tempfile::tempdir()?;
    let wallet = Wallet::open(
        config(&dir, &format!("http://127.0.0.1:{port}")),
        None,
        None,
    )?;
    let err = wallet
        .begin_binding(PAN.into(), NAME.into(), ID.into(), PHONE.into())
        .await
        .err();
    assert!(
        matches!(err, Some(WalletFfiError::Network { ref code, .. }) if code == "unreachable"),
        "{err:?}"
    );
    Ok(())
}
