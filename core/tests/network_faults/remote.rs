//! Remote payment under network faults: setting the payment password, asking for an SMS code,
//! paying an order (password, SMS code, SE applet) and syncing the payment history.
//!
//! Each flow is learnt cleanly, then run once per call and per fault on a fresh world, the
//! wallet without client retries: the run ends in success or a typed error (never a panic or a
//! hang); the app then repeats the operation — once on the same wallet, and if that fails,
//! after restarting the app (the wallet re-opened from its directory) — and must succeed. The
//! servers' books must then show the order paid exactly once: one receipt at the RPS, the
//! merchant's order paid, the bank debited by the amount once, one clearing entry, and the
//! payment once in the phone's history.

use crate::harness::{describe, label, run_suite, Case, FaultyWorld, CLIENT_TIMEOUT, DELAY};
use crate::support;
use mock_backend::bank::test_cards::{self, TestCard};
use mock_backend::fault_proxy::Fault;
use mock_backend::rps::payment_id_of;
use mock_backend::se_sim::SimulatedSeTransport;
use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use wallet_core::ota::AgentConfig;
use wallet_core::remote::{PayAuth, RemotePayError, RemotePayment};
use wallet_core::se::ReaderKind;
use wallet_core::{Wallet, WalletConfig, WalletError};

#[allow(dead_code)]
#[path = "../remote_pay/helpers.rs"]
mod helpers;
use helpers::{balance, bind, create_order, PASSWORD};

/// Most time one faulted run (or one repeat) may take before it counts as a hang.
const RUN_LIMIT: Duration = Duration::from_secs(10);
/// Cases run at the same time (each on its own world).
const PARALLEL: usize = 6;
/// The amount of every order, fen.
const AMOUNT: u64 = 1_234;

/// How the payer proves themselves in a flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Password,
    Sms,
    Se,
}

/// A phone bound to the test debit card, behind the world's proxy, without client retries.
struct Phone {
    fw: FaultyWorld,
    /// `None` only while the app restarts.
    wallet: Option<Wallet>,
    dir: tempfile::TempDir,
    binding: String,
    card: TestCard,
    /// The SE id of the card opened in the eSE (SE mode).
    se_id: Option<String>,
}

/// Wallet configuration of these suites: the proxy, short timeout, no client retry.
fn config(dir: &Path, url: &str) -> WalletConfig {
    let mut config = WalletConfig::new(dir.join("wallet"), url);
    config.request_timeout = CLIENT_TIMEOUT;
    config.max_retries = 0;
    config
}

/// Opens the wallet in `dir` (with its simulated SEs under `dir/se` when `se`).
fn open_wallet(dir: &Path, url: &str, se: bool) -> Wallet {
    let wallet = Wallet::open(config(dir, url), None).expect("the wallet opens");
    if !se {
        return wallet;
    }
    let transport =
        Arc::new(SimulatedSeTransport::open(dir.join("se")).expect("the simulated SEs open"));
    wallet
        .with_secure_elements(transport)
        .with_ota_config(AgentConfig {
            allow_http: true,
            max_delay: Duration::from_millis(5),
            retry_window: Duration::from_secs(2),
            retry_backoff: Duration::from_millis(20),
            ..AgentConfig::default()
        })
}

impl Phone {
    /// A fresh world and phone: bound, with a password (password mode) or a card opened in
    /// the eSE (SE mode) — all without faults.
    async fn start(mode: Mode) -> Phone {
        let fw = FaultyWorld::start().await;
        let dir = tempfile::tempdir().expect("tempdir");
        let wallet = open_wallet(dir.path(), fw.url(), mode == Mode::Se);
        let card = test_cards::DEBIT;
        let binding = bind(&wallet, fw.direct_url(), &card).await;
        let mut se_id = None;
        match mode {
            Mode::Password => {
                wallet
                    .set_payment_password(&binding, PASSWORD)
                    .await
                    .expect("password set");
            }
            Mode::Se => {
                let opened = wallet
                    .open_card(&binding, Some(ReaderKind::Ese), 0, None)
                    .await
                    .expect("card opened");
                se_id = Some(opened.se_id);
            }
            Mode::Sms => {}
        }
        Phone {
            fw,
            wallet: Some(wallet),
            dir,
            binding,
            card,
            se_id,
        }
    }

    /// The app is killed and started again: the wallet re-opened from its directory.
    fn restart(&mut self) {
        // Closed first: the store is exclusive to one open wallet.
        self.wallet = None;
        self.wallet = Some(open_wallet(
            self.dir.path(),
            self.fw.url(),
            self.se_id.is_some(),
        ));
    }

    /// The app's wallet.
    fn wallet(&self) -> &Wallet {
        self.wallet.as_ref().expect("the app is running")
    }

