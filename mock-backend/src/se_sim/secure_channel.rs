//! The secure channel of a security domain on one logical channel: the core's [`Scp03Card`] or
//! [`Scp02Card`] behind one enum, plus what the session carries between commands (the target of
//! INSTALL [for personalization], a STORE DATA sequence, a LOAD in progress, a GET STATUS
//! cursor).
//!
//! A session is created by INITIALIZE UPDATE from the domain's current keys and sequence
//! counter (the caller writes the advanced counter back to the registry), opened by EXTERNAL
//! AUTHENTICATE, and dropped on any verification failure, on SELECT and on channel close.

use wallet_core::apdu::{Class, CommandApdu, LogicalChannel, ResponseApdu};
use wallet_core::gp::commands::{LoadAssembler, StatusScope};
use wallet_core::gp::scp03::SequenceCounter;
use wallet_core::gp::{
    Aid, GpError, KeyEncryptionKey, Scp02Card, Scp03Card, Scp03CardConfig, StaticKeys,
};

use super::error::{sw, Refusal};
use super::registry::Domain;
use crate::world_keys::{ScpProtocol, KDD_LEN};

/// The card side of SCP03 or SCP02 for one security domain.
#[derive(Debug)]
pub(crate) enum ScpCard {
    /// SCP03 (AES).
    Scp03(Scp03Card),
    /// SCP02 `i = 15` (3DES).
    Scp02(Scp02Card),
}

impl ScpCard {
    /// A fresh card side for `domain` (AID `aid`); `6A88` when the domain has no keys yet.
    pub(crate) fn for_domain(
        domain: &Domain,
        aid: &Aid,
        kdd: [u8; KDD_LEN],
    ) -> Result<ScpCard, Refusal> {
        let keys: StaticKeys = domain.keys.clone().ok_or(Refusal(sw::DATA_NOT_FOUND))?;
        Ok(match domain.protocol {
            ScpProtocol::Scp03(options) => ScpCard::Scp03(Scp03Card::new(
                keys,
                Scp03CardConfig {
                    options,
                    key_diversification_data: kdd,
                    aid: aid.clone(),
                },
                SequenceCounter::new(domain.counter)?,
            )),
            ScpProtocol::Scp02 => {
                let counter =
                    u16::try_from(domain.counter).map_err(|_| GpError::SequenceCounterExhausted)?;
                ScpCard::Scp02(Scp02Card::new(keys, kdd, counter))
            }
        })
    }

    /// INITIALIZE UPDATE.
    pub(crate) fn initialize_update(&mut self, cmd: &CommandApdu) -> Result<ResponseApdu, GpError> {
        match self {
            ScpCard::Scp03(card) => card.initialize_update(cmd),
            ScpCard::Scp02(card) => card.initialize_update(cmd),
        }
    }

    /// EXTERNAL AUTHENTICATE.
    pub(crate) fn external_authenticate(
        &mut self,
        cmd: &CommandApdu,
    ) -> Result<ResponseApdu, GpError> {
        match self {
            ScpCard::Scp03(card) => card.external_authenticate(cmd),
            ScpCard::Scp02(card) => card.external_authenticate(&on_basic_channel(cmd)),
        }
    }

    /// Verifies and removes the command protection.
    pub(crate) fn unwrap_command(&mut self, cmd: &CommandApdu) -> Result<CommandApdu, GpError> {
        match self {
            ScpCard::Scp03(card) => card.unwrap_command(cmd),
            ScpCard::Scp02(card) => card.unwrap_command(&on_basic_channel(cmd)),
        }
    }

    /// Protects the response to the last unwrapped command.
    pub(crate) fn wrap_response(&self, resp: &ResponseApdu) -> Result<ResponseApdu, GpError> {
        match self {
            ScpCard::Scp03(card) => card.wrap_response(resp),
            ScpCard::Scp02(card) => card.wrap_response(resp),
        }
    }

