//! What the TSM side remembers in sled: orders (with their status as the wallet sees it), the
//! cards it manages (one per SE and instance AID), every device PAN it ever issued (what the
//! issuer needs to check that card's cryptograms, kept after the card is deleted or replaced)
//! and, on the SE issuer's side, each SE's issuer security domain state (the sequence counter
//! it last saw, whether the payment SSD exists). Order nonces are remembered per binding.
//!
//! A card record also keeps the card's algorithm (`crypto`, SM4 for records written before
//! cards could be 3DES) and the public key of its SE payment applet's signing key
//! (`se_payment_key`, learnt at opening; absent in older records), and what became of its
//! e-cash when it was deleted (`ecash_refund`, [`EcashRefund`]; absent in older records).

use serde::{Deserialize, Serialize};
use std::sync::{Mutex, MutexGuard, PoisonError};
use wallet_core::backend::api::tsm::{
    CardLifeCycle, CardOperation, OrderSecureElement, OrderStatus, TsmCard,
};
use wallet_core::backend::api::AccountKind;
use wallet_core::card::CardCrypto;
use wallet_core::se::ReaderKind;

use super::SePaymentKey;
use crate::bank::validate::mask_pan;
use crate::persist::{Store, StoreError, Table};

/// The kind of an SE as stored (a serialisable [`ReaderKind`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SeKind {
    /// Embedded SE.
    Ese,
    /// SIM.
    Sim,
    /// microSD.
    Sd,
}

impl From<ReaderKind> for SeKind {
    fn from(kind: ReaderKind) -> SeKind {
        match kind {
            ReaderKind::Ese => SeKind::Ese,
            ReaderKind::Sim => SeKind::Sim,
            ReaderKind::Sd => SeKind::Sd,
        }
    }
}

impl From<SeKind> for ReaderKind {
    fn from(kind: SeKind) -> ReaderKind {
        match kind {
            SeKind::Ese => ReaderKind::Ese,
            SeKind::Sim => ReaderKind::Sim,
            SeKind::Sd => ReaderKind::Sd,
        }
    }
}

/// The SE issuer's record of one SE's issuer security domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeRecord {
    /// The SERAM `seId` (uppercase hex of the key diversification data).
    pub se_id: String,
    /// Its kind.
    pub kind: SeKind,
    /// The ISD sequence counter the SE last reported using (0 for a new SE: its first
    /// INITIALIZE UPDATE uses 1). A prediction is this plus one.
    pub last_counter: u32,
    /// Whether the payment SSD was created and given its keys (confirmed by the SE).
    pub ssd_ready: bool,
}

/// A card's life cycle in the TSM's books.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardState {
    /// An opening script may have run (fully, partly or not at all); not confirmed.
    Opening,
    /// Personalised and selectable, confirmed by the SE.
    Active,
    /// Locked, confirmed by the SE.
    Locked,
    /// Not on the SE: never installed, deleted, or removed after a failed opening (confirmed).
    Absent,
}

/// What became of the electronic cash of a card being deleted ([`super::refund`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state", content = "amount")]
pub enum EcashRefund {
    /// Read from the card (fen) by a delete order just before it deleted the instance: credited
    /// to the account once the SE confirms the deletion.
    Due(u64),
    /// Credited to the account (fen), once.
    Credited(u64),
    /// The instance was gone before a delete order could read its balance: the last balance
    /// the issuer knew (fen), kept for reconciliation and not credited automatically.
    Pending(u64),
}

/// The application provider's record of one card: one instance AID on one SE.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardRecord {
    /// The SE.
    pub se_id: String,
    /// The instance AID, uppercase hex.
    pub instance_aid: String,
    /// The binding the card draws on.
    pub binding_id: String,
    /// Identifies the opening that issued this card's data (the e-cash debit is keyed by it).
    pub opening_id: String,
    /// The account kind (decides the instance AID).
    pub account_kind: AccountKind,
    /// The device PAN issued for this card (never the account PAN).
    pub device_pan: String,
    /// PAN sequence number.
    pub pan_sequence: u8,
    /// Expiry, `YYMMDD`.
    pub expiry: String,
    /// Life cycle.
    pub state: CardState,
    /// The electronic cash loaded at opening (fen).
    pub initial_load: u64,
    /// E-cash balance after the last operation that read or set it.
    pub ecash_balance: Option<u64>,
    /// The algorithm of the card's cryptograms and of its signing key.
    #[serde(default = "default_crypto")]
    pub crypto: CardCrypto,
    /// The payment applet's remote-payment signing key, as the card reported it at opening.
    #[serde(default)]
    pub se_payment_key: Option<SePaymentKey>,
    /// The refund of the card's e-cash when it is deleted (absent in older records).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecash_refund: Option<EcashRefund>,
}

