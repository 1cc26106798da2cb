//! Remote (in-app) payment: merchant orders, the signed payment message, submission to the
//! remote payment system (RPS), payment history.
//!
//! Two modes (see [`crate::backend::api::remote`] for the wire contract and the canonical
//! message encoding):
//! - **SE mode** ([`PayAuth::Se`]): the payment applet of the card in a secure element signs the
//!   message after verifying the user's PIN.
//! - **non-SE mode** ([`PayAuth::Password`], [`PayAuth::Sms`]): the binding's device key signs
//!   (through the platform [`crate::signer::Signer`]); the payer proves themselves with a
//!   payment password (only a PBKDF2 verifier ever leaves the phone, and per payment an HMAC
//!   proof) or an SMS one-time code.
//!
//! Every submission is persisted (sealed) before it is sent and re-sent unchanged with the same
//! idempotency key after a lost answer, so an order is never paid twice.

mod error;
mod history;
mod model;
mod payer;
mod se_applet;
mod se_mode;
mod validate;

pub use crate::backend::api::remote::{AuthMode, Order, OrderStatus, PasswordStatus, SmsChallenge};
pub use error::RemotePayError;
pub use model::{PayAuth, RemotePayment};
pub use payer::RemotePayer;
pub use se_applet::{sign_with_applet, SeSignError};
