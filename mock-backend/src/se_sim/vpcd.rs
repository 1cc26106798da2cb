//! A simulated SE as the card in a virtual PC/SC reader: a client of vsmartcard's vpcd
//! protocol, so `pcsc_scan`, `opensc-tool`, GlobalPlatformPro or pyscard can talk to it.
//!
//! The card side connects *out* to vpcd (TCP, [`VPCD_DEFAULT_ADDR`]). Every message, both ways,
//! is a 2-byte big-endian length and a payload. From vpcd, a 1-byte payload is a control:
//! `00` power off, `01` power on, `02` reset (no answer), `04` get ATR (answered with the
//! ATR); a longer payload is a command APDU, answered with the response APDU.
//!
//! [`serve_card`] drives any [`VpcdCard`] (the wallet CLI serves its HCE responder with it);
//! [`serve_vpcd`] serves a [`SimulatedSe`].
//!
//! ```no_run
//! use std::sync::{Arc, Mutex};
//! use mock_backend::se_sim::{vpcd, SimulatedSe};
//! use wallet_core::se::ReaderKind;
//!
//! // With `vpcd` running (package vsmartcard-vpcd, pcscd restarted):
//! let se = Arc::new(Mutex::new(SimulatedSe::open(ReaderKind::Ese, "data/se/ese.json")?));
//! vpcd::serve_vpcd(se, vpcd::VPCD_DEFAULT_ADDR)?; // until vpcd closes the connection
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::{Mutex, PoisonError};

use super::card::SimulatedSe;

/// Where vpcd listens by default.
pub const VPCD_DEFAULT_ADDR: &str = "127.0.0.1:35963";

/// Control payloads vpcd sends.
pub mod control {
    /// Power off.
    pub const POWER_OFF: u8 = 0x00;
    /// Power on.
    pub const POWER_ON: u8 = 0x01;
    /// Reset.
    pub const RESET: u8 = 0x02;
    /// Get the ATR.
    pub const GET_ATR: u8 = 0x04;
}

/// The vpcd connection failed.
#[derive(Debug, thiserror::Error)]
pub enum VpcdError {
    /// Connecting, reading or writing failed.
    #[error("vpcd connection: {0}")]
    Io(#[from] std::io::Error),
    /// A response longer than a frame can carry.
    #[error("response of {0} bytes does not fit a vpcd frame")]
    TooLong(usize),
}

/// A card vpcd can talk to: its ATR, power, and an APDU responder.
///
/// The framing and control loop ([`serve_card`], [`serve_card_stream`]) drive any implementor;
/// a reset is a power off followed by a power on.
pub trait VpcdCard {
    /// The answer to reset.
    fn atr(&self) -> Vec<u8>;
    /// The reader switched the card's power (or field) on or off.
    fn power(&mut self, on: bool);
    /// Answers a command APDU with a response APDU (a status word on any error).
    fn transmit(&mut self, apdu: &[u8]) -> Vec<u8>;
}

impl VpcdCard for SimulatedSe {
    fn atr(&self) -> Vec<u8> {
        SimulatedSe::atr(self)
    }

    /// Either edge resets the card (closes logical channels, deselects applications).
    fn power(&mut self, _on: bool) {
        self.reset();
    }

    fn transmit(&mut self, apdu: &[u8]) -> Vec<u8> {
        SimulatedSe::transmit(self, apdu)
    }
}

/// A card shared behind a mutex (a poisoned lock is recovered: the card's state is its own).
impl<C: VpcdCard> VpcdCard for &Mutex<C> {
    fn atr(&self) -> Vec<u8> {
        self.lock().unwrap_or_else(PoisonError::into_inner).atr()
    }

    fn power(&mut self, on: bool) {
        self.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .power(on);
    }

