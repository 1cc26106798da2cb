//! The payment history: receipts kept (sealed) in the store, merged with the RPS's list.

use super::model::{RemotePayment, NS_HISTORY};
use super::{RemotePayError, RemotePayer};
use crate::backend::api::remote::{
    history_signing_message, PaymentHistory, PaymentHistoryRequest, PATH_RPS_PAYMENT_HISTORY,
};
use crate::backend::client::IdempotencyKey;

impl RemotePayer {
    /// The remote payments of this wallet as stored locally, newest first.
    pub fn payment_history(&self) -> Result<Vec<RemotePayment>, RemotePayError> {
        let mut payments: Vec<RemotePayment> = self
            .store
            .list::<RemotePayment>(NS_HISTORY)?
            .into_iter()
            .map(|(_, p)| p)
            .collect();
        sort_newest_first(&mut payments);
        Ok(payments)
    }

    /// Fetches the payments of `binding_id` from the RPS (made from any device), merges them
    /// into the local history and returns the whole local history, newest first. The read is
    /// signed by the binding's device key ([`history_signing_message`]): only the bound phone
    /// can read a binding's payments.
    pub async fn sync_payment_history(
        &self,
        binding_id: &str,
    ) -> Result<Vec<RemotePayment>, RemotePayError> {
        if !self
            .binder
            .list()?
            .iter()
            .any(|b| b.binding_id == binding_id)
        {
            return Err(RemotePayError::BindingNotFound);
        }
        let proof = self.device_proof(binding_id, |timestamp, nonce| {
            history_signing_message(binding_id, timestamp, nonce)
        })?;
        let body = PaymentHistoryRequest {
            binding_id: binding_id.to_owned(),
            proof,
        };
        let remote: PaymentHistory = self
            .client
            .post(
                PATH_RPS_PAYMENT_HISTORY,
                &body,
                &IdempotencyKey::generate()?,
            )
            .await?;
        let count = remote.payments.len();
        for receipt in remote.payments {
            if receipt.binding_id != binding_id {
                continue;
            }
            let payment = RemotePayment::from(receipt);
            self.store.put(NS_HISTORY, &payment.payment_id, &payment)?;
        }
        self.store.flush()?;
        tracing::info!(binding_id, count, "payment history synchronised");
        self.payment_history()
    }
}

/// Newest first; ties broken by payment id (descending) so the order is stable.
fn sort_newest_first(payments: &mut [RemotePayment]) {
    payments.sort_by(|a, b| {
        b.paid_at
            .cmp(&a.paid_at)
            .then_with(|| b.payment_id.cmp(&a.payment_id))
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::api::remote::AuthMode;

    fn payment(id: &str, paid_at: u64) -> RemotePayment {
        RemotePayment {
            payment_id: id.into(),
            order_id: format!("o-{id}"),
            merchant_id: "M0001".into(),
            merchant_name: "Shop".into(),
            amount: 100,
            currency: "CNY".into(),
            binding_id: "b".into(),
            masked_pan: "622202******7894".into(),
            auth: AuthMode::Password,
            paid_at,
            clearing_date: "2026-11-25".into(),
        }
    }

    #[test]
    fn newest_first_with_stable_ties() {
        let mut p = vec![payment("a", 10), payment("c", 30), payment("b", 30)];
        sort_newest_first(&mut p);
        let ids: Vec<_> = p.iter().map(|p| p.payment_id.as_str()).collect();
        assert_eq!(ids, ["c", "b", "a"]);
    }
}
