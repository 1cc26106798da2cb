//! Air card opening end to end: the wallet orders, the TSM (mock backend) answers with a GP SERAM
//! session whose SCP03/SCP02 script the wallet relays to the simulated SE; then the card's life
//! cycle. Every SE kind, every topology, and an interruption after every APDU.

mod support;

use mock_backend::bank::test_cards::{self, TestCard};
use mock_backend::se_sim::SimulatedSeTransport;
use mock_backend::{MockWorld, MockWorldConfig};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wallet_core::backend::api::tsm::Topology;
use wallet_core::ota::{AgentConfig, OtaListener, OtaProgress};
use wallet_core::se::{ChannelOpened, ReaderInfo, ReaderKind, SeError, SeTransport};
use wallet_core::tsm::{CardError, CardState};
use wallet_core::{Wallet, WalletConfig, WalletError};

/// Fast polling for tests.
fn agent_config() -> AgentConfig {
    AgentConfig {
        allow_http: true,
        max_delay: Duration::from_millis(5),
        retry_window: Duration::from_secs(2),
        retry_backoff: Duration::from_millis(20),
        ..AgentConfig::default()
    }
}

struct Phone {
    wallet: Wallet,
    se: Arc<SimulatedSeTransport>,
    binding_id: String,
    _dir: tempfile::TempDir,
}

/// A wallet with simulated SEs (`transport` wraps them), with `card` bound.
async fn phone_with(
    world: &MockWorld,
    card: &TestCard,
    transport: impl FnOnce(Arc<SimulatedSeTransport>) -> Arc<dyn SeTransport>,
) -> Phone {
    let dir = tempfile::tempdir().unwrap();
    let se = Arc::new(SimulatedSeTransport::open(dir.path().join("se")).unwrap());
    let wallet = Wallet::open(
        WalletConfig::new(dir.path().join("wallet"), world.url()),
        None,
    )
    .unwrap()
    .with_secure_elements(transport(se.clone()))
    .with_ota_config(agent_config());
    let binding = support::bind_test_card(&wallet, world.url(), card).await;
    Phone {
        wallet,
        se,
        binding_id: binding.binding_id,
        _dir: dir,
    }
}

async fn phone(world: &MockWorld, card: &TestCard) -> Phone {
    phone_with(world, card, |se| se).await
}

/// Instances of the payment application (AIDs under the UnionPay RID) in the SE of `kind`.
fn payment_instances(se: &SimulatedSeTransport, kind: ReaderKind) -> Vec<(String, String)> {
    let card = se.se(kind);
    let card = card.lock().unwrap();
    card.registry()
        .entries
        .iter()
        .filter(|e| {
            e.aid
                .as_bytes()
                .starts_with(&[0xA0, 0x00, 0x00, 0x03, 0x33, 0x01, 0x01])
        })
        .map(|e| {
            (
                hex::encode_upper(e.aid.as_bytes()),
                format!("{:?}", e.life_cycle),
            )
        })
        .collect()
}

fn card_error(e: WalletError) -> CardError {
    match e {
        WalletError::Card(c) => c,
        other => panic!("expected a card error, got {other:?}"),
    }
}

#[derive(Default)]
struct Recorder(Mutex<Vec<u8>>);

impl OtaListener for Recorder {
    fn on_progress(&self, progress: OtaProgress) {
        self.0.lock().unwrap().push(progress.percent);
    }
    fn on_notification(&self, _: String) {}
}

