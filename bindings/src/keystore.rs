//! The platform key store (Android Keystore, iOS Keychain) as a foreign trait.
//!
//! It wraps and unwraps the store's data key; the core never sees the platform's key. Mirrors
//! `wallet_core::store::KeyStore` with FFI-friendly types.

use std::sync::Arc;

use wallet_core::store::KeyStoreError;
use zeroize::Zeroizing;

/// A key store call failed. Platform implementations throw `Failure` or `Unwrap`; any other
/// exception arrives as `Unexpected` (never as a panic in Rust).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum KeyStoreFfiError {
    /// The platform key store refused or failed (locked, user not authenticated, …).
    #[error("key store failure ({code}): {error_message}")]
    Failure {
        /// Stable machine-readable code chosen by the platform implementation.
        code: String,
        /// What went wrong, for logs and developers.
        error_message: String,
    },
    /// The wrapped key did not unwrap (tampered, or wrapped under another key).
    #[error("wrapped key could not be unwrapped ({code}): {error_message}")]
    Unwrap {
        /// Stable machine-readable code, e.g. `tampered` or `mismatch`.
        code: String,
        /// What went wrong, for logs and developers.
        error_message: String,
    },
    /// The platform implementation threw an exception it does not declare.
    #[error("unexpected key store error ({code}): {error_message}")]
    Unexpected {
        /// `foreign_exception`.
        code: String,
        /// The exception's text.
        error_message: String,
    },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for KeyStoreFfiError {
    fn from(err: uniffi::UnexpectedUniFFICallbackError) -> Self {
        Self::Unexpected {
            code: "foreign_exception".to_owned(),
            error_message: err.reason,
        }
    }
}

/// Wraps and unwraps the wallet store's data key; implemented by the platform.
///
/// Called from library threads, never from the caller's UI thread by design of the facade.
#[uniffi::export(with_foreign)]
pub trait KeyStore: Send + Sync {
    /// Encrypts `key` under the platform key named `alias`; returns an opaque blob.
    fn wrap_key(&self, alias: String, key: Vec<u8>) -> Result<Vec<u8>, KeyStoreFfiError>;
    /// Reverses [`KeyStore::wrap_key`].
    fn unwrap_key(&self, alias: String, wrapped: Vec<u8>) -> Result<Vec<u8>, KeyStoreFfiError>;
}

/// Self-check of a platform key store: wraps `key` under `alias`, unwraps the blob and checks
/// that the same bytes come back. Returns the wrapped blob.
///
/// Errors from the key store pass through unchanged; a round trip that returns other bytes is
/// [`KeyStoreFfiError::Unwrap`] with code `mismatch`; a wrap that returns the key in clear is
/// [`KeyStoreFfiError::Failure`] with code `not_wrapped`.
#[uniffi::export]
pub fn key_store_round_trip(
    key_store: Arc<dyn KeyStore>,
    alias: String,
    key: Vec<u8>,
) -> Result<Vec<u8>, KeyStoreFfiError> {
    let wrapped = key_store.wrap_key(alias.clone(), key.clone())?;
    if !key.is_empty() && wrapped == key {
        return Err(KeyStoreFfiError::Failure {
            code: "not_wrapped".to_owned(),
            error_message: "wrap_key returned the key in clear".to_owned(),
        });
    }
    let unwrapped = key_store.unwrap_key(alias, wrapped.clone())?;
    if unwrapped != key {
        return Err(KeyStoreFfiError::Unwrap {
            code: "mismatch".to_owned(),
            error_message: "unwrap_key did not return the wrapped key".to_owned(),
        });
    }
    Ok(wrapped)
}

/// A platform [`KeyStore`] seen by the core as its `wallet_core::store::KeyStore`.
///
/// The platform's error code survives as the start of the core's failure text
/// (`"<code>: <message>"`).
pub(crate) struct ForeignKeyStore(pub(crate) Arc<dyn KeyStore>);

impl wallet_core::store::KeyStore for ForeignKeyStore {
    fn wrap_key(&self, alias: &str, key: &[u8]) -> Result<Vec<u8>, KeyStoreError> {
        self.0
            .wrap_key(alias.to_owned(), key.to_vec())
            .map_err(into_core_error)
    }

