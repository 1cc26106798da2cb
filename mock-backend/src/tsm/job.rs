//! What one order does on the SE, batch by batch: a small state machine driven by the SERAM
//! session ([`super::session`]).
//!
//! Every batch starts with the SE issuer's part (SELECT ISD, authentication) followed by the
//! plan's commands:
//!
//! | plan | commands after authentication | then |
//! |---|---|---|
//! | install | [SSD creation], DELETE instance, INSTALL, INSTALL [perso], STORE DATA…, INSTALL [make selectable], read-back | active if the read-back shows it usable with the ordered balance and the last STORE DATA answered the signing key (when a PIN was personalised); else cleanup |
//! | probe | read-back (GET STATUS `A000000333`, SELECT, GET DATA 9F79), GET DATA DF61 | usable with the ordered balance (and a signing key when the bank has a PIN) → active; else install |
//! | cleanup | DELETE instance | absent; the order fails with the first failure |
//! | lock / unlock | SET STATUS, read-back | the state GET STATUS shows |
//! | read for delete | read-back | a balance read → delete; the instance gone → absent, refund settled; no balance → fails `ECASH_UNREADABLE`, nothing deleted |
//! | delete | *before authentication:* SELECT instance, GET DATA 9F79; then DELETE instance | absent; the balance read credited back to the account ([`refund`]) |
//! | status | read-back | the state and balance shown |
//!
//! An opening starts with *install* when the TSM's record says no card exists on the SE, with
//! *probe* when an earlier opening was sent but never confirmed (interrupted): so a card
//! opening converges to exactly one fully personalised instance, and is reported active only
//! after the SE showed it usable. The initial e-cash load is debited from the account when the
//! card becomes active (once per opening), and what the card holds when it is deleted is
//! credited back (once per card, [`refund`]).
//!
//! Authentication: precomputed ISD sessions (SCP03 SEs) put everything in one batch; on
//! interactive ones (SCP02) a batch of `SELECT ISD, INITIALIZE UPDATE` comes first. If a
//! precomputed session guessed the wrong sequence counter, the counter the SE reported is
//! learnt and the same plan is sent again (at most [`MAX_RESYNC`] times).

use wallet_core::backend::api::tsm::{failures, CardOperation, OrderFailure, OrderState, TsmCard};

use super::app_provider::{self, InstanceView};
use super::bank_link::BankLink;
use super::error::TsmError;
use super::records::{CardRecord, CardState, EcashRefund, Records};
use super::refund;
use super::script::{Batch, BatchError, Outcome, ScriptBuilder};
use super::se_issuer::{self, SeContext};
use super::{SeKeyAlgorithm, SePaymentKey};
use crate::world_keys::SSD_AID;

/// Most sequence-counter resynchronisations in one order.
pub const MAX_RESYNC: u8 = 2;

/// What the job needs from the TSM.
#[derive(Debug, Clone, Copy)]
pub struct JobEnv<'a> {
    /// The TSM's records.
    pub records: &'a Records,
    /// The bank's bindings as the TSM reads them.
    pub bank: &'a BankLink,
    /// The bank itself: the initial e-cash load is one of its debits (one lock guards every
    /// balance).
    pub ledger: &'a crate::bank::Bank,
    /// Unix time.
    pub now: u64,
}

/// One step of the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// Read the instance of an unconfirmed opening.
    Probe,
    /// Install and personalise, creating the SSD first if asked.
    Install {
        /// Whether the SSD must be (re)created.
        create_ssd: bool,
    },
    /// Remove what a failed opening left.
    Cleanup,
    /// Lock.
    Lock,
    /// Unlock.
    Unlock,
    /// Read the balance of a card about to be deleted.
    ReadForDelete,
    /// Read the balance again, then delete.
    Delete,
    /// Read state and balance.
    Status,
}

#[derive(Debug, Clone, Copy)]
enum Awaiting {
    /// The answer to INITIALIZE UPDATE of an interactive session.
    Challenge(Plan),
    /// The answers to the plan's commands.
    Results(Plan),
}

