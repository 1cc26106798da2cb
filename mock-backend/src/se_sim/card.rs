//! One simulated GlobalPlatform card: logical channels, MANAGE CHANNEL, and the dispatch of
//! every command but SELECT (see [`super::select`]) to the application selected on its channel
//! (a security domain's processor or an applet). State changes are saved after the command that
//! made them when the card has a state file; an applet may also have its state saved while it
//! processes a command ([`super::applet::DurableState`]), before it answers.

use std::path::PathBuf;

use serde_json::Value;
use wallet_core::apdu::{Class, CommandApdu, ResponseApdu};
use wallet_core::card::aids::PPSE;
use wallet_core::crypto::random;
use wallet_core::gp::{Aid, CardLifeCycle};
use wallet_core::se::ReaderKind;

use super::applet::{Applet, AppletContext, AppletError, DurableState, GenericApplet};
use super::error::{sw, SeSimError};
use super::registry::{Body, Entry, Registry};
use super::sd::SdContext;
use super::secure_channel::SdSession;
use crate::world_keys::{se_id_of, ISD_AID, KDD_LEN};

/// Logical channels of the card: the basic channel and 19 more (0 to 19).
pub const CHANNELS: usize = 20;
/// INS of MANAGE CHANNEL.
const INS_MANAGE_CHANNEL: u8 = 0x70;
/// INS of SELECT.
const INS_SELECT: u8 = 0xA4;

/// One open logical channel: the application selected on it and, when that is a security
/// domain, its secure channel session.
#[derive(Debug)]
pub(crate) struct ChannelState {
    /// The registry entry commands go to (an application or security domain), or the PPSE
    /// name when the PPSE is selected.
    pub(crate) selected: Aid,
    /// The DF name it was selected by: the entry's AID, one of a payment instance's
    /// applications, or the PPSE name.
    pub(crate) df_name: Aid,
    /// The security domain session, from INITIALIZE UPDATE until SELECT, close or an error.
    pub(crate) session: Option<SdSession>,
}

impl ChannelState {
    fn isd() -> ChannelState {
        ChannelState {
            selected: isd_aid(),
            df_name: isd_aid(),
            session: None,
        }
    }
}

fn isd_aid() -> Aid {
    Aid::new(ISD_AID).unwrap_or_else(|_| unreachable!("the ISD AID is 8 bytes"))
}

/// The answer to reset of a simulated SE of `kind`: T=0 and T=1 offered, historical bytes
/// `MockSE-eSE` / `MockSE-SIM` / `MockSE-SD`, check byte TCK.
pub fn atr(kind: ReaderKind) -> Vec<u8> {
    let mut historical = b"MockSE-".to_vec();
    historical.extend_from_slice(kind.prefix().as_bytes());
    let count = u8::try_from(historical.len()).unwrap_or(15).min(15);
    // TS, T0 (TD1 present, K historical bytes), TD1 (T=0, TD2 present), TD2 (T=1).
    let mut atr = vec![0x3B, 0x80 | count, 0x80, 0x01];
    atr.extend(historical.iter().take(usize::from(count)));
    let tck = atr.iter().skip(1).fold(0u8, |acc, b| acc ^ b);
    atr.push(tck);
    atr
}

/// A simulated secure element: one GlobalPlatform card.
#[derive(Debug)]
pub struct SimulatedSe {
    pub(super) kind: ReaderKind,
    pub(super) kdd: [u8; KDD_LEN],
    pub(super) registry: Registry,
    pub(super) channels: Vec<Option<ChannelState>>,
    pub(super) path: Option<PathBuf>,
    pub(super) dirty: bool,
}

impl SimulatedSe {
    /// A new card of `kind` with a random key diversification data, kept in memory only.
    pub fn new(kind: ReaderKind) -> Result<SimulatedSe, SeSimError> {
        let kdd = random::bytes().map_err(wallet_core::gp::GpError::from)?;
        SimulatedSe::with_kdd(kind, kdd)
    }

    /// A new card of `kind` with the given key diversification data, kept in memory only.
    pub fn with_kdd(kind: ReaderKind, kdd: [u8; KDD_LEN]) -> Result<SimulatedSe, SeSimError> {
        Ok(SimulatedSe::from_parts(
            kind,
            kdd,
            Registry::new_card(kind, &kdd)?,
            None,
        ))
    }

