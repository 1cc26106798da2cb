//! GET STATUS (Card Specification §11.4) and SET STATUS (§11.10).
//!
//! GET STATUS P1 selects the registry part: `80` issuer security domain, `40` applications and
//! security domains, `20` executable load files, `10` load files and their modules. P2 `02` asks
//! for the tag-based response (one `E3` template per entry: `4F` AID, `9F70` life cycle, `C5`
//! privileges, `C4` load file, `CC` associated security domain, `CE` version, `84` modules);
//! P2 b1 asks for the next part after a `6310` answer.
//!
//! SET STATUS P1 `80` (issuer security domain, i.e. the card), `40` (an application or security
//! domain), `60` (a security domain and its applications); P2 is the new life-cycle byte.

use super::{expect_command, gp_command, ins, tag};
use crate::apdu::tlv::iter;
use crate::apdu::tlv_build::TlvNode;
use crate::apdu::CommandApdu;
use crate::gp::{Aid, GpError, Privileges};

/// P2 bit of the tag-based (GP 2.2) response format.
pub const P2_TAG_FORMAT: u8 = 0x02;
/// P2 bit asking for the next occurrences.
pub const P2_NEXT: u8 = 0x01;

/// Which registry entries GET STATUS reports (P1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusScope {
    /// `80`: the issuer security domain.
    IssuerSecurityDomain,
    /// `40`: applications and supplementary security domains.
    Applications,
    /// `20`: executable load files.
    LoadFiles,
    /// `10`: executable load files and their executable modules.
    LoadFilesAndModules,
}

impl StatusScope {
    /// The P1 byte.
    pub const fn p1(self) -> u8 {
        match self {
            StatusScope::IssuerSecurityDomain => 0x80,
            StatusScope::Applications => 0x40,
            StatusScope::LoadFiles => 0x20,
            StatusScope::LoadFilesAndModules => 0x10,
        }
    }

    fn from_p1(p1: u8) -> Result<StatusScope, GpError> {
        match p1 {
            0x80 => Ok(StatusScope::IssuerSecurityDomain),
            0x40 => Ok(StatusScope::Applications),
            0x20 => Ok(StatusScope::LoadFiles),
            0x10 => Ok(StatusScope::LoadFilesAndModules),
            _ => Err(GpError::InvalidParameter("GET STATUS P1")),
        }
    }
}

/// One GET STATUS command (tag-based format).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetStatus {
    /// Registry part.
    pub scope: StatusScope,
    /// Continue after `6310` (P2 b1).
    pub next: bool,
    /// AID prefix to match (value of the `4F` search criterion; empty matches all).
    pub aid_prefix: Vec<u8>,
}

impl GetStatus {
    /// GET STATUS of every entry in `scope`.
    pub fn all(scope: StatusScope) -> GetStatus {
        GetStatus {
            scope,
            next: false,
            aid_prefix: Vec::new(),
        }
    }

    /// The command APDU (`80 F2 P1 P2 Lc 4F .. 00`).
    pub fn to_apdu(&self) -> Result<CommandApdu, GpError> {
        let p2 = P2_TAG_FORMAT | if self.next { P2_NEXT } else { 0 };
        let data = TlvNode::primitive(tag(0x4F)?, self.aid_prefix.clone()).encode();
        gp_command(ins::GET_STATUS, self.scope.p1(), p2, data, true)
    }

    /// Decodes a GET STATUS command (card side); only the tag-based format is supported.
    pub fn parse(cmd: &CommandApdu) -> Result<GetStatus, GpError> {
        expect_command(cmd, ins::GET_STATUS, "not GET STATUS")?;
        let scope = StatusScope::from_p1(cmd.p1())?;
        if cmd.p2() & !P2_NEXT != P2_TAG_FORMAT {
            return Err(GpError::InvalidParameter(
                "GET STATUS P2: only the tag format (02)",
            ));
        }
        let mut aid_prefix = None;
        for tlv in iter(cmd.data()) {
            let tlv = tlv.map_err(|_| GpError::MalformedCommand("GET STATUS search criteria"))?;
            if tlv.tag().value() == 0x4F {
                aid_prefix = Some(tlv.value().to_vec());
            }
        }
        Ok(GetStatus {
            scope,
            next: cmd.p2() & P2_NEXT != 0,
            aid_prefix: aid_prefix.ok_or(GpError::MalformedCommand(
                "GET STATUS without 4F search criterion",
            ))?,
        })
    }
}

/// One registry entry of a GET STATUS response (an `E3` template).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryEntry {
    /// AID (`4F`).
    pub aid: Aid,
    /// Life-cycle byte (`9F70`).
    pub life_cycle: u8,
    /// Privileges (`C5`), for applications and security domains.
    pub privileges: Option<Privileges>,
    /// Executable load file AID (`C4`), for applications.
    pub load_file_aid: Option<Aid>,
    /// Associated security domain AID (`CC`).
    pub associated_security_domain: Option<Aid>,
    /// Version number (`CE`), for load files.
    pub version: Option<Vec<u8>>,
    /// Executable module AIDs (`84`), for P1 `10`.
    pub modules: Vec<Aid>,
}

