//! The card-reading phase of a qPBOC tap: SELECT PPSE → choose the application → SELECT AID →
//! GET PROCESSING OPTIONS with the PDOL data → READ RECORD per AFL. Everything the card answers
//! is checked before use; a card that does not follow EMV / qPBOC ends the tap with a
//! [`TapError`], never a panic.

use super::card::{ContactlessCard, Session};
use super::outcome::TapError;
use super::TerminalConfig;
use std::collections::BTreeMap;
use wallet_core::apdu::{tlv, CommandApdu, Dol, Occurrence, Tag, Tlv};
use wallet_core::card::aids::{self, PPSE};
use wallet_core::card::perso::parse_amount_n12;

/// Most records the terminal reads for one transaction.
const MAX_RECORDS: usize = 32;

const fn tag(raw: u32) -> Tag {
    match Tag::new(raw) {
        Ok(t) => t,
        Err(_) => panic!("invalid tag constant"),
    }
}

/// E-cash terminal support indicator (PBOC).
pub const TAG_ECASH_INDICATOR: Tag = tag(0x9F7A);
/// Terminal type.
pub const TAG_TERMINAL_TYPE: Tag = tag(0x9F35);
/// Card transaction qualifiers.
pub const TAG_CTQ: Tag = tag(0x9F6C);
/// Available offline spending amount.
pub const TAG_AVAILABLE_OFFLINE: Tag = tag(0x9F5D);
/// Signed dynamic application data.
pub const TAG_SDAD: Tag = tag(0x9F4B);

/// The values the terminal offers the card's PDOL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TerminalData {
    /// `9F66`.
    pub ttq: [u8; 4],
    /// `9F02`, n12.
    pub amount: [u8; 6],
    /// `9F03`, n12.
    pub amount_other: [u8; 6],
    /// `9F1A`, n3.
    pub country: [u8; 2],
    /// `95`.
    pub tvr: [u8; 5],
    /// `5F2A`, n3.
    pub currency: [u8; 2],
    /// `9A`, YYMMDD.
    pub date: [u8; 3],
    /// `9C`.
    pub transaction_type: u8,
    /// `9F37`.
    pub un: [u8; 4],
    /// `9F7A`.
    pub ecash_indicator: u8,
    /// `9F35`.
    pub terminal_type: u8,
}

impl TerminalData {
    fn values(&self) -> BTreeMap<Tag, Vec<u8>> {
        BTreeMap::from([
            (Tag::TTQ, self.ttq.to_vec()),
            (Tag::AMOUNT_AUTHORISED, self.amount.to_vec()),
            (Tag::AMOUNT_OTHER, self.amount_other.to_vec()),
            (Tag::TERMINAL_COUNTRY_CODE, self.country.to_vec()),
            (Tag::TVR, self.tvr.to_vec()),
            (Tag::TRANSACTION_CURRENCY_CODE, self.currency.to_vec()),
            (Tag::TRANSACTION_DATE, self.date.to_vec()),
            (Tag::TRANSACTION_TYPE, vec![self.transaction_type]),
            (Tag::UNPREDICTABLE_NUMBER, self.un.to_vec()),
            (TAG_ECASH_INDICATOR, vec![self.ecash_indicator]),
            (TAG_TERMINAL_TYPE, vec![self.terminal_type]),
        ])
    }
}

/// Everything read from the card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardRead {
    /// The selected AID.
    pub aid: Vec<u8>,
    /// `82`.
    pub aip: [u8; 2],
    /// `9F36`.
    pub atc: u16,
    /// `9F27`.
    pub cid: u8,
    /// `9F26`.
    pub cryptogram: [u8; 8],
    /// `9F10`.
    pub iad: Vec<u8>,
    /// PAN digits (from `57`, checked against `5A` if present).
    pub pan: String,
    /// `5F34` (0 if absent).
    pub psn: u8,
    /// `9F6C`.
    pub ctq: Option<Vec<u8>>,
    /// `9F5D`, fen.
    pub available_offline: Option<u64>,
    /// `9F4B`.
    pub sdad: Option<Vec<u8>>,
    /// Records (contents of `70`), each with whether the AFL flags it for offline data
    /// authentication.
    pub records: Vec<(Vec<u8>, bool)>,
    /// For a load (`9C` = `60`): the e-cash balance `9F79` and balance limit `9F77`, fen, read
    /// with GET DATA after SELECT and before GPO.
    pub ecash: Option<(u64, u64)>,
}

