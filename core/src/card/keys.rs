//! The card cryptography of EMV / PBOC 3.0, written once for the card application and the
//! issuer that checks its cryptograms.
//!
//! | step | 3DES profile ([`CardCrypto::Tdes`]) | SM4 profile ([`CardCrypto::Sm4`]) |
//! |---|---|---|
//! | ICC master key from an issuer master key | EMV Book 2 A1.4.1 option A: `3DES(IMK)[Y] ‖ 3DES(IMK)[Y ⊕ FF…]`, odd parity | PBOC: `SM4(IMK)[Y ‖ (Y ⊕ FF…)]` |
//! | session key of ATC `n` | EMV A1.3.1 common session key derivation: `3DES(MK)[n ‖ F0 ‖ 00×5] ‖ 3DES(MK)[n ‖ 0F ‖ 00×5]`, odd parity | A1.3.1 for a 16-byte block: `SM4(MK)[n ‖ F0 ‖ 00×13]` |
//! | application cryptogram (ARQC / TC / AAC) | ISO/IEC 9797-1 MAC algorithm 3 (single-DES retail MAC), padding method 2, 8 bytes | SM4 MAC (MAC algorithm 1), padding method 2, leftmost 8 bytes |
//! | ARPC, method 1 (EMV Book 2 §8.2.1) | `3DES(SK-AC)[ARQC ⊕ (ARC ‖ 00×6)]` | leftmost 8 bytes of `SM4(SK-AC)[(ARQC ⊕ (ARC ‖ 00×6)) ‖ 00×8]` |
//! | issuer script MAC (EMV Book 2 §9.2.3) | MAC algorithm 3 under SK-SMI, padding method 2, leftmost 4 bytes | SM4 MAC under SK-SMI, leftmost 4 bytes |
//!
//! `Y` is [`derivation_data`]: the rightmost 16 digits of PAN ‖ PSN (two digits), left-padded with
//! `0`, packed as 8 BCD bytes. The session keys of every master key (AC, SMI, SMC) are derived with
//! the same diversification value `R = ATC ‖ 00…` (EMV also allows `R = ARQC` for the secure
//! messaging keys; this profile keeps one rule). Each ATC is used for one transaction only (the
//! card persists it before answering), so no session key serves twice.
//!
//! The application cryptogram covers [`CryptogramData::encode`], the qPBOC data list (37 bytes):
//!
//! | # | data element | tag | bytes |
//! |---|---|---|---|
//! | 1 | amount, authorised | `9F02` | 6 |
//! | 2 | amount, other | `9F03` | 6 |
//! | 3 | terminal country code | `9F1A` | 2 |
//! | 4 | terminal verification results | `95` | 5 |
//! | 5 | transaction currency code | `5F2A` | 2 |
//! | 6 | transaction date | `9A` | 3 |
//! | 7 | transaction type | `9C` | 1 |
//! | 8 | unpredictable number | `9F37` | 4 |
//! | 9 | application interchange profile | `82` | 2 |
//! | 10 | application transaction counter | `9F36` | 2 |
//! | 11 | card verification results: bytes 4–7 of the issuer application data | `9F10` | 4 |
//!
//! The script MAC covers `CLA INS P1 P2 Lc ‖ ATC ‖ ARQC ‖ data`, where `Lc` counts the data and
//! the MAC, and ATC / ARQC are those of the transaction that carried the script.

use crate::card::perso::{CardCrypto, CardKeys};
use crate::crypto::des::{tdes_ecb_encrypt, BLOCK_LEN as DES_BLOCK};
use crate::crypto::mac::{retail_mac, verify_mac, Padding};
use crate::crypto::sm4::{sm4_ecb_encrypt, sm4_mac, BLOCK_LEN as SM4_BLOCK};
use crate::crypto::CryptoError;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// Length of an application cryptogram (ARQC, TC, AAC) and of an ARPC.
pub const AC_LEN: usize = 8;
/// Length of the issuer script MAC.
pub const SCRIPT_MAC_LEN: usize = 4;
/// Length of [`CryptogramData::encode`].
pub const CRYPTOGRAM_DATA_LEN: usize = 37;

