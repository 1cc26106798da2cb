//! The RAII side of SE access: [`SeService`] → [`Reader`] → [`Session`] → [`super::Channel`].

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::channel::Channel;
use super::error::SeError;
use super::policy::{choose_reader, SeRoute};
use super::transport::{ReaderInfo, ReaderKind, SeTransport};

/// Entry point of SE access (OMAPI `SEService`). Cheap to clone.
#[derive(Clone)]
pub struct SeService {
    transport: Arc<dyn SeTransport>,
}

impl SeService {
    /// SE access through `transport` (the platform's OMAPI bridge or the SE simulator).
    pub fn new(transport: Arc<dyn SeTransport>) -> SeService {
        SeService { transport }
    }

    /// The readers of the device, present or not.
    pub fn readers(&self) -> Result<Vec<Reader>, SeError> {
        Ok(self
            .transport
            .readers()?
            .into_iter()
            .map(|info| self.wrap(info))
            .collect())
    }

    /// The reader named `name`; [`SeError::ReaderAbsent`] if the device has none by that name.
    pub fn reader(&self, name: &str) -> Result<Reader, SeError> {
        self.readers()?
            .into_iter()
            .find(|r| r.name() == name)
            .ok_or_else(|| SeError::ReaderAbsent {
                reader: name.to_owned(),
            })
    }

    /// Applies the reader choice policy ([`choose_reader`]): the `preferred` kind if present,
    /// else eSE → SIM → SD, else [`SeRoute::Hce`].
    pub fn route(&self, preferred: Option<ReaderKind>) -> Result<SeRoute, SeError> {
        let readers = self.transport.readers()?;
        Ok(match choose_reader(&readers, preferred) {
            Some(info) => SeRoute::Se(self.wrap(info.clone())),
            None => SeRoute::Hce,
        })
    }

    fn wrap(&self, info: ReaderInfo) -> Reader {
        Reader {
            transport: Arc::clone(&self.transport),
            info,
        }
    }
}

impl fmt::Debug for SeService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SeService")
    }
}

/// A reader (OMAPI `Reader`), as listed when it was obtained.
#[derive(Clone)]
pub struct Reader {
    transport: Arc<dyn SeTransport>,
    info: ReaderInfo,
}

impl Reader {
    /// The reader name, e.g. `eSE1`.
    pub fn name(&self) -> &str {
        &self.info.name
    }

    /// The kind of SE, when the name follows the OMAPI convention.
    pub fn kind(&self) -> Option<ReaderKind> {
        self.info.kind
    }

    /// Whether an SE was present when the reader was listed.
    pub fn is_present(&self) -> bool {
        self.info.present
    }

    /// The reader as the platform listed it.
    pub fn info(&self) -> &ReaderInfo {
        &self.info
    }

    /// Opens a session on the SE of this reader.
    pub fn open_session(&self) -> Result<Session, SeError> {
        let handle = self.transport.open_session(self.info.name.clone())?;
        tracing::debug!(reader = %self.info.name, "SE session opened");
        Ok(Session {
            inner: Arc::new(SessionHandle {
                transport: Arc::clone(&self.transport),
                handle,
                reader: self.info.name.clone(),
                closed: AtomicBool::new(false),
            }),
        })
    }
}

impl fmt::Debug for Reader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reader").field("info", &self.info).finish()
    }
}

/// A platform session handle, shared by the [`Session`] and its channels so the session stays
/// open while any of its channels lives; closed once, on explicit close or when the last owner
/// drops.
pub(crate) struct SessionHandle {
    pub(crate) transport: Arc<dyn SeTransport>,
    handle: u64,
    reader: String,
    closed: AtomicBool,
}

impl SessionHandle {
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    fn close(&self) -> Result<(), SeError> {
        if self.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        self.transport.close_session(self.handle)
    }
}

impl Drop for SessionHandle {
    fn drop(&mut self) {
        if let Err(e) = self.close() {
            tracing::debug!(reader = %self.reader, error = %e, "closing SE session failed");
        }
    }
}

/// A session on one SE (OMAPI `Session`). Closed on drop, once no channel of it remains.
pub struct Session {
    inner: Arc<SessionHandle>,
}

impl Session {
    /// The name of the reader this session is on.
    pub fn reader_name(&self) -> &str {
        &self.inner.reader
    }

    /// Whether the session was closed.
    pub fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }

    /// Opens a logical channel and selects `aid` on it (`None`: the default applet). `p2` is
    /// the SELECT P2 (`00`: first occurrence, return FCI).
    pub fn open_logical_channel(&self, aid: Option<&[u8]>, p2: u8) -> Result<Channel, SeError> {
        self.open(aid, p2, false)
    }

    /// Opens the basic channel and selects `aid` on it (`None`: keep the default applet).
    pub fn open_basic_channel(&self, aid: Option<&[u8]>, p2: u8) -> Result<Channel, SeError> {
        self.open(aid, p2, true)
    }

    fn open(&self, aid: Option<&[u8]>, p2: u8, basic: bool) -> Result<Channel, SeError> {
        if self.is_closed() {
            return Err(SeError::Closed);
        }
        let transport = &self.inner.transport;
        let aid_owned = aid.map(<[u8]>::to_vec);
        let opened = if basic {
            transport.open_basic_channel(self.inner.handle, aid_owned, p2)?
        } else {
            transport.open_logical_channel(self.inner.handle, aid_owned, p2)?
        };
        tracing::debug!(
            reader = %self.inner.reader,
            aid = %aid.map(hex::encode_upper).unwrap_or_else(|| "default".into()),
            basic,
            "SE channel opened"
        );
        Ok(Channel::new(Arc::clone(&self.inner), opened, basic))
    }

    /// Closes the session now, and with it every channel still open (their later use gives
    /// [`SeError::Closed`]).
    pub fn close(self) -> Result<(), SeError> {
        self.inner.close()
    }
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("reader", &self.inner.reader)
            .field("closed", &self.is_closed())
            .finish()
    }
}
