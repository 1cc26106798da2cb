//! E-cash load (圈存) end to end: a test card at a load terminal, online through acquirer →
//! issuer over HTTP, the issuer script applied by the card itself. Checked independently: the
//! card's own counters (its MAC check is the core's card implementation), the bank balance
//! against the amounts of the test, the debit recorded once under the authorisation id.

mod common;
#[path = "support/ecash_card.rs"]
mod ecash_card;

use common::{ok_json, start, Harness, TestResult};
use ecash_card::{card, LIMIT};
use mock_backend::bank::test_cards;
use mock_backend::pos::{
    AcquirerLink, Decision, DeclineReason, ScriptResult, TapOutcome, Terminal, TerminalConfig,
    Transaction,
};
use wallet_core::apdu::StatusWord;
use wallet_core::backend::api::acquiring::{
    AuthorizationRequest, AuthorizationResponse, EcashLoadRequest, ResponseCode, ReversalReason,
    ReversalStatus, PATH_AUTHORIZATIONS,
};
use wallet_core::card::CardCrypto;

const PROFILES: [CardCrypto; 2] = [CardCrypto::Tdes, CardCrypto::Sm4];

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
        // The terminal reversed the authorisation: the account is whole again.
        let reversal = load.reversal.as_ref().expect("a reversal was sent");
        assert_eq!(reversal.request.reason, ReversalReason::ScriptRejected);
        let answer = reversal.result.as_ref().expect("the reversal got through");
        assert_eq!(answer.status, ReversalStatus::Reversed, "{answer:?}");
        assert_eq!(answer.amount_credited, 5_000);
        assert_eq!(account_balance(&h), test_cards::DEBIT.balance_fen);
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

/// An e-cash purchase approved offline is money the merchant is owed: a terminal switched off
/// before it uploaded the advice uploads it after the restart, once.
#[tokio::test]
async fn an_offline_advice_survives_a_terminal_restart() -> TestResult {
    use mock_backend::clearing::date::Day;
    use mock_backend::pos::{ReversalJournal, TransactionType};
    use wallet_core::backend::api::clearing::ClearingChannel;

    let h = start().await?;
    let dir = tempfile::tempdir()?;
    let mut card = card(CardCrypto::Tdes, 10_000);
    {
        let mut terminal = terminal(&h).with_journal(ReversalJournal::open(dir.path())?);
        let outcome = terminal
            .tap(&mut card, 1_200, TransactionType::Purchase)
            .await;
        let tx = outcome.transaction().expect("tapped");
        assert_eq!(tx.decision, Decision::ApprovedOffline);
        assert_eq!(terminal.pending_advices().len(), 1);
        // Switched off before the upload.
    }
    assert_eq!(card.balance(), Some(8_800));
    let offline = |h: &Harness| -> TestResult<usize> {
        let state = h.world.state();
        let batch = state.clearing().batch(&Day::beijing(state.clock().now()))?;
        Ok(batch
            .transactions
            .iter()
            .filter(|t| t.channel == ClearingChannel::PosOffline)
            .count())
    };
    assert_eq!(offline(&h)?, 0);

    let mut restarted = terminal(&h).with_journal(ReversalJournal::open(dir.path())?);
    assert_eq!(restarted.pending_advices().len(), 1, "found in the journal");
    let answers = restarted.upload_advices().await?;
    assert!(answers.len() == 1 && answers[0].accepted, "{answers:?}");
    assert_eq!(offline(&h)?, 1);
    let restarted = terminal(&h).with_journal(ReversalJournal::open(dir.path())?);
    assert!(restarted.pending_advices().is_empty(), "uploaded: gone");
    Ok(())
}
