//! An in-memory [`SeTransport`] for unit tests: readers, applets answering from closures, a
//! call log, a channel limit and injectable failures.

use std::collections::HashMap;
use std::sync::Mutex;

use super::error::SeError;
use super::transport::{ChannelOpened, ReaderInfo, SeTransport};

/// An applet: answers each transmitted command APDU with a response APDU.
pub(crate) type AppletFn = Box<dyn FnMut(&[u8]) -> Vec<u8> + Send>;

/// One call the fake received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Call {
    OpenSession(String),
    OpenLogical(Option<Vec<u8>>, u8),
    OpenBasic(Option<Vec<u8>>, u8),
    Transmit(Vec<u8>),
    CloseChannel,
    CloseSession,
}

struct Applet {
    aid: Vec<u8>,
    select_response: Vec<u8>,
    answer: AppletFn,
}

#[derive(Default)]
struct State {
    readers: Vec<ReaderInfo>,
    /// The first applet is the default one (the ISD).
    applets: Vec<Applet>,
    next_handle: u64,
    sessions: HashMap<u64, String>,
    /// channel handle → (session handle, applet index)
    channels: HashMap<u64, (u64, usize)>,
    max_logical_channels: usize,
    transmits: usize,
    fail_transmit: Option<(usize, SeError)>,
    fail_open: Option<SeError>,
    calls: Vec<Call>,
}

/// The fake SE service.
pub(crate) struct FakeSe {
    state: Mutex<State>,
}

impl FakeSe {
    /// Readers `(name, present)`, no applets, three logical channels.
    pub(crate) fn new(readers: &[(&str, bool)]) -> FakeSe {
        FakeSe {
            state: Mutex::new(State {
                readers: readers
                    .iter()
                    .map(|&(n, p)| ReaderInfo::new(n, p))
                    .collect(),
                next_handle: 1,
                max_logical_channels: 3,
                ..State::default()
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Adds an applet; the first one added is the default applet.
    pub(crate) fn with_applet(
        self,
        aid: &[u8],
        select_response: &[u8],
        answer: impl FnMut(&[u8]) -> Vec<u8> + Send + 'static,
    ) -> FakeSe {
        self.lock().applets.push(Applet {
            aid: aid.to_vec(),
            select_response: select_response.to_vec(),
            answer: Box::new(answer),
        });
        self
    }

    /// Limits the number of logical channels open at once.
    pub(crate) fn with_max_channels(self, max: usize) -> FakeSe {
        self.lock().max_logical_channels = max;
        self
    }

    /// The `nth` transmit (1-based, counted over the fake's life) fails with `error`.
    pub(crate) fn fail_transmit_at(&self, nth: usize, error: SeError) {
        self.lock().fail_transmit = Some((nth, error));
    }

    /// The next channel opening fails with `error`.
    pub(crate) fn fail_next_open(&self, error: SeError) {
        self.lock().fail_open = Some(error);
    }

    /// Every call received, in order.
    pub(crate) fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    /// The command APDUs transmitted, in order.
    pub(crate) fn transmitted(&self) -> Vec<Vec<u8>> {
        self.calls()
            .into_iter()
            .filter_map(|c| match c {
                Call::Transmit(apdu) => Some(apdu),
                _ => None,
            })
            .collect()
    }

    /// Channels and sessions currently open.
    pub(crate) fn open_counts(&self) -> (usize, usize) {
        let s = self.lock();
        (s.channels.len(), s.sessions.len())
    }

    fn open_channel(
        &self,
        session: u64,
        aid: Option<Vec<u8>>,
        p2: u8,
        basic: bool,
    ) -> Result<ChannelOpened, SeError> {
        let mut s = self.lock();
        s.calls.push(if basic {
            Call::OpenBasic(aid.clone(), p2)
        } else {
            Call::OpenLogical(aid.clone(), p2)
        });
        if let Some(e) = s.fail_open.take() {
            return Err(e);
        }
        if !s.sessions.contains_key(&session) {
            return Err(SeError::Closed);
        }
        if !basic && s.channels.len() >= s.max_logical_channels {
            return Err(SeError::NoFreeChannel);
        }
        let index = match &aid {
            None if s.applets.is_empty() => {
                return Err(SeError::Io {
                    message: "no applet".into(),
                })
            }
            None => 0,
            Some(aid) => s
                .applets
                .iter()
                .position(|a| &a.aid == aid)
                .ok_or_else(|| SeError::ApplicationNotFound {
                    aid: hex::encode_upper(aid),
                })?,
        };
        let handle = s.next_handle;
        s.next_handle += 1;
        s.channels.insert(handle, (session, index));
        let select_response = s.applets.get(index).map(|a| a.select_response.clone());
        Ok(ChannelOpened {
            handle,
            select_response,
        })
    }
}

impl SeTransport for FakeSe {
    fn readers(&self) -> Result<Vec<ReaderInfo>, SeError> {
        Ok(self.lock().readers.clone())
    }

    fn open_session(&self, reader: String) -> Result<u64, SeError> {
        let mut s = self.lock();
        s.calls.push(Call::OpenSession(reader.clone()));
        if !s.readers.iter().any(|r| r.name == reader && r.present) {
            return Err(SeError::ReaderAbsent { reader });
        }
        let handle = s.next_handle;
        s.next_handle += 1;
        s.sessions.insert(handle, reader);
        Ok(handle)
    }

    fn open_logical_channel(
        &self,
        session: u64,
        aid: Option<Vec<u8>>,
        p2: u8,
    ) -> Result<ChannelOpened, SeError> {
        self.open_channel(session, aid, p2, false)
    }

    fn open_basic_channel(
        &self,
        session: u64,
        aid: Option<Vec<u8>>,
        p2: u8,
    ) -> Result<ChannelOpened, SeError> {
        self.open_channel(session, aid, p2, true)
    }

    fn transmit(&self, channel: u64, apdu: Vec<u8>) -> Result<Vec<u8>, SeError> {
        let mut s = self.lock();
        s.calls.push(Call::Transmit(apdu.clone()));
        s.transmits += 1;
        if let Some((nth, _)) = &s.fail_transmit {
            if *nth == s.transmits {
                if let Some((_, e)) = s.fail_transmit.take() {
                    return Err(e);
                }
            }
        }
        let &(_, index) = s.channels.get(&channel).ok_or(SeError::Closed)?;
        let applet = s.applets.get_mut(index).ok_or(SeError::Closed)?;
        Ok((applet.answer)(&apdu))
    }

    fn close_channel(&self, channel: u64) -> Result<(), SeError> {
        let mut s = self.lock();
        s.calls.push(Call::CloseChannel);
        s.channels
            .remove(&channel)
            .map(|_| ())
            .ok_or(SeError::Closed)
    }

    fn close_session(&self, session: u64) -> Result<(), SeError> {
        let mut s = self.lock();
        s.calls.push(Call::CloseSession);
        s.channels.retain(|_, (owner, _)| *owner != session);
        s.sessions
            .remove(&session)
            .map(|_| ())
            .ok_or(SeError::Closed)
    }
}