    /// Whether EXTERNAL AUTHENTICATE succeeded and the session is open.
    pub(crate) fn is_open(&self) -> bool {
        match self {
            ScpCard::Scp03(card) => card.is_open(),
            ScpCard::Scp02(card) => card.is_open(),
        }
    }

    /// The sequence counter to persist.
    pub(crate) fn counter(&self) -> u32 {
        match self {
            ScpCard::Scp03(card) => card.sequence_counter().value(),
            ScpCard::Scp02(card) => u32::from(card.sequence_counter()),
        }
    }

    /// The key that protects keys and secret DGIs in this session: the static DEK under SCP03,
    /// the session DEK under SCP02.
    pub(crate) fn key_encryption_key(&self) -> Result<KeyEncryptionKey, GpError> {
        match self {
            ScpCard::Scp03(card) if card.is_open() => {
                Ok(KeyEncryptionKey::aes(card.static_keys().dek()))
            }
            ScpCard::Scp03(_) => Err(GpError::ChannelClosed),
            ScpCard::Scp02(card) => card.key_encryption_key(),
        }
    }

    /// The key type byte of PUT KEY components this protocol uses (`88` AES, `80` DES).
    pub(crate) fn key_type(&self) -> u8 {
        match self {
            ScpCard::Scp03(_) => 0x88,
            ScpCard::Scp02(_) => 0x80,
        }
    }
}

/// `cmd` with the logical channel of its class byte set to 0.
///
/// The core's SCP02 MACs the class byte as received, channel bits included, while its SCP03
/// MACs it with channel 0 so that a TSM script is valid on whatever channel the phone relays
/// it. The simulated card applies the SCP03 rule to SCP02 too: the TSM cannot know the channel.
fn on_basic_channel(cmd: &CommandApdu) -> CommandApdu {
    let Ok(class) = Class::new(cmd.cla()).with_channel(LogicalChannel::BASIC) else {
        return cmd.clone();
    };
    let rebuilt = CommandApdu::new(class.value(), cmd.ins(), cmd.p1(), cmd.p2())
        .with_data(cmd.data().to_vec())
        .and_then(|c| match cmd.ne() {
            Some(ne) => c.with_le(ne),
            None => Ok(c),
        });
    rebuilt.unwrap_or_else(|_| cmd.clone())
}

/// A LOAD announced by INSTALL [for load].
#[derive(Debug)]
pub(crate) struct PendingLoad {
    /// The load file's AID.
    pub(crate) aid: Aid,
    /// The security domain it will be associated with.
    pub(crate) security_domain: Aid,
    /// The blocks received so far.
    pub(crate) assembler: LoadAssembler,
}

/// A STORE DATA sequence in progress: the DGI stream (secret DGIs already decrypted).
#[derive(Debug, Default)]
pub(crate) struct DgiStream {
    /// Block number expected next.
    pub(crate) next_block: u16,
    /// The DGIs received so far, encoded.
    pub(crate) buffer: Vec<u8>,
}

/// Where a GET STATUS answered `6310` stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StatusCursor {
    /// The scope asked.
    pub(crate) scope: StatusScope,
    /// The AID prefix asked.
    pub(crate) prefix: Vec<u8>,
    /// Index of the first entry not sent yet.
    pub(crate) next: usize,
}

/// A security domain session on one logical channel.
#[derive(Debug)]
pub(crate) struct SdSession {
    /// The secure channel.
    pub(crate) scp: ScpCard,
    /// The application or SD named by INSTALL [for personalization].
    pub(crate) perso_target: Option<Aid>,
    /// STORE DATA in progress.
    pub(crate) store: Option<DgiStream>,
    /// LOAD in progress.
    pub(crate) load: Option<PendingLoad>,
    /// GET STATUS continuation.
    pub(crate) status_cursor: Option<StatusCursor>,
}

impl SdSession {
    /// A session around a card side that has just answered INITIALIZE UPDATE.
    pub(crate) fn new(scp: ScpCard) -> SdSession {
        SdSession {
            scp,
            perso_target: None,
            store: None,
            load: None,
            status_cursor: None,
        }
    }
}
