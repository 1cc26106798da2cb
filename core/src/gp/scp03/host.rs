//! The off-card (host, TSM) side of SCP03.
//!
//! Interactive use:
//!
//! 1. [`Scp03Host::initialize_update`] → send, then
//!    [`Scp03Host::on_initialize_update_response`] checks the card cryptogram and returns
//!    EXTERNAL AUTHENTICATE;
//! 2. send it, [`Scp03Host::on_external_authenticate_response`];
//! 3. [`Scp03Host::wrap`] every command, [`Scp03Host::unwrap`] every response.
//!
//! Batch use with a pseudo-random card challenge ([`Scp03Host::precomputed`]): the session is
//! derived from the sequence counter the card will use, so INITIALIZE UPDATE, EXTERNAL
//! AUTHENTICATE and every wrapped command can be produced before the card answers; when the
//! responses come back, [`Scp03Host::check_initialize_update_response`] confirms the card is the
//! one predicted, then the responses are unwrapped in order.
//!
//! Responses must be unwrapped in the order their commands were wrapped (R-MAC and R-ENC depend
//! on the command's chaining value and counter); any verification failure closes the session.

use std::collections::VecDeque;

use super::wrap::{ResponseContext, Session};
use super::{
    initialize_update_command, pseudo_random_card_challenge, InitializeUpdateResponse,
    SequenceCounter, SessionKeys, CHALLENGE_LEN, CRYPTOGRAM_LEN,
};
use crate::apdu::{CommandApdu, ResponseApdu};
use crate::crypto::mac::verify_mac;
use crate::crypto::random;
use crate::gp::{Aid, GpError, SecurityLevel, StaticKeys};

/// What a precomputed session expects INITIALIZE UPDATE to return.
struct Prediction {
    counter: SequenceCounter,
    card_challenge: [u8; CHALLENGE_LEN],
    card_cryptogram: [u8; CRYPTOGRAM_LEN],
}

enum State {
    /// INITIALIZE UPDATE not answered yet.
    Initial,
    /// Session keys known, EXTERNAL AUTHENTICATE built; commands can be wrapped.
    Open {
        session: Box<Session>,
        external_authenticate: CommandApdu,
        prediction: Option<Prediction>,
    },
    /// Closed by an error or by [`Scp03Host::close`].
    Closed,
}

/// The host side of one SCP03 session.
pub struct Scp03Host {
    keys: StaticKeys,
    host_challenge: [u8; CHALLENGE_LEN],
    level: SecurityLevel,
    state: State,
    pending: VecDeque<ResponseContext>,
}

impl Scp03Host {
    /// A session with a random host challenge, to be opened at `level`.
    pub fn new(keys: StaticKeys, level: SecurityLevel) -> Result<Scp03Host, GpError> {
        Ok(Scp03Host::with_host_challenge(
            keys,
            random::bytes()?,
            level,
        ))
    }

    /// A session with a given host challenge (reproducible scripts and tests).
    pub fn with_host_challenge(
        keys: StaticKeys,
        host_challenge: [u8; CHALLENGE_LEN],
        level: SecurityLevel,
    ) -> Scp03Host {
        Scp03Host {
            keys,
            host_challenge,
            level,
            state: State::Initial,
            pending: VecDeque::new(),
        }
    }

    /// A session precomputed for a card with a pseudo-random card challenge: from the static
    /// keys, the sequence counter the card will use (the last one it reported plus one) and the
    /// AID of the security domain, the card challenge and card cryptogram are predicted and
    /// EXTERNAL AUTHENTICATE is built at once. [`wrap`](Self::wrap) works immediately.
    pub fn precomputed(
        keys: StaticKeys,
        host_challenge: [u8; CHALLENGE_LEN],
        sequence_counter: SequenceCounter,
        aid: &Aid,
        level: SecurityLevel,
    ) -> Result<Scp03Host, GpError> {
        let card_challenge = pseudo_random_card_challenge(&keys, sequence_counter, aid)?;
        let mut host = Scp03Host::with_host_challenge(keys, host_challenge, level);
        let (session, ea, card_cryptogram) = host.open(&card_challenge)?;
        host.state = State::Open {
            session: Box::new(session),
            external_authenticate: ea,
            prediction: Some(Prediction {
                counter: sequence_counter,
                card_challenge,
                card_cryptogram,
            }),
        };
        Ok(host)
    }

    /// The host challenge.
    pub fn host_challenge(&self) -> [u8; CHALLENGE_LEN] {
        self.host_challenge
    }

    /// The security level the session is (to be) opened at.
    pub fn security_level(&self) -> SecurityLevel {
        self.level
    }

    /// Whether commands can be wrapped.
    pub fn is_open(&self) -> bool {
        matches!(self.state, State::Open { .. })
    }

    /// Closes the session; every later wrap or unwrap fails with [`GpError::ChannelClosed`].
    pub fn close(&mut self) {
        self.state = State::Closed;
        self.pending.clear();
    }

    /// INITIALIZE UPDATE for the key version of the static keys (`00`: the card's default).
    pub fn initialize_update(&self) -> Result<CommandApdu, GpError> {
        initialize_update_command(self.keys.version(), &self.host_challenge)
    }

    /// Checks the INITIALIZE UPDATE response (status, protocol, key version, the card
    /// cryptogram, support of the security level) and returns EXTERNAL AUTHENTICATE.
    pub fn on_initialize_update_response(
        &mut self,
        resp: &ResponseApdu,
    ) -> Result<CommandApdu, GpError> {
        if !matches!(self.state, State::Initial) {
            return Err(GpError::UnexpectedState(
                "INITIALIZE UPDATE already answered",
            ));
        }
        let result = self.accept_initialize_update(resp);
        if result.is_err() {
            self.close();
        }
        result
    }