/// The algorithm of records written before cards could be 3DES.
fn default_crypto() -> CardCrypto {
    super::perso::CARD_CRYPTO
}

impl CardRecord {
    /// The table key of a card: `{SE_ID}/{AID}`.
    pub fn key_of(se_id: &str, instance_aid: &str) -> String {
        format!(
            "{}/{}",
            se_id.to_ascii_uppercase(),
            instance_aid.to_ascii_uppercase()
        )
    }

    /// This card's key.
    pub fn key(&self) -> String {
        Self::key_of(&self.se_id, &self.instance_aid)
    }

    /// The card as the wallet sees it (`None` while the opening is unconfirmed).
    pub fn view(&self) -> Option<TsmCard> {
        let life_cycle = match self.state {
            CardState::Opening => return None,
            CardState::Active => CardLifeCycle::Active,
            CardState::Locked => CardLifeCycle::Locked,
            CardState::Absent => CardLifeCycle::Deleted,
        };
        Some(TsmCard {
            instance_aid: self.instance_aid.clone(),
            masked_pan: mask_pan(&self.device_pan),
            life_cycle,
            ecash_balance: self.ecash_balance,
            ecash_refunded: match (self.state, self.ecash_refund) {
                (CardState::Absent, Some(EcashRefund::Credited(amount))) => Some(amount),
                _ => None,
            },
        })
    }
}

/// A device PAN as issued: the card it was issued for and the data its cryptograms depend on.
/// Written once, when the card record first carries the PAN; never changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevicePanRecord {
    /// The SE.
    pub se_id: String,
    /// The instance AID, uppercase hex.
    pub instance_aid: String,
    /// The binding the card draws on.
    pub binding_id: String,
    /// The account kind.
    pub account_kind: AccountKind,
    /// PAN sequence number.
    pub pan_sequence: u8,
    /// Expiry, `YYMMDD`.
    pub expiry: String,
    /// The algorithm of the card's cryptograms.
    pub crypto: CardCrypto,
}

/// An order: its public status and what the TSM needs to run it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderRecord {
    /// What the wallet sees.
    pub status: OrderStatus,
    /// The binding it was signed for.
    pub binding_id: String,
    /// The SE.
    pub se: OrderSecureElement,
    /// E-cash to load (open only), fen.
    pub initial_ecash_load: u64,
}

impl OrderRecord {
    /// The operation.
    pub fn operation(&self) -> CardOperation {
        self.status.operation
    }
}

/// The TSM side's tables. Read-modify-write sequences hold [`Records::lock`].
#[derive(Debug)]
pub struct Records {
    orders: Table<OrderRecord>,
    cards: Table<CardRecord>,
    device_pans: Table<DevicePanRecord>,
    ses: Table<SeRecord>,
    nonces: Table<u64>,
    lock: Mutex<()>,
}

impl Records {
    /// Opens the tables in `store`.
    pub fn open(store: &Store) -> Result<Records, StoreError> {
        Ok(Records {
            orders: store.table("tsm.orders")?,
            cards: store.table("tsm.cards")?,
            device_pans: store.table("tsm.device_pans")?,
            ses: store.table("tsm.ses")?,
            nonces: store.table("tsm.order_nonces")?,
            lock: Mutex::new(()),
        })
    }

    /// Serialises read-modify-write of orders, cards and SEs.
    pub fn lock(&self) -> MutexGuard<'_, ()> {
        self.lock.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The order `order_id`.
    pub fn order(&self, order_id: &str) -> Result<Option<OrderRecord>, StoreError> {
        self.orders.get(order_id)
    }

    /// Stores an order.
    pub fn put_order(&self, order: &OrderRecord) -> Result<(), StoreError> {
        self.orders.put(&order.status.order_id, order)
    }

    /// The card with instance `instance_aid` on `se_id`.
    pub fn card(&self, se_id: &str, instance_aid: &str) -> Result<Option<CardRecord>, StoreError> {
        self.cards.get(CardRecord::key_of(se_id, instance_aid))
    }

    /// Every card the TSM knows on `se_id`.
    pub fn cards_on(&self, se_id: &str) -> Result<Vec<CardRecord>, StoreError> {
        self.cards
            .scan_prefix(format!("{}/", se_id.to_ascii_uppercase()))
    }

