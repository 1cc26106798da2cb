//! Provisioning and key issue: the two endpoints' logic.
//!
//! Checks, in order: request shape (`BAD_REQUEST`: blank binding, nonce not 1–64 hex digits,
//! `keys` not 1–16); binding known (`BINDING_NOT_FOUND`); signature by the binding's registered
//! device key (`SIGNATURE_INVALID`); timestamp within ±300 s of the mock clock and nonce never
//! seen for the binding (`REPLAY`); binding active (`BINDING_REVOKED`); then provisioning: the
//! account may have a token (`HCE_NOT_ELIGIBLE` for stand-alone e-cash); key issue: the token
//! is the binding's (`TOKEN_NOT_FOUND`), active (`TOKEN_SUSPENDED`), has indices left
//! (`KEYS_EXHAUSTED`; a batch near the end is shortened).

use wallet_core::backend::api::hce::{
    HceCardProvisioned, HceCardRequest, HceProfile, KeyBatch, KeyBatchRequest, LimitedUseKey,
    MAX_KEYS_PER_BATCH, REQUEST_WINDOW_SECS,
};
use wallet_core::backend::api::AccountKind;
use wallet_core::card::test_issuer::test_issuer_master_keys;
use wallet_core::crypto::{ecdsa, random, CryptoError};
use wallet_core::hce::luk::{derive_luk, FIRST_LUK_INDEX, LAST_LUK_INDEX};

use super::error::HceServiceError;
use super::records::{luk_key, LukRecord, TokenRecord, TokenState};
use super::{HceTokens, CVM_LIMIT, LUK_MAX_USES, LUK_TTL_SECS, TOKEN_BIN, TOKEN_CRYPTO};
use crate::bank::MAX_FIELD_CHARS;
use crate::tsm::bank_link::BoundAccount;
use crate::tsm::perso::{expiry_for, luhn_check_digit};

/// Longest accepted nonce, in hex digits.
pub const MAX_NONCE_HEX: usize = 64;
/// CNY / China.
const CNY: u16 = 156;

/// What both requests carry for authentication.
struct Signed<'a> {
    binding_id: &'a str,
    keys: u32,
    timestamp: u64,
    nonce: &'a str,
    signature: &'a str,
    message: Vec<u8>,
}

impl HceTokens {
    /// `POST /hce/v1/cards` (see the [module documentation](self)).
    pub fn provision(
        &self,
        request: &HceCardRequest,
        now: u64,
    ) -> Result<HceCardProvisioned, HceServiceError> {
        let bound = self.authenticate(
            &Signed {
                binding_id: &request.binding_id,
                keys: request.keys,
                timestamp: request.timestamp,
                nonce: &request.nonce,
                signature: &request.signature,
                message: request.signing_message(),
            },
            now,
        )?;
        if bound.record.account_kind == AccountKind::ECash {
            return Err(HceServiceError::NotEligible(
                "a stand-alone e-cash account has no HCE card".into(),
            ));
        }
        let _guard = self.lock();
        for mut earlier in self.tokens_of(&bound.record.binding_id)? {
            if earlier.state == TokenState::Active {
                earlier.state = TokenState::Suspended;
                self.tokens.put(&earlier.token_id, &earlier)?;
            }
        }
        let token_pan = self.new_token_pan()?;
        let mut token = TokenRecord {
            token_id: random::hex_id(16)?,
            token_pan,
            pan_sequence: 1,
            expiry: expiry_for(now),
            crypto: TOKEN_CRYPTO,
            binding_id: bound.record.binding_id.clone(),
            account_pan: bound.pan.clone(),
            account_kind: bound.record.account_kind,
            state: TokenState::Active,
            next_index: u16::from(FIRST_LUK_INDEX),
            created_at: now,
        };
        let keys = self.issue(&mut token, request.keys, now)?;
        self.tokens.put(&token.token_id, &token)?;
        self.pans.put(&token.token_pan, &token.token_id)?;
        self.by_binding.put(
            format!("{}/{}", token.binding_id, token.token_id),
            &token.token_id,
        )?;
        tracing::info!(token_id = %token.token_id, keys = keys.len(), "HCE token provisioned");
        Ok(HceCardProvisioned {
            token_id: token.token_id.clone(),
            binding_id: token.binding_id.clone(),
            profile: HceProfile {
                account_kind: token.account_kind,
                token_pan: token.token_pan.clone(),
                pan_sequence: token.pan_sequence,
                expiry: token.expiry.clone(),
                crypto: token.crypto,
                currency: CNY,
                country: CNY,
                cvm_limit: CVM_LIMIT,
            },
            keys,
        })
    }

    /// `POST /hce/v1/cards/{token_id}/keys` (see the [module documentation](self)).
    pub fn replenish(
        &self,
        token_id: &str,
        request: &KeyBatchRequest,
        now: u64,
    ) -> Result<KeyBatch, HceServiceError> {
        let bound = self.authenticate(
            &Signed {
                binding_id: &request.binding_id,
                keys: request.keys,
                timestamp: request.timestamp,
                nonce: &request.nonce,
                signature: &request.signature,
                message: request.signing_message(token_id),
            },
            now,
        )?;
        let _guard = self.lock();
        let mut token = self
            .tokens
            .get(token_id)?
            .filter(|t| t.binding_id == bound.record.binding_id)
            .ok_or(HceServiceError::TokenNotFound)?;
        if token.state != TokenState::Active {
            return Err(HceServiceError::TokenSuspended);
        }
        let keys = self.issue(&mut token, request.keys, now)?;
        self.tokens.put(&token.token_id, &token)?;
        tracing::info!(%token_id, keys = keys.len(), "HCE keys issued");
        Ok(KeyBatch {
            token_id: token.token_id,
            keys,
        })
    }

