//! The card (security domain) side of SCP03, for the SE simulator.
//!
//! The card owns its static keys and sequence counter; the caller persists
//! [`Scp03Card::sequence_counter`] after each INITIALIZE UPDATE. Any authentication or
//! verification failure returns a typed error (answer it with [`GpError::status_word`], `6982`)
//! and resets the session: the host must start again with INITIALIZE UPDATE.

use super::wrap::Session;
use super::{
    pseudo_random_card_challenge, InitializeUpdateResponse, Scp03Options, SequenceCounter,
    SessionKeys, CHALLENGE_LEN, CRYPTOGRAM_LEN,
};
use crate::apdu::{Class, CommandApdu, ResponseApdu, SecureMessaging};
use crate::crypto::mac::verify_mac;
use crate::crypto::random;
use crate::gp::keys::DIVERSIFICATION_DATA_LEN;
use crate::gp::{Aid, GpError, SecurityLevel, StaticKeys};

/// INS of INITIALIZE UPDATE.
const INS_INITIALIZE_UPDATE: u8 = 0x50;
/// INS of EXTERNAL AUTHENTICATE.
const INS_EXTERNAL_AUTHENTICATE: u8 = 0x82;

/// How a security domain runs SCP03.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scp03CardConfig {
    /// The `i` parameter.
    pub options: Scp03Options,
    /// Key diversification data returned in INITIALIZE UPDATE (e.g. the SE serial number).
    pub key_diversification_data: [u8; DIVERSIFICATION_DATA_LEN],
    /// The security domain's own AID (context of the pseudo-random card challenge).
    pub aid: Aid,
}

enum State {
    Idle,
    Initialized(Box<SessionKeys>),
    Open(Box<Session>),
}

/// The card side of SCP03 for one security domain.
pub struct Scp03Card {
    keys: StaticKeys,
    config: Scp03CardConfig,
    counter: SequenceCounter,
    state: State,
}

impl Scp03Card {
    /// A security domain with its static keys and the sequence counter last used (persisted).
    pub fn new(keys: StaticKeys, config: Scp03CardConfig, counter: SequenceCounter) -> Scp03Card {
        Scp03Card {
            keys,
            config,
            counter,
            state: State::Idle,
        }
    }

    /// The sequence counter last used: persist it after every INITIALIZE UPDATE.
    pub fn sequence_counter(&self) -> SequenceCounter {
        self.counter
    }

    /// The static keys (the DEK decrypts PUT KEY and STORE DATA secrets).
    pub fn static_keys(&self) -> &StaticKeys {
        &self.keys
    }

    /// Replaces the static keys (after PUT KEY); closes any session.
    pub fn set_static_keys(&mut self, keys: StaticKeys) {
        self.keys = keys;
        self.reset();
    }

    /// The configuration.
    pub fn config(&self) -> &Scp03CardConfig {
        &self.config
    }

    /// The security level of the open session, if any.
    pub fn security_level(&self) -> Option<SecurityLevel> {
        match &self.state {
            State::Open(session) => Some(session.level()),
            _ => None,
        }
    }

    /// Whether a session is open (EXTERNAL AUTHENTICATE succeeded).
    pub fn is_open(&self) -> bool {
        matches!(self.state, State::Open(_))
    }

    /// Ends any session (card reset, SELECT of another application, error).
    pub fn reset(&mut self) {
        self.state = State::Idle;
    }

    /// Processes INITIALIZE UPDATE: a fresh card challenge (random, or pseudo-random from the
    /// incremented sequence counter), session keys and the card cryptogram. Ends any session.
    pub fn initialize_update(&mut self, cmd: &CommandApdu) -> Result<ResponseApdu, GpError> {
        let random = if self.config.options.pseudo_random() {
            [0; CHALLENGE_LEN]
        } else {
            random::bytes()?
        };
        self.initialize_update_with_random(cmd, random)
    }

