//! Host card emulation end to end against the in-process mock world: a wallet without an SE
//! provisions a token and limited-use keys, a terminal written here taps it through
//! `Wallet::process_apdu` (PPSE → SELECT → GPO with the PDOL data → READ RECORD per AFL), and the
//! ARQC is recomputed the issuer's way from the public test IMK-AC (token MK-AC → `LUK_i` →
//! session key of the ATC), independently of the wallet's state. Then the key rules: exhaustion,
//! expiry, all keys spent, restarts, replenishment (once, idempotent, in the background) and a
//! failing counter write.

mod support;

use mock_backend::bank::test_cards::{self, TestCard};
use mock_backend::fault_proxy::{Fault, FaultProxy, FaultRule};
use mock_backend::hce::{HceDecline, TOKEN_BIN};
use mock_backend::MockWorld;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use wallet_core::apdu::{tlv, CommandApdu, Dol, Occurrence, ResponseApdu, Tag};
use wallet_core::binding::validate::luhn_valid;
use wallet_core::card::app::PDOL;
use wallet_core::card::keys::{
    application_cryptogram, derive_icc_master_key, CryptogramData, SessionKey,
};
use wallet_core::card::perso::amount_n12;
use wallet_core::card::test_issuer::{test_issuer_master_keys, TEST_IMK_AC};
use wallet_core::card::{aids, CardCrypto, CounterStoreError};
use wallet_core::hce::luk::{luk_from_master_key, IssuerView, DEFAULT_TTL_SECS};
use wallet_core::hce::{DeactivationReason, HceConfig, HceError};
use wallet_core::tsm::CardError;
use wallet_core::{Wallet, WalletConfig, WalletError};

fn t(raw: u32) -> Tag {
    Tag::new(raw).unwrap()
}

/// A clock the test moves: system time plus an offset.
#[derive(Clone, Default)]
struct TestClock(Arc<AtomicU64>);

impl TestClock {
    fn advance(&self, seconds: u64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }
    fn config(&self, replenish_below: u32, batch_size: u32) -> HceConfig {
        let offset = self.0.clone();
        HceConfig {
            replenish_below,
            batch_size,
            clock: Arc::new(move || wallet_core::clock::unix_now() + offset.load(Ordering::SeqCst)),
            before_counter_write: None,
        }
    }
}

fn open_wallet(dir: &Path, url: &str, config: HceConfig, retries: u32) -> Wallet {
    let mut wallet_config = WalletConfig::new(dir, url);
    wallet_config.request_timeout = Duration::from_secs(5);
    wallet_config.max_retries = retries;
    Wallet::open(wallet_config, None)
        .unwrap()
        .with_hce_config(config)
}

/// A wallet (no SE) with `card` bound; returns it, its binding id and its directory.
async fn phone(
    world: &MockWorld,
    card: &TestCard,
    config: HceConfig,
) -> (Wallet, String, tempfile::TempDir) {
    phone_via(world, world.url(), card, config, 2).await
}

/// [`phone`] talking to the back end at `url` with `retries`.
async fn phone_via(
    world: &MockWorld,
    url: &str,
    card: &TestCard,
    config: HceConfig,
    retries: u32,
) -> (Wallet, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let wallet = open_wallet(dir.path(), url, config, retries);
    let binding = support::bind_test_card(&wallet, world.url(), card).await;
    (wallet, binding.binding_id, dir)
}

fn send(wallet: &Wallet, cmd: &CommandApdu) -> ResponseApdu {
    ResponseApdu::parse(&wallet.process_apdu(&cmd.to_bytes())).unwrap()
}

fn ok(wallet: &Wallet, cmd: &CommandApdu) -> Vec<u8> {
    let r = send(wallet, cmd);
    assert!(r.is_success(), "{cmd:?} → {:04X}", r.sw.0);
    r.data
}

/// What the terminal read.
struct Tap {
    gpo: Vec<u8>,
    records: Vec<Vec<u8>>,
    terminal: BTreeMap<Tag, Vec<u8>>,
}

