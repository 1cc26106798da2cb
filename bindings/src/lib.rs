//! `wallet-ffi`: the uniffi facade of `wallet-core` for Kotlin, Swift and Python.
//!
//! The core stays an idiomatic Rust library; this crate converts its types and errors into the
//! small set that crosses the FFI boundary, owns the async runtime and defines the platform
//! services the apps implement (foreign traits):
//! - [`cards`]: air card opening and the card life cycle ([`Wallet`] methods, [`SeCard`],
//!   the [`CardOpeningListener`] foreign trait).
//! - [`diagnostics`]: version, byte echo (FFI cost benchmark), backend reachability.
//! - [`error`]: the typed errors every exported function returns.
//! - [`logging`]: the [`LogSink`] foreign trait that receives the library's log events.
//! - [`se`]: the [`SecureElementTransport`] foreign trait (Android OMAPI) and its records.
//! - `simulated` (feature `test-hooks`): `SimulatedSecureElements`, the mock world's SE
//!   simulator as a transport for the binding tests.
//! - [`hce`]: host card emulation ([`Wallet`] methods for the `HostApduService`,
//!   [`HceCardInfo`]).
//! - `terminal` (feature `test-hooks`): `MockTerminal`, the mock world's POS terminal tapping a
//!   foreign `TappableCard` (the test calling `Wallet.process_apdu`) or a simulated SE.
//! - `simulated_card` (feature `test-hooks`): raw APDUs to the simulated cards
//!   (`SimulatedSecureElements::card_transmit`), for tests standing in for the platform SE service.
//! - [`keystore`]: the [`KeyStore`] foreign trait (Android Keystore / iOS Keychain).
//! - [`signer`]: the [`Signer`] foreign trait (Android Keystore / Secure Enclave device keys);
//!   with `test-hooks`, `SoftwareP256Key` (a Rust-held key for test signers in Python).
//! - [`remote`]: remote (in-app) payment ([`Wallet`] methods, [`Order`], [`PayAuth`],
//!   [`RemotePayment`]).
//! - `merchant` (feature `test-hooks`): `MockMerchant`, the mock payment content platform's
//!   merchant side (create orders, read their result).
//! - [`wallet`]: the [`Wallet`] object (account binding) and its records.
//! - [`wallet_error`]: [`WalletFfiError`], the core's errors as the apps see them.
//!
//! Generated bindings (build output, never committed) come from `scripts/gen-bindings.sh`; names of
//! the foreign modules are set in `uniffi.toml` beside `Cargo.toml`.

uniffi::setup_scaffolding!();

pub mod cards;
pub mod diagnostics;
pub mod error;
#[cfg(test)]
mod foreign_fakes;
#[cfg(test)]
mod foreign_faults_tests;
pub mod hce;
pub mod keystore;
pub mod logging;
#[cfg(feature = "test-hooks")]
pub mod merchant;
pub mod remote;
pub mod se;
pub mod signer;
#[cfg(feature = "test-hooks")]
pub mod simulated;
#[cfg(feature = "test-hooks")]
pub mod simulated_card;
#[cfg(feature = "test-hooks")]
pub mod terminal;
pub mod wallet;
pub mod wallet_error;

pub use cards::{
    CardListenerError, CardOpeningListener, CardOpeningProgress, CardOpeningStage, CardState,
    SeCard,
};
pub use diagnostics::{
    core_version, delayed_echo, echo_bytes, normalize_backend_url, ping_backend,
};
pub use error::FfiError;
pub use hce::{CryptogramAlgorithm, HceCardInfo};
pub use keystore::{key_store_round_trip, KeyStore, KeyStoreFfiError};
pub use logging::{set_log_sink, LogLevel, LogRecord, LogSink, LogSinkError};
pub use remote::{
    AuthMode, Order, OrderStatus, PasswordStatus, PayAuth, RemotePayment, SmsChallenge,
};
pub use se::{SeChannelOpened, SeFfiError, SeReaderInfo, SeReaderKind, SecureElementTransport};
pub use signer::{Signer, SignerFfiError};
pub use wallet::{AccountKind, Binding, PendingBinding, Wallet, WalletConfig};
pub use wallet_error::WalletFfiError;

#[cfg(feature = "test-hooks")]
pub use diagnostics::debug_panic;
#[cfg(feature = "test-hooks")]
pub use merchant::MockMerchant;
#[cfg(feature = "test-hooks")]
pub use signer::SoftwareP256Key;
#[cfg(feature = "test-hooks")]
pub use simulated::SimulatedSecureElements;
#[cfg(feature = "test-hooks")]
pub use terminal::{MockTerminal, TapDecision, TapResult, TappableCard, TappableCardError};
