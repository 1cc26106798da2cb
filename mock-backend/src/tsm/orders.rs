//! The order API: `POST /tsm/v1/orders` admits a signed order and opens its SERAM session;
//! `GET /tsm/v1/orders/{order_id}` tells how it is going.
//!
//! Checks, in order: request shape (`BAD_REQUEST`); binding known (`BINDING_NOT_FOUND`);
//! signature by the binding's registered device key over
//! [`wallet_core::backend::api::tsm::order_signing_message`] (`SIGNATURE_INVALID`);
//! timestamp within ±300 s of the mock clock and nonce never seen for the binding (`REPLAY`,
//! the nonce is remembered once signature and timestamp pass); binding active
//! (`BINDING_REVOKED`); SE of a known type with a KDD `seId` (`UNKNOWN_SE`); the card's state
//! in the TSM's records (`CARD_EXISTS`, `CARD_NOT_FOUND`, `INVALID_STATE`); the e-cash load
//! within the card's limit and the account's balance (`ECASH_LOAD_REFUSED`); the topology's
//! route (`ROUTE_REFUSED`). A new order for an SE supersedes any session still running for
//! it (that order fails with `SUPERSEDED`).

use wallet_core::backend::api::tsm::{
    failures, CardOperation, CardOrderRequest, OrderAccepted, OrderFailure, OrderState,
    OrderStatus, ORDER_WINDOW_SECS, PATH_TSM_SERAM,
};
use wallet_core::card::aids;
use wallet_core::crypto::{ecdsa, random};

use super::bank_link::BoundAccount;
use super::error::TsmError;
use super::job::{Finish, Job};
use super::perso::{expiry_for, issue_device_pan, ECASH_BALANCE_LIMIT};
use super::records::{CardRecord, CardState, OrderRecord};
use super::se_issuer::{self, SeContext};
use super::session::Session;
use super::topology;
use super::Tsm;
use crate::bank::MAX_FIELD_CHARS;

/// Longest accepted nonce, in hex digits.
pub const MAX_NONCE_HEX: usize = 64;

/// Admits `request` (see the [module documentation](self)).
pub async fn create(
    tsm: &Tsm,
    request: &CardOrderRequest,
    now: u64,
) -> Result<OrderAccepted, TsmError> {
    check_shape(request)?;
    let bound = tsm.bank().bound_account(request.binding_id.trim())?;
    let signature = hex::decode(&request.signature)
        .map_err(|_| TsmError::BadRequest("signature must be hex (ASN.1 DER)".into()))?;
    ecdsa::verify_p256(
        &bound.device_public_key,
        &request.signing_message(),
        &signature,
    )
    .map_err(|_| TsmError::SignatureInvalid)?;
    if now.abs_diff(request.timestamp) > ORDER_WINDOW_SECS {
        return Err(TsmError::Replay(format!(
            "timestamp {} is more than {ORDER_WINDOW_SECS} s from the TSM's time {now}",
            request.timestamp
        )));
    }
    if !tsm
        .records()
        .remember_nonce(&bound.record.binding_id, &request.nonce, now)?
    {
        return Err(TsmError::Replay(
            "nonce already used for this binding".into(),
        ));
    }
    if !bound.is_active() {
        return Err(TsmError::BindingRevoked);
    }
    let se = se_issuer::identify(&request.se)?;
    let instance_aid = hex::encode_upper(aids::for_account(bound.record.account_kind));
    let load = request.initial_ecash_load.unwrap_or(0);
    if request.operation == CardOperation::Open {
        check_load(tsm, &bound, load)?;
    }
    let route = topology::admit(
        tsm.topology(),
        tsm.mtps(),
        &bound.account.issuer_name,
        &instance_aid,
        &se,
        request.se.se_type_name(),
        now,
    )?;

    let _gate = tsm.order_gate.lock().await;
    purge_idle(tsm, now).await?;
    supersede(tsm, &se.se_id, now).await?;
    let order_id = random::hex_id(16)?;
    let session_id = session_id()?;
    {
        let _guard = tsm.records().lock();
        let card = prepare_card(tsm, request, &bound, &se, &instance_aid, now)?;
        tsm.records().put_card(&card)?;
        let record = OrderRecord {
            status: OrderStatus {
                order_id: order_id.clone(),
                operation: request.operation,
                status: OrderState::Pending,
                session_id: session_id.clone(),
                failure: None,
                card: None,
                route,
                seram_requests: 0,
                created_at: now,
                updated_at: now,
            },
            binding_id: bound.record.binding_id.clone(),
            se: request.se.clone(),
            initial_ecash_load: load,
        };
        tsm.records().put_order(&record)?;
    }
    let job = Job::new(request.operation, se.clone(), instance_aid);
    let session = Session::new(
        session_id.clone(),
        order_id.clone(),
        request.se.clone(),
        request.operation,
        job,
    );
    tsm.sessions().insert(&se.se_id, session);
    tracing::info!(%order_id, operation = request.operation.as_str(), se_id = %se.se_id, "TSM order accepted");
    Ok(OrderAccepted {
        order_id,
        operation: request.operation,
        session_id,
        ra_endpoint: PATH_TSM_SERAM.to_owned(),
        status: OrderState::Pending,
    })
}