impl Tap {
    fn get(&self, tag: u32) -> Vec<u8> {
        tlv::find(&self.gpo, t(tag))
            .unwrap()
            .unwrap_or_else(|| panic!("no {tag:X} in the GPO response"))
            .value()
            .to_vec()
    }
    fn record(&self, tag: u32) -> Vec<u8> {
        self.records
            .iter()
            .find_map(|r| tlv::find(r, t(tag)).unwrap().map(|v| v.value().to_vec()))
            .unwrap_or_else(|| panic!("no {tag:X} in the records"))
    }
    fn atc(&self) -> u16 {
        u16::from_be_bytes(self.get(0x9F36).try_into().unwrap())
    }
    fn key_index(&self) -> u8 {
        self.get(0x9F10)[1]
    }
    fn pan(&self) -> String {
        hex::encode_upper(self.record(0x5A))
            .trim_end_matches('F')
            .to_owned()
    }
    fn psn(&self) -> u8 {
        let bcd = self.record(0x5F34)[0];
        (bcd >> 4) * 10 + (bcd & 0x0F)
    }
    /// The data the ARQC covers, from the terminal's values and the card's answer.
    fn cryptogram_data(&self) -> CryptogramData {
        let term = |tag: Tag| self.terminal[&tag].clone();
        let iad = self.get(0x9F10);
        CryptogramData {
            amount_authorised: term(Tag::AMOUNT_AUTHORISED).try_into().unwrap(),
            amount_other: term(Tag::AMOUNT_OTHER).try_into().unwrap(),
            terminal_country: term(Tag::TERMINAL_COUNTRY_CODE).try_into().unwrap(),
            tvr: term(Tag::TVR).try_into().unwrap(),
            currency: term(Tag::TRANSACTION_CURRENCY_CODE).try_into().unwrap(),
            date: term(Tag::TRANSACTION_DATE).try_into().unwrap(),
            transaction_type: term(Tag::TRANSACTION_TYPE)[0],
            unpredictable_number: term(Tag::UNPREDICTABLE_NUMBER).try_into().unwrap(),
            aip: self.get(0x82).try_into().unwrap(),
            atc: self.atc(),
            cvr: iad[3..7].try_into().unwrap(),
        }
    }
}

/// A qPBOC terminal: PPSE, SELECT of the first application, GPO for `amount`, READ RECORDs.
/// `Err(sw)` when the GPO is refused.
fn tap(wallet: &Wallet, amount: u64) -> Result<Tap, u16> {
    let ppse = ok(
        wallet,
        &CommandApdu::select_by_name(aids::PPSE, Occurrence::First).unwrap(),
    );
    let entry = tlv::find(&ppse, Tag::APPLICATION_TEMPLATE)
        .unwrap()
        .unwrap();
    let aid = entry.child(Tag::AID).unwrap().unwrap().value().to_vec();
    let fci = ok(
        wallet,
        &CommandApdu::select_by_name(&aid, Occurrence::First).unwrap(),
    );
    let pdol_bytes = tlv::find(&fci, Tag::PDOL)
        .unwrap()
        .unwrap()
        .value()
        .to_vec();
    assert_eq!(pdol_bytes, PDOL, "the card asks for the documented PDOL");
    let pdol = Dol::parse(&pdol_bytes).unwrap();
    let mut terminal = BTreeMap::new();
    terminal.insert(Tag::TTQ, vec![0x26, 0x00, 0x00, 0x80]);
    terminal.insert(Tag::AMOUNT_AUTHORISED, amount_n12(amount).unwrap());
    terminal.insert(Tag::AMOUNT_OTHER, vec![0; 6]);
    terminal.insert(Tag::TERMINAL_COUNTRY_CODE, vec![0x01, 0x56]);
    terminal.insert(Tag::TVR, vec![0; 5]);
    terminal.insert(Tag::TRANSACTION_CURRENCY_CODE, vec![0x01, 0x56]);
    terminal.insert(Tag::TRANSACTION_DATE, vec![0x25, 0x03, 0x14]);
    terminal.insert(Tag::TRANSACTION_TYPE, vec![0x00]);
    terminal.insert(
        Tag::UNPREDICTABLE_NUMBER,
        wallet_core::crypto::random::bytes::<4>().unwrap().to_vec(),
    );
    terminal.insert(t(0x9F7A), vec![0x01]);
    let gpo_cmd = CommandApdu::get_processing_options(&pdol.build(&terminal)).unwrap();
    let gpo = send(wallet, &gpo_cmd);
    if !gpo.is_success() {
        return Err(gpo.sw.0);
    }
    let gpo = gpo.data;
    let afl = tlv::find(&gpo, Tag::AFL).unwrap().unwrap().value().to_vec();
    let mut records = Vec::new();
    for entry in afl.chunks(4) {
        for record in entry[1]..=entry[2] {
            records.push(ok(
                wallet,
                &CommandApdu::read_record(record, entry[0] >> 3).unwrap(),
            ));
        }
    }
    Ok(Tap {
        gpo,
        records,
        terminal,
    })
}

