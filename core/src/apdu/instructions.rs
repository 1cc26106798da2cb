//! Constructors for the commands the wallet sends (EMV Book 1 §11, Book 3 §6.5; ISO/IEC 7816-4).

use super::command::{CommandApdu, MAX_SHORT_NE};
use super::error::CommandError;
use super::tag::Tag;
use super::tlv_build::encode_tlv;

/// Longest DF name (AID) SELECT accepts, in bytes (ISO/IEC 7816-4).
pub const MAX_DF_NAME_LEN: usize = 16;

/// Which of several applications matching a partial DF name SELECT returns (P2 bits 2-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Occurrence {
    /// First or only occurrence (P2 `00`).
    First,
    /// Next occurrence (P2 `02`).
    Next,
}

impl CommandApdu {
    /// SELECT by DF name (AID), returning the FCI: `00 A4 04 P2 Lc name 00`, with P2 `00` for the
    /// first occurrence and `02` for the next.
    ///
    /// ```
    /// use wallet_core::apdu::{CommandApdu, Occurrence};
    /// let ppse = CommandApdu::select_by_name(b"2PAY.SYS.DDF01", Occurrence::First)?;
    /// assert_eq!(&ppse.to_bytes()[..5], &[0x00, 0xA4, 0x04, 0x00, 0x0E]);
    /// # Ok::<(), wallet_core::apdu::CommandError>(())
    /// ```
    pub fn select_by_name(
        name: &[u8],
        occurrence: Occurrence,
    ) -> Result<CommandApdu, CommandError> {
        if name.is_empty() || name.len() > MAX_DF_NAME_LEN {
            return Err(CommandError::InvalidDfName { len: name.len() });
        }
        let p2 = match occurrence {
            Occurrence::First => 0x00,
            Occurrence::Next => 0x02,
        };
        CommandApdu::new(0x00, 0xA4, 0x04, p2)
            .with_data(name)?
            .with_le(MAX_SHORT_NE)
    }

    /// GET PROCESSING OPTIONS: `80 A8 00 00 Lc 83 L pdol-data 00`. Pass empty `pdol_data` when the
    /// card returned no PDOL (data field `83 00`).
    pub fn get_processing_options(pdol_data: &[u8]) -> Result<CommandApdu, CommandError> {
        let mut data = Vec::with_capacity(pdol_data.len() + 4);
        encode_tlv(Tag::COMMAND_TEMPLATE, pdol_data, &mut data);
        CommandApdu::new(0x80, 0xA8, 0x00, 0x00)
            .with_data(data)?
            .with_le(MAX_SHORT_NE)
    }

    /// READ RECORD of record `record` (1..=254) in the file with short identifier `sfi`
    /// (1..=30): `00 B2 record (sfi << 3 | 4) 00`.
    pub fn read_record(record: u8, sfi: u8) -> Result<CommandApdu, CommandError> {
        if record == 0 || record == 0xFF {
            return Err(CommandError::InvalidRecordNumber { record });
        }
        if sfi == 0 || sfi > 30 {
            return Err(CommandError::InvalidSfi { sfi });
        }
        CommandApdu::new(0x00, 0xB2, record, (sfi << 3) | 0x04).with_le(MAX_SHORT_NE)
    }

    /// GET DATA of a primitive data object held by the card (ATC `9F36`, PIN try counter `9F17`,
    /// e-cash balance `9F79`…): `80 CA P1P2=tag 00`. One-byte tags go in P2 with P1 `00`.
    pub fn get_data(tag: Tag) -> Result<CommandApdu, CommandError> {
        let [_, _, p1, p2] = tag.value().to_be_bytes();
        if tag.encoded_len() > 2 {
            return Err(CommandError::TagTooLongForP1P2 { tag });
        }
        CommandApdu::new(0x80, 0xCA, p1, p2).with_le(MAX_SHORT_NE)
    }

    /// GET RESPONSE for the bytes a `61xx` status announced: `00 C0 00 00 xx`; `available` is
    /// SW2 as the card sent it (`00` asks for 256 bytes).
    pub fn get_response(available: u8) -> CommandApdu {
        CommandApdu::new(0x00, 0xC0, 0x00, 0x00).with_short_le(available)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        hex::decode(s.replace(' ', "")).unwrap()
    }

