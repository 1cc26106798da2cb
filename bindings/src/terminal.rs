//! Test-only (feature `test-hooks`): the mock world's POS terminal, so the Kotlin, Swift and
//! Python suites can tap the wallet's HCE card without a reader, and load e-cash (圈存) onto the
//! card in a simulated SE ([`MockTerminal::load_simulated_se`]). The terminal runs in Rust and
//! sends each command APDU to a [`TappableCard`] the test implements — typically by calling
//! `Wallet.process_apdu`, as Android's `HostApduService` would — so every APDU crosses the FFI
//! twice (terminal → foreign test → wallet).

use std::sync::Arc;

use mock_backend::pos::{
    AcquirerLink, CardIoError, ContactlessCard, CryptogramType, Decision, TapOutcome, Terminal,
    TerminalConfig, TransactionType,
};
use mock_backend::se_sim::SharedSe;

use crate::error::FfiError;
use crate::se::SeReaderKind;
use crate::simulated::SimulatedSecureElements;

/// A [`TappableCard`] could not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum TappableCardError {
    /// The card left the field.
    #[error("the card left the field")]
    Lost,
    /// The card's transport failed; `code` is `foreign_exception` for an undeclared platform
    /// exception.
    #[error("card transport failed ({code}): {error_message}")]
    Failed {
        /// Stable machine-readable code.
        code: String,
        /// What went wrong.
        error_message: String,
    },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for TappableCardError {
    fn from(err: uniffi::UnexpectedUniFFICallbackError) -> Self {
        Self::Failed {
            code: "foreign_exception".to_owned(),
            error_message: err.reason,
        }
    }
}

/// What the terminal taps: one command APDU in, the response APDU (data ‖ SW1 SW2) out.
/// Implemented by the tests (e.g. calling `Wallet.process_apdu`).
#[uniffi::export(with_foreign)]
pub trait TappableCard: Send + Sync {
    /// Answers `apdu`.
    fn transceive(&self, apdu: Vec<u8>) -> Result<Vec<u8>, TappableCardError>;
}

/// How a tap ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum TapDecision {
    /// Approved offline by the card (e-cash TC, fDDA verified).
    ApprovedOffline,
    /// Approved online by the issuer (ARQC verified).
    ApprovedOnline,
    /// Declined by the card, the terminal or the issuer.
    Declined,
    /// The transaction did not complete (card error, malformed answer, network).
    Failed,
}

/// The outcome of [`MockTerminal::tap`].
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct TapResult {
    /// Whether the transaction was approved.
    pub approved: bool,
    /// How it ended.
    pub decision: TapDecision,
    /// Why it was declined or failed (`None` when approved).
    pub reason: Option<String>,
    /// The card's ATC (`None` if the tap failed).
    pub atc: Option<u16>,
    /// The cryptogram the card returned: `tc`, `arqc` or `aac` (`None` if the tap failed).
    pub cryptogram_type: Option<String>,
    /// The PAN masked to its first 6 and last 4 digits (`None` if the tap failed).
    pub masked_pan: Option<String>,
    /// Number of command APDUs the terminal sent.
    pub apdus: u32,
}

impl From<&TapOutcome> for TapResult {
    fn from(outcome: &TapOutcome) -> Self {
        let apdus = u32::try_from(outcome.trace.entries().len()).unwrap_or(u32::MAX);
        match &outcome.result {
            Ok(tx) => {
                let (decision, reason) = match &tx.decision {
                    Decision::ApprovedOffline => (TapDecision::ApprovedOffline, None),
                    Decision::ApprovedOnline => (TapDecision::ApprovedOnline, None),
                    Decision::Declined(why) => (TapDecision::Declined, Some(format!("{why:?}"))),
                };
                let cryptogram = match tx.cryptogram_type {
                    CryptogramType::Tc => "tc",
                    CryptogramType::Arqc => "arqc",
                    CryptogramType::Aac => "aac",
                };
                Self {
                    approved: tx.is_approved(),
                    decision,
                    reason,
                    atc: Some(tx.atc),
                    cryptogram_type: Some(cryptogram.to_owned()),
                    masked_pan: Some(tx.masked_pan.clone()),
                    apdus,
                }
            }
            Err(e) => Self {
                approved: false,
                decision: TapDecision::Failed,
                reason: Some(e.to_string()),
                atc: None,
                cryptogram_type: None,
                masked_pan: None,
                apdus,
            },
        }
    }
}

