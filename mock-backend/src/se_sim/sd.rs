//! The command processor of a selected security domain (the ISD or an SSD): INITIALIZE UPDATE
//! and EXTERNAL AUTHENTICATE open the secure channel; every later command is unwrapped (C-MAC,
//! C-DECRYPTION), executed and its response wrapped (R-MAC, R-ENCRYPTION). A failed
//! verification answers `6982` and closes the session, so the next secured command is refused
//! too.
//!
//! Card content management (INSTALL, LOAD, DELETE, STORE DATA, PUT KEY, GET STATUS, SET
//! STATUS) needs an open session; GET DATA does not.

use wallet_core::apdu::{Class, CommandApdu, ResponseApdu, SecureMessaging};
use wallet_core::gp::commands::ins;
use wallet_core::gp::{Aid, CardLifeCycle, Privileges};
use wallet_core::se::ReaderKind;

use super::card::ChannelState;
use super::error::{respond, sw, CardResult, Refusal};
use super::registry::Registry;
use super::secure_channel::{ScpCard, SdSession};
use crate::world_keys::KDD_LEN;

/// Everything a security domain command may touch.
pub(crate) struct SdContext<'a> {
    /// The SE kind.
    pub(crate) kind: ReaderKind,
    /// The card's key diversification data.
    pub(crate) kdd: [u8; KDD_LEN],
    /// The registry.
    pub(crate) registry: &'a mut Registry,
    /// The logical channel the command came on (its selected SD and session).
    pub(crate) channel: &'a mut ChannelState,
    /// The AIDs selected on every open logical channel (DELETE refuses them).
    pub(crate) selected: &'a [Aid],
    /// Set when the registry changed and must be saved.
    pub(crate) dirty: &'a mut bool,
}

impl SdContext<'_> {
    /// Processes one command APDU addressed to the selected security domain.
    pub(crate) fn process(&mut self, cmd: &CommandApdu) -> ResponseApdu {
        let proprietary = Class::new(cmd.cla()).is_proprietary();
        if self.registry.card_life_cycle == CardLifeCycle::Terminated
            && !(cmd.ins() == ins::GET_DATA && self.channel.session.is_none())
        {
            return ResponseApdu::status_only(sw::FUNCTION_NOT_SUPPORTED);
        }
        respond(match cmd.ins() {
            ins::INITIALIZE_UPDATE if proprietary => self.initialize_update(cmd),
            ins::EXTERNAL_AUTHENTICATE if proprietary => self.external_authenticate(cmd),
            _ => self.secured(cmd),
        })
    }

    /// The selected security domain.
    pub(crate) fn sd(&self) -> Aid {
        self.channel.selected.clone()
    }

    /// Whether the selected security domain is the ISD.
    pub(crate) fn is_isd(&self) -> bool {
        self.registry.is_isd(&self.channel.selected)
    }

    /// The open session (commands that need one are only dispatched with one).
    pub(crate) fn session(&mut self) -> Result<&mut SdSession, Refusal> {
        self.channel
            .session
            .as_mut()
            .ok_or(Refusal(sw::SECURITY_STATUS))
    }

    /// Whether the selected SD may manage card content: the ISD, or an SD with authorized or
    /// delegated management (tokens are not checked).
    pub(crate) fn check_content_management(&self) -> Result<(), Refusal> {
        let privileges = self
            .registry
            .entry(&self.channel.selected)
            .map(|e| e.privileges)
            .unwrap_or_default();
        if self.is_isd()
            || privileges.contains(Privileges::AUTHORIZED_MANAGEMENT)
            || privileges.contains(Privileges::DELEGATED_MANAGEMENT)
        {
            Ok(())
        } else {
            Err(Refusal(sw::CONDITIONS))
        }
    }

    /// Whether the selected SD may act on an entry associated with `associated` (AID `aid`):
    /// the ISD on anything, an SSD on itself and its own applications.
    pub(crate) fn may_address(&self, associated: &Aid, aid: &Aid) -> bool {
        self.is_isd() || associated == &self.channel.selected || aid == &self.channel.selected
    }

    fn initialize_update(&mut self, cmd: &CommandApdu) -> CardResult {
        self.channel.session = None;
        let sd = self.sd();
        let domain = self
            .registry
            .domain_mut(&sd)
            .ok_or(Refusal(sw::CONDITIONS))?;
        let mut scp = ScpCard::for_domain(domain, &sd, self.kdd)?;
        let response = scp.initialize_update(cmd)?;
        if domain.counter != scp.counter() {
            domain.counter = scp.counter();
            *self.dirty = true;
        }
        self.channel.session = Some(SdSession::new(scp));
        Ok(response)
    }

    fn external_authenticate(&mut self, cmd: &CommandApdu) -> CardResult {
        let sd = self.sd();
        let session = self
            .channel
            .session
            .as_mut()
            .ok_or(Refusal(sw::CONDITIONS))?;
        match session.scp.external_authenticate(cmd) {
            Ok(response) => {
                let counter = session.scp.counter();
                if let Some(domain) = self.registry.domain_mut(&sd) {
                    if domain.counter != counter {
                        domain.counter = counter;
                        *self.dirty = true;
                    }
                }
                Ok(response)
            }
            Err(err) => {
                self.channel.session = None;
                Err(err.into())
            }
        }
    }

    /// Unwraps (when a session is open), executes and wraps one command.
    fn secured(&mut self, cmd: &CommandApdu) -> CardResult {
        let open = self
            .channel
            .session
            .as_ref()
            .is_some_and(|s| s.scp.is_open());
        let plain = match self.channel.session.as_mut() {
            Some(session) if open => match session.scp.unwrap_command(cmd) {
                Ok(plain) => plain,
                Err(err) => {
                    self.channel.session = None;
                    return Err(err.into());
                }
            },
            _ => {
                // INITIALIZE UPDATE not followed by EXTERNAL AUTHENTICATE: abandoned.
                self.channel.session = None;
                match Class::new(cmd.cla()).decode() {
                    Ok(info) if info.secure_messaging == SecureMessaging::None => cmd.clone(),
                    Ok(_) => return Err(Refusal(sw::SECURITY_STATUS)),
                    Err(_) => return Err(Refusal(sw::CLA_NOT_SUPPORTED)),
                }
            }
        };
        let response = respond(self.execute(&plain, open));
        match self.channel.session.as_ref() {
            Some(session) if open => Ok(session.scp.wrap_response(&response)?),
            _ => Ok(response),
        }
    }

    fn execute(&mut self, cmd: &CommandApdu, authenticated: bool) -> CardResult {
        if cmd.ins() == ins::GET_DATA {
            return self.get_data(cmd);
        }
        if !Class::new(cmd.cla()).is_proprietary() {
            return Err(Refusal(sw::CLA_NOT_SUPPORTED));
        }
        let needs_session = [
            ins::INSTALL,
            ins::LOAD,
            ins::DELETE,
            ins::STORE_DATA,
            ins::GET_STATUS,
            ins::SET_STATUS,
            ins::PUT_KEY,
        ];
        if !needs_session.contains(&cmd.ins()) {
            return Err(Refusal(sw::INS_NOT_SUPPORTED));
        }
        if !authenticated {
            return Err(Refusal(sw::SECURITY_STATUS));
        }
        match cmd.ins() {
            ins::INSTALL => self.install(cmd),
            ins::LOAD => self.load(cmd),
            ins::DELETE => self.delete(cmd),
            ins::STORE_DATA => self.store_data(cmd),
            ins::GET_STATUS => self.get_status(cmd),
            ins::SET_STATUS => self.set_status(cmd),
            _ => self.put_key(cmd),
        }
    }
}
