//! What the issuer sends back to the card through the terminal after an online approval: the
//! ARPC (EXTERNAL AUTHENTICATE) and the e-cash load's issuer script (PUT DATA `9F79`).

use super::card::{CardIoError, ContactlessCard, Session};
use super::outcome::{IssuerAuthentication, ScriptResult, TapError};
use super::trace::Trace;
use wallet_core::apdu::CommandApdu;

/// Sends the issuer script `script` (hex) if it is a PUT DATA `9F79` (class `04` / `84`).
pub(super) fn apply_script<C: ContactlessCard + ?Sized>(
    card: &mut C,
    trace: &mut Trace,
    script: Option<&str>,
) -> ScriptResult {
    let cmd = script
        .and_then(|h| hex::decode(h).ok())
        .and_then(|bytes| CommandApdu::parse(&bytes).ok())
        .filter(|c| {
            matches!(
                (c.cla(), c.ins(), c.p1(), c.p2()),
                (0x04 | 0x84, 0xDA, 0x9F, 0x79)
            )
        });
    let Some(cmd) = cmd else {
        return ScriptResult::NotSent;
    };
    let mut session = Session { card, trace };
    match session.exchange("PUT DATA", &cmd) {
        Ok(r) if r.is_success() => ScriptResult::Applied,
        Ok(r) => ScriptResult::Rejected(r.sw),
        Err(TapError::CardIo { source, .. }) => ScriptResult::CardUnavailable(source),
        Err(err) => ScriptResult::CardUnavailable(CardIoError::Transport(err.to_string())),
    }
}

/// EXTERNAL AUTHENTICATE `00 82 00 00 0A ARPC ‖ ARC`.
pub(super) fn issuer_authentication<C: ContactlessCard + ?Sized>(
    card: &mut C,
    trace: &mut Trace,
    arpc: &[u8],
    arc: [u8; 2],
) -> IssuerAuthentication {
    let Ok(cmd) = CommandApdu::new(0x00, 0x82, 0x00, 0x00).with_data([arpc, &arc[..]].concat())
    else {
        return IssuerAuthentication::CardUnavailable(CardIoError::Transport(
            "ARPC does not fit a command".into(),
        ));
    };
    let mut session = Session { card, trace };
    match session.exchange("EXTERNAL AUTHENTICATE", &cmd) {
        Ok(r) if r.is_success() => IssuerAuthentication::Passed,
        Ok(r) => IssuerAuthentication::Failed(r.sw),
        Err(TapError::CardIo { source, .. }) => IssuerAuthentication::CardUnavailable(source),
        Err(err) => IssuerAuthentication::CardUnavailable(CardIoError::Transport(err.to_string())),
    }
}
