//! Remote payment end to end against the in-process mock world: the merchant platform creates an
//! order, the wallet pays it in non-SE mode (device key + payment password, or + SMS code) and in
//! SE mode (the card's applet signs after the PIN), and the bank's balance moves exactly once —
//! also when an answer is lost and the payment is repeated.

mod support;

use mock_backend::acquirer::merchants::CONVENIENCE_STORE;
use mock_backend::bank::test_cards::{self, TestCard};
use mock_backend::se_sim::SimulatedSeTransport;
use mock_backend::MockWorld;
use std::sync::Arc;
use std::time::Duration;
use support::lossy_proxy::LossyProxy;
use wallet_core::backend::api::remote::{
    AuthMode, CreateOrderRequest, Order, OrderStatus, PATH_MERCHANT_ORDERS, PATH_RPS_PAYMENTS,
};
use wallet_core::backend::client::IdempotencyKey;
use wallet_core::backend::{BackendClient, BackendError, ClientConfig};
use wallet_core::binding::BindingRequest;
use wallet_core::crypto::ecdsa::P256SigningKey;
use wallet_core::ota::AgentConfig;
use wallet_core::remote::{PayAuth, RemotePayError};
use wallet_core::se::ReaderKind;
use wallet_core::signer::{Signer, SignerError};
use wallet_core::{Wallet, WalletConfig, WalletError};

const PASSWORD: &str = "135790";

/// Creates an order of `amount` fen at the mock convenience store.
async fn create_order(url: &str, amount: u64, expires_in_secs: Option<u64>) -> Order {
    let client = BackendClient::new(ClientConfig::new(url)).unwrap();
    let request = CreateOrderRequest {
        merchant_id: CONVENIENCE_STORE.id.into(),
        amount,
        currency: "CNY".into(),
        description: "green tea".into(),
        expires_in_secs,
    };
    client
        .post(
            PATH_MERCHANT_ORDERS,
            &request,
            &IdempotencyKey::generate().unwrap(),
        )
        .await
        .unwrap()
}

/// Binds `card` to `wallet`; returns the binding id.
async fn bind(wallet: &Wallet, world_url: &str, card: &TestCard) -> String {
    let pending = wallet
        .begin_binding(&BindingRequest {
            pan: card.pan.into(),
            holder_name: card.holder_name.into(),
            id_number: card.id_number.into(),
            phone: card.phone.into(),
        })
        .await
        .unwrap();
    let code = support::latest_code(world_url, card.phone).await;
    wallet
        .confirm_binding(&pending.session_id, &code)
        .await
        .unwrap()
        .binding_id
}

fn balance(world: &MockWorld, card: &TestCard) -> i64 {
    world
        .state()
        .bank()
        .account(card.pan)
        .unwrap()
        .unwrap()
        .balance_fen
}

fn pay_error(e: WalletError) -> RemotePayError {
    match e {
        WalletError::RemotePay(e) => e,
        other => panic!("not a remote-payment error: {other:?}"),
    }
}

fn password(p: &str) -> PayAuth {
    PayAuth::Password { password: p.into() }
}

#[tokio::test]
async fn pay_an_order_with_the_payment_password() {
    let world = support::mock_world().await;
    let (wallet, _dir) = support::wallet(world.url());
    let card = test_cards::DEBIT;
    let binding = bind(&wallet, world.url(), &card).await;
    let before = balance(&world, &card);

    // No password yet.
    let order = create_order(world.url(), 1_234, None).await;
    let err = pay_error(
        wallet
            .pay_order(&binding, &order.order_id, password(PASSWORD))
            .await
            .unwrap_err(),
    );
    assert!(matches!(err, RemotePayError::PasswordNotSet), "{err:?}");
    // A malformed password never leaves the phone.
    let err = pay_error(
        wallet
            .set_payment_password(&binding, "12ab56")
            .await
            .unwrap_err(),
    );
    assert!(matches!(err, RemotePayError::InvalidPassword), "{err:?}");

    let status = wallet
        .set_payment_password(&binding, PASSWORD)
        .await
        .unwrap();
    assert_eq!(status.attempts_left, 5);
    let fetched = wallet.fetch_order(&order.order_id).await.unwrap();
    assert_eq!(fetched.status, OrderStatus::Pending);
    let payment = wallet
        .pay_order(&binding, &order.order_id, password(PASSWORD))
        .await
        .unwrap();
    assert_eq!(payment.order_id, order.order_id);
    assert_eq!(payment.amount, 1_234);
    assert_eq!(payment.auth, AuthMode::Password);
    assert_eq!(payment.binding_id, binding);
    assert_eq!(balance(&world, &card), before - 1_234);
    let paid = wallet.fetch_order(&order.order_id).await.unwrap();
    assert_eq!(paid.status, OrderStatus::Paid);
    assert_eq!(
        paid.payment_id.as_deref(),
        Some(payment.payment_id.as_str())
    );

    // Paying it again is refused before anything is sent; nothing more is debited.
    let err = pay_error(
        wallet
            .pay_order(&binding, &order.order_id, password(PASSWORD))
            .await
            .unwrap_err(),
    );
    assert!(matches!(err, RemotePayError::OrderAlreadyPaid), "{err:?}");
    assert_eq!(balance(&world, &card), before - 1_234);
    assert_eq!(wallet.payment_history().unwrap(), vec![payment]);
}

