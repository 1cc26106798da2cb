//! BER-TLV tags (ISO/IEC 7816-4 §5.2.2, EMV Book 3 Annex B1) as a `u32` newtype.

use std::fmt;

use super::error::TlvError;

/// Longest tag field accepted, in bytes.
pub const MAX_TAG_LEN: usize = 4;

/// A BER-TLV tag, held as its encoded bytes read big-endian: `9F36` is `Tag(0x9F36)`.
///
/// Every `Tag` is the canonical encoding of a tag: 1 to 4 bytes; a first byte whose low five bits
/// are `1F` announces subsequent bytes, each with bit 8 set except the last; the first byte is
/// never `00` or `FF`, which EMV reserves as padding between data objects.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tag(u32);

/// The class of a tag: bits 8-7 of its first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagClass {
    /// `00`: universal (ASN.1).
    Universal,
    /// `01`: application (ISO/IEC 7816 interindustry, e.g. `4F`, `5A`, `6F`).
    Application,
    /// `10`: context-specific (e.g. `84`, `A5`, `9F36`, `BF0C`).
    ContextSpecific,
    /// `11`: private (e.g. `DF01`, `C1`).
    Private,
}

impl Tag {
    /// File Control Information template.
    pub const FCI_TEMPLATE: Tag = Tag(0x6F);
    /// Application identifier (AID) – card.
    pub const AID: Tag = Tag(0x4F);
    /// Application label.
    pub const APPLICATION_LABEL: Tag = Tag(0x50);
    /// Track 2 equivalent data.
    pub const TRACK2_EQUIVALENT: Tag = Tag(0x57);
    /// Application primary account number (PAN).
    pub const PAN: Tag = Tag(0x5A);
    /// Application template (a directory entry).
    pub const APPLICATION_TEMPLATE: Tag = Tag(0x61);
    /// READ RECORD response message template.
    pub const RECORD_TEMPLATE: Tag = Tag(0x70);
    /// Response message template format 2.
    pub const RESPONSE_TEMPLATE_2: Tag = Tag(0x77);
    /// Response message template format 1.
    pub const RESPONSE_TEMPLATE_1: Tag = Tag(0x80);
    /// Application interchange profile.
    pub const AIP: Tag = Tag(0x82);
    /// Command template (wraps PDOL-related data in GET PROCESSING OPTIONS).
    pub const COMMAND_TEMPLATE: Tag = Tag(0x83);
    /// Dedicated file (DF) name.
    pub const DF_NAME: Tag = Tag(0x84);
    /// Application priority indicator.
    pub const APPLICATION_PRIORITY: Tag = Tag(0x87);
    /// Short file identifier of a directory elementary file.
    pub const SFI: Tag = Tag(0x88);
    /// Card risk management data object list 1.
    pub const CDOL1: Tag = Tag(0x8C);
    /// Card risk management data object list 2.
    pub const CDOL2: Tag = Tag(0x8D);
    /// Application file locator.
    pub const AFL: Tag = Tag(0x94);
    /// Terminal verification results.
    pub const TVR: Tag = Tag(0x95);
    /// Transaction date (YYMMDD).
    pub const TRANSACTION_DATE: Tag = Tag(0x9A);
    /// Transaction type.
    pub const TRANSACTION_TYPE: Tag = Tag(0x9C);
    /// FCI proprietary template.
    pub const FCI_PROPRIETARY: Tag = Tag(0xA5);
    /// Language preference.
    pub const LANGUAGE_PREFERENCE: Tag = Tag(0x5F2D);
    /// Transaction currency code.
    pub const TRANSACTION_CURRENCY_CODE: Tag = Tag(0x5F2A);
    /// Application PAN sequence number.
    pub const PAN_SEQUENCE_NUMBER: Tag = Tag(0x5F34);
    /// Amount, authorised (numeric).
    pub const AMOUNT_AUTHORISED: Tag = Tag(0x9F02);
    /// Amount, other (numeric).
    pub const AMOUNT_OTHER: Tag = Tag(0x9F03);
    /// Issuer application data.
    pub const ISSUER_APPLICATION_DATA: Tag = Tag(0x9F10);
    /// Issuer code table index.
    pub const ISSUER_CODE_TABLE_INDEX: Tag = Tag(0x9F11);
    /// Application preferred name.
    pub const APPLICATION_PREFERRED_NAME: Tag = Tag(0x9F12);
    /// Terminal country code.
    pub const TERMINAL_COUNTRY_CODE: Tag = Tag(0x9F1A);
    /// Application cryptogram.
    pub const APPLICATION_CRYPTOGRAM: Tag = Tag(0x9F26);
    /// Cryptogram information data.
    pub const CRYPTOGRAM_INFORMATION_DATA: Tag = Tag(0x9F27);
    /// Application transaction counter (ATC).
    pub const ATC: Tag = Tag(0x9F36);
    /// Unpredictable number.
    pub const UNPREDICTABLE_NUMBER: Tag = Tag(0x9F37);
    /// Processing options data object list (PDOL).
    pub const PDOL: Tag = Tag(0x9F38);
    /// Log entry (SFI and number of records of the transaction log).
    pub const LOG_ENTRY: Tag = Tag(0x9F4D);
    /// Terminal transaction qualifiers (contactless).
    pub const TTQ: Tag = Tag(0x9F66);
    /// PBOC electronic cash balance.
    pub const EC_BALANCE: Tag = Tag(0x9F79);
    /// FCI issuer discretionary data.
    pub const FCI_ISSUER_DISCRETIONARY: Tag = Tag(0xBF0C);

