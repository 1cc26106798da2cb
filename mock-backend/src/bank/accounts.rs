//! The bank's accounts as stored: seeded from [`super::test_cards`] on first start.

use super::test_cards::{AccountStatus, TestCard};
use serde::{Deserialize, Serialize};
use wallet_core::backend::api::AccountKind;

/// A card account at the bank.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// Card number (digits only).
    pub pan: String,
    /// Holder's name as on file.
    pub holder_name: String,
    /// Holder's resident ID number.
    pub id_number: String,
    /// Mobile number on file (11 digits).
    pub phone: String,
    /// Kind of account.
    pub kind: AccountKind,
    /// Balance in fen (credit cards: available credit).
    pub balance_fen: i64,
    /// Issuing bank.
    pub issuer_name: String,
    /// Whether the card can be bound.
    pub status: AccountStatus,
}

impl From<&TestCard> for Account {
    fn from(card: &TestCard) -> Self {
        Self {
            pan: card.pan.to_owned(),
            holder_name: card.holder_name.to_owned(),
            id_number: card.id_number.to_owned(),
            phone: card.phone.to_owned(),
            kind: card.kind,
            balance_fen: card.balance_fen,
            issuer_name: card.issuer_name.to_owned(),
            status: card.status,
        }
    }
}
