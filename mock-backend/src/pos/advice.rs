//! Offline advices: e-cash purchases the terminal approved offline, queued — and kept in the
//! terminal's journal ([`super::journal`]) — until the acquirer has them
//! (`POST /acquirer/v1/offline-advices`, each with its own idempotency key, re-sent unchanged).

use super::{TapError, Terminal, Transaction};
use wallet_core::backend::api::acquiring::{OfflineAdviceRequest, OfflineAdviceResponse};
use wallet_core::backend::client::IdempotencyKey;

/// An offline approval waiting to be uploaded.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PendingAdvice {
    /// The idempotency key it is (and will be re-) sent with.
    pub key: IdempotencyKey,
    /// Upload order: Unix time in nanoseconds when it was queued.
    #[serde(default)]
    pub sequence: u128,
    /// The advice.
    pub request: OfflineAdviceRequest,
}

/// Uploading offline advices stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UploadError {
    /// The terminal has no acquirer link.
    #[error("the terminal has no acquirer link")]
    NoAcquirer,
    /// An upload failed; the advices from this one on stay queued.
    #[error("uploading an advice failed: {0}")]
    Online(wallet_core::backend::BackendError),
}

impl Terminal {
    /// Queues the advice of an offline approval, journaled first when the terminal has a
    /// journal (the card approved already: a journal failure leaves it in memory only).
    pub(super) fn queue_advice(&mut self, transaction: &Transaction) -> Result<(), TapError> {
        let key = IdempotencyKey::generate().map_err(|_| TapError::Random)?;
        let sequence = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let advice = PendingAdvice {
            key,
            sequence,
            request: OfflineAdviceRequest {
                terminal_id: self.config.terminal_id.clone(),
                merchant_id: self.config.merchant_id.clone(),
                terminal_type: hex::encode_upper([self.config.terminal_type]),
                fdda_verified: transaction.fdda_verified,
                transaction: transaction.card_data.clone(),
            },
        };
        if let Some(journal) = &self.journal {
            if let Err(err) = journal.write_advice(&advice) {
                tracing::warn!(%err, "an offline advice could not be journaled");
            }
        }
        self.pending.push(advice);
        Ok(())
    }

    /// Uploads the queued offline advices in order; stops at the first network failure (that
    /// advice and the later ones stay queued, to be sent again with the same keys). An
    /// answered advice leaves the journal.
    pub async fn upload_advices(&mut self) -> Result<Vec<OfflineAdviceResponse>, UploadError> {
        let link = self.acquirer.as_ref().ok_or(UploadError::NoAcquirer)?;
        let mut answers = Vec::new();
        while let Some(advice) = self.pending.first() {
            let answer = link
                .advise(&advice.request, &advice.key)
                .await
                .map_err(UploadError::Online)?;
            if let Some(journal) = &self.journal {
                if let Err(err) = journal.clear_advice(advice.key.as_str()) {
                    tracing::warn!(%err, "an uploaded advice stays in the journal");
                }
            }
            answers.push(answer);
            self.pending.remove(0);
        }
        Ok(answers)
    }
}
