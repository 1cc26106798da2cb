//! The kernel never panics on hostile card answers: random responses, and a real card's
//! responses with bytes flipped, cut or inserted, end in a typed [`TapError`] or a transaction.

use super::*;
use proptest::prelude::*;
use wallet_core::backend::api::AccountKind;
use wallet_core::card::test_issuer::{issue_test_card, test_issuer_master_keys};
use wallet_core::card::{
    CardApplication, CardContext, CardCounters, CardCrypto, CardPersonalization, ECashParams,
    MemoryCounterStore,
};

/// Answers from a script, in order, whatever the command; then "card lost".
struct Scripted {
    answers: Vec<Vec<u8>>,
    calls: usize,
}

impl ContactlessCard for Scripted {
    fn transceive(&mut self, _c_apdu: &[u8]) -> Result<Vec<u8>, CardIoError> {
        let answer = self.answers.get(self.calls).cloned();
        self.calls += 1;
        answer.ok_or(CardIoError::Lost)
    }
}

/// A real card application that records what it answered.
struct Recording {
    app: CardApplication,
    store: MemoryCounterStore,
    answers: Vec<Vec<u8>>,
}

impl ContactlessCard for Recording {
    fn transceive(&mut self, c_apdu: &[u8]) -> Result<Vec<u8>, CardIoError> {
        let r = self
            .app
            .process(c_apdu, &mut CardContext::new(&mut self.store));
        self.answers.push(r.clone());
        Ok(r)
    }
}

/// 2025-03-14 10:00 Beijing.
const NOW: u64 = 1_741_917_600;

fn offline_terminal() -> Terminal {
    Terminal::new(TerminalConfig::default(), None)
}

fn tap(card: &mut dyn ContactlessCard, amount: u64) -> TapOutcome {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let mut terminal = offline_terminal();
    runtime.block_on(terminal.tap_at(card, amount, TransactionType::Purchase, NOW))
}

/// The answers of a real offline e-cash tap (PPSE, SELECT, GPO with TC and fDDA, 3 records).
fn real_transcript() -> Vec<Vec<u8>> {
    let pan = "6222021234567894";
    let keys = test_issuer_master_keys()
        .derive_card_keys(CardCrypto::Sm4, pan, 1)
        .expect("keys");
    let perso = CardPersonalization {
        account_kind: AccountKind::Debit,
        pan: pan.into(),
        pan_sequence: 1,
        expiry: "301231".into(),
        crypto: CardCrypto::Sm4,
        currency: 156,
        country: 156,
        keys,
        ecash: Some(ECashParams {
            balance: 10_000,
            balance_limit: 100_000,
            single_transaction_limit: 50_000,
        }),
    };
    let profile = issue_test_card(perso).expect("test card");
    let counters = CardCounters::initial(&profile.perso);
    let mut card = Recording {
        app: CardApplication::new(profile, counters).expect("card"),
        store: MemoryCounterStore::default(),
        answers: Vec::new(),
    };
    let outcome = tap(&mut card, 100);
    assert_eq!(
        outcome.transaction().map(|t| &t.decision),
        Some(&Decision::ApprovedOffline),
        "{:?}",
        outcome.error()
    );
    card.answers
}

#[test]
fn the_real_transcript_replays_to_an_offline_approval() {
    let answers = real_transcript();
    assert_eq!(answers.len(), 6);
    let mut card = Scripted { answers, calls: 0 };
    let outcome = tap(&mut card, 100);
    // The UN differs from the recorded tap's: the replayed signature no longer verifies.
    assert!(matches!(
        outcome.transaction().map(|t| &t.decision),
        Some(Decision::Declined(
            DeclineReason::OfflineDataAuthentication(_)
        ))
    ));
}

