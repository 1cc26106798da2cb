//! Card content management: INSTALL (for load, install, make selectable, personalization),
//! LOAD and DELETE.
//!
//! The simulator executes no Java Card code. A load file received with LOAD is registered with
//! the executable modules it declares: its load file data block (the value of `C4`) is read as
//! BER-TLV and every `84` object names one module (any other content, e.g. a real CAP file,
//! gives a load file without modules). Instances of the payment module run [`PaymentApplet`],
//! instances of the security domain module are supplementary security domains, instances of
//! any other module a [`GenericApplet`].
//!
//! [`PaymentApplet`]: super::payment::PaymentApplet
//! [`GenericApplet`]: super::applet::GenericApplet

use wallet_core::apdu::tlv::iter;
use wallet_core::apdu::{CommandApdu, ResponseApdu};
use wallet_core::gp::commands::{Delete, Install, LoadAssembler, LoadBlock};
use wallet_core::gp::{Aid, AppLifeCycle};

use super::applet;
use super::error::{sw, CardResult, Refusal};
use super::registry::{Body, Domain, Entry, LoadFile};
use super::sd::SdContext;
use super::secure_channel::PendingLoad;
use crate::world_keys::{ScpProtocol, SSD_MODULE};

/// Largest load file the simulated card accepts (its "free memory").
pub const MAX_LOAD_FILE_LEN: usize = 256 * 1024;

/// Most registry entries (applications and security domains) the card holds.
pub const MAX_ENTRIES: usize = 64;

/// The one-byte response data of INSTALL, LOAD and DELETE (`00`: no receipt).
fn no_receipt() -> ResponseApdu {
    ResponseApdu::success(vec![0x00])
}

/// The executable modules a load file declares (`84` objects of its data block).
pub(crate) fn declared_modules(load_file_data: &[u8]) -> Vec<Aid> {
    let mut modules = Vec::new();
    for tlv in iter(load_file_data) {
        let Ok(tlv) = tlv else {
            return Vec::new();
        };
        if tlv.tag().value() == 0x84 {
            match Aid::new(tlv.value()) {
                Ok(aid) => modules.push(aid),
                Err(_) => return Vec::new(),
            }
        }
    }
    modules
}

