//! Fuzz target: JSON bodies of the mock backend's wire types (`wallet_core::backend::api`): every
//! request type the mock backend decodes with `serde_json`.
//!
//! Invariants: no panic; a body that decodes serialises, and that serialisation decodes and
//! serialises to the same bytes (serde's representation is stable).
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde::de::DeserializeOwned;
use serde::Serialize;
use wallet_core::backend::api::acquiring::{
    AuthorizationRequest, EcashLoadRequest, OfflineAdviceRequest, ReversalRequest,
};
use wallet_core::backend::api::hce::{HceCardRequest, KeyBatchRequest};
use wallet_core::backend::api::remote::{
    CreateOrderRequest, PaymentHistoryRequest, PaymentRequest, SetPasswordRequest,
    SmsChallengeRequest,
};
use wallet_core::backend::api::tsm::CardOrderRequest;
use wallet_core::backend::api::{BeginBindingRequest, ConfirmBindingRequest, UnbindRequest};

/// Decodes `data` as `T`; when it decodes, checks the serialisation round trip.
fn check<T: DeserializeOwned + Serialize>(data: &[u8]) {
    if let Ok(value) = serde_json::from_slice::<T>(data) {
        let json = serde_json::to_vec(&value).expect("a decoded body serialises");
        let again: T = serde_json::from_slice(&json).expect("a serialised body decodes");
        let json_again = serde_json::to_vec(&again).expect("it serialises again");
        assert_eq!(json, json_again, "unstable JSON round trip");
    }
}

fuzz_target!(|data: &[u8]| {
    check::<BeginBindingRequest>(data);
    check::<ConfirmBindingRequest>(data);
    check::<UnbindRequest>(data);
    check::<CardOrderRequest>(data);
    check::<HceCardRequest>(data);
    check::<KeyBatchRequest>(data);
    check::<CreateOrderRequest>(data);
    check::<PaymentRequest>(data);
    check::<SetPasswordRequest>(data);
    check::<SmsChallengeRequest>(data);
    check::<PaymentHistoryRequest>(data);
    check::<AuthorizationRequest>(data);
    check::<EcashLoadRequest>(data);
    check::<OfflineAdviceRequest>(data);
    check::<ReversalRequest>(data);
});
