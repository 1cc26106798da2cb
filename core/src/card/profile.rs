//! The whole personalisation of the card application: the base [`CardPersonalization`] plus what
//! the contactless transaction adds — the fDDA keys and certificates ([`FddaPerso`]) and the risk
//! parameters ([`RiskParams`]) — in DGIs of their own (see the table in [`super::perso`]), so
//! that a base personalisation stays valid: without them the card answers online only.
//!
//! Records the card serves (READ RECORD, all in SFI 1; the AFL is `08 01 nn 00`, no record
//! counted for offline data authentication, whose static data is the AIP alone):
//!
//! | record | DGI | content |
//! |---|---|---|
//! | 1 | `0101` | `70 { 5A, 5F24, 5F34, 57 }` |
//! | 2 | `0102` | `70 { 8F CA public key index, 90 issuer public key certificate, 9F4A 82 }` (with fDDA) |
//! | 3 | `0103` | `70 { 9F46 ICC public key certificate }` (with fDDA) |

use super::perso::{amount_n12, parse_amount_n12, CardPersonalization, PersoError, DGI_RECORD_1_1};
use crate::apdu::{tlv, Tag, TlvNode};
use crate::gp::commands::Dgi;
use zeroize::Zeroizing;

/// DGI of record SFI 1 / record 2 (CA index, issuer certificate, SDA tag list).
pub const DGI_RECORD_1_2: u16 = 0x0102;
/// DGI of record SFI 1 / record 3 (ICC certificate).
pub const DGI_RECORD_1_3: u16 = 0x0103;
/// DGI of the risk parameters.
pub const DGI_RISK: u16 = 0x9104;
/// DGI of the ICC private key for fDDA (SM2 scalar, 32 bytes; encrypted under the DEK).
pub const DGI_ICC_PRIVATE_KEY: u16 = 0x8001;

/// Certification authority public key index.
pub const TAG_CA_INDEX: Tag = tag(0x8F);
/// Issuer public key certificate.
pub const TAG_ISSUER_CERTIFICATE: Tag = tag(0x90);
/// ICC public key certificate.
pub const TAG_ICC_CERTIFICATE: Tag = tag(0x9F46);
/// Static data authentication tag list.
pub const TAG_SDA_TAG_LIST: Tag = tag(0x9F4A);
/// CVM limit of contactless transactions (proprietary, n12).
pub const TAG_CVM_LIMIT: Tag = tag(0xDF03);
/// Derivation key index written into the issuer application data (proprietary).
pub const TAG_DKI: Tag = tag(0xDF04);

const fn tag(raw: u32) -> Tag {
    match Tag::new(raw) {
        Ok(t) => t,
        Err(_) => panic!("invalid tag constant"),
    }
}

/// Offline data authentication material: the ICC's SM2 key and its certificate chain.
#[derive(Clone, PartialEq, Eq)]
pub struct FddaPerso {
    /// Index of the CA public key the terminal needs (`8F`).
    pub ca_index: u8,
    /// Issuer public key certificate signed by the CA (`90`).
    pub issuer_certificate: Vec<u8>,
    /// ICC public key certificate signed by the issuer (`9F46`).
    pub icc_certificate: Vec<u8>,
    /// The ICC's SM2 private key (scalar, big-endian). Never printed.
    pub icc_private_key: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for FddaPerso {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FddaPerso")
            .field("ca_index", &self.ca_index)
            .finish_non_exhaustive()
    }
}

/// Card risk parameters of the contactless transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RiskParams {
    /// Above this amount (minor units) an online transaction asks for online PIN unless the
    /// cardholder was verified on the device.
    pub cvm_limit: u64,
    /// Derivation key index reported in the issuer application data.
    pub derivation_key_index: u8,
}

impl Default for RiskParams {
    /// CVM limit ¥1,000.00, DKI 1.
    fn default() -> Self {
        RiskParams {
            cvm_limit: 100_000,
            derivation_key_index: 0x01,
        }
    }
}

/// Everything the card application is personalised with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardProfile {
    /// The base personalisation (PAN, keys, e-cash…).
    pub perso: CardPersonalization,
    /// Offline data authentication; without it the card never approves offline.
    pub fdda: Option<FddaPerso>,
    /// Risk parameters.
    pub risk: RiskParams,
}

impl CardProfile {
    /// A profile with the base personalisation only: no fDDA, default risk parameters.
    pub fn new(perso: CardPersonalization) -> CardProfile {
        CardProfile {
            perso,
            fdda: None,
            risk: RiskParams::default(),
        }
    }