#[tokio::test]
async fn pay_an_order_with_an_sms_code_and_sync_the_history() {
    let world = support::mock_world().await;
    let (wallet, _dir) = support::wallet(world.url());
    let card = test_cards::CREDIT;
    let binding = bind(&wallet, world.url(), &card).await;
    let before = balance(&world, &card);
    let order = create_order(world.url(), 8_800, None).await;

    let challenge = wallet
        .request_payment_sms(&binding, &order.order_id)
        .await
        .unwrap();
    let code = support::latest_code(world.url(), card.phone).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let err = pay_error(
        wallet
            .pay_order(
                &binding,
                &order.order_id,
                PayAuth::Sms {
                    challenge_id: challenge.challenge_id.clone(),
                    code: wrong.into(),
                },
            )
            .await
            .unwrap_err(),
    );
    assert!(
        matches!(err, RemotePayError::SmsCodeWrong { attempts_left } if attempts_left > 0),
        "{err:?}"
    );
    let payment = wallet
        .pay_order(
            &binding,
            &order.order_id,
            PayAuth::Sms {
                challenge_id: challenge.challenge_id,
                code,
            },
        )
        .await
        .unwrap();
    assert_eq!(payment.auth, AuthMode::Sms);
    assert_eq!(balance(&world, &card), before - 8_800);

    // Another installation of the same account sees the payment once synchronised.
    let (other, _other_dir) = support::wallet(world.url());
    let other_binding = bind(&other, world.url(), &card).await;
    assert!(other.payment_history().unwrap().is_empty());
    let err = pay_error(other.sync_payment_history("nope").await.unwrap_err());
    assert!(matches!(err, RemotePayError::BindingNotFound), "{err:?}");
    let synced = other.sync_payment_history(&other_binding).await.unwrap();
    assert!(
        synced.is_empty() || synced.iter().all(|p| p.binding_id == other_binding),
        "another binding's payments are not merged: {synced:?}"
    );
    let mine = wallet.sync_payment_history(&binding).await.unwrap();
    assert_eq!(mine, vec![payment]);
}

#[tokio::test]
async fn five_wrong_passwords_lock_the_password_until_a_new_one_is_set() {
    let world = support::mock_world().await;
    let (wallet, _dir) = support::wallet(world.url());
    let card = test_cards::DEBIT;
    let binding = bind(&wallet, world.url(), &card).await;
    wallet
        .set_payment_password(&binding, PASSWORD)
        .await
        .unwrap();
    let before = balance(&world, &card);
    let order = create_order(world.url(), 500, None).await;

    for left in (1..=4).rev() {
        let err = pay_error(
            wallet
                .pay_order(&binding, &order.order_id, password("000000"))
                .await
                .unwrap_err(),
        );
        assert!(
            matches!(err, RemotePayError::PasswordWrong { attempts_left } if attempts_left == left),
            "{err:?}"
        );
    }
    let err = pay_error(
        wallet
            .pay_order(&binding, &order.order_id, password("000000"))
            .await
            .unwrap_err(),
    );
    assert!(matches!(err, RemotePayError::PasswordLocked), "{err:?}");
    // Locked: even the right password is refused.
    let err = pay_error(
        wallet
            .pay_order(&binding, &order.order_id, password(PASSWORD))
            .await
            .unwrap_err(),
    );
    assert!(matches!(err, RemotePayError::PasswordLocked), "{err:?}");
    assert_eq!(balance(&world, &card), before);

    // A new password lifts the lock.
    wallet
        .set_payment_password(&binding, "246802")
        .await
        .unwrap();
    wallet
        .pay_order(&binding, &order.order_id, password("246802"))
        .await
        .unwrap();
    assert_eq!(balance(&world, &card), before - 500);
}

