//! The contactless card application (qPBOC / EMV contactless): a pure state machine from command
//! APDU to response APDU, the one implementation behind HCE and the SE simulator.
//!
//! Commands (anything else: `6D00`; a known INS with another class: `6E00`):
//!
//! | command | CLA INS | answers | module |
//! |---|---|---|---|
//! | SELECT by name | `00 A4 04 00/02` | PPSE directory or application FCI with PDOL | `select.rs` |
//! | GET PROCESSING OPTIONS | `80 A8 00 00` | qPBOC response: ARQC, offline e-cash TC with fDDA, or AAC | `gpo.rs` |
//! | READ RECORD | `00 B2 rec (sfi<<3 \| 4)` | records of SFI 1 per the AFL | `data.rs` |
//! | GET DATA | `80 CA` tag | `9F79`, `9F77`, `9F78`, `9F36`, `9F13` | `data.rs` |
//! | EXTERNAL AUTHENTICATE | `00 82 00 00` | checks ARPC ‖ ARC of the last ARQC (`6300` if wrong) | `issuer.rs` |
//! | PUT DATA `9F79` | `04`/`84 DA 9F 79` | e-cash load by issuer script with MAC (`6988` if wrong) | `issuer.rs` |
//! | GET DATA `DF61` | `80 CA DF 61` | `DF61 41 <04 ‖ X ‖ Y>`, the remote-payment signing public key (`6A88` if none) | `data.rs` |
//! | VERIFY | `00 20 00 80` | cardholder PIN (format 2 block): `9000`, `63Cx`, `6983` blocked | `sign.rs` |
//! | PSO COMPUTE DIGITAL SIGNATURE | `00 2A 9E 9A` | signature of the message (`6982` without a fresh VERIFY) | `sign.rs` |
//!
//! General status words: unparsable APDU (truncated, bad Lc, trailing bytes) `6700`; logical
//! channel other than 0 `6881`; command chaining `6884`; reserved class `6E00`. Parameters are
//! checked first (P1-P2 `6A86`, Lc `6700`), then the state (`6985`), then the data. A failing
//! counter store gives `6581` and nothing else changes. Nothing panics on any input.
//!
//! State: nothing selected → PPSE or an application selected → transaction processed (after
//! GET PROCESSING OPTIONS). Any SELECT, a failed one included, ends the transaction; so does
//! [`CardApplication::reset`] (field lost). Both also forget a verified PIN.
//!
//! Remote-payment signing ([`CardApplication::with_signing`]): the PIN and the key from DGIs
//! `8002` / `8003`, the PIN try counter persisted through the [`CardCounterStore`]
//! (`persist_pin_tries`) like the ATC.
//!
//! [`CardCounterStore`]: super::counters::CardCounterStore

mod data;
mod gpo;
mod issuer;
mod select;
mod sign;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod sign_tests;
#[cfg(test)]
mod tests;

pub use gpo::PDOL;
pub use sign::MAX_MESSAGE_LEN;

use super::counters::{CardContext, CardCounters};
use super::perso::PersoError;
use super::profile::CardProfile;
use super::signing::{CardSigning, PIN_TRY_LIMIT};
use crate::apdu::{tlv, Class, CommandApdu, Dol, LogicalChannel, ResponseApdu, Status, Tag};
use crate::backend::api::AccountKind;
use crate::crypto::sm2::Sm2SigningKey;

/// `6884`: command chaining not supported.
const SW_CHAINING_NOT_SUPPORTED: u16 = 0x6884;

/// The card application could not be built from its personalisation and counters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CardError {
    /// The personalisation is incomplete or inconsistent.
    #[error(transparent)]
    Perso(#[from] PersoError),
    /// The fDDA private key is not a valid SM2 key.
    #[error("invalid ICC private key")]
    IccKey,
    /// The restored counters do not fit the personalisation.
    #[error("inconsistent card counters: {0}")]
    Counters(&'static str),
}

/// How an application of the card behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplicationKind {
    /// The account's application (debit, credit, quasi-credit): online, and offline e-cash when
    /// the card has e-cash.
    Account,
    /// The stand-alone e-cash application (`A000000333010106`): offline purchases, online loads;
    /// anything else is declined (AAC).
    ECash,
}

