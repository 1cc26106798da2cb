//! The POS terminal's online calls under network faults: an online purchase, the upload of an
//! offline (e-cash) advice, an e-cash load (authorisation + issuer script), and a load the card
//! refuses (authorisation + reversal).
//!
//! The terminal ([`mock_backend::pos::Terminal`]) reaches the acquirer through the proxy with no
//! retry of its own, and keeps a reversal journal. Each flow is learnt cleanly, then run once per
//! call and per fault on a fresh world: the run must end in an outcome or a typed error (never a
//! panic or a hang); the terminal then does what a terminal does next — taps again, uploads its
//! advices again, restarts (a new terminal on the same journal) — until the flow converges. The
//! books must then balance: the bank debited exactly the amount once (what a load debits is on
//! the card), clearing's net total the same (a reversed authorisation nets out), no
//! authorisation applied twice, and the terminal's journal empty.

use crate::harness::{describe, label, run_suite, Case, FaultyWorld, CLIENT_TIMEOUT, DELAY};
use mock_backend::bank::test_cards;
use mock_backend::clearing::date::Day;
use mock_backend::fault_proxy::Fault;
use mock_backend::pos::{
    AcquirerLink, Decision, ReversalJournal, TapError, TapOutcome, Terminal, TerminalConfig,
    TransactionType,
};
use std::future::Future;
use std::path::Path;
use std::time::Duration;
use wallet_core::backend::api::clearing::ClearingChannel;
use wallet_core::backend::{BackendClient, ClientConfig};
use wallet_core::card::CardCrypto;

#[path = "../../../mock-backend/tests/support/ecash_card.rs"]
mod ecash_card;
use ecash_card::{card, Card};

/// Most time one faulted run (or a repeat) may take before it counts as a hang.
const RUN_LIMIT: Duration = Duration::from_secs(10);
/// Cases run at the same time (each on its own world).
const PARALLEL: usize = 6;
/// An online purchase: above the terminal's floor limit (¥500), below its CVM limit.
const PURCHASE: u64 = 60_000;
/// An offline e-cash purchase (within the floor limit and the card's balance).
const OFFLINE: u64 = 1_200;
/// An e-cash load.
const LOAD: u64 = 5_000;
/// The card's e-cash balance at the start.
const ECASH: u64 = 10_000;
/// Most attempts of the terminal before a flow must have converged.
const ATTEMPTS: usize = 3;

/// The flows of the terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    /// Online purchase (ARQC → authorisation).
    Purchase,
    /// Offline purchase, then the advice upload.
    Advice,
    /// E-cash load (authorisation, issuer script).
    Load,
    /// E-cash load whose script the card refuses (authorisation, reversal).
    RefusedLoad,
}

/// A terminal behind the proxy: no retry, the suite's timeout, its journal in `journal`.
fn terminal(fw: &FaultyWorld, journal: &Path) -> Terminal {
    let mut config = ClientConfig::new(fw.url());
    config.max_retries = 0;
    config.request_timeout = CLIENT_TIMEOUT;
    let link = AcquirerLink::with_client(BackendClient::new(config).expect("client"));
    Terminal::new(TerminalConfig::default(), Some(link))
        .with_journal(ReversalJournal::open(journal).expect("journal"))
}

/// Runs `op` bounded by [`RUN_LIMIT`]: a hang fails the case.
async fn bounded<T>(what: &str, op: impl Future<Output = T>) -> T {
    tokio::time::timeout(RUN_LIMIT, op)
        .await
        .unwrap_or_else(|_| panic!("{what}: no outcome within {RUN_LIMIT:?} (a hang)"))
}

/// One attempt of `flow`; `Ok(true)` when it completed as it should.
async fn attempt(flow: Flow, terminal: &mut Terminal, card: &mut Card) -> Result<bool, String> {
    let typed = |outcome: TapOutcome| outcome.result.map_err(|e: TapError| e.to_string());
    match flow {
        Flow::Purchase => {
            let tx = typed(
                terminal
                    .tap(card, PURCHASE, TransactionType::Purchase)
                    .await,
            )?;
            Ok(tx.decision == Decision::ApprovedOnline)
        }
        Flow::Advice => {
            if terminal.pending_advices().is_empty() {
                let tx = typed(terminal.tap(card, OFFLINE, TransactionType::Purchase).await)?;
                if tx.decision != Decision::ApprovedOffline {
                    return Err(format!("not approved offline: {:?}", tx.decision));
                }
            }
            let answers = terminal.upload_advices().await.map_err(|e| e.to_string())?;
            Ok(answers.iter().all(|a| a.accepted))
        }
        Flow::Load | Flow::RefusedLoad => {
            let tx = typed(terminal.load(card, LOAD).await)?;
            Ok(tx.decision == Decision::ApprovedOnline)
        }
    }
}

