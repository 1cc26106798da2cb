//! Host card emulation (HCE): without a secure element, the phone answers the POS terminal with
//! the same card application the SE runs ([`crate::card`]), personalised as a *token* whose
//! cryptograms use limited-use keys provisioned by the token service
//! ([`crate::backend::api::hce`]).
//!
//! - [`luk`]: the limited-use key derivation shared with the token service and the issuer.
//! - [`model`]: the token's card record and key state in the store, [`HceCardInfo`],
//!   [`HceConfig`].
//! - [`responder`]: [`HceResponder`], the APDU path of the Android `HostApduService`: ATC and key
//!   use persisted durably before any cryptogram leaves, `6985` without a usable key.
//! - [`manager`]: [`HceManager`], provisioning, the default card, and replenishment (explicit,
//!   or in the background on the wallet's tokio runtime, one at a time, idempotent).
//! - [`error`]: the failures of provisioning and replenishment ([`HceError`]).
//!
//! Without an SE, [`crate::Wallet::open_card`] still answers `NoSecureElement`: the caller
//! chooses HCE explicitly with [`crate::Wallet::open_hce_card`].

pub mod error;
pub mod luk;
pub mod manager;
pub mod model;
pub mod responder;

pub use error::HceError;
pub use manager::HceManager;
pub use model::{DeactivationReason, HceCardInfo, HceCardRecord, HceConfig, KeyState};
pub use responder::HceResponder;
