//! The remote payment flow: orders, the payment password, SMS challenges, signed payments.

use super::model::{pending_key, PayAuth, PendingPayment, RemotePayment, NS_HISTORY, NS_PENDING};
use super::{se_mode, validate, RemotePayError};
use crate::backend::api::remote::{
    password_proof, password_signing_message, password_verifier, sms_challenge_signing_message,
    DeviceProof, Order, OrderStatus, PasswordStatus, PaymentCredential, PaymentMessage,
    PaymentReceipt, PaymentRequest, SetPasswordRequest, SmsChallenge, SmsChallengeRequest,
    PATH_MERCHANT_ORDERS, PATH_RPS_PASSWORDS, PATH_RPS_PAYMENTS, PATH_RPS_SMS_CHALLENGES,
};
use crate::backend::client::IdempotencyKey;
use crate::backend::{BackendClient, BackendError};
use crate::binding::Binder;
use crate::clock::unix_now;
use crate::crypto::secret::hex_encode;
use crate::crypto::{random, CryptoError};
use crate::se::SeService;
use crate::store::Store;
use crate::tsm::{CardManager, CardState};
use zeroize::Zeroizing;

/// Pays merchant orders remotely for the bindings of one wallet: in SE mode (the card's
/// payment applet signs after verifying the PIN) or in non-SE mode (the binding's device key
/// signs, a payment password or SMS code proves the payer).
///
/// A submission is kept (sealed, durably) before it leaves and re-sent unchanged — same
/// message, same signature, same idempotency key — when [`RemotePayer::pay_order`] is called
/// again for the same binding and order after a lost answer, so an order is never paid twice.
#[derive(Clone)]
pub struct RemotePayer {
    pub(super) store: Store,
    pub(super) client: BackendClient,
    pub(super) binder: Binder,
    se: Option<SeAccess>,
}

/// What SE-mode signing needs: the card records and the SEs.
#[derive(Clone)]
struct SeAccess {
    cards: CardManager,
    se: SeService,
}

impl std::fmt::Debug for RemotePayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemotePayer")
            .field("se_mode", &self.se.is_some())
            .finish_non_exhaustive()
    }
}

impl RemotePayer {
    /// A payer keeping its records in `store`, reaching the merchant platform and the RPS with
    /// `client` and signing with the bindings' device keys through `binder`. Without
    /// [`RemotePayer::with_secure_elements`], SE-mode payments answer
    /// [`RemotePayError::SeUnavailable`].
    pub fn new(store: Store, client: BackendClient, binder: Binder) -> Self {
        Self {
            store,
            client,
            binder,
            se: None,
        }
    }

    /// Enables SE mode: cards are looked up in `cards`' records and their applets reached in `se`.
    pub fn with_secure_elements(mut self, cards: CardManager, se: SeService) -> Self {
        self.se = Some(SeAccess { cards, se });
        self
    }

    /// Reads an order from the payment content platform (merchant).
    pub async fn fetch_order(&self, order_id: &str) -> Result<Order, RemotePayError> {
        validate::order_id(order_id)?;
        Ok(self
            .client
            .get(&format!("{PATH_MERCHANT_ORDERS}/{order_id}"))
            .await?)
    }

    /// Registers (or replaces, which also lifts a lock-out) the payment password of
    /// `binding_id`: only its verifier (PBKDF2, salted by the binding) leaves the phone, signed
    /// by the device key. Nothing is stored locally. The PBKDF2 derivation (100 000 iterations)
    /// runs on tokio's blocking pool, not on the async task.
    pub async fn set_payment_password(
        &self,
        binding_id: &str,
        password: &str,
    ) -> Result<PasswordStatus, RemotePayError> {
        validate::password(password)?;
        let verifier = derive_verifier(password, binding_id).await?;
        let verifier_hex = hex_encode(&verifier[..]);
        let proof = self.device_proof(binding_id, |timestamp, nonce| {
            password_signing_message(binding_id, &verifier_hex, timestamp, nonce)
        })?;
        let body = SetPasswordRequest {
            binding_id: binding_id.to_owned(),
            verifier: verifier_hex,
            proof,
        };
        let status: PasswordStatus = self
            .client
            .post(PATH_RPS_PASSWORDS, &body, &IdempotencyKey::generate()?)
            .await?;
        tracing::info!(binding_id, "payment password set");
        Ok(status)
    }

