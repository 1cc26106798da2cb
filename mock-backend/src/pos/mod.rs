//! The POS terminal: the reader side of a qPBOC contactless transaction, then online
//! authorisation through the acquirer or an offline approval uploaded later as an advice.
//!
//! A [`Terminal`] taps any [`ContactlessCard`] (the HCE responder, the SE simulator's channel, a
//! PC/SC card, or a [`wallet_core::card::CardApplication`] in a test):
//!
//! 1. SELECT PPSE, choose the application: the supported AIDs of the directory by priority, the
//!    e-cash application first for amounts up to [`TerminalConfig::prefer_ecash_up_to`]; SELECT
//!    it (the next candidate if it refuses);
//! 2. GET PROCESSING OPTIONS with the card's PDOL filled from the terminal data: TTQ `9F66`,
//!    amounts `9F02` / `9F03`, country `9F1A`, TVR `95`, currency `5F2A`, date `9A`, type `9C`,
//!    a fresh random UN `9F37`, e-cash indicator `9F7A`, terminal type `9F35`;
//! 3. READ RECORD for every record of the AFL;
//! 4. the card's decision (`9F27`): a **TC** is accepted offline only if the terminal allowed
//!    it and fDDA verifies ([`fdda`], certificate chain from the trusted CA keys); the advice is
//!    then queued for [`Terminal::upload_advices`]; an **ARQC** goes online
//!    (`POST /acquirer/v1/authorizations`, [`AcquirerLink`]) and, with
//!    [`TerminalConfig::issuer_authentication`], the ARPC goes back to the card (EXTERNAL
//!    AUTHENTICATE); an **AAC** is a decline.
//!
//! An e-cash **load** ([`Terminal::load`], `9C` = `60`, 圈存) reads the balance `9F79` and
//! the balance limit `9F77` with GET DATA right after SELECT AID (PBOC reads them once the
//! application is selected, before GPO), requires an online cryptogram (TTQ byte 2 `80`, no
//! e-cash indicator), sends both values with the authorisation
//! ([`wallet_core::backend::api::acquiring::EcashLoadRequest`]), then, approved: EXTERNAL
//! AUTHENTICATE with the ARPC (always for a load: the card stays in the field), the issuer
//! script (PUT DATA `9F79`, checked to be one before it is sent), and GET DATA `9F79` again.
//! A script the card does not apply (`6988` wrong MAC, card gone, no answer, …) turns the
//! outcome into [`DeclineReason::LoadNotApplied`] and the terminal reverses the authorisation
//! (`POST /acquirer/v1/reversals`, [`online::load_reversal_reason`]): the account is credited
//! back, the outcome's [`EcashLoad::reversal`] holds the answer. An authorisation whose answer
//! never arrives is reversed by its idempotency key; with a [`ReversalJournal`]
//! ([`Terminal::with_journal`]) this survives the terminal's death: see [`online`].
//!
//! TTQ sent: byte 1 `20` qPBOC, `04` online PIN, `02` signature, plus `08` (offline-only reader)
//! when the terminal has no acquirer link; byte 2 `80` online cryptogram required above the floor
//! limit, `40` CVM required above the CVM limit; byte 3 `40` consumer device CVM supported;
//! byte 4 `80` (fDDA version 01). `9F7A` = `01` when the terminal does e-cash and the amount is
//! within the floor limit.
//!
//! Nothing the card answers can make the kernel panic: every malformed answer is a
//! [`TapError`]. The trace ([`trace`]) masks the PAN and tracks unless told otherwise.

mod advice;
pub mod card;
pub mod fdda;
mod issuer_data;
pub mod journal;
pub mod kernel;
pub mod online;
pub mod outcome;
#[cfg(feature = "pcsc")]
pub mod pcsc;
pub mod trace;

#[cfg(test)]
mod proptests;

pub use advice::{PendingAdvice, UploadError};
pub use card::{CardIoError, ContactlessCard};
pub use journal::{JournalEntry, JournalKind, ReversalJournal};
pub use online::{AcquirerLink, Resolution, Resolved};
pub use outcome::{
    CryptogramType, Cvm, Decision, DeclineReason, EcashLoad, IssuerAuthentication, LoadReversal,
    ScriptResult, TapError, TapOutcome, Transaction, TransactionType,
};
pub use trace::{Redaction, Trace, TraceEntry};

