//! HCE card management: provisioning a token for a binding, the default card the
//! `HostApduService` answers with, and limited-use key replenishment.
//!
//! Every request to the token service is signed by the binding's device key and persisted with
//! its idempotency key *before* it is sent ([`PendingOpen`], [`PendingBatch`]); until its answer
//! is applied, any retry — after a timeout, a lost answer or a restart — sends the same body
//! with the same key, and the service answers the first answer again. A definitive refusal
//! (4xx) forgets the request.
//!
//! Replenishment runs when the usable keys can serve fewer than
//! [`HceConfig::replenish_below`] transactions: explicitly ([`HceManager::replenish`]) or in the
//! background after a tap that used a key and at deactivation, as a task on the wallet's tokio
//! runtime (the runtime current at the call, else the one the manager was created or last called
//! on; without one, nothing runs in the background). One replenishment at a time: concurrent
//! triggers wait for the running one, then find enough keys and send nothing.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokio::runtime::Handle;

use crate::backend::api::hce::{
    keys_path, HceCardProvisioned, HceCardRequest, KeyBatch, KeyBatchRequest, MAX_KEYS_PER_BATCH,
    PATH_HCE_CARDS,
};
use crate::backend::client::IdempotencyKey;
use crate::backend::BackendClient;
use crate::binding::Binder;
use crate::card::{CardApplication, CardCounters};
use crate::crypto::random;
use crate::hce::error::HceError;
use crate::hce::model::{
    DeactivationReason, HceCardInfo, HceCardRecord, HceConfig, KeyState, PendingBatch, PendingOpen,
    KEY_DEFAULT, NS_CARDS, NS_KEYS, NS_META, NS_PENDING_OPEN,
};
use crate::hce::responder::{card_profile, HceResponder};
use crate::store::Store;

/// Provisions HCE cards, answers APDUs with the default one, replenishes keys. Cheap to clone.
#[derive(Clone)]
pub struct HceManager {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    client: BackendClient,
    binder: Binder,
    config: HceConfig,
    responder: Mutex<Option<HceResponder>>,
    open_lock: tokio::sync::Mutex<()>,
    replenish_lock: tokio::sync::Mutex<()>,
    runtime: Mutex<Option<Handle>>,
}