    #[test]
    fn select_ppse_and_aid() {
        let ppse = CommandApdu::select_by_name(b"2PAY.SYS.DDF01", Occurrence::First).unwrap();
        assert_eq!(
            ppse.to_bytes(),
            hex("00A40400 0E 325041592E5359532E4444463031 00")
        );
        let aid = hex("A000000333010101");
        let next = CommandApdu::select_by_name(&aid, Occurrence::Next).unwrap();
        assert_eq!(next.to_bytes(), hex("00A40402 08 A000000333010101 00"));
        assert_eq!(
            CommandApdu::select_by_name(&[], Occurrence::First),
            Err(CommandError::InvalidDfName { len: 0 })
        );
        assert_eq!(
            CommandApdu::select_by_name(&[0xA0; 17], Occurrence::First),
            Err(CommandError::InvalidDfName { len: 17 })
        );
    }

    #[test]
    fn gpo_wraps_pdol_data_in_tag_83() {
        // qPBOC PDOL data: TTQ, amount, amount other, country, TVR, currency, date, type, UN.
        let pdol_data =
            hex("36000080 000000000100 000000000000 0156 0000000000 0156 240101 00 12345678");
        let gpo = CommandApdu::get_processing_options(&pdol_data).unwrap();
        let mut expected = hex("80A80000 23 83 21");
        expected.extend_from_slice(&pdol_data);
        expected.push(0x00);
        assert_eq!(gpo.to_bytes(), expected);
        assert_eq!(
            CommandApdu::get_processing_options(&[]).unwrap().to_bytes(),
            hex("80A80000 02 8300 00")
        );
        // 200 bytes of PDOL data need the 81 length form inside the data field.
        let gpo = CommandApdu::get_processing_options(&[0x11; 200]).unwrap();
        assert_eq!(&gpo.to_bytes()[..8], &hex("80A80000 CB 83 81 C8")[..]);
    }

    #[test]
    fn read_record_codes_sfi_in_p2() {
        assert_eq!(
            CommandApdu::read_record(1, 1).unwrap().to_bytes(),
            hex("00B2010C00")
        );
        assert_eq!(
            CommandApdu::read_record(3, 2).unwrap().to_bytes(),
            hex("00B2031400")
        );
        assert_eq!(
            CommandApdu::read_record(1, 11).unwrap().to_bytes(),
            hex("00B2015C00")
        );
        assert_eq!(
            CommandApdu::read_record(254, 30).unwrap().to_bytes(),
            hex("00B2FEF400")
        );
        assert_eq!(
            CommandApdu::read_record(0, 1),
            Err(CommandError::InvalidRecordNumber { record: 0 })
        );
        assert_eq!(
            CommandApdu::read_record(1, 31),
            Err(CommandError::InvalidSfi { sfi: 31 })
        );
        assert_eq!(
            CommandApdu::read_record(1, 0),
            Err(CommandError::InvalidSfi { sfi: 0 })
        );
    }

    #[test]
    fn get_data_puts_the_tag_in_p1_p2() {
        assert_eq!(
            CommandApdu::get_data(Tag::ATC).unwrap().to_bytes(),
            hex("80CA9F3600")
        );
        assert_eq!(
            CommandApdu::get_data(Tag::EC_BALANCE).unwrap().to_bytes(),
            hex("80CA9F7900")
        );
        assert_eq!(
            CommandApdu::get_data(Tag::new(0x5A).unwrap())
                .unwrap()
                .to_bytes(),
            hex("80CA005A00")
        );
        let long = Tag::new(0xDF8101).unwrap();
        assert_eq!(
            CommandApdu::get_data(long),
            Err(CommandError::TagTooLongForP1P2 { tag: long })
        );
    }

    #[test]
    fn get_response_asks_for_what_61xx_announced() {
        assert_eq!(
            CommandApdu::get_response(0x1C).to_bytes(),
            hex("00C000001C")
        );
        assert_eq!(
            CommandApdu::get_response(0x00).to_bytes(),
            hex("00C0000000")
        );
        assert_eq!(CommandApdu::get_response(0x00).ne(), Some(256));
    }
}
