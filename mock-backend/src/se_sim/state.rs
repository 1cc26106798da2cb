//! Persistence of a simulated SE: one JSON file per card, written atomically (a temporary file
//! in the same directory, flushed, then renamed over the old one) after every command that
//! changed the card. A new process opening the same file sees the same card: its KDD, card life
//! cycle, load files, applications with their life cycle and personalisation, security domain
//! keys and sequence counters.
//!
//! The file holds the simulated card's secrets (security domain keys, personalised DGIs) in
//! clear: it is test material, like the keys of [`crate::world_keys`].

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use wallet_core::gp::scp03::Scp03Options;
use wallet_core::gp::{Aid, AppLifeCycle, CardLifeCycle, Privileges, StaticKeys};
use wallet_core::se::ReaderKind;

use super::applet;
use super::card::SimulatedSe;
use super::error::SeSimError;
use super::registry::{Body, Domain, Entry, LoadFile, Registry};
use crate::world_keys::{kdd_of, se_id_of, ScpProtocol};

/// Version of the state file format.
const FORMAT: u32 = 1;

#[derive(Serialize, Deserialize)]
struct KeysRecord {
    version: u8,
    enc: String,
    mac: String,
    dek: String,
}

#[derive(Serialize, Deserialize)]
struct DomainRecord {
    /// `2` or `3`.
    scp: u8,
    /// SCP03 `i` (ignored for SCP02).
    i: u8,
    counter: u32,
    keys: Option<KeysRecord>,
}

#[derive(Serialize, Deserialize)]
struct EntryRecord {
    aid: String,
    load_file: Option<String>,
    module: Option<String>,
    life_cycle: u8,
    privileges: String,
    associated_sd: String,
    domain: Option<DomainRecord>,
    applet: Option<Value>,
}

#[derive(Serialize, Deserialize)]
struct LoadFileRecord {
    aid: String,
    modules: Vec<String>,
    associated_sd: String,
}

#[derive(Serialize, Deserialize)]
struct SeRecord {
    format: u32,
    kind: String,
    se_id: String,
    card_life_cycle: u8,
    load_files: Vec<LoadFileRecord>,
    entries: Vec<EntryRecord>,
}

const CORRUPT_AID: SeSimError = SeSimError::Corrupt("AID");

fn hex_aid(aid: &Aid) -> String {
    aid.to_string()
}

fn parse_aid(text: &str) -> Result<Aid, SeSimError> {
    let bytes = hex::decode(text).map_err(|_| CORRUPT_AID)?;
    Aid::new(bytes).map_err(|_| CORRUPT_AID)
}

fn kind_name(kind: ReaderKind) -> &'static str {
    kind.prefix()
}

fn domain_record(domain: &Domain) -> DomainRecord {
    let (scp, i) = match domain.protocol {
        ScpProtocol::Scp03(options) => (3, options.value()),
        ScpProtocol::Scp02 => (2, 0x15),
    };
    DomainRecord {
        scp,
        i,
        counter: domain.counter,
        keys: domain.keys.as_ref().map(|k| KeysRecord {
            version: k.version(),
            enc: hex::encode_upper(k.enc()),
            mac: hex::encode_upper(k.mac()),
            dek: hex::encode_upper(k.dek()),
        }),
    }
}

fn domain_from(record: DomainRecord) -> Result<Domain, SeSimError> {
    let protocol = match record.scp {
        3 => ScpProtocol::Scp03(Scp03Options::new(record.i)?),
        2 => ScpProtocol::Scp02,
        _ => return Err(SeSimError::Corrupt("secure channel protocol")),
    };
    let keys = match record.keys {
        None => None,
        Some(k) => {
            let key = |text: &str| hex::decode(text).map_err(|_| SeSimError::Corrupt("key"));
            Some(StaticKeys::from_slices(
                &key(&k.enc)?,
                &key(&k.mac)?,
                &key(&k.dek)?,
                k.version,
            )?)
        }
    };
    Ok(Domain {
        protocol,
        keys,
        counter: record.counter,
    })
}

/// The record of `se`; `applet` replaces the saved state of the entry at that index (an applet
/// out of the registry while it runs).
fn record_of(se: &SimulatedSe, applet: Option<(usize, &Value)>) -> SeRecord {
    let registry = &se.registry;
    SeRecord {
        format: FORMAT,
        kind: kind_name(se.kind).to_owned(),
        se_id: se_id_of(&se.kdd),
        card_life_cycle: registry.card_life_cycle.value(),
        load_files: registry
            .load_files
            .iter()
            .map(|f| LoadFileRecord {
                aid: hex_aid(&f.aid),
                modules: f.modules.iter().map(hex_aid).collect(),
                associated_sd: hex_aid(&f.associated_sd),
            })
            .collect(),
        entries: registry
            .entries
            .iter()
            .enumerate()
            .map(|(index, e)| EntryRecord {
                aid: hex_aid(&e.aid),
                load_file: e.load_file.as_ref().map(hex_aid),
                module: e.module.as_ref().map(hex_aid),
                life_cycle: e.life_cycle.value(),
                privileges: hex::encode_upper(e.privileges.to_bytes()),
                associated_sd: hex_aid(&e.associated_sd),
                domain: e.domain().map(domain_record),
                applet: match applet {
                    Some((at, state)) if at == index => Some(state.clone()),
                    _ => e.applet().map(|a| a.save()),
                },
            })
            .collect(),
    }
}

