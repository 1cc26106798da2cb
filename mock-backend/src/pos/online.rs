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

use super::card::CardIoError;
use super::outcome::{EcashLoad, LoadReversal, ScriptResult};
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
