//! Helpers shared by the `wallet` binary's integration tests.

#![allow(dead_code)]

pub mod kill;

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Stdio};

/// Runs `wallet --json --data-dir DIR ARGS…` (no stdin) and parses its JSON document.
pub fn wallet(data_dir: &Path, args: &[&str]) -> Value {
    let output = Command::new(env!("CARGO_BIN_EXE_wallet"))
        .arg("--json")
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("wallet runs");
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "{args:?}: not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// The step called `name` of a JSON document.
pub fn step<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc["steps"]
        .as_array()
        .and_then(|steps| steps.iter().find(|s| s["step"] == name))
        .unwrap_or_else(|| panic!("no step {name:?} in {doc:#}"))
}