#[tokio::test]
async fn an_expired_order_is_refused_and_nothing_is_debited() {
    let world = support::mock_world().await;
    let (wallet, _dir) = support::wallet(world.url());
    let card = test_cards::DEBIT;
    let binding = bind(&wallet, world.url(), &card).await;
    wallet
        .set_payment_password(&binding, PASSWORD)
        .await
        .unwrap();
    let before = balance(&world, &card);
    let order = create_order(world.url(), 700, Some(60)).await;
    support::advance_clock(world.url(), 120).await;

    let err = pay_error(
        wallet
            .pay_order(&binding, &order.order_id, password(PASSWORD))
            .await
            .unwrap_err(),
    );
    assert!(matches!(err, RemotePayError::OrderExpired), "{err:?}");
    let err = pay_error(
        wallet
            .pay_order(&binding, "ord_unknown", password(PASSWORD))
            .await
            .unwrap_err(),
    );
    assert!(matches!(err, RemotePayError::OrderNotFound), "{err:?}");
    let err = pay_error(
        wallet
            .pay_order(&binding, "../bank", password(PASSWORD))
            .await
            .unwrap_err(),
    );
    assert!(matches!(err, RemotePayError::InvalidOrderId), "{err:?}");
    assert_eq!(balance(&world, &card), before);
    assert!(wallet.payment_history().unwrap().is_empty());
}

#[tokio::test]
async fn a_payment_repeated_after_a_lost_answer_and_a_restart_debits_once() {
    let world = support::mock_world().await;
    let proxy = LossyProxy::start(world.url()).await;
    let (wallet, dir) = support::wallet_with(&proxy.url, |c| c.max_retries = 0);
    let card = test_cards::DEBIT;
    let binding = bind(&wallet, world.url(), &card).await;
    wallet
        .set_payment_password(&binding, PASSWORD)
        .await
        .unwrap();
    let before = balance(&world, &card);
    let order = create_order(world.url(), 2_500, None).await;

    // The RPS debits and answers; the answer is lost on the way back.
    proxy.lose_answers(PATH_RPS_PAYMENTS, 1);
    let err = pay_error(
        wallet
            .pay_order(&binding, &order.order_id, password(PASSWORD))
            .await
            .unwrap_err(),
    );
    assert!(
        matches!(err, RemotePayError::Backend(BackendError::Network(_))),
        "{err:?}"
    );
    assert_eq!(balance(&world, &card), before - 2_500, "the RPS did pay");
    assert_eq!(proxy.lost.lock().unwrap().len(), 1);
    assert!(wallet.payment_history().unwrap().is_empty());

    // The app is restarted, then repeats (even with another proof): the submission stored
    // before it left is re-sent and the RPS answers with the first receipt.
    drop(wallet);
    let mut config = WalletConfig::new(dir.path(), &proxy.url);
    config.max_retries = 0;
    let wallet = Wallet::open(config, None).unwrap();
    let payment = wallet
        .pay_order(&binding, &order.order_id, password("999999"))
        .await
        .unwrap();
    assert_eq!(payment.order_id, order.order_id);
    assert_eq!(balance(&world, &card), before - 2_500, "debited once");
    assert_eq!(wallet.payment_history().unwrap(), vec![payment]);

    // A third call finds nothing pending and the order paid.
    let err = pay_error(
        wallet
            .pay_order(&binding, &order.order_id, password(PASSWORD))
            .await
            .unwrap_err(),
    );
    assert!(matches!(err, RemotePayError::OrderAlreadyPaid), "{err:?}");
    assert_eq!(balance(&world, &card), before - 2_500);
}

