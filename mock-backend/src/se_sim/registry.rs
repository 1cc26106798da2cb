//! The GlobalPlatform registry of a simulated card: the card life cycle, executable load files
//! with their modules, and the entries — the issuer security domain, supplementary security
//! domains and application instances — with life cycle, privileges and associated security
//! domain. GET STATUS reads it.

use wallet_core::gp::commands::{RegistryEntry, StatusScope};
use wallet_core::gp::lifecycle::LOAD_FILE_LOADED;
use wallet_core::gp::{Aid, AppLifeCycle, CardLifeCycle, GpError, Privileges, StaticKeys};
use wallet_core::se::ReaderKind;

use super::applet::Applet;
use crate::world_keys::{
    isd_keys, ScpProtocol, ISD_AID, ISD_PRIVILEGES, KDD_LEN, PAYMENT_LOAD_FILE, PAYMENT_MODULE,
    SSD_LOAD_FILE, SSD_MODULE,
};

/// A security domain's secure channel: protocol, key set (none until PUT KEY for a new SSD)
/// and the sequence counter last used.
pub struct Domain {
    /// The protocol and, for SCP03, its `i`.
    pub protocol: ScpProtocol,
    /// The key set (one per security domain).
    pub keys: Option<StaticKeys>,
    /// Sequence counter: 24 bits for SCP03, 16 bits for SCP02.
    pub counter: u32,
}

impl std::fmt::Debug for Domain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Domain")
            .field("protocol", &self.protocol)
            .field("key_version", &self.keys.as_ref().map(StaticKeys::version))
            .field("counter", &self.counter)
            .finish()
    }
}

/// What a registry entry is.
pub enum Body {
    /// A security domain (issuer or supplementary).
    Domain(Domain),
    /// An application instance.
    Applet(Box<dyn Applet>),
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Body::Domain(domain) => domain.fmt(f),
            Body::Applet(applet) => write!(f, "Applet(personalized: {})", applet.is_personalized()),
        }
    }
}

/// An application or security domain in the registry.
#[derive(Debug)]
pub struct Entry {
    /// Its AID.
    pub aid: Aid,
    /// The executable load file it was instantiated from (`None` for the ISD).
    pub load_file: Option<Aid>,
    /// The executable module it was instantiated from (`None` for the ISD).
    pub module: Option<Aid>,
    /// Life cycle (the ISD's is the card life cycle, see [`Registry::card_life_cycle`]).
    pub life_cycle: AppLifeCycle,
    /// Privileges.
    pub privileges: Privileges,
    /// The security domain it is associated with (the ISD for itself).
    pub associated_sd: Aid,
    /// Security domain or applet.
    pub body: Body,
}

impl Entry {
    /// The security domain data, if this is one.
    pub fn domain(&self) -> Option<&Domain> {
        match &self.body {
            Body::Domain(domain) => Some(domain),
            Body::Applet(_) => None,
        }
    }

    /// The applet, if this is an application.
    pub fn applet(&self) -> Option<&dyn Applet> {
        match &self.body {
            Body::Applet(applet) => Some(applet.as_ref()),
            Body::Domain(_) => None,
        }
    }
}

/// An executable load file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadFile {
    /// Its AID.
    pub aid: Aid,
    /// Its executable modules.
    pub modules: Vec<Aid>,
    /// The security domain it is associated with.
    pub associated_sd: Aid,
}

/// The registry of one card.
#[derive(Debug)]
pub struct Registry {
    /// The card life cycle.
    pub card_life_cycle: CardLifeCycle,
    /// Executable load files.
    pub load_files: Vec<LoadFile>,
    /// The ISD first, then security domains and applications in installation order.
    pub entries: Vec<Entry>,
}

fn aid(bytes: &[u8]) -> Result<Aid, GpError> {
    Aid::new(bytes)
}

impl Registry {
    /// The content of a new SE of `kind` (see [`crate::world_keys`]): card SECURED, the ISD with
    /// its diversified keys and counter 0, the payment and security domain load files.
    pub fn new_card(kind: ReaderKind, kdd: &[u8; KDD_LEN]) -> Result<Registry, GpError> {
        let isd = aid(&ISD_AID)?;
        Ok(Registry {
            card_life_cycle: CardLifeCycle::Secured,
            load_files: vec![
                LoadFile {
                    aid: aid(&PAYMENT_LOAD_FILE)?,
                    modules: vec![aid(&PAYMENT_MODULE)?],
                    associated_sd: isd.clone(),
                },
                LoadFile {
                    aid: aid(&SSD_LOAD_FILE)?,
                    modules: vec![aid(&SSD_MODULE)?],
                    associated_sd: isd.clone(),
                },
            ],
            entries: vec![Entry {
                aid: isd.clone(),
                load_file: None,
                module: None,
                life_cycle: AppLifeCycle::PERSONALIZED,
                privileges: ISD_PRIVILEGES,
                associated_sd: isd,
                body: Body::Domain(Domain {
                    protocol: ScpProtocol::isd(kind),
                    keys: Some(isd_keys(kind, kdd)?),
                    counter: 0,
                }),
            }],
        })
    }

