//! The acquiring side end to end: a card application issued in the test taps the POS terminal,
//! which authorises online through acquirer → issuer → clearing over HTTP, or approves offline
//! after fDDA and uploads the advice. Checked independently: the ARPC recomputed here from the
//! test issuer master key and accepted by the card itself (EXTERNAL AUTHENTICATE), the bank's
//! balances, the clearing batch's totals against the amounts approved in the test, both crypto
//! profiles.

mod common;

use common::{expect_error, ok_json, start, Harness, TestResult};
use mock_backend::bank::test_cards;
use mock_backend::issuer::{KeySource, PanMap, PanSource, ResolvedPan};
use mock_backend::pos::{
    AcquirerLink, CardIoError, ContactlessCard, CryptogramType, Decision, DeclineReason,
    IssuerAuthentication, Redaction, TapOutcome, Terminal, TerminalConfig, Transaction,
    TransactionType,
};
use std::sync::Arc;
use wallet_core::backend::api::acquiring::{
    AuthorizationRequest, AuthorizationResponse, OfflineAdviceRequest, OfflineAdviceResponse,
    ResponseCode, PATH_AUTHORIZATIONS, PATH_OFFLINE_ADVICES,
};
use wallet_core::backend::api::clearing::{ClearingBatch, ClearingChannel, PATH_CLEARING_BATCHES};
use wallet_core::backend::api::AccountKind;
use wallet_core::card::keys::{arpc_method_1, derive_icc_master_key, SessionKey};
use wallet_core::card::test_issuer::{issue_test_card, test_issuer_master_keys, TEST_IMK_AC};
use wallet_core::card::{
    aids, CardApplication, CardContext, CardCounters, CardCrypto, CardPersonalization, CardProfile,
    ECashParams, MemoryCounterStore,
};

const PROFILES: [CardCrypto; 2] = [CardCrypto::Tdes, CardCrypto::Sm4];

/// A card application in the field: the terminal talks to it APDU by APDU.
struct Card {
    app: CardApplication,
    store: MemoryCounterStore,
}

impl ContactlessCard for Card {
    fn transceive(&mut self, c_apdu: &[u8]) -> Result<Vec<u8>, CardIoError> {
        Ok(self
            .app
            .process(c_apdu, &mut CardContext::new(&mut self.store)))
    }
}

fn perso(pan: &str, psn: u8, crypto: CardCrypto, ecash: Option<u64>) -> CardPersonalization {
    CardPersonalization {
        account_kind: AccountKind::Debit,
        pan: pan.into(),
        pan_sequence: psn,
        expiry: "301231".into(),
        crypto,
        currency: 156,
        country: 156,
        keys: test_issuer_master_keys()
            .derive_card_keys(crypto, pan, psn)
            .expect("keys"),
        ecash: ecash.map(|balance| ECashParams {
            balance,
            balance_limit: 100_000,
            single_transaction_limit: 50_000,
        }),
    }
}

fn card_from(profile: CardProfile) -> Card {
    let counters = CardCounters::initial(&profile.perso);
    Card {
        app: CardApplication::new(profile, counters).expect("card application"),
        store: MemoryCounterStore::default(),
    }
}

/// A card of the test issuer (keys from the test IMKs, fDDA chain to the test CA).
fn card(pan: &str, crypto: CardCrypto, ecash: Option<u64>) -> Card {
    card_from(issue_test_card(perso(pan, 1, crypto, ecash)).expect("test card"))
}

fn terminal(h: &Harness) -> Terminal {
    let config = TerminalConfig {
        issuer_authentication: true,
        ..TerminalConfig::default()
    };
    terminal_with(h, config)
}

