//! The binding flow against the bank, with everything it keeps in the store.

use super::model::{
    BindingEntry, DeviceKeyRecord, PendingRecord, NS_BINDINGS, NS_DEVICE_KEYS, NS_PENDING,
};
use super::{validate, Binding, BindingError, BindingRequest, PendingBinding};
use crate::backend::api::{
    self, BeginBindingRequest, BeginBindingResponse, BindingRecord, ConfirmBindingRequest,
    UnbindRequest,
};
use crate::backend::client::IdempotencyKey;
use crate::backend::{BackendClient, BackendError};
use crate::clock::unix_now;
use crate::crypto::ecdsa::P256SigningKey;
use crate::crypto::random;
use crate::store::Store;
use zeroize::Zeroizing;

/// Runs account binding for one wallet installation.
#[derive(Clone)]
pub struct Binder {
    store: Store,
    client: BackendClient,
    device_id: String,
}

impl std::fmt::Debug for Binder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Binder")
            .field("device_id", &self.device_id)
            .finish_non_exhaustive()
    }
}

impl Binder {
    /// A binder using `store` for its records and `client` to reach the bank, on behalf of the
    /// installation `device_id`.
    pub fn new(store: Store, client: BackendClient, device_id: String) -> Self {
        Self {
            store,
            client,
            device_id,
        }
    }

    /// Checks the inputs locally, then asks the bank to check the card and the holder's real-name
    /// data and to send a one-time code to the phone on file.
    pub async fn begin(&self, request: &BindingRequest) -> Result<PendingBinding, BindingError> {
        let body = BeginBindingRequest {
            pan: validate::card_number(&request.pan)?,
            holder_name: validate::holder_name(&request.holder_name)?,
            id_number: validate::id_number(&request.id_number)?,
            phone: validate::phone(&request.phone)?,
            device_id: self.device_id.clone(),
        };
        let key = IdempotencyKey::generate()?;
        let answer: BeginBindingResponse =
            self.client.post(api::PATH_BINDINGS, &body, &key).await?;
        let pending = PendingBinding::from(answer);
        let record = PendingRecord {
            pending: pending.clone(),
            device_key_pkcs8: None,
        };
        self.store
            .put_durable(NS_PENDING, &pending.session_id, &record)?;
        tracing::info!(masked_pan = %pending.masked_pan, "binding begun, code sent");
        Ok(pending)
    }

    /// Completes a pending binding with the one-time code: registers this binding's device key
    /// with the bank and stores the binding. Safe to repeat after a lost answer.
    pub async fn confirm(&self, session_id: &str, otp: &str) -> Result<Binding, BindingError> {
        let otp = validate::otp(otp)?;
        let mut record: PendingRecord = self
            .store
            .get(NS_PENDING, session_id)?
            .ok_or(BindingError::SessionNotFound)?;
        // The device key exists (durably) before the bank ever sees its public half, so a retry
        // registers the same key.
        let pkcs8 = match &record.device_key_pkcs8 {
            Some(hex_pkcs8) => decode_key(hex_pkcs8)?,
            None => {
                let key = P256SigningKey::generate()?;
                record.device_key_pkcs8 = Some(Zeroizing::new(hex::encode(key.pkcs8())));
                self.store.put_durable(NS_PENDING, session_id, &record)?;
                key
            }
        };
        let body = ConfirmBindingRequest {
            binding_session_id: session_id.to_owned(),
            otp: otp.clone(),
            device_public_key: hex::encode(pkcs8.public_key_sec1()),
            device_id: self.device_id.clone(),
        };
        // One key per attempt: the client's own retries repeat it; a confirm repeated by the app
        // after a lost answer is a new attempt that the bank answers with the same binding, since
        // the session and the device key are the same.
        let key = IdempotencyKey::generate()?;
        let answer: Result<BindingRecord, BackendError> = self
            .client
            .post(api::PATH_BINDINGS_CONFIRM, &body, &key)
            .await;
        let answer = match answer {
            Ok(answer) => answer,
            Err(e) => {
                let e = BindingError::from(e);
                if matches!(
                    e,
                    BindingError::SessionNotFound
                        | BindingError::CodeLocked
                        | BindingError::CodeExpired
                ) {
                    // The bank will never accept this session again: forget it.
                    self.store.remove(NS_PENDING, session_id)?;
                }
                return Err(e);
            }
        };
        let binding = Binding::from(&answer);
        self.store.put_durable(
            NS_DEVICE_KEYS,
            &binding.binding_id,
            &DeviceKeyRecord {
                pkcs8: Zeroizing::new(hex::encode(pkcs8.pkcs8())),
            },
        )?;
        self.store.put_durable(
            NS_BINDINGS,
            &binding.binding_id,
            &BindingEntry {
                binding: binding.clone(),
                account_token: Zeroizing::new(answer.account_token),
            },
        )?;
        self.store.remove(NS_PENDING, session_id)?;
        tracing::info!(binding_id = %binding.binding_id, masked_pan = %binding.masked_pan, "card bound");
        Ok(binding)
    }