    /// Checks that `raw` is the canonical encoding of a tag (see [`Tag`]).
    ///
    /// ```
    /// use wallet_core::apdu::Tag;
    /// assert!(Tag::new(0x9F36).is_ok());
    /// assert!(Tag::new(0x9F).is_err()); // announces a second byte
    /// assert!(Tag::new(0x9F81).is_err()); // second byte says "more follows"
    /// ```
    pub const fn new(raw: u32) -> Result<Tag, TlvError> {
        let invalid = Err(TlvError::InvalidTag { raw });
        if raw == 0 {
            return invalid;
        }
        let len = byte_len(raw);
        let first = byte_at(raw, len, 0);
        if first == 0xFF {
            return invalid;
        }
        let multi = first & 0x1F == 0x1F;
        if len == 1 {
            return if multi { invalid } else { Ok(Tag(raw)) };
        }
        if !multi {
            return invalid;
        }
        let mut i = 1;
        while i < len {
            let more = byte_at(raw, len, i) & 0x80 != 0;
            let last = i == len - 1;
            if more == last {
                return invalid;
            }
            i += 1;
        }
        Ok(Tag(raw))
    }

    /// Reads the tag field at the start of `input`; returns the tag and the field's length.
    ///
    /// Tags longer than [`MAX_TAG_LEN`] bytes and tags starting with a padding byte (`00`, `FF`)
    /// are rejected.
    pub fn parse(input: &[u8]) -> Result<(Tag, usize), TlvError> {
        let first = *input.first().ok_or(TlvError::TruncatedTag)?;
        if first == 0x00 || first == 0xFF {
            return Err(TlvError::InvalidTag {
                raw: u32::from(first),
            });
        }
        let mut raw = u32::from(first);
        if first & 0x1F != 0x1F {
            return Ok((Tag(raw), 1));
        }
        for i in 1..MAX_TAG_LEN {
            let b = *input.get(i).ok_or(TlvError::TruncatedTag)?;
            raw = (raw << 8) | u32::from(b);
            if b & 0x80 == 0 {
                return Ok((Tag(raw), i + 1));
            }
        }
        Err(TlvError::TagTooLong)
    }

    /// The tag as a number, e.g. `0x9F36`.
    pub const fn value(self) -> u32 {
        self.0
    }

    /// Length of the encoded tag field (1 to 4).
    pub const fn encoded_len(self) -> usize {
        byte_len(self.0)
    }

