//! The terminal over a real PC/SC stack: pcscd with vsmartcard's vpcd driver, the card side
//! played here over the vpcd protocol. Needs the `pcsc` feature and `PCSC_TEST=1` (pcscd
//! running with vpcd; `scripts/test-pcsc.sh` sets both up); skipped otherwise.
#![cfg(feature = "pcsc")]

use mock_backend::pos::pcsc::{PcscCard, PcscError};
use mock_backend::pos::{CardIoError, TapError, Terminal, TerminalConfig, TransactionType};
use mock_backend::se_sim::vpcd::control;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// The reader of vpcd's first slot and the port its card side connects to.
const READER: &str = "Virtual PCD 00 00";
const VPCD: &str = "127.0.0.1:35963";

fn enabled() -> bool {
    let on = std::env::var("PCSC_TEST").as_deref() == Ok("1");
    if !on {
        eprintln!("skipped: set PCSC_TEST=1 with pcscd + vpcd running (scripts/test-pcsc.sh)");
    }
    on
}

fn read_frame(stream: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut len = [0u8; 2];
    stream.read_exact(&mut len)?;
    let mut payload = vec![0; usize::from(u16::from_be_bytes(len))];
    stream.read_exact(&mut payload)?;
    Ok(payload)
}

fn send_frame(stream: &mut TcpStream, payload: &[u8]) -> std::io::Result<()> {
    let mut frame = u16::try_from(payload.len()).unwrap().to_be_bytes().to_vec();
    frame.extend_from_slice(payload);
    stream.write_all(&frame)
}

/// A card that answers power and ATR requests, then vanishes (closes the connection) when the
/// first command APDU arrives; returns that APDU.
fn card_removed_at_first_command() -> std::io::Result<Vec<u8>> {
    let mut vpcd = TcpStream::connect(VPCD)?;
    // Never hang the test: vpcd talks within seconds once the terminal connects.
    vpcd.set_read_timeout(Some(Duration::from_secs(20)))?;
    loop {
        let payload = read_frame(&mut vpcd)?;
        match payload.as_slice() {
            [control::GET_ATR] => send_frame(&mut vpcd, &[0x3B, 0x80, 0x80, 0x01, 0x01])?,
            [_] | [] => {}
            apdu => return Ok(apdu.to_vec()), // dropping the stream removes the card
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_removed_mid_transaction_fails_the_tap_cleanly() {
    if !enabled() {
        return;
    }
    let card_side = std::thread::spawn(card_removed_at_first_command);
    let mut card = tokio::task::spawn_blocking(|| {
        PcscCard::connect_within(Some(READER), Duration::from_secs(10))
    })
    .await
    .unwrap()
    .expect("the card appears in the virtual reader");
    assert_eq!(card.reader(), READER);
    assert_eq!(card.atr(), [0x3B, 0x80, 0x80, 0x01, 0x01]);

    let mut terminal = Terminal::new(TerminalConfig::default(), None);
    let outcome = terminal
        .tap(&mut card, 1_234, TransactionType::Purchase)
        .await;
    let first = card_side.join().unwrap().expect("vpcd talked to the card");
    // SELECT 2PAY.SYS.DDF01 was the command the card never answered.
    assert_eq!(
        hex::encode_upper(&first[..5]),
        "00A404000E",
        "{}",
        hex::encode_upper(&first)
    );
    match outcome.result {
        Err(TapError::CardIo { command, source }) => {
            assert_eq!(command, "SELECT PPSE");
            // vpcd answers the lost exchange with no bytes: the card left the field.
            assert_eq!(source, CardIoError::Lost);
        }
        other => panic!("expected a card I/O failure, got {other:?}"),
    }
    drop(card);

    // The reader is empty now: connecting is a typed "no card", not a hang or a panic.
    std::thread::sleep(Duration::from_millis(500));
    match PcscCard::connect(Some(READER)) {
        Err(PcscError::NoCard { readers }) => assert_eq!(readers, [READER]),
        other => panic!("expected no card, got {other:?}"),
    }
}