    pub(super) fn from_parts(
        kind: ReaderKind,
        kdd: [u8; KDD_LEN],
        registry: Registry,
        path: Option<PathBuf>,
    ) -> SimulatedSe {
        let mut se = SimulatedSe {
            kind,
            kdd,
            registry,
            channels: Vec::new(),
            path,
            dirty: false,
        };
        se.reset();
        se
    }

    /// The SE kind.
    pub fn kind(&self) -> ReaderKind {
        self.kind
    }

    /// The key diversification data (the SE's serial).
    pub fn kdd(&self) -> [u8; KDD_LEN] {
        self.kdd
    }

    /// The SERAM `seId`: the uppercase hex of the KDD.
    pub fn se_id(&self) -> String {
        se_id_of(&self.kdd)
    }

    /// The answer to reset.
    pub fn atr(&self) -> Vec<u8> {
        atr(self.kind)
    }

    /// The registry (card life cycle, load files, applications and security domains).
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The registry entry of `aid`.
    pub fn entry(&self, aid: &[u8]) -> Option<&Entry> {
        self.registry
            .entries
            .iter()
            .find(|e| e.aid.as_bytes() == aid)
    }

    /// The sequence counter of the security domain `aid`.
    pub fn sequence_counter(&self, aid: &[u8]) -> Option<u32> {
        self.entry(aid)?.domain().map(|d| d.counter)
    }

    /// The card life cycle.
    pub fn card_life_cycle(&self) -> CardLifeCycle {
        self.registry.card_life_cycle
    }

    /// Whether logical channel `number` is open.
    pub fn is_channel_open(&self, number: u8) -> bool {
        self.channels
            .get(usize::from(number))
            .is_some_and(Option::is_some)
    }

    /// Power-on reset: every logical channel but the basic one closes, the ISD is selected on
    /// the basic channel, every secure channel session ends.
    pub fn reset(&mut self) {
        let previous = std::mem::take(&mut self.channels);
        for (number, state) in previous.into_iter().enumerate() {
            if let Some(state) = state {
                self.deselect(number, &state.selected);
            }
        }
        self.channels = std::iter::repeat_with(|| None).take(CHANNELS).collect();
        if let Some(basic) = self.channels.first_mut() {
            *basic = Some(ChannelState::isd());
        }
    }

    /// Processes one command APDU given as bytes and returns the response APDU bytes.
    pub fn transmit(&mut self, apdu: &[u8]) -> Vec<u8> {
        let response = match CommandApdu::parse(apdu) {
            Ok(cmd) => self.process(&cmd),
            Err(_) => ResponseApdu::status_only(sw::WRONG_LENGTH),
        };
        response.to_bytes()
    }

    /// Processes one command APDU on the logical channel its class byte names.
    pub fn process(&mut self, cmd: &CommandApdu) -> ResponseApdu {
        let Ok(info) = Class::new(cmd.cla()).decode() else {
            return ResponseApdu::status_only(sw::CLA_NOT_SUPPORTED);
        };
        let channel = usize::from(info.channel.number());
        if !self.is_channel_open(info.channel.number()) {
            return ResponseApdu::status_only(sw::CHANNEL_NOT_SUPPORTED);
        }
        let response = match (info.proprietary, cmd.ins()) {
            (false, INS_MANAGE_CHANNEL) => self.manage_channel(channel, cmd),
            (false, INS_SELECT) => self.select(channel, cmd),
            _ => self.dispatch(channel, cmd),
        };
        if self.dirty {
            self.dirty = false;
            if let Err(err) = self.save() {
                tracing::error!(kind = ?self.kind, %err, "simulated SE state not saved");
                return ResponseApdu::status_only(sw::MEMORY_FAILURE);
            }
        }
        response
    }

    /// Tells the applet `aid` (if it is one) that it is no longer selected on `channel`.
    pub(super) fn deselect(&mut self, channel: usize, aid: &Aid) {
        if let (Some(applet), Ok(channel)) = (self.registry.applet_mut(aid), u8::try_from(channel))
        {
            applet.deselect(channel);
        }
    }

