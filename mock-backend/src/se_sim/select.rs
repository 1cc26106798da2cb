//! SELECT by DF name on the simulated card, and the PPSE.
//!
//! **Names.** SELECT reaches, in registry order: the ISD; every selectable security domain and
//! application (a locked or merely installed one is not selectable) by its AID — except a
//! payment instance, which is reached by the AIDs of its [`Applet::directory`] (a debit card
//! with e-cash answers for the debit and the e-cash applications). A directory AID that is
//! another selectable entry's own AID belongs to that entry; a name listed twice reaches its
//! first holder.
//!
//! **SELECT** `00 A4 04 P2 name`: P2 `00` first or only occurrence, `02` next occurrence (after
//! the name selected on the channel), with FCI; `0C` / `0E` the same without FCI. A partial name
//! (5 bytes or more) selects the first name it prefixes; an empty name the ISD. Not found:
//! `6A82`; an application while the card is locked: `6A81`; other P1 / P2: `6A86`. The selected
//! applet answers the FCI (a payment instance: its card application's). A failed SELECT leaves
//! the channel as it was; a successful one ends the channel's secure channel session.
//!
//! **PPSE** `2PAY.SYS.DDF01`, on any channel: the card's directory of contactless payment
//! applications, `6F { 84 name, A5 { BF0C { 61 { 4F AID, 50 label, 87 priority } … } } }`, one
//! entry per directory name of the selectable, personalised payment instances (labels of
//! [`wallet_core::card::aids::label`], priorities as each card application gives them). `6A82`
//! when there is none. While the PPSE is selected the channel answers only SELECT (`6985`).

use std::collections::HashSet;

use wallet_core::apdu::{CommandApdu, ResponseApdu, Tag, TlvNode};
use wallet_core::backend::api::AccountKind;
use wallet_core::card::aids::{self, PPSE};
use wallet_core::card::DirectoryEntry;
use wallet_core::gp::{Aid, CardLifeCycle};

use super::applet::{fci, Applet};
use super::card::SimulatedSe;
use super::error::sw;
use crate::world_keys::ISD_AID;

/// One name SELECT can reach.
#[derive(Debug, Clone)]
struct Candidate {
    /// The DF name.
    name: Aid,
    /// The registry entry it selects.
    entry: Aid,
    /// Whether that entry is the ISD (selectable whatever the card life cycle).
    is_isd: bool,
    /// Its PPSE entry, when it is a payment application.
    payment: Option<DirectoryEntry>,
}

/// The label (`50`) of a payment application.
fn label(entry: &DirectoryEntry) -> &'static [u8] {
    aids::label(aids::account_of(&entry.aid).unwrap_or(AccountKind::ECash))
}

/// The PPSE's FCI listing `entries`.
fn ppse_fci(entries: &[DirectoryEntry]) -> Vec<u8> {
    let templates = entries.iter().map(|e| {
        TlvNode::constructed(
            Tag::APPLICATION_TEMPLATE,
            [
                TlvNode::primitive(Tag::AID, e.aid.to_vec()),
                TlvNode::primitive(Tag::APPLICATION_LABEL, label(e)),
                TlvNode::primitive(Tag::APPLICATION_PRIORITY, vec![e.priority]),
            ],
        )
    });
    TlvNode::constructed(
        Tag::FCI_TEMPLATE,
        [
            TlvNode::primitive(Tag::DF_NAME, PPSE),
            TlvNode::constructed(
                Tag::FCI_PROPRIETARY,
                [TlvNode::constructed(
                    Tag::FCI_ISSUER_DISCRETIONARY,
                    templates,
                )],
            ),
        ],
    )
    .encode()
}

/// The FCI of a security domain: its AID and the maximum command length (`9F65`).
fn domain_fci(aid: &Aid) -> Vec<u8> {
    let max_length =
        TlvNode::primitive(Tag::new(0x9F65).unwrap_or(Tag::FCI_PROPRIETARY), vec![0xFF]);
    fci(
        aid,
        Some(TlvNode::constructed(Tag::FCI_PROPRIETARY, [max_length])),
    )
}

impl SimulatedSe {
    /// Whether the card life cycle lets applications other than the ISD be selected.
    fn card_usable(&self) -> bool {
        matches!(
            self.registry.card_life_cycle,
            CardLifeCycle::OpReady | CardLifeCycle::Initialized | CardLifeCycle::Secured
        )
    }