impl RegistryEntry {
    /// An entry with AID and life cycle only.
    pub fn new(aid: Aid, life_cycle: u8) -> RegistryEntry {
        RegistryEntry {
            aid,
            life_cycle,
            privileges: None,
            load_file_aid: None,
            associated_security_domain: None,
            version: None,
            modules: Vec::new(),
        }
    }

    /// The `E3` template.
    pub fn to_tlv(&self) -> Result<TlvNode, GpError> {
        let mut children = vec![
            TlvNode::primitive(tag(0x4F)?, self.aid.as_bytes()),
            TlvNode::primitive(tag(0x9F70)?, vec![self.life_cycle]),
        ];
        if let Some(privileges) = self.privileges {
            children.push(TlvNode::primitive(
                tag(0xC5)?,
                privileges.to_bytes().to_vec(),
            ));
        }
        if let Some(aid) = &self.load_file_aid {
            children.push(TlvNode::primitive(tag(0xC4)?, aid.as_bytes()));
        }
        if let Some(version) = &self.version {
            children.push(TlvNode::primitive(tag(0xCE)?, version.clone()));
        }
        for module in &self.modules {
            children.push(TlvNode::primitive(tag(0x84)?, module.as_bytes()));
        }
        if let Some(aid) = &self.associated_security_domain {
            children.push(TlvNode::primitive(tag(0xCC)?, aid.as_bytes()));
        }
        Ok(TlvNode::constructed(tag(0xE3)?, children))
    }

    /// Encodes a GET STATUS response data field.
    pub fn encode_all(entries: &[RegistryEntry]) -> Result<Vec<u8>, GpError> {
        let mut out = Vec::new();
        for entry in entries {
            entry.to_tlv()?.encode_into(&mut out);
        }
        Ok(out)
    }

    /// Decodes a GET STATUS response data field (host side).
    pub fn parse_all(data: &[u8]) -> Result<Vec<RegistryEntry>, GpError> {
        const BAD: GpError = GpError::MalformedResponse("GET STATUS response");
        let mut entries = Vec::new();
        for template in iter(data) {
            let template = template.map_err(|_| BAD)?;
            if template.tag().value() != 0xE3 {
                return Err(GpError::MalformedResponse("GET STATUS entry is not E3"));
            }
            let (mut aid, mut life_cycle) = (None, None);
            let mut entry_fields = RegistryEntry::new(Aid::new(Aid::GP_ISD)?, 0);
            for field in template.children() {
                let field = field.map_err(|_| BAD)?;
                let value = field.value();
                match field.tag().value() {
                    0x4F => aid = Some(Aid::from_response(value)?),
                    0x9F70 => life_cycle = value.first().copied(),
                    0xC5 => {
                        entry_fields.privileges = Some(
                            Privileges::parse(value)
                                .map_err(|_| GpError::MalformedResponse("privileges"))?,
                        )
                    }
                    0xC4 => entry_fields.load_file_aid = Some(Aid::from_response(value)?),
                    0xCC => {
                        entry_fields.associated_security_domain = Some(Aid::from_response(value)?)
                    }
                    0xCE => entry_fields.version = Some(value.to_vec()),
                    0x84 => entry_fields.modules.push(Aid::from_response(value)?),
                    _ => {}
                }
            }
            entry_fields.aid = aid.ok_or(GpError::MalformedResponse("entry without 4F"))?;
            entry_fields.life_cycle =
                life_cycle.ok_or(GpError::MalformedResponse("entry without 9F70"))?;
            entries.push(entry_fields);
        }
        Ok(entries)
    }
}

/// What SET STATUS changes (P1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SetStatusScope {
    /// `80`: the issuer security domain, i.e. the card life cycle.
    IssuerSecurityDomain,
    /// `40`: an application or supplementary security domain.
    Application,
    /// `60`: a security domain and its associated applications.
    DomainAndApplications,
}

/// One SET STATUS command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetStatus {
    /// What to change.
    pub scope: SetStatusScope,
    /// The new life-cycle byte (P2).
    pub state: u8,
    /// The target AID (required except for the issuer security domain).
    pub aid: Option<Aid>,
}

impl SetStatus {
    /// The command APDU (`80 F0 P1 P2 [Lc AID]`).
    pub fn to_apdu(&self) -> Result<CommandApdu, GpError> {
        let p1 = match self.scope {
            SetStatusScope::IssuerSecurityDomain => 0x80,
            SetStatusScope::Application => 0x40,
            SetStatusScope::DomainAndApplications => 0x60,
        };
        if self.aid.is_none() && self.scope != SetStatusScope::IssuerSecurityDomain {
            return Err(GpError::InvalidParameter(
                "SET STATUS of an application needs its AID",
            ));
        }
        let data = self
            .aid
            .as_ref()
            .map(|a| a.as_bytes().to_vec())
            .unwrap_or_default();
        gp_command(ins::SET_STATUS, p1, self.state, data, false)
    }

