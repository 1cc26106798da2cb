//! The payment history: receipts kept (sealed) in the store, merged with the RPS's list.

use super::model::{RemotePayment, NS_HISTORY};
use super::{RemotePayError, RemotePayer};
use crate::backend::api::remote::{PaymentHistory, PATH_RPS_PAYMENTS};

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
    /// into the local history and returns the whole local history, newest first.
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
        let path = format!(
            "{PATH_RPS_PAYMENTS}?binding_id={}",
            percent_encode(binding_id)
        );
        let remote: PaymentHistory = self.client.get(&path).await?;
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

/// Percent-encodes everything but RFC 3986 unreserved characters (for a query value).
fn percent_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
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

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(percent_encode("b-1_x.y~"), "b-1_x.y~");
        assert_eq!(percent_encode("a&b=c d"), "a%26b%3Dc%20d");
    }
}
