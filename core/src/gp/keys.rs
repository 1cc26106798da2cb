//! Static secure channel keys of a security domain, key check values, and the diversification
//! of a test SE's keys from a master key.
//!
//! A key set is three 16-byte keys with one key version number: ENC, MAC and DEK. SCP03 uses
//! them as AES-128 keys, SCP02 as 2-key 3DES keys. The bytes are zeroized on drop and never
//! printed.
//!
//! # Diversification of test SE keys
//!
//! Every simulated SE gets its own issuer security domain keys, derived from a master key and
//! the SE's *key diversification data* (the 10 bytes it returns first in INITIALIZE UPDATE,
//! e.g. a serial number):
//!
//! - **SCP03** ([`StaticKeys::diversify_scp03`]): the SCP03 KDF itself (NIST SP 800-108 counter
//!   mode with AES-CMAC, [`crate::crypto::cmac::scp03_kdf`]) under the master key, 128 bits out,
//!   context = the 10 diversification bytes, derivation constants `81` (ENC), `82` (MAC),
//!   `83` (DEK). This is this project's documented scheme (GlobalPlatform standardises no
//!   master-key scheme for SCP03); the constants lie outside Amendment D's table so a derived
//!   static key can never equal a session value.
//! - **SCP02** ([`StaticKeys::diversify_emv_cps`]): the EMV Card Personalization Specification
//!   method: `K = 3DES-ECB(KMC, KDD[4..10] || F0 || n) || 3DES-ECB(KMC, KDD[4..10] || 0F || n)`
//!   with `n` = 1 (ENC), 2 (MAC), 3 (DEK).

use std::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::GpError;
use crate::crypto::aes::{aes_cbc_decrypt, aes_cbc_encrypt, aes_ecb_encrypt};
use crate::crypto::cmac::scp03_kdf;
use crate::crypto::des::{tdes_ecb_decrypt, tdes_ecb_encrypt};

/// Length of every static key in bytes (AES-128 or 2-key 3DES).
pub const KEY_LEN: usize = 16;
/// Length of the key diversification data in INITIALIZE UPDATE responses.
pub const DIVERSIFICATION_DATA_LEN: usize = 10;
/// Length of a key check value.
pub const KCV_LEN: usize = 3;
/// The well-known GlobalPlatform test key `404142..4F` (public; for test cards only).
pub const GP_TEST_KEY: [u8; KEY_LEN] = [
    0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4A, 0x4B, 0x4C, 0x4D, 0x4E, 0x4F,
];

/// SCP03 KDF derivation constants of this project's test-SE diversification scheme.
const DIVERSIFY_ENC: u8 = 0x81;
const DIVERSIFY_MAC: u8 = 0x82;
const DIVERSIFY_DEK: u8 = 0x83;

type Key = Zeroizing<[u8; KEY_LEN]>;

fn key_from_slice(bytes: &[u8]) -> Result<Key, GpError> {
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    if bytes.len() != KEY_LEN {
        return Err(GpError::InvalidParameter("static keys are 16 bytes"));
    }
    key.copy_from_slice(bytes);
    Ok(key)
}

/// A security domain's static key set: ENC, MAC, DEK and their key version number.
///
/// Zeroized on drop (and by [`Zeroize::zeroize`]); `Debug` shows the version only.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct StaticKeys {
    enc: Key,
    mac: Key,
    dek: Key,
    version: u8,
}

impl StaticKeys {
    /// A key set from its three keys.
    pub fn new(
        enc: &[u8; KEY_LEN],
        mac: &[u8; KEY_LEN],
        dek: &[u8; KEY_LEN],
        version: u8,
    ) -> StaticKeys {
        StaticKeys {
            enc: Zeroizing::new(*enc),
            mac: Zeroizing::new(*mac),
            dek: Zeroizing::new(*dek),
            version,
        }
    }

    /// A key set from slices, each of which must be 16 bytes.
    pub fn from_slices(
        enc: &[u8],
        mac: &[u8],
        dek: &[u8],
        version: u8,
    ) -> Result<StaticKeys, GpError> {
        Ok(StaticKeys {
            enc: key_from_slice(enc)?,
            mac: key_from_slice(mac)?,
            dek: key_from_slice(dek)?,
            version,
        })
    }

    /// A key set using the same key for ENC, MAC and DEK (how test cards ship).
    pub fn single(key: &[u8; KEY_LEN], version: u8) -> StaticKeys {
        StaticKeys::new(key, key, key, version)
    }

    /// The same keys under another key version number.
    pub fn with_version(mut self, version: u8) -> StaticKeys {
        self.version = version;
        self
    }

