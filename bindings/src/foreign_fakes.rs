//! Test-only platform implementations of every foreign trait, each able to fail one chosen
//! method the way a Kotlin or Swift implementation can: by throwing the declared exception, or
//! an undeclared one (which uniffi hands to Rust as an `UnexpectedUniFFICallbackError`).
//! Used by `foreign_faults_tests`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use mock_backend::se_sim::SimulatedSeTransport;
use wallet_core::crypto::ecdsa::P256SigningKey;
use wallet_core::se::SeTransport;

use crate::cards::{CardListenerError, CardOpeningListener, CardOpeningProgress};
use crate::keystore::{KeyStore, KeyStoreFfiError};
use crate::logging::{LogRecord, LogSink, LogSinkError};
use crate::se::{SeChannelOpened, SeFfiError, SeReaderInfo, SecureElementTransport};
use crate::signer::{Signer, SignerFfiError};

/// The 16 methods of the foreign traits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Method {
    Log,
    Readers,
    OpenSession,
    OpenLogicalChannel,
    OpenBasicChannel,
    Transmit,
    CloseChannel,
    CloseSession,
    OnProgress,
    WrapKey,
    UnwrapKey,
    GenerateKey,
    PublicKey,
    Sign,
    DeleteKey,
    #[cfg(feature = "test-hooks")]
    Transceive,
}

/// How the armed method fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    /// It throws the exception its trait declares (a typed `…FfiError`).
    Declared,
    /// It throws something else (`IllegalStateException`, a Swift error of another type).
    Undeclared,
    /// It throws a Kotlin `Error` (`NotImplementedError`, `AssertionError`), which uniffi 0.32's
    /// unpatched Kotlin code does not catch (mozilla/uniffi-rs#2903): JNA swallows it and Rust
    /// sees a successful call returning the FFI default — `()`, `0`, or an empty buffer that
    /// fails to lift.
    Escaped,
}

/// What Rust receives from a foreign method whose Kotlin `Error` escaped (see
/// [`Fault::Escaped`]).
pub(crate) trait EscapedReturn: Sized {
    fn escaped<E: From<uniffi::UnexpectedUniFFICallbackError>>() -> Result<Self, E>;
}

impl EscapedReturn for () {
    fn escaped<E: From<uniffi::UnexpectedUniFFICallbackError>>() -> Result<Self, E> {
        Ok(())
    }
}

impl EscapedReturn for u64 {
    fn escaped<E: From<uniffi::UnexpectedUniFFICallbackError>>() -> Result<Self, E> {
        Ok(0)
    }
}

/// Types lifted from a `RustBuffer`: the empty default buffer does not lift.
macro_rules! escaped_buffer {
    ($($t:ty),*) => {$(
        impl EscapedReturn for $t {
            fn escaped<E: From<uniffi::UnexpectedUniFFICallbackError>>() -> Result<Self, E> {
                Err(uniffi::UnexpectedUniFFICallbackError::new(
                    "not enough bytes remaining in buffer (0 < 4)",
                )
                .into())
            }
        }
    )*};
}
escaped_buffer!(Vec<u8>, Option<Vec<u8>>, Vec<SeReaderInfo>, SeChannelOpened);

/// Which method fails and how; counts the calls of each method and the failures injected.
#[derive(Default)]
pub(crate) struct Injector {
    armed: Mutex<Option<(Method, Fault)>>,
    calls: Mutex<HashMap<Method, usize>>,
    hits: AtomicUsize,
}

impl Injector {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// From now on `method` fails with `fault`.
    pub(crate) fn arm(&self, method: Method, fault: Fault) {
        *self.armed.lock().unwrap_or_else(PoisonError::into_inner) = Some((method, fault));
        self.hits.store(0, Ordering::SeqCst);
    }

    /// Every method works again.
    pub(crate) fn disarm(&self) {
        *self.armed.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// Failures injected since the last [`Injector::arm`].
    pub(crate) fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    /// Calls of `method` so far (failed or not).
    pub(crate) fn calls(&self, method: Method) -> usize {
        self.calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&method)
            .copied()
            .unwrap_or(0)
    }

