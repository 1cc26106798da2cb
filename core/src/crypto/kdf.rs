//! Key derivation: HKDF-SHA256 (ring).

use super::CryptoError;
use ring::hkdf::{KeyType, Salt, HKDF_SHA256};
use zeroize::Zeroizing;

/// Largest output of HKDF-SHA256 (RFC 5869: 255 blocks of the hash length).
pub const HKDF_SHA256_MAX_LEN: usize = 255 * 32;

/// An output length for ring's HKDF.
struct OutLen(usize);

impl KeyType for OutLen {
    fn len(&self) -> usize {
        self.0
    }
}

/// HKDF-SHA256 extract-and-expand of `ikm` with `salt` and `info` into `len` bytes (max 255 * 32).
pub fn hkdf_sha256(
    salt: &[u8],
    ikm: &[u8],
    info: &[u8],
    len: usize,
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    if len > HKDF_SHA256_MAX_LEN {
        return Err(CryptoError::InvalidInput(
            "HKDF-SHA256 output longer than 8160 bytes",
        ));
    }
    let prk = Salt::new(HKDF_SHA256, salt).extract(ikm);
    let info = [info];
    let okm = prk
        .expand(&info, OutLen(len))
        .map_err(|_| CryptoError::InvalidInput("HKDF-SHA256 output length"))?;
    let mut out = Zeroizing::new(vec![0u8; len]);
    okm.fill(&mut out)
        .map_err(|_| CryptoError::InvalidInput("HKDF-SHA256 output length"))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 5869 appendix A.1, test case 1 (basic SHA-256).
    #[test]
    fn rfc5869_test_case_1() {
        let ikm = [0x0b; 22];
        let salt = hex::decode("000102030405060708090a0b0c").unwrap();
        let info = hex::decode("f0f1f2f3f4f5f6f7f8f9").unwrap();
        let okm = hkdf_sha256(&salt, &ikm, &info, 42).unwrap();
        assert_eq!(
            hex::encode(okm.as_slice()),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
        );
    }

    /// RFC 5869 appendix A.3, test case 3 (zero-length salt and info).
    #[test]
    fn rfc5869_test_case_3() {
        let okm = hkdf_sha256(&[], &[0x0b; 22], &[], 42).unwrap();
        assert_eq!(
            hex::encode(okm.as_slice()),
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"
        );
    }

    #[test]
    fn output_length_is_bounded() {
        assert_eq!(
            hkdf_sha256(b"s", b"k", b"i", HKDF_SHA256_MAX_LEN)
                .unwrap()
                .len(),
            HKDF_SHA256_MAX_LEN
        );
        assert!(matches!(
            hkdf_sha256(b"s", b"k", b"i", HKDF_SHA256_MAX_LEN + 1),
            Err(CryptoError::InvalidInput(_))
        ));
    }
}
