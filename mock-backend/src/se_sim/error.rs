//! Errors of the SE simulator: [`SeSimError`] for the outside (state files, set-up), and the
//! card-internal `Refusal`, a status word a command is answered with.

use wallet_core::apdu::{ResponseApdu, StatusWord};
use wallet_core::gp::GpError;

/// Status words the simulated card answers with (ISO/IEC 7816-4, GlobalPlatform §11.1.3).
pub mod sw {
    use wallet_core::apdu::StatusWord;

    /// More data available (GET STATUS: ask again with P2 b1).
    pub const MORE_DATA: StatusWord = StatusWord(0x6310);
    /// Memory failure (the state could not be saved).
    pub const MEMORY_FAILURE: StatusWord = StatusWord(0x6581);
    /// Wrong length.
    pub const WRONG_LENGTH: StatusWord = StatusWord(0x6700);
    /// Logical channel not supported.
    pub const CHANNEL_NOT_SUPPORTED: StatusWord = StatusWord(0x6881);
    /// Security status not satisfied (no or broken secure channel).
    pub const SECURITY_STATUS: StatusWord = StatusWord(0x6982);
    /// Conditions of use not satisfied.
    pub const CONDITIONS: StatusWord = StatusWord(0x6985);
    /// Incorrect values in the command data.
    pub const WRONG_DATA: StatusWord = StatusWord(0x6A80);
    /// Function not supported (e.g. the card is locked).
    pub const FUNCTION_NOT_SUPPORTED: StatusWord = StatusWord(0x6A81);
    /// Application not found.
    pub const NOT_FOUND: StatusWord = StatusWord(0x6A82);
    /// Not enough memory.
    pub const NOT_ENOUGH_MEMORY: StatusWord = StatusWord(0x6A84);
    /// Incorrect P1 P2.
    pub const WRONG_P1P2: StatusWord = StatusWord(0x6A86);
    /// Referenced data not found.
    pub const DATA_NOT_FOUND: StatusWord = StatusWord(0x6A88);
    /// Instruction not supported.
    pub const INS_NOT_SUPPORTED: StatusWord = StatusWord(0x6D00);
    /// Class not supported.
    pub const CLA_NOT_SUPPORTED: StatusWord = StatusWord(0x6E00);
    /// No precise diagnosis.
    pub const UNKNOWN: StatusWord = StatusWord(0x6F00);
}

/// The simulator could not load, create or save a secure element.
#[derive(Debug, thiserror::Error)]
pub enum SeSimError {
    /// Reading or writing a state file failed.
    #[error("SE state file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A state file is not valid JSON of the expected shape.
    #[error("SE state file {path} is malformed: {source}")]
    Json {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// A state file holds values the card cannot use.
    #[error("SE state is inconsistent: {0}")]
    Corrupt(&'static str),
    /// Key derivation or another GlobalPlatform operation failed.
    #[error(transparent)]
    Gp(#[from] GpError),
}

/// A command refused with a status word. Internal to the card: it becomes the response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Refusal(pub(crate) StatusWord);

impl From<GpError> for Refusal {
    fn from(err: GpError) -> Refusal {
        Refusal(err.status_word())
    }
}

impl From<StatusWord> for Refusal {
    fn from(sw: StatusWord) -> Refusal {
        Refusal(sw)
    }
}

/// The outcome of one command inside the card.
pub(crate) type CardResult = Result<ResponseApdu, Refusal>;

/// Turns a [`CardResult`] into the response APDU.
pub(crate) fn respond(result: CardResult) -> ResponseApdu {
    result.unwrap_or_else(|Refusal(sw)| ResponseApdu::status_only(sw))
}
