//! The acquiring system: takes POS transactions and routes them — online authorisations to the
//! issuer and, once approved, to clearing; offline advices to the issuer (TC check, e-cash
//! accounting) and, once accepted, to clearing.
//!
//! Checks of the acquirer itself, before the issuer: the request's shape (terminal id 8 letters
//! or digits, merchant id 15, terminal type one hex byte, every card data field well formed, see
//! [`IccTransaction::validate`]) → `400 BAD_REQUEST`; the merchant is one of
//! [`merchants::ALL`] → else answer `03`. Declines are answers (`200`, `approved: false`); the
//! idempotency key makes a retried request answer the first answer. Reversals of approved
//! authorisations: [`reversal`]; an authorisation sent with an idempotency key is remembered
//! under it ([`references`]) so that a terminal that never got the answer can reverse it.

pub mod merchants;
pub mod references;
pub mod reversal;
mod routes;

pub use reversal::reverse;
pub use routes::routes;

use crate::clearing::{ClearingChannel, Institution};
use crate::error::ApiError;
use crate::issuer::IssuerDecision;
use crate::state::AppState;
use wallet_core::backend::api::acquiring::{
    AuthorizationRequest, AuthorizationResponse, IccTransaction, OfflineAdviceRequest,
    OfflineAdviceResponse, ResponseCode,
};
use wallet_core::backend::api::clearing::ClearingEntry;
use wallet_core::crypto::random;

/// Checks the terminal and merchant identifiers' shape.
fn validate_acceptor(terminal_id: &str, merchant_id: &str) -> Result<(), ApiError> {
    let alnum =
        |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_alphanumeric());
    if !alnum(terminal_id, 8) {
        return Err(ApiError::BadRequest(
            "terminal_id must be 8 letters or digits".into(),
        ));
    }
    if !alnum(merchant_id, 15) {
        return Err(ApiError::BadRequest(
            "merchant_id must be 15 letters or digits".into(),
        ));
    }
    Ok(())
}

/// Checks the fields every card-data request shares.
fn validate(
    terminal_id: &str,
    merchant_id: &str,
    terminal_type: &str,
    txn: &IccTransaction,
) -> Result<(), ApiError> {
    validate_acceptor(terminal_id, merchant_id)?;
    if terminal_type.len() != 2 || !terminal_type.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::BadRequest(
            "terminal_type must be one hex byte".into(),
        ));
    }
    txn.validate()
        .map_err(|err| ApiError::BadRequest(err.to_string()))
}

/// A new identifier with `prefix`.
fn new_id(prefix: &str) -> Result<String, ApiError> {
    Ok(format!("{prefix}_{}", random::hex_id(12)?))
}

/// Where a card was accepted.
#[derive(Debug, Clone, Copy)]
struct Acceptor<'a> {
    merchant_id: &'a str,
    terminal_id: &'a str,
}

/// Records an approved transaction for clearing; returns the clearing day.
fn clear(
    world: &AppState,
    id: &str,
    channel: ClearingChannel,
    acceptor: Acceptor<'_>,
    txn: &IccTransaction,
    decision: &IssuerDecision,
    now: u64,
) -> Result<String, ApiError> {
    let issuer = decision.issuer.clone().ok_or_else(|| {
        ApiError::Internal("an approved transaction without an issuing institution".into())
    })?;
    let acquirer: Institution = merchants::acquirer();
    let entry = ClearingEntry {
        id: id.to_owned(),
        channel,
        recorded_at: now,
        amount: txn.amount_authorised,
        currency: txn.currency,
        masked_pan: decision.masked_pan.clone(),
        atc: txn.atc,
        merchant_id: acceptor.merchant_id.to_owned(),
        terminal_id: acceptor.terminal_id.to_owned(),
        acquirer_id: acquirer.id.clone(),
        issuer_id: issuer.id.clone(),
    };
    Ok(world.clearing().record(entry, &acquirer, &issuer)?)
}

/// Handles an online authorisation: acquirer checks, issuer, then clearing if approved.
pub fn authorize(
    world: &AppState,
    request: &AuthorizationRequest,
    now: u64,
) -> Result<AuthorizationResponse, ApiError> {
    authorize_keyed(world, request, None, now)
}

