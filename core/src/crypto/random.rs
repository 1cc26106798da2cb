//! Secure random bytes from the operating system (ring's `SystemRandom`).

use super::CryptoError;
use ring::rand::{SecureRandom, SystemRandom};

/// Fills `buf` with cryptographically secure random bytes.
pub fn fill(buf: &mut [u8]) -> Result<(), CryptoError> {
    SystemRandom::new().fill(buf).map_err(|_| CryptoError::Rng)
}

/// Returns `N` cryptographically secure random bytes.
pub fn bytes<const N: usize>() -> Result<[u8; N], CryptoError> {
    let mut out = [0u8; N];
    fill(&mut out)?;
    Ok(out)
}

/// Returns a random lowercase hex identifier of `n_bytes` bytes of entropy (`2 * n_bytes` chars).
pub fn hex_id(n_bytes: usize) -> Result<String, CryptoError> {
    let mut buf = vec![0u8; n_bytes];
    fill(&mut buf)?;
    Ok(hex::encode(buf))
}
