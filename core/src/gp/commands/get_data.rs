//! GET DATA (Card Specification §11.3) of the data objects a TSM reads from a security domain:
//! `00CF` key diversification data, `0066` card data, `9F7F` CPLC, `00E0` key information
//! template, `0042` IIN, `0045` CIN. The tag goes in P1-P2; the response is the data object
//! itself (tag, length, value).

use super::{expect_command, ins, tag, CLA_GP};
use crate::apdu::tlv::{iter, Tlv};
use crate::apdu::tlv_build::TlvNode;
use crate::apdu::CommandApdu;
use crate::gp::reader::Reader;
use crate::gp::GpError;

/// Key diversification data.
pub const TAG_KEY_DIVERSIFICATION_DATA: u16 = 0x00CF;
/// Card data (card recognition data).
pub const TAG_CARD_DATA: u16 = 0x0066;
/// Card production life cycle data.
pub const TAG_CPLC: u16 = 0x9F7F;
/// Key information template.
pub const TAG_KEY_INFORMATION: u16 = 0x00E0;
/// Issuer identification number.
pub const TAG_IIN: u16 = 0x0042;
/// Card image number.
pub const TAG_CIN: u16 = 0x0045;

/// One GET DATA command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GetData {
    /// The data object tag (P1-P2).
    pub tag: u16,
}

impl GetData {
    /// The command APDU (`80 CA P1 P2 00`).
    pub fn to_apdu(self) -> CommandApdu {
        let [p1, p2] = self.tag.to_be_bytes();
        CommandApdu::new(CLA_GP, ins::GET_DATA, p1, p2).with_short_le(0x00)
    }

    /// Decodes a GET DATA command (card side; class `80` or `00`).
    pub fn parse(cmd: &CommandApdu) -> Result<GetData, GpError> {
        expect_command(cmd, ins::GET_DATA, "not GET DATA")?;
        if !cmd.data().is_empty() {
            return Err(GpError::MalformedCommand("GET DATA carries no data"));
        }
        Ok(GetData {
            tag: u16::from_be_bytes([cmd.p1(), cmd.p2()]),
        })
    }
}

/// One entry of the key information template (`C0`): a key identifier, its version and the
/// type and length of each component (`88 10` for an AES-128 key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInformation {
    /// Key identifier.
    pub key_id: u8,
    /// Key version number.
    pub key_version: u8,
    /// (key type, key length) of each component.
    pub components: Vec<(u8, u8)>,
}

impl KeyInformation {
    /// The three keys (1 ENC, 2 MAC, 3 DEK) of a key set of 16-byte keys of `key_type`.
    pub fn key_set(key_version: u8, key_type: u8) -> Vec<KeyInformation> {
        (1..=3)
            .map(|key_id| KeyInformation {
                key_id,
                key_version,
                components: vec![(key_type, 16)],
            })
            .collect()
    }

    /// The response to GET DATA `00E0`: `E0 L (C0 L id version (type length)..)..`.
    pub fn encode_template(entries: &[KeyInformation]) -> Result<Vec<u8>, GpError> {
        let mut children = Vec::with_capacity(entries.len());
        for entry in entries {
            let mut value = vec![entry.key_id, entry.key_version];
            entry
                .components
                .iter()
                .for_each(|(t, l)| value.extend_from_slice(&[*t, *l]));
            children.push(TlvNode::primitive(tag(0xC0)?, value));
        }
        Ok(TlvNode::constructed(tag(0xE0)?, children).encode())
    }

    /// Decodes the response to GET DATA `00E0`.
    pub fn parse_template(data: &[u8]) -> Result<Vec<KeyInformation>, GpError> {
        const BAD: GpError = GpError::MalformedResponse("key information template");
        let template = Tlv::parse_single(data).map_err(|_| BAD)?;
        if template.tag().value() != 0xE0 {
            return Err(BAD);
        }
        let mut entries = Vec::new();
        for entry in template.children() {
            let entry = entry.map_err(|_| BAD)?;
            if entry.tag().value() != 0xC0 {
                continue;
            }
            let mut r = Reader::response(entry.value());
            let [key_id, key_version] = r.array("key information entry")?;
            let mut components = Vec::new();
            while !r.is_empty() {
                let [key_type, length] = r.array("key component")?;
                components.push((key_type, length));
            }
            entries.push(KeyInformation {
                key_id,
                key_version,
                components,
            });
        }
        Ok(entries)
    }
}

