//! A card on a secure element, as the wallet records it.

use crate::backend::api::tsm::{CardLifeCycle, TsmCard};
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
    /// Locked by the TSM.
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
    }
}

/// Store namespace of [`SeCard`]s, keyed by `{binding_id}/{se_id}`.
pub(crate) const NS_CARDS: &str = "tsm.cards";

/// Store key of a card.
pub(crate) fn card_key(binding_id: &str, se_id: &str) -> String {
    format!("{binding_id}/{se_id}")
}
