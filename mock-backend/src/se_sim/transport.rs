//! [`SimulatedSeTransport`]: the three simulated SEs behind the core's OMAPI-shaped
//! [`SeTransport`] seam — readers `eSE1`, `SIM1` and `SD1`, sessions, logical and basic
//! channels with `u64` handles.
//!
//! Channels are opened the way an OMAPI service does it: MANAGE CHANNEL then SELECT on the
//! card. Like Android's OMAPI, [`SeTransport::transmit`] sets the channel number in the class
//! byte and refuses MANAGE CHANNEL and SELECT by DF name ([`SeError::AccessDenied`]). A reader
//! can be marked absent (its SE "removed"): open sessions and channels then fail with
//! [`SeError::Io`]; when it comes back the card restarts (power-on reset) with its saved state.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use wallet_core::apdu::{Class, LogicalChannel, ResponseApdu, StatusWord};
use wallet_core::se::{ChannelOpened, ReaderInfo, ReaderKind, SeError, SeTransport};

use super::card::SimulatedSe;
use super::error::SeSimError;
use crate::world_keys::{reader_name, ISD_AID};

/// A simulated SE shared between the transport, a vpcd bridge and tests.
pub type SharedSe = Arc<Mutex<SimulatedSe>>;

/// The SE kinds in reader order.
pub const KINDS: [ReaderKind; 3] = [ReaderKind::Ese, ReaderKind::Sim, ReaderKind::Sd];

/// The state file of the SE of `kind` under a data directory: `<dir>/se/ese.json`,
/// `<dir>/se/sim.json`, `<dir>/se/sd.json`.
pub fn state_file(dir: &Path, kind: ReaderKind) -> std::path::PathBuf {
    dir.join("se")
        .join(format!("{}.json", kind.prefix().to_ascii_lowercase()))
}

fn lock(se: &Mutex<SimulatedSe>) -> MutexGuard<'_, SimulatedSe> {
    se.lock().unwrap_or_else(PoisonError::into_inner)
}

#[derive(Debug, Clone, Copy)]
struct ReaderStatus {
    present: bool,
    /// Incremented when the SE is removed: handles of an older generation are dead.
    generation: u64,
}

#[derive(Debug, Clone, Copy)]
struct SessionRecord {
    reader: usize,
    generation: u64,
}

#[derive(Debug, Clone, Copy)]
struct ChannelRecord {
    session: u64,
    reader: usize,
    generation: u64,
    number: u8,
}

#[derive(Debug, Default)]
struct Handles {
    next: u64,
    readers: Vec<ReaderStatus>,
    sessions: HashMap<u64, SessionRecord>,
    channels: HashMap<u64, ChannelRecord>,
}

impl Handles {
    fn issue(&mut self) -> u64 {
        self.next += 1;
        self.next
    }

    fn alive(&self, reader: usize, generation: u64) -> Result<(), SeError> {
        match self.readers.get(reader) {
            Some(status) if status.present && status.generation == generation => Ok(()),
            _ => Err(SeError::Io {
                message: "the secure element was removed".into(),
            }),
        }
    }

    fn session(&self, handle: u64) -> Result<SessionRecord, SeError> {
        let record = *self.sessions.get(&handle).ok_or(SeError::Closed)?;
        self.alive(record.reader, record.generation)?;
        Ok(record)
    }

    fn channel(&self, handle: u64) -> Result<ChannelRecord, SeError> {
        let record = *self.channels.get(&handle).ok_or(SeError::Closed)?;
        self.alive(record.reader, record.generation)?;
        Ok(record)
    }
}

/// Three simulated SEs (eSE, SIM, microSD) as the platform's SE service.
pub struct SimulatedSeTransport {
    ses: Vec<SharedSe>,
    handles: Mutex<Handles>,
}

impl std::fmt::Debug for SimulatedSeTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimulatedSeTransport")
            .field("readers", &KINDS.map(reader_name))
            .finish_non_exhaustive()
    }
}

impl SimulatedSeTransport {
    /// The three SEs saved under `dir` (created with new KDDs on first use).
    pub fn open(dir: impl AsRef<Path>) -> Result<SimulatedSeTransport, SeSimError> {
        let dir = dir.as_ref();
        let cards = KINDS
            .iter()
            .map(|&kind| SimulatedSe::open(kind, state_file(dir, kind)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SimulatedSeTransport::from_cards(cards))
    }

    /// Three new SEs kept in memory only.
    pub fn in_memory() -> Result<SimulatedSeTransport, SeSimError> {
        let cards = KINDS
            .iter()
            .map(|&kind| SimulatedSe::new(kind))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SimulatedSeTransport::from_cards(cards))
    }

