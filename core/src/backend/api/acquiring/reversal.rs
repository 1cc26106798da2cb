//! Wire types of reversals: a terminal undoes an online authorisation the issuer approved but
//! the transaction did not complete on the card (an e-cash load whose issuer script the card
//! refused, a card that left the field before the script, a script result the terminal never
//! received).
//!
//! `POST {PATH_REVERSALS}` [`ReversalRequest`] (with an `Idempotency-Key`) → `200`
//! [`ReversalResponse`]. A reversal names the original authorisation; the issuer credits back
//! the original debit exactly once and clearing records a correction entry
//! ([`super::super::clearing::ClearingChannel::Reversal`]) whose id is [`reversal_id_of`] the
//! original. Reversing again answers [`ReversalStatus::AlreadyReversed`] and moves no money;
//! an authorisation the acquirer never approved answers [`ReversalStatus::UnknownAuthorization`].
//!
//! **Reversal of an unanswered authorisation.** A terminal that never received the answer to an
//! authorisation (timeout, connection lost, the terminal restarted) does not know its
//! authorisation id. It names the original by the `Idempotency-Key` it sent the authorisation
//! with instead: [`ReversalRequest::original_idempotency_key`], with
//! [`ReversalRequest::original_authorization_id`] empty (or absent on the wire). The acquirer
//! keeps, per terminal, which authorisation each key produced. If the key is unknown — the
//! authorisation never arrived, so nothing was debited — the answer is
//! [`ReversalStatus::UnknownAuthorization`] and the key is *closed*: an authorisation arriving
//! later with that key (a request delayed in the network) is declined (`12`) without reaching the
//! issuer. Both fields are optional on the wire: a request with only an authorisation id is the
//! original contract, unchanged.

use serde::{Deserialize, Serialize};

/// Path of the reversal endpoint.
pub const PATH_REVERSALS: &str = "/acquirer/v1/reversals";

/// Prefix of a reversal's identifier ([`reversal_id_of`]).
pub const REVERSAL_ID_PREFIX: &str = "rev_";

/// The identifier of the (single, full) reversal of authorisation `authorization_id`:
/// `rev_` followed by the authorisation id. One authorisation has at most one reversal, so the
/// identifier links the clearing correction entry to the entry it corrects.
pub fn reversal_id_of(authorization_id: &str) -> String {
    format!("{REVERSAL_ID_PREFIX}{authorization_id}")
}

/// Why the terminal reverses an approved authorisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReversalReason {
    /// The card refused the issuer script (e.g. `6988`, wrong script MAC).
    ScriptRejected,
    /// The issuer approved a load but sent no usable script.
    ScriptMissing,
    /// The card left the field before it answered.
    CardRemoved,
    /// The terminal never received the card's answer to the script (transport failure), or,
    /// resolving its journal after a restart, found the card without the load.
    NoScriptResult,
    /// The terminal never received the authorisation's answer (timeout, connection lost,
    /// terminal restarted): it does not know whether the issuer approved.
    Timeout,
}

/// A reversal request from a POS terminal (ISO 8583 `0400` in JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReversalRequest {
    /// Terminal identification (`9F1C`) of the original authorisation.
    pub terminal_id: String,
    /// Merchant identifier (`9F16`) of the original authorisation.
    pub merchant_id: String,
    /// The acquirer's identifier of the authorisation to reverse
    /// ([`super::AuthorizationResponse::authorization_id`]); empty when the terminal never got
    /// the answer and names the original by [`ReversalRequest::original_idempotency_key`].
    #[serde(default)]
    pub original_authorization_id: String,
    /// The `Idempotency-Key` the original authorisation was sent with (same terminal): names
    /// the original when its answer never arrived (see the [module](self)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_idempotency_key: Option<String>,
    /// The original amount, minor units (reversals are always full).
    pub amount: u64,
    /// The original currency, ISO 4217 numeric.
    pub currency: u16,
    /// Why.
    pub reason: ReversalReason,
}

/// What became of a reversal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReversalStatus {
    /// The account was credited back now and clearing recorded the correction.
    Reversed,
    /// The authorisation was reversed before: nothing more happened.
    AlreadyReversed,
    /// No approved online authorisation with this id from this acquirer.
    UnknownAuthorization,
    /// The request does not match the original (terminal, merchant, amount or currency):
    /// nothing happened.
    Mismatch,
}

/// The answer to a [`ReversalRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReversalResponse {
    /// What happened.
    pub status: ReversalStatus,
    /// Human-readable reason (English).
    pub message: String,
    /// The authorisation named by the request.
    pub original_authorization_id: String,
    /// The reversal's identifier ([`reversal_id_of`]), once it is (or was) reversed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reversal_id: Option<String>,
    /// The amount credited back to the account, minor units (`0` unless reversed now).
    pub amount_credited: u64,
    /// The clearing day the correction entry is in, once reversed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clearing_date: Option<String>,
}

impl ReversalResponse {
    /// Whether the authorisation is reversed (now or before): the money is back.
    pub fn is_reversed(&self) -> bool {
        matches!(
            self.status,
            ReversalStatus::Reversed | ReversalStatus::AlreadyReversed
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_shape_is_snake_case() {
        let request = ReversalRequest {
            terminal_id: "POS00001".into(),
            merchant_id: "898310058120001".into(),
            original_authorization_id: "auth_1".into(),
            original_idempotency_key: None,
            amount: 5_000,
            currency: 156,
            reason: ReversalReason::ScriptRejected,
        };
        let json = serde_json::to_value(&request).unwrap();
        assert_eq!(json["reason"], "script_rejected");
        let back: ReversalRequest = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(back, request);
        assert!(json.get("original_idempotency_key").is_none(), "{json}");
        // Named by the original's idempotency key only: the id may be absent on the wire.
        let by_key: ReversalRequest = serde_json::from_value(serde_json::json!({
            "terminal_id": "POS00001", "merchant_id": "898310058120001",
            "original_idempotency_key": "k-1", "amount": 5_000, "currency": 156,
            "reason": "no_script_result"
        }))
        .unwrap();
        assert_eq!(by_key.original_authorization_id, "");
        assert_eq!(by_key.original_idempotency_key.as_deref(), Some("k-1"));
        let answer: ReversalResponse = serde_json::from_str(
            r#"{"status":"already_reversed","message":"m","original_authorization_id":"auth_1",
                "reversal_id":"rev_auth_1","amount_credited":0}"#,
        )
        .unwrap();
        assert!(answer.is_reversed());
        assert_eq!(answer.clearing_date, None);
        assert_eq!(reversal_id_of("auth_1"), "rev_auth_1");
    }
}