/// One whole tap (then the field goes away).
fn pay(wallet: &Wallet, amount: u64) -> Result<Tap, u16> {
    let result = tap(wallet, amount);
    wallet.on_deactivated(DeactivationReason::LinkLoss);
    result
}

/// The issuer's recomputation, step by step from the public test IMK-AC: token MK-AC, `LUK_i`
/// (`i` from `9F10`), session key of the ATC, ARQC. Returns the key index.
fn issuer_recomputes(tap: &Tap) -> u8 {
    assert_eq!(tap.get(0x9F27), [0x80], "an ARQC");
    let (pan, psn, index) = (tap.pan(), tap.psn(), tap.key_index());
    let mk = derive_icc_master_key(CardCrypto::Sm4, &TEST_IMK_AC, &pan, psn).unwrap();
    let luk = luk_from_master_key(CardCrypto::Sm4, &mk, index).unwrap();
    let session = SessionKey::derive(CardCrypto::Sm4, &luk, tap.atc()).unwrap();
    let data = tap.cryptogram_data();
    let arqc = application_cryptogram(&session, &data.encode()).unwrap();
    assert_eq!(tap.get(0x9F26), arqc, "ARQC recomputed by the issuer");
    let checked = IssuerView::verify_arqc(
        &test_issuer_master_keys(),
        CardCrypto::Sm4,
        &pan,
        psn,
        &tap.get(0x9F10),
        &data,
        &tap.get(0x9F26),
    )
    .unwrap();
    assert_eq!(checked, index);
    index
}

/// The default HCE card's (ATC, usable keys, transactions left).
fn card_state(wallet: &Wallet) -> (u16, u32, u32) {
    let cards = wallet.hce_cards().unwrap();
    let card = cards.iter().find(|c| c.is_default).unwrap();
    (card.atc, card.usable_keys, card.transactions_left)
}

