//! Unit tests of the payment applet: personalisation, the FCI and GET DATA of the card
//! application, counters made durable before the answer, channels.

use super::*;
use crate::se_sim::applet::{DurableState, Volatile};
use wallet_core::apdu::{tlv, Tag};
use wallet_core::backend::api::AccountKind;
use wallet_core::card::aids::{DEBIT, E_CASH};
use wallet_core::card::test_issuer::issue_test_card_with_icc_key;
use wallet_core::card::{CardCrypto, CardKeys, ECashParams};
use wallet_core::crypto::sm2::Sm2SigningKey;

/// Records every state the applet asks to persist; refuses them all when `fail`.
#[derive(Default)]
struct Recorder {
    states: Vec<Value>,
    fail: bool,
}

impl DurableState for Recorder {
    fn persist(&mut self, state: &Value) -> Result<(), AppletError> {
        if self.fail {
            return Err(AppletError::Storage("disk full".into()));
        }
        self.states.push(state.clone());
        Ok(())
    }
}

fn perso(kind: AccountKind) -> CardPersonalization {
    CardPersonalization {
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
            balance: 10_000,
            balance_limit: 100_000,
            single_transaction_limit: 50_000,
        }),
    }
}

/// A debit + e-cash instance personalised with the whole profile (fDDA included).
fn personalised() -> PaymentApplet {
    let icc = Sm2SigningKey::from_bytes(&[7; 32]).unwrap();
    let profile = issue_test_card_with_icc_key(perso(AccountKind::Debit), &icc).unwrap();
    let mut applet = PaymentApplet::new();
    for dgi in profile.to_dgis().unwrap() {
        applet.store_dgi(dgi).unwrap();
    }
    applet.end_personalization().unwrap();
    applet
}

fn aid(bytes: &[u8]) -> Aid {
    Aid::new(bytes).unwrap()
}

fn h(s: &str) -> Vec<u8> {
    hex::decode(s.replace(' ', "")).unwrap()
}

fn send(
    applet: &mut PaymentApplet,
    durable: &mut dyn DurableState,
    channel: u8,
    apdu: &str,
) -> ResponseApdu {
    let cmd = CommandApdu::parse(&h(apdu)).unwrap();
    applet.process(&cmd, &mut AppletContext { channel, durable })
}

fn select(applet: &mut PaymentApplet, channel: u8, name: &[u8]) -> String {
    let mut ctx = AppletContext {
        channel,
        durable: &mut Volatile,
    };
    hex::encode_upper(applet.select(&aid(name), &mut ctx).to_bytes())
}

/// GPO of an offline-capable purchase of `amount` (n12 hex) in CNY, e-cash supported.
fn gpo(amount: &str) -> String {
    let data = format!("26000080 {amount} 000000000000 0156 0000000000 0156 250314 00 11223344 01");
    let data = h(&data);
    format!(
        "80A80000 {:02X} 83{:02X} {} 00",
        data.len() + 2,
        data.len(),
        hex::encode(&data)
    )
}

fn value(response: &ResponseApdu, tag: u32) -> Vec<u8> {
    tlv::find(&response.data, Tag::new(tag).unwrap())
        .unwrap()
        .unwrap()
        .value()
        .to_vec()
}

#[test]
fn unpersonalised_instance_answers_a_bare_fci_and_nothing_else() {
    let mut applet = PaymentApplet::new();
    assert_eq!(
        select(&mut applet, 0, &E_CASH),
        "6F0A8408A0000003330101069000"
    );
    assert_eq!(
        send(&mut applet, &mut Volatile, 0, "80CA9F7900").sw.0,
        0x6985
    );
    assert!(applet.directory().is_empty());
    assert_eq!(applet.save()["personalized"], false);

    let mut incomplete = PaymentApplet::new();
    let first = perso(AccountKind::ECash).to_dgis().unwrap().remove(0);
    incomplete.store_dgi(first).unwrap();
    assert!(matches!(
        incomplete.end_personalization(),
        Err(AppletError::Personalization(_))
    ));
    assert!(!incomplete.is_personalized());
}

