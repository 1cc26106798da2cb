//! The one check of every request signed by a binding's device key
//! ([`DeviceSigned`]: password registration, SMS challenge, history read).

use wallet_core::backend::api::remote::DeviceSigned;
use wallet_core::crypto::ecdsa;

use super::{active_binding, check_nonce_shape, check_window, decode_signature, RemoteError};
use crate::bank::BoundAccount;
use crate::state::AppState;

/// Checks `request` at `now`, in this order: shape (binding id not blank, nonce lowercase hex of
/// 16–128 characters, signature hex → `BAD_REQUEST`), binding known and active
/// (`BINDING_NOT_FOUND`, `BINDING_REVOKED`), the device key's signature over the request's
/// signing message (`SIGNATURE_INVALID`), timestamp within the window (`REPLAY`), nonce never
/// accepted for the binding — then spends the nonce (`REPLAY` if it was). Answers the binding.
///
/// Nothing is spent before the signature verified, so an unsigned or wrongly signed request
/// changes no state.
pub(super) fn verify(
    world: &AppState,
    request: &impl DeviceSigned,
    now: u64,
) -> Result<BoundAccount, RemoteError> {
    let binding_id = request.binding_id();
    if binding_id.trim().is_empty() {
        return Err(RemoteError::BadRequest(
            "binding_id must not be blank".into(),
        ));
    }
    let proof = request.proof();
    check_nonce_shape(&proof.nonce)?;
    let signature = decode_signature(&proof.signature)?;
    let bound = active_binding(world, binding_id)?;
    ecdsa::verify_p256(
        &bound.device_public_key,
        &request.signing_message(),
        &signature,
    )
    .map_err(|_| {
        RemoteError::SignatureInvalid(
            "signature does not verify against the registered device key".into(),
        )
    })?;
    check_window(proof.timestamp, now)?;
    world.rps().spend_nonce(binding_id, &proof.nonce, now)?;
    Ok(bound)
}
