//! The electronic cash of a deleted card goes back to its account: the issuer redeems what the
//! card held when it was deleted.
//!
//! A delete order runs two batches ([`super::job`]):
//!
//! 1. *read*: the read-back (GET STATUS, SELECT, GET DATA 9F79). The card's balance is
//!    authoritative: it is recorded as [`EcashRefund::Due`] before anything is deleted. If the
//!    instance exists but answers no balance (a locked card cannot be selected), the order
//!    fails with [`failures::ECASH_UNREADABLE`] and nothing is deleted — a deletion never
//!    silently loses money; the wallet unlocks the card and deletes it again.
//! 2. *delete*: SELECT and GET DATA 9F79 again (so an offline purchase between the batches is
//!    accounted for), then the ISD's secure channel and DELETE. Once the SE confirms the
//!    deletion, the balance it read last is credited to the account ([`credit`]).
//!
//! Only a card the TSM confirmed (active or locked) was paid for from the account at opening;
//! an unconfirmed opening's instance is deleted with nothing to refund. The credit is keyed by
//! the card's opening ([`reference()`]): one refund per card, however many delete orders, retries
//! and restarted sessions it takes; a repeated credit answers the first one. When the instance
//! is already gone and no delete order ever read its balance (it vanished behind the TSM's
//! back), the last balance the issuer knew is recorded as [`EcashRefund::Pending`] for
//! reconciliation, not credited blindly.
//!
//! The balance travels as a plain R-APDU relayed by the phone (the payment applet answers
//! `GET DATA` only once selected, outside the ISD's secure channel), so a reading above the
//! card's e-cash balance limit ([`ECASH_BALANCE_LIMIT`], which the card itself enforces) is
//! not a balance the card can hold: it counts as no reading ([`plausible`]).
//!
//! The refund is not a clearing entry: like the opening's load (a debit of the same issuer's
//! account), it moves money between the cardholder's account and the e-cash the issuer holds
//! for the card, with no acquirer involved.

use wallet_core::backend::api::tsm::failures;

use super::error::TsmError;
use super::job::JobEnv;
use super::perso::ECASH_BALANCE_LIMIT;
use super::records::{CardRecord, CardState, EcashRefund};

/// The bank reference of the refund of `card`'s e-cash: one per card (opening).
pub fn reference(card: &CardRecord) -> String {
    format!("tsm-ecash-refund:{}", card.opening_id)
}

/// Whether the card's e-cash was paid for from the account: the TSM confirmed the card (the
/// opening's load is debited at confirmation), or a delete order already found a balance due.
pub fn owed(card: &CardRecord) -> bool {
    matches!(card.state, CardState::Active | CardState::Locked)
        || matches!(card.ecash_refund, Some(EcashRefund::Due(_)))
}

/// `balance` if a card personalised by this TSM can hold it (within its e-cash balance limit).
pub fn plausible(balance: Option<u64>) -> Option<u64> {
    balance.filter(|&amount| amount <= ECASH_BALANCE_LIMIT)
}

/// Why a deletion is refused when the instance exists but answered no balance.
pub fn unreadable(locked: bool) -> (&'static str, &'static str) {
    let message = if locked {
        "the card is locked, so its electronic cash balance cannot be read: unlock it, then \
         delete it (nothing was deleted)"
    } else {
        "the card's electronic cash balance cannot be read: nothing was deleted, so that no \
         e-cash is lost"
    };
    (failures::ECASH_UNREADABLE, message)
}

/// What becomes of `card`'s e-cash now that its instance is gone from the SE, `read` being
/// the balance the card answered just before its deletion (if it did).
pub fn settle(
    env: &JobEnv<'_>,
    card: &CardRecord,
    read: Option<u64>,
) -> Result<Option<EcashRefund>, TsmError> {
    if let Some(EcashRefund::Credited(amount)) = card.ecash_refund {
        return Ok(Some(EcashRefund::Credited(amount)));
    }
    if !owed(card) {
        return Ok(None);
    }
    let due = match card.ecash_refund {
        Some(EcashRefund::Due(amount)) => Some(amount),
        _ => None,
    };
    match read.or(due) {
        Some(amount) => Ok(Some(EcashRefund::Credited(credit(env, card, amount)?))),
        None => {
            let last_known = card.ecash_balance.unwrap_or(card.initial_load);
            tracing::warn!(
                se_id = %card.se_id,
                aid = %card.instance_aid,
                last_known,
                "card gone before its e-cash balance was read: refund pending reconciliation"
            );
            Ok(Some(EcashRefund::Pending(last_known)))
        }
    }
}

