//! Payment passwords: the binding's [`password_verifier`](wallet_core::backend::api::remote::password_verifier)
//! kept sealed, and the wrong-attempt counter that locks it.
//!
//! The phone derives the verifier (PBKDF2) and proves it per payment with an HMAC over the
//! canonical message; the RPS needs the verifier itself to check that HMAC, so it cannot keep a
//! one-way hash of it. It keeps it sealed instead: AES-256-GCM ([`aead::seal`]) under the RPS's
//! verifier sealing key, with the binding id as associated data (a sealed verifier moved to
//! another binding does not open). The sealing key is drawn from the secure RNG the first time
//! it is needed and kept in its own table `rps.keys` so a persistent world reopens its
//! verifiers; a real RPS would hold it in an HSM. Neither verifiers nor proofs are ever logged.
//!
//! [`PASSWORD_MAX_ATTEMPTS`] wrong proofs in a row lock the password (the last one answers
//! `PASSWORD_LOCKED`, like the SMS codes); a right proof resets the count; only registering a new
//! verifier unlocks it.

use crate::persist::{Store, StoreError, Table};
use serde::{Deserialize, Serialize};
use std::sync::{Mutex, OnceLock, PoisonError};
use wallet_core::backend::api::remote::{
    verify_password_proof, PasswordStatus, PASSWORD_MAX_ATTEMPTS,
};
use wallet_core::crypto::{aead, random};

use super::{device, RemoteError};
use crate::state::AppState;
use wallet_core::backend::api::remote::SetPasswordRequest;

const SEALING_KEY_NAME: &str = "password_verifier_sealing_key";
const AAD_PREFIX: &str = "openwallet/rps/password-verifier/v1/";

/// A binding's password as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PasswordRecord {
    /// `aead::seal(key, AAD_PREFIX ‖ binding_id, verifier)`, hex.
    sealed_verifier: String,
    set_at: u64,
    wrong_attempts: u32,
}

/// The payment passwords of every binding.
pub struct Passwords {
    records: Table<PasswordRecord>,
    keys: Table<String>,
    /// The verifier sealing key once loaded. It is also in `rps.keys` in clear (the mock keeps
    /// no HSM), so zeroising this copy would add nothing.
    sealing_key: OnceLock<[u8; aead::KEY_LEN]>,
    /// Serialises the read-modify-write of attempt counters.
    lock: Mutex<()>,
}

impl std::fmt::Debug for Passwords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passwords").finish_non_exhaustive()
    }
}

impl Passwords {
    /// Opens the passwords in `store` (the sealing key is created on first use).
    pub fn open(store: &Store) -> Result<Self, StoreError> {
        Ok(Self {
            records: store.table("rps.passwords")?,
            keys: store.table("rps.keys")?,
            sealing_key: OnceLock::new(),
            lock: Mutex::new(()),
        })
    }

    /// The verifier sealing key, drawn from the secure RNG and stored the first time.
    fn sealing_key(&self) -> Result<&[u8; aead::KEY_LEN], RemoteError> {
        if let Some(key) = self.sealing_key.get() {
            return Ok(key);
        }
        let fresh = random::bytes::<{ aead::KEY_LEN }>()?;
        // Another opener may have stored one first: everybody uses the stored key.
        self.keys
            .put_if_absent(SEALING_KEY_NAME, &hex::encode(fresh))?;
        let stored = self
            .keys
            .get(SEALING_KEY_NAME)?
            .ok_or_else(|| RemoteError::Internal("verifier sealing key vanished".into()))?;
        let mut key = [0u8; aead::KEY_LEN];
        hex::decode_to_slice(stored.as_str(), &mut key).map_err(|_| {
            RemoteError::Internal("stored sealing key is not 32 bytes of hex".into())
        })?;
        Ok(self.sealing_key.get_or_init(|| key))
    }

    /// Registers (or replaces) `binding_id`'s verifier at `now`, with a fresh attempt count.
    pub fn register(
        &self,
        binding_id: &str,
        verifier: &[u8; 32],
        now: u64,
    ) -> Result<PasswordStatus, RemoteError> {
        let sealed = aead::seal(self.sealing_key()?, &aad(binding_id), verifier)?;
        let record = PasswordRecord {
            sealed_verifier: hex::encode(sealed),
            set_at: now,
            wrong_attempts: 0,
        };
        let _guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        self.records.put(binding_id, &record)?;
        tracing::info!(%binding_id, "payment password registered");
        Ok(PasswordStatus {
            binding_id: binding_id.to_owned(),
            set_at: now,
            attempts_left: PASSWORD_MAX_ATTEMPTS,
        })
    }

