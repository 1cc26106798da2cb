//! A batch of C-APDUs for one SERAM order, and the check of the R-APDUs that come back.
//!
//! A batch is built in the order the SE will execute it ([`ScriptBuilder`]): commands are
//! wrapped as they are added, so a precomputed session produces the whole script at once.
//! Each command carries a label and the status words it accepts besides `9000`; the SE issuer's
//! part and the application part travel as separate `seRamCommand`s of the same order.
//!
//! [`Batch::verify`] walks the R-APDUs in order: INITIALIZE UPDATE against the prediction (or
//! to build EXTERNAL AUTHENTICATE), EXTERNAL AUTHENTICATE, then every secured response through
//! the channel (R-MAC, R-ENCRYPTION), then its status word.

use wallet_core::apdu::{CommandApdu, ResponseApdu, StatusWord};
use wallet_core::gp::GpError;
use wallet_core::ota::seram::encode_apdu;

use super::channel::{Challenge, SecureChannel};

/// Who builds a command (and which `seRamCommand` of the order carries it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The SE issuer: ISD selection and authentication, SSD creation.
    SeIssuer,
    /// The application provider: the payment application instance.
    Application,
}

/// How a command travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    InitializeUpdate,
    ExternalAuthenticate,
    /// Wrapped by the channel: its response is unwrapped by it.
    Secured,
    /// Outside the secure channel (SELECT, application commands).
    Plain,
}

/// One command of a batch.
#[derive(Debug, Clone)]
struct Step {
    part: Part,
    kind: Kind,
    label: &'static str,
    /// Status words accepted besides `9000` and warnings.
    also_accepted: &'static [u16],
    wire: Vec<u8>,
}

/// The answer to one command, unwrapped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The command's label.
    pub label: &'static str,
    /// The response, protection removed.
    pub response: ResponseApdu,
}

/// Why a batch did not go through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchError {
    /// The card used another sequence counter than predicted: nothing after INITIALIZE UPDATE
    /// ran in the secure channel.
    CounterMismatch {
        /// The counter the card used.
        actual: u32,
    },
    /// Fewer R-APDUs than C-APDUs: the local agent stopped at `label`.
    Missing {
        /// The first command without a response.
        label: &'static str,
    },
    /// The SE refused a command, or its response failed verification.
    Rejected {
        /// The command.
        label: &'static str,
        /// What went wrong (status word or verification failure).
        reason: String,
    },
}

impl BatchError {
    /// A human-readable explanation.
    pub fn describe(&self) -> String {
        match self {
            BatchError::CounterMismatch { actual } => format!("SE used sequence counter {actual}"),
            BatchError::Missing { label } => format!("no response to {label}"),
            BatchError::Rejected { label, reason } => format!("{label}: {reason}"),
        }
    }
}

/// Builds a batch in execution order.
#[derive(Debug)]
pub struct ScriptBuilder {
    channel: SecureChannel,
    steps: Vec<Step>,
}

impl ScriptBuilder {
    /// A batch over `channel`.
    pub fn new(channel: SecureChannel) -> ScriptBuilder {
        ScriptBuilder {
            channel,
            steps: Vec::new(),
        }
    }

    /// The channel (e.g. for its key-encryption key).
    pub fn channel(&self) -> &SecureChannel {
        &self.channel
    }

    fn push(
        &mut self,
        part: Part,
        kind: Kind,
        label: &'static str,
        also_accepted: &'static [u16],
        wire: &CommandApdu,
    ) {
        self.steps.push(Step {
            part,
            kind,
            label,
            also_accepted,
            wire: wire.to_bytes(),
        });
    }

    /// INITIALIZE UPDATE (and, for a precomputed session, EXTERNAL AUTHENTICATE).
    pub fn authenticate(&mut self) -> Result<(), GpError> {
        let iu = self.channel.initialize_update()?;
        self.push(
            Part::SeIssuer,
            Kind::InitializeUpdate,
            "INITIALIZE UPDATE",
            &[],
            &iu,
        );
        if self.channel.is_precomputed() {
            self.external_authenticate()?;
        }
        Ok(())
    }

    /// EXTERNAL AUTHENTICATE of an interactive session whose INITIALIZE UPDATE was answered.
    pub fn external_authenticate(&mut self) -> Result<(), GpError> {
        let ea = self.channel.external_authenticate()?;
        self.push(
            Part::SeIssuer,
            Kind::ExternalAuthenticate,
            "EXTERNAL AUTHENTICATE",
            &[],
            &ea,
        );
        Ok(())
    }

