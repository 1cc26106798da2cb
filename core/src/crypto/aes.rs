//! AES as a raw block cipher (RustCrypto `aes`) for card protocols: SCP03 encryption and ICVs,
//! ECB / CBC over whole 16-byte blocks. Platform sealing uses [`super::aead`] instead.

use super::block::{self, BlockCipher};
use super::CryptoError;
use aes::cipher::{BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};
use zeroize::{ZeroizeOnDrop, Zeroizing};

/// AES block size in bytes.
pub const BLOCK_LEN: usize = 16;

#[derive(Clone)]
enum AesInner {
    Aes128(aes::Aes128),
    Aes192(aes::Aes192),
    Aes256(aes::Aes256),
}

/// AES-128, -192 or -256 chosen by key length. The key schedule is zeroized on drop.
#[derive(Clone)]
pub struct Aes(AesInner);

impl Aes {
    /// Keys AES with a 16-, 24- or 32-byte key.
    pub fn new(key: &[u8]) -> Result<Self, CryptoError> {
        const BAD: CryptoError = CryptoError::InvalidKey("AES key must be 16, 24 or 32 bytes");
        let inner = match key.len() {
            16 => aes::Aes128::new_from_slice(key).map(AesInner::Aes128),
            24 => aes::Aes192::new_from_slice(key).map(AesInner::Aes192),
            32 => aes::Aes256::new_from_slice(key).map(AesInner::Aes256),
            _ => return Err(BAD),
        };
        inner.map(Self).map_err(|_| BAD)
    }
}

impl BlockCipher<BLOCK_LEN> for Aes {
    fn encrypt_block(&self, block: &mut [u8; BLOCK_LEN]) {
        match &self.0 {
            AesInner::Aes128(c) => c.encrypt_block(block.into()),
            AesInner::Aes192(c) => c.encrypt_block(block.into()),
            AesInner::Aes256(c) => c.encrypt_block(block.into()),
        }
    }
    fn decrypt_block(&self, block: &mut [u8; BLOCK_LEN]) {
        match &self.0 {
            AesInner::Aes128(c) => c.decrypt_block(block.into()),
            AesInner::Aes192(c) => c.decrypt_block(block.into()),
            AesInner::Aes256(c) => c.decrypt_block(block.into()),
        }
    }
}

/// Every variant holds a RustCrypto key schedule that zeroizes itself on drop (checked below).
impl ZeroizeOnDrop for Aes {}

// Compile-time proof that the key schedules behind `Aes` zeroize on drop.
const _: () = {
    const fn zeroized_on_drop<T: ZeroizeOnDrop>() {}
    zeroized_on_drop::<aes::Aes128>();
    zeroized_on_drop::<aes::Aes192>();
    zeroized_on_drop::<aes::Aes256>();
};

impl std::fmt::Debug for Aes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.0 {
            AesInner::Aes128(_) => "Aes(128, ..)",
            AesInner::Aes192(_) => "Aes(192, ..)",
            AesInner::Aes256(_) => "Aes(256, ..)",
        })
    }
}

/// AES ECB encryption of whole blocks.
pub fn aes_ecb_encrypt(key: &[u8], data: &[u8]) -> Result<Vec<u8>, CryptoError> {
    block::ecb_encrypt(&Aes::new(key)?, data)
}

/// AES ECB decryption of whole blocks.
pub fn aes_ecb_decrypt(key: &[u8], data: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    block::ecb_decrypt(&Aes::new(key)?, data)
}

/// AES CBC encryption of whole blocks.
pub fn aes_cbc_encrypt(
    key: &[u8],
    iv: &[u8; BLOCK_LEN],
    data: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    block::cbc_encrypt(&Aes::new(key)?, iv, data)
}

/// AES CBC decryption of whole blocks.
pub fn aes_cbc_decrypt(
    key: &[u8],
    iv: &[u8; BLOCK_LEN],
    data: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    block::cbc_decrypt(&Aes::new(key)?, iv, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    /// FIPS 197 appendix C.1 / C.2 / C.3 (plaintext 00112233..ff, keys 000102..).
    #[test]
    fn fips197_appendix_c() {
        let plain = h("00112233445566778899aabbccddeeff");
        let cases = [
            (
                "000102030405060708090a0b0c0d0e0f",
                "69c4e0d86a7b0430d8cdb78070b4c55a",
            ),
            (
                "000102030405060708090a0b0c0d0e0f1011121314151617",
                "dda97ca4864cdfe06eaf70a0ec0d7191",
            ),
            (
                "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
                "8ea2b7ca516745bfeafc49904b496089",
            ),
        ];
        for (key, ct) in cases {
            let out = aes_ecb_encrypt(&h(key), &plain).unwrap();
            assert_eq!(hex::encode(&out), ct);
            assert_eq!(aes_ecb_decrypt(&h(key), &out).unwrap().as_slice(), plain);
        }
    }

    /// NIST SP 800-38A F.2.1 (CBC-AES128.Encrypt), first two blocks.
    #[test]
    fn sp800_38a_cbc_aes128() {
        let key = h("2b7e151628aed2a6abf7158809cf4f3c");
        let iv: [u8; 16] = h("000102030405060708090a0b0c0d0e0f").try_into().unwrap();
        let plain = h("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51");
        let ct = aes_cbc_encrypt(&key, &iv, &plain).unwrap();
        assert_eq!(
            hex::encode(&ct),
            "7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b2"
        );
        assert_eq!(aes_cbc_decrypt(&key, &iv, &ct).unwrap().as_slice(), plain);
    }

    #[test]
    fn rejects_bad_key_length() {
        assert!(matches!(
            Aes::new(&[0; 15]),
            Err(CryptoError::InvalidKey(_))
        ));
    }
}