use crate::acquirer::merchants;
use crate::bank::validate::mask_pan;
use crate::clearing::date::Day;
use card::Session;
use issuer_data::{apply_script, issuer_authentication};
use kernel::{CardRead, TerminalData};
use wallet_core::backend::api::acquiring::{
    numeric_code_n3, AuthorizationRequest, EcashLoadRequest, IccTransaction, ReversalReason,
    CID_AAC, CID_ARQC, CID_TC,
};
use wallet_core::backend::client::IdempotencyKey;
use wallet_core::card::aids;
use wallet_core::card::certs::TerminalDynamicData;
use wallet_core::card::perso::amount_n12;
use wallet_core::card::test_issuer::{CaPublicKey, TEST_CA};
use wallet_core::crypto::random;

/// How a terminal is set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerminalConfig {
    /// Terminal identification (`9F1C`), 8 letters or digits.
    pub terminal_id: String,
    /// Merchant identifier (`9F16`), 15 characters, known to the acquirer.
    pub merchant_id: String,
    /// Terminal type (`9F35`): `22` attended, online with offline capability.
    pub terminal_type: u8,
    /// Terminal country (`9F1A`), ISO 3166 numeric.
    pub country: u16,
    /// Transaction currency (`5F2A`), ISO 4217 numeric.
    pub currency: u16,
    /// Above this amount (fen) the terminal requires an online cryptogram.
    pub floor_limit: u64,
    /// Above this amount (fen) the terminal refuses a contactless transaction.
    pub contactless_limit: u64,
    /// Above this amount (fen) the terminal asks for cardholder verification.
    pub cvm_limit: u64,
    /// Whether the terminal supports offline e-cash.
    pub ecash: bool,
    /// Select the e-cash application first for amounts up to this (fen), when offered.
    pub prefer_ecash_up_to: Option<u64>,
    /// Keep the card in the field after an online answer and send it the ARPC.
    pub issuer_authentication: bool,
    /// CA public keys the terminal trusts for fDDA.
    pub trusted_cas: Vec<CaPublicKey>,
    /// AIDs (or AID prefixes) the terminal supports.
    pub supported_aids: Vec<Vec<u8>>,
    /// What the trace keeps.
    pub redaction: Redaction,
}

impl Default for TerminalConfig {
    /// Terminal `POS00001` of the mock convenience store, China / CNY, floor limit ¥500,
    /// contactless limit ¥10,000, CVM limit ¥1,000, e-cash supported, the UnionPay AIDs and
    /// the test CA, no issuer authentication, masked trace.
    fn default() -> Self {
        TerminalConfig {
            terminal_id: "POS00001".into(),
            merchant_id: merchants::CONVENIENCE_STORE.id.into(),
            terminal_type: 0x22,
            country: 156,
            currency: 156,
            floor_limit: 50_000,
            contactless_limit: 1_000_000,
            cvm_limit: 100_000,
            ecash: true,
            prefer_ecash_up_to: None,
            issuer_authentication: false,
            trusted_cas: vec![TEST_CA],
            supported_aids: [aids::DEBIT, aids::CREDIT, aids::QUASI_CREDIT, aids::E_CASH]
                .iter()
                .map(|a| a.to_vec())
                .collect(),
            redaction: Redaction::MaskCardholderData,
        }
    }
}

/// A POS terminal.
#[derive(Debug)]
pub struct Terminal {
    config: TerminalConfig,
    acquirer: Option<AcquirerLink>,
    pending: Vec<PendingAdvice>,
    journal: Option<ReversalJournal>,
    resolved: Vec<Resolved>,
}

impl Terminal {
    /// A terminal set up with `config`, online through `acquirer` (`None`: offline-only).
    pub fn new(config: TerminalConfig, acquirer: Option<AcquirerLink>) -> Terminal {
        Terminal {
            config,
            acquirer,
            pending: Vec::new(),
            journal: None,
            resolved: Vec::new(),
        }
    }

    /// The same terminal keeping a durable reversal journal (see [`online`]): its open entries
    /// are resolved at the start of every tap.
    pub fn with_journal(mut self, journal: ReversalJournal) -> Terminal {
        self.set_journal(journal);
        self
    }

    /// Gives the terminal its reversal journal (see [`Terminal::with_journal`]).
    /// The offline advices a previous run left in the journal are queued again (uploaded by
    /// the next [`Terminal::upload_advices`]).
    pub fn set_journal(&mut self, journal: ReversalJournal) {
        match journal.pending_advices() {
            Ok(advices) => {
                for advice in advices {
                    if !self.pending.iter().any(|a| a.key == advice.key) {
                        self.pending.push(advice);
                    }
                }
            }
            Err(err) => tracing::warn!(%err, "the journal's offline advices cannot be read"),
        }
        self.journal = Some(journal);
    }

