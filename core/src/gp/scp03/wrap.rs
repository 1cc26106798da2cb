//! Secure messaging of an open SCP03 session (Amendment D, "secure messaging"): one
//! implementation shared by host and card, so both sides compute exactly the same bytes.
//!
//! - **C-MAC**: `CMAC(S-MAC, chaining value || CLA' INS P1 P2 Lc' || data')`, the first 8 bytes
//!   appended to the data. CLA' has the secure messaging bit set and the logical channel set to
//!   0 (so a script stays valid on whatever channel the phone relays it); Lc' counts the MAC and
//!   is coded as on the wire (1 byte, or `00 hi lo` for an extended APDU). The full 16-byte CMAC
//!   becomes the next chaining value; the first one is 16 zero bytes (EXTERNAL AUTHENTICATE).
//! - **C-DECRYPTION**: the encryption counter is incremented for every command (with or without
//!   data); data, padded `80 00..` to 16-byte blocks, is AES-CBC encrypted under S-ENC with
//!   `ICV = AES(S-ENC, counter as 16 bytes)`. Empty data is not encrypted.
//! - **R-MAC**: `CMAC(S-RMAC, chaining value of the command || data || SW1 SW2)`, 8 bytes.
//! - **R-ENCRYPTION**: like C-DECRYPTION with `ICV = AES(S-ENC, 80 || counter[1..16])`.
//! - Responses with an error status word (anything but `9000`, `62xx`, `63xx`) carry no data and
//!   no protection.

use super::{SessionKeys, BLOCK_LEN, CRYPTOGRAM_LEN, MAC_LEN};
use crate::apdu::{
    Class, ClassInfo, CommandApdu, LogicalChannel, ResponseApdu, SecureMessaging, StatusWord,
};
use crate::crypto::aes::{aes_cbc_decrypt, aes_cbc_encrypt, aes_ecb_encrypt};
use crate::crypto::cmac::{aes_cmac_parts, CMAC_LEN};
use crate::crypto::mac::{pad, unpad_method2, verify_mac, Padding};
use crate::gp::{GpError, SecurityLevel};
use zeroize::Zeroizing;

/// What a response to one command needs: that command's MAC chaining value and encryption
/// counter. The host keeps one per wrapped command, so responses of a batch can be unwrapped
/// after all commands were wrapped.
#[derive(Clone, Copy)]
pub(crate) struct ResponseContext {
    chaining: [u8; CMAC_LEN],
    counter: u128,
}

/// The state of an open session.
pub(crate) struct Session {
    /// Boxed so that the keys are never moved (and copied) once the session holds them.
    keys: Box<SessionKeys>,
    level: SecurityLevel,
    chaining: [u8; CMAC_LEN],
    counter: u128,
}

/// Whether a response with this status word is protected (Amendment D: `9000` and warnings).
fn is_protected_status(sw: StatusWord) -> bool {
    sw.is_success() || sw.is_warning()
}

/// The wire class byte (secure messaging indicated) and the class byte the MAC covers (also
/// channel 0) of a plain command.
fn secured_classes(cla: u8) -> Result<(u8, u8), GpError> {
    let info = Class::new(cla).decode()?;
    if info.secure_messaging != SecureMessaging::None {
        return Err(GpError::InvalidParameter(
            "command already carries secure messaging",
        ));
    }
    let secured = ClassInfo {
        secure_messaging: SecureMessaging::Proprietary,
        ..info
    };
    Ok((secured.encode()?.value(), mac_class(secured)?))
}

fn mac_class(info: ClassInfo) -> Result<u8, GpError> {
    Ok(ClassInfo {
        channel: LogicalChannel::BASIC,
        ..info
    }
    .encode()?
    .value())
}

/// The Lc field as the MAC covers it: as [`CommandApdu::to_bytes`] will code it.
fn lc_field(nc: usize, ne: Option<u32>) -> Result<Vec<u8>, GpError> {
    let lc = u16::try_from(nc).map_err(|_| GpError::InvalidParameter("command data too long"))?;
    if nc > 255 || ne.is_some_and(|ne| ne > 256) {
        let [hi, lo] = lc.to_be_bytes();
        Ok(vec![0x00, hi, lo])
    } else {
        Ok(lc.to_be_bytes().get(1..).unwrap_or_default().to_vec())
    }
}

fn block(bytes: &[u8]) -> Result<[u8; BLOCK_LEN], GpError> {
    <[u8; BLOCK_LEN]>::try_from(bytes).map_err(|_| GpError::InvalidParameter("AES block"))
}

impl Session {
    /// A session at `level`, chaining value and encryption counter zero.
    pub(crate) fn new(keys: Box<SessionKeys>, level: SecurityLevel) -> Session {
        Session {
            keys,
            level,
            chaining: [0; CMAC_LEN],
            counter: 0,
        }
    }

