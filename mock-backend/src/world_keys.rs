//! The documented test keys and identifiers of the mock world's secure elements, shared by the
//! SE simulator ([`crate::se_sim`]) and the TSM. Everything here is public test material: an
//! outside tool (GlobalPlatformPro, pyscard scripts) can recompute every key and cryptogram.
//!
//! # Issuer security domains (ISD)
//!
//! | SE kind | reader | protocol | `i` | ISD key version | SERAM `seType` |
//! |---|---|---|---|---|---|
//! | eSE | `eSE1` | SCP03, AES-128 | `70` | `30` | `eSE` |
//! | SIM | `SIM1` | SCP03, AES-128 | `70` | `30` | `uicc` |
//! | microSD | `SD1` | SCP02, 2-key 3DES | `15` | `20` | `undefined` |
//!
//! - SCP03 `i = 70` ([`Scp03Options::PSEUDO_RANDOM_R_MAC_R_ENC`]): pseudo-random card challenge
//!   (so the TSM can precompute a whole script from the last sequence counter), R-MAC and
//!   R-ENCRYPTION supported (security levels up to `33`).
//! - ISD AID: [`ISD_AID`] `A000000151000000`.
//! - Every simulated SE draws a random 10-byte *key diversification data* (KDD) when it is
//!   first created and keeps it for life. Its ISD keys are diversified from a master key and the
//!   KDD ([`isd_keys`]): SCP03 with [`StaticKeys::diversify_scp03`] (SCP03 KDF, constants
//!   `81`/`82`/`83`, context = KDD) under [`ISD_SCP03_MASTER_KEY`]; SCP02 with
//!   [`StaticKeys::diversify_emv_cps`] (EMV CPS) under [`ISD_SCP02_MASTER_KEY`]. Both masters are
//!   the GlobalPlatform test key `404142434445464748494A4B4C4D4E4F`.
//! - The SERAM `seId` of an SE is the uppercase hex of its KDD (20 characters, [`se_id_of`]);
//!   the TSM gets the KDD back with [`kdd_of`] and derives the keys. The KDD is also the first
//!   10 bytes of every INITIALIZE UPDATE response and the value of GET DATA `00CF`.
//!
//! # The payment application's supplementary security domain (SSD)
//!
//! - SSD AID: [`SSD_AID`] `A000000333535344` (`A000000333` then ASCII `SSD`), installed by the
//!   TSM from the ISD with INSTALL [for install and make selectable] of load file
//!   [`SSD_LOAD_FILE`] / module [`SSD_MODULE`] (the card's security domain package, always
//!   present) with privileges [`SSD_PRIVILEGES`] (`804000`: security domain, authorized
//!   management).
//! - A new SSD has no keys. The TSM gives it its key set with PUT KEY (add, new key version
//!   [`SSD_SCP03_KEY_VERSION`] / [`SSD_SCP02_KEY_VERSION`]) sent in the ISD's secure channel
//!   right after INSTALL [for personalization] of the SSD (keys encrypted under the ISD's
//!   key-encryption key: static DEK for SCP03, session DEK for SCP02). Once it has keys, the SSD
//!   can be selected and authenticated to directly (and PUT KEY then uses the SSD's own KEK).
//! - SSD keys: [`ssd_keys`], diversified like the ISD's but from the application provider's
//!   master key [`SSD_MASTER_KEY`] (ASCII `SSDMASTERKEY0001`). On SCP03 SEs the SSD runs
//!   `i = 60` ([`SSD_SCP03_OPTIONS`]: random card challenge, R-MAC, R-ENCRYPTION); on SCP02 SEs
//!   `i = 15`.
//!
//! # Conventions of the simulated card the TSM relies on
//!
//! - An application instance is associated with the security domain that processed its
//!   INSTALL [for install] (the ISD, or the SSD when the SSD installs it).
//! - INSTALL [for personalization] of an application, then STORE DATA (DGI format, P1 `08`/`88`)
//!   delivers its DGIs. A STORE DATA block with P1 encryption bits `60` (e.g. `68`/`E8`) holds
//!   whole DGIs whose *values* are encrypted under the key-encryption key of the channel's
//!   session (SCP03: static DEK of the authenticated SD, AES-CBC, zero ICV; SCP02: session DEK,
//!   3DES-ECB), without padding: values are whole cipher blocks (DGI `8000` is 48 bytes), tag
//!   and length in clear. The last block (P1 b8) ends the personalisation.
//! - INSTALL [for personalization] of a security domain, then PUT KEY, gives that SD its keys.
//! - GET DATA (no secure channel needed) on a security domain: `00CF` the KDD, `00C1` the
//!   sequence counter the last INITIALIZE UPDATE used (3 bytes SCP03, 2 bytes SCP02; a
//!   precomputed SCP03 session uses that value plus one), `0066` card recognition data (protocol
//!   and `i`), `00E0` key information, `9F7F` CPLC.
//!
//! # Initial content of a new simulated SE
//!
//! Card life cycle SECURED (`0F`); the ISD (life cycle `0F`, privileges [`ISD_PRIVILEGES`]) with
//! its diversified keys and sequence counter 0 (the first INITIALIZE UPDATE uses counter 1);
//! the payment application's load file [`PAYMENT_LOAD_FILE`] `A0000003330101` with module
//! [`PAYMENT_MODULE`] `A000000333010100` already loaded (so card opening is INSTALL, not LOAD);
//! the security domain package [`SSD_LOAD_FILE`] with module [`SSD_MODULE`].
//!
//! ```
//! use mock_backend::world_keys::{isd_keys, kdd_of, se_id_of};
//! use wallet_core::se::ReaderKind;
//!
//! let kdd = kdd_of("00010203040506070809").unwrap();
//! assert_eq!(se_id_of(&kdd), "00010203040506070809");
//! let keys = isd_keys(ReaderKind::Sd, &kdd).unwrap();
//! assert_eq!(keys.version(), 0x20);
//! ```

