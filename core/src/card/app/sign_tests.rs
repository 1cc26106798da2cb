//! Unit tests of remote-payment signing: VERIFY, PSO COMPUTE DIGITAL SIGNATURE, GET DATA DF61.

use super::tests::{card, h, perso, sw};
use super::*;
use crate::card::counters::{CardContext, CardCounters, MemoryCounterStore};
use crate::card::perso::CardCrypto;
use crate::card::signing::{CardSigning, CardSigningKey, PinBlock};
use crate::crypto::ecdsa::verify_p256;
use crate::crypto::sm2::verify_sm2;

const SELECT_PPSE: &str = "00A404000E325041592E5359532E444446303100";
const SELECT_DEBIT: &str = "00A4040008A00000033301010100";
const VERIFY_RIGHT: &str = "0020008008 26123456FFFFFFFF";
const VERIFY_WRONG: &str = "0020008008 26654321FFFFFFFF";

fn signing(crypto: CardCrypto) -> CardSigning {
    CardSigning {
        pin: PinBlock::new("123456").unwrap(),
        key: CardSigningKey::generate(crypto).unwrap(),
    }
}

/// A debit card (SM4 profile) with PIN `123456` and an SM2 key.
fn signing_card() -> CardApplication {
    card(AccountKind::Debit, true)
        .with_signing(signing(CardCrypto::Sm4), None)
        .unwrap()
}

/// A debit card with a 3DES profile, PIN `123456` and a P-256 key.
fn tdes_signing_card() -> CardApplication {
    let mut perso = perso(AccountKind::Debit, false);
    perso.crypto = CardCrypto::Tdes;
    let counters = CardCounters::initial(&perso);
    CardApplication::new(CardProfile::new(perso), counters)
        .unwrap()
        .with_signing(signing(CardCrypto::Tdes), None)
        .unwrap()
}

/// The PSO command signing `message` (extended length when longer than 255 bytes).
fn pso(message: &[u8]) -> Vec<u8> {
    CommandApdu::new(0x00, 0x2A, 0x9E, 0x9A)
        .with_data(message.to_vec())
        .unwrap()
        .with_le(if message.len() > 255 { 65_536 } else { 256 })
        .unwrap()
        .to_bytes()
}

fn send(app: &mut CardApplication, store: &mut MemoryCounterStore, apdu: &[u8]) -> ResponseApdu {
    let raw = app.process(apdu, &mut CardContext::new(store));
    ResponseApdu::parse(&raw).unwrap()
}

#[test]
fn a_verified_pin_allows_exactly_one_signature_sm2() {
    let mut app = signing_card();
    let mut store = MemoryCounterStore::default();
    let public = app.signing_public_key().unwrap();
    assert_eq!(sw(&mut app, &mut store, SELECT_DEBIT), 0x9000);
    assert_eq!(send(&mut app, &mut store, &pso(b"m")).sw.0, 0x6982);
    assert_eq!(sw(&mut app, &mut store, VERIFY_RIGHT), 0x9000);
    let message = vec![0x5A; 1024];
    let signed = send(&mut app, &mut store, &pso(&message));
    assert_eq!(signed.sw.0, 0x9000);
    assert_eq!(signed.data.len(), 64);
    verify_sm2(
        &public,
        crate::card::signing::SM2_USER_ID,
        &message,
        &signed.data,
    )
    .unwrap();
    // The verification is consumed.
    assert_eq!(send(&mut app, &mut store, &pso(b"again")).sw.0, 0x6982);
    // A right PIN with full tries writes nothing.
    assert_eq!(store.writes, 0);
}

#[test]
fn p256_signatures_over_a_short_apdu() {
    let mut app = tdes_signing_card();
    let mut store = MemoryCounterStore::default();
    let public = app.signing_public_key().unwrap();
    sw(&mut app, &mut store, SELECT_DEBIT);
    assert_eq!(sw(&mut app, &mut store, VERIFY_RIGHT), 0x9000);
    let signed = send(&mut app, &mut store, &pso(b"order=42"));
    assert_eq!(signed.sw.0, 0x9000);
    verify_p256(&public, b"order=42", &signed.data).unwrap();
}