/// Card production life cycle data (`9F7F`, 42 bytes), as GlobalPlatform cards report it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cplc {
    /// IC fabricator.
    pub ic_fabricator: [u8; 2],
    /// IC type.
    pub ic_type: [u8; 2],
    /// Operating system identifier.
    pub os_id: [u8; 2],
    /// Operating system release date.
    pub os_release_date: [u8; 2],
    /// Operating system release level.
    pub os_release_level: [u8; 2],
    /// IC fabrication date.
    pub ic_fabrication_date: [u8; 2],
    /// IC serial number.
    pub ic_serial_number: [u8; 4],
    /// IC batch identifier.
    pub ic_batch_identifier: [u8; 2],
    /// IC module fabricator.
    pub module_fabricator: [u8; 2],
    /// IC module packaging date.
    pub module_packaging_date: [u8; 2],
    /// ICC manufacturer.
    pub icc_manufacturer: [u8; 2],
    /// IC embedding date.
    pub ic_embedding_date: [u8; 2],
    /// IC pre-personalizer.
    pub pre_personalizer: [u8; 2],
    /// IC pre-personalization equipment date.
    pub pre_personalization_date: [u8; 2],
    /// IC pre-personalization equipment identifier.
    pub pre_personalization_equipment: [u8; 4],
    /// IC personalizer.
    pub personalizer: [u8; 2],
    /// IC personalization date.
    pub personalization_date: [u8; 2],
    /// IC personalization equipment identifier.
    pub personalization_equipment: [u8; 4],
}

/// Length of the CPLC value.
pub const CPLC_LEN: usize = 42;

impl Cplc {
    /// The 42-byte value in field order.
    pub fn value(&self) -> Vec<u8> {
        [
            &self.ic_fabricator[..],
            &self.ic_type,
            &self.os_id,
            &self.os_release_date,
            &self.os_release_level,
            &self.ic_fabrication_date,
            &self.ic_serial_number,
            &self.ic_batch_identifier,
            &self.module_fabricator,
            &self.module_packaging_date,
            &self.icc_manufacturer,
            &self.ic_embedding_date,
            &self.pre_personalizer,
            &self.pre_personalization_date,
            &self.pre_personalization_equipment,
            &self.personalizer,
            &self.personalization_date,
            &self.personalization_equipment,
        ]
        .concat()
    }

    /// The response to GET DATA `9F7F`: `9F7F 2A value`.
    pub fn encode(&self) -> Result<Vec<u8>, GpError> {
        Ok(TlvNode::primitive(tag(0x9F7F)?, self.value()).encode())
    }

