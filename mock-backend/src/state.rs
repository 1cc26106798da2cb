//! The shared state behind every endpoint: one database, one clock, one handle per entity.
//! Later entities add a field and an accessor here.

use crate::bank::Bank;
use crate::clock::Clock;
use crate::idempotency::Idempotency;
use crate::persist::{Store, StoreError};
use crate::sms::SmsChannel;
use std::path::Path;
use std::sync::Arc;

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
}

impl AppState {
    /// Opens the world's state under `data_dir` (persistent) or in a temporary database (`None`).
    pub fn open(data_dir: Option<&Path>) -> Result<Self, StoreError> {
        let store = Store::open(data_dir)?;
        let inner = WorldState {
            clock: Clock::persistent(&store)?,
            idempotency: Idempotency::open(&store)?,
            bank: Bank::open(&store)?,
            sms: SmsChannel::open(&store)?,
            store,
        };
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
}
