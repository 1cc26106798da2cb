//! Requests of the remote payment system that only the binding's device may make, and how they
//! are signed (documented on [`DeviceSigned`], re-exported by the parent module).

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// First line of [`SetPasswordRequest`]'s signing message.
pub const PASSWORD_SIGNING_VERSION: &str = "openwallet/pay-password/v1";
/// First line of [`SmsChallengeRequest`]'s signing message.
pub const SMS_CHALLENGE_SIGNING_VERSION: &str = "openwallet/pay-sms/v1";
/// First line of [`PaymentHistoryRequest`]'s signing message.
pub const HISTORY_SIGNING_VERSION: &str = "openwallet/pay-history/v1";

/// Proof that a request comes from the binding's device, flattened into the request body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceProof {
    /// Unix time (seconds) the phone signed; ±[`super::PAYMENT_WINDOW_SECS`] of the RPS clock.
    pub timestamp: u64,
    /// Random lowercase hex of 16–128 characters, never accepted twice per binding.
    pub nonce: String,
    /// Device-key signature over the request's signing message (ECDSA P-256 / SHA-256, DER, hex).
    pub signature: String,
}

/// A request signed by the binding's device key.
///
/// Each request names its binding and carries a [`DeviceProof`] (flattened into the JSON body:
/// `timestamp`, `nonce`, `signature`): the binding's device key (ECDSA P-256 / SHA-256, DER, hex)
/// signs the request's [`DeviceSigned::signing_message`], UTF-8 lines joined by `\n` (no
/// trailing newline), the first naming the request kind:
///
/// | request | signed lines |
/// |---|---|
/// | [`SetPasswordRequest`] | `openwallet/pay-password/v1`, binding id, verifier (hex), timestamp, nonce |
/// | [`SmsChallengeRequest`] | `openwallet/pay-sms/v1`, binding id, order id, timestamp, nonce |
/// | [`PaymentHistoryRequest`] | `openwallet/pay-history/v1`, binding id, timestamp, nonce |
///
/// The RPS verifies the signature against the device key registered at binding, then accepts
/// the timestamp within ±[`PAYMENT_WINDOW_SECS`](super::PAYMENT_WINDOW_SECS) of its clock and
/// the nonce ([`is_well_formed_nonce`](super::is_well_formed_nonce)) only once per binding —
/// nonces are shared with payment messages, whatever they signed.
pub trait DeviceSigned {
    /// The binding whose device key signed.
    fn binding_id(&self) -> &str;
    /// The timestamp, nonce and signature.
    fn proof(&self) -> &DeviceProof;
    /// The exact bytes signed (see the table above).
    fn signing_message(&self) -> Vec<u8>;
}

/// Register (or replace) the binding's payment-password verifier.
///
/// The verifier is as good as the password to the RPS: it is zeroized on drop and `Debug`
/// shows `Zeroizing { .. }` in its place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetPasswordRequest {
    /// The binding.
    pub binding_id: String,
    /// [`super::password_verifier`], hex (32 bytes). Serialised as a plain JSON string.
    pub verifier: Zeroizing<String>,
    /// Device signature over [`password_signing_message`].
    #[serde(flatten)]
    pub proof: DeviceProof,
}

impl DeviceSigned for SetPasswordRequest {
    fn binding_id(&self) -> &str {
        &self.binding_id
    }
    fn proof(&self) -> &DeviceProof {
        &self.proof
    }
    fn signing_message(&self) -> Vec<u8> {
        password_signing_message(
            &self.binding_id,
            &self.verifier,
            self.proof.timestamp,
            &self.proof.nonce,
        )
    }
}

/// Ask for an SMS code to pay one order (sent to the phone the bank has on file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmsChallengeRequest {
    /// The binding (the code goes to its phone on file).
    pub binding_id: String,
    /// The order the code is for.
    pub order_id: String,
    /// Device signature over [`sms_challenge_signing_message`].
    #[serde(flatten)]
    pub proof: DeviceProof,
}

impl DeviceSigned for SmsChallengeRequest {
    fn binding_id(&self) -> &str {
        &self.binding_id
    }
    fn proof(&self) -> &DeviceProof {
        &self.proof
    }
    fn signing_message(&self) -> Vec<u8> {
        sms_challenge_signing_message(
            &self.binding_id,
            &self.order_id,
            self.proof.timestamp,
            &self.proof.nonce,
        )
    }
}

/// Read the binding's payments (`POST` [`super::PATH_RPS_PAYMENT_HISTORY`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentHistoryRequest {
    /// The binding.
    pub binding_id: String,
    /// Device signature over [`history_signing_message`].
    #[serde(flatten)]
    pub proof: DeviceProof,
}

