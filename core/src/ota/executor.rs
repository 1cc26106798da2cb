//! Executes `seRamCommand`s on the SE through [`crate::se`].
//!
//! Rules (GP SERAM, Local Agent Behaviour):
//! - A SELECT by DF name (`INS A4`, `P1 04`) is not transmitted: OMAPI opens a logical channel
//!   for it (closing the previous one) and its select response is the R-APDU (an empty string
//!   when the platform gives none). A SELECT refused with a status word (`6A82`…) yields that
//!   status word as the R-APDU: it is the SE's answer, not a transmission error.
//! - Other C-APDUs go, byte for byte, to the channel of the last SELECT; before any SELECT, to a
//!   channel on the default applet (the issuer security domain). The channel stays open across
//!   commands and orders until the next SELECT or the end of the session.
//! - Any error transmitting a C-APDU ends the command: the remaining C-APDUs are discarded and
//!   the failing one gets no R-APDU. Error and warning status words are valid R-APDUs.
//!
//! C-APDU and R-APDU contents are never logged above debug level, and then only headers and
//! status words: STORE DATA and PUT KEY payloads are SCP03-encrypted end to end anyway, but the
//! phone has no business writing them down.

use crate::apdu::CommandApdu;
use crate::se::{Channel, Reader, SeError, Session};

use super::seram::{encode_apdu, LocalAgentStatusEnum, SecureElement};

/// An SE offered to the remote agent in the handshake, and the reader behind it.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub(crate) wire: SecureElement,
    pub(crate) reader: Reader,
}

/// A failure to report in `localAgentStatus`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    pub(crate) status: LocalAgentStatusEnum,
    pub(crate) message: String,
}

impl Failure {
    fn from_se(e: &SeError) -> Failure {
        let status = match e {
            e if e.is_unavailable() => LocalAgentStatusEnum::UnavailableSe,
            SeError::AccessDenied { .. } => LocalAgentStatusEnum::UngrantedAccess,
            _ => LocalAgentStatusEnum::UnknownFailure,
        };
        Failure {
            status,
            message: e.to_string(),
        }
    }
}

/// The SE side of a session: which SE, its session, the current channel.
pub(crate) struct SeRamExecutor {
    targets: Vec<Target>,
    /// `None`: the first target; `Some(Err)`: the remote agent chose an SE never offered.
    chosen: Option<Result<usize, String>>,
    session: Option<Session>,
    channel: Option<Channel>,
}

impl SeRamExecutor {
    pub(crate) fn new(targets: Vec<Target>) -> SeRamExecutor {
        SeRamExecutor {
            targets,
            chosen: None,
            session: None,
            channel: None,
        }
    }

    /// Applies `chosenSecureElement`; switching SE closes the current channel and session.
    pub(crate) fn choose(&mut self, se: &SecureElement) {
        let found = self
            .targets
            .iter()
            .position(|t| t.wire.se_id == se.se_id && t.wire.se_type == se.se_type)
            .ok_or_else(|| se.se_id.clone());
        if found != self.current() {
            self.close();
        }
        self.chosen = Some(found);
    }

    fn current(&self) -> Result<usize, String> {
        self.chosen.clone().unwrap_or(Ok(0))
    }

    /// Executes the C-APDUs of one `seRamCommand`, calling `on_apdu` after each exchange.
    /// Returns the R-APDUs (hex) and the failure that cut the list short, if any.
    pub(crate) fn execute(
        &mut self,
        capdus: &[Vec<u8>],
        mut on_apdu: impl FnMut(),
    ) -> (Vec<String>, Option<Failure>) {
        let mut rapdus = Vec::with_capacity(capdus.len());
        for capdu in capdus {
            match self.execute_one(capdu) {
                Ok(rapdu) => rapdus.push(rapdu),
                Err(failure) => {
                    tracing::info!(status = ?failure.status, "C-APDU transmission failed; rest of the command discarded");
                    return (rapdus, Some(failure));
                }
            }
            on_apdu();
        }
        (rapdus, None)
    }

    fn execute_one(&mut self, capdu: &[u8]) -> Result<String, Failure> {
        let result = match capdu {
            [_, 0xA4, 0x04, ..] => self.select(capdu),
            _ => self.transmit(capdu),
        };
        result.map_err(|e| {
            // The channel (and, if the SE went away, the session) is not trusted after an error.
            self.channel = None;
            if e.is_unavailable() {
                self.session = None;
            }
            Failure::from_se(&e)
        })
    }

    fn select(&mut self, capdu: &[u8]) -> Result<String, SeError> {
        let command = CommandApdu::parse(capdu).map_err(|e| SeError::Platform {
            message: format!("malformed SELECT: {e}"),
        })?;
        let aid = Some(command.data()).filter(|d| !d.is_empty());
        self.channel = None;
        match self.session()?.open_logical_channel(aid, command.p2()) {
            Ok(channel) => {
                let rapdu = channel
                    .select_response()
                    .map(encode_apdu)
                    .unwrap_or_default();
                self.channel = Some(channel);
                Ok(rapdu)
            }
            Err(SeError::ApplicationNotFound { .. }) => Ok("6A82".to_owned()),
            Err(SeError::UnexpectedStatus { sw }) => Ok(format!("{sw:04X}")),
            Err(e) => Err(e),
        }
    }

    fn transmit(&mut self, capdu: &[u8]) -> Result<String, SeError> {
        if self.channel.is_none() {
            let channel = self.session()?.open_logical_channel(None, 0x00)?;
            self.channel = Some(channel);
        }
        let channel = self.channel.as_ref().ok_or(SeError::Closed)?;
        Ok(encode_apdu(&channel.transmit_raw(capdu)?.to_bytes()))
    }

    fn session(&mut self) -> Result<&Session, SeError> {
        if self.session.is_none() {
            let index = self
                .current()
                .map_err(|se_id| SeError::ReaderAbsent { reader: se_id })?;
            let target = self.targets.get(index).ok_or(SeError::ReaderAbsent {
                reader: String::new(),
            })?;
            self.session = Some(target.reader.open_session()?);
        }
        self.session.as_ref().ok_or(SeError::Closed)
    }

    /// Closes the channel and the session.
    pub(crate) fn close(&mut self) {
        self.channel = None;
        self.session = None;
    }
}