    fn transmit(&mut self, apdu: &[u8]) -> Vec<u8> {
        self.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .transmit(apdu)
    }
}

/// Connects to vpcd at `addr` and serves the simulated SE until vpcd closes the connection.
pub fn serve_vpcd(
    se: impl AsRef<Mutex<SimulatedSe>>,
    addr: impl ToSocketAddrs,
) -> Result<(), VpcdError> {
    serve_card(se.as_ref(), addr)
}

/// Connects to vpcd at `addr` and serves `card` until vpcd closes the connection.
pub fn serve_card(card: impl VpcdCard, addr: impl ToSocketAddrs) -> Result<(), VpcdError> {
    let stream = TcpStream::connect(addr)?;
    stream.set_nodelay(true)?;
    serve_card_stream(card, stream)
}

fn send(stream: &mut impl Write, payload: &[u8]) -> Result<(), VpcdError> {
    let len = u16::try_from(payload.len()).map_err(|_| VpcdError::TooLong(payload.len()))?;
    let mut frame = Vec::with_capacity(payload.len() + 2);
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(payload);
    stream.write_all(&frame)?;
    stream.flush()?;
    Ok(())
}

/// Serves the simulated SE over an established vpcd connection (any byte stream) until it ends.
pub fn serve_stream(se: &Mutex<SimulatedSe>, stream: impl Read + Write) -> Result<(), VpcdError> {
    serve_card_stream(se, stream)
}

/// Serves `card` over an established vpcd connection (any byte stream) until it ends.
pub fn serve_card_stream(
    mut card: impl VpcdCard,
    mut stream: impl Read + Write,
) -> Result<(), VpcdError> {
    loop {
        let mut header = [0u8; 2];
        match stream.read_exact(&mut header) {
            Ok(()) => {}
            Err(err) if err.kind() == ErrorKind::UnexpectedEof => return Ok(()),
            Err(err) => return Err(err.into()),
        }
        let mut payload = vec![0u8; usize::from(u16::from_be_bytes(header))];
        stream.read_exact(&mut payload)?;
        match payload.as_slice() {
            [] => {}
            [control::POWER_OFF] => card.power(false),
            [control::POWER_ON] => card.power(true),
            [control::RESET] => {
                card.power(false);
                card.power(true);
            }
            [control::GET_ATR] => send(&mut stream, &card.atr())?,
            [other] => tracing::debug!(control = other, "unknown vpcd control ignored"),
            apdu => {
                let response = card.transmit(apdu);
                send(&mut stream, &response)?;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use wallet_core::se::ReaderKind;

    fn frame(payload: &[u8]) -> Vec<u8> {
        let mut out = u16::try_from(payload.len()).unwrap().to_be_bytes().to_vec();
        out.extend_from_slice(payload);
        out
    }

    fn read_frame(stream: &mut impl Read) -> Vec<u8> {
        let mut len = [0u8; 2];
        stream.read_exact(&mut len).unwrap();
        let mut payload = vec![0; usize::from(u16::from_be_bytes(len))];
        stream.read_exact(&mut payload).unwrap();
        payload
    }

    /// An in-test listener plays vpcd: power on, ATR, two APDUs, power off, disconnect.
    #[test]
    fn answers_atr_and_apdus_in_vpcd_frames() {
        let se = std::sync::Arc::new(Mutex::new(
            SimulatedSe::with_kdd(ReaderKind::Sim, *b"VPCD-TEST!").unwrap(),
        ));
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let card = std::thread::spawn(move || serve_vpcd(se, addr));
        let (mut vpcd, _) = listener.accept().unwrap();
        vpcd.write_all(&frame(&[control::POWER_ON])).unwrap(); // no answer
        vpcd.write_all(&frame(&[control::GET_ATR])).unwrap();
        assert_eq!(read_frame(&mut vpcd), super::super::atr(ReaderKind::Sim));
        // SELECT ISD: FCI and 9000.
        vpcd.write_all(&frame(
            &hex::decode("00A4040008A00000015100000000").unwrap(),
        ))
        .unwrap();
        assert_eq!(
            hex::encode_upper(read_frame(&mut vpcd)),
            "6F108408A000000151000000A5049F6501FF9000"
        );
        vpcd.write_all(&frame(&[0x80, 0xCA, 0x00, 0xCF, 0x00]))
            .unwrap();
        assert_eq!(read_frame(&mut vpcd), b"\xCF\x0AVPCD-TEST!\x90\x00");
        vpcd.write_all(&frame(&[control::RESET])).unwrap();
        vpcd.write_all(&frame(&[control::POWER_OFF])).unwrap();
        drop(vpcd);
        card.join().unwrap().unwrap();
    }

    /// Records what the loop asked of it.
    #[derive(Default)]
    struct Recorder {
        events: Vec<String>,
    }

    impl VpcdCard for Recorder {
        fn atr(&self) -> Vec<u8> {
            vec![0x3B, 0x80, 0x80, 0x01, 0x01]
        }
        fn power(&mut self, on: bool) {
            self.events.push(if on { "on" } else { "off" }.to_owned());
        }
        fn transmit(&mut self, apdu: &[u8]) -> Vec<u8> {
            self.events.push(hex::encode_upper(apdu));
            vec![0x6D, 0x00]
        }
    }

    /// Any card: controls map to power edges (reset = off then on), APDUs to `transmit`.
    #[test]
    fn drives_any_card_over_a_byte_stream() {
        let mut input = Vec::new();
        for payload in [
            &[0x01][..],
            &[0x04],
            &[0x00, 0xB0, 0x00, 0x00],
            &[0x02],
            &[0x00],
        ] {
            input.extend(frame(payload));
        }
        let mut stream = std::io::Cursor::new(input);
        let card = Mutex::new(Recorder::default());
        // A cursor is read and written at the same position: collect the answers separately.
        struct Duplex<'a>(&'a mut std::io::Cursor<Vec<u8>>, Vec<u8>);
        impl Read for Duplex<'_> {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                self.0.read(buf)
            }
        }
        impl Write for Duplex<'_> {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.1.write(buf)
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let mut duplex = Duplex(&mut stream, Vec::new());
        serve_card_stream(&card, &mut duplex).unwrap();
        assert_eq!(
            duplex.1,
            [0, 5, 0x3B, 0x80, 0x80, 0x01, 0x01, 0, 2, 0x6D, 0x00]
        );
        let events = card.into_inner().unwrap().events;
        assert_eq!(events, ["on", "00B00000", "off", "on", "off"]);
    }
}
