//! Recovery of a sled database left by a process killed while sled was writing a snapshot.
//!
//! sled 0.34 writes a snapshot to `snap.<lsn>.generating`, syncs it and renames it to
//! `snap.<lsn>`; but when it opens a database it picks the newest `snap.*` file *including*
//! `.generating` ones. A process killed (SIGKILL, the OS reclaiming an app) in the middle of
//! that write — which sled does on every clean close — leaves a torn `.generating` file that
//! sorts last, and the database then refuses to open: "Read corrupted data at file offset None"
//! (spacejam/sled#1509, #1527, #1533). A `.generating` file is incomplete by construction (a
//! complete one has been renamed), so removing it before opening loses nothing: sled rebuilds
//! from the previous snapshot and the log.

use std::io;
use std::path::Path;

/// Removes the incomplete snapshot files (`snap.*.generating`) in the sled database directory
/// `db_dir`; returns how many there were. A missing directory has none.
pub fn remove_incomplete_snapshots(db_dir: &Path) -> io::Result<usize> {
    let entries = match std::fs::read_dir(db_dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let mut removed = 0;
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("snap.") && name.ends_with(".generating") {
            std::fs::remove_file(entry.path())?;
            tracing::warn!(file = %name, "removed a torn sled snapshot left by a crash");
            removed += 1;
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reopen(dir: &Path) -> sled::Result<sled::Db> {
        sled::Config::new().path(dir).open()
    }

    #[test]
    fn a_torn_snapshot_no_longer_stops_the_database_from_opening() {
        let dir = tempfile::tempdir().unwrap();
        let db_dir = dir.path().join("db");
        {
            let db = reopen(&db_dir).unwrap();
            db.insert(b"atc", &7u16.to_be_bytes()).unwrap();
            db.flush().unwrap();
        }
        // What a kill in the middle of sled's snapshot write leaves behind.
        std::fs::write(
            db_dir.join("snap.FFFFFFFFFFFFFFFF.generating"),
            b"half a snapshot, no valid crc",
        )
        .unwrap();
        let refused = reopen(&db_dir).err().map(|e| e.to_string());
        assert!(
            refused.as_deref().is_some_and(|e| e.contains("corrupted")),
            "sled 0.34 refuses a torn snapshot (if this changes, the repair may go): {refused:?}"
        );

        assert_eq!(remove_incomplete_snapshots(&db_dir).unwrap(), 1);
        let db = reopen(&db_dir).unwrap();
        assert_eq!(
            db.get(b"atc").unwrap().as_deref(),
            Some(&7u16.to_be_bytes()[..])
        );
        assert_eq!(remove_incomplete_snapshots(&db_dir).unwrap(), 0);
    }

    #[test]
    fn complete_snapshots_and_other_files_stay() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["snap.0000000000000010", "db", "conf", "snap.generating.txt"] {
            std::fs::write(dir.path().join(name), b"x").unwrap();
        }
        assert_eq!(remove_incomplete_snapshots(dir.path()).unwrap(), 0);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 4);
        assert_eq!(
            remove_incomplete_snapshots(&dir.path().join("missing")).unwrap(),
            0
        );
    }
}
