//! Unit tests of the card application: the state machine and its status words. Whole
//! transactions checked against the issuer's keys live in `core/tests/card_app.rs`.

use super::*;
use crate::card::counters::{CardContext, CardCounters, MemoryCounterStore};
use crate::card::perso::{CardCrypto, CardKeys, CardPersonalization, ECashParams};
use crate::card::test_issuer::issue_test_card_with_icc_key;
use zeroize::Zeroizing;

pub(super) fn perso(kind: AccountKind, ecash: bool) -> CardPersonalization {
    CardPersonalization {
        account_kind: kind,
        pan: "6288881234567890".into(),
        pan_sequence: 1,
        expiry: "301231".into(),
        crypto: CardCrypto::Sm4,
        currency: 156,
        country: 156,
        keys: CardKeys {
            ac: Zeroizing::new([0; 16]),
            smi: Zeroizing::new([0; 16]),
            smc: Zeroizing::new([0; 16]),
        },
        ecash: ecash.then_some(ECashParams {
            balance: 10_000,
            balance_limit: 100_000,
            single_transaction_limit: 50_000,
        }),
    }
}

pub(super) fn card(kind: AccountKind, ecash: bool) -> CardApplication {
    let icc = Sm2SigningKey::from_bytes(&[5; 32]).unwrap();
    let profile = issue_test_card_with_icc_key(perso(kind, ecash), &icc).unwrap();
    let counters = CardCounters::initial(&profile.perso);
    CardApplication::new(profile, counters).unwrap()
}

pub(super) fn h(s: &str) -> Vec<u8> {
    hex::decode(s.replace(' ', "")).unwrap()
}

/// Sends `apdu` (hex) and returns the status word.
pub(super) fn sw(app: &mut CardApplication, store: &mut MemoryCounterStore, apdu: &str) -> u16 {
    let r = app.process(&h(apdu), &mut CardContext::new(store));
    assert!(r.len() >= 2);
    u16::from_be_bytes([r[r.len() - 2], r[r.len() - 1]])
}

/// PDOL data: TTQ, amount, other, country, TVR, currency, date, type, UN, e-cash indicator.
pub(super) fn pdol_data(amount: &str, tx_type: &str, ecash: &str) -> String {
    format!("26000080 {amount} 000000000000 0156 0000000000 0156 250314 {tx_type} 11223344 {ecash}")
}

pub(super) fn gpo(data: &str) -> String {
    let data = h(data);
    format!(
        "80A80000 {:02X} 83{:02X} {} 00",
        data.len() + 2,
        data.len(),
        hex::encode(&data)
    )
}

const SELECT_PPSE: &str = "00A404000E325041592E5359532E444446303100";
const SELECT_DEBIT: &str = "00A4040008A00000033301010100";

#[test]
fn directory_of_each_account_kind() {
    let aids = |kind, ecash| -> Vec<(String, ApplicationKind, u8)> {
        card(kind, ecash)
            .directory()
            .iter()
            .map(|e| (hex::encode_upper(e.aid), e.kind, e.priority))
            .collect()
    };
    use ApplicationKind::{Account, ECash};
    assert_eq!(
        aids(AccountKind::Debit, false),
        [("A000000333010101".into(), Account, 1)]
    );
    assert_eq!(
        aids(AccountKind::Credit, true),
        [
            ("A000000333010102".into(), Account, 1),
            ("A000000333010106".into(), ECash, 2)
        ]
    );
    assert_eq!(
        aids(AccountKind::ECash, true),
        [("A000000333010106".into(), ECash, 1)]
    );
}

#[test]
fn ppse_lists_the_applications() {
    let mut app = card(AccountKind::Debit, true);
    let mut store = MemoryCounterStore::default();
    let r = app.process(&h(SELECT_PPSE), &mut CardContext::new(&mut store));
    assert_eq!(
        hex::encode_upper(&r),
        "6F54840E325041592E5359532E4444463031A542BF0C3F\
         611D 4F08A000000333010101 500E556E696F6E50617920446562697487 0101\
         611E 4F08A000000333010106 500F556E696F6E5061792045 2D4361736887 0102 9000"
            .replace(' ', "")
    );
}

