//! Account binding: bind a bank card to this wallet (local checks → the bank's real-name check →
//! SMS one-time code → device key registration), list bindings, unbind.
//!
//! The flow is safe to repeat at every step: the pending binding (with its device key, sealed)
//! is persisted before the confirm request leaves, and the confirm request carries an idempotency
//! key derived from the attempt, so a confirm retried after a lost answer yields the same binding.

mod error;
mod flow;
mod model;
pub mod validate;

pub use error::BindingError;
pub use flow::Binder;
pub use model::{Binding, BindingRequest, PendingBinding};