    /// The reversal journal, if any.
    pub fn journal(&self) -> Option<&ReversalJournal> {
        self.journal.as_ref()
    }

    /// The journal entries resolved (or tried) by the last tap before it went on, in order.
    pub fn resolved(&self) -> &[Resolved] {
        &self.resolved
    }

    /// The configuration.
    pub fn config(&self) -> &TerminalConfig {
        &self.config
    }

    /// The TTQ (`9F66`) for a transaction of `amount` fen (see the [module](self)).
    pub fn ttq(&self, amount: u64) -> [u8; 4] {
        let c = &self.config;
        let offline_only = if self.acquirer.is_none() { 0x08 } else { 0 };
        let online_required = if amount > c.floor_limit { 0x80 } else { 0 };
        let cvm_required = if amount > c.cvm_limit { 0x40 } else { 0 };
        [
            0x20 | 0x04 | 0x02 | offline_only,
            online_required | cvm_required,
            0x40,
            0x80,
        ]
    }

    /// Offline approvals not yet uploaded.
    pub fn pending_advices(&self) -> &[PendingAdvice] {
        &self.pending
    }

    /// Loads `amount` fen of e-cash onto `card` from the cardholder's account now (see the
    /// [module](self)); the outcome's [`Transaction::ecash_load`] holds the balances.
    pub async fn load<C: ContactlessCard + ?Sized>(
        &mut self,
        card: &mut C,
        amount: u64,
    ) -> TapOutcome {
        self.tap(card, amount, TransactionType::Load).await
    }

    /// Taps `card` for `amount` fen now (see the [module](self)).
    pub async fn tap<C: ContactlessCard + ?Sized>(
        &mut self,
        card: &mut C,
        amount: u64,
        transaction_type: TransactionType,
    ) -> TapOutcome {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        self.tap_at(card, amount, transaction_type, now).await
    }

    /// Taps `card` with the transaction date of Unix time `now` (Beijing day).
    pub async fn tap_at<C: ContactlessCard + ?Sized>(
        &mut self,
        card: &mut C,
        amount: u64,
        transaction_type: TransactionType,
        now: u64,
    ) -> TapOutcome {
        let mut trace = Trace::new(self.config.redaction);
        let mut pan = None;
        let result = self
            .run(card, amount, transaction_type, now, &mut trace, &mut pan)
            .await;
        if let Some(pan) = pan {
            trace.mask_pan(&pan);
        }
        TapOutcome { result, trace }
    }

    /// The terminal data of a transaction.
    fn terminal_data(
        &self,
        amount: u64,
        transaction_type: TransactionType,
        now: u64,
    ) -> Result<TerminalData, TapError> {
        let c = &self.config;
        let n12 = |v| {
            amount_n12(v)
                .ok()
                .and_then(|b| b.try_into().ok())
                .ok_or(TapError::InvalidAmount("beyond 12 digits"))
        };
        let n3 =
            |v| numeric_code_n3(v).ok_or(TapError::Configuration("currency or country above 999"));
        let date = hex::decode(Day::beijing(now).yymmdd())
            .ok()
            .and_then(|d| d.try_into().ok())
            .ok_or(TapError::Configuration("transaction date"))?;
        let load = transaction_type == TransactionType::Load;
        let mut ttq = self.ttq(amount);
        if load {
            ttq[1] |= 0x80;
        }
        Ok(TerminalData {
            ttq,
            amount: n12(amount)?,
            amount_other: [0; 6],
            country: n3(c.country)?,
            tvr: [0; 5],
            currency: n3(c.currency)?,
            date,
            transaction_type: transaction_type.code(),
            un: random::bytes::<4>().map_err(|_| TapError::Random)?,
            ecash_indicator: u8::from(c.ecash && amount <= c.floor_limit && !load),
            terminal_type: c.terminal_type,
        })
    }

