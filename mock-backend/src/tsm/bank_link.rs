//! The TSM's read-only view of the account management system (the bank): the binding behind an
//! order (its account and registered device key). The bank module does not (yet) offer this as
//! a method, so this adapter reads the bank's binding records in the shared sled store. The
//! initial electronic-cash load is a debit of the bank itself ([`crate::bank::Bank::debit`],
//! referenced by the opening, so it happens once).
//!
//! The card product data the personalisation needs — the cardholder PIN and the card
//! algorithm — come from the bank's card record ([`crate::bank::test_cards`]) when the TSM
//! personalises; the PIN is handed over as a zeroized PIN block and never stored or logged.

use serde::{Deserialize, Serialize};
use wallet_core::backend::api::{BindingRecord, BindingStatus};
use wallet_core::card::signing::PinBlock;
use wallet_core::card::CardCrypto;

use crate::bank::test_cards::TestCard;
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

    /// The algorithm of the SE cards the bank's product issues for this account (the TSM's
    /// default [`super::perso::CARD_CRYPTO`] for an account without a card record).
    pub fn se_card_crypto(&self) -> CardCrypto {
        TestCard::by_pan(&self.pan).map_or(super::perso::CARD_CRYPTO, |c| c.se_card_crypto)
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

/// Access to the bank's bindings and accounts.
#[derive(Debug)]
pub struct BankLink {
    bindings: Table<BankBinding>,
    accounts: Table<Account>,
}

impl BankLink {
    /// Opens the bank's tables in `store` (read only).
    pub fn open(store: &Store) -> Result<BankLink, StoreError> {
        Ok(BankLink {
            bindings: store.table("bank.bindings")?,
            accounts: store.table("bank.accounts")?,
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

    /// The cardholder PIN of binding `binding_id`'s card, from the bank's card record, as a PIN
    /// block (`None` when the bank has none for it).
    pub fn cardholder_pin(&self, binding_id: &str) -> Result<Option<PinBlock>, StoreError> {
        Ok(self
            .pan_of(binding_id)?
            .as_deref()
            .and_then(TestCard::by_pan)
            .and_then(|card| PinBlock::new(card.pin)))
    }

    /// Whether the account `pan` could fund `amount` fen now.
    pub fn can_fund(&self, pan: &str, amount: u64) -> Result<bool, StoreError> {
        let balance = self.accounts.get(pan)?.map_or(0, |a| a.balance_fen);
        Ok(i64::try_from(amount).is_ok_and(|amount| balance >= amount))
    }
}
