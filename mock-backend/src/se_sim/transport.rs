//! [`SimulatedSeTransport`]: the three simulated SEs behind the core's OMAPI-shaped
//! [`SeTransport`] seam — readers `eSE1`, `SIM1` and `SD1`, sessions, logical and basic
//! channels with `u64` handles.
//!
//! Channels are opened the way an OMAPI service does it: MANAGE CHANNEL then SELECT on the
//! card. Like Android's OMAPI, [`SeTransport::transmit`] sets the channel number in the class
//! byte and refuses MANAGE CHANNEL and SELECT by DF name ([`SeError::AccessDenied`]). A reader
//! can be marked absent (its SE "removed"): open sessions and channels then fail with
//! [`SeError::Io`]; when it comes back the card restarts (power-on reset) with its saved state.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use wallet_core::apdu::{Class, LogicalChannel, ResponseApdu, StatusWord};
use wallet_core::se::{ChannelOpened, ReaderInfo, ReaderKind, SeError, SeTransport};

use super::card::SimulatedSe;
use super::error::SeSimError;
use super::handles::{ChannelRecord, Handles, ReaderStatus, SessionRecord};
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

/// Three simulated SEs (eSE, SIM, microSD) as the platform's SE service.
pub struct SimulatedSeTransport {
    /// One SE per kind, in [`KINDS`] order.
    ses: [SharedSe; 3],
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
        let open = |kind| SimulatedSe::open(kind, state_file(dir, kind));
        let [ese, sim, sd] = KINDS;
        Ok(SimulatedSeTransport::from_cards([
            open(ese)?,
            open(sim)?,
            open(sd)?,
        ]))
    }

    /// Three new SEs kept in memory only.
    pub fn in_memory() -> Result<SimulatedSeTransport, SeSimError> {
        let [ese, sim, sd] = KINDS;
        Ok(SimulatedSeTransport::from_cards([
            SimulatedSe::new(ese)?,
            SimulatedSe::new(sim)?,
            SimulatedSe::new(sd)?,
        ]))
    }

    fn from_cards(cards: [SimulatedSe; 3]) -> SimulatedSeTransport {
        let present = ReaderStatus {
            present: true,
            generation: 0,
        };
        SimulatedSeTransport {
            ses: cards.map(|c| Arc::new(Mutex::new(c))),
            handles: Mutex::new(Handles {
                readers: vec![present; KINDS.len()],
                ..Handles::default()
            }),
        }
    }

    fn index(kind: ReaderKind) -> usize {
        match kind {
            ReaderKind::Ese => 0,
            ReaderKind::Sim => 1,
            ReaderKind::Sd => 2,
        }
    }

    fn handles(&self) -> MutexGuard<'_, Handles> {
        self.handles.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn card(&self, reader: usize) -> Result<&SharedSe, SeError> {
        self.ses.get(reader).ok_or(SeError::Closed)
    }

    /// The SE of `kind` (for a vpcd bridge, or for tests to look inside).
    pub fn se(&self, kind: ReaderKind) -> SharedSe {
        let [ese, sim, sd] = &self.ses;
        match kind {
            ReaderKind::Ese => ese.clone(),
            ReaderKind::Sim => sim.clone(),
            ReaderKind::Sd => sd.clone(),
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    const GET_KDD: [u8; 5] = [0x80, 0xCA, 0x00, 0xCF, 0x00];

    fn is<T>(result: Result<T, SeError>, expected: fn(&SeError) -> bool) -> bool {
        result.err().as_ref().is_some_and(expected)
    }

    #[test]
    fn readers_sessions_and_channels_follow_the_omapi_contract() {
        let t = SimulatedSeTransport::in_memory().unwrap();
        let names: Vec<String> = t.readers().unwrap().into_iter().map(|r| r.name).collect();
        assert_eq!(names, ["eSE1", "SIM1", "SD1"]);
        assert!(is(t.open_session("NFC1".into()), |e| matches!(
            e,
            SeError::ReaderAbsent { .. }
        )));

        let session = t.open_session("eSE1".into()).unwrap();
        let basic = t.open_basic_channel(session, None, 0).unwrap();
        assert!(is(t.open_basic_channel(session, None, 0), |e| *e
            == SeError::NoFreeChannel));
        let select = hex::decode("00A4040008A00000015100000000").unwrap();
        let denied = |e: &SeError| matches!(e, SeError::AccessDenied { .. });
        assert!(is(t.transmit(basic.handle, select), denied));
        assert!(is(
            t.transmit(basic.handle, vec![0x00, 0x70, 0x00, 0x00, 0x01]),
            denied
        ));
        assert!(is(t.transmit(basic.handle, vec![0x80]), |e| matches!(
            e,
            SeError::Platform { .. }
        )));

        // The class byte gets the channel number: GET DATA answers on channel 1.
        let opened = t.open_logical_channel(session, None, 0).unwrap();
        assert_eq!(opened.select_response, None);
        let kdd = t.transmit(opened.handle, GET_KDD.to_vec()).unwrap();
        assert_eq!(hex::encode_upper(&kdd[2..12]), t.se_id(ReaderKind::Ese));
        for _ in 2..20 {
            let isd = t
                .open_logical_channel(session, Some(ISD_AID.to_vec()), 0)
                .unwrap();
            assert!(isd.select_response.unwrap().ends_with(&[0x90, 0x00]));
        }
        assert!(is(t.open_logical_channel(session, None, 0), |e| *e
            == SeError::NoFreeChannel));
        let missing = t.open_session("SIM1".into()).unwrap();
        assert!(is(
            t.open_logical_channel(missing, Some(vec![0xA0, 0, 0, 0, 0x99]), 0),
            |e| { matches!(e, SeError::ApplicationNotFound { aid } if aid == "A000000099") }
        ));
        assert!(
            !lock(&t.se(ReaderKind::Sim)).is_channel_open(1),
            "closed again"
        );

        // Removed mid-session: I/O errors; back in, old handles stay dead, new sessions work.
        t.set_present(ReaderKind::Ese, false);
        assert!(!t.is_present(ReaderKind::Ese));
        let io = |e: &SeError| matches!(e, SeError::Io { .. });
        assert!(is(t.transmit(opened.handle, GET_KDD.to_vec()), io));
        assert!(is(t.open_session("eSE1".into()), |e| matches!(
            e,
            SeError::ReaderAbsent { .. }
        )));
        t.set_present(ReaderKind::Ese, true);
        assert!(is(t.open_logical_channel(session, None, 0), io));
        t.close_session(session).unwrap();
        assert!(is(t.transmit(opened.handle, GET_KDD.to_vec()), |e| *e
            == SeError::Closed));
        let fresh = t.open_session("eSE1".into()).unwrap();
        let channel = t.open_logical_channel(fresh, None, 0).unwrap();
        assert!(t
            .transmit(channel.handle, GET_KDD.to_vec())
            .unwrap()
            .ends_with(&[0x90, 0x00]));
        t.close_channel(channel.handle).unwrap();
        assert!(is(t.close_channel(channel.handle), |e| *e == SeError::Closed));
        assert!(!lock(&t.se(ReaderKind::Ese)).is_channel_open(1));
    }
}
