//! STORE DATA (Card Specification §11.11) and data grouping identifiers (EMV Card
//! Personalization Specification): personalization data for the application selected by
//! INSTALL [for personalization].
//!
//! P1: b8 last block (`80`); b7-b6 encryption (`00` none, `20` application dependent, `60`
//! encrypted); b5-b4 structure (`00` unspecified, `08` DGI, `10` BER-TLV). P2: block number.
//! A DGI is a 2-byte tag, a length (1 byte `00`-`FE`, or `FF` and 2 bytes) and the data.

use super::{expect_command, gp_command, ins};
use crate::apdu::CommandApdu;
use crate::gp::reader::Reader;
use crate::gp::GpError;

/// P1 bit of the last block.
pub const P1_LAST_BLOCK: u8 = 0x80;
/// Bits 7-6 of P1.
const ENCRYPTION_MASK: u8 = 0x60;
/// Bits 5-4 of P1.
const STRUCTURE_MASK: u8 = 0x18;

/// Encryption information in P1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreDataEncryption {
    /// `00`: no general encryption information, or not encrypted.
    None,
    /// `20`: application-dependent encryption.
    ApplicationDependent,
    /// `60`: the data is encrypted (with the DEK).
    Encrypted,
}

/// Data structure information in P1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataStructure {
    /// `00`: no general data structure information.
    Unspecified,
    /// `08`: DGI format.
    Dgi,
    /// `10`: BER-TLV format.
    BerTlv,
}

/// One STORE DATA command. `Debug` hides the data (it may hold keys).
#[derive(Clone, PartialEq, Eq)]
pub struct StoreData {
    /// Whether this is the last block.
    pub last: bool,
    /// Block number (P2), from 0.
    pub block_number: u8,
    /// Encryption information.
    pub encryption: StoreDataEncryption,
    /// Data structure information.
    pub structure: DataStructure,
    /// The data field.
    pub data: Vec<u8>,
}

impl StoreData {
    /// P1 of this command.
    pub fn p1(&self) -> u8 {
        let last = if self.last { P1_LAST_BLOCK } else { 0 };
        let encryption = match self.encryption {
            StoreDataEncryption::None => 0x00,
            StoreDataEncryption::ApplicationDependent => 0x20,
            StoreDataEncryption::Encrypted => 0x60,
        };
        let structure = match self.structure {
            DataStructure::Unspecified => 0x00,
            DataStructure::Dgi => 0x08,
            DataStructure::BerTlv => 0x10,
        };
        last | encryption | structure
    }

    /// The command APDU (`80 E2 P1 P2 Lc data`, no Le).
    pub fn to_apdu(&self) -> Result<CommandApdu, GpError> {
        gp_command(
            ins::STORE_DATA,
            self.p1(),
            self.block_number,
            self.data.clone(),
            false,
        )
    }

    /// Decodes a STORE DATA command (card side). Reserved P1 codings are rejected.
    pub fn parse(cmd: &CommandApdu) -> Result<StoreData, GpError> {
        expect_command(cmd, ins::STORE_DATA, "not STORE DATA")?;
        let p1 = cmd.p1();
        let encryption = match p1 & ENCRYPTION_MASK {
            0x00 => StoreDataEncryption::None,
            0x20 => StoreDataEncryption::ApplicationDependent,
            0x60 => StoreDataEncryption::Encrypted,
            _ => {
                return Err(GpError::InvalidParameter(
                    "reserved STORE DATA encryption coding",
                ))
            }
        };
        let structure = match p1 & STRUCTURE_MASK {
            0x00 => DataStructure::Unspecified,
            0x08 => DataStructure::Dgi,
            0x10 => DataStructure::BerTlv,
            _ => {
                return Err(GpError::InvalidParameter(
                    "reserved STORE DATA structure coding",
                ))
            }
        };
        if p1 & 0x07 != 0 {
            return Err(GpError::InvalidParameter("reserved STORE DATA P1 bits"));
        }
        Ok(StoreData {
            last: p1 & P1_LAST_BLOCK != 0,
            block_number: cmd.p2(),
            encryption,
            structure,
            data: cmd.data().to_vec(),
        })
    }

    /// Cuts `data` (e.g. [`Dgi::encode_all`] output) into STORE DATA blocks of at most
    /// `block_size` bytes, numbered from 0, the last one marked.
    pub fn sequence(
        data: &[u8],
        block_size: usize,
        encryption: StoreDataEncryption,
        structure: DataStructure,
    ) -> Result<Vec<StoreData>, GpError> {
        if block_size == 0 || block_size > 255 {
            return Err(GpError::InvalidParameter(
                "STORE DATA block size must be 1 to 255",
            ));
        }
        let chunks: Vec<&[u8]> = data.chunks(block_size).collect();
        let count = chunks.len().max(1);
        if count > 256 {
            return Err(GpError::InvalidParameter("more than 256 STORE DATA blocks"));
        }
        let chunks = if chunks.is_empty() {
            vec![&[][..]]
        } else {
            chunks
        };
        chunks
            .into_iter()
            .enumerate()
            .map(|(i, chunk)| {
                Ok(StoreData {
                    last: i + 1 == count,
                    block_number: u8::try_from(i)
                        .map_err(|_| GpError::InvalidParameter("block number"))?,
                    encryption,
                    structure,
                    data: chunk.to_vec(),
                })
            })
            .collect()
    }
}

impl std::fmt::Debug for StoreData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreData")
            .field("p1", &format_args!("{:02X}", self.p1()))
            .field("block_number", &self.block_number)
            .field("len", &self.data.len())
            .finish()
    }
}

