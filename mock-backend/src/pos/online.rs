//! The terminal's link to the acquirer: the acquiring wire API over HTTP, with the core's
//! back-end client (reqwest, timeouts, retries of idempotent requests with the same key).

use std::time::Duration;
use wallet_core::backend::api::acquiring::{
    AuthorizationRequest, AuthorizationResponse, OfflineAdviceRequest, OfflineAdviceResponse,
    PATH_AUTHORIZATIONS, PATH_OFFLINE_ADVICES,
};
use wallet_core::backend::client::IdempotencyKey;
use wallet_core::backend::{BackendClient, BackendError, ClientConfig};

/// HTTP client of the acquirer's API. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AcquirerLink {
    client: BackendClient,
}

impl AcquirerLink {
    /// A link to the acquirer at `base_url` (e.g. the mock world's URL): 5 s per request, two
    /// retries with the same idempotency key.
    pub fn new(base_url: &str) -> Result<AcquirerLink, BackendError> {
        let mut config = ClientConfig::new(base_url);
        config.request_timeout = Duration::from_secs(5);
        Ok(AcquirerLink {
            client: BackendClient::new(config)?,
        })
    }

    /// A link over an existing client.
    pub fn with_client(client: BackendClient) -> AcquirerLink {
        AcquirerLink { client }
    }

    /// `POST /acquirer/v1/authorizations`.
    pub async fn authorize(
        &self,
        request: &AuthorizationRequest,
        key: &IdempotencyKey,
    ) -> Result<AuthorizationResponse, BackendError> {
        self.client.post(PATH_AUTHORIZATIONS, request, key).await
    }

    /// `POST /acquirer/v1/offline-advices`.
    pub async fn advise(
        &self,
        request: &OfflineAdviceRequest,
        key: &IdempotencyKey,
    ) -> Result<OfflineAdviceResponse, BackendError> {
        self.client.post(PATH_OFFLINE_ADVICES, request, key).await
    }
}
