//! Every method of every foreign trait failing, through the public API that calls it, against
//! the in-process mock world: the app sees a typed `WalletFfiError` (or, where the failure is
//! ignored by design, a successful operation), never a panic or a hang; nothing is lost and the
//! same wallet works once the platform implementation does.
//!
//! Each table row is one method and what the app sees (`ok`, or `Variant/code` of the
//! `WalletFfiError`) when it throws the exception its trait declares, then when it fails any
//! other way ([`cases`]): an undeclared exception (what uniffi makes of an
//! `IllegalStateException` or a Swift error of another type) or an escaped Kotlin `Error` (a
//! successful call returning the FFI default, see [`Fault::Escaped`]).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use mock_backend::se_sim::SimulatedSeTransport;
use mock_backend::{MockWorld, MockWorldConfig};
use wallet_core::backend::api::SmsOutbox;

use crate::foreign_fakes::{
    Fault, FaultyKeyStore, FaultyListener, FaultySe, FaultySigner, FaultySink, Injector, Method,
};
use crate::keystore::KeyStore;
use crate::logging::{set_log_sink, LogLevel, LogSink};
use crate::se::SeReaderKind;
use crate::signer::Signer;
use crate::wallet::{Wallet, WalletConfig};
use crate::wallet_error::WalletFfiError;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A table row: a method, what the app sees when it throws its declared exception, and what
/// it sees when it fails any other way.
type Row = (Method, &'static str, &'static str);

/// Every [`Fault`] of every row, with what the app sees.
fn cases(rows: &[Row]) -> Vec<(Method, Fault, &'static str)> {
    rows.iter()
        .flat_map(|&(method, declared, other)| {
            [
                (method, Fault::Declared, declared),
                (method, Fault::Undeclared, other),
                (method, Fault::Escaped, other),
            ]
        })
        .collect()
}

/// Test card `DEBIT` of the mock bank (mock-backend/src/bank/test_cards.rs).
const PAN: &str = "6222021234567894";
const NAME: &str = "张三";
const ID: &str = "110101199003071233";
const PHONE: &str = "13800138000";

/// Upper bound of any single operation here: a hang fails the test instead of blocking it.
const NO_HANG: Duration = Duration::from_secs(60);

/// Runs `fut`, failing if it takes longer than [`NO_HANG`].
async fn bounded<T>(what: &str, fut: impl std::future::Future<Output = T>) -> T {
    match tokio::time::timeout(NO_HANG, fut).await {
        Ok(value) => value,
        Err(_) => panic!("{what} hung for {NO_HANG:?}"),
    }
}

/// What the app sees: `ok` or `Variant/code`.
fn seen<T>(result: &Result<T, WalletFfiError>) -> String {
    match result {
        Ok(_) => "ok".to_owned(),
        Err(e) => {
            let debug = format!("{e:?}");
            let variant = debug.split([' ', '{']).next().unwrap_or_default();
            format!("{variant}/{}", e.code())
        }
    }
}

/// An undeclared exception keeps its text up to the app.
fn assert_exception_text_kept<T>(result: &Result<T, WalletFfiError>, fault: Fault, row: &str) {
    if let (Err(e), Fault::Undeclared) = (result, fault) {
        let text = e.to_string();
        assert!(
            text.contains("foreign_exception") && text.contains("crashed"),
            "{row}: {text}"
        );
    }
}

fn config(dir: &std::path::Path, url: &str) -> WalletConfig {
    WalletConfig {
        data_dir: dir.to_string_lossy().into_owned(),
        backend_url: url.to_owned(),
        request_timeout_ms: 5_000,
        max_retries: 0,
        ota_max_delay_ms: Some(5),
    }
}

/// The one-time code the mock SMS channel last sent to the test card's phone.
async fn last_code(url: &str) -> Result<String, Box<dyn std::error::Error>> {
    let outbox: SmsOutbox = reqwest::get(format!("{url}/test/sms/outbox?phone={PHONE}"))
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(outbox.messages.last().ok_or("no SMS")?.code.clone())
}

