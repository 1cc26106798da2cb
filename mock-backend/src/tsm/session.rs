//! One GP SERAM management session on the remote agent's side: the rules of the spec's
//! handshake and command exchange, around the order's [`Job`].
//!
//! - Handshake: the proposal must allow HTTPS, JSON and version 2.0.0 and offer the order's SE
//!   (else `406`); the answer chooses them. A repeated handshake (the agent restarted, or its
//!   answer got lost, or a copy delayed in the network arrives late) is answered again. If a
//!   batch is out, what follows tells which it was: a void `POLLING` report means the agent
//!   restarted — the batch is abandoned and the job starts over from the TSM's records (an
//!   opening then probes the SE first); the batch's R-APDUs mean the handshake was a stale copy
//!   and the exchange goes on.
//! - The first report must be a void `POLLING` one: it is answered with Start, a notification
//!   and the first batch (delay 0: the agent reports as soon as it is done).
//! - Each report with R-APDUs is answered with the next batch, or with a notification of the
//!   outcome and Stop. After Stop the session is over (`404`).
//! - A report identical to one already answered (the agent retried after losing the answer,
//!   or a delayed copy arrives after the retry went through) gets that answer again and changes
//!   nothing; a `POLLING` report while a batch is out gets the batch again.

use ring::digest::{digest, SHA256};
use std::time::{Duration, Instant};
use wallet_core::backend::api::tsm::{CardOperation, OrderSecureElement};
use wallet_core::ota::seram::{
    decode_apdu, DataFormat, HandshakeCommand, HandshakeResponse, LocalAgentStatusEnum,
    NotificationCommand, RamCommand, RamResponse, RemoteManagementOrder, RemoteManagementReport,
    SeRamCommand, SecureElement, TransportProtocol, VERSION_2_0_0,
};

use super::error::SeramError;
use super::job::{Finish, Job, JobEnv, Step};
use super::script::Batch;

/// After this long without a request the session is lost (the spec: 5 minutes).
pub const SESSION_IDLE_LIMIT: Duration = Duration::from_secs(5 * 60);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    AwaitingHandshake,
    AwaitingPoll,
    Exchanging,
    Stopped,
}

/// A report already answered and its answer, for retries and late copies.
#[derive(Debug)]
struct LastExchange {
    digest: Vec<u8>,
    answer: RemoteManagementOrder,
}

/// What a report led to.
#[derive(Debug)]
pub struct Answer {
    /// The order message to send.
    pub order: RemoteManagementOrder,
    /// Set when the order is over.
    pub finish: Option<Finish>,
}

/// One management session.
#[derive(Debug)]
pub struct Session {
    /// The `sessionId`.
    pub id: String,
    /// The order it runs.
    pub order_id: String,
    /// The order's SE.
    pub se: OrderSecureElement,
    operation: CardOperation,
    chosen: Option<SecureElement>,
    phase: Phase,
    job: Job,
    outstanding: Option<Batch>,
    /// Every report answered since the exchange (re)started, oldest first.
    answered: Vec<LastExchange>,
    /// A handshake came while a batch was out: the next report tells a restarted agent from a
    /// stale copy of the handshake.
    rehandshaken: bool,
    touched: Instant,
}

impl Session {
    /// A session for `order_id`, waiting for its handshake.
    pub fn new(
        id: String,
        order_id: String,
        se: OrderSecureElement,
        operation: CardOperation,
        job: Job,
    ) -> Session {
        Session {
            id,
            order_id,
            se,
            operation,
            chosen: None,
            phase: Phase::AwaitingHandshake,
            job,
            outstanding: None,
            answered: Vec::new(),
            rehandshaken: false,
            touched: Instant::now(),
        }
    }

    /// Whether the session is over (Stop sent, superseded or lost).
    pub fn is_over(&self) -> bool {
        self.phase == Phase::Stopped
    }

    /// Whether no request came for [`SESSION_IDLE_LIMIT`].
    pub fn is_idle(&self) -> bool {
        self.touched.elapsed() > SESSION_IDLE_LIMIT
    }

    /// Ends the session (superseded or lost): later requests get `404`.
    pub fn stop(&mut self) {
        self.phase = Phase::Stopped;
        self.outstanding = None;
        self.answered.clear();
    }

    /// The handshake.
    pub fn handshake(
        &mut self,
        proposal: &HandshakeCommand,
    ) -> Result<HandshakeResponse, SeramError> {
        if self.phase == Phase::Stopped {
            return Err(SeramError::SessionNotFound);
        }
        if !proposal
            .transport_protocols()
            .contains(&TransportProtocol::Https)
        {
            return Err(SeramError::NotAcceptable("only HTTPS is supported".into()));
        }
        if !proposal.data_formats().contains(&DataFormat::Json) {
            return Err(SeramError::NotAcceptable(
                "only application/json is supported".into(),
            ));
        }
        if !proposal.versions().iter().any(|v| v == VERSION_2_0_0) {
            return Err(SeramError::NotAcceptable(format!(
                "only GP SERAM {VERSION_2_0_0} is supported"
            )));
        }
        let offered = proposal
            .secure_elements
            .iter()
            .find(|se| self.se.matches(se))
            .ok_or_else(|| {
                SeramError::NotAcceptable(format!(
                    "this session is for the {} SE {}, which the local agent does not offer",
                    self.se.se_type_name(),
                    self.se.se_id
                ))
            })?;
        self.touched = Instant::now();
        self.chosen = Some(offered.clone());
        if self.phase == Phase::Exchanging {
            tracing::info!(session = %self.id, "handshake again mid-session");
            self.rehandshaken = true;
        } else {
            self.restart_exchange();
        }
        Ok(HandshakeResponse {
            chosen_transport_protocol: TransportProtocol::Https,
            chosen_data_format: Some(DataFormat::Json),
            chosen_version: VERSION_2_0_0.to_owned(),
        })
    }

