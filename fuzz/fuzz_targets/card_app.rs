//! Fuzz target: the card application fed any APDU sequence (`CardApplication::process`) with an
//! in-memory counter store, which may fail at any step.
//!
//! Input format: a sequence of records `[flags, len, bytes[len]]`; flag bit 0 resets the card
//! (a new tap) before the command, bit 1 makes the counter store fail for this command.
//! Invariants: no panic; every answer is at least 2 bytes and ends in a status word; the ATC the
//! application persists never decreases.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use wallet_core::backend::api::AccountKind;
use wallet_core::card::app::CardApplication;
use wallet_core::card::counters::{CardContext, CardCounters, MemoryCounterStore};
use wallet_core::card::perso::{CardCrypto, CardKeys, CardPersonalization, ECashParams};
use wallet_core::card::profile::CardProfile;
use wallet_core::card::test_issuer::issue_test_card_with_icc_key;
use wallet_core::crypto::sm2::Sm2SigningKey;
use zeroize::Zeroizing;

/// The issued test card (issuing signs certificates: done once, then cloned per input).
fn profile() -> &'static (CardProfile, CardCounters) {
    static PROFILE: OnceLock<(CardProfile, CardCounters)> = OnceLock::new();
    PROFILE.get_or_init(|| {
        let perso = CardPersonalization {
            account_kind: AccountKind::Debit,
            pan: "6288881234567890".into(),
            pan_sequence: 1,
            expiry: "301231".into(),
            crypto: CardCrypto::Sm4,
            currency: 156,
            country: 156,
            keys: CardKeys {
                ac: Zeroizing::new([1; 16]),
                smi: Zeroizing::new([2; 16]),
                smc: Zeroizing::new([3; 16]),
            },
            ecash: Some(ECashParams {
                balance: 10_000,
                balance_limit: 100_000,
                single_transaction_limit: 50_000,
            }),
        };
        let icc = Sm2SigningKey::from_bytes(&[5; 32]).expect("a valid SM2 key");
        let profile = issue_test_card_with_icc_key(perso, &icc).expect("the test card issues");
        let counters = CardCounters::initial(&profile.perso);
        (profile, counters)
    })
}

fuzz_target!(|data: &[u8]| {
    let (profile, counters) = profile();
    let Ok(mut app) = CardApplication::new(profile.clone(), *counters) else {
        return;
    };
    let mut store = MemoryCounterStore::default();
    let mut last_atc = counters.atc;
    let mut rest = data;
    while let [flags, len, tail @ ..] = rest {
        let n = usize::from(*len).min(tail.len());
        let (apdu, next) = tail.split_at(n);
        rest = next;
        if flags & 1 != 0 {
            app.reset();
        }
        store.fail = flags & 2 != 0;
        let answer = app.process(apdu, &mut CardContext::new(&mut store));
        assert!(
            answer.len() >= 2,
            "answer without a status word: {answer:02X?}"
        );
        let sw1 = answer[answer.len() - 2];
        assert!(
            matches!(sw1, 0x61..=0x6F | 0x90..=0x9F),
            "answer not ending in a status word: {answer:02X?}"
        );
        if let Some(persisted) = store.last {
            assert!(persisted.atc >= last_atc, "the ATC went back");
            last_atc = persisted.atc;
        }
    }
});
