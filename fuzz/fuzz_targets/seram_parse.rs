//! Fuzz target: GP SERAM messages on both sides (`wallet_core::ota::seram`) — what the phone's
//! local agent receives from the remote agent (orders, handshake answers) and what the TSM's
//! remote agent receives from the phone (handshake proposals, reports): JSON decoding,
//! validation and APDU hex decoding.
//!
//! Invariants: no panic; a message that validates has only APDUs that decode (C-APDUs ≥ 4 bytes)
//! and re-encode canonically; a decoded message serialises and decodes to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wallet_core::ota::seram::{
    decode_apdu, decode_capdu, encode_apdu, is_canonical_apdu, validate_session_id,
    HandshakeCommand, HandshakeResponse, RamCommand, RamResponse, RemoteManagementOrder,
    RemoteManagementReport,
};

fuzz_target!(|data: &[u8]| {
    if let Ok(order) = serde_json::from_slice::<RemoteManagementOrder>(data) {
        let json = serde_json::to_vec(&order).expect("an order serialises");
        let again: RemoteManagementOrder =
            serde_json::from_slice(&json).expect("a serialised order decodes");
        assert_eq!(again, order);
        let _ = order.delay_ms();
        if order.validate().is_ok() {
            for (index, cmd) in order.ram_commands.iter().enumerate() {
                if let RamCommand::SeRam(se) = cmd {
                    for apdu in &se.list_of_capdu {
                        let bytes = decode_capdu(apdu, index).expect("a validated C-APDU decodes");
                        assert!(bytes.len() >= 4);
                        assert!(is_canonical_apdu(&encode_apdu(&bytes)));
                    }
                }
            }
        }
    }
    if let Ok(resp) = serde_json::from_slice::<HandshakeResponse>(data) {
        let json = serde_json::to_vec(&resp).expect("a response serialises");
        let again: HandshakeResponse = serde_json::from_slice(&json).expect("it decodes");
        assert_eq!(again, resp);
    }
    // The remote agent's side: the phone's handshake proposal and its reports.
    if let Ok(proposal) = serde_json::from_slice::<HandshakeCommand>(data) {
        let json = serde_json::to_vec(&proposal).expect("a proposal serialises");
        let again: HandshakeCommand = serde_json::from_slice(&json).expect("it decodes");
        assert_eq!(again, proposal);
        let _ = proposal.validate();
        let _ = (
            proposal.transport_protocols(),
            proposal.data_formats(),
            proposal.versions(),
        );
    }
    if let Ok(report) = serde_json::from_slice::<RemoteManagementReport>(data) {
        let json = serde_json::to_vec(&report).expect("a report serialises");
        let again: RemoteManagementReport = serde_json::from_slice(&json).expect("it decodes");
        assert_eq!(again, report);
        if report.validate().is_ok() {
            for RamResponse::SeRam(response) in &report.ram_responses {
                for (index, apdu) in response.list_of_rapdu.iter().enumerate() {
                    let bytes = decode_apdu(apdu, index).expect("a validated R-APDU decodes");
                    assert!(apdu.eq_ignore_ascii_case(&encode_apdu(&bytes)));
                }
            }
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(bytes) = decode_apdu(text, 0) {
            assert_eq!(encode_apdu(&bytes).len(), text.len());
            assert!(text.eq_ignore_ascii_case(&encode_apdu(&bytes)));
        }
        let _ = validate_session_id(text);
    }
});
