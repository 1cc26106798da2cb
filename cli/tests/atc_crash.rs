//! A child process killed (SIGKILL) at random points during a run of taps never reuses an ATC
//! after restart.
//!
//! The `wallet` binary taps its HCE card in a loop (hidden `tap-loop`), printing the ATC the card
//! answered with as each tap finishes — declines too, so the issuer's replay detection cannot
//! hide a reuse. The test kills it after a delay drawn from a fixed seed, restarts it, and at
//! the end checks that the ATCs seen across all runs strictly increase, and that the store
//! still opens and taps with a greater ATC.
//!
//! The mock world runs in the test process (`--backend`), not embedded in the child: it plays
//! the bank and token service, which do not crash with the phone. (Killed with the child, the
//! embedded world can lose limited-use keys it had issued — the issuer then declines them as
//! unknown and replenishes nothing — which stops the taps rather than testing the phone.)

mod support;

use mock_backend::{MockWorld, MockWorldConfig};
use serde_json::Value;
use std::path::Path;
use std::process::Command;
use std::time::Instant;
use support::kill::{run_and_kill, wallet_command, KillSchedule, KilledRun};

/// How many times the tapping child is killed.
const KILLS: usize = 20;
/// Taps per child at most: the token has 256 key indexes × 5 uses, which a fast machine would
/// otherwise use up within the rounds (a tap takes ~3 ms here; a round lasts at most 150 ms).
const TAPS_PER_ROUND: u64 = 60;
/// Seed of the kill delays (a fixed seed keeps failures reproducible).
const SEED: u64 = 0x5EED_A7C0_0000_0001;

/// The phone: `wallet` with its store in `data_dir`, talking to the mock world at `url`.
struct Phone<'a> {
    data_dir: &'a Path,
    url: &'a str,
}

fn wallet(phone: &Phone) -> Command {
    wallet_command(phone.data_dir, phone.url)
}

/// Runs a command to completion and returns its JSON document (which must say `ok`).
fn run_json(phone: &Phone, args: &[&str]) -> Value {
    let (doc, stderr) = support::run_json(wallet(phone), args);
    assert_eq!(doc["ok"], true, "{args:?}: {doc:#}\n{stderr}");
    doc
}

/// Parses `atc <n> <decision>` (complete lines only: a line cut short by the kill is dropped).
fn parse_atc(line: &str) -> Option<u16> {
    let mut words = line.split_whitespace();
    (words.next()? == "atc").then_some(())?;
    words.next()?.parse().ok()
}

/// Runs the tapping child, killed after `delay` unless it finished its taps.
fn killed_run(phone: &Phone, delay: std::time::Duration, round: usize) -> KilledRun {
    let mut command = wallet(phone);
    command.args([
        "tap-loop",
        "--count",
        &TAPS_PER_ROUND.to_string(),
        "--amount",
        "1.00",
        "--via",
        "hce",
    ]);
    let run = run_and_kill(command, delay);
    assert!(
        run.killed || run.finished_ok(),
        "round {round}: the tap loop failed ({:?}): {}",
        run.status,
        run.stderr
    );
    run
}

#[test]
fn sigkill_during_taps_never_reuses_an_atc() {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let world = runtime
        .block_on(MockWorld::start(MockWorldConfig {
            data_dir: Some(dir.path().join("world")),
            ..MockWorldConfig::default()
        }))
        .unwrap();
    let phone_dir = dir.path().join("phone");
    let phone = Phone {
        data_dir: &phone_dir,
        url: world.url(),
    };
    run_json(
        &phone,
        &[
            "bind",
            "--pan",
            "6222021234567894",
            "--name",
            "张三",
            "--id",
            "071233",
            "--phone",
            "13800138000",
            "--code-from-outbox",
        ],
    );
    run_json(&phone, &["open-hce-card"]);

    let mut schedule = KillSchedule::new(SEED);
    let mut seen: Vec<u16> = Vec::new();
    let mut rounds_with_taps = 0;
    let mut kills = 0;
    for round in 0..KILLS {
        // 10-150 ms: some kills land while the child (and its mock world) starts up, most in
        // the middle of a tap — a tap takes a few milliseconds.
        let run = killed_run(&phone, schedule.delay(10, 150), round);
        kills += usize::from(run.killed);
        let atcs: Vec<u16> = run
            .complete_lines()
            .iter()
            .filter_map(|l| parse_atc(l))
            .collect();
        if !atcs.is_empty() {
            rounds_with_taps += 1;
        }
        for atc in atcs {
            if let Some(&last) = seen.last() {
                assert!(
                    atc > last,
                    "round {round}: ATC {atc} after {last} (all so far: {seen:?})"
                );
            }
            seen.push(atc);
        }
    }
    assert!(
        kills >= KILLS / 2,
        "too few children were killed ({kills} of {KILLS}): they finish their taps too early"
    );
    assert!(
        rounds_with_taps >= KILLS / 2,
        "too few runs got to tap ({rounds_with_taps} of {KILLS}): the delays are too short"
    );

    // The store still opens, and the card goes on counting.
    let doc = run_json(&phone, &["tap", "--amount", "1.00", "--via", "hce"]);
    let atc = doc["steps"]
        .as_array()
        .and_then(|steps| steps.iter().find_map(|s| s["details"]["atc"].as_u64()))
        .unwrap_or_else(|| panic!("no ATC in the final tap: {doc:#}"));
    let max = seen.iter().copied().max().map_or(0, u64::from);
    assert!(atc > max, "final ATC {atc} not above {max}");
    let approved = doc["steps"]
        .as_array()
        .and_then(|steps| steps.iter().find(|s| s["details"]["atc"].is_u64()))
        .map(|s| s["outcome"] == "ok");
    assert_eq!(approved, Some(true), "final tap not approved: {doc:#}");
    eprintln!(
        "{KILLS} kills, {rounds_with_taps} runs tapped, {} ATCs seen (last {max}), final ATC \
         {atc}, {:.1} s",
        seen.len(),
        started.elapsed().as_secs_f64()
    );
    runtime.block_on(world.shutdown());
}