/// Binds the debit test card to `wallet`; returns the binding id.
async fn bind(wallet: &Wallet, url: &str) -> Result<String, Box<dyn std::error::Error>> {
    let pending = wallet
        .begin_binding(PAN.into(), NAME.into(), ID.into(), PHONE.into())
        .await?;
    let code = last_code(url).await?;
    Ok(wallet
        .confirm_binding(pending.session_id, code)
        .await?
        .binding_id)
}

async fn world() -> Result<MockWorld, Box<dyn std::error::Error>> {
    Ok(MockWorld::start(MockWorldConfig::default()).await?)
}

/// Secure-element methods, driven by `ecash_balance` (reader lookup, session, logical channel,
/// GET DATA, channel and session closed) on a card opened beforehand with a healthy transport.
/// A failure to open or exchange is `Card/secure_element`; a failure to close is logged and
/// ignored (the balance was read). `open_basic_channel` is never called by the library.
#[tokio::test]
async fn secure_element_methods_failing() -> TestResult {
    const SE_FAILED: &str = "Card/secure_element";
    // (method, declared exception, any other failure)
    #[rustfmt::skip]
    const ROWS: &[Row] = &[
        (Method::Readers, SE_FAILED, SE_FAILED),
        (Method::OpenSession, SE_FAILED, SE_FAILED),
        (Method::OpenLogicalChannel, SE_FAILED, SE_FAILED),
        (Method::OpenBasicChannel, "ok", "ok"),
        (Method::Transmit, SE_FAILED, SE_FAILED),
        (Method::CloseChannel, "ok", "ok"),
        (Method::CloseSession, "ok", "ok"),
    ];
    let world = world().await?;
    let dir = tempfile::tempdir()?;
    let wallet = Wallet::open(config(&dir.path().join("w"), world.url()), None, None)?;
    let binding_id = bind(&wallet, world.url()).await?;
    let inj = Injector::new();
    let sim = Arc::new(SimulatedSeTransport::open(dir.path().join("se"))?);
    wallet.attach_secure_elements(Arc::new(FaultySe {
        sim,
        inj: inj.clone(),
    }));
    let card = wallet
        .open_card(binding_id.clone(), Some(SeReaderKind::Ese), 10_000, None)
        .await?;

    for (method, fault, expected) in cases(ROWS) {
        let row = format!("{method:?} {fault:?}");
        inj.arm(method, fault);
        let result = bounded(
            &row,
            wallet.ecash_balance(binding_id.clone(), card.se_id.clone()),
        )
        .await;
        inj.disarm();
        assert_eq!(seen(&result), expected, "{row}: {result:?}");
        if expected == "ok" {
            assert_eq!(result, Ok(10_000), "{row}");
        }
        assert_exception_text_kept(&result, fault, &row);
        if (method, fault) == (Method::OpenSession, Fault::Escaped) {
            // Not "closed": the failed call is named (see `se::nonzero_handle`).
            let text = result.as_ref().err().map(ToString::to_string);
            assert!(
                text.as_deref()
                    .is_some_and(|t| t.contains("open_session returned handle 0")),
                "{row}: {text:?}"
            );
        }
        let called = method != Method::OpenBasicChannel;
        assert_eq!(inj.hits() > 0, called, "{row}: failures injected");

        // The same wallet and platform work again; the card and its balance are intact.
        let again = bounded(
            &row,
            wallet.ecash_balance(binding_id.clone(), card.se_id.clone()),
        )
        .await;
        assert_eq!(again, Ok(10_000), "{row}: next call");
        let cards = wallet.cards_in_se()?;
        assert_eq!(cards.len(), 1, "{row}");
        assert_eq!(cards.first().map(|c| c.state), Some(card.state), "{row}");
    }
    assert_eq!(inj.calls(Method::OpenBasicChannel), 0);
    drop(wallet);
    world.shutdown().await;
    Ok(())
}

