//! The terminal's reversal journal: every online authorisation is written down *before* its
//! request leaves, and crossed out once its outcome is final, so that a terminal that dies (or
//! loses the answer) in between can still undo what the issuer may have done.
//!
//! An entry ([`JournalEntry`]) holds what a reversal needs without the original answer: the
//! idempotency key the authorisation is sent with (the acquirer resolves it to the
//! authorisation, see [`wallet_core::backend::api::acquiring::ReversalRequest`]), the terminal
//! and merchant, amount and currency, the authorisation id once known, and — for an e-cash
//! load — the card's identity (SHA-256 of PAN and sequence number: no cardholder data on disk)
//! and its balance before the load. How the terminal resolves entries: [`super::online`].
//!
//! The same directory keeps the terminal's **offline advices** not uploaded yet (under
//! `advices/`): an e-cash purchase the card approved offline is money the merchant is owed, so
//! its advice is written before the terminal goes on and removed once the acquirer answered it
//! ([`ReversalJournal::write_advice`]); a restarted terminal uploads what it finds there.
//!
//! Storage: one JSON file per entry, written to a temporary file, synced, renamed over the
//! entry's file and the directory synced — an entry is either wholly there or not at all,
//! whenever the process dies. Leftover temporary files are removed on open.

use super::PendingAdvice;
use ring::digest::{digest, SHA256};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The journal could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// File-system failure.
    #[error("reversal journal I/O: {0}")]
    Io(#[from] std::io::Error),
    /// An entry file does not parse (not written by this journal).
    #[error("reversal journal entry {file}: {source}")]
    Corrupt {
        /// The file.
        file: String,
        /// The parse error.
        source: serde_json::Error,
    },
}

/// What was authorised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum JournalKind {
    /// A purchase: without a confirmed answer it is reversed.
    Purchase,
    /// An e-cash load onto the card whose balance was `balance_before` (fen).
    Load {
        /// The card's e-cash balance read before the authorisation.
        balance_before: u64,
    },
}

/// One online authorisation whose outcome is not final yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// The idempotency key the authorisation request is (was) sent with; names the entry.
    pub idempotency_key: String,
    /// The acquirer's authorisation id, once its answer arrived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_id: Option<String>,
    /// Terminal identification (`9F1C`).
    pub terminal_id: String,
    /// Merchant identifier (`9F16`).
    pub merchant_id: String,
    /// The card: [`card_identity`] of its PAN and PAN sequence number.
    pub card: String,
    /// Amount, fen.
    pub amount: u64,
    /// Currency, ISO 4217 numeric.
    pub currency: u16,
    /// Purchase or load.
    #[serde(flatten)]
    pub kind: JournalKind,
}

/// The identity of a card in the journal: SHA-256 (hex) of `PAN/PSN`.
pub fn card_identity(pan: &str, pan_sequence: u8) -> String {
    hex::encode(digest(&SHA256, format!("{pan}/{pan_sequence}").as_bytes()))
}

/// A reversal journal in a directory (see the [module](self)). Cheap to clone.
#[derive(Debug, Clone)]
pub struct ReversalJournal {
    entries: Files,
    advices: Files,
}

/// Subdirectory of the offline advices.
const ADVICES: &str = "advices";

impl ReversalJournal {
    /// Opens (creating it if needed) the journal in `dir`; removes half-written files.
    pub fn open(dir: impl Into<PathBuf>) -> Result<ReversalJournal, JournalError> {
        let dir = dir.into();
        let advices = Files::open(dir.join(ADVICES))?;
        Ok(ReversalJournal {
            entries: Files::open(dir)?,
            advices,
        })
    }

    /// The journal's directory.
    pub fn dir(&self) -> &Path {
        &self.entries.dir
    }

    /// Writes (or replaces) `entry` durably: on return it survives a crash.
    pub fn write(&self, entry: &JournalEntry) -> Result<(), JournalError> {
        self.entries.write(&entry.idempotency_key, entry)
    }

    /// Crosses out the entry of `idempotency_key` (its outcome is final); absent is fine.
    pub fn clear(&self, idempotency_key: &str) -> Result<(), JournalError> {
        self.entries.remove(idempotency_key)
    }

    /// Every entry not crossed out, in file name order.
    pub fn pending(&self) -> Result<Vec<JournalEntry>, JournalError> {
        self.entries.list()
    }

    /// Keeps an offline advice durably until [`ReversalJournal::clear_advice`].
    pub fn write_advice(&self, advice: &PendingAdvice) -> Result<(), JournalError> {
        self.advices.write(advice.key.as_str(), advice)
    }

    /// Drops the advice sent with `key` (the acquirer answered it); absent is fine.
    pub fn clear_advice(&self, key: &str) -> Result<(), JournalError> {
        self.advices.remove(key)
    }

    /// The offline advices not uploaded yet, oldest first (by the terminal's sequence).
    pub fn pending_advices(&self) -> Result<Vec<PendingAdvice>, JournalError> {
        let mut advices: Vec<PendingAdvice> = self.advices.list()?;
        advices.sort_by_key(|a| a.sequence);
        Ok(advices)
    }
}

/// One JSON file per record in a directory, written atomically and durably.
#[derive(Debug, Clone)]
struct Files {
    dir: PathBuf,
}

