//! A remote payment, checked and executed in the order the [module](super) documents.

use wallet_core::backend::api::clearing::ClearingEntry;
use wallet_core::backend::api::remote::{
    AuthMode, Order, OrderStatus, PaymentCredential, PaymentMessage, PaymentReceipt,
    PaymentRequest, PaymentStatus, SM2_DEFAULT_USER_ID,
};
use wallet_core::crypto::{ecdsa, sm2};

use super::{
    active_binding, check_nonce_shape, check_window, debit_reference, decode_signature,
    payment_id_of, RemoteError, CLEARING_TERMINAL_ID,
};
use crate::bank::{BoundAccount, DebitError};
use crate::clearing::ClearingChannel;
use crate::state::AppState;
use crate::tsm::SeKeyAlgorithm;

/// The payer's proof, checked for shape.
enum Proof<'a> {
    Se,
    Password([u8; 32]),
    Sms {
        challenge_id: &'a str,
        code: &'a str,
    },
}

/// Checks and executes `request` at time `now`; answers the receipt.
pub fn pay(
    world: &AppState,
    request: &PaymentRequest,
    now: u64,
) -> Result<PaymentReceipt, RemoteError> {
    let message = &request.message;
    message
        .validate()
        .map_err(|e| RemoteError::BadRequest(e.to_string()))?;
    check_nonce_shape(&message.nonce)?;
    let signature = decode_signature(&request.signature)?;
    let rps = world.rps();
    rps.order_locks.with(&message.order_id, || {
        let bound = active_binding(world, &message.binding_id)?;
        let order = payable_order(world, message, now)?;
        check_window(message.timestamp, now)?;
        rps.nonce_unseen(&message.binding_id, &message.nonce)?;
        let proof = proof_of(message.auth, &request.credential)?;
        let canonical = message.canonical_bytes();
        verify_signature(world, message, &bound, &canonical, &signature)?;
        rps.spend_nonce(&message.binding_id, &message.nonce, now)?;
        match proof {
            Proof::Se => {}
            Proof::Password(proof) => {
                rps.passwords()
                    .check(&message.binding_id, &canonical, &proof)?
            }
            Proof::Sms { challenge_id, code } => rps.check_challenge(
                world,
                challenge_id,
                &message.binding_id,
                &order.order_id,
                code,
                now,
            )?,
        }
        settle(world, message, &order, &bound, now)
    })
}

/// The order of `message`, pending and matching it.
fn payable_order(
    world: &AppState,
    message: &PaymentMessage,
    now: u64,
) -> Result<Order, RemoteError> {
    let order = world.merchant().order(&message.order_id, now)?;
    match order.status {
        OrderStatus::Pending => {}
        OrderStatus::Expired => return Err(RemoteError::OrderExpired),
        OrderStatus::Paid => return Err(RemoteError::OrderAlreadyPaid),
    }
    let mut differing = Vec::new();
    if order.merchant_id != message.merchant_id {
        differing.push("merchant_id");
    }
    if order.amount != message.amount {
        differing.push("amount");
    }
    if order.currency != message.currency {
        differing.push("currency");
    }
    if !differing.is_empty() {
        return Err(RemoteError::OrderMismatch(format!(
            "the message's {} differ(s) from the order",
            differing.join(", ")
        )));
    }
    Ok(order)
}

/// The credential, which must be of the message's mode and well formed.
fn proof_of(auth: AuthMode, credential: &PaymentCredential) -> Result<Proof<'_>, RemoteError> {
    match (auth, credential) {
        (AuthMode::Se, PaymentCredential::Se) => Ok(Proof::Se),
        (AuthMode::Password, PaymentCredential::Password { proof }) => {
            let mut bytes = [0u8; 32];
            hex::decode_to_slice(proof, &mut bytes).map_err(|_| {
                RemoteError::BadRequest("password proof must be 32 bytes of hex".into())
            })?;
            Ok(Proof::Password(bytes))
        }
        (AuthMode::Sms, PaymentCredential::Sms { challenge_id, code }) => {
            if challenge_id.trim().is_empty() {
                return Err(RemoteError::BadRequest(
                    "challenge_id must not be blank".into(),
                ));
            }
            if !crate::sms::otp::is_well_formed(code) {
                return Err(RemoteError::BadRequest(
                    "code must be exactly 6 digits".into(),
                ));
            }
            Ok(Proof::Sms {
                challenge_id: challenge_id.trim(),
                code,
            })
        }
        _ => Err(RemoteError::BadRequest(format!(
            "credential mode must equal the message's auth ({})",
            auth.as_str()
        ))),
    }
}