impl DeviceSigned for PaymentHistoryRequest {
    fn binding_id(&self) -> &str {
        &self.binding_id
    }
    fn proof(&self) -> &DeviceProof {
        &self.proof
    }
    fn signing_message(&self) -> Vec<u8> {
        history_signing_message(&self.binding_id, self.proof.timestamp, &self.proof.nonce)
    }
}

/// The exact bytes a device signs to register a password verifier.
pub fn password_signing_message(
    binding_id: &str,
    verifier_hex: &str,
    timestamp: u64,
    nonce: &str,
) -> Vec<u8> {
    lines(&[
        PASSWORD_SIGNING_VERSION,
        binding_id,
        verifier_hex,
        &timestamp.to_string(),
        nonce,
    ])
}

/// The exact bytes a device signs to ask for a payment SMS code.
pub fn sms_challenge_signing_message(
    binding_id: &str,
    order_id: &str,
    timestamp: u64,
    nonce: &str,
) -> Vec<u8> {
    lines(&[
        SMS_CHALLENGE_SIGNING_VERSION,
        binding_id,
        order_id,
        &timestamp.to_string(),
        nonce,
    ])
}

/// The exact bytes a device signs to read its payment history.
pub fn history_signing_message(binding_id: &str, timestamp: u64, nonce: &str) -> Vec<u8> {
    lines(&[
        HISTORY_SIGNING_VERSION,
        binding_id,
        &timestamp.to_string(),
        nonce,
    ])
}

fn lines(values: &[&str]) -> Vec<u8> {
    values.join("\n").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proof() -> DeviceProof {
        DeviceProof {
            timestamp: 1_700_000_000,
            nonce: "00112233445566778899aabbccddeeff".into(),
            signature: "3045".into(),
        }
    }

    #[test]
    fn signing_messages_are_the_documented_lines() {
        let sms = SmsChallengeRequest {
            binding_id: "b-1".into(),
            order_id: "ord_1".into(),
            proof: proof(),
        };
        assert_eq!(
            sms.signing_message(),
            b"openwallet/pay-sms/v1\nb-1\nord_1\n1700000000\n00112233445566778899aabbccddeeff"
        );
        let history = PaymentHistoryRequest {
            binding_id: "b-1".into(),
            proof: proof(),
        };
        assert_eq!(
            history.signing_message(),
            b"openwallet/pay-history/v1\nb-1\n1700000000\n00112233445566778899aabbccddeeff"
        );
        let password = SetPasswordRequest {
            binding_id: "b-1".into(),
            verifier: Zeroizing::new("ab".into()),
            proof: proof(),
        };
        assert_eq!(
            password.signing_message(),
            b"openwallet/pay-password/v1\nb-1\nab\n1700000000\n00112233445566778899aabbccddeeff"
        );
        assert_eq!(password.binding_id(), "b-1");
        assert_eq!(password.proof(), &proof());
    }

    #[test]
    fn the_verifier_is_a_plain_string_on_the_wire_and_hidden_from_debug() {
        let verifier = "5e".repeat(32);
        let request = SetPasswordRequest {
            binding_id: "b-1".into(),
            verifier: Zeroizing::new(verifier.clone()),
            proof: proof(),
        };
        let json = serde_json::to_value(&request).unwrap();
        assert_eq!(json["verifier"], verifier.as_str());
        assert_eq!(
            serde_json::from_value::<SetPasswordRequest>(json).unwrap(),
            request
        );
        let debug = format!("{request:?}");
        assert!(!debug.contains(&verifier), "{debug}");
        assert!(debug.contains("b-1"), "{debug}");
    }

    #[test]
    fn the_proof_is_flattened_into_the_body() {
        let request = SmsChallengeRequest {
            binding_id: "b-1".into(),
            order_id: "ord_1".into(),
            proof: proof(),
        };
        let json = serde_json::to_value(&request).unwrap();
        assert_eq!(json["timestamp"], 1_700_000_000);
        assert_eq!(json["nonce"], "00112233445566778899aabbccddeeff");
        assert_eq!(json["signature"], "3045");
        assert_eq!(
            serde_json::from_value::<SmsChallengeRequest>(json).unwrap(),
            request
        );
        // Without a proof the body does not decode.
        assert!(serde_json::from_value::<PaymentHistoryRequest>(
            serde_json::json!({ "binding_id": "b-1" })
        )
        .is_err());
    }
}
