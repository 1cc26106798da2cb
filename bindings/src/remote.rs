//! Remote (in-app) payment as [`Wallet`] methods: fetch a merchant's order, register a payment
//! password, ask for an SMS code, pay, and read the payment history.
//!
//! Two modes, as in the core:
//! - **SE mode** ([`PayAuth::Se`]): the payment application on the secure element signs the
//!   payment message after verifying the PIN (the wallet needs its secure elements attached).
//! - **Non-SE mode** ([`PayAuth::Password`], [`PayAuth::Sms`]): the binding's device key signs —
//!   the platform's [`crate::Signer`] when the wallet was opened with one, else the sealed
//!   software key — and the password proof or the SMS code proves the user.
//!
//! A payment carries an idempotency key: repeating [`Wallet::pay_order`] after a lost answer never
//! pays twice. Refusals are [`WalletFfiError`]s: `WrongCode` (`password_wrong`, `sms_code_wrong`,
//! `pin_wrong`, with the attempts left), `CodeUnusable` (`password_locked`, `pin_blocked`),
//! `Payment` (expired, already paid, insufficient funds, signature rejected, replay, …),
//! `NotFound` (`order_not_found`), `Network`.

use std::time::SystemTime;

use wallet_core::remote::{
    AuthMode as CoreAuthMode, Order as CoreOrder, OrderStatus as CoreOrderStatus,
    PasswordStatus as CorePasswordStatus, PayAuth as CorePayAuth, RemotePayError,
    RemotePayment as CoreRemotePayment, SmsChallenge as CoreSmsChallenge,
};
use zeroize::Zeroizing;

use crate::wallet::{unix_time, Wallet};
use crate::wallet_error::{variant, WalletFfiError};

/// Where a merchant order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum OrderStatus {
    /// Waiting for payment.
    Pending,
    /// Paid (once; the order's `payment_id` says by which payment).
    Paid,
    /// Its expiry passed unpaid.
    Expired,
}

impl From<CoreOrderStatus> for OrderStatus {
    fn from(status: CoreOrderStatus) -> Self {
        match status {
            CoreOrderStatus::Pending => Self::Pending,
            CoreOrderStatus::Paid => Self::Paid,
            CoreOrderStatus::Expired => Self::Expired,
        }
    }
}

/// A merchant's order, as the payment content platform knows it.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Order {
    /// The platform's order identifier (pass it to [`Wallet::pay_order`]).
    pub order_id: String,
    /// The merchant.
    pub merchant_id: String,
    /// The merchant's display name.
    pub merchant_name: String,
    /// Amount in minor units (fen).
    pub amount: u64,
    /// ISO 4217 alphabetic currency (`CNY`).
    pub currency: String,
    /// What is bought.
    pub description: String,
    /// When the order was created.
    pub created_at: SystemTime,
    /// After this it cannot be paid.
    pub expires_at: SystemTime,
    /// Where it stands.
    pub status: OrderStatus,
    /// The payment that paid it.
    pub payment_id: Option<String>,
}

impl From<CoreOrder> for Order {
    fn from(o: CoreOrder) -> Self {
        Self {
            order_id: o.order_id,
            merchant_id: o.merchant_id,
            merchant_name: o.merchant_name,
            amount: o.amount,
            currency: o.currency,
            description: o.description,
            created_at: unix_time(o.created_at),
            expires_at: unix_time(o.expires_at),
            status: o.status.into(),
            payment_id: o.payment_id,
        }
    }
}

/// A binding's payment password, as the remote payment system knows it.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PasswordStatus {
    /// The binding.
    pub binding_id: String,
    /// When the current password was registered.
    pub set_at: SystemTime,
    /// Wrong passwords left before lock-out.
    pub attempts_left: u32,
}

impl From<CorePasswordStatus> for PasswordStatus {
    fn from(s: CorePasswordStatus) -> Self {
        Self {
            binding_id: s.binding_id,
            set_at: unix_time(s.set_at),
            attempts_left: s.attempts_left,
        }
    }
}

/// An SMS code was sent to the binding's phone to pay one order.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SmsChallenge {
    /// Pass it, with the code, in [`PayAuth::Sms`].
    pub challenge_id: String,
    /// The phone it went to, masked (`138****8000`).
    pub sent_to: String,
    /// After this the code is refused.
    pub expires_at: SystemTime,
}

