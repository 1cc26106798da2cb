//! SE access against the in-memory double: routing, lifecycle, APDU exchange rules, errors.

use std::sync::Arc;

use super::fake::{Call, FakeSe};
use super::*;
use crate::apdu::{CommandApdu, StatusWord};

const AID: [u8; 8] = [0xA0, 0x00, 0x00, 0x03, 0x33, 0x01, 0x01, 0x01];
const ISD: [u8; 8] = [0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00];

fn hex(s: &str) -> Vec<u8> {
    hex::decode(s.replace(' ', "")).unwrap()
}

/// An eSE with the ISD (default) and one payment applet answering `answer`.
fn fake(answer: impl FnMut(&[u8]) -> Vec<u8> + Send + 'static) -> Arc<FakeSe> {
    Arc::new(
        FakeSe::new(&[("eSE1", true), ("SIM1", false)])
            .with_applet(&ISD, &hex("6F 00 90 00"), |_| hex("6D00"))
            .with_applet(&AID, &hex("6F 03 84 01 A0 90 00"), answer),
    )
}

fn session(se: &Arc<FakeSe>) -> Session {
    SeService::new(se.clone())
        .reader("eSE1")
        .unwrap()
        .open_session()
        .unwrap()
}

#[test]
fn route_prefers_present_readers_and_falls_back_to_hce() {
    let se = fake(|_| hex("9000"));
    match SeService::new(se).route(Some(ReaderKind::Sim)).unwrap() {
        SeRoute::Se(reader) => {
            assert_eq!(reader.name(), "eSE1");
            assert_eq!(reader.kind(), Some(ReaderKind::Ese));
        }
        SeRoute::Hce => panic!("an eSE is present"),
    }
    let none = Arc::new(FakeSe::new(&[("eSE1", false), ("SD1", false)]));
    assert!(matches!(SeService::new(none).route(None), Ok(SeRoute::Hce)));
}

#[test]
fn channel_and_session_close_on_drop() {
    let se = fake(|_| hex("9000"));
    let session = session(&se);
    let channel = session.open_logical_channel(Some(&AID), 0x00).unwrap();
    assert_eq!(
        channel.select_response(),
        Some(&hex("6F 03 84 01 A0 90 00")[..])
    );
    assert!(!channel.is_basic());
    assert_eq!(se.open_counts(), (1, 1));
    drop(channel);
    assert_eq!(se.open_counts(), (0, 1));
    drop(session);
    assert_eq!(se.open_counts(), (0, 0));
    assert_eq!(
        se.calls(),
        [
            Call::OpenSession("eSE1".into()),
            Call::OpenLogical(Some(AID.to_vec()), 0x00),
            Call::CloseChannel,
            Call::CloseSession,
        ]
    );
}

#[test]
fn a_channel_keeps_its_session_open() {
    let se = fake(|_| hex("9000"));
    let session = session(&se);
    let channel = session.open_logical_channel(None, 0x00).unwrap();
    drop(session);
    assert_eq!(se.open_counts(), (1, 1));
    let r = channel
        .transmit(&CommandApdu::new(0x80, 0xCA, 0x9F, 0x7F))
        .unwrap();
    assert_eq!(r.sw, StatusWord(0x6D00)); // the ISD (default applet) answered
    drop(channel);
    assert_eq!(se.open_counts(), (0, 0));
}

#[test]
fn closing_the_session_closes_its_channels() {
    let se = fake(|_| hex("9000"));
    let session = session(&se);
    let channel = session.open_logical_channel(Some(&AID), 0x00).unwrap();
    session.close().unwrap();
    assert_eq!(se.open_counts(), (0, 0));
    let err = channel
        .transmit(&CommandApdu::new(0x00, 0xB2, 0x01, 0x0C))
        .unwrap_err();
    assert_eq!(err, SeError::Closed);
    drop(channel);
    // No close_channel for a channel its session already closed.
    assert_eq!(se.calls().last(), Some(&Call::CloseSession));
}

#[test]
fn more_data_is_fetched_with_get_response() {
    // 80CA9F7F00 → 6105; GET RESPONSE 05 → 5 bytes + 6103; GET RESPONSE 03 → 3 bytes + 9000.
    let se = fake(|c| match c {
        [0x80, 0xCA, ..] => hex("6105"),
        [0x00, 0xC0, 0x00, 0x00, 0x05] => hex("0102030405 6103"),
        [0x00, 0xC0, 0x00, 0x00, 0x03] => hex("060708 9000"),
        _ => hex("6F00"),
    });
    let session = session(&se);
    let channel = session.open_logical_channel(Some(&AID), 0x00).unwrap();
    let get_cplc = CommandApdu::new(0x80, 0xCA, 0x9F, 0x7F).with_short_le(0x00);
    let r = channel.transmit(&get_cplc).unwrap();
    assert_eq!(r.data, hex("0102030405060708"));
    assert_eq!(r.sw, StatusWord::SUCCESS);
    assert_eq!(
        se.transmitted(),
        [hex("80CA9F7F00"), hex("00C0000005"), hex("00C0000003")]
    );
}