#[tokio::test]
async fn open_a_debit_card_in_the_ese_then_lock_unlock_and_delete_it() {
    let world = support::mock_world().await;
    let p = phone(&world, &test_cards::DEBIT).await;
    let progress = Arc::new(Recorder::default());

    let card = p
        .wallet
        .open_card(
            &p.binding_id,
            Some(ReaderKind::Ese),
            10_000,
            Some(progress.clone()),
        )
        .await
        .unwrap();
    assert_eq!(card.state, CardState::Active);
    assert_eq!(card.reader, "eSE1");
    assert_eq!(card.instance_aid, "A000000333010101");
    assert_eq!(card.se_id, p.se.se_id(ReaderKind::Ese));
    assert!(
        card.last_round_trips <= 3,
        "{} HTTP round trips",
        card.last_round_trips
    );
    let percents = progress.0.lock().unwrap().clone();
    assert_eq!(percents.last(), Some(&100));
    assert!(
        percents.windows(2).all(|w| w[0] <= w[1]),
        "progress went backwards: {percents:?}"
    );

    // The SE really holds one personalised, selectable instance with the loaded e-cash.
    assert_eq!(payment_instances(&p.se, ReaderKind::Ese).len(), 1);
    assert_eq!(
        p.wallet
            .ecash_balance(&p.binding_id, &card.se_id)
            .await
            .unwrap(),
        10_000
    );
    assert_eq!(p.wallet.cards_in_se().unwrap(), vec![card.clone()]);

    // Opening again is refused: never two instances.
    let err = card_error(
        p.wallet
            .open_card(&p.binding_id, Some(ReaderKind::Ese), 0, None)
            .await
            .unwrap_err(),
    );
    assert!(matches!(err, CardError::CardExists), "{err:?}");

    let locked = p
        .wallet
        .lock_card(&p.binding_id, &card.se_id)
        .await
        .unwrap();
    assert_eq!(locked.state, CardState::Locked);
    let err = card_error(
        p.wallet
            .ecash_balance(&p.binding_id, &card.se_id)
            .await
            .unwrap_err(),
    );
    assert!(matches!(err, CardError::InvalidState(_)), "{err:?}");
    let unlocked = p
        .wallet
        .unlock_card(&p.binding_id, &card.se_id)
        .await
        .unwrap();
    assert_eq!(unlocked.state, CardState::Active);
    let status = p
        .wallet
        .card_status(&p.binding_id, &card.se_id)
        .await
        .unwrap();
    assert_eq!(
        (status.state, status.ecash_balance),
        (CardState::Active, Some(10_000))
    );

    let deleted = p
        .wallet
        .delete_card(&p.binding_id, &card.se_id)
        .await
        .unwrap();
    assert_eq!(deleted.state, CardState::Deleted);
    assert!(payment_instances(&p.se, ReaderKind::Ese).is_empty());
    // The card's e-cash went back to the account with it: as before the opening.
    assert_eq!(
        (deleted.ecash_refunded, deleted.ecash_balance),
        (Some(10_000), None)
    );
    let account = world.state().bank().account(test_cards::DEBIT.pan).unwrap();
    assert_eq!(
        account.map(|a| a.balance_fen),
        Some(test_cards::DEBIT.balance_fen)
    );
}

#[tokio::test]
async fn each_se_kind_opens_a_card() {
    let world = support::mock_world().await;
    for (kind, reader) in [(ReaderKind::Sim, "SIM1"), (ReaderKind::Sd, "SD1")] {
        let p = phone(&world, &test_cards::CREDIT).await;
        let card = p
            .wallet
            .open_card(&p.binding_id, Some(kind), 5_000, None)
            .await
            .unwrap();
        assert_eq!(
            (card.state, card.reader.as_str()),
            (CardState::Active, reader)
        );
        assert_eq!(card.instance_aid, "A000000333010102");
        assert_eq!(payment_instances(&p.se, kind).len(), 1);
        assert_eq!(
            p.wallet
                .ecash_balance(&p.binding_id, &card.se_id)
                .await
                .unwrap(),
            5_000
        );
    }
}

#[tokio::test]
async fn the_preference_falls_back_and_no_se_means_hce() {
    let world = support::mock_world().await;
    let p = phone(&world, &test_cards::QUASI_CREDIT).await;
    p.se.set_present(ReaderKind::Ese, false);
    let card = p
        .wallet
        .open_card(&p.binding_id, Some(ReaderKind::Ese), 0, None)
        .await
        .unwrap();
    assert_eq!(card.reader, "SIM1", "eSE absent: SIM is next");

    let q = phone(&world, &test_cards::LATIN_NAME_DEBIT).await;
    for kind in [ReaderKind::Ese, ReaderKind::Sim, ReaderKind::Sd] {
        q.se.set_present(kind, false);
    }
    let err = card_error(
        q.wallet
            .open_card(&q.binding_id, None, 0, None)
            .await
            .unwrap_err(),
    );
    assert!(matches!(err, CardError::NoSecureElement), "{err:?}");
}

#[tokio::test]
async fn every_topology_opens_a_card() {
    for topology in [Topology::Direct, Topology::Convergence, Topology::Mtps] {
        let world = MockWorld::start(MockWorldConfig {
            topology,
            ..MockWorldConfig::default()
        })
        .await
        .unwrap();
        let p = phone(&world, &test_cards::DEBIT).await;
        let card = p
            .wallet
            .open_card(&p.binding_id, None, 1_000, None)
            .await
            .unwrap();
        assert_eq!(card.state, CardState::Active, "{topology:?}");
        assert_eq!(
            p.wallet
                .ecash_balance(&p.binding_id, &card.se_id)
                .await
                .unwrap(),
            1_000
        );
    }
}

