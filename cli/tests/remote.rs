//! Remote payment through the `wallet` binary: the merchant creates orders, the wallet pays them
//! with the payment password and with an SMS code, refuses a second payment, shows its history;
//! and the demo's remote-payment steps.

mod support;

use serde_json::Value;
use std::path::Path;
use support::{step, wallet};

fn ok(doc: Value) -> Value {
    assert_eq!(doc["ok"], true, "{doc:#}");
    doc
}

fn new_order(dir: &Path, amount: &str) -> String {
    let doc = ok(wallet(dir, &["merchant", "order", "--amount", amount]));
    let order = step(&doc, "merchant order created");
    assert_eq!(order["details"]["status"], "pending");
    order["details"]["order"].as_str().unwrap().to_owned()
}

#[test]
fn orders_are_paid_by_password_and_by_sms_once_each() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    ok(wallet(
        dir,
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
    ));

    // Without a terminal and without --password there is nobody to ask.
    let doc = wallet(dir, &["set-password"]);
    assert_eq!(doc["error"]["kind"], "usage", "{doc:#}");
    let doc = ok(wallet(dir, &["set-password", "--password", "135790"]));
    assert_eq!(
        step(
            &doc,
            "payment password set (only its verifier left the phone)"
        )["details"]["attempts_left"],
        5
    );

    let order = new_order(dir, "12.34");
    let doc = wallet(
        dir,
        &[
            "pay-remote",
            "--order",
            &order,
            "--auth",
            "password",
            "--password",
            "000000",
        ],
    );
    assert_eq!(doc["error"]["kind"], "remote.password_wrong", "{doc:#}");
    let doc = ok(wallet(
        dir,
        &[
            "pay-remote",
            "--order",
            &order,
            "--auth",
            "password",
            "--password",
            "135790",
        ],
    ));
    let paid = &step(&doc, "paid")["details"];
    assert_eq!(paid["amount"], "¥12.34");
    assert_eq!(paid["auth"], "password");
    let doc = wallet(
        dir,
        &[
            "pay-remote",
            "--order",
            &order,
            "--auth",
            "password",
            "--password",
            "135790",
        ],
    );
    assert_eq!(doc["error"]["kind"], "remote.order_already_paid", "{doc:#}");

    let order = new_order(dir, "3.00");
    let doc = ok(wallet(
        dir,
        &[
            "pay-remote",
            "--order",
            &order,
            "--auth",
            "sms",
            "--code-from-outbox",
        ],
    ));
    assert_eq!(
        step(&doc, "SMS code sent")["details"]["sent_to"],
        "138****8000"
    );
    assert_eq!(step(&doc, "paid")["details"]["auth"], "sms");

    // No card in an SE: SE mode has nothing to sign with.
    let order = new_order(dir, "1.00");
    let doc = wallet(
        dir,
        &[
            "pay-remote",
            "--order",
            &order,
            "--auth",
            "se",
            "--pin",
            "123456",
        ],
    );
    assert_eq!(doc["ok"], false, "{doc:#}");

    let doc = ok(wallet(dir, &["history", "--sync"]));
    let history = &step(&doc, "remote payments, newest first")["details"];
    assert_eq!(history["count"], 2);
    // (Newest first by the RPS's paid-at second: these two may share one.)
    let mut amounts: Vec<&str> = history["payments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["amount"].as_str().unwrap())
        .collect();
    amounts.sort_unstable();
    assert_eq!(amounts, ["¥12.34", "¥3.00"]);

    let doc = wallet(
        dir,
        &[
            "pay-remote",
            "--order",
            "no/such",
            "--auth",
            "sms",
            "--code-from-outbox",
        ],
    );
    assert_eq!(doc["error"]["kind"], "remote.invalid_order_id", "{doc:#}");
}

#[test]
fn the_demo_pays_remotely_in_both_modes() {
    let dir = tempfile::tempdir().unwrap();
    let doc = ok(wallet(dir.path(), &["demo"]));
    let wrong = step(&doc, "a wrong payment password");
    assert_eq!(wrong["outcome"], "expected_error");
    assert_eq!(wrong["details"]["kind"], "remote.password_wrong");
    let password = step(&doc, "paid ¥25.00 with the device key + payment password");
    assert_eq!(password["details"]["auth"], "password");
    let twice = step(&doc, "paying the same order twice");
    assert_eq!(twice["details"]["kind"], "remote.order_already_paid");
    let sms = step(&doc, "paid ¥18.80 with the device key + SMS code");
    assert_eq!(sms["details"]["auth"], "sms");
    let se = step(
        &doc,
        "paid ¥9.90 in SE mode (the card's applet signed after the PIN)",
    );
    assert_eq!(se["details"]["auth"], "se");
    let history = step(
        &doc,
        "payment history (synchronised with the remote payment system)",
    );
    assert!(
        history["details"]["count"].as_u64().unwrap() >= 2,
        "{history:#}"
    );
}

#[test]
fn se_mode_pays_with_the_card_in_the_ese() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    ok(wallet(
        dir,
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
    ));
    ok(wallet(dir, &["open-card", "--se", "ese"]));
    let order = new_order(dir, "6.66");
    let doc = wallet(
        dir,
        &[
            "pay-remote",
            "--order",
            &order,
            "--auth",
            "se",
            "--pin",
            "000000",
        ],
    );
    assert_eq!(doc["error"]["kind"], "remote.pin_wrong", "{doc:#}");
    let doc = ok(wallet(
        dir,
        &[
            "pay-remote",
            "--order",
            &order,
            "--auth",
            "se",
            "--se",
            "ese",
            "--pin",
            "123456",
        ],
    ));
    let paid = &step(&doc, "paid")["details"];
    assert_eq!(paid["auth"], "se");
    assert_eq!(paid["amount"], "¥6.66");
}
