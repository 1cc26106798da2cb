//! The payment application instance in the simulated SE (module `A000000333010100`): the core's
//! contactless card application ([`CardApplication`]) behind the [`Applet`] boundary.
//!
//! The instance collects the DGIs of its personalisation until the last STORE DATA block, then
//! builds the card application from them ([`CardProfile::from_dgis`]: the base DGIs, the fDDA
//! records `0102` / `0103`, the risk parameters `9104` and the ICC key `8001`, the secret ones
//! decrypted by the card) with the counters of a new card.
//!
//! | state | SELECT | other commands |
//! |---|---|---|
//! | not personalised | `6F { 84 AID }` | `6985` |
//! | personalised | the card application's FCI (label, priority, PDOL) | the card application |
//!
//! Selected by any of its [`CardApplication::directory`] AIDs (a debit card with e-cash answers
//! for `A000000333010101` and `A000000333010106`), the instance gets a `SELECT` of that full
//! name, then every command of the channel with the class byte recoded for the basic channel.
//!
//! **Counters.** The ATC, last online ATC and e-cash balance are part of the applet's saved
//! state. The card application hands the next counters to its [`CardCounterStore`] before it
//! computes any cryptogram; here that store asks the card to save its state file with them
//! ([`DurableState`]), so the R-APDU exists only once the counters are on disk. A failed save
//! answers `6581` and changes nothing.
//!
//! **Logical channels.** The card application keeps one transaction state. The instance may be
//! selected on several channels at once: it remembers the name each channel selected, and when
//! a command comes on another channel than the last one, it first selects that channel's name
//! again (the transaction of the other channel ends, as after a field reset).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use wallet_core::apdu::{CommandApdu, LogicalChannel, Occurrence, ResponseApdu};
use wallet_core::card::{
    CardApplication, CardContext, CardCounterStore, CardCounters, CardPersonalization, CardProfile,
    CounterStoreError, DirectoryEntry,
};
use wallet_core::gp::commands::Dgi;
use wallet_core::gp::Aid;

use super::applet::{fci, Applet, AppletContext, AppletError};
use super::error::sw;

/// One DGI as persisted: tag and data in hex.
#[derive(Serialize, Deserialize)]
struct SavedDgi {
    tag: u16,
    data: String,
}

/// The persisted state of a payment applet.
#[derive(Serialize, Deserialize)]
struct SavedPayment {
    personalized: bool,
    dgis: Vec<SavedDgi>,
    /// The counters last made durable (absent in files written before the card application:
    /// those cards resume from the personalised values).
    #[serde(default)]
    counters: Option<CardCounters>,
}

/// The personalised instance: the card application and who it is selected for.
struct Personalized {
    app: CardApplication,
    /// The DF name each logical channel selected the instance by.
    selected: BTreeMap<u8, Aid>,
    /// The channel whose selection the card application's state belongs to.
    owner: Option<u8>,
}

/// The payment application instance. `Debug` shows no card data.
#[derive(Default)]
pub struct PaymentApplet {
    /// DGIs received (all of them once personalised; kept to persist the applet).
    dgis: Vec<Dgi>,
    card: Option<Personalized>,
}

impl std::fmt::Debug for PaymentApplet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PaymentApplet")
            .field("dgis", &self.dgis.len())
            .field("personalized", &self.card.is_some())
            .finish()
    }
}

/// The saved state of an applet holding `dgis`, with `counters` when personalised.
fn saved_state(dgis: &[Dgi], counters: Option<CardCounters>) -> Value {
    let state = SavedPayment {
        personalized: counters.is_some(),
        dgis: dgis
            .iter()
            .map(|d| SavedDgi {
                tag: d.tag,
                data: hex::encode_upper(&d.data),
            })
            .collect(),
        counters,
    };
    serde_json::to_value(state).unwrap_or(Value::Null)
}

/// The card application personalised with `dgis`, resuming from `counters` (a new card's when
/// `None`).
fn card_application(
    dgis: &[Dgi],
    counters: Option<CardCounters>,
) -> Result<CardApplication, String> {
    let profile = CardProfile::from_dgis(dgis).map_err(|e| e.to_string())?;
    let counters = counters.unwrap_or_else(|| CardCounters::initial(&profile.perso));
    CardApplication::new(profile, counters).map_err(|e| e.to_string())
}

/// `SELECT` by the full DF name `name`, first occurrence, FCI asked.
fn select_command(name: &Aid) -> Option<CommandApdu> {
    CommandApdu::select_by_name(name.as_bytes(), Occurrence::First).ok()
}

/// The counter store of one command: the applet's whole state with the new counters, saved by
/// the card.
struct CardStore<'a, 'b> {
    dgis: &'a [Dgi],
    ctx: &'a mut AppletContext<'b>,
}

impl CardCounterStore for CardStore<'_, '_> {
    fn persist(&mut self, counters: &CardCounters) -> Result<(), CounterStoreError> {
        let state = saved_state(self.dgis, Some(*counters));
        self.ctx
            .durable
            .persist(&state)
            .map_err(|e| CounterStoreError(e.to_string()))
    }
}

impl Personalized {
    /// Passes `cmd` (on the basic channel) to the card application.
    fn run(
        &mut self,
        cmd: &CommandApdu,
        dgis: &[Dgi],
        ctx: &mut AppletContext<'_>,
    ) -> ResponseApdu {
        let mut store = CardStore { dgis, ctx };
        self.app
            .process_command(cmd, &mut CardContext::new(&mut store))
    }