    async fn run<C: ContactlessCard + ?Sized>(
        &mut self,
        card: &mut C,
        amount: u64,
        transaction_type: TransactionType,
        now: u64,
        trace: &mut Trace,
        known_pan: &mut Option<String>,
    ) -> Result<Transaction, TapError> {
        if amount == 0 {
            return Err(TapError::InvalidAmount("zero"));
        }
        if amount > self.config.contactless_limit {
            return Err(TapError::AboveContactlessLimit {
                amount,
                limit: self.config.contactless_limit,
            });
        }
        let terminal = self.terminal_data(amount, transaction_type, now)?;
        self.resolved.clear();
        if let (Some(link), Some(journal)) = (&self.acquirer, &self.journal) {
            let done = online::resolve_purchases(link, journal).await?;
            self.resolved.extend(done);
        }
        let read = {
            let mut session = Session {
                card: &mut *card,
                trace: &mut *trace,
            };
            kernel::read_card(&mut session, &self.config, &terminal, amount)?
        };
        *known_pan = Some(read.pan.clone());
        if let (Some(link), Some(journal)) = (&self.acquirer, &self.journal) {
            let done = online::resolve_loads(link, journal, card, trace, &read).await?;
            self.resolved.extend(done);
        }
        let mut transaction = Transaction {
            decision: Decision::Declined(DeclineReason::CardDeclined),
            aid: read.aid.clone(),
            amount,
            transaction_type,
            masked_pan: mask_pan(&read.pan),
            atc: read.atc,
            cryptogram_type: CryptogramType::Aac,
            cvm: cvm_of(read.ctq.as_deref()),
            fdda_verified: false,
            available_offline: read.available_offline,
            card_data: self.card_data(&read, &terminal, amount),
            authorization: None,
            issuer_authentication: None,
            ecash_load: read.ecash.map(|(balance_before, balance_limit)| EcashLoad {
                balance_before,
                balance_limit,
                script: ScriptResult::NotSent,
                balance_after: None,
                reversal: None,
            }),
        };
        match read.cid & 0xC0 {
            CID_AAC => Ok(transaction),
            CID_TC => {
                transaction.cryptogram_type = CryptogramType::Tc;
                transaction.decision = self.offline_decision(&read, &terminal);
                if transaction.decision == Decision::ApprovedOffline {
                    transaction.fdda_verified = true;
                    self.queue_advice(&transaction)?;
                }
                Ok(transaction)
            }
            CID_ARQC => {
                transaction.cryptogram_type = CryptogramType::Arqc;
                self.go_online(card, trace, transaction).await
            }
            _ => Err(TapError::Malformed {
                command: "GET PROCESSING OPTIONS",
                what: "reserved cryptogram type",
            }),
        }
    }

    /// The card data for the acquirer.
    fn card_data(&self, read: &CardRead, t: &TerminalData, amount: u64) -> IccTransaction {
        IccTransaction {
            pan: read.pan.clone(),
            pan_sequence: read.psn,
            aid: hex::encode_upper(&read.aid),
            amount_authorised: amount,
            amount_other: 0,
            terminal_country: self.config.country,
            currency: self.config.currency,
            transaction_date: hex::encode(t.date),
            transaction_type: hex::encode_upper([t.transaction_type]),
            tvr: hex::encode_upper(t.tvr),
            unpredictable_number: hex::encode_upper(t.un),
            ttq: hex::encode_upper(t.ttq),
            aip: hex::encode_upper(read.aip),
            atc: read.atc,
            iad: hex::encode_upper(&read.iad),
            cryptogram: hex::encode_upper(read.cryptogram),
            cid: hex::encode_upper([read.cid]),
            ctq: read.ctq.as_ref().map(hex::encode_upper),
        }
    }

    /// Whether an offline TC is acceptable: allowed by the terminal, and fDDA verifies.
    fn offline_decision(&self, read: &CardRead, t: &TerminalData) -> Decision {
        if t.ttq[1] & 0x80 != 0 || t.ecash_indicator != 0x01 {
            return Decision::Declined(DeclineReason::OfflineNotAllowed);
        }
        let input = fdda::FddaInput {
            aid: &read.aid,
            records: &read.records,
            aip: read.aip,
            sdad: read.sdad.as_deref(),
            pan: &read.pan,
            date: t.date,
            terminal: TerminalDynamicData {
                unpredictable_number: t.un,
                amount: t.amount,
                currency: t.currency,
            },
            atc: read.atc,
            cid: read.cid,
            cryptogram: read.cryptogram,
        };
        match fdda::verify(&input, &self.config.trusted_cas) {
            Ok(()) => Decision::ApprovedOffline,
            Err(err) => Decision::Declined(DeclineReason::OfflineDataAuthentication(err)),
        }
    }

