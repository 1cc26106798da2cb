//! Unit tests of SELECT and the PPSE: payment instances put straight into the registry.

use super::*;
use crate::se_sim::applet::Applet;
use crate::se_sim::payment::PaymentApplet;
use crate::se_sim::registry::{Body, Entry};
use crate::world_keys::{KDD_LEN, PAYMENT_LOAD_FILE, PAYMENT_MODULE};
use wallet_core::card::aids::{DEBIT, E_CASH};
use wallet_core::card::test_issuer::issue_test_card_with_icc_key;
use wallet_core::card::{CardCrypto, CardKeys, CardPersonalization, ECashParams};
use wallet_core::crypto::sm2::Sm2SigningKey;
use wallet_core::gp::{AppLifeCycle, Privileges};
use wallet_core::se::ReaderKind;

fn aid(bytes: &[u8]) -> Aid {
    Aid::new(bytes).unwrap()
}

/// A personalised payment instance of account `kind` (with e-cash).
fn payment(kind: AccountKind) -> Box<dyn Applet> {
    let perso = CardPersonalization {
        account_kind: kind,
        pan: "6288880000000017".into(),
        pan_sequence: 1,
        expiry: "301231".into(),
        crypto: CardCrypto::Sm4,
        currency: 156,
        country: 156,
        keys: CardKeys {
            ac: [1; 16].into(),
            smi: [2; 16].into(),
            smc: [3; 16].into(),
        },
        ecash: Some(ECashParams {
            balance: 500,
            balance_limit: 100_000,
            single_transaction_limit: 50_000,
        }),
    };
    let icc = Sm2SigningKey::from_bytes(&[3; 32]).unwrap();
    let mut applet = PaymentApplet::new();
    for dgi in issue_test_card_with_icc_key(perso, &icc)
        .unwrap()
        .to_dgis()
        .unwrap()
    {
        applet.store_dgi(dgi).unwrap();
    }
    applet.end_personalization().unwrap();
    Box::new(applet)
}

fn install(se: &mut SimulatedSe, instance: [u8; 8], applet: Box<dyn Applet>) {
    se.registry.entries.push(Entry {
        aid: aid(&instance),
        load_file: Some(aid(&PAYMENT_LOAD_FILE)),
        module: Some(aid(&PAYMENT_MODULE)),
        life_cycle: AppLifeCycle::PERSONALIZED,
        privileges: Privileges::NONE,
        associated_sd: aid(&ISD_AID),
        body: Body::Applet(applet),
    });
}

fn card_with_debit() -> SimulatedSe {
    let mut se = SimulatedSe::with_kdd(ReaderKind::Ese, [9; KDD_LEN]).unwrap();
    install(&mut se, DEBIT, payment(AccountKind::Debit));
    se
}

fn run(se: &mut SimulatedSe, apdu: &str) -> String {
    hex::encode_upper(se.transmit(&hex::decode(apdu.replace(' ', "")).unwrap()))
}

const SELECT_PPSE: &str = "00A404000E325041592E5359532E444446303100";

/// The PPSE of a debit card with e-cash, as the core's own card-application test writes it.
const DEBIT_PPSE: &str = "6F54840E325041592E5359532E4444463031A542BF0C3F\
    611D4F08A000000333010101500E556E696F6E5061792044656269748701 01\
    611E4F08A000000333010106500F556E696F6E50617920452D436173688701 02 9000";

