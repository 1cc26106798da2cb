//! Credits of an account by another entity of the mock world (the TSM's refund of the
//! electronic cash of a deleted card), idempotent by reference.
//!
//! [`Bank::credit`] adds `amount` fen to account `pan` under a caller-chosen `reference`. The
//! ledger entry (`bank.credits`, keyed by the reference) and the new balance are written under
//! the bank's lock (the one every debit takes), so no balance update is lost; the same
//! reference again answers the first credit without crediting twice; the same reference with
//! another account or amount is refused. A credit reaches even a blocked account (the money is
//! the cardholder's).

use super::Bank;
use crate::persist::StoreError;
use serde::{Deserialize, Serialize};
use std::sync::PoisonError;

/// A credit as the bank's ledger keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credit {
    /// The caller's reference (unique per credit).
    pub reference: String,
    /// The account credited.
    pub pan: String,
    /// Amount, fen.
    pub amount: u64,
    /// The account's balance right after this credit, fen.
    pub balance_after: i64,
}

/// A credit was refused.
#[derive(Debug, thiserror::Error)]
pub enum CreditError {
    /// No account with this card number.
    #[error("no such account")]
    UnknownAccount,
    /// The amount does not fit the account's balance.
    #[error("amount out of range")]
    AmountOutOfRange,
    /// The reference was already used for another account or amount.
    #[error("credit reference {0:?} already used for another credit")]
    ReferenceConflict(String),
    /// The bank's state could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Bank {
    /// Credits `amount` fen to account `pan` once per `reference` (see the [module](self)).
    pub fn credit(&self, pan: &str, amount: u64, reference: &str) -> Result<Credit, CreditError> {
        let _guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(done) = self.credits.get(reference)? {
            return if done.pan == pan && done.amount == amount {
                Ok(done)
            } else {
                Err(CreditError::ReferenceConflict(reference.to_owned()))
            };
        }
        let mut account = self.accounts.get(pan)?.ok_or(CreditError::UnknownAccount)?;
        let signed = i64::try_from(amount).map_err(|_| CreditError::AmountOutOfRange)?;
        account.balance_fen = account
            .balance_fen
            .checked_add(signed)
            .ok_or(CreditError::AmountOutOfRange)?;
        let credit = Credit {
            reference: reference.to_owned(),
            pan: pan.to_owned(),
            amount,
            balance_after: account.balance_fen,
        };
        // Ledger first: a crash between the writes loses the credit rather than crediting twice.
        self.credits.put(reference, &credit)?;
        self.accounts.put(pan, &account)?;
        Ok(credit)
    }

    /// The credit recorded under `reference`, if any.
    pub fn credit_of(&self, reference: &str) -> Result<Option<Credit>, StoreError> {
        self.credits.get(reference)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bank::test_cards::{BLOCKED, DEBIT};
    use crate::persist::Store;

    #[test]
    fn credits_once_per_reference() -> Result<(), Box<dyn std::error::Error>> {
        let store = Store::open(None)?;
        let bank = Bank::open(&store)?;
        let balance = |bank: &Bank| bank.account(DEBIT.pan).map(|a| a.map(|a| a.balance_fen));
        bank.debit(DEBIT.pan, 10_000, "load-1")?;
        let first = bank.credit(DEBIT.pan, 7_500, "refund-1")?;
        assert_eq!(first.balance_after, 1_234_567 - 2_500);
        // The same reference again: the first credit, no second one.
        assert_eq!(bank.credit(DEBIT.pan, 7_500, "refund-1")?, first);
        assert_eq!(balance(&bank)?, Some(1_234_567 - 2_500));
        assert_eq!(bank.credit_of("refund-1")?, Some(first));
        assert!(matches!(
            bank.credit(DEBIT.pan, 7_501, "refund-1"),
            Err(CreditError::ReferenceConflict(_))
        ));
        assert_eq!(balance(&bank)?, Some(1_234_567 - 2_500));
        assert!(matches!(
            bank.credit("6222029999999996", 1, "refund-2"),
            Err(CreditError::UnknownAccount)
        ));
        assert!(matches!(
            bank.credit(DEBIT.pan, u64::MAX, "refund-3"),
            Err(CreditError::AmountOutOfRange)
        ));
        assert_eq!(bank.credit_of("refund-2")?, None);
        // A blocked account is credited too.
        let blocked = bank.account(BLOCKED.pan)?.map(|a| a.balance_fen);
        let credit = bank.credit(BLOCKED.pan, 1, "refund-4")?;
        assert_eq!(Some(credit.balance_after - 1), blocked);
        Ok(())
    }
}