/// GET DATA `80 CA` of an n12 amount tag (`9F79`, `9F77`), fen.
pub(crate) fn get_amount<C: ContactlessCard + ?Sized>(
    session: &mut Session<'_, C>,
    raw_tag: u16,
) -> Result<u64, TapError> {
    const STEP: &str = "GET DATA";
    let [p1, p2] = raw_tag.to_be_bytes();
    let cmd = CommandApdu::new(0x80, 0xCA, p1, p2).with_short_le(0);
    let data = session.expect_success(STEP, &cmd)?;
    let tlv = Tlv::parse_single(&data).map_err(|_| malformed(STEP, "not one TLV"))?;
    if Tag::new(u32::from(raw_tag)).ok() != Some(tlv.tag()) {
        return Err(malformed(STEP, "another tag"));
    }
    parse_amount_n12(tlv.value()).map_err(|_| malformed(STEP, "amount not n12"))
}

/// One entry of the PPSE directory.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Candidate {
    aid: Vec<u8>,
    priority: u8,
}

fn malformed(command: &'static str, what: &'static str) -> TapError {
    TapError::Malformed { command, what }
}

/// The directory entries of a PPSE FCI.
fn directory(fci: &[u8]) -> Result<Vec<Candidate>, TapError> {
    const STEP: &str = "SELECT PPSE";
    let fci = Tlv::parse_single(fci).map_err(|_| malformed(STEP, "FCI is not one TLV"))?;
    if fci.tag() != Tag::FCI_TEMPLATE {
        return Err(malformed(STEP, "not an FCI template"));
    }
    let dir = fci
        .find_path(&[Tag::FCI_PROPRIETARY, Tag::FCI_ISSUER_DISCRETIONARY])
        .map_err(|_| malformed(STEP, "FCI"))?
        .ok_or(TapError::NoCommonApplication)?;
    let mut out = Vec::new();
    for entry in dir.children() {
        let entry = entry.map_err(|_| malformed(STEP, "directory entry"))?;
        if entry.tag() != Tag::APPLICATION_TEMPLATE {
            continue;
        }
        let aid = entry
            .child(Tag::AID)
            .map_err(|_| malformed(STEP, "directory entry"))?
            .map(|a| a.value().to_vec())
            .filter(|a| (5..=16).contains(&a.len()))
            .ok_or(malformed(STEP, "directory entry without a valid AID"))?;
        let priority = match entry.child(Tag::APPLICATION_PRIORITY) {
            Ok(Some(p)) => match p.value() {
                [p] if p & 0x0F != 0 => p & 0x0F,
                _ => 16,
            },
            _ => 16,
        };
        out.push(Candidate { aid, priority });
    }
    Ok(out)
}

/// The candidates in the order the terminal tries them.
fn preference(config: &TerminalConfig, mut found: Vec<Candidate>, amount: u64) -> Vec<Vec<u8>> {
    found.retain(|c| config.supported_aids.iter().any(|s| c.aid.starts_with(s)));
    found.sort_by_key(|c| c.priority); // stable: directory order breaks ties
    let prefer_ecash = config
        .prefer_ecash_up_to
        .is_some_and(|limit| amount <= limit);
    if prefer_ecash {
        if let Some(at) = found.iter().position(|c| c.aid == aids::E_CASH) {
            let ecash = found.remove(at);
            found.insert(0, ecash);
        }
    }
    found.into_iter().map(|c| c.aid).collect()
}

/// Digits of a BCD / compressed-numeric value up to the first non-digit nibble.
fn leading_digits(bytes: &[u8]) -> String {
    bytes
        .iter()
        .flat_map(|b| [b >> 4, b & 0x0F])
        .map_while(|n| char::from_digit(u32::from(n), 10))
        .collect()
}

fn fixed<const N: usize>(value: Option<&[u8]>, what: &'static str) -> Result<[u8; N], TapError> {
    value
        .and_then(|v| v.try_into().ok())
        .ok_or(malformed("GET PROCESSING OPTIONS", what))
}

/// Parses an AFL into (SFI, record, ODA) reads.
fn afl_reads(afl: &[u8]) -> Result<Vec<(u8, u8, bool)>, TapError> {
    const STEP: &str = "GET PROCESSING OPTIONS";
    if afl.len() % 4 != 0 {
        return Err(malformed(STEP, "AFL length"));
    }
    let mut reads = Vec::new();
    for entry in afl.chunks_exact(4) {
        let &[sfi, first, last, oda] = entry else {
            return Err(malformed(STEP, "AFL entry"));
        };
        let sfi_number = sfi >> 3;
        if sfi & 0x07 != 0 || !(1..=30).contains(&sfi_number) || first == 0 || last < first {
            return Err(malformed(STEP, "AFL entry"));
        }
        if u16::from(oda) > u16::from(last - first) + 1 {
            return Err(malformed(STEP, "AFL offline authentication count"));
        }
        for record in first..=last {
            reads.push((sfi_number, record, record - first < oda));
            if reads.len() > MAX_RECORDS {
                return Err(malformed(STEP, "AFL names too many records"));
            }
        }
    }
    Ok(reads)
}

