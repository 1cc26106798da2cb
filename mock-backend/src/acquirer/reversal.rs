//! Reversals at the acquirer (`POST /acquirer/v1/reversals`): a terminal undoes an
//! authorisation it had approved online but could not complete on the card.
//!
//! In order: the request's shape (terminal id, merchant id, original id non-empty, amount above
//! zero) → `400 BAD_REQUEST`; the original is an approved online authorisation recorded in
//! clearing (the acquirer's record of what it approved) → else
//! [`ReversalStatus::UnknownAuthorization`]; same terminal, merchant, amount and currency →
//! else [`ReversalStatus::Mismatch`]; then the issuer credits the account back once
//! ([`crate::issuer::Issuer::reverse`]) and clearing records the correction entry
//! ([`crate::clearing::Clearing::record_reversal`]). A reversal the issuer had already done
//! answers [`ReversalStatus::AlreadyReversed`] and moves nothing (the clearing entry is
//! recorded again if it was missing: recording is idempotent).
//!
//! A reversal naming the original by its idempotency key only (empty authorisation id, see
//! [`wallet_core::backend::api::acquiring::ReversalRequest::original_idempotency_key`]) first
//! resolves the key ([`super::references`]): an authorisation made with it is reversed as above;
//! a key no authorisation came with is closed and answered
//! [`ReversalStatus::UnknownAuthorization`] (nothing was debited, and nothing will be).

use super::references::{self, Reference, References};
use super::validate_acceptor;
use crate::clearing::ClearingChannel;
use crate::error::ApiError;
use crate::issuer::IssuerReversal;
use crate::state::AppState;
use wallet_core::backend::api::acquiring::{
    reversal_id_of, ReversalRequest, ReversalResponse, ReversalStatus,
};

/// Longest accepted authorisation id, in bytes.
const MAX_ID_LEN: usize = 64;

/// Handles a reversal (see the [module](self)).
pub fn reverse(
    world: &AppState,
    request: &ReversalRequest,
    now: u64,
) -> Result<ReversalResponse, ApiError> {
    validate_acceptor(&request.terminal_id, &request.merchant_id)?;
    let by_key = request
        .original_idempotency_key
        .as_deref()
        .filter(|_| request.original_authorization_id.is_empty());
    if let Some(key) = by_key {
        if key.is_empty() || key.len() > crate::idempotency::MAX_KEY_LEN {
            return Err(ApiError::BadRequest(format!(
                "original_idempotency_key must be 1 to {} bytes",
                crate::idempotency::MAX_KEY_LEN
            )));
        }
    } else if request.original_authorization_id.is_empty()
        || request.original_authorization_id.len() > MAX_ID_LEN
    {
        return Err(ApiError::BadRequest(format!(
            "original_authorization_id must be 1 to {MAX_ID_LEN} bytes"
        )));
    }
    if request.amount == 0 {
        return Err(ApiError::BadRequest("amount must be above zero".into()));
    }
    let _order = by_key.map(|_| references::serialise());
    let original = match by_key {
        None => request.original_authorization_id.clone(),
        Some(key) => match References::open(world.store())?.close(&request.terminal_id, key)? {
            Reference::Authorized { authorization_id } => authorization_id,
            Reference::Closed => String::new(),
        },
    };
    let original = &original;
    let answer = |status, message: &str| ReversalResponse {
        status,
        message: message.to_owned(),
        original_authorization_id: original.clone(),
        reversal_id: None,
        amount_credited: 0,
        clearing_date: None,
    };
    if original.is_empty() {
        return Ok(answer(
            ReversalStatus::UnknownAuthorization,
            "no authorisation arrived with this idempotency key: nothing was debited, and a \
             later one with it will be declined",
        ));
    }
    let entry = world
        .clearing()
        .entry(original)?
        .filter(|e| e.channel == ClearingChannel::PosOnline);
    let Some(entry) = entry else {
        return Ok(answer(
            ReversalStatus::UnknownAuthorization,
            "no approved online authorisation with this id",
        ));
    };
    let same = entry.terminal_id == request.terminal_id
        && entry.merchant_id == request.merchant_id
        && entry.amount == request.amount
        && entry.currency == request.currency;
    if !same {
        return Ok(answer(
            ReversalStatus::Mismatch,
            "terminal, merchant, amount or currency differ from the original",
        ));
    }
    let reversal_id = reversal_id_of(original);
    let decision = world
        .issuer()
        .reverse(world, original, request.amount, &reversal_id, now)?;
    let (status, message, credited) = match decision {
        IssuerReversal::Reversed(_) => (
            ReversalStatus::Reversed,
            "reversed: the account is credited back",
            request.amount,
        ),
        IssuerReversal::AlreadyReversed(_) => (
            ReversalStatus::AlreadyReversed,
            "already reversed: nothing more was done",
            0,
        ),
        IssuerReversal::Unknown => {
            return Ok(answer(
                ReversalStatus::UnknownAuthorization,
                "the issuer holds no debit for this authorisation",
            ))
        }
        IssuerReversal::Mismatch => {
            return Ok(answer(
                ReversalStatus::Mismatch,
                "the amount differs from the issuer's debit",
            ))
        }
    };
    let clearing_date = world.clearing().record_reversal(original, now)?;
    tracing::info!(%reversal_id, ?status, "reversal");
    Ok(ReversalResponse {
        reversal_id: Some(reversal_id),
        amount_credited: credited,
        clearing_date,
        ..answer(status, message)
    })
}
