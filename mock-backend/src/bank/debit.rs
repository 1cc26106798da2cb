//! Debits of an account by another entity of the mock world (the issuer's online authorisations),
//! idempotent by reference.
//!
//! [`Bank::debit`] takes `amount` fen from account `pan` under a caller-chosen `reference` (e.g.
//! an authorisation id). The ledger entry (`bank.debits`, keyed by the reference) and the new
//! balance are written under the bank's lock, so concurrent debits of one account never lose an
//! update; the same reference again answers the first debit without charging twice; the same
//! reference with another account or amount is refused. Credit accounts are debited from their
//! available credit. Blocked accounts cannot be debited.
//!
//! [`Bank::reverse_debit`] credits a debit back, keyed by the debit's reference, exactly once:
//! the reversal is written into the debit's ledger entry (then the balance), so reversing again
//! answers the first reversal ([`Reversed::AlreadyReversed`]) without crediting twice, and a
//! debit that was reversed is never charged again under its reference. A reversal credits even
//! a blocked account (the money was the cardholder's).

use super::test_cards::AccountStatus;
use super::Bank;
use crate::persist::StoreError;
use serde::{Deserialize, Serialize};
use std::sync::PoisonError;

/// A debit as the bank's ledger keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Debit {
    /// The caller's reference (unique per debit).
    pub reference: String,
    /// The account debited.
    pub pan: String,
    /// Amount, fen.
    pub amount: u64,
    /// The account's balance right after this debit, fen.
    pub balance_after: i64,
    /// The reversal that credited this debit back, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reversal: Option<DebitReversal>,
}

/// The credit that undid a debit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DebitReversal {
    /// The caller's reference of the reversal.
    pub reference: String,
    /// The account's balance right after the credit, fen.
    pub balance_after: i64,
}

/// The answer of [`Bank::reverse_debit`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reversed {
    /// Credited back now.
    Now(DebitReversal),
    /// Credited back before (by the reversal in it): nothing more happened.
    AlreadyReversed(DebitReversal),
}

/// A reversal was refused.
#[derive(Debug, thiserror::Error)]
pub enum ReverseError {
    /// No debit under this reference.
    #[error("no debit with this reference")]
    UnknownDebit,
    /// The debited account no longer exists.
    #[error("the debited account no longer exists")]
    UnknownAccount,
    /// The bank's state could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A debit was refused.
#[derive(Debug, thiserror::Error)]
pub enum DebitError {
    /// No account with this card number.
    #[error("no such account")]
    UnknownAccount,
    /// The account is blocked.
    #[error("the account is blocked")]
    AccountBlocked,
    /// The balance (or available credit) does not cover the amount.
    #[error("insufficient funds")]
    InsufficientFunds,
    /// The reference was already used for another account or amount.
    #[error("debit reference {0:?} already used for another debit")]
    ReferenceConflict(String),
    /// The bank's state could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Bank {
    /// Debits `amount` fen from account `pan` once per `reference` (see the [module](self)).
    pub fn debit(&self, pan: &str, amount: u64, reference: &str) -> Result<Debit, DebitError> {
        let _guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(done) = self.debits.get(reference)? {
            return if done.pan == pan && done.amount == amount {
                Ok(done)
            } else {
                Err(DebitError::ReferenceConflict(reference.to_owned()))
            };
        }
        let mut account = self.accounts.get(pan)?.ok_or(DebitError::UnknownAccount)?;
        if account.status != AccountStatus::Active {
            return Err(DebitError::AccountBlocked);
        }
        let signed = i64::try_from(amount).map_err(|_| DebitError::InsufficientFunds)?;
        if account.balance_fen < signed {
            return Err(DebitError::InsufficientFunds);
        }
        account.balance_fen -= signed;
        let debit = Debit {
            reference: reference.to_owned(),
            pan: pan.to_owned(),
            amount,
            balance_after: account.balance_fen,
            reversal: None,
        };
        // Ledger first: a crash between the writes loses the debit rather than charging twice.
        self.debits.put(reference, &debit)?;
        self.accounts.put(pan, &account)?;
        Ok(debit)
    }

