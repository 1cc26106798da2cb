//! PUT KEY (Card Specification §11.8, Amendment D for AES): adds or replaces a key set.
//!
//! P1: b8 more PUT KEY commands follow, b7-b1 the key version being replaced (`00`: add a new
//! set). P2: b8 several keys, b7-b1 the identifier of the first key (ENC = 1, MAC = 2, DEK = 3).
//! Data: the new key version, then per key: type (`88` AES, `80` DES), length, key data, KCV
//! length, KCV. AES key data is `key length || encrypted key`; DES key data is the encrypted key.
//! Keys are encrypted under the [`KeyEncryptionKey`] (SCP03: static DEK, SCP02: session DEK).
//! The response is the new key version followed by the KCVs.

use zeroize::Zeroizing;

use super::{expect_command, gp_command, ins};
use crate::apdu::CommandApdu;
use crate::gp::keys::{kcv_aes, kcv_des, KeyEncryptionKey, KCV_LEN, KEY_LEN};
use crate::gp::reader::{push_lv, Reader};
use crate::gp::{GpError, StaticKeys};

/// P1 bit: more PUT KEY commands follow.
pub const P1_MORE: u8 = 0x80;
/// P2 bit: the command carries several keys.
pub const P2_MULTIPLE: u8 = 0x80;

/// Key type codings used here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    /// `88`: AES.
    Aes,
    /// `80`: DES (3DES with 16-byte keys).
    Des,
}

impl KeyType {
    /// The key type byte.
    pub const fn value(self) -> u8 {
        match self {
            KeyType::Aes => 0x88,
            KeyType::Des => 0x80,
        }
    }

    fn from_byte(byte: u8) -> Result<KeyType, GpError> {
        match byte {
            0x88 => Ok(KeyType::Aes),
            0x80 => Ok(KeyType::Des),
            _ => Err(GpError::InvalidParameter("unsupported key type")),
        }
    }

    fn kcv(self, key: &[u8]) -> Result<[u8; KCV_LEN], GpError> {
        match self {
            KeyType::Aes => kcv_aes(key),
            KeyType::Des => kcv_des(key),
        }
    }
}

/// One key of a PUT KEY command, as transmitted (encrypted). `Debug` hides the key data.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyComponent {
    /// Key type byte.
    pub key_type: u8,
    /// Key data field (for AES: key length byte then the encrypted key).
    pub key_data: Vec<u8>,
    /// Key check value (may be empty).
    pub kcv: Vec<u8>,
}

impl std::fmt::Debug for KeyComponent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "KeyComponent({:02X}, {} bytes, ..)",
            self.key_type,
            self.key_data.len()
        )
    }
}

/// One PUT KEY command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutKey {
    /// Key version replaced (`00`: a new key set is added).
    pub replace_version: u8,
    /// More PUT KEY commands follow (P1 b8).
    pub more: bool,
    /// Identifier of the first key (P2 b7-b1).
    pub first_key_id: u8,
    /// Several keys (P2 b8).
    pub multiple: bool,
    /// Version of the new key set.
    pub new_version: u8,
    /// The keys.
    pub keys: Vec<KeyComponent>,
}

impl PutKey {
    /// PUT KEY of a whole key set (ENC, MAC, DEK as keys 1, 2, 3) of type `key_type`,
    /// encrypted under `kek`, replacing key version `replace_version` (`00`: add).
    pub fn key_set(
        new_keys: &StaticKeys,
        key_type: KeyType,
        kek: &KeyEncryptionKey,
        replace_version: u8,
    ) -> Result<PutKey, GpError> {
        let component = |key: &[u8; KEY_LEN]| -> Result<KeyComponent, GpError> {
            let encrypted = kek.encrypt(key)?;
            let key_data = match key_type {
                KeyType::Aes => [&[KEY_LEN as u8][..], &encrypted].concat(),
                KeyType::Des => encrypted,
            };
            Ok(KeyComponent {
                key_type: key_type.value(),
                key_data,
                kcv: key_type.kcv(key)?.to_vec(),
            })
        };
        Ok(PutKey {
            replace_version,
            more: false,
            first_key_id: 1,
            multiple: true,
            new_version: new_keys.version(),
            keys: vec![
                component(new_keys.enc())?,
                component(new_keys.mac())?,
                component(new_keys.dek())?,
            ],
        })
    }

