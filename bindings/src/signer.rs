//! The platform's hardware-backed signing keys (Android Keystore, iOS Secure Enclave) as a foreign
//! trait.
//!
//! A wallet opened with a [`Signer`] (`Wallet.open(…, signer = …)`) asks it for the device key of
//! each binding: the key is created by the platform when a card is bound, its public key is
//! registered at the bank, and the platform signs payment messages and password registrations
//! with it. Without one the core keeps a sealed software key.
//!
//! Contract (ECDSA P-256): public keys are SEC1 uncompressed points (65 bytes, `04 ‖ X ‖ Y`);
//! [`Signer::sign`] hashes the message with SHA-256 itself and returns an ASN.1 DER signature —
//! what Android's `Signature("SHA256withECDSA")` and CryptoKit's
//! `P256.Signing.PrivateKey.signature(for:).derRepresentation` produce.
//!
//! Mirrors `wallet_core::signer::Signer` with FFI-friendly types; [`ForeignSigner`] adapts one to
//! the other. Exceptions the platform does not declare arrive as [`SignerFfiError::Platform`] with
//! code `foreign_exception`, never as a panic in Rust.

use std::sync::Arc;

use wallet_core::signer::{Signer as CoreSigner, SignerError};

use crate::wallet_error::{variant, WalletFfiError};

/// A [`Signer`] call failed. Platform implementations throw one of these; any other exception
/// arrives as [`SignerFfiError::Platform`] with code `foreign_exception`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum SignerFfiError {
    /// No key under this alias (deleted, or the platform invalidated it, e.g. after new biometrics).
    #[error("no signing key under this alias: {error_message}")]
    KeyNotFound {
        /// What happened, for logs and developers.
        error_message: String,
    },
    /// The key needs a user authentication (biometrics, device credential) that did not happen.
    #[error("the user must authenticate before signing: {error_message}")]
    UserNotAuthenticated {
        /// What happened, for logs and developers.
        error_message: String,
    },
    /// The platform's key store failed for another reason.
    #[error("platform signer failure ({code}): {error_message}")]
    Platform {
        /// Stable machine-readable code chosen by the platform implementation, or
        /// `foreign_exception` for an undeclared exception.
        code: String,
        /// What went wrong, for logs and developers.
        error_message: String,
    },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for SignerFfiError {
    fn from(err: uniffi::UnexpectedUniFFICallbackError) -> Self {
        Self::Platform {
            code: "foreign_exception".to_owned(),
            error_message: err.reason,
        }
    }
}

impl From<SignerFfiError> for SignerError {
    fn from(err: SignerFfiError) -> Self {
        match err {
            SignerFfiError::KeyNotFound { .. } => SignerError::KeyNotFound,
            SignerFfiError::UserNotAuthenticated { .. } => SignerError::UserNotAuthenticated,
            SignerFfiError::Platform {
                code,
                error_message,
            } => SignerError::Platform(format!("{code}: {error_message}")),
        }
    }
}

/// The core's signer failures as the apps see them: [`WalletFfiError::Signer`].
impl From<SignerError> for WalletFfiError {
    fn from(err: SignerError) -> Self {
        match &err {
            SignerError::KeyNotFound => variant!(Signer, "signer_key_not_found", err),
            SignerError::UserNotAuthenticated => {
                variant!(Signer, "signer_user_not_authenticated", err)
            }
            SignerError::Platform(detail) => variant!(Signer, "signer_failure", detail),
        }
    }
}

/// ECDSA P-256 keys held by the platform (Android Keystore, iOS Secure Enclave), one per alias;
/// implemented by the app. Called on library threads; each call may block briefly (e.g. a
/// biometric prompt is the app's business before it calls the wallet).
#[uniffi::export(with_foreign)]
pub trait Signer: Send + Sync {
    /// Creates (or replaces) the key named `alias`; returns its public key (SEC1 uncompressed,
    /// 65 bytes).
    fn generate_key(&self, alias: String) -> Result<Vec<u8>, SignerFfiError>;
    /// The public key of `alias` (SEC1 uncompressed), or `None` when there is no such key.
    fn public_key(&self, alias: String) -> Result<Option<Vec<u8>>, SignerFfiError>;
    /// Signs `message` with the key `alias`: SHA-256 inside, ASN.1 DER signature out.
    fn sign(&self, alias: String, message: Vec<u8>) -> Result<Vec<u8>, SignerFfiError>;
    /// Deletes the key `alias` (no error when it does not exist).
    fn delete_key(&self, alias: String) -> Result<(), SignerFfiError>;
}

