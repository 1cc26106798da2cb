//! Status words SW1-SW2 (ISO/IEC 7816-4 §5.6, EMV Book 1 §11.2 and Book 3 Annex A).
//!
//! A status word is data, not an error: the flow that sent the command decides what it means.

use std::fmt;

/// A status word: SW1 in the high byte, SW2 in the low byte.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StatusWord(pub u16);

impl StatusWord {
    /// `9000`: normal processing.
    pub const SUCCESS: StatusWord = StatusWord(0x9000);

    /// Builds a status word from its two bytes.
    pub const fn new(sw1: u8, sw2: u8) -> StatusWord {
        StatusWord(u16::from_be_bytes([sw1, sw2]))
    }

    /// SW1.
    pub const fn sw1(self) -> u8 {
        self.0.to_be_bytes()[0]
    }

    /// SW2.
    pub const fn sw2(self) -> u8 {
        self.0.to_be_bytes()[1]
    }

    /// The two bytes SW1 SW2.
    pub const fn to_bytes(self) -> [u8; 2] {
        self.0.to_be_bytes()
    }

    /// `9000` only: the command completed and nothing more is pending.
    pub const fn is_success(self) -> bool {
        self.0 == 0x9000
    }

    /// `9000` or `61xx` (ISO normal processing).
    pub const fn is_normal(self) -> bool {
        self.0 == 0x9000 || self.sw1() == 0x61
    }

    /// `62xx` or `63xx` (warning processing: the command ran, with a caveat).
    pub const fn is_warning(self) -> bool {
        matches!(self.sw1(), 0x62 | 0x63)
    }

    /// The typed meaning of this status word.
    pub const fn status(self) -> Status {
        Status::from_word(self)
    }
}

/// The meaning of the status words the wallet meets; anything else is [`Status::Other`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// `9000`: normal processing.
    Success,
    /// `61xx`: normal processing, `xx` more response bytes available through GET RESPONSE
    /// (`00`: 256 or more).
    MoreData {
        /// SW2 as sent.
        available: u8,
    },
    /// `6Cxx`: wrong Le; resend with Le = `xx` (`00`: 256).
    WrongLe {
        /// SW2 as sent: the exact length available.
        exact: u8,
    },
    /// `6281`: part of the returned data may be corrupted.
    DataMayBeCorrupted,
    /// `6283`: selected file deactivated (EMV: selected file invalidated, e.g. a blocked
    /// application).
    SelectedFileDeactivated,
    /// `63Cx`: verification failed, `x` tries left (also a counter in other commands).
    VerificationFailed {
        /// Remaining tries, 0..=15.
        retries_left: u8,
    },
    /// `6581`: memory failure.
    MemoryFailure,
    /// `6700`: wrong length.
    WrongLength,
    /// `6881`: logical channel not supported.
    LogicalChannelNotSupported,
    /// `6882`: secure messaging not supported.
    SecureMessagingNotSupported,
    /// `6982`: security status not satisfied.
    SecurityStatusNotSatisfied,
    /// `6983`: authentication method blocked.
    AuthMethodBlocked,
    /// `6984`: reference data not usable.
    ReferenceDataNotUsable,
    /// `6985`: conditions of use not satisfied.
    ConditionsNotSatisfied,
    /// `6986`: command not allowed (no current EF).
    CommandNotAllowed,
    /// `6988`: incorrect secure messaging data objects.
    SmDataObjectsIncorrect,
    /// `6A80`: incorrect parameters in the command data field.
    IncorrectData,
    /// `6A81`: function not supported.
    FunctionNotSupported,
    /// `6A82`: file or application not found.
    FileNotFound,
    /// `6A83`: record not found.
    RecordNotFound,
    /// `6A84`: not enough memory space in the file.
    NotEnoughMemory,
    /// `6A86`: incorrect parameters P1-P2.
    IncorrectP1P2,
    /// `6A88`: referenced data or reference data not found.
    ReferencedDataNotFound,
    /// `6B00`: wrong parameters P1-P2.
    WrongParameters,
    /// `6D00`: instruction code not supported or invalid.
    InsNotSupported,
    /// `6E00`: class not supported.
    ClaNotSupported,
    /// `6F00`: no precise diagnosis.
    NoPreciseDiagnosis,
    /// Any other status word.
    Other(u16),
}

