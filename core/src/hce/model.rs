//! What HCE keeps in the store and what it shows: the token's card record, the key state
//! (counters and limited-use keys, updated in one durable write per cryptogram), the card as the
//! app shows it, and the settings.
//!
//! Store layout (every value sealed by [`crate::store::Store`]):
//!
//! | namespace | key | value |
//! |---|---|---|
//! | `hce.cards` | binding id | [`HceCardRecord`]: token id, profile (no key) |
//! | `hce.keys` | binding id | [`KeyState`]: ATC and other counters, live keys with their use counts, the highest key index received, the replenishment in flight |
//! | `hce.pending_open` | binding id | [`PendingOpen`]: the signed provisioning request and its idempotency key, until answered |
//! | `hce.meta` | `default` | binding id of the card the HostApduService answers with |

use serde::{Deserialize, Serialize};
use std::sync::Arc;
use zeroize::Zeroizing;

use crate::backend::api::hce::{
    hex_key, mask, HceCardRequest, HceProfile, KeyBatchRequest, LimitedUseKey,
};
use crate::backend::api::AccountKind;
use crate::backend::client::IdempotencyKey;
use crate::card::{CardCounters, CardCrypto, CounterStoreError};
use crate::hce::luk::LukIndex;

/// Namespace of [`HceCardRecord`]s.
pub(crate) const NS_CARDS: &str = "hce.cards";
/// Namespace of [`KeyState`]s.
pub(crate) const NS_KEYS: &str = "hce.keys";
/// Namespace of [`PendingOpen`]s.
pub(crate) const NS_PENDING_OPEN: &str = "hce.pending_open";
/// Namespace of HCE settings.
pub(crate) const NS_META: &str = "hce.meta";
/// Key of the default card's binding id in [`NS_META`].
pub(crate) const KEY_DEFAULT: &str = "default";

/// A token provisioned for a binding: what the card application is personalised with, minus
/// the keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HceCardRecord {
    /// The token service's identifier of the token.
    pub token_id: String,
    /// The binding the token belongs to.
    pub binding_id: String,
    /// The card data.
    pub profile: HceProfile,
    /// Unix time (seconds) the card was provisioned.
    pub created_at: u64,
}

/// A limited-use key as the wallet keeps it: the grant plus how often it has served.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredKey {
    /// Key index (the DKI of `9F10`).
    pub index: LukIndex,
    /// `LUK_i`.
    #[serde(with = "hex_key")]
    pub key: Zeroizing<[u8; 16]>,
    /// Transactions the key may serve.
    pub max_uses: u32,
    /// Transactions it has served (each one persisted before its cryptogram left).
    pub uses: u32,
    /// Unix time (seconds) after which it must not be used.
    pub expires_at: u64,
}

impl std::fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredKey")
            .field("index", &self.index)
            .field("uses", &self.uses)
            .field("max_uses", &self.max_uses)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl StoredKey {
    /// Whether the key may serve one more transaction at `now`.
    pub fn usable(&self, now: u64) -> bool {
        self.uses < self.max_uses && now < self.expires_at
    }
}

/// A replenishment request in flight: sent again unchanged (same idempotency key, same body)
/// until the token service answers, so it is applied at most once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingBatch {
    /// The request's idempotency key.
    pub idempotency_key: IdempotencyKey,
    /// The signed request.
    pub request: KeyBatchRequest,
}

/// A provisioning request in flight (see [`PendingBatch`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingOpen {
    /// The request's idempotency key.
    pub idempotency_key: IdempotencyKey,
    /// The signed request.
    pub request: HceCardRequest,
}

/// Why a cryptogram may not be computed with a key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConsumeError {
    /// The key is not (any more) in the state: spent, expired and pruned, or never received.
    #[error("limited-use key {0} is not available")]
    UnknownKey(LukIndex),
    /// The key has served its transactions or has expired.
    #[error("limited-use key {0} is spent or expired")]
    KeyNotUsable(LukIndex),
    /// The new ATC does not follow the stored one (it would repeat a session key).
    #[error("the ATC must increase")]
    AtcNotIncreasing,
    /// No key state for this card.
    #[error("no key state for this card")]
    NoState,
    /// The store failed.
    #[error("store: {0}")]
    Store(String),
}

impl From<crate::store::StoreError> for ConsumeError {
    fn from(e: crate::store::StoreError) -> Self {
        ConsumeError::Store(e.to_string())
    }
}

