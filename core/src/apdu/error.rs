//! Error types of [`crate::apdu`], one per concept.
//!
//! Errors say what was malformed and where a number helps (lengths, counts); they never carry the
//! payload itself, which may hold a PAN, track 2 data or a PIN block.

use super::tag::Tag;

/// A class byte (CLA) could not be decoded or re-encoded for a logical channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ClassError {
    /// `FF` is not a valid class byte (ISO/IEC 7816-4 §5.4.1).
    #[error("class byte FF is invalid")]
    Invalid,
    /// `20`..`3F`: interindustry class values reserved for future use.
    #[error("class byte {cla:02X} is reserved for future use")]
    Reserved {
        /// The class byte.
        cla: u8,
    },
    /// Logical channels are numbered 0 to 19.
    #[error("logical channel {channel} is out of range 0..=19")]
    ChannelOutOfRange {
        /// The requested channel number.
        channel: u8,
    },
    /// Channels 4..19 use the further interindustry coding, which has no room for command header
    /// authentication or proprietary secure messaging.
    #[error(
        "secure messaging of class byte {cla:02X} cannot be coded for logical channel {channel}"
    )]
    SecureMessagingNotEncodable {
        /// The original class byte.
        cla: u8,
        /// The requested channel number.
        channel: u8,
    },
}

/// A command APDU could not be built or decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// Fewer than the four header bytes CLA INS P1 P2.
    #[error("command APDU of {len} bytes is shorter than its 4-byte header")]
    TooShort {
        /// Length of the input.
        len: usize,
    },
    /// The length fields announce more bytes than the input holds.
    #[error("command APDU truncated: its length fields need {expected} bytes, {actual} present")]
    Truncated {
        /// Total length the length fields require (at least).
        expected: usize,
        /// Total length present.
        actual: usize,
    },
    /// Bytes after the data field and Le that no APDU case accounts for.
    #[error("{count} trailing byte(s) after the command APDU")]
    TrailingBytes {
        /// Number of unexplained bytes.
        count: usize,
    },
    /// An extended Lc field of `00 00` (Nc must be 1..=65535).
    #[error("extended Lc field is zero")]
    ZeroExtendedLc,
    /// More than 65535 bytes of command data.
    #[error("command data of {len} bytes exceeds 65535")]
    DataTooLong {
        /// Length of the data.
        len: usize,
    },
    /// Ne (expected response length) outside `1..=65536`.
    #[error("expected response length {ne} is outside 1..=65536")]
    InvalidLe {
        /// The requested Ne.
        ne: u32,
    },
    /// A short file identifier outside `1..=30`.
    #[error("short file identifier {sfi} is outside 1..=30")]
    InvalidSfi {
        /// The requested SFI.
        sfi: u8,
    },
    /// A record number outside `1..=254`.
    #[error("record number {record} is outside 1..=254")]
    InvalidRecordNumber {
        /// The requested record number.
        record: u8,
    },
    /// A DF name (AID) must be 1 to 16 bytes long.
    #[error("DF name of {len} bytes is outside 1..=16")]
    InvalidDfName {
        /// Length of the name.
        len: usize,
    },
    /// GET DATA carries its tag in P1-P2, so the tag must fit in two bytes.
    #[error("tag {tag} does not fit in P1-P2")]
    TagTooLongForP1P2 {
        /// The tag.
        tag: Tag,
    },
    /// The class byte could not be re-coded.
    #[error(transparent)]
    Class(#[from] ClassError),
}

/// A response APDU could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ResponseError {
    /// A response needs at least the two status bytes SW1 SW2.
    #[error("response APDU of {len} bytes is shorter than its 2-byte status word")]
    TooShort {
        /// Length of the input.
        len: usize,
    },
}

/// BER-TLV data (ISO/IEC 7816-4 §5.2, EMV Book 3 Annex B) is malformed, or a tag is invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TlvError {
    /// The input ended inside a tag field.
    #[error("input ends inside a tag")]
    TruncatedTag,
    /// A tag field longer than 4 bytes.
    #[error("tag field longer than 4 bytes")]
    TagTooLong,
    /// A tag that is not the canonical encoding of a BER-TLV tag, or starts with the padding
    /// byte `00` or `FF`.
    #[error("{raw:#X} is not a valid BER-TLV tag")]
    InvalidTag {
        /// The rejected value.
        raw: u32,
    },
    /// The input ended inside a length field.
    #[error("input ends inside a length field")]
    TruncatedLength,
    /// `80`: the indefinite length form, which ISO/IEC 7816-4 and EMV do not allow.
    #[error("indefinite length form (80) is not allowed")]
    IndefiniteLength,
    /// A long-form length with more than 4 subsequent bytes (`85` and above).
    #[error("length field with {count} subsequent bytes (at most 4 allowed)")]
    LengthFieldTooLong {
        /// Number of subsequent length bytes announced.
        count: u8,
    },
    /// The value extends beyond the end of the input.
    #[error("value of {length} bytes exceeds the {available} bytes available")]
    ValueOverflow {
        /// Announced value length.
        length: usize,
        /// Bytes left in the input.
        available: usize,
    },
    /// Constructed objects nested deeper than [`super::tlv::MAX_DEPTH`].
    #[error("TLV nesting deeper than {max} levels")]
    TooDeep {
        /// The depth limit.
        max: usize,
    },
    /// Bytes other than padding after a single expected data object.
    #[error("{count} byte(s) after the data object")]
    TrailingData {
        /// Number of bytes after the object.
        count: usize,
    },
}

/// A data object list (DOL) or DOL-related data is malformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DolError {
    /// A tag or length field of an entry is malformed.
    #[error("malformed DOL entry: {0}")]
    Entry(#[from] TlvError),
    /// An entry asks for more than 255 bytes (EMV data elements referenced by DOLs are shorter).
    #[error("DOL entry for tag {tag} asks for {len} bytes (at most 255)")]
    EntryTooLong {
        /// Tag of the entry.
        tag: Tag,
        /// Requested length.
        len: usize,
    },
    /// DOL-related data whose length differs from the sum of the DOL's lengths.
    #[error("DOL-related data is {actual} bytes, the DOL describes {expected}")]
    DataLengthMismatch {
        /// Sum of the entry lengths.
        expected: usize,
        /// Length of the data.
        actual: usize,
    },
}
