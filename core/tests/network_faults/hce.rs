//! HCE card opening (token + first limited-use keys) and key replenishment under a fault on
//! every call to the token service.
//!
//! Each case runs on a fresh world: bind (no fault), the set-up (the HCE card, for
//! replenishment), the flow once with the fault armed and no client retry, then the app repeats
//! it — in the same process or after re-opening the wallet from its directory — until it
//! succeeds. Then: the binding has exactly one token (active) at the token service and it is the
//! wallet's; every key the service issued reached the phone exactly once (the service's count
//! of issued keys equals the phone's usable keys: a lost batch or a batch issued twice shows as
//! a difference), each index once, none used; and repeating the flow once more sends nothing.

use crate::harness::{describe, label, run_suite, Case, FaultyWorld, CLIENT_TIMEOUT};
use crate::support;
use mock_backend::bank::test_cards::DEBIT;
use mock_backend::hce::records::TokenState;
use mock_backend::hce::LUK_MAX_USES;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use wallet_core::backend::BackendError;
use wallet_core::hce::{HceCardInfo, HceConfig, HceError};
use wallet_core::{Wallet, WalletConfig, WalletError};

/// Keys per batch in these suites.
const BATCH: u32 = 2;
/// Longest a run may take before it counts as a hang.
const HANG: Duration = Duration::from_secs(20);
/// How many times the app repeats an operation that failed transiently after the fault.
const REPEATS: usize = 3;
/// Cases run at the same time.
const PARALLEL: usize = 6;

/// The flow under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    /// `open_hce_card`: token, profile, first batch.
    Open,
    /// `replenish_keys` of a card that runs low.
    Replenish,
}

impl Flow {
    /// Keys the phone holds once the flow succeeded.
    fn keys(self) -> u32 {
        match self {
            Flow::Open => BATCH,
            Flow::Replenish => 2 * BATCH,
        }
    }
}

/// Replenish below what one batch serves: a fresh card needs exactly one more batch.
fn hce_config() -> HceConfig {
    HceConfig {
        replenish_below: BATCH * LUK_MAX_USES + 1,
        batch_size: BATCH,
        ..HceConfig::default()
    }
}

/// Opens the wallet kept in `dir` (first start or app restart), without client retries (the
/// store of a wallet just dropped may stay locked for a moment).
fn open_wallet(dir: &Path, url: &str) -> Wallet {
    let mut config = WalletConfig::new(dir, url);
    config.request_timeout = CLIENT_TIMEOUT;
    config.max_retries = 0;
    let mut tries = 0;
    loop {
        match Wallet::open(config.clone(), None) {
            Ok(wallet) => return wallet.with_hce_config(hce_config()),
            Err(_) if tries < 50 => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => panic!("the store does not open: {e:?}"),
        }
    }
}

struct Phone {
    wallet: Wallet,
    binding_id: String,
    dir: tempfile::TempDir,
}

impl Phone {
    async fn bound(fw: &FaultyWorld) -> Phone {
        let dir = tempfile::tempdir().expect("tempdir");
        let wallet = open_wallet(dir.path(), fw.url());
        let binding = support::bind_test_card(&wallet, fw.direct_url(), &DEBIT).await;
        Phone {
            wallet,
            binding_id: binding.binding_id,
            dir,
        }
    }

    /// The app restarts: the wallet is dropped, then opened again from its directory.
    fn restart(self, url: &str) -> Phone {
        let Phone {
            wallet,
            binding_id,
            dir,
        } = self;
        drop(wallet);
        Phone {
            wallet: open_wallet(dir.path(), url),
            binding_id,
            dir,
        }
    }

    async fn run(&self, flow: Flow) -> Result<HceCardInfo, WalletError> {
        match flow {
            Flow::Open => self.wallet.open_hce_card(&self.binding_id).await,
            Flow::Replenish => self.wallet.replenish_keys(&self.binding_id).await,
        }
    }
}

/// The clean failures a network fault may cause.
fn is_network_failure(e: &WalletError) -> bool {
    let backend = |b: &BackendError| {
        matches!(
            b,
            BackendError::Network(_) | BackendError::Timeout | BackendError::Protocol(_)
        ) || matches!(b, BackendError::Rejected { status, .. } if *status >= 500)
    };
    match e {
        WalletError::Hce(HceError::Backend(b)) | WalletError::Backend(b) => backend(b),
        _ => false,
    }
}