/// Verifies `signature` over `canonical` with the key registered for the message's mode.
fn verify_signature(
    world: &AppState,
    message: &PaymentMessage,
    bound: &BoundAccount,
    canonical: &[u8],
    signature: &[u8],
) -> Result<(), RemoteError> {
    let verified = match message.auth {
        AuthMode::Password | AuthMode::Sms => {
            ecdsa::verify_p256(&bound.device_public_key, canonical, signature)
        }
        AuthMode::Se => {
            let key = world
                .tsm()
                .se_payment_key(&message.binding_id, &message.se_id)?
                .ok_or(RemoteError::SeKeyNotRegistered)?;
            match key.algorithm {
                SeKeyAlgorithm::P256 => ecdsa::verify_p256(&key.public_key, canonical, signature),
                SeKeyAlgorithm::Sm2 => {
                    sm2::verify_sm2(&key.public_key, SM2_DEFAULT_USER_ID, canonical, signature)
                }
            }
        }
    };
    verified.map_err(|_| {
        RemoteError::SignatureInvalid(match message.auth {
            AuthMode::Se => "signature does not verify against the SE payment key".into(),
            _ => "signature does not verify against the registered device key".into(),
        })
    })
}

/// Debits the account once per order, marks the order paid, records clearing and the receipt.
fn settle(
    world: &AppState,
    message: &PaymentMessage,
    order: &Order,
    bound: &BoundAccount,
    now: u64,
) -> Result<PaymentReceipt, RemoteError> {
    let account = &bound.account;
    world
        .bank()
        .debit(
            &account.pan,
            order.amount,
            &debit_reference(&order.order_id),
        )
        .map_err(|err| match err {
            DebitError::InsufficientFunds => RemoteError::InsufficientFunds,
            DebitError::AccountBlocked => RemoteError::AccountBlocked,
            other => RemoteError::Internal(format!("debit: {other}")),
        })?;
    let payment_id = payment_id_of(&order.order_id);
    world
        .merchant()
        .mark_paid(&order.order_id, &payment_id, now)?;
    let currency = crate::merchant::currency_numeric(&order.currency).ok_or_else(|| {
        RemoteError::Internal(format!("order in unsettled currency {}", order.currency))
    })?;
    let acquirer = crate::acquirer::merchants::acquirer();
    let issuer = crate::issuer::institution_of(account);
    let entry = ClearingEntry {
        id: payment_id.clone(),
        channel: ClearingChannel::RemotePayment,
        recorded_at: now,
        amount: order.amount,
        currency,
        masked_pan: bound.record.masked_pan.clone(),
        atc: 0,
        merchant_id: order.merchant_id.clone(),
        terminal_id: CLEARING_TERMINAL_ID.to_owned(),
        acquirer_id: acquirer.id.clone(),
        issuer_id: issuer.id.clone(),
    };
    let clearing_date = world.clearing().record(entry, &acquirer, &issuer)?;
    let receipt = PaymentReceipt {
        payment_id,
        order_id: order.order_id.clone(),
        merchant_id: order.merchant_id.clone(),
        merchant_name: order.merchant_name.clone(),
        amount: order.amount,
        currency: order.currency.clone(),
        binding_id: message.binding_id.clone(),
        masked_pan: bound.record.masked_pan.clone(),
        auth: message.auth,
        status: PaymentStatus::Succeeded,
        paid_at: now,
        clearing_date,
    };
    let receipt = world.rps().store_receipt(receipt)?;
    tracing::info!(
        payment_id = %receipt.payment_id,
        order_id = %receipt.order_id,
        amount = receipt.amount,
        auth = receipt.auth.as_str(),
        "remote payment accepted"
    );
    Ok(receipt)
}
