//! Personalisation of the payment application: what the TSM writes into a new application
//! instance with STORE DATA (as DGIs) and what the application reads back.
//!
//! DGI layout (documented for outside tools; values BER-TLV unless said):
//!
//! | DGI | content | sent |
//! |---|---|---|
//! | `0101` | record SFI 1 / record 1: `70 { 5A PAN, 5F24 expiry YYMMDD, 5F34 PSN, 57 track 2 equivalent }` | clear |
//! | `9102` | application profile: `DF01` crypto (`01` 3DES, `02` SM4), `DF02` account kind (`01` debit, `02` credit, `03` quasi-credit, `06` e-cash), `9F51` currency, `5F28` country | clear |
//! | `9103` | electronic cash: `9F79` balance, `9F77` balance limit, `9F78` single-transaction limit (n12 each, minor units) | clear |
//! | `8000` | ICC master keys: AC ‖ SMI (MAC) ‖ SMC (ENC), 3 × 16 bytes | encrypted under the DEK |
//! | `9104` | risk parameters (optional): `DF03` CVM limit (n12), `DF04` derivation key index | clear |
//! | `0102` | record SFI 1 / record 2 (with fDDA): `70 { 8F CA public key index, 90 issuer public key certificate, 9F4A 82 }` | clear |
//! | `0103` | record SFI 1 / record 3 (with fDDA): `70 { 9F46 ICC public key certificate }` | clear |
//! | `8001` | ICC SM2 private key for fDDA (32 bytes; with `0102` and `0103`) | encrypted under the DEK |
//! | `8002` | remote-payment PIN: ISO 9564 format 2 PIN block (8 bytes) ‖ `FF` × 8 ([`super::signing::PinBlock`]) | encrypted under the DEK |
//! | `8003` | remote-payment signing private key (`01 ‖ PKCS#8` P-256 for 3DES, `02 ‖ scalar` SM2 for SM4), generated **on the card** when `8002` is personalised | never sent: applet-internal |
//!
//! [`CardPersonalization::to_dgis`] gives the first four DGIs in this order;
//! [`CardPersonalization::from_dgis`] accepts them in any order and refuses a set without `0101`,
//! `9102` or `8000`. The last four belong to [`super::profile::CardProfile`] (certificate formats
//! in [`super::certs`]); without them the card answers online only. `8002` and `8003` belong to
//! [`super::signing::CardSigning`]: without them the card signs nothing (`6A88`).

use crate::apdu::{Tag, TlvNode};
use crate::backend::api::AccountKind;
use crate::gp::commands::Dgi;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// DGI of record SFI 1, record 1.
pub const DGI_RECORD_1_1: u16 = 0x0101;
/// DGI of the application profile.
pub const DGI_PROFILE: u16 = 0x9102;
/// DGI of the electronic-cash parameters.
pub const DGI_ECASH: u16 = 0x9103;
/// DGI of the ICC master keys (always sent encrypted under the DEK).
pub const DGI_KEYS: u16 = 0x8000;

const TAG_EXPIRY: Tag = tag(0x5F24);
const TAG_PSN: Tag = tag(0x5F34);
const TAG_CRYPTO: Tag = tag(0xDF01);
const TAG_ACCOUNT_KIND: Tag = tag(0xDF02);
const TAG_CURRENCY: Tag = tag(0x9F51);
const TAG_COUNTRY: Tag = tag(0x5F28);
/// Electronic cash balance (PBOC 3.0).
pub const TAG_ECASH_BALANCE: Tag = tag(0x9F79);
/// Electronic cash balance limit (PBOC 3.0).
pub const TAG_ECASH_BALANCE_LIMIT: Tag = tag(0x9F77);
/// Electronic cash single-transaction limit (PBOC 3.0).
pub const TAG_ECASH_SINGLE_LIMIT: Tag = tag(0x9F78);

/// A tag constant, checked at compile time.
const fn tag(raw: u32) -> Tag {
    match Tag::new(raw) {
        Ok(t) => t,
        Err(_) => panic!("invalid tag constant"),
    }
}