/// Reads the card (see the [module](self)).
pub(crate) fn read_card<C: ContactlessCard + ?Sized>(
    session: &mut Session<'_, C>,
    config: &TerminalConfig,
    terminal: &TerminalData,
    amount: u64,
) -> Result<CardRead, TapError> {
    let select_ppse = CommandApdu::select_by_name(PPSE, Occurrence::First)
        .map_err(|_| malformed("SELECT PPSE", "command"))?;
    let ppse = session.exchange("SELECT PPSE", &select_ppse)?;
    match ppse.sw.0 {
        0x9000 => {}
        0x6A82 => return Err(TapError::NoCommonApplication),
        _ => {
            return Err(TapError::CardStatus {
                command: "SELECT PPSE",
                sw: ppse.sw,
            })
        }
    }
    let mut selected = None;
    for aid in preference(config, directory(&ppse.data)?, amount) {
        let Ok(cmd) = CommandApdu::select_by_name(&aid, Occurrence::First) else {
            continue;
        };
        let response = session.exchange("SELECT AID", &cmd)?;
        if response.is_success() {
            selected = Some((aid, response.data));
            break;
        }
    }
    let (aid, fci) = selected.ok_or(TapError::NoCommonApplication)?;
    let ecash = match terminal.transaction_type {
        0x60 => Some((get_amount(session, 0x9F79)?, get_amount(session, 0x9F77)?)),
        _ => None,
    };
    let pdol = match tlv::find(&fci, Tag::PDOL) {
        Ok(Some(pdol)) => Dol::parse(pdol.value()).map_err(|_| malformed("SELECT AID", "PDOL"))?,
        Ok(None) => Dol::new([]),
        Err(_) => return Err(malformed("SELECT AID", "FCI")),
    };
    let gpo_cmd = CommandApdu::get_processing_options(&pdol.build(&terminal.values()))
        .map_err(|_| malformed("SELECT AID", "PDOL too long"))?;
    let gpo = session.expect_success("GET PROCESSING OPTIONS", &gpo_cmd)?;
    let mut read = parse_gpo(session, aid, &gpo)?;
    read.ecash = ecash;
    Ok(read)
}