fn entry_from(record: EntryRecord) -> Result<Entry, SeSimError> {
    let module = record.module.as_deref().map(parse_aid).transpose()?;
    let body = match (record.domain, record.applet, &module) {
        (Some(domain), None, _) => Body::Domain(domain_from(domain)?),
        (None, Some(saved), Some(module)) => Body::Applet(
            applet::restore(module, &saved).map_err(|_| SeSimError::Corrupt("applet state"))?,
        ),
        _ => return Err(SeSimError::Corrupt("entry is neither domain nor applet")),
    };
    let privileges = hex::decode(&record.privileges)
        .ok()
        .and_then(|b| Privileges::parse(&b).ok())
        .ok_or(SeSimError::Corrupt("privileges"))?;
    Ok(Entry {
        aid: parse_aid(&record.aid)?,
        load_file: record.load_file.as_deref().map(parse_aid).transpose()?,
        module,
        life_cycle: AppLifeCycle::from_byte(record.life_cycle)
            .map_err(|_| SeSimError::Corrupt("application life cycle"))?,
        privileges,
        associated_sd: parse_aid(&record.associated_sd)?,
        body,
    })
}

fn io_error(path: &Path, source: std::io::Error) -> SeSimError {
    SeSimError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Writes `bytes` to `path` atomically: temporary file, flush to disk, rename.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), SeSimError> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(|e| io_error(parent, e))?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut file = fs::File::create(&tmp).map_err(|e| io_error(&tmp, e))?;
    file.write_all(bytes).map_err(|e| io_error(&tmp, e))?;
    file.sync_all().map_err(|e| io_error(&tmp, e))?;
    drop(file);
    fs::rename(&tmp, path).map_err(|e| io_error(path, e))
}

impl SimulatedSe {
    /// Opens the card of `kind` saved at `path`, or creates a new one (random KDD) and saves
    /// it there. From then on every state change is saved to `path`.
    pub fn open(kind: ReaderKind, path: impl Into<PathBuf>) -> Result<SimulatedSe, SeSimError> {
        let path = path.into();
        match fs::read(&path) {
            Ok(bytes) => SimulatedSe::load(kind, path, &bytes),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                let mut se = SimulatedSe::new(kind)?;
                se.path = Some(path);
                se.save()?;
                Ok(se)
            }
            Err(err) => Err(io_error(&path, err)),
        }
    }

    fn load(kind: ReaderKind, path: PathBuf, bytes: &[u8]) -> Result<SimulatedSe, SeSimError> {
        let record: SeRecord =
            serde_json::from_slice(bytes).map_err(|source| SeSimError::Json {
                path: path.display().to_string(),
                source,
            })?;
        if record.format != FORMAT || record.kind != kind_name(kind) {
            return Err(SeSimError::Corrupt("format version or SE kind"));
        }
        let kdd = kdd_of(&record.se_id).ok_or(SeSimError::Corrupt("seId"))?;
        let load_files = record
            .load_files
            .into_iter()
            .map(|f| {
                Ok(LoadFile {
                    aid: parse_aid(&f.aid)?,
                    modules: f
                        .modules
                        .iter()
                        .map(|m| parse_aid(m))
                        .collect::<Result<_, _>>()?,
                    associated_sd: parse_aid(&f.associated_sd)?,
                })
            })
            .collect::<Result<Vec<_>, SeSimError>>()?;
        let entries = record
            .entries
            .into_iter()
            .map(entry_from)
            .collect::<Result<Vec<_>, _>>()?;
        let registry = Registry {
            card_life_cycle: CardLifeCycle::from_byte(record.card_life_cycle)
                .map_err(|_| SeSimError::Corrupt("card life cycle"))?,
            load_files,
            entries,
        };
        if !registry
            .entries
            .first()
            .is_some_and(|e| registry.is_isd(&e.aid) && e.domain().is_some())
        {
            return Err(SeSimError::Corrupt("the first entry must be the ISD"));
        }
        Ok(SimulatedSe::from_parts(kind, kdd, registry, Some(path)))
    }

    /// Saves the card to its state file (nothing to do for an in-memory card).
    pub fn save(&self) -> Result<(), SeSimError> {
        self.save_with(None)
    }

    /// Saves the card, with `applet` = (registry index, saved state) standing for the applet
    /// at that index.
    pub(super) fn save_with(&self, applet: Option<(usize, &Value)>) -> Result<(), SeSimError> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let bytes = serde_json::to_vec_pretty(&record_of(self, applet)).map_err(|source| {
            SeSimError::Json {
                path: path.display().to_string(),
                source,
            }
        })?;
        write_atomically(path, &bytes)
    }

    /// The state file, if the card has one.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_card_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("se").join("sd.json");
        let first = SimulatedSe::open(ReaderKind::Sd, &path).unwrap();
        let again = SimulatedSe::open(ReaderKind::Sd, &path).unwrap();
        assert_eq!(first.kdd(), again.kdd());
        let isd = crate::world_keys::ISD_AID;
        assert_eq!(again.sequence_counter(&isd), Some(0));
        let keys = again
            .entry(&isd)
            .unwrap()
            .domain()
            .unwrap()
            .keys
            .clone()
            .unwrap();
        let expected = crate::world_keys::isd_keys(ReaderKind::Sd, &first.kdd()).unwrap();
        assert_eq!(keys.enc(), expected.enc());
        assert_eq!(keys.version(), 0x20);
        assert_eq!(again.registry().load_files.len(), 2);

        // Another kind's file, garbage and a truncated file are refused.
        assert!(matches!(
            SimulatedSe::open(ReaderKind::Ese, &path),
            Err(SeSimError::Corrupt(_))
        ));
        std::fs::write(&path, b"{").unwrap();
        assert!(matches!(
            SimulatedSe::open(ReaderKind::Sd, &path),
            Err(SeSimError::Json { .. })
        ));
        assert!(!path.with_extension("json.tmp").exists());
    }
}
