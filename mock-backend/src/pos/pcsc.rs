//! A card in a PC/SC reader as the terminal's [`ContactlessCard`] (cargo feature `pcsc`).
//!
//! [`PcscCard::connect`] finds the reader — the first whose name contains the wanted text
//! (case-insensitive), else the first reader holding a card — and connects to the card in
//! shared mode with T=1 or T=0, whichever the card offers. [`ContactlessCard::transceive`]
//! sends each command APDU as it is: the kernel's session already follows `61xx` (GET
//! RESPONSE) and `6Cxx` (resend with the right Le), so nothing is hidden from its trace.
//!
//! Every failure is typed: no PC/SC service, no reader, no card ([`PcscError`]); a card that
//! leaves the reader during the tap (an error from PC/SC, or an empty answer) is a
//! [`CardIoError::Lost`], so the tap fails cleanly.
//!
//! With vsmartcard's virtual reader, the wallet CLI plays the card (`wallet hce serve` or
//! `wallet se serve`) and `wallet tap --via pcsc` plays the terminal; see
//! `scripts/test-pcsc.sh`.

use super::card::{CardIoError, ContactlessCard};
use pcsc::{Context, Protocols, ReaderState, Scope, ShareMode, State};
use std::ffi::CString;
use std::time::{Duration, Instant};

/// How often [`PcscCard::connect_within`] looks again for a card.
const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// Reaching a card through PC/SC failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PcscError {
    /// The PC/SC service (pcscd) is not running or refused the connection.
    #[error("no PC/SC service (is pcscd running?): {0}")]
    NoService(pcsc::Error),
    /// The system has no reader at all.
    #[error("no PC/SC reader")]
    NoReader,
    /// No reader name contains the wanted text.
    #[error("no PC/SC reader named like {wanted:?} (readers: {})", available.join(", "))]
    UnknownReader {
        /// The text looked for.
        wanted: String,
        /// The readers there are.
        available: Vec<String>,
    },
    /// The chosen readers hold no card.
    #[error("no card in {}", readers.join(", "))]
    NoCard {
        /// The readers looked at.
        readers: Vec<String>,
    },
    /// Connecting to the card failed.
    #[error("cannot connect to the card in {reader}: {source}")]
    Connect {
        /// The reader.
        reader: String,
        /// PC/SC's error.
        source: pcsc::Error,
    },
    /// Another PC/SC call failed.
    #[error("PC/SC: {0}")]
    Pcsc(pcsc::Error),
}

/// A reader as PC/SC lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReaderInfo {
    /// Its name, e.g. `Virtual PCD 00 00`.
    pub name: String,
    /// Whether a card is present.
    pub card_present: bool,
}

/// Which reader to use among `readers`: the first whose name contains `wanted`
/// (case-insensitive) — preferring one with a card — else the first with a card.
pub fn choose_reader<'a>(
    readers: &'a [ReaderInfo],
    wanted: Option<&str>,
) -> Result<&'a ReaderInfo, PcscError> {
    if readers.is_empty() {
        return Err(PcscError::NoReader);
    }
    let candidates: Vec<&ReaderInfo> = match wanted {
        Some(w) => {
            let w = w.to_lowercase();
            let named: Vec<&ReaderInfo> = readers
                .iter()
                .filter(|r| r.name.to_lowercase().contains(&w))
                .collect();
            if named.is_empty() {
                return Err(PcscError::UnknownReader {
                    wanted: w,
                    available: readers.iter().map(|r| r.name.clone()).collect(),
                });
            }
            named
        }
        None => readers.iter().collect(),
    };
    candidates
        .iter()
        .find(|r| r.card_present)
        .copied()
        .ok_or_else(|| PcscError::NoCard {
            readers: candidates.iter().map(|r| r.name.clone()).collect(),
        })
}