fn check_shape(request: &CardOrderRequest) -> Result<(), TsmError> {
    let binding_id = request.binding_id.trim();
    if binding_id.is_empty() || binding_id.chars().count() > MAX_FIELD_CHARS {
        return Err(TsmError::BadRequest(format!(
            "binding_id must be 1 to {MAX_FIELD_CHARS} characters"
        )));
    }
    let nonce = &request.nonce;
    if nonce.is_empty()
        || nonce.len() > MAX_NONCE_HEX
        || !nonce.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return Err(TsmError::BadRequest(format!(
            "nonce must be 1 to {MAX_NONCE_HEX} hex digits"
        )));
    }
    if request.se.se_id.is_empty() || request.se.se_id.len() > MAX_FIELD_CHARS {
        return Err(TsmError::BadRequest("se.se_id must not be blank".into()));
    }
    if request.operation != CardOperation::Open && request.initial_ecash_load.is_some_and(|l| l > 0)
    {
        return Err(TsmError::BadRequest(
            "initial_ecash_load goes with open only".into(),
        ));
    }
    Ok(())
}

fn check_load(tsm: &Tsm, bound: &BoundAccount, load: u64) -> Result<(), TsmError> {
    if load > ECASH_BALANCE_LIMIT {
        return Err(TsmError::EcashLoadRefused(format!(
            "initial_ecash_load {load} exceeds the card's e-cash balance limit {ECASH_BALANCE_LIMIT}"
        )));
    }
    if !tsm.bank().can_fund(&bound.pan, load)? {
        return Err(TsmError::EcashLoadRefused(
            "the account cannot fund the e-cash load".into(),
        ));
    }
    Ok(())
}

/// The card record the order works on, after the state checks (records lock held).
fn prepare_card(
    tsm: &Tsm,
    request: &CardOrderRequest,
    bound: &BoundAccount,
    se: &SeContext,
    instance_aid: &str,
    now: u64,
) -> Result<CardRecord, TsmError> {
    let existing = tsm.records().card(&se.se_id, instance_aid)?;
    let binding_id = &bound.record.binding_id;
    let load = request.initial_ecash_load.unwrap_or(0);
    if request.operation != CardOperation::Open {
        let card = existing
            .filter(|c| &c.binding_id == binding_id && c.state != CardState::Absent)
            .ok_or_else(|| TsmError::CardNotFound("no card of this binding on this SE".into()))?;
        let allowed = match request.operation {
            CardOperation::Lock => card.state == CardState::Active,
            CardOperation::Unlock => card.state == CardState::Locked,
            CardOperation::Delete => true,
            CardOperation::Status | CardOperation::Open => card.state != CardState::Opening,
        };
        if !allowed {
            return Err(TsmError::InvalidState(format!(
                "cannot {} a card that is {:?}",
                request.operation.as_str(),
                card.state
            )));
        }
        return Ok(card);
    }
    match existing {
        Some(card) if matches!(card.state, CardState::Active | CardState::Locked) => Err(
            TsmError::CardExists(format!("the SE already holds card {instance_aid}")),
        ),
        // The same binding's unconfirmed opening: probe the SE for it, same card data.
        Some(card) if card.state == CardState::Opening && &card.binding_id == binding_id => {
            Ok(CardRecord {
                initial_load: load,
                ..card
            })
        }
        // A new opening (any leftover instance is deleted by the install script).
        _ => Ok(CardRecord {
            se_id: se.se_id.clone(),
            instance_aid: instance_aid.to_owned(),
            binding_id: binding_id.clone(),
            opening_id: random::hex_id(16)?,
            account_kind: bound.record.account_kind,
            device_pan: issue_device_pan()?,
            pan_sequence: 1,
            expiry: expiry_for(now),
            state: CardState::Absent,
            initial_load: load,
            ecash_balance: None,
            crypto: bound.se_card_crypto(),
            se_payment_key: None,
            ecash_refund: None,
        }),
    }
}

