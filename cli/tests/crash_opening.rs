//! The phone killed (SIGKILL) at random points while it opens cards: air card opening in the
//! SE (`wallet open-card`) and its deletion, HCE card opening (`wallet open-hce-card`), and HCE
//! taps that replenish limited-use keys (`wallet tap-loop`).
//!
//! The mock world runs in this process (`--backend`): it plays the TSM, the token service and
//! the bank, which do not crash with the phone. Each operation is first run cleanly to measure
//! it; the killed runs draw their delay in `0..=` that duration from a fixed seed, so the kills
//! cover the whole operation. After every kill:
//! - the store opens (`wallet cards`, or the wallet library on the same directory);
//! - a card reported active is usable: it taps approved;
//! - running the operation again converges: exactly one card, active (or deleted), the TSM's
//!   record and the SE agreeing — one personalised payment instance on the SE — and, for HCE,
//!   exactly one token whose every issued key reached the phone once.
//!
//! At the end — every card deleted, its e-cash refunded once at deletion — the account is down
//! exactly the ¥1.00 of each approved SE tap (online from the account, offline from the e-cash
//! the refund then lacks), and no HCE limited-use key served an ATC twice at the issuer.

mod support;

use mock_backend::bank::test_cards::DEBIT;
use mock_backend::se_sim::{Body, SimulatedSeTransport};
use mock_backend::tsm::records::CardState as TsmState;
use mock_backend::{MockWorld, MockWorldConfig};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use support::kill::{run_and_kill, wallet_command, KillSchedule};
use wallet_core::hce::KeyState;
use wallet_core::se::ReaderKind;
use wallet_core::store::{SoftwareKeyStore, Store};
use wallet_core::{Wallet, WalletConfig};

/// Open + delete cycles of the SE test (two kills each).
const SE_CYCLES: usize = 40;
/// HCE openings killed (one fresh phone each).
const HCE_OPENINGS: usize = 30;
/// Tap rounds killed (taps that use up and replenish limited-use keys).
const TAP_ROUNDS: usize = 35;
/// Taps per round at most (keys: 4 per batch × 5 uses, so a round replenishes once or twice;
/// the token's 255 keys × 5 uses outlast every round run to the end).
const TAPS_PER_ROUND: u64 = 30;
/// Clean runs measured before the kills (the fastest sets the range of the kill delays).
const CLEAN_RUNS: usize = 3;
/// The initial e-cash load of each opening.
const LOAD_YUAN: &str = "10.00";
/// Seeds of the kill delays.
const SE_SEED: u64 = 0x5EED_0FE7_0000_0001;
const HCE_SEED: u64 = 0x5EED_0FE7_0000_0002;

/// The phone: `wallet` with its data in `dir`, talking to the world at `url`.
struct Phone {
    dir: PathBuf,
    url: String,
}

impl Phone {
    fn command(&self) -> Command {
        wallet_command(&self.dir, &self.url)
    }

    /// Runs a command to completion; its JSON document.
    fn run(&self, args: &[&str]) -> Value {
        support::run_json(self.command(), args).0
    }

    /// Runs a command that must succeed.
    fn ok(&self, args: &[&str]) -> Value {
        let doc = self.run(args);
        assert_eq!(doc["ok"], true, "{args:?}: {doc:#}");
        doc
    }

    /// Runs a command until it succeeds (the app repeating it); at most three tries.
    fn converge(&self, args: &[&str]) -> Value {
        for _ in 0..2 {
            let doc = self.run(args);
            if doc["ok"] == true {
                return doc;
            }
            eprintln!("{args:?} failed, repeating: {doc}");
        }
        self.ok(args)
    }

    /// Kills `wallet ARGS` after `delay`; whether it was killed (not finished before).
    fn kill(&self, args: &[&str], delay: Duration) -> bool {
        let mut command = self.command();
        command.arg("--json").args(args);
        let run = run_and_kill(command, delay);
        assert!(
            run.killed || run.status.is_some(),
            "{args:?}: neither killed nor finished"
        );
        run.killed
    }

    /// How long a clean run of `wallet ARGS` takes (it must succeed).
    fn timed(&self, args: &[&str]) -> Duration {
        let mut command = self.command();
        command.args(args);
        let started = Instant::now();
        let run = run_and_kill(command, Duration::from_secs(60));
        let elapsed = started.elapsed();
        assert!(
            run.finished_ok(),
            "{args:?}: {:?} {}",
            run.status,
            run.stderr
        );
        elapsed
    }