impl Awaiting {
    fn plan(self) -> Plan {
        match self {
            Awaiting::Challenge(plan) | Awaiting::Results(plan) => plan,
        }
    }
}

/// How an order ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finish {
    /// Completed or failed.
    pub state: OrderState,
    /// Why it failed.
    pub failure: Option<OrderFailure>,
    /// The card as the TSM now knows it.
    pub card: Option<TsmCard>,
}

/// What to do next.
#[derive(Debug)]
pub enum Step {
    /// Send this batch.
    Send(Batch),
    /// The order is over.
    Finish(Finish),
}

/// The work of one order.
#[derive(Debug)]
pub struct Job {
    operation: CardOperation,
    se: SeContext,
    instance_aid: String,
    awaiting: Option<Awaiting>,
    /// The failure a cleanup runs for.
    failure: Option<OrderFailure>,
    resyncs: u8,
    /// The balance the delete batch read before deleting (on an interactive SE, in the batch
    /// before the one that deletes).
    pre_delete_balance: Option<u64>,
}

/// The signing key an opening registers for `card`, from what the card `reported`: required
/// when the bank has a PIN for the card (so the TSM personalised one), none otherwise.
fn payment_key(
    env: &JobEnv<'_>,
    card: &CardRecord,
    reported: Option<&[u8]>,
) -> Result<Result<Option<SePaymentKey>, &'static str>, TsmError> {
    let pin_personalised = env.bank.cardholder_pin(&card.binding_id)?.is_some();
    Ok(match (pin_personalised, reported) {
        (true, Some(key)) => Ok(Some(SePaymentKey {
            algorithm: SeKeyAlgorithm::of(card.crypto),
            public_key: key.to_vec(),
        })),
        (true, None) => Err("the card reported no signing key"),
        (false, _) => Ok(None),
    })
}

fn failure(code: &str, message: impl Into<String>) -> OrderFailure {
    OrderFailure {
        code: code.to_owned(),
        message: message.into(),
    }
}

impl Job {
    /// The job of `operation` on the card `instance_aid` of SE `se`.
    pub fn new(operation: CardOperation, se: SeContext, instance_aid: String) -> Job {
        Job {
            operation,
            se,
            instance_aid,
            awaiting: None,
            failure: None,
            resyncs: 0,
            pre_delete_balance: None,
        }
    }

    fn card(&self, env: &JobEnv<'_>) -> Result<CardRecord, TsmError> {
        env.records
            .card(&self.se.se_id, &self.instance_aid)?
            .ok_or_else(|| TsmError::Internal("the card record of a running order vanished".into()))
    }

    fn put_card(&self, env: &JobEnv<'_>, card: &CardRecord) -> Result<(), TsmError> {
        let _guard = env.records.lock();
        Ok(env.records.put_card(card)?)
    }

    /// The first batch (again after an interruption: the plan is chosen from the records).
    pub fn start(&mut self, env: &JobEnv<'_>) -> Result<Step, TsmError> {
        self.awaiting = None;
        self.failure = None;
        let plan = match self.operation {
            CardOperation::Open if self.card(env)?.state == CardState::Opening => Plan::Probe,
            CardOperation::Open => Plan::Install {
                create_ssd: !se_issuer::record(env.records, &self.se)?.ssd_ready,
            },
            CardOperation::Lock => Plan::Lock,
            CardOperation::Unlock => Plan::Unlock,
            CardOperation::Delete => Plan::ReadForDelete,
            CardOperation::Status => Plan::Status,
        };
        self.issue(env, plan)
    }

