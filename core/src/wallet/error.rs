//! The wallet's umbrella error.

use crate::backend::BackendError;
use crate::binding::BindingError;
use crate::crypto::CryptoError;
use crate::hce::HceError;
use crate::remote::RemotePayError;
use crate::store::{KeyStoreError, StoreError};
use crate::tsm::CardError;

/// Any failure of a wallet operation, by domain.
#[derive(Debug, thiserror::Error)]
pub enum WalletError {
    /// Account binding failed.
    #[error(transparent)]
    Binding(#[from] BindingError),
    /// A card operation on a secure element failed.
    #[error(transparent)]
    Card(#[from] CardError),
    /// Host card emulation failed.
    #[error(transparent)]
    Hce(#[from] HceError),
    /// A remote payment operation failed.
    #[error(transparent)]
    RemotePay(#[from] RemotePayError),
    /// The store failed (corrupt, newer version, tampered, I/O).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The back end failed outside a specific flow.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// A cryptographic operation failed.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// The wallet is misconfigured (data directory, URL).
    #[error("configuration error: {0}")]
    Config(String),
}

impl From<KeyStoreError> for WalletError {
    fn from(e: KeyStoreError) -> Self {
        WalletError::Store(StoreError::KeyStore(e))
    }
}
