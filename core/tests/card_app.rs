//! Whole contactless transactions against the card application, driven by a minimal terminal
//! written here (PPSE → SELECT → GPO with PDOL data → READ RECORD per AFL → GET DATA), checked
//! the way an issuer and a terminal would: the ARQC / TC / AAC recomputed from the test issuer
//! master keys and the transaction data (not from the card's state), fDDA checked along the
//! certificate chain from the test CA by parsing the documented formats and calling SM2 directly,
//! e-cash loads with a valid and a tampered script MAC, both crypto profiles, each account kind,
//! the ATC across restarts and a failing counter store.

#[path = "card_app/terminal.rs"]
mod terminal;

use std::collections::BTreeMap;
use terminal::*;
use wallet_core::apdu::{tlv, CommandApdu, Dol, Occurrence, ResponseApdu, Tag};
use wallet_core::backend::api::AccountKind;
use wallet_core::card::keys::{arpc_method_1, script_mac};
use wallet_core::card::perso::{amount_n12, parse_amount_n12};
use wallet_core::card::test_issuer::{TEST_IMK_AC, TEST_IMK_SMI};
use wallet_core::card::{
    aids, CardApplication, CardContext, CardCounterStore, CardCounters, CardCrypto,
    CounterStoreError, MemoryCounterStore,
};

const PROFILES: [CardCrypto; 2] = [CardCrypto::Tdes, CardCrypto::Sm4];

#[test]
fn online_arqc_for_every_account_kind_and_profile() {
    for crypto in PROFILES {
        for kind in [
            AccountKind::Debit,
            AccountKind::Credit,
            AccountKind::QuasiCredit,
        ] {
            let mut app = card(kind, crypto, None);
            let mut store = MemoryCounterStore::default();
            let tap = tap_card(&mut app, &mut store, purchase(12_345));
            assert_eq!(tap.directory, [(aids::for_account(kind), 1)]);
            assert_eq!(tap.cid(), 0x80, "ARQC");
            assert_eq!(tap.atc(), 1);
            assert_eq!(tap.get(0x82), [0x24, 0x00]);
            assert_eq!(tap.get(0x94), [0x08, 0x01, 0x03, 0x00]);
            assert_eq!(tap.get(0x9F10)[4], 0xA0, "CVR: ARQC");
            check_cryptogram(crypto, &tap);
            assert_eq!(tap.records.len(), 3);
            assert!(tlv::find(&tap.gpo, t(0x9F4B)).unwrap().is_none());
            let track2 = hex::encode_upper(tap.get(0x57));
            assert!(track2.starts_with(&format!("{PAN}D3012201")), "{track2}");
            assert_eq!(get_data(&mut app, &mut store, 0x9F36), [0, 1]);
            assert_eq!(get_data(&mut app, &mut store, 0x9F13), [0, 1]);
            assert_eq!(store.last, Some(app.counters()));
        }
    }
}

#[test]
fn offline_ecash_tc_with_fdda_and_balance_drop() {
    for crypto in PROFILES {
        for kind in [AccountKind::Debit, AccountKind::Credit, AccountKind::ECash] {
            let mut app = card(kind, crypto, Some(10_000));
            let mut store = MemoryCounterStore::default();
            let tap = tap_card(&mut app, &mut store, purchase(2_500));
            let expected_dir: Vec<([u8; 8], u8)> = if kind == AccountKind::ECash {
                vec![(aids::E_CASH, 1)]
            } else {
                vec![(aids::for_account(kind), 1), (aids::E_CASH, 2)]
            };
            assert_eq!(tap.directory, expected_dir);
            assert_eq!(tap.cid(), 0x40, "TC");
            assert_eq!(
                tap.get(0x9F10)[4..6],
                [0x90, 0x80],
                "CVR: TC, offline e-cash"
            );
            assert_eq!(tap.get(0x9F74), b"ECC001");
            assert_eq!(parse_amount_n12(&tap.get(0x9F5D)).unwrap(), 7_500);
            check_cryptogram(crypto, &tap);
            check_fdda(&tap);
            assert_eq!(balance(&mut app, &mut store), 7_500);
            assert_eq!(store.writes, 1, "ATC and debit in one durable write");
            assert_eq!(store.last.unwrap().ecash_balance, Some(7_500));
            assert_eq!(store.last.unwrap().atc, 1);
        }
    }
}