    /// The security level.
    pub(crate) fn level(&self) -> SecurityLevel {
        self.level
    }

    /// The context of the last command wrapped or unwrapped.
    pub(crate) fn context(&self) -> ResponseContext {
        ResponseContext {
            chaining: self.chaining,
            counter: self.counter,
        }
    }

    /// Builds EXTERNAL AUTHENTICATE `84 82 SL 00 10 host_cryptogram C-MAC`.
    pub(crate) fn external_authenticate(
        &mut self,
        host_cryptogram: &[u8; CRYPTOGRAM_LEN],
    ) -> Result<CommandApdu, GpError> {
        let plain = CommandApdu::new(0x80, 0x82, self.level.value(), 0x00)
            .with_data(host_cryptogram.to_vec())?;
        let (wire_cla, mac_cla) = secured_classes(plain.cla())?;
        self.mac_command(wire_cla, mac_cla, &plain, plain.data().to_vec())
    }

    /// Card side: checks the C-MAC of EXTERNAL AUTHENTICATE (whose data is the host cryptogram
    /// and the MAC).
    pub(crate) fn verify_external_authenticate(
        &mut self,
        cmd: &CommandApdu,
    ) -> Result<(), GpError> {
        self.verify_mac(cmd).map(|_| ())
    }

    /// Host side: protects a command at the session's level.
    pub(crate) fn wrap_command(&mut self, cmd: &CommandApdu) -> Result<CommandApdu, GpError> {
        if !self.level.c_mac() {
            return Ok(cmd.clone());
        }
        let (wire_cla, mac_cla) = secured_classes(cmd.cla())?;
        let data = if self.level.c_dec() {
            self.increment_counter()?;
            self.encrypt(false, cmd.data())?
        } else {
            cmd.data().to_vec()
        };
        self.mac_command(wire_cla, mac_cla, cmd, data)
    }

    fn mac_command(
        &mut self,
        wire_cla: u8,
        mac_cla: u8,
        cmd: &CommandApdu,
        mut data: Vec<u8>,
    ) -> Result<CommandApdu, GpError> {
        let header = [mac_cla, cmd.ins(), cmd.p1(), cmd.p2()];
        let lc = lc_field(data.len() + MAC_LEN, cmd.ne())?;
        let mac = aes_cmac_parts(&self.keys.mac[..], &[&self.chaining, &header, &lc, &data])?;
        data.extend_from_slice(mac.get(..MAC_LEN).unwrap_or_default());
        let wrapped = CommandApdu::new(wire_cla, cmd.ins(), cmd.p1(), cmd.p2()).with_data(data)?;
        self.chaining = mac;
        Ok(match cmd.ne() {
            Some(ne) => wrapped.with_le(ne)?,
            None => wrapped,
        })
    }

    /// Card side: verifies and strips the C-MAC, returning the class byte without secure
    /// messaging and the remaining data. Updates the chaining value only on success.
    fn verify_mac(&mut self, cmd: &CommandApdu) -> Result<(u8, Vec<u8>), GpError> {
        let info = Class::new(cmd.cla()).decode()?;
        if info.secure_messaging != SecureMessaging::Proprietary {
            return Err(GpError::SecureMessagingMissing);
        }
        let split = cmd
            .data()
            .len()
            .checked_sub(MAC_LEN)
            .ok_or(GpError::CommandMac)?;
        let (body, received) = cmd
            .data()
            .split_at_checked(split)
            .ok_or(GpError::CommandMac)?;
        let header = [mac_class(info)?, cmd.ins(), cmd.p1(), cmd.p2()];
        let lc = lc_field(cmd.data().len(), cmd.ne())?;
        let mac = aes_cmac_parts(&self.keys.mac[..], &[&self.chaining, &header, &lc, body])?;
        verify_mac(mac.get(..MAC_LEN).unwrap_or_default(), received)
            .map_err(|_| GpError::CommandMac)?;
        self.chaining = mac;
        let plain = ClassInfo {
            secure_messaging: SecureMessaging::None,
            ..info
        };
        Ok((plain.encode()?.value(), body.to_vec()))
    }

    /// Card side: verifies and removes the protection of a command.
    pub(crate) fn unwrap_command(&mut self, cmd: &CommandApdu) -> Result<CommandApdu, GpError> {
        if !self.level.c_mac() {
            return Ok(cmd.clone());
        }
        let (cla, mut data) = self.verify_mac(cmd)?;
        if self.level.c_dec() {
            self.increment_counter()?;
            if !data.is_empty() {
                let icv = self.icv(false)?;
                data = self.decrypt(&icv, &data)?;
            }
        }
        let plain = CommandApdu::new(cla, cmd.ins(), cmd.p1(), cmd.p2()).with_data(data)?;
        Ok(match cmd.ne() {
            Some(ne) => plain.with_le(ne)?,
            None => plain,
        })
    }

