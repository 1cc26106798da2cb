//! A small block-cipher seam and the ECB / CBC modes over whole blocks.
//!
//! DES, 3DES, AES and SM4 implement [`BlockCipher`]; the modes here and the ISO/IEC 9797-1 MACs in
//! [`super::mac`] are written once against it. Data must be a whole number of blocks: padding is
//! the caller's choice (see [`super::mac::pad`]).

use super::CryptoError;
use zeroize::Zeroizing;

/// A block cipher with an `N`-byte block, keyed at construction.
pub trait BlockCipher<const N: usize> {
    /// Encrypts one block in place.
    fn encrypt_block(&self, block: &mut [u8; N]);
    /// Decrypts one block in place.
    fn decrypt_block(&self, block: &mut [u8; N]);
}

fn whole_blocks<const N: usize>(data: &[u8]) -> Result<(), CryptoError> {
    if data.len() % N == 0 {
        Ok(())
    } else {
        Err(CryptoError::InvalidInput(
            "data is not a whole number of cipher blocks",
        ))
    }
}

/// Splits `buf` (a whole number of blocks, checked by the caller) into mutable blocks.
fn blocks_mut<const N: usize>(buf: &mut [u8]) -> impl Iterator<Item = &mut [u8; N]> {
    buf.chunks_exact_mut(N)
        .filter_map(|chunk| <&mut [u8; N]>::try_from(chunk).ok())
}

fn xor_in_place<const N: usize>(block: &mut [u8; N], other: &[u8; N]) {
    block.iter_mut().zip(other).for_each(|(b, o)| *b ^= o);
}

/// ECB encryption of whole blocks.
pub fn ecb_encrypt<C: BlockCipher<N>, const N: usize>(
    cipher: &C,
    data: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    whole_blocks::<N>(data)?;
    let mut out = data.to_vec();
    blocks_mut::<N>(&mut out).for_each(|block| cipher.encrypt_block(block));
    Ok(out)
}

/// ECB decryption of whole blocks. The plaintext may be key material: it is zeroized on drop.
pub fn ecb_decrypt<C: BlockCipher<N>, const N: usize>(
    cipher: &C,
    data: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    whole_blocks::<N>(data)?;
    let mut out = Zeroizing::new(data.to_vec());
    blocks_mut::<N>(&mut out).for_each(|block| cipher.decrypt_block(block));
    Ok(out)
}

/// CBC encryption of whole blocks with initial vector `iv`.
pub fn cbc_encrypt<C: BlockCipher<N>, const N: usize>(
    cipher: &C,
    iv: &[u8; N],
    data: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    whole_blocks::<N>(data)?;
    let mut out = data.to_vec();
    let mut chain = *iv;
    for block in blocks_mut::<N>(&mut out) {
        xor_in_place(block, &chain);
        cipher.encrypt_block(block);
        chain = *block;
    }
    Ok(out)
}

/// CBC decryption of whole blocks with initial vector `iv`. The plaintext is zeroized on drop.
pub fn cbc_decrypt<C: BlockCipher<N>, const N: usize>(
    cipher: &C,
    iv: &[u8; N],
    data: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    whole_blocks::<N>(data)?;
    let mut out = Zeroizing::new(data.to_vec());
    let mut chain = *iv;
    for block in blocks_mut::<N>(&mut out) {
        let ciphertext = *block;
        cipher.decrypt_block(block);
        xor_in_place(block, &chain);
        chain = ciphertext;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A toy 4-byte "cipher" (add a key byte, rotate) to check the chaining independently of any
    /// real cipher: CBC block i = E(P_i xor C_{i-1}).
    struct Toy(u8);

    impl BlockCipher<4> for Toy {
        fn encrypt_block(&self, block: &mut [u8; 4]) {
            block.iter_mut().for_each(|b| *b = b.wrapping_add(self.0));
            block.rotate_left(1);
        }
        fn decrypt_block(&self, block: &mut [u8; 4]) {
            block.rotate_right(1);
            block.iter_mut().for_each(|b| *b = b.wrapping_sub(self.0));
        }
    }

    #[test]
    fn cbc_chains_blocks_as_specified() {
        let toy = Toy(1);
        let iv = [0x10, 0x20, 0x30, 0x40];
        let data = [1, 2, 3, 4, 5, 6, 7, 8];
        // Hand computation: P1 ^ IV = 11 22 33 44, +1 = 12 23 34 45, rotate = 23 34 45 12.
        // P2 ^ C1 = 05^23 06^34 07^45 08^12 = 26 32 42 1a, +1 = 27 33 43 1b, rotate = 33 43 1b 27.
        let ct = cbc_encrypt(&toy, &iv, &data).unwrap();
        assert_eq!(ct, [0x23, 0x34, 0x45, 0x12, 0x33, 0x43, 0x1b, 0x27]);
        assert_eq!(cbc_decrypt(&toy, &iv, &ct).unwrap().as_slice(), data);
    }

    #[test]
    fn ecb_is_blockwise() {
        let toy = Toy(2);
        let ct = ecb_encrypt(&toy, &[0, 0, 0, 1, 0, 0, 0, 1]).unwrap();
        assert_eq!(ct, [2, 2, 3, 2, 2, 2, 3, 2]);
        assert_eq!(
            ecb_decrypt(&toy, &ct).unwrap().as_slice(),
            [0, 0, 0, 1, 0, 0, 0, 1]
        );
    }

    #[test]
    fn partial_blocks_are_rejected() {
        let toy = Toy(0);
        assert!(matches!(
            ecb_encrypt(&toy, &[0; 5]),
            Err(CryptoError::InvalidInput(_))
        ));
        assert!(matches!(
            cbc_decrypt(&toy, &[0; 4], &[0; 3]),
            Err(CryptoError::InvalidInput(_))
        ));
        assert!(ecb_encrypt(&toy, &[]).unwrap().is_empty());
    }
}