    /// Back to the start of the command exchange: the outstanding batch, if any, is abandoned.
    fn restart_exchange(&mut self) {
        self.outstanding = None;
        self.answered.clear();
        self.rehandshaken = false;
        self.phase = Phase::AwaitingPoll;
    }

    /// A report (`body`: its exact bytes, for retry detection).
    pub fn report(
        &mut self,
        env: &JobEnv<'_>,
        body: &[u8],
        report: &RemoteManagementReport,
    ) -> Result<Answer, SeramError> {
        let polling = report.local_agent_status.local_agent_status_enum
            == LocalAgentStatusEnum::Polling
            && report.ram_responses.is_empty();
        if std::mem::take(&mut self.rehandshaken) && self.phase == Phase::Exchanging && polling {
            tracing::info!(session = %self.id, "the agent restarted mid-session: the outstanding batch is abandoned");
            self.restart_exchange();
        }
        let digest = digest(&SHA256, body).as_ref().to_vec();
        let repeated = match self.phase {
            // The outstanding batch again, below (a void poll is not a copy of the first one).
            Phase::Exchanging if polling => None,
            // Only the Stop, whose answer may have been lost.
            Phase::Stopped => self.answered.last().filter(|seen| seen.digest == digest),
            _ => self.answered.iter().find(|seen| seen.digest == digest),
        };
        if let Some(seen) = repeated {
            tracing::debug!(session = %self.id, "repeated report: its answer again");
            self.touched = Instant::now();
            return Ok(Answer {
                order: seen.answer.clone(),
                finish: None,
            });
        }
        let step =
            match self.phase {
                Phase::Stopped => return Err(SeramError::SessionNotFound),
                Phase::AwaitingHandshake => {
                    return Err(SeramError::OutOfSequence("handshake first".into()))
                }
                Phase::AwaitingPoll if !polling => {
                    return Err(SeramError::OutOfSequence(
                        "the first report of a command exchange is a void POLLING report".into(),
                    ))
                }
                Phase::AwaitingPoll => self.job.start(env)?,
                Phase::Exchanging if polling => {
                    let order = self
                        .answered
                        .last()
                        .map(|last| last.answer.clone())
                        .ok_or_else(|| SeramError::Internal("no previous order".into()))?;
                    self.touched = Instant::now();
                    return Ok(Answer {
                        order,
                        finish: None,
                    });
                }
                Phase::Exchanging => {
                    let batch = self.outstanding.take().ok_or_else(|| {
                        SeramError::OutOfSequence("no batch is outstanding".into())
                    })?;
                    let rapdus = rapdus_of(report)?;
                    let agent_error = match report.local_agent_status.local_agent_status_enum {
                        LocalAgentStatusEnum::Processed | LocalAgentStatusEnum::Polling => None,
                        _ => Some(report.local_agent_status.error_msg.clone().unwrap_or_else(
                            || format!("{:?}", report.local_agent_status.local_agent_status_enum),
                        )),
                    };
                    self.job
                        .on_report(env, batch, &rapdus, agent_error.as_deref())?
                }
            };
        let first = self.phase == Phase::AwaitingPoll;
        let answer = self.answer(step, first);
        self.touched = Instant::now();
        self.answered.push(LastExchange {
            digest,
            answer: answer.order.clone(),
        });
        Ok(answer)
    }

    /// The order message for `step` (with Start when `first`).
    fn answer(&mut self, step: Step, first: bool) -> Answer {
        let operation = self.operation.as_str();
        let mut commands = Vec::new();
        if first {
            commands.push(RamCommand::Start);
            commands.push(notification(format!("{operation}/started")));
        }
        match step {
            Step::Send(batch) => {
                commands.extend(batch.seram_lists().into_iter().map(|list| {
                    RamCommand::SeRam(SeRamCommand {
                        list_of_capdu: list,
                    })
                }));
                self.outstanding = Some(batch);
                self.phase = Phase::Exchanging;
                Answer {
                    order: RemoteManagementOrder {
                        delay: Some(0),
                        chosen_secure_element: self.chosen.clone(),
                        ram_commands: commands,
                    },
                    finish: None,
                }
            }
            Step::Finish(finish) => {
                let outcome = match &finish.failure {
                    None => format!("{operation}/completed"),
                    Some(failure) => format!("{operation}/failed/{}", failure.code),
                };
                commands.push(notification(outcome));
                commands.push(RamCommand::Stop);
                self.phase = Phase::Stopped;
                self.outstanding = None;
                Answer {
                    order: RemoteManagementOrder {
                        delay: Some(0),
                        chosen_secure_element: None,
                        ram_commands: commands,
                    },
                    finish: Some(finish),
                }
            }
        }
    }
}

fn notification(text: String) -> RamCommand {
    RamCommand::Notification(NotificationCommand {
        device_app_notification: text,
    })
}

/// Every R-APDU of a report, in order (the report was validated: canonical hex).
fn rapdus_of(report: &RemoteManagementReport) -> Result<Vec<Vec<u8>>, SeramError> {
    let mut out = Vec::new();
    for RamResponse::SeRam(response) in &report.ram_responses {
        for (index, hex) in response.list_of_rapdu.iter().enumerate() {
            out.push(decode_apdu(hex, index).map_err(|e| SeramError::Malformed(e.to_string()))?);
        }
    }
    Ok(out)
}
