//! GET STATUS (the registry, tag-based format, `6310` continuation) and SET STATUS (card life
//! cycle; lock and unlock of applications and security domains).
//!
//! SET STATUS of an application: P2 with b8 set locks it (keeping its state, GET STATUS then
//! shows b8 set); P2 with b8 clear unlocks a locked application back to the state it was
//! locked in, or moves a selectable, unlocked one to an application-specific state (P2 with
//! `07` in its low bits). SET STATUS `60` applies the same to a security domain and every
//! entry associated with it. Only the ISD changes the card life cycle (transitions of
//! [`CardLifeCycle::can_transition_to`]).

use wallet_core::apdu::{CommandApdu, ResponseApdu};
use wallet_core::gp::commands::{GetStatus, RegistryEntry, SetStatus, SetStatusScope};
use wallet_core::gp::{Aid, AppLifeCycle, CardLifeCycle};

use super::error::{sw, CardResult, Refusal};
use super::sd::SdContext;
use super::secure_channel::StatusCursor;

/// Most response data one GET STATUS answer carries before `6310` (room left for R-MAC and
/// R-ENCRYPTION padding within a short response).
pub const MAX_STATUS_DATA: usize = 200;

/// The new life cycle of an application after SET STATUS with `p2`.
pub(crate) fn next_app_state(current: AppLifeCycle, p2: u8) -> Result<AppLifeCycle, Refusal> {
    if p2 & AppLifeCycle::LOCK_BIT != 0 {
        return Ok(current.locked());
    }
    if current.is_locked() {
        return Ok(current.unlocked());
    }
    let next = AppLifeCycle::from_byte(p2).map_err(|_| Refusal(sw::WRONG_DATA))?;
    if current.is_selectable() && next.is_selectable() {
        Ok(next)
    } else {
        Err(Refusal(sw::CONDITIONS))
    }
}

impl SdContext<'_> {
    /// GET STATUS.
    pub(crate) fn get_status(&mut self, cmd: &CommandApdu) -> CardResult {
        let query = GetStatus::parse(cmd)?;
        let entries = self
            .registry
            .status(query.scope, &query.aid_prefix, &self.sd());
        let session = self
            .channel
            .session
            .as_mut()
            .ok_or(Refusal(sw::SECURITY_STATUS))?;
        let start = if query.next {
            match session.status_cursor.take() {
                Some(c) if c.scope == query.scope && c.prefix == query.aid_prefix => c.next,
                _ => return Err(Refusal(sw::WRONG_P1P2)),
            }
        } else {
            session.status_cursor = None;
            0
        };
        if entries.is_empty() {
            return Err(Refusal(sw::DATA_NOT_FOUND));
        }
        let mut data = Vec::new();
        let mut next = start;
        for entry in entries.iter().skip(start) {
            let encoded = RegistryEntry::encode_all(std::slice::from_ref(entry))?;
            if next > start && data.len() + encoded.len() > MAX_STATUS_DATA {
                break;
            }
            data.extend(encoded);
            next += 1;
        }
        if next < entries.len() {
            session.status_cursor = Some(StatusCursor {
                scope: query.scope,
                prefix: query.aid_prefix,
                next,
            });
            Ok(ResponseApdu::new(data, sw::MORE_DATA))
        } else {
            Ok(ResponseApdu::success(data))
        }
    }

    /// SET STATUS.
    pub(crate) fn set_status(&mut self, cmd: &CommandApdu) -> CardResult {
        let change = SetStatus::parse(cmd)?;
        let target = match (change.scope, change.aid) {
            (SetStatusScope::IssuerSecurityDomain, aid) => {
                if !self.is_isd() || aid.is_some_and(|a| !self.registry.is_isd(&a)) {
                    return Err(Refusal(sw::CONDITIONS));
                }
                let next =
                    CardLifeCycle::from_byte(change.state).map_err(|_| Refusal(sw::WRONG_DATA))?;
                if !self.registry.card_life_cycle.can_transition_to(next) {
                    return Err(Refusal(sw::CONDITIONS));
                }
                self.registry.card_life_cycle = next;
                *self.dirty = true;
                return Ok(ResponseApdu::success(Vec::new()));
            }
            (_, Some(aid)) => aid,
            (_, None) => return Err(Refusal(sw::WRONG_DATA)),
        };
        let entry = self
            .registry
            .entry(&target)
            .ok_or(Refusal(sw::DATA_NOT_FOUND))?;
        if self.registry.is_isd(&target) || !self.may_address(&entry.associated_sd, &entry.aid) {
            return Err(Refusal(sw::DATA_NOT_FOUND));
        }
        let mut affected: Vec<Aid> = vec![target.clone()];
        if change.scope == SetStatusScope::DomainAndApplications {
            if entry.domain().is_none() {
                return Err(Refusal(sw::WRONG_DATA));
            }
            affected.extend(
                self.registry
                    .entries
                    .iter()
                    .filter(|e| e.associated_sd == target && e.aid != target)
                    .map(|e| e.aid.clone()),
            );
        }
        let mut updates = Vec::with_capacity(affected.len());
        for aid in &affected {
            if let Some(e) = self.registry.entry(aid) {
                updates.push((aid.clone(), next_app_state(e.life_cycle, change.state)?));
            }
        }
        for (aid, state) in updates {
            if let Some(e) = self.registry.entry_mut(&aid) {
                e.life_cycle = state;
            }
        }
        *self.dirty = true;
        Ok(ResponseApdu::success(Vec::new()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn application_state_transitions() {
        let personalized = AppLifeCycle::PERSONALIZED;
        let locked = next_app_state(personalized, 0x80).unwrap();
        assert_eq!(locked.value(), 0x8F);
        assert_eq!(next_app_state(locked, 0x00).unwrap(), personalized);
        assert_eq!(next_app_state(locked, 0x07).unwrap(), personalized);
        assert_eq!(
            next_app_state(AppLifeCycle::SELECTABLE, 0x0F).unwrap(),
            personalized
        );
        assert_eq!(
            next_app_state(AppLifeCycle::INSTALLED, 0x07),
            Err(Refusal(sw::CONDITIONS))
        );
        assert_eq!(
            next_app_state(AppLifeCycle::SELECTABLE, 0x01),
            Err(Refusal(sw::WRONG_DATA))
        );
    }
}