    /// A call of `method`: `work` unless `method` is armed, else the failure as Rust receives it
    /// (`declared`, the error uniffi makes of an undeclared exception, or an escaped `Error`).
    pub(crate) fn run<T: EscapedReturn, E: From<uniffi::UnexpectedUniFFICallbackError>>(
        &self,
        method: Method,
        declared: impl FnOnce() -> E,
        work: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, E> {
        *self
            .calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(method)
            .or_default() += 1;
        let armed = *self.armed.lock().unwrap_or_else(PoisonError::into_inner);
        let fault = match armed {
            Some((m, fault)) if m == method => fault,
            _ => return work(),
        };
        self.hits.fetch_add(1, Ordering::SeqCst);
        match fault {
            Fault::Declared => Err(declared()),
            Fault::Undeclared => Err(uniffi::UnexpectedUniFFICallbackError::new(format!(
                "java.lang.IllegalStateException: {method:?} crashed"
            ))
            .into()),
            Fault::Escaped => T::escaped(),
        }
    }
}

/// The SE simulator behind the FFI trait, as an OMAPI bridge would be. A failing method fails
/// before touching the simulator (a failing close leaves the channel or session open).
pub(crate) struct FaultySe {
    pub(crate) sim: Arc<SimulatedSeTransport>,
    pub(crate) inj: Arc<Injector>,
}

fn se_io(what: &str) -> SeFfiError {
    SeFfiError::Io {
        error_message: what.to_owned(),
    }
}

impl SecureElementTransport for FaultySe {
    fn readers(&self) -> Result<Vec<SeReaderInfo>, SeFfiError> {
        let declared = || SeFfiError::AccessDenied {
            error_message: "no SE permission".into(),
        };
        self.inj.run(Method::Readers, declared, || {
            Ok(self
                .sim
                .readers()?
                .into_iter()
                .map(SeReaderInfo::from)
                .collect())
        })
    }
    fn open_session(&self, reader: String) -> Result<u64, SeFfiError> {
        self.inj.run(
            Method::OpenSession,
            || se_io("SE not responding"),
            || Ok(self.sim.open_session(reader)?),
        )
    }
    fn open_logical_channel(
        &self,
        session: u64,
        aid: Option<Vec<u8>>,
        p2: u8,
    ) -> Result<SeChannelOpened, SeFfiError> {
        let declared = || SeFfiError::NoFreeChannel {
            error_message: "openLogicalChannel returned null".into(),
        };
        self.inj.run(Method::OpenLogicalChannel, declared, || {
            Ok(self.sim.open_logical_channel(session, aid, p2)?.into())
        })
    }
    fn open_basic_channel(
        &self,
        session: u64,
        aid: Option<Vec<u8>>,
        p2: u8,
    ) -> Result<SeChannelOpened, SeFfiError> {
        let declared = || SeFfiError::NoFreeChannel {
            error_message: "openBasicChannel returned null".into(),
        };
        self.inj.run(Method::OpenBasicChannel, declared, || {
            Ok(self.sim.open_basic_channel(session, aid, p2)?.into())
        })
    }
    fn transmit(&self, channel: u64, apdu: Vec<u8>) -> Result<Vec<u8>, SeFfiError> {
        self.inj.run(
            Method::Transmit,
            || se_io("SE removed"),
            || Ok(self.sim.transmit(channel, apdu)?),
        )
    }
    fn close_channel(&self, channel: u64) -> Result<(), SeFfiError> {
        let declared = || SeFfiError::Closed {
            error_message: "already closed".into(),
        };
        self.inj.run(Method::CloseChannel, declared, || {
            Ok(self.sim.close_channel(channel)?)
        })
    }
    fn close_session(&self, session: u64) -> Result<(), SeFfiError> {
        self.inj.run(
            Method::CloseSession,
            || se_io("SE service died"),
            || Ok(self.sim.close_session(session)?),
        )
    }
}

/// P-256 keys in a map, like the Android Keystore.
pub(crate) struct FaultySigner {
    keys: Mutex<HashMap<String, P256SigningKey>>,
    pub(crate) inj: Arc<Injector>,
}

impl FaultySigner {
    pub(crate) fn new(inj: Arc<Injector>) -> Arc<Self> {
        Arc::new(Self {
            keys: Mutex::default(),
            inj,
        })
    }

