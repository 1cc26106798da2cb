//! What a tap ends with: a [`TapOutcome`] holding the [`Transaction`] (approved offline,
//! approved online or declined, and why) or the [`TapError`] that stopped it, plus the trace.

use super::card::CardIoError;
use super::fdda::FddaError;
use super::trace::Trace;
use wallet_core::apdu::StatusWord;
use wallet_core::backend::api::acquiring::{
    AuthorizationResponse, IccTransaction, ResponseCode, ReversalRequest, ReversalResponse,
};
use wallet_core::backend::client::IdempotencyKey;
use wallet_core::backend::BackendError;

/// The kind of transaction the terminal asks for (`9C`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransactionType {
    /// Goods and services (`00`).
    Purchase,
    /// Cash (`01`).
    Cash,
    /// Refund (`20`).
    Refund,
    /// E-cash load from the cardholder's account (`60`, 圈存): always online, then the issuer
    /// script sets the card's new balance.
    Load,
}

impl TransactionType {
    /// The `9C` value.
    pub const fn code(self) -> u8 {
        match self {
            TransactionType::Purchase => 0x00,
            TransactionType::Cash => 0x01,
            TransactionType::Refund => 0x20,
            TransactionType::Load => 0x60,
        }
    }
}

/// The cryptogram the card returned (`9F27` bits 8-7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CryptogramType {
    /// Transaction certificate: approved offline by the card.
    Tc,
    /// Authorisation request cryptogram: go online.
    Arqc,
    /// Application authentication cryptogram: declined by the card.
    Aac,
}

/// Cardholder verification the card asked for (from its CTQ `9F6C`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cvm {
    /// None required.
    NoCvm,
    /// Online PIN required (the mock world does not collect PINs: reported only).
    OnlinePin,
    /// Signature required.
    Signature,
    /// The cardholder was verified on the phone (consumer device CVM).
    ConsumerDevice,
}

/// Why a transaction was declined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeclineReason {
    /// The card declined (AAC).
    CardDeclined,
    /// The card approved offline although the terminal required an online cryptogram or did
    /// not offer e-cash.
    OfflineNotAllowed,
    /// Offline data authentication (fDDA) of an offline approval failed.
    OfflineDataAuthentication(FddaError),
    /// The issuer approved an e-cash load but the card did not apply its script: the terminal
    /// reversed the authorisation so the account is credited back ([`EcashLoad::reversal`]).
    LoadNotApplied,
    /// The issuer (or the acquirer) declined online.
    Issuer {
        /// The response code.
        code: ResponseCode,
        /// The reason it gave.
        message: String,
    },
}

/// How the transaction ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Approved offline by the card (e-cash TC) with fDDA verified; the advice is queued.
    ApprovedOffline,
    /// Approved online by the issuer.
    ApprovedOnline,
    /// Declined.
    Declined(DeclineReason),
}

/// Issuer authentication after an online answer (EXTERNAL AUTHENTICATE with `ARPC ‖ ARC`),
/// performed when the terminal is configured to keep the card in the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IssuerAuthentication {
    /// The card accepted the ARPC (`9000`).
    Passed,
    /// The card rejected it (usually `6300`).
    Failed(StatusWord),
    /// The card was gone or did not answer.
    CardUnavailable(CardIoError),
}

/// A transaction the terminal completed (approved or declined).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    /// How it ended.
    pub decision: Decision,
    /// The application used (`4F`).
    pub aid: Vec<u8>,
    /// Amount, fen.
    pub amount: u64,
    /// Transaction type.
    pub transaction_type: TransactionType,
    /// The PAN, masked to its first 6 and last 4 digits.
    pub masked_pan: String,
    /// The card's ATC.
    pub atc: u16,
    /// What the card answered.
    pub cryptogram_type: CryptogramType,
    /// Cardholder verification the card asked for.
    pub cvm: Cvm,
    /// Whether fDDA was performed and verified (offline approvals).
    pub fdda_verified: bool,
    /// The card's available offline spending amount after the transaction (`9F5D`), if sent.
    pub available_offline: Option<u64>,
    /// The card data sent (or to be sent) to the acquirer. Holds the full PAN for the acquirer;
    /// its `Debug` hides it.
    pub card_data: IccTransaction,
    /// The online answer, if the transaction went online.
    pub authorization: Option<AuthorizationResponse>,
    /// Issuer authentication, if performed.
    pub issuer_authentication: Option<IssuerAuthentication>,
    /// The e-cash side of a load transaction.
    pub ecash_load: Option<EcashLoad>,
}