/// Key store methods, driven by `Wallet::open`: `wrap_key` when the data directory is new,
/// `unwrap_key` when it exists. The open fails with `KeyStore/…`; nothing on disk changes, and
/// the next open with a working key store finds the same wallet (same device id).
#[tokio::test]
async fn key_store_methods_failing() -> TestResult {
    // (method, declared exception, any other failure)
    #[rustfmt::skip]
    const ROWS: &[Row] = &[
        (Method::WrapKey, "KeyStore/key_store_failure", "KeyStore/key_store_failure"),
        (Method::UnwrapKey, "KeyStore/key_store_unwrap", "KeyStore/key_store_failure"),
    ];
    let dir = tempfile::tempdir()?;
    let inj = Injector::new();
    let store: Arc<dyn KeyStore> = Arc::new(FaultyKeyStore { inj: inj.clone() });
    for (i, (method, fault, expected)) in cases(ROWS).into_iter().enumerate() {
        let row = format!("{method:?} {fault:?}");
        let data_dir = dir.path().join(format!("w{i}"));
        let cfg = config(&data_dir, "http://127.0.0.1:9");
        // `unwrap_key` runs on an existing wallet: create it first.
        let device_id = if method == Method::UnwrapKey {
            Some(Wallet::open(cfg.clone(), Some(store.clone()), None)?.device_id())
        } else {
            None
        };
        inj.arm(method, fault);
        let result = Wallet::open(cfg.clone(), Some(store.clone()), None).map(|w| w.device_id());
        inj.disarm();
        assert_eq!(seen(&result), expected, "{row}: {result:?}");
        assert_exception_text_kept(&result, fault, &row);
        assert_eq!(inj.hits(), 1, "{row}");
        if fault == Fault::Declared && method == Method::WrapKey {
            let message = result.as_ref().err().map(ToString::to_string);
            assert!(
                message.is_some_and(|m| m.contains("user_not_authenticated")),
                "{row}: the platform's code reaches the app"
            );
        }

        let reopened = Wallet::open(cfg, Some(store.clone()), None)?.device_id();
        if let Some(device_id) = device_id {
            assert_eq!(reopened, device_id, "{row}: the same wallet");
        }
    }
    Ok(())
}

/// Signer methods: `generate_key` by the first `confirm_binding`, `public_key` by a confirm
/// after a wrong code (the key exists), `sign` by `unbind` (a signed request), `delete_key` by
/// `unbind` once the bank revoked the binding (an unused key: ignored by design). A failed
/// confirm or unbind changes nothing: the same call succeeds once the signer works.
#[tokio::test]
async fn signer_methods_failing() -> TestResult {
    // (method, declared exception, any other failure)
    #[rustfmt::skip]
    const ROWS: &[Row] = &[
        (Method::GenerateKey, "Signer/signer_failure", "Signer/signer_failure"),
        (Method::PublicKey, "Signer/signer_key_not_found", "Signer/signer_failure"),
        (Method::Sign, "Signer/signer_user_not_authenticated", "Signer/signer_failure"),
        (Method::DeleteKey, "ok", "ok"),
    ];
    let world = world().await?;
    let url = world.url().to_owned();
    let dir = tempfile::tempdir()?;
    for (i, (method, fault, expected)) in cases(ROWS).into_iter().enumerate() {
        let row = format!("{method:?} {fault:?}");
        let inj = Injector::new();
        let signer = FaultySigner::new(inj.clone());
        let platform: Arc<dyn Signer> = signer.clone();
        let wallet = Wallet::open_with_signer(
            config(&dir.path().join(format!("w{i}")), &url),
            platform,
            None,
            None,
        )?;
        let result = match method {
            Method::GenerateKey | Method::PublicKey => {
                let pending = wallet
                    .begin_binding(PAN.into(), NAME.into(), ID.into(), PHONE.into())
                    .await?;
                let code = last_code(&url).await?;
                if method == Method::PublicKey {
                    let wrong = format!(
                        "{}{}",
                        if code.starts_with('0') { '1' } else { '0' },
                        &code[1..]
                    );
                    let refused = wallet
                        .confirm_binding(pending.session_id.clone(), wrong)
                        .await;
                    assert_eq!(seen(&refused), "WrongCode/otp_wrong", "{row}");
                }
                inj.arm(method, fault);
                let result = bounded(
                    &row,
                    wallet.confirm_binding(pending.session_id.clone(), code.clone()),
                )
                .await
                .map(|_| ());
                inj.disarm();
                assert_eq!(
                    wallet.pending_bindings()?.len(),
                    1,
                    "{row}: the session is kept"
                );
                bounded(&row, wallet.confirm_binding(pending.session_id, code)).await?;
                assert_eq!(wallet.bindings()?.len(), 1, "{row}");
                result
            }
            _ => {
                let binding_id = bind(&wallet, &url).await?;
                inj.arm(method, fault);
                let result = bounded(&row, wallet.unbind(binding_id.clone())).await;
                inj.disarm();
                if result.is_err() {
                    assert_eq!(wallet.bindings()?.len(), 1, "{row}: the binding is kept");
                    bounded(&row, wallet.unbind(binding_id)).await?;
                }
                assert!(wallet.bindings()?.is_empty(), "{row}");
                result
            }
        };
        assert_eq!(seen(&result), expected, "{row}: {result:?}");
        assert_exception_text_kept(&result, fault, &row);
        assert!(inj.hits() > 0, "{row}: no failure injected");
        if method == Method::DeleteKey {
            assert_eq!(
                signer.key_count(),
                1,
                "{row}: the unused key stays, nothing else"
            );
        }
    }
    world.shutdown().await;
    Ok(())
}

