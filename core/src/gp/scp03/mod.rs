//! SCP03, the AES secure channel protocol (GlobalPlatform Card Specification Amendment D).
//!
//! - [`Scp03Host`] — the off-card entity (the TSM): INITIALIZE UPDATE, card cryptogram check,
//!   EXTERNAL AUTHENTICATE, then wrapping commands and unwrapping responses; also a precomputed
//!   session for a card with a pseudo-random card challenge, so a whole card-opening script can
//!   be built before the card has answered anything.
//! - [`Scp03Card`] — the security domain side (the SE simulator).
//! - Shared here: the `i` parameter ([`Scp03Options`]), the [`SequenceCounter`], the
//!   INITIALIZE UPDATE response ([`InitializeUpdateResponse`]) and the key derivations. The
//!   derivations use [`crate::crypto::cmac::scp03_kdf`] with Amendment D's derivation
//!   constants; the session context is `host challenge || card challenge`.

mod card;
mod host;
mod wrap;

pub use card::{Scp03Card, Scp03CardConfig};
pub use host::Scp03Host;

use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::keys::{StaticKeys, DIVERSIFICATION_DATA_LEN, KEY_LEN};
use super::reader::Reader;
use super::{Aid, GpError, SecurityLevel};
use crate::apdu::CommandApdu;
use crate::crypto::cmac::{derivation_constant, scp03_kdf};

/// The protocol number in key information and card recognition data.
pub const SCP03: u8 = 0x03;
/// Length of host and card challenges.
pub const CHALLENGE_LEN: usize = 8;
/// Length of host and card cryptograms.
pub const CRYPTOGRAM_LEN: usize = 8;
/// Length of the C-MAC and R-MAC appended to data.
pub const MAC_LEN: usize = 8;
/// AES block length, for padding and ICVs.
const BLOCK_LEN: usize = 16;

/// The SCP03 implementation option `i` (Amendment D, "SCP03 parameter i"): how the card challenge is made and
/// which response protections the card supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Scp03Options(u8);

impl Scp03Options {
    /// b5: pseudo-random card challenge (derived from a sequence counter), else random.
    pub const PSEUDO_RANDOM_BIT: u8 = 0x10;
    /// b6: R-MAC support.
    pub const R_MAC_BIT: u8 = 0x20;
    /// b7: R-ENCRYPTION support (requires b6).
    pub const R_ENC_BIT: u8 = 0x40;

    /// `i = 00`: random card challenge, no R-MAC, no R-ENCRYPTION.
    pub const RANDOM: Scp03Options = Scp03Options(0x00);
    /// `i = 10`: pseudo-random card challenge, no R-MAC.
    pub const PSEUDO_RANDOM: Scp03Options = Scp03Options(0x10);
    /// `i = 60`: random card challenge, R-MAC and R-ENCRYPTION.
    pub const RANDOM_R_MAC_R_ENC: Scp03Options = Scp03Options(0x60);
    /// `i = 70`: pseudo-random card challenge, R-MAC and R-ENCRYPTION.
    pub const PSEUDO_RANDOM_R_MAC_R_ENC: Scp03Options = Scp03Options(0x70);

    /// Decodes `i`, rejecting RFU bits and R-ENCRYPTION without R-MAC.
    pub const fn new(i: u8) -> Result<Scp03Options, GpError> {
        let known = Self::PSEUDO_RANDOM_BIT | Self::R_MAC_BIT | Self::R_ENC_BIT;
        if i & !known != 0 || (i & Self::R_ENC_BIT != 0 && i & Self::R_MAC_BIT == 0) {
            Err(GpError::ProtocolNotSupported { scp: SCP03, i })
        } else {
            Ok(Scp03Options(i))
        }
    }

    /// The `i` byte.
    pub const fn value(self) -> u8 {
        self.0
    }

    /// Whether the card challenge is pseudo-random (and a sequence counter is returned).
    pub const fn pseudo_random(self) -> bool {
        self.0 & Self::PSEUDO_RANDOM_BIT != 0
    }

