//! The platform signing seam: device keys (ECDSA P-256) live behind [`Signer`].
//!
//! On Android the bindings implement [`Signer`] with the Android Keystore, on iOS with the Secure
//! Enclave; headless (CLI, tests) the wallet uses [`SoftwareSigner`], whose private keys are
//! PKCS#8 documents sealed in the wallet's [`Store`]. The core never sees a hardware key's
//! private half: it asks for a public key and for signatures by alias.

use crate::crypto::ecdsa::P256SigningKey;
use crate::crypto::secret;
use crate::store::Store;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// A signing operation of the platform failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignerError {
    /// No key under this alias.
    #[error("no signing key under this alias")]
    KeyNotFound,
    /// The platform requires the user to authenticate (biometrics, device PIN) before it signs.
    #[error("the platform requires user authentication before signing")]
    UserNotAuthenticated,
    /// Any other platform failure (key store unavailable, hardware error, storage failure).
    #[error("platform signer failure: {0}")]
    Platform(String),
}

/// Holds device private keys and signs with them, by alias. Implemented by the platform (Android
/// Keystore, iOS Secure Enclave) or by [`SoftwareSigner`].
pub trait Signer: Send + Sync + std::fmt::Debug {
    /// Creates a P-256 key pair under `alias`, replacing any existing key of that alias, and
    /// returns its public key as a SEC1 uncompressed point (65 bytes, `04 || X || Y`).
    fn generate_key(&self, alias: &str) -> Result<Vec<u8>, SignerError>;
    /// The SEC1 uncompressed public key under `alias`, or `None` if there is no such key.
    fn public_key(&self, alias: &str) -> Result<Option<Vec<u8>>, SignerError>;
    /// Signs `message` with the key under `alias`: ECDSA P-256 over SHA-256 (hashed by the
    /// signer), ASN.1 DER signature.
    fn sign(&self, alias: &str, message: &[u8]) -> Result<Vec<u8>, SignerError>;
    /// Deletes the key under `alias`; deleting a missing key is not an error.
    fn delete_key(&self, alias: &str) -> Result<(), SignerError>;
}

/// Store namespace of [`SoftwareSigner`] keys, keyed by alias.
const NS_SIGNER_KEYS: &str = "signer.keys";

/// A software key as stored (sealed by the store).
#[derive(Serialize, Deserialize)]
struct SoftwareKeyRecord {
    /// PKCS#8 document, hex.
    pkcs8: Zeroizing<String>,
}

/// The headless [`Signer`]: P-256 keys generated with ring, their PKCS#8 documents sealed in the
/// wallet's store (durably, before the public key is handed out).
#[derive(Clone)]
pub struct SoftwareSigner {
    store: Store,
}

impl std::fmt::Debug for SoftwareSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SoftwareSigner(..)")
    }
}

impl SoftwareSigner {
    /// A signer keeping its keys in `store`.
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    fn load(&self, alias: &str) -> Result<Option<P256SigningKey>, SignerError> {
        let record: Option<SoftwareKeyRecord> = self
            .store
            .get(NS_SIGNER_KEYS, alias)
            .map_err(|e| SignerError::Platform(e.to_string()))?;
        record
            .map(|r| key_from_hex(&r.pkcs8))
            .transpose()
            .map_err(|e| SignerError::Platform(e.to_string()))
    }
}

impl Signer for SoftwareSigner {
    fn generate_key(&self, alias: &str) -> Result<Vec<u8>, SignerError> {
        let key = P256SigningKey::generate().map_err(|e| SignerError::Platform(e.to_string()))?;
        let record = SoftwareKeyRecord {
            pkcs8: secret::hex_encode(key.pkcs8()),
        };
        self.store
            .put_durable(NS_SIGNER_KEYS, alias, &record)
            .map_err(|e| SignerError::Platform(e.to_string()))?;
        Ok(key.public_key_sec1())
    }

    fn public_key(&self, alias: &str) -> Result<Option<Vec<u8>>, SignerError> {
        Ok(self.load(alias)?.map(|k| k.public_key_sec1()))
    }

    fn sign(&self, alias: &str, message: &[u8]) -> Result<Vec<u8>, SignerError> {
        let key = self.load(alias)?.ok_or(SignerError::KeyNotFound)?;
        key.sign(message)
            .map_err(|e| SignerError::Platform(e.to_string()))
    }

    fn delete_key(&self, alias: &str) -> Result<(), SignerError> {
        self.store
            .remove(NS_SIGNER_KEYS, alias)
            .map(|_| ())
            .map_err(|e| SignerError::Platform(e.to_string()))
    }
}

/// Loads a P-256 key from its hex PKCS#8 document (the software key formats of the store).
pub(crate) fn key_from_hex(pkcs8_hex: &str) -> Result<P256SigningKey, crate::crypto::CryptoError> {
    let bytes = Zeroizing::new(
        hex::decode(pkcs8_hex)
            .map_err(|_| crate::crypto::CryptoError::InvalidKey("stored device key"))?,
    );
    P256SigningKey::from_pkcs8(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::ecdsa::verify_p256;
    use crate::store::SoftwareKeyStore;
    use std::sync::Arc;

    fn signer() -> (SoftwareSigner, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let ks = Arc::new(SoftwareKeyStore::open(&dir.path().join("ks.key")).unwrap());
        let store = Store::open(&dir.path().join("store"), ks).unwrap();
        (SoftwareSigner::new(store), dir)
    }

    #[test]
    fn generated_key_signs_verifiably_and_is_found_again() {
        let (s, _dir) = signer();
        let public = s.generate_key("device/a").unwrap();
        assert_eq!(public.len(), 65);
        assert_eq!(s.public_key("device/a").unwrap(), Some(public.clone()));
        let signature = s.sign("device/a", b"pay").unwrap();
        verify_p256(&public, b"pay", &signature).unwrap();
        assert!(verify_p256(&public, b"paz", &signature).is_err());
    }

    #[test]
    fn generate_replaces_and_delete_forgets() {
        let (s, _dir) = signer();
        let first = s.generate_key("k").unwrap();
        let second = s.generate_key("k").unwrap();
        assert_ne!(first, second);
        assert_eq!(s.public_key("k").unwrap(), Some(second));
        s.delete_key("k").unwrap();
        assert_eq!(s.public_key("k").unwrap(), None);
        assert_eq!(s.sign("k", b"m"), Err(SignerError::KeyNotFound));
        s.delete_key("k").unwrap();
    }

    #[test]
    fn the_stored_record_zeroizes_its_key_on_drop() {
        fn zeroized_on_drop<T: zeroize::ZeroizeOnDrop>(_: &T) {}
        let key = P256SigningKey::generate().unwrap();
        let mut record = SoftwareKeyRecord {
            pkcs8: secret::hex_encode(key.pkcs8()),
        };
        zeroized_on_drop(&record.pkcs8);
        assert_eq!(record.pkcs8.as_str(), hex::encode(key.pkcs8()));
        let again = key_from_hex(&record.pkcs8).unwrap();
        assert_eq!(again.public_key_sec1(), key.public_key_sec1());
        zeroize::Zeroize::zeroize(&mut record.pkcs8);
        assert!(record.pkcs8.is_empty());
    }

    #[test]
    fn debug_hides_everything() {
        let (s, _dir) = signer();
        assert_eq!(format!("{s:?}"), "SoftwareSigner(..)");
    }
}
