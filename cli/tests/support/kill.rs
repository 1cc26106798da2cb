//! The crash harness of the `wallet` binary's tests: run a child, SIGKILL it after a delay drawn
//! from a fixed seed, collect what it printed before it died.

#![allow(dead_code)]

use std::io::Read;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::time::Duration;

/// Deterministic delays (SplitMix64): a fixed seed keeps a failing kill schedule reproducible.
#[derive(Debug, Clone)]
pub struct KillSchedule(u64);

impl KillSchedule {
    /// A schedule from `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next pseudo-random number.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A delay in `min..=max` milliseconds.
    pub fn delay(&mut self, min_ms: u64, max_ms: u64) -> Duration {
        Duration::from_millis(min_ms + self.next_u64() % (max_ms - min_ms + 1))
    }
}

/// What a child run left behind.
#[derive(Debug)]
pub struct KilledRun {
    /// Whether the child was still running at the deadline and was killed.
    pub killed: bool,
    /// How it ended when it was not killed.
    pub status: Option<ExitStatus>,
    /// Everything it wrote on stdout (a killed child's last line may be cut short).
    pub stdout: Vec<u8>,
    /// Everything it wrote on stderr.
    pub stderr: String,
}

impl KilledRun {
    /// Whether the child ran to completion and succeeded.
    pub fn finished_ok(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }

    /// Complete stdout lines (a line cut short by the kill is left out).
    pub fn complete_lines(&self) -> Vec<String> {
        let text = String::from_utf8_lossy(&self.stdout);
        let complete = text.rfind('\n').map_or("", |end| &text[..end]);
        complete
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

/// Spawns `command`, SIGKILLs it after `delay` unless it ended before, and returns what it
/// printed. Stdin is closed.
pub fn run_and_kill(mut command: Command, delay: Duration) -> KilledRun {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("child starts");
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let out = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stdout.read_to_end(&mut bytes);
        bytes
    });
    let err = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let deadline = std::time::Instant::now() + delay;
    let mut status = None;
    while std::time::Instant::now() < deadline {
        if let Some(s) = child.try_wait().expect("child status") {
            status = Some(s);
            break;
        }
        std::thread::sleep(Duration::from_millis(2).min(delay));
    }
    let killed = status.is_none();
    if killed {
        child.kill().expect("SIGKILL the child");
    }
    // Reaps the killed child (a child that ended by itself was reaped by `try_wait`; `wait`
    // then answers its status again).
    let ended = child.wait().expect("reap the child");
    let status = status.map(|_| ended);
    KilledRun {
        killed,
        status,
        stdout: out.join().expect("stdout reader"),
        stderr: err.join().expect("stderr reader"),
    }
}

/// `wallet --data-dir DIR --backend URL` (the mock world runs outside the child: it plays the
/// servers, which do not crash with the phone).
pub fn wallet_command(data_dir: &Path, backend_url: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_wallet"));
    command
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--backend")
        .arg(backend_url);
    command
}
