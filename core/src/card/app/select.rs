//! SELECT by name: the PPSE directory and the applications' FCI.
//!
//! PPSE (`2PAY.SYS.DDF01`): `6F { 84 name, A5 { BF0C { 61 { 4F AID, 50 label, 87 priority } … } } }`
//! — the account's application (priority 1) and, when the card has e-cash, the e-cash
//! application (priority 2); a stand-alone e-cash account lists the e-cash application only.
//!
//! Application: `6F { 84 AID, A5 { 50 label, 87 priority, 9F38 PDOL, 5F2D "zhen" } }`.
//!
//! A partial AID (5 bytes or more) selects the first application it prefixes; P2 `02` (next
//! occurrence) the following one. P1 other than `04` or P2 other than `00` / `02`: `6A86`; no
//! name or more than 16 bytes: `6700`; unknown: `6A82`.

use super::{status, ApplicationKind, CardApplication, DirectoryEntry, Selection};
use crate::apdu::{CommandApdu, ResponseApdu, Status, Tag, TlvNode};
use crate::backend::api::AccountKind;
use crate::card::aids::{self, PPSE};

/// Language preference of the applications: Chinese, then English.
const LANGUAGES: &[u8] = b"zhen";

/// The directory of a card of account `kind`, with or without e-cash.
pub(super) fn directory(kind: AccountKind, has_ecash: bool) -> Vec<DirectoryEntry> {
    let ecash = DirectoryEntry {
        aid: aids::E_CASH,
        kind: ApplicationKind::ECash,
        priority: 1,
    };
    if kind == AccountKind::ECash {
        return vec![ecash];
    }
    let account = DirectoryEntry {
        aid: aids::for_account(kind),
        kind: ApplicationKind::Account,
        priority: 1,
    };
    if has_ecash {
        vec![
            account,
            DirectoryEntry {
                priority: 2,
                ..ecash
            },
        ]
    } else {
        vec![account]
    }
}

fn label(entry: &DirectoryEntry) -> &'static [u8] {
    aids::label(aids::account_of(&entry.aid).unwrap_or(AccountKind::ECash))
}

impl CardApplication {
    pub(super) fn select(&mut self, cmd: &CommandApdu) -> ResponseApdu {
        let next = match (cmd.p1(), cmd.p2()) {
            (0x04, 0x00) => false,
            (0x04, 0x02) => true,
            _ => return status(Status::IncorrectP1P2),
        };
        let name = cmd.data();
        if name.is_empty() || name.len() > 16 {
            return status(Status::WrongLength);
        }
        let previous = self.selection;
        self.selection = Selection::None;
        self.pin_verified = false;
        if name == PPSE {
            if next {
                return status(Status::FileNotFound);
            }
            self.selection = Selection::Ppse;
            return ResponseApdu::success(self.ppse_fci());
        }
        let start = match (next, previous) {
            (true, Selection::Application { index, .. }) => index + 1,
            _ => 0,
        };
        let found = self
            .directory
            .iter()
            .enumerate()
            .skip(start)
            .find(|(_, e)| name.len() >= 5 && e.aid.starts_with(name));
        match found {
            Some((index, entry)) => {
                let fci = application_fci(entry);
                self.selection = Selection::Application {
                    index,
                    processed: None,
                    online: None,
                };
                ResponseApdu::success(fci)
            }
            None => status(Status::FileNotFound),
        }
    }

    fn ppse_fci(&self) -> Vec<u8> {
        let entries = self.directory.iter().map(|e| {
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
                    [TlvNode::constructed(Tag::FCI_ISSUER_DISCRETIONARY, entries)],
                ),
            ],
        )
        .encode()
    }
}

fn application_fci(entry: &DirectoryEntry) -> Vec<u8> {
    TlvNode::constructed(
        Tag::FCI_TEMPLATE,
        [
            TlvNode::primitive(Tag::DF_NAME, entry.aid.to_vec()),
            TlvNode::constructed(
                Tag::FCI_PROPRIETARY,
                [
                    TlvNode::primitive(Tag::APPLICATION_LABEL, label(entry)),
                    TlvNode::primitive(Tag::APPLICATION_PRIORITY, vec![entry.priority]),
                    TlvNode::primitive(Tag::PDOL, super::PDOL.to_vec()),
                    TlvNode::primitive(Tag::LANGUAGE_PREFERENCE, LANGUAGES),
                ],
            ),
        ],
    )
    .encode()
}
