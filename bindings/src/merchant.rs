//! Test-only (feature `test-hooks`): the merchant side of remote payment, so the Kotlin, Swift and
//! Python suites can create orders on the mock payment content platform and see their result
//! without an HTTP client of their own. Uses the core's back-end client and wire types.

use std::sync::Arc;

use wallet_core::backend::api::remote::{
    CreateOrderRequest, Order as WireOrder, PATH_MERCHANT_ORDERS,
};
use wallet_core::backend::client::IdempotencyKey;
use wallet_core::backend::{BackendClient, ClientConfig};

use mock_backend::acquirer::merchants;

use crate::remote::Order;
use crate::wallet_error::WalletFfiError;

/// A merchant of the mock payment content platform at a back-end URL.
#[derive(Debug, uniffi::Object)]
pub struct MockMerchant {
    client: BackendClient,
    merchant_id: String,
}

#[uniffi::export(async_runtime = "tokio")]
impl MockMerchant {
    /// The mock café of the back end at `backend_url`.
    #[uniffi::constructor]
    pub fn new(backend_url: String) -> Result<Arc<Self>, WalletFfiError> {
        let client = BackendClient::new(ClientConfig::new(backend_url))?;
        Ok(Arc::new(Self {
            client,
            merchant_id: merchants::CAFE.id.to_owned(),
        }))
    }

    /// The merchant's identifier.
    pub fn merchant_id(&self) -> String {
        self.merchant_id.clone()
    }

    /// Creates an order of `amount_fen` CNY fen; it expires after `expires_in_secs` (`None`:
    /// the platform's default, 15 minutes).
    #[uniffi::method(default(expires_in_secs = None))]
    pub async fn create_order(
        &self,
        amount_fen: u64,
        description: String,
        expires_in_secs: Option<u64>,
    ) -> Result<Order, WalletFfiError> {
        let request = CreateOrderRequest {
            merchant_id: self.merchant_id.clone(),
            amount: amount_fen,
            currency: "CNY".to_owned(),
            description,
            expires_in_secs,
        };
        let key = IdempotencyKey::generate()?;
        let order: WireOrder = self
            .client
            .post(PATH_MERCHANT_ORDERS, &request, &key)
            .await?;
        Ok(order.into())
    }

    /// The order `order_id` as the platform knows it (its status tells the payment's result).
    pub async fn order(&self, order_id: String) -> Result<Order, WalletFfiError> {
        let order: WireOrder = self
            .client
            .get(&format!("{PATH_MERCHANT_ORDERS}/{order_id}"))
            .await?;
        Ok(order.into())
    }
}