/// A 16-byte secret key, zeroized on drop.
type Key16 = Zeroizing<[u8; 16]>;

/// The issuer master keys (IMK) a card's master keys are derived from. Zeroized on drop (every
/// field is [`Zeroizing`]), never printed.
#[derive(Clone, PartialEq, Eq, Zeroize)]
pub struct IssuerMasterKeys {
    /// IMK for application cryptograms.
    pub ac: Key16,
    /// IMK for secure messaging integrity (script MACs).
    pub smi: Key16,
    /// IMK for secure messaging confidentiality.
    pub smc: Key16,
}

/// Every field is [`Zeroizing`], so the keys are cleared when the value drops (no `Drop` impl of
/// its own: the public fields stay movable).
impl ZeroizeOnDrop for IssuerMasterKeys {}

impl std::fmt::Debug for IssuerMasterKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IssuerMasterKeys(..)")
    }
}

impl IssuerMasterKeys {
    /// The three ICC master keys of card `pan` / `psn` (see [`derive_icc_master_key`]).
    pub fn derive_card_keys(
        &self,
        crypto: CardCrypto,
        pan: &str,
        psn: u8,
    ) -> Result<CardKeys, CryptoError> {
        Ok(CardKeys {
            ac: derive_icc_master_key(crypto, &self.ac, pan, psn)?,
            smi: derive_icc_master_key(crypto, &self.smi, pan, psn)?,
            smc: derive_icc_master_key(crypto, &self.smc, pan, psn)?,
        })
    }
}

/// The derivation data `Y` of EMV Book 2 A1.4.1: the rightmost 16 digits of PAN ‖ PSN (PSN as
/// two digits), left-padded with `0`, as 8 BCD bytes.
pub fn derivation_data(pan: &str, psn: u8) -> Result<[u8; 8], CryptoError> {
    if pan.is_empty() || !pan.bytes().all(|b| b.is_ascii_digit()) || psn > 99 {
        return Err(CryptoError::InvalidInput(
            "PAN must be digits and PSN at most 99",
        ));
    }
    let digits = format!("{pan}{psn:02}");
    let tail = digits.get(digits.len().saturating_sub(16)..).unwrap_or("");
    let padded = format!("{tail:0>16}");
    let mut out = [0u8; 8];
    for (byte, pair) in out.iter_mut().zip(padded.as_bytes().chunks(2)) {
        let [hi, lo] = pair else {
            return Err(CryptoError::InvalidInput("PAN digits"));
        };
        *byte = ((hi - b'0') << 4) | (lo - b'0');
    }
    Ok(out)
}

/// One ICC master key from the issuer master key `imk` (see the [module table](self)).
pub fn derive_icc_master_key(
    crypto: CardCrypto,
    imk: &[u8; 16],
    pan: &str,
    psn: u8,
) -> Result<Key16, CryptoError> {
    let y = derivation_data(pan, psn)?;
    let mut input = Zeroizing::new([0u8; 16]);
    let (left, right) = input.split_at_mut(8);
    left.copy_from_slice(&y);
    right.iter_mut().zip(&y).for_each(|(r, b)| *r = !b);
    match crypto {
        CardCrypto::Tdes => {
            let out = Zeroizing::new(tdes_ecb_encrypt(imk, &input[..])?);
            to_key(&out, true)
        }
        CardCrypto::Sm4 => {
            let out = Zeroizing::new(sm4_ecb_encrypt(imk, &input[..])?);
            to_key(&out, false)
        }
    }
}

/// Copies 16 cipher output bytes into a key, adjusting DES parity if asked.
fn to_key(bytes: &[u8], des_parity: bool) -> Result<Key16, CryptoError> {
    let mut key = Zeroizing::new([0u8; 16]);
    let src = bytes
        .get(..16)
        .ok_or(CryptoError::InvalidInput("cipher output"))?;
    key.copy_from_slice(src);
    if des_parity {
        key.iter_mut().for_each(|b| *b = odd_parity(*b));
    }
    Ok(key)
}