    /// Decodes a SET STATUS command (card side).
    pub fn parse(cmd: &CommandApdu) -> Result<SetStatus, GpError> {
        expect_command(cmd, ins::SET_STATUS, "not SET STATUS")?;
        let scope = match cmd.p1() {
            0x80 => SetStatusScope::IssuerSecurityDomain,
            0x40 => SetStatusScope::Application,
            0x60 => SetStatusScope::DomainAndApplications,
            _ => return Err(GpError::InvalidParameter("SET STATUS P1")),
        };
        let aid = if cmd.data().is_empty() {
            None
        } else {
            Some(Aid::from_command(cmd.data())?)
        };
        if aid.is_none() && scope != SetStatusScope::IssuerSecurityDomain {
            return Err(GpError::MalformedCommand("SET STATUS without AID"));
        }
        Ok(SetStatus {
            scope,
            state: cmd.p2(),
            aid,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aid(hex: &str) -> Aid {
        Aid::new(hex::decode(hex).unwrap()).unwrap()
    }

    #[test]
    fn get_status_commands() {
        let all = GetStatus::all(StatusScope::Applications);
        let apdu = all.to_apdu().unwrap();
        assert_eq!(hex::encode_upper(apdu.to_bytes()), "80F24002024F0000");
        assert_eq!(GetStatus::parse(&apdu).unwrap(), all);
        let next = GetStatus {
            scope: StatusScope::LoadFilesAndModules,
            next: true,
            aid_prefix: vec![0xA0, 0x00],
        };
        let apdu = next.to_apdu().unwrap();
        assert_eq!(hex::encode_upper(apdu.to_bytes()), "80F21003044F02A00000");
        assert_eq!(GetStatus::parse(&apdu).unwrap(), next);
        let legacy = CommandApdu::new(0x80, 0xF2, 0x80, 0x00)
            .with_data(vec![0x4F, 0])
            .unwrap();
        assert!(GetStatus::parse(&legacy).is_err());
        let bad_p1 = CommandApdu::new(0x80, 0xF2, 0x41, 0x02)
            .with_data(vec![0x4F, 0])
            .unwrap();
        assert!(GetStatus::parse(&bad_p1).is_err());
    }

    /// An E3 template written out: 4F 07 AID, 9F70 01 07, C5 03 000000, C4 07 load file AID.
    #[test]
    fn registry_entries() {
        let mut app = RegistryEntry::new(aid("A0000003330101"), 0x07);
        app.privileges = Some(Privileges::NONE);
        app.load_file_aid = Some(aid("A0000003330101"));
        let encoded = RegistryEntry::encode_all(std::slice::from_ref(&app)).unwrap();
        assert_eq!(
            hex::encode_upper(&encoded),
            "E31B4F07A00000033301019F700107C503000000C407A0000003330101"
        );
        let mut elf = RegistryEntry::new(aid("A0000003330101"), 0x01);
        elf.version = Some(vec![0x01, 0x00]);
        elf.modules = vec![aid("A000000333010101"), aid("A000000333010102")];
        elf.associated_security_domain = Some(aid("A000000151000000"));
        let both = RegistryEntry::encode_all(&[app.clone(), elf.clone()]).unwrap();
        assert_eq!(RegistryEntry::parse_all(&both).unwrap(), vec![app, elf]);
        assert!(RegistryEntry::parse_all(&hex::decode("E3039F7001").unwrap()).is_err());
        assert!(RegistryEntry::parse_all(&hex::decode("E1024F00").unwrap()).is_err());
        assert!(RegistryEntry::parse_all(&hex::decode("E3049F700107").unwrap()).is_err());
        assert_eq!(RegistryEntry::parse_all(&[]).unwrap(), vec![]);
    }

    #[test]
    fn set_status() {
        let lock = SetStatus {
            scope: SetStatusScope::Application,
            state: 0x83,
            aid: Some(aid("A000000333010101")),
        };
        let apdu = lock.to_apdu().unwrap();
        assert_eq!(
            hex::encode_upper(apdu.to_bytes()),
            "80F0408308A000000333010101"
        );
        assert_eq!(SetStatus::parse(&apdu).unwrap(), lock);
        let card = SetStatus {
            scope: SetStatusScope::IssuerSecurityDomain,
            state: 0x0F,
            aid: None,
        };
        assert_eq!(
            hex::encode_upper(card.to_apdu().unwrap().to_bytes()),
            "80F0800F"
        );
        assert_eq!(SetStatus::parse(&card.to_apdu().unwrap()).unwrap(), card);
        let no_aid = SetStatus {
            scope: SetStatusScope::DomainAndApplications,
            state: 0x83,
            aid: None,
        };
        assert!(no_aid.to_apdu().is_err());
        assert!(SetStatus::parse(&CommandApdu::new(0x80, 0xF0, 0x40, 0x83)).is_err());
        assert!(SetStatus::parse(&CommandApdu::new(0x80, 0xF0, 0x20, 0x83)).is_err());
    }
}