    fn bind(&self) -> String {
        let doc = self.ok(&[
            "bind",
            "--pan",
            DEBIT.pan,
            "--name",
            DEBIT.holder_name,
            "--id",
            DEBIT.id_number,
            "--phone",
            DEBIT.phone,
            "--code-from-outbox",
        ]);
        find(&doc, "binding")
            .unwrap_or_else(|| panic!("no binding id: {doc:#}"))
            .to_owned()
    }

    /// The SE cards `wallet cards` lists (the store must open).
    fn cards(&self) -> Vec<Value> {
        let doc = self.ok(&["cards"]);
        find_value(&doc, "cards")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_else(|| panic!("no card list: {doc:#}"))
    }

    /// A tap of ¥1.00 `via` se / hce: its decision (`approved_online`, `approved_offline`,
    /// `declined: …`), if the terminal got that far.
    fn tap(&self, via: &str) -> Option<String> {
        let doc = self.run(&["tap", "--amount", "1.00", "--via", via]);
        doc["steps"].as_array().and_then(|steps| {
            steps
                .iter()
                .find_map(|s| s["details"]["decision"].as_str().map(str::to_owned))
        })
    }

    /// A tap that must be approved; whether online (the account was debited ¥1.00).
    fn tap_approved(&self, via: &str, what: &str) -> bool {
        let decision = self.tap(via);
        match decision.as_deref() {
            Some("approved_online") => true,
            Some("approved_offline") => false,
            other => panic!("{what}: a tap {via} was not approved: {other:?}"),
        }
    }

    /// The phone's HCE key state, read with the wallet library (the child is dead).
    fn key_state(&self, binding_id: &str) -> KeyState {
        let wallet_dir = self.dir.join("wallet");
        let keys = SoftwareKeyStore::open(&wallet_dir.join("software-keystore.key"))
            .expect("key store opens");
        let store = Store::open(&wallet_dir.join("store"), std::sync::Arc::new(keys))
            .expect("the store opens");
        store
            .get::<KeyState>("hce.keys", binding_id)
            .expect("key state readable")
            .expect("a key state")
    }
}

/// The first string field `name` anywhere in `doc`.
fn find<'a>(doc: &'a Value, name: &str) -> Option<&'a str> {
    find_value(doc, name).and_then(Value::as_str)
}

/// The first field `name` anywhere in `doc`.
fn find_value<'a>(doc: &'a Value, name: &str) -> Option<&'a Value> {
    match doc {
        Value::Object(map) => map
            .get(name)
            .or_else(|| map.values().find_map(|v| find_value(v, name))),
        Value::Array(items) => items.iter().find_map(|v| find_value(v, name)),
        _ => None,
    }
}

/// A world in this process, persisted under `dir`.
fn world(runtime: &tokio::runtime::Runtime, dir: &Path) -> MockWorld {
    runtime
        .block_on(MockWorld::start(MockWorldConfig {
            data_dir: Some(dir.join("world")),
            ..MockWorldConfig::default()
        }))
        .expect("mock world starts")
}

/// The SE's payment instances (AID, personalised, selectable), read from its state file.
fn se_instances(phone: &Phone) -> (String, Vec<(String, bool, bool)>) {
    let se = SimulatedSeTransport::open(phone.dir.join("se")).expect("SEs open");
    let card = se.se(ReaderKind::Ese);
    let card = card.lock().expect("SE lock");
    let instances = card
        .registry()
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
        .collect();
    (card.se_id(), instances)
}

/// The TSM's, the SE's and the wallet's view of the card agree on `state` (`active` or
/// `deleted`).
fn check_se_card(world: &MockWorld, phone: &Phone, binding_id: &str, state: &str, what: &str) {
    let (se_id, instances) = se_instances(phone);
    let tsm: Vec<_> = world
        .state()
        .tsm()
        .records()
        .cards_on(&se_id)
        .expect("TSM records")
        .into_iter()
        .filter(|c| c.binding_id == binding_id)
        .collect();
    assert_eq!(tsm.len(), 1, "{what}: TSM cards {tsm:?}");
    let cards = phone.cards();
    assert_eq!(cards.len(), 1, "{what}: wallet cards {cards:?}");
    assert_eq!(cards[0]["state"], state, "{what}: {cards:?}");
    if state == "active" {
        assert_eq!(tsm[0].state, TsmState::Active, "{what}");
        assert_eq!(instances.len(), 1, "{what}: SE instances {instances:?}");
        assert!(instances[0].1 && instances[0].2, "{what}: {instances:?}");
    } else {
        assert_eq!(tsm[0].state, TsmState::Absent, "{what}");
        assert!(instances.is_empty(), "{what}: SE instances {instances:?}");
    }
}