    /// Selects `name` for `channel`.
    fn select(&mut self, name: &Aid, dgis: &[Dgi], ctx: &mut AppletContext<'_>) -> ResponseApdu {
        let Some(cmd) = select_command(name) else {
            return ResponseApdu::status_only(sw::WRONG_LENGTH);
        };
        let channel = ctx.channel;
        let response = self.run(&cmd, dgis, ctx);
        if response.sw.is_normal() {
            self.selected.insert(channel, name.clone());
            self.owner = Some(channel);
        } else {
            // The application's selection is gone; the channel's is restored on its next
            // command.
            self.owner = None;
        }
        response
    }

    fn process(
        &mut self,
        cmd: &CommandApdu,
        dgis: &[Dgi],
        ctx: &mut AppletContext<'_>,
    ) -> ResponseApdu {
        if self.owner != Some(ctx.channel) {
            let Some(name) = self.selected.get(&ctx.channel).cloned() else {
                return ResponseApdu::status_only(sw::CONDITIONS);
            };
            let again = self.select(&name, dgis, ctx);
            if !again.sw.is_normal() {
                return again;
            }
        }
        match cmd.clone().on_channel(LogicalChannel::BASIC) {
            Ok(basic) => self.run(&basic, dgis, ctx),
            Err(_) => ResponseApdu::status_only(sw::CLA_NOT_SUPPORTED),
        }
    }

    fn deselect(&mut self, channel: u8) {
        self.selected.remove(&channel);
        if self.owner == Some(channel) {
            self.app.reset();
            self.owner = None;
        }
    }
}

impl PaymentApplet {
    /// A new, not personalised instance.
    pub fn new() -> PaymentApplet {
        PaymentApplet::default()
    }

    /// Restores an instance from [`Applet::save`] output.
    pub fn restore(saved: &Value) -> Result<PaymentApplet, AppletError> {
        let state: SavedPayment =
            serde_json::from_value(saved.clone()).map_err(|e| AppletError::State(e.to_string()))?;
        let dgis = state
            .dgis
            .into_iter()
            .map(|d| {
                Ok(Dgi {
                    tag: d.tag,
                    data: hex::decode(d.data).map_err(|e| AppletError::State(e.to_string()))?,
                })
            })
            .collect::<Result<Vec<_>, AppletError>>()?;
        let card = if state.personalized {
            let app = card_application(&dgis, state.counters).map_err(AppletError::State)?;
            Some(Personalized {
                app,
                selected: BTreeMap::new(),
                owner: None,
            })
        } else {
            None
        };
        Ok(PaymentApplet { dgis, card })
    }

    /// The base personalisation, once complete.
    pub fn personalization(&self) -> Option<&CardPersonalization> {
        Some(&self.profile()?.perso)
    }

    /// The whole personalisation (base, fDDA, risk parameters), once complete.
    pub fn profile(&self) -> Option<&CardProfile> {
        Some(self.card.as_ref()?.app.profile())
    }

    /// The counters as last made durable, once personalised.
    pub fn counters(&self) -> Option<CardCounters> {
        Some(self.card.as_ref()?.app.counters())
    }

    /// The electronic-cash balance in minor units, when personalised with e-cash.
    pub fn ecash_balance(&self) -> Option<u64> {
        self.counters()?.ecash_balance
    }
}

impl Applet for PaymentApplet {
    fn directory(&self) -> Vec<DirectoryEntry> {
        self.card
            .as_ref()
            .map(|c| c.app.directory().to_vec())
            .unwrap_or_default()
    }

    fn select(&mut self, name: &Aid, ctx: &mut AppletContext<'_>) -> ResponseApdu {
        let PaymentApplet { dgis, card } = self;
        match card {
            Some(card) => card.select(name, dgis, ctx),
            None => ResponseApdu::success(fci(name, None)),
        }
    }

    fn deselect(&mut self, channel: u8) {
        if let Some(card) = &mut self.card {
            card.deselect(channel);
        }
    }

    fn process(&mut self, cmd: &CommandApdu, ctx: &mut AppletContext<'_>) -> ResponseApdu {
        let PaymentApplet { dgis, card } = self;
        match card {
            Some(card) => card.process(cmd, dgis, ctx),
            None => ResponseApdu::status_only(sw::CONDITIONS),
        }
    }

    fn store_dgi(&mut self, dgi: Dgi) -> Result<(), AppletError> {
        if self.card.is_some() {
            return Err(AppletError::NotNow);
        }
        self.dgis.retain(|d| d.tag != dgi.tag);
        self.dgis.push(dgi);
        Ok(())
    }

    fn end_personalization(&mut self) -> Result<(), AppletError> {
        if self.card.is_some() {
            return Err(AppletError::NotNow);
        }
        match card_application(&self.dgis, None) {
            Ok(app) => {
                self.card = Some(Personalized {
                    app,
                    selected: BTreeMap::new(),
                    owner: None,
                });
                Ok(())
            }
            Err(e) => {
                self.dgis.clear();
                Err(AppletError::Personalization(e))
            }
        }
    }

    fn is_personalized(&self) -> bool {
        self.card.is_some()
    }

    fn save(&self) -> Value {
        saved_state(&self.dgis, self.counters())
    }
}

#[cfg(test)]
#[path = "payment_tests.rs"]
mod tests;