    /// Runs `f` on the applet `aid` with a context whose durable memory is this card's state
    /// file; `None` if `aid` is no applet. The applet is taken out of the registry meanwhile
    /// (the card saves its state from the value it hands over); a change not saved that way
    /// marks the card dirty.
    pub(super) fn with_applet<R>(
        &mut self,
        aid: &Aid,
        channel: usize,
        f: impl FnOnce(&mut dyn Applet, &mut AppletContext<'_>) -> R,
    ) -> Option<R> {
        let index = self.registry.entries.iter().position(|e| &e.aid == aid)?;
        let entry = self.registry.entries.get_mut(index)?;
        if !matches!(entry.body, Body::Applet(_)) {
            return None;
        }
        let placeholder = Body::Applet(Box::<GenericApplet>::default());
        let Body::Applet(mut applet) = std::mem::replace(&mut entry.body, placeholder) else {
            return None;
        };
        let before = applet.save();
        let mut card = CardMemory {
            se: self,
            index,
            saved: None,
        };
        let mut ctx = AppletContext {
            channel: u8::try_from(channel).unwrap_or_default(),
            durable: &mut card,
        };
        let result = f(applet.as_mut(), &mut ctx);
        let saved = card.saved;
        let after = applet.save();
        if after != before && saved.as_ref() != Some(&after) {
            self.dirty = true;
        }
        if let Some(entry) = self.registry.entries.get_mut(index) {
            entry.body = Body::Applet(applet);
        }
        Some(result)
    }

    /// MANAGE CHANNEL open (P1 `00`; P2 `00` picks a channel and returns its number) and close
    /// (P1 `80`; P2 the channel, or `00` for the one the command came on). A new channel starts
    /// with the ISD selected.
    fn manage_channel(&mut self, channel: usize, cmd: &CommandApdu) -> ResponseApdu {
        match (cmd.p1(), usize::from(cmd.p2())) {
            (0x00, 0) => {
                let free =
                    (1..CHANNELS).find(|&n| self.channels.get(n).is_some_and(Option::is_none));
                match free.and_then(|n| Some((n, self.channels.get_mut(n)?))) {
                    Some((n, slot)) => {
                        *slot = Some(ChannelState::isd());
                        ResponseApdu::success(vec![u8::try_from(n).unwrap_or_default()])
                    }
                    None => ResponseApdu::status_only(sw::FUNCTION_NOT_SUPPORTED),
                }
            }
            (0x00, wanted) => match self.channels.get_mut(wanted) {
                Some(slot @ None) => {
                    *slot = Some(ChannelState::isd());
                    ResponseApdu::success(Vec::new())
                }
                Some(Some(_)) => ResponseApdu::status_only(sw::FUNCTION_NOT_SUPPORTED),
                None => ResponseApdu::status_only(sw::WRONG_P1P2),
            },
            (0x80, target) => {
                let target = if target == 0 { channel } else { target };
                match self.channels.get_mut(target) {
                    Some(slot @ Some(_)) if target != 0 => {
                        if let Some(closed) = slot.take() {
                            self.deselect(target, &closed.selected);
                        }
                        ResponseApdu::success(Vec::new())
                    }
                    _ => ResponseApdu::status_only(sw::WRONG_P1P2),
                }
            }
            _ => ResponseApdu::status_only(sw::WRONG_P1P2),
        }
    }

    /// Any other command: to the security domain or applet selected on the channel.
    fn dispatch(&mut self, channel: usize, cmd: &CommandApdu) -> ResponseApdu {
        let selected_everywhere: Vec<Aid> = self
            .channels
            .iter()
            .flatten()
            .map(|c| c.selected.clone())
            .collect();
        let Some(state) = self.channels.get_mut(channel).and_then(Option::as_mut) else {
            return ResponseApdu::status_only(sw::CHANNEL_NOT_SUPPORTED);
        };
        if state.selected.as_bytes() == PPSE {
            // The PPSE is a directory: it answers SELECT only.
            return ResponseApdu::status_only(sw::CONDITIONS);
        }
        let is_isd = self.registry.is_isd(&state.selected);
        let card_usable = matches!(
            self.registry.card_life_cycle,
            CardLifeCycle::OpReady | CardLifeCycle::Initialized | CardLifeCycle::Secured
        );
        let Some(entry) = self.registry.entry_mut(&state.selected) else {
            return ResponseApdu::status_only(sw::CONDITIONS);
        };
        if !is_isd && (!card_usable || !entry.life_cycle.is_selectable()) {
            let refusal = if card_usable {
                sw::CONDITIONS
            } else {
                sw::FUNCTION_NOT_SUPPORTED
            };
            return ResponseApdu::status_only(refusal);
        }
        match &mut entry.body {
            Body::Applet(_) => {
                let aid = state.selected.clone();
                self.with_applet(&aid, channel, |applet, ctx| applet.process(cmd, ctx))
                    .unwrap_or_else(|| ResponseApdu::status_only(sw::CONDITIONS))
            }
            Body::Domain(_) => SdContext {
                kind: self.kind,
                kdd: self.kdd,
                registry: &mut self.registry,
                channel: state,
                selected: &selected_everywhere,
                dirty: &mut self.dirty,
            }
            .process(cmd),
        }
    }
}

/// The card's state file as the durable memory of the applet at `index`, which is out of the
/// registry while it runs.
struct CardMemory<'a> {
    se: &'a SimulatedSe,
    index: usize,
    /// The state last saved for the applet.
    saved: Option<Value>,
}