use wallet_core::gp::keys::{DIVERSIFICATION_DATA_LEN, GP_TEST_KEY, KEY_LEN};
use wallet_core::gp::scp03::Scp03Options;
use wallet_core::gp::{Aid, GpError, Privileges, StaticKeys};
use wallet_core::se::ReaderKind;

pub use wallet_core::card::aids::{PAYMENT_LOAD_FILE, PAYMENT_MODULE};

/// Length of an SE's key diversification data (and of its binary serial).
pub const KDD_LEN: usize = DIVERSIFICATION_DATA_LEN;

/// AID of every simulated SE's issuer security domain (the GlobalPlatform default).
pub const ISD_AID: [u8; 8] = Aid::GP_ISD;

/// SCP03 (AES-128) master key of the ISDs of eSE and SIM simulators: the GlobalPlatform test key
/// `404142434445464748494A4B4C4D4E4F`.
pub const ISD_SCP03_MASTER_KEY: [u8; KEY_LEN] = GP_TEST_KEY;

/// SCP02 (2-key 3DES) master key (KMC) of the ISDs of legacy (microSD) simulators: the
/// GlobalPlatform test key `404142434445464748494A4B4C4D4E4F`.
pub const ISD_SCP02_MASTER_KEY: [u8; KEY_LEN] = GP_TEST_KEY;

/// Key version number of an SCP03 ISD key set.
pub const ISD_SCP03_KEY_VERSION: u8 = 0x30;

/// Key version number of an SCP02 ISD key set.
pub const ISD_SCP02_KEY_VERSION: u8 = 0x20;

/// SCP03 implementation option of the ISDs: `i = 70`, pseudo-random card challenge with R-MAC
/// and R-ENCRYPTION support.
pub const ISD_SCP03_OPTIONS: Scp03Options = Scp03Options::PSEUDO_RANDOM_R_MAC_R_ENC;

/// Privileges of the ISD in GET STATUS: security domain, card lock, card terminate, card
/// reset, CVM management, authorized management (`9E4000`).
pub const ISD_PRIVILEGES: Privileges = Privileges::from_bytes([0x9E, 0x40, 0x00]);

/// AID of the payment application's supplementary security domain, `A000000333535344`.
pub const SSD_AID: [u8; 8] = [0xA0, 0x00, 0x00, 0x03, 0x33, 0x53, 0x53, 0x44];

/// Load file of the card's security domain package (present on every simulated SE),
/// `A0000001515350` (`A000000151` then ASCII `SP`).
pub const SSD_LOAD_FILE: [u8; 7] = [0xA0, 0x00, 0x00, 0x01, 0x51, 0x53, 0x50];

/// Executable module of a security domain inside [`SSD_LOAD_FILE`], `A000000151535041`.
pub const SSD_MODULE: [u8; 8] = [0xA0, 0x00, 0x00, 0x01, 0x51, 0x53, 0x50, 0x41];

/// Privileges the TSM gives the payment SSD: security domain and authorized management
/// (`804000`), so the SSD may install, make selectable and delete its own applications
/// (card content management from an SSD needs authorized or delegated management; the
/// simulator checks no tokens).
pub const SSD_PRIVILEGES: Privileges = Privileges::from_bytes([0x80, 0x40, 0x00]);