    /// The first byte of the encoded tag.
    pub const fn first_byte(self) -> u8 {
        byte_at(self.0, self.encoded_len(), 0)
    }

    /// Whether the data object is constructed (bit 6 of the first byte), i.e. its value is a
    /// sequence of data objects.
    pub const fn is_constructed(self) -> bool {
        self.first_byte() & 0x20 != 0
    }

    /// The class of the tag (bits 8-7 of the first byte).
    pub const fn class(self) -> TagClass {
        match self.first_byte() >> 6 {
            0 => TagClass::Universal,
            1 => TagClass::Application,
            2 => TagClass::ContextSpecific,
            _ => TagClass::Private,
        }
    }

    /// Appends the encoded tag field to `out`.
    pub fn write_to(self, out: &mut Vec<u8>) {
        let bytes = self.0.to_be_bytes();
        out.extend(bytes.iter().skip(MAX_TAG_LEN - self.encoded_len()));
    }
}

/// Number of significant bytes of `raw` (1 for 0).
const fn byte_len(raw: u32) -> usize {
    let len = MAX_TAG_LEN - (raw.leading_zeros() / 8) as usize;
    if len == 0 {
        1
    } else {
        len
    }
}

/// Byte `i` (from the most significant) of the `len`-byte big-endian number `raw`; `i < len`.
const fn byte_at(raw: u32, len: usize, i: usize) -> u8 {
    // len ≤ 4, so the shift is at most 24.
    let shift = 8 * len.saturating_sub(1 + i) as u32;
    let [_, _, _, byte] = (raw >> shift).to_be_bytes();
    byte
}

impl TryFrom<u32> for Tag {
    type Error = TlvError;

    fn try_from(raw: u32) -> Result<Self, Self::Error> {
        Tag::new(raw)
    }
}

impl From<Tag> for u32 {
    fn from(tag: Tag) -> u32 {
        tag.0
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:0width$X}", self.0, width = 2 * self.encoded_len())
    }
}

