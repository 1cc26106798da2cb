//! The payment instance personalised with the whole card profile: the PPSE lists its
//! applications on a logical channel until the instance is locked.

use super::*;
use wallet_core::apdu::{tlv, Tag};
use wallet_core::card::aids::PPSE;
use wallet_core::card::test_issuer::issue_test_card;

/// The applications a PPSE FCI lists: (AID, priority).
fn listed(fci: &[u8]) -> Vec<(Vec<u8>, u8)> {
    let directory = tlv::find(fci, Tag::FCI_ISSUER_DISCRETIONARY)
        .unwrap()
        .unwrap();
    directory
        .children()
        .map(|e| {
            let e = e.unwrap();
            let aid = e.child(Tag::AID).unwrap().unwrap().value().to_vec();
            let priority = e.child(Tag::APPLICATION_PRIORITY).unwrap().unwrap().value()[0];
            (aid, priority)
        })
        .collect()
}

#[test]
fn ppse_lists_the_personalised_payment_applications_until_locked() {
    let t = SimulatedSeTransport::in_memory().unwrap();
    let (mut isd, keys) = isd_scp03(&t, "eSE1", SecurityLevel::FULL);
    isd.ok(&install_payment(&DEBIT));
    let not_found =
        |r: Result<Vec<u8>, SeError>| matches!(r, Err(SeError::ApplicationNotFound { .. }));
    assert!(
        not_found(select_sw(&t, "eSE1", PPSE)),
        "not personalised: no PPSE"
    );

    // The whole profile (fDDA, risk parameters), secret DGIs 8000 and 8001 under the DEK.
    isd.ok(&for_perso(&DEBIT));
    let profile = issue_test_card(card(AccountKind::Debit, 800)).unwrap();
    let dgis = profile.to_dgis().unwrap();
    let blocks = mock_backend::tsm::perso::store_data_commands(&dgis, &isd.kek(&keys)).unwrap();
    assert_eq!(blocks.len(), 8);
    for block in blocks {
        isd.ok(&block.to_apdu().unwrap());
    }

    // PPSE on a logical channel through the OMAPI seam: the debit and the e-cash application.
    let ppse = select_sw(&t, "eSE1", PPSE).unwrap();
    assert_eq!(listed(&ppse), [(DEBIT.to_vec(), 1), (E_CASH.to_vec(), 2)]);
    // The e-cash application is the same card: its balance and counters.
    let ecash = Channel::open(&t, "eSE1", &E_CASH).unwrap();
    assert_eq!(
        hex::encode_upper(balance(&ecash).to_bytes()),
        "9F79060000000008009000"
    );
    assert_eq!(ecash.get_data(0x9F36), [0x9F, 0x36, 0x02, 0x00, 0x00]);
    t.close_channel(ecash.handle).unwrap();

    // Locked: neither listed nor selectable by any of its names; unlocked: back.
    assert_eq!(isd.sw(&set_status(&DEBIT, 0x80)), 0x9000);
    assert!(not_found(select_sw(&t, "eSE1", PPSE)));
    assert!(not_found(select_sw(&t, "eSE1", &E_CASH)));
    assert_eq!(isd.sw(&set_status(&DEBIT, 0x00)), 0x9000);
    assert_eq!(listed(&select_sw(&t, "eSE1", PPSE).unwrap()).len(), 2);
}