    /// Card side: protects the response to the last command unwrapped.
    pub(crate) fn wrap_response(&self, resp: &ResponseApdu) -> Result<ResponseApdu, GpError> {
        if !(self.level.r_mac() || self.level.r_enc()) {
            return Ok(resp.clone());
        }
        if !is_protected_status(resp.sw) {
            return Ok(ResponseApdu::status_only(resp.sw));
        }
        let ctx = self.context();
        let mut data = if self.level.r_enc() {
            self.encrypt(true, &resp.data)?
        } else {
            resp.data.clone()
        };
        if self.level.r_mac() {
            let mac = self.response_mac(&ctx, &data, resp.sw)?;
            data.extend_from_slice(mac.get(..MAC_LEN).unwrap_or_default());
        }
        Ok(ResponseApdu::new(data, resp.sw))
    }

    /// Host side: verifies and removes the protection of the response to the command whose
    /// context is `ctx`.
    pub(crate) fn unwrap_response(
        &self,
        ctx: &ResponseContext,
        resp: &ResponseApdu,
    ) -> Result<ResponseApdu, GpError> {
        if !(self.level.r_mac() || self.level.r_enc()) {
            return Ok(resp.clone());
        }
        if !is_protected_status(resp.sw) {
            return if resp.data.is_empty() {
                Ok(resp.clone())
            } else {
                Err(GpError::MalformedResponse("data with an error status word"))
            };
        }
        let mut data = resp.data.as_slice();
        if self.level.r_mac() {
            let split = data
                .len()
                .checked_sub(MAC_LEN)
                .ok_or(GpError::ResponseMac)?;
            let (body, received) = data.split_at_checked(split).ok_or(GpError::ResponseMac)?;
            let mac = self.response_mac(ctx, body, resp.sw)?;
            verify_mac(mac.get(..MAC_LEN).unwrap_or_default(), received)
                .map_err(|_| GpError::ResponseMac)?;
            data = body;
        }
        let data = if self.level.r_enc() && !data.is_empty() {
            let icv = self.icv_for(ctx.counter, true)?;
            self.decrypt(&icv, data)?
        } else {
            data.to_vec()
        };
        Ok(ResponseApdu::new(data, resp.sw))
    }

    fn response_mac(
        &self,
        ctx: &ResponseContext,
        data: &[u8],
        sw: StatusWord,
    ) -> Result<[u8; CMAC_LEN], GpError> {
        Ok(aes_cmac_parts(
            &self.keys.rmac[..],
            &[&ctx.chaining, data, &sw.to_bytes()],
        )?)
    }

    fn increment_counter(&mut self) -> Result<(), GpError> {
        self.counter = self
            .counter
            .checked_add(1)
            .ok_or(GpError::UnexpectedState("encryption counter exhausted"))?;
        Ok(())
    }

    fn icv(&self, response: bool) -> Result<[u8; BLOCK_LEN], GpError> {
        self.icv_for(self.counter, response)
    }

    /// `AES(S-ENC, counter)`, with the first byte set to `80` for responses.
    fn icv_for(&self, counter: u128, response: bool) -> Result<[u8; BLOCK_LEN], GpError> {
        let mut input = counter.to_be_bytes();
        if response {
            if let Some(first) = input.first_mut() {
                *first = 0x80;
            }
        }
        block(&aes_ecb_encrypt(&self.keys.enc[..], &input)?)
    }

    /// C-DECRYPTION (`response == false`) or R-ENCRYPTION of `plain` at the current counter;
    /// empty data stays empty. The padded copy of the plaintext is zeroized on drop.
    fn encrypt(&self, response: bool, plain: &[u8]) -> Result<Vec<u8>, GpError> {
        if plain.is_empty() {
            return Ok(Vec::new());
        }
        let icv = self.icv(response)?;
        let padded = Zeroizing::new(pad(plain, BLOCK_LEN, Padding::Method2));
        Ok(aes_cbc_encrypt(&self.keys.enc[..], &icv, &padded)?)
    }

    fn decrypt(&self, icv: &[u8; BLOCK_LEN], data: &[u8]) -> Result<Vec<u8>, GpError> {
        if data.is_empty() || data.len() % BLOCK_LEN != 0 {
            return Err(GpError::Decryption);
        }
        let plain =
            aes_cbc_decrypt(&self.keys.enc[..], icv, data).map_err(|_| GpError::Decryption)?;
        let unpadded = unpad_method2(&plain, BLOCK_LEN).map_err(|_| GpError::Decryption)?;
        Ok(unpadded.to_vec())
    }
}