/// One data grouping: a 2-byte identifier and its data. `Debug` hides the data, and the data
/// is wiped when the DGI is dropped (secret DGIs `8000`–`8003` carry keys and the PIN block in
/// clear until they are encrypted).
#[derive(Clone, PartialEq, Eq, zeroize::Zeroize, zeroize::ZeroizeOnDrop)]
pub struct Dgi {
    /// The identifier, e.g. `0101` (a record) or `8000` (keys).
    #[zeroize(skip)]
    pub tag: u16,
    /// The data.
    pub data: Vec<u8>,
}

impl Dgi {
    /// Appends this DGI's encoding: tag, length (1 byte below 255, else `FF hi lo`), data.
    pub fn encode_into(&self, out: &mut Vec<u8>) -> Result<(), GpError> {
        out.extend_from_slice(&self.tag.to_be_bytes());
        match u8::try_from(self.data.len()) {
            Ok(len) if len < 0xFF => out.push(len),
            _ => {
                let len = u16::try_from(self.data.len())
                    .map_err(|_| GpError::InvalidParameter("DGI longer than 65535 bytes"))?;
                out.push(0xFF);
                out.extend_from_slice(&len.to_be_bytes());
            }
        }
        out.extend_from_slice(&self.data);
        Ok(())
    }

    /// Encodes several DGIs one after the other.
    pub fn encode_all(dgis: &[Dgi]) -> Result<Vec<u8>, GpError> {
        let mut out = Vec::new();
        dgis.iter().try_for_each(|dgi| dgi.encode_into(&mut out))?;
        Ok(out)
    }

    /// Decodes a sequence of DGIs (e.g. the data of all STORE DATA blocks).
    pub fn parse_all(data: &[u8]) -> Result<Vec<Dgi>, GpError> {
        let mut r = Reader::command(data);
        let mut out = Vec::new();
        while !r.is_empty() {
            let tag = u16::from_be_bytes(r.array("DGI tag")?);
            let len = match r.byte("DGI length")? {
                0xFF => usize::from(u16::from_be_bytes(r.array("DGI length")?)),
                len => usize::from(len),
            };
            out.push(Dgi {
                tag,
                data: r.take(len, "DGI data")?.to_vec(),
            });
        }
        Ok(out)
    }
}

impl std::fmt::Debug for Dgi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Dgi({:04X}, len {})", self.tag, self.data.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dgi_length_forms() {
        let dgis = vec![
            Dgi {
                tag: 0x0101,
                data: vec![0x70, 0x00],
            },
            Dgi {
                tag: 0x8000,
                data: vec![0xAB; 254],
            },
            Dgi {
                tag: 0x9000,
                data: vec![0xCD; 255],
            },
            Dgi {
                tag: 0x0202,
                data: Vec::new(),
            },
        ];
        let encoded = Dgi::encode_all(&dgis).unwrap();
        assert_eq!(encoded[..5], [0x01, 0x01, 0x02, 0x70, 0x00]);
        assert_eq!(encoded[5..8], [0x80, 0x00, 0xFE]);
        assert_eq!(encoded[262..267], [0x90, 0x00, 0xFF, 0x00, 0xFF]);
        assert_eq!(encoded[encoded.len() - 3..], [0x02, 0x02, 0x00]);
        assert_eq!(Dgi::parse_all(&encoded).unwrap(), dgis);
        assert!(Dgi::parse_all(&[0x01, 0x01, 0x05, 0x00]).is_err());
        assert!(Dgi::parse_all(&[0x01, 0x01, 0xFF, 0x00]).is_err());
        assert!(Dgi::parse_all(&[0x01]).is_err());
        assert!(Dgi {
            tag: 1,
            data: vec![0; 65536]
        }
        .encode_into(&mut Vec::new())
        .is_err());
    }

    #[test]
    fn store_data_p1_and_round_trip() {
        let dgis = [Dgi {
            tag: 0x0101,
            data: vec![0x5A; 300],
        }];
        let stream = Dgi::encode_all(&dgis).unwrap();
        let blocks =
            StoreData::sequence(&stream, 200, StoreDataEncryption::None, DataStructure::Dgi)
                .unwrap();
        assert_eq!(blocks.len(), 2);
        let first = blocks[0].to_apdu().unwrap().to_bytes();
        assert_eq!(hex::encode_upper(&first[..9]), "80E20800C80101FF01");
        assert_eq!(blocks[1].p1(), 0x88);
        let mut joined = Vec::new();
        for block in &blocks {
            let parsed = StoreData::parse(&block.to_apdu().unwrap()).unwrap();
            assert_eq!(&parsed, block);
            joined.extend_from_slice(&parsed.data);
        }
        assert_eq!(Dgi::parse_all(&joined).unwrap(), dgis);

        let encrypted = StoreData {
            last: true,
            block_number: 3,
            encryption: StoreDataEncryption::Encrypted,
            structure: DataStructure::BerTlv,
            data: vec![1],
        };
        assert_eq!(encrypted.p1(), 0xF0);
        assert_eq!(
            StoreData::parse(&encrypted.to_apdu().unwrap()).unwrap(),
            encrypted
        );
        for p1 in [0x40u8, 0x18, 0x01] {
            let cmd = CommandApdu::new(0x80, 0xE2, p1, 0)
                .with_data(vec![1])
                .unwrap();
            assert!(StoreData::parse(&cmd).is_err(), "{p1:02X}");
        }
        let empty =
            StoreData::sequence(&[], 10, StoreDataEncryption::None, DataStructure::Dgi).unwrap();
        assert_eq!(empty.len(), 1);
        assert!(empty[0].last);
    }
}
