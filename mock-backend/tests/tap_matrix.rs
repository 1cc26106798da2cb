//! The tap matrix: every account kind × every crypto profile, online and offline, through the
//! mock POS terminal and the real acquirer → issuer → clearing over HTTP.
//!
//! Kinds: debit, credit, quasi-credit (without e-cash), e-cash only, and the composites debit +
//! e-cash and credit + e-cash. Profiles: 3DES and SM4 cryptograms (`9F10` algorithm byte), fDDA
//! always SM2 under the test CA. Three ways the card is reached:
//!
//! - **application**: the core's card application ([`CardApplication`], the one implementation
//!   the SE applet and HCE both run) personalised here for every kind × profile — the full grid;
//! - **SE mode**: a card opened over the air by the TSM into the SE simulator through the core's
//!   wallet (bind, GP SERAM, SCP03), tapped on the SE's contactless interface; the TSM issues
//!   each bank product with its own profile (credit 3DES, the others SM4), and every SE card
//!   carries an e-cash purse — "without e-cash" is a purse opened empty;
//! - **HCE mode**: an HCE token of each account kind (tokens hold no e-cash).
//!
//! Every cell asserts the terminal's decision; online, that the issuer verified the ARQC
//! (answer `00` with an ARPC, which the card then accepts in EXTERNAL AUTHENTICATE — a card
//! accepts only an ARPC made from its own key) and the bank balance moved by the amount;
//! offline, that fDDA verified, the card's e-cash went down by the amount, the issuer accepted
//! the advice (TC verified) and the bank balance did not move. Without e-cash, a small amount
//! that e-cash would have taken offline goes online; an e-cash-only application declines online
//! purchases (AAC) and is loaded online instead.

mod common;

use common::{start, Harness, TestResult};
use mock_backend::bank::test_cards::{self, TestCard};
use mock_backend::pos::{
    AcquirerLink, CardIoError, ContactlessCard, CryptogramType, Decision, DeclineReason,
    IssuerAuthentication, TapOutcome, Terminal, TerminalConfig, Transaction, TransactionType,
};
use mock_backend::se_sim::{SharedSe, SimulatedSeTransport};
use std::sync::Arc;
use wallet_core::backend::api::acquiring::ResponseCode;
use wallet_core::backend::api::AccountKind;
use wallet_core::binding::BindingRequest;
use wallet_core::card::test_issuer::{issue_test_card, test_issuer_master_keys};
use wallet_core::card::{
    aids, CardApplication, CardContext, CardCounters, CardCrypto, CardPersonalization, ECashParams,
    MemoryCounterStore,
};
use wallet_core::hce::DeactivationReason;
use wallet_core::se::ReaderKind;
use wallet_core::wallet::{Wallet, WalletConfig};

/// Above the terminal's floor limit (¥500): an online cryptogram is required.
const ONLINE: u64 = 55_000;
/// Within the floor limit: e-cash may approve it offline.
const SMALL: u64 = 2_000;
/// The e-cash balance of the cards with e-cash.
const PURSE: u64 = 10_000;
const PROFILES: [CardCrypto; 2] = [CardCrypto::Tdes, CardCrypto::Sm4];

/// One account kind of the matrix.
#[derive(Debug, Clone, Copy)]
struct Kind {
    name: &'static str,
    card: TestCard,
    ecash: bool,
}

const KINDS: [Kind; 6] = [
    Kind {
        name: "debit",
        card: test_cards::DEBIT,
        ecash: false,
    },
    Kind {
        name: "credit",
        card: test_cards::CREDIT,
        ecash: false,
    },
    Kind {
        name: "quasi-credit",
        card: test_cards::QUASI_CREDIT,
        ecash: false,
    },
    Kind {
        name: "e-cash only",
        card: test_cards::E_CASH,
        ecash: true,
    },
    Kind {
        name: "debit + e-cash",
        card: test_cards::DEBIT,
        ecash: true,
    },
    Kind {
        name: "credit + e-cash",
        card: test_cards::CREDIT,
        ecash: true,
    },
];

/// The core's card application in the field.
struct AppCard {
    app: CardApplication,
    store: MemoryCounterStore,
}