#[test]
fn application_fci_carries_the_pdol() {
    let mut app = card(AccountKind::Debit, false);
    let mut store = MemoryCounterStore::default();
    let r = app.process(&h(SELECT_DEBIT), &mut CardContext::new(&mut store));
    let pdol = "9F38 1B 9F6604 9F0206 9F0306 9F1A02 9505 5F2A02 9A03 9C01 9F3704 9F7A01";
    assert_eq!(
        hex::encode_upper(&r),
        format!(
            "6F44 8408A000000333010101 A538 500E556E696F6E5061792044656269748701 01 {pdol} 5F2D047A68656E 9000"
        )
        .replace(' ', "")
    );
}

#[test]
fn partial_and_next_selection() {
    let mut app = card(AccountKind::Debit, true);
    let mut store = MemoryCounterStore::default();
    let partial = "00A4040007A000000333010100";
    assert_eq!(sw(&mut app, &mut store, partial), 0x9000);
    assert!(matches!(
        app.selection,
        Selection::Application { index: 0, .. }
    ));
    assert_eq!(
        sw(&mut app, &mut store, "00A4040207A000000333010100"),
        0x9000
    );
    assert!(matches!(
        app.selection,
        Selection::Application { index: 1, .. }
    ));
    assert_eq!(
        sw(&mut app, &mut store, "00A4040207A000000333010100"),
        0x6A82
    );
    assert!(matches!(app.selection, Selection::None));
    // Fewer than 5 bytes never match an application.
    assert_eq!(sw(&mut app, &mut store, "00A4040004A000000300"), 0x6A82);
}

