//! The mock world's state in sled: one tree per kind of record, values as JSON.
//!
//! With a data directory the database lives in `<data_dir>/mock-world.sled`, so consecutive runs of
//! the server (or of the CLI that embeds it) see the same bank, one-time codes and bindings.
//! Without one, sled works in a temporary directory that disappears with the process.

use serde::de::DeserializeOwned;
use serde::Serialize;
use std::marker::PhantomData;
use std::path::Path;

/// Name of the sled directory inside a data directory.
pub const DB_DIR_NAME: &str = "mock-world.sled";

/// Upper bound of sled's page cache (sled's default is 1 GiB). The mock world's records are small
/// and few; a small cache keeps the embedded world (`wallet demo`) light.
const CACHE_BYTES: u64 = 4 << 20;

/// Reading or writing the mock world's state failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// sled reported an I/O or corruption error (or the database is locked by another process).
    #[error("storage error: {0}")]
    Sled(#[from] sled::Error),
    /// A stored value could not be encoded or decoded.
    #[error("stored record could not be (de)serialised: {0}")]
    Codec(#[from] serde_json::Error),
}

/// The mock world's database. Cheap to clone (a handle on the same sled database).
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("was_recovered", &self.db.was_recovered())
            .finish()
    }
}

impl Store {
    /// Opens the persistent database under `data_dir`, or a temporary one when `None`.
    pub fn open(data_dir: Option<&Path>) -> Result<Self, StoreError> {
        let config = sled::Config::new().cache_capacity(CACHE_BYTES);
        let config = match data_dir {
            Some(dir) => {
                let db_dir = dir.join(DB_DIR_NAME);
                // A world killed while sled wrote a snapshot must still open (see the function).
                wallet_core::store::remove_incomplete_snapshots(&db_dir)
                    .map_err(sled::Error::Io)?;
                config.path(db_dir)
            }
            None => config.temporary(true),
        };
        Ok(Self { db: config.open()? })
    }

    /// A typed table (sled tree) named `name`; values of type `T` stored as JSON.
    pub fn table<T>(&self, name: &str) -> Result<Table<T>, StoreError> {
        Ok(Table {
            tree: self.db.open_tree(name)?,
            _values: PhantomData,
        })
    }

    /// A process-unique, monotonically increasing number (survives restarts).
    pub fn next_id(&self) -> Result<u64, StoreError> {
        Ok(self.db.generate_id()?)
    }

    /// Writes every pending change to disk.
    pub async fn flush(&self) -> Result<(), StoreError> {
        self.db.flush_async().await?;
        Ok(())
    }
}

/// A sled tree holding JSON-encoded values of one type.
pub struct Table<T> {
    tree: sled::Tree,
    _values: PhantomData<fn() -> T>,
}

impl<T> Clone for Table<T> {
    fn clone(&self) -> Self {
        Self {
            tree: self.tree.clone(),
            _values: PhantomData,
        }
    }
}

impl<T> std::fmt::Debug for Table<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Table")
            .field("name", &String::from_utf8_lossy(&self.tree.name()))
            .finish()
    }
}

impl<T: Serialize + DeserializeOwned> Table<T> {
    /// The value under `key`, if any.
    pub fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<T>, StoreError> {
        match self.tree.get(key)? {
            Some(bytes) => Ok(Some(serde_json::from_slice(&bytes)?)),
            None => Ok(None),
        }
    }

    /// Stores `value` under `key`, replacing any previous value.
    pub fn put(&self, key: impl AsRef<[u8]>, value: &T) -> Result<(), StoreError> {
        self.tree.insert(key.as_ref(), serde_json::to_vec(value)?)?;
        Ok(())
    }

    /// Stores `value` under `key` only if the key is absent; `true` if it was stored.
    pub fn put_if_absent(&self, key: impl AsRef<[u8]>, value: &T) -> Result<bool, StoreError> {
        let encoded = serde_json::to_vec(value)?;
        let outcome = self
            .tree
            .compare_and_swap(key.as_ref(), None::<&[u8]>, Some(encoded))?;
        Ok(outcome.is_ok())
    }

    /// Whether `key` holds a value.
    pub fn contains(&self, key: impl AsRef<[u8]>) -> Result<bool, StoreError> {
        Ok(self.tree.contains_key(key)?)
    }

    /// Every value whose key starts with `prefix`, in key order.
    pub fn scan_prefix(&self, prefix: impl AsRef<[u8]>) -> Result<Vec<T>, StoreError> {
        self.tree
            .scan_prefix(prefix)
            .map(|entry| {
                let (_, bytes) = entry?;
                Ok(serde_json::from_slice(&bytes)?)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_round_trip_and_put_if_absent() -> Result<(), StoreError> {
        let store = Store::open(None)?;
        let table: Table<String> = store.table("t")?;
        assert_eq!(table.get("a")?, None);
        table.put("a", &"one".to_owned())?;
        assert!(!table.put_if_absent("a", &"two".to_owned())?);
        assert!(table.put_if_absent("b", &"three".to_owned())?);
        assert_eq!(table.get("a")?.as_deref(), Some("one"));
        assert!(table.contains("b")?);
        table.put("p/2", &"y".to_owned())?;
        table.put("p/1", &"x".to_owned())?;
        assert_eq!(
            table.scan_prefix("p/")?,
            vec!["x".to_owned(), "y".to_owned()]
        );
        Ok(())
    }

    #[test]
    fn persistent_store_survives_reopen() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        {
            let store = Store::open(Some(dir.path()))?;
            store.table::<u32>("n")?.put("k", &7)?;
        }
        let store = Store::open(Some(dir.path()))?;
        assert_eq!(store.table::<u32>("n")?.get("k")?, Some(7));
        Ok(())
    }
}
