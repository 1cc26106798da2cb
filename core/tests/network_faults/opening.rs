//! Air card opening (eSE over SCP03, microSD over interactive SCP02) and the card's life cycle
//! (lock, unlock, delete through the TSM) under a fault on every call the phone makes: the
//! order, the SERAM handshake, each report, the order-status read.
//!
//! Each case runs on a fresh world: bind (no fault), the set-up (an opening for the life-cycle
//! flows, no fault), then the flow once with the fault armed and no client retry (the SERAM
//! agent's own resume is off too, so the app sees every fault — except in the suite that turns
//! it on, where the TSM must recognise the agent's repeats and late copies), then the app
//! repeats it — in the same process or after re-opening the wallet from its directory — until
//! it succeeds. After the faulted run and at the end, a card the wallet lists as active is
//! usable on the SE. At the end: the TSM holds exactly one card of the account on the SE, in
//! the requested state; the SE holds exactly one personalised payment instance (none after a
//! delete); the wallet lists exactly one card, in the same state; the e-cash load was debited
//! once — and, after a delete, the card's e-cash was credited back once (the account is where it
//! was before the opening) and the wallet reports that refund.

use crate::harness::{describe, label, run_suite, Case, FaultyWorld, CLIENT_TIMEOUT};
use crate::support;
use mock_backend::bank::test_cards::DEBIT;
use mock_backend::se_sim::{Body, SimulatedSeTransport};
use mock_backend::tsm::records::CardState as TsmState;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use wallet_core::backend::BackendError;
use wallet_core::ota::{AgentConfig, OtaError};
use wallet_core::se::ReaderKind;
use wallet_core::tsm::{CardError, CardState, SeCard};
use wallet_core::{Wallet, WalletConfig, WalletError};

/// E-cash loaded at opening (fen).
const LOAD: u64 = 1_000;
/// Longest a faulted run (or a repeat) may take before it counts as a hang.
const HANG: Duration = Duration::from_secs(20);
/// How many times the app repeats an operation that failed transiently after the fault.
const REPEATS: usize = 3;
/// Cases run at the same time.
const PARALLEL: usize = 6;

/// What the flow under test does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// `open_card` on the eSE (SCP03) with an e-cash load.
    Open,
    /// `open_card` on the microSD (interactive SCP02: one more batch) with an e-cash load.
    OpenSd,
    /// `open_card` on the eSE with the SERAM agent's own resume on (it repeats a report whose
    /// answer it did not get, as the spec asks): the TSM must recognise the repeat.
    OpenResuming,
    /// `lock_card` of an opened card.
    Lock,
    /// `unlock_card` of a locked card.
    Unlock,
    /// `delete_card` of an opened card.
    Delete,
}

impl Flow {
    /// The state the card ends in.
    fn target(self) -> CardState {
        match self {
            Flow::Open | Flow::OpenSd | Flow::OpenResuming | Flow::Unlock => CardState::Active,
            Flow::Lock => CardState::Locked,
            Flow::Delete => CardState::Deleted,
        }
    }

    /// The SE the card is on.
    fn kind(self) -> ReaderKind {
        match self {
            Flow::OpenSd => ReaderKind::Sd,
            _ => ReaderKind::Ese,
        }
    }

    /// Whether the flow opens a card.
    fn opens(self) -> bool {
        matches!(self, Flow::Open | Flow::OpenSd | Flow::OpenResuming)
    }
}

/// The SERAM agent of these suites: fast polling, the suites' request timeout, and no resume
/// of its own (retry window zero) unless `resume`.
fn agent_config(resume: bool) -> AgentConfig {
    AgentConfig {
        allow_http: true,
        request_timeout: CLIENT_TIMEOUT,
        connect_timeout: CLIENT_TIMEOUT,
        max_delay: Duration::from_millis(5),
        retry_window: if resume {
            Duration::from_secs(3)
        } else {
            Duration::ZERO
        },
        retry_backoff: Duration::from_millis(10),
        ..AgentConfig::default()
    }
}

