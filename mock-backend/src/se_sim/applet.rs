//! The boundary between the simulated card and the applications it hosts: the [`Applet`] trait,
//! the factory that maps an executable module to its applet class, and [`GenericApplet`], the
//! class of modules loaded with LOAD (which the simulator cannot execute).
//!
//! The card owns everything GlobalPlatform: registry, life cycles, logical channels, secure
//! channels, decryption of STORE DATA, the resolution of SELECT by name (full, partial, next
//! occurrence) and the PPSE. An applet sees only the plain commands of the channels it is
//! selected on, the plain DGIs of its personalisation, and — through [`AppletContext`] — the
//! card's durable memory, for state that must be saved before the applet answers.

use serde_json::Value;
use wallet_core::apdu::{CommandApdu, ResponseApdu, Tag, TlvNode};
use wallet_core::card::DirectoryEntry;
use wallet_core::gp::commands::Dgi;
use wallet_core::gp::Aid;

use super::error::sw;
use super::payment::PaymentApplet;
use crate::world_keys::PAYMENT_MODULE;

/// An applet refused its personalisation data, or its state could not be kept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppletError {
    /// The DGIs are malformed or incomplete.
    #[error("personalisation data refused: {0}")]
    Personalization(String),
    /// The applet cannot be personalised in its current state (e.g. already personalised).
    #[error("personalisation not possible now")]
    NotNow,
    /// A saved state could not be restored.
    #[error("saved applet state is malformed: {0}")]
    State(String),
    /// The card could not make the applet's state durable.
    #[error("applet state not saved: {0}")]
    Storage(String),
}

/// The card's durable memory as an applet sees it.
pub trait DurableState {
    /// Saves the card with `state` as this applet's saved state (what [`Applet::save`] will
    /// return from now on) and returns only once that is durable (for a card with a state file:
    /// the file is written and flushed). An `Err` means nothing was saved.
    fn persist(&mut self, state: &Value) -> Result<(), AppletError>;
}

/// A card without durable memory (kept in memory only): every write succeeds at once.
#[derive(Debug, Default, Clone, Copy)]
pub struct Volatile;

impl DurableState for Volatile {
    fn persist(&mut self, _state: &Value) -> Result<(), AppletError> {
        Ok(())
    }
}

/// What the card hands an applet with each SELECT or command.
pub struct AppletContext<'a> {
    /// The logical channel (0-19) the command came on.
    pub channel: u8,
    /// The card's durable memory.
    pub durable: &'a mut dyn DurableState,
}

impl std::fmt::Debug for AppletContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppletContext")
            .field("channel", &self.channel)
            .finish_non_exhaustive()
    }
}

/// An application instance hosted by the simulated card.
pub trait Applet: Send {
    /// The payment applications this instance answers for, in PPSE order. They are also the
    /// DF names the card selects the instance by; an empty list (the default) means the
    /// instance is selected by its own AID and is not listed in the PPSE.
    fn directory(&self) -> Vec<DirectoryEntry> {
        Vec::new()
    }