/// One entry of the PPSE directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirectoryEntry {
    /// The application identifier.
    pub aid: [u8; 8],
    /// Its behaviour.
    pub kind: ApplicationKind,
    /// Application priority indicator (`87`), 1 first.
    pub priority: u8,
}

/// The ARQC of the current transaction, for issuer authentication and issuer scripts.
#[derive(Debug, Clone, Copy)]
struct OnlineSession {
    arqc: [u8; 8],
    issuer_authentication_tried: bool,
    script_tried: bool,
}

#[derive(Debug, Clone, Copy)]
enum Selection {
    None,
    Ppse,
    Application {
        index: usize,
        /// `Some(atc)` once GET PROCESSING OPTIONS answered.
        processed: Option<u16>,
        online: Option<OnlineSession>,
    },
}

/// The card application. `Debug` shows no card data.
pub struct CardApplication {
    profile: CardProfile,
    icc_key: Option<Sm2SigningKey>,
    directory: Vec<DirectoryEntry>,
    records: Vec<Vec<u8>>,
    track2: Vec<u8>,
    psn: Vec<u8>,
    pdol: Dol,
    counters: CardCounters,
    selection: Selection,
    /// Remote-payment PIN and signing key, when personalised.
    signing: Option<CardSigning>,
    /// PIN tries left (as last persisted); [`PIN_TRY_LIMIT`] without a PIN.
    pin_tries_left: u8,
    /// VERIFY succeeded since the last SELECT / reset and no signature consumed it.
    pin_verified: bool,
}

impl std::fmt::Debug for CardApplication {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CardApplication")
            .field("directory", &self.directory)
            .field("atc", &self.counters.atc)
            .field("selection", &self.selection)
            .field("pin_tries_left", &self.pin_tries_left())
            .finish_non_exhaustive()
    }
}

impl CardApplication {
    /// The application personalised with `profile`, resuming from `counters` (the last ones
    /// persisted, or [`CardCounters::initial`] for a new card).
    pub fn new(profile: CardProfile, counters: CardCounters) -> Result<CardApplication, CardError> {
        let perso = &profile.perso;
        if perso.account_kind == AccountKind::ECash && perso.ecash.is_none() {
            return Err(PersoError::Malformed("an e-cash account needs e-cash parameters").into());
        }
        match (perso.ecash, counters.ecash_balance) {
            (None, None) => {}
            (Some(params), Some(balance)) if balance <= params.balance_limit => {}
            (Some(_), Some(_)) => return Err(CardError::Counters("balance above its limit")),
            _ => {
                return Err(CardError::Counters(
                    "e-cash balance without e-cash or vice versa",
                ))
            }
        }
        if counters.last_online_atc > counters.atc {
            return Err(CardError::Counters("last online ATC after the ATC"));
        }
        let icc_key = match &profile.fdda {
            None => None,
            Some(fdda) => Some(
                Sm2SigningKey::from_bytes(&fdda.icc_private_key[..])
                    .map_err(|_| CardError::IccKey)?,
            ),
        };
        let records = profile.records()?;
        let record_1 = records.first().map(Vec::as_slice).unwrap_or_default();
        let value = |tag: Tag| -> Result<Vec<u8>, CardError> {
            Ok(tlv::find(record_1, tag)
                .map_err(|_| PersoError::Malformed("record 1"))?
                .ok_or(PersoError::Malformed("record 1 lacks track 2 or PSN"))?
                .value()
                .to_vec())
        };
        let track2 = value(Tag::TRACK2_EQUIVALENT)?;
        let psn = value(Tag::PAN_SEQUENCE_NUMBER)?;
        let directory = select::directory(perso.account_kind, perso.ecash.is_some());
        Ok(CardApplication {
            pdol: Dol::parse(&PDOL).map_err(|_| PersoError::Malformed("PDOL"))?,
            profile,
            icc_key,
            directory,
            records,
            track2,
            psn,
            counters,
            selection: Selection::None,
            signing: None,
            pin_tries_left: PIN_TRY_LIMIT,
            pin_verified: false,
        })
    }

