//! The TSM's end of a security domain's secure channel, over the core's one GlobalPlatform
//! implementation ([`Scp03Host`], [`Scp02Host`]).
//!
//! Two ways to open it:
//! - **precomputed** (SCP03 with a pseudo-random card challenge, `i = 70`): from the static
//!   keys, the sequence counter the card will use and the domain's AID, INITIALIZE UPDATE,
//!   EXTERNAL AUTHENTICATE and every wrapped command exist before the card has answered
//!   anything — a whole script travels in one SERAM order;
//! - **interactive** (SCP02, or SCP03 with a random challenge): INITIALIZE UPDATE goes first
//!   and EXTERNAL AUTHENTICATE can only be built from its response — one more order.

use wallet_core::apdu::{CommandApdu, ResponseApdu};
use wallet_core::crypto::random;
use wallet_core::gp::scp02::Scp02InitializeUpdateResponse;
use wallet_core::gp::scp03::{InitializeUpdateResponse, SequenceCounter};
use wallet_core::gp::{
    Aid, GpError, KeyEncryptionKey, Scp02Host, Scp03Host, SecurityLevel, StaticKeys,
};

/// The host side of the protocol in use.
enum Host {
    Scp03(Scp03Host),
    Scp02(Scp02Host),
}

/// What INITIALIZE UPDATE told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Challenge {
    /// As predicted (precomputed) or accepted (interactive): EXTERNAL AUTHENTICATE may follow.
    Accepted {
        /// The sequence counter the card used.
        counter: u32,
    },
    /// A precomputed session guessed the wrong sequence counter: everything wrapped for it is
    /// worthless; the card used `actual`.
    CounterMismatch {
        /// The counter the card used.
        actual: u32,
    },
}

/// One secure channel session with a security domain. `Debug` shows no key material.
pub struct SecureChannel {
    host: Host,
    keys: StaticKeys,
    predicted: Option<u32>,
    external_authenticate: Option<CommandApdu>,
}

impl std::fmt::Debug for SecureChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecureChannel")
            .field("scp03", &matches!(self.host, Host::Scp03(_)))
            .field("predicted", &self.predicted)
            .finish_non_exhaustive()
    }
}

impl SecureChannel {
    /// A precomputed SCP03 session with the domain `aid`, for the card's next sequence counter
    /// `counter`, at `level`.
    pub fn precomputed(
        keys: StaticKeys,
        counter: u32,
        aid: &Aid,
        level: SecurityLevel,
    ) -> Result<SecureChannel, GpError> {
        let host = Scp03Host::precomputed(
            keys.clone(),
            random::bytes()?,
            SequenceCounter::new(counter)?,
            aid,
            level,
        )?;
        let external_authenticate = Some(host.external_authenticate()?);
        Ok(SecureChannel {
            host: Host::Scp03(host),
            keys,
            predicted: Some(counter),
            external_authenticate,
        })
    }

    /// An interactive SCP03 session (random card challenge).
    pub fn scp03(keys: StaticKeys, level: SecurityLevel) -> Result<SecureChannel, GpError> {
        Ok(SecureChannel {
            host: Host::Scp03(Scp03Host::new(keys.clone(), level)?),
            keys,
            predicted: None,
            external_authenticate: None,
        })
    }

    /// An interactive SCP02 session.
    pub fn scp02(keys: StaticKeys, level: SecurityLevel) -> Result<SecureChannel, GpError> {
        Ok(SecureChannel {
            host: Host::Scp02(Scp02Host::new(keys.clone(), level)?),
            keys,
            predicted: None,
            external_authenticate: None,
        })
    }

    /// Whether EXTERNAL AUTHENTICATE (and wrapped commands) exist before INITIALIZE UPDATE is
    /// answered.
    pub fn is_precomputed(&self) -> bool {
        self.predicted.is_some()
    }

