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
//! **Remote-payment signing.** DGI `8002` (the cardholder PIN, encrypted under the DEK) makes
//! the card generate its signing key pair at the end of that personalisation (DGI `8003`,
//! [`wallet_core::card::signing`]: P-256 for a 3DES profile, SM2 for SM4). The private key
//! never leaves the applet: it is kept with the applet's saved state, like the other DGIs. The
//! last STORE DATA block answers the public key `DF61 41 <04 ‖ X ‖ Y>` (GP lets STORE DATA
//! return data), which the TSM reads inside its secure channel (R-MAC). A `8003` sent from
//! outside is refused. The PIN try counter is saved with the counters (`pin_tries_left`).
//!
//! **Logical channels.** The card application keeps one transaction state. The instance may be
//! selected on several channels at once: it remembers the name each channel selected, and when
//! a command comes on another channel than the last one, it first selects that channel's name
//! again (the transaction of the other channel ends, as after a field reset).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use wallet_core::apdu::{CommandApdu, LogicalChannel, Occurrence, ResponseApdu, Tag, TlvNode};
use wallet_core::card::signing::{CardSigning, CardSigningKey, DGI_PIN, DGI_SIGNING_KEY};
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
    /// The PIN tries left as last made durable (absent before the first wrong PIN of a card
    /// with a PIN, and in files written before remote-payment signing: the full count).
    #[serde(default)]
    pin_tries_left: Option<u8>,
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

/// The saved state of an applet holding `dgis`, with `counters` when personalised and the PIN
/// tries left when it has a PIN.
fn saved_state(dgis: &[Dgi], counters: Option<CardCounters>, pin_tries_left: Option<u8>) -> Value {
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
        pin_tries_left,
    };
    serde_json::to_value(state).unwrap_or(Value::Null)
}

/// The card application personalised with `dgis` (signing material included), resuming from
/// `counters` and `pin_tries_left` (a new card's when `None`).
fn card_application(
    dgis: &[Dgi],
    counters: Option<CardCounters>,
    pin_tries_left: Option<u8>,
) -> Result<CardApplication, String> {
    let profile = CardProfile::from_dgis(dgis).map_err(|e| e.to_string())?;
    let signing = CardSigning::from_dgis(dgis, profile.perso.crypto).map_err(|e| e.to_string())?;
    let counters = counters.unwrap_or_else(|| CardCounters::initial(&profile.perso));
    let app = CardApplication::new(profile, counters).map_err(|e| e.to_string())?;
    match signing {
        Some(signing) => app
            .with_signing(signing, pin_tries_left)
            .map_err(|e| e.to_string()),
        None => Ok(app),
    }
}

/// Generates the signing key of a personalisation that carries a PIN (`8002`) and no key yet:
/// its algorithm follows the card profile's crypto.
fn generate_signing_key(dgis: &mut Vec<Dgi>) -> Result<(), String> {
    let has = |tag: u16| dgis.iter().any(|d| d.tag == tag);
    if !has(DGI_PIN) || has(DGI_SIGNING_KEY) {
        return Ok(());
    }
    let profile = CardProfile::from_dgis(dgis).map_err(|e| e.to_string())?;
    let key = CardSigningKey::generate(profile.perso.crypto).map_err(|e| e.to_string())?;
    dgis.push(key.to_dgi());
    Ok(())
}

/// The tag of the signing public key in GET DATA and the last STORE DATA response.
const TAG_SIGNING_PUBLIC_KEY: u32 = 0xDF61;

/// `DF61 41 <04 ‖ X ‖ Y>` for `app`'s signing key, or nothing.
fn public_key_response(app: &CardApplication) -> Vec<u8> {
    match (app.signing_public_key(), Tag::new(TAG_SIGNING_PUBLIC_KEY)) {
        (Some(key), Ok(tag)) => TlvNode::primitive(tag, key).encode(),
        _ => Vec::new(),
    }
}

/// `SELECT` by the full DF name `name`, first occurrence, FCI asked.
fn select_command(name: &Aid) -> Option<CommandApdu> {
    CommandApdu::select_by_name(name.as_bytes(), Occurrence::First).ok()
}

/// The counter store of one command: the applet's whole state with the new counters, saved by
/// the card.
struct CardStore<'a, 'b> {
    dgis: &'a [Dgi],
    /// The counters and PIN tries before the command (one command changes one of them).
    counters: CardCounters,
    pin_tries_left: Option<u8>,
    ctx: &'a mut AppletContext<'b>,
}

impl CardStore<'_, '_> {
    fn save(
        &mut self,
        counters: CardCounters,
        pin_tries_left: Option<u8>,
    ) -> Result<(), CounterStoreError> {
        let state = saved_state(self.dgis, Some(counters), pin_tries_left);
        self.ctx
            .durable
            .persist(&state)
            .map_err(|e| CounterStoreError(e.to_string()))
    }
}

impl CardCounterStore for CardStore<'_, '_> {
    fn persist(&mut self, counters: &CardCounters) -> Result<(), CounterStoreError> {
        self.save(*counters, self.pin_tries_left)
    }

    fn persist_pin_tries(&mut self, tries_left: u8) -> Result<(), CounterStoreError> {
        self.save(self.counters, Some(tries_left))
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
        let mut store = CardStore {
            dgis,
            counters: self.app.counters(),
            pin_tries_left: self.app.pin_tries_left(),
            ctx,
        };
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
            let app = card_application(&dgis, state.counters, state.pin_tries_left)
                .map_err(AppletError::State)?;
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

    /// The PIN tries left, once personalised with a PIN.
    pub fn pin_tries_left(&self) -> Option<u8> {
        self.card.as_ref()?.app.pin_tries_left()
    }

    /// The remote-payment signing public key `04 ‖ X ‖ Y`, once personalised with a PIN.
    pub fn signing_public_key(&self) -> Option<Vec<u8>> {
        self.card.as_ref()?.app.signing_public_key()
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
        if dgi.tag == DGI_SIGNING_KEY {
            return Err(AppletError::Personalization(
                "DGI 8003 is generated by the card, never sent".into(),
            ));
        }
        self.dgis.retain(|d| d.tag != dgi.tag);
        self.dgis.push(dgi);
        Ok(())
    }

    fn end_personalization(&mut self) -> Result<Vec<u8>, AppletError> {
        if self.card.is_some() {
            return Err(AppletError::NotNow);
        }
        let built = generate_signing_key(&mut self.dgis)
            .and_then(|()| card_application(&self.dgis, None, None));
        match built {
            Ok(app) => {
                let response = public_key_response(&app);
                self.card = Some(Personalized {
                    app,
                    selected: BTreeMap::new(),
                    owner: None,
                });
                Ok(response)
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
        saved_state(&self.dgis, self.counters(), self.pin_tries_left())
    }
}

#[cfg(test)]
#[path = "payment_tests.rs"]
mod tests;
