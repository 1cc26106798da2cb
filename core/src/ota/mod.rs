//! Air card opening: the GP SERAM *local agent* (`specs/gp-seram/`). The TSM (remote agent)
//! drives the session; the phone relays C-APDUs to its secure element and R-APDUs back. The
//! secure channel (SCP03) is end to end between TSM and SE: the phone never holds card keys.
//!
//! - [`seram`]: the GP SERAM wire format, shared with the mock TSM (the remote agent).
//! - [`agent`]: [`LocalAgent`] — handshake, HTTP polling, SE RAM command execution, reports.
//! - [`progress`]: [`OtaProgress`] and the [`OtaListener`] for the UI and the device
//!   application's notifications.
//! - [`error`]: the typed errors of a session, [`OtaError`].
//!
//! ```no_run
//! use std::sync::Arc;
//! use wallet_core::ota::{AgentConfig, LocalAgent};
//! use wallet_core::se::{SeService, SeTransport};
//!
//! async fn open_card(platform: Arc<dyn SeTransport>, session_id: &str) -> Result<u32, wallet_core::ota::OtaError> {
//!     let agent = LocalAgent::new(SeService::new(platform), AgentConfig::default());
//!     let outcome = agent.run("https://tsm.example/gp/seram", session_id).await?;
//!     Ok(outcome.round_trips)
//! }
//! ```

pub mod agent;
pub mod error;
mod exchange;
mod executor;
mod http;
pub mod identity;
pub mod progress;
pub mod seram;

#[cfg(test)]
mod tests;

pub use agent::{AgentConfig, ExecutionFailure, LocalAgent, OtaOutcome};
pub use error::OtaError;
pub use progress::{NoListener, OtaListener, OtaProgress, OtaStage};