/// No card listed active unless it taps approved: whether one is, and the approved taps.
fn check_active_is_usable(phone: &Phone, what: &str) -> (bool, i64) {
    let active = phone.cards().iter().any(|c| c["state"] == "active");
    if active {
        phone.tap_approved("se", what);
    }
    (active, i64::from(active))
}

#[test]
fn sigkill_during_se_card_opening_and_deletion_converges_on_one_card() {
    let started = Instant::now();
    let dir = tempfile::tempdir().expect("tempdir");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let world = world(&runtime, dir.path());
    let phone = Phone {
        dir: dir.path().join("phone"),
        url: world.url().to_owned(),
    };
    let binding_id = phone.bind();
    let open = ["open-card", "--se", "ese", "--ecash", LOAD_YUAN];
    let delete = ["delete-card", "--se", "ese"];
    // The fastest of a few clean runs (the first ones warm up the machine's caches).
    let (mut open_time, mut delete_time) = (Duration::MAX, Duration::MAX);
    let mut openings = 0;
    for _ in 0..CLEAN_RUNS {
        open_time = open_time.min(phone.timed(&open));
        openings += 1;
        check_se_card(&world, &phone, &binding_id, "active", "clean opening");
        delete_time = delete_time.min(phone.timed(&delete));
        check_se_card(&world, &phone, &binding_id, "deleted", "clean deletion");
    }

    let mut schedule = KillSchedule::new(SE_SEED);
    let mut kills = 0;
    let mut landed_active = 0;
    let mut landed_opening = 0;
    let mut taps = 0;
    for cycle in 0..SE_CYCLES {
        let what = format!("cycle {cycle}");
        let delay = schedule.delay(0, u64::try_from(open_time.as_millis()).expect("short"));
        kills += usize::from(phone.kill(&open, delay));
        let (active, tapped) = check_active_is_usable(&phone, &format!("{what}, killed opening"));
        taps += tapped;
        if active {
            landed_active += 1;
        } else {
            // Killed mid-way (after the order was accepted) or before anything was sent.
            landed_opening += usize::from(phone.cards().iter().any(|c| c["state"] == "opening"));
            phone.converge(&open);
        }
        openings += 1;
        check_se_card(&world, &phone, &binding_id, "active", &what);
        phone.tap_approved("se", &what);
        taps += 1;

        let delay = schedule.delay(0, u64::try_from(delete_time.as_millis()).expect("short"));
        kills += usize::from(phone.kill(&delete, delay));
        // A card still active after the killed deletion must still be usable.
        taps += check_active_is_usable(&phone, &format!("{what}, killed deletion")).1;
        if phone.cards().iter().all(|c| c["state"] != "deleted") {
            phone.converge(&delete);
        }
        check_se_card(&world, &phone, &binding_id, "deleted", &what);
    }

    // Each opening's load was debited once and refunded once at deletion, less what the taps
    // spent offline; each online tap debited its ¥1.00: ¥1.00 per approved tap in all.
    let account = world
        .state()
        .bank()
        .account(DEBIT.pan)
        .expect("bank")
        .expect("account");
    assert_eq!(
        DEBIT.balance_fen - account.balance_fen,
        100 * taps,
        "{openings} openings, {taps} approved taps"
    );
    assert!(kills >= SE_CYCLES, "only {kills} kills");
    eprintln!(
        "SE: {kills} kills in {SE_CYCLES} open/delete cycles (openings killed: {landed_opening} \
         with the order accepted and unconfirmed, {landed_active} after completion, the rest \
         before the order); clean opening {open_time:?}, deletion {delete_time:?}; {:.1} s",
        started.elapsed().as_secs_f64()
    );
    runtime.block_on(world.shutdown());
}