/// The application provider's SSD master key, ASCII `SSDMASTERKEY0001`
/// (`5353444D41535445524B455930303031`). The SSD keys of an SE are diversified from it with the
/// SE's KDD ([`ssd_keys`]); used as an AES-128 key for SCP03 SEs and a 2-key 3DES KMC for SCP02.
pub const SSD_MASTER_KEY: [u8; KEY_LEN] = *b"SSDMASTERKEY0001";

/// Key version number of the SSD key set the TSM puts on SCP03 SEs.
pub const SSD_SCP03_KEY_VERSION: u8 = 0x30;

/// Key version number of the SSD key set the TSM puts on SCP02 SEs.
pub const SSD_SCP02_KEY_VERSION: u8 = 0x20;

/// SCP03 implementation option of SSDs on SCP03 SEs: `i = 60`, random card challenge with
/// R-MAC and R-ENCRYPTION support.
pub const SSD_SCP03_OPTIONS: Scp03Options = Scp03Options::RANDOM_R_MAC_R_ENC;

/// The secure channel protocol a security domain speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScpProtocol {
    /// SCP03 (AES-128) with its implementation option `i`.
    Scp03(Scp03Options),
    /// SCP02 `i = 15` (2-key 3DES).
    Scp02,
}

impl ScpProtocol {
    /// The protocol of the ISD of an SE of `kind`: SCP03 `i = 70` for eSE and SIM, SCP02 for SD.
    pub const fn isd(kind: ReaderKind) -> ScpProtocol {
        match kind {
            ReaderKind::Ese | ReaderKind::Sim => ScpProtocol::Scp03(ISD_SCP03_OPTIONS),
            ReaderKind::Sd => ScpProtocol::Scp02,
        }
    }

    /// The protocol of a supplementary security domain on an SE of `kind`: SCP03 `i = 60` for
    /// eSE and SIM, SCP02 for SD.
    pub const fn ssd(kind: ReaderKind) -> ScpProtocol {
        match kind {
            ReaderKind::Ese | ReaderKind::Sim => ScpProtocol::Scp03(SSD_SCP03_OPTIONS),
            ReaderKind::Sd => ScpProtocol::Scp02,
        }
    }

    /// Whether this is SCP03.
    pub const fn is_scp03(self) -> bool {
        matches!(self, ScpProtocol::Scp03(_))
    }
}

/// Diversifies a key set of `kind`'s protocol family from `master`.
fn diversify(
    kind: ReaderKind,
    master: &[u8; KEY_LEN],
    kdd: &[u8; KDD_LEN],
    scp03_version: u8,
    scp02_version: u8,
) -> Result<StaticKeys, GpError> {
    match kind {
        ReaderKind::Ese | ReaderKind::Sim => {
            StaticKeys::diversify_scp03(master, kdd, scp03_version)
        }
        ReaderKind::Sd => StaticKeys::diversify_emv_cps(master, kdd, scp02_version),
    }
}

/// The ISD key set of the SE of `kind` with key diversification data `kdd`: SCP03 keys
/// (version `30`) for eSE and SIM, SCP02 keys (version `20`) for SD.
pub fn isd_keys(kind: ReaderKind, kdd: &[u8; KDD_LEN]) -> Result<StaticKeys, GpError> {
    let master = match kind {
        ReaderKind::Ese | ReaderKind::Sim => &ISD_SCP03_MASTER_KEY,
        ReaderKind::Sd => &ISD_SCP02_MASTER_KEY,
    };
    diversify(
        kind,
        master,
        kdd,
        ISD_SCP03_KEY_VERSION,
        ISD_SCP02_KEY_VERSION,
    )
}

/// The payment SSD key set the TSM puts on the SE of `kind` with key diversification data
/// `kdd`, diversified from [`SSD_MASTER_KEY`] like the ISD keys (versions `30` / `20`).
pub fn ssd_keys(kind: ReaderKind, kdd: &[u8; KDD_LEN]) -> Result<StaticKeys, GpError> {
    diversify(
        kind,
        &SSD_MASTER_KEY,
        kdd,
        SSD_SCP03_KEY_VERSION,
        SSD_SCP02_KEY_VERSION,
    )
}

/// The SERAM `seId` of an SE: the uppercase hex of its key diversification data.
pub fn se_id_of(kdd: &[u8; KDD_LEN]) -> String {
    hex::encode_upper(kdd)
}

/// The key diversification data named by a SERAM `seId` (hex, either case), or `None` when it
/// is not 20 hex digits.
pub fn kdd_of(se_id: &str) -> Option<[u8; KDD_LEN]> {
    let bytes = hex::decode(se_id).ok()?;
    <[u8; KDD_LEN]>::try_from(bytes.as_slice()).ok()
}

