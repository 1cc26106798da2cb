//! ISO/IEC 9797-1 MACs over any [`BlockCipher`]: padding methods 1 and 2, MAC algorithm 1
//! (CBC-MAC) and MAC algorithm 3 (the "retail MAC" of EMV, PBOC and GlobalPlatform SCP02).
//!
//! The same code serves DES, 3DES and SM4 (PBOC's SM4 MAC is MAC algorithm 1 with SM4 and padding
//! method 2, see [`super::sm4::sm4_mac`]).

use super::block::BlockCipher;
use super::des::{Des, BLOCK_LEN as DES_BLOCK_LEN};
use super::CryptoError;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// Shortest MAC ISO/IEC 9797-1 lets a verifier accept (32 bits).
pub const MIN_MAC_LEN: usize = 4;

/// How data is padded to whole blocks before a MAC (ISO/IEC 9797-1 clause 6.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Padding {
    /// No padding: the data must already be a non-empty whole number of blocks.
    None,
    /// Method 1: append as few zero bytes as needed (none if already aligned; one zero block
    /// for empty data).
    Method1,
    /// Method 2 (ISO/IEC 7816-4 style): append `80` then as few zero bytes as needed; always adds
    /// at least one byte.
    Method2,
}

/// Returns `data` padded to a multiple of `block_len` with `padding`.
///
/// [`Padding::None`] returns the data unchanged and does not check alignment.
///
/// The result is allocated once at its final length, so padding secret data (a command about
/// to be encrypted) leaves no reallocated partial copy behind; wrap it in [`Zeroizing`] to
/// clear it on drop.
pub fn pad(data: &[u8], block_len: usize, padding: Padding) -> Vec<u8> {
    let padded_len = match padding {
        _ if block_len == 0 => data.len(),
        Padding::None => data.len(),
        Padding::Method1 if data.is_empty() || data.len() % block_len != 0 => {
            data.len().div_ceil(block_len).max(1) * block_len
        }
        Padding::Method1 => data.len(),
        Padding::Method2 => (data.len() + 1).div_ceil(block_len) * block_len,
    };
    let mut out = Vec::with_capacity(padded_len);
    out.extend_from_slice(data);
    if padding == Padding::Method2 && block_len != 0 {
        out.push(0x80);
    }
    out.resize(padded_len, 0);
    out
}

/// Strips padding method 2 (`80 00 .. 00`) from `data`, which must be a whole number of
/// `block_len`-byte blocks; the marker must sit in the last block.
pub fn unpad_method2(data: &[u8], block_len: usize) -> Result<&[u8], CryptoError> {
    const BAD: CryptoError = CryptoError::InvalidInput("bad ISO/IEC 9797-1 method 2 padding");
    if block_len == 0 || data.is_empty() || data.len() % block_len != 0 {
        return Err(BAD);
    }
    let marker = data.iter().rposition(|&b| b != 0).ok_or(BAD)?;
    if data.get(marker) != Some(&0x80) || data.len() - marker > block_len {
        return Err(BAD);
    }
    Ok(data.get(..marker).unwrap_or_default())
}

/// Runs the CBC chain of MAC algorithm 1 over `data` padded with `padding` and returns the last
/// chaining block `H_q`. Pads on the fly: no copy of the data is made.
fn cbc_chain<C: BlockCipher<N>, const N: usize>(
    cipher: &C,
    iv: &[u8; N],
    data: &[u8],
    padding: Padding,
) -> Result<[u8; N], CryptoError> {
    let mut state = *iv;
    let mut absorb = |block: &[u8]| {
        state.iter_mut().zip(block).for_each(|(s, b)| *s ^= b);
        cipher.encrypt_block(&mut state);
    };
    let mut chunks = data.chunks_exact(N);
    chunks.by_ref().for_each(&mut absorb);
    let tail = chunks.remainder();
    let mut last = Zeroizing::new([0u8; N]);
    last.get_mut(..tail.len())
        .unwrap_or_default()
        .copy_from_slice(tail);
    match padding {
        Padding::None if data.is_empty() || !tail.is_empty() => {
            return Err(CryptoError::InvalidInput(
                "unpadded MAC input must be whole, non-empty blocks",
            ));
        }
        Padding::None => {}
        Padding::Method1 if data.is_empty() || !tail.is_empty() => absorb(&last[..]),
        Padding::Method1 => {}
        Padding::Method2 => {
            // `tail` is shorter than a block, so the marker position is in range.
            if let Some(marker) = last.get_mut(tail.len()) {
                *marker = 0x80;
            }
            absorb(&last[..]);
        }
    }
    Ok(state)
}

/// ISO/IEC 9797-1 MAC algorithm 1 (CBC-MAC, output transformation 1) with initial value `iv`
/// (all zero in ISO; EMV / GlobalPlatform may chain an ICV). Returns the full last block; callers
/// truncate (e.g. to 4 or 8 bytes) as their protocol says.
pub fn mac_algorithm_1<C: BlockCipher<N>, const N: usize>(
    cipher: &C,
    iv: &[u8; N],
    data: &[u8],
    padding: Padding,
) -> Result<[u8; N], CryptoError> {
    cbc_chain(cipher, iv, data, padding)
}

