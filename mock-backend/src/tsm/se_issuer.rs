//! The SE issuer's TSM: it knows every SE it issued (the keys of an SE's issuer security domain
//! derive from its `seId`, [`crate::world_keys`]), tracks each ISD's sequence counter, opens the
//! ISD secure channel at the start of every batch and creates the payment application's
//! supplementary security domain (SSD).
//!
//! Its part of a batch: `SELECT ISD` (a fresh logical channel on the ISD, whatever an earlier
//! batch selected), INITIALIZE UPDATE, EXTERNAL AUTHENTICATE (precomputed on SCP03 SEs) and,
//! when the SSD is missing, `DELETE SSD` (a half-made one; `6A88` when none), INSTALL [for
//! install and make selectable] of the SSD, INSTALL [for personalization] and PUT KEY of the
//! SSD's key set under the ISD's key-encryption key.

use wallet_core::apdu::CommandApdu;
use wallet_core::backend::api::tsm::OrderSecureElement;
use wallet_core::gp::commands::{
    Delete, Install, InstallForInstall, InstallForPersonalization, InstallParameters, KeyType,
    PutKey,
};
use wallet_core::gp::{Aid, GpError, SecurityLevel};
use wallet_core::se::ReaderKind;

use super::channel::SecureChannel;
use super::error::TsmError;
use super::records::{Records, SeRecord};
use super::script::{Part, ScriptBuilder};
use crate::world_keys::{
    isd_keys, kdd_of, kind_of_se_type, ssd_keys, ScpProtocol, ISD_AID, KDD_LEN, SSD_AID,
    SSD_LOAD_FILE, SSD_MODULE, SSD_PRIVILEGES,
};

/// Status word: referenced data not found (DELETE of something absent).
pub const SW_NOT_FOUND: u16 = 0x6A88;

/// The SE an order is for, as the SE issuer knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeContext {
    /// Canonical `seId` (uppercase hex of the KDD).
    pub se_id: String,
    /// The SE kind.
    pub kind: ReaderKind,
    /// Key diversification data.
    pub kdd: [u8; KDD_LEN],
}

/// Names the SE of an order: `UNKNOWN_SE` unless the `seType` is one the issuers make and the
/// `seId` is the hex of a 10-byte KDD.
pub fn identify(se: &OrderSecureElement) -> Result<SeContext, TsmError> {
    let kind = kind_of_se_type(se.se_type_name()).ok_or_else(|| {
        TsmError::UnknownSe(format!(
            "no SE issuer makes SEs of type {}",
            se.se_type_name()
        ))
    })?;
    let kdd = kdd_of(&se.se_id).ok_or_else(|| {
        TsmError::UnknownSe(
            "se_id must be the 20 hex digits of the SE's key diversification data".into(),
        )
    })?;
    Ok(SeContext {
        se_id: se.se_id.to_ascii_uppercase(),
        kind,
        kdd,
    })
}

/// The issuer's record of the SE, created on first use (a new SE: counter 0, no SSD).
pub fn record(records: &Records, se: &SeContext) -> Result<SeRecord, TsmError> {
    Ok(records.se(&se.se_id)?.unwrap_or_else(|| SeRecord {
        se_id: se.se_id.clone(),
        kind: se.kind.into(),
        last_counter: 0,
        ssd_ready: false,
    }))
}

fn isd_aid() -> Result<Aid, GpError> {
    Aid::new(ISD_AID)
}

/// The ISD secure channel for the next batch: precomputed for the predicted counter on SCP03
/// SEs with pseudo-random challenges (security level `33`), interactive otherwise (SCP02 at
/// `03`).
pub fn isd_channel(records: &Records, se: &SeContext) -> Result<SecureChannel, TsmError> {
    let keys = isd_keys(se.kind, &se.kdd)?;
    Ok(match ScpProtocol::isd(se.kind) {
        ScpProtocol::Scp03(options) if options.pseudo_random() => {
            let next = record(records, se)?.last_counter.saturating_add(1);
            SecureChannel::precomputed(keys, next, &isd_aid()?, SecurityLevel::FULL)?
        }
        ScpProtocol::Scp03(_) => SecureChannel::scp03(keys, SecurityLevel::FULL)?,
        ScpProtocol::Scp02 => SecureChannel::scp02(keys, SecurityLevel::C_DEC_C_MAC)?,
    })
}

