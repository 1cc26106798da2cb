//! GET PROCESSING OPTIONS: the qPBOC decision and response.
//!
//! Data field `83 L PDOL-data`, split by [`PDOL`]; another template `6A80`, a length that does
//! not fit the PDOL `6700`, a non-BCD amount `6A80`; a terminal without qPBOC (TTQ byte 1 bit 6
//! clear) `6985`; ATC exhausted (`FFFF`) `6985`; a second GPO without a new SELECT `6985`.
//!
//! Decision, in order:
//! 1. an e-cash load (`9C` = `60`, `62` or `63`): **online**, ARQC (`9F27` = `80`);
//! 2. **offline e-cash**, TC (`40`) with fDDA (`9F4B`), when the card has e-cash and fDDA
//!    material, the terminal supports e-cash (`9F7A` = `01`), the transaction is a purchase (`9C`
//!    = `00`, no other amount), the terminal does not require an online cryptogram (TTQ byte 2
//!    bit 8), the currency is the card's, and `0 < amount ≤ min(single-transaction limit,
//!    balance)` — the balance drops by the amount in the same durable write as the ATC;
//! 3. the account application: **online**, ARQC, unless the reader is offline-only (TTQ byte 1
//!    bit 4): **declined**, AAC (`00`); the e-cash application: declined.
//!
//! The new counters (ATC + 1, the debit, the last online ATC for an ARQC) are persisted through
//! [`crate::card::CardCounterStore`] before any cryptogram is computed; if that fails: `6581`,
//! nothing changed. Response (format 2, `77`): `82` AIP, `94` AFL, `9F36` ATC, `9F26`
//! cryptogram, `9F27` CID, `9F10` IAD, `57` track 2, `5F34` PSN, `9F6C` CTQ, `9F5D` available
//! offline spending amount (the e-cash balance, with e-cash), and for an offline TC `9F4B` SDAD
//! and `9F74` e-cash issuer authorisation code `ECC001`.
//!
//! Issuer application data `9F10` (8 bytes): `07 ‖ DKI ‖ CVN 01 ‖ 03 ‖ CVR (3) ‖ algorithm`
//! (`01` 3DES, `04` SM4). CVR byte 1: `10` (no second GENERATE AC) then the GPO cryptogram type
//! in bits 6-5 (`00` AAC, `01` TC, `10` ARQC) — `80`, `90` or `A0`; byte 2: bit 8 offline e-cash,
//! bit 7 consumer device CVM performed, bit 6 amount above the CVM limit, bit 5 e-cash load;
//! byte 3: `00`. Card transaction qualifiers `9F6C`: byte 1 bit 8 online PIN required (ARQC
//! above the CVM limit without consumer device CVM), bit 6 go online if offline data
//! authentication fails (account application); byte 2 bit 8 consumer device CVM performed.

use super::{status, ApplicationKind, CardApplication, DirectoryEntry, OnlineSession, Selection};
use crate::apdu::{CommandApdu, Dol, ResponseApdu, Status, Tag, Tlv, TlvNode};
use crate::card::certs::{sign_dynamic_data, IccDynamicData, TerminalDynamicData};
use crate::card::counters::CardContext;
use crate::card::keys::{application_cryptogram, CryptogramData, SessionKey};
use crate::card::perso::{amount_n12, parse_amount_n12, CardCrypto};
use crate::crypto::{random, CryptoError};

/// The PDOL of both applications: TTQ, amount, other amount, terminal country, TVR, currency,
/// date, type, unpredictable number, e-cash terminal support indicator (34 bytes of data).
pub const PDOL: [u8; 27] = [
    0x9F, 0x66, 0x04, 0x9F, 0x02, 0x06, 0x9F, 0x03, 0x06, 0x9F, 0x1A, 0x02, 0x95, 0x05, 0x5F, 0x2A,
    0x02, 0x9A, 0x03, 0x9C, 0x01, 0x9F, 0x37, 0x04, 0x9F, 0x7A, 0x01,
];

