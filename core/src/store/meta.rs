//! The store's metadata file, `<dir>/store-meta.json`: schema version and wrapped data key.
//!
//! ```json
//! {"schema_version":1,"key_alias":"wallet-store-data-key-v1","wrapped_data_key":"<hex>"}
//! ```
//!
//! It is read and validated before sled is touched, and written atomically (temporary file,
//! `fsync`, rename, `fsync` of the directory).

use super::{fsio, StoreError, SCHEMA_VERSION};
use serde::{Deserialize, Serialize};
use std::io;
use std::path::Path;

/// File name of the metadata file inside the store directory.
pub(super) const META_FILE: &str = "store-meta.json";

/// The metadata file's content.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Meta {
    /// Schema version of the data in `db/`.
    pub(super) schema_version: u32,
    /// Alias under which the key store wrapped the data key.
    pub(super) key_alias: String,
    /// The wrapped data key, lowercase hex (opaque to the store, not secret).
    wrapped_data_key: String,
}

/// Only the version: read first, so that a newer file whose other fields changed shape is
/// reported as [`StoreError::NewerVersion`] rather than as corrupt.
#[derive(Deserialize)]
struct VersionProbe {
    schema_version: u32,
}

impl Meta {
    /// Metadata for a new store at the current schema version.
    pub(super) fn new(key_alias: &str, wrapped_data_key: &[u8]) -> Self {
        Self {
            schema_version: SCHEMA_VERSION,
            key_alias: key_alias.to_owned(),
            wrapped_data_key: hex::encode(wrapped_data_key),
        }
    }

    /// Reads and validates the metadata file; `Ok(None)` if there is none.
    pub(super) fn read(path: &Path) -> Result<Option<Self>, StoreError> {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(StoreError::Io(format!(
                    "cannot read {}: {e}",
                    path.display()
                )))
            }
        };
        let corrupt = |what: String| StoreError::Corrupt(format!("{}: {what}", path.display()));
        let probe: VersionProbe = serde_json::from_slice(&bytes)
            .map_err(|e| corrupt(format!("not a store metadata file ({e})")))?;
        if probe.schema_version > SCHEMA_VERSION {
            return Err(StoreError::NewerVersion {
                found: probe.schema_version,
                supported: SCHEMA_VERSION,
            });
        }
        if probe.schema_version == 0 {
            return Err(corrupt("schema version 0 does not exist".into()));
        }
        let meta: Self = serde_json::from_slice(&bytes)
            .map_err(|e| corrupt(format!("not a store metadata file ({e})")))?;
        if meta.key_alias.is_empty() {
            return Err(corrupt("empty key_alias".into()));
        }
        meta.wrapped_key()
            .map_err(|_| corrupt("wrapped_data_key is not hex".into()))?;
        Ok(Some(meta))
    }

    /// The wrapped data key's bytes.
    pub(super) fn wrapped_key(&self) -> Result<Vec<u8>, StoreError> {
        hex::decode(&self.wrapped_data_key).map_err(|e| {
            StoreError::Corrupt(format!("{META_FILE}: wrapped_data_key is not hex ({e})"))
        })
    }

    /// Writes the metadata file atomically.
    pub(super) fn write(&self, path: &Path) -> Result<(), StoreError> {
        let json = serde_json::to_vec_pretty(self)
            .map_err(|e| StoreError::Io(format!("cannot encode store metadata: {e}")))?;
        fsio::write_atomic(path, &json)
            .map_err(|e| StoreError::Io(format!("cannot write {}: {e}", path.display())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_str(json: &str) -> Result<Option<Meta>, StoreError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(META_FILE);
        std::fs::write(&path, json).unwrap();
        Meta::read(&path)
    }

    #[test]
    fn reads_the_documented_format() {
        let meta = read_str(r#"{"schema_version":1,"key_alias":"a","wrapped_data_key":"00ff10"}"#)
            .unwrap()
            .unwrap();
        assert_eq!(meta.schema_version, 1);
        assert_eq!(meta.key_alias, "a");
        assert_eq!(meta.wrapped_key().unwrap(), vec![0x00, 0xFF, 0x10]);
    }

    #[test]
    fn writes_the_documented_format() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(META_FILE);
        Meta::new("alias-1", &[0xDE, 0xAD]).write(&path).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"schema_version": 1, "key_alias": "alias-1", "wrapped_data_key": "dead"})
        );
    }

    #[test]
    fn missing_file_is_none() {
        let dir = tempfile::tempdir().unwrap();
        assert!(Meta::read(&dir.path().join(META_FILE)).unwrap().is_none());
    }

    #[test]
    fn newer_version_wins_over_an_unknown_shape() {
        let err = read_str(r#"{"schema_version":2,"keys":[]}"#).unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::NewerVersion {
                    found: 2,
                    supported: 1
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn malformed_files_are_corrupt() {
        for json in [
            "",
            "{",
            "[]",
            r#"{"schema_version":"1","key_alias":"a","wrapped_data_key":"00"}"#,
            r#"{"schema_version":1,"key_alias":"a"}"#,
            r#"{"schema_version":1,"key_alias":"","wrapped_data_key":"00"}"#,
            r#"{"schema_version":1,"key_alias":"a","wrapped_data_key":"zz"}"#,
            r#"{"schema_version":0,"key_alias":"a","wrapped_data_key":"00"}"#,
            r#"{"schema_version":-1,"key_alias":"a","wrapped_data_key":"00"}"#,
        ] {
            assert!(
                matches!(read_str(json), Err(StoreError::Corrupt(_))),
                "{json:?}"
            );
        }
    }
}
