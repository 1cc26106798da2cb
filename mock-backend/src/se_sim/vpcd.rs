//! A simulated SE as the card in a virtual PC/SC reader: a client of vsmartcard's vpcd
//! protocol, so `pcsc_scan`, `opensc-tool`, GlobalPlatformPro or pyscard can talk to it.
//!
//! The card side connects *out* to vpcd (TCP, [`VPCD_DEFAULT_ADDR`]). Every message, both ways,
//! is a 2-byte big-endian length and a payload. From vpcd, a 1-byte payload is a control:
//! `00` power off, `01` power on, `02` reset (no answer), `04` get ATR (answered with the
//! ATR); a longer payload is a command APDU, answered with the response APDU.
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

/// Connects to vpcd at `addr` and serves the card until vpcd closes the connection.
pub fn serve_vpcd(
    se: impl AsRef<Mutex<SimulatedSe>>,
    addr: impl ToSocketAddrs,
) -> Result<(), VpcdError> {
    let stream = TcpStream::connect(addr)?;
    stream.set_nodelay(true)?;
    serve_stream(se.as_ref(), stream)
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

/// Serves the card over an established vpcd connection (any byte stream) until it ends.
pub fn serve_stream(
    se: &Mutex<SimulatedSe>,
    mut stream: impl Read + Write,
) -> Result<(), VpcdError> {
    let lock = || se.lock().unwrap_or_else(PoisonError::into_inner);
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
            [control::POWER_OFF] | [control::POWER_ON] | [control::RESET] => lock().reset(),
            [control::GET_ATR] => {
                let atr = lock().atr();
                send(&mut stream, &atr)?;
            }
            [other] => tracing::debug!(control = other, "unknown vpcd control ignored"),
            apdu => {
                let response = lock().transmit(apdu);
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
}