    /// Every name SELECT can reach, in selection order (see the module documentation).
    fn candidates(&self) -> Vec<Candidate> {
        let reachable: Vec<_> = self
            .registry
            .entries
            .iter()
            .filter(|e| self.registry.is_isd(&e.aid) || e.life_cycle.is_selectable())
            .collect();
        let own: HashSet<&[u8]> = reachable.iter().map(|e| e.aid.as_bytes()).collect();
        let mut listed: HashSet<Vec<u8>> = HashSet::new();
        let mut out = Vec::new();
        for entry in reachable {
            let is_isd = self.registry.is_isd(&entry.aid);
            let directory = entry.applet().map(Applet::directory).unwrap_or_default();
            if directory.is_empty() {
                if listed.insert(entry.aid.as_bytes().to_vec()) {
                    out.push(Candidate {
                        name: entry.aid.clone(),
                        entry: entry.aid.clone(),
                        is_isd,
                        payment: None,
                    });
                }
                continue;
            }
            for app in directory {
                let taken_by_another =
                    app.aid != entry.aid.as_bytes() && own.contains(&app.aid[..]);
                if taken_by_another || !listed.insert(app.aid.to_vec()) {
                    continue;
                }
                let Ok(name) = Aid::new(app.aid) else {
                    continue;
                };
                out.push(Candidate {
                    name,
                    entry: entry.aid.clone(),
                    is_isd,
                    payment: Some(app),
                });
            }
        }
        out
    }

    /// The card's contactless payment applications as the PPSE lists them, each with the AID of
    /// the instance that hosts it.
    pub fn payment_directory(&self) -> Vec<(DirectoryEntry, Aid)> {
        self.candidates()
            .into_iter()
            .filter_map(|c| Some((c.payment?, c.entry)))
            .collect()
    }

    /// SELECT by DF name (see the module documentation).
    pub(super) fn select(&mut self, channel: usize, cmd: &CommandApdu) -> ResponseApdu {
        if cmd.p1() != 0x04 {
            return ResponseApdu::status_only(sw::WRONG_P1P2);
        }
        let (next, want_fci) = match cmd.p2() {
            0x00 => (false, true),
            0x02 => (true, true),
            0x0C => (false, false),
            0x0E => (true, false),
            _ => return ResponseApdu::status_only(sw::WRONG_P1P2),
        };
        let response = match cmd.data() {
            [] if next => ResponseApdu::status_only(sw::NOT_FOUND),
            name if name == PPSE && next => ResponseApdu::status_only(sw::NOT_FOUND),
            name if name == PPSE => self.select_ppse(channel),
            [] => self.select_name(channel, &ISD_AID, false),
            name => self.select_name(channel, name, next),
        };
        if want_fci || !response.sw.is_normal() {
            response
        } else {
            ResponseApdu::status_only(response.sw)
        }
    }

    fn select_name(&mut self, channel: usize, name: &[u8], next: bool) -> ResponseApdu {
        let candidates = self.candidates();
        let start = match self.channels.get(channel).and_then(Option::as_ref) {
            Some(state) if next => candidates
                .iter()
                .position(|c| c.entry == state.selected && c.name == state.df_name)
                .map_or(0, |i| i + 1),
            _ => 0,
        };
        let Some(found) = candidates
            .into_iter()
            .skip(start)
            .find(|c| c.name.as_bytes().starts_with(name))
        else {
            return ResponseApdu::status_only(sw::NOT_FOUND);
        };
        if !found.is_isd && !self.card_usable() {
            return ResponseApdu::status_only(sw::FUNCTION_NOT_SUPPORTED);
        }
        let response = self
            .with_applet(&found.entry, channel, |applet, ctx| {
                applet.select(&found.name, ctx)
            })
            .unwrap_or_else(|| ResponseApdu::success(domain_fci(&found.entry)));
        if response.sw.is_normal() {
            self.now_selected(channel, found.entry, found.name);
        }
        response
    }

    fn select_ppse(&mut self, channel: usize) -> ResponseApdu {
        if !self.card_usable() {
            return ResponseApdu::status_only(sw::FUNCTION_NOT_SUPPORTED);
        }
        let entries: Vec<DirectoryEntry> = self
            .payment_directory()
            .into_iter()
            .map(|(entry, _)| entry)
            .collect();
        if entries.is_empty() {
            return ResponseApdu::status_only(sw::NOT_FOUND);
        }
        let Ok(ppse) = Aid::new(PPSE) else {
            return ResponseApdu::status_only(sw::UNKNOWN);
        };
        self.now_selected(channel, ppse.clone(), ppse);
        ResponseApdu::success(ppse_fci(&entries))
    }

    /// Records that `entry` is selected on `channel` by `name`, deselecting what was before.
    fn now_selected(&mut self, channel: usize, entry: Aid, name: Aid) {
        let previous = self
            .channels
            .get(channel)
            .and_then(Option::as_ref)
            .map(|s| s.selected.clone());
        if let Some(previous) = previous.filter(|p| *p != entry) {
            self.deselect(channel, &previous);
        }
        if let Some(Some(state)) = self.channels.get_mut(channel) {
            state.selected = entry;
            state.df_name = name;
            state.session = None;
        }
    }
}

#[cfg(test)]
#[path = "select_tests.rs"]
mod tests;
