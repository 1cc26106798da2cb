//! A security domain's keys and data objects: PUT KEY and GET DATA.
//!
//! Each security domain holds one key set (ENC, MAC, DEK). PUT KEY with P1 `00` adds it to an
//! SD without keys; with P1 = the current key version it replaces it; the keys come encrypted
//! under the session's key-encryption key and are checked against their KCVs. After INSTALL
//! [for personalization] of a security domain, PUT KEY goes to that SD.
//!
//! GET DATA (no secure channel needed): `00CF` key diversification data, `0066` card
//! recognition data, `00E0` key information, `00C1` sequence counter (3 bytes for SCP03, 2 for
//! SCP02: the value the last INITIALIZE UPDATE used, so a TSM can precompute the next session),
//! `9F7F` CPLC.

use wallet_core::apdu::{CommandApdu, ResponseApdu, Tag, TlvNode};
use wallet_core::gp::commands::get_data::{
    TAG_CARD_DATA, TAG_CPLC, TAG_KEY_DIVERSIFICATION_DATA, TAG_KEY_INFORMATION,
};
use wallet_core::gp::commands::{Cplc, GetData, KeyInformation, PutKey};
use wallet_core::gp::scp02::{I_15, SCP02};
use wallet_core::gp::scp03::SCP03;
use wallet_core::gp::{AppLifeCycle, GpError};

use super::error::{sw, CardResult, Refusal};
use super::registry::Body;
use super::sd::SdContext;
use crate::world_keys::{ScpProtocol, KDD_LEN};

/// GET DATA tag of the sequence counter of the security domain's key set.
pub const TAG_SEQUENCE_COUNTER: u16 = 0x00C1;

/// OID prefix of GlobalPlatform, `1.2.840.114283`.
const GP_OID: [u8; 7] = [0x2A, 0x86, 0x48, 0x86, 0xFC, 0x6B, 0x00];

fn oid(arc: u8, rest: &[u8]) -> Result<TlvNode, GpError> {
    let mut value = GP_OID[..6].to_vec();
    value.push(arc);
    value.extend_from_slice(rest);
    Ok(TlvNode::primitive(Tag::new(0x06)?, value))
}

/// The card recognition data (`66 { 73 { .. } }`): GlobalPlatform 2.3.1, the secure channel
/// protocol and `i` of the security domain.
pub(crate) fn card_recognition_data(protocol: ScpProtocol) -> Result<Vec<u8>, GpError> {
    let (scp, i) = match protocol {
        ScpProtocol::Scp03(options) => (SCP03, options.value()),
        ScpProtocol::Scp02 => (SCP02, I_15),
    };
    let tag = |t: u32| Tag::new(t);
    let template = TlvNode::constructed(
        tag(0x73)?,
        [
            oid(0x01, &[])?,
            TlvNode::constructed(tag(0x60)?, [oid(0x02, &[0x02, 0x03, 0x01])?]),
            TlvNode::constructed(tag(0x63)?, [oid(0x03, &[])?]),
            TlvNode::constructed(tag(0x64)?, [oid(0x04, &[scp, i])?]),
        ],
    );
    Ok(TlvNode::constructed(tag(0x66)?, [template]).encode())
}

/// The CPLC of a simulated SE: zeros but the IC serial number and batch identifier, taken from
/// the key diversification data.
pub(crate) fn cplc(kdd: &[u8; KDD_LEN]) -> Cplc {
    let [_, _, _, _, b0, b1, s0, s1, s2, s3] = *kdd;
    Cplc {
        ic_serial_number: [s0, s1, s2, s3],
        ic_batch_identifier: [b0, b1],
        ..Cplc::default()
    }
}