/// Credits `amount` fen back to `card`'s account, once per card: an earlier credit under the
/// card's reference (a retried or repeated delete order) is answered instead. Returns the
/// amount credited.
pub fn credit(env: &JobEnv<'_>, card: &CardRecord, amount: u64) -> Result<u64, TsmError> {
    let reference = reference(card);
    if let Some(done) = env.ledger.credit_of(&reference)? {
        return Ok(done.amount);
    }
    if amount == 0 {
        return Ok(0);
    }
    let pan = env
        .bank
        .pan_of(&card.binding_id)?
        .ok_or_else(|| TsmError::Internal("the binding of a card vanished".into()))?;
    let credit = env
        .ledger
        .credit(&pan, amount, &reference)
        .map_err(|e| TsmError::Internal(format!("e-cash refund credit: {e}")))?;
    tracing::info!(se_id = %card.se_id, aid = %card.instance_aid, amount, "e-cash refunded to the account");
    Ok(credit.amount)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bank::test_cards::DEBIT;
    use crate::bank::Bank;
    use crate::persist::Store;
    use crate::tsm::bank_link::BankLink;
    use crate::tsm::records::Records;
    use wallet_core::backend::api::AccountKind;
    use wallet_core::card::CardCrypto;

    struct World {
        records: Records,
        link: BankLink,
        bank: Bank,
    }

    impl World {
        fn new() -> World {
            let store = Store::open(None).unwrap();
            World {
                records: Records::open(&store).unwrap(),
                link: BankLink::open(&store).unwrap(),
                bank: Bank::open(&store).unwrap(),
            }
        }

        fn env(&self) -> JobEnv<'_> {
            JobEnv {
                records: &self.records,
                bank: &self.link,
                ledger: &self.bank,
                now: 0,
            }
        }
    }

    fn card(state: CardState, refund: Option<EcashRefund>) -> CardRecord {
        CardRecord {
            se_id: "00".into(),
            instance_aid: "A000000333010106".into(),
            // Unknown to the bank: a test that credits must not reach the account lookup.
            binding_id: "no-such-binding".into(),
            opening_id: "o1".into(),
            account_kind: AccountKind::ECash,
            device_pan: "6288880000000017".into(),
            pan_sequence: 1,
            expiry: "311231".into(),
            state,
            initial_load: 1_000,
            ecash_balance: Some(900),
            crypto: CardCrypto::Sm4,
            se_payment_key: None,
            ecash_refund: refund,
        }
    }

    #[test]
    fn what_is_owed_and_what_is_not() {
        let world = World::new();
        let env = world.env();
        // An unconfirmed opening was never paid for.
        assert_eq!(
            settle(&env, &card(CardState::Opening, None), Some(1_000)).unwrap(),
            None
        );
        // Gone without a reading: pending with the last balance known, nothing credited.
        assert_eq!(
            settle(&env, &card(CardState::Active, None), None).unwrap(),
            Some(EcashRefund::Pending(900))
        );
        // Already credited: stays so.
        let credited = card(CardState::Absent, Some(EcashRefund::Credited(5)));
        assert_eq!(
            settle(&env, &credited, Some(7)).unwrap(),
            Some(EcashRefund::Credited(5))
        );
        // An empty card: credited 0 without touching the bank.
        assert_eq!(
            settle(&env, &card(CardState::Locked, None), Some(0)).unwrap(),
            Some(EcashRefund::Credited(0))
        );
        assert!(owed(&card(CardState::Absent, Some(EcashRefund::Due(1)))));
        assert_eq!(
            plausible(Some(ECASH_BALANCE_LIMIT)),
            Some(ECASH_BALANCE_LIMIT)
        );
        assert_eq!(plausible(Some(ECASH_BALANCE_LIMIT + 1)), None);
        assert_eq!(plausible(None), None);
        assert!(!owed(&card(CardState::Absent, None)));
    }

    #[test]
    fn an_earlier_credit_is_answered_not_repeated() {
        let world = World::new();
        let env = world.env();
        let c = card(CardState::Active, Some(EcashRefund::Due(600)));
        world.bank.credit(DEBIT.pan, 600, &reference(&c)).unwrap();
        let before = world.bank.account(DEBIT.pan).unwrap().unwrap().balance_fen;
        // The card answered another balance this time: the first credit stands.
        assert_eq!(
            settle(&env, &c, Some(550)).unwrap(),
            Some(EcashRefund::Credited(600))
        );
        let after = world.bank.account(DEBIT.pan).unwrap().unwrap().balance_fen;
        assert_eq!(before, after);
        assert_eq!(reference(&c), "tsm-ecash-refund:o1");
    }
}