/// A session id shaped like the spec's example (a UUID from 16 random bytes).
fn session_id() -> Result<String, TsmError> {
    let hex = random::hex_id(16)?;
    let part = |range: std::ops::Range<usize>| hex.get(range).unwrap_or_default().to_owned();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        part(0..8),
        part(8..12),
        part(12..16),
        part(16..20),
        part(20..32)
    ))
}

/// Ends the sessions still running for `se_id`: their orders fail as superseded.
async fn supersede(tsm: &Tsm, se_id: &str, now: u64) -> Result<(), TsmError> {
    for shared in tsm.sessions().on_se(se_id) {
        let mut session = shared.lock().await;
        tsm.sessions().remove(&session.id);
        if !session.is_over() {
            session.stop();
            let failure = OrderFailure {
                code: failures::SUPERSEDED.to_owned(),
                message: "a newer order for this SE replaced this one".into(),
            };
            fail_pending(tsm, &session.order_id, failure, now)?;
        }
    }
    Ok(())
}

/// Forgets sessions idle for 5 minutes (the spec: the local agent is lost); a running one's
/// order fails with `SESSION_LOST`.
async fn purge_idle(tsm: &Tsm, now: u64) -> Result<(), TsmError> {
    for shared in tsm.sessions().all() {
        let Ok(mut session) = shared.try_lock() else {
            continue; // in use: not idle
        };
        if !session.is_idle() {
            continue;
        }
        tsm.sessions().remove(&session.id);
        if !session.is_over() {
            session.stop();
            let failure = OrderFailure {
                code: failures::SESSION_LOST.to_owned(),
                message: "the SERAM session was abandoned".into(),
            };
            fail_pending(tsm, &session.order_id, failure, now)?;
        }
    }
    Ok(())
}

/// Marks a pending order failed.
fn fail_pending(
    tsm: &Tsm,
    order_id: &str,
    failure: OrderFailure,
    now: u64,
) -> Result<(), TsmError> {
    let finish = Finish {
        state: OrderState::Failed,
        failure: Some(failure),
        card: None,
    };
    finish_order(tsm, order_id, &finish, now)
}

/// Records how order `order_id` ended (only a pending order changes).
pub fn finish_order(tsm: &Tsm, order_id: &str, finish: &Finish, now: u64) -> Result<(), TsmError> {
    let _guard = tsm.records().lock();
    let Some(mut order) = tsm.records().order(order_id)? else {
        return Err(TsmError::OrderNotFound);
    };
    if order.status.status != OrderState::Pending {
        return Ok(());
    }
    order.status.status = finish.state;
    order.status.failure = finish.failure.clone();
    order.status.card = finish.card.clone();
    order.status.updated_at = now;
    tsm.records().put_order(&order)?;
    tracing::info!(%order_id, state = ?finish.state, "TSM order finished");
    Ok(())
}

/// Counts one SERAM request of order `order_id`.
pub fn count_request(tsm: &Tsm, order_id: &str, now: u64) -> Result<(), TsmError> {
    let _guard = tsm.records().lock();
    if let Some(mut order) = tsm.records().order(order_id)? {
        order.status.seram_requests = order.status.seram_requests.saturating_add(1);
        order.status.updated_at = now;
        tsm.records().put_order(&order)?;
    }
    Ok(())
}

/// The status of order `order_id`; a pending order whose session is gone (restart) or idle for
/// 5 minutes is failed as lost. A pending order whose session is busy with a report is read
/// once that report is processed (it may be the one that ends the order).
pub async fn status(tsm: &Tsm, order_id: &str, now: u64) -> Result<OrderStatus, TsmError> {
    let order = tsm
        .records()
        .order(order_id)?
        .ok_or(TsmError::OrderNotFound)?;
    if order.status.status == OrderState::Pending {
        let lost = match tsm.sessions().of_order(order_id) {
            None => true,
            Some(shared) => {
                let mut session = shared.lock().await;
                let idle = session.is_idle() && !session.is_over();
                if idle {
                    session.stop();
                    tsm.sessions().remove(&session.id);
                }
                idle
            }
        };
        if lost {
            let failure = OrderFailure {
                code: failures::SESSION_LOST.to_owned(),
                message: "the SERAM session was abandoned".into(),
            };
            fail_pending(tsm, order_id, failure, now)?;
        }
    }
    // Read again: a report being processed held the session, and may have ended the order.
    Ok(tsm
        .records()
        .order(order_id)?
        .ok_or(TsmError::OrderNotFound)?
        .status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_look_like_uuids() {
        let id = session_id().unwrap();
        let groups: Vec<usize> = id.split('-').map(str::len).collect();
        assert_eq!(groups, vec![8, 4, 4, 4, 12]);
        assert_ne!(id, session_id().unwrap());
    }
}