#[test]
fn online_when_offline_is_not_allowed() {
    let mut app = card(AccountKind::Debit, CardCrypto::Sm4, Some(10_000));
    let mut store = MemoryCounterStore::default();
    let cases = [
        purchase(60_000), // over the single-transaction limit
        purchase(10_001), // over the balance
        Txn {
            ecash_support: false, // terminal without e-cash
            ..purchase(100)
        },
        Txn {
            online_required: true,
            ..purchase(100)
        },
        purchase(0),
    ];
    for txn in cases {
        let tap = tap_card(&mut app, &mut store, txn);
        assert_eq!(tap.cid(), 0x80);
        check_cryptogram(CardCrypto::Sm4, &tap);
    }
    assert_eq!(balance(&mut app, &mut store), 10_000);
    // The stand-alone e-cash application declines (AAC) what it cannot approve offline.
    let mut ecash = card(AccountKind::ECash, CardCrypto::Tdes, Some(1_000));
    let tap = tap_card(&mut ecash, &mut store, purchase(1_001));
    assert_eq!(tap.cid(), 0x00, "AAC");
    assert_eq!(tap.get(0x9F10)[4], 0x80);
    check_cryptogram(CardCrypto::Tdes, &tap);
    assert_eq!(balance(&mut ecash, &mut store), 1_000);
}

/// Loads `amount` through an online load transaction on `aid`; `tamper` flips a MAC bit.
fn load(
    app: &mut CardApplication,
    store: &mut MemoryCounterStore,
    crypto: CardCrypto,
    aid: [u8; 8],
    new_balance: u64,
    tamper: bool,
) -> (Tap, u16) {
    let txn = Txn {
        tx_type: 0x60,
        aid: Some(aid),
        ..purchase(new_balance)
    };
    let tap = tap_card(app, store, txn);
    assert_eq!(tap.cid(), 0x80);
    let arqc = check_cryptogram(crypto, &tap);
    // Issuer authentication: ARPC method 1 with ARC "00".
    let key = issuer_session_key(crypto, &TEST_IMK_AC, &tap);
    let arpc = arpc_method_1(&key, &arqc, b"00").unwrap();
    let auth = CommandApdu::new(0x00, 0x82, 0x00, 0x00)
        .with_data([&arpc[..], b"00"].concat())
        .unwrap();
    assert_eq!(send(app, store, &auth).sw.0, 0x9000);
    // Issuer script: PUT DATA 9F79 with the MAC under the SMI session key.
    let smi = issuer_session_key(crypto, &TEST_IMK_SMI, &tap);
    let value = amount_n12(new_balance).unwrap();
    let header = [0x04, 0xDA, 0x9F, 0x79, 0x0A];
    let mut mac = script_mac(&smi, &header, tap.atc(), &arqc, &value).unwrap();
    if tamper {
        mac[3] ^= 0x01;
    }
    let put = CommandApdu::new(0x04, 0xDA, 0x9F, 0x79)
        .with_data([&value[..], &mac[..]].concat())
        .unwrap();
    let sw = send(app, store, &put).sw.0;
    (tap, sw)
}