/// How a PC/SC failure during an exchange reaches the kernel: the card gone (removed, reset,
/// unpowered, silent, reader unplugged) is [`CardIoError::Lost`]; anything else is a transport
/// failure.
pub fn card_io_error(err: pcsc::Error) -> CardIoError {
    match err {
        pcsc::Error::RemovedCard
        | pcsc::Error::ResetCard
        | pcsc::Error::UnpoweredCard
        | pcsc::Error::UnresponsiveCard
        | pcsc::Error::NoSmartcard
        | pcsc::Error::ReaderUnavailable
        | pcsc::Error::UnknownReader => CardIoError::Lost,
        other => CardIoError::Transport(format!("PC/SC: {other}")),
    }
}

/// A connected card in a PC/SC reader.
pub struct PcscCard {
    card: pcsc::Card,
    reader: String,
    atr: Vec<u8>,
    buffer: Vec<u8>,
}

impl std::fmt::Debug for PcscCard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PcscCard")
            .field("reader", &self.reader)
            .field("atr", &hex::encode_upper(&self.atr))
            .finish_non_exhaustive()
    }
}

impl PcscCard {
    /// Connects to the card in the reader named like `reader` (see [`choose_reader`]), or in
    /// the first reader holding one.
    pub fn connect(reader: Option<&str>) -> Result<PcscCard, PcscError> {
        let context = Context::establish(Scope::User).map_err(PcscError::NoService)?;
        let readers = list_readers(&context)?;
        let chosen = choose_reader(&readers, reader)?;
        let name = CString::new(chosen.name.as_str()).map_err(|_| PcscError::NoReader)?;
        let card = context
            .connect(&name, ShareMode::Shared, Protocols::T1 | Protocols::T0)
            .map_err(|source| match source {
                pcsc::Error::NoSmartcard | pcsc::Error::RemovedCard => PcscError::NoCard {
                    readers: vec![chosen.name.clone()],
                },
                source => PcscError::Connect {
                    reader: chosen.name.clone(),
                    source,
                },
            })?;
        let atr = card
            .status2_owned()
            .map(|s| s.atr().to_vec())
            .map_err(PcscError::Pcsc)?;
        Ok(PcscCard {
            card,
            reader: chosen.name.clone(),
            atr,
            buffer: vec![0; pcsc::MAX_BUFFER_SIZE_EXTENDED],
        })
    }

    /// Like [`Self::connect`], but while the readers hold no card, looks again until `wait` has
    /// passed (a terminal waiting for the customer to present a card).
    pub fn connect_within(reader: Option<&str>, wait: Duration) -> Result<PcscCard, PcscError> {
        let deadline = Instant::now() + wait;
        loop {
            match PcscCard::connect(reader) {
                Err(PcscError::NoCard { .. }) if Instant::now() < deadline => {
                    std::thread::sleep(POLL_INTERVAL);
                }
                result => return result,
            }
        }
    }

    /// The reader's name.
    pub fn reader(&self) -> &str {
        &self.reader
    }

    /// The card's answer to reset.
    pub fn atr(&self) -> &[u8] {
        &self.atr
    }
}

impl ContactlessCard for PcscCard {
    fn transceive(&mut self, c_apdu: &[u8]) -> Result<Vec<u8>, CardIoError> {
        self.card
            .transmit(c_apdu, &mut self.buffer)
            .map_err(card_io_error)
            .and_then(answer)
    }
}

/// A card's answer as the kernel gets it. An empty one is no answer at all: some readers
/// (vsmartcard's vpcd among them) report success with no bytes when the card vanished during
/// the exchange, so that is [`CardIoError::Lost`]. Anything else goes through untouched.
fn answer(bytes: &[u8]) -> Result<Vec<u8>, CardIoError> {
    if bytes.is_empty() {
        Err(CardIoError::Lost)
    } else {
        Ok(bytes.to_vec())
    }
}

