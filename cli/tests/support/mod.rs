//! Helpers shared by the `wallet` binary's integration tests.

#![allow(dead_code)]

pub mod kill;

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Stdio};

/// Runs `wallet --json --data-dir DIR ARGS…` (no stdin) and parses its JSON document.
pub fn wallet(data_dir: &Path, args: &[&str]) -> Value {
    let mut command = Command::new(env!("CARGO_BIN_EXE_wallet"));
    command.arg("--data-dir").arg(data_dir);
    run_json(command, args).0
}

/// Runs `COMMAND --json ARGS…` to completion (no stdin): its JSON document and its stderr. A
/// run that prints no JSON document fails the test with what it printed.
pub fn run_json(mut command: Command, args: &[&str]) -> (Value, String) {
    let output = command
        .arg("--json")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("wallet runs");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let doc = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "{args:?}: not JSON ({e}): {}\n{stderr}",
            String::from_utf8_lossy(&output.stdout)
        )
    });
    (doc, stderr)
}

/// The step called `name` of a JSON document.
pub fn step<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc["steps"]
        .as_array()
        .and_then(|steps| steps.iter().find(|s| s["step"] == name))
        .unwrap_or_else(|| panic!("no step {name:?} in {doc:#}"))
}