#[test]
fn ecash_load_with_valid_and_tampered_script_mac() {
    for crypto in PROFILES {
        for (kind, aid) in [
            (AccountKind::Debit, aids::DEBIT),
            (AccountKind::Credit, aids::E_CASH),
            (AccountKind::ECash, aids::E_CASH),
        ] {
            let mut app = card(kind, crypto, Some(1_000));
            let mut store = MemoryCounterStore::default();
            let (_, sw) = load(&mut app, &mut store, crypto, aid, 21_000, true);
            assert_eq!(sw, 0x6988, "tampered MAC");
            assert_eq!(balance(&mut app, &mut store), 1_000, "nothing changed");
            // A new load transaction with the right MAC.
            let (_, sw) = load(&mut app, &mut store, crypto, aid, 21_000, false);
            assert_eq!(sw, 0x9000);
            assert_eq!(balance(&mut app, &mut store), 21_000);
            assert_eq!(store.last.unwrap().ecash_balance, Some(21_000));
            let (_, sw) = load(&mut app, &mut store, crypto, aid, 100_001, false);
            assert_eq!(sw, 0x6A80, "over the balance limit");
            assert_eq!(balance(&mut app, &mut store), 21_000);
        }
    }
}

#[test]
fn script_and_issuer_authentication_once_per_transaction() {
    let crypto = CardCrypto::Sm4;
    let mut app = card(AccountKind::Debit, crypto, Some(0));
    let mut store = MemoryCounterStore::default();
    let (tap, sw) = load(&mut app, &mut store, crypto, aids::DEBIT, 5_000, false);
    assert_eq!(sw, 0x9000);
    let arqc: [u8; 8] = tap.get(0x9F26).try_into().unwrap();
    let smi = issuer_session_key(crypto, &TEST_IMK_SMI, &tap);
    let value = amount_n12(9_000).unwrap();
    let mac = script_mac(
        &smi,
        &[0x04, 0xDA, 0x9F, 0x79, 0x0A],
        tap.atc(),
        &arqc,
        &value,
    )
    .unwrap();
    let replay = CommandApdu::new(0x04, 0xDA, 0x9F, 0x79)
        .with_data([&value[..], &mac[..]].concat())
        .unwrap();
    assert_eq!(send(&mut app, &mut store, &replay).sw.0, 0x6985);
    let auth = CommandApdu::new(0x00, 0x82, 0x00, 0x00)
        .with_data([0u8; 10])
        .unwrap();
    assert_eq!(send(&mut app, &mut store, &auth).sw.0, 0x6985);
    assert_eq!(balance(&mut app, &mut store), 5_000);
    // A wrong ARPC in a new online transaction: 6300.
    let tap = tap_card(&mut app, &mut store, purchase(90_000));
    assert_eq!(tap.cid(), 0x80);
    assert_eq!(send(&mut app, &mut store, &auth).sw.0, 0x6300);
}

/// A durable store double: keeps every write, like a log on disk; can be told to fail.
#[derive(Default)]
struct Disk {
    log: Vec<CardCounters>,
    fail: bool,
}

impl CardCounterStore for Disk {
    fn persist(&mut self, counters: &CardCounters) -> Result<(), CounterStoreError> {
        if self.fail {
            return Err(CounterStoreError("disk full".into()));
        }
        self.log.push(*counters);
        Ok(())
    }
}

