//! Secrets never rest on the phone in the clear nor reach its logs: runs `wallet demo` (JSON and
//! text output, `--log debug`) and `wallet tap --trace`, then scans every file the phone keeps
//! (the wallet store `<data_dir>/wallet` and the simulated secure elements `<data_dir>/se`; not
//! `<data_dir>/mock-world`, which is the bank's own database) and everything captured (stdout,
//! debug logs, the APDU trace) for the test cards' full PANs, the PIN (as text and as a PIN
//! block), the demo's payment password, the SMS codes delivered, and the device private keys.

use mock_backend::bank::test_cards;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use wallet_core::store::{SoftwareKeyStore, Store};

/// The payment password `wallet demo` sets (cli/src/remote.rs `DEMO_PASSWORD`).
const DEMO_PASSWORD: &str = "135790";

/// Runs the wallet binary with `--data-dir dir --log debug` and `args`.
fn wallet(dir: &Path, json: bool, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wallet"));
    cmd.arg("--data-dir").arg(dir).args(["--log", "debug"]);
    if json {
        cmd.arg("--json");
    }
    let output = cmd.args(args).output().expect("wallet runs");
    assert!(
        output.status.success(),
        "{args:?} failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// The one-time codes the mock SMS channel delivered to any test card's phone.
fn sms_codes(dir: &Path) -> Vec<String> {
    let mut codes = Vec::new();
    for card in test_cards::ALL {
        let out = wallet(dir, true, &["sms-outbox", "--phone", card.phone]);
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON outbox");
        for step in doc["steps"].as_array().into_iter().flatten() {
            for message in step["details"]["messages"].as_array().into_iter().flatten() {
                if let Some(code) = message["code"].as_str() {
                    codes.push(code.to_owned());
                }
            }
        }
    }
    codes
}

/// The device private keys the phone generated: the 32-byte P-256 scalars inside the PKCS#8
/// documents its software signer sealed in the store (read through the store's own API).
fn device_private_keys(wallet_dir: &Path) -> Vec<Vec<u8>> {
    let key_store = SoftwareKeyStore::open(&wallet_dir.join("software-keystore.key"))
        .expect("the phone's key store opens");
    let store = Store::open(&wallet_dir.join("store"), Arc::new(key_store)).expect("store opens");
    let mut keys = Vec::new();
    for ns in ["signer.keys", "binding.device_keys"] {
        let records: Vec<(String, serde_json::Value)> = store.list(ns).expect("list keys");
        for (_, record) in records {
            let pkcs8 = hex::decode(record["pkcs8"].as_str().expect("pkcs8 hex")).unwrap();
            // ECPrivateKey: version 1 (02 01 01) then the private key OCTET STRING (04 20 …).
            let at = pkcs8
                .windows(5)
                .position(|w| w == [0x02, 0x01, 0x01, 0x04, 0x20])
                .expect("an EC private key in the PKCS#8 document");
            keys.push(pkcs8[at + 5..at + 37].to_vec());
            keys.push(pkcs8);
        }
    }
    keys
}

/// The forms a secret may take in bytes: as given, and (for binary values) hex in both cases.
fn forms(secret: &[u8], binary: bool) -> Vec<Vec<u8>> {
    let mut out = vec![secret.to_vec()];
    if binary {
        out.push(hex::encode(secret).into_bytes());
        out.push(hex::encode_upper(secret).into_bytes());
    }
    out
}

/// A state file of the phone's simulated secure elements (`<data_dir>/se/…`).
fn is_se_state(name: &str) -> bool {
    Path::new(name).components().any(|c| c.as_os_str() == "se")
        && !Path::new(name)
            .components()
            .any(|c| c.as_os_str() == "wallet")
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// A named place to scan and its bytes.
struct Scanned {
    name: String,
    bytes: Vec<u8>,
    /// Part of the phone's wallet store or its logs (where 6-digit codes are searched).
    store_or_log: bool,
}

#[test]
fn no_secret_rests_on_the_phone_or_reaches_its_logs() {
    let json_dir = tempfile::tempdir().unwrap();
    let text_dir = tempfile::tempdir().unwrap();
    let demo_json = wallet(json_dir.path(), true, &["demo"]);
    let demo_text = wallet(text_dir.path(), false, &["demo"]);
    let trace = json_dir.path().join("tap-trace.txt");
    let tap = wallet(
        json_dir.path(),
        false,
        &[
            "tap",
            "--amount",
            "1.00",
            "--trace",
            trace.to_str().unwrap(),
        ],
    );

    let mut scanned = Vec::new();
    for (name, output) in [
        ("demo --json", &demo_json),
        ("demo", &demo_text),
        ("tap", &tap),
    ] {
        scanned.push(Scanned {
            name: format!("{name} stderr (--log debug)"),
            bytes: output.stderr.clone(),
            store_or_log: true,
        });
        scanned.push(Scanned {
            name: format!("{name} stdout"),
            bytes: output.stdout.clone(),
            store_or_log: false,
        });
    }
    scanned.push(Scanned {
        name: "tap --trace file".into(),
        bytes: std::fs::read(&trace).expect("the trace was written"),
        store_or_log: true,
    });
    let mut codes = Vec::new();
    let mut keys = Vec::new();
    for dir in [json_dir.path(), text_dir.path()] {
        codes.extend(sms_codes(dir));
        keys.extend(device_private_keys(&dir.join("wallet")));
        for (sub, store_or_log) in [("wallet", true), ("se", false)] {
            for file in files(&dir.join(sub)) {
                scanned.push(Scanned {
                    name: file.display().to_string(),
                    bytes: std::fs::read(&file).unwrap_or_default(),
                    store_or_log,
                });
            }
        }
    }
    assert!(!codes.is_empty(), "the demo delivered SMS codes");
    assert!(!keys.is_empty(), "the demo generated device keys");
    assert!(scanned
        .iter()
        .any(|s| s.name.contains("/wallet/store") && !s.bytes.is_empty()));

    // (what, forms, only in the wallet store and logs)
    let mut secrets: Vec<(String, Vec<Vec<u8>>, bool)> = Vec::new();
    for card in test_cards::ALL {
        secrets.push((
            format!("PAN {}", card.pan),
            forms(card.pan.as_bytes(), false),
            false,
        ));
        // The PAN as BCD (as it sits in track 2 / tag 5A), hex-encoded in a trace.
        let mut bcd = card.pan.to_owned();
        if bcd.len() % 2 == 1 {
            bcd.push('F');
        }
        secrets.push((
            format!("PAN {} as BCD", card.pan),
            forms(&hex::decode(&bcd).unwrap(), true),
            false,
        ));
    }
    // VERIFY's plaintext PIN block (format 2: control 2, length 6, PIN, F padding).
    let pin_block = hex::decode(format!("26{}FFFFFFFF", test_cards::TEST_PIN)).unwrap();
    secrets.push(("PIN block".into(), forms(&pin_block, true), false));
    secrets.push((
        "PIN".into(),
        forms(test_cards::TEST_PIN.as_bytes(), false),
        true,
    ));
    secrets.push((
        "payment password".into(),
        forms(DEMO_PASSWORD.as_bytes(), false),
        true,
    ));
    for code in &codes {
        secrets.push((
            format!("SMS code {code}"),
            forms(code.as_bytes(), false),
            true,
        ));
    }
    for key in &keys {
        secrets.push(("device private key".into(), forms(key, true), false));
    }

    let mut found = Vec::new();
    for place in &scanned {
        for (what, forms, store_or_log_only) in &secrets {
            if *store_or_log_only && !place.store_or_log {
                continue;
            }
            // The simulated eSE's state file stands for the chip's tamper-resistant memory: the
            // payment applet keeps its personalisation there, the reference PIN block of DGI 8002
            // included (it travelled encrypted under the DEK). Nowhere else.
            if what == "PIN block" && is_se_state(&place.name) {
                continue;
            }
            if forms.iter().any(|f| contains(&place.bytes, f)) {
                found.push(format!("{what} in {}", place.name));
            }
        }
    }
    assert!(found.is_empty(), "secrets found:\n{}", found.join("\n"));
}