    /// A command protected by the secure channel.
    pub fn secured(
        &mut self,
        part: Part,
        label: &'static str,
        also_accepted: &'static [u16],
        command: &CommandApdu,
    ) -> Result<(), GpError> {
        let wrapped = self.channel.wrap(command)?;
        self.push(part, Kind::Secured, label, also_accepted, &wrapped);
        Ok(())
    }

    /// A command outside the secure channel.
    pub fn plain(
        &mut self,
        part: Part,
        label: &'static str,
        also_accepted: &'static [u16],
        command: &CommandApdu,
    ) {
        self.push(part, Kind::Plain, label, also_accepted, command);
    }

    /// The batch.
    pub fn finish(self) -> Batch {
        Batch {
            channel: self.channel,
            steps: self.steps,
        }
    }
}

/// A batch sent (or about to be sent) in one order; it keeps the channel that wrapped it.
#[derive(Debug)]
pub struct Batch {
    channel: SecureChannel,
    steps: Vec<Step>,
}

impl Batch {
    /// The C-APDUs of each part, in order, as SERAM hex (one `seRamCommand` per run of the same
    /// part).
    pub fn seram_lists(&self) -> Vec<Vec<String>> {
        let mut lists: Vec<(Part, Vec<String>)> = Vec::new();
        for step in &self.steps {
            match lists.last_mut() {
                Some((part, list)) if *part == step.part => list.push(encode_apdu(&step.wire)),
                _ => lists.push((step.part, vec![encode_apdu(&step.wire)])),
            }
        }
        lists.into_iter().map(|(_, list)| list).collect()
    }

    /// How many C-APDUs.
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    /// Whether the batch is empty.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// The sequence counter a precomputed session predicted.
    pub fn predicted_counter(&self) -> Option<u32> {
        self.channel.predicted_counter()
    }

    /// Checks the R-APDUs (one per C-APDU, in order) and gives back the unwrapped answers and
    /// the channel (open, for an interactive session's next batch). Stops at the first failure.
    pub fn verify(
        mut self,
        rapdus: &[Vec<u8>],
    ) -> (SecureChannel, Result<Vec<Outcome>, BatchError>) {
        let result = self.check(rapdus);
        (self.channel, result)
    }

    fn check(&mut self, rapdus: &[Vec<u8>]) -> Result<Vec<Outcome>, BatchError> {
        let mut outcomes = Vec::with_capacity(self.steps.len());
        for (index, step) in self.steps.iter().enumerate() {
            let label = step.label;
            let rejected = |reason: String| BatchError::Rejected { label, reason };
            let raw = rapdus.get(index).ok_or(BatchError::Missing { label })?;
            let response = if raw.is_empty() && step.kind == Kind::Plain {
                // SERAM: an empty R-APDU where the platform gives no answer (a SELECT that
                // opened its channel without a select response): the SELECT succeeded.
                ResponseApdu::status_only(StatusWord(0x9000))
            } else {
                ResponseApdu::parse(raw).map_err(|e| rejected(format!("malformed R-APDU: {e}")))?
            };
            let response = match step.kind {
                Kind::InitializeUpdate => match self.channel.on_initialize_update(&response) {
                    Ok(Challenge::Accepted { .. }) => response,
                    Ok(Challenge::CounterMismatch { actual }) => {
                        return Err(BatchError::CounterMismatch { actual })
                    }
                    Err(e) => return Err(rejected(e.to_string())),
                },
                Kind::ExternalAuthenticate => {
                    self.channel
                        .on_external_authenticate(&response)
                        .map_err(|e| rejected(e.to_string()))?;
                    response
                }
                Kind::Secured => self
                    .channel
                    .unwrap(&response)
                    .map_err(|e| rejected(e.to_string()))?,
                Kind::Plain => response,
            };
            let sw = response.sw;
            if !(sw.is_success() || sw.is_warning() || step.also_accepted.contains(&sw.0)) {
                return Err(rejected(format!("status word {sw}")));
            }
            outcomes.push(Outcome { label, response });
        }
        Ok(outcomes)
    }
}

/// The first outcome labelled `label`.
pub fn find<'a>(outcomes: &'a [Outcome], label: &str) -> Option<&'a ResponseApdu> {
    outcomes
        .iter()
        .find(|o| o.label == label)
        .map(|o| &o.response)
}