    fn keys(&self) -> std::sync::MutexGuard<'_, HashMap<String, P256SigningKey>> {
        self.keys.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Number of keys held.
    pub(crate) fn key_count(&self) -> usize {
        self.keys().len()
    }
}

fn platform(code: &str) -> SignerFfiError {
    SignerFfiError::Platform {
        code: code.to_owned(),
        error_message: "StrongBox unavailable".to_owned(),
    }
}

impl Signer for FaultySigner {
    fn generate_key(&self, alias: String) -> Result<Vec<u8>, SignerFfiError> {
        let declared = || platform("strongbox_unavailable");
        self.inj.run(Method::GenerateKey, declared, || {
            let key = P256SigningKey::generate().map_err(|_| platform("rng"))?;
            let public = key.public_key_sec1();
            self.keys().insert(alias, key);
            Ok(public)
        })
    }
    fn public_key(&self, alias: String) -> Result<Option<Vec<u8>>, SignerFfiError> {
        let declared = || SignerFfiError::KeyNotFound {
            error_message: "key invalidated by new biometrics".into(),
        };
        self.inj.run(Method::PublicKey, declared, || {
            Ok(self.keys().get(&alias).map(P256SigningKey::public_key_sec1))
        })
    }
    fn sign(&self, alias: String, message: Vec<u8>) -> Result<Vec<u8>, SignerFfiError> {
        let declared = || SignerFfiError::UserNotAuthenticated {
            error_message: "biometric prompt needed".into(),
        };
        self.inj.run(Method::Sign, declared, || {
            let keys = self.keys();
            let key = keys.get(&alias).ok_or(SignerFfiError::KeyNotFound {
                error_message: alias.clone(),
            })?;
            key.sign(&message).map_err(|_| platform("sign"))
        })
    }
    fn delete_key(&self, alias: String) -> Result<(), SignerFfiError> {
        let declared = || SignerFfiError::KeyNotFound {
            error_message: "already gone".into(),
        };
        self.inj.run(Method::DeleteKey, declared, || {
            self.keys().remove(&alias);
            Ok(())
        })
    }
}

/// Wraps by XOR with `0x5A` (enough to tell wrapped from clear).
pub(crate) struct FaultyKeyStore {
    pub(crate) inj: Arc<Injector>,
}

fn xor(bytes: Vec<u8>) -> Vec<u8> {
    bytes.into_iter().map(|b| b ^ 0x5A).collect()
}

impl KeyStore for FaultyKeyStore {
    fn wrap_key(&self, _alias: String, key: Vec<u8>) -> Result<Vec<u8>, KeyStoreFfiError> {
        let declared = || KeyStoreFfiError::Failure {
            code: "user_not_authenticated".into(),
            error_message: "unlock the device first".into(),
        };
        self.inj.run(Method::WrapKey, declared, || Ok(xor(key)))
    }
    fn unwrap_key(&self, _alias: String, wrapped: Vec<u8>) -> Result<Vec<u8>, KeyStoreFfiError> {
        let declared = || KeyStoreFfiError::Unwrap {
            code: "tampered".into(),
            error_message: "GCM tag mismatch".into(),
        };
        self.inj
            .run(Method::UnwrapKey, declared, || Ok(xor(wrapped)))
    }
}

/// Counts the records it accepts.
pub(crate) struct FaultySink {
    pub(crate) inj: Arc<Injector>,
    pub(crate) accepted: AtomicUsize,
}

impl LogSink for FaultySink {
    fn log(&self, _record: LogRecord) -> Result<(), LogSinkError> {
        let declared = || LogSinkError::Failed {
            code: "disk_full".into(),
            error_message: "log file is full".into(),
        };
        self.inj.run(Method::Log, declared, || {
            self.accepted.fetch_add(1, Ordering::SeqCst);
            Ok(())
        })
    }
}

/// Records the progress reports it accepts.
pub(crate) struct FaultyListener {
    pub(crate) inj: Arc<Injector>,
    pub(crate) accepted: Mutex<Vec<CardOpeningProgress>>,
}

impl CardOpeningListener for FaultyListener {
    fn on_progress(&self, progress: CardOpeningProgress) -> Result<(), CardListenerError> {
        let declared = || CardListenerError::Failed {
            code: "ui_gone".into(),
            error_message: "activity destroyed".into(),
        };
        self.inj.run(Method::OnProgress, declared, || {
            self.accepted
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(progress);
            Ok(())
        })
    }
}

/// The phone in the terminal's field: hands each APDU to the wallet (as a `HostApduService`
/// does), failing from the `fail_from`-th APDU on (0-based) while armed.
#[cfg(feature = "test-hooks")]
pub(crate) struct FaultyPhone {
    pub(crate) wallet: Arc<crate::Wallet>,
    pub(crate) inj: Arc<Injector>,
    pub(crate) fail_from: usize,
    pub(crate) apdus: AtomicUsize,
}

#[cfg(feature = "test-hooks")]
impl crate::terminal::TappableCard for FaultyPhone {
    fn transceive(&self, apdu: Vec<u8>) -> Result<Vec<u8>, crate::terminal::TappableCardError> {
        if self.apdus.fetch_add(1, Ordering::SeqCst) < self.fail_from {
            return Ok(self.wallet.process_apdu(apdu));
        }
        let declared = || crate::terminal::TappableCardError::Lost;
        self.inj.run(Method::Transceive, declared, || {
            Ok(self.wallet.process_apdu(apdu))
        })
    }
}
