//! The off-card (host, TSM) side of SCP02 `i = 15`, for legacy SEs.

use super::wrap::Session;
use super::{check_level, Scp02InitializeUpdateResponse, SessionKeys, HOST_CHALLENGE_LEN};
use crate::apdu::{CommandApdu, ResponseApdu};
use crate::crypto::mac::verify_mac;
use crate::crypto::random;
use crate::gp::keys::KeyEncryptionKey;
use crate::gp::scp03::initialize_update_command;
use crate::gp::{GpError, SecurityLevel, StaticKeys};

enum State {
    Initial,
    Open(Box<Session>),
    Closed,
}

/// The host side of one SCP02 session.
pub struct Scp02Host {
    keys: StaticKeys,
    host_challenge: [u8; HOST_CHALLENGE_LEN],
    level: SecurityLevel,
    state: State,
}

impl Scp02Host {
    /// A session with a random host challenge, to be opened at `level` (`00`, `01` or `03`).
    pub fn new(keys: StaticKeys, level: SecurityLevel) -> Result<Scp02Host, GpError> {
        Scp02Host::with_host_challenge(keys, random::bytes()?, level)
    }

    /// A session with a given host challenge.
    pub fn with_host_challenge(
        keys: StaticKeys,
        host_challenge: [u8; HOST_CHALLENGE_LEN],
        level: SecurityLevel,
    ) -> Result<Scp02Host, GpError> {
        check_level(level)?;
        Ok(Scp02Host {
            keys,
            host_challenge,
            level,
            state: State::Initial,
        })
    }

    /// The host challenge.
    pub fn host_challenge(&self) -> [u8; HOST_CHALLENGE_LEN] {
        self.host_challenge
    }

    /// Whether commands can be wrapped.
    pub fn is_open(&self) -> bool {
        matches!(self.state, State::Open(_))
    }

    /// Closes the session.
    pub fn close(&mut self) {
        self.state = State::Closed;
    }

    /// INITIALIZE UPDATE (the same command as for SCP03).
    pub fn initialize_update(&self) -> Result<CommandApdu, GpError> {
        initialize_update_command(self.keys.version(), &self.host_challenge)
    }

    /// Checks the INITIALIZE UPDATE response and the card cryptogram; returns EXTERNAL
    /// AUTHENTICATE. On failure the session is closed.
    pub fn on_initialize_update_response(
        &mut self,
        resp: &ResponseApdu,
    ) -> Result<CommandApdu, GpError> {
        if !matches!(self.state, State::Initial) {
            return Err(GpError::UnexpectedState(
                "INITIALIZE UPDATE already answered",
            ));
        }
        let result = self.accept(resp);
        if result.is_err() {
            self.close();
        }
        result
    }

    fn accept(&mut self, resp: &ResponseApdu) -> Result<CommandApdu, GpError> {
        if !resp.is_success() {
            return Err(GpError::UnexpectedStatus {
                command: "INITIALIZE UPDATE",
                sw: resp.sw,
            });
        }
        let parsed = Scp02InitializeUpdateResponse::parse(&resp.data)?;
        let expected = self.keys.version();
        if expected != 0 && parsed.key_version != expected {
            return Err(GpError::KeyVersionMismatch {
                expected,
                actual: parsed.key_version,
            });
        }
        let keys = SessionKeys::derive(&self.keys, parsed.sequence_counter)?;
        let card_cryptogram = keys.card_cryptogram(&self.host_challenge, &parsed.card_challenge)?;
        verify_mac(&card_cryptogram, &parsed.card_cryptogram)
            .map_err(|_| GpError::CardCryptogram)?;
        let host_cryptogram = keys.host_cryptogram(&self.host_challenge, &parsed.card_challenge)?;
        let mut session = Session::new(Box::new(keys), self.level);
        let ea = session.external_authenticate(&host_cryptogram)?;
        self.state = State::Open(Box::new(session));
        Ok(ea)
    }

    /// Checks that EXTERNAL AUTHENTICATE succeeded; otherwise closes the session.
    pub fn on_external_authenticate_response(
        &mut self,
        resp: &ResponseApdu,
    ) -> Result<(), GpError> {
        if !self.is_open() {
            return Err(GpError::ChannelClosed);
        }
        if resp.is_success() {
            Ok(())
        } else {
            self.close();
            Err(GpError::UnexpectedStatus {
                command: "EXTERNAL AUTHENTICATE",
                sw: resp.sw,
            })
        }
    }

    /// Protects a command.
    pub fn wrap(&mut self, cmd: &CommandApdu) -> Result<CommandApdu, GpError> {
        match &mut self.state {
            State::Open(session) => session.wrap_command(cmd),
            _ => Err(GpError::ChannelClosed),
        }
    }

    /// Returns the response unchanged (no R-MAC at the implemented levels), failing if the
    /// session is closed.
    pub fn unwrap(&mut self, resp: &ResponseApdu) -> Result<ResponseApdu, GpError> {
        match &self.state {
            State::Open(_) => Ok(resp.clone()),
            _ => Err(GpError::ChannelClosed),
        }
    }

    /// The session DEK, which encrypts keys in PUT KEY.
    pub fn key_encryption_key(&self) -> Result<KeyEncryptionKey, GpError> {
        match &self.state {
            State::Open(session) => Ok(KeyEncryptionKey::tdes(&session.keys().dek)),
            _ => Err(GpError::ChannelClosed),
        }
    }
}

impl std::fmt::Debug for Scp02Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scp02Host")
            .field("key_version", &self.keys.version())
            .field("level", &self.level)
            .field("open", &self.is_open())
            .finish_non_exhaustive()
    }
}