/// The token service and the phone agree after `flow` succeeded.
fn check_invariants(fw: &FaultyWorld, phone: &Phone, flow: Flow, what: &str) {
    let tokens = fw
        .world
        .state()
        .hce()
        .tokens_of(&phone.binding_id)
        .expect("tokens");
    assert_eq!(tokens.len(), 1, "{what}: tokens {tokens:?}");
    assert_eq!(tokens[0].state, TokenState::Active, "{what}");
    let cards = phone.wallet.hce_cards().expect("HCE cards");
    assert_eq!(cards.len(), 1, "{what}: {cards:?}");
    assert_eq!(
        cards[0].token_id, tokens[0].token_id,
        "{what}: another token"
    );
    let issued = fw
        .world
        .state()
        .hce()
        .keys_of(&tokens[0].token_id)
        .expect("keys");
    let mut indexes: Vec<u8> = issued.iter().map(|k| k.index).collect();
    indexes.dedup();
    assert_eq!(indexes.len(), issued.len(), "{what}: an index issued twice");
    assert_eq!(
        u32::try_from(issued.len()).expect("few"),
        flow.keys(),
        "{what}: keys issued by the service"
    );
    assert_eq!(
        cards[0].usable_keys,
        flow.keys(),
        "{what}: keys on the phone"
    );
    assert!(
        !cards[0].replenishment_pending,
        "{what}: a request left pending"
    );
    assert!(issued.iter().all(|k| k.uses == 0), "{what}: a key used");
}

async fn set_up(phone: &Phone, flow: Flow) {
    if flow == Flow::Replenish {
        let card = phone.run(Flow::Open).await.expect("set-up HCE card");
        assert_eq!(card.usable_keys, BATCH);
    }
}

async fn run_case(flow: Flow, case: Case, calls: Arc<Vec<String>>) -> bool {
    let what = format!("{flow:?}: {}", label(case, &calls));
    let fw = FaultyWorld::start().await;
    let mut phone = Phone::bound(&fw).await;
    set_up(&phone, flow).await;
    fw.arm(case);
    let first = tokio::time::timeout(HANG, phone.run(flow))
        .await
        .unwrap_or_else(|_| panic!("{what}: hung"));
    let first_ok = match &first {
        Ok(card) => {
            assert_eq!(card.usable_keys, flow.keys(), "{what}");
            true
        }
        Err(e) => {
            assert!(is_network_failure(e), "{what}: not a clean failure: {e:?}");
            false
        }
    };
    let seen = fw.exchanges();
    assert!(
        seen.iter().any(|e| e.fault.is_some()),
        "{what}: the fault was not applied: {:?}",
        describe(&seen)
    );
    fw.learn();
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
                    assert_eq!(card.usable_keys, flow.keys(), "{what}: repeat");
                    break;
                }
                Err(e) if attempt < REPEATS && is_network_failure(&e) => attempt += 1,
                Err(e) => panic!("{what}: the repeat failed: {e:?}"),
            }
        }
    }
    // Repeating a flow that succeeded changes nothing.
    let again = phone.run(flow).await.expect("repeat after success");
    assert_eq!(
        again.usable_keys,
        flow.keys(),
        "{what}: repeat after success"
    );
    check_invariants(&fw, &phone, flow, &what);
    fw.shutdown().await;
    first_ok
}

async fn learn(flow: Flow) -> Vec<String> {
    let fw = FaultyWorld::start().await;
    let phone = Phone::bound(&fw).await;
    set_up(&phone, flow).await;
    fw.learn();
    phone.run(flow).await.expect("clean run");
    let calls = describe(&fw.exchanges());
    check_invariants(&fw, &phone, flow, &format!("{flow:?} clean"));
    fw.shutdown().await;
    calls
}

/// Every call × every fault of `flow`, [`PARALLEL`] at a time.
async fn suite(flow: Flow) {
    run_suite(
        &format!("HCE {flow:?}"),
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
async fn hce_card_opening_under_a_fault_on_every_call() {
    suite(Flow::Open).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_replenishment_under_a_fault_on_every_call() {
    suite(Flow::Replenish).await;
}