/// What became of an e-cash load's issuer script.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum LoadScriptOutcome {
    /// The card applied it: the new balance is on the card.
    Applied,
    /// The card did not apply it and the terminal reversed the load: the account is credited
    /// back.
    Reversed,
    /// The card did not apply it and the reversal did not get through (the account stays
    /// debited until it is sent again).
    ReversalFailed,
    /// No script was sent (the load was declined or did not complete).
    NotSent,
}

/// The outcome of [`MockTerminal::load_simulated_se`].
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct LoadResult {
    /// Whether the load was approved and applied by the card.
    pub approved: bool,
    /// Why it was declined or failed (`None` when approved).
    pub reason: Option<String>,
    /// The e-cash balance (`9F79`) read before the load, fen (`None` if the tap failed first).
    pub old_balance: Option<u64>,
    /// The e-cash balance read after the script, fen (`None` if the card did not answer).
    pub new_balance: Option<u64>,
    /// The script's fate.
    pub script: LoadScriptOutcome,
    /// The acquirer's authorisation id (`None` if the load did not go online).
    pub authorization_id: Option<String>,
}

impl From<&TapOutcome> for LoadResult {
    fn from(outcome: &TapOutcome) -> Self {
        let tx = match &outcome.result {
            Ok(tx) => tx,
            Err(e) => {
                return Self {
                    approved: false,
                    reason: Some(e.to_string()),
                    old_balance: None,
                    new_balance: None,
                    script: LoadScriptOutcome::NotSent,
                    authorization_id: None,
                }
            }
        };
        let load = tx.ecash_load.as_ref();
        let approved = tx.decision == Decision::ApprovedOnline;
        // The terminal approves a load only once the card holds the new balance.
        let script = match load.and_then(|l| l.reversal.as_ref()) {
            Some(reversal) if reversal.is_reversed() => LoadScriptOutcome::Reversed,
            Some(_) => LoadScriptOutcome::ReversalFailed,
            None if approved => LoadScriptOutcome::Applied,
            None => LoadScriptOutcome::NotSent,
        };
        Self {
            approved,
            reason: match &tx.decision {
                Decision::Declined(why) => Some(format!("{why:?}")),
                _ if load.is_none() => Some("the terminal did not read the e-cash balance".into()),
                _ => None,
            },
            old_balance: load.map(|l| l.balance_before),
            new_balance: load.and_then(|l| l.balance_after),
            script,
            authorization_id: tx
                .authorization
                .as_ref()
                .map(|a| a.authorization_id.clone()),
        }
    }
}

/// The foreign card as the terminal's [`ContactlessCard`].
struct ForeignCard(Arc<dyn TappableCard>);

impl ContactlessCard for ForeignCard {
    fn transceive(&mut self, c_apdu: &[u8]) -> Result<Vec<u8>, CardIoError> {
        self.0.transceive(c_apdu.to_vec()).map_err(|e| match e {
            TappableCardError::Lost => CardIoError::Lost,
            TappableCardError::Failed { .. } => CardIoError::Transport(e.to_string()),
        })
    }
}

/// A simulated SE's contactless interface (the NFC controller routes the field to the SE).
struct SeContactless(SharedSe);

impl ContactlessCard for SeContactless {
    fn transceive(&mut self, c_apdu: &[u8]) -> Result<Vec<u8>, CardIoError> {
        let mut se = self
            .0
            .lock()
            .map_err(|_| CardIoError::Transport("SE state poisoned".into()))?;
        Ok(se.transmit(c_apdu))
    }
}

/// A POS terminal of the mock convenience store, online through the mock acquirer. Taps are
/// purchases, loads are e-cash loads; one at a time.
#[derive(uniffi::Object)]
pub struct MockTerminal {
    terminal: tokio::sync::Mutex<Terminal>,
}

impl std::fmt::Debug for MockTerminal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockTerminal").finish_non_exhaustive()
    }
}

#[uniffi::export(async_runtime = "tokio")]
impl MockTerminal {
    /// A terminal with the default configuration, online through the acquirer of the mock
    /// back end at `backend_url`.
    #[uniffi::constructor]
    pub fn new(backend_url: String) -> Result<Arc<Self>, FfiError> {
        let link = AcquirerLink::new(&backend_url).map_err(|e| FfiError::InvalidArgument {
            code: "invalid_url".to_owned(),
            error_message: e.to_string(),
        })?;
        Ok(Arc::new(Self {
            terminal: tokio::sync::Mutex::new(Terminal::new(TerminalConfig::default(), Some(link))),
        }))
    }

