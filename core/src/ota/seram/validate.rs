//! Limits and checks of SERAM messages, shared by both agents: hex APDU strings (schema
//! `apdu`: `([0-9A-F]{2})*`), session ids, and per-message bounds that keep a hostile or broken
//! peer from exhausting memory.

use super::{
    HandshakeCommand, RamCommand, RamResponse, RemoteManagementOrder, RemoteManagementReport,
};

/// Longest APDU in bytes: an extended case 4 command (4 + 3 + 65535 + 2) or an extended response
/// (65536 + 2).
pub const MAX_APDU_BYTES: usize = 65_544;
/// Most C-APDUs (summed over all `seRamCommand`s) one order may carry.
pub const MAX_APDUS_PER_ORDER: usize = 4096;
/// Most commands one order may carry.
pub const MAX_COMMANDS_PER_ORDER: usize = 1024;
/// Longest notification text, in bytes.
pub const MAX_NOTIFICATION_BYTES: usize = 4096;
/// Longest session id, in bytes.
pub const MAX_SESSION_ID_BYTES: usize = 256;
/// Longest SE identifier, in bytes.
pub const MAX_SE_ID_BYTES: usize = 128;
/// Most secure elements a handshake may propose.
pub const MAX_SECURE_ELEMENTS: usize = 16;

/// A SERAM message breaks a schema rule or a size limit. Never carries APDU content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// An APDU string that is not pairs of hex digits.
    #[error("APDU #{index} is not an even-length hex string")]
    InvalidApduHex {
        /// Position of the APDU in its list (0-based).
        index: usize,
    },
    /// A C-APDU shorter than its 4-byte header.
    #[error("C-APDU #{index} is shorter than a command header")]
    ApduTooShort {
        /// Position of the APDU in its list (0-based).
        index: usize,
    },
    /// An APDU longer than [`MAX_APDU_BYTES`].
    #[error("APDU #{index} of {len} bytes exceeds {MAX_APDU_BYTES}")]
    ApduTooLong {
        /// Position of the APDU in its list (0-based).
        index: usize,
        /// Its length in bytes.
        len: usize,
    },
    /// Too many commands or APDUs in one order.
    #[error("order carries {count} {what}, more than {max}")]
    TooMany {
        /// What was counted (`commands`, `C-APDUs`, `secure elements`).
        what: &'static str,
        /// How many there were.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A notification longer than [`MAX_NOTIFICATION_BYTES`].
    #[error("notification of {len} bytes exceeds {MAX_NOTIFICATION_BYTES}")]
    NotificationTooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// A session id that is empty, too long or holds control characters.
    #[error("invalid session id")]
    InvalidSessionId,
    /// An SE identifier that is empty or too long.
    #[error("invalid SE identifier")]
    InvalidSeId,
}

/// Decodes an APDU hex string (either case accepted, uppercase is canonical). `index` names the
/// APDU in errors.
pub fn decode_apdu(hex_text: &str, index: usize) -> Result<Vec<u8>, WireError> {
    let len = hex_text.len() / 2;
    if len > MAX_APDU_BYTES {
        return Err(WireError::ApduTooLong { index, len });
    }
    hex::decode(hex_text).map_err(|_| WireError::InvalidApduHex { index })
}

/// Decodes a C-APDU: [`decode_apdu`] plus at least the 4 header bytes.
pub fn decode_capdu(hex_text: &str, index: usize) -> Result<Vec<u8>, WireError> {
    let bytes = decode_apdu(hex_text, index)?;
    if bytes.len() < 4 {
        return Err(WireError::ApduTooShort { index });
    }
    Ok(bytes)
}

/// Encodes an APDU as the schema writes it: uppercase hex.
pub fn encode_apdu(bytes: &[u8]) -> String {
    hex::encode_upper(bytes)
}

/// Whether `hex_text` matches the schema pattern `([0-9A-F]{2})*` exactly.
pub fn is_canonical_apdu(hex_text: &str) -> bool {
    hex_text.len() % 2 == 0
        && hex_text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
}

/// Checks a session id: 1 to [`MAX_SESSION_ID_BYTES`] bytes, no control characters.
pub fn validate_session_id(id: &str) -> Result<(), WireError> {
    if id.is_empty() || id.len() > MAX_SESSION_ID_BYTES || id.chars().any(char::is_control) {
        return Err(WireError::InvalidSessionId);
    }
    Ok(())
}

fn validate_se_id(id: &str) -> Result<(), WireError> {
    if id.is_empty() || id.len() > MAX_SE_ID_BYTES {
        return Err(WireError::InvalidSeId);
    }
    Ok(())
}

fn at_most(what: &'static str, count: usize, max: usize) -> Result<(), WireError> {
    if count > max {
        return Err(WireError::TooMany { what, count, max });
    }
    Ok(())
}

impl HandshakeCommand {
    /// Checks the SE list (the remote agent's side of the handshake).
    pub fn validate(&self) -> Result<(), WireError> {
        at_most(
            "secure elements",
            self.secure_elements.len(),
            MAX_SECURE_ELEMENTS,
        )?;
        self.secure_elements
            .iter()
            .try_for_each(|se| validate_se_id(&se.se_id))
    }
}

impl RemoteManagementOrder {
    /// Checks counts, sizes and that every C-APDU decodes (the local agent's side).
    pub fn validate(&self) -> Result<(), WireError> {
        at_most("commands", self.ram_commands.len(), MAX_COMMANDS_PER_ORDER)?;
        if let Some(se) = &self.chosen_secure_element {
            validate_se_id(&se.se_id)?;
        }
        let mut apdus = 0;
        for command in &self.ram_commands {
            match command {
                RamCommand::SeRam(c) => {
                    apdus += c.list_of_capdu.len();
                    at_most("C-APDUs", apdus, MAX_APDUS_PER_ORDER)?;
                    for (index, apdu) in c.list_of_capdu.iter().enumerate() {
                        decode_capdu(apdu, index)?;
                    }
                }
                RamCommand::Notification(n)
                    if n.device_app_notification.len() > MAX_NOTIFICATION_BYTES =>
                {
                    return Err(WireError::NotificationTooLong {
                        len: n.device_app_notification.len(),
                    });
                }
                _ => {}
            }
        }
        Ok(())
    }
}

impl RemoteManagementReport {
    /// Checks counts and that every R-APDU is canonical hex of at most [`MAX_APDU_BYTES`] (the
    /// remote agent's side).
    pub fn validate(&self) -> Result<(), WireError> {
        at_most("commands", self.ram_responses.len(), MAX_COMMANDS_PER_ORDER)?;
        let mut apdus = 0;
        for RamResponse::SeRam(r) in &self.ram_responses {
            apdus += r.list_of_rapdu.len();
            at_most("R-APDUs", apdus, MAX_APDUS_PER_ORDER)?;
            for (index, apdu) in r.list_of_rapdu.iter().enumerate() {
                if !is_canonical_apdu(apdu) {
                    return Err(WireError::InvalidApduHex { index });
                }
                decode_apdu(apdu, index)?;
            }
        }
        Ok(())
    }
}
