//! A channel to an applet (OMAPI `Channel`): APDU exchange with automatic `61xx` GET RESPONSE
//! and `6Cxx` re-issue, closed on drop.

use std::fmt;
use std::sync::Arc;

use super::error::SeError;
use super::service::SessionHandle;
use super::transport::ChannelOpened;
use crate::apdu::{CommandApdu, ResponseApdu, Status};

/// Most GET RESPONSE rounds one exchange may take (256 × 256 bytes covers any extended-length
/// answer); a card that keeps answering `61xx` beyond that is treated as misbehaving.
pub const MAX_GET_RESPONSE_ROUNDS: usize = 256;

/// An open channel. Closed on drop (or with [`Channel::close`]); it keeps its session open.
pub struct Channel {
    session: Arc<SessionHandle>,
    handle: u64,
    basic: bool,
    select_response: Option<Vec<u8>>,
    open: bool,
}

impl Channel {
    pub(crate) fn new(session: Arc<SessionHandle>, opened: ChannelOpened, basic: bool) -> Channel {
        Channel {
            session,
            handle: opened.handle,
            basic,
            select_response: opened.select_response,
            open: true,
        }
    }

    /// Whether this is the basic channel (channel 0).
    pub fn is_basic(&self) -> bool {
        self.basic
    }

    /// The SE's answer to the SELECT that opened the channel (data and status word), when the
    /// platform made it available.
    pub fn select_response(&self) -> Option<&[u8]> {
        self.select_response.as_deref()
    }

    /// Sends `command` and returns the complete response: `61xx` answers are followed by GET
    /// RESPONSE until the data is complete, a `6Cxx` answer re-issues the command once with
    /// Le = `xx`. Other status words are returned as data, not errors.
    pub fn transmit(&self, command: &CommandApdu) -> Result<ResponseApdu, SeError> {
        self.transmit_raw(&command.to_bytes())
    }

    /// Like [`transmit`](Self::transmit) for an already encoded command, which is sent byte for
    /// byte (a relayed command keeps the exact length encoding its MAC was computed over).
    pub fn transmit_raw(&self, command: &[u8]) -> Result<ResponseApdu, SeError> {
        let mut response = self.exchange(command.to_vec())?;
        if let Status::WrongLe { exact } = response.status() {
            if let Ok(parsed) = CommandApdu::parse(command) {
                response = self.exchange(parsed.with_short_le(exact).to_bytes())?;
            }
        }
        self.complete(response)
    }

    /// Follows `61xx` answers with GET RESPONSE, concatenating the data.
    fn complete(&self, mut response: ResponseApdu) -> Result<ResponseApdu, SeError> {
        let mut data = std::mem::take(&mut response.data);
        let mut rounds = 0;
        while let Status::MoreData { available } = response.status() {
            rounds += 1;
            if rounds > MAX_GET_RESPONSE_ROUNDS {
                return Err(SeError::UnexpectedStatus { sw: response.sw.0 });
            }
            response = self.exchange(CommandApdu::get_response(available).to_bytes())?;
            if let Status::WrongLe { exact } = response.status() {
                response = self.exchange(CommandApdu::get_response(exact).to_bytes())?;
            }
            data.append(&mut response.data);
        }
        response.data = data;
        Ok(response)
    }

    /// One transport exchange. Only the header is logged, at debug level: command data may hold
    /// secrets (PIN blocks, key material — which in GP commands is SCP03-encrypted anyway).
    fn exchange(&self, command: Vec<u8>) -> Result<ResponseApdu, SeError> {
        if !self.open || self.session.is_closed() {
            return Err(SeError::Closed);
        }
        tracing::debug!(
            header = %hex::encode_upper(command.get(..4).unwrap_or(&command)),
            len = command.len(),
            "C-APDU"
        );
        let bytes = self.session.transport.transmit(self.handle, command)?;
        let response = ResponseApdu::parse(&bytes).map_err(|e| SeError::Io {
            message: format!("malformed response APDU: {e}"),
        })?;
        tracing::debug!(sw = %format!("{:04X}", response.sw.0), len = response.data.len(), "R-APDU");
        Ok(response)
    }

    /// Closes the channel now.
    pub fn close(mut self) -> Result<(), SeError> {
        self.close_once()
    }

    fn close_once(&mut self) -> Result<(), SeError> {
        if !std::mem::replace(&mut self.open, false) || self.session.is_closed() {
            return Ok(());
        }
        self.session.transport.close_channel(self.handle)
    }
}

impl Drop for Channel {
    fn drop(&mut self) {
        if let Err(e) = self.close_once() {
            tracing::debug!(error = %e, "closing SE channel failed");
        }
    }
}

impl fmt::Debug for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Channel")
            .field("basic", &self.basic)
            .field("open", &self.open)
            .finish()
    }
}