    /// The application interchange profile: issuer authentication supported (`04`), plus DDA
    /// (`20`) with fDDA material.
    pub fn aip(&self) -> [u8; 2] {
        let dda = if self.fdda.is_some() { 0x20 } else { 0x00 };
        [0x04 | dda, 0x00]
    }

    /// The records of SFI 1, in order (record 1 first), as READ RECORD returns them.
    pub fn records(&self) -> Result<Vec<Vec<u8>>, PersoError> {
        let mut records = vec![self.record_1()?];
        if let Some(fdda) = &self.fdda {
            let (r2, r3) = fdda_records(fdda);
            records.push(r2);
            records.push(r3);
        }
        Ok(records)
    }

    fn record_1(&self) -> Result<Vec<u8>, PersoError> {
        self.perso
            .to_dgis()?
            .into_iter()
            .find(|d| d.tag == DGI_RECORD_1_1)
            .map(|mut d| std::mem::take(&mut d.data))
            .ok_or(PersoError::MissingDgi(DGI_RECORD_1_1))
    }

    /// The DGIs to send: those of [`CardPersonalization::to_dgis`], then `0102`, `0103`
    /// (with fDDA), `9104`, and `8001` (with fDDA; secret, to encrypt under the DEK).
    pub fn to_dgis(&self) -> Result<Vec<Dgi>, PersoError> {
        let mut dgis = self.perso.to_dgis()?;
        let risk = [
            TlvNode::primitive(TAG_CVM_LIMIT, amount_n12(self.risk.cvm_limit)?),
            TlvNode::primitive(TAG_DKI, vec![self.risk.derivation_key_index]),
        ];
        let mut risk_data = Vec::new();
        risk.iter().for_each(|n| n.encode_into(&mut risk_data));
        dgis.push(Dgi {
            tag: DGI_RISK,
            data: risk_data,
        });
        if let Some(fdda) = &self.fdda {
            let (r2, r3) = fdda_records(fdda);
            dgis.push(Dgi {
                tag: DGI_RECORD_1_2,
                data: r2,
            });
            dgis.push(Dgi {
                tag: DGI_RECORD_1_3,
                data: r3,
            });
            dgis.push(Dgi {
                tag: DGI_ICC_PRIVATE_KEY,
                data: fdda.icc_private_key.to_vec(),
            });
        }
        Ok(dgis)
    }

    /// Reads the profile back from its (decrypted) DGIs, in any order. `9104` is optional
    /// (defaults); `8001`, `0102` and `0103` come together or not at all.
    pub fn from_dgis(dgis: &[Dgi]) -> Result<CardProfile, PersoError> {
        let perso = CardPersonalization::from_dgis(dgis)?;
        let find = |tag: u16| dgis.iter().find(|d| d.tag == tag);
        let value = |data: &[u8], tag: Tag| -> Result<Vec<u8>, PersoError> {
            tlv::find(data, tag)
                .map_err(|_| PersoError::Malformed("TLV"))?
                .map(|t| t.value().to_vec())
                .ok_or(PersoError::Malformed("a required tag is missing"))
        };
        let risk = match find(DGI_RISK) {
            None => RiskParams::default(),
            Some(d) => RiskParams {
                cvm_limit: parse_amount_n12(&value(&d.data, TAG_CVM_LIMIT)?)?,
                derivation_key_index: match value(&d.data, TAG_DKI)?.as_slice() {
                    [dki] => *dki,
                    _ => return Err(PersoError::Malformed("DKI")),
                },
            },
        };
        let fdda = match (
            find(DGI_ICC_PRIVATE_KEY),
            find(DGI_RECORD_1_2),
            find(DGI_RECORD_1_3),
        ) {
            (None, None, None) => None,
            (Some(key), Some(r2), Some(r3)) => {
                if key.data.len() != 32 {
                    return Err(PersoError::Malformed("ICC private key must be 32 bytes"));
                }
                // Copied straight into zeroizing memory (no temporary array on the stack).
                let mut icc_private_key = Zeroizing::new([0u8; 32]);
                icc_private_key.copy_from_slice(&key.data);
                let ca_index = match value(&r2.data, TAG_CA_INDEX)?.as_slice() {
                    [index] => *index,
                    _ => return Err(PersoError::Malformed("CA public key index")),
                };
                Some(FddaPerso {
                    ca_index,
                    issuer_certificate: value(&r2.data, TAG_ISSUER_CERTIFICATE)?,
                    icc_certificate: value(&r3.data, TAG_ICC_CERTIFICATE)?,
                    icc_private_key,
                })
            }
            _ => {
                return Err(PersoError::Malformed(
                    "fDDA DGIs 0102, 0103, 8001 go together",
                ))
            }
        };
        Ok(CardProfile { perso, fdda, risk })
    }
}