/// Every reader with whether it holds a card.
fn list_readers(context: &Context) -> Result<Vec<ReaderInfo>, PcscError> {
    let names = match context.list_readers_owned() {
        Ok(names) => names,
        Err(pcsc::Error::NoReadersAvailable) => return Ok(Vec::new()),
        Err(e @ (pcsc::Error::NoService | pcsc::Error::ServiceStopped)) => {
            return Err(PcscError::NoService(e))
        }
        Err(e) => return Err(PcscError::Pcsc(e)),
    };
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let mut states: Vec<ReaderState> = names
        .into_iter()
        .map(|n| ReaderState::new(n, State::UNAWARE))
        .collect();
    context
        .get_status_change(Duration::ZERO, &mut states)
        .map_err(PcscError::Pcsc)?;
    Ok(states
        .iter()
        .map(|s| ReaderInfo {
            name: s.name().to_string_lossy().into_owned(),
            card_present: s.event_state().contains(State::PRESENT)
                && !s.event_state().contains(State::MUTE),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader(name: &str, card_present: bool) -> ReaderInfo {
        ReaderInfo {
            name: name.into(),
            card_present,
        }
    }

    #[test]
    fn the_first_reader_with_a_card_is_chosen() {
        let readers = [
            reader("Virtual PCD 00 00", false),
            reader("Virtual PCD 00 01", true),
        ];
        assert_eq!(
            choose_reader(&readers, None).unwrap().name,
            "Virtual PCD 00 01"
        );
        assert_eq!(choose_reader(&[], None), Err(PcscError::NoReader));
        assert_eq!(
            choose_reader(&readers[..1], None),
            Err(PcscError::NoCard {
                readers: vec!["Virtual PCD 00 00".into()]
            })
        );
    }

    #[test]
    fn readers_are_chosen_by_a_case_insensitive_part_of_their_name() {
        let readers = [
            reader("ACS ACR122U PICC Interface 00 00", true),
            reader("Virtual PCD 00 00", false),
            reader("Virtual PCD 00 01", true),
        ];
        assert_eq!(
            choose_reader(&readers, Some("virtual")).unwrap().name,
            "Virtual PCD 00 01"
        );
        assert_eq!(
            choose_reader(&readers, Some("PCD 00 00")),
            Err(PcscError::NoCard {
                readers: vec!["Virtual PCD 00 00".into()]
            })
        );
        let unknown = choose_reader(&readers, Some("Omnikey")).unwrap_err();
        assert!(
            matches!(&unknown, PcscError::UnknownReader { available, .. } if available.len() == 3)
        );
        assert!(
            unknown.to_string().contains("Virtual PCD 00 01"),
            "{unknown}"
        );
    }

    #[test]
    fn a_card_gone_mid_transaction_is_lost_other_failures_are_transport() {
        for gone in [
            pcsc::Error::RemovedCard,
            pcsc::Error::ResetCard,
            pcsc::Error::UnpoweredCard,
            pcsc::Error::UnresponsiveCard,
            pcsc::Error::NoSmartcard,
            pcsc::Error::ReaderUnavailable,
        ] {
            assert_eq!(card_io_error(gone), CardIoError::Lost, "{gone:?}");
        }
        assert!(matches!(
            card_io_error(pcsc::Error::CommError),
            CardIoError::Transport(m) if m.starts_with("PC/SC: ")
        ));
    }

    #[test]
    fn an_empty_answer_is_a_lost_card_any_other_goes_to_the_kernel() {
        assert_eq!(answer(&[]), Err(CardIoError::Lost));
        assert_eq!(answer(&[0x90]), Ok(vec![0x90]));
        assert_eq!(answer(&[0x6A, 0x82]), Ok(vec![0x6A, 0x82]));
    }

    /// With a PC/SC service: a reader named like nothing is a typed error, not a panic.
    /// Without one: the missing service is a typed error too.
    #[test]
    fn connecting_without_a_matching_reader_fails_cleanly() {
        match PcscCard::connect(Some("no reader is named like this 1f2e3d")) {
            Err(
                PcscError::NoService(_) | PcscError::NoReader | PcscError::UnknownReader { .. },
            ) => {}
            other => panic!("unexpected: {other:?}"),
        }
    }
}
