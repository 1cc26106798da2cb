//! Fuzz target: APDU command/response, BER-TLV and DOL parsing (`wallet_core::apdu`).
//!
//! Invariants: no input panics; what parses re-encodes to something that parses to the same value
//! (command APDUs, DOLs, TLV trees); a response APDU re-encodes byte for byte.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wallet_core::apdu::{tlv, CommandApdu, Dol, ResponseApdu, TlvNode};

fuzz_target!(|data: &[u8]| {
    if let Ok(cmd) = CommandApdu::parse(data) {
        let bytes = cmd.to_bytes();
        assert_eq!(bytes.len(), cmd.encoded_len());
        let again = CommandApdu::parse(&bytes).expect("a re-encoded command parses");
        assert!(again == cmd, "command round trip changed the command");
        let _ = cmd.case();
    }
    if let Ok(resp) = ResponseApdu::parse(data) {
        assert_eq!(resp.to_bytes(), data, "response round trip");
    }
    if let Ok(nodes) = TlvNode::parse_all(data) {
        let encoded: Vec<u8> = nodes.iter().flat_map(TlvNode::encode).collect();
        let again = TlvNode::parse_all(&encoded).expect("a re-encoded TLV tree parses");
        assert!(again == nodes, "TLV round trip changed the tree");
    }
    let mut depth_max = 0usize;
    if tlv::walk(data, |_, depth| depth_max = depth_max.max(depth)).is_ok() {
        assert!(tlv::validate(data).is_ok(), "walk and validate disagree");
    }
    let _ = tlv::find_path(data, &[]);
    if let Ok(dol) = Dol::parse(data) {
        let again = Dol::parse(&dol.to_bytes()).expect("a re-encoded DOL parses");
        assert_eq!(again, dol);
        // Split data of the right length always succeeds, of any other length always fails.
        let filler = vec![0x5Au8; dol.data_len()];
        let parts = dol.split(&filler).expect("data of the DOL's length splits");
        assert_eq!(parts.len(), dol.len());
        assert!(
            dol.split(&filler[..filler.len().saturating_sub(1)])
                .is_err()
                || dol.data_len() == 0
        );
    }
});
