//! SMS challenges: a one-time code from the SMS channel ([`crate::sms`]) for one order and one
//! binding, sent to the phone the bank has on file for the binding's account.

use serde::{Deserialize, Serialize};
use wallet_core::backend::api::remote::{OrderStatus, SmsChallenge, SmsChallengeRequest};
use wallet_core::crypto::random;

use super::{device, RemoteError, Rps};
use crate::sms::{mask_phone, Verified};
use crate::state::AppState;

/// A challenge as stored: the SMS channel's code id, bound to an order and a binding.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct ChallengeRecord {
    binding_id: String,
    order_id: String,
    code_id: String,
}

/// Sends a code for `request.order_id` to `request.binding_id`'s phone, once the request is
/// signed by the binding's device key ([`device::verify`]: window, nonce once).
pub fn create(
    world: &AppState,
    request: &SmsChallengeRequest,
    now: u64,
) -> Result<SmsChallenge, RemoteError> {
    let (binding_id, order_id) = (request.binding_id.as_str(), request.order_id.as_str());
    if order_id.trim().is_empty() {
        return Err(RemoteError::BadRequest("order_id must not be blank".into()));
    }
    let bound = device::verify(world, request, now)?;
    let order = world.merchant().order(order_id, now)?;
    match order.status {
        OrderStatus::Pending => {}
        OrderStatus::Paid => return Err(RemoteError::OrderAlreadyPaid),
        OrderStatus::Expired => return Err(RemoteError::OrderExpired),
    }
    let account = &bound.account;
    let purpose = format!(
        "向{}支付{}.{:02}元（订单{}）",
        order.merchant_name,
        order.amount / 100,
        order.amount % 100,
        order.order_id
    );
    let sent = world
        .sms()
        .send_code(&account.phone, &account.issuer_name, &purpose, now)?;
    let challenge_id = format!("chl_{}", random::hex_id(12)?);
    let record = ChallengeRecord {
        binding_id: binding_id.to_owned(),
        order_id: order_id.to_owned(),
        code_id: sent.code_id,
    };
    world.rps().challenges.put(&challenge_id, &record)?;
    tracing::info!(%challenge_id, %order_id, "payment SMS challenge sent");
    Ok(SmsChallenge {
        challenge_id,
        sent_to: mask_phone(&account.phone),
        expires_at: sent.expires_at,
    })
}

impl Rps {
    /// Checks `code` against challenge `challenge_id`, which must be for `order_id` and
    /// `binding_id` (`CHALLENGE_NOT_FOUND`). A code is good for one payment: one already used
    /// answers `OTP_EXPIRED`.
    pub(super) fn check_challenge(
        &self,
        world: &AppState,
        challenge_id: &str,
        binding_id: &str,
        order_id: &str,
        code: &str,
        now: u64,
    ) -> Result<(), RemoteError> {
        let record = self
            .challenges
            .get(challenge_id)?
            .filter(|r| r.binding_id == binding_id && r.order_id == order_id)
            .ok_or(RemoteError::ChallengeNotFound)?;
        match world.sms().verify(&record.code_id, code, now)? {
            Verified::Fresh => Ok(()),
            Verified::AlreadyUsed => Err(RemoteError::OtpExpired(
                "this SMS code was already used: ask for a new code".into(),
            )),
        }
    }
}