    fn issue(&mut self, env: &JobEnv<'_>, plan: Plan) -> Result<Step, TsmError> {
        let mut builder = ScriptBuilder::new(se_issuer::isd_channel(env.records, &self.se)?);
        if plan == Plan::Delete {
            // Selecting the instance ends the ISD's secure channel: its balance is read first.
            self.pre_delete_balance = None;
            app_provider::read_balance(&mut builder, &self.card(env)?)?;
        }
        se_issuer::open_batch(&mut builder)?;
        if builder.channel().is_precomputed() {
            self.build(env, plan, &mut builder)?;
            if let Some(counter) = builder.channel().predicted_counter() {
                // Once delivered, the SE will have used it.
                se_issuer::counter_used(env.records, &self.se, counter)?;
            }
            self.awaiting = Some(Awaiting::Results(plan));
        } else {
            self.awaiting = Some(Awaiting::Challenge(plan));
        }
        Ok(Step::Send(builder.finish()))
    }

    fn build(
        &self,
        env: &JobEnv<'_>,
        plan: Plan,
        builder: &mut ScriptBuilder,
    ) -> Result<(), TsmError> {
        let mut card = self.card(env)?;
        match plan {
            Plan::Probe => app_provider::probe(builder, &card),
            Plan::Install { create_ssd } => {
                if create_ssd {
                    se_issuer::create_ssd(builder, &self.se)?;
                }
                let pin = env.bank.cardholder_pin(&card.binding_id)?;
                app_provider::install(builder, &card, pin.as_ref())?;
                if card.state != CardState::Opening {
                    card.state = CardState::Opening;
                    self.put_card(env, &card)?;
                }
                Ok(())
            }
            Plan::Cleanup | Plan::Delete => app_provider::delete(builder, &card),
            Plan::Lock => app_provider::set_lock(builder, &card, true),
            Plan::Unlock => app_provider::set_lock(builder, &card, false),
            Plan::Status | Plan::ReadForDelete => app_provider::status(builder, &card),
        }
    }

    /// Processes the R-APDUs of `batch` (`agent_error`: the local agent's error message, if it
    /// reported one).
    pub fn on_report(
        &mut self,
        env: &JobEnv<'_>,
        batch: Batch,
        rapdus: &[Vec<u8>],
        agent_error: Option<&str>,
    ) -> Result<Step, TsmError> {
        let awaiting = self
            .awaiting
            .take()
            .ok_or_else(|| TsmError::Internal("a report without a batch".into()))?;
        let (channel, result) = batch.verify(rapdus);
        if let (Plan::Delete, Ok(outcomes)) = (awaiting.plan(), &result) {
            if let Some(balance) = refund::plausible(app_provider::balance_read(outcomes)) {
                self.pre_delete_balance = Some(balance);
            }
        }
        match (awaiting, result) {
            (awaiting, Err(BatchError::CounterMismatch { actual })) => {
                se_issuer::counter_used(env.records, &self.se, actual)?;
                self.resyncs += 1;
                if self.resyncs > MAX_RESYNC {
                    return self.fail(
                        env,
                        failure(failures::SE_REJECTED, "sequence counter keeps moving"),
                    );
                }
                tracing::info!(se_id = %self.se.se_id, actual, "sequence counter resynchronised");
                self.issue(env, awaiting.plan())
            }
            (Awaiting::Challenge(plan), Ok(_)) => {
                let mut builder = ScriptBuilder::new(channel);
                builder.external_authenticate()?;
                self.build(env, plan, &mut builder)?;
                self.awaiting = Some(Awaiting::Results(plan));
                Ok(Step::Send(builder.finish()))
            }
            (Awaiting::Results(plan), Ok(outcomes)) => self.done(env, plan, &outcomes),
            (awaiting, Err(error)) => {
                let failure = match (&error, agent_error) {
                    (BatchError::Missing { .. }, message) => failure(
                        failures::LOCAL_AGENT_FAILURE,
                        format!(
                            "{}{}",
                            error.describe(),
                            message.map(|m| format!(" ({m})")).unwrap_or_default()
                        ),
                    ),
                    _ => failure(failures::SE_REJECTED, error.describe()),
                };
                let rejected = matches!(error, BatchError::Rejected { .. });
                match awaiting.plan() {
                    Plan::Install { .. } if rejected => self.fail(env, failure),
                    _ => Ok(self.finish_failed(failure)),
                }
            }
        }
    }