/// A transport that fails every APDU from the `fail_at`-th on (counting from 0) while armed.
struct Interrupting {
    inner: Arc<SimulatedSeTransport>,
    sent: AtomicUsize,
    fail_at: AtomicUsize,
}

impl SeTransport for Interrupting {
    fn readers(&self) -> Result<Vec<ReaderInfo>, SeError> {
        self.inner.readers()
    }
    fn open_session(&self, reader: String) -> Result<u64, SeError> {
        self.inner.open_session(reader)
    }
    fn open_logical_channel(
        &self,
        s: u64,
        aid: Option<Vec<u8>>,
        p2: u8,
    ) -> Result<ChannelOpened, SeError> {
        self.inner.open_logical_channel(s, aid, p2)
    }
    fn open_basic_channel(
        &self,
        s: u64,
        aid: Option<Vec<u8>>,
        p2: u8,
    ) -> Result<ChannelOpened, SeError> {
        self.inner.open_basic_channel(s, aid, p2)
    }
    fn transmit(&self, channel: u64, apdu: Vec<u8>) -> Result<Vec<u8>, SeError> {
        if self.sent.fetch_add(1, Ordering::SeqCst) >= self.fail_at.load(Ordering::SeqCst) {
            return Err(SeError::Io {
                message: "SE removed (test interruption)".into(),
            });
        }
        self.inner.transmit(channel, apdu)
    }
    fn close_channel(&self, channel: u64) -> Result<(), SeError> {
        self.inner.close_channel(channel)
    }
    fn close_session(&self, session: u64) -> Result<(), SeError> {
        self.inner.close_session(session)
    }
}

#[tokio::test]
async fn an_opening_interrupted_after_any_apdu_converges_when_run_again() {
    let world = support::mock_world().await;
    let mut fail_at = 0;
    loop {
        let holder: Arc<Mutex<Option<Arc<Interrupting>>>> = Arc::new(Mutex::new(None));
        let h = holder.clone();
        let p = phone_with(&world, &test_cards::DEBIT, move |se| {
            let t = Arc::new(Interrupting {
                inner: se,
                sent: AtomicUsize::new(0),
                fail_at: AtomicUsize::new(fail_at),
            });
            *h.lock().unwrap() = Some(t.clone());
            t
        })
        .await;
        let transport = holder.lock().unwrap().clone().unwrap();
        let first = p
            .wallet
            .open_card(&p.binding_id, Some(ReaderKind::Ese), 2_000, None)
            .await;
        let apdus = transport.sent.load(Ordering::SeqCst);
        if let Ok(card) = first {
            // No interruption reached: every APDU index has been tried.
            assert_eq!(card.state, CardState::Active);
            assert!(
                fail_at > 5,
                "too few APDUs to have tested anything: {fail_at}"
            );
            eprintln!("interrupted and re-ran card opening at each of {fail_at} APDU indexes");
            break;
        }
        // Interrupted: never reported active, never more than one instance.
        let cards = p.wallet.cards_in_se().unwrap();
        assert!(
            cards.iter().all(|c| c.state != CardState::Active),
            "after APDU {fail_at}: {cards:?}"
        );
        assert!(
            payment_instances(&p.se, ReaderKind::Ese).len() <= 1,
            "after APDU {fail_at}"
        );

        // Run again without interruption: it converges.
        transport.fail_at.store(usize::MAX, Ordering::SeqCst);
        let card = p
            .wallet
            .open_card(&p.binding_id, Some(ReaderKind::Ese), 2_000, None)
            .await
            .unwrap_or_else(|e| {
                panic!("re-run after an interruption at APDU {fail_at} failed: {e}")
            });
        assert_eq!(card.state, CardState::Active, "after APDU {fail_at}");
        let instances = payment_instances(&p.se, ReaderKind::Ese);
        assert_eq!(instances.len(), 1, "after APDU {fail_at}: {instances:?}");
        assert_eq!(
            p.wallet
                .ecash_balance(&p.binding_id, &card.se_id)
                .await
                .unwrap(),
            2_000,
            "after APDU {fail_at}"
        );
        assert!(apdus > fail_at);
        fail_at += 1;
    }
}