/// The personalisation data is malformed or incomplete.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PersoError {
    /// A required DGI is missing.
    #[error("DGI {0:04X} is missing")]
    MissingDgi(u16),
    /// A DGI or field is malformed.
    #[error("malformed personalisation data: {0}")]
    Malformed(&'static str),
}

/// Which symmetric algorithm the card's cryptograms use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardCrypto {
    /// EMV 3DES (common session key derivation, ARQC method 1).
    Tdes,
    /// PBOC national algorithm SM4.
    Sm4,
}

/// The ICC master keys derived by the issuer for this card. Zeroized on drop (every field is
/// [`Zeroizing`]), never printed.
#[derive(Clone, PartialEq, Eq, Zeroize)]
pub struct CardKeys {
    /// Application cryptogram master key (MK-AC).
    pub ac: Zeroizing<[u8; 16]>,
    /// Secure messaging integrity master key (MK-SMI).
    pub smi: Zeroizing<[u8; 16]>,
    /// Secure messaging confidentiality master key (MK-SMC).
    pub smc: Zeroizing<[u8; 16]>,
}

/// Every field is [`Zeroizing`], so the keys are cleared when the value drops (no `Drop` impl of
/// its own: the public fields stay movable).
impl ZeroizeOnDrop for CardKeys {}

impl std::fmt::Debug for CardKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CardKeys(..)")
    }
}

/// Electronic cash parameters, in minor units (fen).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ECashParams {
    /// Current balance.
    pub balance: u64,
    /// Highest balance the card may hold.
    pub balance_limit: u64,
    /// Highest amount of one offline transaction.
    pub single_transaction_limit: u64,
}

/// Everything the TSM personalises into a payment application instance.
#[derive(Clone, PartialEq, Eq)]
pub struct CardPersonalization {
    /// Kind of the account the card draws on.
    pub account_kind: AccountKind,
    /// The card's PAN (in SE mode a device PAN / token issued for this SE), digits.
    pub pan: String,
    /// PAN sequence number.
    pub pan_sequence: u8,
    /// Expiry date, `YYMMDD`.
    pub expiry: String,
    /// Algorithm of the card's cryptograms.
    pub crypto: CardCrypto,
    /// ISO 4217 numeric currency (156 = CNY).
    pub currency: u16,
    /// ISO 3166 numeric country (156 = China).
    pub country: u16,
    /// ICC master keys.
    pub keys: CardKeys,
    /// Electronic cash, when the account has it.
    pub ecash: Option<ECashParams>,
}

impl std::fmt::Debug for CardPersonalization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CardPersonalization")
            .field("account_kind", &self.account_kind)
            .field("crypto", &self.crypto)
            .field("ecash", &self.ecash)
            .finish_non_exhaustive()
    }
}

