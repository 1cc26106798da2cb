//! Card content management commands (GlobalPlatform Card Specification chapter 11): builders
//! for the host (`to_apdu`) and parsers for the card (`parse`) in one place, so both sides
//! agree on every byte.
//!
//! Parsers take the command *after* secure messaging was removed (class byte `80`-`83` or
//! `C0`-`CF`; GET DATA also `00`-`03`) and check INS, P1, P2 and the data field.
//!
//! | command | builder / parser |
//! |---|---|
//! | INSTALL `E6` | [`Install`] |
//! | LOAD `E8` | [`LoadBlock`], [`load_commands`], [`LoadAssembler`] |
//! | STORE DATA `E2` | [`StoreData`], [`Dgi`] |
//! | DELETE `E4` | [`Delete`] |
//! | GET STATUS `F2` | [`GetStatus`], [`RegistryEntry`] |
//! | SET STATUS `F0` | [`SetStatus`] |
//! | PUT KEY `D8` | [`PutKey`] |
//! | GET DATA `CA` | [`GetData`], [`KeyInformation`], [`Cplc`] |

pub mod delete;
pub mod get_data;
pub mod install;
pub mod load;
pub mod put_key;
pub mod status;
pub mod store_data;

pub use delete::Delete;
pub use get_data::{Cplc, GetData, KeyInformation};
pub use install::{
    Install, InstallForInstall, InstallForLoad, InstallForMakeSelectable,
    InstallForPersonalization, InstallParameters,
};
pub use load::{load_commands, LoadAssembler, LoadBlock};
pub use put_key::{KeyComponent, KeyType, PutKey};
pub use status::{GetStatus, RegistryEntry, SetStatus, SetStatusScope, StatusScope};
pub use store_data::{DataStructure, Dgi, StoreData, StoreDataEncryption};

use super::GpError;
use crate::apdu::{Class, CommandApdu, SecureMessaging, Tag};

/// Instruction bytes of the GlobalPlatform commands.
pub mod ins {
    /// DELETE.
    pub const DELETE: u8 = 0xE4;
    /// EXTERNAL AUTHENTICATE.
    pub const EXTERNAL_AUTHENTICATE: u8 = 0x82;
    /// GET DATA.
    pub const GET_DATA: u8 = 0xCA;
    /// GET STATUS.
    pub const GET_STATUS: u8 = 0xF2;
    /// INITIALIZE UPDATE.
    pub const INITIALIZE_UPDATE: u8 = 0x50;
    /// INSTALL.
    pub const INSTALL: u8 = 0xE6;
    /// LOAD.
    pub const LOAD: u8 = 0xE8;
    /// PUT KEY.
    pub const PUT_KEY: u8 = 0xD8;
    /// SET STATUS.
    pub const SET_STATUS: u8 = 0xF0;
    /// STORE DATA.
    pub const STORE_DATA: u8 = 0xE2;
}

/// The class byte of GlobalPlatform commands on the basic channel, before secure messaging.
pub const CLA_GP: u8 = 0x80;

/// A tag from a constant known to be valid.
pub(crate) fn tag(raw: u32) -> Result<Tag, GpError> {
    Ok(Tag::new(raw)?)
}

/// Checks INS and that the class byte is a GlobalPlatform one without secure messaging.
pub(crate) fn expect_command(
    cmd: &CommandApdu,
    ins: u8,
    what: &'static str,
) -> Result<(), GpError> {
    let info = Class::new(cmd.cla())
        .decode()
        .map_err(|_| GpError::MalformedCommand(what))?;
    let interindustry_ok = ins == ins::GET_DATA;
    if cmd.ins() != ins
        || (!info.proprietary && !interindustry_ok)
        || info.secure_messaging != SecureMessaging::None
    {
        return Err(GpError::MalformedCommand(what));
    }
    Ok(())
}

/// A GlobalPlatform command `80 ins p1 p2` with `data` (none if empty) and Le `00` if asked.
pub(crate) fn gp_command(
    ins: u8,
    p1: u8,
    p2: u8,
    data: Vec<u8>,
    le: bool,
) -> Result<CommandApdu, GpError> {
    let cmd = CommandApdu::new(CLA_GP, ins, p1, p2).with_data(data)?;
    Ok(if le { cmd.with_short_le(0x00) } else { cmd })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_checks() {
        let ok = CommandApdu::new(0x81, ins::DELETE, 0, 0);
        assert!(expect_command(&ok, ins::DELETE, "DELETE").is_ok());
        let secured = CommandApdu::new(0x84, ins::DELETE, 0, 0);
        assert!(expect_command(&secured, ins::DELETE, "DELETE").is_err());
        let iso = CommandApdu::new(0x00, ins::DELETE, 0, 0);
        assert!(expect_command(&iso, ins::DELETE, "DELETE").is_err());
        let get_data = CommandApdu::new(0x00, ins::GET_DATA, 0, 0x66);
        assert!(expect_command(&get_data, ins::GET_DATA, "GET DATA").is_ok());
        assert!(expect_command(&ok, ins::INSTALL, "INSTALL").is_err());
    }
}