/// The books of a world, relative to the start: (bank delta, clearing net, online entries not
/// reversed, offline entries).
fn books(fw: &FaultyWorld, start_balance: i64) -> (i64, i64, usize, usize) {
    let state = fw.world.state();
    let balance = state
        .bank()
        .account(test_cards::DEBIT.pan)
        .expect("bank readable")
        .expect("the account")
        .balance_fen;
    let day = Day::beijing(state.clock().now());
    let batch = state.clearing().batch(&day).expect("clearing readable");
    let (mut net, mut online, mut offline) = (0i64, 0i64, 0usize);
    for entry in &batch.transactions {
        match entry.channel {
            ClearingChannel::PosOnline => {
                net += entry.amount as i64;
                online += 1;
            }
            ClearingChannel::Reversal => {
                net -= entry.amount as i64;
                online -= 1;
            }
            ClearingChannel::PosOffline => {
                net += entry.amount as i64;
                offline += 1;
            }
            _ => {}
        }
    }
    let online = usize::try_from(online).expect("never more reversals than authorisations");
    (balance - start_balance, net, online, offline)
}

/// One run of `flow` with the fault of `case` (`None`: learning run). Returns whether the first
/// attempt completed and the exchanges of that attempt.
async fn run_case(flow: Flow, case: Option<Case>, calls: Vec<String>) -> (bool, Vec<String>) {
    let fw = FaultyWorld::start().await;
    let journal = tempfile::tempdir().expect("tempdir");
    let mut terminal = terminal(&fw, journal.path());
    let mut card = card(CardCrypto::Tdes, ECASH);
    card.tamper = flow == Flow::RefusedLoad;
    let start_balance = books(&fw, 0).0;
    let what = case.map_or_else(|| "learning run".to_owned(), |c| label(c, &calls));
    let what = format!("{flow:?}, {what}");
    match case {
        Some(case) => fw.arm(case),
        None => fw.learn(),
    }
    let first = bounded(&what, attempt(flow, &mut terminal, &mut card)).await;
    let exchanges = describe(&fw.exchanges());
    // Completed as it should: approved, or (the refused load) declined and reversed at once.
    let first_ok = first == Ok(flow != Flow::RefusedLoad)
        && terminal
            .journal()
            .is_some_and(|j| j.pending().is_ok_and(|open| open.is_empty()));
    if case.is_none() {
        assert!(first_ok, "{what}: {first:?}");
    }
    if let Some(Case {
        fault: Fault::Delay(_),
        ..
    }) = case
    {
        // The delayed request reaches the server late: let it land before going on.
        tokio::time::sleep(DELAY.saturating_sub(CLIENT_TIMEOUT) + Duration::from_millis(150)).await;
    }
    if flow == Flow::RefusedLoad {
        // The refused load must have moved nothing, once resolved (now, or by a restarted
        // terminal): then the card is fixed and loaded for real.
        card.tamper = false;
    }
    let mut done = first_ok && flow != Flow::RefusedLoad;
    for round in 0..ATTEMPTS {
        if done {
            break;
        }
        if round > 0 {
            // The terminal is switched off and on: a new one on the same journal.
            terminal = self::terminal(&fw, journal.path());
        }
        let again = bounded(&what, attempt(flow, &mut terminal, &mut card)).await;
        done = again == Ok(true);
    }
    assert!(done, "{what}: did not converge in {ATTEMPTS} attempts");

    let (bank, net, online, offline) = books(&fw, start_balance);
    let card_delta = card.balance().unwrap_or(0) as i64 - ECASH as i64;
    let expected = match flow {
        Flow::Purchase => (-(PURCHASE as i64), PURCHASE as i64, 1, 0, 0),
        Flow::Advice => (0, OFFLINE as i64, 0, 1, -(OFFLINE as i64)),
        Flow::Load | Flow::RefusedLoad => (-(LOAD as i64), LOAD as i64, 1, 0, LOAD as i64),
    };
    assert_eq!(
        (bank, net, online, offline, card_delta),
        expected,
        "{what}: (bank delta, clearing net, online authorisations standing, offline advices, \
         card e-cash delta)"
    );
    let open = terminal
        .journal()
        .expect("journal")
        .pending()
        .expect("readable");
    assert!(
        open.is_empty(),
        "{what}: journal entries left open: {open:?}"
    );
    assert!(
        terminal.pending_advices().is_empty(),
        "{what}: advices left"
    );
    (first_ok, exchanges)
}

/// Every (call, fault) case of `flow`, [`PARALLEL`] at a time.
async fn suite(flow: Flow) {
    run_suite(&format!("{flow:?}"), PARALLEL, |case, calls| {
        run_case(flow, case, calls)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn online_purchase_survives_every_fault() {
    suite(Flow::Purchase).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_advice_upload_survives_every_fault() {
    suite(Flow::Advice).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ecash_load_survives_every_fault() {
    suite(Flow::Load).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_load_and_its_reversal_survive_every_fault() {
    suite(Flow::RefusedLoad).await;
}