/// A failing log sink drops its records, never the operation: `Wallet::open` with the sink and
/// a binding (which logs at info) succeed; once the sink works it receives records again.
// The guard serialises the tests that install a global sink; nothing else waits on it.
#[allow(clippy::await_holding_lock)]
#[tokio::test]
async fn log_sink_failing() -> TestResult {
    // (method, declared exception, any other failure)
    #[rustfmt::skip]
    const ROWS: &[Row] = &[
        (Method::Log, "ok", "ok"),
    ];
    let world = world().await?;
    let dir = tempfile::tempdir()?;
    let _global = crate::logging::TEST_SINK_LOCK
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    for (i, (method, fault, expected)) in cases(ROWS).into_iter().enumerate() {
        let row = format!("{method:?} {fault:?}");
        let inj = Injector::new();
        let sink = Arc::new(FaultySink {
            inj: inj.clone(),
            accepted: AtomicUsize::new(0),
        });
        inj.arm(method, fault);
        let platform: Arc<dyn LogSink> = sink.clone();
        let wallet = Wallet::open(
            config(&dir.path().join(format!("w{i}")), world.url()),
            None,
            Some(platform),
        )?;
        let result = bounded(&row, bind(&wallet, world.url()))
            .await
            .map_err(|e| e.to_string());
        assert_eq!(
            result.as_ref().map(|_| "ok"),
            Ok(expected),
            "{row}: {result:?}"
        );
        assert!(inj.hits() > 0, "{row}: the sink was not called");
        assert_eq!(sink.accepted.load(Ordering::SeqCst), 0, "{row}");

        inj.disarm();
        tracing::info!(target: "wallet_ffi::test", "after the failure");
        assert!(
            sink.accepted.load(Ordering::SeqCst) > 0,
            "{row}: sink works again"
        );
        assert_eq!(wallet.bindings()?.len(), 1, "{row}");
    }
    set_log_sink(None, LogLevel::Error);
    world.shutdown().await;
    Ok(())
}