/// ISO/IEC 9797-1 MAC algorithm 3: CBC-MAC under `key`, then output transformation 3 on the last
/// block: decrypt under `key_b`, encrypt under `key`.
pub fn mac_algorithm_3<C: BlockCipher<N>, const N: usize>(
    key: &C,
    key_b: &C,
    iv: &[u8; N],
    data: &[u8],
    padding: Padding,
) -> Result<[u8; N], CryptoError> {
    let mut out = cbc_chain(key, iv, data, padding)?;
    key_b.decrypt_block(&mut out);
    key.encrypt_block(&mut out);
    Ok(out)
}

/// The retail MAC (ANSI X9.19, ISO/IEC 9797-1 MAC algorithm 3 with single DES) under a 16-byte
/// key `A || B`, with initial chaining value `icv` (zero unless the protocol chains MACs).
pub fn retail_mac(
    key: &[u8; 16],
    icv: &[u8; DES_BLOCK_LEN],
    data: &[u8],
    padding: Padding,
) -> Result<[u8; DES_BLOCK_LEN], CryptoError> {
    let (a, b) = split_double_key(key);
    mac_algorithm_3(&Des::new(&a), &Des::new(&b), icv, data, padding)
}

fn split_double_key(key: &[u8; 16]) -> (Zeroizing<[u8; 8]>, Zeroizing<[u8; 8]>) {
    let mut a = Zeroizing::new([0u8; 8]);
    let mut b = Zeroizing::new([0u8; 8]);
    let (left, right) = key.split_at(8);
    a.copy_from_slice(left);
    b.copy_from_slice(right);
    (a, b)
}

