//! The driver shared by the network-fault suites: a mock world behind a fault proxy, wallets
//! pointed at the proxy, and the list of (call, fault) cases of a flow.

#![allow(dead_code)]

use crate::support;
use mock_backend::fault_proxy::{Exchange, Fault, FaultProxy, FaultRule};
use mock_backend::{MockWorld, MockWorldConfig};
use std::future::Future;
use std::time::{Duration, Instant};
use tokio::task::JoinSet;
use wallet_core::Wallet;

/// The wallet's per-request timeout in these suites (short: the delay fault outlasts it).
pub const CLIENT_TIMEOUT: Duration = Duration::from_millis(400);
/// How long the delay fault holds an exchange (longer than [`CLIENT_TIMEOUT`]).
pub const DELAY: Duration = Duration::from_millis(600);

/// Every fault kind the suites inject.
pub fn faults() -> [Fault; 7] {
    Fault::all(DELAY)
}

/// A mock world (in memory) with a fault proxy in front of it.
pub struct FaultyWorld {
    /// The servers.
    pub world: MockWorld,
    /// The proxy the phone talks to.
    pub proxy: FaultProxy,
}

impl FaultyWorld {
    /// Starts a fresh world and its proxy.
    pub async fn start() -> Self {
        let world = MockWorld::start(MockWorldConfig::default())
            .await
            .expect("mock world starts");
        let proxy = FaultProxy::start(world.url())
            .await
            .expect("fault proxy starts");
        Self { world, proxy }
    }

    /// The servers' own URL (for set-up and inspection that must not go through the faults).
    pub fn direct_url(&self) -> &str {
        self.world.url()
    }

    /// The URL the phone uses.
    pub fn url(&self) -> &str {
        self.proxy.url()
    }

    /// A wallet on a fresh directory behind the proxy, with `retries` client-level retries
    /// (0: every fault reaches the app, which must then repeat the operation itself).
    pub fn wallet(&self, retries: u32) -> (Wallet, tempfile::TempDir) {
        support::wallet_with(self.url(), |config| {
            config.request_timeout = CLIENT_TIMEOUT;
            config.max_retries = retries;
        })
    }

    /// Arms `fault` on the `call`-th exchange from now (0-based) and forgets earlier exchanges.
    pub fn arm(&self, case: Case) {
        self.proxy.clear_rules();
        self.proxy.clear_exchanges();
        self.proxy.inject(FaultRule::nth(case.call, case.fault));
    }

    /// The exchanges since the last [`FaultyWorld::arm`] (or [`FaultyWorld::learn`]).
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.proxy.exchanges()
    }

    /// Forgets the exchanges seen so far: call before running a flow cleanly to learn its calls.
    pub fn learn(&self) {
        self.proxy.clear_rules();
        self.proxy.clear_exchanges();
    }

    /// Stops the world.
    pub async fn shutdown(self) {
        drop(self.proxy);
        self.world.shutdown().await;
    }
}

/// One run of a flow: the fault on one of its calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Case {
    /// Position of the case in [`cases`] (suites vary details by it, e.g. an app restart
    /// before every other repeat).
    pub index: usize,
    /// Index of the faulted call among the flow's exchanges.
    pub call: usize,
    /// The fault.
    pub fault: Fault,
}

/// Every (call, fault) pair of a flow that makes `calls` exchanges.
pub fn cases(calls: usize) -> Vec<Case> {
    (0..calls)
        .flat_map(|call| faults().into_iter().map(move |fault| (call, fault)))
        .enumerate()
        .map(|(index, (call, fault))| Case { index, call, fault })
        .collect()
}

/// `METHOD /path` of each exchange (for failure messages).
pub fn describe(exchanges: &[Exchange]) -> Vec<String> {
    exchanges
        .iter()
        .map(|e| format!("{} {}", e.method, e.path))
        .collect()
}

/// A case's label for assertion messages: `call 2 (POST /x) under LoseAnswer`.
pub fn label(case: Case, calls: &[String]) -> String {
    let call = calls.get(case.call).map_or("?", String::as_str);
    format!("call {} ({call}) under {:?}", case.call, case.fault)
}

/// What the suites tell apart in the outcomes of faulted runs.
#[derive(Debug, Default)]
pub struct Tally {
    /// Runs the fault did not disturb (or the client absorbed).
    pub succeeded: usize,
    /// Runs that failed cleanly and succeeded when repeated.
    pub recovered: usize,
}

impl Tally {
    /// Records one run.
    pub fn record(&mut self, first_try_ok: bool) {
        if first_try_ok {
            self.succeeded += 1;
        } else {
            self.recovered += 1;
        }
    }

    /// Prints the summary line of a suite (visible with `--nocapture`).
    pub fn print(&self, flow: &str, calls: usize) {
        eprintln!(
            "{flow}: {calls} calls × {} faults: {} unaffected, {} failed cleanly and recovered",
            faults().len(),
            self.succeeded,
            self.recovered
        );
    }
}

/// Runs a flow's whole suite: `run_case(None, vec![])` runs it cleanly and answers the calls it
/// made; then every (call, fault) case runs, `parallel` at a time, each on its own fresh world.
/// `run_case` answers whether the faulted run succeeded at the first try, and the calls seen.
/// A panicking case fails the suite with its own message.
pub async fn run_suite<F, Fut>(flow: &str, parallel: usize, run_case: F)
where
    F: Fn(Option<Case>, Vec<String>) -> Fut,
    Fut: Future<Output = (bool, Vec<String>)> + Send + 'static,
{
    let started = Instant::now();
    let (_, calls) = run_case(None, Vec::new()).await;
    assert!(!calls.is_empty(), "{flow} made no call");
    let mut tally = Tally::default();
    let mut pending = cases(calls.len()).into_iter();
    let mut running = JoinSet::new();
    loop {
        while running.len() < parallel {
            let Some(case) = pending.next() else { break };
            running.spawn(run_case(Some(case), calls.clone()));
        }
        let Some(done) = running.join_next().await else {
            break;
        };
        let (first_ok, _) = done.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
        tally.record(first_ok);
    }
    tally.print(&format!("{flow} ({})", calls.join(", ")), calls.len());
    eprintln!("{flow}: {:.1} s", started.elapsed().as_secs_f64());
}
