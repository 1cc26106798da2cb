//! The payment application's remote-payment signing material: the cardholder PIN (DGI `8002`,
//! sent by the TSM) and the signing key pair the card generates itself when that PIN arrives
//! (DGI `8003`, applet-internal: never sent, never leaves the card, only its public key does).
//!
//! - `8002` value (16 bytes, so that it is a whole cipher block under an AES or 3DES DEK): the
//!   ISO 9564 format 2 PIN block (`2L PP..P F..F`, 8 bytes, [`PinBlock`]) followed by eight
//!   `FF` bytes.
//! - `8003` value: `01 ‖ PKCS#8 document` (ECDSA P-256, for 3DES card profiles) or
//!   `02 ‖ scalar` (SM2, 32 bytes, for SM4 card profiles) — [`CardSigningKey`].
//!
//! Signatures ([`CardSigningKey::sign`]): ECDSA P-256 / SHA-256 in ASN.1 DER, or SM2 with SM3
//! over `Z ‖ message` for the user ID [`SM2_USER_ID`], `r ‖ s` (64 bytes).

use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::perso::{CardCrypto, PersoError};
use crate::crypto::ecdsa::P256SigningKey;
use crate::crypto::sm2::{self, Sm2SigningKey};
use crate::crypto::CryptoError;
use crate::gp::commands::Dgi;

/// DGI of the cardholder PIN (secret: encrypted under the DEK).
pub const DGI_PIN: u16 = 0x8002;
/// DGI of the signing private key: generated on the card, never sent by the TSM.
pub const DGI_SIGNING_KEY: u16 = 0x8003;
/// Wrong PIN presentations before the PIN is blocked.
pub const PIN_TRY_LIMIT: u8 = 3;
/// Shortest PIN.
pub const PIN_MIN_DIGITS: usize = 4;
/// Longest PIN.
pub const PIN_MAX_DIGITS: usize = 12;
/// SM2 user ID of the card's signatures (GM/T 0009 default).
pub const SM2_USER_ID: &[u8] = sm2::DEFAULT_USER_ID;
/// Length of an ISO 9564 format 2 PIN block.
pub const PIN_BLOCK_LEN: usize = 8;
/// Length of DGI `8002`'s value.
const PIN_DGI_LEN: usize = 16;
const KEY_P256: u8 = 0x01;
const KEY_SM2: u8 = 0x02;

/// An ISO 9564 format 2 PIN block: `2L` (L the number of digits), the digits as nibbles, `F`
/// padding. Zeroized on drop, never printed.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct PinBlock(Zeroizing<[u8; PIN_BLOCK_LEN]>);

impl std::fmt::Debug for PinBlock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PinBlock(..)")
    }
}

impl PinBlock {
    /// The block of `pin`: 4 to 12 decimal digits, or `None`.
    pub fn new(pin: &str) -> Option<PinBlock> {
        let digits = pin.as_bytes();
        if !(PIN_MIN_DIGITS..=PIN_MAX_DIGITS).contains(&digits.len())
            || !digits.iter().all(u8::is_ascii_digit)
        {
            return None;
        }
        let mut nibbles = Zeroizing::new([0x0Fu8; 2 * PIN_BLOCK_LEN]);
        nibbles[0] = 0x02;
        nibbles[1] = digits.len() as u8; // ≤ 12
        for (slot, digit) in nibbles[2..].iter_mut().zip(digits) {
            *slot = digit - b'0';
        }
        let mut block = Zeroizing::new([0u8; PIN_BLOCK_LEN]);
        for (byte, pair) in block.iter_mut().zip(nibbles.chunks_exact(2)) {
            *byte = pair[0] << 4 | pair[1];
        }
        Some(PinBlock(block))
    }

    /// A block received from a terminal or a DGI, when it is a well-formed format 2 block.
    pub fn parse(bytes: &[u8]) -> Option<PinBlock> {
        if bytes.len() != PIN_BLOCK_LEN {
            return None;
        }
        // Copied straight into zeroizing memory (no temporary array on the stack).
        let mut block = Zeroizing::new([0u8; PIN_BLOCK_LEN]);
        block.copy_from_slice(bytes);
        let len = usize::from(block[0] & 0x0F);
        if block[0] >> 4 != 0x02 || !(PIN_MIN_DIGITS..=PIN_MAX_DIGITS).contains(&len) {
            return None;
        }
        let well_formed = block[1..]
            .iter()
            .flat_map(|b| [b >> 4, b & 0x0F])
            .enumerate()
            .all(|(i, nibble)| if i < len { nibble <= 9 } else { nibble == 0x0F });
        well_formed.then(|| PinBlock(block))
    }

