//! Wire types of the HCE token service: without a secure element the wallet asks for a *token*
//! (a virtual PAN bound to the binding's account) and batches of limited-use keys for it. Served
//! by the mock backend's `hce` module; the key derivation is [`crate::hce::luk`].
//!
//! Endpoints (every request carries an `Idempotency-Key`):
//! - `POST {PATH_HCE_CARDS}` [`HceCardRequest`] → `200` [`HceCardProvisioned`]: a new token for
//!   the binding (the binding's earlier tokens are suspended), its card profile and the first
//!   batch of keys.
//! - `POST {PATH_HCE_CARDS}/{token_id}/keys` ([`keys_path`]) [`KeyBatchRequest`] → `200`
//!   [`KeyBatch`]: the next keys of the token.
//!
//! Both requests are signed by the binding's device key (ECDSA P-256 / SHA-256, ASN.1 DER, hex)
//! over their `signing_message`; the service accepts timestamps within
//! ±[`REQUEST_WINDOW_SECS`] of its clock and each nonce once per binding. A repeated request
//! (same `Idempotency-Key`, same body) answers the first answer again, keys included, so a
//! wallet that lost an answer retries with the same key and body. Errors are the usual
//! [`super::ErrorBody`] with [`super::codes`] or [`codes`].
//!
//! The profile carries no long-term key: the phone never sees the token's ICC master keys, only
//! limited-use keys ([`LimitedUseKey`]), each good for [`LimitedUseKey::max_uses`] transactions
//! until [`LimitedUseKey::expires_at`]. Key bytes travel as hex and never show in `Debug`.

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::AccountKind;
use crate::card::perso::CardCrypto;

/// Path of the token endpoint (`POST` to provision).
pub const PATH_HCE_CARDS: &str = "/hce/v1/cards";
/// Accepted distance between a request's timestamp and the service's clock, in seconds.
pub const REQUEST_WINDOW_SECS: u64 = 300;
/// Most keys one request may ask for.
pub const MAX_KEYS_PER_BATCH: u32 = 16;

/// `POST {PATH_HCE_CARDS}/{token_id}/keys`.
pub fn keys_path(token_id: &str) -> String {
    format!("{PATH_HCE_CARDS}/{token_id}/keys")
}

/// `POST /hce/v1/cards`: provision a token for a binding, signed by the binding's device key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HceCardRequest {
    /// The bank's binding; must be active.
    pub binding_id: String,
    /// Keys wanted in the first batch (1 to [`MAX_KEYS_PER_BATCH`]).
    pub keys: u32,
    /// Unix time (seconds) of the request; the service accepts ±[`REQUEST_WINDOW_SECS`].
    pub timestamp: u64,
    /// Random hex nonce, never accepted twice for a binding.
    pub nonce: String,
    /// ECDSA P-256 / SHA-256 signature (ASN.1 DER, hex) over [`HceCardRequest::signing_message`].
    pub signature: String,
}

impl HceCardRequest {
    /// The exact bytes the device signs: UTF-8 lines joined by `\n`:
    ///
    /// ```text
    /// openwallet/hce-card/v1
    /// {binding_id}
    /// {keys}
    /// {timestamp}
    /// {nonce}
    /// ```
    pub fn signing_message(&self) -> Vec<u8> {
        format!(
            "openwallet/hce-card/v1\n{}\n{}\n{}\n{}",
            self.binding_id, self.keys, self.timestamp, self.nonce
        )
        .into_bytes()
    }
}

/// `POST /hce/v1/cards/{token_id}/keys`: more keys for a token, signed by the binding's device
/// key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyBatchRequest {
    /// The binding the token belongs to.
    pub binding_id: String,
    /// Keys wanted (1 to [`MAX_KEYS_PER_BATCH`]); fewer come back when the token's key indices
    /// run out.
    pub keys: u32,
    /// Unix time (seconds) of the request.
    pub timestamp: u64,
    /// Random hex nonce, never accepted twice for a binding.
    pub nonce: String,
    /// ECDSA P-256 / SHA-256 signature (ASN.1 DER, hex) over [`KeyBatchRequest::signing_message`].
    pub signature: String,
}

impl KeyBatchRequest {
    /// The exact bytes the device signs for token `token_id` (from the path): UTF-8 lines joined
    /// by `\n`:
    ///
    /// ```text
    /// openwallet/hce-keys/v1
    /// {binding_id}
    /// {token_id}
    /// {keys}
    /// {timestamp}
    /// {nonce}
    /// ```
    pub fn signing_message(&self, token_id: &str) -> Vec<u8> {
        format!(
            "openwallet/hce-keys/v1\n{}\n{token_id}\n{}\n{}\n{}",
            self.binding_id, self.keys, self.timestamp, self.nonce
        )
        .into_bytes()
    }
}

/// The card data of a token: the personalisation of the card application minus every key.
/// The card is online only (no fDDA material, no electronic cash).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HceProfile {
    /// Kind of the account behind the token (selects the application AID).
    pub account_kind: AccountKind,
    /// The token (virtual PAN), digits, Luhn-valid.
    pub token_pan: String,
    /// PAN sequence number of the token.
    pub pan_sequence: u8,
    /// Token expiry, `YYMMDD`.
    pub expiry: String,
    /// Algorithm of the token's cryptograms.
    pub crypto: CardCrypto,
    /// ISO 4217 numeric currency (156 = CNY).
    pub currency: u16,
    /// ISO 3166 numeric country (156 = China).
    pub country: u16,
    /// Above this amount (fen) an online transaction asks for online PIN unless the cardholder
    /// was verified on the device.
    pub cvm_limit: u64,
}

