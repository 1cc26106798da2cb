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
//! - Reversals ([`Clearing::record_reversal`]): a correction entry
//!   ([`ClearingChannel::Reversal`], id [`reversal_id_of`] the original) copying the original's
//!   amount, card and institutions, recorded in the clearing day of the reversal. It counts the
//!   other way round: the acquirer pays the amount back and the issuer receives it, so a day
//!   holding a transaction and its reversal nets both institutions to what they were without
//!   them (and the nets still add up to zero). A batch's `amount` is the day's net amount:
//!   transactions minus reversals. Reversing an entry again changes nothing.
//!
//! `GET /clearing/v1/batches/{YYYY-MM-DD}` ([`routes`]) serves [`Clearing::batch`].

pub mod date;
mod routes;

pub use routes::routes;

use crate::persist::{Store, StoreError, Table};
use date::Day;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};
use wallet_core::backend::api::acquiring::reversal_id_of;
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

    /// The recorded transaction `id`, if any.
    pub fn entry(&self, id: &str) -> Result<Option<ClearingEntry>, StoreError> {
        Ok(self.stored(id)?.map(|s| s.entry))
    }

    fn stored(&self, id: &str) -> Result<Option<Stored>, StoreError> {
        match self.by_id.get(id)? {
            Some(key) => self.entries.get(&key),
            None => Ok(None),
        }
    }

    /// Records the reversal of transaction `original_id` at Unix time `now` (see the
    /// [module](self)), once; returns the clearing day of the correction entry, or `None` when
    /// `original_id` was never recorded (or is itself a reversal).
    pub fn record_reversal(
        &self,
        original_id: &str,
        now: u64,
    ) -> Result<Option<String>, StoreError> {
        let Some(original) = self.stored(original_id)? else {
            return Ok(None);
        };
        if original.entry.channel == ClearingChannel::Reversal {
            return Ok(None);
        }
        let acquirer = Institution {
            id: original.entry.acquirer_id.clone(),
            name: original.acquirer_name,
        };
        let issuer = Institution {
            id: original.entry.issuer_id.clone(),
            name: original.issuer_name,
        };
        let entry = ClearingEntry {
            id: reversal_id_of(original_id),
            channel: ClearingChannel::Reversal,
            recorded_at: now,
            ..original.entry
        };
        self.record(entry, &acquirer, &issuer).map(Some)
    }

    /// The batch of clearing day `day`: its transactions in recording order and the net totals.
    pub fn batch(&self, day: &Day) -> Result<ClearingBatch, StoreError> {
        let date = day.iso();
        let stored = self.entries.scan_prefix(format!("{date}/"))?;
        let mut totals: BTreeMap<String, InstitutionTotal> = BTreeMap::new();
        let (mut forward, mut reversed) = (0u64, 0u64);
        for s in &stored {
            let e = &s.entry;
            if e.channel == ClearingChannel::Reversal {
                reversed = reversed.saturating_add(e.amount);
                total_of(&mut totals, &e.acquirer_id, &s.acquirer_name).payable += e.amount;
                total_of(&mut totals, &e.issuer_id, &s.issuer_name).receivable += e.amount;
            } else {
                forward = forward.saturating_add(e.amount);
                total_of(&mut totals, &e.acquirer_id, &s.acquirer_name).receivable += e.amount;
                total_of(&mut totals, &e.issuer_id, &s.issuer_name).payable += e.amount;
            }
        }
        // A reversal of an earlier day's transaction can outweigh the day's own: floor at zero.
        let amount = forward.saturating_sub(reversed);
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

    #[test]
    fn reversals_net_out_their_original() -> Result<(), StoreError> {
        let clearing = Clearing::open(&Store::open(None)?)?;
        let (acq, icbc, cmb) = (
            institution("A"),
            institution("622202"),
            institution("625965"),
        );
        let day = 1_741_917_600; // 2025-03-14 10:00 Beijing
        clearing.record(entry("load", 5_000, day), &acq, &icbc)?;
        clearing.record(entry("buy", 250, day + 1), &acq, &cmb)?;
        assert_eq!(
            clearing.record_reversal("load", day + 2)?.as_deref(),
            Some("2025-03-14")
        );
        // Again, or a reversal of the reversal, or of nothing: no new entry.
        clearing.record_reversal("load", day + 3)?;
        assert_eq!(clearing.record_reversal("rev_load", day + 3)?, None);
        assert_eq!(clearing.record_reversal("nothing", day + 3)?, None);

        let batch = clearing.batch(&Day::beijing(day))?;
        let rows: Vec<(&str, ClearingChannel, u64)> = batch
            .transactions
            .iter()
            .map(|t| (t.id.as_str(), t.channel, t.amount))
            .collect();
        assert_eq!(
            rows,
            [
                ("load", ClearingChannel::PosOnline, 5_000),
                ("buy", ClearingChannel::PosOnline, 250),
                ("rev_load", ClearingChannel::Reversal, 5_000)
            ]
        );
        let reversal = &batch.transactions[2];
        assert_eq!(
            (reversal.issuer_id.as_str(), reversal.recorded_at),
            ("622202", day + 2)
        );
        assert_eq!((batch.count, batch.amount), (3, 250), "net of the reversal");
        let nets: Vec<(&str, u64, u64, i64)> = batch
            .totals
            .iter()
            .map(|t| (t.institution_id.as_str(), t.receivable, t.payable, t.net))
            .collect();
        assert_eq!(
            nets,
            [
                ("622202", 5_000, 5_000, 0),
                ("625965", 0, 250, -250),
                ("A", 5_250, 5_000, 250)
            ]
        );
        assert_eq!(batch.totals.iter().map(|t| t.net).sum::<i64>(), 0);
        assert_eq!(
            clearing.entry("rev_load")?.map(|e| e.channel),
            Some(ClearingChannel::Reversal)
        );

        // Reversed on the next day: that day's batch carries the correction alone.
        clearing.record(entry("late", 900, day), &acq, &icbc)?;
        clearing.record_reversal("late", 1_741_968_000)?;
        let next = clearing.batch(&Day::beijing(1_741_968_000))?;
        assert_eq!((next.count, next.amount), (1, 0));
        let nets: Vec<i64> = next.totals.iter().map(|t| t.net).collect();
        assert_eq!(
            nets,
            [900, -900],
            "the issuer receives, the acquirer pays back"
        );
        Ok(())
    }
}
