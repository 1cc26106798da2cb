//! The sealed sled store.

use super::meta::{Meta, META_FILE};
use super::{fsio, KeyStore, KeyStoreError};
use crate::crypto::aead::{self, KEY_LEN};
use crate::crypto::random;
use crate::crypto::secret::SecretBuffer;
use serde::{de::DeserializeOwned, Serialize};
use std::fmt;
use std::fs::File;
use std::io;
use std::path::Path;
use std::sync::Arc;
use zeroize::Zeroizing;

/// Version of the on-disk schema this build writes and understands.
pub const SCHEMA_VERSION: u32 = 1;

/// Alias under which a new store asks the [`KeyStore`] to wrap its data key. (An existing store
/// uses the alias recorded in its metadata file.)
pub const DATA_KEY_ALIAS: &str = "wallet-store-data-key-v1";

/// Name of the sled directory inside the store directory.
const DB_DIR: &str = "db";
/// Name of sled's data file inside [`DB_DIR`].
const SLED_DATA_FILE: &str = "db";
/// Upper bound of sled's page cache. sled's default is 1 GiB, sized for servers; a wallet holds a
/// few kilobytes of records, and on a phone every cached page is resident memory.
const SLED_CACHE_BYTES: u64 = 1 << 20;
/// Prefix of every value's associated data (domain separation from other AES-GCM uses).
const AAD_DOMAIN: &[u8] = b"wallet-store/v1\0";
/// First allocation of a value's plaintext JSON: most values fit without growing.
const JSON_INITIAL_CAPACITY: usize = 512;

/// Everything that can go wrong with the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The store files are damaged or not a wallet store; nothing was changed.
    #[error("store is corrupt: {0}")]
    Corrupt(String),
    /// The store was written by a newer version of the wallet; nothing was changed.
    #[error("store schema version {found} is newer than this build supports ({supported})")]
    NewerVersion {
        /// Version recorded in the store.
        found: u32,
        /// [`SCHEMA_VERSION`] of this build.
        supported: u32,
    },
    /// A sealed value failed to authenticate (tampered, or moved to another key).
    #[error("sealed value failed to open: {0}")]
    Tampered(String),
    /// The platform key store failed.
    #[error(transparent)]
    KeyStore(#[from] KeyStoreError),
    /// I/O or database failure.
    #[error("storage I/O failure: {0}")]
    Io(String),
}

/// The wallet's store. Values are grouped by namespace (`ns`) and key; every value is serialized
/// as JSON and sealed with AES-256-GCM, the namespace and key bound as associated data.
///
/// # Layout
///
/// `dir/store-meta.json` holds the schema version and the wrapped data key (see `meta.rs`);
/// `dir/db/` is the sled database. Namespaces are key prefixes in sled's default tree, not sled
/// trees: the sled key of `ns`/`key` is `len(ns) as u64 big-endian || ns || key` (UTF-8), so
/// namespaces never overlap, reading never creates anything, and keys within a namespace sort
/// as their strings do. The sealed value is `nonce || ciphertext || tag` of the value's JSON, with
/// associated data `"wallet-store/v1\0" || sled key`.
///
/// # Durability
///
/// [`Store::put`] is buffered (sled writes it out within ~500 ms). [`Store::put_durable`],
/// [`Store::update_durable`], [`Store::remove`] and [`Store::flush`] return only after sled has
/// flushed its log *and* the log file has been `fsync`ed: sled 0.34 alone only issues
/// `sync_file_range` on Linux/Android, which neither flushes the disk's write cache nor the file
/// size (sled issue #1452). The guarantee covers values sled keeps in its log, i.e. below its blob
/// threshold (~128 KiB with the default 512 KiB segments); wallet records are far smaller.
///
/// Cloning is cheap (reference-counted handles). Open one `Store` per directory per process and
/// clone it: sled locks the directory, so a second [`Store::open`] of the same directory fails.
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    inner: Arc<Inner>,
}

/// The parts of a [`Store`] shared by its clones.
struct Inner {
    data_key: Zeroizing<[u8; KEY_LEN]>,
    /// A read-only handle on sled's data file, used to `fsync` it after sled's flush.
    log_file: File,
}

