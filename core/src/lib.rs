//! `wallet-core`: the mobile payment wallet as an idiomatic Rust library.
//!
//! Mobile payment on financial IC cards (PBOC 3.0 / EMV): account binding, air card opening,
//! secure-element access, host card emulation, near-field and remote payment. This crate has no
//! FFI concerns; `bindings/` wraps it for Kotlin, Swift and Python.
//!
//! One folder per concept:
//! - [`apdu`]: ISO 7816-4 command / response APDUs, status words, BER-TLV, DOLs.
//! - [`crypto`]: every cryptographic primitive the wallet, the SE simulator and the mock servers use.
//! - [`store`]: the sealed, versioned sled store and the [`store::KeyStore`] platform seam.
//! - [`backend`]: the HTTP client and the wire types shared with the mock backend.
//! - [`binding`]: account binding (card check, real-name, SMS one-time code, device key).
//! - [`card`]: the contactless payment application (qPBOC / EMV), its AIDs, personalisation, keys and certificates.
//! - [`gp`]: GlobalPlatform secure channels (SCP03, SCP02) and card-management commands.
//! - [`hce`]: host card emulation — the token, its limited-use keys, the APDU responder for the
//!   Android HostApduService, replenishment.
//! - [`ota`]: air card opening — the GP SERAM local agent and its wire types.
//! - [`remote`]: remote (in-app) payment — merchant orders, the signed payment message (SE applet
//!   or device key + password / SMS code), idempotent submission, payment history.
//! - [`signer`]: the platform signing seam for device keys ([`signer::Signer`]).
//! - [`se`]: secure-element access modelled on OMAPI, the platform seam and the reader policy.
//! - [`tsm`]: air card opening and the card life cycle through the TSM (orders + SERAM).
//! - [`wallet`]: the facade the bindings expose.

pub mod apdu;
pub mod backend;
pub mod binding;
pub mod card;
pub mod clock;
pub mod crypto;
pub mod gp;
pub mod hce;
pub mod ota;
pub mod remote;
pub mod se;
pub mod signer;
pub mod store;
pub mod tsm;
pub mod wallet;

#[cfg(test)]
mod secrets_audit_tests;

pub use wallet::{Wallet, WalletConfig, WalletError};