    /// Stores a card (and, the first time its device PAN appears, that PAN's record with the
    /// card's algorithm).
    pub fn put_card(&self, card: &CardRecord) -> Result<(), StoreError> {
        let issued = DevicePanRecord {
            se_id: card.se_id.to_ascii_uppercase(),
            instance_aid: card.instance_aid.to_ascii_uppercase(),
            binding_id: card.binding_id.clone(),
            account_kind: card.account_kind,
            pan_sequence: card.pan_sequence,
            expiry: card.expiry.clone(),
            crypto: card.crypto,
        };
        self.device_pans.put_if_absent(&card.device_pan, &issued)?;
        self.cards.put(card.key(), card)
    }

    /// The record of device PAN `device_pan`, if this TSM issued it.
    pub fn device_pan(&self, device_pan: &str) -> Result<Option<DevicePanRecord>, StoreError> {
        self.device_pans.get(device_pan)
    }

    /// The SE issuer's record of `se_id`.
    pub fn se(&self, se_id: &str) -> Result<Option<SeRecord>, StoreError> {
        self.ses.get(se_id.to_ascii_uppercase())
    }

    /// Stores an SE record.
    pub fn put_se(&self, se: &SeRecord) -> Result<(), StoreError> {
        self.ses.put(se.se_id.to_ascii_uppercase(), se)
    }

    /// Remembers an order nonce of `binding_id`; `false` if it was seen before.
    pub fn remember_nonce(
        &self,
        binding_id: &str,
        nonce: &str,
        now: u64,
    ) -> Result<bool, StoreError> {
        self.nonces
            .put_if_absent(format!("{binding_id}/{}", nonce.to_ascii_lowercase()), &now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(state: CardState) -> CardRecord {
        CardRecord {
            se_id: "0a0b0c0d0e0f10111213".into(),
            instance_aid: "A000000333010101".into(),
            binding_id: "b".into(),
            opening_id: "o".into(),
            account_kind: AccountKind::Debit,
            device_pan: "6288880000000017".into(),
            pan_sequence: 1,
            expiry: "311231".into(),
            state,
            initial_load: 0,
            ecash_balance: Some(0),
            crypto: CardCrypto::Sm4,
            se_payment_key: None,
            ecash_refund: None,
        }
    }

    #[test]
    fn card_views_and_keys() {
        assert_eq!(card(CardState::Opening).view(), None);
        let view = card(CardState::Locked).view().unwrap();
        assert_eq!(view.life_cycle, CardLifeCycle::Locked);
        assert_eq!(view.masked_pan, "628888******0017");
        assert_eq!(view.ecash_refunded, None);
        let mut deleted = card(CardState::Absent);
        deleted.ecash_refund = Some(EcashRefund::Credited(2_500));
        assert_eq!(deleted.view().unwrap().ecash_refunded, Some(2_500));
        deleted.ecash_refund = Some(EcashRefund::Pending(2_500));
        assert_eq!(deleted.view().unwrap().ecash_refunded, None);
        let json = serde_json::to_value(EcashRefund::Due(7)).unwrap();
        assert_eq!(json, serde_json::json!({"state": "due", "amount": 7}));
        assert_eq!(
            card(CardState::Active).key(),
            "0A0B0C0D0E0F10111213/A000000333010101"
        );
    }

    #[test]
    fn tables_round_trip_and_nonces_are_single_use() -> Result<(), StoreError> {
        let store = Store::open(None)?;
        let records = Records::open(&store)?;
        let c = card(CardState::Active);
        records.put_card(&c)?;
        assert_eq!(
            records.card("0A0B0C0D0E0F10111213", "a000000333010101")?,
            Some(c.clone())
        );
        assert_eq!(records.cards_on("0a0b0c0d0e0f10111213")?, vec![c]);
        let issued = records.device_pan("6288880000000017")?.unwrap();
        assert_eq!(
            (
                issued.binding_id.as_str(),
                issued.pan_sequence,
                issued.crypto
            ),
            ("b", 1, CardCrypto::Sm4)
        );
        assert_eq!(issued.se_id, "0A0B0C0D0E0F10111213");
        assert_eq!(records.device_pan("6288880000000025")?, None);
        assert!(records.remember_nonce("b", "AB", 1)?);
        assert!(!records.remember_nonce("b", "ab", 2)?);
        assert!(records.remember_nonce("other", "ab", 2)?);
        Ok(())
    }

    /// A record stored before `crypto` and `se_payment_key` existed still reads.
    #[test]
    fn old_card_records_read_with_defaults() {
        let mut json = serde_json::to_value(card(CardState::Active)).unwrap();
        let object = json.as_object_mut().unwrap();
        object.remove("crypto");
        object.remove("se_payment_key");
        object.remove("ecash_refund");
        let old: CardRecord = serde_json::from_value(json).unwrap();
        assert_eq!(old, card(CardState::Active));
    }
}
