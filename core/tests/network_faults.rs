//! Network faults on every client call: a fault-injecting proxy
//! ([`mock_backend::fault_proxy`]) sits between the phone (and the POS terminal) and the mock
//! world. Each flow is run once cleanly to learn its calls, then once per call and per fault —
//! request dropped, answer lost after the server executed it, delayed past the client's timeout,
//! 5xx from a gateway before or after forwarding, body cut short, connection reset mid-answer —
//! on a fresh world. Each run must end in success or a clean typed error; repeating the
//! operation as the app would must then succeed; and the servers must hold no duplicate payment,
//! debit, binding or card instance.

mod support;

#[path = "network_faults/binding.rs"]
mod binding;
#[path = "network_faults/harness.rs"]
mod harness;
#[path = "network_faults/hce.rs"]
mod hce;
#[path = "network_faults/opening.rs"]
mod opening;

#[path = "network_faults/pos.rs"]
mod pos;
#[path = "network_faults/remote.rs"]
mod remote;