    /// The plan's commands all went through: decide from what the SE shows.
    fn done(
        &mut self,
        env: &JobEnv<'_>,
        plan: Plan,
        outcomes: &[Outcome],
    ) -> Result<Step, TsmError> {
        let mut card = self.card(env)?;
        let view = InstanceView::read(outcomes, &card, &SSD_AID)?;
        let ordered_balance = Some(card.initial_load);
        match plan {
            Plan::Probe => {
                let ssd_ready =
                    se_issuer::record(env.records, &self.se)?.ssd_ready && view.ssd_present;
                se_issuer::set_ssd_ready(env.records, &self.se, ssd_ready)?;
                let key = payment_key(env, &card, view.read_key.as_deref())?;
                if view.is_usable() && view.balance == ordered_balance && key.is_ok() {
                    card.se_payment_key = key.ok().flatten();
                    self.activate(env, card, view.balance)
                } else {
                    tracing::info!(se_id = %self.se.se_id, "unconfirmed opening left no usable card: installing");
                    self.issue(
                        env,
                        Plan::Install {
                            create_ssd: !ssd_ready,
                        },
                    )
                }
            }
            Plan::Install { create_ssd } => {
                if create_ssd {
                    se_issuer::set_ssd_ready(env.records, &self.se, true)?;
                }
                let key = payment_key(env, &card, view.personalised_key.as_deref())?;
                if let (true, Err(reason)) = (view.is_usable(), &key) {
                    return self.fail(env, failure(failures::CARD_STATE, *reason));
                }
                if view.is_usable() && view.balance == ordered_balance {
                    card.se_payment_key = key.ok().flatten();
                    self.activate(env, card, view.balance)
                } else {
                    self.fail(
                        env,
                        failure(
                            failures::CARD_STATE,
                            "the instance is not usable after personalisation",
                        ),
                    )
                }
            }
            Plan::Cleanup => {
                card.state = CardState::Absent;
                card.ecash_balance = None;
                card.se_payment_key = None;
                self.put_card(env, &card)?;
                let failure = self
                    .failure
                    .take()
                    .unwrap_or_else(|| failure(failures::CARD_STATE, "opening abandoned"));
                Ok(self.finish_failed(failure))
            }
            Plan::ReadForDelete => self.read_for_delete(env, card, &view),
            Plan::Delete => {
                let read = self.pre_delete_balance.take();
                self.deleted(env, card, read)
            }
            Plan::Lock | Plan::Unlock | Plan::Status => {
                let Some(life_cycle) = view.life_cycle() else {
                    card.state = CardState::Absent;
                    card.ecash_balance = None;
                    card.se_payment_key = None;
                    self.put_card(env, &card)?;
                    return Ok(if plan == Plan::Status {
                        self.finish_completed(&card)
                    } else {
                        self.finish_failed(failure(
                            failures::CARD_STATE,
                            "the SE holds no such instance",
                        ))
                    });
                };
                card.state = if life_cycle.is_locked() {
                    CardState::Locked
                } else {
                    CardState::Active
                };
                card.ecash_balance = view.balance.or(card.ecash_balance);
                self.put_card(env, &card)?;
                let wanted = match plan {
                    Plan::Lock => Some(CardState::Locked),
                    Plan::Unlock => Some(CardState::Active),
                    _ => None,
                };
                Ok(match wanted {
                    Some(state) if state != card.state => self.finish_failed(failure(
                        failures::CARD_STATE,
                        format!("the instance's life cycle is {:02X}", life_cycle.value()),
                    )),
                    _ => self.finish_completed(&card),
                })
            }
        }
    }