impl std::fmt::Debug for HceManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HceManager")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// Locks a std mutex, ignoring poisoning (the guarded state stays consistent: every write to
/// the store is atomic).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl HceManager {
    /// A manager over `store`, talking to the token service through `client`, signing with the
    /// device keys of `binder`'s bindings.
    pub fn new(store: Store, client: BackendClient, binder: Binder, config: HceConfig) -> Self {
        HceManager {
            inner: Arc::new(Inner {
                store,
                client,
                binder,
                config,
                responder: Mutex::new(None),
                open_lock: tokio::sync::Mutex::new(()),
                replenish_lock: tokio::sync::Mutex::new(()),
                runtime: Mutex::new(Handle::try_current().ok()),
            }),
        }
    }

    /// The settings.
    pub fn config(&self) -> &HceConfig {
        &self.inner.config
    }

    /// Keys per request: the configured batch size within what the service accepts.
    fn batch_size(&self) -> u32 {
        self.inner.config.batch_size.clamp(1, MAX_KEYS_PER_BATCH)
    }

    fn now(&self) -> u64 {
        (self.inner.config.clock)()
    }

    fn remember_runtime(&self) {
        if let Ok(handle) = Handle::try_current() {
            *lock(&self.inner.runtime) = Some(handle);
        }
    }

    fn runtime(&self) -> Option<Handle> {
        Handle::try_current()
            .ok()
            .or_else(|| lock(&self.inner.runtime).clone())
    }

    fn record(&self, binding_id: &str) -> Result<Option<HceCardRecord>, HceError> {
        Ok(self.inner.store.get(NS_CARDS, binding_id)?)
    }

    fn state(&self, binding_id: &str) -> Result<KeyState, HceError> {
        self.inner
            .store
            .get(NS_KEYS, binding_id)?
            .ok_or(HceError::CardNotFound)
    }

    fn default_binding(&self) -> Result<Option<String>, HceError> {
        if let Some(id) = self.inner.store.get::<String>(NS_META, KEY_DEFAULT)? {
            return Ok(Some(id));
        }
        let cards = self.inner.store.list::<HceCardRecord>(NS_CARDS)?;
        Ok(cards.into_iter().next().map(|(id, _)| id))
    }

    fn info(&self, record: &HceCardRecord) -> Result<HceCardInfo, HceError> {
        let state = self.state(&record.binding_id)?;
        let is_default = self.default_binding()?.as_deref() == Some(record.binding_id.as_str());
        Ok(HceCardInfo::new(record, &state, self.now(), is_default))
    }

    /// Provisions an HCE card for `binding_id` (a token, its profile, a first batch of
    /// [`HceConfig::batch_size`] keys) and makes it the default card if there is none. A card
    /// already provisioned here is returned as it is. Safe to call again after a failure: an
    /// unanswered request is sent again unchanged.
    pub async fn open_card(&self, binding_id: &str) -> Result<HceCardInfo, HceError> {
        self.remember_runtime();
        let _one = self.inner.open_lock.lock().await;
        if let Some(record) = self.record(binding_id)? {
            return self.info(&record);
        }
        let store = &self.inner.store;
        let pending = match store.get::<PendingOpen>(NS_PENDING_OPEN, binding_id)? {
            Some(pending) => pending,
            None => {
                let mut request = HceCardRequest {
                    binding_id: binding_id.to_owned(),
                    keys: self.batch_size(),
                    timestamp: self.now(),
                    nonce: random::hex_id(16)?,
                    signature: String::new(),
                };
                request.signature = hex::encode(
                    self.inner
                        .binder
                        .sign(binding_id, &request.signing_message())?,
                );
                let pending = PendingOpen {
                    idempotency_key: IdempotencyKey::generate()?,
                    request,
                };
                store.put_durable(NS_PENDING_OPEN, binding_id, &pending)?;
                pending
            }
        };
        let answer = self
            .inner
            .client
            .post::<_, HceCardProvisioned>(
                PATH_HCE_CARDS,
                &pending.request,
                &pending.idempotency_key,
            )
            .await;
        let provisioned = match answer {
            Ok(provisioned) => provisioned,
            Err(err) => {
                if !err.is_transient() {
                    store.remove(NS_PENDING_OPEN, binding_id)?;
                }
                return Err(err.into());
            }
        };
        let checked = check_provisioned(&provisioned, binding_id);
        if let Err(err) = checked {
            store.remove(NS_PENDING_OPEN, binding_id)?;
            return Err(err);
        }
        let mut state = KeyState::new(
            &provisioned.token_id,
            CardCounters {
                atc: 0,
                last_online_atc: 0,
                ecash_balance: None,
            },
        );
        state.merge(&provisioned.keys, self.now());
        // Keys first, card second: a card record always has its key state.
        store.put_durable(NS_KEYS, binding_id, &state)?;
        let record = HceCardRecord {
            token_id: provisioned.token_id,
            binding_id: binding_id.to_owned(),
            profile: provisioned.profile,
            created_at: self.now(),
        };
        store.put_durable(NS_CARDS, binding_id, &record)?;
        store.remove(NS_PENDING_OPEN, binding_id)?;
        if store.get::<String>(NS_META, KEY_DEFAULT)?.is_none() {
            store.put_durable(NS_META, KEY_DEFAULT, &binding_id.to_owned())?;
            *lock(&self.inner.responder) = None;
        }
        tracing::info!(token_id = %record.token_id, "HCE card provisioned");
        self.info(&record)
    }

    /// The HCE cards of this wallet, in binding order.
    pub fn cards(&self) -> Result<Vec<HceCardInfo>, HceError> {
        let default = self.default_binding()?;
        let now = self.now();
        let mut out = Vec::new();
        for (binding_id, record) in self.inner.store.list::<HceCardRecord>(NS_CARDS)? {
            let state = self.state(&binding_id)?;
            let is_default = default.as_deref() == Some(binding_id.as_str());
            out.push(HceCardInfo::new(&record, &state, now, is_default));
        }
        Ok(out)
    }

    /// The HCE card of `binding_id`.
    pub fn card(&self, binding_id: &str) -> Result<HceCardInfo, HceError> {
        let record = self.record(binding_id)?.ok_or(HceError::CardNotFound)?;
        self.info(&record)
    }

    /// Makes the card of `binding_id` the one the `HostApduService` answers with (from the next
    /// APDU on).
    pub fn set_default(&self, binding_id: &str) -> Result<(), HceError> {
        self.record(binding_id)?.ok_or(HceError::CardNotFound)?;
        let mut responder = lock(&self.inner.responder);
        self.inner
            .store
            .put_durable(NS_META, KEY_DEFAULT, &binding_id.to_owned())?;
        *responder = None;
        Ok(())
    }

    /// Answers one command APDU with the default HCE card (see
    /// [`crate::hce::responder`]); `6A82` (file not found) when the wallet has no HCE card. A
    /// transaction that used a key may start a background replenishment.
    pub fn process_apdu(&self, apdu: &[u8]) -> Vec<u8> {
        let (processed, binding_id) = {
            let mut guard = lock(&self.inner.responder);
            if guard.is_none() {
                match self.default_responder() {
                    Ok(responder) => *guard = responder,
                    Err(err) => {
                        tracing::error!(%err, "HCE: cannot load the default card");
                        return vec![0x6F, 0x00];
                    }
                }
            }
            let Some(responder) = guard.as_mut() else {
                return vec![0x6A, 0x82];
            };
            (responder.process(apdu), responder.binding_id().to_owned())
        };
        if processed.key_used {
            self.replenish_in_background(&binding_id);
        }
        processed.response
    }

    /// The reader deactivated the card: the application is reset; replenishment may start in
    /// the background.
    pub fn on_deactivated(&self, reason: DeactivationReason) {
        let binding_id = {
            let mut guard = lock(&self.inner.responder);
            guard.as_mut().map(|responder| {
                responder.on_deactivated();
                responder.binding_id().to_owned()
            })
        };
        tracing::debug!(?reason, "HCE deactivated");
        if let Some(binding_id) = binding_id {
            self.replenish_in_background(&binding_id);
        }
    }

    fn default_responder(&self) -> Result<Option<HceResponder>, HceError> {
        let Some(binding_id) = self.default_binding()? else {
            return Ok(None);
        };
        Ok(self.record(&binding_id)?.map(|record| {
            HceResponder::new(self.inner.store.clone(), record, self.inner.config.clone())
        }))
    }

    /// Whether the card of `binding_id` should fetch keys now.
    fn needs_keys(&self, binding_id: &str) -> bool {
        match self.state(binding_id) {
            Ok(state) => {
                state.pending.is_some()
                    || state.transactions_left(self.now()) < self.inner.config.replenish_below
            }
            Err(_) => false,
        }
    }

    /// Starts [`Self::replenish`] on the runtime if keys are needed and none is running.
    fn replenish_in_background(&self, binding_id: &str) {
        if !self.needs_keys(binding_id) || self.inner.replenish_lock.try_lock().is_err() {
            return;
        }
        let Some(runtime) = self.runtime() else {
            tracing::debug!("HCE: no runtime for background replenishment");
            return;
        };
        let manager = self.clone();
        let binding_id = binding_id.to_owned();
        runtime.spawn(async move {
            if let Err(err) = manager.replenish(&binding_id).await {
                tracing::warn!(%err, "HCE: background key replenishment failed");
            }
        });
    }

    /// Fetches a batch of [`HceConfig::batch_size`] keys for the card of `binding_id` if its
    /// usable keys can serve fewer than [`HceConfig::replenish_below`] transactions (or a
    /// request is still unanswered); otherwise sends nothing. Returns the card afterwards.
    pub async fn replenish(&self, binding_id: &str) -> Result<HceCardInfo, HceError> {
        self.remember_runtime();
        let _one = self.inner.replenish_lock.lock().await;
        let record = self.record(binding_id)?.ok_or(HceError::CardNotFound)?;
        let state = self.state(binding_id)?;
        let store = &self.inner.store;
        let pending = match state.pending {
            Some(pending) => pending,
            None => {
                if state.transactions_left(self.now()) >= self.inner.config.replenish_below {
                    return self.info(&record);
                }
                let mut request = KeyBatchRequest {
                    binding_id: binding_id.to_owned(),
                    keys: self.batch_size(),
                    timestamp: self.now(),
                    nonce: random::hex_id(16)?,
                    signature: String::new(),
                };
                request.signature = hex::encode(
                    self.inner
                        .binder
                        .sign(binding_id, &request.signing_message(&record.token_id))?,
                );
                let pending = PendingBatch {
                    idempotency_key: IdempotencyKey::generate()?,
                    request,
                };
                store.update_durable(NS_KEYS, binding_id, |state: Option<KeyState>| {
                    let mut state = state.ok_or(HceError::CardNotFound)?;
                    state.pending = Some(pending.clone());
                    Ok::<_, HceError>(state)
                })?;
                pending
            }
        };
        let answer = self
            .inner
            .client
            .post::<_, KeyBatch>(
                &keys_path(&record.token_id),
                &pending.request,
                &pending.idempotency_key,
            )
            .await;
        let batch = match answer {
            Ok(batch) if batch.token_id == record.token_id => batch,
            Ok(_) => {
                self.forget_pending(binding_id)?;
                return Err(HceError::Protocol("keys of another token".into()));
            }
            Err(err) => {
                if !err.is_transient() {
                    self.forget_pending(binding_id)?;
                }
                return Err(err.into());
            }
        };
        let now = self.now();
        let mut added = 0;
        store.update_durable(NS_KEYS, binding_id, |state: Option<KeyState>| {
            let mut state = state.ok_or(HceError::CardNotFound)?;
            added = state.merge(&batch.keys, now);
            state.pending = None;
            Ok::<_, HceError>(state)
        })?;
        tracing::info!(added, "HCE keys replenished");
        self.info(&record)
    }

    fn forget_pending(&self, binding_id: &str) -> Result<(), HceError> {
        self.inner
            .store
            .update_durable(NS_KEYS, binding_id, |state: Option<KeyState>| {
                let mut state = state.ok_or(HceError::CardNotFound)?;
                state.pending = None;
                Ok::<_, HceError>(state)
            })?;
        Ok(())
    }
}

/// Checks the token service's answer: the right binding, at least one key, and a profile the
/// card application accepts.
fn check_provisioned(p: &HceCardProvisioned, binding_id: &str) -> Result<(), HceError> {
    if p.binding_id != binding_id || p.token_id.is_empty() {
        return Err(HceError::Protocol("a token of another binding".into()));
    }
    let first = p
        .keys
        .first()
        .ok_or_else(|| HceError::Protocol("no limited-use key".into()))?;
    let profile = card_profile(&p.profile, first.key.clone(), first.index)?;
    let counters = CardCounters {
        atc: 0,
        last_online_atc: 0,
        ecash_balance: None,
    };
    CardApplication::new(profile, counters)?;
    Ok(())
}