#[test]
fn wrong_le_is_reissued_with_the_exact_length() {
    // READ RECORD 1 of SFI 1 with Le 00 → 6C1D; again with Le 1D → 29 bytes + 9000.
    let record = vec![0x70; 0x1D];
    let answer = record.clone();
    let se = fake(move |c| match c {
        [0x00, 0xB2, 0x01, 0x0C, 0x00] => hex("6C1D"),
        [0x00, 0xB2, 0x01, 0x0C, 0x1D] => [answer.clone(), hex("9000")].concat(),
        _ => hex("6F00"),
    });
    let session = session(&se);
    let channel = session.open_logical_channel(Some(&AID), 0x00).unwrap();
    let r = channel
        .transmit(&CommandApdu::read_record(1, 1).unwrap())
        .unwrap();
    assert_eq!(r.data, record);
    assert!(r.is_success());
    assert_eq!(se.transmitted(), [hex("00B2010C00"), hex("00B2010C1D")]);
}

#[test]
fn status_words_are_data_and_raw_commands_go_out_unchanged() {
    let se = fake(|_| hex("6985"));
    let session = session(&se);
    let channel = session.open_logical_channel(Some(&AID), 0x00).unwrap();
    // Extended-length encoding of a short command: relayed byte for byte.
    let raw = hex("80E2900000000300FF00");
    let r = channel.transmit_raw(&raw).unwrap();
    assert_eq!(r.sw, StatusWord(0x6985));
    assert_eq!(se.transmitted(), [raw]);
}

#[test]
fn an_endless_more_data_chain_is_cut() {
    let se = fake(|_| hex("AA 6101"));
    let session = session(&se);
    let channel = session.open_logical_channel(Some(&AID), 0x00).unwrap();
    let err = channel
        .transmit(&CommandApdu::new(0x00, 0xB0, 0x00, 0x00))
        .unwrap_err();
    assert_eq!(err, SeError::UnexpectedStatus { sw: 0x6101 });
    assert_eq!(se.transmitted().len(), 1 + channel::MAX_GET_RESPONSE_ROUNDS);
}

#[test]
fn malformed_responses_and_transport_failures_are_errors() {
    let se = fake(|_| vec![0x90]);
    let session = session(&se);
    let channel = session.open_logical_channel(Some(&AID), 0x00).unwrap();
    let cmd = CommandApdu::new(0x00, 0xB0, 0x00, 0x00);
    assert!(matches!(channel.transmit(&cmd), Err(SeError::Io { .. })));
    se.fail_transmit_at(
        2,
        SeError::Io {
            message: "SE removed".into(),
        },
    );
    assert_eq!(
        channel.transmit(&cmd),
        Err(SeError::Io {
            message: "SE removed".into()
        })
    );
}

#[test]
fn opening_errors_are_typed() {
    let se = Arc::new(
        FakeSe::new(&[("eSE1", true), ("SIM1", false)])
            .with_applet(&ISD, &hex("9000"), |_| hex("9000"))
            .with_max_channels(1),
    );
    let service = SeService::new(se.clone());
    assert_eq!(
        service.reader("SD1").unwrap_err(),
        SeError::ReaderAbsent {
            reader: "SD1".into()
        }
    );
    assert_eq!(
        service.reader("SIM1").unwrap().open_session().unwrap_err(),
        SeError::ReaderAbsent {
            reader: "SIM1".into()
        }
    );
    let session = service.reader("eSE1").unwrap().open_session().unwrap();
    assert_eq!(
        session.open_logical_channel(Some(&AID), 0).unwrap_err(),
        SeError::ApplicationNotFound {
            aid: "A000000333010101".into()
        }
    );
    let _first = session.open_logical_channel(Some(&ISD), 0).unwrap();
    assert_eq!(
        session.open_logical_channel(None, 0).unwrap_err(),
        SeError::NoFreeChannel
    );
    let basic = session.open_basic_channel(None, 0).unwrap();
    assert!(basic.is_basic());
    assert!(SeError::Io {
        message: String::new()
    }
    .is_unavailable());
    assert!(!SeError::NoFreeChannel.is_unavailable());
}
