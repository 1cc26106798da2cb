//! Talking to the back end: the wire types shared with the mock backend ([`api`]) and the HTTP
//! client ([`client`]).

pub mod api;
pub mod client;

pub use client::{BackendClient, BackendError, ClientConfig};
