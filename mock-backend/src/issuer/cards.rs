//! What the issuer remembers per card (PAN and PSN): the ATCs whose cryptograms it accepted and
//! the offline e-cash spent.
//!
//! Replay rules:
//! - an ATC is remembered only once its cryptogram verified (garbage cannot burn a card's ATCs);
//! - any ATC already remembered is a **replay** (online or offline);
//! - an online ARQC whose ATC is not greater than the last online ATC is **stale**: the card
//!   persists every ATC before it answers and never reuses one, and an online cryptogram is sent
//!   to the issuer while the card is still in front of the terminal, so an older ARQC arriving
//!   after a newer one was authorised is a captured cryptogram played back (a lost authorisation
//!   is retried with its idempotency key, which replays the first answer instead);
//! - offline TCs arrive later, in batches, in any order relative to online transactions: only
//!   uniqueness is required of them.

use serde::{Deserialize, Serialize};

/// The issuer's memory of one card.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardState {
    /// ATC of the last accepted online cryptogram.
    pub last_online_atc: Option<u16>,
    /// Every ATC whose cryptogram was accepted, ascending.
    pub used_atcs: Vec<u16>,
    /// Offline e-cash spent with TCs accepted from advices, fen.
    pub ecash_spent: u64,
    /// Number of offline TCs accepted.
    pub offline_count: u64,
}

/// Whether an ATC may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AtcCheck {
    /// Never seen: acceptable.
    Fresh,
    /// Already used by an accepted cryptogram.
    Replayed,
    /// An online ATC not above the last online one.
    Stale {
        /// The last online ATC.
        last_online: u16,
    },
}

impl CardState {
    /// The table key of card `pan` / `psn`.
    pub fn key(pan: &str, psn: u8) -> String {
        format!("{pan}/{psn:02}")
    }

    fn used(&self, atc: u16) -> bool {
        self.used_atcs.binary_search(&atc).is_ok()
    }

    /// Checks the ATC of an online ARQC.
    pub fn check_online(&self, atc: u16) -> AtcCheck {
        if self.used(atc) {
            return AtcCheck::Replayed;
        }
        match self.last_online_atc {
            Some(last) if atc <= last => AtcCheck::Stale { last_online: last },
            _ => AtcCheck::Fresh,
        }
    }

    /// Checks the ATC of an offline TC.
    pub fn check_offline(&self, atc: u16) -> AtcCheck {
        if self.used(atc) {
            AtcCheck::Replayed
        } else {
            AtcCheck::Fresh
        }
    }

    fn remember(&mut self, atc: u16) {
        if let Err(at) = self.used_atcs.binary_search(&atc) {
            self.used_atcs.insert(at, atc);
        }
    }

    /// Remembers an accepted online ATC.
    pub fn accept_online(&mut self, atc: u16) {
        self.remember(atc);
        self.last_online_atc = Some(self.last_online_atc.map_or(atc, |last| last.max(atc)));
    }

    /// Remembers an accepted offline TC of `amount` fen.
    pub fn accept_offline(&mut self, atc: u16, amount: u64) {
        self.remember(atc);
        self.ecash_spent = self.ecash_spent.saturating_add(amount);
        self.offline_count = self.offline_count.saturating_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn online_atcs_must_increase_and_never_repeat() {
        let mut card = CardState::default();
        assert_eq!(card.check_online(5), AtcCheck::Fresh);
        card.accept_online(5);
        assert_eq!(card.check_online(5), AtcCheck::Replayed);
        assert_eq!(card.check_online(4), AtcCheck::Stale { last_online: 5 });
        assert_eq!(card.check_online(6), AtcCheck::Fresh);
        // Offline TCs below the last online ATC are fine (uploaded later), once.
        assert_eq!(card.check_offline(3), AtcCheck::Fresh);
        card.accept_offline(3, 100);
        card.accept_offline(1, 50);
        assert_eq!(card.check_offline(3), AtcCheck::Replayed);
        assert_eq!(card.check_offline(5), AtcCheck::Replayed);
        assert_eq!(card.check_online(3), AtcCheck::Replayed);
        assert_eq!(card.used_atcs, [1, 3, 5]);
        assert_eq!((card.ecash_spent, card.offline_count), (150, 2));
        // An offline TC above the last online ATC does not move it.
        card.accept_offline(9, 1);
        assert_eq!(card.last_online_atc, Some(5));
        assert_eq!(card.check_online(7), AtcCheck::Fresh);
        assert_eq!(CardState::key("6222021234567894", 1), "6222021234567894/01");
    }
}