    /// The cards bound to this wallet, oldest first.
    pub fn list(&self) -> Result<Vec<Binding>, BindingError> {
        let mut bindings: Vec<Binding> = self
            .store
            .list::<BindingEntry>(NS_BINDINGS)?
            .into_iter()
            .map(|(_, entry)| entry.binding)
            .collect();
        bindings.sort_by(|a, b| {
            a.created_at
                .cmp(&b.created_at)
                .then(a.binding_id.cmp(&b.binding_id))
        });
        Ok(bindings)
    }

    /// Pending bindings (code sent, not yet confirmed).
    pub fn pending(&self) -> Result<Vec<PendingBinding>, BindingError> {
        Ok(self
            .store
            .list::<PendingRecord>(NS_PENDING)?
            .into_iter()
            .map(|(_, record)| record.pending)
            .collect())
    }

    /// Unbinds: the bank revokes the device key (the request is signed with it), then the local
    /// binding and its key are erased. If the bank already considers the binding gone, the local
    /// copy is erased too; on network failure nothing local changes.
    pub async fn unbind(&self, binding_id: &str) -> Result<(), BindingError> {
        let key_record: DeviceKeyRecord = self
            .store
            .get(NS_DEVICE_KEYS, binding_id)?
            .ok_or(BindingError::BindingNotFound)?;
        let device_key = decode_key(&key_record.pkcs8)?;
        let timestamp = unix_now();
        let nonce = random::hex_id(16)?;
        let signature =
            device_key.sign(&api::unbind_signing_message(binding_id, timestamp, &nonce))?;
        let body = UnbindRequest {
            timestamp,
            nonce,
            signature: hex::encode(signature),
        };
        let path = format!("{}/{binding_id}/unbind", api::PATH_BINDINGS);
        let answer: Result<BindingRecord, BackendError> = self
            .client
            .post(&path, &body, &IdempotencyKey::generate()?)
            .await;
        match answer {
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.code(),
                    Some(api::codes::BINDING_REVOKED | api::codes::BINDING_NOT_FOUND)
                ) =>
            {
                tracing::warn!(
                    binding_id,
                    "bank no longer has this binding; erasing the local copy"
                );
            }
            Err(e) => return Err(e.into()),
        }
        self.store.remove(NS_BINDINGS, binding_id)?;
        self.store.remove(NS_DEVICE_KEYS, binding_id)?;
        tracing::info!(binding_id, "card unbound");
        Ok(())
    }

    /// The device signing key of a binding (for signed requests of later flows).
    pub fn device_key(&self, binding_id: &str) -> Result<P256SigningKey, BindingError> {
        let record: DeviceKeyRecord = self
            .store
            .get(NS_DEVICE_KEYS, binding_id)?
            .ok_or(BindingError::BindingNotFound)?;
        decode_key(&record.pkcs8)
    }
}

fn decode_key(pkcs8_hex: &str) -> Result<P256SigningKey, BindingError> {
    let bytes = Zeroizing::new(
        hex::decode(pkcs8_hex)
            .map_err(|_| crate::crypto::CryptoError::InvalidKey("stored device key"))?,
    );
    Ok(P256SigningKey::from_pkcs8(&bytes)?)
}
