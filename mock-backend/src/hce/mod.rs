//! The HCE token service: tokens (virtual PANs bound to a binding's account) and their
//! limited-use keys, for wallets without a secure element; and the resolver the issuer asks
//! when an authorisation carries a token ([`resolver`]).
//!
//! - [`service`]: `POST /hce/v1/cards` and `POST /hce/v1/cards/{token_id}/keys` — signed by the
//!   binding's device key, timestamp ±300 s, nonce once per binding, idempotency keys.
//! - [`resolver`]: [`HceTokens::resolve`], [`HceTokens::luk_status`],
//!   [`HceTokens::record_use`], [`HceTokens::check_arqc`].
//! - [`records`]: sled records; [`routes`]: HTTP; [`error`]: the error body.
//!
//! # Public test values
//!
//! | what | value |
//! |---|---|
//! | token PAN | BIN [`TOKEN_BIN`] `628889`, 9 random digits, Luhn; PSN `01`; expiry the last day of the month 5 years on |
//! | algorithm | SM4 ([`TOKEN_CRYPTO`]) |
//! | token MK-AC | from the test IMK-AC over token PAN / PSN (`wallet_core::card::keys::derive_icc_master_key`) |
//! | `LUK_i` | `wallet_core::hce::luk::derive_luk`: SM4(MK-AC)[`00 i F0 00×13`] |
//! | key limits | [`LUK_MAX_USES`] transactions, [`LUK_TTL_SECS`] seconds from issue (mock clock) |
//! | CVM limit | [`CVM_LIMIT`] fen |
//!
//! Key indices run from 1 to 255 per token, each issued once, batches in increasing order.
//! Provisioning a new token for a binding suspends the binding's earlier tokens.

pub mod error;
pub mod records;
pub mod resolver;
pub mod routes;
pub mod service;

pub use error::HceServiceError;
pub use resolver::{AcceptedCryptogram, HceDecline, LukStatus, ResolvedToken};
pub use routes::routes;

use std::sync::{Mutex, MutexGuard, PoisonError};
use wallet_core::card::CardCrypto;

use crate::persist::{Store, StoreError, Table};
use crate::tsm::bank_link::BankLink;
use records::{LukRecord, TokenRecord};

/// The BIN of token PANs (fictional).
pub const TOKEN_BIN: &str = "628889";
/// The algorithm of tokens.
pub const TOKEN_CRYPTO: CardCrypto = CardCrypto::Sm4;
/// Transactions one key may serve.
pub const LUK_MAX_USES: u32 = wallet_core::hce::luk::DEFAULT_MAX_USES;
/// Life of one key, seconds.
pub const LUK_TTL_SECS: u64 = wallet_core::hce::luk::DEFAULT_TTL_SECS;
/// CVM limit of tokens (fen): ¥1,000.
pub const CVM_LIMIT: u64 = 100_000;

/// The token service's state.
#[derive(Debug)]
pub struct HceTokens {
    tokens: Table<TokenRecord>,
    /// Token PAN → token id.
    pans: Table<String>,
    /// `{binding_id}/{token_id}` → token id.
    by_binding: Table<String>,
    luks: Table<LukRecord>,
    nonces: Table<u64>,
    bank: BankLink,
    lock: Mutex<()>,
}

impl HceTokens {
    /// Opens the token service's tables (and its view of the bank's bindings) in `store`.
    pub fn open(store: &Store) -> Result<HceTokens, StoreError> {
        Ok(HceTokens {
            tokens: store.table("hce.tokens")?,
            pans: store.table("hce.token_pans")?,
            by_binding: store.table("hce.binding_tokens")?,
            luks: store.table("hce.luks")?,
            nonces: store.table("hce.nonces")?,
            bank: BankLink::open(store)?,
            lock: Mutex::new(()),
        })
    }

    fn lock(&self) -> MutexGuard<'_, ()> {
        self.lock.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The token `token_id`.
    pub fn token(&self, token_id: &str) -> Result<Option<TokenRecord>, StoreError> {
        self.tokens.get(token_id)
    }

    /// The tokens of `binding_id`, in id order.
    pub fn tokens_of(&self, binding_id: &str) -> Result<Vec<TokenRecord>, StoreError> {
        let mut out = Vec::new();
        for id in self.by_binding.scan_prefix(format!("{binding_id}/"))? {
            if let Some(token) = self.tokens.get(&id)? {
                out.push(token);
            }
        }
        Ok(out)
    }

    /// The keys issued for `token_id`, by index.
    pub fn keys_of(&self, token_id: &str) -> Result<Vec<LukRecord>, StoreError> {
        self.luks.scan_prefix(format!("{token_id}/"))
    }
}