    fn from_cards(cards: Vec<SimulatedSe>) -> SimulatedSeTransport {
        let readers = cards
            .iter()
            .map(|_| ReaderStatus {
                present: true,
                generation: 0,
            })
            .collect();
        SimulatedSeTransport {
            ses: cards.into_iter().map(|c| Arc::new(Mutex::new(c))).collect(),
            handles: Mutex::new(Handles {
                readers,
                ..Handles::default()
            }),
        }
    }

    fn index(kind: ReaderKind) -> usize {
        KINDS.iter().position(|k| *k == kind).unwrap_or_default()
    }

    fn handles(&self) -> MutexGuard<'_, Handles> {
        self.handles.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn card(&self, reader: usize) -> Result<&SharedSe, SeError> {
        self.ses.get(reader).ok_or(SeError::Closed)
    }

    /// The SE of `kind` (for a vpcd bridge, or for tests to look inside).
    pub fn se(&self, kind: ReaderKind) -> SharedSe {
        let index = SimulatedSeTransport::index(kind);
        self.ses
            .get(index)
            .cloned()
            .unwrap_or_else(|| unreachable!("three readers"))
    }

    /// The SERAM `seId` of the SE of `kind`.
    pub fn se_id(&self, kind: ReaderKind) -> String {
        lock(&self.se(kind)).se_id()
    }

    /// Whether the SE of `kind` is present.
    pub fn is_present(&self, kind: ReaderKind) -> bool {
        self.handles()
            .readers
            .get(SimulatedSeTransport::index(kind))
            .is_some_and(|r| r.present)
    }

    /// Inserts or removes the SE of `kind`. Removal kills its sessions and channels (they
    /// fail with [`SeError::Io`]); either change resets the card.
    pub fn set_present(&self, kind: ReaderKind, present: bool) {
        let index = SimulatedSeTransport::index(kind);
        {
            let mut handles = self.handles();
            if let Some(status) = handles.readers.get_mut(index) {
                if status.present && !present {
                    status.generation += 1;
                }
                status.present = present;
            }
        }
        lock(&self.se(kind)).reset();
    }

    /// Sends an APDU to the card of `reader` (no handle checks).
    fn send(&self, reader: usize, apdu: &[u8]) -> Result<ResponseApdu, SeError> {
        let response = lock(self.card(reader)?).transmit(apdu);
        ResponseApdu::parse(&response).map_err(|_| SeError::Io {
            message: "malformed response from the simulated SE".into(),
        })
    }

    /// SELECT `aid` with `p2` on channel `number`; the response bytes on success.
    fn select(&self, reader: usize, number: u8, aid: &[u8], p2: u8) -> Result<Vec<u8>, SeError> {
        let cla = Class::new(0x00)
            .with_channel(LogicalChannel::new(number).map_err(platform)?)
            .map_err(platform)?;
        let length = u8::try_from(aid.len()).map_err(|_| SeError::Platform {
            message: "AID longer than 255 bytes".into(),
        })?;
        let mut apdu = vec![cla.value(), 0xA4, 0x04, p2, length];
        apdu.extend_from_slice(aid);
        apdu.push(0x00);
        let response = self.send(reader, &apdu)?;
        match response.sw {
            sw if sw.is_normal() => Ok(response.to_bytes()),
            StatusWord(0x6A82) => Err(SeError::ApplicationNotFound {
                aid: hex::encode_upper(aid),
            }),
            sw => Err(SeError::UnexpectedStatus { sw: sw.0 }),
        }
    }

    fn register_channel(&self, session: u64, record: SessionRecord, number: u8) -> u64 {
        let mut handles = self.handles();
        let handle = handles.issue();
        handles.channels.insert(
            handle,
            ChannelRecord {
                session,
                reader: record.reader,
                generation: record.generation,
                number,
            },
        );
        handle
    }

    fn close_on_card(&self, channel: ChannelRecord) -> Result<(), SeError> {
        let response = if channel.number == 0 {
            // The basic channel goes back to the default application.
            let mut apdu = vec![0x00, 0xA4, 0x04, 0x00, 0x08];
            apdu.extend_from_slice(&ISD_AID);
            self.send(channel.reader, &apdu)?
        } else {
            self.send(channel.reader, &[0x00, 0x70, 0x80, channel.number])?
        };
        if response.sw.is_normal() {
            Ok(())
        } else {
            Err(SeError::UnexpectedStatus { sw: response.sw.0 })
        }
    }
}

fn platform(err: impl std::fmt::Display) -> SeError {
    SeError::Platform {
        message: err.to_string(),
    }
}

impl SeTransport for SimulatedSeTransport {
    fn readers(&self) -> Result<Vec<ReaderInfo>, SeError> {
        let handles = self.handles();
        Ok(KINDS
            .iter()
            .zip(&handles.readers)
            .map(|(&kind, status)| ReaderInfo::new(reader_name(kind), status.present))
            .collect())
    }

