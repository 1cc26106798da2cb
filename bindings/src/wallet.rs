//! The [`Wallet`] object: the core's wallet facade for the apps — account binding here, card
//! opening in [`crate::cards`].
//!
//! Network operations are `async` (Kotlin `suspend`, Swift `async`, Python coroutines) and run on
//! the library's tokio runtime; local reads are plain calls. Errors are [`WalletFfiError`].

use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use wallet_core::backend::api::AccountKind as CoreAccountKind;
use wallet_core::binding::{
    Binding as CoreBinding, BindingRequest, PendingBinding as CorePendingBinding,
};

use crate::keystore::{ForeignKeyStore, KeyStore};
use crate::logging::{set_log_sink, LogLevel, LogSink};
use crate::signer::{ForeignSigner, Signer};
use crate::wallet_error::WalletFfiError;

/// How to open a [`Wallet`].
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct WalletConfig {
    /// Directory of the wallet's store (created if missing). One open wallet per directory.
    pub data_dir: String,
    /// Base URL of the back end, e.g. `http://127.0.0.1:8080`.
    pub backend_url: String,
    /// Time allowed for one back-end request, in milliseconds.
    #[uniffi(default = 10000)]
    pub request_timeout_ms: u32,
    /// Retries of back-end requests that are safe to repeat.
    #[uniffi(default = 2)]
    pub max_retries: u32,
    /// Cap on the TSM's polling delay during a card management session, in milliseconds
    /// (`None`: the library default, 30 s). Tests set a few milliseconds.
    #[uniffi(default = None)]
    pub ota_max_delay_ms: Option<u32>,
}

/// Kind of the bank account behind a card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum AccountKind {
    /// Debit card.
    Debit,
    /// Credit card.
    Credit,
    /// Quasi-credit card.
    QuasiCredit,
    /// Stand-alone electronic cash.
    ECash,
}

impl From<CoreAccountKind> for AccountKind {
    fn from(kind: CoreAccountKind) -> Self {
        match kind {
            CoreAccountKind::Debit => Self::Debit,
            CoreAccountKind::Credit => Self::Credit,
            CoreAccountKind::QuasiCredit => Self::QuasiCredit,
            CoreAccountKind::ECash => Self::ECash,
        }
    }
}

/// A binding waiting for its one-time code.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PendingBinding {
    /// Pass to [`Wallet::confirm_binding`].
    pub session_id: String,
    /// Card number masked to its first 6 and last 4 digits.
    pub masked_pan: String,
    /// Kind of the account.
    pub account_kind: AccountKind,
    /// Masked phone number the code went to.
    pub otp_sent_to: String,
    /// When the code expires.
    pub otp_expires_at: SystemTime,
}

impl From<CorePendingBinding> for PendingBinding {
    fn from(p: CorePendingBinding) -> Self {
        Self {
            session_id: p.session_id,
            masked_pan: p.masked_pan,
            account_kind: p.account_kind.into(),
            otp_sent_to: p.otp_sent_to,
            otp_expires_at: unix_time(p.otp_expires_at),
        }
    }
}

/// A card bound to this wallet. Never holds the full card number.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Binding {
    /// The bank's identifier of the binding.
    pub binding_id: String,
    /// Card number masked to its first 6 and last 4 digits.
    pub masked_pan: String,
    /// Kind of the account.
    pub account_kind: AccountKind,
    /// Holder's name, masked.
    pub holder_name_masked: String,
    /// Issuing bank.
    pub issuer_name: String,
    /// When the binding was created.
    pub created_at: SystemTime,
}

impl From<CoreBinding> for Binding {
    fn from(b: CoreBinding) -> Self {
        Self {
            binding_id: b.binding_id,
            masked_pan: b.masked_pan,
            account_kind: b.account_kind.into(),
            holder_name_masked: b.holder_name_masked,
            issuer_name: b.issuer_name,
            created_at: unix_time(b.created_at),
        }
    }
}

/// Unix seconds as a time point (the epoch if out of range).
pub(crate) fn unix_time(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH
        .checked_add(Duration::from_secs(secs))
        .unwrap_or(SystemTime::UNIX_EPOCH)
}