    /// Taps `card` for a purchase of `amount_fen` fen: selection, GPO, records, then online
    /// authorisation or offline approval.
    pub async fn tap(&self, card: Arc<dyn TappableCard>, amount_fen: u64) -> TapResult {
        let mut terminal = self.terminal.lock().await;
        let outcome = terminal
            .tap(
                &mut ForeignCard(card),
                amount_fen,
                TransactionType::Purchase,
            )
            .await;
        TapResult::from(&outcome)
    }

    /// Taps the payment application in the simulated SE of `kind` (SE mode), then resets that
    /// SE as the phone leaves the field.
    pub async fn tap_simulated_se(
        &self,
        ses: Arc<SimulatedSecureElements>,
        kind: SeReaderKind,
        amount_fen: u64,
    ) -> TapResult {
        let shared = ses.shared_se(kind);
        let mut terminal = self.terminal.lock().await;
        let outcome = terminal
            .tap(
                &mut SeContactless(shared.clone()),
                amount_fen,
                TransactionType::Purchase,
            )
            .await;
        if let Ok(mut se) = shared.lock() {
            se.reset();
        }
        TapResult::from(&outcome)
    }

    /// Loads `amount_fen` fen of e-cash (圈存, online from the cardholder's account) onto the
    /// payment application in the simulated SE of `kind`: balance read, ARQC to the issuer,
    /// issuer script applied by the card — or the load reversed if the card does not apply it.
    /// Resets that SE afterwards as the phone leaves the field.
    pub async fn load_simulated_se(
        &self,
        ses: Arc<SimulatedSecureElements>,
        kind: SeReaderKind,
        amount_fen: u64,
    ) -> LoadResult {
        let shared = ses.shared_se(kind);
        let mut terminal = self.terminal.lock().await;
        let outcome = terminal
            .load(&mut SeContactless(shared.clone()), amount_fen)
            .await;
        if let Ok(mut se) = shared.lock() {
            se.reset();
        }
        LoadResult::from(&outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// Answers every command with `6A82` (file not found) and records them.
    #[derive(Default)]
    struct NoApplication(Mutex<Vec<Vec<u8>>>);

    impl TappableCard for NoApplication {
        fn transceive(&self, apdu: Vec<u8>) -> Result<Vec<u8>, TappableCardError> {
            self.0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(apdu);
            Ok(vec![0x6A, 0x82])
        }
    }

    struct Gone;

    impl TappableCard for Gone {
        fn transceive(&self, _apdu: Vec<u8>) -> Result<Vec<u8>, TappableCardError> {
            Err(uniffi::UnexpectedUniFFICallbackError::new("NFC off").into())
        }
    }

    #[tokio::test]
    async fn a_card_without_payment_application_fails_the_tap_offline() {
        // No acquirer call happens: the card fails at selection (port 9 is never contacted).
        let terminal = MockTerminal::new("http://127.0.0.1:9".into()).map_err(|e| e.to_string());
        let Ok(terminal) = terminal else {
            panic!("terminal: {terminal:?}");
        };
        let card = Arc::new(NoApplication::default());
        let result = terminal.tap(card.clone(), 2_345).await;
        assert_eq!(result.decision, TapDecision::Failed);
        assert!(!result.approved);
        assert_eq!((result.atc, result.masked_pan), (None, None));
        let first = card
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .first()
            .cloned()
            .unwrap_or_default();
        // SELECT "2PAY.SYS.DDF01" (PPSE) first, case 4, as EMV Book B names it.
        assert_eq!(first.get(..4), Some(&[0x00, 0xA4, 0x04, 0x00][..]));
        assert_eq!(first.get(5..19), Some(&b"2PAY.SYS.DDF01"[..]));

        let gone = terminal.tap(Arc::new(Gone), 100).await;
        assert_eq!(gone.decision, TapDecision::Failed);
        assert!(gone
            .reason
            .unwrap_or_default()
            .contains("foreign_exception"));
    }

    #[test]
    fn a_load_that_never_reached_the_card_reports_nothing_sent() {
        let outcome = TapOutcome {
            result: Err(mock_backend::pos::TapError::NoCommonApplication),
            trace: mock_backend::pos::Trace::new(mock_backend::pos::Redaction::MaskCardholderData),
        };
        let result = LoadResult::from(&outcome);
        assert!(!result.approved);
        assert_eq!(result.script, LoadScriptOutcome::NotSent);
        assert_eq!((result.old_balance, result.new_balance), (None, None));
        assert_eq!(result.authorization_id, None);
        assert!(result.reason.unwrap_or_default().contains("no application"));
    }
}
