//! The issuer's view of the cards this TSM issued: which binding and account stand behind a
//! device PAN, and what the issuer needs to check that card's application cryptograms.
//!
//! The issuer (`crate::issuer`) receives authorisations and clearing records carrying the
//! device PAN (tag `5A` / track 2), the PAN sequence number and the ATC. It calls
//! [`Tsm::account_of_device_pan`] to find the account to authorise against, and checks the
//! ARQC / TC with the test issuer master keys
//! ([`wallet_core::card::test_issuer::test_issuer_master_keys`]) and
//! [`wallet_core::card::keys`]: ICC master key from (device PAN, PSN) with
//! [`DeviceAccount::crypto`], session key from the ATC. Read-only: nothing here changes a
//! record.
//!
//! ```no_run
//! # fn demo(state: &mock_backend::AppState) -> Result<(), mock_backend::tsm::TsmError> {
//! if let Some(card) = state.tsm().account_of_device_pan("6288881234567897")? {
//!     println!("binding {} draws on {}", card.binding_id, card.account_pan);
//! }
//! # Ok(()) }
//! ```

use wallet_core::backend::api::AccountKind;
use wallet_core::card::CardCrypto;

use super::error::TsmError;
use super::records::CardState;
use super::Tsm;

/// A device PAN resolved to its binding and account. `Debug` masks the PANs.
#[derive(Clone, PartialEq, Eq)]
pub struct DeviceAccount {
    /// The device PAN (what the card sends).
    pub device_pan: String,
    /// Its PAN sequence number (`5F34`).
    pub pan_sequence: u8,
    /// Its expiry, `YYMMDD`.
    pub expiry: String,
    /// The algorithm of its cryptograms (the card product's: SM4 unless the bank says 3DES).
    pub crypto: CardCrypto,
    /// The binding the card draws on.
    pub binding_id: String,
    /// The bound account's card number.
    pub account_pan: String,
    /// The account kind.
    pub account_kind: AccountKind,
    /// The SE holding (or that held) the card.
    pub se_id: String,
    /// The instance AID on that SE.
    pub instance_aid: String,
    /// The card's life cycle in the TSM's books now: [`CardState::Absent`] once the instance
    /// was deleted or re-opened with another device PAN (its earlier offline transactions may
    /// still arrive for clearing).
    pub state: CardState,
}

impl std::fmt::Debug for DeviceAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceAccount")
            .field(
                "device_pan",
                &crate::bank::validate::mask_pan(&self.device_pan),
            )
            .field("pan_sequence", &self.pan_sequence)
            .field("crypto", &self.crypto)
            .field("binding_id", &self.binding_id)
            .field(
                "account_pan",
                &crate::bank::validate::mask_pan(&self.account_pan),
            )
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl Tsm {
    /// The binding and account behind device PAN `device_pan`, if this TSM issued it (whatever
    /// the card's state since; see [`DeviceAccount::state`]). `Err` only when the store fails
    /// or the binding of an issued card vanished from the bank.
    pub fn account_of_device_pan(
        &self,
        device_pan: &str,
    ) -> Result<Option<DeviceAccount>, TsmError> {
        let device_pan = device_pan.trim();
        let Some(issued) = self.records().device_pan(device_pan)? else {
            return Ok(None);
        };
        let account_pan = self.bank().pan_of(&issued.binding_id)?.ok_or_else(|| {
            TsmError::Internal("the binding of an issued device PAN vanished".into())
        })?;
        let state = match self.records().card(&issued.se_id, &issued.instance_aid)? {
            Some(card) if card.device_pan == device_pan => card.state,
            _ => CardState::Absent,
        };
        Ok(Some(DeviceAccount {
            device_pan: device_pan.to_owned(),
            pan_sequence: issued.pan_sequence,
            expiry: issued.expiry,
            crypto: issued.crypto,
            binding_id: issued.binding_id,
            account_pan,
            account_kind: issued.account_kind,
            se_id: issued.se_id,
            instance_aid: issued.instance_aid,
            state,
        }))
    }
}
