//! The error type of every primitive in [`crate::crypto`].

/// A cryptographic operation failed. Deliberately coarse: callers must not learn *why* a MAC or a
/// signature did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// A key had the wrong length or encoding.
    #[error("invalid key: {0}")]
    InvalidKey(&'static str),
    /// An input (data, IV, padding) had the wrong length or form.
    #[error("invalid input: {0}")]
    InvalidInput(&'static str),
    /// A signature, MAC, cryptogram or AEAD tag did not verify.
    #[error("verification failed")]
    VerificationFailed,
    /// The system random number generator failed.
    #[error("random number generator failure")]
    Rng,
}
