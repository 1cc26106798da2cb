//! E-cash load (圈存) end to end: a test card at a load terminal, online through acquirer →
//! issuer over HTTP, the issuer script applied by the card itself. Checked independently: the
//! card's own counters (its MAC check is the core's card implementation), the bank balance
//! against the amounts of the test, the debit recorded once under the authorisation id.

mod common;

use common::{ok_json, start, Harness, TestResult};
use mock_backend::bank::test_cards;
use mock_backend::pos::{
    AcquirerLink, CardIoError, ContactlessCard, Decision, DeclineReason, ScriptResult, TapOutcome,
    Terminal, TerminalConfig, Transaction,
};
use wallet_core::apdu::StatusWord;
use wallet_core::backend::api::acquiring::{
    AuthorizationRequest, AuthorizationResponse, EcashLoadRequest, ResponseCode,
    PATH_AUTHORIZATIONS,
};
use wallet_core::backend::api::AccountKind;
use wallet_core::card::test_issuer::{issue_test_card, test_issuer_master_keys};
use wallet_core::card::{
    CardApplication, CardContext, CardCounters, CardCrypto, CardPersonalization, ECashParams,
    MemoryCounterStore,
};

const PROFILES: [CardCrypto; 2] = [CardCrypto::Tdes, CardCrypto::Sm4];
const LIMIT: u64 = 100_000;

/// A test card application in the field; `tamper` flips the last bit of any PUT DATA command
/// on its way to the card (the last MAC byte).
struct Card {
    app: CardApplication,
    store: MemoryCounterStore,
    tamper: bool,
}

impl ContactlessCard for Card {
    fn transceive(&mut self, c_apdu: &[u8]) -> Result<Vec<u8>, CardIoError> {
        let mut command = c_apdu.to_vec();
        if self.tamper && command.get(1) == Some(&0xDA) {
            if let Some(last) = command.last_mut() {
                *last ^= 0x01;
            }
        }
        Ok(self
            .app
            .process(&command, &mut CardContext::new(&mut self.store)))
    }
}

impl Card {
    fn balance(&self) -> Option<u64> {
        self.app.counters().ecash_balance
    }
}

fn card(crypto: CardCrypto, balance: u64) -> Card {
    let pan = test_cards::DEBIT.pan;
    let perso = CardPersonalization {
        account_kind: AccountKind::Debit,
        pan: pan.into(),
        pan_sequence: 1,
        expiry: "301231".into(),
        crypto,
        currency: 156,
        country: 156,
        keys: test_issuer_master_keys()
            .derive_card_keys(crypto, pan, 1)
            .expect("keys"),
        ecash: Some(ECashParams {
            balance,
            balance_limit: LIMIT,
            single_transaction_limit: 50_000,
        }),
    };
    let profile = issue_test_card(perso).expect("test card");
    let counters = CardCounters::initial(&profile.perso);
    Card {
        app: CardApplication::new(profile, counters).expect("card application"),
        store: MemoryCounterStore::default(),
        tamper: false,
    }
}

fn terminal(h: &Harness) -> Terminal {
    Terminal::new(
        TerminalConfig::default(),
        Some(AcquirerLink::new(h.world.url()).expect("link")),
    )
}

fn account_balance(h: &Harness) -> i64 {
    h.world
        .state()
        .bank()
        .account(test_cards::DEBIT.pan)
        .ok()
        .flatten()
        .map(|a| a.balance_fen)
        .unwrap_or(i64::MIN)
}

fn transaction(outcome: &TapOutcome) -> &Transaction {
    outcome.transaction().expect("the load completed")
}