#[test]
fn ppse_lists_both_applications_of_a_composite_on_any_channel() {
    let mut se = card_with_debit();
    assert_eq!(run(&mut se, SELECT_PPSE), DEBIT_PPSE.replace(' ', ""));
    // The PPSE answers SELECT only.
    assert_eq!(run(&mut se, "80CA9F7900"), "6985");
    assert_eq!(run(&mut se, "0070000001"), "019000");
    assert_eq!(
        run(&mut se, "01A404000E325041592E5359532E444446303100"),
        DEBIT_PPSE.replace(' ', "")
    );
    assert_eq!(
        run(&mut se, "01A404020E325041592E5359532E444446303100"),
        "6A82"
    );
    // From the PPSE to the e-cash application of the same instance, on channel 1.
    let fci = run(&mut se, "01A4040008A00000033301010600");
    assert!(fci.starts_with("6F458408A000000333010106"), "{fci}");
    assert_eq!(run(&mut se, "81CA9F7900"), "9F79060000000005009000");
    assert_eq!(
        se.payment_directory()
            .iter()
            .map(|(e, host)| (e.aid, host.clone()))
            .collect::<Vec<_>>(),
        [(DEBIT, aid(&DEBIT)), (E_CASH, aid(&DEBIT))]
    );
}

#[test]
fn partial_and_next_selection_walk_the_applications() {
    let mut se = card_with_debit();
    let first = run(&mut se, "00A4040007A000000333010100");
    assert!(first.starts_with("6F448408A000000333010101"), "{first}");
    let next = run(&mut se, "00A4040207A000000333010100");
    assert!(next.starts_with("6F458408A000000333010106"), "{next}");
    assert_eq!(run(&mut se, "00A4040207A000000333010100"), "6A82");
    // The failed SELECT left the e-cash application selected; no FCI with P2 0C.
    assert_eq!(run(&mut se, "80CA9F7900"), "9F79060000000005009000");
    assert_eq!(run(&mut se, "00A4040C08A000000333010101"), "9000");
    // Nothing after the ISD but the payment names; an empty name is the ISD.
    assert!(run(&mut se, "00A4040000").starts_with("6F108408A000000151000000"));
    assert_eq!(run(&mut se, "00A4040200"), "6A82");
    assert_eq!(run(&mut se, "00A4040108A00000033301010100"), "6A86");
}

#[test]
fn a_locked_instance_is_neither_listed_nor_selectable() {
    let mut se = card_with_debit();
    // A stand-alone e-cash instance owns its AID: the debit card lists its debit application only.
    install(&mut se, E_CASH, payment(AccountKind::ECash));
    let listed: Vec<_> = se
        .payment_directory()
        .into_iter()
        .map(|(e, host)| (e.aid, e.priority, host))
        .collect();
    assert_eq!(listed, [(DEBIT, 1, aid(&DEBIT)), (E_CASH, 1, aid(&E_CASH))]);

    for entry in &mut se.registry.entries {
        if entry.aid.as_bytes() == DEBIT {
            entry.life_cycle = AppLifeCycle::PERSONALIZED.locked();
        }
    }
    let ppse = run(&mut se, SELECT_PPSE);
    assert!(!ppse.contains("A000000333010101") && ppse.contains("A000000333010106"));
    assert_eq!(run(&mut se, "00A4040008A00000033301010100"), "6A82");
    // Card locked: no application, not even the PPSE.
    se.registry.card_life_cycle = CardLifeCycle::CardLocked;
    assert_eq!(run(&mut se, SELECT_PPSE), "6A81");
    assert_eq!(run(&mut se, "00A4040008A00000033301010600"), "6A81");
}

#[test]
fn a_card_without_payment_applications_has_no_ppse() {
    let mut se = SimulatedSe::with_kdd(ReaderKind::Sim, [1; KDD_LEN]).unwrap();
    assert_eq!(run(&mut se, SELECT_PPSE), "6A82");
    let mut unpersonalised = card_with_debit();
    unpersonalised
        .registry
        .entries
        .retain(|e| e.aid.as_bytes() != DEBIT);
    install(&mut unpersonalised, DEBIT, Box::new(PaymentApplet::new()));
    assert_eq!(run(&mut unpersonalised, SELECT_PPSE), "6A82");
    assert_eq!(
        run(&mut unpersonalised, "00A4040008A00000033301010100"),
        "6F0A8408A0000003330101019000"
    );
}