impl Status {
    /// The meaning of `sw`.
    pub const fn from_word(sw: StatusWord) -> Status {
        let [sw1, sw2] = sw.0.to_be_bytes();
        match (sw1, sw2) {
            (0x90, 0x00) => Status::Success,
            (0x61, available) => Status::MoreData { available },
            (0x6C, exact) => Status::WrongLe { exact },
            (0x62, 0x81) => Status::DataMayBeCorrupted,
            (0x62, 0x83) => Status::SelectedFileDeactivated,
            (0x63, 0xC0..=0xCF) => Status::VerificationFailed {
                retries_left: sw2 & 0x0F,
            },
            (0x65, 0x81) => Status::MemoryFailure,
            (0x67, 0x00) => Status::WrongLength,
            (0x68, 0x81) => Status::LogicalChannelNotSupported,
            (0x68, 0x82) => Status::SecureMessagingNotSupported,
            (0x69, 0x82) => Status::SecurityStatusNotSatisfied,
            (0x69, 0x83) => Status::AuthMethodBlocked,
            (0x69, 0x84) => Status::ReferenceDataNotUsable,
            (0x69, 0x85) => Status::ConditionsNotSatisfied,
            (0x69, 0x86) => Status::CommandNotAllowed,
            (0x69, 0x88) => Status::SmDataObjectsIncorrect,
            (0x6A, 0x80) => Status::IncorrectData,
            (0x6A, 0x81) => Status::FunctionNotSupported,
            (0x6A, 0x82) => Status::FileNotFound,
            (0x6A, 0x83) => Status::RecordNotFound,
            (0x6A, 0x84) => Status::NotEnoughMemory,
            (0x6A, 0x86) => Status::IncorrectP1P2,
            (0x6A, 0x88) => Status::ReferencedDataNotFound,
            (0x6B, 0x00) => Status::WrongParameters,
            (0x6D, 0x00) => Status::InsNotSupported,
            (0x6E, 0x00) => Status::ClaNotSupported,
            (0x6F, 0x00) => Status::NoPreciseDiagnosis,
            _ => Status::Other(sw.0),
        }
    }

    /// The status word with this meaning (`VerificationFailed` keeps the low four bits of
    /// `retries_left`).
    pub const fn word(self) -> StatusWord {
        StatusWord(match self {
            Status::Success => 0x9000,
            Status::MoreData { available } => 0x6100 | available as u16,
            Status::WrongLe { exact } => 0x6C00 | exact as u16,
            Status::DataMayBeCorrupted => 0x6281,
            Status::SelectedFileDeactivated => 0x6283,
            Status::VerificationFailed { retries_left } => 0x63C0 | (retries_left & 0x0F) as u16,
            Status::MemoryFailure => 0x6581,
            Status::WrongLength => 0x6700,
            Status::LogicalChannelNotSupported => 0x6881,
            Status::SecureMessagingNotSupported => 0x6882,
            Status::SecurityStatusNotSatisfied => 0x6982,
            Status::AuthMethodBlocked => 0x6983,
            Status::ReferenceDataNotUsable => 0x6984,
            Status::ConditionsNotSatisfied => 0x6985,
            Status::CommandNotAllowed => 0x6986,
            Status::SmDataObjectsIncorrect => 0x6988,
            Status::IncorrectData => 0x6A80,
            Status::FunctionNotSupported => 0x6A81,
            Status::FileNotFound => 0x6A82,
            Status::RecordNotFound => 0x6A83,
            Status::NotEnoughMemory => 0x6A84,
            Status::IncorrectP1P2 => 0x6A86,
            Status::ReferencedDataNotFound => 0x6A88,
            Status::WrongParameters => 0x6B00,
            Status::InsNotSupported => 0x6D00,
            Status::ClaNotSupported => 0x6E00,
            Status::NoPreciseDiagnosis => 0x6F00,
            Status::Other(raw) => raw,
        })
    }
}

impl From<StatusWord> for Status {
    fn from(sw: StatusWord) -> Status {
        Status::from_word(sw)
    }
}

impl From<Status> for StatusWord {
    fn from(status: Status) -> StatusWord {
        status.word()
    }
}

impl From<u16> for StatusWord {
    fn from(raw: u16) -> StatusWord {
        StatusWord(raw)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Status::Success => f.write_str("success"),
            Status::MoreData { available: 0 } => f.write_str("256 or more bytes available"),
            Status::MoreData { available } => write!(f, "{available} more bytes available"),
            Status::WrongLe { exact: 0 } => f.write_str("wrong Le, exact length 256"),
            Status::WrongLe { exact } => write!(f, "wrong Le, exact length {exact}"),
            Status::DataMayBeCorrupted => f.write_str("part of returned data may be corrupted"),
            Status::SelectedFileDeactivated => f.write_str("selected file deactivated"),
            Status::VerificationFailed { retries_left } => {
                write!(f, "verification failed, {retries_left} tries left")
            }
            Status::MemoryFailure => f.write_str("memory failure"),
            Status::WrongLength => f.write_str("wrong length"),
            Status::LogicalChannelNotSupported => f.write_str("logical channel not supported"),
            Status::SecureMessagingNotSupported => f.write_str("secure messaging not supported"),
            Status::SecurityStatusNotSatisfied => f.write_str("security status not satisfied"),
            Status::AuthMethodBlocked => f.write_str("authentication method blocked"),
            Status::ReferenceDataNotUsable => f.write_str("reference data not usable"),
            Status::ConditionsNotSatisfied => f.write_str("conditions of use not satisfied"),
            Status::CommandNotAllowed => f.write_str("command not allowed"),
            Status::SmDataObjectsIncorrect => {
                f.write_str("incorrect secure messaging data objects")
            }
            Status::IncorrectData => f.write_str("incorrect data"),
            Status::FunctionNotSupported => f.write_str("function not supported"),
            Status::FileNotFound => f.write_str("file or application not found"),
            Status::RecordNotFound => f.write_str("record not found"),
            Status::NotEnoughMemory => f.write_str("not enough memory"),
            Status::IncorrectP1P2 => f.write_str("incorrect P1-P2"),
            Status::ReferencedDataNotFound => f.write_str("referenced data not found"),
            Status::WrongParameters => f.write_str("wrong parameters P1-P2"),
            Status::InsNotSupported => f.write_str("instruction not supported"),
            Status::ClaNotSupported => f.write_str("class not supported"),
            Status::NoPreciseDiagnosis => f.write_str("no precise diagnosis"),
            Status::Other(_) => f.write_str("unknown status"),
        }
    }
}