    /// [`initialize_update`](Self::initialize_update) with the card challenge of a
    /// random-challenge card given by the caller (reproducible simulators and tests); a
    /// pseudo-random card ignores `random`.
    pub fn initialize_update_with_random(
        &mut self,
        cmd: &CommandApdu,
        random: [u8; CHALLENGE_LEN],
    ) -> Result<ResponseApdu, GpError> {
        self.reset();
        let host_challenge = self.check_initialize_update(cmd)?;
        let (card_challenge, counter) = if self.config.options.pseudo_random() {
            let next = self
                .counter
                .next()
                .ok_or(GpError::SequenceCounterExhausted)?;
            let challenge = pseudo_random_card_challenge(&self.keys, next, &self.config.aid)?;
            self.counter = next;
            (challenge, Some(next))
        } else {
            (random, None)
        };
        let keys = SessionKeys::derive(&self.keys, &host_challenge, &card_challenge)?;
        let card_cryptogram = keys.card_cryptogram()?;
        let response = InitializeUpdateResponse {
            key_diversification_data: self.config.key_diversification_data,
            key_version: self.keys.version(),
            options: self.config.options,
            card_challenge,
            card_cryptogram,
            sequence_counter: counter,
        };
        self.state = State::Initialized(Box::new(keys));
        Ok(ResponseApdu::success(response.to_bytes()))
    }

    fn check_initialize_update(&self, cmd: &CommandApdu) -> Result<[u8; CHALLENGE_LEN], GpError> {
        let info = Class::new(cmd.cla()).decode()?;
        if cmd.ins() != INS_INITIALIZE_UPDATE
            || !info.proprietary
            || info.secure_messaging != SecureMessaging::None
        {
            return Err(GpError::MalformedCommand("not INITIALIZE UPDATE"));
        }
        if cmd.p2() != 0x00 {
            return Err(GpError::InvalidParameter("INITIALIZE UPDATE P2 must be 00"));
        }
        let version = self.keys.version();
        if cmd.p1() != 0x00 && cmd.p1() != version {
            return Err(GpError::KeyVersionMismatch {
                expected: version,
                actual: cmd.p1(),
            });
        }
        <[u8; CHALLENGE_LEN]>::try_from(cmd.data())
            .map_err(|_| GpError::MalformedCommand("host challenge must be 8 bytes"))
    }

    /// Processes EXTERNAL AUTHENTICATE: verifies the host cryptogram and the C-MAC and opens
    /// the session at the level in P1. On failure the session is reset.
    pub fn external_authenticate(&mut self, cmd: &CommandApdu) -> Result<ResponseApdu, GpError> {
        let state = std::mem::replace(&mut self.state, State::Idle);
        let State::Initialized(keys) = state else {
            return Err(GpError::UnexpectedState(
                "EXTERNAL AUTHENTICATE without INITIALIZE UPDATE",
            ));
        };
        if cmd.ins() != INS_EXTERNAL_AUTHENTICATE || cmd.p2() != 0x00 {
            return Err(GpError::MalformedCommand("not EXTERNAL AUTHENTICATE"));
        }
        let level = SecurityLevel::new(cmd.p1())?;
        if !self.config.options.supports(level) {
            return Err(GpError::SecurityLevelNotSupported {
                level: level.value(),
            });
        }
        const BAD_LENGTH: GpError =
            GpError::MalformedCommand("EXTERNAL AUTHENTICATE data must be 16 bytes");
        if cmd.data().len() != 2 * CRYPTOGRAM_LEN {
            return Err(BAD_LENGTH);
        }
        let received = cmd.data().get(..CRYPTOGRAM_LEN).ok_or(BAD_LENGTH)?;
        verify_mac(&keys.host_cryptogram()?, received).map_err(|_| GpError::HostCryptogram)?;
        let mut session = Session::new(keys, level);
        session.verify_external_authenticate(cmd)?;
        self.state = State::Open(Box::new(session));
        Ok(ResponseApdu::success(Vec::new()))
    }

    /// Verifies and removes the protection of a command in the open session. On failure
    /// (C-MAC, missing secure messaging, decryption) the session is reset.
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

    /// Protects the response to the last unwrapped command (R-MAC, R-ENCRYPTION at the
    /// session's level; error status words go out bare).
    pub fn wrap_response(&self, resp: &ResponseApdu) -> Result<ResponseApdu, GpError> {
        match &self.state {
            State::Open(session) => session.wrap_response(resp),
            _ => Err(GpError::ChannelClosed),
        }
    }
}

impl std::fmt::Debug for Scp03Card {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match self.state {
            State::Idle => "idle",
            State::Initialized(_) => "initialized",
            State::Open(_) => "open",
        };
        f.debug_struct("Scp03Card")
            .field("keys", &self.keys)
            .field("config", &self.config)
            .field("counter", &self.counter)
            .field("state", &state)
            .finish()
    }
}