#[test]
fn status_words_of_malformed_and_unexpected_commands() {
    let mut app = card(AccountKind::Debit, true);
    let mut store = MemoryCounterStore::default();
    let purchase = gpo(&pdol_data("000000001000", "00", "00"));
    let cases: &[(&str, u16)] = &[
        ("", 0x6700),                                 // nothing
        ("00A4", 0x6700),                             // no header
        ("00A4040008A000000333", 0x6700),             // Lc 8, 4 bytes
        ("00B2010C0000", 0x6700),                     // trailing byte
        ("00A40400", 0x6700),                         // SELECT without name
        ("00A4010008A00000033301010100", 0x6A86),     // SELECT by file id
        ("00A4040008A00000033301019900", 0x6A82),     // unknown AID
        ("80A4040008A00000033301010100", 0x6E00),     // SELECT with class 80
        ("FFA4040000", 0x6E00),                       // invalid class
        ("20A4040000", 0x6E00),                       // reserved class
        ("01A4040008A00000033301010100", 0x6881),     // logical channel 1
        ("10A4040008A00000033301010100", 0x6884),     // chaining
        ("00FF000000", 0x6D00),                       // unknown INS
        ("80CA9F3600", 0x6985),                       // GET DATA, nothing selected
        (&purchase, 0x6985),                          // GPO, nothing selected
        ("00B2010C00", 0x6985),                       // READ RECORD, nothing selected
        ("0082000000", 0x6700),                       // EXTERNAL AUTHENTICATE without data
        ("00820000 0A 00000000000000000000", 0x6985), // … without ARQC
        ("04DA9F79 0A 00000000000000000000", 0x6985), // PUT DATA without ARQC
        ("00DA9F79 0A 00000000000000000000", 0x6E00), // PUT DATA without secure messaging
        ("04DA9F77 0A 00000000000000000000", 0x6A88), // PUT DATA of another tag
        ("04DA9F79 05 0000000000", 0x6700),           // PUT DATA, wrong Lc
    ];
    for (apdu, expected) in cases {
        assert_eq!(sw(&mut app, &mut store, apdu), *expected, "{apdu}");
    }
    assert_eq!(sw(&mut app, &mut store, SELECT_DEBIT), 0x9000);
    let selected: &[(&str, u16)] = &[
        ("00B2010C00", 0x6985),            // READ RECORD before GPO
        ("80CA9F5000", 0x6A88),            // GET DATA of an unknown tag
        ("80CA9F3601 00", 0x6700),         // GET DATA with data
        ("80A80100 02 8300 00", 0x6A86),   // GPO P1
        ("80A80000 02 8300 00", 0x6700),   // GPO without PDOL data
        ("80A80000 02 7000 00", 0x6A80),   // GPO with another template
        ("80A80000 03 830100 00", 0x6700), // GPO with short PDOL data
    ];
    for (apdu, expected) in selected {
        assert_eq!(sw(&mut app, &mut store, apdu), *expected, "{apdu}");
    }
    assert_eq!(store.writes, 0, "no failed command wrote anything");
    // A terminal without qPBOC support; a non-BCD amount.
    let no_qpboc = pdol_data("000000001000", "00", "00").replacen("26", "06", 1);
    assert_eq!(sw(&mut app, &mut store, &gpo(&no_qpboc)), 0x6985);
    assert_eq!(
        sw(
            &mut app,
            &mut store,
            &gpo(&pdol_data("00000000100A", "00", "00"))
        ),
        0x6A80
    );
    assert_eq!(sw(&mut app, &mut store, &purchase), 0x9000);
    assert_eq!(store.writes, 1);
    let processed: &[(&str, u16)] = &[
        (&purchase, 0x6985),     // second GPO
        ("00B2000C00", 0x6A86),  // record 0
        ("00B2010800", 0x6A86),  // P2 not "SFI, P1 is a record number"
        ("00B20114 00", 0x6A82), // SFI 2
        ("00B2040C00", 0x6A83),  // record 4
        ("00B2010C00", 0x9000),  // record 1
        ("0082000100", 0x6A86),  // EXTERNAL AUTHENTICATE P2
    ];
    for (apdu, expected) in processed {
        assert_eq!(sw(&mut app, &mut store, apdu), *expected, "{apdu}");
    }
    assert_eq!(store.writes, 1);
}

#[test]
fn exhausted_atc_and_inconsistent_counters() {
    let profile = card(AccountKind::Debit, false).profile;
    let last = CardCounters {
        atc: u16::MAX,
        last_online_atc: 3,
        ecash_balance: None,
    };
    let mut app = CardApplication::new(profile.clone(), last).unwrap();
    let mut store = MemoryCounterStore::default();
    assert_eq!(sw(&mut app, &mut store, SELECT_DEBIT), 0x9000);
    let purchase = gpo(&pdol_data("000000001000", "00", "00"));
    assert_eq!(sw(&mut app, &mut store, &purchase), 0x6985);
    assert_eq!(store.writes, 0);

    let with_ecash = CardCounters {
        ecash_balance: Some(1),
        ..last
    };
    assert!(matches!(
        CardApplication::new(profile.clone(), with_ecash),
        Err(CardError::Counters(_))
    ));
    let backwards = CardCounters { atc: 2, ..last };
    assert!(CardApplication::new(profile.clone(), backwards).is_err());
    let mut ecash_without_params = profile;
    ecash_without_params.perso.account_kind = AccountKind::ECash;
    assert!(matches!(
        CardApplication::new(
            ecash_without_params,
            CardCounters::initial(&perso(AccountKind::ECash, false))
        ),
        Err(CardError::Perso(_))
    ));
}

#[test]
fn debug_shows_no_card_data() {
    let app = card(AccountKind::Debit, true);
    let text = format!("{app:?}");
    assert!(!text.contains("6288881234567890") && !text.contains("62888812"));
}