/// Cryptogram version number of this profile.
const CVN: u8 = 0x01;
/// E-cash issuer authorisation code returned with an offline e-cash TC.
const ECASH_AUTH_CODE: &[u8] = b"ECC001";

const TAG_ECASH_INDICATOR: Tag = tag(0x9F7A);
const TAG_CTQ: Tag = tag(0x9F6C);
const TAG_AVAILABLE_OFFLINE: Tag = tag(0x9F5D);
const TAG_SDAD: Tag = tag(0x9F4B);
const TAG_ECASH_AUTH_CODE: Tag = tag(0x9F74);

const fn tag(raw: u32) -> Tag {
    match Tag::new(raw) {
        Ok(t) => t,
        Err(_) => panic!("invalid tag constant"),
    }
}

/// The terminal's PDOL values.
struct Terminal {
    ttq: [u8; 4],
    amount: [u8; 6],
    other: [u8; 6],
    country: [u8; 2],
    tvr: [u8; 5],
    currency: [u8; 2],
    date: [u8; 3],
    tx_type: u8,
    un: [u8; 4],
    ecash_indicator: u8,
}

impl Terminal {
    fn parse(pdol: &Dol, data: &[u8]) -> Option<Terminal> {
        let values = pdol.split(data).ok()?;
        let get = |tag: Tag| values.iter().find(|(t, _)| *t == tag).map(|(_, v)| *v);
        fn fixed<const N: usize>(value: Option<&[u8]>) -> Option<[u8; N]> {
            value?.try_into().ok()
        }
        Some(Terminal {
            ttq: fixed(get(Tag::TTQ))?,
            amount: fixed(get(Tag::AMOUNT_AUTHORISED))?,
            other: fixed(get(Tag::AMOUNT_OTHER))?,
            country: fixed(get(Tag::TERMINAL_COUNTRY_CODE))?,
            tvr: fixed(get(Tag::TVR))?,
            currency: fixed(get(Tag::TRANSACTION_CURRENCY_CODE))?,
            date: fixed(get(Tag::TRANSACTION_DATE))?,
            tx_type: fixed::<1>(get(Tag::TRANSACTION_TYPE))?[0],
            un: fixed(get(Tag::UNPREDICTABLE_NUMBER))?,
            ecash_indicator: fixed::<1>(get(TAG_ECASH_INDICATOR))?[0],
        })
    }