    /// The sequence counter a precomputed session predicted.
    pub fn predicted_counter(&self) -> Option<u32> {
        self.predicted
    }

    /// INITIALIZE UPDATE.
    pub fn initialize_update(&self) -> Result<CommandApdu, GpError> {
        match &self.host {
            Host::Scp03(host) => host.initialize_update(),
            Host::Scp02(host) => host.initialize_update(),
        }
    }

    /// EXTERNAL AUTHENTICATE: at once for a precomputed session, after
    /// [`Self::on_initialize_update`] otherwise.
    pub fn external_authenticate(&self) -> Result<CommandApdu, GpError> {
        self.external_authenticate
            .clone()
            .ok_or(GpError::UnexpectedState("INITIALIZE UPDATE not answered"))
    }

    /// Checks the INITIALIZE UPDATE response: the prediction of a precomputed session, or the
    /// card cryptogram of an interactive one (which then builds EXTERNAL AUTHENTICATE).
    pub fn on_initialize_update(&mut self, response: &ResponseApdu) -> Result<Challenge, GpError> {
        let counter = counter_of(&self.host, response)?;
        match (&mut self.host, self.predicted) {
            (Host::Scp03(host), Some(predicted)) => {
                match host.check_initialize_update_response(response) {
                    Ok(()) => Ok(Challenge::Accepted { counter }),
                    Err(GpError::PredictionMismatch(_)) if counter != predicted => {
                        Ok(Challenge::CounterMismatch { actual: counter })
                    }
                    Err(e) => Err(e),
                }
            }
            (Host::Scp03(host), None) => {
                self.external_authenticate = Some(host.on_initialize_update_response(response)?);
                Ok(Challenge::Accepted { counter })
            }
            (Host::Scp02(host), _) => {
                self.external_authenticate = Some(host.on_initialize_update_response(response)?);
                Ok(Challenge::Accepted { counter })
            }
        }
    }

    /// Checks EXTERNAL AUTHENTICATE's response.
    pub fn on_external_authenticate(&mut self, response: &ResponseApdu) -> Result<(), GpError> {
        match &mut self.host {
            Host::Scp03(host) => host.on_external_authenticate_response(response),
            Host::Scp02(host) => host.on_external_authenticate_response(response),
        }
    }

    /// Protects a command.
    pub fn wrap(&mut self, command: &CommandApdu) -> Result<CommandApdu, GpError> {
        match &mut self.host {
            Host::Scp03(host) => host.wrap(command),
            Host::Scp02(host) => host.wrap(command),
        }
    }

    /// Verifies and removes the protection of the response to the oldest wrapped command not
    /// unwrapped yet.
    pub fn unwrap(&mut self, response: &ResponseApdu) -> Result<ResponseApdu, GpError> {
        match &mut self.host {
            Host::Scp03(host) => host.unwrap(response),
            Host::Scp02(host) => host.unwrap(response),
        }
    }

    /// The key that encrypts keys (PUT KEY) and secret DGIs (STORE DATA) for this domain: the
    /// static DEK under SCP03, the session DEK under SCP02 (known once INITIALIZE UPDATE is
    /// answered).
    pub fn key_encryption_key(&self) -> Result<KeyEncryptionKey, GpError> {
        match &self.host {
            Host::Scp03(_) => Ok(KeyEncryptionKey::aes(self.keys.dek())),
            Host::Scp02(host) => host.key_encryption_key(),
        }
    }
}