/// A platform [`Signer`] seen by the core as its `wallet_core::signer::Signer`.
pub(crate) struct ForeignSigner(pub(crate) Arc<dyn Signer>);

impl std::fmt::Debug for ForeignSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ForeignSigner(..)")
    }
}

impl CoreSigner for ForeignSigner {
    fn generate_key(&self, alias: &str) -> Result<Vec<u8>, SignerError> {
        Ok(self.0.generate_key(alias.to_owned())?)
    }

    fn public_key(&self, alias: &str) -> Result<Option<Vec<u8>>, SignerError> {
        Ok(self.0.public_key(alias.to_owned())?)
    }

    fn sign(&self, alias: &str, message: &[u8]) -> Result<Vec<u8>, SignerError> {
        Ok(self.0.sign(alias.to_owned(), message.to_vec())?)
    }

    fn delete_key(&self, alias: &str) -> Result<(), SignerError> {
        Ok(self.0.delete_key(alias.to_owned())?)
    }
}

/// Test-only (feature `test-hooks`): an ECDSA P-256 key held in Rust memory.
///
/// **Not a platform key.** It lets test signers written in a language without ECDSA in its
/// standard library (the Python suite) keep real keys: the test's `Signer` keeps the key table,
/// counts its calls and raises the errors; only the elliptic-curve arithmetic runs here. The
/// Kotlin suite signs with the JCA, the Swift suite with CryptoKit or the system's OpenSSL.
#[cfg(feature = "test-hooks")]
#[derive(Debug, uniffi::Object)]
pub struct SoftwareP256Key {
    key: wallet_core::crypto::ecdsa::P256SigningKey,
}

#[cfg(feature = "test-hooks")]
#[uniffi::export]
impl SoftwareP256Key {
    /// A fresh random key.
    #[uniffi::constructor]
    pub fn generate() -> Result<Arc<Self>, SignerFfiError> {
        let key = wallet_core::crypto::ecdsa::P256SigningKey::generate().map_err(|e| {
            SignerFfiError::Platform {
                code: "rng".to_owned(),
                error_message: e.to_string(),
            }
        })?;
        Ok(Arc::new(Self { key }))
    }

    /// The public key, SEC1 uncompressed (65 bytes).
    pub fn public_key(&self) -> Vec<u8> {
        self.key.public_key_sec1()
    }