impl CardPersonalization {
    /// The DGIs to send, in order. [`DGI_KEYS`] must be encrypted under the DEK by the sender
    /// (see [`is_secret_dgi`]).
    pub fn to_dgis(&self) -> Result<Vec<Dgi>, PersoError> {
        let pan = compressed_numeric(&self.pan, self.pan.len().div_ceil(2))?;
        let expiry = bcd(&self.expiry, 3)?;
        let mut track2 = self.pan.clone();
        track2.push('D');
        track2.push_str(
            self.expiry
                .get(..4)
                .ok_or(PersoError::Malformed("expiry"))?,
        );
        track2.push_str("201"); // service code: international, online authorisation
        let record = TlvNode::constructed(
            Tag::RECORD_TEMPLATE,
            [
                TlvNode::primitive(Tag::PAN, pan),
                TlvNode::primitive(TAG_EXPIRY, expiry),
                TlvNode::primitive(TAG_PSN, vec![bcd_byte(self.pan_sequence)?]),
                TlvNode::primitive(Tag::TRACK2_EQUIVALENT, track2_bytes(&track2)?),
            ],
        );
        let profile = [
            TlvNode::primitive(TAG_CRYPTO, vec![crypto_code(self.crypto)]),
            TlvNode::primitive(TAG_ACCOUNT_KIND, vec![kind_code(self.account_kind)]),
            TlvNode::primitive(TAG_CURRENCY, bcd(&format!("{:04}", self.currency), 2)?),
            TlvNode::primitive(TAG_COUNTRY, bcd(&format!("{:04}", self.country), 2)?),
        ];
        let mut dgis = vec![
            Dgi {
                tag: DGI_RECORD_1_1,
                data: record.encode(),
            },
            Dgi {
                tag: DGI_PROFILE,
                data: concat(&profile),
            },
        ];
        if let Some(ecash) = &self.ecash {
            let values = [
                TlvNode::primitive(TAG_ECASH_BALANCE, amount_n12(ecash.balance)?),
                TlvNode::primitive(TAG_ECASH_BALANCE_LIMIT, amount_n12(ecash.balance_limit)?),
                TlvNode::primitive(
                    TAG_ECASH_SINGLE_LIMIT,
                    amount_n12(ecash.single_transaction_limit)?,
                ),
            ];
            dgis.push(Dgi {
                tag: DGI_ECASH,
                data: concat(&values),
            });
        }
        let mut keys = Vec::with_capacity(48);
        keys.extend_from_slice(&self.keys.ac[..]);
        keys.extend_from_slice(&self.keys.smi[..]);
        keys.extend_from_slice(&self.keys.smc[..]);
        dgis.push(Dgi {
            tag: DGI_KEYS,
            data: keys,
        });
        Ok(dgis)
    }

    /// Reads the personalisation back from its (decrypted) DGIs.
    pub fn from_dgis(dgis: &[Dgi]) -> Result<Self, PersoError> {
        let find = |tag: u16| dgis.iter().find(|d| d.tag == tag);
        let record = find(DGI_RECORD_1_1).ok_or(PersoError::MissingDgi(DGI_RECORD_1_1))?;
        let profile = find(DGI_PROFILE).ok_or(PersoError::MissingDgi(DGI_PROFILE))?;
        let keys = find(DGI_KEYS).ok_or(PersoError::MissingDgi(DGI_KEYS))?;

        let value = |data: &[u8], tag: Tag| -> Result<Vec<u8>, PersoError> {
            crate::apdu::tlv::find(data, tag)
                .map_err(|_| PersoError::Malformed("TLV"))?
                .map(|t| t.value().to_vec())
                .ok_or(PersoError::Malformed("a required tag is missing"))
        };
        let pan = digits_of(&value(&record.data, Tag::PAN)?, true);
        let expiry = digits_of(&value(&record.data, TAG_EXPIRY)?, false);
        let psn_bytes = value(&record.data, TAG_PSN)?;
        let pan_sequence = digits_of(&psn_bytes, false)
            .parse()
            .map_err(|_| PersoError::Malformed("PSN"))?;
        let crypto = match value(&profile.data, TAG_CRYPTO)?.as_slice() {
            [0x01] => CardCrypto::Tdes,
            [0x02] => CardCrypto::Sm4,
            _ => return Err(PersoError::Malformed("crypto")),
        };
        let account_kind = match value(&profile.data, TAG_ACCOUNT_KIND)?.as_slice() {
            [0x01] => AccountKind::Debit,
            [0x02] => AccountKind::Credit,
            [0x03] => AccountKind::QuasiCredit,
            [0x06] => AccountKind::ECash,
            _ => return Err(PersoError::Malformed("account kind")),
        };
        let number = |bytes: Vec<u8>| -> Result<u64, PersoError> {
            digits_of(&bytes, false)
                .parse()
                .map_err(|_| PersoError::Malformed("numeric field"))
        };
        let currency = number(value(&profile.data, TAG_CURRENCY)?)? as u16;
        let country = number(value(&profile.data, TAG_COUNTRY)?)? as u16;
        let ecash = match find(DGI_ECASH) {
            None => None,
            Some(d) => Some(ECashParams {
                balance: number(value(&d.data, TAG_ECASH_BALANCE)?)?,
                balance_limit: number(value(&d.data, TAG_ECASH_BALANCE_LIMIT)?)?,
                single_transaction_limit: number(value(&d.data, TAG_ECASH_SINGLE_LIMIT)?)?,
            }),
        };
        let key = |i: usize| -> Result<Zeroizing<[u8; 16]>, PersoError> {
            let slice = keys
                .data
                .get(i * 16..(i + 1) * 16)
                .ok_or(PersoError::Malformed("keys"))?;
            let mut out = Zeroizing::new([0u8; 16]);
            out.copy_from_slice(slice);
            Ok(out)
        };
        if keys.data.len() != 48 {
            return Err(PersoError::Malformed("keys must be 48 bytes"));
        }
        Ok(Self {
            account_kind,
            pan,
            pan_sequence,
            expiry,
            crypto,
            currency,
            country,
            keys: CardKeys {
                ac: key(0)?,
                smi: key(1)?,
                smc: key(2)?,
            },
            ecash,
        })
    }
}

