//! Remote payment in SE mode, card side: an opening in the simulated eSE makes the payment
//! applet generate its signing key (P-256 for a 3DES card, SM2 for an SM4 card) and the TSM
//! registers the public key within the usual three round trips
//! ([`mock_backend::tsm::Tsm::se_payment_key`]); the wallet's SE signer
//! ([`wallet_core::remote::sign_with_applet`]) signs with the cardholder's PIN through the
//! simulator's OMAPI transport; wrong PINs block the card, durably; a locked or deleted card
//! has no registered key.

use super::*;
use mock_backend::tsm::{SeKeyAlgorithm, SePaymentKey};
use wallet_core::card::signing::SM2_USER_ID;
use wallet_core::crypto::ecdsa::verify_p256;
use wallet_core::crypto::sm2::verify_sm2;
use wallet_core::remote::{sign_with_applet, SeSignError};

const MESSAGE: &[u8] = b"openwallet/remote-pay/v1\norder_id=o-1\nmerchant_id=m-1\namount=1200";

/// Opens the phone's card in its eSE with e-cash `load` (three round trips) and returns the key
/// the TSM registered for it.
async fn open(h: &Harness, phone: &Phone, load: u64) -> TestResult<SePaymentKey> {
    let (status, round_trips) = phone
        .perform(h, CardOperation::Open, ReaderKind::Ese, Some(load))
        .await?;
    completed(&status, round_trips, 3);
    Ok(registered(h, phone)?.ok_or("no SE payment key registered")?)
}

/// The key the TSM has for `phone`'s binding on its eSE.
fn registered(h: &Harness, phone: &Phone) -> TestResult<Option<SePaymentKey>> {
    let se_id = phone.target(ReaderKind::Ese)?.se_id;
    Ok(h.world
        .state()
        .tsm()
        .se_payment_key(&phone.binding.binding_id, &se_id)?)
}

/// The wallet's SE signer on `phone`'s eSE, for `card`'s instance.
fn sign(phone: &Phone, card: &TestCard, pin: &str) -> Result<Vec<u8>, SeSignError> {
    let service = SeService::new(phone.se.clone());
    let reader = mock_backend::world_keys::reader_name(ReaderKind::Ese);
    sign_with_applet(
        &service,
        reader,
        &aids::for_account(card.kind),
        pin,
        MESSAGE,
    )
}

#[tokio::test]
async fn both_card_algorithms_sign_with_the_key_the_tsm_registered() -> TestResult {
    let h = world(Topology::Direct).await?;
    for (card, algorithm) in [
        (test_cards::DEBIT, SeKeyAlgorithm::Sm2),
        (test_cards::CREDIT, SeKeyAlgorithm::P256),
    ] {
        let phone = phone(&h, &card).await?;
        let key = open(&h, &phone, 1_000).await?;
        assert_eq!(key.algorithm, algorithm, "{}", card.issuer_name);
        assert_eq!((key.public_key.len(), key.public_key[0]), (65, 0x04));
        let signature = sign(&phone, &card, card.pin)?;
        match algorithm {
            SeKeyAlgorithm::Sm2 => verify_sm2(&key.public_key, SM2_USER_ID, MESSAGE, &signature)?,
            SeKeyAlgorithm::P256 => verify_p256(&key.public_key, MESSAGE, &signature)?,
        }
        // The key is the card's: what the SE holds is what the TSM registered.
        let shared = phone.se.se(ReaderKind::Ese);
        let on_se = lock(&shared)
            .entry(&aids::for_account(card.kind))
            .and_then(|e| e.applet())
            .map(|a| PaymentApplet::restore(&a.save()))
            .transpose()?
            .and_then(|a| a.signing_public_key());
        assert_eq!(on_se, Some(key.public_key.clone()));
        // Nobody else's binding or SE gets it.
        let tsm = h.world.state().tsm();
        let se_id = phone.target(ReaderKind::Ese)?.se_id;
        assert_eq!(tsm.se_payment_key("another-binding", &se_id)?, None);
        assert_eq!(
            tsm.se_payment_key(&phone.binding.binding_id, "00112233445566778899")?,
            None
        );
    }
    Ok(())
}

#[tokio::test]
async fn three_wrong_pins_block_the_card_across_a_restart_and_locking_unregisters_the_key(
) -> TestResult {
    let h = world(Topology::Direct).await?;
    let dir = tempfile::tempdir()?;
    let card = test_cards::DEBIT;
    let key = P256SigningKey::generate()?;
    let binding = h.bind(&card, &key).await?;
    let phone = Phone {
        se: Arc::new(SimulatedSeTransport::open(dir.path())?),
        key,
        binding,
    };
    let registered_key = open(&h, &phone, 1_000).await?;

    assert_eq!(
        sign(&phone, &card, "000000"),
        Err(SeSignError::PinWrong { attempts_left: 2 })
    );
    // A right PIN resets the counter.
    sign(&phone, &card, card.pin)?;
    for left in [2, 1, 0] {
        assert_eq!(
            sign(&phone, &card, "999999"),
            Err(SeSignError::PinWrong {
                attempts_left: left
            })
        );
    }
    assert_eq!(sign(&phone, &card, card.pin), Err(SeSignError::PinBlocked));
    assert_eq!(sign(&phone, &card, "12"), Err(SeSignError::InvalidPin));

    // The phone restarts: its SEs come back from disk, still blocked, with the same key.
    let Phone { key, binding, se } = phone;
    drop(se);
    let phone = Phone {
        se: Arc::new(SimulatedSeTransport::open(dir.path())?),
        key,
        binding,
    };
    assert_eq!(sign(&phone, &card, card.pin), Err(SeSignError::PinBlocked));
    assert_eq!(registered(&h, &phone)?, Some(registered_key.clone()));

    // Locked: no key for the RPS; unlocked: the same key again; deleted: none.
    let (locked, _) = phone
        .perform(&h, CardOperation::Lock, ReaderKind::Ese, None)
        .await?;
    assert_eq!(card_of(&locked)?.life_cycle, CardLifeCycle::Locked);
    assert_eq!(registered(&h, &phone)?, None);
    assert!(matches!(
        sign(&phone, &card, card.pin),
        Err(SeSignError::Se(_))
    ));
    let (unlocked, _) = phone
        .perform(&h, CardOperation::Unlock, ReaderKind::Ese, None)
        .await?;
    assert_eq!(card_of(&unlocked)?.life_cycle, CardLifeCycle::Active);
    assert_eq!(registered(&h, &phone)?, Some(registered_key));
    phone
        .perform(&h, CardOperation::Delete, ReaderKind::Ese, None)
        .await?;
    assert_eq!(registered(&h, &phone)?, None);
    Ok(())
}

#[tokio::test]
async fn an_interrupted_opening_learns_the_key_from_the_probe() -> TestResult {
    let h = world(Topology::Direct).await?;
    let card = test_cards::CREDIT;
    let phone = phone(&h, &card).await?;
    // The whole script ran but its answers were lost: the next order probes (3 trips).
    interrupted_opening(&h, &phone, ReaderKind::Ese, None).await?;
    let key = open(&h, &phone, 3_000).await?;
    assert_eq!(key.algorithm, SeKeyAlgorithm::P256);
    verify_p256(&key.public_key, MESSAGE, &sign(&phone, &card, card.pin)?)?;
    Ok(())
}
