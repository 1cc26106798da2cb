//! Which account a PAN presented at a terminal draws on.
//!
//! The issuer first looks for the PAN among the bank's own card accounts (a physical card of the
//! bank's test accounts presents the account PAN). Any other PAN stands for an account: a device
//! PAN the TSM issued for an SE card, or an HCE token of the token service. Those entities
//! answer through a [`PanResolver`] registered with the issuer ([`super::Issuer::register`]),
//! tried in registration order; the first that knows the PAN wins. The mock world registers
//! [`TsmDevicePans`] when it opens.

use super::verify::Refusal;
use crate::persist::StoreError;
use crate::state::AppState;
use crate::tsm::records::CardState;
use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};
use wallet_core::backend::api::acquiring::IccTransaction;
use wallet_core::card::keys::SessionKey;
use wallet_core::card::{CardCrypto, CardKeys};

/// What a presented PAN is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PanSource {
    /// The account's own card number.
    Account,
    /// A device PAN issued by the TSM for an SE card.
    DevicePan,
    /// An HCE payment token.
    Token,
}

/// Where the card's ICC master keys come from.
#[derive(Clone)]
pub enum KeySource {
    /// Derived from the test issuer master keys for the presented PAN and PSN
    /// ([`wallet_core::card::keys::IssuerMasterKeys::derive_card_keys`]).
    TestIssuer,
    /// Given by the resolver (e.g. a service that keeps per-card keys).
    IccMasterKeys(CardKeys),
    /// The resolver's entity checks the cryptogram itself (e.g. limited-use keys with usage
    /// limits) and hands back the session key for the ARPC.
    Delegated(Arc<dyn CryptogramCheck>),
}

/// A cryptogram check owned by another entity (see [`KeySource::Delegated`]).
pub trait CryptogramCheck: Send + Sync + std::fmt::Debug {
    /// Verifies the application cryptogram of `txn` at `now` (and records its use, if the
    /// entity counts uses): the session key that produced it, or why it is refused.
    fn check(
        &self,
        world: &AppState,
        txn: &IccTransaction,
        now: u64,
    ) -> Result<Result<SessionKey, Refusal>, ResolveError>;
}

impl std::fmt::Debug for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeySource::TestIssuer => f.write_str("TestIssuer"),
            KeySource::IccMasterKeys(_) => f.write_str("IccMasterKeys(..)"),
            KeySource::Delegated(check) => write!(f, "Delegated({check:?})"),
        }
    }
}

/// A PAN a resolver knows.
#[derive(Debug, Clone)]
pub struct ResolvedPan {
    /// The account (bank card number) the transaction draws on.
    pub account_pan: String,
    /// What the presented PAN is.
    pub source: PanSource,
    /// The card's algorithm, when the resolver knows it; otherwise the issuer trusts the
    /// algorithm byte of the issuer application data (a wrong one only makes the cryptogram fail).
    pub crypto: Option<CardCrypto>,
    /// The card's keys.
    pub keys: KeySource,
    /// Whether the card may still authorise online (`false` for a locked or deleted card:
    /// `62`); its earlier offline TCs are accepted regardless.
    pub online_allowed: bool,
}

/// A resolver failed (not: "unknown PAN", which is `Ok(None)`).
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// The resolver's state could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Anything else.
    #[error("{0}")]
    Other(String),
}

/// Maps presented PANs to accounts for the issuer. Implemented by the entities that issue
/// PANs standing for an account (the TSM's device PANs, the token service's tokens).
pub trait PanResolver: Send + Sync + std::fmt::Debug {
    /// The account behind `pan` (digits), or `None` if this resolver does not know it.
    fn resolve(&self, world: &AppState, pan: &str) -> Result<Option<ResolvedPan>, ResolveError>;
}

/// An in-memory map of device PANs or tokens to accounts: for tests and demos, and as the
/// stand-in for an entity whose lookup does not exist yet.
#[derive(Debug, Default)]
pub struct PanMap {
    entries: RwLock<HashMap<String, ResolvedPan>>,
}

impl PanMap {
    /// An empty map.
    pub fn new() -> PanMap {
        PanMap::default()
    }

    /// Maps `pan` to `resolved` (replacing any previous mapping).
    pub fn insert(&self, pan: &str, resolved: ResolvedPan) {
        self.entries
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(pan.to_owned(), resolved);
    }
}

impl PanResolver for PanMap {
    fn resolve(&self, _world: &AppState, pan: &str) -> Result<Option<ResolvedPan>, ResolveError> {
        Ok(self
            .entries
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(pan)
            .cloned())
    }
}

/// The TSM's device PANs ([`crate::tsm::Tsm::account_of_device_pan`]): SM4 cards with keys from
/// the test issuer; online only while the TSM's record of the card is active.
#[derive(Debug, Clone, Copy, Default)]
pub struct TsmDevicePans;

impl PanResolver for TsmDevicePans {
    fn resolve(&self, world: &AppState, pan: &str) -> Result<Option<ResolvedPan>, ResolveError> {
        let found = world
            .tsm()
            .account_of_device_pan(pan)
            .map_err(|err| ResolveError::Other(format!("TSM device PAN lookup: {err}")))?;
        Ok(found.map(|card| ResolvedPan {
            account_pan: card.account_pan,
            source: PanSource::DevicePan,
            crypto: Some(card.crypto),
            keys: KeySource::TestIssuer,
            online_allowed: card.state == CardState::Active,
        }))
    }
}