/// Whether a DGI holds secrets and must travel encrypted under the DEK.
pub fn is_secret_dgi(tag: u16) -> bool {
    tag & 0xF000 == 0x8000
}

/// Encodes an amount as EMV n12 (6 bytes BCD).
pub fn amount_n12(amount: u64) -> Result<Vec<u8>, PersoError> {
    if amount > 999_999_999_999 {
        return Err(PersoError::Malformed("amount beyond n12"));
    }
    bcd(&format!("{amount:012}"), 6)
}

/// Decodes an EMV n12 amount (6 bytes BCD).
pub fn parse_amount_n12(bytes: &[u8]) -> Result<u64, PersoError> {
    if bytes.len() != 6 || bytes.iter().any(|b| b >> 4 > 9 || b & 0x0F > 9) {
        return Err(PersoError::Malformed("n12 amount"));
    }
    digits_of(bytes, false)
        .parse()
        .map_err(|_| PersoError::Malformed("n12 amount"))
}

fn concat(nodes: &[TlvNode]) -> Vec<u8> {
    let mut out = Vec::new();
    nodes.iter().for_each(|n| n.encode_into(&mut out));
    out
}

fn crypto_code(crypto: CardCrypto) -> u8 {
    match crypto {
        CardCrypto::Tdes => 0x01,
        CardCrypto::Sm4 => 0x02,
    }
}

fn kind_code(kind: AccountKind) -> u8 {
    match kind {
        AccountKind::Debit => 0x01,
        AccountKind::Credit => 0x02,
        AccountKind::QuasiCredit => 0x03,
        AccountKind::ECash => 0x06,
    }
}

fn nibble(c: char) -> Result<u8, PersoError> {
    c.to_digit(16)
        .map(|d| d as u8)
        .ok_or(PersoError::Malformed("not a digit"))
}

/// Packs decimal `digits` (left-padded with 0) into `len` BCD bytes.
fn bcd(digits: &str, len: usize) -> Result<Vec<u8>, PersoError> {
    if !digits.chars().all(|c| c.is_ascii_digit()) || digits.len() > len * 2 {
        return Err(PersoError::Malformed("BCD field"));
    }
    let padded = format!("{digits:0>width$}", width = len * 2);
    pack(&padded)
}

fn bcd_byte(value: u8) -> Result<u8, PersoError> {
    if value > 99 {
        return Err(PersoError::Malformed("PSN beyond 99"));
    }
    Ok((value / 10) << 4 | (value % 10))
}

/// Packs digits into bytes, right-padded with `F` (compressed numeric, cn).
fn compressed_numeric(digits: &str, len: usize) -> Result<Vec<u8>, PersoError> {
    if !digits.chars().all(|c| c.is_ascii_digit()) || digits.is_empty() {
        return Err(PersoError::Malformed("PAN"));
    }
    let padded = format!("{digits:F<width$}", width = len * 2);
    pack(&padded)
}

fn track2_bytes(track2: &str) -> Result<Vec<u8>, PersoError> {
    let mut t = track2.to_owned();
    if t.len() % 2 == 1 {
        t.push('F');
    }
    pack(&t)
}

