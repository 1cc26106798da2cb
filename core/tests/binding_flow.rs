//! Account binding end to end against the in-process mock backend: the happy path, every typed
//! error, and the faults (network down, timeout, lost answers, server errors).

mod support;

use mock_backend::bank::test_cards::{self, TestCard};
use mock_backend::fault_proxy::{Fault, FaultProxy, FaultRule};
use std::time::Duration;
use wallet_core::backend::api::{AccountKind, BindingRecord, PATH_BINDINGS_CONFIRM};
use wallet_core::backend::BackendError;
use wallet_core::binding::validate::ValidationError;
use wallet_core::binding::{BindingError, BindingRequest};
use wallet_core::WalletError;

fn request(card: &TestCard) -> BindingRequest {
    BindingRequest {
        pan: card.pan.into(),
        holder_name: card.holder_name.into(),
        id_number: card.id_number.into(),
        phone: card.phone.into(),
    }
}

fn binding_error(e: WalletError) -> BindingError {
    match e {
        WalletError::Binding(b) => b,
        other => panic!("expected a binding error, got {other:?}"),
    }
}

#[tokio::test]
async fn bind_list_and_unbind_a_debit_card() {
    let world = support::mock_world().await;
    let (wallet, _dir) = support::wallet(world.url());
    let card = test_cards::DEBIT;

    let pending = wallet.begin_binding(&request(&card)).await.unwrap();
    assert_eq!(pending.masked_pan, "622202******7894");
    assert_eq!(pending.account_kind, AccountKind::Debit);
    assert_eq!(pending.otp_sent_to, "138****8000");
    assert_eq!(wallet.pending_bindings().unwrap().len(), 1);

    let code = support::latest_code(world.url(), card.phone).await;
    let binding = wallet
        .confirm_binding(&pending.session_id, &code)
        .await
        .unwrap();
    assert_eq!(binding.masked_pan, "622202******7894");
    assert_eq!(binding.issuer_name, card.issuer_name);
    assert!(wallet.pending_bindings().unwrap().is_empty());
    assert_eq!(wallet.bindings().unwrap(), vec![binding.clone()]);

    // The bank holds the binding as active.
    let at_bank: BindingRecord = reqwest::get(format!(
        "{}/bank/v1/bindings/{}",
        world.url(),
        binding.binding_id
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(format!("{:?}", at_bank.status), "Active");

    wallet.unbind(&binding.binding_id).await.unwrap();
    assert!(wallet.bindings().unwrap().is_empty());
    let at_bank: BindingRecord = reqwest::get(format!(
        "{}/bank/v1/bindings/{}",
        world.url(),
        binding.binding_id
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(format!("{:?}", at_bank.status), "Revoked");

    // Unbinding again is a clear local error.
    let err = binding_error(wallet.unbind(&binding.binding_id).await.unwrap_err());
    assert!(matches!(err, BindingError::BindingNotFound), "{err:?}");
}

#[tokio::test]
async fn id_tail_and_formatted_inputs_are_accepted() {
    let world = support::mock_world().await;
    let (wallet, _dir) = support::wallet(world.url());
    let card = test_cards::CREDIT; // ID ends in X
    let mut req = request(&card);
    req.id_number = card.id_number[card.id_number.len() - 4..].to_ascii_lowercase();
    req.pan = format!("{} {}", &card.pan[..4], &card.pan[4..]);
    req.phone = format!("+86 {}", card.phone);
    let pending = wallet.begin_binding(&req).await.unwrap();
    let code = support::latest_code(world.url(), card.phone).await;
    let binding = wallet
        .confirm_binding(&pending.session_id, &code)
        .await
        .unwrap();
    assert_eq!(binding.account_kind, AccountKind::Credit);
}

#[tokio::test]
async fn local_checks_fail_before_anything_is_sent() {
    // No server at all: a local check must answer without trying the network.
    let (wallet, _dir) = support::wallet("http://127.0.0.1:9");
    let card = test_cards::DEBIT;
    let mut bad_luhn = request(&card);
    bad_luhn.pan.pop();
    bad_luhn.pan.push('5');
    let err = binding_error(wallet.begin_binding(&bad_luhn).await.unwrap_err());
    assert!(
        matches!(
            err,
            BindingError::Invalid(ValidationError::InvalidCardNumber(_))
        ),
        "{err:?}"
    );

    let mut bad_phone = request(&card);
    bad_phone.phone = "12345".into();
    let err = binding_error(wallet.begin_binding(&bad_phone).await.unwrap_err());
    assert!(
        matches!(err, BindingError::Invalid(ValidationError::InvalidPhone(_))),
        "{err:?}"
    );

    let err = binding_error(wallet.confirm_binding("nope", "12a456").await.unwrap_err());
    assert!(
        matches!(
            err,
            BindingError::Invalid(ValidationError::InvalidField { field: "otp", .. })
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn the_bank_rejects_wrong_real_name_data_and_unknown_or_blocked_cards() {
    let world = support::mock_world().await;
    let (wallet, _dir) = support::wallet(world.url());
    let card = test_cards::DEBIT;

    let mut req = request(&card);
    req.holder_name = "李四".into();
    let err = binding_error(wallet.begin_binding(&req).await.unwrap_err());
    assert!(matches!(err, BindingError::NameMismatch), "{err:?}");

    let mut req = request(&card);
    req.id_number = "9999".into();
    let err = binding_error(wallet.begin_binding(&req).await.unwrap_err());
    assert!(matches!(err, BindingError::IdMismatch), "{err:?}");

    let mut req = request(&card);
    req.phone = "13900000000".into();
    let err = binding_error(wallet.begin_binding(&req).await.unwrap_err());
    assert!(matches!(err, BindingError::PhoneMismatch), "{err:?}");

    let mut req = request(&card);
    req.pan = test_cards::UNKNOWN_PAN.into();
    let err = binding_error(wallet.begin_binding(&req).await.unwrap_err());
    assert!(matches!(err, BindingError::UnknownCard), "{err:?}");

    let err = binding_error(
        wallet
            .begin_binding(&request(&test_cards::BLOCKED))
            .await
            .unwrap_err(),
    );
    assert!(matches!(err, BindingError::CardNotEligible), "{err:?}");

    assert!(wallet.pending_bindings().unwrap().is_empty());
    assert!(wallet.bindings().unwrap().is_empty());
}

#[tokio::test]
async fn wrong_codes_count_down_then_lock() {
    let world = support::mock_world().await;
    let (wallet, _dir) = support::wallet(world.url());
    let card = test_cards::QUASI_CREDIT;
    let pending = wallet.begin_binding(&request(&card)).await.unwrap();
    let code = support::latest_code(world.url(), card.phone).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for expected_left in [4, 3, 2, 1] {
        let err = binding_error(
            wallet
                .confirm_binding(&pending.session_id, wrong)
                .await
                .unwrap_err(),
        );
        match err {
            BindingError::WrongCode { attempts_left } => assert_eq!(attempts_left, expected_left),
            other => panic!("expected WrongCode, got {other:?}"),
        }
    }
    let err = binding_error(
        wallet
            .confirm_binding(&pending.session_id, wrong)
            .await
            .unwrap_err(),
    );
    assert!(matches!(err, BindingError::CodeLocked), "{err:?}");
    // Locked: even the right code is refused now; the pending binding is forgotten.
    let err = binding_error(
        wallet
            .confirm_binding(&pending.session_id, &code)
            .await
            .unwrap_err(),
    );
    assert!(
        matches!(
            err,
            BindingError::SessionNotFound | BindingError::CodeLocked
        ),
        "{err:?}"
    );
    assert!(wallet.bindings().unwrap().is_empty());
    assert!(wallet.pending_bindings().unwrap().is_empty());
}

#[tokio::test]
async fn an_expired_code_is_refused() {
    let world = support::mock_world().await;
    let (wallet, _dir) = support::wallet(world.url());
    let card = test_cards::E_CASH;
    let pending = wallet.begin_binding(&request(&card)).await.unwrap();
    let code = support::latest_code(world.url(), card.phone).await;
    support::advance_clock(world.url(), 5 * 60 + 1).await;
    let err = binding_error(
        wallet
            .confirm_binding(&pending.session_id, &code)
            .await
            .unwrap_err(),
    );
    assert!(matches!(err, BindingError::CodeExpired), "{err:?}");
    assert!(wallet.bindings().unwrap().is_empty());
}

#[tokio::test]
async fn network_down_is_a_network_error_and_changes_nothing() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (wallet, _dir) =
        support::wallet_with(&format!("http://127.0.0.1:{port}"), |c| c.max_retries = 0);
    let err = binding_error(
        wallet
            .begin_binding(&request(&test_cards::DEBIT))
            .await
            .unwrap_err(),
    );
    assert!(
        matches!(err, BindingError::Backend(BackendError::Network(_))),
        "{err:?}"
    );
    assert!(wallet.pending_bindings().unwrap().is_empty());
}

#[tokio::test]
async fn a_silent_bank_is_a_timeout() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let (wallet, _dir) = support::wallet_with(&url, |c| {
        c.request_timeout = Duration::from_millis(300);
        c.max_retries = 0;
    });
    let err = binding_error(
        wallet
            .begin_binding(&request(&test_cards::DEBIT))
            .await
            .unwrap_err(),
    );
    assert!(
        matches!(err, BindingError::Backend(BackendError::Timeout)),
        "{err:?}"
    );
    holder.abort();
}

#[tokio::test]
async fn server_errors_and_garbage_are_backend_errors() {
    use axum::{http::StatusCode, routing::post, Router};
    let app = Router::new()
        .route(
            "/bank/v1/bindings",
            post(|| async {
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    axum::Json(serde_json::json!({"error": {"code": "INTERNAL", "message": "bank is down"}})),
                )
            }),
        )
        .route("/bank/v1/bindings/confirm", post(|| async { "not json" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let (wallet, _dir) = support::wallet_with(&url, |c| c.max_retries = 1);

    let err = binding_error(
        wallet
            .begin_binding(&request(&test_cards::DEBIT))
            .await
            .unwrap_err(),
    );
    match err {
        BindingError::Backend(BackendError::Rejected {
            status,
            code,
            message,
            ..
        }) => {
            assert_eq!(
                (status, code.as_str(), message.as_str()),
                (503, "INTERNAL", "bank is down")
            );
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    server.abort();
}

#[tokio::test]
async fn a_confirm_whose_answer_was_lost_is_retried_into_the_same_binding() {
    let world = support::mock_world().await;
    let proxy = FaultProxy::start(world.url()).await.expect("proxy starts");
    let (wallet, _dir) = support::wallet_with(proxy.url(), |c| c.max_retries = 2);
    let card = test_cards::DEBIT;
    let pending = wallet.begin_binding(&request(&card)).await.unwrap();
    let code = support::latest_code(world.url(), card.phone).await;

    // The bank binds, the answer is lost; the client repeats with the same idempotency key.
    proxy.inject(FaultRule::path(PATH_BINDINGS_CONFIRM, Fault::LoseAnswer));
    let binding = wallet
        .confirm_binding(&pending.session_id, &code)
        .await
        .unwrap();
    let lost: Vec<BindingRecord> = proxy
        .lost_answers()
        .iter()
        .map(|body| serde_json::from_slice(body).expect("the lost answer was a binding"))
        .collect();
    assert_eq!(lost.len(), 1);
    assert_eq!(
        lost[0].binding_id, binding.binding_id,
        "the retry must not create a second binding"
    );
    assert_eq!(wallet.bindings().unwrap().len(), 1);
}

#[tokio::test]
async fn a_confirm_repeated_by_the_app_after_a_lost_answer_converges() {
    let world = support::mock_world().await;
    let proxy = FaultProxy::start(world.url()).await.expect("proxy starts");
    let (wallet, _dir) = support::wallet_with(proxy.url(), |c| c.max_retries = 0);
    let card = test_cards::LATIN_NAME_DEBIT;
    let pending = wallet.begin_binding(&request(&card)).await.unwrap();
    let code = support::latest_code(world.url(), card.phone).await;

    proxy.inject(FaultRule::path(PATH_BINDINGS_CONFIRM, Fault::LoseAnswer));
    let err = binding_error(
        wallet
            .confirm_binding(&pending.session_id, &code)
            .await
            .unwrap_err(),
    );
    assert!(
        matches!(err, BindingError::Backend(BackendError::Network(_))),
        "{err:?}"
    );
    assert!(wallet.bindings().unwrap().is_empty());
    assert_eq!(
        wallet.pending_bindings().unwrap().len(),
        1,
        "the pending binding survives"
    );

    let binding = wallet
        .confirm_binding(&pending.session_id, &code)
        .await
        .unwrap();
    let lost: BindingRecord = serde_json::from_slice(&proxy.lost_answers()[0]).unwrap();
    assert_eq!(lost.binding_id, binding.binding_id);
    assert_eq!(wallet.bindings().unwrap().len(), 1);
}

/// How many codes the mock SMS channel sent to `phone`.
async fn codes_sent(url: &str, phone: &str) -> usize {
    let outbox: wallet_core::backend::api::SmsOutbox = reqwest::get(format!(
        "{url}{}?phone={phone}",
        wallet_core::backend::api::PATH_TEST_SMS_OUTBOX
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    outbox.messages.len()
}

#[tokio::test]
async fn a_begin_repeated_after_a_lost_answer_sends_one_code_and_a_later_begin_a_new_one() {
    let world = support::mock_world().await;
    let proxy = FaultProxy::start(world.url()).await.expect("proxy starts");
    let (wallet, _dir) = support::wallet_with(proxy.url(), |c| c.max_retries = 0);
    let card = test_cards::DEBIT;

    proxy.inject(FaultRule::path(
        wallet_core::backend::api::PATH_BINDINGS,
        Fault::LoseAnswer,
    ));
    let err = binding_error(wallet.begin_binding(&request(&card)).await.unwrap_err());
    assert!(
        matches!(err, BindingError::Backend(BackendError::Network(_))),
        "{err:?}"
    );
    // The app repeats: the bank answers the session it opened, no second code.
    let first = wallet.begin_binding(&request(&card)).await.unwrap();
    assert_eq!(codes_sent(world.url(), card.phone).await, 1);
    // Once answered, asking again is a new attempt: a new session and a new code.
    let second = wallet.begin_binding(&request(&card)).await.unwrap();
    assert_ne!(first.session_id, second.session_id);
    assert_eq!(codes_sent(world.url(), card.phone).await, 2);
    let code = support::latest_code(world.url(), card.phone).await;
    wallet
        .confirm_binding(&second.session_id, &code)
        .await
        .unwrap();
    assert_eq!(wallet.bindings().unwrap().len(), 1);
}

#[tokio::test]
async fn bindings_survive_reopening_the_wallet() {
    let world = support::mock_world().await;
    let dir = tempfile::tempdir().unwrap();
    let config = wallet_core::WalletConfig::new(dir.path(), world.url());
    let card = test_cards::DEBIT;
    let (binding, device_id) = {
        let wallet = wallet_core::Wallet::open(config.clone(), None).unwrap();
        let pending = wallet.begin_binding(&request(&card)).await.unwrap();
        let code = support::latest_code(world.url(), card.phone).await;
        (
            wallet
                .confirm_binding(&pending.session_id, &code)
                .await
                .unwrap(),
            wallet.device_id().to_owned(),
        )
    };
    let wallet = wallet_core::Wallet::open(config, None).unwrap();
    assert_eq!(wallet.device_id(), device_id);
    assert_eq!(wallet.bindings().unwrap(), vec![binding.clone()]);
    // The device key survived too: the bank accepts the signed unbind.
    wallet.unbind(&binding.binding_id).await.unwrap();
}

#[tokio::test]
async fn no_secret_reaches_the_store_files_in_clear() {
    let world = support::mock_world().await;
    let (wallet, dir) = support::wallet(world.url());
    let card = test_cards::DEBIT;
    let pending = wallet.begin_binding(&request(&card)).await.unwrap();
    let code = support::latest_code(world.url(), card.phone).await;
    let binding = wallet
        .confirm_binding(&pending.session_id, &code)
        .await
        .unwrap();
    drop(wallet);
    let mut haystack = Vec::new();
    for entry in walk(dir.path()) {
        haystack.extend(std::fs::read(entry).unwrap());
    }
    let _ = binding;
    for needle in [
        card.pan,
        card.id_number,
        card.phone,
        card.holder_name,
        &code,
    ] {
        assert!(
            haystack
                .windows(needle.len())
                .all(|w| w != needle.as_bytes()),
            "{needle} found in clear in the store files"
        );
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}