impl ContactlessCard for AppCard {
    fn transceive(&mut self, c_apdu: &[u8]) -> Result<Vec<u8>, CardIoError> {
        Ok(self
            .app
            .process(c_apdu, &mut CardContext::new(&mut self.store)))
    }
}

/// A simulated SE's contactless interface.
struct SeContactless(SharedSe);

impl ContactlessCard for SeContactless {
    fn transceive(&mut self, c_apdu: &[u8]) -> Result<Vec<u8>, CardIoError> {
        let mut se = self
            .0
            .lock()
            .map_err(|_| CardIoError::Transport("SE state poisoned".into()))?;
        Ok(se.transmit(c_apdu))
    }
}

/// The wallet's HCE responder, as Android's HostApduService calls it.
struct HceContactless<'a>(&'a Wallet);

impl ContactlessCard for HceContactless<'_> {
    fn transceive(&mut self, c_apdu: &[u8]) -> Result<Vec<u8>, CardIoError> {
        Ok(self.0.process_apdu(c_apdu))
    }
}

fn app_card(kind: Kind, crypto: CardCrypto) -> AppCard {
    let pan = kind.card.pan;
    let perso = CardPersonalization {
        account_kind: kind.card.kind,
        pan: pan.into(),
        pan_sequence: 1,
        expiry: "301231".into(),
        crypto,
        currency: 156,
        country: 156,
        keys: test_issuer_master_keys()
            .derive_card_keys(crypto, pan, 1)
            .expect("keys"),
        ecash: kind.ecash.then_some(ECashParams {
            balance: PURSE,
            balance_limit: 100_000,
            single_transaction_limit: 50_000,
        }),
    };
    let profile = issue_test_card(perso).expect("test card");
    let counters = CardCounters::initial(&profile.perso);
    AppCard {
        app: CardApplication::new(profile, counters).expect("card application"),
        store: MemoryCounterStore::default(),
    }
}

/// A terminal that keeps the card in the field for the ARPC.
fn terminal(h: &Harness) -> Terminal {
    let config = TerminalConfig {
        issuer_authentication: true,
        ..TerminalConfig::default()
    };
    Terminal::new(
        config,
        Some(AcquirerLink::new(h.world.url()).expect("link")),
    )
}

fn balance(h: &Harness, pan: &str) -> i64 {
    h.world
        .state()
        .bank()
        .account(pan)
        .ok()
        .flatten()
        .map(|a| a.balance_fen)
        .unwrap_or(i64::MIN)
}

fn completed<'a>(outcome: &'a TapOutcome, cell: &str) -> &'a Transaction {
    outcome
        .transaction()
        .unwrap_or_else(|| panic!("{cell}: the tap failed: {:?}", outcome.result))
}

/// Asserts an online approval whose ARQC the issuer verified, and the account debited.
fn assert_online(tx: &Transaction, cell: &str, debited: i64, amount: u64) {
    assert_eq!(tx.decision, Decision::ApprovedOnline, "{cell}: {tx:?}");
    assert_eq!(tx.cryptogram_type, CryptogramType::Arqc, "{cell}");
    let auth = tx.authorization.as_ref().expect("online answer");
    assert_eq!(auth.response_code, ResponseCode::Approved, "{cell}");
    assert!(auth.arpc.is_some(), "{cell}: an ARPC, so the ARQC verified");
    assert!(auth.clearing_date.is_some(), "{cell}: cleared");
    assert_eq!(
        tx.issuer_authentication,
        Some(IssuerAuthentication::Passed),
        "{cell}: the card accepts the issuer's ARPC"
    );
    assert_eq!(
        debited, amount as i64,
        "{cell}: the account pays the amount"
    );
}

/// Asserts an offline e-cash approval with fDDA, then uploads the advice: the issuer verifies
/// the TC; the account does not move.
async fn assert_offline(t: &mut Terminal, tx: &Transaction, cell: &str, purse_before: u64) {
    assert_eq!(tx.decision, Decision::ApprovedOffline, "{cell}: {tx:?}");
    assert_eq!(tx.cryptogram_type, CryptogramType::Tc, "{cell}");
    assert!(tx.fdda_verified, "{cell}: fDDA verified");
    assert_eq!(tx.available_offline, Some(purse_before - SMALL), "{cell}");
    assert_eq!(tx.authorization, None, "{cell}: offline");
    let advices = t.upload_advices().await.expect("advice upload");
    assert_eq!(advices.len(), 1, "{cell}");
    assert!(advices[0].accepted, "{cell}: the issuer verified the TC");
    assert!(advices[0].clearing_date.is_some(), "{cell}");
}