fn pack(hex_digits: &str) -> Result<Vec<u8>, PersoError> {
    let chars: Vec<char> = hex_digits.chars().collect();
    chars
        .chunks(2)
        .map(|pair| match pair {
            [hi, lo] => Ok(nibble(*hi)? << 4 | nibble(*lo)?),
            _ => Err(PersoError::Malformed("odd digit count")),
        })
        .collect()
}

/// Unpacks BCD / cn bytes into digits (stopping at the first `F` pad when `cn`).
fn digits_of(bytes: &[u8], cn: bool) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for nib in bytes.iter().flat_map(|b| [b >> 4, b & 0x0F]) {
        if cn && nib == 0x0F {
            break;
        }
        out.push(char::from_digit(u32::from(nib), 16).unwrap_or('?'));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> CardPersonalization {
        CardPersonalization {
            account_kind: AccountKind::Debit,
            pan: "6222021234567894".into(),
            pan_sequence: 1,
            expiry: "301231".into(),
            crypto: CardCrypto::Sm4,
            currency: 156,
            country: 156,
            keys: CardKeys {
                ac: Zeroizing::new([0x11; 16]),
                smi: Zeroizing::new([0x22; 16]),
                smc: Zeroizing::new([0x33; 16]),
            },
            ecash: Some(ECashParams {
                balance: 10_000,
                balance_limit: 100_000,
                single_transaction_limit: 50_000,
            }),
        }
    }

    #[test]
    fn dgis_follow_the_documented_layout() {
        let dgis = sample().to_dgis().unwrap();
        let tags: Vec<u16> = dgis.iter().map(|d| d.tag).collect();
        assert_eq!(tags, vec![0x0101, 0x9102, 0x9103, 0x8000]);
        // 70 { 5A 08 6222021234567894, 5F24 03 301231, 5F34 01 01, 57 0C 6222021234567894 D 3012 201 }
        assert_eq!(
            hex::encode_upper(&dgis[0].data),
            "70225A0862220212345678945F24033012315F340101570C6222021234567894D3012201"
        );
        assert_eq!(
            hex::encode_upper(&dgis[1].data),
            "DF010102DF0201019F510201565F28020156"
        );
        assert_eq!(
            hex::encode_upper(&dgis[2].data),
            "9F79060000000100009F77060000001000009F7806000000050000"
        );
        assert_eq!(dgis[3].data.len(), 48);
        assert!(is_secret_dgi(0x8000) && !is_secret_dgi(0x9103) && !is_secret_dgi(0x0101));
    }

    #[test]
    fn round_trips_in_any_order_and_refuses_missing_parts() {
        let perso = sample();
        let mut dgis = perso.to_dgis().unwrap();
        dgis.reverse();
        assert_eq!(CardPersonalization::from_dgis(&dgis).unwrap(), perso);
        let without_keys: Vec<Dgi> = dgis.iter().filter(|d| d.tag != DGI_KEYS).cloned().collect();
        assert_eq!(
            CardPersonalization::from_dgis(&without_keys),
            Err(PersoError::MissingDgi(DGI_KEYS))
        );
        let mut no_ecash = perso.clone();
        no_ecash.ecash = None;
        no_ecash.pan = "6222601234567890126".into(); // odd length: F-padded
        assert_eq!(
            CardPersonalization::from_dgis(&no_ecash.to_dgis().unwrap()).unwrap(),
            no_ecash
        );
    }

    #[test]
    fn n12_amounts() {
        assert_eq!(hex::encode(amount_n12(12_345).unwrap()), "000000012345");
        assert_eq!(
            parse_amount_n12(&amount_n12(999_999_999_999).unwrap()).unwrap(),
            999_999_999_999
        );
        assert!(amount_n12(1_000_000_000_000).is_err());
        assert!(parse_amount_n12(&[0, 0, 0, 0, 0x1A, 0]).is_err());
        assert!(parse_amount_n12(&[0; 5]).is_err());
    }
}
