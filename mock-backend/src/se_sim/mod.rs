//! The SE simulator: GlobalPlatform cards (one per reader kind — eSE, SIM, microSD) that the
//! wallet reaches through [`wallet_core::se::SeTransport`] and the TSM manages with SCP03 (or
//! SCP02 on the legacy microSD), hosting the payment application.
//!
//! - [`SimulatedSe`] ([`card`]): one card — logical channels 0-19, MANAGE CHANNEL, dispatch to
//!   the selected security domain or applet, state saved after every change; [`select`]: SELECT
//!   by DF name (full, partial, next occurrence) and the PPSE of the payment applications.
//! - [`registry`]: card life cycle, load files, applications and security domains.
//! - [`sd`] with [`content`], [`store_data`], [`status`], [`domain_data`]: the security domain
//!   command processor — INITIALIZE UPDATE / EXTERNAL AUTHENTICATE through the core's
//!   [`Scp03Card`](wallet_core::gp::Scp03Card) / [`Scp02Card`](wallet_core::gp::Scp02Card),
//!   INSTALL, LOAD, STORE DATA, DELETE, GET STATUS, SET STATUS, PUT KEY, GET DATA.
//! - [`applet`]: the [`Applet`] trait between the card and its applications; [`payment`]: the
//!   payment application instance, which runs the core's
//!   [`CardApplication`](wallet_core::card::CardApplication) and saves its counters in the
//!   card's state file before it answers.
//! - [`state`]: the JSON state file of a card.
//! - [`transport`]: [`SimulatedSeTransport`], the three cards behind the OMAPI-shaped seam.
//! - [`vpcd`]: a card in a virtual PC/SC reader (vsmartcard's vpcd protocol).
//!
//! Keys, AIDs and conventions are documented in [`crate::world_keys`].
//!
//! ```
//! use mock_backend::se_sim::SimulatedSe;
//! use wallet_core::se::ReaderKind;
//!
//! let mut se = SimulatedSe::with_kdd(ReaderKind::Ese, *b"0123456789")?;
//! // GET DATA of the key diversification data, no secure channel needed.
//! let response = se.transmit(&[0x80, 0xCA, 0x00, 0xCF, 0x00]);
//! assert_eq!(&response[2..12], b"0123456789");
//! assert_eq!(&response[12..], [0x90, 0x00]);
//! # Ok::<(), mock_backend::se_sim::SeSimError>(())
//! ```

pub mod applet;
pub mod card;
pub mod content;
pub mod domain_data;
pub mod error;
mod handles;
pub mod payment;
pub mod registry;
pub mod sd;
mod secure_channel;
pub mod select;
pub mod state;
pub mod status;
pub mod store_data;
pub mod transport;
pub mod vpcd;

pub use applet::{Applet, AppletContext, AppletError, DurableState, GenericApplet, Volatile};
pub use card::{atr, SimulatedSe};
pub use error::SeSimError;
pub use payment::PaymentApplet;
pub use registry::{Body, Domain, Entry, LoadFile, Registry};
pub use transport::{SharedSe, SimulatedSeTransport};
pub use vpcd::serve_vpcd;
