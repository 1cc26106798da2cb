//! Which back end the commands talk to: the embedded mock world (default) or a running one.

use crate::output::anyhow_like::Error;
use mock_backend::{MockWorld, MockWorldConfig};
use std::path::Path;
use wallet_core::backend::api::{SmsOutbox, PATH_TEST_SMS_OUTBOX};
use wallet_core::backend::{BackendClient, ClientConfig};

/// The back end of this run.
pub struct World {
    url: String,
    embedded: Option<MockWorld>,
}

impl World {
    /// Uses `backend` if given, else starts the embedded mock world with its state in
    /// `<data_dir>/mock-world`.
    pub async fn connect(backend: Option<&str>, data_dir: &Path) -> Result<Self, Error> {
        if let Some(url) = backend {
            return Ok(Self {
                url: url.trim_end_matches('/').to_owned(),
                embedded: None,
            });
        }
        let config = MockWorldConfig {
            data_dir: Some(data_dir.join("mock-world")),
            ..MockWorldConfig::default()
        };
        let world = MockWorld::start(config)
            .await
            .map_err(|e| Error::usage(format!("cannot start the embedded mock world: {e}")))?;
        Ok(Self {
            url: world.url().to_owned(),
            embedded: Some(world),
        })
    }

    /// Base URL of the back end.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Whether this is the embedded mock world.
    pub fn is_embedded(&self) -> bool {
        self.embedded.is_some()
    }

    /// TEST ONLY: the newest one-time code the mock SMS channel delivered to `phone`.
    pub async fn latest_sms_code(&self, phone: &str) -> Result<String, Error> {
        let outbox = self.sms_outbox(phone).await?;
        outbox
            .messages
            .last()
            .map(|m| m.code.clone())
            .ok_or_else(|| Error::usage(format!("no SMS was delivered to {phone}")))
    }

    /// TEST ONLY: everything the mock SMS channel delivered to `phone`.
    pub async fn sms_outbox(&self, phone: &str) -> Result<SmsOutbox, Error> {
        let client = BackendClient::new(ClientConfig::new(self.url.clone()))
            .map_err(|e| Error::usage(e.to_string()))?;
        let phone = wallet_core::binding::validate::phone(phone)
            .map_err(|e| Error::usage(e.to_string()))?;
        client
            .get(&format!("{PATH_TEST_SMS_OUTBOX}?phone={phone}"))
            .await
            .map_err(|e| Error::usage(format!("cannot read the test SMS outbox: {e}")))
    }

    /// Stops the embedded mock world (flushing its state).
    pub async fn shutdown(self) {
        if let Some(world) = self.embedded {
            world.shutdown().await;
        }
    }
}
