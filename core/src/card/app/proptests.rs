//! Property tests of the card application: arbitrary command sequences (well-formed, malformed
//! and random bytes, with the counter store failing at random) never panic, always answer a
//! status word from the documented set, and keep the counters consistent: what the application
//! holds is what the store last persisted, the ATC never decreases, the e-cash balance never
//! grows (no script MAC can be guessed) and never leaves `0..=limit`; with a PIN, the try
//! counter held is the one last persisted.

use super::tests::{card, gpo, h};
use super::*;
use crate::card::counters::{CardContext, MemoryCounterStore};
use proptest::prelude::*;

/// Every status word the application may answer.
const KNOWN: &[u16] = &[
    0x9000, 0x6300, 0x6581, 0x6700, 0x6881, 0x6884, 0x6982, 0x6983, 0x6985, 0x6988, 0x6A80, 0x6A82,
    0x6A83, 0x6A86, 0x6A88, 0x6D00, 0x6E00, 0x6F00, 0x63C0, 0x63C1, 0x63C2, 0x63C3,
];

#[derive(Debug, Clone)]
enum Step {
    Apdu(Vec<u8>),
    Reset,
}

fn step() -> impl Strategy<Value = (Step, bool)> {
    let select = prop::sample::select(vec![
        "00A404000E325041592E5359532E444446303100",
        "00A4040008A00000033301010100",
        "00A4040008A00000033301010600",
        "00A4040007A000000333010100",
        "00A4040207A000000333010100",
    ])
    .prop_map(|s| Step::Apdu(h(s)));
    let amount =
        prop_oneof![3 => 0u64..12_000, 1 => 0u64..120_000].prop_map(|a| format!("{a:012}"));
    let pdol = (
        any::<[u8; 4]>(),
        amount,
        prop::sample::select(vec!["00", "00", "60", "31"]),
        prop::sample::select(vec!["00", "01", "01"]),
        prop_oneof![Just(None), Just(Some(true)), Just(Some(false))],
    )
        .prop_map(|(ttq, amount, tx_type, ecash, qpboc)| {
            // A typical qPBOC reader, or any TTQ with or without the qPBOC bit.
            let ttq = match qpboc {
                None => [0x26, 0x00, 0x00, 0x80],
                Some(true) => [ttq[0] | 0x20, ttq[1], ttq[2], ttq[3]],
                Some(false) => ttq,
            };
            let data = format!(
                "{} {amount} 000000000000 0156 0000000000 0156 250314 {tx_type} 11223344 {ecash}",
                hex::encode(ttq)
            );
            Step::Apdu(h(&gpo(&data)))
        });
    let header = (
        prop::sample::select(vec![0x00u8, 0x04, 0x80, 0x84, 0x01, 0x10, 0xFF]),
        prop::sample::select(vec![0xA4u8, 0xA8, 0xB2, 0xCA, 0x82, 0xDA, 0x20, 0x2A, 0x00]),
        any::<u8>(),
        any::<u8>(),
        prop::collection::vec(any::<u8>(), 0..16),
        any::<bool>(),
    )
        .prop_map(|(cla, ins, p1, p2, data, le)| {
            let mut apdu = vec![cla, ins, p1, p2];
            if !data.is_empty() {
                apdu.push(data.len() as u8);
                apdu.extend_from_slice(&data);
            }
            if le {
                apdu.push(0);
            }
            Step::Apdu(apdu)
        });
    let script = prop::collection::vec(any::<u8>(), 10)
        .prop_map(|data| Step::Apdu([&[0x04, 0xDA, 0x9F, 0x79, 0x0A][..], &data].concat()));
    let random = prop::collection::vec(any::<u8>(), 0..300).prop_map(Step::Apdu);
    // VERIFY with the right PIN, a wrong one, or the try counter query; PSO of 1 to 1100 bytes.
    let verify = prop::sample::select(vec![
        "002000800826123456FFFFFFFF",
        "002000800826999999FFFFFFFF",
        "00200080",
    ])
    .prop_map(|s| Step::Apdu(h(s)));
    let sign = (1usize..1100, any::<bool>()).prop_map(|(len, le)| {
        let cmd = CommandApdu::new(0x00, 0x2A, 0x9E, 0x9A).with_data(vec![0x42; len]);
        let cmd = match cmd {
            Ok(cmd) if le => cmd
                .with_le(256)
                .unwrap_or_else(|_| CommandApdu::new(0, 0, 0, 0)),
            Ok(cmd) => cmd,
            Err(_) => CommandApdu::new(0, 0, 0, 0),
        };
        Step::Apdu(cmd.to_bytes())
    });
    let step = prop_oneof![
        4 => select,
        4 => pdol,
        3 => header,
        1 => script,
        1 => random,
        2 => verify,
        1 => sign,
        1 => Just(Step::Reset),
    ];
    (step, prop::bool::weighted(0.1))
}

fn account() -> impl Strategy<Value = (AccountKind, bool)> {
    prop::sample::select(vec![
        (AccountKind::Debit, false),
        (AccountKind::Debit, true),
        (AccountKind::Credit, true),
        (AccountKind::ECash, true),
    ])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_command_sequence_keeps_the_card_consistent(
        (kind, ecash) in account(),
        with_pin in any::<bool>(),
        steps in prop::collection::vec(step(), 1..32),
    ) {
        let mut app = card(kind, ecash);
        if with_pin {
            app = app
                .with_signing(
                    crate::card::signing::CardSigning {
                        pin: crate::card::signing::PinBlock::new("123456").unwrap(),
                        key: crate::card::signing::CardSigningKey::Sm2(
                            Sm2SigningKey::from_bytes(&[9; 32]).unwrap(),
                        ),
                    },
                    None,
                )
                .unwrap();
        }
        let limit = app.profile().perso.ecash.map(|e| e.balance_limit);
        let mut store = MemoryCounterStore::default();
        let mut durable = app.counters();
        for (step, fail) in steps {
            let before = app.counters();
            store.fail = fail;
            let apdu = match step {
                Step::Reset => {
                    app.reset();
                    continue;
                }
                Step::Apdu(apdu) => apdu,
            };
            let response = app.process(&apdu, &mut CardContext::new(&mut store));
            prop_assert!(response.len() >= 2);
            let sw = u16::from_be_bytes([response[response.len() - 2], response[response.len() - 1]]);
            prop_assert!(KNOWN.contains(&sw), "unexpected {sw:04X}");
            if let Some(last) = store.last {
                durable = last;
            }
            let now = app.counters();
            prop_assert_eq!(now, durable, "the application holds only persisted counters");
            prop_assert!(now.atc >= before.atc && now.atc - before.atc <= 1);
            prop_assert!(now.last_online_atc <= now.atc);
            prop_assert!(now.ecash_balance <= before.ecash_balance);
            prop_assert!(now.ecash_balance.map(Some) <= Some(limit));
            if fail {
                prop_assert_eq!(now, before);
            }
            if apdu.get(1) == Some(&0xA8) && sw == 0x9000 {
                prop_assert_eq!(now.atc, before.atc + 1);
            }
            // The PIN try counter the card holds is the one last persisted, and only decreases
            // by one per wrong PIN.
            if with_pin {
                let tries = app.pin_tries_left();
                prop_assert_eq!(tries, store.pin_tries_left.or(Some(3)));
            } else {
                prop_assert_eq!(app.pin_tries_left(), None);
            }
        }
    }
}