/// The e-cash side of a load: the balances read with GET DATA and the script's fate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcashLoad {
    /// The balance before the load (`9F79`), fen.
    pub balance_before: u64,
    /// The card's balance limit (`9F77`), fen.
    pub balance_limit: u64,
    /// What the card did with the issuer script.
    pub script: ScriptResult,
    /// The balance read again after the script (`9F79`), fen, if the card answered.
    pub balance_after: Option<u64>,
    /// The reversal sent because the card did not apply the script, if one was needed.
    pub reversal: Option<LoadReversal>,
}

/// The reversal of an approved load the card did not apply (`POST /acquirer/v1/reversals`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadReversal {
    /// The request sent.
    pub request: ReversalRequest,
    /// The idempotency key it was sent with: send the request again with this key while
    /// [`LoadReversal::result`] is an error.
    pub key: IdempotencyKey,
    /// The acquirer's answer, or why the reversal did not get through (after the client's
    /// retries).
    pub result: Result<ReversalResponse, BackendError>,
}

impl LoadReversal {
    /// Whether the acquirer confirmed the authorisation reversed (now or before).
    pub fn is_reversed(&self) -> bool {
        self.result
            .as_ref()
            .is_ok_and(ReversalResponse::is_reversed)
    }
}

/// The fate of an issuer script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScriptResult {
    /// The card applied it (`9000`).
    Applied,
    /// The card refused it (`6988` wrong MAC, `6A80` above the limit, …).
    Rejected(StatusWord),
    /// There was no script to send (declined, or the issuer sent none or a malformed one).
    NotSent,
    /// The card was gone or did not answer.
    CardUnavailable(CardIoError),
}

impl Transaction {
    /// Whether the transaction was approved (online or offline).
    pub fn is_approved(&self) -> bool {
        matches!(
            self.decision,
            Decision::ApprovedOffline | Decision::ApprovedOnline
        )
    }
}

/// Why a tap could not complete.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TapError {
    /// The amount is not acceptable (zero, or beyond 12 digits).
    #[error("invalid amount: {0}")]
    InvalidAmount(&'static str),
    /// The amount is above the reader's contactless transaction limit.
    #[error("amount {amount} above the contactless transaction limit {limit}")]
    AboveContactlessLimit {
        /// The amount, fen.
        amount: u64,
        /// The limit, fen.
        limit: u64,
    },
    /// The card could not be reached.
    #[error("card I/O failed during {command}: {source}")]
    CardIo {
        /// The step.
        command: &'static str,
        /// The transport error.
        source: CardIoError,
    },
    /// The card answered a status word other than `9000` (e.g. `6985` to GET PROCESSING
    /// OPTIONS).
    #[error("the card answered {sw} to {command}")]
    CardStatus {
        /// The step.
        command: &'static str,
        /// The status word.
        sw: StatusWord,
    },
    /// The card's answer does not follow EMV / qPBOC.
    #[error("malformed card answer to {command}: {what}")]
    Malformed {
        /// The step.
        command: &'static str,
        /// What was wrong.
        what: &'static str,
    },
    /// No application of the card is one the terminal supports (or none could be selected).
    #[error("no application in common with the card")]
    NoCommonApplication,
    /// The card asked for online authorisation but the terminal has no acquirer link.
    #[error("online authorisation needed but the terminal has no acquirer link")]
    NoAcquirer,
    /// The online authorisation did not complete (network, timeout, rejected request).
    #[error("online authorisation failed: {0}")]
    Online(BackendError),
    /// The terminal's reversal journal could not be read or written (the terminal does not go
    /// online without journaling first).
    #[error("reversal journal: {0}")]
    Journal(String),
    /// The terminal's configuration cannot be encoded (e.g. a currency code above 999).
    #[error("terminal configuration: {0}")]
    Configuration(&'static str),
    /// The terminal's random number generator failed.
    #[error("the terminal's random number generator failed")]
    Random,
}

/// Everything a tap produced: the transaction or the error, and the trace of APDUs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TapOutcome {
    /// The completed transaction, or why the tap failed.
    pub result: Result<Transaction, TapError>,
    /// Every command and response APDU (masked by default).
    pub trace: Trace,
}

impl TapOutcome {
    /// Whether the transaction was approved.
    pub fn is_approved(&self) -> bool {
        self.result.as_ref().is_ok_and(Transaction::is_approved)
    }

    /// The transaction, if the tap completed.
    pub fn transaction(&self) -> Option<&Transaction> {
        self.result.as_ref().ok()
    }

    /// The error, if the tap failed.
    pub fn error(&self) -> Option<&TapError> {
        self.result.as_ref().err()
    }
}