impl From<CoreSmsChallenge> for SmsChallenge {
    fn from(c: CoreSmsChallenge) -> Self {
        Self {
            challenge_id: c.challenge_id,
            sent_to: c.sent_to,
            expires_at: unix_time(c.expires_at),
        }
    }
}

/// How the payer proved themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum AuthMode {
    /// SE mode: the secure element's payment application signed after verifying the PIN.
    Se,
    /// Non-SE mode: device key and payment password.
    Password,
    /// Non-SE mode: device key and SMS code.
    Sms,
}

impl From<CoreAuthMode> for AuthMode {
    fn from(mode: CoreAuthMode) -> Self {
        match mode {
            CoreAuthMode::Se => Self::Se,
            CoreAuthMode::Password => Self::Password,
            CoreAuthMode::Sms => Self::Sms,
        }
    }
}

/// How to prove the payer for [`Wallet::pay_order`]. The library never logs the secrets.
#[derive(Clone, PartialEq, Eq, uniffi::Enum)]
pub enum PayAuth {
    /// SE mode: the card in secure element `se_id` signs after verifying `pin`.
    Se {
        /// The secure element holding the binding's card (`SeCard.se_id`).
        se_id: String,
        /// The card's PIN (digits).
        pin: String,
    },
    /// Non-SE mode with the payment password (see [`Wallet::set_payment_password`]).
    Password {
        /// The payment password; only a proof derived from it leaves the phone.
        password: String,
    },
    /// Non-SE mode with the code of an SMS challenge ([`Wallet::request_payment_sms`]).
    Sms {
        /// From [`SmsChallenge::challenge_id`].
        challenge_id: String,
        /// The 6-digit code.
        code: String,
    },
}

impl std::fmt::Debug for PayAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Se { se_id, .. } => f
                .debug_struct("Se")
                .field("se_id", se_id)
                .finish_non_exhaustive(),
            Self::Password { .. } => f.debug_struct("Password").finish_non_exhaustive(),
            Self::Sms { challenge_id, .. } => f
                .debug_struct("Sms")
                .field("challenge_id", challenge_id)
                .finish_non_exhaustive(),
        }
    }
}

impl From<PayAuth> for CorePayAuth {
    fn from(auth: PayAuth) -> Self {
        match auth {
            PayAuth::Se { se_id, pin } => CorePayAuth::Se { se_id, pin },
            PayAuth::Password { password } => CorePayAuth::Password { password },
            PayAuth::Sms { challenge_id, code } => CorePayAuth::Sms { challenge_id, code },
        }
    }
}

/// A remote payment the remote payment system accepted.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct RemotePayment {
    /// The remote payment system's identifier of the payment.
    pub payment_id: String,
    /// The order paid.
    pub order_id: String,
    /// The merchant.
    pub merchant_id: String,
    /// The merchant's display name.
    pub merchant_name: String,
    /// Amount in minor units (fen).
    pub amount: u64,
    /// ISO 4217 alphabetic currency.
    pub currency: String,
    /// The binding that paid.
    pub binding_id: String,
    /// The paying card, masked.
    pub masked_pan: String,
    /// How the payer proved themselves.
    pub auth: AuthMode,
    /// When it was accepted.
    pub paid_at: SystemTime,
    /// The clearing day (`YYYY-MM-DD`, Beijing time) it was recorded in.
    pub clearing_date: String,
}

impl From<CoreRemotePayment> for RemotePayment {
    fn from(p: CoreRemotePayment) -> Self {
        Self {
            payment_id: p.payment_id,
            order_id: p.order_id,
            merchant_id: p.merchant_id,
            merchant_name: p.merchant_name,
            amount: p.amount,
            currency: p.currency,
            binding_id: p.binding_id,
            masked_pan: p.masked_pan,
            auth: p.auth.into(),
            paid_at: unix_time(p.paid_at),
            clearing_date: p.clearing_date,
        }
    }
}

