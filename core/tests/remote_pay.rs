//! Remote payment end to end against the in-process mock world: the merchant platform creates an
//! order, the wallet pays it in non-SE mode (device key + payment password, or + SMS code) and in
//! SE mode (the card's applet signs after the PIN), and the bank's balance moves exactly once —
//! also when an answer is lost and the payment is repeated, across an app or RPS restart.

mod support;

#[path = "remote_pay/helpers.rs"]
mod helpers;
#[path = "remote_pay/password.rs"]
mod password;
#[path = "remote_pay/relay.rs"]
mod relay;
#[path = "remote_pay/retry.rs"]
mod retry;
#[path = "remote_pay/se.rs"]
mod se;
#[path = "remote_pay/signer.rs"]
mod signer;
#[path = "remote_pay/sms.rs"]
mod sms;
#[path = "remote_pay/tamper.rs"]
mod tamper;
