//! INSTALL (Card Specification §11.5): P1 says which step, the data field is a sequence of
//! length-prefixed fields.
//!
//! | P1 | variant | data |
//! |---|---|---|
//! | `02` | [for load] | load file AID, SD AID, hash, load parameters, token |
//! | `04` / `0C` | [for install] (and make selectable) | ELF AID, module AID, application AID, privileges, install parameters, token |
//! | `08` | [for make selectable] | 00, 00, application AID, privileges, 00, token |
//! | `20` | [for personalization] | 00, 00, application AID, 00, 00, 00 |
//!
//! Install parameters are `C9 L application-specific` (mandatory, possibly empty) optionally
//! followed by `EF L system-specific`.

use super::{expect_command, gp_command, ins, tag};
use crate::apdu::tlv::iter;
use crate::apdu::tlv_build::encode_tlv;
use crate::apdu::CommandApdu;
use crate::gp::reader::{push_lv, Reader};
use crate::gp::{Aid, GpError, Privileges};

/// P1 of INSTALL [for load].
pub const P1_FOR_LOAD: u8 = 0x02;
/// P1 of INSTALL [for install].
pub const P1_FOR_INSTALL: u8 = 0x04;
/// P1 of INSTALL [for make selectable].
pub const P1_FOR_MAKE_SELECTABLE: u8 = 0x08;
/// P1 of INSTALL [for install and make selectable].
pub const P1_FOR_INSTALL_AND_MAKE_SELECTABLE: u8 = 0x0C;
/// P1 of INSTALL [for personalization].
pub const P1_FOR_PERSONALIZATION: u8 = 0x20;

/// INSTALL [for load]: announces the load file that LOAD commands will carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallForLoad {
    /// AID of the load file.
    pub load_file_aid: Aid,
    /// Security domain to associate the load file with (`None`: the ISD).
    pub security_domain_aid: Option<Aid>,
    /// Load file data block hash (empty when no DAP / hash is used).
    pub load_file_hash: Vec<u8>,
    /// Load parameters field (empty when none).
    pub load_parameters: Vec<u8>,
    /// Load token (delegated management; empty otherwise).
    pub load_token: Vec<u8>,
}

/// Install parameters: application-specific (`C9`) and optional system-specific (`EF`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InstallParameters {
    /// Value of `C9`, passed to the application's install method.
    pub application: Vec<u8>,
    /// Value of `EF`, for the card (memory quotas, …).
    pub system: Option<Vec<u8>>,
}

impl InstallParameters {
    /// Encodes the install parameters field.
    pub fn encode(&self) -> Result<Vec<u8>, GpError> {
        let mut out = Vec::new();
        encode_tlv(tag(0xC9)?, &self.application, &mut out);
        if let Some(system) = &self.system {
            encode_tlv(tag(0xEF)?, system, &mut out);
        }
        Ok(out)
    }

    /// Decodes the install parameters field (`C9` required; unknown tags are skipped).
    pub fn parse(field: &[u8]) -> Result<InstallParameters, GpError> {
        let mut application = None;
        let mut system = None;
        for tlv in iter(field) {
            let tlv = tlv.map_err(|_| GpError::MalformedCommand("install parameters"))?;
            match tlv.tag().value() {
                0xC9 => application = Some(tlv.value().to_vec()),
                0xEF => system = Some(tlv.value().to_vec()),
                _ => {}
            }
        }
        Ok(InstallParameters {
            application: application
                .ok_or(GpError::MalformedCommand("install parameters without C9"))?,
            system,
        })
    }
}

/// INSTALL [for install] (and optionally make selectable): creates an application instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallForInstall {
    /// Executable load file AID.
    pub load_file_aid: Aid,
    /// Executable module AID (the applet class).
    pub module_aid: Aid,
    /// AID of the new application instance.
    pub application_aid: Aid,
    /// Privileges of the instance.
    pub privileges: Privileges,
    /// Install parameters.
    pub parameters: InstallParameters,
    /// Install token (empty unless delegated management).
    pub token: Vec<u8>,
    /// Also make the instance selectable (P1 `0C` instead of `04`).
    pub make_selectable: bool,
}

/// INSTALL [for make selectable]: an installed instance becomes SELECTABLE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallForMakeSelectable {
    /// AID of the instance.
    pub application_aid: Aid,
    /// Privileges (as installed).
    pub privileges: Privileges,
    /// Make selectable token (empty unless delegated management).
    pub token: Vec<u8>,
}

/// INSTALL [for personalization]: following STORE DATA commands go to this application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallForPersonalization {
    /// AID of the application to personalize.
    pub application_aid: Aid,
}