impl SdContext<'_> {
    /// PUT KEY.
    pub(crate) fn put_key(&mut self, cmd: &CommandApdu) -> CardResult {
        let put = PutKey::parse(cmd)?;
        let session = self
            .channel
            .session
            .as_ref()
            .ok_or(Refusal(sw::SECURITY_STATUS))?;
        let target = match &session.perso_target {
            Some(aid)
                if self
                    .registry
                    .entry(aid)
                    .is_some_and(|e| e.domain().is_some()) =>
            {
                aid.clone()
            }
            _ => self.channel.selected.clone(),
        };
        if put
            .keys
            .iter()
            .any(|k| k.key_type != session.scp.key_type())
        {
            return Err(Refusal(sw::WRONG_DATA));
        }
        let keys = put.decrypt_key_set(&session.scp.key_encryption_key()?)?;
        let entry = self
            .registry
            .entry_mut(&target)
            .ok_or(Refusal(sw::DATA_NOT_FOUND))?;
        let Body::Domain(domain) = &mut entry.body else {
            return Err(Refusal(sw::CONDITIONS));
        };
        match (&domain.keys, put.replace_version) {
            (None, 0) => {}
            (Some(current), version) if version == current.version() && version != 0 => {}
            (Some(current), 0) if current.version() == put.new_version => {
                return Err(Refusal(sw::WRONG_DATA));
            }
            (Some(_), 0) => return Err(Refusal(sw::NOT_ENOUGH_MEMORY)),
            _ => return Err(Refusal(sw::DATA_NOT_FOUND)),
        }
        domain.keys = Some(keys);
        if entry.life_cycle == AppLifeCycle::SELECTABLE {
            entry.life_cycle = AppLifeCycle::PERSONALIZED;
        }
        *self.dirty = true;
        Ok(ResponseApdu::success(put.response_data()))
    }

    /// GET DATA.
    pub(crate) fn get_data(&mut self, cmd: &CommandApdu) -> CardResult {
        let query = GetData::parse(cmd)?;
        let domain = self
            .registry
            .entry(&self.channel.selected)
            .and_then(|e| e.domain())
            .ok_or(Refusal(sw::CONDITIONS))?;
        let data = match query.tag {
            TAG_KEY_DIVERSIFICATION_DATA => {
                TlvNode::primitive(Tag::new(0xCF).map_err(GpError::from)?, self.kdd.to_vec())
                    .encode()
            }
            TAG_CARD_DATA => card_recognition_data(domain.protocol)?,
            TAG_KEY_INFORMATION => {
                let keys = domain.keys.as_ref().ok_or(Refusal(sw::DATA_NOT_FOUND))?;
                let key_type = if domain.protocol.is_scp03() {
                    0x88
                } else {
                    0x80
                };
                KeyInformation::encode_template(&KeyInformation::key_set(keys.version(), key_type))?
            }
            TAG_CPLC => cplc(&self.kdd).encode()?,
            TAG_SEQUENCE_COUNTER => {
                let bytes = domain.counter.to_be_bytes();
                let counter = if domain.protocol.is_scp03() {
                    bytes.get(1..)
                } else {
                    bytes.get(2..)
                };
                TlvNode::primitive(
                    Tag::new(0xC1).map_err(GpError::from)?,
                    counter.unwrap_or_default(),
                )
                .encode()
            }
            _ => return Err(Refusal(sw::DATA_NOT_FOUND)),
        };
        Ok(ResponseApdu::success(data))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world_keys::ISD_SCP03_OPTIONS;

    /// Card recognition data as GlobalPlatform cards return it (GP 2.3.1, SCP03 i=70).
    #[test]
    fn card_recognition_data_layout() {
        let data = card_recognition_data(ScpProtocol::Scp03(ISD_SCP03_OPTIONS)).unwrap();
        assert_eq!(
            hex::encode_upper(data),
            "6631".to_owned()
                + "732F"
                + "06072A864886FC6B01"
                + "600C060A2A864886FC6B02020301"
                + "630906072A864886FC6B03"
                + "640B06092A864886FC6B040370"
        );
        let scp02 = card_recognition_data(ScpProtocol::Scp02).unwrap();
        assert!(hex::encode_upper(scp02).ends_with("640B06092A864886FC6B040215"));
    }

    #[test]
    fn cplc_carries_the_serial() {
        let kdd = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
        let value = cplc(&kdd).value();
        assert_eq!(value.len(), 42);
        assert_eq!(value[12..16], [6, 7, 8, 9]);
        assert_eq!(value[16..18], [4, 5]);
    }
}