    /// Credits back the debit recorded under `debit_reference`, once; `reference` names the
    /// reversal (see the [module](self)).
    pub fn reverse_debit(
        &self,
        debit_reference: &str,
        reference: &str,
    ) -> Result<Reversed, ReverseError> {
        let _guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        let mut debit = self
            .debits
            .get(debit_reference)?
            .ok_or(ReverseError::UnknownDebit)?;
        if let Some(done) = debit.reversal {
            return Ok(Reversed::AlreadyReversed(done));
        }
        let mut account = self
            .accounts
            .get(&debit.pan)?
            .ok_or(ReverseError::UnknownAccount)?;
        // The amount fitted an i64 when it was debited.
        let signed = i64::try_from(debit.amount).unwrap_or(i64::MAX);
        account.balance_fen = account.balance_fen.saturating_add(signed);
        let reversal = DebitReversal {
            reference: reference.to_owned(),
            balance_after: account.balance_fen,
        };
        debit.reversal = Some(reversal.clone());
        // Ledger first: a crash between the writes loses the credit rather than crediting twice.
        self.debits.put(debit_reference, &debit)?;
        self.accounts.put(&debit.pan, &account)?;
        Ok(Reversed::Now(reversal))
    }

    /// The debit recorded under `reference`, if any.
    pub fn debit_of(&self, reference: &str) -> Result<Option<Debit>, StoreError> {
        self.debits.get(reference)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bank::test_cards::{BLOCKED, DEBIT};
    use crate::persist::Store;

    #[test]
    fn debits_once_per_reference() -> Result<(), Box<dyn std::error::Error>> {
        let store = Store::open(None)?;
        let bank = Bank::open(&store)?;
        let first = bank.debit(DEBIT.pan, 10_000, "auth-1")?;
        assert_eq!(first.balance_after, 1_234_567 - 10_000);
        // The same reference again: the first debit, no second charge.
        assert_eq!(bank.debit(DEBIT.pan, 10_000, "auth-1")?, first);
        assert_eq!(
            bank.account(DEBIT.pan)?.map(|a| a.balance_fen),
            Some(1_224_567)
        );
        assert!(matches!(
            bank.debit(DEBIT.pan, 10_001, "auth-1"),
            Err(DebitError::ReferenceConflict(_))
        ));
        assert!(matches!(
            bank.debit(DEBIT.pan, 1_224_568, "auth-2"),
            Err(DebitError::InsufficientFunds)
        ));
        // Exactly the balance is fine.
        assert_eq!(bank.debit(DEBIT.pan, 1_224_567, "auth-3")?.balance_after, 0);
        assert!(matches!(
            bank.debit(BLOCKED.pan, 1, "auth-4"),
            Err(DebitError::AccountBlocked)
        ));
        assert!(matches!(
            bank.debit("6222029999999996", 1, "auth-5"),
            Err(DebitError::UnknownAccount)
        ));
        assert_eq!(bank.debit_of("auth-2")?, None);
        Ok(())
    }

    #[test]
    fn reversals_credit_back_once() -> Result<(), Box<dyn std::error::Error>> {
        let store = Store::open(None)?;
        let bank = Bank::open(&store)?;
        let balance = |bank: &Bank| bank.account(DEBIT.pan).map(|a| a.map(|a| a.balance_fen));
        bank.debit(DEBIT.pan, 5_000, "auth-1")?;
        bank.debit(DEBIT.pan, 700, "auth-2")?;
        assert_eq!(balance(&bank)?, Some(1_234_567 - 5_700));
        let Reversed::Now(first) = bank.reverse_debit("auth-1", "rev-1")? else {
            panic!("first reversal");
        };
        assert_eq!(first.balance_after, 1_234_567 - 700);
        assert_eq!(balance(&bank)?, Some(1_234_567 - 700));
        // Again, under any reference: the first reversal, no second credit.
        assert_eq!(
            bank.reverse_debit("auth-1", "rev-other")?,
            Reversed::AlreadyReversed(first.clone())
        );
        assert_eq!(balance(&bank)?, Some(1_234_567 - 700));
        // The reversed debit is not charged again under its reference.
        let again = bank.debit(DEBIT.pan, 5_000, "auth-1")?;
        assert_eq!(again.reversal, Some(first));
        assert_eq!(balance(&bank)?, Some(1_234_567 - 700));
        assert!(matches!(
            bank.reverse_debit("auth-9", "rev-9"),
            Err(ReverseError::UnknownDebit)
        ));
        Ok(())
    }
}