#[test]
fn sigkill_during_hce_opening_and_replenishment_loses_or_doubles_no_key() {
    let started = Instant::now();
    let dir = tempfile::tempdir().expect("tempdir");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let world = world(&runtime, dir.path());
    let tokens = world.state().hce();
    let mut schedule = KillSchedule::new(HCE_SEED);
    let mut kills = 0;

    // HCE openings: a fresh phone each, killed once, then opened again.
    let mut open_time = Duration::MAX;
    let mut last = None;
    for round in 0..HCE_OPENINGS + CLEAN_RUNS {
        let what = format!("HCE opening {round}");
        let phone = Phone {
            dir: dir.path().join(format!("phone-{round}")),
            url: world.url().to_owned(),
        };
        let binding_id = phone.bind();
        if round < CLEAN_RUNS {
            let time = phone.timed(&["open-hce-card"]);
            open_time = open_time.min(time);
        } else {
            let max = u64::try_from(open_time.as_millis()).expect("short");
            kills += usize::from(phone.kill(&["open-hce-card"], schedule.delay(0, max)));
            // The store opens; at most one token so far.
            let wallet = Wallet::open(
                WalletConfig::new(phone.dir.join("wallet"), world.url()),
                None,
            )
            .expect("the store opens after the kill");
            assert!(wallet.hce_cards().expect("HCE cards").len() <= 1, "{what}");
            drop(wallet);
            assert!(tokens.tokens_of(&binding_id).expect("tokens").len() <= 1);
            phone.converge(&["open-hce-card"]);
        }
        let issued = tokens.tokens_of(&binding_id).expect("tokens");
        assert_eq!(issued.len(), 1, "{what}: tokens {issued:?}");
        let state = phone.key_state(&binding_id);
        assert_eq!(state.token_id, issued[0].token_id, "{what}: another token");
        let keys = tokens.keys_of(&issued[0].token_id).expect("keys");
        let held: Vec<u8> = state.keys.iter().map(|k| k.index).collect();
        let sent: Vec<u8> = keys.iter().map(|k| k.index).collect();
        assert_eq!(held, sent, "{what}: keys on the phone vs issued");
        assert!(state.pending.is_none(), "{what}");
        last = Some((phone, binding_id));
    }
    let (phone, binding_id) = last.expect("a phone");
    phone.tap_approved("hce", "first HCE tap");

    // Taps that use up keys and replenish them, killed at random.
    let tap_loop = [
        "tap-loop",
        "--count",
        &TAPS_PER_ROUND.to_string(),
        "--amount",
        "1.00",
        "--via",
        "hce",
    ]
    .map(|s| s.to_owned());
    let tap_loop: Vec<&str> = tap_loop.iter().map(String::as_str).collect();
    let round_time = u64::try_from(phone.timed(&tap_loop).as_millis()).expect("short");
    for _ in 0..TAP_ROUNDS {
        kills += usize::from(phone.kill(&tap_loop, schedule.delay(0, round_time)));
        let wallet = Wallet::open(
            WalletConfig::new(phone.dir.join("wallet"), world.url()),
            None,
        )
        .expect("the store opens after the kill");
        drop(wallet);
    }
    // Back online: the next tap finishes any replenishment cut short, and is approved.
    phone.tap_approved("hce", "HCE tap after the kills");

    let token = tokens.tokens_of(&binding_id).expect("tokens");
    assert_eq!(token.len(), 1);
    let issued = tokens.keys_of(&token[0].token_id).expect("keys");
    let state = phone.key_state(&binding_id);
    assert!(state.pending.is_none(), "a replenishment left pending");
    let newest = issued.iter().map(|k| k.index).max().expect("keys");
    assert_eq!(
        state.last_index, newest,
        "the phone missed the newest batch"
    );
    let mut atcs = Vec::new();
    for key in &issued {
        assert!(
            key.uses <= key.max_uses,
            "key {} over-used: {key:?}",
            key.index
        );
        atcs.extend(key.atcs.iter().copied());
        // A key the phone no longer holds was used (the phone got it); never lost in transit.
        let held = state.keys.iter().any(|k| k.index == key.index);
        assert!(
            held || key.uses > 0,
            "key {} issued but never reached the phone: {key:?}",
            key.index
        );
    }
    let count = atcs.len();
    atcs.sort_unstable();
    atcs.dedup();
    assert_eq!(atcs.len(), count, "an ATC accepted twice");
    assert!(
        kills >= (HCE_OPENINGS + TAP_ROUNDS) / 2,
        "only {kills} kills"
    );
    eprintln!(
        "HCE: {kills} kills ({HCE_OPENINGS} openings, {TAP_ROUNDS} tap rounds); {} keys issued, \
         {count} cryptograms accepted; clean opening {open_time:?}, tap round {round_time} ms; \
         {:.1} s",
        issued.len(),
        started.elapsed().as_secs_f64()
    );
    runtime.block_on(world.shutdown());
}