/// A phone with simulated SEs, its wallet pointed at the proxy without client retries.
struct Phone {
    /// The flow under test (decides the SE and the agent's settings).
    flow: Flow,
    wallet: Wallet,
    se: Arc<SimulatedSeTransport>,
    binding_id: String,
    dir: tempfile::TempDir,
}

/// Opens the wallet and SEs kept in `dir` (first start or app restart; the store of a wallet
/// just dropped may stay locked for a moment).
fn open_phone(dir: &Path, url: &str, flow: Flow) -> (Wallet, Arc<SimulatedSeTransport>) {
    let se = Arc::new(SimulatedSeTransport::open(dir.join("se")).expect("SEs open"));
    let mut config = WalletConfig::new(dir.join("wallet"), url);
    config.request_timeout = CLIENT_TIMEOUT;
    config.max_retries = 0;
    let mut tries = 0;
    let wallet = loop {
        match Wallet::open(config.clone(), None) {
            Ok(wallet) => break wallet,
            Err(_) if tries < 50 => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => panic!("the store does not open: {e:?}"),
        }
    };
    let wallet = wallet
        .with_secure_elements(se.clone())
        .with_ota_config(agent_config(flow == Flow::OpenResuming));
    (wallet, se)
}

impl Phone {
    /// A bound phone (no fault armed).
    async fn bound(fw: &FaultyWorld, flow: Flow) -> Phone {
        let dir = tempfile::tempdir().expect("tempdir");
        let (wallet, se) = open_phone(dir.path(), fw.url(), flow);
        let binding = support::bind_test_card(&wallet, fw.direct_url(), &DEBIT).await;
        Phone {
            flow,
            wallet,
            se,
            binding_id: binding.binding_id,
            dir,
        }
    }

    /// The app restarts: the wallet and its SEs are dropped, then opened again from the same
    /// directory.
    fn restart(self, url: &str) -> Phone {
        let Phone {
            flow,
            wallet,
            se,
            binding_id,
            dir,
        } = self;
        drop((wallet, se));
        let (wallet, se) = open_phone(dir.path(), url, flow);
        Phone {
            flow,
            wallet,
            se,
            binding_id,
            dir,
        }
    }

    fn se_id(&self) -> String {
        self.se.se_id(self.flow.kind())
    }

    /// Runs `flow` once.
    async fn run(&self, flow: Flow) -> Result<SeCard, WalletError> {
        let (w, b, se_id) = (&self.wallet, self.binding_id.as_str(), self.se_id());
        match flow {
            Flow::Open | Flow::OpenSd | Flow::OpenResuming => {
                w.open_card(b, Some(flow.kind()), LOAD, None).await
            }
            Flow::Lock => w.lock_card(b, &se_id).await,
            Flow::Unlock => w.unlock_card(b, &se_id).await,
            Flow::Delete => w.delete_card(b, &se_id).await,
        }
    }
}

/// Whether `e` is one of the clean failures a network fault may cause: the network, a timeout,
/// a gateway's 5xx, an answer cut short, or the TSM reporting the order it could not finish.
fn is_network_failure(e: &WalletError) -> bool {
    let backend = |b: &BackendError| {
        matches!(b, BackendError::Network(_) | BackendError::Timeout)
            || matches!(b, BackendError::Rejected { status, .. } if *status >= 500)
            || matches!(b, BackendError::Protocol(_))
    };
    match e {
        WalletError::Card(CardError::Backend(b)) | WalletError::Backend(b) => backend(b),
        WalletError::Card(CardError::Ota(o)) => match o {
            OtaError::Network(b) => backend(b),
            OtaError::RemoteAgent { status } => *status >= 500,
            OtaError::MalformedMessage(_) | OtaError::SessionNotFound => true,
            _ => false,
        },
        WalletError::Card(CardError::OrderFailed { .. }) => true,
        _ => false,
    }
}