    /// Whether `aid` is the issuer security domain.
    pub fn is_isd(&self, aid: &Aid) -> bool {
        aid.as_bytes() == ISD_AID
    }

    /// The entry with this AID.
    pub fn entry(&self, aid: &Aid) -> Option<&Entry> {
        self.entries.iter().find(|e| &e.aid == aid)
    }

    /// The entry with this AID, mutable.
    pub fn entry_mut(&mut self, aid: &Aid) -> Option<&mut Entry> {
        self.entries.iter_mut().find(|e| &e.aid == aid)
    }

    /// The security domain with this AID.
    pub fn domain_mut(&mut self, aid: &Aid) -> Option<&mut Domain> {
        match &mut self.entry_mut(aid)?.body {
            Body::Domain(domain) => Some(domain),
            Body::Applet(_) => None,
        }
    }

    /// The applet with this AID.
    pub fn applet_mut(&mut self, aid: &Aid) -> Option<&mut Box<dyn Applet>> {
        match &mut self.entry_mut(aid)?.body {
            Body::Applet(applet) => Some(applet),
            Body::Domain(_) => None,
        }
    }

    /// The first entry whose AID starts with `name` (SELECT by DF name, full or partial).
    pub fn find_by_name(&self, name: &[u8]) -> Option<&Entry> {
        self.entries
            .iter()
            .find(|e| e.aid.as_bytes().starts_with(name))
    }

    /// The load file with this AID.
    pub fn load_file(&self, aid: &Aid) -> Option<&LoadFile> {
        self.load_files.iter().find(|f| &f.aid == aid)
    }

    /// The registry entries GET STATUS reports for `scope` and AID prefix, as seen by security
    /// domain `viewer`: the ISD sees everything, a supplementary SD itself and what is
    /// associated with it.
    pub fn status(&self, scope: StatusScope, prefix: &[u8], viewer: &Aid) -> Vec<RegistryEntry> {
        let visible = |associated: &Aid, aid: &Aid| {
            self.is_isd(viewer) || associated == viewer || aid == viewer
        };
        let matches = |aid: &Aid| aid.as_bytes().starts_with(prefix);
        match scope {
            StatusScope::IssuerSecurityDomain => self
                .entries
                .iter()
                .filter(|e| self.is_isd(&e.aid) && matches(&e.aid))
                .map(|e| RegistryEntry {
                    privileges: Some(e.privileges),
                    ..RegistryEntry::new(e.aid.clone(), self.card_life_cycle.value())
                })
                .collect(),
            StatusScope::Applications => self
                .entries
                .iter()
                .filter(|e| !self.is_isd(&e.aid) && matches(&e.aid))
                .filter(|e| visible(&e.associated_sd, &e.aid))
                .map(|e| RegistryEntry {
                    privileges: Some(e.privileges),
                    load_file_aid: e.load_file.clone(),
                    associated_security_domain: Some(e.associated_sd.clone()),
                    ..RegistryEntry::new(e.aid.clone(), e.life_cycle.value())
                })
                .collect(),
            StatusScope::LoadFiles | StatusScope::LoadFilesAndModules => self
                .load_files
                .iter()
                .filter(|f| matches(&f.aid) && visible(&f.associated_sd, &f.aid))
                .map(|f| RegistryEntry {
                    associated_security_domain: Some(f.associated_sd.clone()),
                    modules: if scope == StatusScope::LoadFilesAndModules {
                        f.modules.clone()
                    } else {
                        Vec::new()
                    },
                    ..RegistryEntry::new(f.aid.clone(), LOAD_FILE_LOADED)
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_card_holds_the_isd_and_the_preloaded_files() {
        let kdd = [0x11; KDD_LEN];
        let registry = Registry::new_card(ReaderKind::Ese, &kdd).unwrap();
        let isd = aid(&ISD_AID).unwrap();
        assert_eq!(registry.card_life_cycle, CardLifeCycle::Secured);
        let entry = registry.entry(&isd).unwrap();
        let domain = entry.domain().unwrap();
        assert_eq!(domain.keys.as_ref().unwrap().version(), 0x30);
        assert_eq!(domain.counter, 0);
        assert_eq!(
            registry.status(StatusScope::Applications, &[], &isd),
            Vec::new()
        );
        let isd_status = registry.status(StatusScope::IssuerSecurityDomain, &[], &isd);
        assert_eq!(
            hex::encode_upper(RegistryEntry::encode_all(&isd_status).unwrap()),
            "E3134F08A0000001510000009F70010FC5039E4000"
        );
        let files = registry.status(
            StatusScope::LoadFilesAndModules,
            &[0xA0, 0x00, 0x00, 0x03],
            &isd,
        );
        assert_eq!(files.len(), 1);
        assert_eq!(
            hex::encode_upper(RegistryEntry::encode_all(&files).unwrap()),
            "E3214F07A00000033301019F700101".to_owned()
                + "8408A000000333010100"
                + "CC08A000000151000000"
        );
        assert!(registry
            .find_by_name(&[0xA0, 0x00, 0x00, 0x01, 0x51])
            .is_some());
        assert!(registry.find_by_name(&[0xA0, 0x00, 0x00, 0x09]).is_none());
    }
}