/// The remote-payment refusals as the apps see them (codes documented on [`WalletFfiError`]).
impl From<RemotePayError> for WalletFfiError {
    fn from(err: RemotePayError) -> Self {
        let message = err.to_string();
        let wrong = |code: &str, attempts_left: u32| Self::WrongCode {
            code: code.to_owned(),
            error_message: message.clone(),
            attempts_left,
        };
        match err {
            RemotePayError::OrderNotFound => variant!(NotFound, "order_not_found", message),
            RemotePayError::MerchantNotFound => variant!(NotFound, "merchant_not_found", message),
            RemotePayError::ChallengeNotFound => {
                variant!(NotFound, "challenge_not_found", message)
            }
            RemotePayError::BindingNotFound => variant!(NotFound, "binding_not_found", message),
            RemotePayError::InvalidOrderId => variant!(InvalidInput, "invalid_order_id", message),
            RemotePayError::InvalidPassword => variant!(InvalidInput, "invalid_password", message),
            RemotePayError::InvalidPin => variant!(InvalidInput, "invalid_pin", message),
            RemotePayError::OrderExpired => variant!(Payment, "order_expired", message),
            RemotePayError::OrderAlreadyPaid => variant!(Payment, "order_already_paid", message),
            RemotePayError::OrderMismatch => variant!(Payment, "order_mismatch", message),
            RemotePayError::InsufficientFunds => variant!(Payment, "insufficient_funds", message),
            RemotePayError::PasswordNotSet => variant!(Payment, "password_not_set", message),
            RemotePayError::SignatureRejected => variant!(Payment, "signature_rejected", message),
            RemotePayError::Replay => variant!(Payment, "replay", message),
            RemotePayError::SeKeyNotRegistered => {
                variant!(Payment, "se_key_not_registered", message)
            }
            RemotePayError::PasswordWrong { attempts_left } => {
                wrong("password_wrong", attempts_left)
            }
            RemotePayError::SmsCodeWrong { attempts_left } => {
                wrong("sms_code_wrong", attempts_left)
            }
            RemotePayError::PinWrong { attempts_left } => {
                wrong("pin_wrong", u32::from(attempts_left))
            }
            RemotePayError::PasswordLocked => variant!(CodeUnusable, "password_locked", message),
            RemotePayError::SmsCodeLocked => variant!(CodeUnusable, "sms_code_locked", message),
            RemotePayError::SmsCodeExpired => variant!(CodeUnusable, "sms_code_expired", message),
            RemotePayError::PinBlocked => variant!(CodeUnusable, "pin_blocked", message),
            RemotePayError::NoSeCard => variant!(Card, "no_se_card", message),
            RemotePayError::SeUnavailable => variant!(Card, "no_secure_element", message),
            RemotePayError::CardStatus(_) => variant!(Card, "card_status", message),
            RemotePayError::Se(_) => variant!(Card, "secure_element", message),
            RemotePayError::Message(_) => variant!(Backend, "protocol", message),
            RemotePayError::Signer(e) => e.into(),
            RemotePayError::Backend(e) => e.into(),
            RemotePayError::Binding(e) => e.into(),
            RemotePayError::Store(e) => e.into(),
            RemotePayError::Crypto(e) => e.into(),
        }
    }
}

#[uniffi::export(async_runtime = "tokio")]
impl Wallet {
    /// The merchant's order `order_id` (to show before paying).
    pub async fn fetch_order(&self, order_id: String) -> Result<Order, WalletFfiError> {
        Ok(self.core().fetch_order(&order_id).await?.into())
    }

    /// Registers (or replaces, which also unlocks) the payment password of `binding_id`. Only a
    /// verifier derived from it, signed by the device key, is sent.
    pub async fn set_payment_password(
        &self,
        binding_id: String,
        password: String,
    ) -> Result<PasswordStatus, WalletFfiError> {
        let password = Zeroizing::new(password);
        Ok(self
            .core()
            .set_payment_password(&binding_id, &password)
            .await?
            .into())
    }

    /// Sends a one-time code to the phone of `binding_id` for paying `order_id`.
    pub async fn request_payment_sms(
        &self,
        binding_id: String,
        order_id: String,
    ) -> Result<SmsChallenge, WalletFfiError> {
        Ok(self
            .core()
            .request_payment_sms(&binding_id, &order_id)
            .await?
            .into())
    }

    /// Pays `order_id` from `binding_id`, proving the payer with `auth`. Safe to repeat after a
    /// lost answer: the order is paid at most once.
    pub async fn pay_order(
        &self,
        binding_id: String,
        order_id: String,
        auth: PayAuth,
    ) -> Result<RemotePayment, WalletFfiError> {
        Ok(self
            .core()
            .pay_order(&binding_id, &order_id, auth.into())
            .await?
            .into())
    }

