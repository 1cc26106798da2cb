//! The command exchange state machine (GP SERAM "Messages State Machine"): wait for Start, then
//! execute SE RAM and Notification commands until Stop. Synchronous: it runs on a blocking
//! thread because SE calls block.

use super::agent::ExecutionFailure;
use super::error::OtaError;
use super::executor::SeRamExecutor;
use super::progress::Progress;
use super::seram::{
    decode_capdu, LocalAgentStatus, LocalAgentStatusEnum, RamCommand, RamResponse,
    RemoteManagementOrder, RemoteManagementReport, SeRamResponse,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    AwaitingStart,
    Started,
}

/// What to do after an order.
#[derive(Debug)]
pub(crate) enum Step {
    /// Send this report (it carries the order's responses, or is a void poll).
    Report(RemoteManagementReport),
    /// Stop received: send nothing more, discard any response.
    Stop,
}

/// Counters and events of the session.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    pub(crate) se_ram_commands_executed: u32,
    pub(crate) notifications: Vec<String>,
    pub(crate) failures: Vec<ExecutionFailure>,
}

/// The local agent's command exchange.
pub(crate) struct CommandExchange {
    phase: Phase,
    executor: SeRamExecutor,
    pub(crate) progress: Progress,
    pub(crate) tally: Tally,
}

impl CommandExchange {
    pub(crate) fn new(executor: SeRamExecutor, progress: Progress) -> CommandExchange {
        CommandExchange {
            phase: Phase::AwaitingStart,
            executor,
            progress,
            tally: Tally::default(),
        }
    }

    /// Processes one order: its commands one by one, in order. On error the SE channel and
    /// session are closed.
    pub(crate) fn process(&mut self, order: RemoteManagementOrder) -> Result<Step, OtaError> {
        let step = self.process_commands(order);
        if step.is_err() {
            self.executor.close();
        }
        step
    }

    fn process_commands(&mut self, order: RemoteManagementOrder) -> Result<Step, OtaError> {
        order.validate()?;
        if let Some(se) = &order.chosen_secure_element {
            self.executor.choose(se);
        }
        let announced = order
            .ram_commands
            .iter()
            .map(|c| match c {
                RamCommand::SeRam(c) => c.list_of_capdu.len(),
                _ => 0,
            })
            .sum();
        self.progress.order(announced);

        let had_commands = !order.ram_commands.is_empty();
        let mut responses = Vec::new();
        let mut executed = 0u32;
        let mut failure = None;
        for command in order.ram_commands {
            match (self.phase, command) {
                (Phase::AwaitingStart, RamCommand::Start) => {
                    self.phase = Phase::Started;
                    self.progress.started();
                }
                (Phase::AwaitingStart, other) => {
                    return Err(OtaError::Protocol(format!(
                        "{} before the Start command",
                        name(&other)
                    )));
                }
                (Phase::Started, RamCommand::Start) => {
                    return Err(OtaError::Protocol("a second Start command".into()));
                }
                (Phase::Started, RamCommand::SeRam(_)) if failure.is_some() => {
                    // An earlier command of this order failed: its remaining C-APDUs, and those
                    // of later commands, are discarded.
                }
                (Phase::Started, RamCommand::SeRam(command)) => {
                    let capdus = command
                        .list_of_capdu
                        .iter()
                        .enumerate()
                        .map(|(i, hex)| decode_capdu(hex, i))
                        .collect::<Result<Vec<_>, _>>()?;
                    let progress = &mut self.progress;
                    let (rapdus, failed) = self.executor.execute(&capdus, || progress.apdu_done());
                    responses.push(RamResponse::SeRam(SeRamResponse {
                        list_of_rapdu: rapdus,
                    }));
                    match failed {
                        None => executed += 1,
                        Some(f) => failure = Some(f),
                    }
                }
                (Phase::Started, RamCommand::Notification(n)) => {
                    let text = n.device_app_notification;
                    tracing::info!(notification = %text, "remote agent notification");
                    self.progress.listener().on_notification(text.clone());
                    self.tally.notifications.push(text);
                }
                (Phase::Started, RamCommand::Stop) => {
                    // "The Local Agent SHALL NOT send any new Report Message and SHALL discard
                    // any remaining Response": commands after Stop are ignored too.
                    self.tally.se_ram_commands_executed += executed;
                    if let Some(f) = failure {
                        self.tally.failures.push(ExecutionFailure {
                            status: f.status,
                            message: f.message,
                            reported: false,
                        });
                    }
                    self.executor.close();
                    self.progress.completed();
                    return Ok(Step::Stop);
                }
            }
        }
        self.tally.se_ram_commands_executed += executed;

        let (status, error_msg) = match failure {
            Some(f) => {
                self.tally.failures.push(ExecutionFailure {
                    status: f.status,
                    message: f.message.clone(),
                    reported: true,
                });
                (f.status, Some(f.message))
            }
            None if had_commands => (LocalAgentStatusEnum::Processed, None),
            None => (LocalAgentStatusEnum::Polling, None),
        };
        Ok(Step::Report(RemoteManagementReport {
            local_agent_status: LocalAgentStatus {
                local_agent_status_enum: status,
                executed_se_ram_commands: Some(executed),
                error_msg,
            },
            ram_responses: responses,
        }))
    }

    /// Closes the SE channel and session.
    pub(crate) fn close(&mut self) {
        self.executor.close();
    }
}

fn name(command: &RamCommand) -> &'static str {
    match command {
        RamCommand::Start => "Start",
        RamCommand::SeRam(_) => "an SE RAM command",
        RamCommand::Notification(_) => "a Notification",
        RamCommand::Stop => "Stop",
    }
}