#[tokio::test]
async fn hce_card_pays_online_with_an_arqc_the_issuer_recomputes() {
    let world = support::mock_world().await;
    let clock = TestClock::default();
    let (wallet, binding, _dir) = phone(&world, &test_cards::DEBIT, clock.config(0, 4)).await;

    // Without an SE, open_card does not fall back to HCE: the caller chooses.
    assert!(matches!(
        wallet.open_card(&binding, None, 0, None).await,
        Err(WalletError::Card(CardError::NoSecureElement))
    ));
    // No HCE card yet: the PPSE is not found.
    assert_eq!(
        wallet.process_apdu(
            &CommandApdu::select_by_name(aids::PPSE, Occurrence::First)
                .unwrap()
                .to_bytes()
        ),
        vec![0x6A, 0x82]
    );

    let info = wallet.open_hce_card(&binding).await.unwrap();
    assert!(info.masked_token_pan.starts_with(TOKEN_BIN));
    assert_eq!(
        (info.atc, info.usable_keys, info.transactions_left),
        (0, 4, 20)
    );
    assert!(info.is_default && !info.replenishment_pending);
    // Opening again answers the same card.
    assert_eq!(wallet.open_hce_card(&binding).await.unwrap(), info);

    let tap = pay(&wallet, 1_234).unwrap();
    let pan = tap.pan();
    assert!(pan.starts_with(TOKEN_BIN) && luhn_valid(&pan), "{pan}");
    assert_ne!(
        pan,
        test_cards::DEBIT.pan,
        "the card presents the token, never the account"
    );
    assert_eq!(tap.get(0x5F34), [0x01]);
    assert_eq!(tap.get(0x82), [0x04, 0x00], "online only: no DDA");
    assert_eq!(tap.atc(), 1);
    assert_eq!(issuer_recomputes(&tap), 1);

    // The token service resolves the token for the issuer and counts the key's use once.
    let hce = world.state().hce();
    let resolved = hce.resolve(&pan).unwrap().unwrap();
    assert_eq!(resolved.binding_id, binding);
    assert_eq!(resolved.account_pan, test_cards::DEBIT.pan);
    let now = world.state().clock().now();
    let (iad, data, arqc) = (tap.get(0x9F10), tap.cryptogram_data(), tap.get(0x9F26));
    let accepted = hce.check_arqc(&pan, 1, &iad, &data, &arqc, now).unwrap();
    assert_eq!((accepted.key_index, accepted.uses), (1, 1));
    assert_eq!(
        hce.check_arqc(&pan, 1, &iad, &data, &arqc, now),
        Err(HceDecline::Replayed)
    );
    let mut forged = arqc.clone();
    forged[7] ^= 1;
    let mut later = data;
    later.atc = 2;
    assert_eq!(
        hce.check_arqc(&pan, 1, &iad, &later, &forged, now),
        Err(HceDecline::BadCryptogram)
    );
    assert_eq!(hce.luk_status(&pan, 1).unwrap().unwrap().uses, 1);

    assert_eq!(card_state(&wallet), (1, 4, 19));
}

#[tokio::test]
async fn keys_serve_their_uses_then_the_next_and_none_left_declines_with_6985() {
    let world = support::mock_world().await;
    let clock = TestClock::default();
    let (wallet, binding, _dir) = phone(&world, &test_cards::CREDIT, clock.config(0, 2)).await;
    wallet.open_hce_card(&binding).await.unwrap();

    let mut indices = Vec::new();
    for expected_atc in 1..=10u16 {
        let tap = pay(&wallet, 500).unwrap();
        assert_eq!(tap.atc(), expected_atc);
        indices.push(issuer_recomputes(&tap));
    }
    assert_eq!(indices, [1, 1, 1, 1, 1, 2, 2, 2, 2, 2]);
    assert_eq!(card_state(&wallet), (10, 0, 0));

    // No usable key: the GPO is declined cleanly, nothing computed, nothing counted.
    assert_eq!(pay(&wallet, 500).err(), Some(0x6985));
    assert_eq!(pay(&wallet, 500).err(), Some(0x6985));
    assert_eq!(card_state(&wallet), (10, 0, 0));
}

#[tokio::test]
async fn an_expired_key_is_skipped_for_a_valid_one() {
    let world = support::mock_world().await;
    let clock = TestClock::default();
    let (wallet, binding, _dir) = phone(&world, &test_cards::DEBIT, clock.config(0, 2)).await;
    wallet.open_hce_card(&binding).await.unwrap();
    assert_eq!(pay(&wallet, 100).unwrap().key_index(), 1);

    // 20 h later (phone and back end alike) a replenishment brings keys 3 and 4.
    let twenty_hours = 20 * 3600;
    clock.advance(twenty_hours);
    world.state().clock().advance(twenty_hours).unwrap();
    let wallet = wallet.with_hce_config(clock.config(100, 2));
    let info = wallet.replenish_keys(&binding).await.unwrap();
    assert_eq!(info.usable_keys, 4);

    // Past the first keys' 24 h: keys 1 and 2 are skipped although key 1 has uses left.
    let five_hours = DEFAULT_TTL_SECS - twenty_hours + 3600;
    clock.advance(five_hours);
    world.state().clock().advance(five_hours).unwrap();
    let wallet = wallet.with_hce_config(clock.config(0, 2));
    assert_eq!(card_state(&wallet), (1, 2, 10));
    let tap = pay(&wallet, 100).unwrap();
    assert_eq!((tap.atc(), issuer_recomputes(&tap)), (2, 3));

    // The issuer refuses an expired key's cryptogram too.
    let hce = world.state().hce();
    let now = world.state().clock().now();
    let status = hce.luk_status(&tap.pan(), 1).unwrap().unwrap();
    assert!(status.expires_at < now && !status.usable(now));
    let mut iad = tap.get(0x9F10);
    iad[1] = 1;
    assert_eq!(
        hce.check_arqc(
            &tap.pan(),
            1,
            &iad,
            &tap.cryptogram_data(),
            &tap.get(0x9F26),
            now
        ),
        Err(HceDecline::KeyExpired)
    );
}

