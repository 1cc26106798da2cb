//! AES-256-GCM sealing (ring). Layout of a sealed blob: `nonce (12) || ciphertext || tag (16)`.

use super::{random, CryptoError};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use zeroize::Zeroizing;

/// Length of an AES-256-GCM key in bytes.
pub const KEY_LEN: usize = 32;

/// Length of the authentication tag appended to the ciphertext.
pub const TAG_LEN: usize = 16;

/// Bytes a sealed blob adds to its plaintext (nonce and tag).
pub const OVERHEAD: usize = NONCE_LEN + TAG_LEN;

fn aead_key(key: &[u8; KEY_LEN]) -> Result<LessSafeKey, CryptoError> {
    UnboundKey::new(&AES_256_GCM, key)
        .map(LessSafeKey::new)
        .map_err(|_| CryptoError::InvalidKey("AES-256-GCM key"))
}

/// Encrypts and authenticates `plaintext` (and authenticates `aad`) under `key` with a fresh
/// random nonce. Returns `nonce || ciphertext || tag`.
pub fn seal(key: &[u8; KEY_LEN], aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let key = aead_key(key)?;
    let nonce_bytes = random::bytes::<NONCE_LEN>()?;
    // Holds the plaintext until it is encrypted in place: cleared on drop if sealing fails.
    let mut out = Zeroizing::new(Vec::with_capacity(plaintext.len() + OVERHEAD));
    out.extend_from_slice(&nonce_bytes);
    out.extend_from_slice(plaintext);
    let tag = key
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce_bytes),
            Aad::from(aad),
            // `out` holds the nonce followed by the plaintext: the slice is always in range.
            &mut out[NONCE_LEN..],
        )
        .map_err(|_| CryptoError::InvalidInput("plaintext too long for AES-GCM"))?;
    out.extend_from_slice(tag.as_ref());
    // Only ciphertext is left: hand the allocation over without a copy.
    Ok(std::mem::take(&mut *out))
}

/// Verifies and decrypts a blob produced by [`seal`] with the same `key` and `aad`.
pub fn open(
    key: &[u8; KEY_LEN],
    aad: &[u8],
    sealed: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    if sealed.len() < OVERHEAD {
        return Err(CryptoError::InvalidInput(
            "sealed blob shorter than nonce and tag",
        ));
    }
    let (nonce_bytes, ciphertext) = sealed.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce_bytes)
        .map_err(|_| CryptoError::InvalidInput("AES-GCM nonce"))?;
    let key = aead_key(key)?;
    let mut buf = Zeroizing::new(ciphertext.to_vec());
    let plain_len = key
        .open_in_place(nonce, Aad::from(aad), &mut buf)
        .map_err(|_| CryptoError::VerificationFailed)?
        .len();
    buf.truncate(plain_len);
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; KEY_LEN] = [0x42; KEY_LEN];

    #[test]
    fn round_trip_and_layout() {
        let sealed = seal(&KEY, b"aad", b"hello card").unwrap();
        assert_eq!(sealed.len(), 10 + OVERHEAD);
        assert_eq!(
            open(&KEY, b"aad", &sealed).unwrap().as_slice(),
            b"hello card"
        );
    }

    #[test]
    fn empty_plaintext_round_trips() {
        let sealed = seal(&KEY, b"", b"").unwrap();
        assert_eq!(sealed.len(), OVERHEAD);
        assert!(open(&KEY, b"", &sealed).unwrap().is_empty());
    }

    #[test]
    fn nonces_are_fresh() {
        let a = seal(&KEY, b"", b"same").unwrap();
        let b = seal(&KEY, b"", b"same").unwrap();
        assert_ne!(a[..NONCE_LEN], b[..NONCE_LEN]);
        assert_ne!(a, b);
    }

    #[test]
    fn any_flipped_byte_is_rejected() {
        let sealed = seal(&KEY, b"aad", b"secret payload").unwrap();
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 0x01;
            assert_eq!(
                open(&KEY, b"aad", &bad),
                Err(CryptoError::VerificationFailed),
                "byte {i}"
            );
        }
    }

    #[test]
    fn wrong_aad_or_key_is_rejected() {
        let sealed = seal(&KEY, b"aad", b"secret").unwrap();
        assert_eq!(
            open(&KEY, b"other", &sealed),
            Err(CryptoError::VerificationFailed)
        );
        assert_eq!(
            open(&[0x43; KEY_LEN], b"aad", &sealed),
            Err(CryptoError::VerificationFailed)
        );
    }

    #[test]
    fn truncated_blob_is_invalid_input() {
        let sealed = seal(&KEY, b"", b"x").unwrap();
        assert!(matches!(
            open(&KEY, b"", &sealed[..OVERHEAD - 1]),
            Err(CryptoError::InvalidInput(_))
        ));
    }
}
