//! What the issuer asks the token service when an authorisation carries a token PAN: who the
//! token stands for, whether the limited-use key named in `9F10` may still serve, and — in one
//! call — the whole check of an HCE ARQC ([`HceTokens::check_arqc`]).
//!
//! The issuer recomputes the cryptogram from the test issuer master keys
//! ([`wallet_core::card::test_issuer::test_issuer_master_keys`]) with
//! [`wallet_core::hce::luk::IssuerView`]: `LUK_i` of (token PAN, PSN, key index `i` = byte 2 of
//! `9F10`), then the session key of the ATC. For the ARPC it uses
//! [`IssuerView::session_key`] with the same inputs.

use wallet_core::card::keys::CryptogramData;
use wallet_core::card::test_issuer::test_issuer_master_keys;
use wallet_core::card::CardCrypto;
use wallet_core::hce::luk::{key_index_of_iad, IssuerView, LukIndex};

use super::records::{luk_key, TokenState};
use super::HceTokens;
use crate::persist::StoreError;

/// A token PAN resolved to the account it stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedToken {
    /// The token service's identifier.
    pub token_id: String,
    /// The binding the token was provisioned for.
    pub binding_id: String,
    /// The real account's PAN (to authorise against).
    pub account_pan: String,
    /// The token's PAN sequence number.
    pub pan_sequence: u8,
    /// Algorithm of the token's cryptograms.
    pub crypto: CardCrypto,
    /// Whether the token is active (a suspended token's cryptograms are refused).
    pub active: bool,
}

/// Where a limited-use key stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LukStatus {
    /// Transactions the issuer accepted with it.
    pub uses: u32,
    /// Transactions it may serve.
    pub max_uses: u32,
    /// Unix time (mock clock) after which it is refused.
    pub expires_at: u64,
}

impl LukStatus {
    /// Whether one more transaction may be accepted at `now`.
    pub fn usable(&self, now: u64) -> bool {
        self.uses < self.max_uses && now <= self.expires_at
    }
}

/// An HCE cryptogram the issuer accepted (its use is counted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptedCryptogram {
    /// The token.
    pub token: ResolvedToken,
    /// The key index from `9F10`.
    pub key_index: LukIndex,
    /// Uses of the key, this one included.
    pub uses: u32,
}

/// Why an HCE cryptogram is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HceDecline {
    /// The PAN is no token of this service.
    #[error("unknown token")]
    UnknownToken,
    /// The token is suspended.
    #[error("token suspended")]
    TokenSuspended,
    /// The PSN is not the token's.
    #[error("PAN sequence number mismatch")]
    PsnMismatch,
    /// `9F10` names no key, or a key never issued.
    #[error("unknown limited-use key")]
    UnknownKey,
    /// The key has served all its transactions.
    #[error("limited-use key spent")]
    KeySpent,
    /// The key has expired.
    #[error("limited-use key expired")]
    KeyExpired,
    /// This ATC was already accepted with this key.
    #[error("cryptogram replayed")]
    Replayed,
    /// The cryptogram does not verify.
    #[error("cryptogram does not verify")]
    BadCryptogram,
    /// The token service's state failed.
    #[error("token service failure: {0}")]
    Internal(String),
}

impl From<StoreError> for HceDecline {
    fn from(e: StoreError) -> Self {
        HceDecline::Internal(e.to_string())
    }
}

impl HceTokens {
    /// The token `token_pan`, if this service issued it.
    pub fn resolve(&self, token_pan: &str) -> Result<Option<ResolvedToken>, StoreError> {
        let Some(token_id) = self.pans.get(token_pan)? else {
            return Ok(None);
        };
        Ok(self.tokens.get(&token_id)?.map(|t| ResolvedToken {
            token_id: t.token_id,
            binding_id: t.binding_id,
            account_pan: t.account_pan,
            pan_sequence: t.pan_sequence,
            crypto: t.crypto,
            active: t.state == TokenState::Active,
        }))
    }

    /// The limits and uses of key `index` of token `token_pan`, if issued.
    pub fn luk_status(
        &self,
        token_pan: &str,
        index: LukIndex,
    ) -> Result<Option<LukStatus>, StoreError> {
        let Some(token_id) = self.pans.get(token_pan)? else {
            return Ok(None);
        };
        Ok(self
            .luks
            .get(luk_key(&token_id, index))?
            .map(|l| LukStatus {
                uses: l.uses,
                max_uses: l.max_uses,
                expires_at: l.expires_at,
            }))
    }

    /// Counts one accepted transaction (ATC `atc`) of key `index` of token `token_pan` at `now`,
    /// if the key may still serve; returns its uses, this one included. Call it only after the
    /// cryptogram verified ([`Self::check_arqc`] does both).
    pub fn record_use(
        &self,
        token_pan: &str,
        index: LukIndex,
        atc: u16,
        now: u64,
    ) -> Result<u32, HceDecline> {
        let token_id = self.pans.get(token_pan)?.ok_or(HceDecline::UnknownToken)?;
        let _guard = self.lock();
        let key = luk_key(&token_id, index);
        let mut luk = self.luks.get(&key)?.ok_or(HceDecline::UnknownKey)?;
        if now > luk.expires_at {
            return Err(HceDecline::KeyExpired);
        }
        if luk.uses >= luk.max_uses {
            return Err(HceDecline::KeySpent);
        }
        if luk.atcs.contains(&atc) {
            return Err(HceDecline::Replayed);
        }
        luk.uses += 1;
        luk.atcs.push(atc);
        self.luks.put(&key, &luk)?;
        Ok(luk.uses)
    }

    /// The whole issuer-side check of an ARQC from an HCE token: the token is known and active,
    /// the PSN is its own, the key named in `iad` (`9F10`) was issued, is not expired, not spent,
    /// this ATC was not accepted before, and the cryptogram verifies over `data` — then the use
    /// is counted.
    pub fn check_arqc(
        &self,
        token_pan: &str,
        psn: u8,
        iad: &[u8],
        data: &CryptogramData,
        arqc: &[u8],
        now: u64,
    ) -> Result<AcceptedCryptogram, HceDecline> {
        let token = self.resolve(token_pan)?.ok_or(HceDecline::UnknownToken)?;
        if !token.active {
            return Err(HceDecline::TokenSuspended);
        }
        if token.pan_sequence != psn {
            return Err(HceDecline::PsnMismatch);
        }
        let index = key_index_of_iad(iad).ok_or(HceDecline::UnknownKey)?;
        let status = self
            .luk_status(token_pan, index)?
            .ok_or(HceDecline::UnknownKey)?;
        if now > status.expires_at {
            return Err(HceDecline::KeyExpired);
        }
        if status.uses >= status.max_uses {
            return Err(HceDecline::KeySpent);
        }
        IssuerView::verify_arqc(
            &test_issuer_master_keys(),
            token.crypto,
            token_pan,
            psn,
            iad,
            data,
            arqc,
        )
        .map_err(|_| HceDecline::BadCryptogram)?;
        let uses = self.record_use(token_pan, index, data.atc, now)?;
        Ok(AcceptedCryptogram {
            token,
            key_index: index,
            uses,
        })
    }
}