/// Records 2 and 3 of SFI 1.
fn fdda_records(fdda: &FddaPerso) -> (Vec<u8>, Vec<u8>) {
    let r2 = TlvNode::constructed(
        Tag::RECORD_TEMPLATE,
        [
            TlvNode::primitive(TAG_CA_INDEX, vec![fdda.ca_index]),
            TlvNode::primitive(TAG_ISSUER_CERTIFICATE, fdda.issuer_certificate.clone()),
            TlvNode::primitive(TAG_SDA_TAG_LIST, vec![0x82]),
        ],
    );
    let r3 = TlvNode::constructed(
        Tag::RECORD_TEMPLATE,
        [TlvNode::primitive(
            TAG_ICC_CERTIFICATE,
            fdda.icc_certificate.clone(),
        )],
    );
    (r2.encode(), r3.encode())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::api::AccountKind;
    use crate::card::perso::{is_secret_dgi, CardCrypto, CardKeys, ECashParams};

    fn perso() -> CardPersonalization {
        CardPersonalization {
            account_kind: AccountKind::Credit,
            pan: "6288881234567890".into(),
            pan_sequence: 1,
            expiry: "301231".into(),
            crypto: CardCrypto::Tdes,
            currency: 156,
            country: 156,
            keys: CardKeys {
                ac: Zeroizing::new([1; 16]),
                smi: Zeroizing::new([2; 16]),
                smc: Zeroizing::new([3; 16]),
            },
            ecash: Some(ECashParams {
                balance: 1,
                balance_limit: 2,
                single_transaction_limit: 2,
            }),
        }
    }

    fn with_fdda() -> CardProfile {
        CardProfile {
            fdda: Some(FddaPerso {
                ca_index: 0x80,
                issuer_certificate: vec![0x12; 142],
                icc_certificate: vec![0x14; 148],
                icc_private_key: Zeroizing::new([7; 32]),
            }),
            risk: RiskParams {
                cvm_limit: 30_000,
                derivation_key_index: 2,
            },
            ..CardProfile::new(perso())
        }
    }

    #[test]
    fn dgis_follow_the_documented_layout_and_round_trip() {
        let profile = with_fdda();
        let dgis = profile.to_dgis().unwrap();
        let tags: Vec<u16> = dgis.iter().map(|d| d.tag).collect();
        assert_eq!(
            tags,
            [0x0101, 0x9102, 0x9103, 0x8000, 0x9104, 0x0102, 0x0103, 0x8001]
        );
        let get = |t: u16| &dgis.iter().find(|d| d.tag == t).unwrap().data;
        assert_eq!(hex::encode_upper(get(0x9104)), "DF0306000000030000DF040102");
        // 70 81 98 { 8F 01 80, 90 81 8E <142>, 9F4A 01 82 }
        assert_eq!(hex::encode_upper(&get(0x0102)[..9]), "7081988F018090818E");
        assert_eq!(hex::encode_upper(&get(0x0102)[151..]), "9F4A0182");
        assert_eq!(hex::encode_upper(&get(0x0103)[..6]), "7081989F4681");
        assert_eq!(get(0x8001), &vec![7; 32]);
        assert!(is_secret_dgi(0x8001) && !is_secret_dgi(0x9104));
        // Every DGI fits one STORE DATA (255 bytes with its 3-byte header).
        assert!(dgis.iter().all(|d| d.data.len() + 3 <= 255));

        let mut shuffled = dgis.clone();
        shuffled.reverse();
        assert_eq!(CardProfile::from_dgis(&shuffled).unwrap(), profile);
        assert_eq!(profile.aip(), [0x24, 0x00]);
        let records = profile.records().unwrap();
        assert_eq!(records.len(), 3);
        assert_eq!(&records[1], get(0x0102));
    }

    #[test]
    fn base_personalisation_alone_is_an_online_only_profile() {
        let base = perso().to_dgis().unwrap();
        let profile = CardProfile::from_dgis(&base).unwrap();
        assert_eq!(profile, CardProfile::new(perso()));
        assert_eq!(profile.aip(), [0x04, 0x00]);
        assert_eq!(profile.records().unwrap().len(), 1);
        assert!(!format!("{:?}", with_fdda()).contains("07, 07"));

        let mut partial = with_fdda().to_dgis().unwrap();
        partial.retain(|d| d.tag != DGI_RECORD_1_3);
        assert_eq!(
            CardProfile::from_dgis(&partial),
            Err(PersoError::Malformed(
                "fDDA DGIs 0102, 0103, 8001 go together"
            ))
        );
    }
}