impl std::fmt::Debug for HceProfile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HceProfile")
            .field("account_kind", &self.account_kind)
            .field("token_pan", &mask(&self.token_pan))
            .field("crypto", &self.crypto)
            .finish_non_exhaustive()
    }
}

/// One limited-use key (see [`crate::hce::luk`]).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LimitedUseKey {
    /// Key index `i` (1 to 255), unique within the token; the card reports it in `9F10`.
    pub index: u8,
    /// `LUK_i`, 16 bytes as hex.
    #[serde(with = "hex_key")]
    pub key: Zeroizing<[u8; 16]>,
    /// Transactions the key may serve.
    pub max_uses: u32,
    /// Unix time (seconds, service clock) the key was issued.
    pub issued_at: u64,
    /// Unix time (seconds) after which the key must not be used.
    pub expires_at: u64,
}

impl std::fmt::Debug for LimitedUseKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LimitedUseKey")
            .field("index", &self.index)
            .field("max_uses", &self.max_uses)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// The answer to [`HceCardRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HceCardProvisioned {
    /// The service's identifier of the token (used in later paths).
    pub token_id: String,
    /// The binding the token belongs to.
    pub binding_id: String,
    /// The card data.
    pub profile: HceProfile,
    /// The first keys, by increasing index.
    pub keys: Vec<LimitedUseKey>,
}

/// The answer to [`KeyBatchRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyBatch {
    /// The token.
    pub token_id: String,
    /// The new keys, by increasing index (indices above every earlier batch's).
    pub keys: Vec<LimitedUseKey>,
}

/// Error codes of the token service (besides [`super::codes`]).
pub mod codes {
    /// Unknown token, or a token of another binding (404).
    pub const TOKEN_NOT_FOUND: &str = "TOKEN_NOT_FOUND";
    /// The token is suspended (a newer token replaced it) (409).
    pub const TOKEN_SUSPENDED: &str = "TOKEN_SUSPENDED";
    /// Every key index of the token is issued: provision a new token (409).
    pub const KEYS_EXHAUSTED: &str = "KEYS_EXHAUSTED";
    /// The account cannot have an HCE card (a stand-alone e-cash account) (422).
    pub const HCE_NOT_ELIGIBLE: &str = "HCE_NOT_ELIGIBLE";
}

/// A PAN masked to its first 6 and last 4 digits.
pub fn mask(pan: &str) -> String {
    let n = pan.chars().count();
    if n <= 10 {
        return "*".repeat(n);
    }
    pan.chars()
        .enumerate()
        .map(|(i, c)| if i < 6 || i >= n - 4 { c } else { '*' })
        .collect()
}

/// Serde of a 16-byte secret as lowercase hex.
pub mod hex_key {
    use serde::{Deserialize, Deserializer, Serializer};
    use zeroize::Zeroizing;

    /// Writes the key as 32 hex digits.
    pub fn serialize<S: Serializer>(key: &Zeroizing<[u8; 16]>, s: S) -> Result<S::Ok, S::Error> {
        // Exact-size and wiped on drop (no partial copies left by a growing buffer).
        let text = crate::crypto::secret::hex_encode(&key[..]);
        s.serialize_str(&text)
    }

    /// Reads 32 hex digits.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Zeroizing<[u8; 16]>, D::Error> {
        let text = Zeroizing::new(String::deserialize(d)?);
        let mut key = Zeroizing::new([0u8; 16]);
        hex::decode_to_slice(text.as_bytes(), &mut key[..])
            .map_err(|_| serde::de::Error::custom("a key is 32 hex digits"))?;
        Ok(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signing_messages_are_the_documented_lines() {
        let open = HceCardRequest {
            binding_id: "b1".into(),
            keys: 4,
            timestamp: 1_700_000_000,
            nonce: "ab".into(),
            signature: String::new(),
        };
        assert_eq!(
            open.signing_message(),
            b"openwallet/hce-card/v1\nb1\n4\n1700000000\nab".to_vec()
        );
        let more = KeyBatchRequest {
            binding_id: "b1".into(),
            keys: 2,
            timestamp: 5,
            nonce: "cd".into(),
            signature: String::new(),
        };
        assert_eq!(
            more.signing_message("t9"),
            b"openwallet/hce-keys/v1\nb1\nt9\n2\n5\ncd".to_vec()
        );
        assert_eq!(keys_path("t9"), "/hce/v1/cards/t9/keys");
    }

    #[test]
    fn keys_travel_as_hex_and_never_print() {
        let key = LimitedUseKey {
            index: 3,
            key: Zeroizing::new([0xAB; 16]),
            max_uses: 5,
            issued_at: 10,
            expires_at: 20,
        };
        let json = serde_json::to_string(&key).unwrap();
        assert_eq!(
            json,
            r#"{"index":3,"key":"abababababababababababababababab","max_uses":5,"issued_at":10,"expires_at":20}"#
        );
        assert_eq!(serde_json::from_str::<LimitedUseKey>(&json).unwrap(), key);
        assert!(!format!("{key:?}").to_lowercase().contains("abab"));
        let short = json.replace("abababababababababababababababab", "abab");
        assert!(serde_json::from_str::<LimitedUseKey>(&short).is_err());
        let profile = HceProfile {
            account_kind: AccountKind::Debit,
            token_pan: "6288890000000016".into(),
            pan_sequence: 1,
            expiry: "301231".into(),
            crypto: CardCrypto::Sm4,
            currency: 156,
            country: 156,
            cvm_limit: 100_000,
        };
        assert!(format!("{profile:?}").contains("628889******0016"));
        assert_eq!(mask("1234"), "****");
    }
}
