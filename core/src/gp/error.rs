//! The error type of [`crate::gp`]: secure channel and card-management failures.
//!
//! Errors never carry key material, cryptograms or MACs: a caller learns *that* a check failed,
//! not the value that would have passed. On the card side, [`GpError::status_word`] gives the
//! status word a GlobalPlatform card answers for each error.

use crate::apdu::{ClassError, CommandError, StatusWord, TlvError};
use crate::crypto::CryptoError;

/// A GlobalPlatform secure channel or card-management operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GpError {
    /// Host side: the card cryptogram in the INITIALIZE UPDATE response does not verify (wrong
    /// keys, or not the card it claims to be).
    #[error("authentication failed: card cryptogram mismatch")]
    CardCryptogram,
    /// Card side: the host cryptogram in EXTERNAL AUTHENTICATE does not verify.
    #[error("authentication failed: host cryptogram mismatch")]
    HostCryptogram,
    /// Card side: the C-MAC of a command does not verify (tampered, replayed or out of order).
    /// The session is closed.
    #[error("C-MAC verification failed")]
    CommandMac,
    /// Host side: the R-MAC of a response does not verify. The session is closed.
    #[error("R-MAC verification failed")]
    ResponseMac,
    /// Encrypted data is not a whole number of blocks or its padding is wrong.
    #[error("decryption failed")]
    Decryption,
    /// A command that the security level requires to be protected arrived without secure
    /// messaging. The session is closed.
    #[error("secure messaging missing")]
    SecureMessagingMissing,
    /// No secure channel session is open (never opened, or closed after an error).
    #[error("secure channel closed")]
    ChannelClosed,
    /// A step of the protocol arrived out of order.
    #[error("unexpected in this state: {0}")]
    UnexpectedState(&'static str),
    /// The card answered a command with a status word the protocol does not accept.
    #[error("{command} returned {sw}")]
    UnexpectedStatus {
        /// The command, e.g. `"INITIALIZE UPDATE"`.
        command: &'static str,
        /// The status word received.
        sw: StatusWord,
    },
    /// A response from the card is malformed.
    #[error("malformed response: {0}")]
    MalformedResponse(&'static str),
    /// A command sent to the card is malformed.
    #[error("malformed command: {0}")]
    MalformedCommand(&'static str),
    /// The security level is not one the protocol defines, or not one the card's `i`
    /// parameter supports.
    #[error("security level {level:02X} not supported")]
    SecurityLevelNotSupported {
        /// The requested level (P1 of EXTERNAL AUTHENTICATE).
        level: u8,
    },
    /// The secure channel protocol or its implementation option `i` is not supported.
    #[error("secure channel protocol {scp:02X} with i={i:02X} not supported")]
    ProtocolNotSupported {
        /// The protocol number (`02`, `03`).
        scp: u8,
        /// The implementation option.
        i: u8,
    },
    /// The key version the card reports or is asked for is not the one held.
    #[error("key version {actual:02X} where {expected:02X} was expected")]
    KeyVersionMismatch {
        /// The key version held.
        expected: u8,
        /// The key version received.
        actual: u8,
    },
    /// The INITIALIZE UPDATE response differs from what a precomputed session predicted.
    #[error("INITIALIZE UPDATE response differs from the prediction: {0}")]
    PredictionMismatch(&'static str),
    /// The card's sequence counter has reached its maximum: no more sessions.
    #[error("sequence counter exhausted")]
    SequenceCounterExhausted,
    /// A key check value does not match the decrypted key.
    #[error("key check value mismatch")]
    KeyCheckValue,
    /// A parameter given to a builder is out of range.
    #[error("invalid parameter: {0}")]
    InvalidParameter(&'static str),
    /// A cryptographic primitive failed.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// An APDU could not be built.
    #[error(transparent)]
    Command(#[from] CommandError),
    /// A class byte could not be coded.
    #[error(transparent)]
    Class(#[from] ClassError),
    /// BER-TLV data is malformed.
    #[error(transparent)]
    Tlv(#[from] TlvError),
}

impl GpError {
    /// The status word a card answers for this error (GlobalPlatform Card Specification §11.1.3
    /// and Amendment D: every authentication or MAC failure is `6982`).
    pub fn status_word(&self) -> StatusWord {
        StatusWord(match self {
            GpError::CardCryptogram
            | GpError::HostCryptogram
            | GpError::CommandMac
            | GpError::ResponseMac
            | GpError::Decryption
            | GpError::SecureMessagingMissing
            | GpError::ChannelClosed
            | GpError::PredictionMismatch(_) => 0x6982,
            GpError::UnexpectedState(_) | GpError::SequenceCounterExhausted => 0x6985,
            GpError::UnexpectedStatus { sw, .. } => sw.0,
            GpError::MalformedCommand(_)
            | GpError::MalformedResponse(_)
            | GpError::KeyCheckValue
            | GpError::Tlv(_) => 0x6A80,
            GpError::SecurityLevelNotSupported { .. }
            | GpError::ProtocolNotSupported { .. }
            | GpError::InvalidParameter(_) => 0x6A86,
            GpError::KeyVersionMismatch { .. } => 0x6A88,
            GpError::Command(_) => 0x6700,
            GpError::Class(_) => 0x6E00,
            GpError::Crypto(_) => 0x6F00,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_status_words() {
        assert_eq!(GpError::CommandMac.status_word(), StatusWord(0x6982));
        assert_eq!(GpError::HostCryptogram.status_word(), StatusWord(0x6982));
        assert_eq!(
            GpError::KeyVersionMismatch {
                expected: 1,
                actual: 2
            }
            .status_word(),
            StatusWord(0x6A88)
        );
        assert_eq!(
            GpError::SecurityLevelNotSupported { level: 0x31 }.status_word(),
            StatusWord(0x6A86)
        );
        let sw = StatusWord(0x6A82);
        assert_eq!(
            GpError::UnexpectedStatus {
                command: "DELETE",
                sw
            }
            .status_word(),
            sw
        );
    }

    #[test]
    fn messages_name_the_failure_not_the_data() {
        assert_eq!(
            GpError::CardCryptogram.to_string(),
            "authentication failed: card cryptogram mismatch"
        );
        assert_eq!(
            GpError::UnexpectedStatus {
                command: "INITIALIZE UPDATE",
                sw: StatusWord(0x6A88)
            }
            .to_string(),
            "INITIALIZE UPDATE returned 6A88 (referenced data not found)"
        );
    }
}