    /// Checks `proof` of `canonical_message` for `binding_id`: `PASSWORD_NOT_SET`,
    /// `PASSWORD_LOCKED`, `PASSWORD_WRONG` (counting the try) or `Ok` (resetting the count).
    pub fn check(
        &self,
        binding_id: &str,
        canonical_message: &[u8],
        proof: &[u8],
    ) -> Result<(), RemoteError> {
        let _guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        let mut record = self
            .records
            .get(binding_id)?
            .ok_or(RemoteError::PasswordNotSet)?;
        if record.wrong_attempts >= PASSWORD_MAX_ATTEMPTS {
            return Err(RemoteError::PasswordLocked);
        }
        let sealed = hex::decode(&record.sealed_verifier)
            .map_err(|_| RemoteError::Internal("sealed verifier is not hex".into()))?;
        let verifier = aead::open(self.sealing_key()?, &aad(binding_id), &sealed)?;
        if verify_password_proof(&verifier, canonical_message, proof) {
            if record.wrong_attempts > 0 {
                record.wrong_attempts = 0;
                self.records.put(binding_id, &record)?;
            }
            return Ok(());
        }
        record.wrong_attempts += 1;
        self.records.put(binding_id, &record)?;
        tracing::info!(%binding_id, wrong_attempts = record.wrong_attempts, "wrong payment password");
        match PASSWORD_MAX_ATTEMPTS.saturating_sub(record.wrong_attempts) {
            0 => Err(RemoteError::PasswordLocked),
            attempts_left => Err(RemoteError::PasswordWrong { attempts_left }),
        }
    }
}

fn aad(binding_id: &str) -> Vec<u8> {
    format!("{AAD_PREFIX}{binding_id}").into_bytes()
}

/// Checks a password registration (verifier shape, then the device-signed request checks of
/// `device::verify`: active binding, signature over
/// [`password_signing_message`](wallet_core::backend::api::remote::password_signing_message),
/// timestamp window, nonce) and registers the verifier.
pub fn set_password(
    world: &AppState,
    request: &SetPasswordRequest,
    now: u64,
) -> Result<PasswordStatus, RemoteError> {
    let mut verifier = [0u8; 32];
    hex::decode_to_slice(&request.verifier, &mut verifier)
        .map_err(|_| RemoteError::BadRequest("verifier must be 32 bytes of hex".into()))?;
    device::verify(world, request, now)?;
    world
        .rps()
        .passwords()
        .register(&request.binding_id, &verifier, now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use wallet_core::backend::api::remote::{password_proof, password_verifier};

    #[test]
    fn verifier_is_sealed_and_five_wrong_proofs_lock() -> Result<(), Box<dyn std::error::Error>> {
        let store = Store::open(None)?;
        let passwords = Passwords::open(&store)?;
        let verifier = password_verifier("135790", "b-1");
        let status = passwords.register("b-1", &verifier, 7)?;
        assert_eq!((status.set_at, status.attempts_left), (7, 5));
        let stored = passwords.records.get("b-1")?.ok_or("no record")?;
        assert!(!stored.sealed_verifier.contains(&hex::encode(&verifier[..])));

        let message = b"message";
        let right = password_proof(&verifier[..], message);
        let wrong = password_proof(&password_verifier("000000", "b-1")[..], message);
        assert!(matches!(
            passwords.check("b-1", message, &wrong),
            Err(RemoteError::PasswordWrong { attempts_left: 4 })
        ));
        passwords.check("b-1", message, &right)?;
        for left in [4, 3, 2, 1] {
            let err = passwords.check("b-1", message, &wrong).err();
            assert!(
                matches!(err, Some(RemoteError::PasswordWrong { attempts_left }) if attempts_left == left)
            );
        }
        assert!(matches!(
            passwords.check("b-1", message, &wrong),
            Err(RemoteError::PasswordLocked)
        ));
        assert!(matches!(
            passwords.check("b-1", message, &right),
            Err(RemoteError::PasswordLocked)
        ));
        assert!(matches!(
            passwords.check("b-2", message, &right),
            Err(RemoteError::PasswordNotSet)
        ));

        // Reopening keeps the key (the verifier still opens); a new verifier unlocks.
        let reopened = Passwords::open(&store)?;
        reopened.register("b-1", &verifier, 8)?;
        reopened.check("b-1", message, &right)?;
        // A sealed verifier copied to another binding does not open.
        reopened.records.put("b-3", &stored)?;
        assert!(matches!(
            reopened.check("b-3", message, &right),
            Err(RemoteError::Internal(_))
        ));
        Ok(())
    }
}
