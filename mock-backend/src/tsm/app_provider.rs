//! The application provider's TSM (the bank's side): the payment application instance — its
//! installation and personalisation, lock, unlock, deletion — and reading its state back.
//!
//! The instance lives under the issuer security domain and its commands travel in the ISD's
//! secure channel, opened by the SE issuer's part of the batch. Why not in the SSD: the SSD of
//! an SCP03 SE runs `i = 60` (random card challenge, [`crate::world_keys::SSD_SCP03_OPTIONS`]),
//! so its session could only be opened after an INITIALIZE UPDATE round trip — one more HTTP
//! exchange for every operation, where the ISD's pseudo-random challenge lets the whole
//! opening travel in one order. The consequence: the SE issuer's TSM wraps the application
//! part and encrypts the secret DGIs (`8000`, `8001`, `8002`) under the ISD's key-encryption key.
//!
//! Reading back (outside the secure channel, after the ISD part; before it for a deletion,
//! [`read_balance`]): `SELECT` of the instance
//! (`6A82` while not selectable), `GET DATA 9F79`, the e-cash balance (`6985` while not
//! personalised), and `GET DATA DF61`, the remote-payment signing public key (`6A88` without).
//!
//! The signing key: the card generates it when the PIN (`8002`) is personalised and answers the
//! public key `DF61 41 <04 ‖ X ‖ Y>` to the last STORE DATA, inside the ISD's secure channel
//! (R-MAC and R-ENC on SCP03 SEs), so an opening learns it authenticated and without any extra
//! command or round trip. The read-back's plain `GET DATA DF61` serves the probe of an
//! interrupted opening, whose STORE DATA answers were lost.

use wallet_core::apdu::Tag;
use wallet_core::apdu::{tlv, CommandApdu, ResponseApdu};
use wallet_core::card::perso::{parse_amount_n12, TAG_ECASH_BALANCE};
use wallet_core::card::signing::PinBlock;
use wallet_core::gp::commands::{
    Delete, GetData, GetStatus, Install, InstallForInstall, InstallForMakeSelectable,
    InstallForPersonalization, InstallParameters, RegistryEntry, SetStatus, SetStatusScope,
    StatusScope,
};
use wallet_core::gp::{Aid, AppLifeCycle, GpError, Privileges};

use super::error::TsmError;
use super::perso::{card_dgis, store_data_commands};
use super::records::CardRecord;
use super::script::{find, Outcome, Part, ScriptBuilder};
use super::se_issuer::SW_NOT_FOUND;
use crate::world_keys::{PAYMENT_LOAD_FILE, PAYMENT_MODULE};

/// The RID and application prefix of the payment instances and the payment SSD
/// (`A000000333`): one GET STATUS sees both.
const UNIONPAY_RID: [u8; 5] = [0xA0, 0x00, 0x00, 0x03, 0x33];
/// Status words a SELECT or GET DATA of an instance may answer while it is not ready.
const NOT_READY: &[u16] = &[0x6A82, 0x6985, 0x6A88, 0x6D00, 0x6A81];
/// Status words SET STATUS may answer when the instance already is in the asked state; the
/// GET STATUS that follows decides.
const SET_STATUS_TOLERATED: &[u16] = &[0x6985, 0x6A80, 0x6A86];

/// Labels of the read-back commands.
const GET_STATUS: &str = "GET STATUS";
const SELECT_INSTANCE: &str = "SELECT instance";
const GET_BALANCE: &str = "GET DATA 9F79";
const GET_SIGNING_KEY: &str = "GET DATA DF61";
/// Label of the last STORE DATA block (its answer carries the signing public key).
const LAST_STORE_DATA: &str = "STORE DATA (last block)";
/// Tag of the signing public key (GET DATA and the last STORE DATA's answer).
const TAG_SIGNING_KEY: u16 = 0xDF61;

/// The instance AID of `card`.
pub fn instance_aid(card: &CardRecord) -> Result<Aid, TsmError> {
    let bytes = hex::decode(&card.instance_aid)
        .map_err(|_| TsmError::Internal("stored AID is not hex".into()))?;
    Ok(Aid::new(bytes)?)
}

fn select(aid: &Aid) -> Result<CommandApdu, GpError> {
    Ok(CommandApdu::new(0x00, 0xA4, 0x04, 0x00)
        .with_data(aid.as_bytes().to_vec())?
        .with_short_le(0x00))
}