    fn accept_initialize_update(&mut self, resp: &ResponseApdu) -> Result<CommandApdu, GpError> {
        let parsed = self.parse_initialize_update(resp)?;
        let (session, ea, card_cryptogram) = self.open(&parsed.card_challenge)?;
        verify_mac(&card_cryptogram, &parsed.card_cryptogram)
            .map_err(|_| GpError::CardCryptogram)?;
        self.state = State::Open {
            session: Box::new(session),
            external_authenticate: ea.clone(),
            prediction: None,
        };
        Ok(ea)
    }

    /// Precomputed sessions: checks that the card's INITIALIZE UPDATE response is the predicted
    /// one (sequence counter, card challenge, card cryptogram). On a mismatch the session is
    /// closed and nothing wrapped for it may be trusted.
    pub fn check_initialize_update_response(&mut self, resp: &ResponseApdu) -> Result<(), GpError> {
        let result = self.check_prediction(resp);
        if result.is_err() {
            self.close();
        }
        result
    }

    fn check_prediction(&self, resp: &ResponseApdu) -> Result<(), GpError> {
        let State::Open {
            prediction: Some(prediction),
            ..
        } = &self.state
        else {
            return Err(GpError::UnexpectedState("not a precomputed session"));
        };
        let parsed = self.parse_initialize_update(resp)?;
        if parsed.sequence_counter != Some(prediction.counter) {
            return Err(GpError::PredictionMismatch("sequence counter"));
        }
        if parsed.card_challenge != prediction.card_challenge {
            return Err(GpError::PredictionMismatch("card challenge"));
        }
        verify_mac(&prediction.card_cryptogram, &parsed.card_cryptogram)
            .map_err(|_| GpError::CardCryptogram)
    }

    fn parse_initialize_update(
        &self,
        resp: &ResponseApdu,
    ) -> Result<InitializeUpdateResponse, GpError> {
        if !resp.is_success() {
            return Err(GpError::UnexpectedStatus {
                command: "INITIALIZE UPDATE",
                sw: resp.sw,
            });
        }
        let parsed = InitializeUpdateResponse::parse(&resp.data)?;
        let expected = self.keys.version();
        if expected != 0 && parsed.key_version != expected {
            return Err(GpError::KeyVersionMismatch {
                expected,
                actual: parsed.key_version,
            });
        }
        if !parsed.options.supports(self.level) {
            return Err(GpError::SecurityLevelNotSupported {
                level: self.level.value(),
            });
        }
        Ok(parsed)
    }

    /// Derives the session for `card_challenge`; returns it (EXTERNAL AUTHENTICATE already
    /// chained in), EXTERNAL AUTHENTICATE and the expected card cryptogram.
    fn open(
        &self,
        card_challenge: &[u8; CHALLENGE_LEN],
    ) -> Result<(Session, CommandApdu, [u8; CRYPTOGRAM_LEN]), GpError> {
        let keys = SessionKeys::derive(&self.keys, &self.host_challenge, card_challenge)?;
        let card_cryptogram = keys.card_cryptogram()?;
        let host_cryptogram = keys.host_cryptogram()?;
        let mut session = Session::new(Box::new(keys), self.level);
        let ea = session.external_authenticate(&host_cryptogram)?;
        Ok((session, ea, card_cryptogram))
    }

    /// The EXTERNAL AUTHENTICATE command once the session keys are known.
    pub fn external_authenticate(&self) -> Result<CommandApdu, GpError> {
        match &self.state {
            State::Open {
                external_authenticate,
                ..
            } => Ok(external_authenticate.clone()),
            State::Initial => Err(GpError::UnexpectedState("INITIALIZE UPDATE not answered")),
            State::Closed => Err(GpError::ChannelClosed),
        }
    }

    /// Checks that EXTERNAL AUTHENTICATE succeeded (`9000`); otherwise closes the session.
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

    /// Protects a command at the session's security level.
    pub fn wrap(&mut self, cmd: &CommandApdu) -> Result<CommandApdu, GpError> {
        let State::Open { session, .. } = &mut self.state else {
            return Err(GpError::ChannelClosed);
        };
        let wrapped = session.wrap_command(cmd)?;
        let level = session.level();
        if level.r_mac() || level.r_enc() {
            self.pending.push_back(session.context());
        }
        Ok(wrapped)
    }

    /// Verifies and removes the protection of the response to the oldest wrapped command not
    /// unwrapped yet. A failure closes the session.
    pub fn unwrap(&mut self, resp: &ResponseApdu) -> Result<ResponseApdu, GpError> {
        let State::Open { session, .. } = &self.state else {
            return Err(GpError::ChannelClosed);
        };
        let level = session.level();
        if !(level.r_mac() || level.r_enc()) {
            return Ok(resp.clone());
        }
        let result = match self.pending.pop_front() {
            Some(ctx) => session.unwrap_response(&ctx, resp),
            None => Err(GpError::UnexpectedState(
                "response without a wrapped command",
            )),
        };
        if result.is_err() {
            self.close();
        }
        result
    }
}

impl std::fmt::Debug for Scp03Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match self.state {
            State::Initial => "initial",
            State::Open { .. } => "open",
            State::Closed => "closed",
        };
        f.debug_struct("Scp03Host")
            .field("key_version", &self.keys.version())
            .field("level", &self.level)
            .field("state", &state)
            .finish_non_exhaustive()
    }
}