    /// The same application with the remote-payment signing material, resuming from
    /// `pin_tries_left` as last persisted (`None`: a new card, [`PIN_TRY_LIMIT`]). Refused when
    /// the key's algorithm does not fit the card's crypto or the tries exceed the limit.
    pub fn with_signing(
        mut self,
        signing: CardSigning,
        pin_tries_left: Option<u8>,
    ) -> Result<CardApplication, CardError> {
        if signing.key.crypto() != self.profile.perso.crypto {
            return Err(
                PersoError::Malformed("the signing key does not fit the card's crypto").into(),
            );
        }
        let tries = pin_tries_left.unwrap_or(PIN_TRY_LIMIT);
        if tries > PIN_TRY_LIMIT {
            return Err(CardError::Counters("PIN tries above the limit"));
        }
        self.signing = Some(signing);
        self.pin_tries_left = tries;
        Ok(self)
    }

    /// The PIN tries left as last persisted, when the card has a PIN.
    pub fn pin_tries_left(&self) -> Option<u8> {
        self.signing.as_ref().map(|_| self.pin_tries_left)
    }

    /// The remote-payment signing public key `04 ‖ X ‖ Y`, when the card has one.
    pub fn signing_public_key(&self) -> Option<Vec<u8>> {
        self.signing.as_ref().map(|s| s.key.public_key())
    }

    /// The applications the card answers for, in PPSE order.
    pub fn directory(&self) -> &[DirectoryEntry] {
        &self.directory
    }

    /// The counters as last persisted.
    pub fn counters(&self) -> CardCounters {
        self.counters
    }

    /// The personalisation.
    pub fn profile(&self) -> &CardProfile {
        &self.profile
    }

    /// The field is gone (or the reader deactivated the card): nothing selected any more.
    pub fn reset(&mut self) {
        self.selection = Selection::None;
        self.pin_verified = false;
    }

    /// Processes one command APDU and returns the response APDU (data ‖ SW1 SW2, always at
    /// least two bytes).
    pub fn process(&mut self, apdu: &[u8], ctx: &mut CardContext<'_>) -> Vec<u8> {
        match CommandApdu::parse(apdu) {
            Ok(cmd) => self.process_command(&cmd, ctx).to_bytes(),
            Err(_) => status(Status::WrongLength).to_bytes(),
        }
    }

    /// Processes one parsed command.
    pub fn process_command(
        &mut self,
        cmd: &CommandApdu,
        ctx: &mut CardContext<'_>,
    ) -> ResponseApdu {
        let info = match Class::new(cmd.cla()).decode() {
            Ok(info) => info,
            Err(_) => return status(Status::ClaNotSupported),
        };
        if info.channel != LogicalChannel::BASIC {
            return status(Status::LogicalChannelNotSupported);
        }
        if info.chaining {
            return ResponseApdu::status_only(SW_CHAINING_NOT_SUPPORTED);
        }
        let cla = cmd.cla();
        match (cmd.ins(), cla) {
            (0xA4, 0x00) => self.select(cmd),
            (0xA8, 0x80) => self.get_processing_options(cmd, ctx),
            (0xB2, 0x00) => self.read_record(cmd),
            (0xCA, 0x80) => self.get_data(cmd),
            (0x82, 0x00) => self.external_authenticate(cmd),
            (0xDA, 0x04 | 0x84) => self.put_data(cmd, ctx),
            (0x20, 0x00) => self.verify(cmd, ctx),
            (0x2A, 0x00) => self.perform_security_operation(cmd),
            (0xA4 | 0xA8 | 0xB2 | 0xCA | 0x82 | 0xDA | 0x20 | 0x2A, _) => {
                status(Status::ClaNotSupported)
            }
            _ => status(Status::InsNotSupported),
        }
    }

    /// The selected application's entry and its state, if an application is selected.
    fn selected(&self) -> Option<(DirectoryEntry, Option<u16>)> {
        match self.selection {
            Selection::Application {
                index, processed, ..
            } => self.directory.get(index).map(|e| (*e, processed)),
            _ => None,
        }
    }
}

/// A response with only a status word.
fn status(status: Status) -> ResponseApdu {
    ResponseApdu::status_only(status.word())
}
