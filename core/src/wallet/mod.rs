//! The wallet facade: one object per installation, opened on a data directory and a back-end URL.
//! The bindings expose this; the CLI drives it.
// WALLET-API-READY

mod error;

pub use error::WalletError;

use crate::backend::{BackendClient, ClientConfig};
use crate::binding::{Binder, Binding, BindingRequest, PendingBinding};
use crate::hce::{DeactivationReason, HceCardInfo, HceConfig, HceManager};
use crate::ota::OtaListener;
use crate::remote::{Order, PasswordStatus, PayAuth, RemotePayer, RemotePayment, SmsChallenge};
use crate::se::{ReaderKind, SeService, SeTransport};
use crate::signer::{Signer, SoftwareSigner};
use crate::store::{KeyStore, SoftwareKeyStore, Store};
use crate::tsm::{CardError, CardManager, SeCard};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Where the wallet keeps its data and which back end it talks to.
#[derive(Debug, Clone)]
pub struct WalletConfig {
    /// Directory of the wallet's store (created if missing).
    pub data_dir: PathBuf,
    /// Base URL of the back end, e.g. `http://127.0.0.1:8080`.
    pub backend_url: String,
    /// Time allowed for one back-end request.
    pub request_timeout: Duration,
    /// Retries of requests that are safe to repeat.
    pub max_retries: u32,
}

impl WalletConfig {
    /// A configuration with default timeouts (10 s per request, 2 retries).
    pub fn new(data_dir: impl Into<PathBuf>, backend_url: impl Into<String>) -> Self {
        let defaults = ClientConfig::new("");
        Self {
            data_dir: data_dir.into(),
            backend_url: backend_url.into(),
            request_timeout: defaults.request_timeout,
            max_retries: defaults.max_retries,
        }
    }
}

/// Store namespace of wallet-level metadata.
const NS_META: &str = "wallet.meta";
/// Key of the installation's device identifier.
const KEY_DEVICE_ID: &str = "device_id";

/// The wallet of one installation.
#[derive(Debug, Clone)]
pub struct Wallet {
    device_id: String,
    store: Store,
    client: BackendClient,
    binder: Binder,
    cards: Option<CardManager>,
    hce: HceManager,
    remote: RemotePayer,
}

impl Wallet {
    /// Opens (or creates) the wallet in `config.data_dir`. `key_store` wraps the store's data key;
    /// `None` uses the headless [`SoftwareKeyStore`] (a key file in the data directory). Device
    /// keys are software keys sealed in the store ([`SoftwareSigner`]); see
    /// [`Wallet::open_with_signer`] for a platform signer.
    pub fn open(
        config: WalletConfig,
        key_store: Option<Arc<dyn KeyStore>>,
    ) -> Result<Self, WalletError> {
        Self::open_with_signer(config, key_store, None)
    }

    /// Like [`Wallet::open`], with the device keys of new bindings created and used through
    /// `signer` (Android Keystore, iOS Secure Enclave); `None` uses the [`SoftwareSigner`].
    /// Bindings made earlier keep signing with the key they were made with.
    pub fn open_with_signer(
        config: WalletConfig,
        key_store: Option<Arc<dyn KeyStore>>,
        signer: Option<Arc<dyn Signer>>,
    ) -> Result<Self, WalletError> {
        std::fs::create_dir_all(&config.data_dir)
            .map_err(|e| WalletError::Config(format!("cannot create the data directory: {e}")))?;
        let key_store: Arc<dyn KeyStore> = match key_store {
            Some(ks) => ks,
            None => Arc::new(SoftwareKeyStore::open(
                &config.data_dir.join("software-keystore.key"),
            )?),
        };
        let store = Store::open(&config.data_dir.join("store"), key_store)?;
        let mut client_config = ClientConfig::new(config.backend_url.clone());
        client_config.request_timeout = config.request_timeout;
        client_config.max_retries = config.max_retries;
        let client = BackendClient::new(client_config)?;
        let device_id = match store.get::<String>(NS_META, KEY_DEVICE_ID)? {
            Some(id) => id,
            None => {
                let id = crate::crypto::random::hex_id(16)?;
                store.put_durable(NS_META, KEY_DEVICE_ID, &id)?;
                id
            }
        };
        let signer: Arc<dyn Signer> = match signer {
            Some(signer) => signer,
            None => Arc::new(SoftwareSigner::new(store.clone())),
        };
        let binder = Binder::new(store.clone(), client.clone(), device_id.clone(), signer);
        let remote = RemotePayer::new(store.clone(), client.clone(), binder.clone());
        let hce = HceManager::new(
            store.clone(),
            client.clone(),
            binder.clone(),
            HceConfig::default(),
        );
        Ok(Self {
            device_id,
            store,
            client,
            binder,
            cards: None,
            hce,
            remote,
        })
    }