    /// Asks the RPS to send a one-time code for paying `order_id` to the phone on file of
    /// `binding_id`. The request is signed by the binding's device key
    /// ([`sms_challenge_signing_message`]), so only this phone can have codes sent.
    ///
    /// A submission for this binding and order still awaiting its answer (lost, or the app
    /// died before it came) is re-sent first, since the RPS sends no code for an order it
    /// already paid: accepted, its receipt goes to the history and the answer is
    /// [`RemotePayError::OrderAlreadyPaid`] (paid — by that submission); refused definitively,
    /// it is dropped and a code is asked for; still unanswered, that error is returned.
    pub async fn request_payment_sms(
        &self,
        binding_id: &str,
        order_id: &str,
    ) -> Result<SmsChallenge, RemotePayError> {
        validate::order_id(order_id)?;
        self.finish_pending(binding_id, order_id).await?;
        let proof = self.device_proof(binding_id, |timestamp, nonce| {
            sms_challenge_signing_message(binding_id, order_id, timestamp, nonce)
        })?;
        let body = SmsChallengeRequest {
            binding_id: binding_id.to_owned(),
            order_id: order_id.to_owned(),
            proof,
        };
        Ok(self
            .client
            .post(PATH_RPS_SMS_CHALLENGES, &body, &IdempotencyKey::generate()?)
            .await?)
    }

    /// Signs `signing_message(timestamp, nonce)` with `binding_id`'s device key, at the phone's
    /// time and with a fresh random nonce (fails with the binding error if the binding is not
    /// here).
    pub(super) fn device_proof(
        &self,
        binding_id: &str,
        signing_message: impl FnOnce(u64, &str) -> Vec<u8>,
    ) -> Result<DeviceProof, RemotePayError> {
        let timestamp = unix_now();
        let nonce = random::hex_id(NONCE_BYTES)?;
        let signature = self
            .binder
            .sign(binding_id, &signing_message(timestamp, &nonce))?;
        Ok(DeviceProof {
            timestamp,
            nonce,
            signature: hex::encode(signature),
        })
    }

    /// Pays `order_id` from `binding_id`, proving the payer with `auth`.
    ///
    /// Fetches the order (refusing an expired or paid one without sending anything), builds the
    /// canonical [`PaymentMessage`] (phone time, random nonce), signs it (SE applet, or device
    /// key), adds the credential (password proof or SMS code), stores the submission durably
    /// and sends it with an idempotency key. If an earlier call for the same binding and order
    /// got no answer (network failure, timeout), this call re-sends that stored submission
    /// unchanged — whatever `auth` says — so the RPS answers with the first outcome and the
    /// order is paid at most once. The stored submission is dropped once any definitive answer
    /// arrives; the receipt goes to the local history.
    pub async fn pay_order(
        &self,
        binding_id: &str,
        order_id: &str,
        auth: PayAuth,
    ) -> Result<RemotePayment, RemotePayError> {
        validate::order_id(order_id)?;
        let key = pending_key(binding_id, order_id);
        let pending = match self.store.get::<PendingPayment>(NS_PENDING, &key)? {
            Some(pending) => {
                tracing::info!(binding_id, order_id, "re-sending an unanswered payment");
                pending
            }
            None => {
                let pending = self.prepare(binding_id, order_id, &auth).await?;
                self.store.put_durable(NS_PENDING, &key, &pending)?;
                pending
            }
        };
        self.submit(&key, &pending).await
    }

    /// Whether a submission for this binding and order awaits its answer (the next
    /// [`RemotePayer::pay_order`] for them re-sends it).
    pub fn has_pending_payment(
        &self,
        binding_id: &str,
        order_id: &str,
    ) -> Result<bool, RemotePayError> {
        Ok(self
            .store
            .get::<PendingPayment>(NS_PENDING, &pending_key(binding_id, order_id))?
            .is_some())
    }

