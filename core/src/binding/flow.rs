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
use crate::crypto::random;
use crate::signer::{key_from_hex, Signer};
use crate::store::Store;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use zeroize::Zeroizing;

/// Store namespace of the begin request in flight (at most one, under [`IN_FLIGHT`]).
const NS_BEGIN_IN_FLIGHT: &str = "binding.begin_in_flight";
/// The one key of [`NS_BEGIN_IN_FLIGHT`].
const IN_FLIGHT: &str = "current";
/// How long a begin that got no answer may be repeated under its first idempotency key (the
/// bank's code lifetime): past it, a repeat is a new attempt with a new code.
const BEGIN_REUSE_SECS: u64 = 300;

/// A begin request sent without a definite answer yet. Repeating the same request reuses its
/// idempotency key, so a begin whose answer was lost (or that is still on its way) opens one
/// session at the bank and sends one code, however often the app repeats it.
#[derive(Debug, Serialize, Deserialize)]
struct BeginInFlight {
    /// SHA-256 of the request body (the request itself holds the PAN, which the phone keeps
    /// nowhere).
    fingerprint: String,
    idempotency_key: IdempotencyKey,
    started_at: u64,
}

/// Runs account binding for one wallet installation.
#[derive(Clone)]
pub struct Binder {
    store: Store,
    client: BackendClient,
    device_id: String,
    signer: Arc<dyn Signer>,
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
    /// installation `device_id`; device keys are created and used through `signer`.
    pub fn new(
        store: Store,
        client: BackendClient,
        device_id: String,
        signer: Arc<dyn Signer>,
    ) -> Self {
        Self {
            store,
            client,
            device_id,
            signer,
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
        let key = self.begin_key(&body)?;
        let answer: Result<BeginBindingResponse, BackendError> =
            self.client.post(api::PATH_BINDINGS, &body, &key).await;
        if !matches!(&answer, Err(e) if e.is_transient()) {
            // A definite answer: the next begin is a new attempt (e.g. to have a new code sent).
            self.store.remove(NS_BEGIN_IN_FLIGHT, IN_FLIGHT)?;
        }
        let pending = PendingBinding::from(answer?);
        let record = PendingRecord {
            pending: pending.clone(),
            device_key_pkcs8: None,
            device_key_alias: None,
        };
        self.store
            .put_durable(NS_PENDING, &pending.session_id, &record)?;
        tracing::info!(masked_pan = %pending.masked_pan, "binding begun, code sent");
        Ok(pending)
    }

    /// The idempotency key of `body`: the key of the same begin in flight, else a new one,
    /// recorded durably before the request leaves.
    fn begin_key(&self, body: &BeginBindingRequest) -> Result<IdempotencyKey, BindingError> {
        let json = serde_json::to_vec(body).map_err(|e| BackendError::Protocol(e.to_string()))?;
        let fingerprint = hex::encode(ring::digest::digest(&ring::digest::SHA256, &json));
        let now = unix_now();
        if let Some(in_flight) = self
            .store
            .get::<BeginInFlight>(NS_BEGIN_IN_FLIGHT, IN_FLIGHT)?
        {
            if in_flight.fingerprint == fingerprint
                && now.saturating_sub(in_flight.started_at) < BEGIN_REUSE_SECS
            {
                return Ok(in_flight.idempotency_key);
            }
        }
        let idempotency_key = IdempotencyKey::generate()?;
        self.store.put_durable(
            NS_BEGIN_IN_FLIGHT,
            IN_FLIGHT,
            &BeginInFlight {
                fingerprint,
                idempotency_key: idempotency_key.clone(),
                started_at: now,
            },
        )?;
        Ok(idempotency_key)
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
        let public_key = self.pending_device_key(session_id, &mut record)?;
        let body = ConfirmBindingRequest {
            binding_session_id: session_id.to_owned(),
            otp,
            device_public_key: hex::encode(public_key),
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
                    // The bank will never accept this session again: forget it and its key.
                    self.store.remove(NS_PENDING, session_id)?;
                    if let Some(alias) = &record.device_key_alias {
                        self.forget_key(alias);
                    }
                }
                return Err(e);
            }
        };
        let binding = Binding::from(&answer);
        if let Some(pkcs8) = record.device_key_pkcs8.take() {
            // A pending binding begun by an older version: its software key stays where that
            // version kept it.
            self.store.put_durable(
                NS_DEVICE_KEYS,
                &binding.binding_id,
                &DeviceKeyRecord { pkcs8 },
            )?;
        }
        self.store.put_durable(
            NS_BINDINGS,
            &binding.binding_id,
            &BindingEntry {
                binding: binding.clone(),
                account_token: Zeroizing::new(answer.account_token),
                device_key_alias: record.device_key_alias.clone(),
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
        let entry = self.entry(binding_id)?;
        let timestamp = unix_now();
        let nonce = random::hex_id(16)?;
        let signature = self.sign(
            binding_id,
            &api::unbind_signing_message(binding_id, timestamp, &nonce),
        )?;
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
        if let Some(alias) = &entry.device_key_alias {
            self.forget_key(alias);
        }
        tracing::info!(binding_id, "card unbound");
        Ok(())
    }

    /// Signs `message` with the device key of `binding_id` (ECDSA P-256 / SHA-256, ASN.1 DER),
    /// for the signed requests of later flows (card orders, HCE, remote payment).
    pub fn sign(&self, binding_id: &str, message: &[u8]) -> Result<Vec<u8>, BindingError> {
        let entry = self.entry(binding_id)?;
        match &entry.device_key_alias {
            Some(alias) => Ok(self.signer.sign(alias, message)?),
            None => Ok(self.legacy_key(binding_id)?.sign(message)?),
        }
    }

    /// The device public key of `binding_id` (SEC1 uncompressed, 65 bytes), as registered
    /// with the bank.
    pub fn public_key(&self, binding_id: &str) -> Result<Vec<u8>, BindingError> {
        let entry = self.entry(binding_id)?;
        match &entry.device_key_alias {
            Some(alias) => self.signer.public_key(alias)?.ok_or(BindingError::Signer(
                crate::signer::SignerError::KeyNotFound,
            )),
            None => Ok(self.legacy_key(binding_id)?.public_key_sec1()),
        }
    }

    /// The stored binding, or [`BindingError::BindingNotFound`].
    fn entry(&self, binding_id: &str) -> Result<BindingEntry, BindingError> {
        self.store
            .get(NS_BINDINGS, binding_id)?
            .ok_or(BindingError::BindingNotFound)
    }

    /// The software device key of a binding made before the signer seam.
    fn legacy_key(
        &self,
        binding_id: &str,
    ) -> Result<crate::crypto::ecdsa::P256SigningKey, BindingError> {
        let record: DeviceKeyRecord = self
            .store
            .get(NS_DEVICE_KEYS, binding_id)?
            .ok_or(BindingError::BindingNotFound)?;
        Ok(key_from_hex(&record.pkcs8)?)
    }

    /// The public half of the pending binding's device key, creating the key (and recording
    /// its alias durably) on the first confirm.
    fn pending_device_key(
        &self,
        session_id: &str,
        record: &mut PendingRecord,
    ) -> Result<Vec<u8>, BindingError> {
        if let Some(pkcs8) = &record.device_key_pkcs8 {
            return Ok(key_from_hex(pkcs8)?.public_key_sec1());
        }
        if let Some(alias) = &record.device_key_alias {
            if let Some(public) = self.signer.public_key(alias)? {
                return Ok(public);
            }
        }
        let alias = format!("device/{session_id}");
        let public = self.signer.generate_key(&alias)?;
        record.device_key_alias = Some(alias);
        self.store.put_durable(NS_PENDING, session_id, &*record)?;
        Ok(public)
    }

    /// Deletes a device key that is no longer needed; a failure only leaves an unused key.
    fn forget_key(&self, alias: &str) {
        if let Err(e) = self.signer.delete_key(alias) {
            tracing::warn!(error = %e, "could not delete an unused device key");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::api::AccountKind;
    use crate::backend::ClientConfig;
    use crate::crypto::ecdsa::{verify_p256, P256SigningKey};
    use crate::signer::{SignerError, SoftwareSigner};
    use crate::store::SoftwareKeyStore;

    fn binder() -> (Binder, Store, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let ks = Arc::new(SoftwareKeyStore::open(&dir.path().join("ks.key")).unwrap());
        let store = Store::open(&dir.path().join("store"), ks).unwrap();
        let client = BackendClient::new(ClientConfig::new("http://127.0.0.1:9")).unwrap();
        let signer = Arc::new(SoftwareSigner::new(store.clone()));
        let binder = Binder::new(store.clone(), client, "device".into(), signer);
        (binder, store, dir)
    }

    fn entry(binding_id: &str, alias: Option<&str>) -> BindingEntry {
        BindingEntry {
            binding: Binding {
                binding_id: binding_id.into(),
                masked_pan: "622202******7894".into(),
                account_kind: AccountKind::Debit,
                holder_name_masked: "*三".into(),
                issuer_name: "Bank".into(),
                created_at: 1,
            },
            account_token: Zeroizing::new("token".into()),
            device_key_alias: alias.map(str::to_owned),
        }
    }

    #[test]
    fn a_binding_of_an_older_version_signs_with_its_software_key() {
        let (binder, store, _dir) = binder();
        let key = P256SigningKey::generate().unwrap();
        // The layout older versions wrote: no alias, the PKCS#8 under NS_DEVICE_KEYS.
        store.put(NS_BINDINGS, "old", &entry("old", None)).unwrap();
        store
            .put(
                NS_DEVICE_KEYS,
                "old",
                &DeviceKeyRecord {
                    pkcs8: Zeroizing::new(hex::encode(key.pkcs8())),
                },
            )
            .unwrap();
        assert_eq!(binder.public_key("old").unwrap(), key.public_key_sec1());
        let signature = binder.sign("old", b"message").unwrap();
        verify_p256(&key.public_key_sec1(), b"message", &signature).unwrap();
    }

    #[test]
    fn a_binding_signs_through_the_signer_by_its_alias() {
        let (binder, store, _dir) = binder();
        let public = binder.signer.generate_key("device/s-1").unwrap();
        store
            .put(NS_BINDINGS, "new", &entry("new", Some("device/s-1")))
            .unwrap();
        assert_eq!(binder.public_key("new").unwrap(), public);
        let signature = binder.sign("new", b"message").unwrap();
        verify_p256(&public, b"message", &signature).unwrap();
        binder.forget_key("device/s-1");
        assert!(matches!(
            binder.sign("new", b"message"),
            Err(BindingError::Signer(SignerError::KeyNotFound))
        ));
        assert!(matches!(
            binder.sign("unknown", b"message"),
            Err(BindingError::BindingNotFound)
        ));
    }

    #[test]
    fn the_pending_key_is_created_once_and_recorded() {
        let (binder, store, _dir) = binder();
        let mut record = PendingRecord {
            pending: PendingBinding {
                session_id: "s-1".into(),
                masked_pan: "622202******7894".into(),
                account_kind: AccountKind::Debit,
                otp_sent_to: "138****8000".into(),
                otp_expires_at: 1,
            },
            device_key_pkcs8: None,
            device_key_alias: None,
        };
        let first = binder.pending_device_key("s-1", &mut record).unwrap();
        assert_eq!(record.device_key_alias.as_deref(), Some("device/s-1"));
        let stored: PendingRecord = store.get(NS_PENDING, "s-1").unwrap().unwrap();
        assert_eq!(stored.device_key_alias.as_deref(), Some("device/s-1"));
        let mut again = stored;
        assert_eq!(binder.pending_device_key("s-1", &mut again).unwrap(), first);
    }
}
