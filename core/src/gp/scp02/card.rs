//! The card (security domain) side of SCP02 `i = 15`, for the SE simulator.
//!
//! The 16-bit sequence counter is reported in INITIALIZE UPDATE and incremented when a session
//! opens (successful EXTERNAL AUTHENTICATE); the caller persists
//! [`Scp02Card::sequence_counter`]. Failures reset the session.

use super::wrap::Session;
use super::{
    check_level, Scp02InitializeUpdateResponse, SessionKeys, CARD_CHALLENGE_LEN,
    HOST_CHALLENGE_LEN, MAC_LEN,
};
use crate::apdu::{Class, CommandApdu, ResponseApdu, SecureMessaging};
use crate::crypto::mac::verify_mac;
use crate::crypto::random;
use crate::gp::keys::{KeyEncryptionKey, DIVERSIFICATION_DATA_LEN};
use crate::gp::{GpError, SecurityLevel, StaticKeys};

enum State {
    Idle,
    Initialized {
        keys: Box<SessionKeys>,
        host_challenge: [u8; HOST_CHALLENGE_LEN],
        card_challenge: [u8; CARD_CHALLENGE_LEN],
    },
    Open(Box<Session>),
}

/// The card side of SCP02 for one security domain.
pub struct Scp02Card {
    keys: StaticKeys,
    key_diversification_data: [u8; DIVERSIFICATION_DATA_LEN],
    counter: u16,
    state: State,
}

impl Scp02Card {
    /// A security domain with its static keys, diversification data and persisted counter.
    pub fn new(
        keys: StaticKeys,
        key_diversification_data: [u8; DIVERSIFICATION_DATA_LEN],
        counter: u16,
    ) -> Scp02Card {
        Scp02Card {
            keys,
            key_diversification_data,
            counter,
            state: State::Idle,
        }
    }

    /// The sequence counter: persist it after every opened session.
    pub fn sequence_counter(&self) -> u16 {
        self.counter
    }

    /// The static keys.
    pub fn static_keys(&self) -> &StaticKeys {
        &self.keys
    }

    /// The security level of the open session, if any.
    pub fn security_level(&self) -> Option<SecurityLevel> {
        match &self.state {
            State::Open(session) => Some(session.level()),
            _ => None,
        }
    }

    /// Whether a session is open.
    pub fn is_open(&self) -> bool {
        matches!(self.state, State::Open(_))
    }

    /// Ends any session.
    pub fn reset(&mut self) {
        self.state = State::Idle;
    }

    /// Processes INITIALIZE UPDATE with a random card challenge.
    pub fn initialize_update(&mut self, cmd: &CommandApdu) -> Result<ResponseApdu, GpError> {
        self.initialize_update_with_random(cmd, random::bytes()?)
    }

    /// Processes INITIALIZE UPDATE with the card challenge given by the caller.
    pub fn initialize_update_with_random(
        &mut self,
        cmd: &CommandApdu,
        card_challenge: [u8; CARD_CHALLENGE_LEN],
    ) -> Result<ResponseApdu, GpError> {
        self.reset();
        let info = Class::new(cmd.cla()).decode()?;
        if cmd.ins() != 0x50 || !info.proprietary || info.secure_messaging != SecureMessaging::None
        {
            return Err(GpError::MalformedCommand("not INITIALIZE UPDATE"));
        }
        let version = self.keys.version();
        if cmd.p1() != 0x00 && cmd.p1() != version {
            return Err(GpError::KeyVersionMismatch {
                expected: version,
                actual: cmd.p1(),
            });
        }
        let host_challenge = <[u8; HOST_CHALLENGE_LEN]>::try_from(cmd.data())
            .map_err(|_| GpError::MalformedCommand("host challenge must be 8 bytes"))?;
        if self.counter == u16::MAX {
            return Err(GpError::SequenceCounterExhausted);
        }
        let keys = SessionKeys::derive(&self.keys, self.counter)?;
        let response = Scp02InitializeUpdateResponse {
            key_diversification_data: self.key_diversification_data,
            key_version: version,
            sequence_counter: self.counter,
            card_challenge,
            card_cryptogram: keys.card_cryptogram(&host_challenge, &card_challenge)?,
        };
        self.state = State::Initialized {
            keys: Box::new(keys),
            host_challenge,
            card_challenge,
        };
        Ok(ResponseApdu::success(response.to_bytes()))
    }

    /// Processes EXTERNAL AUTHENTICATE; on success the session opens and the counter advances.
    pub fn external_authenticate(&mut self, cmd: &CommandApdu) -> Result<ResponseApdu, GpError> {
        let state = std::mem::replace(&mut self.state, State::Idle);
        let State::Initialized {
            keys,
            host_challenge,
            card_challenge,
        } = state
        else {
            return Err(GpError::UnexpectedState(
                "EXTERNAL AUTHENTICATE without INITIALIZE UPDATE",
            ));
        };
        if cmd.ins() != 0x82 || cmd.p2() != 0x00 || cmd.data().len() != 2 * MAC_LEN {
            return Err(GpError::MalformedCommand("not EXTERNAL AUTHENTICATE"));
        }
        let level = SecurityLevel::new(cmd.p1())?;
        check_level(level)?;
        let received = cmd.data().get(..MAC_LEN).unwrap_or_default();
        let expected = keys.host_cryptogram(&host_challenge, &card_challenge)?;
        verify_mac(&expected, received).map_err(|_| GpError::HostCryptogram)?;
        let mut session = Session::new(keys, level);
        session.verify_external_authenticate(cmd)?;
        self.counter = self.counter.saturating_add(1);
        self.state = State::Open(Box::new(session));
        Ok(ResponseApdu::success(Vec::new()))
    }

    /// Verifies and removes the protection of a command; a failure resets the session.
    pub fn unwrap_command(&mut self, cmd: &CommandApdu) -> Result<CommandApdu, GpError> {
        let State::Open(session) = &mut self.state else {
            return Err(GpError::ChannelClosed);
        };
        let result = session.unwrap_command(cmd);
        if result.is_err() {
            self.reset();
        }
        result
    }

    /// Returns the response unchanged (no R-MAC at the implemented levels).
    pub fn wrap_response(&self, resp: &ResponseApdu) -> Result<ResponseApdu, GpError> {
        match &self.state {
            State::Open(_) => Ok(resp.clone()),
            _ => Err(GpError::ChannelClosed),
        }
    }

    /// The session DEK, which decrypts keys in PUT KEY.
    pub fn key_encryption_key(&self) -> Result<KeyEncryptionKey, GpError> {
        match &self.state {
            State::Open(session) => Ok(KeyEncryptionKey::tdes(&session.keys().dek)),
            _ => Err(GpError::ChannelClosed),
        }
    }
}

impl std::fmt::Debug for Scp02Card {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scp02Card")
            .field("keys", &self.keys)
            .field("counter", &self.counter)
            .field("open", &self.is_open())
            .finish_non_exhaustive()
    }
}