impl SdContext<'_> {
    /// INSTALL.
    pub(crate) fn install(&mut self, cmd: &CommandApdu) -> CardResult {
        match Install::parse(cmd)? {
            Install::ForLoad(c) => {
                self.check_content_management()?;
                if self.registry.load_file(&c.load_file_aid).is_some()
                    || self.registry.entry(&c.load_file_aid).is_some()
                {
                    return Err(Refusal(sw::WRONG_DATA));
                }
                let security_domain = c.security_domain_aid.unwrap_or_else(|| self.sd());
                if self
                    .registry
                    .entry(&security_domain)
                    .and_then(Entry::domain)
                    .is_none()
                {
                    return Err(Refusal(sw::DATA_NOT_FOUND));
                }
                self.session()?.load = Some(PendingLoad {
                    aid: c.load_file_aid,
                    security_domain,
                    assembler: LoadAssembler::new(MAX_LOAD_FILE_LEN),
                });
                Ok(no_receipt())
            }
            Install::ForInstall(c) => {
                self.check_content_management()?;
                let file = self
                    .registry
                    .load_file(&c.load_file_aid)
                    .ok_or(Refusal(sw::DATA_NOT_FOUND))?;
                if !file.modules.contains(&c.module_aid) {
                    return Err(Refusal(sw::DATA_NOT_FOUND));
                }
                if self.registry.entry(&c.application_aid).is_some()
                    || self.registry.load_file(&c.application_aid).is_some()
                {
                    return Err(Refusal(sw::WRONG_DATA));
                }
                if self.registry.entries.len() >= MAX_ENTRIES {
                    return Err(Refusal(sw::NOT_ENOUGH_MEMORY));
                }
                let is_domain_module = c.module_aid.as_bytes() == SSD_MODULE;
                if is_domain_module != c.privileges.is_security_domain() {
                    return Err(Refusal(sw::WRONG_DATA));
                }
                let body = if is_domain_module {
                    Body::Domain(Domain {
                        protocol: ScpProtocol::ssd(self.kind),
                        keys: None,
                        counter: 0,
                    })
                } else {
                    Body::Applet(applet::instantiate(&c.module_aid))
                };
                let associated_sd = self.sd();
                self.registry.entries.push(Entry {
                    aid: c.application_aid,
                    load_file: Some(c.load_file_aid),
                    module: Some(c.module_aid),
                    life_cycle: if c.make_selectable {
                        AppLifeCycle::SELECTABLE
                    } else {
                        AppLifeCycle::INSTALLED
                    },
                    privileges: c.privileges,
                    associated_sd,
                    body,
                });
                *self.dirty = true;
                Ok(no_receipt())
            }
            Install::ForMakeSelectable(c) => {
                self.check_content_management()?;
                let sd = self.sd();
                let is_isd = self.is_isd();
                let entry = self
                    .registry
                    .entry_mut(&c.application_aid)
                    .ok_or(Refusal(sw::DATA_NOT_FOUND))?;
                if !(is_isd || entry.associated_sd == sd) {
                    return Err(Refusal(sw::DATA_NOT_FOUND));
                }
                if entry.life_cycle != AppLifeCycle::INSTALLED {
                    return Err(Refusal(sw::CONDITIONS));
                }
                let personalized = entry.applet().is_some_and(|a| a.is_personalized());
                entry.life_cycle = if personalized {
                    AppLifeCycle::PERSONALIZED
                } else {
                    AppLifeCycle::SELECTABLE
                };
                *self.dirty = true;
                Ok(no_receipt())
            }
            Install::ForPersonalization(c) => {
                let entry = self
                    .registry
                    .entry(&c.application_aid)
                    .ok_or(Refusal(sw::DATA_NOT_FOUND))?;
                if !self.may_address(&entry.associated_sd, &entry.aid)
                    || self.registry.is_isd(&entry.aid)
                {
                    return Err(Refusal(sw::DATA_NOT_FOUND));
                }
                if entry.life_cycle.is_locked() {
                    return Err(Refusal(sw::CONDITIONS));
                }
                let session = self.session()?;
                session.perso_target = Some(c.application_aid);
                session.store = None;
                Ok(no_receipt())
            }
        }
    }

    /// LOAD: blocks of the load file announced by INSTALL [for load].
    pub(crate) fn load(&mut self, cmd: &CommandApdu) -> CardResult {
        let block = LoadBlock::parse(cmd)?;
        let session = self
            .channel
            .session
            .as_mut()
            .ok_or(Refusal(sw::SECURITY_STATUS))?;
        let pending = session.load.as_mut().ok_or(Refusal(sw::CONDITIONS))?;
        match pending.assembler.push(&block) {
            Ok(None) => Ok(no_receipt()),
            Ok(Some(data)) => {
                let Some(pending) = session.load.take() else {
                    return Err(Refusal(sw::CONDITIONS));
                };
                self.registry.load_files.push(LoadFile {
                    aid: pending.aid,
                    modules: declared_modules(&data),
                    associated_sd: pending.security_domain,
                });
                *self.dirty = true;
                Ok(no_receipt())
            }
            Err(err) => {
                session.load = None;
                Err(err.into())
            }
        }
    }

    /// DELETE of an application, security domain or load file (keys cannot be deleted: the
    /// simulator holds one key set per security domain).
    pub(crate) fn delete(&mut self, cmd: &CommandApdu) -> CardResult {
        let (aid, related) = match Delete::parse(cmd)? {
            Delete::Object {
                aid,
                related_objects,
            } => (aid, related_objects),
            Delete::Key { .. } => return Err(Refusal(sw::CONDITIONS)),
        };
        self.check_content_management()?;
        if self.registry.is_isd(&aid) {
            return Err(Refusal(sw::CONDITIONS));
        }
        let doomed: Vec<Aid> = if let Some(entry) = self.registry.entry(&aid) {
            if !self.may_address(&entry.associated_sd, &entry.aid) {
                return Err(Refusal(sw::DATA_NOT_FOUND));
            }
            let mut doomed = vec![aid.clone()];
            if entry.domain().is_some() {
                doomed.extend(self.associated_with(&aid));
            }
            doomed
        } else if let Some(file) = self.registry.load_file(&aid) {
            if !self.may_address(&file.associated_sd, &file.aid) {
                return Err(Refusal(sw::DATA_NOT_FOUND));
            }
            let mut doomed = vec![aid.clone()];
            doomed.extend(
                self.registry
                    .entries
                    .iter()
                    .filter(|e| e.load_file.as_ref() == Some(&aid))
                    .map(|e| e.aid.clone()),
            );
            doomed
        } else {
            return Err(Refusal(sw::DATA_NOT_FOUND));
        };
        if doomed.len() > 1 && !related {
            return Err(Refusal(sw::CONDITIONS));
        }
        if doomed.iter().any(|d| self.selected.contains(d)) {
            return Err(Refusal(sw::CONDITIONS));
        }
        self.registry.entries.retain(|e| !doomed.contains(&e.aid));
        self.registry
            .load_files
            .retain(|f| !doomed.contains(&f.aid));
        *self.dirty = true;
        Ok(no_receipt())
    }

    /// Entries and load files associated with security domain `sd` (not `sd` itself).
    fn associated_with(&self, sd: &Aid) -> Vec<Aid> {
        let entries = self
            .registry
            .entries
            .iter()
            .filter(|e| &e.associated_sd == sd && &e.aid != sd)
            .map(|e| e.aid.clone());
        let files = self
            .registry
            .load_files
            .iter()
            .filter(|f| &f.associated_sd == sd)
            .map(|f| f.aid.clone());
        entries.chain(files).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modules_declared_by_a_load_file() {
        let data = hex::decode(
            "8406A00000000101" /* module 1 */
                .to_owned()
                + "C10100"
                + "8405A000000002",
        )
        .unwrap();
        let modules = declared_modules(&data);
        assert_eq!(
            modules.iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["A00000000101", "A000000002"]
        );
        assert!(declared_modules(&[0x01, 0x00, 0x12, 0xDE, 0xCA]).is_empty());
        assert!(declared_modules(&hex::decode("8402A000").unwrap()).is_empty());
    }
}
