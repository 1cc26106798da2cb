//! Binding and unbinding under a fault on each of their calls: the app repeats what failed, and
//! the bank ends with one active binding (then one revoked), one SMS code sent, and the wallet
//! agrees with it.

use crate::harness::{cases, describe, label, FaultyWorld, Tally};
use crate::support;
use mock_backend::bank::test_cards::{self, TestCard};
use std::future::Future;
use std::time::Duration;
use wallet_core::backend::api::{BindingRecord, BindingStatus, SmsOutbox, PATH_TEST_SMS_OUTBOX};
use wallet_core::binding::{Binding, BindingError, BindingRequest};
use wallet_core::{Wallet, WalletError};

const CARD: TestCard = test_cards::DEBIT;
/// Longest a faulted operation may take (the delay fault plus a retry).
const PATIENCE: Duration = Duration::from_secs(10);

fn request(card: &TestCard) -> BindingRequest {
    BindingRequest {
        pan: card.pan.into(),
        holder_name: card.holder_name.into(),
        id_number: card.id_number.into(),
        phone: card.phone.into(),
    }
}

/// Runs `op` as the app would: on a clean, transient failure it tries again (at most twice
/// more). Returns the result and whether the first try succeeded. Any other failure, a panic
/// or a hang fails the test.
async fn as_the_app<T, F, Fut>(what: &str, mut op: F) -> (T, bool)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, WalletError>>,
{
    let mut first = true;
    for _ in 0..3 {
        let result = tokio::time::timeout(PATIENCE, op())
            .await
            .unwrap_or_else(|_| panic!("{what}: hung"));
        match result {
            Ok(value) => return (value, first),
            Err(WalletError::Binding(BindingError::Backend(e))) if e.is_transient() => {
                first = false;
            }
            Err(other) => panic!("{what}: not a clean transient failure: {other:?}"),
        }
    }
    panic!("{what}: still failing after the fault was spent")
}

async fn sms_count(url: &str, phone: &str) -> usize {
    let outbox: SmsOutbox = reqwest::get(format!("{url}{PATH_TEST_SMS_OUTBOX}?phone={phone}"))
        .await
        .expect("outbox")
        .json()
        .await
        .expect("outbox JSON");
    outbox.messages.len()
}

/// Begin + confirm, each repeated by the app after a failure. Returns the binding and whether
/// both went through at the first try.
async fn bind(world: &FaultyWorld, wallet: &Wallet, what: &str) -> (Binding, bool) {
    let request = request(&CARD);
    let (pending, begun) =
        as_the_app(&format!("{what}: begin"), || wallet.begin_binding(&request)).await;
    let code = support::latest_code(world.direct_url(), CARD.phone).await;
    let (binding, confirmed) = as_the_app(&format!("{what}: confirm"), || {
        wallet.confirm_binding(&pending.session_id, &code)
    })
    .await;
    (binding, begun && confirmed)
}

/// The bank's and the wallet's view after a bind: one binding, the same everywhere.
async fn assert_bound_once(world: &FaultyWorld, wallet: &Wallet, binding: &Binding, what: &str) {
    let bindings = wallet.bindings().expect("bindings");
    assert_eq!(bindings.len(), 1, "{what}: {bindings:?}");
    assert!(wallet.pending_bindings().unwrap().is_empty(), "{what}");
    let at_bank = world
        .world
        .state()
        .bank()
        .binding(&binding.binding_id)
        .expect("the bank has the binding");
    assert_eq!(at_bank.status, BindingStatus::Active, "{what}");
    for lost in world.proxy.lost_answers() {
        if let Ok(record) = serde_json::from_slice::<BindingRecord>(&lost) {
            assert_eq!(
                record.binding_id, binding.binding_id,
                "{what}: a second binding was created"
            );
        }
    }
    // Wait out a delayed request still on its way, then count the codes the bank sent.
    tokio::time::sleep(crate::harness::DELAY).await;
    assert_eq!(
        sms_count(world.direct_url(), CARD.phone).await,
        1,
        "{what}: the repeated begin sent another code"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binding_survives_a_fault_on_each_call() {
    let world = FaultyWorld::start().await;
    let (wallet, _dir) = world.wallet(0);
    world.learn();
    let (binding, _) = bind(&world, &wallet, "clean run").await;
    let calls = describe(&world.exchanges());
    assert_bound_once(&world, &wallet, &binding, "clean run").await;
    world.shutdown().await;

    let mut tally = Tally::default();
    for case in cases(calls.len()) {
        let what = label(case, &calls);
        let world = FaultyWorld::start().await;
        let (wallet, _dir) = world.wallet(0);
        world.arm(case);
        let (binding, first_try) = bind(&world, &wallet, &what).await;
        tally.record(first_try);
        assert_bound_once(&world, &wallet, &binding, &what).await;
        world.shutdown().await;
    }
    tally.print("bind", calls.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unbinding_survives_a_fault_on_each_call() {
    let world = FaultyWorld::start().await;
    let (wallet, _dir) = world.wallet(0);
    let (binding, _) = bind(&world, &wallet, "set-up").await;
    world.learn();
    wallet
        .unbind(&binding.binding_id)
        .await
        .expect("clean unbind");
    let calls = describe(&world.exchanges());
    world.shutdown().await;

    let mut tally = Tally::default();
    for case in cases(calls.len()) {
        let what = label(case, &calls);
        let world = FaultyWorld::start().await;
        let (wallet, _dir) = world.wallet(0);
        let (binding, _) = bind(&world, &wallet, &what).await;
        world.arm(case);
        let ((), first_try) = as_the_app(&what, || wallet.unbind(&binding.binding_id)).await;
        tally.record(first_try);
        assert!(wallet.bindings().unwrap().is_empty(), "{what}");
        let at_bank = world
            .world
            .state()
            .bank()
            .binding(&binding.binding_id)
            .expect("the bank keeps revoked bindings");
        assert_eq!(at_bank.status, BindingStatus::Revoked, "{what}");
        world.shutdown().await;
    }
    tally.print("unbind", calls.len());
}