fn get_status(prefix: &[u8]) -> Result<CommandApdu, GpError> {
    GetStatus {
        scope: StatusScope::Applications,
        next: false,
        aid_prefix: prefix.to_vec(),
    }
    .to_apdu()
}

/// Appends the read-back: GET STATUS of `prefix` (secured), SELECT instance, GET DATA 9F79.
fn read_back(builder: &mut ScriptBuilder, aid: &Aid, prefix: &[u8]) -> Result<(), GpError> {
    builder.secured(
        Part::Application,
        GET_STATUS,
        &[SW_NOT_FOUND],
        &get_status(prefix)?,
    )?;
    select_and_read_balance(builder, aid)
}

/// The probe of an unconfirmed opening: GET STATUS of the instance and the SSD, SELECT, balance,
/// signing public key.
pub fn probe(builder: &mut ScriptBuilder, card: &CardRecord) -> Result<(), TsmError> {
    read_back(builder, &instance_aid(card)?, &UNIONPAY_RID)?;
    builder.plain(
        Part::Application,
        GET_SIGNING_KEY,
        NOT_READY,
        &GetData {
            tag: TAG_SIGNING_KEY,
        }
        .to_apdu(),
    );
    Ok(())
}

/// A fresh instance: DELETE of a leftover (`6A88` when none), INSTALL [for install] (not
/// selectable yet), INSTALL [for personalization], one STORE DATA per DGI of the whole card
/// profile and the PIN ([`card_dgis`]; `8000`, `8001`, `8002` encrypted), INSTALL [for make
/// selectable]; then the read-back.
pub fn install(
    builder: &mut ScriptBuilder,
    card: &CardRecord,
    pin: Option<&PinBlock>,
) -> Result<(), TsmError> {
    let aid = instance_aid(card)?;
    builder.secured(
        Part::Application,
        "DELETE instance",
        &[SW_NOT_FOUND],
        &Delete::object(aid.clone(), false).to_apdu()?,
    )?;
    let install = Install::ForInstall(InstallForInstall {
        load_file_aid: Aid::new(PAYMENT_LOAD_FILE)?,
        module_aid: Aid::new(PAYMENT_MODULE)?,
        application_aid: aid.clone(),
        privileges: Privileges::NONE,
        parameters: InstallParameters::default(),
        token: Vec::new(),
        make_selectable: false,
    });
    builder.secured(
        Part::Application,
        "INSTALL instance",
        &[],
        &install.to_apdu()?,
    )?;
    let perso = Install::ForPersonalization(InstallForPersonalization {
        application_aid: aid.clone(),
    });
    builder.secured(
        Part::Application,
        "INSTALL [for personalization]",
        &[],
        &perso.to_apdu()?,
    )?;
    let dgis = card_dgis(card, card.initial_load, pin)?;
    let kek = builder.channel().key_encryption_key()?;
    for block in store_data_commands(&dgis, &kek)? {
        let label = if block.last {
            LAST_STORE_DATA
        } else {
            "STORE DATA"
        };
        builder.secured(Part::Application, label, &[], &block.to_apdu()?)?;
    }
    let selectable = Install::ForMakeSelectable(InstallForMakeSelectable {
        application_aid: aid.clone(),
        privileges: Privileges::NONE,
        token: Vec::new(),
    });
    builder.secured(
        Part::Application,
        "INSTALL [for make selectable]",
        &[],
        &selectable.to_apdu()?,
    )?;
    Ok(read_back(builder, &aid, aid.as_bytes())?)
}

/// The e-cash balance read that opens a deletion's batch, before the SE issuer's part:
/// `SELECT` of the instance and `GET DATA 9F79` (plain, like every read-back: the payment
/// applet answers only once selected, and selecting it would end the ISD's secure channel, so
/// it comes first and the DELETE runs in the session opened after it).
pub fn read_balance(builder: &mut ScriptBuilder, card: &CardRecord) -> Result<(), TsmError> {
    let aid = instance_aid(card)?;
    Ok(select_and_read_balance(builder, &aid)?)
}

/// The e-cash balance a batch read with `GET DATA 9F79`, if it answered one.
pub fn balance_read(outcomes: &[Outcome]) -> Option<u64> {
    find(outcomes, GET_BALANCE).and_then(balance_of)
}

