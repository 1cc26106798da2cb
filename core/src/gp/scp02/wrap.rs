//! Secure messaging of an open SCP02 `i = 15` session, shared by host and card.

use super::{SessionKeys, MAC_LEN};
use crate::apdu::{Class, ClassInfo, CommandApdu, LogicalChannel, SecureMessaging};
use crate::crypto::des::{des_ecb_encrypt, tdes_cbc_decrypt, tdes_cbc_encrypt, BLOCK_LEN};
use crate::crypto::mac::{pad, retail_mac, unpad_method2, verify_mac, Padding};
use crate::gp::{GpError, SecurityLevel};
use zeroize::Zeroizing;

/// The state of an open session: the level and the last C-MAC (the next ICV, once encrypted).
pub(crate) struct Session {
    /// Boxed so that the keys are never moved (and copied) once the session holds them.
    keys: Box<SessionKeys>,
    level: SecurityLevel,
    last_mac: Option<[u8; MAC_LEN]>,
}

fn short_lc(len: usize) -> Result<u8, GpError> {
    u8::try_from(len).map_err(|_| GpError::InvalidParameter("SCP02 command data too long"))
}

impl Session {
    pub(crate) fn new(keys: Box<SessionKeys>, level: SecurityLevel) -> Session {
        Session {
            keys,
            level,
            last_mac: None,
        }
    }

    pub(crate) fn level(&self) -> SecurityLevel {
        self.level
    }

    pub(crate) fn keys(&self) -> &SessionKeys {
        &self.keys
    }

    /// The ICV of the next C-MAC: zero for EXTERNAL AUTHENTICATE, then the previous C-MAC
    /// encrypted with single DES under the left half of the C-MAC key.
    fn icv(&self) -> Result<[u8; MAC_LEN], GpError> {
        let Some(last) = self.last_mac else {
            return Ok([0; MAC_LEN]);
        };
        let mut left = Zeroizing::new([0u8; 8]);
        left.copy_from_slice(self.keys.mac.get(..8).unwrap_or(&[0; 8]));
        let out = des_ecb_encrypt(&left, &last)?;
        <[u8; MAC_LEN]>::try_from(out.as_slice())
            .map_err(|_| GpError::InvalidParameter("DES block"))
    }

    /// The C-MAC over `header || data` (header with the secure messaging CLA and Lc + 8).
    fn c_mac(&self, header: &[u8; 5], data: &[u8]) -> Result<[u8; MAC_LEN], GpError> {
        // A copy of the (possibly confidential) command data: cleared on drop.
        let input = Zeroizing::new([&header[..], data].concat());
        Ok(retail_mac(
            &self.keys.mac,
            &self.icv()?,
            &input,
            Padding::Method2,
        )?)
    }

    /// Builds EXTERNAL AUTHENTICATE `84 82 SL 00 10 host_cryptogram C-MAC`.
    pub(crate) fn external_authenticate(
        &mut self,
        host_cryptogram: &[u8; MAC_LEN],
    ) -> Result<CommandApdu, GpError> {
        let cmd = CommandApdu::new(0x80, 0x82, self.level.value(), 0x00)
            .with_data(host_cryptogram.to_vec())?;
        self.protect(&cmd, true)
    }

    /// Host side: protects a command at the session level.
    ///
    /// As with SCP03, the C-MAC covers the class byte with the logical channel set to 0, so a
    /// script stays valid on whatever channel the phone relays it.
    pub(crate) fn wrap_command(&mut self, cmd: &CommandApdu) -> Result<CommandApdu, GpError> {
        if !self.level.c_mac() {
            return Ok(cmd.clone());
        }
        self.protect(cmd, false)
    }

    fn protect(&mut self, cmd: &CommandApdu, mac_only: bool) -> Result<CommandApdu, GpError> {
        let info = Class::new(cmd.cla()).decode()?;
        if info.secure_messaging != SecureMessaging::None {
            return Err(GpError::InvalidParameter(
                "command already carries secure messaging",
            ));
        }
        let secured = ClassInfo {
            secure_messaging: SecureMessaging::Proprietary,
            ..info
        };
        let cla = secured.encode()?.value();
        let plain = cmd.data();
        let header = [
            mac_class(secured)?,
            cmd.ins(),
            cmd.p1(),
            cmd.p2(),
            short_lc(plain.len() + MAC_LEN)?,
        ];
        let mac = self.c_mac(&header, plain)?;
        let mut data = if self.level.c_dec() && !mac_only && !plain.is_empty() {
            // The padded plaintext is a copy of the confidential data: cleared on drop.
            let padded = Zeroizing::new(pad(plain, BLOCK_LEN, Padding::Method2));
            tdes_cbc_encrypt(&self.keys.enc[..], &[0; 8], &padded)?
        } else {
            plain.to_vec()
        };
        short_lc(data.len() + MAC_LEN)?;
        data.extend_from_slice(&mac);
        let wrapped = CommandApdu::new(cla, cmd.ins(), cmd.p1(), cmd.p2()).with_data(data)?;
        self.last_mac = Some(mac);
        Ok(match cmd.ne() {
            Some(ne) => wrapped.with_le(ne)?,
            None => wrapped,
        })
    }

    /// Card side: checks the C-MAC of EXTERNAL AUTHENTICATE.
    pub(crate) fn verify_external_authenticate(
        &mut self,
        cmd: &CommandApdu,
    ) -> Result<(), GpError> {
        self.verify(cmd, true).map(|_| ())
    }

    /// Card side: verifies and removes the protection of a command.
    pub(crate) fn unwrap_command(&mut self, cmd: &CommandApdu) -> Result<CommandApdu, GpError> {
        if !self.level.c_mac() {
            return Ok(cmd.clone());
        }
        self.verify(cmd, false)
    }

    fn verify(&mut self, cmd: &CommandApdu, mac_only: bool) -> Result<CommandApdu, GpError> {
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
        let plain = if self.level.c_dec() && !mac_only && !body.is_empty() {
            if body.len() % BLOCK_LEN != 0 {
                return Err(GpError::Decryption);
            }
            let decrypted = tdes_cbc_decrypt(&self.keys.enc[..], &[0; 8], body)?;
            unpad_method2(&decrypted, BLOCK_LEN)
                .map_err(|_| GpError::Decryption)?
                .to_vec()
        } else {
            body.to_vec()
        };
        let header = [
            mac_class(info)?,
            cmd.ins(),
            cmd.p1(),
            cmd.p2(),
            short_lc(plain.len() + MAC_LEN)?,
        ];
        let mac = self.c_mac(&header, &plain)?;
        verify_mac(&mac, received).map_err(|_| GpError::CommandMac)?;
        self.last_mac = Some(mac);
        let cla = ClassInfo {
            secure_messaging: SecureMessaging::None,
            ..info
        }
        .encode()?
        .value();
        let unwrapped = CommandApdu::new(cla, cmd.ins(), cmd.p1(), cmd.p2()).with_data(plain)?;
        Ok(match cmd.ne() {
            Some(ne) => unwrapped.with_le(ne)?,
            None => unwrapped,
        })
    }
}

/// The class byte the C-MAC covers: `info` on the basic channel.
fn mac_class(info: ClassInfo) -> Result<u8, GpError> {
    Ok(ClassInfo {
        channel: LogicalChannel::BASIC,
        ..info
    }
    .encode()?
    .value())
}