    /// Gives the wallet access to the device's secure elements (OMAPI on Android, the SE
    /// simulator headless). Without it, card operations answer [`CardError::NoSecureElement`].
    /// SE-mode remote payments use the same secure elements.
    pub fn with_secure_elements(mut self, transport: Arc<dyn SeTransport>) -> Self {
        let se = SeService::new(transport);
        let cards = CardManager::new(
            self.store.clone(),
            self.client.clone(),
            self.binder.clone(),
            se.clone(),
        );
        self.remote = self.remote.with_secure_elements(cards.clone(), se);
        self.cards = Some(cards);
        self
    }

    /// Replaces the card manager's SERAM agent settings (tests shorten polling delays).
    pub fn with_ota_config(mut self, config: crate::ota::AgentConfig) -> Self {
        // (The remote payer reads only the card records, which the agent settings do not touch.)
        self.cards = self.cards.map(|cards| cards.with_agent_config(config));
        self
    }

    /// Replaces the HCE settings (replenishment threshold, batch size; tests also set the
    /// clock and a counter-write hook).
    pub fn with_hce_config(mut self, config: HceConfig) -> Self {
        self.hce = HceManager::new(
            self.store.clone(),
            self.client.clone(),
            self.binder.clone(),
            config,
        );
        self
    }

    fn cards(&self) -> Result<&CardManager, CardError> {
        self.cards.as_ref().ok_or(CardError::NoSecureElement)
    }

    /// Air card opening in the preferred SE (else eSE → SIM → SD), with `initial_ecash_load`
    /// fen of electronic cash; progress goes to `listener`. Safe to run again after an
    /// interruption: it converges on one personalised card.
    pub async fn open_card(
        &self,
        binding_id: &str,
        preferred: Option<ReaderKind>,
        initial_ecash_load: u64,
        listener: Option<Arc<dyn OtaListener>>,
    ) -> Result<SeCard, WalletError> {
        Ok(self
            .cards()?
            .open_card(binding_id, preferred, initial_ecash_load, listener)
            .await?)
    }

    /// The cards in this device's secure elements.
    pub fn cards_in_se(&self) -> Result<Vec<SeCard>, WalletError> {
        match &self.cards {
            Some(cards) => Ok(cards.cards()?),
            None => Ok(Vec::new()),
        }
    }

    /// Asks the TSM to read the card's state and balance from the SE.
    pub async fn card_status(&self, binding_id: &str, se_id: &str) -> Result<SeCard, WalletError> {
        Ok(self.cards()?.card_status(binding_id, se_id).await?)
    }

    /// Locks the card.
    pub async fn lock_card(&self, binding_id: &str, se_id: &str) -> Result<SeCard, WalletError> {
        Ok(self.cards()?.lock_card(binding_id, se_id).await?)
    }

    /// Unlocks the card.
    pub async fn unlock_card(&self, binding_id: &str, se_id: &str) -> Result<SeCard, WalletError> {
        Ok(self.cards()?.unlock_card(binding_id, se_id).await?)
    }

    /// Deletes the card from its SE.
    pub async fn delete_card(&self, binding_id: &str, se_id: &str) -> Result<SeCard, WalletError> {
        Ok(self.cards()?.delete_card(binding_id, se_id).await?)
    }

    /// Reads the card's electronic cash balance from the SE (no network).
    pub async fn ecash_balance(&self, binding_id: &str, se_id: &str) -> Result<u64, WalletError> {
        Ok(self.cards()?.ecash_balance(binding_id, se_id).await?)
    }

    /// This installation's device identifier (random, created on first open).
    pub fn device_id(&self) -> &str {
        &self.device_id
    }

    /// Starts binding a card: local checks, the bank's real-name check, a one-time code by SMS.
    pub async fn begin_binding(
        &self,
        request: &BindingRequest,
    ) -> Result<PendingBinding, WalletError> {
        Ok(self.binder.begin(request).await?)
    }

    /// Completes a binding with the one-time code. Safe to repeat after a lost answer.
    pub async fn confirm_binding(
        &self,
        session_id: &str,
        otp: &str,
    ) -> Result<Binding, WalletError> {
        Ok(self.binder.confirm(session_id, otp).await?)
    }

    /// The cards bound to this wallet.
    pub fn bindings(&self) -> Result<Vec<Binding>, WalletError> {
        Ok(self.binder.list()?)
    }