/// DELETE of the instance (`6A88` when already gone).
pub fn delete(builder: &mut ScriptBuilder, card: &CardRecord) -> Result<(), TsmError> {
    let aid = instance_aid(card)?;
    Ok(builder.secured(
        Part::Application,
        "DELETE instance",
        &[SW_NOT_FOUND],
        &Delete::object(aid, false).to_apdu()?,
    )?)
}

/// SET STATUS locking or unlocking the instance, then the read-back.
pub fn set_lock(
    builder: &mut ScriptBuilder,
    card: &CardRecord,
    lock: bool,
) -> Result<(), TsmError> {
    let aid = instance_aid(card)?;
    let state = if lock {
        AppLifeCycle::SELECTABLE.locked()
    } else {
        AppLifeCycle::SELECTABLE
    };
    let command = SetStatus {
        scope: SetStatusScope::Application,
        state: state.value(),
        aid: Some(aid.clone()),
    };
    builder.secured(
        Part::Application,
        "SET STATUS",
        SET_STATUS_TOLERATED,
        &command.to_apdu()?,
    )?;
    Ok(read_back(builder, &aid, aid.as_bytes())?)
}

/// The read-back alone.
pub fn status(builder: &mut ScriptBuilder, card: &CardRecord) -> Result<(), TsmError> {
    let aid = instance_aid(card)?;
    Ok(read_back(builder, &aid, aid.as_bytes())?)
}

/// What the read-back of a batch shows about the instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceView {
    /// The instance's registry entry, if it exists.
    pub entry: Option<RegistryEntry>,
    /// Whether the SSD exists.
    pub ssd_present: bool,
    /// The e-cash balance it reports (personalised instances only).
    pub balance: Option<u64>,
    /// The signing public key the card answered to the last STORE DATA (an opening's batch).
    pub personalised_key: Option<Vec<u8>>,
    /// The signing public key GET DATA DF61 read (a probe's batch).
    pub read_key: Option<Vec<u8>>,
}

impl InstanceView {
    /// Reads the outcomes of a batch that ended with the read-back.
    pub fn read(
        outcomes: &[Outcome],
        card: &CardRecord,
        ssd: &[u8],
    ) -> Result<InstanceView, TsmError> {
        let aid = instance_aid(card)?;
        let entries = match find(outcomes, GET_STATUS) {
            Some(r) if r.sw.is_success() => RegistryEntry::parse_all(&r.data)?,
            _ => Vec::new(),
        };
        let balance = balance_read(outcomes);
        Ok(InstanceView {
            entry: entries.iter().find(|e| e.aid == aid).cloned(),
            ssd_present: entries.iter().any(|e| e.aid.as_bytes() == ssd),
            balance,
            personalised_key: find(outcomes, LAST_STORE_DATA).and_then(signing_key_of),
            read_key: find(outcomes, GET_SIGNING_KEY).and_then(signing_key_of),
        })
    }

    /// The instance's life cycle, if it exists.
    pub fn life_cycle(&self) -> Option<AppLifeCycle> {
        self.entry
            .as_ref()
            .and_then(|e| AppLifeCycle::from_byte(e.life_cycle).ok())
    }

    /// Whether the instance exists, is selectable (not locked) and reports a balance (so it
    /// is personalised).
    pub fn is_usable(&self) -> bool {
        self.life_cycle().is_some_and(AppLifeCycle::is_selectable) && self.balance.is_some()
    }
}

/// The public key `04 ‖ X ‖ Y` in a `DF61` response (GET DATA or the last STORE DATA).
fn signing_key_of(response: &ResponseApdu) -> Option<Vec<u8>> {
    if !response.sw.is_success() {
        return None;
    }
    let tag = Tag::new(u32::from(TAG_SIGNING_KEY)).ok()?;
    let key = tlv::find(&response.data, tag).ok()??.value().to_vec();
    (key.len() == 65 && key.first() == Some(&0x04)).then_some(key)
}

/// The balance in a GET DATA 9F79 response.
fn balance_of(response: &ResponseApdu) -> Option<u64> {
    if !response.sw.is_success() {
        return None;
    }
    let object = tlv::find(&response.data, TAG_ECASH_BALANCE).ok()??;
    parse_amount_n12(object.value()).ok()
}

