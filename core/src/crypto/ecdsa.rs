//! ECDSA P-256 with SHA-256 (ring): device keys, request signatures.
//!
//! Public keys travel as SEC1 uncompressed points (65 bytes, `04 || X || Y`); signatures as ASN.1
//! DER; private keys are PKCS#8 documents kept in [`Zeroizing`] memory and sealed at rest.

use super::CryptoError;
use ring::rand::SystemRandom;
use ring::signature::{
    EcdsaKeyPair, KeyPair, UnparsedPublicKey, ECDSA_P256_SHA256_ASN1,
    ECDSA_P256_SHA256_ASN1_SIGNING,
};
use zeroize::Zeroizing;

/// Length of a SEC1 uncompressed P-256 public key (`04 || X || Y`).
pub const PUBLIC_KEY_LEN: usize = 65;

/// An ECDSA P-256 private key able to sign.
pub struct P256SigningKey {
    pkcs8: Zeroizing<Vec<u8>>,
    key_pair: EcdsaKeyPair,
    rng: SystemRandom,
}

impl std::fmt::Debug for P256SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("P256SigningKey(..)")
    }
}

impl P256SigningKey {
    /// Generates a fresh key pair from the system random number generator.
    pub fn generate() -> Result<Self, CryptoError> {
        let rng = SystemRandom::new();
        let document = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng)
            .map_err(|_| CryptoError::Rng)?;
        Self::from_pkcs8(document.as_ref())
    }

    /// Loads a key from its PKCS#8 v1/v2 document.
    pub fn from_pkcs8(pkcs8: &[u8]) -> Result<Self, CryptoError> {
        let rng = SystemRandom::new();
        let key_pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8, &rng)
            .map_err(|_| CryptoError::InvalidKey("not a P-256 PKCS#8 private key"))?;
        Ok(Self {
            pkcs8: Zeroizing::new(pkcs8.to_vec()),
            key_pair,
            rng,
        })
    }

    /// The PKCS#8 document, to be sealed by the store. Never log it.
    pub fn pkcs8(&self) -> &[u8] {
        &self.pkcs8
    }

    /// The public key as a SEC1 uncompressed point (65 bytes).
    pub fn public_key_sec1(&self) -> Vec<u8> {
        self.key_pair.public_key().as_ref().to_vec()
    }

    /// Signs `message` (hashed with SHA-256 inside); returns an ASN.1 DER signature.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.key_pair
            .sign(&self.rng, message)
            .map(|signature| signature.as_ref().to_vec())
            .map_err(|_| CryptoError::Rng)
    }
}

/// Verifies an ASN.1 DER ECDSA P-256 / SHA-256 signature over `message` against a SEC1 public key.
pub fn verify_p256(
    public_key_sec1: &[u8],
    message: &[u8],
    signature_der: &[u8],
) -> Result<(), CryptoError> {
    if public_key_sec1.len() != PUBLIC_KEY_LEN || public_key_sec1.first() != Some(&0x04) {
        return Err(CryptoError::InvalidKey(
            "P-256 public key must be a 65-byte uncompressed point",
        ));
    }
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, public_key_sec1)
        .verify(message, signature_der)
        .map_err(|_| CryptoError::VerificationFailed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_verify_and_reject_altered_message() {
        let key = P256SigningKey::generate().unwrap();
        let public = key.public_key_sec1();
        assert_eq!(public.len(), PUBLIC_KEY_LEN);
        assert_eq!(public[0], 0x04);
        let signature = key.sign(b"bind card 6222").unwrap();
        // A DER ECDSA-Sig-Value is a SEQUENCE of two INTEGERs.
        assert_eq!(signature[0], 0x30);
        verify_p256(&public, b"bind card 6222", &signature).unwrap();
        assert_eq!(
            verify_p256(&public, b"bind card 6223", &signature),
            Err(CryptoError::VerificationFailed)
        );
        let mut bad = signature.clone();
        let last = bad.len() - 1;
        bad[last] ^= 0x01;
        assert_eq!(
            verify_p256(&public, b"bind card 6222", &bad),
            Err(CryptoError::VerificationFailed)
        );
    }

    #[test]
    fn other_key_does_not_verify() {
        let a = P256SigningKey::generate().unwrap();
        let b = P256SigningKey::generate().unwrap();
        let signature = a.sign(b"m").unwrap();
        assert_eq!(
            verify_p256(&b.public_key_sec1(), b"m", &signature),
            Err(CryptoError::VerificationFailed)
        );
    }

    #[test]
    fn pkcs8_round_trip_keeps_the_key() {
        let key = P256SigningKey::generate().unwrap();
        let again = P256SigningKey::from_pkcs8(key.pkcs8()).unwrap();
        assert_eq!(key.public_key_sec1(), again.public_key_sec1());
        let signature = again.sign(b"m").unwrap();
        verify_p256(&key.public_key_sec1(), b"m", &signature).unwrap();
    }

    #[test]
    fn rejects_garbage_keys() {
        assert!(matches!(
            P256SigningKey::from_pkcs8(b"not a key"),
            Err(CryptoError::InvalidKey(_))
        ));
        assert!(matches!(
            verify_p256(&[0x04; 10], b"m", &[0x30]),
            Err(CryptoError::InvalidKey(_))
        ));
    }

    #[test]
    fn the_pkcs8_copy_is_zeroized_on_drop() {
        fn zeroized_on_drop<T: zeroize::ZeroizeOnDrop>(_: &T) {}
        let key = P256SigningKey::generate().unwrap();
        // ring's `EcdsaKeyPair` keeps its own, non-zeroizing copy (see docs/security/zeroisation.md).
        zeroized_on_drop(&key.pkcs8);
        assert_eq!(key.pkcs8.as_slice(), key.pkcs8());
    }

    #[test]
    fn debug_hides_key_material() {
        let key = P256SigningKey::generate().unwrap();
        assert_eq!(format!("{key:?}"), "P256SigningKey(..)");
    }
}
