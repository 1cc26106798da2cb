//! Reversals at the issuer: an approved online authorisation the card did not complete (an
//! e-cash load whose script the card refused, a card gone before the script) is undone by
//! crediting the account back.
//!
//! [`Issuer::reverse`] finds the debit recorded under the original authorisation id
//! ([`crate::bank::Bank::debit`] used it as the reference) → none: [`IssuerReversal::Unknown`];
//! the amount must be the debit's → else [`IssuerReversal::Mismatch`]; then the bank credits it
//! back once ([`crate::bank::Bank::reverse_debit`]): [`IssuerReversal::Reversed`] the first
//! time, [`IssuerReversal::AlreadyReversed`] after. The credit is logged in `issuer.decisions`
//! under the reversal id (kind `reversal`, code `00`, ATC `0`: no card took part). The e-cash the card may hold is
//! not touched: a card that refused the script never received it.

use super::{DecisionRecord, Issuer, IssuerError};
use crate::bank::debit::{DebitReversal, ReverseError, Reversed};
use crate::bank::validate::mask_pan;
use crate::state::AppState;
use wallet_core::backend::api::acquiring::ResponseCode;

/// The issuer's answer to a reversal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IssuerReversal {
    /// Credited back now.
    Reversed(DebitReversal),
    /// Credited back before: nothing more happened.
    AlreadyReversed(DebitReversal),
    /// No debit under the original authorisation id (never approved, or not by this issuer).
    Unknown,
    /// The amount is not the original's.
    Mismatch,
}

impl Issuer {
    /// Credits back the debit of authorisation `original_id` of `amount` fen, once; logs the
    /// decision under `reversal_id` at Unix time `now` (see the [module](self)).
    pub fn reverse(
        &self,
        world: &AppState,
        original_id: &str,
        amount: u64,
        reversal_id: &str,
        now: u64,
    ) -> Result<IssuerReversal, IssuerError> {
        let bank = world.bank();
        let Some(debit) = bank.debit_of(original_id)? else {
            return Ok(IssuerReversal::Unknown);
        };
        let answer = if debit.amount != amount {
            IssuerReversal::Mismatch
        } else {
            match bank.reverse_debit(original_id, reversal_id) {
                Ok(Reversed::Now(r)) => IssuerReversal::Reversed(r),
                Ok(Reversed::AlreadyReversed(r)) => IssuerReversal::AlreadyReversed(r),
                Err(ReverseError::UnknownDebit | ReverseError::UnknownAccount) => {
                    IssuerReversal::Unknown
                }
                Err(ReverseError::Store(err)) => return Err(err.into()),
            }
        };
        if let IssuerReversal::Reversed(_) = &answer {
            let masked_pan = mask_pan(&debit.pan);
            tracing::info!(%reversal_id, %original_id, %masked_pan, amount, "issuer reversal");
            self.decisions.put(
                reversal_id,
                &DecisionRecord {
                    kind: "reversal".to_owned(),
                    masked_pan,
                    atc: 0,
                    amount,
                    response_code: ResponseCode::Approved.to_string(),
                    at: now,
                },
            )?;
        }
        Ok(answer)
    }
}