    /// The remote payments known locally, newest first (no network).
    pub fn payment_history(&self) -> Result<Vec<RemotePayment>, WalletFfiError> {
        Ok(self
            .core()
            .payment_history()?
            .into_iter()
            .map(RemotePayment::from)
            .collect())
    }

    /// Merges the remote payment system's payments of `binding_id` into the local history and
    /// returns the whole local history, newest first.
    pub async fn sync_payment_history(
        &self,
        binding_id: String,
    ) -> Result<Vec<RemotePayment>, WalletFfiError> {
        Ok(self
            .core()
            .sync_payment_history(&binding_id)
            .await?
            .into_iter()
            .map(RemotePayment::from)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wallet_core::backend::BackendError;
    use wallet_core::WalletError;

    #[test]
    fn debug_of_pay_auth_hides_the_secrets() {
        let shown = format!(
            "{:?} {:?} {:?}",
            PayAuth::Password {
                password: "135790".into()
            },
            PayAuth::Se {
                se_id: "0102".into(),
                pin: "123456".into()
            },
            PayAuth::Sms {
                challenge_id: "c1".into(),
                code: "424242".into()
            }
        );
        assert!(
            !shown.contains("135790") && !shown.contains("123456") && !shown.contains("424242")
        );
        assert!(shown.contains("0102") && shown.contains("c1"), "{shown}");
    }

    #[test]
    fn orders_convert_with_times_and_status() {
        let order = Order::from(CoreOrder {
            order_id: "o1".into(),
            merchant_id: "M0001".into(),
            merchant_name: "Shop".into(),
            amount: 1234,
            currency: "CNY".into(),
            description: "tea".into(),
            created_at: 1_700_000_000,
            expires_at: 1_700_000_900,
            status: CoreOrderStatus::Paid,
            payment_id: Some("p1".into()),
        });
        assert_eq!(order.status, OrderStatus::Paid);
        assert_eq!(
            order.expires_at.duration_since(order.created_at).ok(),
            Some(std::time::Duration::from_secs(900))
        );
        assert_eq!(order.payment_id.as_deref(), Some("p1"));
    }

    #[test]
    fn remote_payment_errors_carry_codes_and_attempts() {
        assert_eq!(
            WalletFfiError::from(WalletError::RemotePay(RemotePayError::PasswordWrong {
                attempts_left: 3
            })),
            WalletFfiError::WrongCode {
                code: "password_wrong".into(),
                error_message: "wrong payment password, 3 attempt(s) left".into(),
                attempts_left: 3
            }
        );
        assert!(matches!(
            WalletFfiError::from(RemotePayError::PinWrong { attempts_left: 2 }),
            WalletFfiError::WrongCode { ref code, attempts_left: 2, .. } if code == "pin_wrong"
        ));
        assert!(matches!(
            WalletFfiError::from(RemotePayError::SmsCodeWrong { attempts_left: 1 }),
            WalletFfiError::WrongCode { ref code, attempts_left: 1, .. } if code == "sms_code_wrong"
        ));
        for (err, code) in [
            (RemotePayError::OrderExpired, "order_expired"),
            (RemotePayError::OrderAlreadyPaid, "order_already_paid"),
            (RemotePayError::InsufficientFunds, "insufficient_funds"),
            (RemotePayError::SignatureRejected, "signature_rejected"),
            (RemotePayError::Replay, "replay"),
            (RemotePayError::PasswordNotSet, "password_not_set"),
        ] {
            assert!(
                matches!(WalletFfiError::from(err), WalletFfiError::Payment { code: ref c, .. } if c == code),
                "{code}"
            );
        }
        assert!(matches!(
            WalletFfiError::from(RemotePayError::PasswordLocked),
            WalletFfiError::CodeUnusable { ref code, .. } if code == "password_locked"
        ));
        assert_eq!(code_of(RemotePayError::PinBlocked), "pin_blocked");
        assert_eq!(code_of(RemotePayError::OrderNotFound), "order_not_found");
        assert_eq!(code_of(RemotePayError::InvalidPassword), "invalid_password");
        assert_eq!(code_of(RemotePayError::NoSeCard), "no_se_card");
        assert_eq!(
            code_of(RemotePayError::Backend(BackendError::Timeout)),
            "timeout"
        );
    }

    fn code_of(err: impl Into<WalletFfiError>) -> String {
        err.into().code().to_owned()
    }
}
