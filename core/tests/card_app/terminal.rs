//! The in-test terminal and issuer of `card_app.rs`: a minimal qPBOC reader (PPSE → SELECT →
//! GPO with PDOL data → READ RECORD per AFL → GET DATA) and the issuer / terminal checks
//! (cryptogram recomputed from the test issuer master keys, fDDA along the certificate chain).

use std::collections::BTreeMap;
use wallet_core::apdu::{tlv, CommandApdu, Dol, Occurrence, ResponseApdu, Tag};
use wallet_core::backend::api::AccountKind;
use wallet_core::card::keys::{
    application_cryptogram, derive_icc_master_key, CryptogramData, SessionKey,
};
use wallet_core::card::perso::{amount_n12, parse_amount_n12};
use wallet_core::card::test_issuer::{issue_test_card, TEST_CA, TEST_CA_PUBLIC_KEY, TEST_IMK_AC};
use wallet_core::card::{
    aids, CardApplication, CardContext, CardCounterStore, CardCounters, CardCrypto, CardKeys,
    CardPersonalization, ECashParams,
};
use wallet_core::crypto::sm2::verify_sm2;
use zeroize::Zeroizing;

pub const PAN: &str = "6288881234567890";
pub const SM2_ID: &[u8] = b"1234567812345678";

pub fn t(raw: u32) -> Tag {
    Tag::new(raw).unwrap()
}

pub fn card(kind: AccountKind, crypto: CardCrypto, ecash: Option<u64>) -> CardApplication {
    let perso = CardPersonalization {
        account_kind: kind,
        pan: PAN.into(),
        pan_sequence: 1,
        expiry: "301231".into(),
        crypto,
        currency: 156,
        country: 156,
        keys: CardKeys {
            ac: Zeroizing::new([0; 16]),
            smi: Zeroizing::new([0; 16]),
            smc: Zeroizing::new([0; 16]),
        },
        ecash: ecash.map(|balance| ECashParams {
            balance,
            balance_limit: 100_000,
            single_transaction_limit: 50_000,
        }),
    };
    let profile = issue_test_card(perso).unwrap();
    let counters = CardCounters::initial(&profile.perso);
    CardApplication::new(profile, counters).unwrap()
}

/// What the terminal asks for.
#[derive(Clone, Copy)]
pub struct Txn {
    pub amount: u64,
    pub tx_type: u8,
    pub ecash_support: bool,
    pub online_required: bool,
    pub aid: Option<[u8; 8]>,
}

pub fn purchase(amount: u64) -> Txn {
    Txn {
        amount,
        tx_type: 0x00,
        ecash_support: true,
        online_required: false,
        aid: None,
    }
}

/// What the terminal read from the card.
pub struct Tap {
    pub directory: Vec<([u8; 8], u8)>,
    pub gpo: Vec<u8>,
    pub records: Vec<Vec<u8>>,
    pub terminal: BTreeMap<Tag, Vec<u8>>,
}

impl Tap {
    pub fn get(&self, tag: u32) -> Vec<u8> {
        tlv::find(&self.gpo, t(tag))
            .unwrap()
            .map(|v| v.value().to_vec())
            .unwrap_or_else(|| panic!("no {tag:X} in GPO"))
    }
    pub fn record_value(&self, tag: u32) -> Vec<u8> {
        self.records
            .iter()
            .find_map(|r| tlv::find(r, t(tag)).unwrap().map(|v| v.value().to_vec()))
            .unwrap_or_else(|| panic!("no {tag:X} in records"))
    }
    pub fn cid(&self) -> u8 {
        self.get(0x9F27)[0]
    }
    pub fn atc(&self) -> u16 {
        u16::from_be_bytes(self.get(0x9F36).try_into().unwrap())
    }
}

pub fn send(
    app: &mut CardApplication,
    store: &mut dyn CardCounterStore,
    cmd: &CommandApdu,
) -> ResponseApdu {
    ResponseApdu::parse(&app.process(&cmd.to_bytes(), &mut CardContext::new(store))).unwrap()
}

pub fn ok(
    app: &mut CardApplication,
    store: &mut dyn CardCounterStore,
    cmd: &CommandApdu,
) -> Vec<u8> {
    let r = send(app, store, cmd);
    assert!(r.is_success(), "{cmd:?} → {:04X}", r.sw.0);
    r.data
}