/// A failing progress listener is ignored by design: the card opens, with its e-cash, and the
/// wallet keeps working.
#[tokio::test]
async fn card_opening_listener_failing() -> TestResult {
    // (method, declared exception, any other failure)
    #[rustfmt::skip]
    const ROWS: &[Row] = &[
        (Method::OnProgress, "ok", "ok"),
    ];
    let world = world().await?;
    let dir = tempfile::tempdir()?;
    for (i, (method, fault, expected)) in cases(ROWS).into_iter().enumerate() {
        let row = format!("{method:?} {fault:?}");
        let wallet = Wallet::open(
            config(&dir.path().join(format!("w{i}")), world.url()),
            None,
            None,
        )?;
        let binding_id = bind(&wallet, world.url()).await?;
        let sim = Arc::new(SimulatedSeTransport::open(
            dir.path().join(format!("se{i}")),
        )?);
        let inj = Injector::new();
        wallet.attach_secure_elements(Arc::new(FaultySe {
            sim,
            inj: inj.clone(),
        }));
        let listener = Arc::new(FaultyListener {
            inj: inj.clone(),
            accepted: Mutex::default(),
        });
        inj.arm(method, fault);
        let result = bounded(
            &row,
            wallet.open_card(binding_id.clone(), None, 2_500, Some(listener.clone())),
        )
        .await;
        inj.disarm();
        assert_eq!(seen(&result), expected, "{row}: {result:?}");
        assert!(inj.hits() > 1, "{row}: every report failed");
        assert!(listener
            .accepted
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_empty());
        let card = result?;
        let balance = bounded(&row, wallet.ecash_balance(binding_id, card.se_id)).await;
        assert_eq!(balance, Ok(2_500), "{row}: next call");
    }
    world.shutdown().await;
    Ok(())
}

/// A phone whose `transceive` throws mid-tap (after SELECT PPSE and SELECT AID): the terminal
/// reports a failed tap with the reason, the wallet's HCE card is unharmed and the next tap is
/// approved with a higher ATC.
#[cfg(feature = "test-hooks")]
#[tokio::test]
async fn tappable_card_failing() -> TestResult {
    use crate::foreign_fakes::FaultyPhone;
    use crate::terminal::{MockTerminal, TapDecision};

    // (method, declared exception, any other failure)
    #[rustfmt::skip]
    const ROWS: &[Row] = &[
        (Method::Transceive, "the card left the field", "foreign_exception"),
    ];
    let world = world().await?;
    let dir = tempfile::tempdir()?;
    let wallet = Wallet::open(config(&dir.path().join("w"), world.url()), None, None)?;
    let binding_id = bind(&wallet, world.url()).await?;
    wallet.open_hce_card(binding_id).await?;
    let terminal = MockTerminal::new(world.url().to_owned())?;
    let inj = Injector::new();
    let phone = Arc::new(FaultyPhone {
        wallet: wallet.clone(),
        inj: inj.clone(),
        fail_from: 2,
        apdus: AtomicUsize::new(0),
    });
    let mut last_atc = wallet
        .hce_cards()?
        .first()
        .map(|c| c.atc)
        .ok_or("no card")?;
    for (method, fault, reason) in cases(ROWS) {
        let row = format!("{method:?} {fault:?}");
        inj.arm(method, fault);
        phone.apdus.store(0, Ordering::SeqCst);
        let failed = bounded(&row, terminal.tap(phone.clone(), 2_345)).await;
        inj.disarm();
        assert_eq!(failed.decision, TapDecision::Failed, "{row}: {failed:?}");
        assert!(!failed.approved, "{row}");
        let why = failed.reason.clone().unwrap_or_default();
        assert!(why.contains(reason), "{row}: {why}");
        assert_eq!(
            inj.hits(),
            1,
            "{row}: the terminal stops at the first failure"
        );

        phone.apdus.store(0, Ordering::SeqCst);
        let paid = bounded(&row, terminal.tap(phone.clone(), 2_345)).await;
        assert_eq!(
            paid.decision,
            TapDecision::ApprovedOnline,
            "{row}: {paid:?}"
        );
        let atc = paid.atc.ok_or("no ATC")?;
        assert!(atc > last_atc, "{row}: ATC {last_atc} then {atc}");
        assert_eq!(
            wallet.hce_cards()?.first().map(|c| c.atc),
            Some(atc),
            "{row}"
        );
        last_atc = atc;
    }
    drop(wallet);
    world.shutdown().await;
    Ok(())
}
