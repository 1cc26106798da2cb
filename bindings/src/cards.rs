//! Air card opening and the card's life cycle on a secure element, as [`Wallet`] methods.
//!
//! The wallet needs the device's secure elements first ([`Wallet::attach_secure_elements`]);
//! without them every card operation fails with `WalletFfiError::Card` code
//! `no_secure_element` (host card emulation is then the route). Operations that talk to the TSM
//! are `async`; progress of an opening goes to a [`CardOpeningListener`].

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use wallet_core::ota::{OtaListener, OtaProgress, OtaStage};
use wallet_core::tsm::{CardState as CoreCardState, SeCard as CoreSeCard};

use crate::se::{ForeignSeTransport, SeReaderKind, SecureElementTransport};
use crate::wallet::Wallet;
use crate::wallet_error::WalletFfiError;

/// Where a card on a secure element stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum CardState {
    /// An opening started and was not confirmed by the TSM: not usable; open it again.
    Opening,
    /// Installed, personalised, selectable: usable.
    Active,
    /// Locked by the TSM.
    Locked,
    /// Deleted from the secure element.
    Deleted,
}

impl From<CoreCardState> for CardState {
    fn from(state: CoreCardState) -> Self {
        match state {
            CoreCardState::Opening => Self::Opening,
            CoreCardState::Active => Self::Active,
            CoreCardState::Locked => Self::Locked,
            CoreCardState::Deleted => Self::Deleted,
        }
    }
}

/// A payment card in a secure element. Never holds the full card number.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SeCard {
    /// The binding (bank account) the card draws on.
    pub binding_id: String,
    /// OMAPI reader name of the secure element (`eSE1`, `SIM1`, `SD1`…).
    pub reader: String,
    /// Kind of the secure element.
    pub reader_kind: Option<SeReaderKind>,
    /// Identifier of the secure element (pass it to the other card calls).
    pub se_id: String,
    /// Instance AID of the payment application, uppercase hex (empty until known).
    pub instance_aid: String,
    /// The card's (device) number, masked (empty until known).
    pub masked_pan: String,
    /// Where it stands.
    pub state: CardState,
    /// Electronic cash balance in fen, as last read.
    pub ecash_balance: Option<u64>,
    /// Electronic cash in fen credited back to the account when the card was deleted.
    pub ecash_refunded: Option<u64>,
    /// The TSM order that last changed it.
    pub last_order_id: String,
    /// HTTP round trips of the last management session.
    pub last_round_trips: u32,
    /// When it last changed.
    pub updated_at: SystemTime,
}

impl From<CoreSeCard> for SeCard {
    fn from(card: CoreSeCard) -> Self {
        Self {
            binding_id: card.binding_id,
            reader: card.reader,
            reader_kind: card.reader_kind.map(SeReaderKind::from),
            se_id: card.se_id,
            instance_aid: card.instance_aid,
            masked_pan: card.masked_pan,
            state: card.state.into(),
            ecash_balance: card.ecash_balance,
            ecash_refunded: card.ecash_refunded,
            last_order_id: card.last_order_id,
            last_round_trips: card.last_round_trips,
            updated_at: SystemTime::UNIX_EPOCH
                .checked_add(Duration::from_secs(card.updated_at))
                .unwrap_or(SystemTime::UNIX_EPOCH),
        }
    }
}

/// Stage of a card opening (a GP SERAM session with the TSM).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum CardOpeningStage {
    /// Negotiating with the TSM.
    Handshake,
    /// Waiting for the TSM to start sending commands.
    AwaitingStart,
    /// Relaying the TSM's commands to the secure element.
    Executing,
    /// The TSM ended the session.
    Completed,
}

impl From<OtaStage> for CardOpeningStage {
    fn from(stage: OtaStage) -> Self {
        match stage {
            OtaStage::Handshake => Self::Handshake,
            OtaStage::AwaitingStart => Self::AwaitingStart,
            OtaStage::Executing => Self::Executing,
            OtaStage::Completed => Self::Completed,
        }
    }
}

/// A progress report of a card opening.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct CardOpeningProgress {
    /// Current stage.
    pub stage: CardOpeningStage,
    /// Estimated completion, 0..=100, never decreasing within one opening.
    pub percent: u8,
    /// Commands exchanged with the secure element so far.
    pub apdus_exchanged: u32,
}

impl From<OtaProgress> for CardOpeningProgress {
    fn from(progress: OtaProgress) -> Self {
        Self {
            stage: progress.stage.into(),
            percent: progress.percent,
            apdus_exchanged: progress.apdus_exchanged,
        }
    }
}

/// A [`CardOpeningListener`] failed; the library ignores it and the opening carries on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum CardListenerError {
    /// The listener could not handle the report.
    #[error("card opening listener failed ({code}): {error_message}")]
    Failed {
        /// Stable machine-readable code; `foreign_exception` for an undeclared platform exception.
        code: String,
        /// What went wrong.
        error_message: String,
    },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for CardListenerError {
    fn from(err: uniffi::UnexpectedUniFFICallbackError) -> Self {
        Self::Failed {
            code: "foreign_exception".to_owned(),
            error_message: err.reason,
        }
    }
}

/// Receives the progress of a card opening; implemented by the app (progress bar). Called from
/// library worker threads: keep it quick and thread-safe. An error or exception is ignored.
#[uniffi::export(with_foreign)]
pub trait CardOpeningListener: Send + Sync {
    /// The opening progressed.
    fn on_progress(&self, progress: CardOpeningProgress) -> Result<(), CardListenerError>;
}