/// SELECT the payment instance `aid` and read its e-cash balance (GET DATA `9F79`), both in the
/// clear: selecting the application ends the security domain's secure channel.
fn select_and_read_balance(builder: &mut ScriptBuilder, aid: &Aid) -> Result<(), GpError> {
    builder.plain(Part::Application, SELECT_INSTANCE, NOT_READY, &select(aid)?);
    builder.plain(
        Part::Application,
        GET_BALANCE,
        NOT_READY,
        &GetData { tag: 0x9F79 }.to_apdu(),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use wallet_core::backend::api::AccountKind;

    fn card() -> CardRecord {
        CardRecord {
            se_id: "00".into(),
            instance_aid: "A000000333010106".into(),
            binding_id: "b".into(),
            opening_id: "o".into(),
            account_kind: AccountKind::ECash,
            device_pan: "6288880000000017".into(),
            pan_sequence: 1,
            expiry: "311231".into(),
            state: super::super::records::CardState::Opening,
            initial_load: 0,
            ecash_balance: None,
            crypto: wallet_core::card::CardCrypto::Sm4,
            se_payment_key: None,
            ecash_refund: None,
        }
    }

    fn outcome(label: &'static str, hex_response: &str) -> Outcome {
        Outcome {
            label,
            response: ResponseApdu::parse(&hex::decode(hex_response).unwrap()).unwrap(),
        }
    }

    #[test]
    fn read_back_of_a_personalised_instance() {
        // E3 { 4F instance, 9F70 07 } and E3 { 4F SSD, 9F70 0F }.
        let status = "E30E4F08A0000003330101069F700107E30E4F08A0000003335353449F70010F9000";
        let outcomes = vec![
            outcome(GET_STATUS, status),
            outcome(SELECT_INSTANCE, "6F0A8408A0000003330101069000"),
            outcome(GET_BALANCE, "9F79060000000123459000"),
        ];
        let view = InstanceView::read(&outcomes, &card(), &crate::world_keys::SSD_AID).unwrap();
        assert_eq!(view.life_cycle(), Some(AppLifeCycle::SELECTABLE));
        assert!(view.ssd_present);
        assert_eq!(view.balance, Some(12_345));
        assert!(view.is_usable());
        assert_eq!((view.personalised_key, view.read_key), (None, None));
    }

    #[test]
    fn the_signing_key_comes_from_the_last_store_data_or_get_data() {
        let key = format!("04{}", "AB".repeat(64));
        let outcomes = vec![
            outcome(LAST_STORE_DATA, &format!("DF6141{key}9000")),
            outcome(GET_SIGNING_KEY, "6A88"),
        ];
        let view = InstanceView::read(&outcomes, &card(), &crate::world_keys::SSD_AID).unwrap();
        assert_eq!(view.personalised_key, Some(hex::decode(&key).unwrap()));
        assert_eq!(view.read_key, None);
        // Not a 65-byte uncompressed point: ignored.
        let short = vec![outcome(
            GET_SIGNING_KEY,
            "DF6103040102 9000".replace(' ', "").as_str(),
        )];
        let view = InstanceView::read(&short, &card(), &crate::world_keys::SSD_AID).unwrap();
        assert_eq!(view.read_key, None);
    }

    #[test]
    fn read_back_of_an_absent_or_half_made_instance() {
        let absent = vec![
            outcome(GET_STATUS, "6A88"),
            outcome(SELECT_INSTANCE, "6A82"),
            outcome(GET_BALANCE, "6A88"),
        ];
        let view = InstanceView::read(&absent, &card(), &crate::world_keys::SSD_AID).unwrap();
        assert_eq!(
            (view.entry.clone(), view.ssd_present, view.balance),
            (None, false, None)
        );
        assert!(!view.is_usable());
        let installed = vec![
            outcome(GET_STATUS, "E30E4F08A0000003330101069F7001039000"),
            outcome(SELECT_INSTANCE, "6A82"),
            outcome(GET_BALANCE, "6985"),
        ];
        let view = InstanceView::read(&installed, &card(), &crate::world_keys::SSD_AID).unwrap();
        assert_eq!(view.life_cycle(), Some(AppLifeCycle::INSTALLED));
        assert!(!view.is_usable());
    }
}
