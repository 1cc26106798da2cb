//! HCE payment tokens, resolved by the token service ([`crate::hce::HceTokens`]): the token
//! stands for a bound account; its cryptograms are made with limited-use keys, so the token
//! service checks them itself ([`crate::hce::HceTokens::check_arqc`]: token active, PSN, key
//! named in `9F10` issued, not expired, not spent, ATC new for the key, cryptogram) and counts
//! the use. The ARPC uses the session key of that limited-use key
//! ([`wallet_core::hce::luk::IssuerView::session_key`]).

use super::resolver::{
    CryptogramCheck, KeySource, PanResolver, PanSource, ResolveError, ResolvedPan,
};
use super::verify::Refusal;
use crate::hce::HceDecline;
use crate::state::AppState;
use std::sync::Arc;
use wallet_core::backend::api::acquiring::{IccTransaction, ResponseCode};
use wallet_core::card::keys::SessionKey;
use wallet_core::card::test_issuer::test_issuer_master_keys;
use wallet_core::hce::luk::{key_index_of_iad, IssuerView};

/// The token service's tokens, as a [`PanResolver`].
#[derive(Debug, Clone, Copy, Default)]
pub struct HceTokenPans;

impl PanResolver for HceTokenPans {
    fn resolve(&self, world: &AppState, pan: &str) -> Result<Option<ResolvedPan>, ResolveError> {
        Ok(world.hce().resolve(pan)?.map(|token| ResolvedPan {
            account_pan: token.account_pan,
            source: PanSource::Token,
            crypto: Some(token.crypto),
            keys: KeySource::Delegated(Arc::new(LimitedUseKeys)),
            online_allowed: token.active,
        }))
    }
}

/// The token service's check of a cryptogram made with a limited-use key.
#[derive(Debug, Clone, Copy)]
struct LimitedUseKeys;

/// The response code of a token service refusal.
fn refusal(decline: &HceDecline) -> Result<Refusal, ResolveError> {
    Ok(match decline {
        HceDecline::UnknownToken => (ResponseCode::InvalidCardNumber, "unknown token"),
        HceDecline::TokenSuspended => (ResponseCode::RestrictedCard, "token suspended"),
        HceDecline::PsnMismatch => (ResponseCode::CryptogramFailure, "PSN is not the token's"),
        HceDecline::UnknownKey => (ResponseCode::CryptogramFailure, "unknown limited-use key"),
        HceDecline::KeySpent => (ResponseCode::DoNotHonour, "limited-use key spent"),
        HceDecline::KeyExpired => (ResponseCode::DoNotHonour, "limited-use key expired"),
        HceDecline::Replayed => (ResponseCode::Duplicate, "ATC already used with this key"),
        HceDecline::BadCryptogram => (
            ResponseCode::CryptogramFailure,
            "the application cryptogram does not verify",
        ),
        HceDecline::Internal(detail) => return Err(ResolveError::Other(detail.clone())),
    })
}

impl CryptogramCheck for LimitedUseKeys {
    fn check(
        &self,
        world: &AppState,
        txn: &IccTransaction,
        now: u64,
    ) -> Result<Result<SessionKey, Refusal>, ResolveError> {
        let bad_data = (ResponseCode::FormatError, "malformed card data");
        let (Ok(iad), Ok(data), Ok(arqc)) = (
            txn.iad_bytes(),
            txn.cryptogram_data(),
            txn.cryptogram_bytes(),
        ) else {
            return Ok(Err(bad_data));
        };
        let accepted =
            match world
                .hce()
                .check_arqc(&txn.pan, txn.pan_sequence, &iad, &data, &arqc, now)
            {
                Ok(accepted) => accepted,
                Err(decline) => return Ok(Err(refusal(&decline)?)),
            };
        let Some(index) = key_index_of_iad(&iad) else {
            return Ok(Err(bad_data));
        };
        let key = IssuerView::session_key(
            &test_issuer_master_keys(),
            accepted.token.crypto,
            &txn.pan,
            txn.pan_sequence,
            index,
            txn.atc,
        )
        .map_err(|err| ResolveError::Other(format!("limited-use session key: {err}")))?;
        Ok(Ok(key))
    }
}
