//! The platform key store seam: wraps and unwraps the store's data key.

use super::fsio;
use crate::crypto::aead::{self, KEY_LEN};
use crate::crypto::random;
use std::fmt;
use std::path::Path;
use zeroize::Zeroizing;

/// A key store failed (platform key store unavailable, wrapped key tampered, …).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyStoreError {
    /// The platform key store refused or failed; the text says why.
    #[error("key store failure: {0}")]
    Failure(String),
    /// The wrapped key did not unwrap (tampered, or wrapped by another key).
    #[error("wrapped key could not be unwrapped")]
    Unwrap,
}

/// Wraps and unwraps the store's data key. Android Keystore / iOS Keychain implement it through
/// the FFI; [`SoftwareKeyStore`] is the headless default.
pub trait KeyStore: Send + Sync {
    /// Encrypts `key` under the key store's key named `alias`; returns an opaque blob.
    fn wrap_key(&self, alias: &str, key: &[u8]) -> Result<Vec<u8>, KeyStoreError>;
    /// Reverses [`KeyStore::wrap_key`].
    fn unwrap_key(&self, alias: &str, wrapped: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyStoreError>;
}

/// Headless key store: a 32-byte key-encryption key in a file (mode 0600) beside the store.
///
/// Wrapping is AES-256-GCM under that key with the alias as associated data, so a blob wrapped
/// for one alias does not unwrap under another. Its `Debug` output never shows the key.
pub struct SoftwareKeyStore {
    kek: Zeroizing<[u8; KEY_LEN]>,
}

impl SoftwareKeyStore {
    /// Opens (or creates) the key-encryption key file at `path`.
    ///
    /// A missing file is created (parent directories included) with mode 0600 and 32 fresh random
    /// bytes, atomically: a crash never leaves a partial key file, and two processes racing to
    /// create it end up with the same key. An existing file must hold exactly 32 bytes.
    pub fn open(path: &Path) -> Result<Self, KeyStoreError> {
        let failure = |what: &str, e: &dyn fmt::Display| {
            KeyStoreError::Failure(format!("{what} {}: {e}", path.display()))
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| failure("cannot create the directory of", &e))?;
        }
        if !path.exists() {
            let fresh = Zeroizing::new(
                random::bytes::<KEY_LEN>().map_err(|e| failure("no randomness for", &e))?,
            );
            // `false`: another process created it first; read theirs below.
            fsio::create_atomic(path, &fresh[..])
                .map_err(|e| failure("cannot create key file", &e))?;
        }
        let bytes =
            Zeroizing::new(std::fs::read(path).map_err(|e| failure("cannot read key file", &e))?);
        if bytes.len() != KEY_LEN {
            return Err(KeyStoreError::Failure(format!(
                "key file {} holds {} bytes, expected {KEY_LEN}",
                path.display(),
                bytes.len()
            )));
        }
        // Copied straight into zeroizing memory (no temporary array on the stack).
        let mut kek = Zeroizing::new([0u8; KEY_LEN]);
        kek.copy_from_slice(&bytes);
        Ok(Self { kek })
    }
}

impl KeyStore for SoftwareKeyStore {
    fn wrap_key(&self, alias: &str, key: &[u8]) -> Result<Vec<u8>, KeyStoreError> {
        aead::seal(&self.kek, alias.as_bytes(), key)
            .map_err(|e| KeyStoreError::Failure(format!("wrap failed: {e}")))
    }

    fn unwrap_key(&self, alias: &str, wrapped: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyStoreError> {
        aead::open(&self.kek, alias.as_bytes(), wrapped).map_err(|_| KeyStoreError::Unwrap)
    }
}

impl fmt::Debug for SoftwareKeyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SoftwareKeyStore")
            .field("kek", &"<redacted>")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALIAS: &str = "wallet-store-data-key-v1";