impl Store {
    /// Opens or creates the store in `dir`, unwrapping (or creating and wrapping) its data key
    /// with `key_store`.
    ///
    /// The metadata file is checked before sled is touched, so on [`StoreError::Corrupt`] (no
    /// metadata beside an existing database, unreadable metadata, a database sled rejects),
    /// [`StoreError::NewerVersion`] or [`StoreError::KeyStore`] nothing on disk has changed.
    /// Metadata without a database (a crash during the first open) opens as an empty store.
    pub fn open(dir: &Path, key_store: Arc<dyn KeyStore>) -> Result<Self, StoreError> {
        let meta_path = dir.join(META_FILE);
        let db_path = dir.join(DB_DIR);
        let db_exists = match std::fs::symlink_metadata(&db_path) {
            Ok(m) if m.is_dir() => true,
            Ok(_) => {
                return Err(StoreError::Corrupt(format!(
                    "{} is not a directory",
                    db_path.display()
                )))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => false,
            Err(e) => return Err(io_error(&db_path, e)),
        };
        let data_key = match Meta::read(&meta_path)? {
            Some(meta) => {
                let unwrapped = key_store.unwrap_key(&meta.key_alias, &meta.wrapped_key()?)?;
                if unwrapped.len() != KEY_LEN {
                    return Err(StoreError::Corrupt(format!(
                        "the data key unwrapped to {} bytes, not {KEY_LEN}",
                        unwrapped.len()
                    )));
                }
                // Copied straight into zeroizing memory (no temporary array on the stack).
                let mut key = Zeroizing::new([0u8; KEY_LEN]);
                key.copy_from_slice(&unwrapped);
                key
            }
            None if db_exists => {
                return Err(StoreError::Corrupt(format!(
                    "{} exists but {} is missing: not a wallet store, or its metadata was lost",
                    db_path.display(),
                    meta_path.display()
                )))
            }
            None => {
                let key = Zeroizing::new(
                    random::bytes::<KEY_LEN>()
                        .map_err(|e| StoreError::Io(format!("no randomness: {e}")))?,
                );
                let wrapped = key_store.wrap_key(DATA_KEY_ALIAS, &key[..])?;
                std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
                if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
                    fsio::sync_dir(parent).map_err(|e| io_error(parent, e))?;
                }
                Meta::new(DATA_KEY_ALIAS, &wrapped).write(&meta_path)?;
                key
            }
        };
        let db = open_sled(&db_path)?;
        if !db_exists {
            // Make the new directory entries themselves durable.
            fsio::sync_dir(&db_path).map_err(|e| io_error(&db_path, e))?;
            fsio::sync_dir(dir).map_err(|e| io_error(dir, e))?;
        }
        let log_path = db_path.join(SLED_DATA_FILE);
        let log_file = File::open(&log_path).map_err(|e| io_error(&log_path, e))?;
        Ok(Self {
            db,
            inner: Arc::new(Inner { data_key, log_file }),
        })
    }

    /// Seals and writes `value` under `ns`/`key` (buffered: sled flushes it within ~500 ms).
    pub fn put<T: Serialize>(&self, ns: &str, key: &str, value: &T) -> Result<(), StoreError> {
        let db_key = db_key(ns, key);
        let sealed = self.seal_value(&db_key, value)?;
        self.db.insert(db_key, sealed).map_err(db_error)?;
        Ok(())
    }

    /// Seals and writes `value`, and returns only once it is on stable storage (fsync).
    pub fn put_durable<T: Serialize>(
        &self,
        ns: &str,
        key: &str,
        value: &T,
    ) -> Result<(), StoreError> {
        self.put(ns, key, value)?;
        self.flush()
    }

    /// Atomically replaces the value under `ns`/`key` with `f(current)` and returns only once the
    /// new value is on stable storage. Returns the value written.
    ///
    /// This is a compare-and-swap loop: if another writer changes the value between the read and
    /// the write, `f` runs again on the newer value, so `f` must not have side effects. An error
    /// from `f` aborts without writing. Use it for counters money depends on, e.g. to persist the
    /// next ATC before a cryptogram leaves the device.
    pub fn update_durable<T, E, F>(&self, ns: &str, key: &str, mut f: F) -> Result<T, E>
    where
        T: Serialize + DeserializeOwned,
        E: From<StoreError>,
        F: FnMut(Option<T>) -> Result<T, E>,
    {
        let db_key = db_key(ns, key);
        loop {
            let raw = self.db.get(&db_key).map_err(db_error)?;
            let current = raw
                .as_deref()
                .map(|sealed| self.unseal(&db_key, sealed, ns, key))
                .transpose()?;
            let next = f(current)?;
            let sealed = self.seal_value(&db_key, &next)?;
            let swapped = self
                .db
                .compare_and_swap(&db_key, raw, Some(sealed))
                .map_err(db_error)?;
            if swapped.is_ok() {
                self.flush()?;
                return Ok(next);
            }
        }
    }

    /// Reads and opens the value under `ns`/`key`.
    pub fn get<T: DeserializeOwned>(&self, ns: &str, key: &str) -> Result<Option<T>, StoreError> {
        let db_key = db_key(ns, key);
        match self.db.get(&db_key).map_err(db_error)? {
            Some(sealed) => self.unseal(&db_key, &sealed, ns, key).map(Some),
            None => Ok(None),
        }
    }

