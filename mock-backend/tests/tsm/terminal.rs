//! A minimal qPBOC terminal and issuer for `tsm.rs`: it taps the simulated SE (PPSE → SELECT →
//! GPO with the PDOL data → READ RECORD per AFL) and checks what it read the way the issuer and
//! a terminal do — the cryptogram recomputed from the test issuer master keys and the device PAN
//! the TSM recorded, fDDA along the certificate chain from the test CA.

use std::collections::BTreeMap;

use mock_backend::se_sim::SimulatedSe;
use mock_backend::tsm::DeviceAccount;
use wallet_core::apdu::{tlv, CommandApdu, Dol, LogicalChannel, Occurrence, ResponseApdu, Tag};
use wallet_core::card::aids;
use wallet_core::card::app::PDOL;
use wallet_core::card::certs::{
    verify_dynamic_data, CertificateBody, TerminalDynamicData, FORMAT_ICC_CERTIFICATE,
    FORMAT_ISSUER_CERTIFICATE,
};
use wallet_core::card::keys::{
    derive_icc_master_key, verify_application_cryptogram, CryptogramData, SessionKey,
};
use wallet_core::card::perso::{amount_n12, parse_amount_n12};
use wallet_core::card::test_issuer::{TEST_CA_PUBLIC_KEY, TEST_IMK_AC};

pub fn t(raw: u32) -> Tag {
    Tag::new(raw).unwrap()
}

/// What the terminal asks for.
#[derive(Debug, Clone, Copy)]
pub struct Txn {
    /// Amount authorised (fen).
    pub amount: u64,
    /// Whether the terminal supports offline e-cash (`9F7A`).
    pub ecash_support: bool,
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
            .unwrap_or_else(|| panic!("no {tag:X} in the GPO response"))
    }

    pub fn record_value(&self, tag: u32) -> Vec<u8> {
        self.records
            .iter()
            .find_map(|r| tlv::find(r, t(tag)).unwrap().map(|v| v.value().to_vec()))
            .unwrap_or_else(|| panic!("no {tag:X} in the records"))
    }

    pub fn cid(&self) -> u8 {
        self.get(0x9F27)[0]
    }

    pub fn atc(&self) -> u16 {
        u16::from_be_bytes(self.get(0x9F36).try_into().unwrap())
    }

    /// The device PAN of record 1 (`5A`, `F` padding removed).
    pub fn pan(&self) -> String {
        hex::encode_upper(self.record_value(0x5A))
            .trim_end_matches('F')
            .to_owned()
    }

    /// The e-cash balance after the transaction (`9F5D`).
    pub fn available_offline(&self) -> u64 {
        parse_amount_n12(&self.get(0x9F5D)).unwrap()
    }
}

/// Sends `cmd` on logical channel `channel` of `se`.
pub fn send(se: &mut SimulatedSe, channel: u8, cmd: &CommandApdu) -> ResponseApdu {
    let cmd = cmd
        .clone()
        .on_channel(LogicalChannel::new(channel).unwrap())
        .unwrap();
    ResponseApdu::parse(&se.transmit(&cmd.to_bytes())).unwrap()
}

pub fn ok(se: &mut SimulatedSe, channel: u8, cmd: &CommandApdu) -> Vec<u8> {
    let r = send(se, channel, cmd);
    assert!(r.is_success(), "{cmd:?} → {:04X}", r.sw.0);
    r.data
}

/// GET DATA of a two-byte tag; the value.
pub fn get_data(se: &mut SimulatedSe, channel: u8, tag: u32) -> Vec<u8> {
    let data = ok(se, channel, &CommandApdu::get_data(t(tag)).unwrap());
    tlv::find(&data, t(tag)).unwrap().unwrap().value().to_vec()
}