    /// ECDSA P-256 / SHA-256 signature over `message`, ASN.1 DER.
    pub fn sign(&self, message: Vec<u8>) -> Result<Vec<u8>, SignerFfiError> {
        self.key
            .sign(&message)
            .map_err(|e| SignerFfiError::Platform {
                code: "sign_failed".to_owned(),
                error_message: e.to_string(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::sync::Mutex;
    use wallet_core::binding::BindingError;
    use wallet_core::crypto::ecdsa::{verify_p256, P256SigningKey};
    use wallet_core::remote::RemotePayError;

    /// Keys in a map, like a platform key store; records every call.
    #[derive(Default)]
    struct MapSigner {
        keys: Mutex<HashMap<String, P256SigningKey>>,
        calls: Mutex<Vec<String>>,
    }

    impl MapSigner {
        fn record(&self, call: String) {
            self.calls.lock().unwrap().push(call);
        }
    }

    impl Signer for MapSigner {
        fn generate_key(&self, alias: String) -> Result<Vec<u8>, SignerFfiError> {
            self.record(format!("generate:{alias}"));
            let key = P256SigningKey::generate().unwrap();
            let public = key.public_key_sec1();
            self.keys.lock().unwrap().insert(alias, key);
            Ok(public)
        }
        fn public_key(&self, alias: String) -> Result<Option<Vec<u8>>, SignerFfiError> {
            self.record(format!("public:{alias}"));
            Ok(self
                .keys
                .lock()
                .unwrap()
                .get(&alias)
                .map(P256SigningKey::public_key_sec1))
        }
        fn sign(&self, alias: String, message: Vec<u8>) -> Result<Vec<u8>, SignerFfiError> {
            self.record(format!("sign:{alias}"));
            let keys = self.keys.lock().unwrap();
            let key = keys.get(&alias).ok_or(SignerFfiError::KeyNotFound {
                error_message: alias.clone(),
            })?;
            Ok(key.sign(&message).unwrap())
        }
        fn delete_key(&self, alias: String) -> Result<(), SignerFfiError> {
            self.record(format!("delete:{alias}"));
            self.keys.lock().unwrap().remove(&alias);
            Ok(())
        }
    }

    /// Every method fails the way a platform implementation can.
    struct Failing;

    impl Signer for Failing {
        fn generate_key(&self, _alias: String) -> Result<Vec<u8>, SignerFfiError> {
            Err(
                uniffi::UnexpectedUniFFICallbackError::new("java.security.ProviderException: boom")
                    .into(),
            )
        }
        fn public_key(&self, _alias: String) -> Result<Option<Vec<u8>>, SignerFfiError> {
            Err(SignerFfiError::Platform {
                code: "keystore_locked".into(),
                error_message: "locked".into(),
            })
        }
        fn sign(&self, _alias: String, _message: Vec<u8>) -> Result<Vec<u8>, SignerFfiError> {
            Err(SignerFfiError::UserNotAuthenticated {
                error_message: "biometric prompt needed".into(),
            })
        }
        fn delete_key(&self, _alias: String) -> Result<(), SignerFfiError> {
            Err(SignerFfiError::KeyNotFound {
                error_message: "gone".into(),
            })
        }
    }

    #[test]
    fn the_core_signs_through_a_foreign_signer() {
        let platform = Arc::new(MapSigner::default());
        let signer = ForeignSigner(platform.clone());
        let public = signer.generate_key("binding-1").unwrap();
        assert_eq!(public.len(), 65);
        assert_eq!(
            signer.public_key("binding-1").unwrap(),
            Some(public.clone())
        );
        assert_eq!(signer.public_key("other").unwrap(), None);
        let signature = signer.sign("binding-1", b"pay order 1").unwrap();
        assert!(verify_p256(&public, b"pay order 1", &signature).is_ok());
        assert!(verify_p256(&public, b"pay order 2", &signature).is_err());
        signer.delete_key("binding-1").unwrap();
        assert_eq!(
            signer.sign("binding-1", b"x"),
            Err(SignerError::KeyNotFound)
        );
        assert_eq!(
            *platform.calls.lock().unwrap(),
            [
                "generate:binding-1",
                "public:binding-1",
                "public:other",
                "sign:binding-1",
                "delete:binding-1",
                "sign:binding-1"
            ]
        );
    }

    #[test]
    fn platform_errors_become_core_errors_without_panicking() {
        let signer = ForeignSigner(Arc::new(Failing));
        assert_eq!(
            signer.generate_key("a"),
            Err(SignerError::Platform(
                "foreign_exception: java.security.ProviderException: boom".into()
            ))
        );
        assert_eq!(
            signer.public_key("a"),
            Err(SignerError::Platform("keystore_locked: locked".into()))
        );
        assert_eq!(
            signer.sign("a", b"m"),
            Err(SignerError::UserNotAuthenticated)
        );
        assert_eq!(signer.delete_key("a"), Err(SignerError::KeyNotFound));
    }

    #[cfg(feature = "test-hooks")]
    #[test]
    fn software_key_signs_verifiable_der() {
        let key = SoftwareP256Key::generate().unwrap();
        let public = key.public_key();
        assert_eq!((public.len(), public[0]), (65, 0x04));
        let signature = key.sign(b"message".to_vec()).unwrap();
        assert_eq!(signature[0], 0x30, "DER SEQUENCE");
        assert!(verify_p256(&public, b"message", &signature).is_ok());
    }

    #[test]
    fn signer_errors_have_their_own_variant() {
        assert_eq!(
            WalletFfiError::from(RemotePayError::Signer(SignerError::Platform(
                "foreign_exception: boom".into()
            ))),
            WalletFfiError::Signer {
                code: "signer_failure".into(),
                error_message: "foreign_exception: boom".into()
            }
        );
        assert_eq!(
            code_of(BindingError::Signer(SignerError::UserNotAuthenticated)),
            "signer_user_not_authenticated"
        );
        assert_eq!(code_of(SignerError::KeyNotFound), "signer_key_not_found");
    }

    fn code_of(err: impl Into<WalletFfiError>) -> String {
        err.into().code().to_owned()
    }
}