#[tokio::test]
async fn restarts_never_reuse_an_atc_or_a_spent_key() {
    let world = support::mock_world().await;
    let clock = TestClock::default();
    let (wallet, binding, dir) = phone(&world, &test_cards::DEBIT, clock.config(0, 2)).await;
    wallet.open_hce_card(&binding).await.unwrap();
    let mut seen = Vec::new();
    for _ in 0..4 {
        seen.push(pay(&wallet, 100).unwrap().atc());
    }
    // A GPO answered, then the process dies before the field is gone.
    let cut = tap(&wallet, 100).unwrap();
    seen.push(cut.atc());
    drop(wallet);

    let wallet = open_wallet(dir.path(), world.url(), clock.config(0, 2), 2);
    let tap = pay(&wallet, 100).unwrap();
    seen.push(tap.atc());
    assert_eq!(seen, [1, 2, 3, 4, 5, 6]);
    // Key 1 served five transactions before the restart: key 2 serves now.
    assert_eq!(issuer_recomputes(&tap), 2);
    drop(wallet);

    let wallet = open_wallet(dir.path(), world.url(), clock.config(0, 2), 2);
    assert_eq!(card_state(&wallet), (6, 1, 4));
    assert_eq!(pay(&wallet, 100).unwrap().atc(), 7);
}

