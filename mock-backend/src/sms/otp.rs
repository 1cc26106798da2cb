//! One-time codes: generation from the secure RNG and salted hashing for storage.

use ring::digest::{Context, SHA256};
use wallet_core::crypto::{random, CryptoError};

/// Number of digits of a one-time code.
pub const CODE_DIGITS: usize = 6;

const CODE_SPACE: u32 = 1_000_000;

/// A fresh uniformly distributed 6-digit code (leading zeros kept).
pub fn generate_code() -> Result<String, CryptoError> {
    // Rejection sampling: accept only values below the largest multiple of 10^6 that fits in a u32,
    // so every code is equally likely.
    let limit = u32::MAX - (u32::MAX % CODE_SPACE);
    loop {
        let value = u32::from_be_bytes(random::bytes::<4>()?);
        if value < limit {
            return Ok(format!("{:06}", value % CODE_SPACE));
        }
    }
}

/// Whether `candidate` has the shape of a code (exactly six ASCII digits).
pub fn is_well_formed(candidate: &str) -> bool {
    candidate.len() == CODE_DIGITS && candidate.bytes().all(|b| b.is_ascii_digit())
}

/// SHA-256(salt || code), the only form in which a code is stored.
pub fn hash_code(salt: &[u8], code: &str) -> [u8; 32] {
    let mut ctx = Context::new(&SHA256);
    ctx.update(salt);
    ctx.update(code.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// Compares two digests without an early exit.
pub fn digests_equal(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits() -> Result<(), CryptoError> {
        for _ in 0..200 {
            let code = generate_code()?;
            assert!(is_well_formed(&code), "{code}");
        }
        Ok(())
    }

    #[test]
    fn shape_check() {
        assert!(is_well_formed("012345"));
        assert!(!is_well_formed("12345"));
        assert!(!is_well_formed("1234567"));
        assert!(!is_well_formed("12345a"));
        assert!(!is_well_formed("１２３４５６")); // full-width digits
    }

    #[test]
    fn hash_matches_published_sha256() {
        // SHA-256("abc") from FIPS 180-2, with "a" as salt and "bc" as code.
        let expected = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(hex::encode(hash_code(b"a", "bc")), expected);
    }

    #[test]
    fn digest_comparison() {
        assert!(digests_equal(&[1, 2, 3], &[1, 2, 3]));
        assert!(!digests_equal(&[1, 2, 3], &[1, 2, 4]));
        assert!(!digests_equal(&[1, 2], &[1, 2, 3]));
    }
}
