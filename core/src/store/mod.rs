//! The wallet's persistent store: sled, every value sealed with AES-256-GCM under a data key that
//! the platform [`KeyStore`] wraps; a versioned schema; durable writes for values money depends on.
//!
//! On disk, a store directory holds `store-meta.json` (schema version, key alias, wrapped data
//! key) and `db/` (sled). See [`Store`] for the key layout and the durability guarantees.

mod fsio;
mod keystore;
mod meta;
mod sealed;
mod sled_repair;
#[cfg(test)]
mod tests;

pub use keystore::{KeyStore, KeyStoreError, SoftwareKeyStore};
pub use sealed::{Store, StoreError, DATA_KEY_ALIAS, SCHEMA_VERSION};
pub use sled_repair::remove_incomplete_snapshots;