/// A platform [`CardOpeningListener`] seen by the core as its `OtaListener`.
struct ForeignOpeningListener(Arc<dyn CardOpeningListener>);

impl OtaListener for ForeignOpeningListener {
    fn on_progress(&self, progress: OtaProgress) {
        if let Err(err) = self.0.on_progress(progress.into()) {
            tracing::debug!(%err, "card opening listener failed");
        }
    }

    fn on_notification(&self, message: String) {
        tracing::debug!(%message, "TSM notification");
    }
}

#[uniffi::export(async_runtime = "tokio")]
impl Wallet {
    /// Gives the wallet access to the device's secure elements (Android: OMAPI; tests: the
    /// simulator). Attaching again replaces the earlier transport; card records are kept.
    pub fn attach_secure_elements(&self, transport: Arc<dyn SecureElementTransport>) {
        self.attach(Arc::new(ForeignSeTransport(transport)));
    }

    /// Air card opening: installs and personalises the payment card of `binding_id` in the
    /// `preferred` kind of secure element if present (else eSE → SIM → SD), loading
    /// `initial_ecash_load_fen` fen of electronic cash (0: none). Progress goes to `listener`.
    /// Safe to run again after an interruption: it converges on one personalised card.
    pub async fn open_card(
        &self,
        binding_id: String,
        preferred: Option<SeReaderKind>,
        initial_ecash_load_fen: u64,
        listener: Option<Arc<dyn CardOpeningListener>>,
    ) -> Result<SeCard, WalletFfiError> {
        let listener =
            listener.map(|l| Arc::new(ForeignOpeningListener(l)) as Arc<dyn OtaListener>);
        let card = self
            .core()
            .open_card(
                &binding_id,
                preferred.map(Into::into),
                initial_ecash_load_fen,
                listener,
            )
            .await?;
        Ok(card.into())
    }

    /// The cards this wallet knows in the device's secure elements (none without secure
    /// elements attached).
    pub fn cards_in_se(&self) -> Result<Vec<SeCard>, WalletFfiError> {
        Ok(self
            .core()
            .cards_in_se()?
            .into_iter()
            .map(SeCard::from)
            .collect())
    }

    /// Asks the TSM to read the card's state and balance from the secure element.
    pub async fn card_status(
        &self,
        binding_id: String,
        se_id: String,
    ) -> Result<SeCard, WalletFfiError> {
        Ok(self.core().card_status(&binding_id, &se_id).await?.into())
    }

    /// Locks the card (it stays in the secure element, unusable until unlocked).
    pub async fn lock_card(
        &self,
        binding_id: String,
        se_id: String,
    ) -> Result<SeCard, WalletFfiError> {
        Ok(self.core().lock_card(&binding_id, &se_id).await?.into())
    }

    /// Unlocks a locked card.
    pub async fn unlock_card(
        &self,
        binding_id: String,
        se_id: String,
    ) -> Result<SeCard, WalletFfiError> {
        Ok(self.core().unlock_card(&binding_id, &se_id).await?.into())
    }

    /// Deletes the card from its secure element.
    pub async fn delete_card(
        &self,
        binding_id: String,
        se_id: String,
    ) -> Result<SeCard, WalletFfiError> {
        Ok(self.core().delete_card(&binding_id, &se_id).await?.into())
    }

    /// Reads the card's electronic cash balance (fen) from the secure element, without the
    /// network. Only an active card answers (`Card` code `invalid_state` otherwise).
    pub async fn ecash_balance(
        &self,
        binding_id: String,
        se_id: String,
    ) -> Result<u64, WalletFfiError> {
        Ok(self.core().ecash_balance(&binding_id, &se_id).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn a_core_card_converts_field_by_field() {
        let core = CoreSeCard {
            binding_id: "b1".into(),
            reader: "SIM1".into(),
            reader_kind: Some(wallet_core::se::ReaderKind::Sim),
            se_id: "0102".into(),
            instance_aid: "A000000333010101".into(),
            masked_pan: "622202******7894".into(),
            state: CoreCardState::Locked,
            ecash_balance: Some(10_000),
            ecash_refunded: None,
            last_order_id: "o1".into(),
            last_round_trips: 3,
            updated_at: 1_700_000_000,
        };
        let card = SeCard::from(core);
        assert_eq!(card.reader_kind, Some(SeReaderKind::Sim));
        assert_eq!(card.state, CardState::Locked);
        assert_eq!(card.ecash_balance, Some(10_000));
        assert_eq!(
            card.updated_at.duration_since(SystemTime::UNIX_EPOCH).ok(),
            Some(Duration::from_secs(1_700_000_000))
        );
    }

    #[derive(Default)]
    struct Recorder(Mutex<Vec<CardOpeningProgress>>);

    impl CardOpeningListener for Recorder {
        fn on_progress(&self, progress: CardOpeningProgress) -> Result<(), CardListenerError> {
            self.0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(progress);
            Err(uniffi::UnexpectedUniFFICallbackError::new("listener crashed").into())
        }
    }

    #[test]
    fn listener_reports_reach_the_platform_and_its_failures_are_ignored() {
        let recorder = Arc::new(Recorder::default());
        let adapter = ForeignOpeningListener(recorder.clone());
        adapter.on_progress(OtaProgress {
            stage: OtaStage::Executing,
            percent: 55,
            apdus_exchanged: 4,
        });
        adapter.on_notification("step1/action2/OK".into());
        let seen = recorder
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        assert_eq!(
            seen,
            vec![CardOpeningProgress {
                stage: CardOpeningStage::Executing,
                percent: 55,
                apdus_exchanged: 4
            }]
        );
    }
}