/// Sets up what `flow` starts from (no fault).
async fn set_up(phone: &Phone, flow: Flow) {
    if flow.opens() {
        return;
    }
    phone.run(Flow::Open).await.expect("set-up opening");
    if flow == Flow::Unlock {
        phone.run(Flow::Lock).await.expect("set-up lock");
    }
}

/// The payment instances on the SE of `kind`: (AID, personalised, selectable).
fn se_instances(phone: &Phone, kind: ReaderKind) -> Vec<(String, bool, bool)> {
    let card = phone.se.se(kind);
    let card = card.lock().expect("SE lock");
    card.registry()
        .entries
        .iter()
        .filter(|e| {
            e.aid
                .as_bytes()
                .starts_with(&[0xA0, 0x00, 0x00, 0x03, 0x33, 0x01])
        })
        .map(|e| {
            (
                hex::encode_upper(e.aid.as_bytes()),
                matches!(&e.body, Body::Applet(a) if a.is_personalized()),
                e.life_cycle.is_selectable(),
            )
        })
        .collect()
}

/// A card the wallet lists as active is usable: its SE holds one personalised, selectable
/// (unlocked) payment instance.
fn check_active_is_usable(phone: &Phone, what: &str) {
    for card in phone.wallet.cards_in_se().expect("wallet cards") {
        if card.state == CardState::Active {
            let kind = card.reader_kind.expect("an SE kind");
            let instances = se_instances(phone, kind);
            assert!(
                instances.len() == 1 && instances[0].1 && instances[0].2,
                "{what}: listed active, but the SE holds {instances:?}"
            );
        }
    }
}

/// Checks the servers, the SE and the wallet after `flow` succeeded.
async fn check_invariants(fw: &FaultyWorld, phone: &Phone, flow: Flow, what: &str) {
    let se_id = phone.se_id();
    let tsm: Vec<_> = fw
        .world
        .state()
        .tsm()
        .records()
        .cards_on(&se_id)
        .expect("TSM records")
        .into_iter()
        .filter(|c| c.binding_id == phone.binding_id)
        .collect();
    assert_eq!(tsm.len(), 1, "{what}: TSM cards {tsm:?}");
    let expected_tsm = match flow.target() {
        CardState::Active => TsmState::Active,
        CardState::Locked => TsmState::Locked,
        _ => TsmState::Absent,
    };
    assert_eq!(tsm[0].state, expected_tsm, "{what}: TSM state");

    // The SE: one personalised payment instance (none once deleted).
    let instances = se_instances(phone, flow.kind());
    if flow == Flow::Delete {
        assert!(instances.is_empty(), "{what}: SE instances {instances:?}");
    } else {
        assert_eq!(instances.len(), 1, "{what}: SE instances {instances:?}");
        assert!(instances[0].1, "{what}: instance not personalised");
    }

    // The wallet agrees with the TSM.
    let cards = phone.wallet.cards_in_se().expect("wallet cards");
    assert_eq!(cards.len(), 1, "{what}: wallet cards {cards:?}");
    assert_eq!(cards[0].state, flow.target(), "{what}: wallet state");
    let active = cards
        .iter()
        .filter(|c| c.state == CardState::Active)
        .count();
    assert_eq!(active, usize::from(flow.target() == CardState::Active));
    if flow.target() == CardState::Active {
        let balance = phone
            .wallet
            .ecash_balance(&phone.binding_id, &se_id)
            .await
            .expect("an active card answers");
        assert_eq!(balance, LOAD, "{what}: e-cash on the card");
    }

    // The initial load was debited from the account exactly once; a deletion credited the
    // card's e-cash (nothing was spent: all of it) back exactly once.
    if flow == Flow::Delete {
        assert_eq!(
            cards[0].ecash_refunded,
            Some(LOAD),
            "{what}: refund reported"
        );
        assert_eq!(
            cards[0].ecash_balance, None,
            "{what}: e-cash left on a deleted card"
        );
    }
    let account = fw
        .world
        .state()
        .bank()
        .account(DEBIT.pan)
        .expect("bank")
        .expect("account");
    let opening_balance = DEBIT.balance_fen;
    let kept = if flow == Flow::Delete {
        0
    } else {
        i64::try_from(LOAD).expect("small")
    };
    assert_eq!(
        opening_balance - account.balance_fen,
        kept,
        "{what}: account debited {} fen",
        opening_balance - account.balance_fen
    );
}

