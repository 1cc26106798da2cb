//! A card on a secure element, as the wallet records it.

use crate::backend::api::tsm::{CardLifeCycle, CardOperation, TsmCard};
use crate::se::ReaderKind;
use serde::{Deserialize, Serialize};

/// Where a card on an SE stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardState {
    /// An opening was started and has not been confirmed by the TSM: not usable.
    Opening,
    /// Installed, personalised, selectable: usable.
    Active,
    /// Locked by the TSM — or a lock or a deletion was ordered and the TSM has not confirmed
    /// it yet (the SE may already have carried it out): not usable either way.
    Locked,
    /// Deleted from the SE.
    Deleted,
}

impl From<CardLifeCycle> for CardState {
    fn from(l: CardLifeCycle) -> Self {
        match l {
            CardLifeCycle::Active => CardState::Active,
            CardLifeCycle::Locked => CardState::Locked,
            CardLifeCycle::Deleted => CardState::Deleted,
        }
    }
}

/// A payment card in a secure element.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeCard {
    /// The binding (bank account) the card draws on.
    pub binding_id: String,
    /// OMAPI reader name of the SE (`eSE1`, `SIM1`, `SD1`…).
    pub reader: String,
    /// Kind of the SE.
    pub reader_kind: Option<ReaderKind>,
    /// SERAM `seId` of the SE.
    pub se_id: String,
    /// Instance AID of the payment application, uppercase hex (empty until known).
    pub instance_aid: String,
    /// The card's (device) PAN, masked (empty until known).
    pub masked_pan: String,
    /// Where it stands.
    pub state: CardState,
    /// Electronic cash balance in fen, as last read.
    pub ecash_balance: Option<u64>,
    /// Electronic cash in fen the issuer credited back to the account when the card was
    /// deleted (set by the TSM's answer to the deletion; `None` otherwise, and for records
    /// written before refunds were reported).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecash_refunded: Option<u64>,
    /// The TSM order that last changed it.
    pub last_order_id: String,
    /// HTTP round trips of the last SERAM session (handshake included).
    pub last_round_trips: u32,
    /// Unix time (seconds) of the last change.
    pub updated_at: u64,
}

impl SeCard {
    /// Applies what the TSM says about the card.
    pub(crate) fn apply(&mut self, card: &TsmCard) {
        self.instance_aid = card.instance_aid.clone();
        self.masked_pan = card.masked_pan.clone();
        self.state = card.life_cycle.into();
        if card.ecash_balance.is_some() {
            self.ecash_balance = card.ecash_balance;
        }
        // What the TSM says of the refund is for this card as it now stands: reported on a
        // deletion, absent from any other answer (a card opened again has refunded nothing).
        self.ecash_refunded = card.ecash_refunded;
        if card.ecash_refunded.is_some() {
            // The card's e-cash went back to the account with its deletion.
            self.ecash_balance = None;
        }
    }
}

/// Store namespace of [`SeCard`]s, keyed by `{binding_id}/{se_id}`.
pub(crate) const NS_CARDS: &str = "tsm.cards";

/// Store key of a card.
pub(crate) fn card_key(binding_id: &str, se_id: &str) -> String {
    format!("{binding_id}/{se_id}")
}

/// An order the TSM accepted whose outcome the wallet has not recorded yet. Written (durably)
/// as soon as the order is accepted and removed once its outcome is in the card record, so
/// that an operation interrupted after that point — a lost answer, a crash, a session cut
/// short — first learns how the order ended instead of ordering again blindly (the TSM would
/// refuse to open a card it already opened, or to lock a card it already locked).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PendingOrder {
    /// The TSM's order id.
    pub(crate) order_id: String,
    /// What it does.
    pub(crate) operation: CardOperation,
    /// The card's state before the order marked it (a lock or deletion marks the card locked
    /// until the TSM confirms): restored if the order fails.
    #[serde(default)]
    pub(crate) prior_state: Option<CardState>,
}

/// Store namespace of [`PendingOrder`]s, keyed like [`NS_CARDS`].
pub(crate) const NS_PENDING_ORDERS: &str = "tsm.pending_orders";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pending_order_round_trips_and_defaults_to_no_mark() {
        let order = PendingOrder {
            order_id: "o1".into(),
            operation: CardOperation::Delete,
            prior_state: Some(CardState::Active),
        };
        let json = serde_json::to_string(&order).unwrap();
        assert_eq!(serde_json::from_str::<PendingOrder>(&json).unwrap(), order);
        let unmarked: PendingOrder =
            serde_json::from_str(r#"{"order_id":"o2","operation":"open"}"#).unwrap();
        assert_eq!(unmarked.prior_state, None);
        assert_eq!(unmarked.operation, CardOperation::Open);
    }

    #[test]
    fn the_tsm_view_decides_the_state() {
        let mut card = SeCard {
            binding_id: "b".into(),
            reader: "eSE1".into(),
            reader_kind: Some(ReaderKind::Ese),
            se_id: "SE".into(),
            instance_aid: String::new(),
            masked_pan: String::new(),
            state: CardState::Locked,
            ecash_balance: Some(5),
            ecash_refunded: None,
            last_order_id: String::new(),
            last_round_trips: 0,
            updated_at: 0,
        };
        card.apply(&TsmCard {
            instance_aid: "A000000333010101".into(),
            masked_pan: "628888******0001".into(),
            life_cycle: CardLifeCycle::Deleted,
            ecash_balance: None,
            ecash_refunded: None,
        });
        assert_eq!(card.state, CardState::Deleted);
        assert_eq!(card.ecash_balance, Some(5), "a balance not read is kept");
        assert_eq!(card.ecash_refunded, None);
        assert_eq!(card_key("b", "SE"), "b/SE");
    }

    #[test]
    fn a_refunded_deletion_clears_the_balance() {
        let mut card = SeCard {
            binding_id: "b".into(),
            reader: "SIM1".into(),
            reader_kind: Some(ReaderKind::Sim),
            se_id: "SE".into(),
            instance_aid: "A000000333010106".into(),
            masked_pan: "628888******0001".into(),
            state: CardState::Locked,
            ecash_balance: Some(2_500),
            ecash_refunded: None,
            last_order_id: String::new(),
            last_round_trips: 0,
            updated_at: 0,
        };
        let deleted = TsmCard {
            instance_aid: card.instance_aid.clone(),
            masked_pan: card.masked_pan.clone(),
            life_cycle: CardLifeCycle::Deleted,
            ecash_balance: None,
            ecash_refunded: Some(2_000),
        };
        card.apply(&deleted);
        assert_eq!(
            (card.state, card.ecash_balance, card.ecash_refunded),
            (CardState::Deleted, None, Some(2_000))
        );
        // Opened again: the new card has refunded nothing.
        card.apply(&TsmCard {
            life_cycle: CardLifeCycle::Active,
            ecash_balance: Some(1_000),
            ecash_refunded: None,
            ..deleted
        });
        assert_eq!(
            (card.state, card.ecash_balance, card.ecash_refunded),
            (CardState::Active, Some(1_000), None)
        );
        // A record written before refunds were reported still reads.
        let mut json = serde_json::to_value(&card).unwrap();
        json.as_object_mut().unwrap().remove("ecash_refunded");
        assert_eq!(serde_json::from_value::<SeCard>(json).unwrap(), card);
    }
}
