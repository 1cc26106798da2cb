//! The `wallet` binary end to end: the demo, and consecutive commands sharing the embedded mock
//! world's state under one data directory.

mod support;

use support::{step, wallet};

#[test]
fn the_demo_binds_opens_and_manages_cards() {
    let dir = tempfile::tempdir().unwrap();
    let doc = wallet(dir.path(), &["demo"]);
    assert_eq!(doc["ok"], true, "{doc:#}");
    let opened = step(
        &doc,
        "TSM installed and personalised the card, loaded ¥100.00 e-cash",
    );
    assert_eq!(opened["details"]["state"], "active");
    assert_eq!(opened["details"]["ecash"], "¥100.00");
    let balance = step(&doc, "e-cash balance read from the SE");
    assert_eq!(balance["details"]["balance"], "¥100.00");
    let offline = step(
        &doc,
        "tap ¥12.34: approved offline (e-cash TC, fDDA verified)",
    );
    assert_eq!(offline["details"]["ecash_left"], "¥87.66");
    let online = step(
        &doc,
        "tap ¥888.00: approved online by the issuer (ARQC verified)",
    );
    assert_eq!(online["details"]["via"], "secure element");
    let hce = step(
        &doc,
        "tap ¥23.45: approved online by the issuer (ARQC verified)",
    );
    assert_eq!(hce["details"]["via"], "HCE");
    let load = step(&doc, "load ¥50.00: e-cash loaded (issuer script applied)");
    assert_eq!(load["details"]["old_balance"], "¥87.66");
    assert_eq!(load["details"]["new_balance"], "¥137.66");
    let after = step(&doc, "e-cash balance read from the SE after the load");
    assert_eq!(after["details"]["balance"], "¥137.66");
    let wrong = step(&doc, "a wrong SMS code");
    assert_eq!(wrong["outcome"], "expected_error");
    assert_eq!(wrong["details"]["kind"], "binding.wrong_code");
}

#[test]
fn consecutive_commands_share_the_embedded_world() {
    let dir = tempfile::tempdir().unwrap();
    let begun = wallet(
        dir.path(),
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
        ],
    );
    let session = step(&begun, "bank checked the card and sent a code")["details"]["session"]
        .as_str()
        .unwrap()
        .to_owned();
    // The code the SMS channel sent in the *previous* process is still there.
    let outbox = wallet(dir.path(), &["sms-outbox", "--phone", "13800138000"]);
    let code = step(&outbox, "SMS outbox (test only)")["details"]["messages"][0]["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let bound = wallet(
        dir.path(),
        &["confirm", "--session", &session, "--code", &code],
    );
    assert_eq!(bound["ok"], true, "{bound:#}");

    let opened = wallet(
        dir.path(),
        &["open-card", "--se", "sim", "--ecash", "12.34"],
    );
    assert_eq!(opened["ok"], true, "{opened:#}");
    let balance = wallet(dir.path(), &["ecash-balance"]);
    assert_eq!(
        step(&balance, "e-cash balance read from the SE")["details"]["fen"],
        1234
    );
    let locked = wallet(dir.path(), &["lock-card"]);
    assert_eq!(step(&locked, "card locked")["details"]["state"], "locked");
    let cards = wallet(dir.path(), &["cards"]);
    assert_eq!(
        step(&cards, "cards in secure elements")["details"]["cards"][0]["se"],
        "SIM1"
    );

    let refused = wallet(
        dir.path(),
        &["confirm", "--session", &session, "--code", &code],
    );
    assert_eq!(refused["ok"], false);
    assert_eq!(refused["error"]["kind"], "binding.session_not_found");
}
