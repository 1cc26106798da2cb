//! The TSM as the wallet sees it: air card opening and the card's life cycle on a secure
//! element. The wallet places a signed order with the TSM (`backend::api::tsm`), runs the GP
//! SERAM session the TSM answers with ([`crate::ota::LocalAgent`] relaying the TSM's SCP03 script
//! to the SE — the phone never holds card keys), then asks the TSM how the order ended and keeps
//! the card's record.
//!
//! Convergence: the wallet records a card as active only once the TSM says the order completed;
//! an interrupted opening leaves an `opening` record, and running it again places a new order,
//! which the TSM turns into a script that converges on exactly one personalised instance.

mod error;
mod manager;
mod model;

pub use error::CardError;
pub use manager::CardManager;
pub use model::{CardState, SeCard};