/// One card through the grid's three taps: online purchase (or, e-cash only, the decline and
/// an online load), small purchase (offline with e-cash, else online).
async fn online_and_offline<C: ContactlessCard>(
    h: &Harness,
    card: &mut C,
    kind: Kind,
    purse: u64,
    cell: &str,
    read_purse: impl Fn(&mut C) -> Option<u64>,
) -> TestResult {
    let pan = kind.card.pan;
    let mut t = terminal(h);
    let before = balance(h, pan);
    let outcome = t.tap(&mut *card, ONLINE, TransactionType::Purchase).await;
    let tx = completed(&outcome, cell);
    if kind.card.kind == AccountKind::ECash {
        // The e-cash application declines what it cannot take offline…
        assert_eq!(
            (tx.decision.clone(), tx.cryptogram_type),
            (
                Decision::Declined(DeclineReason::CardDeclined),
                CryptogramType::Aac
            ),
            "{cell}"
        );
        assert_eq!(balance(h, pan), before, "{cell}");
        // …and goes online for a load, the issuer verifying its ARQC.
        let outcome = t.load(&mut *card, 5_000).await;
        let tx = completed(&outcome, cell);
        assert_online(tx, cell, before - balance(h, pan), 5_000);
        assert_eq!(read_purse(card), Some(purse + 5_000), "{cell}: loaded");
    } else {
        assert_eq!(tx.aid, aids::for_account(kind.card.kind), "{cell}");
        assert_online(tx, cell, before - balance(h, pan), ONLINE);
    }

    let purse = read_purse(card).unwrap_or(0);
    let before = balance(h, pan);
    let outcome = t.tap(&mut *card, SMALL, TransactionType::Purchase).await;
    let tx = completed(&outcome, cell);
    if purse >= SMALL {
        assert_offline(&mut t, tx, cell, purse).await;
        assert_eq!(read_purse(card), Some(purse - SMALL), "{cell}");
        assert_eq!(
            balance(h, pan),
            before,
            "{cell}: e-cash was paid for at load"
        );
    } else {
        // No e-cash to spend: the card asks for an online authorisation.
        assert_online(tx, cell, before - balance(h, pan), SMALL);
        assert_eq!(read_purse(card).unwrap_or(0), purse, "{cell}");
    }
    Ok(())
}

#[tokio::test]
async fn every_kind_and_profile_of_the_card_application() -> TestResult {
    for kind in KINDS {
        for crypto in PROFILES {
            // A fresh world per cell: the issuer remembers each PAN's ATCs.
            let h = start().await?;
            let cell = format!("application {} {crypto:?}", kind.name);
            let mut card = app_card(kind, crypto);
            let purse = if kind.ecash { PURSE } else { 0 };
            online_and_offline(&h, &mut card, kind, purse, &cell, |c| {
                c.app.counters().ecash_balance
            })
            .await?;
        }
    }
    Ok(())
}

/// A wallet on a fresh phone with simulated SEs, bound to `card`.
async fn phone(
    h: &Harness,
    dir: &std::path::Path,
    card: &TestCard,
) -> TestResult<(Wallet, Arc<SimulatedSeTransport>, String)> {
    let se = Arc::new(SimulatedSeTransport::in_memory()?);
    let wallet = Wallet::open(WalletConfig::new(dir.join("wallet"), h.world.url()), None)?
        .with_secure_elements(se.clone());
    let pending = wallet
        .begin_binding(&BindingRequest {
            pan: card.pan.into(),
            holder_name: card.holder_name.into(),
            id_number: card.id_number.into(),
            phone: card.phone.into(),
        })
        .await?;
    let code = h.latest_code(card.phone).await?;
    let binding = wallet.confirm_binding(&pending.session_id, &code).await?;
    Ok((wallet, se, binding.binding_id))
}

