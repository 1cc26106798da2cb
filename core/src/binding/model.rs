//! What account binding takes and gives, and what it keeps in the store.

use crate::backend::api::{AccountKind, BeginBindingResponse, BindingRecord};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// What the user types to bind a card.
#[derive(Clone, PartialEq, Eq)]
pub struct BindingRequest {
    /// Card number (spaces and dashes allowed).
    pub pan: String,
    /// Card holder's name as on file at the bank.
    pub holder_name: String,
    /// ID number, or at least its last 4 characters.
    pub id_number: String,
    /// Mobile number on file at the bank.
    pub phone: String,
}

impl std::fmt::Debug for BindingRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the PAN, ID number or phone.
        f.debug_struct("BindingRequest").finish_non_exhaustive()
    }
}

/// A binding waiting for its one-time code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingBinding {
    /// Pass to [`super::Binder::confirm`].
    pub session_id: String,
    /// Card number masked to first 6 and last 4 digits.
    pub masked_pan: String,
    /// Kind of the account.
    pub account_kind: AccountKind,
    /// Masked phone the code went to.
    pub otp_sent_to: String,
    /// Unix time (seconds) the code expires.
    pub otp_expires_at: u64,
}

impl From<BeginBindingResponse> for PendingBinding {
    fn from(r: BeginBindingResponse) -> Self {
        Self {
            session_id: r.binding_session_id,
            masked_pan: r.masked_pan,
            account_kind: r.account_kind,
            otp_sent_to: r.otp_sent_to,
            otp_expires_at: r.otp_expires_at,
        }
    }
}

/// A card bound to this wallet, as the app shows it. Never holds the full PAN.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Binding {
    /// The bank's identifier of the binding.
    pub binding_id: String,
    /// Card number masked to first 6 and last 4 digits.
    pub masked_pan: String,
    /// Kind of the account.
    pub account_kind: AccountKind,
    /// Holder's name, masked.
    pub holder_name_masked: String,
    /// Issuing bank.
    pub issuer_name: String,
    /// Unix time (seconds) the binding was created.
    pub created_at: u64,
}

impl From<&BindingRecord> for Binding {
    fn from(r: &BindingRecord) -> Self {
        Self {
            binding_id: r.binding_id.clone(),
            masked_pan: r.masked_pan.clone(),
            account_kind: r.account_kind,
            holder_name_masked: r.holder_name_masked.clone(),
            issuer_name: r.issuer_name.clone(),
            created_at: r.created_at,
        }
    }
}

/// Store namespace of [`PendingRecord`]s, keyed by session id.
pub(crate) const NS_PENDING: &str = "binding.pending";
/// Store namespace of [`BindingEntry`]s, keyed by binding id.
pub(crate) const NS_BINDINGS: &str = "binding.bindings";
/// Store namespace of legacy [`DeviceKeyRecord`]s (software keys of bindings made before the
/// [`crate::signer::Signer`] seam), keyed by binding id.
pub(crate) const NS_DEVICE_KEYS: &str = "binding.device_keys";

/// A pending binding as stored, with what makes confirm repeatable.
#[derive(Serialize, Deserialize)]
pub(crate) struct PendingRecord {
    /// What the app sees.
    pub pending: PendingBinding,
    /// Legacy: a software device key (PKCS#8, hex) created by older versions before the first
    /// confirm. New pending bindings keep their key in the [`crate::signer::Signer`] instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_key_pkcs8: Option<Zeroizing<String>>,
    /// Alias of the device key in the [`crate::signer::Signer`], created before the first
    /// confirm (`device/{session_id}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_key_alias: Option<String>,
}

/// A binding as stored: what the app sees plus the account token.
#[derive(Serialize, Deserialize)]
pub(crate) struct BindingEntry {
    /// What the app sees.
    pub binding: Binding,
    /// The bank's token for the account (stands for the PAN in later requests).
    pub account_token: Zeroizing<String>,
    /// Alias of the binding's device key in the [`crate::signer::Signer`]. `None` for bindings
    /// made by older versions, whose software key is under [`NS_DEVICE_KEYS`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_key_alias: Option<String>,
}

/// The device private key of one binding (PKCS#8, hex), sealed by the store.
#[derive(Serialize, Deserialize)]
pub(crate) struct DeviceKeyRecord {
    /// PKCS#8 document, hex.
    pub pkcs8: Zeroizing<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use zeroize::{Zeroize, ZeroizeOnDrop};

    fn zeroized_on_drop<T: ZeroizeOnDrop>(_: &T) {}

    /// The secrets binding keeps in the store (device key PKCS#8, account token) are held in
    /// zeroizing memory whenever they are loaded (see docs/security/zeroisation.md).
    #[test]
    fn stored_secrets_are_zeroized_on_drop() {
        let pending = PendingRecord {
            pending: PendingBinding {
                session_id: "s".into(),
                masked_pan: "6222****7894".into(),
                account_kind: AccountKind::Debit,
                otp_sent_to: "138****8000".into(),
                otp_expires_at: 1,
            },
            device_key_pkcs8: Some(Zeroizing::new("3081".into())),
            device_key_alias: None,
        };
        zeroized_on_drop(&pending.device_key_pkcs8);
        let binding = Binding {
            binding_id: "b".into(),
            masked_pan: "6222****7894".into(),
            account_kind: AccountKind::Debit,
            holder_name_masked: "*三".into(),
            issuer_name: "bank".into(),
            created_at: 1,
        };
        let mut entry = BindingEntry {
            binding,
            account_token: Zeroizing::new("tok-123".into()),
            device_key_alias: None,
        };
        zeroized_on_drop(&entry.account_token);
        let mut key = DeviceKeyRecord {
            pkcs8: Zeroizing::new("3081".into()),
        };
        zeroized_on_drop(&key.pkcs8);

        // Deserialising goes straight into the zeroizing wrapper.
        let json = serde_json::to_string(&key).unwrap();
        let back: DeviceKeyRecord = serde_json::from_str(&json).unwrap();
        assert_eq!(back.pkcs8.as_str(), "3081");

        entry.account_token.zeroize();
        key.pkcs8.zeroize();
        assert!(entry.account_token.is_empty() && key.pkcs8.is_empty());
    }
}
