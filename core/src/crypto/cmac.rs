//! AES-CMAC (RustCrypto `cmac` + `aes`, NIST SP 800-38B / RFC 4493) and the NIST SP 800-108
//! counter-mode KDF with AES-CMAC as GlobalPlatform SCP03 (Amendment D) uses it.

use super::mac::verify_mac;
use super::CryptoError;
use cmac::{Cmac, KeyInit, Mac};
use zeroize::{Zeroize, Zeroizing};

/// Length of an AES-CMAC tag in bytes.
pub const CMAC_LEN: usize = 16;

/// SCP03 derivation constants (GlobalPlatform Card Specification Amendment D, table 6-1).
pub mod derivation_constant {
    /// Card cryptogram.
    pub const CARD_CRYPTOGRAM: u8 = 0x00;
    /// Host cryptogram.
    pub const HOST_CRYPTOGRAM: u8 = 0x01;
    /// Card challenge generation (pseudo-random card challenge).
    pub const CARD_CHALLENGE: u8 = 0x02;
    /// Session key for command and response encryption (S-ENC).
    pub const S_ENC: u8 = 0x04;
    /// Session key for command MACs (S-MAC).
    pub const S_MAC: u8 = 0x06;
    /// Session key for response MACs (S-RMAC).
    pub const S_RMAC: u8 = 0x07;
}

/// Length of the SCP03 KDF label: 11 zero bytes then the derivation constant.
const LABEL_LEN: usize = 12;

fn cmac_of<M: Mac + KeyInit>(key: &[u8], parts: &[&[u8]]) -> Result<[u8; CMAC_LEN], CryptoError> {
    let mut mac = <M as KeyInit>::new_from_slice(key)
        .map_err(|_| CryptoError::InvalidKey("AES key length"))?;
    parts.iter().for_each(|part| mac.update(part));
    let mut tag = mac.finalize().into_bytes();
    let out = <[u8; CMAC_LEN]>::try_from(tag.as_slice())
        .map_err(|_| CryptoError::InvalidInput("unexpected CMAC length"));
    // The tag is key material when the CMAC serves as a KDF (`scp03_kdf`): clear this copy.
    tag.as_mut_slice().zeroize();
    out
}

/// AES-CMAC of the concatenation of `parts` under a 16-, 24- or 32-byte key (no copy of the
/// message is made).
pub fn aes_cmac_parts(key: &[u8], parts: &[&[u8]]) -> Result<[u8; CMAC_LEN], CryptoError> {
    match key.len() {
        16 => cmac_of::<Cmac<aes::Aes128>>(key, parts),
        24 => cmac_of::<Cmac<aes::Aes192>>(key, parts),
        32 => cmac_of::<Cmac<aes::Aes256>>(key, parts),
        _ => Err(CryptoError::InvalidKey(
            "AES key must be 16, 24 or 32 bytes",
        )),
    }
}

/// AES-CMAC of `data` under a 16-, 24- or 32-byte key.
pub fn aes_cmac(key: &[u8], data: &[u8]) -> Result<[u8; CMAC_LEN], CryptoError> {
    aes_cmac_parts(key, &[data])
}

/// Verifies a (possibly truncated, at least 4-byte) AES-CMAC in constant time.
pub fn verify_aes_cmac(key: &[u8], data: &[u8], received: &[u8]) -> Result<(), CryptoError> {
    verify_mac(&aes_cmac(key, data)?, received)
}