const EXTENSION: &str = "json";
const TEMPORARY: &str = "tmp";

impl Files {
    fn open(dir: PathBuf) -> Result<Files, JournalError> {
        fs::create_dir_all(&dir)?;
        for entry in fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == TEMPORARY) {
                fs::remove_file(&path)?;
            }
        }
        Ok(Files { dir })
    }

    fn file(&self, name: &str) -> PathBuf {
        // Keys are generated by the terminal (hex / UUID characters); hash anything else.
        let safe = name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        let name = if safe && !name.is_empty() && name.len() <= 128 {
            name.to_owned()
        } else {
            hex::encode(digest(&SHA256, name.as_bytes()))
        };
        self.dir.join(format!("{name}.{EXTENSION}"))
    }

    fn write<T: Serialize>(&self, name: &str, record: &T) -> Result<(), JournalError> {
        let path = self.file(name);
        let temporary = path.with_extension(TEMPORARY);
        let bytes = serde_json::to_vec_pretty(record).map_err(std::io::Error::other)?;
        {
            let mut file = File::create(&temporary)?;
            file.write_all(&bytes)?;
            file.sync_all()?;
        }
        fs::rename(&temporary, &path)?;
        self.sync_dir()
    }

    fn remove(&self, name: &str) -> Result<(), JournalError> {
        match fs::remove_file(self.file(name)) {
            Ok(()) => self.sync_dir(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    fn list<T: DeserializeOwned>(&self) -> Result<Vec<T>, JournalError> {
        let mut files: Vec<PathBuf> = fs::read_dir(&self.dir)?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()?;
        files.retain(|p| p.extension().is_some_and(|e| e == EXTENSION));
        files.sort();
        files
            .into_iter()
            .map(|path| {
                let bytes = fs::read(&path)?;
                serde_json::from_slice(&bytes).map_err(|source| JournalError::Corrupt {
                    file: path.display().to_string(),
                    source,
                })
            })
            .collect()
    }

    /// Makes the directory's entries (creations, renames, removals) durable.
    fn sync_dir(&self) -> Result<(), JournalError> {
        #[cfg(unix)]
        File::open(&self.dir)?.sync_all()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &str, kind: JournalKind) -> JournalEntry {
        JournalEntry {
            idempotency_key: key.into(),
            authorization_id: None,
            terminal_id: "POS00001".into(),
            merchant_id: "898310058120001".into(),
            card: card_identity("6222021234567894", 1),
            amount: 5_000,
            currency: 156,
            kind,
        }
    }

    #[test]
    fn entries_survive_reopening_until_cleared() -> Result<(), JournalError> {
        let dir = tempfile::tempdir()?;
        let journal = ReversalJournal::open(dir.path().join("pos"))?;
        assert!(journal.pending()?.is_empty());
        let load = entry(
            "0f1e2d3c-aaaa",
            JournalKind::Load {
                balance_before: 1_000,
            },
        );
        let purchase = entry("1a2b", JournalKind::Purchase);
        journal.write(&load)?;
        journal.write(&purchase)?;
        let mut answered = load.clone();
        answered.authorization_id = Some("auth_1".into());
        journal.write(&answered)?;

        let reopened = ReversalJournal::open(journal.dir())?;
        assert_eq!(reopened.pending()?, vec![answered, purchase.clone()]);
        reopened.clear("0f1e2d3c-aaaa")?;
        reopened.clear("0f1e2d3c-aaaa")?; // clearing twice is fine
        assert_eq!(reopened.pending()?, vec![purchase]);
        Ok(())
    }

    #[test]
    fn half_written_files_are_dropped_and_garbage_is_reported() -> Result<(), JournalError> {
        let dir = tempfile::tempdir()?;
        let journal = ReversalJournal::open(dir.path())?;
        // A crash between creating the temporary file and the rename leaves only the former.
        fs::write(dir.path().join("k1.tmp"), b"{\"idempotency_key\":")?;
        let journal = ReversalJournal::open(journal.dir())?;
        assert!(journal.pending()?.is_empty());
        assert!(!dir.path().join("k1.tmp").exists());
        fs::write(dir.path().join("k2.json"), b"not json")?;
        assert!(matches!(
            journal.pending(),
            Err(JournalError::Corrupt { .. })
        ));
        Ok(())
    }

    #[test]
    fn the_card_is_kept_as_a_digest_and_odd_keys_get_safe_names() -> Result<(), JournalError> {
        let id = card_identity("6222021234567894", 1);
        assert_eq!(id.len(), 64);
        assert!(!id.contains("6222021234567894"));
        assert_ne!(id, card_identity("6222021234567894", 2));
        let dir = tempfile::tempdir()?;
        let journal = ReversalJournal::open(dir.path())?;
        let odd = entry("../escape/key", JournalKind::Purchase);
        journal.write(&odd)?;
        assert_eq!(journal.pending()?, vec![odd]);
        let mut names: Vec<String> = fs::read_dir(dir.path())?
            .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect::<Result<_, _>>()?;
        names.sort();
        assert_eq!(names.len(), 2, "stays in the directory: {names:?}");
        assert_eq!(names[1], "advices");
        Ok(())
    }
}