    /// Whether a session at `level` is possible with this option.
    pub const fn supports(self, level: SecurityLevel) -> bool {
        (!level.r_mac() || self.0 & Self::R_MAC_BIT != 0)
            && (!level.r_enc() || self.0 & Self::R_ENC_BIT != 0)
    }
}

/// The 24-bit sequence counter of a card with pseudo-random card challenges. The card
/// increments it for every INITIALIZE UPDATE and reports the value it used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct SequenceCounter(u32);

impl SequenceCounter {
    /// Largest value: `FFFFFF`.
    pub const MAX: u32 = 0x00FF_FFFF;

    /// A counter value, at most [`Self::MAX`].
    pub const fn new(value: u32) -> Result<SequenceCounter, GpError> {
        if value > Self::MAX {
            Err(GpError::InvalidParameter(
                "sequence counter exceeds 24 bits",
            ))
        } else {
            Ok(SequenceCounter(value))
        }
    }

    /// Decodes the three-byte field.
    pub const fn from_bytes(bytes: [u8; 3]) -> SequenceCounter {
        let [a, b, c] = bytes;
        SequenceCounter(u32::from_be_bytes([0, a, b, c]))
    }

    /// The counter value.
    pub const fn value(self) -> u32 {
        self.0
    }

    /// The three-byte field.
    pub const fn to_bytes(self) -> [u8; 3] {
        let [_, a, b, c] = self.0.to_be_bytes();
        [a, b, c]
    }

    /// The next value, or `None` when the counter is exhausted.
    pub const fn next(self) -> Option<SequenceCounter> {
        if self.0 >= Self::MAX {
            None
        } else {
            Some(SequenceCounter(self.0 + 1))
        }
    }
}

/// The data of a successful INITIALIZE UPDATE response (Amendment D): 29 bytes, or 32
/// with the sequence counter of a pseudo-random card challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitializeUpdateResponse {
    /// Key diversification data (e.g. the SE serial number).
    pub key_diversification_data: [u8; DIVERSIFICATION_DATA_LEN],
    /// Key version number of the key set the card used.
    pub key_version: u8,
    /// The card's `i` parameter.
    pub options: Scp03Options,
    /// Card challenge.
    pub card_challenge: [u8; CHALLENGE_LEN],
    /// Card cryptogram.
    pub card_cryptogram: [u8; CRYPTOGRAM_LEN],
    /// Sequence counter, present exactly when the challenge is pseudo-random.
    pub sequence_counter: Option<SequenceCounter>,
}

impl InitializeUpdateResponse {
    /// Decodes the response data (without the status word).
    pub fn parse(data: &[u8]) -> Result<InitializeUpdateResponse, GpError> {
        let mut r = Reader::response(data);
        let key_diversification_data = r.array("key diversification data")?;
        let [key_version, scp, i] = r.array("key information")?;
        if scp != SCP03 {
            return Err(GpError::ProtocolNotSupported { scp, i });
        }
        let options = Scp03Options::new(i)?;
        let card_challenge = r.array("card challenge")?;
        let card_cryptogram = r.array("card cryptogram")?;
        let sequence_counter = if options.pseudo_random() {
            Some(SequenceCounter::from_bytes(r.array("sequence counter")?))
        } else {
            None
        };
        r.finish("INITIALIZE UPDATE response length")?;
        Ok(InitializeUpdateResponse {
            key_diversification_data,
            key_version,
            options,
            card_challenge,
            card_cryptogram,
            sequence_counter,
        })
    }

    /// Encodes the response data.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(32);
        out.extend_from_slice(&self.key_diversification_data);
        out.extend_from_slice(&[self.key_version, SCP03, self.options.value()]);
        out.extend_from_slice(&self.card_challenge);
        out.extend_from_slice(&self.card_cryptogram);
        if let Some(counter) = self.sequence_counter {
            out.extend_from_slice(&counter.to_bytes());
        }
        out
    }
}