/// One INSTALL command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Install {
    /// P1 `02`.
    ForLoad(InstallForLoad),
    /// P1 `04` or `0C`.
    ForInstall(InstallForInstall),
    /// P1 `08`.
    ForMakeSelectable(InstallForMakeSelectable),
    /// P1 `20`.
    ForPersonalization(InstallForPersonalization),
}

fn aid_or_empty(aid: Option<&Aid>) -> &[u8] {
    aid.map(Aid::as_bytes).unwrap_or_default()
}

impl Install {
    /// The command APDU (`80 E6 P1 00 Lc data 00`).
    pub fn to_apdu(&self) -> Result<CommandApdu, GpError> {
        let mut data = Vec::new();
        let p1 = match self {
            Install::ForLoad(c) => {
                push_lv(&mut data, c.load_file_aid.as_bytes(), "load file AID")?;
                push_lv(
                    &mut data,
                    aid_or_empty(c.security_domain_aid.as_ref()),
                    "SD AID",
                )?;
                push_lv(&mut data, &c.load_file_hash, "load file hash")?;
                push_lv(&mut data, &c.load_parameters, "load parameters")?;
                push_lv(&mut data, &c.load_token, "load token")?;
                P1_FOR_LOAD
            }
            Install::ForInstall(c) => {
                push_lv(&mut data, c.load_file_aid.as_bytes(), "load file AID")?;
                push_lv(&mut data, c.module_aid.as_bytes(), "module AID")?;
                push_lv(&mut data, c.application_aid.as_bytes(), "application AID")?;
                push_lv(&mut data, &c.privileges.to_bytes(), "privileges")?;
                push_lv(&mut data, &c.parameters.encode()?, "install parameters")?;
                push_lv(&mut data, &c.token, "install token")?;
                if c.make_selectable {
                    P1_FOR_INSTALL_AND_MAKE_SELECTABLE
                } else {
                    P1_FOR_INSTALL
                }
            }
            Install::ForMakeSelectable(c) => {
                data.extend_from_slice(&[0x00, 0x00]);
                push_lv(&mut data, c.application_aid.as_bytes(), "application AID")?;
                push_lv(&mut data, &c.privileges.to_bytes(), "privileges")?;
                data.push(0x00);
                push_lv(&mut data, &c.token, "make selectable token")?;
                P1_FOR_MAKE_SELECTABLE
            }
            Install::ForPersonalization(c) => {
                data.extend_from_slice(&[0x00, 0x00]);
                push_lv(&mut data, c.application_aid.as_bytes(), "application AID")?;
                data.extend_from_slice(&[0x00, 0x00, 0x00]);
                P1_FOR_PERSONALIZATION
            }
        };
        gp_command(ins::INSTALL, p1, 0x00, data, true)
    }

    /// Decodes an INSTALL command (card side).
    pub fn parse(cmd: &CommandApdu) -> Result<Install, GpError> {
        expect_command(cmd, ins::INSTALL, "not INSTALL")?;
        if cmd.p2() != 0x00 {
            return Err(GpError::MalformedCommand("INSTALL P2 must be 00"));
        }
        let mut r = Reader::command(cmd.data());
        let install = match cmd.p1() {
            P1_FOR_LOAD => Install::ForLoad(InstallForLoad {
                load_file_aid: Aid::from_command(r.lv("load file AID")?)?,
                security_domain_aid: optional_aid(r.lv("SD AID")?)?,
                load_file_hash: r.lv("load file hash")?.to_vec(),
                load_parameters: r.lv("load parameters")?.to_vec(),
                load_token: r.lv("load token")?.to_vec(),
            }),
            p1 @ (P1_FOR_INSTALL | P1_FOR_INSTALL_AND_MAKE_SELECTABLE) => {
                Install::ForInstall(InstallForInstall {
                    load_file_aid: Aid::from_command(r.lv("load file AID")?)?,
                    module_aid: Aid::from_command(r.lv("module AID")?)?,
                    application_aid: Aid::from_command(r.lv("application AID")?)?,
                    privileges: privileges(r.lv("privileges")?)?,
                    parameters: InstallParameters::parse(r.lv("install parameters")?)?,
                    token: r.lv("install token")?.to_vec(),
                    make_selectable: p1 == P1_FOR_INSTALL_AND_MAKE_SELECTABLE,
                })
            }
            P1_FOR_MAKE_SELECTABLE => {
                empty(r.lv("load file AID")?)?;
                empty(r.lv("module AID")?)?;
                let application_aid = Aid::from_command(r.lv("application AID")?)?;
                let privileges = privileges(r.lv("privileges")?)?;
                empty(r.lv("install parameters")?)?;
                Install::ForMakeSelectable(InstallForMakeSelectable {
                    application_aid,
                    privileges,
                    token: r.lv("make selectable token")?.to_vec(),
                })
            }
            P1_FOR_PERSONALIZATION => {
                empty(r.lv("load file AID")?)?;
                empty(r.lv("module AID")?)?;
                let application_aid = Aid::from_command(r.lv("application AID")?)?;
                for field in ["privileges", "install parameters", "token"] {
                    empty(r.lv(field)?)?;
                }
                Install::ForPersonalization(InstallForPersonalization { application_aid })
            }
            _ => return Err(GpError::InvalidParameter("unsupported INSTALL P1")),
        };
        r.finish("trailing bytes after INSTALL data")?;
        Ok(install)
    }
}