/// The wallet of one installation. Close it (Kotlin `close()`, Swift/Python: drop the last
/// reference) before opening the same data directory again. Thread-safe.
#[derive(uniffi::Object)]
pub struct Wallet {
    /// The core wallet; replaced (not mutated) when secure elements are attached, so calls in
    /// flight keep the instance they started with.
    inner: RwLock<Arc<wallet_core::Wallet>>,
    /// SERAM agent settings applied when secure elements are attached (`None`: the core's).
    agent: Option<wallet_core::ota::AgentConfig>,
}

impl Wallet {
    /// The current core wallet.
    pub(crate) fn core(&self) -> Arc<wallet_core::Wallet> {
        self.inner
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Gives the core wallet access to the secure elements behind `transport` (replacing any
    /// earlier ones).
    pub(crate) fn attach(&self, transport: Arc<dyn wallet_core::se::SeTransport>) {
        let mut inner = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        let mut wallet = wallet_core::Wallet::clone(&inner).with_secure_elements(transport);
        if let Some(agent) = &self.agent {
            wallet = wallet.with_ota_config(agent.clone());
        }
        *inner = Arc::new(wallet);
    }

    /// [`Wallet::open`] and [`Wallet::open_with_signer`]: `signer` `None` keeps the core's
    /// sealed software keys.
    fn open_with(
        config: WalletConfig,
        key_store: Option<Arc<dyn KeyStore>>,
        log_sink: Option<Arc<dyn LogSink>>,
        signer: Option<Arc<dyn Signer>>,
    ) -> Result<Arc<Self>, WalletFfiError> {
        if let Some(sink) = log_sink {
            set_log_sink(Some(sink), LogLevel::Info);
        }
        let agent = agent_config(&config);
        let mut core_config = wallet_core::WalletConfig::new(config.data_dir, config.backend_url);
        core_config.request_timeout = Duration::from_millis(u64::from(config.request_timeout_ms));
        core_config.max_retries = config.max_retries;
        let key_store = key_store
            .map(|ks| Arc::new(ForeignKeyStore(ks)) as Arc<dyn wallet_core::store::KeyStore>);
        let signer =
            signer.map(|s| Arc::new(ForeignSigner(s)) as Arc<dyn wallet_core::signer::Signer>);
        let inner = wallet_core::Wallet::open_with_signer(core_config, key_store, signer)?;
        Ok(Arc::new(Self {
            inner: RwLock::new(Arc::new(inner)),
            agent,
        }))
    }
}

/// The SERAM agent settings for `config`, when it changes the core's defaults.
fn agent_config(config: &WalletConfig) -> Option<wallet_core::ota::AgentConfig> {
    let max_delay = config.ota_max_delay_ms?;
    Some(wallet_core::ota::AgentConfig {
        max_delay: Duration::from_millis(u64::from(max_delay)),
        // As the core decides by default: the mock world serves plain HTTP, production HTTPS.
        allow_http: config.backend_url.trim_start().starts_with("http://"),
        ..wallet_core::ota::AgentConfig::default()
    })
}

#[uniffi::export(async_runtime = "tokio")]
impl Wallet {
    /// Opens (or creates) the wallet in `config.data_dir`, with software device keys (see
    /// [`Wallet::open_with_signer`] for platform keys).
    ///
    /// `key_store` wraps the store's data key (Android Keystore / iOS Keychain); `None` keeps a
    /// software key file in the data directory (headless use, tests). `log_sink`, when given,
    /// becomes the library's log sink at [`LogLevel::Info`] (see [`set_log_sink`]).
    #[uniffi::constructor(default(key_store = None, log_sink = None))]
    pub fn open(
        config: WalletConfig,
        key_store: Option<Arc<dyn KeyStore>>,
        log_sink: Option<Arc<dyn LogSink>>,
    ) -> Result<Arc<Self>, WalletFfiError> {
        Self::open_with(config, key_store, log_sink, None)
    }

    /// Opens (or creates) the wallet in `config.data_dir` with the platform's [`Signer`] holding
    /// the bindings' device keys (Android Keystore / Secure Enclave): the key of each new binding
    /// is generated by `signer`, registered at the bank, and signs non-SE remote payments and
    /// password registrations. `key_store` and `log_sink` as in [`Wallet::open`].
    ///
    /// Open a data directory with the same kind of signer every time: the device keys of bindings
    /// made with the platform signer are not in the store, and the other way round.
    #[uniffi::constructor(default(key_store = None, log_sink = None))]
    pub fn open_with_signer(
        config: WalletConfig,
        signer: Arc<dyn Signer>,
        key_store: Option<Arc<dyn KeyStore>>,
        log_sink: Option<Arc<dyn LogSink>>,
    ) -> Result<Arc<Self>, WalletFfiError> {
        Self::open_with(config, key_store, log_sink, Some(signer))
    }

    /// This installation's device identifier (random, created on first open).
    pub fn device_id(&self) -> String {
        self.core().device_id().to_owned()
    }

    /// Starts binding a card: local checks, the bank's real-name check, then a one-time code by
    /// SMS to the phone on file. The ID number may be the full ID or at least its last 4
    /// characters.
    pub async fn begin_binding(
        &self,
        pan: String,
        holder_name: String,
        id_number: String,
        phone: String,
    ) -> Result<PendingBinding, WalletFfiError> {
        let request = BindingRequest {
            pan,
            holder_name,
            id_number,
            phone,
        };
        Ok(self.core().begin_binding(&request).await?.into())
    }

    /// Completes a binding with the one-time code. Safe to repeat after a lost answer.
    pub async fn confirm_binding(
        &self,
        session_id: String,
        otp: String,
    ) -> Result<Binding, WalletFfiError> {
        Ok(self.core().confirm_binding(&session_id, &otp).await?.into())
    }

    /// The cards bound to this wallet, oldest first.
    pub fn bindings(&self) -> Result<Vec<Binding>, WalletFfiError> {
        Ok(self
            .core()
            .bindings()?
            .into_iter()
            .map(Binding::from)
            .collect())
    }

    /// Bindings waiting for their one-time code.
    pub fn pending_bindings(&self) -> Result<Vec<PendingBinding>, WalletFfiError> {
        Ok(self
            .core()
            .pending_bindings()?
            .into_iter()
            .map(PendingBinding::from)
            .collect())
    }

    /// Unbinds a card: the bank revokes the device key, then the local binding and key are erased.
    pub async fn unbind(&self, binding_id: String) -> Result<(), WalletFfiError> {
        Ok(self.core().unbind(&binding_id).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_time_converts_seconds_and_saturates() {
        assert_eq!(
            unix_time(1_700_000_000)
                .duration_since(SystemTime::UNIX_EPOCH)
                .ok(),
            Some(Duration::from_secs(1_700_000_000))
        );
        assert_eq!(unix_time(u64::MAX), SystemTime::UNIX_EPOCH);
    }

    #[test]
    fn account_kinds_map_one_to_one() {
        assert_eq!(
            AccountKind::from(CoreAccountKind::ECash),
            AccountKind::ECash
        );
        assert_eq!(
            AccountKind::from(CoreAccountKind::QuasiCredit),
            AccountKind::QuasiCredit
        );
    }

    #[test]
    fn ota_delay_cap_is_applied_only_when_set() {
        let mut config = WalletConfig {
            data_dir: "unused".into(),
            backend_url: "http://127.0.0.1:8080".into(),
            request_timeout_ms: 1000,
            max_retries: 0,
            ota_max_delay_ms: None,
        };
        assert!(agent_config(&config).is_none());
        config.ota_max_delay_ms = Some(5);
        let agent = agent_config(&config).map(|a| (a.max_delay, a.allow_http));
        assert_eq!(agent, Some((Duration::from_millis(5), true)));
        config.backend_url = "https://tsm.example".into();
        let agent = agent_config(&config).map(|a| (a.max_delay, a.allow_http));
        assert_eq!(agent, Some((Duration::from_millis(5), false)));
    }

    #[test]
    fn open_with_a_bad_url_is_a_config_error() {
        let dir = std::env::temp_dir().join(format!("wallet-ffi-test-{}", std::process::id()));
        let config = WalletConfig {
            data_dir: dir.to_string_lossy().into_owned(),
            backend_url: "ftp://bank.example".into(),
            request_timeout_ms: 1000,
            max_retries: 0,
            ota_max_delay_ms: None,
        };
        let err = Wallet::open(config, None, None).err();
        let _ = std::fs::remove_dir_all(&dir);
        assert!(
            matches!(err, Some(WalletFfiError::Config { ref code, .. }) if code == "invalid_url"),
            "{err:?}"
        );
    }
}