#[test]
fn personalised_instance_is_the_card_application() {
    let mut applet = personalised();
    let dir: Vec<_> = applet
        .directory()
        .iter()
        .map(|e| (e.aid, e.priority))
        .collect();
    assert_eq!(dir, [(DEBIT, 1), (E_CASH, 2)]);
    assert_eq!(
        applet.store_dgi(Dgi {
            tag: 0x0101,
            data: vec![]
        }),
        Err(AppletError::NotNow)
    );
    // 6F45 { 84 AID, A539 { 50 "UnionPay E-Cash", 87 02, 9F38 PDOL, 5F2D "zhen" } }.
    let label = hex::encode_upper(b"UnionPay E-Cash");
    let pdol = "9F66049F02069F03069F1A0295055F2A029A039C019F37049F7A01";
    assert_eq!(
        select(&mut applet, 1, &E_CASH),
        format!("6F458408A000000333010106A539500F{label}8701029F381B{pdol}5F2D047A68656E9000")
    );
    // GET DATA on logical channel 1 (class 81): the balance, the ATC of a new card.
    let balance = send(&mut applet, &mut Volatile, 1, "81CA9F7900");
    assert_eq!(
        hex::encode_upper(balance.to_bytes()),
        "9F79060000000100009000"
    );
    let atc = send(&mut applet, &mut Volatile, 1, "81CA9F3600");
    assert_eq!(hex::encode_upper(atc.to_bytes()), "9F360200009000");
    assert_eq!(applet.ecash_balance(), Some(10_000));
    // A channel that selected nothing gets nothing.
    assert_eq!(
        send(&mut applet, &mut Volatile, 2, "82CA9F7900").sw.0,
        0x6985
    );
}

#[test]
fn counters_are_made_durable_before_the_cryptogram_leaves() {
    let mut applet = personalised();
    let mut disk = Recorder::default();
    select(&mut applet, 0, &E_CASH);
    let tc = send(&mut applet, &mut disk, 0, &gpo("000000002500"));
    assert_eq!(tc.sw.0, 0x9000);
    assert_eq!(value(&tc, 0x9F27), [0x40], "offline e-cash TC");
    assert_eq!(value(&tc, 0x9F36), [0x00, 0x01]);
    assert_eq!(value(&tc, 0x9F5D), h("000000007500"));
    // Exactly one write, holding the new ATC and the debited balance.
    assert_eq!(disk.states.len(), 1);
    let written = &disk.states[0];
    assert_eq!(
        written["counters"],
        serde_json::json!({"atc": 1, "last_online_atc": 0, "ecash_balance": 7500})
    );
    assert_eq!(*written, applet.save());
    // What was written is enough to resume: the next transaction uses ATC 2.
    let mut resumed = PaymentApplet::restore(written).unwrap();
    select(&mut resumed, 0, &DEBIT);
    let arqc = send(&mut resumed, &mut disk, 0, &gpo("000000060000"));
    assert_eq!(
        value(&arqc, 0x9F27),
        [0x80],
        "above the e-cash limit: online"
    );
    assert_eq!(value(&arqc, 0x9F36), [0x00, 0x02]);
    assert_eq!(resumed.counters().map(|c| c.last_online_atc), Some(2));

    // A card that cannot save answers 6581 and forgets nothing.
    let mut failing = personalised();
    select(&mut failing, 0, &E_CASH);
    let mut broken = Recorder {
        fail: true,
        ..Recorder::default()
    };
    let refused = send(&mut failing, &mut broken, 0, &gpo("000000002500"));
    assert_eq!(refused.to_bytes(), [0x65, 0x81]);
    assert_eq!(
        failing.counters().map(|c| (c.atc, c.ecash_balance)),
        Some((0, Some(10_000)))
    );
}

#[test]
fn each_channel_keeps_its_selection() {
    let mut applet = personalised();
    select(&mut applet, 1, &E_CASH);
    select(&mut applet, 2, &DEBIT);
    // Channel 1 again: its e-cash application is selected again first.
    let limit = send(&mut applet, &mut Volatile, 1, "81CA9F7800");
    assert_eq!(hex::encode_upper(limit.data), "9F7806000000050000");
    // Channel 2's transaction: GPO, then a READ RECORD on channel 1 finds no transaction.
    let mut disk = Recorder::default();
    assert_eq!(
        send(&mut applet, &mut disk, 2, &gpo("000000000100")).sw.0,
        0x9000
    );
    assert_eq!(
        send(&mut applet, &mut Volatile, 1, "01B2010C00").sw.0,
        0x6985
    );
    // Deselected (channel closed): nothing selected there any more.
    applet.deselect(1);
    assert_eq!(
        send(&mut applet, &mut Volatile, 1, "81CA9F7900").sw.0,
        0x6985
    );
}