/// One case: set-up, the faulted run, the app's repeats, the invariants. Returns whether the
/// faulted run succeeded.
async fn run_case(flow: Flow, case: Case, calls: Arc<Vec<String>>) -> bool {
    let what = format!("{flow:?}: {}", label(case, &calls));
    let fw = FaultyWorld::start().await;
    let mut phone = Phone::bound(&fw, flow).await;
    set_up(&phone, flow).await;
    fw.arm(case);
    let first = tokio::time::timeout(HANG, phone.run(flow))
        .await
        .unwrap_or_else(|_| panic!("{what}: hung"));
    let first_ok = match &first {
        Ok(card) => {
            assert_eq!(card.state, flow.target(), "{what}");
            true
        }
        Err(e) => {
            assert!(is_network_failure(e), "{what}: not a clean failure: {e:?}");
            // Never reported active before the TSM confirmed it.
            if flow.opens() {
                let cards = phone.wallet.cards_in_se().expect("wallet cards");
                assert!(
                    cards.iter().all(|c| c.state != CardState::Active),
                    "{what}: {cards:?}"
                );
            }
            false
        }
    };
    check_active_is_usable(&phone, &format!("{what}, after the faulted run"));
    let seen = fw.exchanges();
    assert!(
        seen.iter().any(|e| e.fault.is_some()) || case.call >= seen.len(),
        "{what}: the fault was not applied: {:?}",
        describe(&seen)
    );
    fw.learn(); // no more faults
    if !first_ok {
        if case.index % 2 == 1 {
            phone = phone.restart(fw.url());
        }
        let mut attempt = 0;
        loop {
            let again = tokio::time::timeout(HANG, phone.run(flow))
                .await
                .unwrap_or_else(|_| panic!("{what}: the repeat hung"));
            match again {
                Ok(card) => {
                    assert_eq!(card.state, flow.target(), "{what}: repeat");
                    break;
                }
                Err(e) if attempt < REPEATS && is_network_failure(&e) => attempt += 1,
                Err(e) => panic!("{what}: the repeat failed: {e:?} (first: {first:?})"),
            }
        }
    }
    check_active_is_usable(&phone, &what);
    check_invariants(&fw, &phone, flow, &what).await;
    fw.shutdown().await;
    first_ok
}

/// Runs `flow` once cleanly and returns its calls.
async fn learn(flow: Flow) -> Vec<String> {
    let fw = FaultyWorld::start().await;
    let phone = Phone::bound(&fw, flow).await;
    set_up(&phone, flow).await;
    fw.learn();
    let card = phone.run(flow).await.expect("clean run");
    assert_eq!(card.state, flow.target());
    let calls = describe(&fw.exchanges());
    check_invariants(&fw, &phone, flow, &format!("{flow:?} clean")).await;
    fw.shutdown().await;
    calls
}

/// Every call × every fault of `flow`, [`PARALLEL`] at a time.
async fn suite(flow: Flow) {
    run_suite(
        &format!("{flow:?}"),
        PARALLEL,
        move |case, calls| async move {
            match case {
                None => (true, learn(flow).await),
                Some(case) => (run_case(flow, case, Arc::new(calls.clone())).await, calls),
            }
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn card_opening_under_a_fault_on_every_call() {
    suite(Flow::Open).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_under_a_fault_on_every_call() {
    suite(Flow::Lock).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unlock_under_a_fault_on_every_call() {
    suite(Flow::Unlock).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_under_a_fault_on_every_call() {
    suite(Flow::Delete).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn microsd_card_opening_under_a_fault_on_every_call() {
    suite(Flow::OpenSd).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn card_opening_with_the_agents_resume_under_a_fault_on_every_call() {
    suite(Flow::OpenResuming).await;
}
