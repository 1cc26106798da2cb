//! Secure-element access, modelled on OMAPI (`android.se.omapi`):
//! [`SeService`] → [`Reader`] (kind eSE / SIM / SD) → [`Session`] → [`Channel`] → transmit.
//!
//! - [`transport`]: the platform seam [`SeTransport`] — FFI-friendly (owned values, `u64`
//!   handles, `Result` everywhere). Android implements it with `android.se.omapi`, the SE
//!   simulator headless.
//! - [`service`] and [`channel`]: idiomatic RAII wrappers. Channels and sessions close on drop; a
//!   channel keeps its session open; [`Channel::transmit`] follows `61xx` with GET RESPONSE and
//!   re-issues a `6Cxx` command with the right Le.
//! - [`policy`]: which SE to use — the user's preferred kind if present, else eSE → SIM → SD,
//!   else [`SeRoute::Hce`] (no SE is a route, not an error).
//! - [`error`]: the typed errors of SE access, [`SeError`].
//!
//! ```
//! use std::sync::Arc;
//! use wallet_core::se::{SeRoute, SeService, SeTransport};
//!
//! fn pay_route(platform: Arc<dyn SeTransport>) -> Result<&'static str, wallet_core::se::SeError> {
//!     Ok(match SeService::new(platform).route(None)? {
//!         SeRoute::Se(_reader) => "secure element",
//!         SeRoute::Hce => "host card emulation",
//!     })
//! }
//! ```

pub mod channel;
pub mod error;
pub mod policy;
pub mod service;
pub mod transport;

#[cfg(test)]
pub(crate) mod fake;
#[cfg(test)]
mod tests;

pub use channel::Channel;
pub use error::SeError;
pub use policy::{choose_reader, preference_order, SeRoute};
pub use service::{Reader, SeService, Session};
pub use transport::{ChannelOpened, ReaderInfo, ReaderKind, SeTransport};
