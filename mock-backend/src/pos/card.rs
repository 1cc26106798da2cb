//! The reader's side of the contactless interface: whatever answers APDUs in the field (the HCE
//! responder, a channel to the SE simulator, a PC/SC card) is a [`ContactlessCard`].

use super::outcome::TapError;
use super::trace::Trace;
use wallet_core::apdu::{CommandApdu, ResponseApdu};

/// The card in the field could not be reached.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CardIoError {
    /// The card left the field (or was never there).
    #[error("the card left the field")]
    Lost,
    /// The transport failed.
    #[error("transport failure: {0}")]
    Transport(String),
}

/// A contactless card as the reader sees it: one command APDU in, one response APDU out.
pub trait ContactlessCard {
    /// Sends `c_apdu` and returns the card's response APDU (data ‖ SW1 SW2).
    fn transceive(&mut self, c_apdu: &[u8]) -> Result<Vec<u8>, CardIoError>;
}

impl<T: ContactlessCard + ?Sized> ContactlessCard for &mut T {
    fn transceive(&mut self, c_apdu: &[u8]) -> Result<Vec<u8>, CardIoError> {
        (**self).transceive(c_apdu)
    }
}

/// Most `61xx` GET RESPONSE rounds followed for one command.
const MAX_GET_RESPONSE: usize = 8;
/// Longest response data accepted for one command (well above any EMV object).
const MAX_RESPONSE_DATA: usize = 4096;

/// One tap's conversation with the card, recorded in the trace.
pub(crate) struct Session<'a, C: ?Sized> {
    pub card: &'a mut C,
    pub trace: &'a mut Trace,
}

impl<C: ContactlessCard + ?Sized> Session<'_, C> {
    /// Sends one raw exchange and records it.
    fn raw(&mut self, step: &'static str, command: &[u8]) -> Result<ResponseApdu, TapError> {
        match self.card.transceive(command) {
            Ok(bytes) => {
                self.trace.record(step, command, Some(&bytes));
                ResponseApdu::parse(&bytes).map_err(|_| TapError::Malformed {
                    command: step,
                    what: "response shorter than a status word",
                })
            }
            Err(source) => {
                self.trace.record(step, command, None);
                Err(TapError::CardIo {
                    command: step,
                    source,
                })
            }
        }
    }

    /// Sends `cmd`, following `61xx` (GET RESPONSE) and `6Cxx` (resend with the right Le), and
    /// returns the final response, whatever its status word.
    pub fn exchange(
        &mut self,
        step: &'static str,
        cmd: &CommandApdu,
    ) -> Result<ResponseApdu, TapError> {
        let mut response = self.raw(step, &cmd.to_bytes())?;
        if response.sw.sw1() == 0x6C {
            let resent = cmd.clone().with_short_le(response.sw.sw2());
            response = self.raw(step, &resent.to_bytes())?;
        }
        let mut data = std::mem::take(&mut response.data);
        let mut rounds = 0;
        while response.sw.sw1() == 0x61 {
            rounds += 1;
            if rounds > MAX_GET_RESPONSE || data.len() > MAX_RESPONSE_DATA {
                return Err(TapError::Malformed {
                    command: step,
                    what: "endless GET RESPONSE chain",
                });
            }
            let get = CommandApdu::get_response(response.sw.sw2());
            response = self.raw(step, &get.to_bytes())?;
            data.append(&mut response.data);
        }
        response.data = data;
        Ok(response)
    }

    /// Like [`Self::exchange`], but anything other than `9000` is a [`TapError::CardStatus`].
    pub fn expect_success(
        &mut self,
        step: &'static str,
        cmd: &CommandApdu,
    ) -> Result<Vec<u8>, TapError> {
        let response = self.exchange(step, cmd)?;
        if response.is_success() {
            Ok(response.data)
        } else {
            Err(TapError::CardStatus {
                command: step,
                sw: response.sw,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pos::trace::Redaction;
    use wallet_core::apdu::StatusWord;

    /// Answers from a script, in order.
    struct Scripted(Vec<Result<Vec<u8>, CardIoError>>);

    impl ContactlessCard for Scripted {
        fn transceive(&mut self, _c_apdu: &[u8]) -> Result<Vec<u8>, CardIoError> {
            if self.0.is_empty() {
                return Err(CardIoError::Lost);
            }
            self.0.remove(0)
        }
    }

    #[test]
    fn follows_get_response_and_wrong_le() {
        let mut card = Scripted(vec![
            Ok(vec![0x6C, 0x02]),
            Ok(vec![0xAA, 0x61, 0x01]),
            Ok(vec![0xBB, 0x90, 0x00]),
        ]);
        let mut trace = Trace::new(Redaction::MaskCardholderData);
        let mut session = Session {
            card: &mut card,
            trace: &mut trace,
        };
        let cmd = CommandApdu::new(0x80, 0xCA, 0x9F, 0x36);
        assert_eq!(
            session.expect_success("GET DATA", &cmd).unwrap(),
            [0xAA, 0xBB]
        );
        let sent: Vec<&str> = trace.entries().iter().map(|e| e.command.as_str()).collect();
        assert_eq!(sent, ["80CA9F36", "80CA9F3602", "00C0000001"]);
    }

    #[test]
    fn status_words_and_io_failures_are_typed() {
        let mut card = Scripted(vec![Ok(vec![0x69, 0x85]), Ok(vec![0x90])]);
        let mut trace = Trace::new(Redaction::MaskCardholderData);
        let mut session = Session {
            card: &mut card,
            trace: &mut trace,
        };
        let cmd = CommandApdu::new(0x80, 0xA8, 0, 0);
        assert_eq!(
            session.expect_success("GPO", &cmd),
            Err(TapError::CardStatus {
                command: "GPO",
                sw: StatusWord(0x6985)
            })
        );
        assert!(matches!(
            session.expect_success("GPO", &cmd),
            Err(TapError::Malformed { .. })
        ));
        assert_eq!(
            session.expect_success("GPO", &cmd),
            Err(TapError::CardIo {
                command: "GPO",
                source: CardIoError::Lost
            })
        );
        assert_eq!(trace.entries().len(), 3);
        assert_eq!(trace.entries()[2].response, None);
        // An endless 61xx chain stops.
        let mut card = Scripted((0..20).map(|_| Ok(vec![0x61, 0x10])).collect());
        let mut trace = Trace::new(Redaction::MaskCardholderData);
        let mut session = Session {
            card: &mut card,
            trace: &mut trace,
        };
        assert!(matches!(
            session.exchange("X", &cmd),
            Err(TapError::Malformed { .. })
        ));
    }
}