/// The key state of one HCE card: updated only with [`crate::store::Store::update_durable`], so
/// the ATC and the use count of the key that serves a transaction reach stable storage together,
/// before the cryptogram is computed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyState {
    /// The token the keys belong to.
    pub token_id: String,
    /// The card's counters as last persisted.
    pub counters: CardCounters,
    /// Keys that may still serve, by increasing index (spent and expired keys are dropped).
    pub keys: Vec<StoredKey>,
    /// Highest key index ever received: a key at or below it is never taken again, so a
    /// replayed batch cannot bring back a spent key.
    pub last_index: LukIndex,
    /// The replenishment in flight, if any.
    pub pending: Option<PendingBatch>,
}

impl KeyState {
    /// A new card's state: initial counters, no keys.
    pub fn new(token_id: &str, counters: CardCounters) -> KeyState {
        KeyState {
            token_id: token_id.to_owned(),
            counters,
            keys: Vec::new(),
            last_index: 0,
            pending: None,
        }
    }

    /// The key a transaction at `now` uses: the usable key of lowest index.
    pub fn current(&self, now: u64) -> Option<&StoredKey> {
        self.keys.iter().find(|k| k.usable(now))
    }

    /// Transactions the usable keys can still serve at `now`.
    pub fn transactions_left(&self, now: u64) -> u32 {
        self.keys
            .iter()
            .filter(|k| k.usable(now))
            .map(|k| k.max_uses - k.uses)
            .fold(0u32, u32::saturating_add)
    }

    /// Number of usable keys at `now`.
    pub fn usable_keys(&self, now: u64) -> u32 {
        let n = self.keys.iter().filter(|k| k.usable(now)).count();
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    /// Takes the keys of a batch whose index is above every index received so far; returns how
    /// many were taken.
    pub fn merge(&mut self, batch: &[LimitedUseKey], now: u64) -> usize {
        let mut added = 0;
        for grant in batch {
            if grant.index <= self.last_index || grant.max_uses == 0 {
                continue;
            }
            self.last_index = grant.index;
            self.keys.push(StoredKey {
                index: grant.index,
                key: grant.key.clone(),
                max_uses: grant.max_uses,
                uses: 0,
                expires_at: grant.expires_at,
            });
            added += 1;
        }
        self.keys.sort_by_key(|k| k.index);
        self.prune(now);
        added
    }

    /// Counts one transaction of key `index` with the card's `next` counters (the ATC must
    /// increase), then drops spent and expired keys.
    pub fn consume(
        &mut self,
        index: LukIndex,
        next: CardCounters,
        now: u64,
    ) -> Result<(), ConsumeError> {
        if next.atc <= self.counters.atc {
            return Err(ConsumeError::AtcNotIncreasing);
        }
        let key = self
            .keys
            .iter_mut()
            .find(|k| k.index == index)
            .ok_or(ConsumeError::UnknownKey(index))?;
        if !key.usable(now) {
            return Err(ConsumeError::KeyNotUsable(index));
        }
        key.uses += 1;
        self.counters = next;
        self.prune(now);
        Ok(())
    }

    /// Drops the keys that can no longer serve (their bytes are zeroized on drop).
    pub fn prune(&mut self, now: u64) {
        self.keys.retain(|k| k.usable(now));
    }
}

/// Why the reader stopped talking to the card (Android `HostApduService.onDeactivated`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeactivationReason {
    /// The NFC link was lost (`DEACTIVATION_LINK_LOSS`, 0).
    LinkLoss,
    /// The reader selected another AID (`DEACTIVATION_DESELECTED`, 1).
    Deselected,
}

impl DeactivationReason {
    /// The reason of Android's integer constant (anything but 1 is a link loss).
    pub fn from_android(reason: i32) -> DeactivationReason {
        match reason {
            1 => DeactivationReason::Deselected,
            _ => DeactivationReason::LinkLoss,
        }
    }
}

/// An HCE card as the app shows it. Never holds the full token PAN or a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HceCardInfo {
    /// The binding (bank account) the card draws on.
    pub binding_id: String,
    /// The token service's identifier of the token.
    pub token_id: String,
    /// The token PAN masked to first 6 and last 4 digits.
    pub masked_token_pan: String,
    /// Kind of the account.
    pub account_kind: AccountKind,
    /// Token expiry, `YYMMDD`.
    pub expiry: String,
    /// Algorithm of the token's cryptograms.
    pub crypto: CardCrypto,
    /// ATC of the last transaction.
    pub atc: u16,
    /// Limited-use keys that can still serve.
    pub usable_keys: u32,
    /// Transactions those keys can still serve.
    pub transactions_left: u32,
    /// Whether a replenishment request is in flight (sent, answer not yet applied).
    pub replenishment_pending: bool,
    /// Whether the HostApduService answers with this card.
    pub is_default: bool,
}

