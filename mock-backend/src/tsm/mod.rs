//! The TSM side of the mock world: the order API the wallet calls (`/tsm/v1/orders`), the
//! GP SERAM remote agent that runs each order's session with the phone (`/tsm/v1/seram`), and
//! the card-management scripts it sends to the SE through the phone, in the topology chosen at
//! start (direct, convergence, MTPS hub — [`topology`]).
//!
//! - [`orders`]: signed orders (device key of the binding, ±300 s, single-use nonce), card
//!   preconditions, the session they open.
//! - [`remote_agent`] and [`session`]: `/handshake` and `/remoteManagement` with the spec's
//!   status codes, Start, batches, notifications, Stop, retries.
//! - [`job`]: what an order does batch by batch — install, probe after an interruption,
//!   cleanup, lock, unlock, delete, status — converging on one fully personalised instance.
//! - [`se_issuer`] (ISD authentication, SSD creation) and [`app_provider`] (the payment
//!   instance): the two parts of every script; [`script`] builds and verifies batches over
//!   [`channel`] (precomputed SCP03, interactive SCP02).
//! - [`perso`]: device PAN, ICC master keys, the whole card profile (fDDA, risk parameters) as
//!   DGIs; [`records`]: sled tables; [`bank_link`]: bindings, device keys, the e-cash debit;
//!   [`refund`]: the e-cash a deleted card held, read from the card and credited back once.
//! - [`Tsm::se_payment_key`]: for the remote payment system, the signing key the SE payment
//!   applet generated at opening (reported in the answer to the last STORE DATA, inside the
//!   secure channel; no extra command or round trip).
//! - [`device_pans`]: for the issuer, [`Tsm::account_of_device_pan`] — the binding, account
//!   and cryptogram parameters behind a device PAN.
//!
//! Round trips of an opening on an SCP03 SE: handshake (1); the first report, answered with
//! Start and the whole script (2); the report of its R-APDUs, answered with Stop (3).

pub mod app_provider;
pub mod bank_link;
pub mod channel;
pub mod device_pans;
pub mod error;
pub mod job;
pub mod orders;
pub mod perso;
pub mod records;
pub mod refund;
pub mod remote_agent;
pub mod routes;
pub mod script;
pub mod se_issuer;
pub mod session;
pub mod topology;

pub use device_pans::DeviceAccount;
pub use error::{SeramError, TsmError};
pub use routes::routes;

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use wallet_core::backend::api::tsm::Topology;
use wallet_core::card::CardCrypto;

use crate::mtps::Mtps;
use crate::persist::{Store, StoreError};
use bank_link::BankLink;
use records::{CardState, Records};
use session::Session;

/// A session shared between the handlers that touch it.
pub type SharedSession = Arc<tokio::sync::Mutex<Session>>;

#[derive(Debug, Clone)]
struct SessionEntry {
    se_id: String,
    order_id: String,
    session: SharedSession,
}

/// The running sessions, by `sessionId` (memory only: a restarted world has none, and their
/// pending orders read as lost).
#[derive(Debug, Default)]
pub struct Sessions {
    map: Mutex<HashMap<String, SessionEntry>>,
}

impl Sessions {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, SessionEntry>> {
        self.map.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds a session.
    pub fn insert(&self, se_id: &str, session: Session) -> SharedSession {
        let id = session.id.clone();
        let order_id = session.order_id.clone();
        let shared = Arc::new(tokio::sync::Mutex::new(session));
        self.map().insert(
            id,
            SessionEntry {
                se_id: se_id.to_ascii_uppercase(),
                order_id,
                session: Arc::clone(&shared),
            },
        );
        shared
    }

    /// The session `id`.
    pub fn get(&self, id: &str) -> Option<SharedSession> {
        self.map().get(id).map(|e| Arc::clone(&e.session))
    }

    /// The session of order `order_id`.
    pub fn of_order(&self, order_id: &str) -> Option<SharedSession> {
        self.map()
            .values()
            .find(|e| e.order_id == order_id)
            .map(|e| Arc::clone(&e.session))
    }

    /// Every session for SE `se_id`.
    pub fn on_se(&self, se_id: &str) -> Vec<SharedSession> {
        let se_id = se_id.to_ascii_uppercase();
        self.map()
            .values()
            .filter(|e| e.se_id == se_id)
            .map(|e| Arc::clone(&e.session))
            .collect()
    }

    /// Every session.
    pub fn all(&self) -> Vec<SharedSession> {
        self.map()
            .values()
            .map(|e| Arc::clone(&e.session))
            .collect()
    }

    /// Forgets the session `id`.
    pub fn remove(&self, id: &str) {
        self.map().remove(id);
    }
}

/// Algorithm of an SE payment applet's signing key (chosen by the card profile).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SeKeyAlgorithm {
    /// ECDSA P-256 / SHA-256, DER signatures (3DES card profiles).
    P256,
    /// SM2 with SM3 and the default user ID, `r ‖ s` signatures (SM4 card profiles).
    Sm2,
}

impl SeKeyAlgorithm {
    /// The algorithm of the signing key of a card whose profile uses `crypto`.
    pub fn of(crypto: CardCrypto) -> SeKeyAlgorithm {
        match crypto {
            CardCrypto::Tdes => SeKeyAlgorithm::P256,
            CardCrypto::Sm4 => SeKeyAlgorithm::Sm2,
        }
    }
}

/// The public half of an SE payment applet's signing key, as the TSM registered it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SePaymentKey {
    /// Its algorithm.
    pub algorithm: SeKeyAlgorithm,
    /// Uncompressed point `04 ‖ X ‖ Y` (65 bytes).
    pub public_key: Vec<u8>,
}

/// The TSM side: records, the bank link, the public service platform, the running sessions.
#[derive(Debug)]
pub struct Tsm {
    topology: Topology,
    records: Records,
    bank: BankLink,
    mtps: Mtps,
    sessions: Sessions,
    /// Serialises order creation (an order supersedes the running sessions of its SE).
    order_gate: tokio::sync::Mutex<()>,
}

impl Tsm {
    /// The TSM side in `store`, organised as `topology`.
    pub fn open(store: &Store, topology: Topology) -> Result<Tsm, StoreError> {
        Ok(Tsm {
            topology,
            records: Records::open(store)?,
            bank: BankLink::open(store)?,
            mtps: Mtps::open(store)?,
            sessions: Sessions::default(),
            order_gate: tokio::sync::Mutex::new(()),
        })
    }

    /// The SE payment applet's signing key of `binding_id`'s card on `se_id`, for the remote
    /// payment system: `Some` only while that card is active (a locked, deleted or unconfirmed
    /// card signs nothing the RPS accepts).
    pub fn se_payment_key(
        &self,
        binding_id: &str,
        se_id: &str,
    ) -> Result<Option<SePaymentKey>, StoreError> {
        Ok(self
            .records
            .cards_on(se_id)?
            .into_iter()
            .find(|card| card.binding_id == binding_id && card.state == CardState::Active)
            .and_then(|card| card.se_payment_key))
    }

    /// The topology chosen at start.
    pub fn topology(&self) -> Topology {
        self.topology
    }

    /// The TSM's records.
    pub fn records(&self) -> &Records {
        &self.records
    }

    /// The link to the bank.
    pub fn bank(&self) -> &BankLink {
        &self.bank
    }

    /// The public service platform.
    pub fn mtps(&self) -> &Mtps {
        &self.mtps
    }

    /// The running sessions.
    pub fn sessions(&self) -> &Sessions {
        &self.sessions
    }
}