fn terminal_with(h: &Harness, config: TerminalConfig) -> Terminal {
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

async fn purchase(t: &mut Terminal, card: &mut Card, amount: u64) -> TapOutcome {
    t.tap(card, amount, TransactionType::Purchase).await
}

/// The ARPC the issuer must return, recomputed here from the test IMK-AC.
fn expected_arpc(crypto: CardCrypto, pan: &str, atc: u16, arqc: &str, arc: &[u8; 2]) -> String {
    let mk = derive_icc_master_key(crypto, &TEST_IMK_AC, pan, 1).expect("MK-AC");
    let key = SessionKey::derive(crypto, &mk, atc).expect("session key");
    let arqc: [u8; 8] = hex::decode(arqc).expect("hex").try_into().expect("8 bytes");
    hex::encode_upper(arpc_method_1(&key, &arqc, arc).expect("ARPC"))
}

fn authorization(outcome: &TapOutcome) -> &AuthorizationResponse {
    outcome
        .transaction()
        .and_then(|t| t.authorization.as_ref())
        .unwrap_or_else(|| panic!("no authorisation: {:?}", outcome.result))
}

#[tokio::test]
async fn online_approval_with_arpc_in_both_profiles() -> TestResult {
    for crypto in PROFILES {
        let h = start().await?;
        let pan = test_cards::DEBIT.pan;
        let mut card = card(pan, crypto, None);
        let mut t = terminal(&h);
        let outcome = purchase(&mut t, &mut card, 12_345).await;
        let tx = outcome.transaction().expect("transaction");
        assert_eq!(tx.decision, Decision::ApprovedOnline, "{crypto:?}");
        assert_eq!(tx.cryptogram_type, CryptogramType::Arqc);
        assert_eq!((tx.atc, tx.aid.as_slice()), (1, &aids::DEBIT[..]));
        assert_eq!(tx.masked_pan, "622202******7894");
        let auth = authorization(&outcome);
        assert_eq!(auth.response_code, ResponseCode::Approved);
        assert!(auth.approval_code.as_ref().is_some_and(|c| c.len() == 6));
        let arpc = expected_arpc(crypto, pan, 1, &tx.card_data.cryptogram, b"00");
        assert_eq!(auth.arpc.as_deref(), Some(arpc.as_str()));
        // The card itself accepts the issuer's ARPC.
        assert_eq!(tx.issuer_authentication, Some(IssuerAuthentication::Passed));
        assert_eq!(balance(&h, pan), test_cards::DEBIT.balance_fen - 12_345);
        // The trace: every exchange, the PAN masked throughout.
        let steps: Vec<&str> = outcome.trace.entries().iter().map(|e| e.step).collect();
        assert_eq!(
            steps,
            [
                "SELECT PPSE",
                "SELECT AID",
                "GET PROCESSING OPTIONS",
                "READ RECORD",
                "READ RECORD",
                "READ RECORD",
                "EXTERNAL AUTHENTICATE"
            ]
        );
        let text = outcome.trace.to_text();
        assert!(
            !text.contains(pan) && text.contains("622202******7894"),
            "{text}"
        );
        h.world.shutdown().await;
    }
    Ok(())
}

#[tokio::test]
async fn replayed_and_stale_arqcs_are_declined() -> TestResult {
    let h = start().await?;
    let pan = test_cards::DEBIT.pan;
    let mut card = card(pan, CardCrypto::Sm4, None);
    let mut t = terminal(&h);
    let first = purchase(&mut t, &mut card, 1_000).await;
    assert!(first.is_approved(), "{:?}", first.result);
    let tx = first.transaction().expect("transaction");
    let request = AuthorizationRequest {
        terminal_id: "POS00001".into(),
        merchant_id: test_merchant(),
        terminal_type: "22".into(),
        transaction: tx.card_data.clone(),
        ecash_load: None,
    };
    // The same ARQC again under a new idempotency key: a replay, declined, nothing debited.
    let again: AuthorizationResponse = ok_json(
        h.post(PATH_AUTHORIZATIONS, &request, Some("replay-1"))
            .await?,
    )
    .await?;
    assert!(!again.approved);
    assert_eq!(again.response_code, ResponseCode::Duplicate);
    let arpc = expected_arpc(CardCrypto::Sm4, pan, 1, &tx.card_data.cryptogram, b"94");
    assert_eq!(
        again.arpc.as_deref(),
        Some(arpc.as_str()),
        "ARPC over ARC 94"
    );
    assert_eq!(balance(&h, pan), test_cards::DEBIT.balance_fen - 1_000);
    // The same key again answers the first answer, without running it again.
    let replayed = h
        .post(PATH_AUTHORIZATIONS, &request, Some("replay-1"))
        .await?;
    assert_eq!(
        replayed
            .headers()
            .get("Idempotent-Replayed")
            .map(|v| v.as_bytes()),
        Some(&b"true"[..])
    );
    let replayed: AuthorizationResponse = ok_json(replayed).await?;
    assert_eq!(replayed, again);

    // A stale ARQC: ATC 2 authorised elsewhere first, ATC 3 here, then ATC 2 arrives here.
    let other = start().await?;
    let elsewhere = purchase(&mut terminal(&other), &mut card, 500).await;
    assert!(elsewhere.is_approved(), "{:?}", elsewhere.result);
    let newer = purchase(&mut t, &mut card, 700).await;
    assert_eq!(newer.transaction().map(|t| t.atc), Some(3));
    assert!(newer.is_approved());
    let stale = AuthorizationRequest {
        transaction: elsewhere.transaction().expect("tx").card_data.clone(),
        ecash_load: None,
        ..request
    };
    let answer: AuthorizationResponse =
        ok_json(h.post(PATH_AUTHORIZATIONS, &stale, Some("stale-1")).await?).await?;
    assert_eq!(answer.response_code, ResponseCode::Duplicate);
    assert!(
        answer.message.contains("last online ATC 3"),
        "{}",
        answer.message
    );
    assert_eq!(balance(&h, pan), test_cards::DEBIT.balance_fen - 1_700);
    other.world.shutdown().await;
    h.world.shutdown().await;
    Ok(())
}

fn test_merchant() -> String {
    mock_backend::acquirer::merchants::CONVENIENCE_STORE
        .id
        .into()
}

#[tokio::test]
async fn wrong_cryptograms_are_declined_without_arpc() -> TestResult {
    let h = start().await?;
    let pan = test_cards::CREDIT.pan;
    // A card whose keys are not the test issuer's: its ARQC cannot verify.
    let mut foreign = perso(pan, 1, CardCrypto::Tdes, None);
    foreign.keys = test_issuer_master_keys()
        .derive_card_keys(CardCrypto::Tdes, test_cards::DEBIT.pan, 1)
        .expect("keys");
    let mut impostor = card_from(CardProfile::new(foreign));
    let mut t = terminal(&h);
    let outcome = purchase(&mut t, &mut impostor, 3_000).await;
    let tx = outcome.transaction().expect("transaction");
    assert_eq!(
        tx.decision,
        Decision::Declined(DeclineReason::Issuer {
            code: ResponseCode::CryptogramFailure,
            message: "the application cryptogram does not verify".into()
        })
    );
    assert_eq!(authorization(&outcome).arpc, None);
    assert_eq!(tx.issuer_authentication, None, "no ARPC to send");
    // A genuine ARQC with one bit flipped on the way.
    let mut genuine = card(pan, CardCrypto::Tdes, None);
    let ok = purchase(&mut t, &mut genuine, 100).await;
    assert!(
        ok.is_approved(),
        "the garbage did not burn ATC 1: {:?}",
        ok.result
    );
    let mut data = ok.transaction().expect("tx").card_data.clone();
    data.atc = 2;
    let request = AuthorizationRequest {
        terminal_id: "POS00001".into(),
        merchant_id: test_merchant(),
        terminal_type: "22".into(),
        transaction: data,
        ecash_load: None,
    };
    let answer: AuthorizationResponse = ok_json(
        h.post(PATH_AUTHORIZATIONS, &request, Some("tampered"))
            .await?,
    )
    .await?;
    assert_eq!(
        (answer.approved, answer.response_code.as_str()),
        (false, "63")
    );
    assert_eq!(balance(&h, pan), test_cards::CREDIT.balance_fen - 100);
    h.world.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn insufficient_funds_unknown_and_blocked_cards_are_declined() -> TestResult {
    let h = start().await?;
    let mut t = terminal(&h);
    let qc = test_cards::QUASI_CREDIT;
    let mut card_qc = card(qc.pan, CardCrypto::Sm4, None);
    let outcome = purchase(&mut t, &mut card_qc, 250_000).await;
    let tx = outcome.transaction().expect("transaction");
    assert_eq!(
        authorization(&outcome).response_code,
        ResponseCode::InsufficientFunds
    );
    assert!(!tx.is_approved());
    // The ARPC carries the decline (ARC "51") and the card accepts it.
    let arpc = expected_arpc(CardCrypto::Sm4, qc.pan, 1, &tx.card_data.cryptogram, b"51");
    assert_eq!(authorization(&outcome).arpc.as_deref(), Some(arpc.as_str()));
    assert_eq!(tx.issuer_authentication, Some(IssuerAuthentication::Passed));
    assert_eq!(balance(&h, qc.pan), qc.balance_fen);
    // Exactly the balance passes.
    let all = u64::try_from(qc.balance_fen)?;
    assert!(purchase(&mut t, &mut card_qc, all).await.is_approved());
    assert_eq!(balance(&h, qc.pan), 0);

    let code_of = |o: &TapOutcome| authorization(o).response_code.clone();
    let mut unknown = card(test_cards::UNKNOWN_PAN, CardCrypto::Sm4, None);
    assert_eq!(
        code_of(&purchase(&mut t, &mut unknown, 100).await),
        ResponseCode::InvalidCardNumber
    );
    let mut blocked = card(test_cards::BLOCKED.pan, CardCrypto::Sm4, None);
    assert_eq!(
        code_of(&purchase(&mut t, &mut blocked, 100).await),
        ResponseCode::RestrictedCard
    );
    let mut stranger = terminal_with(
        &h,
        TerminalConfig {
            merchant_id: "999999999999999".into(),
            ..TerminalConfig::default()
        },
    );
    let mut debit = card(test_cards::DEBIT.pan, CardCrypto::Sm4, None);
    assert_eq!(
        code_of(&purchase(&mut stranger, &mut debit, 100).await),
        ResponseCode::InvalidMerchant
    );
    h.world.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn offline_ecash_with_fdda_then_advice_in_both_profiles() -> TestResult {
    for crypto in PROFILES {
        let h = start().await?;
        let pan = test_cards::DEBIT.pan;
        let mut card = card(pan, crypto, Some(10_000));
        let mut t = terminal(&h);
        let outcome = purchase(&mut t, &mut card, 2_500).await;
        let tx = outcome.transaction().expect("transaction").clone();
        assert_eq!(tx.decision, Decision::ApprovedOffline, "{crypto:?}");
        assert_eq!(tx.cryptogram_type, CryptogramType::Tc);
        assert!(tx.fdda_verified);
        assert_eq!(tx.available_offline, Some(7_500));
        assert_eq!(tx.authorization, None);
        assert_eq!(t.pending_advices().len(), 1);
        let answers = t.upload_advices().await?;
        assert!(t.pending_advices().is_empty());
        let [advice] = answers.as_slice() else {
            panic!("one advice: {answers:?}");
        };
        assert!(advice.accepted, "{advice:?}");
        let date = advice.clearing_date.clone().expect("clearing date");
        let batch: ClearingBatch =
            ok_json(h.get(&format!("{PATH_CLEARING_BATCHES}/{date}")).await?).await?;
        assert_eq!(batch.transactions.len(), 1);
        let entry = &batch.transactions[0];
        assert_eq!(
            (entry.channel, entry.amount, entry.atc),
            (ClearingChannel::PosOffline, 2_500, 1)
        );
        assert_eq!(entry.masked_pan, "622202******7894");
        let state = h.world.state().issuer().card_state(pan, 1)?;
        assert_eq!((state.ecash_spent, state.offline_count), (2_500, 1));
        assert_eq!(
            balance(&h, pan),
            test_cards::DEBIT.balance_fen,
            "e-cash was prepaid"
        );
        // The same advice again (new key): a duplicate TC; a tampered TC: refused.
        let pending = advice_of(&tx);
        let dup: OfflineAdviceResponse =
            ok_json(h.post(PATH_OFFLINE_ADVICES, &pending, Some("dup")).await?).await?;
        assert_eq!(
            (dup.accepted, dup.response_code),
            (false, ResponseCode::Duplicate)
        );
        let mut forged = pending.clone();
        forged.transaction.amount_authorised = 250;
        forged.transaction.atc = 9;
        let forged: OfflineAdviceResponse = ok_json(
            h.post(PATH_OFFLINE_ADVICES, &forged, Some("forged"))
                .await?,
        )
        .await?;
        assert_eq!(forged.response_code, ResponseCode::CryptogramFailure);
        h.world.shutdown().await;
    }
    Ok(())
}

/// The advice a terminal uploads for `tx`.
fn advice_of(tx: &Transaction) -> OfflineAdviceRequest {
    OfflineAdviceRequest {
        terminal_id: "POS00001".into(),
        merchant_id: test_merchant(),
        terminal_type: "22".into(),
        fdda_verified: true,
        transaction: tx.card_data.clone(),
    }
}

#[tokio::test]
async fn fdda_failure_declines_and_ecash_app_is_preferred_for_small_amounts() -> TestResult {
    let h = start().await?;
    // A terminal that trusts no CA cannot authenticate the card offline.
    let mut untrusting = terminal_with(
        &h,
        TerminalConfig {
            trusted_cas: Vec::new(),
            ..TerminalConfig::default()
        },
    );
    let mut debit = card(test_cards::DEBIT.pan, CardCrypto::Sm4, Some(10_000));
    let outcome = purchase(&mut untrusting, &mut debit, 100).await;
    assert!(matches!(
        outcome.transaction().map(|t| &t.decision),
        Some(Decision::Declined(
            DeclineReason::OfflineDataAuthentication(_)
        ))
    ));
    assert!(untrusting.pending_advices().is_empty());
    // Preferring e-cash up to ¥10: the e-cash application is selected for ¥1, not for ¥20
    // (above the floor limit, so the account application goes online).
    let mut t = terminal_with(
        &h,
        TerminalConfig {
            prefer_ecash_up_to: Some(1_000),
            floor_limit: 1_000,
            ..TerminalConfig::default()
        },
    );
    let small = purchase(&mut t, &mut debit, 100).await;
    let tx = small.transaction().expect("tx");
    assert_eq!(
        (tx.aid.as_slice(), &tx.decision),
        (&aids::E_CASH[..], &Decision::ApprovedOffline)
    );
    let large = purchase(&mut t, &mut debit, 2_000).await;
    let tx = large.transaction().expect("tx");
    assert_eq!(
        (tx.aid.as_slice(), &tx.decision),
        (&aids::DEBIT[..], &Decision::ApprovedOnline)
    );
    h.world.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn clearing_totals_are_the_sum_of_approved_transactions() -> TestResult {
    let h = start().await?;
    let mut t = terminal(&h);
    let debit = card(test_cards::DEBIT.pan, CardCrypto::Sm4, Some(5_000));
    let credit = card(test_cards::CREDIT.pan, CardCrypto::Tdes, None);
    let poor = card(test_cards::E_CASH.pan, CardCrypto::Sm4, None);
    // Device PANs map to accounts through a registered resolver.
    let device_pan = "6288881234567897";
    let map = Arc::new(PanMap::new());
    map.insert(
        device_pan,
        ResolvedPan {
            account_pan: test_cards::CREDIT.pan.into(),
            source: PanSource::DevicePan,
            crypto: Some(CardCrypto::Sm4),
            keys: KeySource::TestIssuer,
            online_allowed: true,
        },
    );
    h.world.state().issuer().register(map);
    let device = card(device_pan, CardCrypto::Sm4, None);
    let mut cards = [debit, credit, poor, device];

    let mut approved = Vec::new();
    for (index, amount) in [
        (0, 60_000u64), // debit, online (above the floor limit)
        (1, 8_800),     // credit, online
        (0, 1_200),     // debit, offline e-cash
        (2, 60_000),    // declined: 51
        (3, 4_321),     // device PAN → credit account
        (1, 99),
    ] {
        let outcome = purchase(&mut t, &mut cards[index], amount).await;
        if outcome.is_approved() {
            approved.push(amount);
        }
    }
    assert_eq!(approved, [60_000, 8_800, 1_200, 4_321, 99]);
    let advices = t.upload_advices().await?;
    assert!(advices.iter().all(|a| a.accepted));
    assert_eq!(
        balance(&h, test_cards::CREDIT.pan),
        test_cards::CREDIT.balance_fen - 8_800 - 4_321 - 99,
        "the device PAN drew on the credit account"
    );

    let date = advices[0].clearing_date.clone().expect("date");
    let batch: ClearingBatch =
        ok_json(h.get(&format!("{PATH_CLEARING_BATCHES}/{date}")).await?).await?;
    let sum: u64 = approved.iter().sum();
    assert_eq!((batch.count, batch.amount), (5, sum));
    let totals: Vec<(&str, u64, u64, i64)> = batch
        .totals
        .iter()
        .map(|t| (t.institution_id.as_str(), t.receivable, t.payable, t.net))
        .collect();
    let to_i64 = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    assert_eq!(
        totals,
        [
            ("48020000", sum, 0, to_i64(sum)),
            ("622202", 0, 61_200, -61_200),
            ("625965", 0, 13_220, -13_220),
        ]
    );
    assert_eq!(batch.totals.iter().map(|t| t.net).sum::<i64>(), 0);
    expect_error(
        h.get(&format!("{PATH_CLEARING_BATCHES}/2025-02-30"))
            .await?,
        400,
        "BAD_REQUEST",
    )
    .await?;
    h.world.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn malformed_requests_and_unredacted_traces() -> TestResult {
    let h = start().await?;
    let mut debit = card(test_cards::DEBIT.pan, CardCrypto::Sm4, None);
    let mut t = terminal_with(
        &h,
        TerminalConfig {
            redaction: Redaction::None,
            ..TerminalConfig::default()
        },
    );
    let outcome = purchase(&mut t, &mut debit, 100).await;
    assert!(
        outcome.trace.to_text().contains(test_cards::DEBIT.pan),
        "bench trace keeps the PAN"
    );
    let mut request = AuthorizationRequest {
        terminal_id: "POS00001".into(),
        merchant_id: test_merchant(),
        terminal_type: "22".into(),
        transaction: outcome.transaction().expect("tx").card_data.clone(),
        ecash_load: None,
    };
    request.transaction.cryptogram = "00".into();
    expect_error(
        h.post(PATH_AUTHORIZATIONS, &request, Some("bad")).await?,
        400,
        "BAD_REQUEST",
    )
    .await?;
    request.terminal_id = "POS 1".into();
    expect_error(
        h.post(PATH_AUTHORIZATIONS, &request, None).await?,
        400,
        "BAD_REQUEST",
    )
    .await?;
    h.world.shutdown().await;
    Ok(())
}

/// An HCE token's ARQC (limited-use key 1) authorised through the acquirer: the issuer asks
/// the token service, which checks and counts the key use; the ARPC is over that key's session
/// key; the bound account pays.
#[tokio::test]
async fn hce_token_authorisation_goes_through_the_token_service() -> TestResult {
    use wallet_core::backend::api::hce::{HceCardProvisioned, HceCardRequest, PATH_HCE_CARDS};
    use wallet_core::card::keys::{application_cryptogram, CryptogramData};
    use wallet_core::crypto::ecdsa::P256SigningKey;
    use wallet_core::hce::luk::IssuerView;

    let h = start().await?;
    let key = P256SigningKey::generate()?;
    let binding = h.bind(&test_cards::DEBIT, &key).await?;
    let mut request = HceCardRequest {
        binding_id: binding.binding_id.clone(),
        keys: 2,
        timestamp: h.now(),
        nonce: "a0c1".into(),
        signature: String::new(),
    };
    request.signature = hex::encode(key.sign(&request.signing_message())?);
    let card: HceCardProvisioned = ok_json(h.post(PATH_HCE_CARDS, &request, None).await?).await?;
    let token = card.profile.token_pan.clone();

    let mut txn = hce_purchase(&token);
    let data: CryptogramData = txn.cryptogram_data()?;
    let session = IssuerView::session_key(
        &test_issuer_master_keys(),
        CardCrypto::Sm4,
        &token,
        1,
        1,
        txn.atc,
    )?;
    let arqc = application_cryptogram(&session, &data.encode())?;
    txn.cryptogram = hex::encode_upper(arqc);
    let request = AuthorizationRequest {
        terminal_id: "POS00001".into(),
        merchant_id: test_merchant(),
        terminal_type: "22".into(),
        transaction: txn,
        ecash_load: None,
    };
    let answer: AuthorizationResponse =
        ok_json(h.post(PATH_AUTHORIZATIONS, &request, Some("hce-1")).await?).await?;
    assert_eq!(
        answer.response_code,
        ResponseCode::Approved,
        "{}",
        answer.message
    );
    let arpc = arpc_method_1(&session, &arqc, b"00")?;
    assert_eq!(answer.arpc, Some(hex::encode_upper(arpc)));
    assert_eq!(
        balance(&h, test_cards::DEBIT.pan),
        test_cards::DEBIT.balance_fen - 2_000
    );
    let again: AuthorizationResponse =
        ok_json(h.post(PATH_AUTHORIZATIONS, &request, Some("hce-2")).await?).await?;
    assert_eq!(
        again.response_code,
        ResponseCode::Duplicate,
        "{}",
        again.message
    );
    h.world.shutdown().await;
    Ok(())
}

/// The card data of an HCE purchase of ¥20.00 at ATC 1 with limited-use key 1 (SM4).
fn hce_purchase(token: &str) -> wallet_core::backend::api::acquiring::IccTransaction {
    wallet_core::backend::api::acquiring::IccTransaction {
        pan: token.into(),
        pan_sequence: 1,
        aid: "A000000333010101".into(),
        amount_authorised: 2_000,
        amount_other: 0,
        terminal_country: 156,
        currency: 156,
        transaction_date: "250314".into(),
        transaction_type: "00".into(),
        tvr: "0000000000".into(),
        unpredictable_number: "01020304".into(),
        ttq: "26004080".into(),
        aip: "0400".into(),
        atc: 1,
        iad: "07010103A0000004".into(),
        cryptogram: "0000000000000000".into(),
        cid: "80".into(),
        ctq: None,
    }
}