fn optional_aid(bytes: &[u8]) -> Result<Option<Aid>, GpError> {
    if bytes.is_empty() {
        Ok(None)
    } else {
        Aid::from_command(bytes).map(Some)
    }
}

fn privileges(bytes: &[u8]) -> Result<Privileges, GpError> {
    Privileges::parse(bytes).map_err(|_| GpError::MalformedCommand("privileges are 1 or 3 bytes"))
}

fn empty(field: &[u8]) -> Result<(), GpError> {
    if field.is_empty() {
        Ok(())
    } else {
        Err(GpError::MalformedCommand("field must be empty"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aid(hex: &str) -> Aid {
        Aid::new(hex::decode(hex).unwrap()).unwrap()
    }

    fn round_trip(install: Install, expected_hex: String) {
        let apdu = install.to_apdu().unwrap();
        assert_eq!(hex::encode_upper(apdu.to_bytes()), expected_hex);
        assert_eq!(
            Install::parse(&CommandApdu::parse(&apdu.to_bytes()).unwrap()).unwrap(),
            install
        );
    }

    /// Encodings written out from §11.5.2.3 field by field.
    #[test]
    fn hand_checked_encodings() {
        round_trip(
            Install::ForLoad(InstallForLoad {
                load_file_aid: aid("A0000003330101"),
                security_domain_aid: Some(aid("A000000151000000")),
                load_file_hash: Vec::new(),
                load_parameters: Vec::new(),
                load_token: Vec::new(),
            }),
            "80E6020014" /* Lc 20 = 8 + 9 + 3 */
                .to_owned()
                + "07A0000003330101"
                + "08A000000151000000"
                + "00"
                + "00"
                + "00"
                + "00",
        );
        round_trip(
            Install::ForInstall(InstallForInstall {
                load_file_aid: aid("A0000003330101"),
                module_aid: aid("A000000333010101"),
                application_aid: aid("A000000333010101"),
                privileges: Privileges::NONE,
                parameters: InstallParameters {
                    application: vec![0x01, 0x02],
                    system: Some(vec![0xC8, 0x02, 0x10, 0x00]),
                },
                token: Vec::new(),
                make_selectable: true,
            }),
            "80E60C002A".to_owned()
                + "07A0000003330101"
                + "08A000000333010101"
                + "08A000000333010101"
                + "03000000"
                + "0A"
                + "C9020102"
                + "EF04C8021000"
                + "00"
                + "00",
        );
        round_trip(
            Install::ForPersonalization(InstallForPersonalization {
                application_aid: aid("A000000333010101"),
            }),
            "80E620000E0000" /* Lc 14 */
                .to_owned()
                + "08A000000333010101"
                + "000000"
                + "00",
        );
        round_trip(
            Install::ForMakeSelectable(InstallForMakeSelectable {
                application_aid: aid("A000000333010101"),
                privileges: Privileges::CARD_RESET,
                token: Vec::new(),
            }),
            "80E6080011" /* Lc 17 */
                .to_owned()
                + "0000"
                + "08A000000333010101"
                + "03040000"
                + "00"
                + "00"
                + "00",
        );
    }

    #[test]
    fn rejects_malformed_data() {
        let bad = [
            "80E6020004" /* truncated LV */
                .to_owned()
                + "07A00000",
            "80E60C0004".to_owned() + "00000000", // empty AIDs
            "80E6200007".to_owned() + "00000000000000", // personalization without AID
            "80E6400000".to_owned(),              // registry update: unsupported
            "80E6020107".to_owned() + "0000000000000000", // P2 01
        ];
        for hex in bad {
            let cmd = CommandApdu::parse(&hex::decode(&hex).unwrap()).unwrap();
            assert!(Install::parse(&cmd).is_err(), "{hex}");
        }
        // Install parameters must carry C9.
        assert!(InstallParameters::parse(&[0xEF, 0x00]).is_err());
        assert_eq!(
            InstallParameters::parse(&[0xC9, 0x00]).unwrap(),
            InstallParameters::default()
        );
    }
}
