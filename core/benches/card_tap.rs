//! Card-side processing of whole contactless taps: PPSE, SELECT, GET PROCESSING OPTIONS and the
//! READ RECORDs of the AFL, with an in-memory counter store (the durable write is the host's and
//! is excluded). Online taps (ARQC) are the target (< 300 µs median); offline e-cash taps add
//! the fDDA SM2 signature and are shown for reference.
//!
//! `cargo bench -p wallet-core --bench card_tap` prints median / p90 / p99 per tap.
//!
//! Instruction counts (wall-clock noise free): `CARD_TAP_ONLY=<label prefix>` runs one profile
//! only, and every tap goes through the non-inlined `tap_once`, so
//! `valgrind --tool=callgrind --toggle-collect='*card_tap::tap_once*'` counts exactly
//! `WARMUP + TAPS` taps (scripts/bench-all.sh divides).

use std::hint::black_box;
use std::time::{Duration, Instant};
use wallet_core::apdu::{CommandApdu, Dol, Occurrence, Tag};
use wallet_core::backend::api::AccountKind;
use wallet_core::card::app::PDOL;
use wallet_core::card::perso::amount_n12;
use wallet_core::card::test_issuer::issue_test_card;
use wallet_core::card::{
    aids, CardApplication, CardContext, CardCounters, CardCrypto, CardKeys, CardPersonalization,
    ECashParams, MemoryCounterStore,
};
use zeroize::Zeroizing;

const WARMUP: usize = 200;
const TAPS: usize = 3_000;

fn card(crypto: CardCrypto) -> CardApplication {
    let perso = CardPersonalization {
        account_kind: AccountKind::Debit,
        pan: "6288881234567890".into(),
        pan_sequence: 1,
        expiry: "301231".into(),
        crypto,
        currency: 156,
        country: 156,
        keys: CardKeys {
            ac: Zeroizing::new([0; 16]),
            smi: Zeroizing::new([0; 16]),
            smc: Zeroizing::new([0; 16]),
        },
        ecash: Some(ECashParams {
            balance: 100_000,
            balance_limit: 100_000,
            single_transaction_limit: 50_000,
        }),
    };
    let profile = issue_test_card(perso).expect("test card");
    let counters = CardCounters::initial(&profile.perso);
    CardApplication::new(profile, counters).expect("card application")
}

/// The command APDUs of one tap for `amount` (fen).
fn tap_commands(amount: u64) -> Vec<Vec<u8>> {
    let t = |raw| Tag::new(raw).expect("tag");
    let values = vec![
        (t(0x9F66), vec![0x26, 0x00, 0x00, 0x80]),
        (t(0x9F02), amount_n12(amount).expect("amount")),
        (t(0x9F1A), vec![0x01, 0x56]),
        (t(0x5F2A), vec![0x01, 0x56]),
        (t(0x9A), vec![0x25, 0x03, 0x14]),
        (t(0x9F37), vec![0x11, 0x22, 0x33, 0x44]),
        (t(0x9F7A), vec![0x01]),
    ];
    let pdol = Dol::parse(&PDOL).expect("PDOL");
    let mut cmds = vec![
        CommandApdu::select_by_name(aids::PPSE, Occurrence::First),
        CommandApdu::select_by_name(&aids::DEBIT, Occurrence::First),
        CommandApdu::get_processing_options(&pdol.build(&values)),
    ];
    for record in 1..=3 {
        cmds.push(CommandApdu::read_record(record, 1));
    }
    cmds.into_iter()
        .map(|c| c.expect("command").to_bytes())
        .collect()
}

/// One whole tap: every command through the card application (not inlined, for callgrind).
#[inline(never)]
fn tap_once(app: &mut CardApplication, store: &mut MemoryCounterStore, cmds: &[Vec<u8>]) {
    for cmd in cmds {
        let response = app.process(black_box(cmd), &mut CardContext::new(store));
        assert_eq!(response.get(response.len() - 2..), Some(&[0x90, 0x00][..]));
        black_box(response);
    }
}

fn measure(label: &str, crypto: CardCrypto, amount: u64) -> Duration {
    if let Some(only) = std::env::var_os("CARD_TAP_ONLY") {
        if !label.starts_with(only.to_string_lossy().as_ref()) {
            return Duration::ZERO;
        }
    }
    let mut app = card(crypto);
    let mut store = MemoryCounterStore::default();
    let cmds = tap_commands(amount);
    let mut times = Vec::with_capacity(TAPS);
    for i in 0..WARMUP + TAPS {
        let start = Instant::now();
        tap_once(&mut app, &mut store, &cmds);
        if i >= WARMUP {
            times.push(start.elapsed());
        }
    }
    times.sort();
    let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    println!(
        "{label:<28} median {:>8.1} µs   p90 {:>8.1} µs   p99 {:>8.1} µs   ({TAPS} taps)",
        at(0.5).as_secs_f64() * 1e6,
        at(0.9).as_secs_f64() * 1e6,
        at(0.99).as_secs_f64() * 1e6,
    );
    at(0.5)
}

fn main() {
    println!(
        "card_tap: PPSE + SELECT + GPO + 3 READ RECORD, card side, in-memory counters \
         ({WARMUP} warm-up + {TAPS} timed taps per profile)"
    );
    let tdes = measure("online ARQC, 3DES", CardCrypto::Tdes, 70_000);
    let sm4 = measure("online ARQC, SM4", CardCrypto::Sm4, 70_000);
    measure("offline e-cash TC + fDDA, SM4", CardCrypto::Sm4, 1);
    if std::env::var_os("CARD_TAP_ONLY").is_some() {
        return;
    }
    let target = Duration::from_micros(300);
    println!(
        "online target (median < 300 µs): {}",
        if tdes < target && sm4 < target {
            "met"
        } else {
            "MISSED"
        }
    );
}