    /// Checks shape, binding, signature, freshness and nonce (see the
    /// [module documentation](self)).
    fn authenticate(&self, r: &Signed<'_>, now: u64) -> Result<BoundAccount, HceServiceError> {
        let binding_id = r.binding_id.trim();
        if binding_id.is_empty() || binding_id.chars().count() > MAX_FIELD_CHARS {
            return Err(HceServiceError::BadRequest(format!(
                "binding_id must be 1 to {MAX_FIELD_CHARS} characters"
            )));
        }
        if r.nonce.is_empty()
            || r.nonce.len() > MAX_NONCE_HEX
            || !r.nonce.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return Err(HceServiceError::BadRequest(format!(
                "nonce must be 1 to {MAX_NONCE_HEX} hex digits"
            )));
        }
        if r.keys == 0 || r.keys > MAX_KEYS_PER_BATCH {
            return Err(HceServiceError::BadRequest(format!(
                "keys must be 1 to {MAX_KEYS_PER_BATCH}"
            )));
        }
        let signature = hex::decode(r.signature)
            .map_err(|_| HceServiceError::BadRequest("signature must be hex (ASN.1 DER)".into()))?;
        let bound = self.bank.bound_account(binding_id)?;
        ecdsa::verify_p256(&bound.device_public_key, &r.message, &signature)
            .map_err(|_| HceServiceError::SignatureInvalid)?;
        if now.abs_diff(r.timestamp) > REQUEST_WINDOW_SECS {
            return Err(HceServiceError::Replay(format!(
                "timestamp {} is more than {REQUEST_WINDOW_SECS} s from the service's time {now}",
                r.timestamp
            )));
        }
        let nonce_key = format!("{binding_id}/{}", r.nonce.to_ascii_lowercase());
        if !self.nonces.put_if_absent(nonce_key, &now)? {
            return Err(HceServiceError::Replay(
                "nonce already used for this binding".into(),
            ));
        }
        if !bound.is_active() {
            return Err(HceServiceError::BindingRevoked);
        }
        Ok(bound)
    }

    /// Issues up to `wanted` keys of `token` from its next index (lock held); advances it.
    fn issue(
        &self,
        token: &mut TokenRecord,
        wanted: u32,
        now: u64,
    ) -> Result<Vec<LimitedUseKey>, HceServiceError> {
        let imk = test_issuer_master_keys();
        let mut keys = Vec::new();
        while u32::try_from(keys.len()).unwrap_or(u32::MAX) < wanted {
            let Ok(index) = u8::try_from(token.next_index) else {
                break;
            };
            if !(FIRST_LUK_INDEX..=LAST_LUK_INDEX).contains(&index) {
                break;
            }
            let key = derive_luk(
                &imk,
                token.crypto,
                &token.token_pan,
                token.pan_sequence,
                index,
            )?;
            let expires_at = now.saturating_add(LUK_TTL_SECS);
            self.luks.put(
                luk_key(&token.token_id, index),
                &LukRecord {
                    token_id: token.token_id.clone(),
                    index,
                    max_uses: LUK_MAX_USES,
                    uses: 0,
                    issued_at: now,
                    expires_at,
                    atcs: Vec::new(),
                },
            )?;
            keys.push(LimitedUseKey {
                index,
                key,
                max_uses: LUK_MAX_USES,
                issued_at: now,
                expires_at,
            });
            token.next_index += 1;
        }
        if keys.is_empty() {
            return Err(HceServiceError::KeysExhausted);
        }
        Ok(keys)
    }

    /// A token PAN no token has: [`TOKEN_BIN`], nine random digits, a Luhn check digit.
    fn new_token_pan(&self) -> Result<String, HceServiceError> {
        for _ in 0..16 {
            let random: [u8; 8] = random::bytes()?;
            let number = u64::from_be_bytes(random) % 1_000_000_000;
            let body = format!("{TOKEN_BIN}{number:09}");
            let check = luhn_check_digit(&body).ok_or(CryptoError::InvalidInput("PAN digits"))?;
            let pan = format!("{body}{check}");
            if !self.pans.contains(&pan)? {
                return Ok(pan);
            }
        }
        Err(HceServiceError::Internal("no free token PAN".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::persist::Store;
    use wallet_core::binding::validate::luhn_valid;

    #[test]
    fn token_pans_are_luhn_valid_in_the_bin_and_keys_run_out_at_255() {
        let store = Store::open(None).unwrap();
        let tokens = HceTokens::open(&store).unwrap();
        let pan = tokens.new_token_pan().unwrap();
        assert!(pan.starts_with(TOKEN_BIN) && pan.len() == 16 && luhn_valid(&pan));

        let mut token = TokenRecord {
            token_id: "t".into(),
            token_pan: pan,
            pan_sequence: 1,
            expiry: "301231".into(),
            crypto: TOKEN_CRYPTO,
            binding_id: "b".into(),
            account_pan: "6222021234567894".into(),
            account_kind: AccountKind::Debit,
            state: TokenState::Active,
            next_index: 253,
            created_at: 0,
        };
        let keys = tokens.issue(&mut token, 5, 100).unwrap();
        let indices: Vec<u8> = keys.iter().map(|k| k.index).collect();
        assert_eq!(indices, vec![253, 254, 255]);
        assert_eq!(keys[0].expires_at, 100 + LUK_TTL_SECS);
        assert_eq!(keys[0].max_uses, 5);
        assert!(matches!(
            tokens.issue(&mut token, 1, 100),
            Err(HceServiceError::KeysExhausted)
        ));
        assert_eq!(tokens.keys_of("t").unwrap().len(), 3);
    }
}
