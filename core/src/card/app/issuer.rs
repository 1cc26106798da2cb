//! What the issuer sends back through the terminal after an ARQC: issuer authentication and the
//! e-cash load script.
//!
//! EXTERNAL AUTHENTICATE `00 82 00 00 0A ARPC (8) ‖ ARC (2)`: checks the ARPC (method 1) of the
//! transaction's ARQC: `9000`, or `6300` if wrong. Once per transaction; without an ARQC in this
//! selection `6985`. It is optional: the load script does not depend on it.
//!
//! PUT DATA `04 DA 9F 79 0A new-balance (n12, 6) ‖ MAC (4)` (class `04`, or EMV's `84`): the
//! issuer script of an e-cash load (圈存). The MAC ([`crate::card::keys::script_mac`]) is over
//! `CLA DA 9F 79 0A ‖ ATC ‖ ARQC ‖ new balance` under the SMI session key of the transaction's
//! ATC. One attempt per transaction (a second one, or none without an ARQC: `6985`); wrong MAC
//! `6988`; new balance not BCD or above the balance limit `6A80`; another tag or a card without
//! e-cash `6A88`; Lc other than `0A` `6700`. The balance changes only after the store persisted
//! it (else `6581`).

use super::{status, CardApplication, OnlineSession, Selection};
use crate::apdu::{CommandApdu, ResponseApdu, Status};
use crate::card::counters::CardContext;
use crate::card::keys::{verify_arpc_method_1, verify_script_mac, SessionKey, SCRIPT_MAC_LEN};
use crate::card::perso::parse_amount_n12;

/// `6300`: issuer authentication failed.
const SW_AUTHENTICATION_FAILED: u16 = 0x6300;
/// Length of PUT DATA `9F79`'s data field: n12 value and MAC.
const PUT_BALANCE_LEN: usize = 6 + SCRIPT_MAC_LEN;

impl CardApplication {
    /// The online session of the current transaction, with its ATC.
    fn online_session(&mut self) -> Option<(u16, &mut OnlineSession)> {
        match &mut self.selection {
            Selection::Application {
                processed: Some(atc),
                online: Some(session),
                ..
            } => Some((*atc, session)),
            _ => None,
        }
    }

    pub(super) fn external_authenticate(&mut self, cmd: &CommandApdu) -> ResponseApdu {
        if cmd.p1() != 0 || cmd.p2() != 0 {
            return status(Status::IncorrectP1P2);
        }
        let Ok::<&[u8; 10], _>(data) = cmd.data().try_into() else {
            return status(Status::WrongLength);
        };
        let crypto = self.profile.perso.crypto;
        let master = self.profile.perso.keys.ac.clone();
        let Some((atc, session)) = self.online_session() else {
            return status(Status::ConditionsNotSatisfied);
        };
        if session.issuer_authentication_tried {
            return status(Status::ConditionsNotSatisfied);
        }
        session.issuer_authentication_tried = true;
        let arqc = session.arqc;
        let (arpc, arc) = data.split_at(8);
        let Ok::<[u8; 2], _>(arc) = arc.try_into() else {
            return status(Status::WrongLength);
        };
        let verified = SessionKey::derive(crypto, &master, atc)
            .and_then(|key| verify_arpc_method_1(&key, &arqc, &arc, arpc));
        match verified {
            Ok(()) => ResponseApdu::success(Vec::new()),
            Err(_) => ResponseApdu::status_only(SW_AUTHENTICATION_FAILED),
        }
    }

    pub(super) fn put_data(
        &mut self,
        cmd: &CommandApdu,
        ctx: &mut CardContext<'_>,
    ) -> ResponseApdu {
        let Some(params) = self.profile.perso.ecash else {
            return status(Status::ReferencedDataNotFound);
        };
        if (cmd.p1(), cmd.p2()) != (0x9F, 0x79) {
            return status(Status::ReferencedDataNotFound);
        }
        let data = cmd.data();
        if data.len() != PUT_BALANCE_LEN {
            return status(Status::WrongLength);
        }
        let crypto = self.profile.perso.crypto;
        let master = self.profile.perso.keys.smi.clone();
        let Some((atc, session)) = self.online_session() else {
            return status(Status::ConditionsNotSatisfied);
        };
        if session.script_tried {
            return status(Status::ConditionsNotSatisfied);
        }
        // One MAC check per transaction: a wrong guess cannot be retried under the same key.
        session.script_tried = true;
        let arqc = session.arqc;
        let (value, mac) = data.split_at(6);
        let header = [
            cmd.cla(),
            cmd.ins(),
            cmd.p1(),
            cmd.p2(),
            PUT_BALANCE_LEN as u8,
        ];
        let verified = SessionKey::derive(crypto, &master, atc)
            .and_then(|key| verify_script_mac(&key, &header, atc, &arqc, value, mac));
        if verified.is_err() {
            return status(Status::SmDataObjectsIncorrect);
        }
        let new_balance = match parse_amount_n12(value) {
            Ok(balance) if balance <= params.balance_limit => balance,
            _ => return status(Status::IncorrectData),
        };
        let next = crate::card::CardCounters {
            ecash_balance: Some(new_balance),
            ..self.counters
        };
        if ctx.counters.persist(&next).is_err() {
            return status(Status::MemoryFailure);
        }
        self.counters = next;
        ResponseApdu::success(Vec::new())
    }
}