#[tokio::test]
async fn the_client_retry_after_a_lost_answer_gets_the_first_receipt() {
    let world = support::mock_world().await;
    let proxy = LossyProxy::start(world.url()).await;
    let (wallet, _dir) = support::wallet_with(&proxy.url, |c| c.max_retries = 2);
    let card = test_cards::DEBIT;
    let binding = bind(&wallet, world.url(), &card).await;
    wallet
        .set_payment_password(&binding, PASSWORD)
        .await
        .unwrap();
    let before = balance(&world, &card);
    let order = create_order(world.url(), 990, None).await;

    proxy.lose_answers(PATH_RPS_PAYMENTS, 1);
    let payment = wallet
        .pay_order(&binding, &order.order_id, password(PASSWORD))
        .await
        .unwrap();
    assert_eq!(proxy.lost.lock().unwrap().len(), 1);
    assert_eq!(balance(&world, &card), before - 990);
    assert_eq!(wallet.payment_history().unwrap(), vec![payment]);
}

#[tokio::test]
async fn an_unbound_binding_can_no_longer_set_a_password() {
    let world = support::mock_world().await;
    let (wallet, _dir) = support::wallet(world.url());
    let binding = bind(&wallet, world.url(), &test_cards::DEBIT).await;
    wallet
        .set_payment_password(&binding, PASSWORD)
        .await
        .unwrap();
    wallet.unbind(&binding).await.unwrap();
    let err = pay_error(
        wallet
            .set_payment_password(&binding, PASSWORD)
            .await
            .unwrap_err(),
    );
    assert!(matches!(err, RemotePayError::BindingNotFound), "{err:?}");
}

/// Binds `card` on a phone with simulated SEs and opens it in `kind`; returns the wallet, the
/// binding and the card's SE id.
async fn phone_with_card(
    world: &MockWorld,
    card: &TestCard,
    kind: ReaderKind,
) -> (Wallet, String, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let se = Arc::new(SimulatedSeTransport::open(dir.path().join("se")).unwrap());
    let wallet = Wallet::open(
        WalletConfig::new(dir.path().join("wallet"), world.url()),
        None,
    )
    .unwrap()
    .with_secure_elements(se)
    .with_ota_config(AgentConfig {
        allow_http: true,
        max_delay: Duration::from_millis(5),
        retry_window: Duration::from_secs(2),
        retry_backoff: Duration::from_millis(20),
        ..AgentConfig::default()
    });
    let binding = bind(&wallet, world.url(), card).await;
    let opened = wallet
        .open_card(&binding, Some(kind), 0, None)
        .await
        .unwrap();
    (wallet, binding, opened.se_id, dir)
}

fn se_auth(se_id: &str, pin: &str) -> PayAuth {
    PayAuth::Se {
        se_id: se_id.into(),
        pin: pin.into(),
    }
}

#[tokio::test]
async fn se_mode_pays_with_the_applet_key_after_the_pin() {
    let world = support::mock_world().await;
    // SM4 profile (SM2 signature) in the eSE, 3DES profile (ECDSA P-256) in the SIM.
    for (card, kind) in [
        (test_cards::DEBIT, ReaderKind::Ese),
        (test_cards::CREDIT, ReaderKind::Sim),
    ] {
        let (wallet, binding, se_id, _dir) = phone_with_card(&world, &card, kind).await;
        let before = balance(&world, &card);
        let order = create_order(world.url(), 4_321, None).await;

        let err = pay_error(
            wallet
                .pay_order(&binding, &order.order_id, se_auth(&se_id, "999999"))
                .await
                .unwrap_err(),
        );
        assert!(
            matches!(err, RemotePayError::PinWrong { attempts_left } if attempts_left > 0),
            "{err:?}"
        );
        let err = pay_error(
            wallet
                .pay_order(&binding, &order.order_id, se_auth(&se_id, "12"))
                .await
                .unwrap_err(),
        );
        assert!(matches!(err, RemotePayError::InvalidPin), "{err:?}");
        let err = pay_error(
            wallet
                .pay_order(
                    &binding,
                    &order.order_id,
                    se_auth("no-such-se", test_cards::TEST_PIN),
                )
                .await
                .unwrap_err(),
        );
        assert!(matches!(err, RemotePayError::NoSeCard), "{err:?}");
        assert_eq!(balance(&world, &card), before);

        let payment = wallet
            .pay_order(
                &binding,
                &order.order_id,
                se_auth(&se_id, test_cards::TEST_PIN),
            )
            .await
            .unwrap();
        assert_eq!(payment.auth, AuthMode::Se);
        assert_eq!(balance(&world, &card), before - 4_321, "{card:?}");
    }
}

