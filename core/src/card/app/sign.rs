//! Remote-payment signing: VERIFY of the cardholder PIN and PERFORM SECURITY OPERATION /
//! COMPUTE DIGITAL SIGNATURE with the key the card generated at personalisation
//! ([`crate::card::signing`]).
//!
//! VERIFY `00 20 00 80 08 <PIN block>` (ISO 9564 format 2, `2L PP..P F..F`): `9000` and the
//! PIN counts as verified for the current selection; a wrong PIN `63Cx` (x tries left, out of
//! [`PIN_TRY_LIMIT`]), counted durably *before* the answer ([`CardCounterStore::persist_pin_tries`];
//! `6581` if that fails, and nothing changes); once no try is left `6983`. A right PIN resets the
//! counter. Without data (`00 20 00 80`) it reports the state: `63Cx`, or `6983` when blocked.
//! A malformed block: `6A80` (not counted). P1-P2 other than `00 80`: `6A86`; Lc other than 0 or
//! 8: `6700`.
//!
//! PSO / COMPUTE DIGITAL SIGNATURE `00 2A 9E 9A Lc <message> [Le]` (short or extended, 1 to
//! [`MAX_MESSAGE_LEN`] bytes): the signature of the message as is (the card hashes: SHA-256 for
//! P-256, SM3 over `Z ‖ message` for SM2); `6982` unless VERIFY succeeded since the application
//! was selected. Each signature consumes the verification (one PIN per signature). Other P1-P2:
//! `6A86`; no or too long a message: `6700`.
//!
//! Both need an application selected (not the PPSE; `6985` otherwise). A card personalised
//! without a PIN (HCE, older SE cards) answers `6A88` (referenced data not found) — the same
//! answer GET DATA `DF61` gives for the missing public key.
//!
//! [`CardCounterStore::persist_pin_tries`]: crate::card::CardCounterStore::persist_pin_tries

use super::{status, CardApplication};
use crate::apdu::{CommandApdu, ResponseApdu, Status};
use crate::card::counters::CardContext;
use crate::card::signing::{PinBlock, PIN_BLOCK_LEN, PIN_TRY_LIMIT};

/// Longest message PSO COMPUTE DIGITAL SIGNATURE signs.
pub const MAX_MESSAGE_LEN: usize = 1024;

impl CardApplication {
    /// VERIFY (plaintext offline PIN, `P2 = 80`).
    pub(super) fn verify(&mut self, cmd: &CommandApdu, ctx: &mut CardContext<'_>) -> ResponseApdu {
        if (cmd.p1(), cmd.p2()) != (0x00, 0x80) {
            return status(Status::IncorrectP1P2);
        }
        let data = cmd.data();
        if !data.is_empty() && data.len() != PIN_BLOCK_LEN {
            return status(Status::WrongLength);
        }
        if self.selected().is_none() {
            return status(Status::ConditionsNotSatisfied);
        }
        let Some(signing) = &self.signing else {
            return status(Status::ReferencedDataNotFound);
        };
        if self.pin_tries_left == 0 {
            return status(Status::AuthMethodBlocked);
        }
        if data.is_empty() {
            return status(Status::VerificationFailed {
                retries_left: self.pin_tries_left,
            });
        }
        let Some(presented) = PinBlock::parse(data) else {
            return status(Status::IncorrectData);
        };
        self.pin_verified = false;
        let right = signing.pin.matches(&presented);
        let next = if right {
            PIN_TRY_LIMIT
        } else {
            self.pin_tries_left - 1
        };
        if next != self.pin_tries_left {
            if ctx.counters.persist_pin_tries(next).is_err() {
                return status(Status::MemoryFailure);
            }
            self.pin_tries_left = next;
        }
        if right {
            self.pin_verified = true;
            status(Status::Success)
        } else {
            status(Status::VerificationFailed { retries_left: next })
        }
    }

    /// PERFORM SECURITY OPERATION: COMPUTE DIGITAL SIGNATURE.
    pub(super) fn perform_security_operation(&mut self, cmd: &CommandApdu) -> ResponseApdu {
        if (cmd.p1(), cmd.p2()) != (0x9E, 0x9A) {
            return status(Status::IncorrectP1P2);
        }
        let message = cmd.data();
        if message.is_empty() || message.len() > MAX_MESSAGE_LEN {
            return status(Status::WrongLength);
        }
        if self.selected().is_none() {
            return status(Status::ConditionsNotSatisfied);
        }
        let Some(signing) = &self.signing else {
            return status(Status::ReferencedDataNotFound);
        };
        if !std::mem::take(&mut self.pin_verified) {
            return status(Status::SecurityStatusNotSatisfied);
        }
        match signing.key.sign(message) {
            Ok(signature) => ResponseApdu::success(signature),
            Err(_) => status(Status::NoPreciseDiagnosis),
        }
    }
}