    /// The credential of `mode` for paying `order_id` (SMS: asks for a code and reads it).
    async fn auth(&self, mode: Mode, order_id: &str) -> Result<PayAuth, WalletError> {
        Ok(match mode {
            Mode::Password => PayAuth::Password {
                password: PASSWORD.into(),
            },
            Mode::Se => PayAuth::Se {
                se_id: self.se_id.clone().unwrap_or_default(),
                pin: test_cards::TEST_PIN.into(),
            },
            Mode::Sms => {
                let challenge = self
                    .wallet()
                    .request_payment_sms(&self.binding, order_id)
                    .await?;
                let code = support::latest_code(self.fw.direct_url(), self.card.phone).await;
                PayAuth::Sms {
                    challenge_id: challenge.challenge_id,
                    code,
                }
            }
        })
    }

    /// The app's "pay" button: credential, then payment. An order answered "already paid"
    /// whose receipt this phone holds (an earlier submission's, re-sent while asking for the
    /// SMS code) is shown as paid.
    async fn pay(&self, mode: Mode, order_id: &str) -> Result<RemotePayment, WalletError> {
        let result = match self.auth(mode, order_id).await {
            Ok(auth) => self.wallet().pay_order(&self.binding, order_id, auth).await,
            Err(e) => Err(e),
        };
        match result {
            Err(WalletError::RemotePay(RemotePayError::OrderAlreadyPaid)) => self
                .wallet()
                .payment_history()?
                .into_iter()
                .find(|p| p.order_id == order_id)
                .ok_or(WalletError::RemotePay(RemotePayError::OrderAlreadyPaid)),
            other => other,
        }
    }

    fn balance(&self) -> i64 {
        balance(&self.fw.world, &self.card)
    }
}

/// Runs `op` bounded by [`RUN_LIMIT`]: a hang fails the case.
async fn bounded<T>(what: &str, op: impl Future<Output = T>) -> T {
    tokio::time::timeout(RUN_LIMIT, op)
        .await
        .unwrap_or_else(|_| panic!("{what}: no outcome within {RUN_LIMIT:?} (a hang)"))
}

/// After a delayed exchange the server executes the request late: a user repeating "a moment
/// later" does so once it has.
async fn let_late_requests_land(case: Option<Case>) {
    if let Some(Case {
        fault: Fault::Delay(_),
        ..
    }) = case
    {
        tokio::time::sleep(DELAY.saturating_sub(CLIENT_TIMEOUT) + Duration::from_millis(150)).await;
    }
}

/// Repeats an operation as the app would after a failure: on the same wallet, then after a
/// restart (`|p| op` borrows the phone as `p`).
macro_rules! repeat {
    ($phone:ident, $what:expr, $case:expr, |$p:ident| $op:expr) => {{
        let_late_requests_land($case).await;
        let again = {
            let $p = &$phone;
            bounded($what, $op).await
        };
        match again {
            Ok(value) => value,
            Err(first) => {
                $phone.restart();
                let $p = &$phone;
                bounded($what, $op).await.unwrap_or_else(|e| {
                    panic!("{}: repeated after {first:?} and a restart: {e:?}", $what)
                })
            }
        }
    }};
}

/// One payment run in `mode`, the fault of `case` armed (`None`: learning run). Returns whether
/// the first try succeeded and the exchanges of the faulted (or learnt) run.
async fn payment_case(mode: Mode, case: Option<Case>, calls: Vec<String>) -> (bool, Vec<String>) {
    let mut phone = Phone::start(mode).await;
    let order = create_order(phone.fw.direct_url(), AMOUNT, None).await;
    let before = phone.balance();
    let what = case.map_or_else(|| "learning run".to_owned(), |c| label(c, &calls));
    let what = format!("{mode:?} payment, {what}");
    match case {
        Some(case) => phone.fw.arm(case),
        None => phone.fw.learn(),
    }
    let first = bounded(&what, phone.pay(mode, &order.order_id)).await;
    let exchanges = describe(&phone.fw.exchanges());
    let first_ok = first.is_ok();
    if case.is_none() {
        assert!(first_ok, "{what}: {first:?}");
    }
    let payment = match first {
        Ok(payment) => payment,
        Err(e) => {
            assert!(
                matches!(e, WalletError::RemotePay(_)),
                "{what}: not a typed payment error: {e:?}"
            );
            repeat!(phone, &what, case, |p| p.pay(mode, &order.order_id))
        }
    };
    check_paid_once(&phone, &order.order_id, &payment, before, &what);
    (first_ok, exchanges)
}