    /// The command APDU (`80 D8 P1 P2 Lc data 00`).
    pub fn to_apdu(&self) -> Result<CommandApdu, GpError> {
        if self.replace_version > 0x7F || self.first_key_id > 0x7F {
            return Err(GpError::InvalidParameter(
                "key version and identifier are 7 bits",
            ));
        }
        let p1 = self.replace_version | if self.more { P1_MORE } else { 0 };
        let p2 = self.first_key_id | if self.multiple { P2_MULTIPLE } else { 0 };
        let mut data = vec![self.new_version];
        for key in &self.keys {
            data.push(key.key_type);
            push_lv(&mut data, &key.key_data, "key data")?;
            push_lv(&mut data, &key.kcv, "key check value")?;
        }
        gp_command(ins::PUT_KEY, p1, p2, data, true)
    }

    /// Decodes a PUT KEY command (card side).
    pub fn parse(cmd: &CommandApdu) -> Result<PutKey, GpError> {
        expect_command(cmd, ins::PUT_KEY, "not PUT KEY")?;
        let mut r = Reader::command(cmd.data());
        let new_version = r.byte("new key version")?;
        let mut keys = Vec::new();
        while !r.is_empty() {
            keys.push(KeyComponent {
                key_type: r.byte("key type")?,
                key_data: r.lv("key data")?.to_vec(),
                kcv: r.lv("key check value")?.to_vec(),
            });
        }
        if keys.is_empty() {
            return Err(GpError::MalformedCommand("PUT KEY without keys"));
        }
        Ok(PutKey {
            replace_version: cmd.p1() & !P1_MORE,
            more: cmd.p1() & P1_MORE != 0,
            first_key_id: cmd.p2() & !P2_MULTIPLE,
            multiple: cmd.p2() & P2_MULTIPLE != 0,
            new_version,
            keys,
        })
    }

    /// Card side: decrypts a whole key set (keys 1, 2, 3 = ENC, MAC, DEK) and checks every KCV.
    pub fn decrypt_key_set(&self, kek: &KeyEncryptionKey) -> Result<StaticKeys, GpError> {
        let [enc, mac, dek] = self.keys.as_slice() else {
            return Err(GpError::MalformedCommand("a key set is three keys"));
        };
        if self.first_key_id != 1 {
            return Err(GpError::InvalidParameter(
                "a key set starts at key identifier 1",
            ));
        }
        let (enc, mac, dek) = (decrypt(enc, kek)?, decrypt(mac, kek)?, decrypt(dek, kek)?);
        StaticKeys::from_slices(&enc[..], &mac[..], &dek[..], self.new_version)
    }

    /// The response data a card returns: the new key version followed by the KCVs.
    pub fn response_data(&self) -> Vec<u8> {
        let mut out = vec![self.new_version];
        self.keys.iter().for_each(|k| out.extend_from_slice(&k.kcv));
        out
    }
}