#[tokio::test]
async fn se_mode_needs_secure_elements() {
    let world = support::mock_world().await;
    let (wallet, _dir) = support::wallet(world.url());
    let binding = bind(&wallet, world.url(), &test_cards::DEBIT).await;
    let order = create_order(world.url(), 100, None).await;
    let err = pay_error(
        wallet
            .pay_order(&binding, &order.order_id, se_auth("se", "123456"))
            .await
            .unwrap_err(),
    );
    assert!(matches!(err, RemotePayError::SeUnavailable), "{err:?}");
}

/// A platform signer written outside the core (as the Kotlin / Swift shells do), counting its
/// signatures; `rotate` replaces a key behind the bank's back.
#[derive(Debug, Default)]
struct PlatformSigner {
    keys: std::sync::Mutex<std::collections::HashMap<String, P256SigningKey>>,
    signatures: std::sync::atomic::AtomicUsize,
}

impl Signer for PlatformSigner {
    fn generate_key(&self, alias: &str) -> Result<Vec<u8>, SignerError> {
        let key = P256SigningKey::generate().map_err(|e| SignerError::Platform(e.to_string()))?;
        let public = key.public_key_sec1();
        self.keys.lock().unwrap().insert(alias.to_owned(), key);
        Ok(public)
    }
    fn public_key(&self, alias: &str) -> Result<Option<Vec<u8>>, SignerError> {
        Ok(self
            .keys
            .lock()
            .unwrap()
            .get(alias)
            .map(|k| k.public_key_sec1()))
    }
    fn sign(&self, alias: &str, message: &[u8]) -> Result<Vec<u8>, SignerError> {
        self.signatures
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let keys = self.keys.lock().unwrap();
        let key = keys.get(alias).ok_or(SignerError::KeyNotFound)?;
        key.sign(message)
            .map_err(|e| SignerError::Platform(e.to_string()))
    }
    fn delete_key(&self, alias: &str) -> Result<(), SignerError> {
        self.keys.lock().unwrap().remove(alias);
        Ok(())
    }
}

#[tokio::test]
async fn a_platform_signer_holds_the_device_key_and_a_wrong_key_is_rejected() {
    let world = support::mock_world().await;
    let dir = tempfile::tempdir().unwrap();
    let signer = Arc::new(PlatformSigner::default());
    let wallet = Wallet::open_with_signer(
        WalletConfig::new(dir.path(), world.url()),
        None,
        Some(signer.clone()),
    )
    .unwrap();
    let card = test_cards::DEBIT;
    let binding = bind(&wallet, world.url(), &card).await;
    // The bank registered the platform's key.
    let registered = world
        .state()
        .bank()
        .binding_account(&binding)
        .unwrap()
        .unwrap()
        .device_public_key;
    let aliases: Vec<String> = signer.keys.lock().unwrap().keys().cloned().collect();
    assert_eq!(aliases.len(), 1);
    assert_eq!(signer.public_key(&aliases[0]).unwrap(), Some(registered));

    wallet
        .set_payment_password(&binding, PASSWORD)
        .await
        .unwrap();
    let before = balance(&world, &card);
    let order = create_order(world.url(), 600, None).await;
    let signed = signer.signatures.load(std::sync::atomic::Ordering::SeqCst);
    wallet
        .pay_order(&binding, &order.order_id, password(PASSWORD))
        .await
        .unwrap();
    assert_eq!(
        signer.signatures.load(std::sync::atomic::Ordering::SeqCst),
        signed + 1,
        "the payment message was signed by the platform signer"
    );
    assert_eq!(balance(&world, &card), before - 600);

    // A second binding gets its own key; unbinding it deletes that key from the platform.
    let credit = bind(&wallet, world.url(), &test_cards::CREDIT).await;
    assert_eq!(signer.keys.lock().unwrap().len(), 2);
    wallet.unbind(&credit).await.unwrap();
    let left: Vec<String> = signer.keys.lock().unwrap().keys().cloned().collect();
    assert_eq!(left, aliases);

    // The key changes behind the bank's back: the RPS rejects the signature, nothing is debited.
    signer.generate_key(&aliases[0]).unwrap();
    let order = create_order(world.url(), 700, None).await;
    let err = pay_error(
        wallet
            .pay_order(&binding, &order.order_id, password(PASSWORD))
            .await
            .unwrap_err(),
    );
    assert!(matches!(err, RemotePayError::SignatureRejected), "{err:?}");
    assert_eq!(balance(&world, &card), before - 600);
}