/// [`authorize`] for a request sent with `idempotency_key`: the key is claimed for the new
/// authorisation ([`references`]) — or, if a reversal closed it first, the request is declined
/// `12` without reaching the issuer.
pub fn authorize_keyed(
    world: &AppState,
    request: &AuthorizationRequest,
    idempotency_key: Option<&str>,
    now: u64,
) -> Result<AuthorizationResponse, ApiError> {
    let txn = &request.transaction;
    validate(
        &request.terminal_id,
        &request.merchant_id,
        &request.terminal_type,
        txn,
    )?;
    let authorization_id = new_id("auth")?;
    let declined = |response_code, message: &str| AuthorizationResponse {
        approved: false,
        response_code,
        message: message.to_owned(),
        authorization_id: authorization_id.clone(),
        approval_code: None,
        arpc: None,
        clearing_date: None,
        issuer_script: None,
    };
    if merchants::find(&request.merchant_id).is_none() {
        return Ok(declined(ResponseCode::InvalidMerchant, "unknown merchant"));
    }
    let _order = idempotency_key.map(|_| references::serialise());
    if let Some(key) = idempotency_key {
        let refs = references::References::open(world.store())?;
        if !refs.claim(&request.terminal_id, key, &authorization_id)? {
            return Ok(declined(
                ResponseCode::InvalidTransaction,
                "the terminal reversed this request before it arrived",
            ));
        }
    }
    let decision = world.issuer().authorize_with_load(
        world,
        txn,
        request.ecash_load.as_ref(),
        &authorization_id,
        now,
    )?;
    let approved = decision.response_code.is_approved();
    let clearing_date = match approved {
        true => Some(clear(
            world,
            &authorization_id,
            ClearingChannel::PosOnline,
            Acceptor {
                merchant_id: &request.merchant_id,
                terminal_id: &request.terminal_id,
            },
            txn,
            &decision,
            now,
        )?),
        false => None,
    };
    Ok(AuthorizationResponse {
        approved,
        response_code: decision.response_code,
        message: decision.message,
        authorization_id,
        approval_code: decision.approval_code,
        arpc: decision.arpc.map(hex::encode_upper),
        clearing_date,
        issuer_script: decision.issuer_script.map(hex::encode_upper),
    })
}

/// Handles an offline advice: acquirer checks, issuer (TC, e-cash), then clearing if accepted.
pub fn offline_advice(
    world: &AppState,
    request: &OfflineAdviceRequest,
    now: u64,
) -> Result<OfflineAdviceResponse, ApiError> {
    let txn = &request.transaction;
    validate(
        &request.terminal_id,
        &request.merchant_id,
        &request.terminal_type,
        txn,
    )?;
    let advice_id = new_id("adv")?;
    if merchants::find(&request.merchant_id).is_none() {
        return Ok(OfflineAdviceResponse {
            accepted: false,
            response_code: ResponseCode::InvalidMerchant,
            message: "unknown merchant".into(),
            advice_id,
            clearing_date: None,
        });
    }
    let decision = world.issuer().offline_advice(world, txn, &advice_id, now)?;
    let accepted = decision.response_code.is_approved();
    let clearing_date = match accepted {
        true => Some(clear(
            world,
            &advice_id,
            ClearingChannel::PosOffline,
            Acceptor {
                merchant_id: &request.merchant_id,
                terminal_id: &request.terminal_id,
            },
            txn,
            &decision,
            now,
        )?),
        false => None,
    };
    Ok(OfflineAdviceResponse {
        accepted,
        response_code: decision.response_code,
        message: decision.message,
        advice_id,
        clearing_date,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn txn() -> IccTransaction {
        IccTransaction {
            pan: "6222021234567894".into(),
            pan_sequence: 1,
            aid: "A000000333010101".into(),
            amount_authorised: 100,
            amount_other: 0,
            terminal_country: 156,
            currency: 156,
            transaction_date: "250314".into(),
            transaction_type: "00".into(),
            tvr: "0000000000".into(),
            unpredictable_number: "01020304".into(),
            ttq: "26000080".into(),
            aip: "2400".into(),
            atc: 1,
            iad: "07010103A0000004".into(),
            cryptogram: "0000000000000000".into(),
            cid: "80".into(),
            ctq: None,
        }
    }

    #[test]
    fn acquirer_checks_shapes_and_merchants() {
        let merchant = merchants::CONVENIENCE_STORE.id;
        assert!(validate("POS00001", merchant, "22", &txn()).is_ok());
        for (terminal, merchant, kind) in [
            ("POS0001", merchant, "22"),
            ("POS-0001", merchant, "22"),
            ("POS00001", "89831005812000", "22"),
            ("POS00001", merchant, "2"),
            ("POS00001", merchant, "G2"),
        ] {
            assert!(
                matches!(
                    validate(terminal, merchant, kind, &txn()),
                    Err(ApiError::BadRequest(_))
                ),
                "{terminal} {merchant} {kind}"
            );
        }
        let mut bad = txn();
        bad.ttq = "26".into();
        assert!(validate("POS00001", merchant, "22", &bad).is_err());
        assert_eq!(merchants::find(merchants::CAFE.id), Some(merchants::CAFE));
        assert_eq!(merchants::find("898310058120003"), None);
        assert_eq!(merchants::acquirer().id, "48020000");
    }

    #[test]
    fn unknown_merchants_are_answered_03_without_the_issuer() -> Result<(), ApiError> {
        let world = AppState::open(None)?;
        let request = AuthorizationRequest {
            terminal_id: "POS00001".into(),
            merchant_id: "999999999999999".into(),
            terminal_type: "22".into(),
            transaction: txn(),
            ecash_load: None,
        };
        let answer = authorize(&world, &request, 1)?;
        assert_eq!(
            (answer.approved, answer.response_code, answer.arpc),
            (false, ResponseCode::InvalidMerchant, None)
        );
        assert!(answer.authorization_id.starts_with("auth_"));
        assert_eq!(world.issuer().decision(&answer.authorization_id)?, None);
        Ok(())
    }
}