#[tokio::test]
async fn se_mode_every_kind_opened_over_the_air() -> TestResult {
    for kind in KINDS {
        let h = start().await?;
        let dir = tempfile::tempdir()?;
        let (wallet, se, binding_id) = phone(&h, dir.path(), &kind.card).await?;
        let purse = if kind.ecash { PURSE } else { 0 };
        let before_opening = balance(&h, kind.card.pan);
        let card = wallet
            .open_card(&binding_id, Some(ReaderKind::Ese), purse, None)
            .await?;
        assert_eq!(wallet.ecash_balance(&binding_id, &card.se_id).await?, purse);
        assert_eq!(
            before_opening - balance(&h, kind.card.pan),
            purse as i64,
            "{}: the initial e-cash is loaded from the account",
            kind.name
        );
        let cell = format!("SE {} {:?}", kind.name, kind.card.se_card_crypto);
        let shared = se.se(ReaderKind::Ese);
        let mut contactless = SeContactless(shared.clone());
        online_and_offline(&h, &mut contactless, kind, purse, &cell, |c| {
            let mut se = c.0.lock().ok()?;
            se.reset();
            let ecash = se_ecash_balance(&mut se);
            se.reset();
            ecash
        })
        .await?;
        drop(contactless);
        // The wallet reads the same balance through OMAPI.
        let expected = if kind.ecash { PURSE - SMALL } else { 0 };
        let expected = expected
            + if kind.card.kind == AccountKind::ECash {
                5_000
            } else {
                0
            };
        assert_eq!(
            wallet.ecash_balance(&binding_id, &card.se_id).await?,
            expected,
            "{cell}"
        );
    }
    Ok(())
}

/// GET DATA `9F79` after selecting the card's application on the contactless interface.
fn se_ecash_balance(se: &mut mock_backend::se_sim::SimulatedSe) -> Option<u64> {
    use wallet_core::apdu::{CommandApdu, Occurrence};
    for aid in [aids::DEBIT, aids::CREDIT, aids::QUASI_CREDIT, aids::E_CASH] {
        let select = CommandApdu::select_by_name(&aid, Occurrence::First).ok()?;
        let answer = se.transmit(&select.to_bytes());
        if answer.ends_with(&[0x90, 0x00]) {
            let answer = se.transmit(&[0x80, 0xCA, 0x9F, 0x79, 0x00]);
            let (value, sw) = answer.split_at(answer.len().checked_sub(2)?);
            if sw != [0x90, 0x00] {
                return None;
            }
            let amount = value.get(3..)?;
            return wallet_core::card::perso::parse_amount_n12(amount).ok();
        }
    }
    None
}

#[tokio::test]
async fn hce_mode_every_account_kind() -> TestResult {
    // HCE tokens hold no e-cash: every tap goes online; an e-cash-only account has no token.
    for card in [
        test_cards::DEBIT,
        test_cards::CREDIT,
        test_cards::QUASI_CREDIT,
        test_cards::E_CASH,
    ] {
        let h = start().await?;
        let dir = tempfile::tempdir()?;
        let (wallet, _se, binding_id) = phone(&h, dir.path(), &card).await?;
        let opened = wallet.open_hce_card(&binding_id).await;
        if card.kind == AccountKind::ECash {
            assert!(opened.is_err(), "an e-cash account has no HCE token");
            continue;
        }
        let info = opened?;
        let cell = format!("HCE {:?} {:?}", card.kind, info.crypto);
        for amount in [ONLINE, SMALL] {
            let before = balance(&h, card.pan);
            let mut t = terminal(&h);
            let outcome = t
                .tap(
                    &mut HceContactless(&wallet),
                    amount,
                    TransactionType::Purchase,
                )
                .await;
            wallet.on_deactivated(DeactivationReason::LinkLoss);
            let tx = completed(&outcome, &cell);
            assert_eq!(tx.aid, aids::for_account(card.kind), "{cell}");
            assert_eq!(tx.available_offline, None, "{cell}: no e-cash");
            assert_online(tx, &cell, before - balance(&h, card.pan), amount);
        }
    }
    Ok(())
}