    fn open_session(&self, reader: String) -> Result<u64, SeError> {
        let absent = || SeError::ReaderAbsent {
            reader: reader.clone(),
        };
        let index = KINDS
            .iter()
            .position(|&k| reader_name(k) == reader)
            .ok_or_else(absent)?;
        let mut handles = self.handles();
        let status = *handles.readers.get(index).ok_or_else(absent)?;
        if !status.present {
            return Err(absent());
        }
        let handle = handles.issue();
        handles.sessions.insert(
            handle,
            SessionRecord {
                reader: index,
                generation: status.generation,
            },
        );
        Ok(handle)
    }

    fn open_logical_channel(
        &self,
        session: u64,
        aid: Option<Vec<u8>>,
        p2: u8,
    ) -> Result<ChannelOpened, SeError> {
        let record = self.handles().session(session)?;
        let opened = self.send(record.reader, &[0x00, 0x70, 0x00, 0x00, 0x01])?;
        let number = match (opened.sw, opened.data.as_slice()) {
            (StatusWord::SUCCESS, [n]) => *n,
            (StatusWord(0x6881 | 0x6A81), _) => return Err(SeError::NoFreeChannel),
            (sw, _) => return Err(SeError::UnexpectedStatus { sw: sw.0 }),
        };
        let select_response = match aid {
            Some(aid) => match self.select(record.reader, number, &aid, p2) {
                Ok(response) => Some(response),
                Err(err) => {
                    self.send(record.reader, &[0x00, 0x70, 0x80, number])?;
                    return Err(err);
                }
            },
            None => None,
        };
        Ok(ChannelOpened {
            handle: self.register_channel(session, record, number),
            select_response,
        })
    }

    fn open_basic_channel(
        &self,
        session: u64,
        aid: Option<Vec<u8>>,
        p2: u8,
    ) -> Result<ChannelOpened, SeError> {
        let record = {
            let handles = self.handles();
            let record = handles.session(session)?;
            let in_use = handles.channels.values().any(|c| {
                c.reader == record.reader && c.generation == record.generation && c.number == 0
            });
            if in_use {
                return Err(SeError::NoFreeChannel);
            }
            record
        };
        let select_response = match aid {
            Some(aid) => Some(self.select(record.reader, 0, &aid, p2)?),
            None => None,
        };
        Ok(ChannelOpened {
            handle: self.register_channel(session, record, 0),
            select_response,
        })
    }

    fn transmit(&self, channel: u64, apdu: Vec<u8>) -> Result<Vec<u8>, SeError> {
        let record = self.handles().channel(channel)?;
        let Some((&cla, rest)) = apdu.split_first() else {
            return Err(platform("APDU shorter than 4 bytes"));
        };
        let (ins, p1) = match rest {
            [ins, p1, _, ..] => (*ins, *p1),
            _ => return Err(platform("APDU shorter than 4 bytes")),
        };
        let interindustry = !Class::new(cla).is_proprietary();
        if interindustry && ins == 0x70 {
            return Err(SeError::AccessDenied {
                message: "MANAGE CHANNEL is reserved to the SE service".into(),
            });
        }
        if interindustry && ins == 0xA4 && p1 == 0x04 {
            return Err(SeError::AccessDenied {
                message: "SELECT by DF name is reserved to the SE service".into(),
            });
        }
        let mut apdu = apdu;
        let on_channel = LogicalChannel::new(record.number)
            .ok()
            .and_then(|n| Class::new(cla).with_channel(n).ok());
        if let (Some(first), Some(class)) = (apdu.first_mut(), on_channel) {
            *first = class.value();
        }
        Ok(lock(self.card(record.reader)?).transmit(&apdu))
    }

    fn close_channel(&self, channel: u64) -> Result<(), SeError> {
        let record = {
            let mut handles = self.handles();
            let record = handles.channels.remove(&channel).ok_or(SeError::Closed)?;
            if handles.alive(record.reader, record.generation).is_err() {
                return Ok(());
            }
            record
        };
        self.close_on_card(record)
    }

    fn close_session(&self, session: u64) -> Result<(), SeError> {
        let channels: Vec<u64> = {
            let mut handles = self.handles();
            handles.sessions.remove(&session).ok_or(SeError::Closed)?;
            handles
                .channels
                .iter()
                .filter(|(_, c)| c.session == session)
                .map(|(h, _)| *h)
                .collect()
        };
        let mut result = Ok(());
        for channel in channels {
            if let Err(err) = self.close_channel(channel) {
                result = Err(err);
            }
        }
        result
    }
}