/// A minimal qPBOC terminal: PPSE, SELECT (first by priority unless told), GPO, READ RECORDs.
pub fn tap_card(app: &mut CardApplication, store: &mut dyn CardCounterStore, txn: Txn) -> Tap {
    let ppse = ok(
        app,
        store,
        &CommandApdu::select_by_name(aids::PPSE, Occurrence::First).unwrap(),
    );
    let dir = tlv::find(&ppse, Tag::FCI_ISSUER_DISCRETIONARY)
        .unwrap()
        .unwrap();
    let mut directory: Vec<([u8; 8], u8)> = dir
        .children()
        .map(|e| {
            let e = e.unwrap();
            let aid = e
                .child(Tag::AID)
                .unwrap()
                .unwrap()
                .value()
                .try_into()
                .unwrap();
            (
                aid,
                e.child(Tag::APPLICATION_PRIORITY).unwrap().unwrap().value()[0],
            )
        })
        .collect();
    directory.sort_by_key(|(_, p)| *p);
    let aid = txn.aid.unwrap_or(directory[0].0);
    let fci = ok(
        app,
        store,
        &CommandApdu::select_by_name(&aid, Occurrence::First).unwrap(),
    );
    let pdol = Dol::parse(tlv::find(&fci, Tag::PDOL).unwrap().unwrap().value()).unwrap();
    let mut terminal = BTreeMap::new();
    let mut ttq = vec![0x26, 0x00, 0x00, 0x80];
    if txn.online_required {
        ttq[1] |= 0x80;
    }
    terminal.insert(Tag::TTQ, ttq);
    terminal.insert(Tag::AMOUNT_AUTHORISED, amount_n12(txn.amount).unwrap());
    terminal.insert(Tag::AMOUNT_OTHER, vec![0; 6]);
    terminal.insert(Tag::TERMINAL_COUNTRY_CODE, vec![0x01, 0x56]);
    terminal.insert(Tag::TVR, vec![0; 5]);
    terminal.insert(Tag::TRANSACTION_CURRENCY_CODE, vec![0x01, 0x56]);
    terminal.insert(Tag::TRANSACTION_DATE, vec![0x25, 0x03, 0x14]);
    terminal.insert(Tag::TRANSACTION_TYPE, vec![txn.tx_type]);
    terminal.insert(
        Tag::UNPREDICTABLE_NUMBER,
        wallet_core::crypto::random::bytes::<4>().unwrap().to_vec(),
    );
    terminal.insert(t(0x9F7A), vec![u8::from(txn.ecash_support)]);
    let gpo_cmd = CommandApdu::get_processing_options(&pdol.build(&terminal)).unwrap();
    let gpo = ok(app, store, &gpo_cmd);
    let afl = tlv::find(&gpo, Tag::AFL).unwrap().unwrap().value().to_vec();
    let mut records = Vec::new();
    for entry in afl.chunks(4) {
        for record in entry[1]..=entry[2] {
            let read = CommandApdu::read_record(record, entry[0] >> 3).unwrap();
            records.push(ok(app, store, &read));
        }
    }
    Tap {
        directory,
        gpo,
        records,
        terminal,
    }
}

pub fn get_data(app: &mut CardApplication, store: &mut dyn CardCounterStore, tag: u32) -> Vec<u8> {
    let data = ok(app, store, &CommandApdu::get_data(t(tag)).unwrap());
    tlv::find(&data, t(tag)).unwrap().unwrap().value().to_vec()
}

pub fn balance(app: &mut CardApplication, store: &mut dyn CardCounterStore) -> u64 {
    parse_amount_n12(&get_data(app, store, 0x9F79)).unwrap()
}

/// The issuer's session key, from its master key and what the card sent (PAN, PSN, ATC).
pub fn issuer_session_key(crypto: CardCrypto, imk: &[u8; 16], tap: &Tap) -> SessionKey {
    let pan: String = hex::encode_upper(tap.record_value(0x5A))
        .trim_end_matches('F')
        .into();
    assert_eq!(pan, PAN);
    let psn = hex::encode(tap.get(0x5F34)).parse::<u8>().unwrap();
    let mk = derive_icc_master_key(crypto, imk, &pan, psn).unwrap();
    SessionKey::derive(crypto, &mk, tap.atc()).unwrap()
}

