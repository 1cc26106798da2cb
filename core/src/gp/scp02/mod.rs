//! SCP02, the legacy 3DES secure channel protocol (GlobalPlatform Card Specification
//! Appendix E), implementation option `i = 15`: three secure channel keys, explicit initiation,
//! C-MAC on the modified APDU, ICV zero for EXTERNAL AUTHENTICATE and encrypted (single DES
//! under the left half of S-MAC) for every later command. Security levels `00`, `01` (C-MAC)
//! and `03` (C-DECRYPTION and C-MAC); R-MAC (BEGIN/END R-MAC sessions) is not implemented.
//!
//! - Session keys: `3DES-CBC(static key, ICV 0, constant || sequence counter || 00 * 12)` with
//!   constants `0182` (S-ENC, from Key-ENC), `0101` (C-MAC, from Key-MAC), `0102` (R-MAC, from
//!   Key-MAC) and `0181` (S-DEK, from Key-DEK).
//! - Cryptograms: full 3DES MAC (ISO/IEC 9797-1 MAC algorithm 1, padding method 2, ICV 0)
//!   under S-ENC; card over `host challenge || counter || card challenge`, host over
//!   `counter || card challenge || host challenge`.
//! - C-MAC: retail MAC (MAC algorithm 3, padding method 2) under C-MAC over
//!   `CLA' INS P1 P2 Lc+8 data` of the plain command.

mod card;
mod host;
mod wrap;

pub use card::Scp02Card;
pub use host::Scp02Host;

use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::keys::{StaticKeys, DIVERSIFICATION_DATA_LEN, KEY_LEN};
use super::reader::Reader;
use super::{GpError, SecurityLevel};
use crate::crypto::des::{tdes_cbc_encrypt, Tdes};
use crate::crypto::mac::{mac_algorithm_1, Padding};

/// The protocol number in key information and card recognition data.
pub const SCP02: u8 = 0x02;
/// The implementation option this module implements.
pub const I_15: u8 = 0x15;
/// Length of the host challenge.
pub const HOST_CHALLENGE_LEN: usize = 8;
/// Length of the card challenge.
pub const CARD_CHALLENGE_LEN: usize = 6;
/// Length of cryptograms and MACs.
pub const MAC_LEN: usize = 8;

/// Session key derivation constants.
const S_ENC: [u8; 2] = [0x01, 0x82];
const C_MAC: [u8; 2] = [0x01, 0x01];
/// R-MAC session key constant (R-MAC sessions are not implemented; kept for the tests).
#[cfg(test)]
const R_MAC: [u8; 2] = [0x01, 0x02];
const S_DEK: [u8; 2] = [0x01, 0x81];

/// Checks that `level` is one this module implements (`00`, `01`, `03`).
pub(crate) fn check_level(level: SecurityLevel) -> Result<(), GpError> {
    if level.r_mac() {
        Err(GpError::SecurityLevelNotSupported {
            level: level.value(),
        })
    } else {
        Ok(())
    }
}

/// The data of a successful SCP02 INITIALIZE UPDATE response: 28 bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scp02InitializeUpdateResponse {
    /// Key diversification data.
    pub key_diversification_data: [u8; DIVERSIFICATION_DATA_LEN],
    /// Key version number.
    pub key_version: u8,
    /// Sequence counter.
    pub sequence_counter: u16,
    /// Card challenge.
    pub card_challenge: [u8; CARD_CHALLENGE_LEN],
    /// Card cryptogram.
    pub card_cryptogram: [u8; MAC_LEN],
}

impl Scp02InitializeUpdateResponse {
    /// Decodes the response data (without the status word).
    pub fn parse(data: &[u8]) -> Result<Scp02InitializeUpdateResponse, GpError> {
        let mut r = Reader::response(data);
        let key_diversification_data = r.array("key diversification data")?;
        let [key_version, scp] = r.array("key information")?;
        if scp != SCP02 {
            return Err(GpError::ProtocolNotSupported { scp, i: 0 });
        }
        let sequence_counter = u16::from_be_bytes(r.array("sequence counter")?);
        let card_challenge = r.array("card challenge")?;
        let card_cryptogram = r.array("card cryptogram")?;
        r.finish("INITIALIZE UPDATE response length")?;
        Ok(Scp02InitializeUpdateResponse {
            key_diversification_data,
            key_version,
            sequence_counter,
            card_challenge,
            card_cryptogram,
        })
    }

    /// Encodes the response data.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(28);
        out.extend_from_slice(&self.key_diversification_data);
        out.extend_from_slice(&[self.key_version, SCP02]);
        out.extend_from_slice(&self.sequence_counter.to_be_bytes());
        out.extend_from_slice(&self.card_challenge);
        out.extend_from_slice(&self.card_cryptogram);
        out
    }
}

type Key = Zeroizing<[u8; KEY_LEN]>;

/// The session keys of one SCP02 session.
#[derive(Zeroize, ZeroizeOnDrop)]
pub(crate) struct SessionKeys {
    pub(crate) enc: Key,
    pub(crate) mac: Key,
    pub(crate) dek: Key,
    counter: [u8; 2],
}

fn derive(key: &[u8; KEY_LEN], constant: [u8; 2], counter: [u8; 2]) -> Result<Key, GpError> {
    let mut input = [0u8; KEY_LEN];
    input[..2].copy_from_slice(&constant);
    input[2..4].copy_from_slice(&counter);
    let out = Zeroizing::new(tdes_cbc_encrypt(key, &[0; 8], &input)?);
    let mut k = Zeroizing::new([0u8; KEY_LEN]);
    k.copy_from_slice(
        out.get(..KEY_LEN)
            .ok_or(GpError::InvalidParameter("3DES output"))?,
    );
    Ok(k)
}

impl SessionKeys {
    /// Derives the session keys for `sequence_counter`.
    pub(crate) fn derive(keys: &StaticKeys, sequence_counter: u16) -> Result<SessionKeys, GpError> {
        let counter = sequence_counter.to_be_bytes();
        Ok(SessionKeys {
            enc: derive(keys.enc(), S_ENC, counter)?,
            mac: derive(keys.mac(), C_MAC, counter)?,
            dek: derive(keys.dek(), S_DEK, counter)?,
            counter,
        })
    }

    fn cryptogram(&self, parts: &[&[u8]]) -> Result<[u8; MAC_LEN], GpError> {
        Ok(mac_algorithm_1(
            &Tdes::new(&self.enc[..])?,
            &[0; 8],
            &parts.concat(),
            Padding::Method2,
        )?)
    }

    /// The card cryptogram over `host challenge || counter || card challenge`.
    pub(crate) fn card_cryptogram(
        &self,
        host_challenge: &[u8; HOST_CHALLENGE_LEN],
        card_challenge: &[u8; CARD_CHALLENGE_LEN],
    ) -> Result<[u8; MAC_LEN], GpError> {
        self.cryptogram(&[host_challenge, &self.counter, card_challenge])
    }

    /// The host cryptogram over `counter || card challenge || host challenge`.
    pub(crate) fn host_cryptogram(
        &self,
        host_challenge: &[u8; HOST_CHALLENGE_LEN],
        card_challenge: &[u8; CARD_CHALLENGE_LEN],
    ) -> Result<[u8; MAC_LEN], GpError> {
        self.cryptogram(&[&self.counter, card_challenge, host_challenge])
    }
}

#[cfg(test)]
mod tests;
