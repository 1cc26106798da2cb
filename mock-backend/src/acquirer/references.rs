//! Which authorisation each terminal request produced, by the request's idempotency key: what
//! lets a terminal reverse an authorisation whose answer it never received
//! ([`wallet_core::backend::api::acquiring::ReversalRequest::original_idempotency_key`]).
//!
//! Per `(terminal id, idempotency key)` the table `acquirer.references` holds either the
//! authorisation id the request produced, or [`Reference::Closed`]: a reversal named the key
//! before any authorisation had arrived with it, so nothing was debited — and an authorisation
//! arriving later with that key (delayed in the network) is declined without reaching the
//! issuer. Claiming a key (authorisation) and closing it (reversal) are one atomic
//! compare-and-swap each, and the whole authorisation runs under [`serialise`] so that a
//! reversal never sees an authorisation half done (claimed, not yet debited).

use crate::persist::{Store, StoreError, Table};
use serde::{Deserialize, Serialize};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// What a terminal's idempotency key stands for at the acquirer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reference {
    /// The authorisation the request produced (approved or declined).
    Authorized {
        /// The acquirer's authorisation id.
        authorization_id: String,
    },
    /// Reversed before any authorisation arrived with this key: later ones are declined.
    Closed,
}

/// The references of one world's acquirer.
#[derive(Debug, Clone)]
pub struct References {
    table: Table<Reference>,
}

/// Serialises authorisations that carry a key with reversals by key (the mock's handlers are
/// synchronous and short: one process-wide lock is enough).
static ORDER: Mutex<()> = Mutex::new(());

/// Holds the lock that orders keyed authorisations and reversals by key.
pub fn serialise() -> MutexGuard<'static, ()> {
    ORDER.lock().unwrap_or_else(PoisonError::into_inner)
}

fn record_key(terminal_id: &str, idempotency_key: &str) -> String {
    format!("{terminal_id}/{idempotency_key}")
}

impl References {
    /// Opens the table in `store`.
    pub fn open(store: &Store) -> Result<References, StoreError> {
        Ok(References {
            table: store.table("acquirer.references")?,
        })
    }

    /// What the key of `terminal_id` stands for, if anything.
    pub fn get(
        &self,
        terminal_id: &str,
        idempotency_key: &str,
    ) -> Result<Option<Reference>, StoreError> {
        self.table.get(record_key(terminal_id, idempotency_key))
    }

    /// Claims the key for `authorization_id`: `false` if a reversal closed it first (the
    /// authorisation must then be declined). A key claimed before (an authorisation that failed
    /// with a server error and is re-executed) is claimed again.
    pub fn claim(
        &self,
        terminal_id: &str,
        idempotency_key: &str,
        authorization_id: &str,
    ) -> Result<bool, StoreError> {
        let key = record_key(terminal_id, idempotency_key);
        let reference = Reference::Authorized {
            authorization_id: authorization_id.to_owned(),
        };
        if self.table.put_if_absent(&key, &reference)? {
            return Ok(true);
        }
        if self.table.get(&key)? == Some(Reference::Closed) {
            return Ok(false);
        }
        self.table.put(&key, &reference)?;
        Ok(true)
    }

    /// Closes the key unless an authorisation claimed it; answers what it stands for after.
    pub fn close(&self, terminal_id: &str, idempotency_key: &str) -> Result<Reference, StoreError> {
        let key = record_key(terminal_id, idempotency_key);
        if self.table.put_if_absent(&key, &Reference::Closed)? {
            return Ok(Reference::Closed);
        }
        Ok(self.table.get(&key)?.unwrap_or(Reference::Closed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_key_cannot_be_claimed_and_a_claimed_one_is_not_closed() -> Result<(), StoreError> {
        let store = Store::open(None)?;
        let refs = References::open(&store)?;
        assert_eq!(refs.get("POS00001", "k1")?, None);
        assert!(refs.claim("POS00001", "k1", "auth_1")?);
        let authorized = Reference::Authorized {
            authorization_id: "auth_1".into(),
        };
        assert_eq!(refs.close("POS00001", "k1")?, authorized);
        // Another terminal's key of the same value is another key.
        assert_eq!(refs.close("POS00002", "k1")?, Reference::Closed);
        assert!(!refs.claim("POS00002", "k1", "auth_2")?);
        assert_eq!(refs.get("POS00002", "k1")?, Some(Reference::Closed));
        // Re-claimed after a server error: the new id wins.
        assert!(refs.claim("POS00001", "k1", "auth_3")?);
        assert_eq!(
            refs.get("POS00001", "k1")?,
            Some(Reference::Authorized {
                authorization_id: "auth_3".into()
            })
        );
        Ok(())
    }
}