fn decrypt(
    component: &KeyComponent,
    kek: &KeyEncryptionKey,
) -> Result<Zeroizing<[u8; KEY_LEN]>, GpError> {
    let key_type = KeyType::from_byte(component.key_type)?;
    let encrypted = match key_type {
        KeyType::Aes => match component.key_data.split_first() {
            Some((&len, rest)) if usize::from(len) == KEY_LEN => rest,
            _ => {
                return Err(GpError::MalformedCommand(
                    "AES key data must hold a 16-byte key",
                ))
            }
        },
        KeyType::Des => component.key_data.as_slice(),
    };
    if encrypted.len() != KEY_LEN {
        return Err(GpError::MalformedCommand("keys are 16 bytes"));
    }
    let plain = kek.decrypt(encrypted)?;
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    key.copy_from_slice(plain.get(..KEY_LEN).ok_or(GpError::Decryption)?);
    if !component.kcv.is_empty() && component.kcv != key_type.kcv(&key[..])? {
        return Err(GpError::KeyCheckValue);
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gp::keys::GP_TEST_KEY;

    /// A JCShell trace (kaoh/globalplatform issue #73): an SCP02 session (session DEK
    /// C61DF24D2C9A770E32E969984B5B7074) puts the AES key set 404142..4F as version 30:
    /// `80D8 0081 46 30 (88 11 10 B23034FA4329DE9AD8E91583618813B3 03 504A77) x3 00`.
    #[test]
    fn published_put_key_trace() {
        let dek: [u8; 16] = hex::decode("C61DF24D2C9A770E32E969984B5B7074")
            .unwrap()
            .try_into()
            .unwrap();
        let kek = KeyEncryptionKey::tdes(&dek);
        let new_keys = StaticKeys::single(&GP_TEST_KEY, 0x30);
        let put = PutKey::key_set(&new_keys, KeyType::Aes, &kek, 0x00).unwrap();
        let component = "881110B23034FA4329DE9AD8E91583618813B303504A77";
        let expected = format!("80D800814630{component}{component}{component}00");
        let apdu = put.to_apdu().unwrap();
        assert_eq!(hex::encode_upper(apdu.to_bytes()), expected);

        let parsed = PutKey::parse(&apdu).unwrap();
        assert_eq!(parsed, put);
        let keys = parsed.decrypt_key_set(&kek).unwrap();
        assert_eq!((keys.enc(), keys.version()), (&GP_TEST_KEY, 0x30));
        assert_eq!(
            hex::encode_upper(parsed.response_data()),
            "30504A77504A77504A77"
        );
    }

    #[test]
    fn aes_under_aes_dek_and_des_keys() {
        let kek = KeyEncryptionKey::aes(&[0x33; 16]);
        let new_keys = StaticKeys::from_slices(&[1; 16], &[2; 16], &[3; 16], 0x31).unwrap();
        let put = PutKey::key_set(&new_keys, KeyType::Aes, &kek, 0x30).unwrap();
        let apdu = put.to_apdu().unwrap();
        assert_eq!(hex::encode_upper(&apdu.to_bytes()[..7]), "80D83081463188");
        let keys = PutKey::parse(&apdu).unwrap().decrypt_key_set(&kek).unwrap();
        assert_eq!((keys.mac(), keys.dek()), (&[2; 16], &[3; 16]));

        let des_kek = KeyEncryptionKey::tdes(&[0x44; 16]);
        let put = PutKey::key_set(&new_keys, KeyType::Des, &des_kek, 0).unwrap();
        assert_eq!(put.keys[0].key_data.len(), 16);
        let back = PutKey::parse(&put.to_apdu().unwrap()).unwrap();
        assert_eq!(back.decrypt_key_set(&des_kek).unwrap().enc(), &[1; 16]);
    }

    #[test]
    fn tampered_or_malformed_keys_are_rejected() {
        let kek = KeyEncryptionKey::aes(&[0x33; 16]);
        let new_keys = StaticKeys::single(&[9; 16], 0x31);
        let mut put = PutKey::key_set(&new_keys, KeyType::Aes, &kek, 0).unwrap();
        put.keys[1].key_data[3] ^= 1;
        assert_eq!(
            put.decrypt_key_set(&kek).err(),
            Some(GpError::KeyCheckValue)
        );
        put.keys.pop();
        assert!(put.decrypt_key_set(&kek).is_err());
        for hex in ["80D8008100", "80D80081023088", "80D8008104308801AA"] {
            let cmd = CommandApdu::parse(&hex::decode(hex).unwrap()).unwrap();
            assert!(PutKey::parse(&cmd).is_err(), "{hex}");
        }
        let wrong_kek = KeyEncryptionKey::aes(&[0x34; 16]);
        let put = PutKey::key_set(&new_keys, KeyType::Aes, &kek, 0).unwrap();
        assert_eq!(
            put.decrypt_key_set(&wrong_kek).err(),
            Some(GpError::KeyCheckValue)
        );
    }
}