/// The books after a payment: paid exactly once everywhere.
fn check_paid_once(
    phone: &Phone,
    order_id: &str,
    payment: &RemotePayment,
    before: i64,
    what: &str,
) {
    let state = phone.fw.world.state();
    assert_eq!(payment.order_id, order_id, "{what}");
    assert_eq!(payment.amount, AMOUNT, "{what}");
    assert_eq!(
        phone.balance(),
        before - AMOUNT as i64,
        "{what}: the bank debited once"
    );
    let receipts = state.rps().history(&phone.binding).expect("RPS history");
    let paid: Vec<_> = receipts.iter().filter(|r| r.order_id == order_id).collect();
    assert_eq!(paid.len(), 1, "{what}: one receipt at the RPS");
    assert_eq!(paid[0].payment_id, payment_id_of(order_id), "{what}");
    let order = state
        .merchant()
        .order(order_id, state.clock().now())
        .expect("the order");
    assert_eq!(
        order.payment_id.as_deref(),
        Some(payment.payment_id.as_str()),
        "{what}: the merchant's order is paid by it"
    );
    let entry = state
        .clearing()
        .entry(&payment.payment_id)
        .expect("clearing readable")
        .unwrap_or_else(|| panic!("{what}: no clearing entry"));
    assert_eq!(entry.amount, AMOUNT, "{what}");
    let local = phone.wallet().payment_history().expect("local history");
    assert_eq!(
        local.iter().filter(|p| p.order_id == order_id).count(),
        1,
        "{what}: once in the phone's history"
    );
}

/// One set-password run (the password is then used to pay: it must be the one set).
async fn password_case(case: Option<Case>, calls: Vec<String>) -> (bool, Vec<String>) {
    let mut phone = Phone::start(Mode::Sms).await;
    let what = case.map_or_else(|| "learning run".to_owned(), |c| label(c, &calls));
    let what = format!("set-password, {what}");
    match case {
        Some(case) => phone.fw.arm(case),
        None => phone.fw.learn(),
    }
    let first = bounded(
        &what,
        phone
            .wallet()
            .set_payment_password(&phone.binding, PASSWORD),
    )
    .await;
    let exchanges = describe(&phone.fw.exchanges());
    let first_ok = first.is_ok();
    if !first_ok {
        repeat!(phone, &what, case, |p| p
            .wallet()
            .set_payment_password(&p.binding, PASSWORD));
    }
    phone.fw.learn();
    let order = create_order(phone.fw.direct_url(), AMOUNT, None).await;
    let before = phone.balance();
    let payment = bounded(&what, phone.pay(Mode::Password, &order.order_id))
        .await
        .unwrap_or_else(|e| panic!("{what}: paying with the password set: {e:?}"));
    check_paid_once(&phone, &order.order_id, &payment, before, &what);
    (first_ok, exchanges)
}

/// One history-sync run: a payment made cleanly, then the sync faulted.
async fn history_case(case: Option<Case>, calls: Vec<String>) -> (bool, Vec<String>) {
    let mut phone = Phone::start(Mode::Password).await;
    let order = create_order(phone.fw.direct_url(), AMOUNT, None).await;
    let before = phone.balance();
    let payment = phone
        .pay(Mode::Password, &order.order_id)
        .await
        .expect("a clean payment");
    let what = case.map_or_else(|| "learning run".to_owned(), |c| label(c, &calls));
    let what = format!("history sync, {what}");
    match case {
        Some(case) => phone.fw.arm(case),
        None => phone.fw.learn(),
    }
    let first = bounded(&what, phone.wallet().sync_payment_history(&phone.binding)).await;
    let exchanges = describe(&phone.fw.exchanges());
    let first_ok = first.is_ok();
    let synced = match first {
        Ok(synced) => synced,
        Err(_) => {
            repeat!(phone, &what, case, |p| p
                .wallet()
                .sync_payment_history(&p.binding))
        }
    };
    assert_eq!(synced, vec![payment.clone()], "{what}: merged once");
    check_paid_once(&phone, &order.order_id, &payment, before, &what);
    (first_ok, exchanges)
}

/// Which flow a suite runs.
#[derive(Debug, Clone, Copy)]
enum Flow {
    Pay(Mode),
    SetPassword,
    History,
}

async fn run_case(flow: Flow, case: Option<Case>, calls: Vec<String>) -> (bool, Vec<String>) {
    match flow {
        Flow::Pay(mode) => payment_case(mode, case, calls).await,
        Flow::SetPassword => password_case(case, calls).await,
        Flow::History => history_case(case, calls).await,
    }
}

/// Every (call, fault) case of `flow`, [`PARALLEL`] at a time.
async fn suite(flow: Flow) {
    run_suite(&format!("{flow:?}"), PARALLEL, |case, calls| {
        run_case(flow, case, calls)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_payment_survives_every_fault() {
    suite(Flow::Pay(Mode::Password)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sms_payment_survives_every_fault() {
    suite(Flow::Pay(Mode::Sms)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn se_payment_survives_every_fault() {
    suite(Flow::Pay(Mode::Se)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_password_survives_every_fault() {
    suite(Flow::SetPassword).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_sync_survives_every_fault() {
    suite(Flow::History).await;
}
