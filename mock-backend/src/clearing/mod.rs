//! The transfer clearing system: records every transaction the acquiring side approved
//! (online authorisations, offline e-cash advices) under its clearing day, and answers the day's
//! batch with each institution's net position.
//!
//! - A transaction is recorded once per identifier (the authorisation or advice id): recording
//!   it again answers the day it was first recorded under.
//! - The clearing day is the Beijing calendar day ([`date::Day::beijing`]) of the mock world's
//!   clock when the transaction is recorded.
//! - Totals: for every transaction the acquirer receives the amount and the issuer pays it; per
//!   institution `net = receivable − payable`, and the nets of a batch add up to zero. Offline
//!   e-cash is paid by the card's issuer too (from the e-cash it holds for the card).
//!
//! `GET /clearing/v1/batches/{YYYY-MM-DD}` ([`routes`]) serves [`Clearing::batch`]. Remote
//! payments will add their own [`ClearingChannel`].

pub mod date;
mod routes;

pub use routes::routes;

use crate::persist::{Store, StoreError, Table};
use date::Day;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};
use wallet_core::backend::api::clearing::{ClearingBatch, ClearingEntry, InstitutionTotal};

pub use wallet_core::backend::api::clearing::ClearingChannel;

/// A financial institution taking part in clearing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Institution {
    /// Identifier: the acquirer's institution code, or an issuer's BIN.
    pub id: String,
    /// Name.
    pub name: String,
}

/// A recorded transaction with the names of its institutions.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Stored {
    entry: ClearingEntry,
    acquirer_name: String,
    issuer_name: String,
}

/// The clearing system's records.
#[derive(Debug)]
pub struct Clearing {
    /// Entries keyed `{YYYY-MM-DD}/{sequence:020}`.
    entries: Table<Stored>,
    /// Entry key of each transaction id.
    by_id: Table<String>,
    store: Store,
    lock: Mutex<()>,
}

impl Clearing {
    /// Opens the clearing records in `store`.
    pub fn open(store: &Store) -> Result<Clearing, StoreError> {
        Ok(Clearing {
            entries: store.table("clearing.entries")?,
            by_id: store.table("clearing.by_id")?,
            store: store.clone(),
            lock: Mutex::new(()),
        })
    }

    /// Records `entry` (once per `entry.id`) in the clearing day of `entry.recorded_at`;
    /// returns that day (`YYYY-MM-DD`), or the day of the first recording.
    pub fn record(
        &self,
        entry: ClearingEntry,
        acquirer: &Institution,
        issuer: &Institution,
    ) -> Result<String, StoreError> {
        let _guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(key) = self.by_id.get(&entry.id)? {
            return Ok(key.split('/').next().unwrap_or_default().to_owned());
        }
        let day = Day::beijing(entry.recorded_at).iso();
        let key = format!("{day}/{:020}", self.store.next_id()?);
        let id = entry.id.clone();
        let stored = Stored {
            entry: ClearingEntry {
                acquirer_id: acquirer.id.clone(),
                issuer_id: issuer.id.clone(),
                ..entry
            },
            acquirer_name: acquirer.name.clone(),
            issuer_name: issuer.name.clone(),
        };
        self.entries.put(&key, &stored)?;
        self.by_id.put(&id, &key)?;
        tracing::info!(%id, %day, amount = stored.entry.amount, "transaction recorded for clearing");
        Ok(day)
    }

