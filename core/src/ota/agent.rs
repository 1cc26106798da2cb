//! The GP SERAM local agent: handshake, then the command exchange loop over HTTP polling, the
//! SE work done through [`crate::se`] on blocking threads.
//!
//! One session, in the best case (what the TSM aims for in an air card opening), costs three
//! HTTP round trips: handshake; the first (void) report, answered with Start and the SE RAM
//! commands; the report of their R-APDUs, answered with Stop.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::error::OtaError;
use super::exchange::{CommandExchange, Step};
use super::executor::{SeRamExecutor, Target};
use super::http::RaHttp;
use super::progress::{NoListener, OtaListener, Progress};
use super::seram::{
    validate_session_id, DataFormat, HandshakeCommand, HandshakeResponse, LocalAgentStatusEnum,
    RemoteManagementReport, SecureElement,
};
use crate::se::{preference_order, ReaderInfo, ReaderKind, SeError, SeService};

/// Settings of the local agent. The defaults follow the spec's transmission error rules.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// The SE kind to offer first (the user's choice); then eSE → SIM → SD.
    pub preferred_kind: Option<ReaderKind>,
    /// Time allowed for one HTTP exchange; the spec: give up on an answer after 40 s (the remote
    /// agent may long-poll up to 30 s).
    pub request_timeout: Duration,
    /// Time allowed to connect.
    pub connect_timeout: Duration,
    /// How long to keep retrying a request that could not be sent or got no answer; the spec:
    /// at most 5 minutes.
    pub retry_window: Duration,
    /// Pause before the first retry; doubled for each further one (up to 10 s).
    pub retry_backoff: Duration,
    /// Cap on the remote agent's polling `delay` (tests shorten it).
    pub max_delay: Duration,
    /// Largest order accepted, in bytes.
    pub max_message_bytes: usize,
    /// Time allowed for the whole session, handshake to Stop.
    pub session_deadline: Duration,
    /// Whether a plain `http://` RA endpoint is accepted (the mock world); otherwise HTTPS only.
    pub allow_http: bool,
    /// How to name the SEs in the handshake, by reader name (e.g. as
    /// [`super::identity::describe`] read them when the order was placed); a reader not listed
    /// is offered under its reader name.
    pub se_identities: Vec<(String, SecureElement)>,
}

impl Default for AgentConfig {
    fn default() -> AgentConfig {
        AgentConfig {
            preferred_kind: None,
            request_timeout: Duration::from_secs(40),
            connect_timeout: Duration::from_secs(10),
            retry_window: Duration::from_secs(5 * 60),
            retry_backoff: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_message_bytes: 4 * 1024 * 1024,
            session_deadline: Duration::from_secs(15 * 60),
            allow_http: false,
            se_identities: Vec::new(),
        }
    }
}

/// A failure met while executing SE RAM commands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutionFailure {
    /// The status it maps to (`UNAVAILABLE_SE`, `UNGRANTED_ACCESS`, `UNKNOWN_FAILURE`).
    pub status: LocalAgentStatusEnum,
    /// The `errorMsg` (never APDU content).
    pub message: String,
    /// Whether it reached the remote agent (not when Stop came in the same order).
    pub reported: bool,
}

/// How a session went. The remote agent decides whether the management task succeeded (e.g.
/// through a notification or the TSM's own API); the agent reports what it did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtaOutcome {
    /// HTTP requests sent, handshake and retries included.
    pub round_trips: u32,
    /// The GP SERAM version the remote agent chose.
    pub chosen_version: String,
    /// The SE the session started on (the first one offered), as offered.
    pub secure_element: SecureElement,
    /// SE RAM commands executed without error.
    pub se_ram_commands_executed: u32,
    /// C-APDUs exchanged with the SE.
    pub apdus_exchanged: u32,
    /// The remote agent's notifications, in order.
    pub notifications: Vec<String>,
    /// SE failures met (and reported to the remote agent).
    pub failures: Vec<ExecutionFailure>,
}

/// The GP SERAM local agent.
#[derive(Clone)]
pub struct LocalAgent {
    se: SeService,
    config: AgentConfig,
    listener: Arc<dyn OtaListener>,
}

impl std::fmt::Debug for LocalAgent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalAgent")
            .field("config", &self.config)
            .finish()
    }
}

impl LocalAgent {
    /// An agent managing the SEs of `se`.
    pub fn new(se: SeService, config: AgentConfig) -> LocalAgent {
        LocalAgent {
            se,
            config,
            listener: Arc::new(NoListener),
        }
    }

    /// Reports progress and notifications to `listener`.
    pub fn with_listener(mut self, listener: Arc<dyn OtaListener>) -> LocalAgent {
        self.listener = listener;
        self
    }

    /// Runs one management session against the remote agent at `endpoint` (the RA endpoint,
    /// e.g. `https://tsm.example/gp/seram`) for `session_id`, until the Stop command.
    pub async fn run(&self, endpoint: &str, session_id: &str) -> Result<OtaOutcome, OtaError> {
        tokio::time::timeout(
            self.config.session_deadline,
            self.session(endpoint, session_id),
        )
        .await
        .unwrap_or(Err(OtaError::SessionTimedOut))
    }