/// One contactless transaction on `channel` (already open): the application of highest
/// priority in the PPSE.
pub fn tap(se: &mut SimulatedSe, channel: u8, txn: Txn) -> Tap {
    let select = |name: &[u8]| CommandApdu::select_by_name(name, Occurrence::First).unwrap();
    let ppse = ok(se, channel, &select(aids::PPSE));
    let entries = tlv::find(&ppse, Tag::FCI_ISSUER_DISCRETIONARY)
        .unwrap()
        .expect("BF0C in the PPSE");
    let mut directory: Vec<([u8; 8], u8)> = entries
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
            let priority = e.child(Tag::APPLICATION_PRIORITY).unwrap().unwrap().value()[0];
            (aid, priority)
        })
        .collect();
    directory.sort_by_key(|(_, p)| *p);
    let fci = ok(se, channel, &select(&directory[0].0));
    let pdol = tlv::find(&fci, Tag::PDOL)
        .unwrap()
        .unwrap()
        .value()
        .to_vec();
    assert_eq!(pdol, PDOL, "the card application's PDOL");
    let pdol = Dol::parse(&pdol).unwrap();
    let mut terminal = BTreeMap::new();
    terminal.insert(Tag::TTQ, vec![0x26, 0x00, 0x00, 0x80]);
    terminal.insert(Tag::AMOUNT_AUTHORISED, amount_n12(txn.amount).unwrap());
    terminal.insert(Tag::AMOUNT_OTHER, vec![0; 6]);
    terminal.insert(Tag::TERMINAL_COUNTRY_CODE, vec![0x01, 0x56]);
    terminal.insert(Tag::TVR, vec![0; 5]);
    terminal.insert(Tag::TRANSACTION_CURRENCY_CODE, vec![0x01, 0x56]);
    terminal.insert(Tag::TRANSACTION_DATE, vec![0x26, 0x03, 0x14]);
    terminal.insert(Tag::TRANSACTION_TYPE, vec![0x00]);
    terminal.insert(
        Tag::UNPREDICTABLE_NUMBER,
        wallet_core::crypto::random::bytes::<4>().unwrap().to_vec(),
    );
    terminal.insert(t(0x9F7A), vec![u8::from(txn.ecash_support)]);
    let gpo_cmd = CommandApdu::get_processing_options(&pdol.build(&terminal)).unwrap();
    let gpo = ok(se, channel, &gpo_cmd);
    let afl = tlv::find(&gpo, Tag::AFL).unwrap().unwrap().value().to_vec();
    let mut records = Vec::new();
    for entry in afl.chunks(4) {
        for record in entry[1]..=entry[2] {
            let read = CommandApdu::read_record(record, entry[0] >> 3).unwrap();
            records.push(ok(se, channel, &read));
        }
    }
    Tap {
        directory,
        gpo,
        records,
        terminal,
    }
}

/// The issuer's check: the cryptogram recomputed from the test IMK-AC, the card the TSM
/// recorded for the device PAN (PSN, algorithm) and the transaction data.
pub fn check_cryptogram(tap: &Tap, card: &DeviceAccount) {
    assert_eq!(tap.pan(), card.device_pan);
    let psn: u8 = hex::encode(tap.get(0x5F34)).parse().unwrap();
    assert_eq!(psn, card.pan_sequence);
    let v = |tag: Tag| tap.terminal[&tag].clone();
    let iad = tap.get(0x9F10);
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
    let master = derive_icc_master_key(card.crypto, &TEST_IMK_AC, &card.device_pan, psn).unwrap();
    let key = SessionKey::derive(card.crypto, &master, tap.atc()).unwrap();
    verify_application_cryptogram(&key, &data.encode(), &tap.get(0x9F26))
        .expect("the cryptogram verifies with the issuer's keys");
    // Another ATC's key does not verify it.
    let other = SessionKey::derive(card.crypto, &master, tap.atc() + 1).unwrap();
    assert!(verify_application_cryptogram(&other, &data.encode(), &tap.get(0x9F26)).is_err());
}

/// The terminal's offline data authentication: test CA → issuer certificate → ICC certificate
/// (static data: the AIP) → signed dynamic data over this transaction.
pub fn check_fdda(tap: &Tap) {
    let issuer = CertificateBody::verify(
        &tap.record_value(0x90),
        FORMAT_ISSUER_CERTIFICATE,
        &TEST_CA_PUBLIC_KEY,
        &[],
    )
    .expect("issuer certificate under the test CA");
    let icc = CertificateBody::verify(
        &tap.record_value(0x9F46),
        FORMAT_ICC_CERTIFICATE,
        &issuer.public_key,
        &tap.get(0x82),
    )
    .expect("ICC certificate under the issuer key");
    let terminal = TerminalDynamicData {
        unpredictable_number: tap.terminal[&Tag::UNPREDICTABLE_NUMBER]
            .clone()
            .try_into()
            .unwrap(),
        amount: tap.terminal[&Tag::AMOUNT_AUTHORISED]
            .clone()
            .try_into()
            .unwrap(),
        currency: [0x01, 0x56],
    };
    let signed = verify_dynamic_data(&icc.public_key, &tap.get(0x9F4B), &terminal)
        .expect("SDAD signed by the ICC key the TSM personalised");
    assert_eq!(signed.atc, tap.atc());
    assert_eq!(signed.cid, tap.cid());
    assert_eq!(signed.cryptogram[..], tap.get(0x9F26)[..]);
}