/// Recomputes the cryptogram as the issuer does and checks it is the card's.
pub fn check_cryptogram(crypto: CardCrypto, tap: &Tap) -> [u8; 8] {
    let v = |tag: Tag| tap.terminal[&tag].clone();
    let iad = tap.get(0x9F10);
    assert_eq!(iad[0], 0x07);
    assert_eq!(
        iad[7],
        if crypto == CardCrypto::Sm4 {
            0x04
        } else {
            0x01
        }
    );
    let data = CryptogramData {
        amount_authorised: v(Tag::AMOUNT_AUTHORISED).try_into().unwrap(),
        amount_other: v(Tag::AMOUNT_OTHER).try_into().unwrap(),
        terminal_country: v(Tag::TERMINAL_COUNTRY_CODE).try_into().unwrap(),
        tvr: v(Tag::TVR).try_into().unwrap(),
        currency: v(Tag::TRANSACTION_CURRENCY_CODE).try_into().unwrap(),
        date: v(Tag::TRANSACTION_DATE).try_into().unwrap(),
        transaction_type: v(Tag::TRANSACTION_TYPE)[0],
        unpredictable_number: v(Tag::UNPREDICTABLE_NUMBER).try_into().unwrap(),
        aip: tap.get(0x82).try_into().unwrap(),
        atc: tap.atc(),
        cvr: iad[3..7].try_into().unwrap(),
    };
    let key = issuer_session_key(crypto, &TEST_IMK_AC, tap);
    let expected = application_cryptogram(&key, &data.encode()).unwrap();
    assert_eq!(
        tap.get(0x9F26),
        expected,
        "cryptogram recomputed by the issuer"
    );
    expected
}

/// Checks fDDA as a terminal: CA → issuer certificate → ICC certificate → SDAD, parsing the
/// documented layouts and verifying each SM2 signature directly.
pub fn check_fdda(tap: &Tap) {
    assert_eq!(tap.record_value(0x8F), [TEST_CA.index]);
    assert_eq!(tap.record_value(0x9F4A), [0x82]);
    let issuer_cert = tap.record_value(0x90);
    assert_eq!(issuer_cert.len(), 142);
    assert_eq!(issuer_cert[0], 0x12);
    assert!(hex::encode_upper(&issuer_cert[1..5]).starts_with(&PAN[..6]));
    assert_eq!(&issuer_cert[10..14], &[0x04, 0x04, 0x00, 0x40]);
    verify_sm2(
        &TEST_CA_PUBLIC_KEY,
        SM2_ID,
        &issuer_cert[..78],
        &issuer_cert[78..],
    )
    .unwrap();
    let issuer_pk = [&[0x04][..], &issuer_cert[14..78]].concat();

    let icc_cert = tap.record_value(0x9F46);
    assert_eq!(icc_cert.len(), 148);
    assert_eq!(icc_cert[0], 0x14);
    assert_eq!(hex::encode_upper(&icc_cert[1..11]), format!("{PAN}FFFF"));
    let signed = [&icc_cert[..84], &tap.get(0x82)[..]].concat();
    verify_sm2(&issuer_pk, SM2_ID, &signed, &icc_cert[84..]).unwrap();
    let icc_pk = [&[0x04][..], &icc_cert[20..84]].concat();

    let sdad = tap.get(0x9F4B);
    assert_eq!(&sdad[..3], &[0x15, 0x04, 0x10]);
    let idd = &sdad[3..19];
    let message = [
        &sdad[..19],
        &tap.terminal[&Tag::UNPREDICTABLE_NUMBER][..],
        &tap.terminal[&Tag::AMOUNT_AUTHORISED][..],
        &tap.terminal[&Tag::TRANSACTION_CURRENCY_CODE][..],
    ]
    .concat();
    verify_sm2(&icc_pk, SM2_ID, &message, &sdad[19..]).unwrap();
    assert_eq!(idd[0], 0x04);
    assert_eq!(&idd[5..7], &tap.get(0x9F36)[..]);
    assert_eq!(idd[7], tap.cid());
    assert_eq!(&idd[8..], &tap.get(0x9F26)[..]);
    // Another amount would not verify.
    let mut other = message.clone();
    other[27] ^= 0x01;
    assert!(verify_sm2(&icc_pk, SM2_ID, &other, &sdad[19..]).is_err());
}
