//! Reversal of an e-cash load the card did not apply, end to end over HTTP: the terminal sends
//! `POST /acquirer/v1/reversals`, the issuer credits the account back once, clearing records a
//! correction entry that nets the load out of the day's totals. Checked independently: the
//! card's own balance counter, the bank balance against the amounts of the test, the clearing
//! batch as any client reads it, and reversals sent again by hand.

mod common;
#[path = "support/ecash_card.rs"]
mod ecash_card;

use common::{expect_error, ok_json, start, Harness, TestResult};
use ecash_card::card;
use mock_backend::bank::test_cards;
use mock_backend::pos::{
    AcquirerLink, Decision, DeclineReason, LoadReversal, ScriptResult, Terminal, TerminalConfig,
    Transaction,
};
use wallet_core::backend::api::acquiring::{
    reversal_id_of, ReversalReason, ReversalRequest, ReversalResponse, ReversalStatus,
    PATH_REVERSALS,
};
use wallet_core::backend::api::clearing::{ClearingBatch, ClearingChannel, PATH_CLEARING_BATCHES};
use wallet_core::card::CardCrypto;

const AMOUNT: u64 = 5_000;

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

async fn batch(h: &Harness, date: &str) -> TestResult<ClearingBatch> {
    ok_json(h.get(&format!("{PATH_CLEARING_BATCHES}/{date}")).await?).await
}

async fn reverse(
    h: &Harness,
    request: &ReversalRequest,
    key: &str,
) -> TestResult<ReversalResponse> {
    ok_json(h.post(PATH_REVERSALS, request, Some(key)).await?).await
}

/// The reversal the terminal sent for `tx`, checked to be confirmed `Reversed`.
fn reversal(tx: &Transaction, reason: ReversalReason) -> &LoadReversal {
    assert_eq!(
        tx.decision,
        Decision::Declined(DeclineReason::LoadNotApplied)
    );
    let load = tx.ecash_load.as_ref().expect("load data");
    let reversal = load.reversal.as_ref().expect("a reversal was sent");
    assert_eq!(reversal.request.reason, reason);
    let answer = reversal.result.as_ref().expect("the reversal got through");
    assert_eq!(answer.status, ReversalStatus::Reversed, "{answer:?}");
    assert_eq!(answer.amount_credited, AMOUNT);
    assert!(reversal.is_reversed());
    reversal
}

#[tokio::test]
async fn tampered_script_is_reversed_once_and_nets_out_of_clearing() -> TestResult {
    for crypto in [CardCrypto::Tdes, CardCrypto::Sm4] {
        let h = start().await?;
        let mut card = card(crypto, 8_766);
        card.tamper = true;
        let outcome = terminal(&h).load(&mut card, AMOUNT).await;
        let tx = outcome.transaction().expect("the load completed");
        let load = tx.ecash_load.as_ref().expect("load data");
        assert_eq!(load.balance_after, Some(8_766), "{crypto:?}");
        assert_eq!(card.balance(), Some(8_766), "the card's own counter");
        let reversal = reversal(tx, ReversalReason::ScriptRejected);
        let auth = tx.authorization.as_ref().expect("online");
        assert!(auth.approved, "the issuer approved the load");
        assert_eq!(
            account_balance(&h),
            test_cards::DEBIT.balance_fen,
            "credited back"
        );
        let debit = h.world.state().bank().debit_of(&auth.authorization_id)?;
        let debit = debit.expect("the debit stays in the ledger");
        assert_eq!(
            debit.reversal.map(|r| r.reference),
            Some(reversal_id_of(&auth.authorization_id))
        );

        // Clearing: the load and its correction in the same day; nets back to zero.
        let answer = reversal.result.as_ref().expect("answer");
        assert_eq!(answer.clearing_date, auth.clearing_date);
        let date = answer.clearing_date.clone().expect("a clearing day");
        let day = batch(&h, &date).await?;
        let rows: Vec<(String, ClearingChannel, u64)> = day
            .transactions
            .iter()
            .map(|t| (t.id.clone(), t.channel, t.amount))
            .collect();
        assert_eq!(
            rows,
            [
                (
                    auth.authorization_id.clone(),
                    ClearingChannel::PosOnline,
                    AMOUNT
                ),
                (
                    reversal_id_of(&auth.authorization_id),
                    ClearingChannel::Reversal,
                    AMOUNT
                ),
            ]
        );
        assert_eq!(day.transactions[1].masked_pan, "622202******7894");
        assert_eq!((day.count, day.amount), (2, 0));
        for total in &day.totals {
            assert_eq!(
                (total.receivable, total.payable, total.net),
                (AMOUNT, AMOUNT, 0),
                "{total:?}"
            );
        }
        assert_eq!(day.totals.len(), 2, "acquirer and issuer");

        // The same reversal again with the same key: the first answer, replayed.
        let key = reversal.key.as_str();
        assert_eq!(reverse(&h, &reversal.request, key).await?, *answer);
        // Again under a new key: already reversed, nothing more moves.
        let again = reverse(&h, &reversal.request, "again-1").await?;
        assert_eq!(again.status, ReversalStatus::AlreadyReversed);
        assert_eq!(again.amount_credited, 0);
        assert_eq!(again.reversal_id, answer.reversal_id);
        assert_eq!(account_balance(&h), test_cards::DEBIT.balance_fen);
        assert_eq!(batch(&h, &date).await?, day, "no second correction entry");
    }
    Ok(())
}