/// INITIALIZE UPDATE: `80 50 kv 00 08 host_challenge 00`.
pub fn initialize_update_command(
    key_version: u8,
    host_challenge: &[u8; CHALLENGE_LEN],
) -> Result<CommandApdu, GpError> {
    Ok(CommandApdu::new(0x80, 0x50, key_version, 0x00)
        .with_data(host_challenge.to_vec())?
        .with_short_le(0x00))
}

/// The pseudo-random card challenge (Amendment D, card challenge): the first 64 bits of the SCP03 KDF
/// under the static Key-ENC with derivation constant `02` and context
/// `sequence counter || AID of the invoking security domain`.
pub fn pseudo_random_card_challenge(
    keys: &StaticKeys,
    counter: SequenceCounter,
    aid: &Aid,
) -> Result<[u8; CHALLENGE_LEN], GpError> {
    let mut context = Vec::with_capacity(3 + aid.as_bytes().len());
    context.extend_from_slice(&counter.to_bytes());
    context.extend_from_slice(aid.as_bytes());
    let out = scp03_kdf(
        keys.enc(),
        derivation_constant::CARD_CHALLENGE,
        &context,
        64,
    )?;
    array(&out)
}

fn array<const N: usize>(bytes: &[u8]) -> Result<[u8; N], GpError> {
    <[u8; N]>::try_from(bytes).map_err(|_| GpError::InvalidParameter("KDF output length"))
}

type Key = Zeroizing<[u8; KEY_LEN]>;

/// S-ENC, S-MAC and S-RMAC of one session, with the session's derivation context.
#[derive(Zeroize, ZeroizeOnDrop)]
pub(crate) struct SessionKeys {
    pub(crate) enc: Key,
    pub(crate) mac: Key,
    pub(crate) rmac: Key,
    context: [u8; 2 * CHALLENGE_LEN],
}

impl SessionKeys {
    /// Derives the session keys from the static keys and both challenges.
    pub(crate) fn derive(
        keys: &StaticKeys,
        host_challenge: &[u8; CHALLENGE_LEN],
        card_challenge: &[u8; CHALLENGE_LEN],
    ) -> Result<SessionKeys, GpError> {
        let mut context = [0u8; 2 * CHALLENGE_LEN];
        let (h, c) = context.split_at_mut(CHALLENGE_LEN);
        h.copy_from_slice(host_challenge);
        c.copy_from_slice(card_challenge);
        let derive = |key: &[u8; KEY_LEN], constant| -> Result<Key, GpError> {
            let out = scp03_kdf(key, constant, &context, 128)?;
            let mut derived = Zeroizing::new([0u8; KEY_LEN]);
            derived.copy_from_slice(
                out.get(..KEY_LEN)
                    .ok_or(GpError::InvalidParameter("KDF output length"))?,
            );
            Ok(derived)
        };
        Ok(SessionKeys {
            enc: derive(keys.enc(), derivation_constant::S_ENC)?,
            mac: derive(keys.mac(), derivation_constant::S_MAC)?,
            rmac: derive(keys.mac(), derivation_constant::S_RMAC)?,
            context,
        })
    }

    /// The card cryptogram: KDF(S-MAC, `00`, context, 64).
    pub(crate) fn card_cryptogram(&self) -> Result<[u8; CRYPTOGRAM_LEN], GpError> {
        self.cryptogram(derivation_constant::CARD_CRYPTOGRAM)
    }

    /// The host cryptogram: KDF(S-MAC, `01`, context, 64).
    pub(crate) fn host_cryptogram(&self) -> Result<[u8; CRYPTOGRAM_LEN], GpError> {
        self.cryptogram(derivation_constant::HOST_CRYPTOGRAM)
    }

    fn cryptogram(&self, constant: u8) -> Result<[u8; CRYPTOGRAM_LEN], GpError> {
        array(&scp03_kdf(&self.mac[..], constant, &self.context, 64)?)
    }
}

#[cfg(test)]
mod tests;