    /// Online authorisation, then issuer authentication if configured.
    async fn go_online<C: ContactlessCard + ?Sized>(
        &self,
        card: &mut C,
        trace: &mut Trace,
        mut transaction: Transaction,
    ) -> Result<Transaction, TapError> {
        let link = self.acquirer.as_ref().ok_or(TapError::NoAcquirer)?;
        let request = AuthorizationRequest {
            terminal_id: self.config.terminal_id.clone(),
            merchant_id: self.config.merchant_id.clone(),
            terminal_type: hex::encode_upper([self.config.terminal_type]),
            transaction: transaction.card_data.clone(),
            ecash_load: transaction.ecash_load.as_ref().map(|l| EcashLoadRequest {
                ecash_balance: l.balance_before,
                balance_limit: l.balance_limit,
            }),
        };
        let key = IdempotencyKey::generate().map_err(|_| TapError::Random)?;
        let journal = self.journal.as_ref();
        let mut entry = online::journal_entry(
            &self.config,
            &transaction.card_data,
            transaction.ecash_load.as_ref(),
            &key,
        );
        online::journal_before(journal, &entry)?;
        let response = match link.authorize(&request, &key).await {
            Ok(response) => response,
            Err(err) => {
                // Approved or not, nobody will know: undo whatever the issuer may have done.
                online::reverse_and_settle(link, journal, &entry, ReversalReason::Timeout).await;
                return Err(TapError::Online(err));
            }
        };
        entry.authorization_id = Some(response.authorization_id.clone());
        let final_now = !(response.approved && transaction.ecash_load.is_some());
        online::journal_after(journal, &entry, final_now);
        transaction.decision = if response.approved {
            Decision::ApprovedOnline
        } else {
            Decision::Declined(DeclineReason::Issuer {
                code: response.response_code.clone(),
                message: response.message.clone(),
            })
        };
        let load = transaction.ecash_load.is_some();
        if self.config.issuer_authentication || load {
            let arc = response.response_code.arc();
            let arpc = response.arpc.as_deref().and_then(|a| hex::decode(a).ok());
            if let (Some(arc), Some(arpc)) = (arc, arpc) {
                transaction.issuer_authentication =
                    Some(issuer_authentication(card, trace, &arpc, arc));
            }
        }
        if let Some(ecash) = transaction.ecash_load.as_mut() {
            if response.approved {
                ecash.script = apply_script(card, trace, response.issuer_script.as_deref());
                let mut session = Session { card, trace };
                ecash.balance_after = kernel::get_amount(&mut session, 0x9F79).ok();
                match online::load_reversal_reason(ecash, transaction.amount) {
                    None => online::journal_after(journal, &entry, true),
                    Some(reason) => {
                        transaction.decision = Decision::Declined(DeclineReason::LoadNotApplied);
                        let key = IdempotencyKey::generate().map_err(|_| TapError::Random)?;
                        let card_data = &transaction.card_data;
                        let reversal = link
                            .reverse_load(&self.config, card_data, &response, reason, key)
                            .await;
                        // Answered (reversed, or nothing to reverse): final. Else kept.
                        online::journal_after(journal, &entry, reversal.result.is_ok());
                        ecash.reversal = Some(reversal);
                    }
                }
            }
        }
        transaction.authorization = Some(response);
        Ok(transaction)
    }
}

/// The CVM the card asked for in its CTQ.
fn cvm_of(ctq: Option<&[u8]>) -> Cvm {
    match ctq {
        Some(&[b1, b2, ..]) if b2 & 0x80 != 0 && b1 & 0x80 == 0 => Cvm::ConsumerDevice,
        Some(&[b1, ..]) if b1 & 0x80 != 0 => Cvm::OnlinePin,
        Some(&[b1, ..]) if b1 & 0x40 != 0 => Cvm::Signature,
        _ => Cvm::NoCvm,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttq_follows_limits_and_online_capability() {
        let online = Terminal::new(
            TerminalConfig::default(),
            Some(AcquirerLink::new("http://127.0.0.1:9").unwrap()),
        );
        assert_eq!(online.ttq(100), [0x26, 0x00, 0x40, 0x80]);
        assert_eq!(online.ttq(50_001), [0x26, 0x80, 0x40, 0x80]);
        assert_eq!(online.ttq(100_001), [0x26, 0xC0, 0x40, 0x80]);
        let offline = Terminal::new(TerminalConfig::default(), None);
        assert_eq!(offline.ttq(100), [0x2E, 0x00, 0x40, 0x80]);
    }

    #[test]
    fn cvm_from_ctq() {
        assert_eq!(cvm_of(None), Cvm::NoCvm);
        assert_eq!(cvm_of(Some(&[0x20, 0x00])), Cvm::NoCvm);
        assert_eq!(cvm_of(Some(&[0xA0, 0x00])), Cvm::OnlinePin);
        assert_eq!(cvm_of(Some(&[0x20, 0x80])), Cvm::ConsumerDevice);
        assert_eq!(cvm_of(Some(&[0x40])), Cvm::Signature);
    }
}