impl fmt::Display for StatusWord {
    /// `9000 (success)`, `63C2 (verification failed, 2 tries left)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04X} ({})", self.0, self.status())
    }
}

impl fmt::Debug for StatusWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StatusWord({:04X})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_and_fields() {
        let sw = StatusWord::new(0x6A, 0x82);
        assert_eq!(sw, StatusWord(0x6A82));
        assert_eq!((sw.sw1(), sw.sw2()), (0x6A, 0x82));
        assert_eq!(sw.to_bytes(), [0x6A, 0x82]);
    }

    #[test]
    fn meanings_of_the_common_words() {
        let table: &[(u16, Status)] = &[
            (0x9000, Status::Success),
            (0x6110, Status::MoreData { available: 0x10 }),
            (0x6100, Status::MoreData { available: 0 }),
            (0x6C1C, Status::WrongLe { exact: 0x1C }),
            (0x6281, Status::DataMayBeCorrupted),
            (0x6283, Status::SelectedFileDeactivated),
            (0x63C3, Status::VerificationFailed { retries_left: 3 }),
            (0x63C0, Status::VerificationFailed { retries_left: 0 }),
            (0x6581, Status::MemoryFailure),
            (0x6700, Status::WrongLength),
            (0x6881, Status::LogicalChannelNotSupported),
            (0x6882, Status::SecureMessagingNotSupported),
            (0x6982, Status::SecurityStatusNotSatisfied),
            (0x6983, Status::AuthMethodBlocked),
            (0x6984, Status::ReferenceDataNotUsable),
            (0x6985, Status::ConditionsNotSatisfied),
            (0x6986, Status::CommandNotAllowed),
            (0x6988, Status::SmDataObjectsIncorrect),
            (0x6A80, Status::IncorrectData),
            (0x6A81, Status::FunctionNotSupported),
            (0x6A82, Status::FileNotFound),
            (0x6A83, Status::RecordNotFound),
            (0x6A84, Status::NotEnoughMemory),
            (0x6A86, Status::IncorrectP1P2),
            (0x6A88, Status::ReferencedDataNotFound),
            (0x6B00, Status::WrongParameters),
            (0x6D00, Status::InsNotSupported),
            (0x6E00, Status::ClaNotSupported),
            (0x6F00, Status::NoPreciseDiagnosis),
            (0x6300, Status::Other(0x6300)),
            (0x6A87, Status::Other(0x6A87)),
            (0x9001, Status::Other(0x9001)),
        ];
        for &(raw, status) in table {
            assert_eq!(StatusWord(raw).status(), status, "{raw:04X}");
            assert_eq!(status.word(), StatusWord(raw), "{raw:04X}");
        }
    }

    #[test]
    fn classification() {
        assert!(StatusWord(0x9000).is_success());
        assert!(!StatusWord(0x6110).is_success());
        assert!(StatusWord(0x6110).is_normal());
        assert!(StatusWord(0x6283).is_warning());
        assert!(StatusWord(0x63C1).is_warning());
        assert!(!StatusWord(0x6A82).is_warning());
        assert!(!StatusWord(0x6A82).is_normal());
    }

    #[test]
    fn display_shows_hex_and_meaning() {
        assert_eq!(StatusWord(0x9000).to_string(), "9000 (success)");
        assert_eq!(
            StatusWord(0x63C2).to_string(),
            "63C2 (verification failed, 2 tries left)"
        );
        assert_eq!(
            StatusWord(0x6A82).to_string(),
            "6A82 (file or application not found)"
        );
        assert_eq!(
            StatusWord(0x611C).to_string(),
            "611C (28 more bytes available)"
        );
        assert_eq!(
            StatusWord(0x6C00).to_string(),
            "6C00 (wrong Le, exact length 256)"
        );
        assert_eq!(StatusWord(0x6F12).to_string(), "6F12 (unknown status)");
        assert_eq!(format!("{:?}", StatusWord(0x6985)), "StatusWord(6985)");
    }
}
