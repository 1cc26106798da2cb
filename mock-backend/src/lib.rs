//! The mock world: every back-end entity the wallet talks to, as one real axum HTTP server.
//!
//! So far: the account management system ([`bank`]) and the SMS access channel ([`sms`]), speaking
//! the wire contract of [`wallet_core::backend::api`]. State lives in sled ([`persist`]); a
//! [`clock`] with a test offset drives expiries; [`idempotency`] keys make every state-changing
//! request safe to retry; [`error`] turns every failure into the contract's error body.
//!
//! ```no_run
//! # async fn demo() -> Result<(), mock_backend::MockError> {
//! let world = mock_backend::MockWorld::start(mock_backend::MockWorldConfig::default()).await?;
//! println!("serving on {}", world.url());
//! world.shutdown().await;
//! # Ok(()) }
//! ```

pub mod acquirer;
pub mod bank;
pub mod clearing;
pub mod clock;
pub mod error;
pub mod extract;
pub mod fault_proxy;
pub mod hce;
pub mod idempotency;
pub mod issuer;
pub mod merchant;
pub mod mtps;
pub mod persist;
pub mod pos;
pub mod rps;
pub mod se_sim;
pub mod server;
pub mod sms;
pub mod state;
pub mod tsm;
pub mod world_keys;

pub use error::ApiError;
pub use server::{router, ClockAdvanceRequest, ClockState, MockError, MockWorld, MockWorldConfig};
pub use state::AppState;
