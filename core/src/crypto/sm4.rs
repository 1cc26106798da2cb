//! SM4 block cipher (GB/T 32907-2016, RustCrypto `sm4`): ECB and CBC over whole 16-byte blocks
//! and the PBOC SM4 MAC (ISO/IEC 9797-1 MAC algorithm 1 with SM4 and padding method 2).

use super::block::{self, BlockCipher};
use super::mac::{mac_algorithm_1, Padding};
use super::CryptoError;
use sm4::cipher::{BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};
use zeroize::{ZeroizeOnDrop, Zeroizing};

/// SM4 block and key size in bytes.
pub const BLOCK_LEN: usize = 16;

/// An SM4 key schedule; zeroized on drop.
#[derive(Clone)]
pub struct Sm4(sm4::Sm4);

impl Sm4 {
    /// Keys SM4 with a 16-byte key.
    pub fn new(key: &[u8; BLOCK_LEN]) -> Self {
        Self(sm4::Sm4::new(key.into()))
    }
}

impl BlockCipher<BLOCK_LEN> for Sm4 {
    fn encrypt_block(&self, block: &mut [u8; BLOCK_LEN]) {
        self.0.encrypt_block(block.into());
    }
    fn decrypt_block(&self, block: &mut [u8; BLOCK_LEN]) {
        self.0.decrypt_block(block.into());
    }
}

/// The only field is RustCrypto's key schedule, which zeroizes itself on drop (checked below).
impl ZeroizeOnDrop for Sm4 {}

// Compile-time proof that the key schedule behind `Sm4` zeroizes on drop.
const _: () = {
    const fn zeroized_on_drop<T: ZeroizeOnDrop>() {}
    zeroized_on_drop::<sm4::Sm4>();
};

impl std::fmt::Debug for Sm4 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sm4(..)")
    }
}

/// SM4 ECB encryption of whole blocks.
pub fn sm4_ecb_encrypt(key: &[u8; BLOCK_LEN], data: &[u8]) -> Result<Vec<u8>, CryptoError> {
    block::ecb_encrypt(&Sm4::new(key), data)
}

/// SM4 ECB decryption of whole blocks.
pub fn sm4_ecb_decrypt(
    key: &[u8; BLOCK_LEN],
    data: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    block::ecb_decrypt(&Sm4::new(key), data)
}

/// SM4 CBC encryption of whole blocks.
pub fn sm4_cbc_encrypt(
    key: &[u8; BLOCK_LEN],
    iv: &[u8; BLOCK_LEN],
    data: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    block::cbc_encrypt(&Sm4::new(key), iv, data)
}

/// SM4 CBC decryption of whole blocks.
pub fn sm4_cbc_decrypt(
    key: &[u8; BLOCK_LEN],
    iv: &[u8; BLOCK_LEN],
    data: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    block::cbc_decrypt(&Sm4::new(key), iv, data)
}

/// The PBOC SM4 MAC: ISO/IEC 9797-1 MAC algorithm 1 with SM4, initial value `iv` (zero, or the
/// card challenge padded with zeros, as the command says) and padding method 2. Returns the full
/// 16-byte block; PBOC secure messaging keeps its leftmost 4 bytes.
pub fn sm4_mac(
    key: &[u8; BLOCK_LEN],
    iv: &[u8; BLOCK_LEN],
    data: &[u8],
) -> Result<[u8; BLOCK_LEN], CryptoError> {
    mac_algorithm_1(&Sm4::new(key), iv, data, Padding::Method2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::mac::pad;

    const KEY: [u8; 16] = [
        0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32,
        0x10,
    ];

    /// GB/T 32907-2016 appendix A, example 1 (key = plaintext = 0123456789abcdeffedcba9876543210).
    #[test]
    fn gbt32907_example_1() {
        let ct = sm4_ecb_encrypt(&KEY, &KEY).unwrap();
        assert_eq!(hex::encode(&ct), "681edf34d206965e86b3e94f536e4246");
        assert_eq!(sm4_ecb_decrypt(&KEY, &ct).unwrap().as_slice(), KEY);
    }

    /// CBC block i = E(P_i xor C_{i-1}), checked against single-block ECB.
    #[test]
    fn cbc_matches_manual_chaining() {
        let iv = [0xa5u8; 16];
        let plain: Vec<u8> = (0u8..48).collect();
        let ct = sm4_cbc_encrypt(&KEY, &iv, &plain).unwrap();
        let mut chain = iv.to_vec();
        for (p, c) in plain.chunks(16).zip(ct.chunks(16)) {
            let x: Vec<u8> = p.iter().zip(&chain).map(|(a, b)| a ^ b).collect();
            assert_eq!(sm4_ecb_encrypt(&KEY, &x).unwrap(), c);
            chain = c.to_vec();
        }
        assert_eq!(sm4_cbc_decrypt(&KEY, &iv, &ct).unwrap().as_slice(), plain);
    }

    /// The SM4 MAC is the last block of SM4-CBC over the data padded with method 2.
    #[test]
    fn mac_is_last_cbc_block_of_method2_padding() {
        let iv = [0u8; 16];
        for len in [0usize, 1, 15, 16, 17, 64] {
            let data = vec![0x5au8; len];
            let cbc = sm4_cbc_encrypt(&KEY, &iv, &pad(&data, 16, Padding::Method2)).unwrap();
            assert_eq!(
                sm4_mac(&KEY, &iv, &data).unwrap().as_slice(),
                &cbc[cbc.len() - 16..],
                "len {len}"
            );
        }
    }

    #[test]
    fn rejects_partial_blocks() {
        assert!(matches!(
            sm4_ecb_encrypt(&KEY, &[0; 15]),
            Err(CryptoError::InvalidInput(_))
        ));
    }
}