/// The SERAM `seType` of an SE kind: `eSE`, `uicc` (SIM) or `undefined` (microSD, which SERAM
/// has no value for).
pub const fn se_type_of(kind: ReaderKind) -> &'static str {
    match kind {
        ReaderKind::Ese => "eSE",
        ReaderKind::Sim => "uicc",
        ReaderKind::Sd => "undefined",
    }
}

/// The SE kind a SERAM `seType` names (`eSE`/`iSE` → eSE, `uicc`/`euicc`/`ieuicc` → SIM,
/// `undefined` → SD).
pub fn kind_of_se_type(se_type: &str) -> Option<ReaderKind> {
    match se_type {
        "eSE" | "iSE" => Some(ReaderKind::Ese),
        "uicc" | "euicc" | "ieuicc" => Some(ReaderKind::Sim),
        "undefined" => Some(ReaderKind::Sd),
        _ => None,
    }
}

/// The OMAPI reader name of the simulated SE of `kind`: `eSE1`, `SIM1` or `SD1`.
pub const fn reader_name(kind: ReaderKind) -> &'static str {
    match kind {
        ReaderKind::Ese => "eSE1",
        ReaderKind::Sim => "SIM1",
        ReaderKind::Sd => "SD1",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wallet_core::gp::keys::{kcv_aes, kcv_des};

    /// GlobalPlatformPro `TestPlaintextKeys.testDiversification_EMV_SCP02`: master 404142..4F,
    /// KDD 00010203040506070809 → KCVs C33013 / 6F4CA6 / BB8179.
    #[test]
    fn sd_isd_keys_match_the_published_emv_cps_vector() {
        let kdd = kdd_of("00010203040506070809").unwrap();
        let keys = isd_keys(ReaderKind::Sd, &kdd).unwrap();
        assert_eq!(kcv_des(keys.enc()).unwrap(), [0xC3, 0x30, 0x13]);
        assert_eq!(kcv_des(keys.mac()).unwrap(), [0x6F, 0x4C, 0xA6]);
        assert_eq!(kcv_des(keys.dek()).unwrap(), [0xBB, 0x81, 0x79]);
        assert_eq!(keys.version(), 0x20);
    }

    #[test]
    fn scp03_keys_are_per_se_and_per_master() {
        let a = kdd_of("0102030405060708090A").unwrap();
        let b = kdd_of("0102030405060708090B").unwrap();
        let isd_a = isd_keys(ReaderKind::Ese, &a).unwrap();
        assert_eq!(isd_a.version(), 0x30);
        assert_ne!(isd_a.enc(), isd_keys(ReaderKind::Ese, &b).unwrap().enc());
        assert_ne!(isd_a.enc(), ssd_keys(ReaderKind::Ese, &a).unwrap().enc());
        assert_ne!(isd_a.enc(), isd_a.mac());
        // eSE and SIM share the scheme: the KDD alone separates them.
        assert_eq!(isd_a.enc(), isd_keys(ReaderKind::Sim, &a).unwrap().enc());
        assert_ne!(
            kcv_aes(isd_a.enc()).unwrap(),
            kcv_aes(&GP_TEST_KEY).unwrap()
        );
    }

    #[test]
    fn identifiers() {
        assert_eq!(hex::encode_upper(ISD_AID), "A000000151000000");
        assert_eq!(hex::encode_upper(SSD_AID), "A000000333535344");
        assert_eq!(
            hex::encode_upper(SSD_MASTER_KEY),
            "5353444D41535445524B455930303031"
        );
        assert_eq!(
            kdd_of("0a0b0c0d0e0f10111213")
                .map(|k| se_id_of(&k))
                .as_deref(),
            Some("0A0B0C0D0E0F10111213")
        );
        assert_eq!(kdd_of("0A0B"), None);
        assert_eq!(kdd_of("zz0B0C0D0E0F10111213"), None);
        for kind in [ReaderKind::Ese, ReaderKind::Sim, ReaderKind::Sd] {
            assert_eq!(kind_of_se_type(se_type_of(kind)), Some(kind));
            assert_eq!(ReaderKind::from_reader_name(reader_name(kind)), Some(kind));
        }
        assert_eq!(
            ScpProtocol::isd(ReaderKind::Sim),
            ScpProtocol::Scp03(ISD_SCP03_OPTIONS)
        );
        assert_eq!(ISD_SCP03_OPTIONS.value(), 0x70);
        assert_eq!(SSD_SCP03_OPTIONS.value(), 0x60);
        assert_eq!(ScpProtocol::isd(ReaderKind::Sd), ScpProtocol::Scp02);
        assert!(!ScpProtocol::ssd(ReaderKind::Sd).is_scp03());
    }
}
