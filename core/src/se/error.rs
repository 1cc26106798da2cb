//! Everything that can go wrong while talking to a secure element.

/// An SE access operation failed.
///
/// The variants mirror what `android.se.omapi` reports (IOException, SecurityException,
/// NoSuchElementException, IllegalStateException, a `null` channel), so the platform seam can
/// map its exceptions one to one. Owned, `Clone` and `Display`: a foreign implementation of
/// [`super::SeTransport`] returns it across the FFI. Messages never carry APDU payloads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SeError {
    /// No reader of that name, or the reader holds no secure element (OMAPI
    /// `Reader.isSecureElementPresent() == false`).
    #[error("reader {reader} is absent or holds no secure element")]
    ReaderAbsent {
        /// The reader name, e.g. `eSE1`.
        reader: String,
    },
    /// The secure element was removed or stopped answering (OMAPI `IOException`).
    #[error("secure element I/O failure: {message}")]
    Io {
        /// What the platform said.
        message: String,
    },
    /// The secure element cannot open another logical channel (OMAPI returns a `null` channel,
    /// or MANAGE CHANNEL answered `6881`); for a basic channel: it is in use or not available.
    #[error("no free channel on the secure element")]
    NoFreeChannel,
    /// The access control rules refuse this application access to the applet or the command
    /// (OMAPI `SecurityException`).
    #[error("access to the secure element denied: {message}")]
    AccessDenied {
        /// What the platform said.
        message: String,
    },
    /// SELECT found no application with this AID (status `6A82`; OMAPI
    /// `NoSuchElementException`).
    #[error("application {aid} not found on the secure element")]
    ApplicationNotFound {
        /// The AID, uppercase hex (AIDs are public identifiers).
        aid: String,
    },
    /// The secure element answered a status word the operation cannot continue with (e.g. a
    /// SELECT refused with something other than `6A82`).
    #[error("unexpected status word {sw:04X}")]
    UnexpectedStatus {
        /// The status word SW1 SW2.
        sw: u16,
    },
    /// The session or channel handle is closed or unknown (OMAPI `IllegalStateException`).
    #[error("the SE session or channel is closed")]
    Closed,
    /// Any other failure of the platform SE service (service not connected, unsupported P2,
    /// a foreign exception).
    #[error("SE platform failure: {message}")]
    Platform {
        /// What the platform said.
        message: String,
    },
}

impl SeError {
    /// Whether the secure element itself is unreachable (absent reader, removed card, I/O
    /// failure), as opposed to a refusal or a protocol problem.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, SeError::ReaderAbsent { .. } | SeError::Io { .. })
    }
}
