//! The opened card at a terminal: an online ARQC and an offline e-cash TC read from the
//! simulated eSE the TSM personalised, checked by the issuer with the device PAN the TSM
//! recorded ([`mock_backend::tsm::Tsm::account_of_device_pan`]); the counters survive the
//! phone's restart.

use super::terminal::{check_cryptogram, check_fdda, get_data, ok, tap, Txn};
use super::*;
use mock_backend::tsm::records::CardState;
use wallet_core::apdu::{CommandApdu, Occurrence};
use wallet_core::backend::api::AccountKind;

/// A phone whose SEs are saved under `dir` (reopened from there after a "reboot").
async fn phone_on_disk(h: &Harness, card: &TestCard, dir: &std::path::Path) -> TestResult<Phone> {
    let key = P256SigningKey::generate()?;
    let binding = h.bind(card, &key).await?;
    Ok(Phone {
        se: Arc::new(SimulatedSeTransport::open(dir)?),
        key,
        binding,
    })
}

/// Runs `f` on the phone's eSE as a terminal in the field would, then resets it (field off).
pub fn at_terminal<R>(phone: &Phone, f: impl FnOnce(&mut SimulatedSe) -> R) -> R {
    let shared = phone.se.se(ReaderKind::Ese);
    let mut se = lock(&shared);
    let result = f(&mut se);
    se.reset();
    result
}

/// The e-cash balance, ATC and last online ATC the card reports (GET DATA after SELECT).
fn card_counters(phone: &Phone) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    at_terminal(phone, |se| {
        let select = CommandApdu::select_by_name(&aids::DEBIT, Occurrence::First).unwrap();
        ok(se, 0, &select);
        (
            get_data(se, 0, 0x9F79),
            get_data(se, 0, 0x9F36),
            get_data(se, 0, 0x9F13),
        )
    })
}

#[tokio::test]
async fn an_opened_card_pays_online_and_offline_and_its_counters_survive_a_restart() -> TestResult {
    let h = world(Topology::Direct).await?;
    let dir = tempfile::tempdir()?;
    let phone = phone_on_disk(&h, &test_cards::DEBIT, dir.path()).await?;
    let kind = ReaderKind::Ese;
    let (status, round_trips) = phone
        .perform(&h, CardOperation::Open, kind, Some(10_000))
        .await?;
    completed(&status, round_trips, 3);

    // Online: a terminal without e-cash, on logical channel 1 (PPSE there too). ARQC.
    let online = at_terminal(&phone, |se| {
        assert_eq!(
            se.transmit(&[0x00, 0x70, 0x00, 0x00, 0x01]),
            [0x01, 0x90, 0x00]
        );
        let no_ecash = Txn {
            amount: 12_345,
            ecash_support: false,
        };
        tap(se, 1, no_ecash)
    });
    assert_eq!(online.directory, [(aids::DEBIT, 1), (aids::E_CASH, 2)]);
    assert_eq!((online.cid(), online.atc()), (0x80, 1), "ARQC, first ATC");
    assert_eq!(online.records.len(), 3, "record 1 and the fDDA records");
    // The issuer finds the card by its device PAN and verifies the ARQC with the test IMK.
    let tsm = h.world.state().tsm();
    let issuer_view = tsm
        .account_of_device_pan(&online.pan())?
        .ok_or("the TSM does not know the device PAN")?;
    assert_eq!(issuer_view.binding_id, phone.binding.binding_id);
    assert_eq!(issuer_view.account_pan, test_cards::DEBIT.pan);
    assert_eq!(issuer_view.account_kind, AccountKind::Debit);
    assert_eq!(issuer_view.crypto, CARD_CRYPTO);
    assert_eq!(issuer_view.state, CardState::Active);
    assert!(!format!("{issuer_view:?}").contains(test_cards::DEBIT.pan));
    check_cryptogram(&online, &issuer_view);
    assert!(tsm.account_of_device_pan(test_cards::DEBIT.pan)?.is_none());

    // Offline e-cash on the basic channel (the contactless interface): TC with fDDA, the
    // balance drops by the amount.
    let purchase = |amount| Txn {
        amount,
        ecash_support: true,
    };
    let offline = at_terminal(&phone, |se| tap(se, 0, purchase(2_500)));
    assert_eq!((offline.cid(), offline.atc()), (0x40, 2), "TC, next ATC");
    assert_eq!(offline.available_offline(), 7_500);
    check_cryptogram(&offline, &issuer_view);
    check_fdda(&offline);
    let counters = (
        hex::decode("000000007500")?,
        vec![0x00, 0x02],
        vec![0x00, 0x01],
    );
    assert_eq!(card_counters(&phone), counters);

    // The phone restarts: the SEs are opened again from their directory.
    let Phone { se, key, binding } = phone;
    drop(se);
    let phone = Phone {
        se: Arc::new(SimulatedSeTransport::open(dir.path())?),
        key,
        binding,
    };
    assert_eq!(card_counters(&phone), counters);
    let again = at_terminal(&phone, |se| tap(se, 0, purchase(1_000)));
    assert_eq!(
        (again.cid(), again.atc()),
        (0x40, 3),
        "the ATC is never reused"
    );
    assert_eq!(again.available_offline(), 6_500);
    check_cryptogram(&again, &issuer_view);

    // The TSM reads the balance the card now holds.
    let (status, _) = phone.perform(&h, CardOperation::Status, kind, None).await?;
    assert_eq!(card_of(&status)?.ecash_balance, Some(6_500));
    Ok(())
}