/// `b` with its least significant bit set so that it has an odd number of one bits.
const fn odd_parity(b: u8) -> u8 {
    let high = b & 0xFE;
    if high.count_ones() % 2 == 0 {
        high | 1
    } else {
        high
    }
}

/// A session key derived from an ICC master key and an ATC. Zeroized on drop, never printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SessionKey {
    #[zeroize(skip)]
    crypto: CardCrypto,
    key: Key16,
}

impl std::fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SessionKey({:?}, ..)", self.crypto)
    }
}

impl SessionKey {
    /// The session key of transaction `atc` under the ICC master key `master` (see the
    /// [module table](self)).
    pub fn derive(crypto: CardCrypto, master: &[u8; 16], atc: u16) -> Result<Self, CryptoError> {
        let [a0, a1] = atc.to_be_bytes();
        let key = match crypto {
            CardCrypto::Tdes => {
                let input = [
                    a0, a1, 0xF0, 0, 0, 0, 0, 0, //
                    a0, a1, 0x0F, 0, 0, 0, 0, 0,
                ];
                to_key(&Zeroizing::new(tdes_ecb_encrypt(master, &input)?), true)?
            }
            CardCrypto::Sm4 => {
                let mut input = [0u8; SM4_BLOCK];
                input[..3].copy_from_slice(&[a0, a1, 0xF0]);
                to_key(&Zeroizing::new(sm4_ecb_encrypt(master, &input)?), false)?
            }
        };
        Ok(Self { crypto, key })
    }

    /// The algorithm this key belongs to.
    pub const fn crypto(&self) -> CardCrypto {
        self.crypto
    }

    /// A full-block MAC over `data` with padding method 2: the retail MAC (8 bytes) for 3DES,
    /// the SM4 MAC (16 bytes) for SM4.
    fn mac(&self, data: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        Ok(Zeroizing::new(match self.crypto {
            CardCrypto::Tdes => {
                retail_mac(&self.key, &[0u8; DES_BLOCK], data, Padding::Method2)?.to_vec()
            }
            CardCrypto::Sm4 => sm4_mac(&self.key, &[0u8; SM4_BLOCK], data)?.to_vec(),
        }))
    }
}

/// The terminal and card data an application cryptogram covers (see the [module table](self)).
/// Fields are the raw values as the terminal sent them in the PDOL data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CryptogramData {
    /// `9F02`, n12.
    pub amount_authorised: [u8; 6],
    /// `9F03`, n12.
    pub amount_other: [u8; 6],
    /// `9F1A`, n3.
    pub terminal_country: [u8; 2],
    /// `95`.
    pub tvr: [u8; 5],
    /// `5F2A`, n3.
    pub currency: [u8; 2],
    /// `9A`, YYMMDD.
    pub date: [u8; 3],
    /// `9C`.
    pub transaction_type: u8,
    /// `9F37`.
    pub unpredictable_number: [u8; 4],
    /// `82`.
    pub aip: [u8; 2],
    /// `9F36`.
    pub atc: u16,
    /// Bytes 4–7 of `9F10`: the CVR length byte and the three CVR bytes.
    pub cvr: [u8; 4],
}

impl CryptogramData {
    /// The 37-byte concatenation in the order of the [module table](self).
    pub fn encode(&self) -> [u8; CRYPTOGRAM_DATA_LEN] {
        let mut out = [0u8; CRYPTOGRAM_DATA_LEN];
        let parts: [&[u8]; 11] = [
            &self.amount_authorised,
            &self.amount_other,
            &self.terminal_country,
            &self.tvr,
            &self.currency,
            &self.date,
            std::slice::from_ref(&self.transaction_type),
            &self.unpredictable_number,
            &self.aip,
            &self.atc.to_be_bytes(),
            &self.cvr,
        ];
        let mut at = 0;
        for part in parts {
            if let Some(dst) = out.get_mut(at..at + part.len()) {
                dst.copy_from_slice(part);
            }
            at += part.len();
        }
        out
    }
}

