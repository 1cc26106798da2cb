//! What remote payment takes and gives, and what it keeps in the store.

use crate::backend::api::remote::{AuthMode, PaymentReceipt, PaymentRequest};
use crate::backend::client::IdempotencyKey;
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// How the payer proves themselves for one payment.
///
/// The PIN, password or code is zeroized when the value is dropped (so it cannot be
/// destructured by value; match it by reference). `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub enum PayAuth {
    /// SE mode: the payment applet of the card in SE `se_id` signs after verifying `pin`.
    Se {
        /// SERAM `seId` of the SE holding the card (see [`crate::tsm::SeCard::se_id`]).
        se_id: String,
        /// The card's PIN (4–12 digits); sent only to the card.
        pin: String,
    },
    /// Non-SE mode: the device key signs; the payment password proves the payer.
    Password {
        /// The 6-digit payment password; never sent, stored or logged.
        password: String,
    },
    /// Non-SE mode: the device key signs; an SMS one-time code proves the payer.
    Sms {
        /// From [`crate::remote::SmsChallenge::challenge_id`].
        challenge_id: String,
        /// The 6-digit code.
        code: String,
    },
}

impl PayAuth {
    /// The wire mode of this proof.
    pub fn mode(&self) -> AuthMode {
        match self {
            PayAuth::Se { .. } => AuthMode::Se,
            PayAuth::Password { .. } => AuthMode::Password,
            PayAuth::Sms { .. } => AuthMode::Sms,
        }
    }
}

/// Clears the secret (PIN, password or code); the SE and challenge identifiers are kept.
impl Zeroize for PayAuth {
    fn zeroize(&mut self) {
        match self {
            PayAuth::Se { pin, .. } => pin.zeroize(),
            PayAuth::Password { password } => password.zeroize(),
            PayAuth::Sms { code, .. } => code.zeroize(),
        }
    }
}

impl Drop for PayAuth {
    fn drop(&mut self) {
        self.zeroize();
    }
}

/// [`PayAuth`]'s `Drop` zeroizes its secret.
impl ZeroizeOnDrop for PayAuth {}

impl std::fmt::Debug for PayAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print a PIN, password or code.
        match self {
            PayAuth::Se { se_id, .. } => f
                .debug_struct("Se")
                .field("se_id", se_id)
                .finish_non_exhaustive(),
            PayAuth::Password { .. } => f.debug_struct("Password").finish_non_exhaustive(),
            PayAuth::Sms { challenge_id, .. } => f
                .debug_struct("Sms")
                .field("challenge_id", challenge_id)
                .finish_non_exhaustive(),
        }
    }
}

/// A remote payment the remote payment system accepted, as the app shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemotePayment {
    /// The RPS's identifier of the payment.
    pub payment_id: String,
    /// The order paid.
    pub order_id: String,
    /// The merchant.
    pub merchant_id: String,
    /// The merchant's display name.
    pub merchant_name: String,
    /// Amount, minor units (fen).
    pub amount: u64,
    /// Currency (ISO 4217 alphabetic).
    pub currency: String,
    /// The binding that paid.
    pub binding_id: String,
    /// The paying card, masked.
    pub masked_pan: String,
    /// How the payer proved themselves.
    pub auth: AuthMode,
    /// Unix time (seconds) it was accepted.
    pub paid_at: u64,
    /// The clearing day (`YYYY-MM-DD`) it was recorded in.
    pub clearing_date: String,
}

impl From<PaymentReceipt> for RemotePayment {
    fn from(r: PaymentReceipt) -> Self {
        Self {
            payment_id: r.payment_id,
            order_id: r.order_id,
            merchant_id: r.merchant_id,
            merchant_name: r.merchant_name,
            amount: r.amount,
            currency: r.currency,
            binding_id: r.binding_id,
            masked_pan: r.masked_pan,
            auth: r.auth,
            paid_at: r.paid_at,
            clearing_date: r.clearing_date,
        }
    }
}

/// Store namespace of [`PendingPayment`]s, keyed by [`pending_key`].
pub(crate) const NS_PENDING: &str = "remote.pending";
/// Store namespace of [`RemotePayment`]s, keyed by payment id.
pub(crate) const NS_HISTORY: &str = "remote.history";

/// A payment submitted (or about to be) whose answer has not arrived: re-sent unchanged, with
/// the same idempotency key, until one does. Sealed by the store (it holds a password proof or
/// an SMS code).
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct PendingPayment {
    /// The key the RPS remembers the first answer under.
    pub idempotency_key: IdempotencyKey,
    /// The exact request.
    pub request: PaymentRequest,
}

/// Store key of the pending payment of `order_id` by `binding_id`.
pub(crate) fn pending_key(binding_id: &str, order_id: &str) -> String {
    format!("{binding_id}/{order_id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_secrets() {
        let all = [
            PayAuth::Se {
                se_id: "se-1".into(),
                pin: "123456".into(),
            },
            PayAuth::Password {
                password: "135790".into(),
            },
            PayAuth::Sms {
                challenge_id: "c-1".into(),
                code: "246801".into(),
            },
        ];
        for auth in &all {
            let text = format!("{auth:?}");
            for secret in ["123456", "135790", "246801"] {
                assert!(!text.contains(secret), "{text}");
            }
        }
        assert_eq!(all[0].mode(), AuthMode::Se);
        assert_eq!(all[1].mode(), AuthMode::Password);
        assert_eq!(all[2].mode(), AuthMode::Sms);
    }

    #[test]
    fn zeroize_clears_only_the_secret() {
        let mut se = PayAuth::Se {
            se_id: "se-1".into(),
            pin: "123456".into(),
        };
        let mut password = PayAuth::Password {
            password: "135790".into(),
        };
        let mut sms = PayAuth::Sms {
            challenge_id: "c-1".into(),
            code: "246801".into(),
        };
        se.zeroize();
        password.zeroize();
        sms.zeroize();
        assert!(matches!(&se, PayAuth::Se { se_id, pin } if se_id == "se-1" && pin.is_empty()));
        assert!(matches!(&password, PayAuth::Password { password } if password.is_empty()));
        assert!(
            matches!(&sms, PayAuth::Sms { challenge_id, code } if challenge_id == "c-1" && code.is_empty())
        );
        assert_eq!(se.mode(), AuthMode::Se, "the mode is not secret");
    }
}