#[tokio::test]
async fn card_removed_before_the_script_is_reversed() -> TestResult {
    let h = start().await?;
    let mut card = card(CardCrypto::Sm4, 1_000);
    card.lose_at_script = true;
    let outcome = terminal(&h).load(&mut card, AMOUNT).await;
    let tx = outcome.transaction().expect("the load completed");
    let load = tx.ecash_load.as_ref().expect("load data");
    assert!(
        matches!(load.script, ScriptResult::CardUnavailable(_)),
        "{:?}",
        load.script
    );
    assert_eq!(load.balance_after, None, "the card is gone");
    reversal(tx, ReversalReason::CardRemoved);
    assert_eq!(account_balance(&h), test_cards::DEBIT.balance_fen);
    card.return_to_field();
    assert_eq!(card.balance(), Some(1_000), "the card never got the money");

    // The card back at the terminal: a new load succeeds and is debited once.
    let outcome = terminal(&h).load(&mut card, AMOUNT).await;
    let tx = outcome.transaction().expect("the load completed");
    assert_eq!(tx.decision, Decision::ApprovedOnline);
    assert_eq!(
        tx.ecash_load.as_ref().and_then(|l| l.reversal.as_ref()),
        None
    );
    assert_eq!(card.balance(), Some(1_000 + AMOUNT));
    assert_eq!(
        account_balance(&h),
        test_cards::DEBIT.balance_fen - AMOUNT as i64
    );
    Ok(())
}

#[tokio::test]
async fn reversals_that_do_not_match_move_nothing() -> TestResult {
    let h = start().await?;
    let mut card = card(CardCrypto::Tdes, 0);
    let outcome = terminal(&h).load(&mut card, AMOUNT).await;
    let tx = outcome.transaction().expect("the load completed");
    assert_eq!(tx.decision, Decision::ApprovedOnline);
    let auth = tx.authorization.as_ref().expect("online");
    let config = TerminalConfig::default();
    let request = ReversalRequest {
        terminal_id: config.terminal_id.clone(),
        merchant_id: config.merchant_id.clone(),
        original_authorization_id: auth.authorization_id.clone(),
        amount: AMOUNT,
        currency: 156,
        reason: ReversalReason::NoScriptResult,
    };
    let debited = test_cards::DEBIT.balance_fen - AMOUNT as i64;

    let unknown = ReversalRequest {
        original_authorization_id: "auth_000000000000000000000000".into(),
        ..request.clone()
    };
    let answer = reverse(&h, &unknown, "k-unknown").await?;
    assert_eq!(answer.status, ReversalStatus::UnknownAuthorization);
    assert_eq!((answer.reversal_id, answer.amount_credited), (None, 0));
    for (i, wrong) in [
        ReversalRequest {
            amount: AMOUNT - 1,
            ..request.clone()
        },
        ReversalRequest {
            terminal_id: "POS00002".into(),
            ..request.clone()
        },
    ]
    .iter()
    .enumerate()
    {
        let answer = reverse(&h, wrong, &format!("k-wrong-{i}")).await?;
        assert_eq!(answer.status, ReversalStatus::Mismatch, "{wrong:?}");
    }
    let malformed = ReversalRequest {
        amount: 0,
        ..request.clone()
    };
    expect_error(
        h.post(PATH_REVERSALS, &malformed, Some("k-bad")).await?,
        400,
        "BAD_REQUEST",
    )
    .await?;
    assert_eq!(account_balance(&h), debited, "nothing moved");
    assert_eq!(card.balance(), Some(AMOUNT));
    let day = batch(&h, auth.clearing_date.as_deref().unwrap_or_default()).await?;
    assert_eq!((day.count, day.amount), (1, AMOUNT));

    // A reversal that matches (the terminal never saw the script's answer, say) credits back.
    let answer = reverse(&h, &request, "k-good").await?;
    assert_eq!(answer.status, ReversalStatus::Reversed);
    assert_eq!(account_balance(&h), test_cards::DEBIT.balance_fen);
    Ok(())
}