/// The sequence counter an INITIALIZE UPDATE response reports (SCP03 pseudo-random: the 24-bit
/// counter; SCP03 random: 0; SCP02: the 16-bit counter).
fn counter_of(host: &Host, response: &ResponseApdu) -> Result<u32, GpError> {
    if !response.is_success() {
        return Err(GpError::UnexpectedStatus {
            command: "INITIALIZE UPDATE",
            sw: response.sw,
        });
    }
    Ok(match host {
        Host::Scp03(_) => InitializeUpdateResponse::parse(&response.data)?
            .sequence_counter
            .map_or(0, SequenceCounter::value),
        Host::Scp02(_) => {
            u32::from(Scp02InitializeUpdateResponse::parse(&response.data)?.sequence_counter)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use wallet_core::gp::keys::GP_TEST_KEY;
    use wallet_core::gp::scp03::Scp03Options;
    use wallet_core::gp::{Scp03Card, Scp03CardConfig};

    fn card(counter: u32) -> Scp03Card {
        Scp03Card::new(
            StaticKeys::single(&GP_TEST_KEY, 0x30),
            Scp03CardConfig {
                options: Scp03Options::PSEUDO_RANDOM_R_MAC_R_ENC,
                key_diversification_data: *b"SE-0000001",
                aid: Aid::new(Aid::GP_ISD).unwrap(),
            },
            SequenceCounter::new(counter).unwrap(),
        )
    }

    fn isd() -> Aid {
        Aid::new(Aid::GP_ISD).unwrap()
    }

    #[test]
    fn precomputed_script_is_accepted_by_the_card() {
        let mut se = card(4);
        let mut tsm = SecureChannel::precomputed(
            StaticKeys::single(&GP_TEST_KEY, 0x30),
            5,
            &isd(),
            SecurityLevel::FULL,
        )
        .unwrap();
        let ea = tsm.external_authenticate().unwrap();
        let get_status = CommandApdu::new(0x80, 0xF2, 0x40, 0x02)
            .with_data(vec![0x4F, 0x00])
            .unwrap()
            .with_short_le(0);
        let wrapped = tsm.wrap(&get_status).unwrap();
        // Only now does the card see anything.
        let iu = se
            .initialize_update(&tsm.initialize_update().unwrap())
            .unwrap();
        assert_eq!(
            tsm.on_initialize_update(&iu).unwrap(),
            Challenge::Accepted { counter: 5 }
        );
        tsm.on_external_authenticate(&se.external_authenticate(&ea).unwrap())
            .unwrap();
        assert_eq!(se.unwrap_command(&wrapped).unwrap(), get_status);
        let reply = se
            .wrap_response(&ResponseApdu::success(vec![0xE3, 0x00]))
            .unwrap();
        assert_eq!(tsm.unwrap(&reply).unwrap().data, [0xE3, 0x00]);
        assert_eq!(tsm.key_encryption_key().map(|_| ()), Ok(()));
    }

    #[test]
    fn a_wrong_prediction_reveals_the_real_counter() {
        let mut se = card(9);
        let mut tsm = SecureChannel::precomputed(
            StaticKeys::single(&GP_TEST_KEY, 0x30),
            5,
            &isd(),
            SecurityLevel::FULL,
        )
        .unwrap();
        let iu = se
            .initialize_update(&tsm.initialize_update().unwrap())
            .unwrap();
        assert_eq!(
            tsm.on_initialize_update(&iu).unwrap(),
            Challenge::CounterMismatch { actual: 10 }
        );
    }

    #[test]
    fn interactive_scp03_builds_external_authenticate_from_the_answer() {
        let mut se = card(0);
        let mut tsm =
            SecureChannel::scp03(StaticKeys::single(&GP_TEST_KEY, 0x30), SecurityLevel::C_MAC)
                .unwrap();
        assert!(tsm.external_authenticate().is_err());
        let iu = se
            .initialize_update(&tsm.initialize_update().unwrap())
            .unwrap();
        assert_eq!(
            tsm.on_initialize_update(&iu).unwrap(),
            Challenge::Accepted { counter: 1 }
        );
        let ea = tsm.external_authenticate().unwrap();
        tsm.on_external_authenticate(&se.external_authenticate(&ea).unwrap())
            .unwrap();
        let refused = ResponseApdu::status_only(0x6A82u16);
        assert!(tsm.on_initialize_update(&refused).is_err());
    }
}
