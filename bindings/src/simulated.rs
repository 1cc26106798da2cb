//! Test-only (feature `test-hooks`): the SE simulator of the mock world as a
//! [`SecureElementTransport`], so the Kotlin, Swift and Python suites can open cards without a
//! phone. Three simulated GlobalPlatform SEs, readers `eSE1`, `SIM1` and `SD1`, whose state is
//! saved under a directory.

use std::sync::Arc;

use mock_backend::se_sim::{SharedSe, SimulatedSeTransport};
use wallet_core::se::SeTransport;

use crate::se::{SeChannelOpened, SeFfiError, SeReaderInfo, SeReaderKind, SecureElementTransport};

/// The three simulated secure elements (eSE, SIM, microSD). Pass it to
/// `Wallet.attach_secure_elements`; it is a [`SecureElementTransport`] in every language.
#[derive(uniffi::Object)]
pub struct SimulatedSecureElements {
    inner: SimulatedSeTransport,
}

impl std::fmt::Debug for SimulatedSecureElements {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimulatedSecureElements")
            .finish_non_exhaustive()
    }
}

impl SimulatedSecureElements {
    /// The simulated SE of `kind` itself (its contactless interface, for the mock terminal).
    pub(crate) fn shared_se(&self, kind: SeReaderKind) -> SharedSe {
        self.inner.se(kind.into())
    }
}

#[uniffi::export]
impl SimulatedSecureElements {
    /// The three SEs saved under `dir` (created, with new keys, on first use).
    #[uniffi::constructor]
    pub fn open(dir: String) -> Result<Arc<Self>, SeFfiError> {
        let inner = SimulatedSeTransport::open(&dir).map_err(|e| SeFfiError::Platform {
            error_message: format!("cannot open the simulated SEs in {dir}: {e}"),
        })?;
        Ok(Arc::new(Self { inner }))
    }

    /// The identifier (`se_id` of the cards) of the SE of `kind`.
    pub fn se_id(&self, kind: SeReaderKind) -> String {
        self.inner.se_id(kind.into())
    }

    /// Whether the SE of `kind` is present.
    pub fn is_present(&self, kind: SeReaderKind) -> bool {
        self.inner.is_present(kind.into())
    }

    /// Inserts or removes the SE of `kind` (removal breaks its open sessions; either change
    /// resets the card, which keeps its content).
    pub fn set_present(&self, kind: SeReaderKind, present: bool) {
        self.inner.set_present(kind.into(), present);
    }
}

#[uniffi::export]
impl SecureElementTransport for SimulatedSecureElements {
    fn readers(&self) -> Result<Vec<SeReaderInfo>, SeFfiError> {
        Ok(self
            .inner
            .readers()?
            .into_iter()
            .map(SeReaderInfo::from)
            .collect())
    }

    fn open_session(&self, reader: String) -> Result<u64, SeFfiError> {
        Ok(self.inner.open_session(reader)?)
    }

    fn open_logical_channel(
        &self,
        session: u64,
        aid: Option<Vec<u8>>,
        p2: u8,
    ) -> Result<SeChannelOpened, SeFfiError> {
        Ok(self.inner.open_logical_channel(session, aid, p2)?.into())
    }

    fn open_basic_channel(
        &self,
        session: u64,
        aid: Option<Vec<u8>>,
        p2: u8,
    ) -> Result<SeChannelOpened, SeFfiError> {
        Ok(self.inner.open_basic_channel(session, aid, p2)?.into())
    }

    fn transmit(&self, channel: u64, apdu: Vec<u8>) -> Result<Vec<u8>, SeFfiError> {
        Ok(self.inner.transmit(channel, apdu)?)
    }

    fn close_channel(&self, channel: u64) -> Result<(), SeFfiError> {
        Ok(self.inner.close_channel(channel)?)
    }

    fn close_session(&self, session: u64) -> Result<(), SeFfiError> {
        Ok(self.inner.close_session(session)?)
    }
}