    fn is_load(&self) -> bool {
        matches!(self.tx_type, 0x60 | 0x62 | 0x63)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Online,
    Offline { new_balance: u64 },
    Declined,
}

/// An ISO 4217 / 3166 numeric code as two BCD bytes.
fn n3(code: u16) -> [u8; 2] {
    let d = |div: u16| ((code / div) % 10) as u8;
    [(d(1000) << 4) | d(100), (d(10) << 4) | d(1)]
}

impl CardApplication {
    pub(super) fn get_processing_options(
        &mut self,
        cmd: &CommandApdu,
        ctx: &mut CardContext<'_>,
    ) -> ResponseApdu {
        if cmd.p1() != 0 || cmd.p2() != 0 {
            return status(Status::IncorrectP1P2);
        }
        let Selection::Application {
            index,
            processed: None,
            ..
        } = self.selection
        else {
            return status(Status::ConditionsNotSatisfied);
        };
        let Some(entry) = self.directory.get(index).copied() else {
            return status(Status::ConditionsNotSatisfied);
        };
        let Ok(template) = Tlv::parse_single(cmd.data()) else {
            return status(Status::WrongLength);
        };
        if template.tag() != Tag::COMMAND_TEMPLATE {
            return status(Status::IncorrectData);
        }
        let Some(terminal) = Terminal::parse(&self.pdol, template.value()) else {
            return status(Status::WrongLength);
        };
        if terminal.ttq[0] & 0x20 == 0 {
            return status(Status::ConditionsNotSatisfied);
        }
        let Ok(amount) = parse_amount_n12(&terminal.amount) else {
            return status(Status::IncorrectData);
        };
        let Some(atc) = self.counters.atc.checked_add(1) else {
            return status(Status::ConditionsNotSatisfied);
        };
        let outcome = self.decide(entry.kind, &terminal, amount);
        // The card's random number is drawn before anything is written: it is no cryptogram.
        let icc_number = match outcome {
            Outcome::Offline { .. } => match random::bytes::<4>() {
                Ok(n) => n,
                Err(_) => return status(Status::NoPreciseDiagnosis),
            },
            _ => [0; 4],
        };
        let previous = self.counters;
        let mut next = previous;
        next.atc = atc;
        match outcome {
            Outcome::Online => next.last_online_atc = atc,
            Outcome::Offline { new_balance } => next.ecash_balance = Some(new_balance),
            Outcome::Declined => {}
        }
        if ctx.counters.persist(&next).is_err() {
            return status(Status::MemoryFailure);
        }
        self.counters = next;
        self.selection = Selection::Application {
            index,
            processed: Some(atc),
            online: None,
        };
        let cdcvm = ctx.consumer_device_cvm;
        match self.respond(&entry, &terminal, amount, outcome, icc_number, cdcvm) {
            Ok((response, arqc)) => {
                if let Some(arqc) = arqc {
                    self.selection = Selection::Application {
                        index,
                        processed: Some(atc),
                        online: Some(OnlineSession {
                            arqc,
                            issuer_authentication_tried: false,
                            script_tried: false,
                        }),
                    };
                }
                ResponseApdu::success(response)
            }
            Err(_) => {
                // No cryptogram left the card: give the debit back (the ATC stays used).
                if let Outcome::Offline { .. } = outcome {
                    let restored = previous_balance(next, previous.ecash_balance);
                    if ctx.counters.persist(&restored).is_ok() {
                        self.counters = restored;
                    }
                }
                status(Status::NoPreciseDiagnosis)
            }
        }
    }

    fn decide(&self, kind: ApplicationKind, t: &Terminal, amount: u64) -> Outcome {
        if t.is_load() {
            return Outcome::Online;
        }
        let perso = &self.profile.perso;
        if let (Some(params), Some(balance), Some(_)) =
            (perso.ecash, self.counters.ecash_balance, &self.icc_key)
        {
            let eligible = t.ecash_indicator == 0x01
                && t.tx_type == 0x00
                && t.other == [0; 6]
                && t.ttq[1] & 0x80 == 0
                && t.currency == n3(perso.currency)
                && amount > 0
                && amount <= params.single_transaction_limit
                && amount <= balance;
            if eligible {
                return Outcome::Offline {
                    new_balance: balance - amount,
                };
            }
        }
        match kind {
            ApplicationKind::Account if t.ttq[0] & 0x08 == 0 => Outcome::Online,
            _ => Outcome::Declined,
        }
    }