impl DurableState for CardMemory<'_> {
    fn persist(&mut self, state: &Value) -> Result<(), AppletError> {
        self.se
            .save_with(Some((self.index, state)))
            .map_err(|e| AppletError::Storage(e.to_string()))?;
        self.saved = Some(state.clone());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(se: &mut SimulatedSe, hex_apdu: &str) -> String {
        hex::encode_upper(se.transmit(&hex::decode(hex_apdu).unwrap()))
    }

    /// ISO/IEC 7816-3: the XOR of T0..TCK is zero; T=1 is offered in TD2.
    #[test]
    fn atr_is_well_formed() {
        let atr = atr(ReaderKind::Ese);
        assert_eq!(atr[..4], [0x3B, 0x8A, 0x80, 0x01]);
        assert_eq!(&atr[4..14], b"MockSE-eSE");
        assert_eq!(atr.iter().skip(1).fold(0, |a, b| a ^ b), 0);
        assert_eq!(atr.len(), 15);
    }

    #[test]
    fn channels_and_selection() {
        let mut se = SimulatedSe::with_kdd(ReaderKind::Ese, [7; KDD_LEN]).unwrap();
        // SELECT the ISD on the basic channel: FCI with 9F65.
        assert_eq!(
            run(&mut se, "00A4040008A00000015100000000"),
            "6F108408A000000151000000A5049F6501FF9000"
        );
        // Open two channels, then a command on a closed one.
        assert_eq!(run(&mut se, "0070000001"), "019000");
        assert_eq!(run(&mut se, "0070000001"), "029000");
        assert_eq!(run(&mut se, "03A4040008A00000015100000000"), "6881");
        // Not installed yet: not found; partial selection of the ISD works.
        assert_eq!(run(&mut se, "01A4040008A00000033301010600"), "6A82");
        assert_eq!(run(&mut se, "01A4040005A00000015100").len(), 40);
        // Close channel 1 from channel 1, close channel 0 refused.
        assert_eq!(run(&mut se, "01708000"), "9000");
        assert!(!se.is_channel_open(1));
        assert_eq!(run(&mut se, "00708000"), "6A86");
        // Unknown class, garbage, unsupported instruction on the ISD.
        assert_eq!(run(&mut se, "FFA40400"), "6E00");
        assert_eq!(run(&mut se, "00A4"), "6700");
        assert_eq!(run(&mut se, "80120000"), "6D00");
        // GET DATA of the KDD needs no secure channel; INSTALL does.
        assert_eq!(
            run(&mut se, "80CA00CF00"),
            "CF0A07070707070707070707".to_owned() + "9000"
        );
        assert_eq!(run(&mut se, "80E60C0000"), "6982");
        se.reset();
        assert!(!se.is_channel_open(2));
    }
}
