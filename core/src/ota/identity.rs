//! How an SE names itself to a TSM: the SERAM `secureElement` of a reader.
//!
//! The `seId` is the issuer security domain's key diversification data (GET DATA `CF`, readable
//! outside a secure channel on GlobalPlatform cards), in uppercase hex: the TSM derives the SE's
//! keys from it. An SE that does not answer (access rules, non-GP SE) is named by its reader.

use super::seram::{SeType, SecureElement};
use crate::apdu::{CommandApdu, Tag};
use crate::se::{Reader, ReaderKind};

/// GET DATA tag of the key diversification data.
const TAG_KEY_DIVERSIFICATION_DATA: u32 = 0xCF;

/// The SERAM description of the SE in `reader`, its `seId` read from the SE (one APDU).
pub fn describe(reader: &Reader) -> SecureElement {
    let mut se = by_reader_name(reader);
    if let Some(id) = se_identifier(reader) {
        se.se_id = id;
    }
    se
}

/// The SERAM description of the SE in `reader` without talking to it: `seId` = reader name.
pub fn by_reader_name(reader: &Reader) -> SecureElement {
    SecureElement {
        se_type: match reader.kind() {
            Some(ReaderKind::Ese) => SeType::Ese,
            Some(ReaderKind::Sim) => SeType::Uicc,
            Some(ReaderKind::Sd) | None => SeType::Undefined,
        },
        se_id: reader.name().to_owned(),
        se_extra_info: None,
    }
}

/// The SE's key diversification data as uppercase hex, if the ISD gives it out.
pub fn se_identifier(reader: &Reader) -> Option<String> {
    let session = reader.open_session().ok()?;
    let channel = session.open_logical_channel(None, 0x00).ok()?;
    let tag = Tag::new(TAG_KEY_DIVERSIFICATION_DATA).ok()?;
    let command = CommandApdu::get_data(tag).ok()?;
    let response = channel.transmit(&command).ok()?;
    if !response.sw.is_success() {
        return None;
    }
    // Either the bare value or a `CF len value` object.
    let value = match crate::apdu::tlv::find(&response.data, tag) {
        Ok(Some(object)) => object.value().to_vec(),
        _ => response.data.clone(),
    };
    (!value.is_empty() && value.len() <= 32).then(|| hex::encode_upper(value))
}