    /// Computes the cryptogram (after the counters are durable) and the response; returns the
    /// ARQC too when online.
    fn respond(
        &self,
        entry: &DirectoryEntry,
        t: &Terminal,
        amount: u64,
        outcome: Outcome,
        icc_number: [u8; 4],
        cdcvm: bool,
    ) -> Result<(Vec<u8>, Option<[u8; 8]>), CryptoError> {
        let perso = &self.profile.perso;
        let atc = self.counters.atc;
        let (cid, ac_type) = match outcome {
            Outcome::Online => (0x80, 0b10),
            Outcome::Offline { .. } => (0x40, 0b01),
            Outcome::Declined => (0x00, 0b00),
        };
        let offline = matches!(outcome, Outcome::Offline { .. });
        let above_cvm = amount > self.profile.risk.cvm_limit;
        let flag = |on: bool, bit: u8| if on { bit } else { 0 };
        let cvr = [
            0x80 | (ac_type << 4),
            flag(offline, 0x80)
                | flag(cdcvm, 0x40)
                | flag(above_cvm, 0x20)
                | flag(t.is_load(), 0x10),
            0x00,
        ];
        let algorithm = match perso.crypto {
            CardCrypto::Tdes => 0x01,
            CardCrypto::Sm4 => 0x04,
        };
        let dki = self.profile.risk.derivation_key_index;
        let iad = [0x07, dki, CVN, 0x03, cvr[0], cvr[1], cvr[2], algorithm];
        let aip = self.profile.aip();
        let data = CryptogramData {
            amount_authorised: t.amount,
            amount_other: t.other,
            terminal_country: t.country,
            tvr: t.tvr,
            currency: t.currency,
            date: t.date,
            transaction_type: t.tx_type,
            unpredictable_number: t.un,
            aip,
            atc,
            cvr: [0x03, cvr[0], cvr[1], cvr[2]],
        };
        let key = SessionKey::derive(perso.crypto, &perso.keys.ac, atc)?;
        let cryptogram = application_cryptogram(&key, &data.encode())?;
        let online_pin = outcome == Outcome::Online && above_cvm && !cdcvm;
        let ctq = [
            flag(online_pin, 0x80) | flag(entry.kind == ApplicationKind::Account, 0x20),
            flag(cdcvm, 0x80),
        ];
        let record_count = u8::try_from(self.records.len()).unwrap_or(1);
        let mut fields = vec![
            TlvNode::primitive(Tag::AIP, aip.to_vec()),
            TlvNode::primitive(Tag::AFL, vec![0x08, 0x01, record_count, 0x00]),
            TlvNode::primitive(Tag::ATC, atc.to_be_bytes().to_vec()),
            TlvNode::primitive(Tag::APPLICATION_CRYPTOGRAM, cryptogram.to_vec()),
            TlvNode::primitive(Tag::CRYPTOGRAM_INFORMATION_DATA, vec![cid]),
            TlvNode::primitive(Tag::ISSUER_APPLICATION_DATA, iad.to_vec()),
            TlvNode::primitive(Tag::TRACK2_EQUIVALENT, self.track2.clone()),
            TlvNode::primitive(Tag::PAN_SEQUENCE_NUMBER, self.psn.clone()),
            TlvNode::primitive(TAG_CTQ, ctq.to_vec()),
        ];
        if let Some(balance) = self.counters.ecash_balance {
            let value = amount_n12(balance).map_err(|_| CryptoError::InvalidInput("balance"))?;
            fields.push(TlvNode::primitive(TAG_AVAILABLE_OFFLINE, value));
        }
        if offline {
            let icc_key = self
                .icc_key
                .as_ref()
                .ok_or(CryptoError::InvalidKey("no ICC key"))?;
            let icc = IccDynamicData {
                icc_dynamic_number: icc_number,
                atc,
                cid,
                cryptogram,
            };
            let terminal = TerminalDynamicData {
                unpredictable_number: t.un,
                amount: t.amount,
                currency: t.currency,
            };
            let sdad = sign_dynamic_data(icc_key, &icc, &terminal)?;
            fields.push(TlvNode::primitive(TAG_SDAD, sdad));
            fields.push(TlvNode::primitive(TAG_ECASH_AUTH_CODE, ECASH_AUTH_CODE));
        }
        let response = TlvNode::constructed(Tag::RESPONSE_TEMPLATE_2, fields).encode();
        Ok((response, (outcome == Outcome::Online).then_some(cryptogram)))
    }
}

/// `next` with the e-cash balance put back to `balance`.
fn previous_balance(
    next: crate::card::CardCounters,
    balance: Option<u64>,
) -> crate::card::CardCounters {
    crate::card::CardCounters {
        ecash_balance: balance,
        ..next
    }
}
