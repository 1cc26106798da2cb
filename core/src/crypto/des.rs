//! DES and Triple DES (RustCrypto `des`): single DES for the retail MAC, 2-key (16-byte) and
//! 3-key (24-byte) 3DES EDE in ECB and CBC over whole 8-byte blocks.

use super::block::{self, BlockCipher};
use super::CryptoError;
use des::cipher::{BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};
use zeroize::{ZeroizeOnDrop, Zeroizing};

/// DES / 3DES block size in bytes.
pub const BLOCK_LEN: usize = 8;

/// Single DES (56-bit key in 8 bytes, parity bits ignored). Only for legacy MAC constructions:
/// never encrypt with it alone. The key schedule is zeroized on drop.
#[derive(Clone)]
pub struct Des(des::Des);

impl Des {
    /// Keys single DES with an 8-byte key.
    pub fn new(key: &[u8; 8]) -> Self {
        Self(des::Des::new(key.into()))
    }
}

impl BlockCipher<BLOCK_LEN> for Des {
    fn encrypt_block(&self, block: &mut [u8; BLOCK_LEN]) {
        self.0.encrypt_block(block.into());
    }
    fn decrypt_block(&self, block: &mut [u8; BLOCK_LEN]) {
        self.0.decrypt_block(block.into());
    }
}

/// The only field is RustCrypto's key schedule, which zeroizes itself on drop (checked below).
impl ZeroizeOnDrop for Des {}

impl std::fmt::Debug for Des {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Des(..)")
    }
}

#[derive(Clone)]
enum TdesInner {
    TwoKey(des::TdesEde2),
    ThreeKey(des::TdesEde3),
}

/// Triple DES EDE keyed with 16 bytes (K1 || K2, K3 = K1) or 24 bytes (K1 || K2 || K3).
/// The key schedule is zeroized on drop.
#[derive(Clone)]
pub struct Tdes(TdesInner);

impl Tdes {
    /// Keys 3DES with a 16-byte (2-key) or 24-byte (3-key) key.
    pub fn new(key: &[u8]) -> Result<Self, CryptoError> {
        match key.len() {
            16 => des::TdesEde2::new_from_slice(key).map(TdesInner::TwoKey),
            24 => des::TdesEde3::new_from_slice(key).map(TdesInner::ThreeKey),
            _ => return Err(CryptoError::InvalidKey("3DES key must be 16 or 24 bytes")),
        }
        .map(Self)
        .map_err(|_| CryptoError::InvalidKey("3DES key must be 16 or 24 bytes"))
    }
}

impl BlockCipher<BLOCK_LEN> for Tdes {
    fn encrypt_block(&self, block: &mut [u8; BLOCK_LEN]) {
        match &self.0 {
            TdesInner::TwoKey(c) => c.encrypt_block(block.into()),
            TdesInner::ThreeKey(c) => c.encrypt_block(block.into()),
        }
    }
    fn decrypt_block(&self, block: &mut [u8; BLOCK_LEN]) {
        match &self.0 {
            TdesInner::TwoKey(c) => c.decrypt_block(block.into()),
            TdesInner::ThreeKey(c) => c.decrypt_block(block.into()),
        }
    }
}

/// Both variants hold a RustCrypto key schedule that zeroizes itself on drop (checked below).
impl ZeroizeOnDrop for Tdes {}

// Compile-time proof that the key schedules behind `Des` and `Tdes` zeroize on drop.
const _: () = {
    const fn zeroized_on_drop<T: ZeroizeOnDrop>() {}
    zeroized_on_drop::<des::Des>();
    zeroized_on_drop::<des::TdesEde2>();
    zeroized_on_drop::<des::TdesEde3>();
};

impl std::fmt::Debug for Tdes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.0 {
            TdesInner::TwoKey(_) => "Tdes(2-key, ..)",
            TdesInner::ThreeKey(_) => "Tdes(3-key, ..)",
        })
    }
}

/// Single DES ECB encryption of whole blocks (for MAC constructions and legacy key checks).
pub fn des_ecb_encrypt(key: &[u8; 8], data: &[u8]) -> Result<Vec<u8>, CryptoError> {
    block::ecb_encrypt(&Des::new(key), data)
}

/// Single DES ECB decryption of whole blocks.
pub fn des_ecb_decrypt(key: &[u8; 8], data: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    block::ecb_decrypt(&Des::new(key), data)
}

/// 3DES ECB encryption of whole blocks with a 16- or 24-byte key.
pub fn tdes_ecb_encrypt(key: &[u8], data: &[u8]) -> Result<Vec<u8>, CryptoError> {
    block::ecb_encrypt(&Tdes::new(key)?, data)
}

/// 3DES ECB decryption of whole blocks with a 16- or 24-byte key.
pub fn tdes_ecb_decrypt(key: &[u8], data: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    block::ecb_decrypt(&Tdes::new(key)?, data)
}

/// 3DES CBC encryption of whole blocks with a 16- or 24-byte key.
pub fn tdes_cbc_encrypt(
    key: &[u8],
    iv: &[u8; BLOCK_LEN],
    data: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    block::cbc_encrypt(&Tdes::new(key)?, iv, data)
}