/// The leftmost `N` bytes of `bytes` (which is always longer here).
fn leftmost<const N: usize>(bytes: &[u8]) -> Result<[u8; N], CryptoError> {
    bytes
        .get(..N)
        .and_then(|b| b.try_into().ok())
        .ok_or(CryptoError::InvalidInput("MAC output too short"))
}

/// The application cryptogram (ARQC, TC or AAC) over `input` (normally
/// [`CryptogramData::encode`]) under the AC session key.
pub fn application_cryptogram(key: &SessionKey, input: &[u8]) -> Result<[u8; AC_LEN], CryptoError> {
    leftmost(&key.mac(input)?)
}

/// Checks a received application cryptogram in constant time (the issuer's side).
pub fn verify_application_cryptogram(
    key: &SessionKey,
    input: &[u8],
    cryptogram: &[u8],
) -> Result<(), CryptoError> {
    let expected = application_cryptogram(key, input)?;
    equal(&expected, cryptogram)
}

/// The ARPC of method 1 for `arqc` and the authorisation response code `arc`, under the AC
/// session key of the ARQC.
pub fn arpc_method_1(
    key: &SessionKey,
    arqc: &[u8; AC_LEN],
    arc: &[u8; 2],
) -> Result<[u8; AC_LEN], CryptoError> {
    let mut x = *arqc;
    x.iter_mut().zip(arc).for_each(|(b, r)| *b ^= r);
    let out = match key.crypto {
        CardCrypto::Tdes => tdes_ecb_encrypt(&key.key[..], &x)?,
        CardCrypto::Sm4 => {
            let mut block = [0u8; SM4_BLOCK];
            block[..AC_LEN].copy_from_slice(&x);
            sm4_ecb_encrypt(&key.key, &block)?
        }
    };
    leftmost(&out)
}

/// Checks an ARPC of method 1 in constant time (the card's side of issuer authentication).
pub fn verify_arpc_method_1(
    key: &SessionKey,
    arqc: &[u8; AC_LEN],
    arc: &[u8; 2],
    arpc: &[u8],
) -> Result<(), CryptoError> {
    equal(&arpc_method_1(key, arqc, arc)?, arpc)
}

/// The issuer script command MAC under the SMI session key: over `header` (`CLA INS P1 P2 Lc`,
/// `Lc` counting the MAC) ‖ ATC ‖ ARQC ‖ `data`.
pub fn script_mac(
    key: &SessionKey,
    header: &[u8; 5],
    atc: u16,
    arqc: &[u8; AC_LEN],
    data: &[u8],
) -> Result<[u8; SCRIPT_MAC_LEN], CryptoError> {
    let mut input = Vec::with_capacity(5 + 2 + AC_LEN + data.len());
    input.extend_from_slice(header);
    input.extend_from_slice(&atc.to_be_bytes());
    input.extend_from_slice(arqc);
    input.extend_from_slice(data);
    leftmost(&key.mac(&input)?)
}

/// Checks an issuer script MAC in constant time.
pub fn verify_script_mac(
    key: &SessionKey,
    header: &[u8; 5],
    atc: u16,
    arqc: &[u8; AC_LEN],
    data: &[u8],
    mac: &[u8],
) -> Result<(), CryptoError> {
    let expected = script_mac(key, header, atc, arqc, data)?;
    if mac.len() != SCRIPT_MAC_LEN {
        return Err(CryptoError::VerificationFailed);
    }
    verify_mac(&expected, mac)
}

/// Constant-time equality of two equally long values.
fn equal(expected: &[u8], received: &[u8]) -> Result<(), CryptoError> {
    if expected.len() == received.len() && bool::from(expected.ct_eq(received)) {
        Ok(())
    } else {
        Err(CryptoError::VerificationFailed)
    }
}

#[cfg(test)]
#[path = "keys_tests.rs"]
mod tests;
