//! Fuzz target: the SE simulator's GlobalPlatform command handling (`mock_backend::se_sim`): a
//! fresh simulated eSE (issuer security domain only) processing any APDU sequence, with resets.
//!
//! Input format: records `[flags, len, bytes[len]]`; flag bit 0 resets the SE before the command.
//! Invariants: no panic; every answer is at least 2 bytes and ends in a status word.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mock_backend::se_sim::SimulatedSe;
use mock_backend::world_keys::KDD_LEN;
use wallet_core::se::ReaderKind;

fuzz_target!(|data: &[u8]| {
    let Ok(mut se) = SimulatedSe::with_kdd(ReaderKind::Ese, [9; KDD_LEN]) else {
        return;
    };
    let mut rest = data;
    while let [flags, len, tail @ ..] = rest {
        let n = usize::from(*len).min(tail.len());
        let (apdu, next) = tail.split_at(n);
        rest = next;
        if flags & 1 != 0 {
            se.reset();
        }
        let answer = se.transmit(apdu);
        assert!(
            answer.len() >= 2,
            "answer without a status word: {answer:02X?}"
        );
        let sw1 = answer[answer.len() - 2];
        assert!(
            matches!(sw1, 0x61..=0x6F | 0x90..=0x9F),
            "answer not ending in a status word: {answer:02X?}"
        );
    }
});