    /// The encryption key (Key-ENC).
    pub fn enc(&self) -> &[u8; KEY_LEN] {
        &self.enc
    }

    /// The MAC key (Key-MAC).
    pub fn mac(&self) -> &[u8; KEY_LEN] {
        &self.mac
    }

    /// The data encryption key (Key-DEK), which protects keys in PUT KEY and secrets in STORE
    /// DATA.
    pub fn dek(&self) -> &[u8; KEY_LEN] {
        &self.dek
    }

    /// The key version number (P1 of INITIALIZE UPDATE; `00` lets the card choose).
    pub fn version(&self) -> u8 {
        self.version
    }

    /// An SE's SCP03 keys derived from `master` (AES-128, -192 or -256) and its key
    /// diversification data (see the [module documentation](self)).
    pub fn diversify_scp03(
        master: &[u8],
        diversification_data: &[u8],
        version: u8,
    ) -> Result<StaticKeys, GpError> {
        let derive = |constant| -> Result<Key, GpError> {
            key_from_slice(&scp03_kdf(master, constant, diversification_data, 128)?)
        };
        Ok(StaticKeys {
            enc: derive(DIVERSIFY_ENC)?,
            mac: derive(DIVERSIFY_MAC)?,
            dek: derive(DIVERSIFY_DEK)?,
            version,
        })
    }

    /// An SE's SCP02 keys derived from a 2-key 3DES master key (KMC) with the EMV CPS method
    /// (see the [module documentation](self)).
    pub fn diversify_emv_cps(
        master: &[u8; KEY_LEN],
        diversification_data: &[u8; DIVERSIFICATION_DATA_LEN],
        version: u8,
    ) -> Result<StaticKeys, GpError> {
        let tail = diversification_data
            .get(4..)
            .ok_or(GpError::InvalidParameter("key diversification data"))?;
        let derive = |n: u8| -> Result<Key, GpError> {
            let mut input = Zeroizing::new([0u8; KEY_LEN]);
            let (left, right) = input.split_at_mut(8);
            for (half, marker) in [(left, 0xF0u8), (right, 0x0F)] {
                let (head, suffix) = half.split_at_mut(6);
                head.copy_from_slice(tail);
                suffix.copy_from_slice(&[marker, n]);
            }
            key_from_slice(&Zeroizing::new(tdes_ecb_encrypt(master, &input[..])?))
        };
        Ok(StaticKeys {
            enc: derive(1)?,
            mac: derive(2)?,
            dek: derive(3)?,
            version,
        })
    }
}

impl fmt::Debug for StaticKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StaticKeys {{ version: {:02X}, .. }}", self.version)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum KekAlgorithm {
    Aes,
    Tdes,
}

/// The key that protects new keys in PUT KEY: the static Key-DEK under SCP03 (AES-CBC with a
/// zero ICV, Amendment D) or the session S-DEK under SCP02 (3DES-ECB, Card Specification
/// Appendix E). Zeroized on drop; `Debug` shows the algorithm only.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct KeyEncryptionKey {
    #[zeroize(skip)]
    algorithm: KekAlgorithm,
    key: Key,
}

impl KeyEncryptionKey {
    /// An AES-128 key-encryption key (SCP03's static DEK).
    pub fn aes(key: &[u8; KEY_LEN]) -> KeyEncryptionKey {
        KeyEncryptionKey {
            algorithm: KekAlgorithm::Aes,
            key: Zeroizing::new(*key),
        }
    }

    /// A 2-key 3DES key-encryption key (SCP02's session DEK).
    pub fn tdes(key: &[u8; KEY_LEN]) -> KeyEncryptionKey {
        KeyEncryptionKey {
            algorithm: KekAlgorithm::Tdes,
            key: Zeroizing::new(*key),
        }
    }

    /// Encrypts key material (a whole number of cipher blocks).
    pub fn encrypt(&self, plain: &[u8]) -> Result<Vec<u8>, GpError> {
        Ok(match self.algorithm {
            KekAlgorithm::Aes => aes_cbc_encrypt(&self.key[..], &[0; 16], plain)?,
            KekAlgorithm::Tdes => tdes_ecb_encrypt(&self.key[..], plain)?,
        })
    }

    /// Decrypts key material; the result is zeroized on drop.
    pub fn decrypt(&self, encrypted: &[u8]) -> Result<Zeroizing<Vec<u8>>, GpError> {
        Ok(match self.algorithm {
            KekAlgorithm::Aes => aes_cbc_decrypt(&self.key[..], &[0; 16], encrypted)?,
            KekAlgorithm::Tdes => tdes_ecb_decrypt(&self.key[..], encrypted)?,
        })
    }
}