#[test]
fn wrong_pins_are_counted_durably_then_block() {
    let mut app = signing_card();
    let mut store = MemoryCounterStore::default();
    sw(&mut app, &mut store, SELECT_DEBIT);
    assert_eq!(sw(&mut app, &mut store, "00200080"), 0x63C3);
    assert_eq!(sw(&mut app, &mut store, VERIFY_WRONG), 0x63C2);
    assert_eq!(store.pin_tries_left, Some(2));
    // A failing store: nothing counted, 6581.
    store.fail = true;
    assert_eq!(sw(&mut app, &mut store, VERIFY_WRONG), 0x6581);
    assert_eq!(app.pin_tries_left(), Some(2));
    store.fail = false;
    // A right PIN resets the counter (durably).
    assert_eq!(sw(&mut app, &mut store, VERIFY_RIGHT), 0x9000);
    assert_eq!(
        (store.pin_tries_left, app.pin_tries_left()),
        (Some(3), Some(3))
    );
    // A wrong PIN cancels an earlier verification.
    assert_eq!(sw(&mut app, &mut store, VERIFY_WRONG), 0x63C2);
    assert_eq!(send(&mut app, &mut store, &pso(b"m")).sw.0, 0x6982);
    assert_eq!(sw(&mut app, &mut store, VERIFY_WRONG), 0x63C1);
    assert_eq!(sw(&mut app, &mut store, VERIFY_WRONG), 0x63C0);
    assert_eq!(store.pin_tries_left, Some(0));
    // Blocked: even the right PIN is refused, and so is a signature.
    assert_eq!(sw(&mut app, &mut store, VERIFY_RIGHT), 0x6983);
    assert_eq!(sw(&mut app, &mut store, "00200080"), 0x6983);
    assert_eq!(send(&mut app, &mut store, &pso(b"m")).sw.0, 0x6982);

    // The counter survives a restart: a card restored with 0 tries stays blocked.
    let restored = card(AccountKind::Debit, true)
        .with_signing(signing(CardCrypto::Sm4), store.pin_tries_left)
        .unwrap();
    let mut restored = restored;
    sw(&mut restored, &mut store, SELECT_DEBIT);
    assert_eq!(sw(&mut restored, &mut store, VERIFY_RIGHT), 0x6983);
}

#[test]
fn selection_and_parameters_are_checked() {
    let mut app = signing_card();
    let mut store = MemoryCounterStore::default();
    // Nothing selected, then the PPSE: 6985.
    assert_eq!(sw(&mut app, &mut store, VERIFY_RIGHT), 0x6985);
    sw(&mut app, &mut store, SELECT_PPSE);
    assert_eq!(sw(&mut app, &mut store, VERIFY_RIGHT), 0x6985);
    assert_eq!(send(&mut app, &mut store, &pso(b"m")).sw.0, 0x6985);
    assert_eq!(sw(&mut app, &mut store, "80CADF6100"), 0x6985);
    sw(&mut app, &mut store, SELECT_DEBIT);
    assert_eq!(
        sw(&mut app, &mut store, "0020008808 26123456FFFFFFFF"),
        0x6A86
    );
    assert_eq!(sw(&mut app, &mut store, "0020008004 26123456"), 0x6700);
    assert_eq!(
        sw(&mut app, &mut store, "0020008008 36123456FFFFFFFF"),
        0x6A80
    );
    assert_eq!(
        sw(&mut app, &mut store, "8020008008 26123456FFFFFFFF"),
        0x6E00
    );
    assert_eq!(sw(&mut app, &mut store, "002A9E9B016600"), 0x6A86);
    assert_eq!(sw(&mut app, &mut store, "002A9E9A00"), 0x6700);
    assert_eq!(send(&mut app, &mut store, &pso(&[0; 1025])).sw.0, 0x6700);
    // A SELECT or a reset forgets the verification.
    assert_eq!(sw(&mut app, &mut store, VERIFY_RIGHT), 0x9000);
    sw(&mut app, &mut store, SELECT_DEBIT);
    assert_eq!(send(&mut app, &mut store, &pso(b"m")).sw.0, 0x6982);
    assert_eq!(sw(&mut app, &mut store, VERIFY_RIGHT), 0x9000);
    app.reset();
    sw(&mut app, &mut store, SELECT_DEBIT);
    assert_eq!(send(&mut app, &mut store, &pso(b"m")).sw.0, 0x6982);
}

#[test]
fn get_data_df61_answers_the_public_key() {
    let mut app = signing_card();
    let mut store = MemoryCounterStore::default();
    sw(&mut app, &mut store, SELECT_DEBIT);
    let r = send(&mut app, &mut store, &h("80CADF6100"));
    assert_eq!(r.sw.0, 0x9000);
    assert_eq!(r.data[..3], [0xDF, 0x61, 0x41]);
    assert_eq!(r.data[3..], app.signing_public_key().unwrap()[..]);
    assert!(!format!("{app:?}").contains(&hex::encode(app.signing_public_key().unwrap())));
}

#[test]
fn a_card_without_a_pin_answers_6a88() {
    let mut app = card(AccountKind::Debit, false);
    let mut store = MemoryCounterStore::default();
    assert_eq!(
        (app.pin_tries_left(), app.signing_public_key()),
        (None, None)
    );
    sw(&mut app, &mut store, SELECT_DEBIT);
    assert_eq!(sw(&mut app, &mut store, VERIFY_RIGHT), 0x6A88);
    assert_eq!(send(&mut app, &mut store, &pso(b"m")).sw.0, 0x6A88);
    assert_eq!(sw(&mut app, &mut store, "80CADF6100"), 0x6A88);
}

#[test]
fn signing_material_must_fit_the_card() {
    let sm4_card = card(AccountKind::Debit, false);
    assert!(sm4_card
        .with_signing(signing(CardCrypto::Tdes), None)
        .is_err());
    let sm4_card = card(AccountKind::Debit, false);
    assert_eq!(
        sm4_card
            .with_signing(signing(CardCrypto::Sm4), Some(4))
            .err(),
        Some(CardError::Counters("PIN tries above the limit"))
    );
}
