//! DELETE (Card Specification §11.2): removes an application, security domain or load file
//! (`4F` AID), or keys (`D0` key identifier, `D2` key version). P2 `80` also deletes related
//! objects (a load file with its applications).

use super::{expect_command, gp_command, ins, tag};
use crate::apdu::tlv::iter;
use crate::apdu::tlv_build::encode_tlv;
use crate::apdu::CommandApdu;
use crate::gp::{Aid, GpError};

/// P2 of DELETE with related objects.
pub const P2_RELATED_OBJECTS: u8 = 0x80;

/// One DELETE command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delete {
    /// Delete a card content object by AID.
    Object {
        /// The AID (`4F`).
        aid: Aid,
        /// Also delete related objects (P2 `80`).
        related_objects: bool,
    },
    /// Delete keys by identifier and / or version.
    Key {
        /// Key identifier (`D0`).
        key_id: Option<u8>,
        /// Key version number (`D2`).
        key_version: Option<u8>,
    },
}

impl Delete {
    /// Deletes the object `aid` (and its related objects if `related_objects`).
    pub fn object(aid: Aid, related_objects: bool) -> Delete {
        Delete::Object {
            aid,
            related_objects,
        }
    }

    /// The command APDU (`80 E4 00 P2 Lc data 00`).
    pub fn to_apdu(&self) -> Result<CommandApdu, GpError> {
        let mut data = Vec::new();
        let p2 = match self {
            Delete::Object {
                aid,
                related_objects,
            } => {
                encode_tlv(tag(0x4F)?, aid.as_bytes(), &mut data);
                if *related_objects {
                    P2_RELATED_OBJECTS
                } else {
                    0x00
                }
            }
            Delete::Key {
                key_id,
                key_version,
            } => {
                if key_id.is_none() && key_version.is_none() {
                    return Err(GpError::InvalidParameter(
                        "DELETE key needs an id or a version",
                    ));
                }
                if let Some(id) = key_id {
                    encode_tlv(tag(0xD0)?, &[*id], &mut data);
                }
                if let Some(version) = key_version {
                    encode_tlv(tag(0xD2)?, &[*version], &mut data);
                }
                0x00
            }
        };
        gp_command(ins::DELETE, 0x00, p2, data, true)
    }

    /// Decodes a DELETE command (card side).
    pub fn parse(cmd: &CommandApdu) -> Result<Delete, GpError> {
        expect_command(cmd, ins::DELETE, "not DELETE")?;
        if cmd.p1() != 0x00 || (cmd.p2() != 0x00 && cmd.p2() != P2_RELATED_OBJECTS) {
            return Err(GpError::InvalidParameter(
                "DELETE P1 must be 00, P2 00 or 80",
            ));
        }
        let mut aid = None;
        let (mut key_id, mut key_version) = (None, None);
        for tlv in iter(cmd.data()) {
            let tlv = tlv.map_err(|_| GpError::MalformedCommand("DELETE data"))?;
            let single = || match tlv.value() {
                [b] => Ok(*b),
                _ => Err(GpError::MalformedCommand(
                    "key identifier and version are 1 byte",
                )),
            };
            match tlv.tag().value() {
                0x4F => aid = Some(Aid::from_command(tlv.value())?),
                0xD0 => key_id = Some(single()?),
                0xD2 => key_version = Some(single()?),
                // Tokens (B6, 9E) are not checked here.
                _ => {}
            }
        }
        match (aid, key_id.or(key_version)) {
            (Some(aid), None) => Ok(Delete::Object {
                aid,
                related_objects: cmd.p2() == P2_RELATED_OBJECTS,
            }),
            (None, Some(_)) => Ok(Delete::Key {
                key_id,
                key_version,
            }),
            _ => Err(GpError::MalformedCommand(
                "DELETE needs either an AID or a key",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings() {
        let aid = Aid::new(hex::decode("A0000003330101").unwrap()).unwrap();
        let delete = Delete::object(aid, true);
        let apdu = delete.to_apdu().unwrap();
        assert_eq!(
            hex::encode_upper(apdu.to_bytes()),
            "80E40080094F07A000000333010100"
        );
        assert_eq!(Delete::parse(&apdu).unwrap(), delete);

        let key = Delete::Key {
            key_id: None,
            key_version: Some(0x30),
        };
        let apdu = key.to_apdu().unwrap();
        assert_eq!(hex::encode_upper(apdu.to_bytes()), "80E4000003D2013000");
        assert_eq!(Delete::parse(&apdu).unwrap(), key);
        assert!(Delete::Key {
            key_id: None,
            key_version: None
        }
        .to_apdu()
        .is_err());
    }

    #[test]
    fn rejects_ambiguous_or_malformed() {
        for hex in [
            "80E4000000",                         // no data (Le only)
            "80E40000034F0101",                   // AID too short
            "80E40001094F07A0000003330101",       // P2 01
            "80E400000C4F07A0000003330101D00101", // AID and key
            "80E4000004D0020101",                 // 2-byte key id
        ] {
            let cmd = CommandApdu::parse(&hex::decode(hex).unwrap()).unwrap();
            assert!(Delete::parse(&cmd).is_err(), "{hex}");
        }
    }
}