impl fmt::Debug for KeyEncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.algorithm {
            KekAlgorithm::Aes => "KeyEncryptionKey(AES, ..)",
            KekAlgorithm::Tdes => "KeyEncryptionKey(3DES, ..)",
        })
    }
}

/// The AES key check value (Amendment D): the first 3 bytes of `AES(key, 01 01 .. 01)`.
pub fn kcv_aes(key: &[u8]) -> Result<[u8; KCV_LEN], GpError> {
    let block = aes_ecb_encrypt(key, &[0x01; 16])?;
    first_three(&block)
}

/// The DES key check value (GlobalPlatform Card Specification): the first 3 bytes of
/// `3DES-ECB(key, 00 .. 00)`.
pub fn kcv_des(key: &[u8]) -> Result<[u8; KCV_LEN], GpError> {
    let block = tdes_ecb_encrypt(key, &[0x00; 8])?;
    first_three(&block)
}

fn first_three(block: &[u8]) -> Result<[u8; KCV_LEN], GpError> {
    block
        .get(..KCV_LEN)
        .and_then(|b| <[u8; KCV_LEN]>::try_from(b).ok())
        .ok_or(GpError::InvalidParameter("block shorter than a KCV"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    /// KCVs of the GP test key as GlobalPlatformPro prints them (`KCV: 8BAF47` for 3DES) and as
    /// a JCShell PUT KEY trace shows them (`504A77` for AES, kaoh/globalplatform issue #73).
    #[test]
    fn kcvs_of_the_test_key() {
        assert_eq!(kcv_des(&GP_TEST_KEY).unwrap(), [0x8B, 0xAF, 0x47]);
        assert_eq!(kcv_aes(&GP_TEST_KEY).unwrap(), [0x50, 0x4A, 0x77]);
    }

    /// GlobalPlatformPro `TestPlaintextKeys.testDiversification_EMV_SCP02`: master 404142..4F,
    /// KDD 00010203040506070809 → KCVs C33013 / 6F4CA6 / BB8179.
    #[test]
    fn emv_cps_diversification_published_kcvs() {
        let kdd: [u8; 10] = h("00010203040506070809").try_into().unwrap();
        let keys = StaticKeys::diversify_emv_cps(&GP_TEST_KEY, &kdd, 0x20).unwrap();
        assert_eq!(kcv_des(keys.enc()).unwrap(), [0xC3, 0x30, 0x13]);
        assert_eq!(kcv_des(keys.mac()).unwrap(), [0x6F, 0x4C, 0xA6]);
        assert_eq!(kcv_des(keys.dek()).unwrap(), [0xBB, 0x81, 0x79]);
        assert_eq!(keys.version(), 0x20);
    }

    /// The SCP03 scheme written out: one KDF block with constant 81 / 82 / 83 and the KDD as
    /// context, i.e. AES-CMAC(master, 00*11 || c || 00 || 0080 || 01 || KDD).
    #[test]
    fn scp03_diversification_layout() {
        use crate::crypto::cmac::aes_cmac;
        let master = [0x11u8; 16];
        let kdd = h("0102030405060708090a");
        let keys = StaticKeys::diversify_scp03(&master, &kdd, 0x30).unwrap();
        for (constant, key) in [(0x81u8, keys.enc()), (0x82, keys.mac()), (0x83, keys.dek())] {
            let mut input = vec![0u8; 11];
            input.extend_from_slice(&[constant, 0x00, 0x00, 0x80, 0x01]);
            input.extend_from_slice(&kdd);
            assert_eq!(aes_cmac(&master, &input).unwrap(), *key);
        }
        let other = StaticKeys::diversify_scp03(&master, &h("0102030405060708090b"), 0x30).unwrap();
        assert_ne!(other.enc(), keys.enc());
    }

    #[test]
    fn debug_hides_keys_and_slices_are_checked() {
        let keys = StaticKeys::single(&GP_TEST_KEY, 0x30);
        assert_eq!(format!("{keys:?}"), "StaticKeys { version: 30, .. }");
        assert!(StaticKeys::from_slices(&[0; 15], &[0; 16], &[0; 16], 1).is_err());
        let keys = StaticKeys::from_slices(&[1; 16], &[2; 16], &[3; 16], 1).unwrap();
        assert_eq!((keys.enc()[0], keys.mac()[0], keys.dek()[0]), (1, 2, 3));
        assert_eq!(keys.with_version(7).version(), 7);
    }
}