impl fmt::Debug for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tag({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_and_multi_byte_tags_parse_with_their_lengths() {
        assert_eq!(Tag::parse(&[0x6F, 0x2C]), Ok((Tag(0x6F), 1)));
        assert_eq!(Tag::parse(&[0x9F, 0x38, 0x03]), Ok((Tag(0x9F38), 2)));
        assert_eq!(Tag::parse(&[0xBF, 0x0C, 0x17]), Ok((Tag(0xBF0C), 2)));
        assert_eq!(Tag::parse(&[0x5F, 0x2D]), Ok((Tag(0x5F2D), 2)));
        // Three and four byte tags: 1F 81 01, DF 81 82 03.
        assert_eq!(Tag::parse(&[0x1F, 0x81, 0x01]), Ok((Tag(0x1F8101), 3)));
        assert_eq!(
            Tag::parse(&[0xDF, 0x81, 0x82, 0x03, 0x00]),
            Ok((Tag(0xDF818203), 4))
        );
    }

    #[test]
    fn malformed_tag_fields_are_rejected() {
        assert_eq!(Tag::parse(&[]), Err(TlvError::TruncatedTag));
        assert_eq!(Tag::parse(&[0x9F]), Err(TlvError::TruncatedTag));
        assert_eq!(Tag::parse(&[0x9F, 0x81]), Err(TlvError::TruncatedTag));
        assert_eq!(
            Tag::parse(&[0x9F, 0x81, 0x81, 0x81, 0x01]),
            Err(TlvError::TagTooLong)
        );
        assert_eq!(Tag::parse(&[0x00]), Err(TlvError::InvalidTag { raw: 0 }));
        assert_eq!(
            Tag::parse(&[0xFF, 0x01]),
            Err(TlvError::InvalidTag { raw: 0xFF })
        );
    }

    #[test]
    fn new_accepts_exactly_canonical_encodings() {
        for ok in [
            0x4F, 0x84, 0xA5, 0x9F36, 0x5F2A, 0xBF0C, 0xDF01, 0x9F8101, 0xDF818203,
        ] {
            assert_eq!(Tag::new(ok).map(Tag::value), Ok(ok), "{ok:X}");
        }
        for bad in [
            0, 0x1F, 0x9F, 0xFF, 0xFF01, 0x4F01, 0x9F81, 0x9F0101, 0x9F818181, 0x9F3601,
        ] {
            assert_eq!(
                Tag::new(bad),
                Err(TlvError::InvalidTag { raw: bad }),
                "{bad:X}"
            );
        }
    }

    #[test]
    fn attributes_follow_the_first_byte() {
        assert!(Tag::FCI_TEMPLATE.is_constructed());
        assert!(Tag::FCI_PROPRIETARY.is_constructed());
        assert!(Tag::FCI_ISSUER_DISCRETIONARY.is_constructed());
        assert!(!Tag::PDOL.is_constructed());
        assert!(!Tag::DF_NAME.is_constructed());
        assert_eq!(Tag::AID.class(), TagClass::Application);
        assert_eq!(Tag::ATC.class(), TagClass::ContextSpecific);
        assert_eq!(
            Tag::FCI_ISSUER_DISCRETIONARY.class(),
            TagClass::ContextSpecific
        );
        assert_eq!(Tag(0xDF01).class(), TagClass::Private);
        assert_eq!(Tag(0x6F).class(), TagClass::Application);
        assert_eq!(Tag(0x9F36).encoded_len(), 2);
        assert_eq!(Tag(0xDF818203).encoded_len(), 4);
        assert_eq!(Tag(0xDF818203).first_byte(), 0xDF);
    }

    #[test]
    fn display_is_upper_hex_of_the_encoding() {
        assert_eq!(Tag::ATC.to_string(), "9F36");
        assert_eq!(Tag(0x4F).to_string(), "4F");
        assert_eq!(format!("{:?}", Tag(0x9F0A)), "Tag(9F0A)");
        let mut out = Vec::new();
        Tag(0x9F38).write_to(&mut out);
        Tag(0x84).write_to(&mut out);
        assert_eq!(out, [0x9F, 0x38, 0x84]);
    }

    #[test]
    fn every_named_constant_is_canonical() {
        for tag in [
            Tag::FCI_TEMPLATE,
            Tag::AID,
            Tag::APPLICATION_LABEL,
            Tag::TRACK2_EQUIVALENT,
            Tag::PAN,
            Tag::APPLICATION_TEMPLATE,
            Tag::RECORD_TEMPLATE,
            Tag::RESPONSE_TEMPLATE_2,
            Tag::RESPONSE_TEMPLATE_1,
            Tag::AIP,
            Tag::COMMAND_TEMPLATE,
            Tag::DF_NAME,
            Tag::APPLICATION_PRIORITY,
            Tag::SFI,
            Tag::CDOL1,
            Tag::CDOL2,
            Tag::AFL,
            Tag::TVR,
            Tag::TRANSACTION_DATE,
            Tag::TRANSACTION_TYPE,
            Tag::FCI_PROPRIETARY,
            Tag::LANGUAGE_PREFERENCE,
            Tag::TRANSACTION_CURRENCY_CODE,
            Tag::PAN_SEQUENCE_NUMBER,
            Tag::AMOUNT_AUTHORISED,
            Tag::AMOUNT_OTHER,
            Tag::ISSUER_APPLICATION_DATA,
            Tag::ISSUER_CODE_TABLE_INDEX,
            Tag::APPLICATION_PREFERRED_NAME,
            Tag::TERMINAL_COUNTRY_CODE,
            Tag::APPLICATION_CRYPTOGRAM,
            Tag::CRYPTOGRAM_INFORMATION_DATA,
            Tag::ATC,
            Tag::UNPREDICTABLE_NUMBER,
            Tag::PDOL,
            Tag::LOG_ENTRY,
            Tag::TTQ,
            Tag::EC_BALANCE,
            Tag::FCI_ISSUER_DISCRETIONARY,
        ] {
            assert_eq!(Tag::new(tag.value()), Ok(tag));
        }
    }
}