    #[test]
    fn creates_a_private_32_byte_key_file_in_missing_directories() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/kek.bin");
        SoftwareKeyStore::open(&path).unwrap();
        assert_eq!(std::fs::read(&path).unwrap().len(), 32);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn reopening_uses_the_same_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kek.bin");
        let first = SoftwareKeyStore::open(&path).unwrap();
        let file = std::fs::read(&path).unwrap();
        let second = SoftwareKeyStore::open(&path).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), file);
        let wrapped = first.wrap_key(ALIAS, &[7u8; 32]).unwrap();
        assert_eq!(
            second.unwrap_key(ALIAS, &wrapped).unwrap().as_slice(),
            &[7u8; 32]
        );
    }

    #[test]
    fn wrap_is_aes_256_gcm_with_the_alias_as_aad() {
        // Checked with ring directly, not through our own `unwrap_key`.
        use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kek.bin");
        let kek = [0x11u8; 32];
        std::fs::write(&path, kek).unwrap();
        let wrapped = SoftwareKeyStore::open(&path)
            .unwrap()
            .wrap_key(ALIAS, &[0x22u8; 32])
            .unwrap();
        let (nonce, body) = wrapped.split_at(12);
        let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &kek).unwrap());
        let nonce = Nonce::try_assume_unique_for_key(nonce).unwrap();
        let mut body = body.to_vec();
        let plain = key
            .open_in_place(nonce, Aad::from(ALIAS.as_bytes()), &mut body)
            .unwrap();
        assert_eq!(plain, &[0x22u8; 32]);
    }

    #[test]
    fn wrapped_key_is_bound_to_key_alias_and_integrity() {
        let dir = tempfile::tempdir().unwrap();
        let ks = SoftwareKeyStore::open(&dir.path().join("kek.bin")).unwrap();
        let other = SoftwareKeyStore::open(&dir.path().join("other.bin")).unwrap();
        let key = [0x5Au8; 32];
        let wrapped = ks.wrap_key(ALIAS, &key).unwrap();
        // nonce (12) || ciphertext (32) || tag (16), and the key does not appear in clear.
        assert_eq!(wrapped.len(), 12 + 32 + 16);
        assert!(!wrapped.windows(32).any(|w| w == key));
        assert_eq!(
            other.unwrap_key(ALIAS, &wrapped),
            Err(KeyStoreError::Unwrap)
        );
        assert_eq!(
            ks.unwrap_key("another-alias", &wrapped),
            Err(KeyStoreError::Unwrap)
        );
        let mut flipped = wrapped.clone();
        flipped[20] ^= 0x01;
        assert_eq!(ks.unwrap_key(ALIAS, &flipped), Err(KeyStoreError::Unwrap));
        assert_eq!(
            ks.unwrap_key(ALIAS, &wrapped[..10]),
            Err(KeyStoreError::Unwrap)
        );
    }

    #[test]
    fn key_file_of_wrong_length_is_a_failure_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kek.bin");
        std::fs::write(&path, [1u8; 31]).unwrap();
        assert!(matches!(
            SoftwareKeyStore::open(&path),
            Err(KeyStoreError::Failure(_))
        ));
        assert_eq!(std::fs::read(&path).unwrap(), [1u8; 31]);
    }

    #[test]
    fn the_key_encryption_key_is_zeroized_on_drop() {
        fn zeroized_on_drop<T: zeroize::ZeroizeOnDrop>(_: &T) {}
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kek.bin");
        std::fs::write(&path, [0x3Cu8; 32]).unwrap();
        let key_store = SoftwareKeyStore::open(&path).unwrap();
        zeroized_on_drop(&key_store.kek);
        assert_eq!(*key_store.kek, [0x3C; 32]);
    }

    #[test]
    fn debug_does_not_print_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kek.bin");
        std::fs::write(&path, [0xABu8; 32]).unwrap();
        let shown = format!("{:?}", SoftwareKeyStore::open(&path).unwrap());
        assert!(
            !shown.contains("171") && !shown.to_lowercase().contains("abab"),
            "{shown}"
        );
        assert!(shown.contains("redacted"));
    }
}