    async fn session(&self, endpoint: &str, session_id: &str) -> Result<OtaOutcome, OtaError> {
        validate_session_id(session_id).map_err(|_| OtaError::InvalidSessionId)?;
        let mut http = RaHttp::new(endpoint, session_id, &self.config)?;
        let mut progress = Progress::new(Arc::clone(&self.listener));
        progress.handshake_started();

        let se = self.se.clone();
        let preferred = self.config.preferred_kind;
        let identities = self.config.se_identities.clone();
        let targets = blocking(move || inventory(&se, preferred, &identities)).await??;
        let first = targets
            .first()
            .ok_or(OtaError::NoSecureElement)?
            .wire
            .clone();
        let proposal = HandshakeCommand::proposal(targets.iter().map(|t| t.wire.clone()).collect());
        let selection = http.handshake(&proposal).await?;
        check_selection(&proposal, &selection)?;
        tracing::info!(version = %selection.chosen_version, se = %first.se_id, "SERAM handshake done");
        progress.handshake_done();

        let mut exchange = Some(CommandExchange::new(SeRamExecutor::new(targets), progress));
        let result = self.command_exchange(&mut http, &mut exchange).await;
        let Some(mut exchange) = exchange else {
            return result.and(Err(OtaError::Se(worker_lost())));
        };
        let exchange = blocking(move || {
            exchange.close();
            exchange
        })
        .await?;
        result?;
        tracing::info!(round_trips = http.round_trips(), "SERAM session stopped");
        Ok(OtaOutcome {
            round_trips: http.round_trips(),
            chosen_version: selection.chosen_version,
            secure_element: first,
            se_ram_commands_executed: exchange.tally.se_ram_commands_executed,
            apdus_exchanged: exchange.progress.apdus_exchanged(),
            notifications: exchange.tally.notifications,
            failures: exchange.tally.failures,
        })
    }

    /// Reports and orders until Stop. `slot` holds the exchange between orders (it travels to
    /// a blocking thread for each order); it is `None` only if that thread died.
    async fn command_exchange(
        &self,
        http: &mut RaHttp,
        slot: &mut Option<CommandExchange>,
    ) -> Result<(), OtaError> {
        let mut report = RemoteManagementReport::polling();
        loop {
            let order = http.exchange(&report).await?;
            let received = Instant::now();
            let delay = Duration::from_millis(order.delay_ms()).min(self.config.max_delay);
            let mut exchange = slot.take().ok_or_else(worker_lost)?;
            let (exchange, step) = blocking(move || {
                let step = exchange.process(order);
                (exchange, step)
            })
            .await?;
            *slot = Some(exchange);
            match step? {
                Step::Stop => return Ok(()),
                Step::Report(next) => report = next,
            }
            // The delay runs from the answer, not from the end of the SE work.
            tokio::time::sleep_until((received + delay).into()).await;
        }
    }
}

/// The SEs to offer, best first, named as `identities` says, else by their reader name.
pub(crate) fn inventory(
    se: &SeService,
    preferred: Option<ReaderKind>,
    identities: &[(String, SecureElement)],
) -> Result<Vec<Target>, SeError> {
    let readers = se.readers()?;
    let infos: Vec<ReaderInfo> = readers.iter().map(|r| r.info().clone()).collect();
    Ok(preference_order(&infos, preferred)
        .into_iter()
        .filter_map(|info| readers.iter().find(|r| r.name() == info.name))
        .map(|reader| Target {
            wire: identities
                .iter()
                .find(|(name, _)| name == reader.name())
                .map(|(_, se)| se.clone())
                .unwrap_or_else(|| super::identity::by_reader_name(reader)),
            reader: reader.clone(),
        })
        .collect())
}

/// The remote agent must choose among what was proposed.
fn check_selection(
    proposal: &HandshakeCommand,
    selection: &HandshakeResponse,
) -> Result<(), OtaError> {
    if !proposal
        .transport_protocols()
        .contains(&selection.chosen_transport_protocol)
    {
        return Err(OtaError::Protocol(
            "chosen transport protocol was not proposed".into(),
        ));
    }
    let format = selection.chosen_data_format.unwrap_or(DataFormat::Json);
    if !proposal.data_formats().contains(&format) {
        return Err(OtaError::Protocol(
            "chosen data format was not proposed".into(),
        ));
    }
    if !proposal.versions().contains(&selection.chosen_version) {
        return Err(OtaError::Protocol(format!(
            "chosen version {:?} was not proposed",
            selection.chosen_version
        )));
    }
    Ok(())
}

/// Runs SE work off the async runtime.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, OtaError> {
    tokio::task::spawn_blocking(work).await.map_err(|e| {
        OtaError::Se(SeError::Platform {
            message: format!("SE worker failed: {e}"),
        })
    })
}

fn worker_lost() -> SeError {
    SeError::Platform {
        message: "SE worker lost".into(),
    }
}