    /// Decodes the response to GET DATA `9F7F` (with its tag and length).
    pub fn parse(data: &[u8]) -> Result<Cplc, GpError> {
        let tlv = iter(data)
            .next()
            .ok_or(GpError::MalformedResponse("empty CPLC response"))?
            .map_err(|_| GpError::MalformedResponse("CPLC"))?;
        if tlv.tag().value() != 0x9F7F {
            return Err(GpError::MalformedResponse("not CPLC"));
        }
        let mut r = Reader::response(tlv.value());
        let cplc = Cplc {
            ic_fabricator: r.array("CPLC")?,
            ic_type: r.array("CPLC")?,
            os_id: r.array("CPLC")?,
            os_release_date: r.array("CPLC")?,
            os_release_level: r.array("CPLC")?,
            ic_fabrication_date: r.array("CPLC")?,
            ic_serial_number: r.array("CPLC")?,
            ic_batch_identifier: r.array("CPLC")?,
            module_fabricator: r.array("CPLC")?,
            module_packaging_date: r.array("CPLC")?,
            icc_manufacturer: r.array("CPLC")?,
            ic_embedding_date: r.array("CPLC")?,
            pre_personalizer: r.array("CPLC")?,
            pre_personalization_date: r.array("CPLC")?,
            pre_personalization_equipment: r.array("CPLC")?,
            personalizer: r.array("CPLC")?,
            personalization_date: r.array("CPLC")?,
            personalization_equipment: r.array("CPLC")?,
        };
        r.finish("CPLC length")?;
        Ok(cplc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_data_commands() {
        let cplc = GetData { tag: TAG_CPLC };
        assert_eq!(hex::encode_upper(cplc.to_apdu().to_bytes()), "80CA9F7F00");
        assert_eq!(GetData::parse(&cplc.to_apdu()).unwrap(), cplc);
        let iso = CommandApdu::new(0x00, 0xCA, 0x00, 0xCF).with_short_le(0);
        assert_eq!(
            GetData::parse(&iso).unwrap().tag,
            TAG_KEY_DIVERSIFICATION_DATA
        );
        let with_data = CommandApdu::new(0x80, 0xCA, 0x00, 0x66)
            .with_data(vec![1])
            .unwrap();
        assert!(GetData::parse(&with_data).is_err());
    }

    /// A key set of three AES-128 keys, version 30: `E0 12 (C0 04 id 30 88 10) x3`.
    #[test]
    fn key_information_template() {
        let entries = KeyInformation::key_set(0x30, 0x88);
        let encoded = KeyInformation::encode_template(&entries).unwrap();
        assert_eq!(
            hex::encode_upper(&encoded),
            "E012C00401308810C00402308810C00403308810"
        );
        assert_eq!(KeyInformation::parse_template(&encoded).unwrap(), entries);
        // A two-component entry, as some cards report.
        let two = hex::decode("E008C006012080108010").unwrap();
        assert_eq!(
            KeyInformation::parse_template(&two).unwrap()[0].components,
            vec![(0x80, 0x10), (0x80, 0x10)]
        );
        for bad in ["E003C00101", "E002C000", "6603C00101", "E004C00401308810"] {
            assert!(
                KeyInformation::parse_template(&hex::decode(bad).unwrap()).is_err(),
                "{bad}"
            );
        }
    }

    /// The field order as GlobalPlatformPro prints a real card's CPLC (issue #79): fabricator
    /// 0004, type 000C, …, fabrication date 6FD7, serial 001045C0, batch 18B4, module
    /// fabricator 335D, packaging date 00B8, …, embedding date 7277, then zeros.
    #[test]
    fn cplc_field_order() {
        let value = [
            "0004", "000C", "0000", "0000", "0000", "6FD7", "001045C0", "18B4", "335D", "00B8",
            "0000", "7277", "0000", "0000", "00000000", "0000", "0000", "00000000",
        ]
        .concat();
        let cplc = Cplc::parse(&hex::decode(format!("9F7F2A{value}")).unwrap()).unwrap();
        assert_eq!(cplc.ic_type, [0x00, 0x0C]);
        assert_eq!(cplc.ic_fabrication_date, [0x6F, 0xD7]);
        assert_eq!(cplc.ic_serial_number, [0x00, 0x10, 0x45, 0xC0]);
        assert_eq!(cplc.ic_batch_identifier, [0x18, 0xB4]);
        assert_eq!(cplc.module_fabricator, [0x33, 0x5D]);
        assert_eq!(cplc.module_packaging_date, [0x00, 0xB8]);
        assert_eq!(cplc.ic_embedding_date, [0x72, 0x77]);
        assert_eq!(hex::encode_upper(cplc.value()), value);
        assert_eq!(Cplc::parse(&cplc.encode().unwrap()).unwrap(), cplc);
        assert!(Cplc::parse(&hex::decode("9F7F0100").unwrap()).is_err());
        assert!(Cplc::parse(&[]).is_err());
    }
}