/// 3DES CBC decryption of whole blocks with a 16- or 24-byte key.
pub fn tdes_cbc_decrypt(
    key: &[u8],
    iv: &[u8; BLOCK_LEN],
    data: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    block::cbc_decrypt(&Tdes::new(key)?, iv, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    /// FIPS PUB 81 appendix B, table B1 (ECB) and appendix C, table C1 (CBC):
    /// key 0123456789abcdef, plaintext "Now is the time for all ".
    #[test]
    fn single_des_fips81() {
        let key = [0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef];
        let plain = b"Now is the time for all ";
        let ecb = des_ecb_encrypt(&key, plain).unwrap();
        assert_eq!(
            hex::encode(&ecb),
            "3fa40e8a984d48156a271787ab8883f9893d51ec4b563b53"
        );
        assert_eq!(des_ecb_decrypt(&key, &ecb).unwrap().as_slice(), plain);
        let cbc = block::cbc_encrypt(
            &Des::new(&key),
            &[0x12, 0x34, 0x56, 0x78, 0x90, 0xab, 0xcd, 0xef],
            plain,
        )
        .unwrap();
        assert_eq!(
            hex::encode(cbc),
            "e5c7cdde872bf27c43e934008c389c0f683788499a7c05f6"
        );
    }

    /// NIST SP 800-67 Rev. 1 appendix B: 3-key TDEA ECB example ("The qufck brown fox jump").
    #[test]
    fn three_key_tdes_sp800_67() {
        let key = h("0123456789abcdef23456789abcdef01456789abcdef0123");
        let plain = b"The qufck brown fox jump";
        let ct = tdes_ecb_encrypt(&key, plain).unwrap();
        assert_eq!(
            hex::encode(&ct),
            "a826fd8ce53b855fcce21c8112256fe668d5c05dd9b6b900"
        );
        assert_eq!(tdes_ecb_decrypt(&key, &ct).unwrap().as_slice(), plain);
    }

    /// NIST SP 800-20 table A.1 (variable-plaintext known-answer test, round 1): with all keys
    /// 0101010101010101 TDEA reduces to DES and 8000000000000000 encrypts to 95f8a5e5dd31d900.
    #[test]
    fn two_key_tdes_sp800_20_kat() {
        let key = [0x01; 16];
        assert_eq!(
            hex::encode(tdes_ecb_encrypt(&key, &h("8000000000000000")).unwrap()),
            "95f8a5e5dd31d900"
        );
        assert_eq!(
            hex::encode(tdes_ecb_encrypt(&[0x01; 24], &h("8000000000000000")).unwrap()),
            "95f8a5e5dd31d900"
        );
    }

    /// A 2-key key K1 || K2 is the 3-key key K1 || K2 || K1 (SP 800-67 keying option 2).
    #[test]
    fn two_key_equals_three_key_with_k3_k1() {
        let k16 = h("0123456789abcdef23456789abcdef01");
        let mut k24 = k16.clone();
        k24.extend_from_slice(&k16[..8]);
        let plain = b"The qufck brown fox jump";
        let iv = [7u8; 8];
        assert_eq!(
            tdes_ecb_encrypt(&k16, plain).unwrap(),
            tdes_ecb_encrypt(&k24, plain).unwrap()
        );
        let ct = tdes_cbc_encrypt(&k16, &iv, plain).unwrap();
        assert_eq!(ct, tdes_cbc_encrypt(&k24, &iv, plain).unwrap());
        assert_eq!(tdes_cbc_decrypt(&k24, &iv, &ct).unwrap().as_slice(), plain);
    }

    /// CBC is ECB of each plaintext block xored with the previous ciphertext block.
    #[test]
    fn cbc_matches_manual_chaining() {
        let key = h("0123456789abcdef23456789abcdef01456789abcdef0123");
        let iv = h("1234567890abcdef");
        let plain = b"The qufck brown fox jump";
        let ct = tdes_cbc_encrypt(&key, &iv.clone().try_into().unwrap(), plain).unwrap();
        let mut chain = iv;
        for (p, c) in plain.chunks(8).zip(ct.chunks(8)) {
            let x: Vec<u8> = p.iter().zip(&chain).map(|(a, b)| a ^ b).collect();
            assert_eq!(tdes_ecb_encrypt(&key, &x).unwrap(), c);
            chain = c.to_vec();
        }
    }

    #[test]
    fn rejects_bad_lengths() {
        assert!(matches!(
            Tdes::new(&[0; 8]),
            Err(CryptoError::InvalidKey(_))
        ));
        assert!(matches!(
            tdes_ecb_encrypt(&[0; 16], &[0; 7]),
            Err(CryptoError::InvalidInput(_))
        ));
    }

    #[test]
    fn debug_hides_keys() {
        assert_eq!(
            format!("{:?}", Tdes::new(&[0x11; 16]).unwrap()),
            "Tdes(2-key, ..)"
        );
        assert_eq!(format!("{:?}", Des::new(&[0x11; 8])), "Des(..)");
    }
}