    fn unwrap_key(&self, alias: &str, wrapped: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyStoreError> {
        self.0
            .unwrap_key(alias.to_owned(), wrapped.to_vec())
            .map(Zeroizing::new)
            .map_err(into_core_error)
    }
}

/// The core's view of a platform key store error.
fn into_core_error(err: KeyStoreFfiError) -> KeyStoreError {
    match err {
        KeyStoreFfiError::Unwrap { .. } => KeyStoreError::Unwrap,
        KeyStoreFfiError::Failure {
            code,
            error_message,
        }
        | KeyStoreFfiError::Unexpected {
            code,
            error_message,
        } => KeyStoreError::Failure(format!("{code}: {error_message}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// XOR with a one-byte key per alias: enough to tell wrapped from clear.
    struct XorStore;

    impl KeyStore for XorStore {
        fn wrap_key(&self, alias: String, key: Vec<u8>) -> Result<Vec<u8>, KeyStoreFfiError> {
            let k = alias.len() as u8;
            Ok(key.iter().map(|b| b ^ k).collect())
        }
        fn unwrap_key(&self, alias: String, wrapped: Vec<u8>) -> Result<Vec<u8>, KeyStoreFfiError> {
            self.wrap_key(alias, wrapped)
        }
    }

    /// Unwraps to different bytes.
    struct Forgetful;

    impl KeyStore for Forgetful {
        fn wrap_key(&self, _alias: String, key: Vec<u8>) -> Result<Vec<u8>, KeyStoreFfiError> {
            Ok(key.iter().map(|b| !b).collect())
        }
        fn unwrap_key(
            &self,
            _alias: String,
            _wrapped: Vec<u8>,
        ) -> Result<Vec<u8>, KeyStoreFfiError> {
            Ok(vec![0; 4])
        }
    }

    /// Behaves like a platform implementation whose exception uniffi could not map.
    struct Throwing;

    impl KeyStore for Throwing {
        fn wrap_key(&self, _alias: String, _key: Vec<u8>) -> Result<Vec<u8>, KeyStoreFfiError> {
            Err(uniffi::UnexpectedUniFFICallbackError::new("IllegalStateException: locked").into())
        }
        fn unwrap_key(
            &self,
            _alias: String,
            _wrapped: Vec<u8>,
        ) -> Result<Vec<u8>, KeyStoreFfiError> {
            Err(KeyStoreFfiError::Unwrap {
                code: "tampered".into(),
                error_message: "tag".into(),
            })
        }
    }

    #[test]
    fn round_trip_returns_the_wrapped_blob() {
        // alias "abc" -> XOR 0x03: 0x10 0x20 -> 0x13 0x23.
        let wrapped = key_store_round_trip(Arc::new(XorStore), "abc".into(), vec![0x10, 0x20]);
        assert_eq!(wrapped, Ok(vec![0x13, 0x23]));
    }

    #[test]
    fn round_trip_detects_a_store_that_unwraps_other_bytes() {
        let err = key_store_round_trip(Arc::new(Forgetful), "a".into(), vec![1, 2, 3, 4]);
        assert!(
            matches!(err, Err(KeyStoreFfiError::Unwrap { ref code, .. }) if code == "mismatch")
        );
    }

    #[test]
    fn round_trip_detects_a_store_that_does_not_wrap() {
        // alias "" -> XOR 0: wrapped == key.
        let err = key_store_round_trip(Arc::new(XorStore), String::new(), vec![7, 7]);
        assert!(
            matches!(err, Err(KeyStoreFfiError::Failure { ref code, .. }) if code == "not_wrapped")
        );
    }

    #[test]
    fn the_core_sees_platform_errors_as_its_own() {
        use wallet_core::store::KeyStore as CoreKeyStore;
        let foreign = ForeignKeyStore(Arc::new(Throwing));
        assert_eq!(
            foreign.wrap_key("a", &[1]),
            Err(KeyStoreError::Failure(
                "foreign_exception: IllegalStateException: locked".into()
            ))
        );
        assert_eq!(
            foreign.unwrap_key("a", &[1]).map(|k| k.to_vec()),
            Err(KeyStoreError::Unwrap)
        );
        let xor = ForeignKeyStore(Arc::new(XorStore));
        assert_eq!(xor.wrap_key("ab", &[0xF0]), Ok(vec![0xF2]));
        assert_eq!(
            xor.unwrap_key("ab", &[0xF2]).map(|k| k.to_vec()),
            Ok(vec![0xF0])
        );
    }

    #[test]
    fn unexpected_callback_error_becomes_the_unexpected_variant() {
        let err = key_store_round_trip(Arc::new(Throwing), "a".into(), vec![1]);
        assert_eq!(
            err,
            Err(KeyStoreFfiError::Unexpected {
                code: "foreign_exception".into(),
                error_message: "IllegalStateException: locked".into()
            })
        );
    }
}