/// A mutation of one answer.
#[derive(Debug, Clone)]
enum Mutation {
    Flip { answer: usize, at: usize, mask: u8 },
    Cut { answer: usize, len: usize },
    Insert { answer: usize, at: usize, byte: u8 },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (0..6usize, any::<usize>(), 1..=255u8).prop_map(|(answer, at, mask)| Mutation::Flip {
            answer,
            at,
            mask
        }),
        (0..6usize, any::<usize>()).prop_map(|(answer, len)| Mutation::Cut { answer, len }),
        (0..6usize, any::<usize>(), any::<u8>()).prop_map(|(answer, at, byte)| Mutation::Insert {
            answer,
            at,
            byte
        }),
    ]
}

fn apply(answers: &mut [Vec<u8>], m: &Mutation) {
    match *m {
        Mutation::Flip { answer, at, mask } => {
            if let Some(a) = answers.get_mut(answer) {
                let len = a.len().max(1);
                if let Some(b) = a.get_mut(at % len) {
                    *b ^= mask;
                }
            }
        }
        Mutation::Cut { answer, len } => {
            if let Some(a) = answers.get_mut(answer) {
                let keep = len % (a.len() + 1);
                a.truncate(keep);
            }
        }
        Mutation::Insert { answer, at, byte } => {
            if let Some(a) = answers.get_mut(answer) {
                let at = at % (a.len() + 1);
                a.insert(at, byte);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_answers_end_in_a_typed_result(
        answers in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..8),
        amount in 1..2_000_000u64,
    ) {
        let mut card = Scripted { answers, calls: 0 };
        let outcome = tap(&mut card, amount);
        // Every exchange is in the trace; nothing was approved from garbage.
        prop_assert_eq!(outcome.trace.entries().len(), card.calls);
        prop_assert!(!outcome.is_approved());
    }

    #[test]
    fn mutated_real_answers_end_in_a_typed_result(
        mutations in proptest::collection::vec(mutation(), 1..4),
    ) {
        let mut answers = real_transcript_cached();
        for m in &mutations {
            apply(&mut answers, m);
        }
        let mut card = Scripted { answers, calls: 0 };
        let outcome = tap(&mut card, 100);
        // A replayed transcript never verifies (fresh UN), mutated or not.
        prop_assert!(!outcome.is_approved());
        if let Err(err) = &outcome.result {
            prop_assert!(!err.to_string().is_empty());
        }
    }
}

/// The real transcript, computed once (SM2 signing and key generation are slow in debug).
fn real_transcript_cached() -> Vec<Vec<u8>> {
    static CACHE: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    CACHE.get_or_init(real_transcript).clone()
}

#[test]
fn structured_garbage_after_a_valid_select() {
    // PPSE with a debit entry, then a SELECT answer, then GPO answers of every bad shape.
    let ppse = hex::decode(
        "6F24840E325041592E5359532E4444463031A512BF0C0F610D4F08A0000003330101018701019000",
    )
    .unwrap_or_default();
    let fci = hex::decode("6F0A8408A0000003330101019000").unwrap_or_default();
    for gpo in [
        "9000",                                               // no template: GPO data not one TLV
        "80069000",                                           // format 1
        "770082022400",                                       // status word 2400
        "7704820224009000",                                   // AIP only
        "770F9F2701C09F360200019F26080000000000000000009000", // template length wrong
        "6985",
    ] {
        let answer = hex::decode(gpo).unwrap_or_default();
        let mut card = Scripted {
            answers: vec![ppse.clone(), fci.clone(), answer],
            calls: 0,
        };
        let outcome = tap(&mut card, 100);
        assert!(outcome.error().is_some(), "{gpo}: {:?}", outcome.result);
    }
    let mut card = Scripted {
        answers: vec![ppse, fci, vec![0x69, 0x85]],
        calls: 0,
    };
    assert_eq!(
        tap(&mut card, 100).error(),
        Some(&TapError::CardStatus {
            command: "GET PROCESSING OPTIONS",
            sw: wallet_core::apdu::StatusWord(0x6985)
        })
    );
}
