//! The terminal's link to the acquirer: the acquiring wire API over HTTP, with the core's
//! back-end client (reqwest, timeouts, retries of idempotent requests with the same key).
//!
//! Load reversal ([`load_reversal_reason`], [`AcquirerLink::reverse_load`]): after an approved
//! e-cash load, the terminal reverses the authorisation unless the card applied the script —
//! the script answered `9000`, or, when its answer was lost, GET DATA `9F79` reads exactly the
//! new balance (the card applied it; reversing then would give the money twice). Otherwise the
//! reason is the script's fate: refused ([`ReversalReason::ScriptRejected`]), none sent
//! ([`ReversalReason::ScriptMissing`]), card gone ([`ReversalReason::CardRemoved`]) or no answer
//! ([`ReversalReason::NoScriptResult`]).
//!
//! With a [`ReversalJournal`] ([`super::Terminal::with_journal`]) every online authorisation is
//! journaled before its request leaves and crossed out when its outcome is final; the journal's
//! open entries are resolved like this:
//! - **no answer** to the authorisation (network failure, timeout): reversed at once, by the
//!   request's idempotency key ([`ReversalReason::Timeout`]; the acquirer answers
//!   `unknown_authorization` when the request never arrived — nothing was debited — and
//!   declines it should it arrive later). Without a journal the terminal does the same, but
//!   cannot try again after a restart.
//! - **at the next start** ([`super::Terminal::tap`] resolves first): a purchase still open is
//!   reversed (the customer never saw it approved); a load still open waits for its card — when
//!   that card is next read, its balance `9F79` decides: the balance before plus the amount →
//!   the card has the load, nothing to undo; the balance before → reversed (by authorisation id
//!   if known, else by idempotency key); any other balance → left open (and reported).
//! - an entry is crossed out once the acquirer answered the reversal (reversed now or before,
//!   nothing debited, or a mismatch no retry can change); a reversal that did not get through
//!   stays in the journal for the next start.

use super::card::{CardIoError, ContactlessCard, Session};
use super::journal::{card_identity, JournalEntry, JournalKind, ReversalJournal};
use super::kernel::{self, CardRead};
use super::outcome::{EcashLoad, LoadReversal, ScriptResult, TapError};
use super::trace::Trace;
use super::TerminalConfig;
use std::time::Duration;
use wallet_core::backend::api::acquiring::{
    AuthorizationRequest, AuthorizationResponse, IccTransaction, OfflineAdviceRequest,
    OfflineAdviceResponse, ReversalReason, ReversalRequest, ReversalResponse, PATH_AUTHORIZATIONS,
    PATH_OFFLINE_ADVICES, PATH_REVERSALS,
};
use wallet_core::backend::client::IdempotencyKey;
use wallet_core::backend::{BackendClient, BackendError, ClientConfig};

/// HTTP client of the acquirer's API. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AcquirerLink {
    client: BackendClient,
}

impl AcquirerLink {
    /// A link to the acquirer at `base_url` (e.g. the mock world's URL): 5 s per request, two
    /// retries with the same idempotency key.
    pub fn new(base_url: &str) -> Result<AcquirerLink, BackendError> {
        let mut config = ClientConfig::new(base_url);
        config.request_timeout = Duration::from_secs(5);
        Ok(AcquirerLink {
            client: BackendClient::new(config)?,
        })
    }

    /// A link over an existing client.
    pub fn with_client(client: BackendClient) -> AcquirerLink {
        AcquirerLink { client }
    }

    /// `POST /acquirer/v1/authorizations`.
    pub async fn authorize(
        &self,
        request: &AuthorizationRequest,
        key: &IdempotencyKey,
    ) -> Result<AuthorizationResponse, BackendError> {
        self.client.post(PATH_AUTHORIZATIONS, request, key).await
    }

    /// `POST /acquirer/v1/offline-advices`.
    pub async fn advise(
        &self,
        request: &OfflineAdviceRequest,
        key: &IdempotencyKey,
    ) -> Result<OfflineAdviceResponse, BackendError> {
        self.client.post(PATH_OFFLINE_ADVICES, request, key).await
    }

    /// `POST /acquirer/v1/reversals`.
    pub async fn reverse(
        &self,
        request: &ReversalRequest,
        key: &IdempotencyKey,
    ) -> Result<ReversalResponse, BackendError> {
        self.client.post(PATH_REVERSALS, request, key).await
    }