    /// Re-sends the unanswered submission for this binding and order, if any (see
    /// [`RemotePayer::request_payment_sms`]).
    async fn finish_pending(&self, binding_id: &str, order_id: &str) -> Result<(), RemotePayError> {
        let key = pending_key(binding_id, order_id);
        let Some(pending) = self.store.get::<PendingPayment>(NS_PENDING, &key)? else {
            return Ok(());
        };
        tracing::info!(binding_id, order_id, "re-sending an unanswered payment");
        match self.submit(&key, &pending).await {
            Ok(_) => Err(RemotePayError::OrderAlreadyPaid),
            Err(e) if e.is_definitive_rejection() => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Builds and signs a new submission.
    async fn prepare(
        &self,
        binding_id: &str,
        order_id: &str,
        auth: &PayAuth,
    ) -> Result<PendingPayment, RemotePayError> {
        match auth {
            PayAuth::Password { password } => validate::password(password)?,
            PayAuth::Se { pin, .. } => validate::pin(pin)?,
            PayAuth::Sms { .. } => {}
        }
        let order = self.fetch_order(order_id).await?;
        check_payable(&order, order_id, unix_now())?;
        let message = PaymentMessage {
            order_id: order.order_id,
            merchant_id: order.merchant_id,
            amount: order.amount,
            currency: order.currency,
            binding_id: binding_id.to_owned(),
            auth: auth.mode(),
            se_id: match auth {
                PayAuth::Se { se_id, .. } => se_id.clone(),
                _ => String::new(),
            },
            timestamp: unix_now(),
            nonce: random::hex_id(NONCE_BYTES)?,
        };
        message.validate()?;
        let bytes = message.canonical_bytes();
        let (signature, credential) = match auth {
            PayAuth::Se { se_id, pin } => (
                self.sign_with_se(binding_id, se_id, pin, &bytes).await?,
                PaymentCredential::Se,
            ),
            PayAuth::Password { password } => {
                let signature = self.binder.sign(binding_id, &bytes)?;
                let verifier = derive_verifier(password, binding_id).await?;
                let proof = hex::encode(password_proof(&verifier[..], &bytes));
                (signature, PaymentCredential::Password { proof })
            }
            PayAuth::Sms { challenge_id, code } => (
                self.binder.sign(binding_id, &bytes)?,
                PaymentCredential::Sms {
                    challenge_id: challenge_id.clone(),
                    code: Zeroizing::new(code.clone()),
                },
            ),
        };
        Ok(PendingPayment {
            idempotency_key: IdempotencyKey::generate()?,
            request: PaymentRequest {
                message,
                signature: hex::encode(signature),
                credential,
            },
        })
    }

    /// Sends a stored submission; keeps it unless the answer is definitive.
    async fn submit(
        &self,
        key: &str,
        pending: &PendingPayment,
    ) -> Result<RemotePayment, RemotePayError> {
        let answer: Result<PaymentReceipt, BackendError> = self
            .client
            .post(
                PATH_RPS_PAYMENTS,
                &pending.request,
                &pending.idempotency_key,
            )
            .await;
        let receipt = match answer {
            Ok(receipt) => receipt,
            Err(e) => {
                let e = RemotePayError::from(e);
                if e.is_definitive_rejection() {
                    self.store.remove(NS_PENDING, key)?;
                }
                return Err(e);
            }
        };
        let message = &pending.request.message;
        if receipt.order_id != message.order_id || receipt.binding_id != message.binding_id {
            return Err(RemotePayError::Backend(BackendError::Protocol(
                "the receipt is for another order or binding".into(),
            )));
        }
        let payment = RemotePayment::from(receipt);
        self.store
            .put_durable(NS_HISTORY, &payment.payment_id, &payment)?;
        self.store.remove(NS_PENDING, key)?;
        tracing::info!(
            payment_id = %payment.payment_id,
            order_id = %payment.order_id,
            amount = payment.amount,
            "remote payment accepted"
        );
        Ok(payment)
    }

    /// Has the payment applet of this binding's card in `se_id` sign `message` after `pin`.
    async fn sign_with_se(
        &self,
        binding_id: &str,
        se_id: &str,
        pin: &str,
        message: &[u8],
    ) -> Result<Vec<u8>, RemotePayError> {
        let access = self.se.as_ref().ok_or(RemotePayError::SeUnavailable)?;
        let cards = access.cards.cards().map_err(|e| match e {
            crate::tsm::CardError::Store(e) => RemotePayError::Store(e),
            other => RemotePayError::Se(crate::se::SeError::Platform {
                message: other.to_string(),
            }),
        })?;
        let card = cards
            .into_iter()
            .find(|c| c.binding_id == binding_id && c.se_id == se_id)
            .filter(|c| c.state == CardState::Active)
            .ok_or(RemotePayError::NoSeCard)?;
        let aid = hex::decode(&card.instance_aid)
            .ok()
            .filter(|aid| !aid.is_empty())
            .ok_or(RemotePayError::NoSeCard)?;
        se_mode::sign(
            access.se.clone(),
            card.reader,
            aid,
            Zeroizing::new(pin.to_owned()),
            message.to_vec(),
        )
        .await
    }
}

/// Random bytes of every nonce (32 lowercase hex characters).
const NONCE_BYTES: usize = 16;

/// [`password_verifier`] (PBKDF2, ≈100 000 HMAC rounds) on tokio's blocking pool, so the async
/// runtime's worker is not held for the derivation. A panic of the derivation is resumed here;
/// a derivation cancelled because the runtime is shutting down answers a crypto error.
async fn derive_verifier(
    password: &str,
    binding_id: &str,
) -> Result<Zeroizing<[u8; 32]>, RemotePayError> {
    let password = Zeroizing::new(password.to_owned());
    let binding_id = binding_id.to_owned();
    match tokio::task::spawn_blocking(move || password_verifier(&password, &binding_id)).await {
        Ok(verifier) => Ok(verifier),
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => Err(RemotePayError::Crypto(CryptoError::InvalidInput(
            "the password derivation was cancelled",
        ))),
    }
}

/// Refuses locally an order that cannot be paid.
fn check_payable(order: &Order, order_id: &str, now: u64) -> Result<(), RemotePayError> {
    if order.order_id != order_id {
        return Err(RemotePayError::Backend(BackendError::Protocol(
            "the platform answered another order".into(),
        )));
    }
    match order.status {
        OrderStatus::Paid => Err(RemotePayError::OrderAlreadyPaid),
        OrderStatus::Expired => Err(RemotePayError::OrderExpired),
        OrderStatus::Pending if order.expires_at <= now => Err(RemotePayError::OrderExpired),
        OrderStatus::Pending => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(status: OrderStatus, expires_at: u64) -> Order {
        Order {
            order_id: "o-1".into(),
            merchant_id: "M0001".into(),
            merchant_name: "Shop".into(),
            amount: 1234,
            currency: "CNY".into(),
            description: "tea".into(),
            created_at: 1_000,
            expires_at,
            status,
            payment_id: None,
        }
    }

    #[test]
    fn only_pending_unexpired_orders_are_payable() {
        assert!(check_payable(&order(OrderStatus::Pending, 2_000), "o-1", 1_500).is_ok());
        assert!(matches!(
            check_payable(&order(OrderStatus::Pending, 2_000), "o-1", 2_000),
            Err(RemotePayError::OrderExpired)
        ));
        assert!(matches!(
            check_payable(&order(OrderStatus::Expired, 2_000), "o-1", 1_500),
            Err(RemotePayError::OrderExpired)
        ));
        assert!(matches!(
            check_payable(&order(OrderStatus::Paid, 2_000), "o-1", 1_500),
            Err(RemotePayError::OrderAlreadyPaid)
        ));
        assert!(matches!(
            check_payable(&order(OrderStatus::Pending, 2_000), "o-2", 1_500),
            Err(RemotePayError::Backend(BackendError::Protocol(_)))
        ));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn the_verifier_is_derived_off_the_async_task() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc;
        // One runtime thread: a task spawned now only runs if the derivation yields it the
        // thread, i.e. runs on the blocking pool rather than on this task.
        let ticks = Arc::new(AtomicUsize::new(0));
        let ticker = tokio::spawn({
            let ticks = ticks.clone();
            async move {
                loop {
                    ticks.fetch_add(1, Ordering::SeqCst);
                    tokio::task::yield_now().await;
                }
            }
        });
        let derived = derive_verifier("135790", "b-1").await.unwrap();
        assert!(
            ticks.load(Ordering::SeqCst) > 0,
            "the runtime thread stayed free"
        );
        ticker.abort();
        assert_eq!(*derived, *password_verifier("135790", "b-1"));
    }
}
