//! STORE DATA after INSTALL [for personalization]: the DGIs of the target application.
//!
//! Blocks are numbered from 0 (a block 0 starts a new sequence) and form one DGI stream; a
//! DGI may span clear blocks. A block whose P1 says "encrypted" (`60`) holds whole DGIs whose
//! values are encrypted under the session's key-encryption key (SCP03: the static DEK, AES-CBC
//! with a zero ICV; SCP02: the session DEK, 3DES-ECB), tag and length in clear and no padding
//! (values are whole cipher blocks, as DGI `8000`'s 48 bytes are): the card decrypts them as
//! they arrive. At the last block the DGIs go to the application, which checks them; on
//! success an application in state SELECTABLE becomes PERSONALIZED (`0F`), and the last block
//! answers what the application returned (the payment applet: its signing public key
//! `DF61 41 <04 ‖ X ‖ Y>` when the personalisation carried a PIN).

use wallet_core::apdu::{CommandApdu, ResponseApdu};
use wallet_core::gp::commands::{DataStructure, Dgi, StoreData, StoreDataEncryption};
use wallet_core::gp::{AppLifeCycle, KeyEncryptionKey};

use super::applet::AppletError;
use super::error::{sw, CardResult, Refusal};
use super::sd::SdContext;
use super::secure_channel::DgiStream;

/// Longest DGI stream one personalisation may send.
pub const MAX_PERSONALIZATION_LEN: usize = 64 * 1024;

/// Decrypts the values of the whole DGIs of an encrypted block and re-encodes them in clear.
pub(crate) fn decrypt_block(data: &[u8], kek: &KeyEncryptionKey) -> Result<Vec<u8>, Refusal> {
    let dgis = Dgi::parse_all(data).map_err(|_| Refusal(sw::WRONG_DATA))?;
    let mut plain = Vec::with_capacity(data.len());
    for dgi in dgis {
        let value = if dgi.data.is_empty() {
            Vec::new()
        } else {
            kek.decrypt(&dgi.data)
                .map_err(|_| Refusal(sw::WRONG_DATA))?
                .to_vec()
        };
        Dgi {
            tag: dgi.tag,
            data: value,
        }
        .encode_into(&mut plain)?;
    }
    Ok(plain)
}

impl SdContext<'_> {
    /// STORE DATA.
    pub(crate) fn store_data(&mut self, cmd: &CommandApdu) -> CardResult {
        let block = StoreData::parse(cmd)?;
        if block.structure == DataStructure::BerTlv {
            return Err(Refusal(sw::WRONG_P1P2));
        }
        let session = self
            .channel
            .session
            .as_mut()
            .ok_or(Refusal(sw::SECURITY_STATUS))?;
        let target = session
            .perso_target
            .clone()
            .ok_or(Refusal(sw::CONDITIONS))?;
        if block.block_number == 0 {
            session.store = Some(DgiStream::default());
        }
        let expected = session.store.as_ref().map(|s| s.next_block);
        if expected != Some(u16::from(block.block_number)) {
            session.store = None;
            return Err(Refusal(sw::WRONG_P1P2));
        }
        let plain = match block.encryption {
            StoreDataEncryption::Encrypted => {
                let kek = session.scp.key_encryption_key()?;
                decrypt_block(&block.data, &kek)?
            }
            StoreDataEncryption::None | StoreDataEncryption::ApplicationDependent => block.data,
        };
        let Some(stream) = session.store.as_mut() else {
            return Err(Refusal(sw::CONDITIONS));
        };
        if stream.buffer.len() + plain.len() > MAX_PERSONALIZATION_LEN {
            session.store = None;
            return Err(Refusal(sw::NOT_ENOUGH_MEMORY));
        }
        stream.buffer.extend_from_slice(&plain);
        stream.next_block += 1;
        if !block.last {
            return Ok(ResponseApdu::success(Vec::new()));
        }
        let stream = session.store.take().unwrap_or_default();
        let dgis = Dgi::parse_all(&stream.buffer).map_err(|_| Refusal(sw::WRONG_DATA))?;
        let entry = self
            .registry
            .entry_mut(&target)
            .ok_or(Refusal(sw::DATA_NOT_FOUND))?;
        let super::registry::Body::Applet(applet) = &mut entry.body else {
            return Err(Refusal(sw::CONDITIONS));
        };
        let refused = |err: AppletError| match err {
            AppletError::NotNow => Refusal(sw::CONDITIONS),
            _ => Refusal(sw::WRONG_DATA),
        };
        for dgi in dgis {
            applet.store_dgi(dgi).map_err(refused)?;
        }
        let result = applet.end_personalization().map_err(refused);
        *self.dirty = true;
        let response = result?;
        if entry.life_cycle == AppLifeCycle::SELECTABLE {
            entry.life_cycle = AppLifeCycle::PERSONALIZED;
        }
        Ok(ResponseApdu::success(response))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One encrypted DGI 8000 under an AES KEK: the value decrypts, tag and length stay.
    #[test]
    fn encrypted_dgi_values_are_decrypted() {
        let key = [0x5A; 16];
        let kek = KeyEncryptionKey::aes(&key);
        let secret: Vec<u8> = (0..48).collect();
        let mut block = vec![0x80, 0x00, 48];
        block.extend(kek.encrypt(&secret).unwrap());
        let plain = decrypt_block(&block, &kek).unwrap();
        assert_eq!(plain[..3], [0x80, 0x00, 48]);
        assert_eq!(plain[3..], secret[..]);
        // Not a whole number of blocks: refused.
        assert_eq!(
            decrypt_block(&[0x80, 0x00, 0x03, 1, 2, 3], &kek),
            Err(Refusal(sw::WRONG_DATA))
        );
    }
}