    /// The card selected the instance on `ctx.channel` by the DF name `name` (its own AID or
    /// one of its [`directory`](Applet::directory) entries; the card resolved partial names and
    /// next occurrences and checked life cycles). Answers the FCI; a non-`9000` answer leaves
    /// the channel's selection unchanged.
    fn select(&mut self, name: &Aid, ctx: &mut AppletContext<'_>) -> ResponseApdu;

    /// The instance is no longer selected on `channel` (another SELECT, channel closed, card
    /// reset).
    fn deselect(&mut self, _channel: u8) {}

    /// Processes a command while the applet is selected on `ctx.channel`. The class byte still
    /// carries that channel's number.
    fn process(&mut self, cmd: &CommandApdu, ctx: &mut AppletContext<'_>) -> ResponseApdu;

    /// Receives one decrypted DGI of its personalisation (STORE DATA routed by the security
    /// domain after INSTALL [for personalization]).
    fn store_dgi(&mut self, dgi: Dgi) -> Result<(), AppletError>;

    /// The last STORE DATA block arrived: the applet checks and takes the data it received.
    /// Returns the response data of that block (GP allows STORE DATA to answer data; the
    /// payment applet answers the public key it generated, most applets nothing).
    fn end_personalization(&mut self) -> Result<Vec<u8>, AppletError>;

    /// Whether the applet has been personalised.
    fn is_personalized(&self) -> bool;

    /// The applet's state to persist; [`restore`] gives it back after a restart.
    fn save(&self) -> Value;
}

/// A new instance of the applet class of executable module `module`: the payment application
/// for [`PAYMENT_MODULE`], a [`GenericApplet`] for any other module.
pub fn instantiate(module: &Aid) -> Box<dyn Applet> {
    if module.as_bytes() == PAYMENT_MODULE {
        Box::new(PaymentApplet::new())
    } else {
        Box::new(GenericApplet::default())
    }
}

/// An instance of module `module` restored from what [`Applet::save`] returned.
pub fn restore(module: &Aid, saved: &Value) -> Result<Box<dyn Applet>, AppletError> {
    if module.as_bytes() == PAYMENT_MODULE {
        Ok(Box::new(PaymentApplet::restore(saved)?))
    } else {
        Ok(Box::new(GenericApplet::restore(saved)?))
    }
}

/// The FCI `6F { 84 aid, extra.. }`.
pub(crate) fn fci(aid: &Aid, proprietary: Option<TlvNode>) -> Vec<u8> {
    let mut children = vec![TlvNode::primitive(Tag::DF_NAME, aid.as_bytes())];
    children.extend(proprietary);
    TlvNode::constructed(Tag::FCI_TEMPLATE, children).encode()
}

/// The applet class of modules loaded with LOAD: selectable (FCI with its AID), accepts any
/// personalisation, supports no other command (`6D00`).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct GenericApplet {
    personalized: bool,
    dgis_received: usize,
}

impl GenericApplet {
    fn restore(saved: &Value) -> Result<GenericApplet, AppletError> {
        let personalized = saved
            .get("personalized")
            .and_then(Value::as_bool)
            .ok_or_else(|| AppletError::State("personalized flag".into()))?;
        Ok(GenericApplet {
            personalized,
            dgis_received: 0,
        })
    }
}

impl Applet for GenericApplet {
    fn select(&mut self, name: &Aid, _ctx: &mut AppletContext<'_>) -> ResponseApdu {
        ResponseApdu::success(fci(name, None))
    }

    fn process(&mut self, _cmd: &CommandApdu, _ctx: &mut AppletContext<'_>) -> ResponseApdu {
        ResponseApdu::status_only(sw::INS_NOT_SUPPORTED)
    }

    fn store_dgi(&mut self, _dgi: Dgi) -> Result<(), AppletError> {
        self.dgis_received += 1;
        Ok(())
    }

    fn end_personalization(&mut self) -> Result<Vec<u8>, AppletError> {
        self.personalized = true;
        Ok(Vec::new())
    }

    fn is_personalized(&self) -> bool {
        self.personalized
    }

    fn save(&self) -> Value {
        serde_json::json!({ "personalized": self.personalized })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generic_applet_selects_and_round_trips() {
        let aid = Aid::new(vec![0xA0, 0, 0, 0, 0x01, 0x02]).unwrap();
        let mut applet = instantiate(&aid);
        let mut ctx = AppletContext {
            channel: 0,
            durable: &mut Volatile,
        };
        assert!(applet.directory().is_empty());
        assert_eq!(
            applet.select(&aid, &mut ctx).to_bytes(),
            hex::decode(
                "6F088406A00000000102" /* FCI */
                    .to_owned()
                    + "9000"
            )
            .unwrap()
        );
        let cmd = CommandApdu::new(0x80, 0x10, 0, 0);
        assert_eq!(applet.process(&cmd, &mut ctx).sw, sw::INS_NOT_SUPPORTED);
        assert!(!applet.is_personalized());
        applet.end_personalization().unwrap();
        let restored = restore(&aid, &applet.save()).unwrap();
        assert!(restored.is_personalized());
        assert!(restore(&aid, &serde_json::json!({})).is_err());
    }
}