    /// The 8 bytes of the block. Never log them.
    pub fn as_bytes(&self) -> &[u8; PIN_BLOCK_LEN] {
        &self.0
    }

    /// Whether `other` is the same PIN (constant time).
    pub fn matches(&self, other: &PinBlock) -> bool {
        self.0.ct_eq(&*other.0).into()
    }

    /// DGI `8002` carrying this PIN (its value to be encrypted under the DEK by the sender).
    pub fn to_dgi(&self) -> Dgi {
        let mut data = vec![0xFF; PIN_DGI_LEN];
        data[..PIN_BLOCK_LEN].copy_from_slice(&self.0[..]);
        Dgi { tag: DGI_PIN, data }
    }

    /// The PIN of a DGI `8002` value.
    pub fn from_dgi(data: &[u8]) -> Result<PinBlock, PersoError> {
        let malformed =
            PersoError::Malformed("DGI 8002 must be a format 2 PIN block and FF padding");
        if data.len() != PIN_DGI_LEN || data[PIN_BLOCK_LEN..].iter().any(|&b| b != 0xFF) {
            return Err(malformed);
        }
        PinBlock::parse(&data[..PIN_BLOCK_LEN]).ok_or(malformed)
    }
}

/// The card's signing key: ECDSA P-256 (3DES card profiles) or SM2 (SM4 card profiles).
/// `Debug` shows no secret.
#[derive(Debug)]
pub enum CardSigningKey {
    /// ECDSA P-256 / SHA-256, DER signatures.
    P256(P256SigningKey),
    /// SM2 / SM3 with [`SM2_USER_ID`], `r ‖ s` signatures.
    Sm2(Sm2SigningKey),
}

impl CardSigningKey {
    /// A fresh key of the algorithm that goes with a card profile of `crypto`.
    pub fn generate(crypto: CardCrypto) -> Result<CardSigningKey, CryptoError> {
        Ok(match crypto {
            CardCrypto::Tdes => CardSigningKey::P256(P256SigningKey::generate()?),
            CardCrypto::Sm4 => CardSigningKey::Sm2(Sm2SigningKey::generate()?),
        })
    }

    /// The algorithm's card profile crypto.
    pub fn crypto(&self) -> CardCrypto {
        match self {
            CardSigningKey::P256(_) => CardCrypto::Tdes,
            CardSigningKey::Sm2(_) => CardCrypto::Sm4,
        }
    }

    /// The public key, uncompressed point `04 ‖ X ‖ Y` (65 bytes).
    pub fn public_key(&self) -> Vec<u8> {
        match self {
            CardSigningKey::P256(key) => key.public_key_sec1(),
            CardSigningKey::Sm2(key) => key.public_key().to_vec(),
        }
    }

    /// Signs `message` as is (the hash is computed here).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        match self {
            CardSigningKey::P256(key) => key.sign(message),
            CardSigningKey::Sm2(key) => Ok(key.sign(SM2_USER_ID, message)?.to_vec()),
        }
    }

    /// DGI `8003` holding this key (applet-internal state; never sent).
    pub fn to_dgi(&self) -> Dgi {
        // Sized up front: growing would leave a copy of the key in a freed allocation.
        let secret_len = match self {
            CardSigningKey::P256(key) => key.pkcs8().len(),
            CardSigningKey::Sm2(_) => sm2::PRIVATE_KEY_LEN,
        };
        let mut data = Vec::with_capacity(1 + secret_len);
        match self {
            CardSigningKey::P256(key) => {
                data.push(KEY_P256);
                data.extend_from_slice(key.pkcs8());
            }
            CardSigningKey::Sm2(key) => {
                data.push(KEY_SM2);
                data.extend_from_slice(&key.to_bytes()[..]);
            }
        }
        Dgi {
            tag: DGI_SIGNING_KEY,
            data,
        }
    }

    /// The key of a DGI `8003` value.
    pub fn from_dgi(data: &[u8]) -> Result<CardSigningKey, PersoError> {
        let bad = PersoError::Malformed("DGI 8003 is not a signing key");
        match data.split_first() {
            Some((&KEY_P256, pkcs8)) => P256SigningKey::from_pkcs8(pkcs8)
                .map(CardSigningKey::P256)
                .map_err(|_| bad),
            Some((&KEY_SM2, scalar)) => Sm2SigningKey::from_bytes(scalar)
                .map(CardSigningKey::Sm2)
                .map_err(|_| bad),
            _ => Err(bad),
        }
    }
}

/// The signing material of a card: its PIN and its key.
#[derive(Debug)]
pub struct CardSigning {
    /// The cardholder PIN.
    pub pin: PinBlock,
    /// The signing key generated on the card.
    pub key: CardSigningKey,
}

