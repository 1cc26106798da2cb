//! The shared state behind every endpoint: one database, one clock, one handle per entity.
//! Later entities add a field and an accessor here.

use crate::bank::Bank;
use crate::clearing::Clearing;
use crate::clock::Clock;
use crate::hce::HceTokens;
use crate::idempotency::Idempotency;
use crate::issuer::Issuer;
use crate::merchant::Platform;
use crate::persist::{Store, StoreError};
use crate::rps::Rps;
use crate::sms::SmsChannel;
use crate::tsm::Tsm;
use std::path::Path;
use std::sync::Arc;
use wallet_core::backend::api::tsm::Topology;

/// State shared by the router's handlers. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    inner: Arc<WorldState>,
}

#[derive(Debug)]
struct WorldState {
    store: Store,
    clock: Clock,
    idempotency: Idempotency,
    bank: Bank,
    sms: SmsChannel,
    tsm: Tsm,
    hce: HceTokens,
    issuer: Issuer,
    clearing: Clearing,
    merchant: Platform,
    rps: Rps,
}

impl AppState {
    /// Opens the world's state under `data_dir` (persistent) or in a temporary database (`None`),
    /// with the TSM side in the direct topology.
    pub fn open(data_dir: Option<&Path>) -> Result<Self, StoreError> {
        Self::open_with(data_dir, Topology::Direct)
    }

    /// Opens the world's state, the TSM side organised as `topology`.
    pub fn open_with(data_dir: Option<&Path>, topology: Topology) -> Result<Self, StoreError> {
        let store = Store::open(data_dir)?;
        let inner = WorldState {
            clock: Clock::persistent(&store)?,
            idempotency: Idempotency::open(&store)?,
            bank: Bank::open(&store)?,
            sms: SmsChannel::open(&store)?,
            tsm: Tsm::open(&store, topology)?,
            hce: HceTokens::open(&store)?,
            issuer: Issuer::open(&store)?,
            clearing: Clearing::open(&store)?,
            merchant: Platform::open(&store)?,
            rps: Rps::open(&store)?,
            store,
        };
        inner
            .issuer
            .register(Arc::new(crate::issuer::TsmDevicePans));
        inner.issuer.register(Arc::new(crate::issuer::HceTokenPans));
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// The database.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The mock world's clock.
    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    /// Idempotency records of every endpoint.
    pub fn idempotency(&self) -> &Idempotency {
        &self.inner.idempotency
    }

    /// The account management system.
    pub fn bank(&self) -> &Bank {
        &self.inner.bank
    }

    /// The SMS access channel.
    pub fn sms(&self) -> &SmsChannel {
        &self.inner.sms
    }

    /// The HCE token service (tokens, limited-use keys, the issuer's resolver).
    pub fn hce(&self) -> &HceTokens {
        &self.inner.hce
    }

    /// The TSM side (TSMs and the public service platform).
    pub fn tsm(&self) -> &Tsm {
        &self.inner.tsm
    }

    /// The issuer (authorisation host); PAN resolvers register here.
    pub fn issuer(&self) -> &Issuer {
        &self.inner.issuer
    }

    /// The transfer clearing system.
    pub fn clearing(&self) -> &Clearing {
        &self.inner.clearing
    }

    /// The payment content platform (merchant orders).
    pub fn merchant(&self) -> &Platform {
        &self.inner.merchant
    }

    /// The remote payment system.
    pub fn rps(&self) -> &Rps {
        &self.inner.rps
    }
}