    /// The balance of a card about to be deleted was read: record it as due and delete, or
    /// settle a card already gone, or refuse when the card answered no balance.
    fn read_for_delete(
        &mut self,
        env: &JobEnv<'_>,
        mut card: CardRecord,
        view: &InstanceView,
    ) -> Result<Step, TsmError> {
        let Some(life_cycle) = view.life_cycle() else {
            // Gone already (an earlier delete order's answer was lost, or worse).
            return self.deleted(env, card, None);
        };
        if !refund::owed(&card) {
            return self.issue(env, Plan::Delete);
        }
        match refund::plausible(view.balance) {
            Some(balance) => {
                card.ecash_balance = Some(balance);
                card.ecash_refund = Some(EcashRefund::Due(balance));
                self.put_card(env, &card)?;
                self.issue(env, Plan::Delete)
            }
            None => {
                let (code, message) = refund::unreadable(life_cycle.is_locked());
                tracing::warn!(se_id = %self.se.se_id, code, "deletion refused: e-cash balance unreadable");
                Ok(self.finish_failed(failure(code, message)))
            }
        }
    }

    /// The instance is gone from the SE (`read`: the balance it answered just before): its
    /// e-cash is refunded ([`refund::settle`]), then the card is recorded absent.
    fn deleted(
        &mut self,
        env: &JobEnv<'_>,
        mut card: CardRecord,
        read: Option<u64>,
    ) -> Result<Step, TsmError> {
        // The credit first: it is idempotent, so a crash before the record is written only
        // repeats an answer.
        card.ecash_refund = refund::settle(env, &card, read)?;
        card.state = CardState::Absent;
        card.ecash_balance = None;
        card.se_payment_key = None;
        self.put_card(env, &card)?;
        Ok(self.finish_completed(&card))
    }

    /// Debits the initial load (once per opening) and marks the card active.
    fn activate(
        &mut self,
        env: &JobEnv<'_>,
        mut card: CardRecord,
        balance: Option<u64>,
    ) -> Result<Step, TsmError> {
        let pan = env
            .bank
            .pan_of(&card.binding_id)?
            .ok_or_else(|| TsmError::Internal("the binding of a card vanished".into()))?;
        // Once per opening: the debit reference is the opening, so a repeated completion
        // answers the first debit instead of charging twice.
        let reference = format!("tsm-ecash-load:{}", card.opening_id);
        let funded = match card.initial_load {
            0 => true,
            amount => match env.ledger.debit(&pan, amount, &reference) {
                Ok(_) => true,
                Err(crate::bank::DebitError::InsufficientFunds)
                | Err(crate::bank::DebitError::AccountBlocked) => false,
                Err(e) => return Err(TsmError::Internal(format!("e-cash load debit: {e}"))),
            },
        };
        if !funded {
            return self.fail(
                env,
                failure(
                    failures::CARD_STATE,
                    "the account can no longer fund the e-cash load",
                ),
            );
        }
        card.state = CardState::Active;
        card.ecash_balance = balance;
        self.put_card(env, &card)?;
        tracing::info!(se_id = %self.se.se_id, aid = %card.instance_aid, "card active");
        Ok(self.finish_completed(&card))
    }

    /// A failed opening: remove the instance (cleanup), then fail with `failure`.
    fn fail(&mut self, env: &JobEnv<'_>, failure: OrderFailure) -> Result<Step, TsmError> {
        if self.operation == CardOperation::Open && self.failure.is_none() {
            tracing::warn!(code = %failure.code, message = %failure.message, "card opening failed: cleaning up");
            self.failure = Some(failure);
            return self.issue(env, Plan::Cleanup);
        }
        Ok(self.finish_failed(failure))
    }

    fn finish_failed(&mut self, failure: OrderFailure) -> Step {
        let failure = self.failure.take().unwrap_or(failure);
        Step::Finish(Finish {
            state: OrderState::Failed,
            failure: Some(failure),
            card: None,
        })
    }

    fn finish_completed(&self, card: &CardRecord) -> Step {
        Step::Finish(Finish {
            state: OrderState::Completed,
            failure: None,
            card: card.view(),
        })
    }
}
