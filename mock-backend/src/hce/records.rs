//! The token service's sled records: tokens (with their account), and one record per issued
//! limited-use key counting the transactions the issuer accepted with it.

use serde::{Deserialize, Serialize};
use wallet_core::backend::api::hce::mask;
use wallet_core::backend::api::AccountKind;
use wallet_core::card::CardCrypto;

/// Whether a token may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenState {
    /// Usable.
    Active,
    /// Replaced by a newer token of the same binding: no more keys, cryptograms refused.
    Suspended,
}

/// A token as the token service keeps it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    /// The service's identifier.
    pub token_id: String,
    /// The virtual PAN.
    pub token_pan: String,
    /// Its PAN sequence number.
    pub pan_sequence: u8,
    /// Expiry `YYMMDD`.
    pub expiry: String,
    /// Algorithm of its cryptograms.
    pub crypto: CardCrypto,
    /// The binding it was provisioned for.
    pub binding_id: String,
    /// The real account it stands for.
    pub account_pan: String,
    /// Kind of that account.
    pub account_kind: AccountKind,
    /// Active or suspended.
    pub state: TokenState,
    /// The next key index to issue (256: none left).
    pub next_index: u16,
    /// Unix time (mock clock) of provisioning.
    pub created_at: u64,
}

impl std::fmt::Debug for TokenRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenRecord")
            .field("token_id", &self.token_id)
            .field("token_pan", &mask(&self.token_pan))
            .field("binding_id", &self.binding_id)
            .field("state", &self.state)
            .field("next_index", &self.next_index)
            .finish_non_exhaustive()
    }
}

/// One issued limited-use key: its limits and what the issuer accepted with it. The key itself
/// is not stored (it is derived again when needed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LukRecord {
    /// The token.
    pub token_id: String,
    /// Key index.
    pub index: u8,
    /// Transactions the key may serve.
    pub max_uses: u32,
    /// Transactions the issuer accepted with it.
    pub uses: u32,
    /// Unix time (mock clock) of issue.
    pub issued_at: u64,
    /// Unix time after which its cryptograms are refused.
    pub expires_at: u64,
    /// ATCs of the accepted transactions (a repeated ATC is a replayed cryptogram).
    pub atcs: Vec<u16>,
}

/// The sled key of key `index` of `token_id` (sorted by index within the token).
pub fn luk_key(token_id: &str, index: u8) -> String {
    format!("{token_id}/{index:03}")
}