/// Compares a received MAC with the computed one in constant time. `received` may be a left
/// truncation of `computed` of at least [`MIN_MAC_LEN`] bytes.
pub fn verify_mac(computed: &[u8], received: &[u8]) -> Result<(), CryptoError> {
    if received.len() < MIN_MAC_LEN || received.len() > computed.len() {
        return Err(CryptoError::VerificationFailed);
    }
    let prefix = computed
        .get(..received.len())
        .ok_or(CryptoError::VerificationFailed)?;
    if bool::from(prefix.ct_eq(received)) {
        Ok(())
    } else {
        Err(CryptoError::VerificationFailed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::des::{des_ecb_decrypt, des_ecb_encrypt, tdes_cbc_encrypt, Tdes};

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    fn key16(s: &str) -> [u8; 16] {
        h(s).try_into().unwrap()
    }

    #[test]
    fn padding_methods() {
        assert_eq!(
            pad(&[1, 2, 3], 8, Padding::Method1),
            [1, 2, 3, 0, 0, 0, 0, 0]
        );
        assert_eq!(pad(&[1; 8], 8, Padding::Method1), [1; 8]);
        assert_eq!(pad(&[], 8, Padding::Method1), [0; 8]);
        assert_eq!(
            pad(&[1, 2, 3], 8, Padding::Method2),
            [1, 2, 3, 0x80, 0, 0, 0, 0]
        );
        assert_eq!(
            pad(&[1; 8], 8, Padding::Method2),
            [1, 1, 1, 1, 1, 1, 1, 1, 0x80, 0, 0, 0, 0, 0, 0, 0]
        );
        assert_eq!(pad(&[], 16, Padding::Method2).len(), 16);
        // Allocated once at the final length: no reallocation leaves a copy of the data behind.
        for padding in [Padding::None, Padding::Method1, Padding::Method2] {
            for len in [0usize, 1, 15, 16, 17, 100] {
                let padded = pad(&vec![0x5A; len], 16, padding);
                assert_eq!(padded.capacity(), padded.len(), "{padding:?} {len}");
            }
        }
        assert_eq!(
            pad(&[1; 7], 8, Padding::Method2),
            [1, 1, 1, 1, 1, 1, 1, 0x80]
        );
    }

    #[test]
    fn unpad_method2_round_trips_and_rejects_garbage() {
        for len in 0..20 {
            let data: Vec<u8> = (1..=len).collect();
            assert_eq!(
                unpad_method2(&pad(&data, 8, Padding::Method2), 8).unwrap(),
                data.as_slice()
            );
        }
        assert!(unpad_method2(&[1, 2, 3, 0, 0, 0, 0, 0], 8).is_err());
        assert!(unpad_method2(&[0; 8], 8).is_err());
        assert!(unpad_method2(&[0x80, 0, 0], 8).is_err());
        // The marker must be in the last block.
        assert!(unpad_method2(&[0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 8).is_err());
    }

    /// ICAO Doc 9303 part 11, appendix D.3 (Basic Access Control worked example): the retail MAC
    /// (MAC algorithm 3, DES, padding method 2) of E_IFD and of E_IC under K_MAC.
    #[test]
    fn retail_mac_icao_9303_appendix_d3() {
        let k_mac = key16("7962d9ece03d1acd4c76089dce131543");
        let e_ifd = h("72c29c2371cc9bdb65b779b8e8d37b29ecc154aa56a8799fae2f498f76ed92f2");
        let e_ic = h("46b9342a41396cd7386bf5803104d7cedc122b9132139baf2eedc94ee178534f");
        assert_eq!(
            hex::encode(retail_mac(&k_mac, &[0; 8], &e_ifd, Padding::Method2).unwrap()),
            "5f1448eea8ad90a7"
        );
        assert_eq!(
            hex::encode(retail_mac(&k_mac, &[0; 8], &e_ic, Padding::Method2).unwrap()),
            "2f2d235d074d7449"
        );
    }

    /// Bouncy Castle's ISO9797Alg3MacTest vector: "Hello World !!!!" (two whole blocks, no padding
    /// added by method 1) under 7CA110454A1A6E57 || 0131D9619DC1376E.
    #[test]
    fn retail_mac_bouncy_castle_vector() {
        let key = key16("7ca110454a1a6e570131d9619dc1376e");
        let mac = retail_mac(&key, &[0; 8], b"Hello World !!!!", Padding::Method1).unwrap();
        assert_eq!(hex::encode(mac), "f09b856213bab83b");
    }

    /// FIPS PUB 113 (Data Authentication Algorithm) example: DES CBC-MAC, zero IV, zero padding,
    /// key 0123456789abcdef over "7654321 Now is the time for "; the published 32-bit MAC.
    #[test]
    fn algorithm_1_fips113_daa() {
        let des = Des::new(&[0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef]);
        let mac = mac_algorithm_1(
            &des,
            &[0; 8],
            b"7654321 Now is the time for ",
            Padding::Method1,
        )
        .unwrap();
        assert_eq!(hex::encode(&mac[..4]), "f1d30f68");
    }

    /// MAC algorithm 1 is the last block of a CBC encryption of the padded data.
    #[test]
    fn algorithm_1_equals_last_cbc_block() {
        let key = h("404142434445464748494a4b4c4d4e4f");
        let icv = [0x11u8; 8];
        for len in [0usize, 1, 7, 8, 9, 24, 31] {
            let data: Vec<u8> = (0..len as u8).collect();
            for padding in [Padding::Method1, Padding::Method2] {
                let padded = pad(&data, 8, padding);
                let cbc = tdes_cbc_encrypt(&key, &icv, &padded).unwrap();
                let mac = mac_algorithm_1(&Tdes::new(&key).unwrap(), &icv, &data, padding).unwrap();
                assert_eq!(
                    mac.as_slice(),
                    &cbc[cbc.len() - 8..],
                    "len {len} {padding:?}"
                );
            }
        }
    }

    /// MAC algorithm 3 by hand: single-DES CBC with key A, then D_B, then E_A on the last block.
    #[test]
    fn retail_mac_equals_manual_construction() {
        let key = key16("0123456789abcdeffedcba9876543210");
        let a: [u8; 8] = key[..8].try_into().unwrap();
        let b: [u8; 8] = key[8..].try_into().unwrap();
        let data = b"Now is the time for all ";
        let padded = pad(data, 8, Padding::Method2);
        let mut chain = [0u8; 8];
        for block in padded.chunks(8) {
            let x: Vec<u8> = block.iter().zip(chain).map(|(p, c)| p ^ c).collect();
            chain = des_ecb_encrypt(&a, &x).unwrap().try_into().unwrap();
        }
        let d = des_ecb_decrypt(&b, &chain).unwrap();
        let expected = des_ecb_encrypt(&a, &d).unwrap();
        assert_eq!(
            retail_mac(&key, &[0; 8], data, Padding::Method2)
                .unwrap()
                .as_slice(),
            expected
        );
    }

    #[test]
    fn unpadded_input_must_be_whole_blocks() {
        let des = Des::new(&[1; 8]);
        assert!(mac_algorithm_1(&des, &[0; 8], &[1; 9], Padding::None).is_err());
        assert!(mac_algorithm_1(&des, &[0; 8], &[], Padding::None).is_err());
        assert_eq!(
            mac_algorithm_1(&des, &[0; 8], &[1; 16], Padding::None).unwrap(),
            mac_algorithm_1(&des, &[0; 8], &[1; 16], Padding::Method1).unwrap()
        );
    }

    #[test]
    fn verify_accepts_truncations_only() {
        let mac = [1, 2, 3, 4, 5, 6, 7, 8];
        assert!(verify_mac(&mac, &mac).is_ok());
        assert!(verify_mac(&mac, &mac[..4]).is_ok());
        assert_eq!(
            verify_mac(&mac, &mac[..3]),
            Err(CryptoError::VerificationFailed)
        );
        assert_eq!(
            verify_mac(&mac, &[1, 2, 3, 5]),
            Err(CryptoError::VerificationFailed)
        );
        assert_eq!(
            verify_mac(&mac[..4], &mac),
            Err(CryptoError::VerificationFailed)
        );
    }
}
