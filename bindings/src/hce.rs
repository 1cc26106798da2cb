//! Host card emulation: the [`Wallet`] methods an Android `HostApduService` and the card screen
//! call, and the [`HceCardInfo`] record.
//!
//! `process_apdu` is a plain (blocking) call, one per command APDU, as
//! `HostApduService.processCommandApdu` needs; it never fails (errors are status words).

use wallet_core::card::CardCrypto;
use wallet_core::hce::{DeactivationReason, HceCardInfo as CoreHceCardInfo};

use crate::wallet::{AccountKind, Wallet};
use crate::wallet_error::WalletFfiError;

/// Algorithm of a card's application cryptograms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum CryptogramAlgorithm {
    /// EMV triple DES.
    Tdes,
    /// PBOC national algorithm SM4.
    Sm4,
}

impl From<CardCrypto> for CryptogramAlgorithm {
    fn from(crypto: CardCrypto) -> Self {
        match crypto {
            CardCrypto::Tdes => Self::Tdes,
            CardCrypto::Sm4 => Self::Sm4,
        }
    }
}

/// An HCE card as the app shows it. Never holds the full token PAN or a key.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HceCardInfo {
    /// The binding (bank account) the card draws on.
    pub binding_id: String,
    /// The token service's identifier of the token.
    pub token_id: String,
    /// The token PAN masked to its first 6 and last 4 digits.
    pub masked_token_pan: String,
    /// Kind of the account.
    pub account_kind: AccountKind,
    /// Token expiry, `YYMMDD`.
    pub expiry: String,
    /// Algorithm of the token's cryptograms.
    pub crypto: CryptogramAlgorithm,
    /// ATC of the last transaction.
    pub atc: u16,
    /// Limited-use keys that can still serve.
    pub usable_keys: u32,
    /// Transactions those keys can still serve.
    pub transactions_left: u32,
    /// Whether a replenishment request is in flight (sent, answer not yet applied).
    pub replenishment_pending: bool,
    /// Whether the HostApduService answers with this card.
    pub is_default: bool,
}

impl From<CoreHceCardInfo> for HceCardInfo {
    fn from(c: CoreHceCardInfo) -> Self {
        Self {
            binding_id: c.binding_id,
            token_id: c.token_id,
            masked_token_pan: c.masked_token_pan,
            account_kind: c.account_kind.into(),
            expiry: c.expiry,
            crypto: c.crypto.into(),
            atc: c.atc,
            usable_keys: c.usable_keys,
            transactions_left: c.transactions_left,
            replenishment_pending: c.replenishment_pending,
            is_default: c.is_default,
        }
    }
}

#[uniffi::export(async_runtime = "tokio")]
impl Wallet {
    /// Opens (provisions) the HCE card of `binding_id` with the token service, with a first
    /// batch of limited-use keys. The first HCE card becomes the default. Errors: `Card` codes
    /// `hce_not_eligible`, `token_suspended`, `keys_exhausted`; `NotFound` `binding_not_found`.
    pub async fn open_hce_card(&self, binding_id: String) -> Result<HceCardInfo, WalletFfiError> {
        Ok(self.core().open_hce_card(&binding_id).await?.into())
    }

    /// The wallet's HCE cards.
    pub fn hce_cards(&self) -> Result<Vec<HceCardInfo>, WalletFfiError> {
        Ok(self
            .core()
            .hce_cards()?
            .into_iter()
            .map(HceCardInfo::from)
            .collect())
    }

    /// Makes the HCE card of `binding_id` the one the HostApduService answers with
    /// (`Card` code `hce_card_not_found` if there is none).
    pub fn set_default_hce_card(&self, binding_id: String) -> Result<(), WalletFfiError> {
        Ok(self.core().set_default_hce_card(&binding_id)?)
    }

    /// Answers one command APDU from the reader with the default HCE card (Android:
    /// `HostApduService.processCommandApdu`). Never fails: problems are status words (e.g.
    /// `6A82` to SELECT when there is no HCE card).
    pub fn process_apdu(&self, apdu: Vec<u8>) -> Vec<u8> {
        self.core().process_apdu(&apdu)
    }

    /// The reader stopped talking to the card (Android `HostApduService.onDeactivated`;
    /// `reason` is Android's constant: 0 link loss, 1 deselected).
    pub fn on_deactivated(&self, reason: i32) {
        self.core()
            .on_deactivated(DeactivationReason::from_android(reason));
    }

    /// Fetches new limited-use keys for the HCE card of `binding_id` from the token service.
    /// Errors: `Card` codes `hce_card_not_found`, `keys_exhausted` (open a new HCE card),
    /// `token_suspended`; network errors (retry later).
    pub async fn replenish_keys(&self, binding_id: String) -> Result<HceCardInfo, WalletFfiError> {
        Ok(self.core().replenish_keys(&binding_id).await?.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wallet_core::backend::api::AccountKind as CoreAccountKind;

    #[test]
    fn card_info_crosses_unchanged_and_without_secrets() {
        let info = HceCardInfo::from(CoreHceCardInfo {
            binding_id: "b1".into(),
            token_id: "t1".into(),
            masked_token_pan: "623456******1234".into(),
            account_kind: CoreAccountKind::Credit,
            expiry: "291231".into(),
            crypto: CardCrypto::Sm4,
            atc: 7,
            usable_keys: 3,
            transactions_left: 12,
            replenishment_pending: true,
            is_default: true,
        });
        assert_eq!(info.account_kind, AccountKind::Credit);
        assert_eq!(info.crypto, CryptogramAlgorithm::Sm4);
        assert_eq!(
            (info.atc, info.usable_keys, info.transactions_left),
            (7, 3, 12)
        );
        assert_eq!(info.masked_token_pan, "623456******1234");
        assert!(info.replenishment_pending && info.is_default);
    }
}