#[test]
fn atc_never_repeats_across_restarts_and_store_failures() {
    let crypto = CardCrypto::Tdes;
    let first = card(AccountKind::Debit, crypto, Some(10_000));
    let profile = first.profile().clone();
    let mut disk = Disk::default();
    let mut app = first;
    let mut seen = Vec::new();
    for round in 0..4 {
        for i in 0..3 {
            let txn = if i == 1 {
                purchase(100)
            } else {
                purchase(70_000)
            };
            let tap = tap_card(&mut app, &mut disk, txn);
            check_cryptogram(crypto, &tap);
            seen.push((tap.atc(), tap.get(0x9F26)));
        }
        // The store fails: 6581, no cryptogram, nothing changes.
        disk.fail = true;
        let before = app.counters();
        ok(
            &mut app,
            &mut disk,
            &CommandApdu::select_by_name(&aids::DEBIT, Occurrence::First).unwrap(),
        );
        let gpo = CommandApdu::get_processing_options(&[0x26; 34]).unwrap();
        let r = app.process(&gpo.to_bytes(), &mut CardContext::new(&mut disk));
        assert_eq!(r, [0x65, 0x81], "round {round}");
        assert_eq!(app.counters(), before);
        disk.fail = false;
        // Restart: a new application from what the disk holds.
        let durable = *disk.log.last().unwrap();
        assert_eq!(durable, app.counters());
        app = CardApplication::new(profile.clone(), durable).unwrap();
    }
    let atcs: Vec<u16> = seen.iter().map(|(atc, _)| *atc).collect();
    assert_eq!(
        atcs,
        (1..=12).collect::<Vec<u16>>(),
        "strictly increasing, no replay"
    );
    let mut cryptograms: Vec<&Vec<u8>> = seen.iter().map(|(_, ac)| ac).collect();
    cryptograms.sort();
    cryptograms.dedup();
    assert_eq!(cryptograms.len(), 12);
    // Every ATC that produced a cryptogram was on disk first, and the log never goes back.
    assert!(disk.log.windows(2).all(|w| w[1].atc > w[0].atc));
    assert_eq!(app.counters().ecash_balance, Some(10_000 - 4 * 100));
}

#[test]
fn store_failure_during_offline_and_load_changes_nothing() {
    let crypto = CardCrypto::Sm4;
    let mut app = card(AccountKind::Debit, crypto, Some(10_000));
    let mut store = MemoryCounterStore::default();
    ok(
        &mut app,
        &mut store,
        &CommandApdu::select_by_name(&aids::DEBIT, Occurrence::First).unwrap(),
    );
    store.fail = true;
    let mut terminal = BTreeMap::new();
    terminal.insert(Tag::TTQ, vec![0x26, 0, 0, 0x80]);
    terminal.insert(Tag::AMOUNT_AUTHORISED, amount_n12(100).unwrap());
    terminal.insert(Tag::TRANSACTION_CURRENCY_CODE, vec![0x01, 0x56]);
    terminal.insert(t(0x9F7A), vec![0x01]);
    let pdol = Dol::parse(&wallet_core::card::app::PDOL).unwrap();
    let gpo = CommandApdu::get_processing_options(&pdol.build(&terminal)).unwrap();
    assert_eq!(
        app.process(&gpo.to_bytes(), &mut CardContext::new(&mut store)),
        [0x65, 0x81]
    );
    store.fail = false;
    assert_eq!(balance(&mut app, &mut store), 10_000);
    assert_eq!(get_data(&mut app, &mut store, 0x9F36), [0, 0]);
    // The same GPO once the store works again: an offline TC at ATC 1.
    let r = ResponseApdu::parse(&app.process(&gpo.to_bytes(), &mut CardContext::new(&mut store)))
        .unwrap();
    assert!(r.is_success());
    assert_eq!(
        tlv::find(&r.data, t(0x9F27)).unwrap().unwrap().value(),
        [0x40]
    );
    assert_eq!(balance(&mut app, &mut store), 9_900);

    // A valid load script while the store fails: 6581 and the balance stays.
    let txn = Txn {
        tx_type: 0x60,
        aid: Some(aids::DEBIT),
        ..purchase(1)
    };
    let tap = tap_card(&mut app, &mut store, txn);
    let arqc: [u8; 8] = tap.get(0x9F26).try_into().unwrap();
    let smi = issuer_session_key(crypto, &TEST_IMK_SMI, &tap);
    let value = amount_n12(20_000).unwrap();
    let mac = script_mac(
        &smi,
        &[0x04, 0xDA, 0x9F, 0x79, 0x0A],
        tap.atc(),
        &arqc,
        &value,
    )
    .unwrap();
    let put = CommandApdu::new(0x04, 0xDA, 0x9F, 0x79)
        .with_data([&value[..], &mac[..]].concat())
        .unwrap();
    store.fail = true;
    assert_eq!(send(&mut app, &mut store, &put).sw.0, 0x6581);
    store.fail = false;
    assert_eq!(balance(&mut app, &mut store), 9_900);
}