    /// The batch of clearing day `day`: its transactions in recording order and the net totals.
    pub fn batch(&self, day: &Day) -> Result<ClearingBatch, StoreError> {
        let date = day.iso();
        let stored = self.entries.scan_prefix(format!("{date}/"))?;
        let mut totals: BTreeMap<String, InstitutionTotal> = BTreeMap::new();
        let mut amount = 0u64;
        for s in &stored {
            let e = &s.entry;
            amount = amount.saturating_add(e.amount);
            total_of(&mut totals, &e.acquirer_id, &s.acquirer_name).receivable += e.amount;
            total_of(&mut totals, &e.issuer_id, &s.issuer_name).payable += e.amount;
        }
        let totals = totals
            .into_values()
            .map(|mut t| {
                let signed = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
                t.net = signed(t.receivable).saturating_sub(signed(t.payable));
                t
            })
            .collect();
        let transactions: Vec<ClearingEntry> = stored.into_iter().map(|s| s.entry).collect();
        Ok(ClearingBatch {
            date,
            count: transactions.len() as u64,
            transactions,
            totals,
            amount,
        })
    }
}

fn total_of<'a>(
    totals: &'a mut BTreeMap<String, InstitutionTotal>,
    id: &str,
    name: &str,
) -> &'a mut InstitutionTotal {
    totals
        .entry(id.to_owned())
        .or_insert_with(|| InstitutionTotal {
            institution_id: id.to_owned(),
            name: name.to_owned(),
            receivable: 0,
            payable: 0,
            net: 0,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, amount: u64, at: u64) -> ClearingEntry {
        ClearingEntry {
            id: id.into(),
            channel: ClearingChannel::PosOnline,
            recorded_at: at,
            amount,
            currency: 156,
            masked_pan: "622202******7894".into(),
            atc: 1,
            merchant_id: "M".into(),
            terminal_id: "T".into(),
            acquirer_id: String::new(),
            issuer_id: String::new(),
        }
    }

    fn institution(id: &str) -> Institution {
        Institution {
            id: id.into(),
            name: format!("name of {id}"),
        }
    }

    #[test]
    fn batches_per_day_with_zero_sum_nets() -> Result<(), StoreError> {
        let clearing = Clearing::open(&Store::open(None)?)?;
        let (acq, icbc, cmb) = (
            institution("A"),
            institution("622202"),
            institution("625965"),
        );
        // 2025-03-14 10:00 and 23:59:59 Beijing, then 2025-03-15 00:00 Beijing.
        let day = 1_741_917_600;
        assert_eq!(
            clearing.record(entry("a", 1_000, day), &acq, &icbc)?,
            "2025-03-14"
        );
        assert_eq!(
            clearing.record(entry("b", 250, 1_741_967_999), &acq, &cmb)?,
            "2025-03-14"
        );
        assert_eq!(
            clearing.record(entry("c", 7, 1_741_968_000), &acq, &icbc)?,
            "2025-03-15"
        );
        // Recording "a" again (another time, another amount) changes nothing.
        assert_eq!(
            clearing.record(entry("a", 9_999, 1_741_968_000), &acq, &icbc)?,
            "2025-03-14"
        );

        let batch = clearing.batch(&Day {
            year: 2025,
            month: 3,
            day: 14,
        })?;
        assert_eq!(batch.date, "2025-03-14");
        let ids: Vec<&str> = batch.transactions.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
        assert_eq!((batch.count, batch.amount), (2, 1_250));
        assert_eq!(batch.transactions[0].issuer_id, "622202");
        let nets: Vec<(&str, u64, u64, i64)> = batch
            .totals
            .iter()
            .map(|t| (t.institution_id.as_str(), t.receivable, t.payable, t.net))
            .collect();
        assert_eq!(
            nets,
            [
                ("622202", 0, 1_000, -1_000),
                ("625965", 0, 250, -250),
                ("A", 1_250, 0, 1_250)
            ]
        );
        assert_eq!(batch.totals.iter().map(|t| t.net).sum::<i64>(), 0);
        let next = clearing.batch(&Day {
            year: 2025,
            month: 3,
            day: 15,
        })?;
        assert_eq!((next.count, next.amount), (1, 7));
        let empty = clearing.batch(&Day {
            year: 2025,
            month: 3,
            day: 16,
        })?;
        assert!(empty.transactions.is_empty() && empty.totals.is_empty());
        Ok(())
    }
}