    /// Every (key, value) in namespace `ns`, in key order.
    pub fn list<T: DeserializeOwned>(&self, ns: &str) -> Result<Vec<(String, T)>, StoreError> {
        let prefix = db_key(ns, "");
        let mut out = Vec::new();
        for entry in self.db.scan_prefix(&prefix) {
            let (db_key, sealed) = entry.map_err(db_error)?;
            let key = db_key
                .get(prefix.len()..)
                .and_then(|k| std::str::from_utf8(k).ok())
                .ok_or_else(|| {
                    StoreError::Corrupt(format!("a key in namespace {ns:?} is not UTF-8"))
                })?
                .to_owned();
            let value = self.unseal(&db_key, &sealed, ns, &key)?;
            out.push((key, value));
        }
        Ok(out)
    }

    /// Removes `ns`/`key` durably; returns whether it existed.
    pub fn remove(&self, ns: &str, key: &str) -> Result<bool, StoreError> {
        let existed = self.db.remove(db_key(ns, key)).map_err(db_error)?.is_some();
        self.flush()?;
        Ok(existed)
    }

    /// Makes every write so far durable (sled flush, then `fsync` of its data file). Useful after
    /// a batch of buffered [`Store::put`]s.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.db.flush().map_err(db_error)?;
        self.inner
            .log_file
            .sync_data()
            .map_err(|e| StoreError::Io(format!("fsync of the database failed: {e}")))
    }

    /// Serializes `value` and seals it for `db_key`.
    fn seal_value<T: Serialize>(&self, db_key: &[u8], value: &T) -> Result<Vec<u8>, StoreError> {
        // The plaintext JSON goes into a buffer that zeroizes every allocation it gives up as it
        // grows (serde_json's own `to_vec` would leave partial copies in freed memory).
        let mut json = SecretBuffer::with_capacity(JSON_INITIAL_CAPACITY);
        serde_json::to_writer(&mut json, value)
            .map_err(|e| StoreError::Io(format!("value cannot be serialized: {e}")))?;
        aead::seal(&self.inner.data_key, &aad(db_key), json.as_slice())
            .map_err(|e| StoreError::Io(format!("sealing failed: {e}")))
    }

    /// Opens and deserializes the value sealed for `db_key` (`ns`, `key` only name it in errors).
    fn unseal<T: DeserializeOwned>(
        &self,
        db_key: &[u8],
        sealed: &[u8],
        ns: &str,
        key: &str,
    ) -> Result<T, StoreError> {
        let json = aead::open(&self.inner.data_key, &aad(db_key), sealed)
            .map_err(|_| StoreError::Tampered(format!("{ns:?}/{key:?}")))?;
        serde_json::from_slice(&json).map_err(|e| {
            StoreError::Corrupt(format!(
                "value {ns:?}/{key:?} does not decode as expected: {e}"
            ))
        })
    }

    /// The raw sled database (tests tamper with it).
    #[cfg(test)]
    pub(super) fn raw(&self) -> &sled::Db {
        &self.db
    }
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

/// The sled key of `ns`/`key`: `len(ns) as u64 BE || ns || key`.
pub(super) fn db_key(ns: &str, key: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + ns.len() + key.len());
    out.extend_from_slice(&(ns.len() as u64).to_be_bytes());
    out.extend_from_slice(ns.as_bytes());
    out.extend_from_slice(key.as_bytes());
    out
}

/// The associated data sealed with the value stored under `db_key`.
fn aad(db_key: &[u8]) -> Vec<u8> {
    [AAD_DOMAIN, db_key].concat()
}

/// Opens the sled database, mapping failures: a database sled rejects is
/// [`StoreError::Corrupt`]; an operating-system failure (permissions, or the directory already
/// locked by another open store) is [`StoreError::Io`].
fn open_sled(path: &Path) -> Result<sled::Db, StoreError> {
    super::sled_repair::remove_incomplete_snapshots(path).map_err(|e| io_error(path, e))?;
    sled::Config::new()
        .path(path)
        .cache_capacity(SLED_CACHE_BYTES)
        .open()
        .map_err(|e| match e {
            sled::Error::Io(io) => StoreError::Io(format!(
                "cannot open the database at {}: {io}",
                path.display()
            )),
            other => StoreError::Corrupt(format!(
                "sled cannot open the database at {}: {other}",
                path.display()
            )),
        })
}

fn db_error(e: sled::Error) -> StoreError {
    StoreError::Io(format!("database failure: {e}"))
}

fn io_error(path: &Path, e: io::Error) -> StoreError {
    StoreError::Io(format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod zeroize_tests {
    use super::*;
    use crate::store::SoftwareKeyStore;

    #[test]
    fn the_data_key_is_zeroized_when_the_last_handle_drops() {
        fn zeroized_on_drop<T: zeroize::ZeroizeOnDrop>(_: &T) {}
        let dir = tempfile::tempdir().unwrap();
        let key_store = Arc::new(SoftwareKeyStore::open(&dir.path().join("kek.bin")).unwrap());
        let store = Store::open(&dir.path().join("store"), key_store).unwrap();
        // `Inner` (one per store, shared by clones) drops with the last clone.
        zeroized_on_drop(&store.inner.data_key);
        assert_ne!(*store.inner.data_key, [0; KEY_LEN]);
    }
}
