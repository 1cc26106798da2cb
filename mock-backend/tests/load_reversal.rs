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
use mock_backend::clearing::date::Day;
use mock_backend::fault_proxy::{Fault, FaultProxy, FaultRule};
use mock_backend::pos::journal::card_identity;
use mock_backend::pos::{
    AcquirerLink, Decision, DeclineReason, JournalEntry, JournalKind, LoadReversal, Resolution,
    ReversalJournal, ScriptResult, TapError, Terminal, TerminalConfig, Transaction,
};
use std::time::Duration;
use wallet_core::backend::api::acquiring::{
    reversal_id_of, ReversalReason, ReversalRequest, ReversalResponse, ReversalStatus,
    PATH_AUTHORIZATIONS, PATH_REVERSALS,
};
use wallet_core::backend::api::clearing::{ClearingBatch, ClearingChannel, PATH_CLEARING_BATCHES};
use wallet_core::backend::{BackendClient, ClientConfig};
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
        original_idempotency_key: None,
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

/// A terminal behind `proxy` whose link does not retry (every fault reaches the terminal),
/// with its reversal journal in `journal`, timing out after `timeout_ms`.
fn faulty_terminal(proxy: &FaultProxy, journal: &std::path::Path, timeout_ms: u64) -> Terminal {
    let mut config = ClientConfig::new(proxy.url());
    config.max_retries = 0;
    config.request_timeout = Duration::from_millis(timeout_ms);
    let link = AcquirerLink::with_client(BackendClient::new(config).expect("client"));
    Terminal::new(TerminalConfig::default(), Some(link))
        .with_journal(ReversalJournal::open(journal).expect("journal"))
}

/// The clearing entries of the day of Unix time `now`: (count of entries, net amount).
async fn net_clearing(h: &Harness) -> TestResult<(usize, i64)> {
    let date = Day::beijing(h.now()).iso();
    let day = batch(h, &date).await?;
    let net = day
        .transactions
        .iter()
        .map(|t| match t.channel {
            ClearingChannel::Reversal => -(t.amount as i64),
            _ => t.amount as i64,
        })
        .sum();
    Ok((day.transactions.len(), net))
}

#[tokio::test]
async fn a_load_whose_answer_is_lost_is_reversed_by_its_idempotency_key() -> TestResult {
    let h = start().await?;
    let proxy = FaultProxy::start(h.world.url()).await?;
    let journal = tempfile::tempdir()?;
    let mut terminal = faulty_terminal(&proxy, journal.path(), 2_000);
    let mut card = card(CardCrypto::Tdes, 1_000);
    proxy.inject(FaultRule::path(PATH_AUTHORIZATIONS, Fault::LoseAnswer));

    let outcome = terminal.load(&mut card, AMOUNT).await;
    assert!(
        matches!(outcome.result, Err(TapError::Online(_))),
        "{:?}",
        outcome.result
    );
    assert_eq!(proxy.lost_answers().len(), 1, "the issuer did approve");
    assert_eq!(card.balance(), Some(1_000), "nothing loaded");
    assert_eq!(
        account_balance(&h),
        test_cards::DEBIT.balance_fen,
        "the timeout reversal credited the debit back"
    );
    assert_eq!(
        net_clearing(&h).await?,
        (2, 0),
        "the load and its correction"
    );
    assert!(terminal.journal().expect("journal").pending()?.is_empty());

    // The customer tries again: one load, one debit.
    let outcome = terminal.load(&mut card, AMOUNT).await;
    assert_eq!(
        outcome.transaction().map(|t| &t.decision),
        Some(&Decision::ApprovedOnline)
    );
    assert_eq!(card.balance(), Some(1_000 + AMOUNT));
    assert_eq!(
        account_balance(&h),
        test_cards::DEBIT.balance_fen - AMOUNT as i64
    );
    Ok(())
}

#[tokio::test]
async fn an_authorisation_arriving_after_its_reversal_is_declined() -> TestResult {
    let h = start().await?;
    let proxy = FaultProxy::start(h.world.url()).await?;
    let journal = tempfile::tempdir()?;
    // The request is held 600 ms; the terminal gives up after 200 ms and reverses by key
    // first: the late authorisation must not debit.
    let mut terminal = faulty_terminal(&proxy, journal.path(), 200);
    proxy.inject(FaultRule::path(
        PATH_AUTHORIZATIONS,
        Fault::Delay(Duration::from_millis(600)),
    ));
    let mut card = card(CardCrypto::Sm4, 0);
    let outcome = terminal.load(&mut card, AMOUNT).await;
    assert!(matches!(outcome.result, Err(TapError::Online(_))));
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(proxy.rules_spent());
    assert_eq!(
        account_balance(&h),
        test_cards::DEBIT.balance_fen,
        "never debited"
    );
    assert_eq!(net_clearing(&h).await?, (0, 0));
    assert!(terminal.journal().expect("journal").pending()?.is_empty());
    Ok(())
}

