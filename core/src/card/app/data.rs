//! READ RECORD and GET DATA.
//!
//! READ RECORD `00 B2 P1 P2`: P1 the record number (not 0), P2 `SFI << 3 | 4`; otherwise
//! `6A86`. Only after GET PROCESSING OPTIONS (`6985` before). SFI other than 1: `6A82`; record
//! beyond the AFL: `6A83`.
//!
//! GET DATA `80 CA P1 P2` (tag in P1-P2), once an application is selected (`6985` before):
//! `9F79` balance, `9F77` balance limit, `9F78` single-transaction limit (n12, with e-cash),
//! `9F36` ATC, `9F13` last online ATC, `DF61` the remote-payment signing public key
//! (`04 ‖ X ‖ Y`, 65 bytes); any other tag, e-cash tags without e-cash, `DF61` without a
//! signing key: `6A88`.

use super::{status, CardApplication};
use crate::apdu::{CommandApdu, ResponseApdu, Status, Tag, TlvNode};
use crate::card::perso::amount_n12;

impl CardApplication {
    pub(super) fn read_record(&self, cmd: &CommandApdu) -> ResponseApdu {
        let (record, p2) = (cmd.p1(), cmd.p2());
        if record == 0 || p2 & 0x07 != 0x04 {
            return status(Status::IncorrectP1P2);
        }
        if !cmd.data().is_empty() {
            return status(Status::WrongLength);
        }
        if !matches!(self.selected(), Some((_, Some(_)))) {
            return status(Status::ConditionsNotSatisfied);
        }
        if p2 >> 3 != 1 {
            return status(Status::FileNotFound);
        }
        match self.records.get(usize::from(record) - 1) {
            Some(data) => ResponseApdu::success(data.clone()),
            None => status(Status::RecordNotFound),
        }
    }

    pub(super) fn get_data(&self, cmd: &CommandApdu) -> ResponseApdu {
        if !cmd.data().is_empty() {
            return status(Status::WrongLength);
        }
        if self.selected().is_none() {
            return status(Status::ConditionsNotSatisfied);
        }
        let raw = u16::from_be_bytes([cmd.p1(), cmd.p2()]);
        let ecash = self.profile.perso.ecash;
        let n12 = |value: Option<u64>| value.and_then(|v| amount_n12(v).ok());
        let value = match raw {
            0x9F79 => n12(self.counters.ecash_balance),
            0x9F77 => n12(ecash.map(|e| e.balance_limit)),
            0x9F78 => n12(ecash.map(|e| e.single_transaction_limit)),
            0x9F36 => Some(self.counters.atc.to_be_bytes().to_vec()),
            0x9F13 => Some(self.counters.last_online_atc.to_be_bytes().to_vec()),
            0xDF61 => self.signing_public_key(),
            _ => None,
        };
        match (value, Tag::new(u32::from(raw))) {
            (Some(value), Ok(tag)) => {
                ResponseApdu::success(TlvNode::primitive(tag, value).encode())
            }
            _ => status(Status::ReferencedDataNotFound),
        }
    }
}