    /// Reverses the approved load `authorization` of `card_data` for `reason` with the fresh
    /// idempotency key `key` (kept in the answer for a later retry).
    pub async fn reverse_load(
        &self,
        config: &TerminalConfig,
        card_data: &IccTransaction,
        authorization: &AuthorizationResponse,
        reason: ReversalReason,
        key: IdempotencyKey,
    ) -> LoadReversal {
        let request = ReversalRequest {
            terminal_id: config.terminal_id.clone(),
            merchant_id: config.merchant_id.clone(),
            original_authorization_id: authorization.authorization_id.clone(),
            original_idempotency_key: None,
            amount: card_data.amount_authorised,
            currency: card_data.currency,
            reason,
        };
        let result = self.reverse(&request, &key).await;
        match &result {
            Ok(answer) => tracing::info!(status = ?answer.status, ?reason, "load reversed"),
            Err(err) => tracing::warn!(%err, ?reason, "load reversal did not get through"),
        }
        LoadReversal {
            request,
            key,
            result,
        }
    }

    /// Reverses the authorisation of a journal `entry` for `reason`: by its authorisation id if
    /// the answer arrived, else by the idempotency key it was sent with.
    pub async fn reverse_entry(
        &self,
        entry: &JournalEntry,
        reason: ReversalReason,
    ) -> Result<ReversalResponse, BackendError> {
        let request = ReversalRequest {
            terminal_id: entry.terminal_id.clone(),
            merchant_id: entry.merchant_id.clone(),
            original_authorization_id: entry.authorization_id.clone().unwrap_or_default(),
            original_idempotency_key: Some(entry.idempotency_key.clone()),
            amount: entry.amount,
            currency: entry.currency,
            reason,
        };
        let key = IdempotencyKey::generate()
            .map_err(|e| BackendError::Protocol(format!("no idempotency key: {e}")))?;
        self.reverse(&request, &key).await
    }
}

/// What became of an open journal entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// The card holds the load: nothing to undo.
    Applied,
    /// The acquirer answered the reversal: reversed (now or before), nothing was debited, or a
    /// mismatch no retry can change.
    Reversed(ReversalResponse),
    /// Still open (kept in the journal): why.
    Open(String),
}

/// An open journal entry and what became of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The entry.
    pub entry: JournalEntry,
    /// Its fate.
    pub resolution: Resolution,
}

/// The journal entry of an online authorisation about to be sent with `key`.
pub(super) fn journal_entry(
    config: &TerminalConfig,
    card_data: &IccTransaction,
    load: Option<&EcashLoad>,
    key: &IdempotencyKey,
) -> JournalEntry {
    JournalEntry {
        idempotency_key: key.as_str().to_owned(),
        authorization_id: None,
        terminal_id: config.terminal_id.clone(),
        merchant_id: config.merchant_id.clone(),
        card: card_identity(&card_data.pan, card_data.pan_sequence),
        amount: card_data.amount_authorised,
        currency: card_data.currency,
        kind: match load {
            Some(load) => JournalKind::Load {
                balance_before: load.balance_before,
            },
            None => JournalKind::Purchase,
        },
    }
}

/// Writes `entry` before its request leaves: a terminal that cannot journal does not go online.
pub(super) fn journal_before(
    journal: Option<&ReversalJournal>,
    entry: &JournalEntry,
) -> Result<(), TapError> {
    match journal {
        Some(journal) => journal
            .write(entry)
            .map_err(|e| TapError::Journal(e.to_string())),
        None => Ok(()),
    }
}

/// Updates or crosses out `entry` after the request left (a failure is logged: the entry
/// stays and is resolved at the next start).
pub(super) fn journal_after(journal: Option<&ReversalJournal>, entry: &JournalEntry, done: bool) {
    let Some(journal) = journal else { return };
    let result = if done {
        journal.clear(&entry.idempotency_key)
    } else {
        journal.write(entry)
    };
    if let Err(err) = result {
        tracing::warn!(%err, "the reversal journal could not be updated");
    }
}

/// Reverses `entry` for `reason`; crosses it out once the acquirer answered.
pub(super) async fn reverse_and_settle(
    link: &AcquirerLink,
    journal: Option<&ReversalJournal>,
    entry: &JournalEntry,
    reason: ReversalReason,
) -> Resolution {
    match link.reverse_entry(entry, reason).await {
        Ok(answer) => {
            tracing::info!(status = ?answer.status, ?reason, "journaled authorisation reversed");
            journal_after(journal, entry, true);
            Resolution::Reversed(answer)
        }
        Err(err) => {
            tracing::warn!(%err, ?reason, "reversal did not get through: kept in the journal");
            Resolution::Open(format!("the reversal did not get through: {err}"))
        }
    }
}