#[tokio::test]
async fn a_reversal_that_did_not_get_through_is_sent_at_the_next_start() -> TestResult {
    let h = start().await?;
    let proxy = FaultProxy::start(h.world.url()).await?;
    let journal = tempfile::tempdir()?;
    let mut card = card(CardCrypto::Tdes, 2_000);
    card.lose_at_script = true;
    proxy.inject(FaultRule::path(PATH_REVERSALS, Fault::DropRequest));
    let tx = {
        let mut terminal = faulty_terminal(&proxy, journal.path(), 2_000);
        let outcome = terminal.load(&mut card, AMOUNT).await;
        outcome.result.expect("the load completed")
    };
    assert_eq!(
        tx.decision,
        Decision::Declined(DeclineReason::LoadNotApplied)
    );
    let reversal = tx.ecash_load.as_ref().and_then(|l| l.reversal.as_ref());
    assert!(reversal.is_some_and(|r| r.result.is_err()), "{reversal:?}");
    assert_eq!(
        account_balance(&h),
        test_cards::DEBIT.balance_fen - AMOUNT as i64
    );

    // The terminal restarts; the card comes back: the open load is resolved first (the card
    // does not hold it: reversed), then the new load goes through.
    card.return_to_field();
    let mut terminal = faulty_terminal(&proxy, journal.path(), 2_000);
    let outcome = terminal.load(&mut card, 700).await;
    assert_eq!(
        outcome.transaction().map(|t| &t.decision),
        Some(&Decision::ApprovedOnline)
    );
    let resolved = terminal.resolved();
    assert_eq!(resolved.len(), 1, "{resolved:?}");
    assert!(
        matches!(&resolved[0].resolution, Resolution::Reversed(a) if a.status == ReversalStatus::Reversed),
        "{resolved:?}"
    );
    assert_eq!(card.balance(), Some(2_700));
    assert_eq!(account_balance(&h), test_cards::DEBIT.balance_fen - 700);
    assert_eq!(net_clearing(&h).await?, (3, 700));
    assert!(terminal.journal().expect("journal").pending()?.is_empty());
    Ok(())
}

#[tokio::test]
async fn open_loads_are_decided_by_the_cards_balance() -> TestResult {
    let h = start().await?;
    let journal_dir = tempfile::tempdir()?;
    let journal = ReversalJournal::open(journal_dir.path())?;
    let mut card = card(CardCrypto::Tdes, 3_000);
    let config = TerminalConfig::default();
    let entry = |key: &str, balance_before| JournalEntry {
        idempotency_key: key.into(),
        authorization_id: None,
        terminal_id: config.terminal_id.clone(),
        merchant_id: config.merchant_id.clone(),
        card: card_identity(test_cards::DEBIT.pan, 1),
        amount: 1_000,
        currency: 156,
        kind: JournalKind::Load { balance_before },
    };
    // Left by a terminal that died: one load the card holds (2 000 + 1 000 = its balance), one
    // whose request never left (the balance before is the card's), one that cannot be decided.
    journal.write(&entry("a-applied", 2_000))?;
    journal.write(&entry("b-never-sent", 3_000))?;
    journal.write(&entry("c-undecidable", 100))?;
    let mut other = entry("d-other-card", 3_000);
    other.card = card_identity(test_cards::DEBIT.pan, 2);
    journal.write(&other)?;

    let mut terminal = terminal(&h).with_journal(journal.clone());
    let outcome = terminal.load(&mut card, 500).await;
    assert_eq!(
        outcome.transaction().map(|t| &t.decision),
        Some(&Decision::ApprovedOnline)
    );
    let fates: Vec<(&str, &Resolution)> = terminal
        .resolved()
        .iter()
        .map(|r| (r.entry.idempotency_key.as_str(), &r.resolution))
        .collect();
    assert_eq!(fates.len(), 3, "{fates:?}");
    assert_eq!(fates[0], ("a-applied", &Resolution::Applied));
    assert!(
        matches!(fates[1], ("b-never-sent", Resolution::Reversed(a)) if a.status == ReversalStatus::UnknownAuthorization),
        "{fates:?}"
    );
    assert!(
        matches!(fates[2], ("c-undecidable", Resolution::Open(_))),
        "{fates:?}"
    );
    let open: Vec<String> = journal
        .pending()?
        .into_iter()
        .map(|e| e.idempotency_key)
        .collect();
    assert_eq!(open, ["c-undecidable", "d-other-card"]);
    assert_eq!(account_balance(&h), test_cards::DEBIT.balance_fen - 500);
    Ok(())
}

#[tokio::test]
async fn a_terminal_that_cannot_journal_does_not_go_online() -> TestResult {
    let h = start().await?;
    let dir = tempfile::tempdir()?;
    let journal = ReversalJournal::open(dir.path().join("pos"))?;
    std::fs::remove_dir_all(dir.path().join("pos"))?;
    let mut terminal = terminal(&h).with_journal(journal);
    let mut card = card(CardCrypto::Tdes, 1_000);
    let outcome = terminal.load(&mut card, AMOUNT).await;
    assert!(
        matches!(outcome.result, Err(TapError::Journal(_))),
        "{:?}",
        outcome.result
    );
    assert_eq!(
        account_balance(&h),
        test_cards::DEBIT.balance_fen,
        "not debited"
    );
    assert_eq!(card.balance(), Some(1_000));
    Ok(())
}