impl HceCardInfo {
    /// The card `record` with its key `state` at `now`.
    pub fn new(record: &HceCardRecord, state: &KeyState, now: u64, is_default: bool) -> Self {
        HceCardInfo {
            binding_id: record.binding_id.clone(),
            token_id: record.token_id.clone(),
            masked_token_pan: mask(&record.profile.token_pan),
            account_kind: record.profile.account_kind,
            expiry: record.profile.expiry.clone(),
            crypto: record.profile.crypto,
            atc: state.counters.atc,
            usable_keys: state.usable_keys(now),
            transactions_left: state.transactions_left(now),
            replenishment_pending: state.pending.is_some(),
            is_default,
        }
    }
}

/// A clock: Unix seconds.
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;
/// Called with the next counters before each durable counter write; an error aborts the write
/// (and the card answers `6581`, no cryptogram).
pub type CounterWriteHook =
    Arc<dyn Fn(&CardCounters) -> Result<(), CounterStoreError> + Send + Sync>;

/// HCE settings.
#[derive(Clone)]
pub struct HceConfig {
    /// Replenish when the usable keys can serve fewer transactions than this.
    pub replenish_below: u32,
    /// Keys asked for at provisioning and per replenishment (kept within 1 to 16).
    pub batch_size: u32,
    /// The clock key expiry is judged by (default: system time).
    pub clock: Clock,
    /// Fault-injection and observation seam for tests: runs before every counter write.
    pub before_counter_write: Option<CounterWriteHook>,
}

impl Default for HceConfig {
    /// Replenish below 5 transactions, 4 keys per batch, system time, no hook.
    fn default() -> Self {
        HceConfig {
            replenish_below: 5,
            batch_size: 4,
            clock: Arc::new(crate::clock::unix_now),
            before_counter_write: None,
        }
    }
}

impl std::fmt::Debug for HceConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HceConfig")
            .field("replenish_below", &self.replenish_below)
            .field("batch_size", &self.batch_size)
            .field("before_counter_write", &self.before_counter_write.is_some())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(index: u8, max_uses: u32, expires_at: u64) -> LimitedUseKey {
        LimitedUseKey {
            index,
            key: Zeroizing::new([index; 16]),
            max_uses,
            issued_at: 0,
            expires_at,
        }
    }

    fn counters(atc: u16) -> CardCounters {
        CardCounters {
            atc,
            last_online_atc: atc,
            ecash_balance: None,
        }
    }

    #[test]
    fn keys_serve_in_index_order_until_spent_and_never_come_back() {
        let mut state = KeyState::new("t", counters(0));
        assert_eq!(state.merge(&[grant(1, 2, 100), grant(2, 2, 100)], 0), 2);
        assert_eq!(state.transactions_left(0), 4);
        assert_eq!(state.current(0).map(|k| k.index), Some(1));
        state.consume(1, counters(1), 0).unwrap();
        state.consume(1, counters(2), 0).unwrap();
        // Key 1 is spent: dropped, key 2 serves.
        assert_eq!(state.keys.len(), 1);
        assert_eq!(state.current(0).map(|k| k.index), Some(2));
        assert_eq!(
            state.consume(1, counters(3), 0),
            Err(ConsumeError::UnknownKey(1))
        );
        // A replayed batch cannot bring key 1 back.
        assert_eq!(state.merge(&[grant(1, 2, 100), grant(2, 2, 100)], 0), 0);
        assert_eq!(state.transactions_left(0), 2);
        // The ATC must increase.
        assert_eq!(
            state.consume(2, counters(2), 0),
            Err(ConsumeError::AtcNotIncreasing)
        );
        assert_eq!(state.counters.atc, 2);
    }

    #[test]
    fn expired_keys_are_skipped_and_refused() {
        let mut state = KeyState::new("t", counters(0));
        state.merge(&[grant(1, 5, 50), grant(2, 5, 200), grant(3, 0, 200)], 0);
        assert_eq!(state.keys.len(), 2, "a key without uses is not taken");
        assert_eq!(state.current(49).map(|k| k.index), Some(1));
        assert_eq!(state.current(50).map(|k| k.index), Some(2));
        assert_eq!(state.transactions_left(50), 5);
        assert_eq!(
            state.consume(1, counters(1), 50),
            Err(ConsumeError::KeyNotUsable(1))
        );
        assert_eq!(state.counters.atc, 0, "a refused use changes nothing");
        assert_eq!(state.current(200), None);
        assert!(!format!("{:?}", state.keys[0]).contains("[1, 1"));
        assert_eq!(
            DeactivationReason::from_android(1),
            DeactivationReason::Deselected
        );
        assert_eq!(
            DeactivationReason::from_android(0),
            DeactivationReason::LinkLoss
        );
    }
}