/// The start of every batch: SELECT ISD, then authentication.
pub fn open_batch(builder: &mut ScriptBuilder) -> Result<(), GpError> {
    let select = CommandApdu::new(0x00, 0xA4, 0x04, 0x00)
        .with_data(ISD_AID.to_vec())?
        .with_short_le(0x00);
    builder.plain(Part::SeIssuer, "SELECT ISD", &[], &select);
    builder.authenticate()
}

/// The SSD's creation and keys.
pub fn create_ssd(builder: &mut ScriptBuilder, se: &SeContext) -> Result<(), GpError> {
    let ssd = Aid::new(SSD_AID)?;
    builder.secured(
        Part::SeIssuer,
        "DELETE SSD",
        &[SW_NOT_FOUND],
        &Delete::object(ssd.clone(), false).to_apdu()?,
    )?;
    let install = Install::ForInstall(InstallForInstall {
        load_file_aid: Aid::new(SSD_LOAD_FILE)?,
        module_aid: Aid::new(SSD_MODULE)?,
        application_aid: ssd.clone(),
        privileges: SSD_PRIVILEGES,
        parameters: InstallParameters::default(),
        token: Vec::new(),
        make_selectable: true,
    });
    builder.secured(Part::SeIssuer, "INSTALL SSD", &[], &install.to_apdu()?)?;
    let perso = Install::ForPersonalization(InstallForPersonalization {
        application_aid: ssd,
    });
    builder.secured(
        Part::SeIssuer,
        "INSTALL [for personalization] SSD",
        &[],
        &perso.to_apdu()?,
    )?;
    let keys = ssd_keys(se.kind, &se.kdd)?;
    let key_type = match ScpProtocol::ssd(se.kind) {
        ScpProtocol::Scp03(_) => KeyType::Aes,
        ScpProtocol::Scp02 => KeyType::Des,
    };
    let kek = builder.channel().key_encryption_key()?;
    let put_key = PutKey::key_set(&keys, key_type, &kek, 0x00)?;
    builder.secured(Part::SeIssuer, "PUT KEY SSD", &[], &put_key.to_apdu()?)
}

/// Records the counter the SE used (or, once a precomputed batch leaves, will have used).
pub fn counter_used(records: &Records, se: &SeContext, counter: u32) -> Result<(), TsmError> {
    let _guard = records.lock();
    let mut rec = record(records, se)?;
    rec.last_counter = counter;
    records.put_se(&rec)?;
    Ok(())
}

/// Records whether the SSD exists with its keys.
pub fn set_ssd_ready(records: &Records, se: &SeContext, ready: bool) -> Result<(), TsmError> {
    let _guard = records.lock();
    let mut rec = record(records, se)?;
    if rec.ssd_ready != ready {
        rec.ssd_ready = ready;
        records.put_se(&rec)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use wallet_core::ota::seram::SeType;

    #[test]
    fn identifies_ses_by_type_and_kdd() {
        let se = |se_type, se_id: &str| OrderSecureElement {
            se_type,
            se_id: se_id.into(),
        };
        let ctx = identify(&se(SeType::Uicc, "0a0b0c0d0e0f10111213")).unwrap();
        assert_eq!(
            (ctx.kind, ctx.se_id.as_str()),
            (ReaderKind::Sim, "0A0B0C0D0E0F10111213")
        );
        assert_eq!(
            identify(&se(SeType::Undefined, "00010203040506070809"))
                .unwrap()
                .kind,
            ReaderKind::Sd
        );
        assert!(matches!(
            identify(&se(SeType::Ese, "eSE1")),
            Err(TsmError::UnknownSe(_))
        ));
        assert!(matches!(
            identify(&se(SeType::Ese, "0A0B")),
            Err(TsmError::UnknownSe(_))
        ));
    }
}
