//! Wire types of the transfer clearing system: every approved near-field and remote transaction
//! lands in the clearing day (Beijing time) it was recorded in; the day's batch gives each
//! institution's net settlement position. Served by the mock backend's `clearing` module.
//!
//! Endpoints:
//! - `GET {PATH_CLEARING_BATCHES}/{date}` (`YYYY-MM-DD`, Beijing time) → [`ClearingBatch`].

use serde::{Deserialize, Serialize};

/// Base path of the clearing batches (`GET …/{YYYY-MM-DD}`).
pub const PATH_CLEARING_BATCHES: &str = "/clearing/v1/batches";

/// How a cleared transaction reached the clearing system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClearingChannel {
    /// A POS transaction the issuer approved online (ARQC).
    PosOnline,
    /// A POS e-cash transaction approved offline by the card (TC), from an offline advice.
    PosOffline,
    /// The reversal of an earlier transaction (for example an e-cash load the card refused):
    /// `id` names the reversal (`rev_` + the original's id, see
    /// [`super::acquiring::reversal_id_of`]); card, merchant and institutions are the
    /// original's, and its amount counts the other way round (the acquirer pays it back, the
    /// issuer receives it).
    Reversal,
    /// A remote (in-app) payment approved by the remote payment system.
    RemotePayment,
}

/// One transaction in a clearing batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClearingEntry {
    /// The authorisation or advice identifier.
    pub id: String,
    /// How it was approved.
    pub channel: ClearingChannel,
    /// Unix time (seconds) it was recorded.
    pub recorded_at: u64,
    /// Amount, minor units.
    pub amount: u64,
    /// ISO 4217 numeric currency.
    pub currency: u16,
    /// The card's PAN masked to its first 6 and last 4 digits.
    pub masked_pan: String,
    /// Application transaction counter of the card.
    pub atc: u16,
    /// Merchant identifier.
    pub merchant_id: String,
    /// Terminal identification.
    pub terminal_id: String,
    /// The acquiring institution (receives the amount).
    pub acquirer_id: String,
    /// The issuing institution (pays the amount).
    pub issuer_id: String,
}

/// The net position of one institution in a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstitutionTotal {
    /// Institution identifier (acquirer code, or the issuer's BIN).
    pub institution_id: String,
    /// Institution name.
    pub name: String,
    /// Sum it receives (as acquirer), minor units.
    pub receivable: u64,
    /// Sum it pays (as issuer), minor units.
    pub payable: u64,
    /// `receivable − payable`; the nets of a batch add up to zero.
    pub net: i64,
}

/// The transactions of one clearing day and the institutions' net totals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClearingBatch {
    /// The clearing day, `YYYY-MM-DD` (Beijing time).
    pub date: String,
    /// Transactions in the order they were recorded.
    pub transactions: Vec<ClearingEntry>,
    /// Net totals per institution, by institution identifier.
    pub totals: Vec<InstitutionTotal>,
    /// Number of transactions.
    pub count: u64,
    /// The day's net amount, minor units: the amounts of its transactions minus those of its
    /// reversals (never below zero).
    pub amount: u64,
}