#[test]
fn state_files_without_counters_resume_from_the_personalisation() {
    let applet = personalised();
    let mut saved = applet.save();
    assert!(saved["counters"].is_object());
    saved.as_object_mut().unwrap().remove("counters");
    let restored = PaymentApplet::restore(&saved).unwrap();
    assert_eq!(
        restored.counters(),
        Some(CardCounters {
            atc: 0,
            last_online_atc: 0,
            ecash_balance: Some(10_000)
        })
    );
    assert_eq!(
        restored.personalization().map(|p| p.pan.as_str()),
        Some("6288880000000017")
    );
    assert!(restored.profile().is_some_and(|p| p.fdda.is_some()));
    assert!(PaymentApplet::restore(&serde_json::json!({"dgis": 3})).is_err());
}

/// An instance personalised with the PIN `123456` (DGI `8002`): returns it and the answer of
/// the last STORE DATA.
fn personalised_with_pin() -> (PaymentApplet, Vec<u8>) {
    let icc = Sm2SigningKey::from_bytes(&[7; 32]).unwrap();
    let profile = issue_test_card_with_icc_key(perso(AccountKind::Debit), &icc).unwrap();
    let mut applet = PaymentApplet::new();
    for dgi in profile.to_dgis().unwrap() {
        applet.store_dgi(dgi).unwrap();
    }
    let pin = wallet_core::card::signing::PinBlock::new("123456").unwrap();
    applet.store_dgi(pin.to_dgi()).unwrap();
    let answer = applet.end_personalization().unwrap();
    (applet, answer)
}

#[test]
fn the_pin_makes_the_card_generate_its_signing_key() {
    let (mut applet, answer) = personalised_with_pin();
    let public = applet.signing_public_key().unwrap();
    assert_eq!(answer[..3], [0xDF, 0x61, 0x41]);
    assert_eq!(answer[3..], public[..]);
    assert_eq!(applet.pin_tries_left(), Some(3));
    // The same key through GET DATA DF61.
    select(&mut applet, 0, &DEBIT);
    let read = send(&mut applet, &mut Volatile, 0, "80CADF6100");
    assert_eq!(read.data, answer);
    // Each card its own key; a card without a PIN has none and answers nothing.
    assert_ne!(personalised_with_pin().0.signing_public_key(), Some(public));
    let mut plain = PaymentApplet::new();
    for dgi in perso(AccountKind::Debit).to_dgis().unwrap() {
        plain.store_dgi(dgi).unwrap();
    }
    assert_eq!(plain.end_personalization().unwrap(), Vec::<u8>::new());
    assert_eq!(plain.signing_public_key(), None);
    // The key is the card's own: nobody may send one.
    let mut forged = PaymentApplet::new();
    assert!(matches!(
        forged.store_dgi(Dgi {
            tag: 0x8003,
            data: vec![0x02; 33]
        }),
        Err(AppletError::Personalization(_))
    ));
}

#[test]
fn wrong_pins_are_saved_before_the_answer_and_the_key_survives_a_restart() {
    let (mut applet, _) = personalised_with_pin();
    let public = applet.signing_public_key().unwrap();
    select(&mut applet, 0, &DEBIT);
    let mut disk = Recorder::default();
    let wrong = send(&mut applet, &mut disk, 0, "002000800826111111FFFFFFFF");
    assert_eq!(wrong.sw.0, 0x63C2);
    assert_eq!(disk.states.len(), 1);
    assert_eq!(disk.states[0]["pin_tries_left"], 2);
    assert_eq!(disk.states[0], applet.save());
    // A card that cannot save does not count (and does not answer 63Cx).
    let mut broken = Recorder {
        fail: true,
        ..Recorder::default()
    };
    let refused = send(&mut applet, &mut broken, 0, "002000800826111111FFFFFFFF");
    assert_eq!(refused.sw.0, 0x6581);

    let mut resumed = PaymentApplet::restore(&disk.states[0]).unwrap();
    assert_eq!(resumed.pin_tries_left(), Some(2));
    assert_eq!(resumed.signing_public_key(), Some(public.clone()));
    select(&mut resumed, 0, &DEBIT);
    assert_eq!(
        send(&mut resumed, &mut disk, 0, "002000800826123456FFFFFFFF")
            .sw
            .0,
        0x9000
    );
    let signed = send(&mut resumed, &mut disk, 0, "002A9E9A0361626300");
    assert_eq!(signed.sw.0, 0x9000);
    wallet_core::crypto::sm2::verify_sm2(
        &public,
        wallet_core::card::signing::SM2_USER_ID,
        b"abc",
        &signed.data,
    )
    .unwrap();
    // A state file from before signing reads with the full try count.
    let mut old = resumed.save();
    old.as_object_mut().unwrap().remove("pin_tries_left");
    assert_eq!(
        PaymentApplet::restore(&old).unwrap().pin_tries_left(),
        Some(3)
    );
}
