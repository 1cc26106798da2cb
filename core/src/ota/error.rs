//! Everything that can end a GP SERAM session with an error.

use super::seram::WireError;
use crate::backend::BackendError;
use crate::se::SeError;

/// A SERAM session failed. Failures the spec says to *report* to the remote agent (an SE error
/// while executing C-APDUs) are not errors: they travel in the next report and end up in
/// [`super::OtaOutcome::failures`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OtaError {
    /// The RA endpoint is not an http(s) URL, or is plain http while that is not allowed.
    #[error("invalid RA endpoint: {0}")]
    InvalidEndpoint(String),
    /// The session id is empty, too long or holds control characters.
    #[error("invalid session id")]
    InvalidSessionId,
    /// The remote agent could not be reached, or did not answer in time, for longer than the
    /// retry window.
    #[error("remote agent unreachable: {0}")]
    Network(BackendError),
    /// The remote agent does not know the session id (HTTP 404).
    #[error("the remote agent does not know this session")]
    SessionNotFound,
    /// The remote agent cannot fulfil the handshake proposal (HTTP 406).
    #[error("the remote agent refused the handshake proposal")]
    HandshakeRefused,
    /// The remote agent answered another error status (e.g. 500).
    #[error("the remote agent answered HTTP {status}")]
    RemoteAgent {
        /// The HTTP status.
        status: u16,
    },
    /// The remote agent broke the protocol: a selection it was not offered, a command out of
    /// sequence.
    #[error("protocol violation: {0}")]
    Protocol(String),
    /// A message that is not valid JSON of the expected schema, or breaks a wire rule.
    #[error("malformed message: {0}")]
    MalformedMessage(String),
    /// A message larger than the configured limit.
    #[error("message exceeds the {limit}-byte limit")]
    MessageTooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// The device has no secure element to manage.
    #[error("no secure element present")]
    NoSecureElement,
    /// The SE service failed before the session could start (e.g. listing readers).
    #[error(transparent)]
    Se(SeError),
    /// The session did not reach its Stop command within the configured deadline.
    #[error("the management session exceeded its deadline")]
    SessionTimedOut,
}

impl From<WireError> for OtaError {
    fn from(e: WireError) -> OtaError {
        OtaError::MalformedMessage(e.to_string())
    }
}

impl From<SeError> for OtaError {
    fn from(e: SeError) -> OtaError {
        OtaError::Se(e)
    }
}