#[tokio::test]
async fn approved_load_raises_the_balance_and_debits_once() -> TestResult {
    for crypto in PROFILES {
        let h = start().await?;
        let mut card = card(crypto, 8_766);
        let mut t = terminal(&h);
        let outcome = t.load(&mut card, 5_000).await;
        let tx = transaction(&outcome);
        assert_eq!(tx.decision, Decision::ApprovedOnline, "{crypto:?} {tx:?}");
        let load = tx.ecash_load.as_ref().expect("load data");
        assert_eq!(
            (load.balance_before, load.balance_limit),
            (8_766, LIMIT),
            "read before GPO"
        );
        assert_eq!(load.script, ScriptResult::Applied);
        assert_eq!(load.balance_after, Some(13_766));
        assert_eq!(card.balance(), Some(13_766), "the card's own counter");
        assert_eq!(account_balance(&h), test_cards::DEBIT.balance_fen - 5_000);
        let auth = tx.authorization.as_ref().expect("online");
        let debit = h
            .world
            .state()
            .bank()
            .debit_of(&auth.authorization_id)?
            .expect("debit recorded under the authorisation id");
        assert_eq!(debit.amount, 5_000);
        // The trace: GET DATA 9F79 and 9F77 between SELECT AID and GPO, the script after.
        let steps: Vec<&str> = outcome.trace.entries().iter().map(|e| e.step).collect();
        let gpo = steps.iter().position(|s| *s == "GET PROCESSING OPTIONS");
        let first_get = steps.iter().position(|s| *s == "GET DATA");
        assert!(first_get < gpo, "{steps:?}");
        assert!(steps.contains(&"PUT DATA"), "{steps:?}");

        // The same authorisation request again (new idempotency key): a replayed ARQC.
        let replay = AuthorizationRequest {
            terminal_id: t.config().terminal_id.clone(),
            merchant_id: t.config().merchant_id.clone(),
            terminal_type: "22".into(),
            transaction: tx.card_data.clone(),
            ecash_load: Some(EcashLoadRequest {
                ecash_balance: 8_766,
                balance_limit: LIMIT,
            }),
        };
        let answer: AuthorizationResponse = ok_json(
            h.post(PATH_AUTHORIZATIONS, &replay, Some("replay-1"))
                .await?,
        )
        .await?;
        assert!(!answer.approved);
        assert_eq!(answer.response_code, ResponseCode::Duplicate);
        assert_eq!(answer.issuer_script, None);
        assert_eq!(account_balance(&h), test_cards::DEBIT.balance_fen - 5_000);
    }
    Ok(())
}

#[tokio::test]
async fn tampered_script_is_refused_by_the_card() -> TestResult {
    for crypto in PROFILES {
        let h = start().await?;
        let mut card = card(crypto, 8_766);
        card.tamper = true;
        let outcome = terminal(&h).load(&mut card, 5_000).await;
        let tx = transaction(&outcome);
        assert_eq!(
            tx.decision,
            Decision::Declined(DeclineReason::LoadNotApplied)
        );
        let load = tx.ecash_load.as_ref().expect("load data");
        assert_eq!(load.script, ScriptResult::Rejected(StatusWord(0x6988)));
        assert_eq!(load.balance_after, Some(8_766));
        assert_eq!(card.balance(), Some(8_766));
    }
    Ok(())
}

#[tokio::test]
async fn load_above_the_limit_is_refused_before_any_debit() -> TestResult {
    let h = start().await?;
    let mut card = card(CardCrypto::Sm4, 90_000);
    let outcome = terminal(&h).load(&mut card, 10_001).await;
    let tx = transaction(&outcome);
    assert!(
        matches!(
            &tx.decision,
            Decision::Declined(DeclineReason::Issuer {
                code: ResponseCode::InvalidAmount,
                ..
            })
        ),
        "{:?}",
        tx.decision
    );
    let load = tx.ecash_load.as_ref().expect("load data");
    assert_eq!(load.script, ScriptResult::NotSent);
    assert_eq!(card.balance(), Some(90_000));
    assert_eq!(account_balance(&h), test_cards::DEBIT.balance_fen);
    // Exactly up to the limit is fine.
    let outcome = terminal(&h).load(&mut card, 10_000).await;
    assert_eq!(transaction(&outcome).decision, Decision::ApprovedOnline);
    assert_eq!(card.balance(), Some(LIMIT));
    Ok(())
}