/// The SCP03 KDF: NIST SP 800-108 KDF in counter mode with AES-CMAC as PRF, producing `bits` bits.
///
/// For each counter `i` from 1 the PRF input is
/// `label (11 x 00 || derivation_constant) || 00 || L (2 bytes, = bits) || i (1 byte) || context`;
/// the outputs are concatenated and cut to `bits / 8` bytes. `bits` must be a non-zero multiple
/// of 8. For session keys the context is `host_challenge || card_challenge`.
pub fn scp03_kdf(
    key: &[u8],
    derivation_constant: u8,
    context: &[u8],
    bits: u16,
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    if bits == 0 || bits % 8 != 0 {
        return Err(CryptoError::InvalidInput(
            "SCP03 KDF output must be a non-zero multiple of 8 bits",
        ));
    }
    let out_len = usize::from(bits / 8);
    let mut fixed = [0u8; LABEL_LEN + 3];
    fixed[LABEL_LEN - 1] = derivation_constant;
    // fixed[LABEL_LEN] is the 00 separation indicator.
    fixed[LABEL_LEN + 1..].copy_from_slice(&bits.to_be_bytes());
    let mut out = Zeroizing::new(Vec::with_capacity(out_len.div_ceil(CMAC_LEN) * CMAC_LEN));
    let mut counter: u8 = 1;
    while out.len() < out_len {
        let block = Zeroizing::new(aes_cmac_parts(key, &[&fixed, &[counter], context])?);
        out.extend_from_slice(&block[..]);
        counter = counter
            .checked_add(1)
            .ok_or(CryptoError::InvalidInput("SCP03 KDF output too long"))?;
    }
    out.truncate(out_len);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    /// RFC 4493 section 4, example 2 (16-byte message).
    #[test]
    fn rfc4493_example_2() {
        let key = h("2b7e151628aed2a6abf7158809cf4f3c");
        let mac = aes_cmac(&key, &h("6bc1bee22e409f96e93d7e117393172a")).unwrap();
        assert_eq!(hex::encode(mac), "070a16b46b4d4144f79bdd9dd04a287c");
        verify_aes_cmac(&key, &h("6bc1bee22e409f96e93d7e117393172a"), &mac[..8]).unwrap();
        assert_eq!(
            verify_aes_cmac(&key, b"other", &mac[..8]),
            Err(CryptoError::VerificationFailed)
        );
    }

    /// NIST SP 800-38B appendix D.3, example 9 (AES-256, empty message).
    #[test]
    fn sp800_38b_aes256_empty() {
        let key = h("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4");
        assert_eq!(
            hex::encode(aes_cmac(&key, &[]).unwrap()),
            "028962f61b7bf89efc6b551f4667d983"
        );
    }

    #[test]
    fn parts_equal_concatenation() {
        let key = [7u8; 16];
        assert_eq!(
            aes_cmac_parts(&key, &[b"ab", b"", b"cdef"]).unwrap(),
            aes_cmac(&key, b"abcdef").unwrap()
        );
    }

    /// The derivation data layout written out by hand for a 256-bit output (two PRF blocks).
    #[test]
    fn kdf_layout_by_hand() {
        let key = [0x40u8; 16];
        let context = h("0102030405060708090a0b0c0d0e0f10");
        let out = scp03_kdf(&key, derivation_constant::S_MAC, &context, 256).unwrap();
        let mut expected = Vec::new();
        for i in 1u8..=2 {
            // 11 x 00, constant 06, separator 00, L = 0100 (256 bits), counter i, context.
            let mut input = vec![0u8; 11];
            input.extend_from_slice(&[0x06, 0x00, 0x01, 0x00, i]);
            input.extend_from_slice(&context);
            expected.extend_from_slice(&aes_cmac(&key, &input).unwrap());
        }
        assert_eq!(out.as_slice(), expected.as_slice());
        let short = scp03_kdf(&key, derivation_constant::S_MAC, &context, 64).unwrap();
        assert_eq!(short.len(), 8);
    }

    #[test]
    fn kdf_rejects_odd_lengths() {
        assert!(scp03_kdf(&[0; 16], 0, &[], 0).is_err());
        assert!(scp03_kdf(&[0; 16], 0, &[], 12).is_err());
        assert!(scp03_kdf(&[0; 15], 0, &[], 128).is_err());
    }
}