impl CardSigning {
    /// The signing material in a card's (decrypted) DGIs: `None` without `8002` and `8003`;
    /// an error when only one of them is there, or the key does not fit the card's `crypto`.
    pub fn from_dgis(dgis: &[Dgi], crypto: CardCrypto) -> Result<Option<CardSigning>, PersoError> {
        let find = |tag: u16| dgis.iter().find(|d| d.tag == tag);
        match (find(DGI_PIN), find(DGI_SIGNING_KEY)) {
            (None, None) => Ok(None),
            (Some(pin), Some(key)) => {
                let key = CardSigningKey::from_dgi(&key.data)?;
                if key.crypto() != crypto {
                    return Err(PersoError::Malformed(
                        "the signing key does not fit the card's crypto",
                    ));
                }
                Ok(Some(CardSigning {
                    pin: PinBlock::from_dgi(&pin.data)?,
                    key,
                }))
            }
            (Some(_), None) => Err(PersoError::MissingDgi(DGI_SIGNING_KEY)),
            (None, Some(_)) => Err(PersoError::MissingDgi(DGI_PIN)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::ecdsa::verify_p256;
    use crate::crypto::sm2::verify_sm2;

    #[test]
    fn pin_blocks_are_iso_9564_format_2() {
        let block = PinBlock::new("123456").unwrap();
        assert_eq!(hex::encode_upper(block.as_bytes()), "26123456FFFFFFFF");
        assert_eq!(
            hex::encode_upper(PinBlock::new("123456789012").unwrap().as_bytes()),
            "2C123456789012FF"
        );
        for bad in ["123", "1234567890123", "12a4", "", "１２３４"] {
            assert!(PinBlock::new(bad).is_none(), "{bad}");
        }
        assert_eq!(PinBlock::parse(block.as_bytes()), Some(block.clone()));
        for bad in [
            "36123456FFFFFFFF",
            "2612345AFFFFFFFF",
            "26123456FFFFFFF0",
            "23123FFFFFFFFFFF",
        ] {
            assert!(
                PinBlock::parse(&hex::decode(bad).unwrap()).is_none(),
                "{bad}"
            );
        }
        assert!(block.matches(&PinBlock::new("123456").unwrap()));
        assert!(!block.matches(&PinBlock::new("123457").unwrap()));
        assert_eq!(format!("{block:?}"), "PinBlock(..)");

        let dgi = block.to_dgi();
        assert_eq!(dgi.tag, 0x8002);
        assert_eq!(
            hex::encode_upper(&dgi.data),
            "26123456FFFFFFFFFFFFFFFFFFFFFFFF"
        );
        assert_eq!(PinBlock::from_dgi(&dgi.data).unwrap(), block);
        assert!(PinBlock::from_dgi(&dgi.data[..8]).is_err());
    }

    #[test]
    fn keys_follow_the_card_crypto_and_round_trip() {
        for crypto in [CardCrypto::Tdes, CardCrypto::Sm4] {
            let key = CardSigningKey::generate(crypto).unwrap();
            assert_eq!(key.crypto(), crypto);
            let public = key.public_key();
            assert_eq!((public.len(), public[0]), (65, 0x04));
            let signature = key.sign(b"order 42").unwrap();
            match crypto {
                CardCrypto::Tdes => verify_p256(&public, b"order 42", &signature).unwrap(),
                CardCrypto::Sm4 => {
                    assert_eq!(signature.len(), 64);
                    verify_sm2(&public, SM2_USER_ID, b"order 42", &signature).unwrap()
                }
            }
            let again = CardSigningKey::from_dgi(&key.to_dgi().data).unwrap();
            assert_eq!(again.public_key(), public);
            assert!(!format!("{key:?}").contains(&hex::encode(&key.to_dgi().data)));
        }
        assert!(CardSigningKey::from_dgi(&[0x03, 1, 2]).is_err());
        assert!(CardSigningKey::from_dgi(&[]).is_err());
    }

    #[test]
    fn signing_material_comes_as_a_pair() {
        let pin = PinBlock::new("2468").unwrap().to_dgi();
        let key = CardSigningKey::generate(CardCrypto::Sm4).unwrap().to_dgi();
        assert!(CardSigning::from_dgis(&[], CardCrypto::Sm4)
            .unwrap()
            .is_none());
        let both = CardSigning::from_dgis(&[key.clone(), pin.clone()], CardCrypto::Sm4).unwrap();
        assert!(both.is_some());
        assert_eq!(
            CardSigning::from_dgis(&[pin], CardCrypto::Sm4).err(),
            Some(PersoError::MissingDgi(DGI_SIGNING_KEY))
        );
        assert!(CardSigning::from_dgis(
            &[key, PinBlock::new("2468").unwrap().to_dgi()],
            CardCrypto::Tdes
        )
        .is_err());
    }
}