/// Resolves the open purchases of `journal` (no card needed: they are reversed).
pub(super) async fn resolve_purchases(
    link: &AcquirerLink,
    journal: &ReversalJournal,
) -> Result<Vec<Resolved>, TapError> {
    let open = journal
        .pending()
        .map_err(|e| TapError::Journal(e.to_string()))?;
    let mut resolved = Vec::new();
    for entry in open.into_iter().filter(|e| e.kind == JournalKind::Purchase) {
        let resolution =
            reverse_and_settle(link, Some(journal), &entry, ReversalReason::Timeout).await;
        resolved.push(Resolved { entry, resolution });
    }
    Ok(resolved)
}

/// Resolves the open loads of `journal` onto the card just `read` (its balance decides, see
/// the [module](self)).
pub(super) async fn resolve_loads<C: ContactlessCard + ?Sized>(
    link: &AcquirerLink,
    journal: &ReversalJournal,
    card: &mut C,
    trace: &mut Trace,
    read: &CardRead,
) -> Result<Vec<Resolved>, TapError> {
    let identity = card_identity(&read.pan, read.psn);
    let open: Vec<JournalEntry> = journal
        .pending()
        .map_err(|e| TapError::Journal(e.to_string()))?
        .into_iter()
        .filter(|e| e.card == identity && matches!(e.kind, JournalKind::Load { .. }))
        .collect();
    if open.is_empty() {
        return Ok(Vec::new());
    }
    let balance = match read.ecash {
        Some((balance, _)) => balance,
        None => kernel::get_amount(&mut Session { card, trace }, 0x9F79)?,
    };
    let mut resolved = Vec::new();
    for entry in open {
        let JournalKind::Load { balance_before } = entry.kind else {
            continue;
        };
        let resolution = if Some(balance) == balance_before.checked_add(entry.amount) {
            journal_after(Some(journal), &entry, true);
            Resolution::Applied
        } else if balance == balance_before {
            reverse_and_settle(link, Some(journal), &entry, ReversalReason::NoScriptResult).await
        } else {
            tracing::warn!(
                balance,
                balance_before,
                "a journaled load cannot be decided"
            );
            Resolution::Open(format!(
                "the card holds {balance}, neither {balance_before} nor that plus the load"
            ))
        };
        resolved.push(Resolved { entry, resolution });
    }
    Ok(resolved)
}

/// Why an approved load of `amount` fen must be reversed, or `None` when the card applied the
/// script (see the [module](self)).
pub fn load_reversal_reason(load: &EcashLoad, amount: u64) -> Option<ReversalReason> {
    let expected = load.balance_before.checked_add(amount);
    match &load.script {
        ScriptResult::Applied => None,
        _ if load.balance_after.is_some() && load.balance_after == expected => None,
        ScriptResult::Rejected(_) => Some(ReversalReason::ScriptRejected),
        ScriptResult::NotSent => Some(ReversalReason::ScriptMissing),
        ScriptResult::CardUnavailable(CardIoError::Lost) => Some(ReversalReason::CardRemoved),
        ScriptResult::CardUnavailable(CardIoError::Transport(_)) => {
            Some(ReversalReason::NoScriptResult)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wallet_core::apdu::StatusWord;

    fn load(script: ScriptResult, balance_after: Option<u64>) -> EcashLoad {
        EcashLoad {
            balance_before: 1_000,
            balance_limit: 100_000,
            script,
            balance_after,
            reversal: None,
        }
    }

    #[test]
    fn reverses_unless_the_card_holds_the_new_balance() {
        let lost = ScriptResult::CardUnavailable(CardIoError::Lost);
        let cases = [
            (load(ScriptResult::Applied, Some(1_500)), None),
            (
                load(ScriptResult::Rejected(StatusWord(0x6988)), Some(1_000)),
                Some(ReversalReason::ScriptRejected),
            ),
            (
                load(ScriptResult::NotSent, Some(1_000)),
                Some(ReversalReason::ScriptMissing),
            ),
            (load(lost.clone(), None), Some(ReversalReason::CardRemoved)),
            // The answer was lost but the card reads the new balance: it applied the script.
            (load(lost, Some(1_500)), None),
            (
                load(
                    ScriptResult::CardUnavailable(CardIoError::Transport("timeout".into())),
                    Some(1_000),
                ),
                Some(ReversalReason::NoScriptResult),
            ),
        ];
        for (load, reason) in cases {
            assert_eq!(load_reversal_reason(&load, 500), reason, "{load:?}");
        }
    }
}