    /// Bindings waiting for their one-time code.
    pub fn pending_bindings(&self) -> Result<Vec<PendingBinding>, WalletError> {
        Ok(self.binder.pending()?)
    }

    /// Unbinds a card: the bank revokes the device key; the local binding and key are erased.
    pub async fn unbind(&self, binding_id: &str) -> Result<(), WalletError> {
        Ok(self.binder.unbind(binding_id).await?)
    }

    /// Host card emulation without a secure element: provisions an HCE card for `binding_id` —
    /// a token bound to the account, its card profile and a first batch of limited-use keys —
    /// and makes it the default HCE card if there is none. [`Wallet::open_card`] never falls
    /// back to HCE (it answers [`CardError::NoSecureElement`]); the caller chooses this instead.
    /// A card already provisioned is returned as it is; safe to repeat after a failure.
    pub async fn open_hce_card(&self, binding_id: &str) -> Result<HceCardInfo, WalletError> {
        Ok(self.hce.open_card(binding_id).await?)
    }

    /// The HCE cards of this wallet.
    pub fn hce_cards(&self) -> Result<Vec<HceCardInfo>, WalletError> {
        Ok(self.hce.cards()?)
    }

    /// Makes the HCE card of `binding_id` the one [`Wallet::process_apdu`] answers with.
    pub fn set_default_hce_card(&self, binding_id: &str) -> Result<(), WalletError> {
        Ok(self.hce.set_default(binding_id)?)
    }

    /// `HostApduService.processCommandApdu`: one command APDU in, the response APDU out, with
    /// the default HCE card. Never fails: problems are status words (`6985` without a usable
    /// key, `6A82` without an HCE card). The ATC and the key's use are durable before any
    /// cryptogram is returned.
    pub fn process_apdu(&self, apdu: &[u8]) -> Vec<u8> {
        self.hce.process_apdu(apdu)
    }

    /// `HostApduService.onDeactivated`: resets the card application; may start key
    /// replenishment in the background.
    pub fn on_deactivated(&self, reason: DeactivationReason) {
        self.hce.on_deactivated(reason)
    }

    /// Fetches limited-use keys for the HCE card of `binding_id` if it runs low (fewer usable
    /// transactions than the configured threshold); otherwise sends nothing. Idempotent.
    pub async fn replenish_keys(&self, binding_id: &str) -> Result<HceCardInfo, WalletError> {
        Ok(self.hce.replenish(binding_id).await?)
    }

    /// Remote payment: reads an order from the payment content platform.
    pub async fn fetch_order(&self, order_id: &str) -> Result<Order, WalletError> {
        Ok(self.remote.fetch_order(order_id).await?)
    }

    /// Remote payment: registers (or replaces, lifting a lock-out) the 6-digit payment password
    /// of `binding_id`. Only a PBKDF2 verifier leaves the phone, signed by the device key;
    /// nothing is stored locally.
    pub async fn set_payment_password(
        &self,
        binding_id: &str,
        password: &str,
    ) -> Result<PasswordStatus, WalletError> {
        Ok(self
            .remote
            .set_payment_password(binding_id, password)
            .await?)
    }

    /// Remote payment: has the RPS send a one-time code for `order_id` to the phone on file of
    /// `binding_id`; pay with [`PayAuth::Sms`].
    pub async fn request_payment_sms(
        &self,
        binding_id: &str,
        order_id: &str,
    ) -> Result<SmsChallenge, WalletError> {
        Ok(self
            .remote
            .request_payment_sms(binding_id, order_id)
            .await?)
    }

    /// Remote payment: pays `order_id` from `binding_id` (SE applet + PIN, or device key +
    /// password / SMS code). Safe to repeat after a lost answer: the stored submission is
    /// re-sent unchanged and the order is paid at most once.
    pub async fn pay_order(
        &self,
        binding_id: &str,
        order_id: &str,
        auth: PayAuth,
    ) -> Result<RemotePayment, WalletError> {
        Ok(self.remote.pay_order(binding_id, order_id, auth).await?)
    }

    /// Remote payment: the local payment history, newest first.
    pub fn payment_history(&self) -> Result<Vec<RemotePayment>, WalletError> {
        Ok(self.remote.payment_history()?)
    }

    /// Remote payment: merges the RPS's payments of `binding_id` into the local history and
    /// returns the whole local history, newest first.
    pub async fn sync_payment_history(
        &self,
        binding_id: &str,
    ) -> Result<Vec<RemotePayment>, WalletError> {
        Ok(self.remote.sync_payment_history(binding_id).await?)
    }
}
