//! The TSM's link to the account management system (the bank): the binding behind an order
//! (its account and registered device key) and the debit of the initial electronic-cash load.
//!
//! The bank module does not (yet) offer these as methods, so this adapter reads the bank's
//! binding records and writes its account balances in the shared sled store — the one place to
//! change when the bank grows `Bank::bound_account` / `Bank::debit` (see the README).
//!
//! The debit is idempotent per opening: the ledger entry (`tsm.ecash_loads`, keyed by the
//! opening id) is written first, the account balance second, so a repeated completion never
//! charges twice (a crash between the two writes loses the debit instead: the customer is
//! never charged twice, the mock bank may once be short).

use serde::{Deserialize, Serialize};
use std::sync::{Mutex, PoisonError};
use wallet_core::backend::api::{BindingRecord, BindingStatus};

use crate::bank::Account;
use crate::persist::{Store, StoreError, Table};

use super::error::TsmError;

/// The fields of the bank's stored binding the TSM needs (the bank's table `bank.bindings`).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct BankBinding {
    record: BindingRecord,
    pan: String,
    /// SEC1 uncompressed point, hex.
    device_public_key: String,
}

/// A binding the TSM may act for: its public record, the account PAN and the device key.
#[derive(Clone)]
pub struct BoundAccount {
    /// The bank's record (status, account kind, issuer).
    pub record: BindingRecord,
    /// The account's card number (used for the issuer lookup only, never written to a card).
    pub pan: String,
    /// The registered device public key (SEC1 uncompressed point).
    pub device_public_key: Vec<u8>,
    /// The account, as the bank holds it.
    pub account: Account,
}

impl BoundAccount {
    /// Whether the binding is active.
    pub fn is_active(&self) -> bool {
        self.record.status == BindingStatus::Active
    }
}

impl std::fmt::Debug for BoundAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BoundAccount")
            .field("binding_id", &self.record.binding_id)
            .field("account_kind", &self.record.account_kind)
            .finish_non_exhaustive()
    }
}

/// One e-cash load, as the TSM's ledger keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct LoadEntry {
    pan: String,
    amount: u64,
    at: u64,
}

/// Access to the bank's bindings and accounts.
#[derive(Debug)]
pub struct BankLink {
    bindings: Table<BankBinding>,
    accounts: Table<Account>,
    loads: Table<LoadEntry>,
    lock: Mutex<()>,
}

impl BankLink {
    /// Opens the bank's tables and the TSM's load ledger in `store`.
    pub fn open(store: &Store) -> Result<BankLink, StoreError> {
        Ok(BankLink {
            bindings: store.table("bank.bindings")?,
            accounts: store.table("bank.accounts")?,
            loads: store.table("tsm.ecash_loads")?,
            lock: Mutex::new(()),
        })
    }

    /// The binding `binding_id` with its account and device key (`BINDING_NOT_FOUND` if
    /// unknown), whatever its status ([`BoundAccount::is_active`]).
    pub fn bound_account(&self, binding_id: &str) -> Result<BoundAccount, TsmError> {
        let binding = self
            .bindings
            .get(binding_id)?
            .ok_or(TsmError::BindingNotFound)?;
        let device_public_key = hex::decode(&binding.device_public_key)
            .map_err(|_| TsmError::Internal("stored device key is not hex".into()))?;
        let account = self
            .accounts
            .get(&binding.pan)?
            .ok_or_else(|| TsmError::Internal("account of a binding vanished".into()))?;
        Ok(BoundAccount {
            record: binding.record,
            pan: binding.pan,
            device_public_key,
            account,
        })
    }

    /// The account PAN of binding `binding_id`, whatever its status.
    pub fn pan_of(&self, binding_id: &str) -> Result<Option<String>, StoreError> {
        Ok(self.bindings.get(binding_id)?.map(|b| b.pan))
    }

    /// Whether the account `pan` could fund `amount` fen now.
    pub fn can_fund(&self, pan: &str, amount: u64) -> Result<bool, StoreError> {
        let balance = self.accounts.get(pan)?.map_or(0, |a| a.balance_fen);
        Ok(i64::try_from(amount).is_ok_and(|amount| balance >= amount))
    }

    /// Debits `amount` fen from account `pan` for the opening `opening_id`, once: a repeated
    /// call for the same opening does nothing and answers `true`. `false` if the account
    /// cannot fund it (nothing is written).
    pub fn debit_load(
        &self,
        opening_id: &str,
        pan: &str,
        amount: u64,
        now: u64,
    ) -> Result<bool, TsmError> {
        if amount == 0 {
            return Ok(true);
        }
        let _guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        if self.loads.contains(opening_id)? {
            return Ok(true);
        }
        let mut account = self
            .accounts
            .get(pan)?
            .ok_or_else(|| TsmError::Internal("account to debit vanished".into()))?;
        let Ok(signed) = i64::try_from(amount) else {
            return Ok(false);
        };
        if account.balance_fen < signed {
            return Ok(false);
        }
        let entry = LoadEntry {
            pan: pan.to_owned(),
            amount,
            at: now,
        };
        self.loads.put(opening_id, &entry)?;
        account.balance_fen -= signed;
        self.accounts.put(pan, &account)?;
        tracing::info!(%opening_id, amount, "initial e-cash load debited");
        Ok(true)
    }

    /// The amount loaded for the opening `opening_id`, if its debit happened.
    pub fn load_of(&self, opening_id: &str) -> Result<Option<u64>, StoreError> {
        Ok(self.loads.get(opening_id)?.map(|entry| entry.amount))
    }
}
