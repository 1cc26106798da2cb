//! The handle table behind [`super::transport::SimulatedSeTransport`]: readers (present,
//! generation), sessions and channels by `u64` handle. Removing an SE bumps its reader's
//! generation, which kills every handle opened before.

use std::collections::HashMap;

use wallet_core::se::SeError;

/// A reader's state.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReaderStatus {
    /// Whether the SE is in its reader.
    pub(crate) present: bool,
    /// Incremented when the SE is removed: handles of an older generation are dead.
    pub(crate) generation: u64,
}

/// An open session: its reader and the reader's generation when it was opened.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SessionRecord {
    /// Index of the reader.
    pub(crate) reader: usize,
    pub(crate) generation: u64,
}

/// An open channel: its session, reader, generation and logical channel number.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ChannelRecord {
    pub(crate) session: u64,
    pub(crate) reader: usize,
    pub(crate) generation: u64,
    pub(crate) number: u8,
}

/// The handle table of the transport.
#[derive(Debug, Default)]
pub(crate) struct Handles {
    pub(crate) next: u64,
    pub(crate) readers: Vec<ReaderStatus>,
    pub(crate) sessions: HashMap<u64, SessionRecord>,
    pub(crate) channels: HashMap<u64, ChannelRecord>,
}

impl Handles {
    /// A new handle (sessions and channels share one sequence).
    pub(crate) fn issue(&mut self) -> u64 {
        self.next += 1;
        self.next
    }

    /// `Io` when the reader's SE was removed since `generation`.
    pub(crate) fn alive(&self, reader: usize, generation: u64) -> Result<(), SeError> {
        match self.readers.get(reader) {
            Some(status) if status.present && status.generation == generation => Ok(()),
            _ => Err(SeError::Io {
                message: "the secure element was removed".into(),
            }),
        }
    }

    /// A live session, `Closed` for an unknown handle.
    pub(crate) fn session(&self, handle: u64) -> Result<SessionRecord, SeError> {
        let record = *self.sessions.get(&handle).ok_or(SeError::Closed)?;
        self.alive(record.reader, record.generation)?;
        Ok(record)
    }

    /// A live channel, `Closed` for an unknown handle.
    pub(crate) fn channel(&self, handle: u64) -> Result<ChannelRecord, SeError> {
        let record = *self.channels.get(&handle).ok_or(SeError::Closed)?;
        self.alive(record.reader, record.generation)?;
        Ok(record)
    }
}