/// Interprets a format 2 GPO response and reads the records its AFL names.
fn parse_gpo<C: ContactlessCard + ?Sized>(
    session: &mut Session<'_, C>,
    aid: Vec<u8>,
    gpo: &[u8],
) -> Result<CardRead, TapError> {
    const STEP: &str = "GET PROCESSING OPTIONS";
    let template = Tlv::parse_single(gpo).map_err(|_| malformed(STEP, "not one TLV"))?;
    if template.tag() != Tag::RESPONSE_TEMPLATE_2 {
        return Err(malformed(STEP, "not a format 2 (77) response"));
    }
    let get = |t: Tag| -> Result<Option<&[u8]>, TapError> {
        Ok(template
            .child(t)
            .map_err(|_| malformed(STEP, "response template"))?
            .map(|v| v.value()))
    };
    let aip = fixed::<2>(get(Tag::AIP)?, "AIP (82)")?;
    let atc = u16::from_be_bytes(fixed::<2>(get(Tag::ATC)?, "ATC (9F36)")?);
    let [cid] = fixed::<1>(get(Tag::CRYPTOGRAM_INFORMATION_DATA)?, "CID (9F27)")?;
    let cryptogram = fixed::<8>(get(Tag::APPLICATION_CRYPTOGRAM)?, "cryptogram (9F26)")?;
    let iad = get(Tag::ISSUER_APPLICATION_DATA)?
        .filter(|v| (1..=32).contains(&v.len()))
        .ok_or(malformed(STEP, "IAD (9F10)"))?
        .to_vec();
    let track2 = get(Tag::TRACK2_EQUIVALENT)?.ok_or(malformed(STEP, "track 2 (57)"))?;
    let pan = leading_digits(track2);
    let separator = track2
        .iter()
        .flat_map(|b| [b >> 4, b & 0x0F])
        .nth(pan.len());
    if !(12..=19).contains(&pan.len()) || separator != Some(0x0D) {
        return Err(malformed(STEP, "track 2 (57)"));
    }
    let psn = match get(Tag::PAN_SEQUENCE_NUMBER)? {
        None => 0,
        Some(&[b]) if b >> 4 <= 9 && b & 0x0F <= 9 => (b >> 4) * 10 + (b & 0x0F),
        Some(_) => return Err(malformed(STEP, "PSN (5F34)")),
    };
    let available_offline = match get(TAG_AVAILABLE_OFFLINE)? {
        None => None,
        Some(v) => Some(parse_amount_n12(v).map_err(|_| malformed(STEP, "9F5D"))?),
    };
    let reads = match get(Tag::AFL)? {
        Some(afl) => afl_reads(afl)?,
        None => Vec::new(),
    };
    let ctq = get(TAG_CTQ)?.map(<[u8]>::to_vec);
    let sdad = get(TAG_SDAD)?.map(<[u8]>::to_vec);
    let mut records = Vec::with_capacity(reads.len());
    for (sfi, record, oda) in reads {
        let cmd = CommandApdu::read_record(record, sfi)
            .map_err(|_| malformed("READ RECORD", "record number"))?;
        let data = session.expect_success("READ RECORD", &cmd)?;
        let template =
            Tlv::parse_single(&data).map_err(|_| malformed("READ RECORD", "not one TLV"))?;
        if template.tag() != Tag::RECORD_TEMPLATE {
            return Err(malformed("READ RECORD", "not a record template (70)"));
        }
        tlv::validate(template.value()).map_err(|_| malformed("READ RECORD", "record"))?;
        let content = if sfi <= 10 {
            template.value()
        } else {
            template.as_bytes()
        };
        records.push((content.to_vec(), oda));
    }
    let record_pan = records
        .iter()
        .find_map(|(r, _)| tlv::find(r, Tag::PAN).ok().flatten());
    if let Some(record_pan) = record_pan {
        if leading_digits(record_pan.value()) != pan {
            return Err(malformed("READ RECORD", "PAN (5A) and track 2 disagree"));
        }
    }
    Ok(CardRead {
        aid,
        aip,
        atc,
        cid,
        cryptogram,
        iad,
        pan,
        psn,
        ctq,
        available_offline,
        sdad,
        records,
        ecash: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn afl_is_checked() {
        assert_eq!(
            afl_reads(&[0x08, 0x01, 0x03, 0x01]).unwrap(),
            [(1, 1, true), (1, 2, false), (1, 3, false)]
        );
        assert_eq!(
            afl_reads(&[0x08, 0x01, 0x01, 0x00, 0x10, 0x02, 0x03, 0x02]).unwrap(),
            [(1, 1, false), (2, 2, true), (2, 3, true)]
        );
        for bad in [
            &[0x08, 0x01, 0x03][..],
            &[0x09, 0x01, 0x01, 0x00],
            &[0x00, 0x01, 0x01, 0x00],
            &[0x08, 0x00, 0x01, 0x00],
            &[0x08, 0x03, 0x01, 0x00],
            &[0x08, 0x01, 0x01, 0x02],
            &[0xF8, 0x01, 0x01, 0x00],
            &[0x08, 0x01, 0xFE, 0x00],
        ] {
            assert!(afl_reads(bad).is_err(), "{bad:02X?}");
        }
    }

    #[test]
    fn directory_and_preference() {
        // 6F { 84 PPSE, A5 { BF0C { 61 { 4F debit, 87 01 }, 61 { 4F e-cash, 87 02 },
        //   61 { 4F unknown RID, no priority } } } }
        let fci = hex::decode(
            "6F3C840E325041592E5359532E4444463031A52ABF0C27\
             610D4F08A000000333010101870101\
             610D4F08A000000333010106870102\
             61074F05A000000999",
        )
        .unwrap();
        let found = directory(&fci).unwrap();
        assert_eq!(found.len(), 3);
        assert_eq!(found[2].priority, 16);
        let mut config = TerminalConfig::default();
        let order = preference(&config, found.clone(), 100);
        assert_eq!(order, [aids::DEBIT.to_vec(), aids::E_CASH.to_vec()]);
        config.prefer_ecash_up_to = Some(100);
        let order = preference(&config, found.clone(), 100);
        assert_eq!(order, [aids::E_CASH.to_vec(), aids::DEBIT.to_vec()]);
        let order = preference(&config, found, 101);
        assert_eq!(order[0], aids::DEBIT.to_vec());
        assert!(directory(&[0x6F, 0x00]).is_err());
        assert_eq!(
            directory(&[0x6F, 0x02, 0xA5, 0x00]),
            Err(TapError::NoCommonApplication)
        );
    }

    #[test]
    fn digits_stop_at_the_separator() {
        assert_eq!(leading_digits(&[0x62, 0x22, 0x02, 0xD3, 0x01]), "622202");
        assert_eq!(leading_digits(&[0x12, 0x3F]), "123");
    }
}