#[tokio::test]
async fn replenishment_below_the_threshold_fetches_one_batch_once() {
    let world = support::mock_world().await;
    let clock = TestClock::default();
    let (wallet, binding, _dir) = phone(&world, &test_cards::DEBIT, clock.config(0, 4)).await;
    let info = wallet.open_hce_card(&binding).await.unwrap();
    for _ in 0..3 {
        pay(&wallet, 100).unwrap();
    }
    let issued = |world: &MockWorld| world.state().hce().keys_of(&info.token_id).unwrap().len();

    // Above the threshold: nothing is sent.
    let wallet = wallet.with_hce_config(clock.config(17, 4));
    assert_eq!(
        wallet
            .replenish_keys(&binding)
            .await
            .unwrap()
            .transactions_left,
        17
    );
    assert_eq!(issued(&world), 4);

    // Below it, two concurrent triggers: one request, one batch.
    let wallet = wallet.with_hce_config(clock.config(18, 4));
    let (a, b) = tokio::join!(
        wallet.replenish_keys(&binding),
        wallet.replenish_keys(&binding)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(issued(&world), 8);
    assert_eq!((a.usable_keys, a.transactions_left), (8, 37));
    assert_eq!(a, b);
    // And the new keys follow the old ones.
    for _ in 0..2 {
        pay(&wallet, 100).unwrap();
    }
    let tap = pay(&wallet, 100).unwrap();
    assert_eq!((tap.atc(), issuer_recomputes(&tap)), (6, 2));
}

#[tokio::test]
async fn taps_below_the_threshold_replenish_in_the_background_once() {
    let world = support::mock_world().await;
    let clock = TestClock::default();
    let (wallet, binding, _dir) = phone(&world, &test_cards::DEBIT, clock.config(17, 4)).await;
    let info = wallet.open_hce_card(&binding).await.unwrap();
    let issued = |world: &MockWorld| world.state().hce().keys_of(&info.token_id).unwrap().len();
    for _ in 0..3 {
        pay(&wallet, 100).unwrap();
    }
    assert_eq!(card_state(&wallet).2, 17);
    // The fourth tap leaves 16: the tap itself and its deactivation both trigger.
    pay(&wallet, 100).unwrap();
    for _ in 0..100 {
        if card_state(&wallet).1 == 8 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(card_state(&wallet), (4, 8, 36));
    for _ in 0..5 {
        pay(&wallet, 100).unwrap();
        wallet.on_deactivated(DeactivationReason::Deselected);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        issued(&world),
        8,
        "above the threshold again: no more requests"
    );
}

#[tokio::test]
async fn a_lost_replenishment_answer_is_fetched_again_with_the_same_request() {
    let world = support::mock_world().await;
    let proxy = FaultProxy::start(world.url()).await.expect("proxy starts");
    let clock = TestClock::default();
    // A wallet without automatic retries, behind a proxy that can lose answers.
    let (wallet, binding, dir) = phone_via(
        &world,
        proxy.url(),
        &test_cards::DEBIT,
        clock.config(100, 4),
        0,
    )
    .await;
    let info = wallet.open_hce_card(&binding).await.unwrap();

    proxy.inject(FaultRule::path("/hce/v1/cards/", Fault::LoseAnswer));
    assert!(matches!(
        wallet.replenish_keys(&binding).await,
        Err(WalletError::Hce(HceError::Backend(e))) if e.is_transient()
    ));
    let keys = world.state().hce().keys_of(&info.token_id).unwrap().len();
    assert_eq!(keys, 8, "the service issued the batch; its answer was lost");
    assert!(wallet.hce_cards().unwrap()[0].replenishment_pending);

    // The same request again (after a restart even): the service answers the first answer.
    drop(wallet);
    let wallet = open_wallet(dir.path(), proxy.url(), clock.config(0, 4), 0);
    let after = wallet.replenish_keys(&binding).await.unwrap();
    assert_eq!((after.usable_keys, after.replenishment_pending), (8, false));
    assert_eq!(
        world.state().hce().keys_of(&info.token_id).unwrap().len(),
        8
    );
    let lost = proxy.lost_answers().len();
    assert_eq!(lost, 1);
}

#[tokio::test]
async fn a_failed_counter_write_lets_no_cryptogram_out() {
    let world = support::mock_world().await;
    let clock = TestClock::default();
    let failing = Arc::new(AtomicBool::new(false));
    let flag = failing.clone();
    let mut config = clock.config(0, 2);
    config.before_counter_write = Some(Arc::new(move |_| {
        if flag.load(Ordering::SeqCst) {
            Err(CounterStoreError("disk full".into()))
        } else {
            Ok(())
        }
    }));
    let (wallet, binding, _dir) = phone(&world, &test_cards::DEBIT, config).await;
    wallet.open_hce_card(&binding).await.unwrap();
    assert_eq!(pay(&wallet, 100).unwrap().atc(), 1);

    failing.store(true, Ordering::SeqCst);
    assert_eq!(pay(&wallet, 100).err(), Some(0x6581));
    assert_eq!(card_state(&wallet), (1, 2, 9), "nothing counted");

    failing.store(false, Ordering::SeqCst);
    let tap = pay(&wallet, 100).unwrap();
    assert_eq!((tap.atc(), issuer_recomputes(&tap)), (2, 1));
}

#[tokio::test]
async fn e_cash_accounts_cannot_have_an_hce_card() {
    let world = support::mock_world().await;
    let (wallet, binding, _dir) = phone(
        &world,
        &test_cards::E_CASH,
        TestClock::default().config(0, 4),
    )
    .await;
    assert!(matches!(
        wallet.open_hce_card(&binding).await,
        Err(WalletError::Hce(HceError::NotEligible))
    ));
    assert!(wallet.hce_cards().unwrap().is_empty());
    assert!(matches!(
        wallet.replenish_keys(&binding).await,
        Err(WalletError::Hce(HceError::CardNotFound))
    ));
}
