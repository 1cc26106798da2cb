//! Card opening through the facade's FFI types against the in-process mock world: a
//! `SecureElementTransport` implemented outside the core (as Kotlin or Swift would) over the SE
//! simulator, one whose calls fail, and the life cycle of the card.

use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use mock_backend::se_sim::SimulatedSeTransport;
use mock_backend::{MockWorld, MockWorldConfig};
use wallet_core::backend::api::SmsOutbox;
use wallet_core::se::{ReaderKind, SeTransport};
use wallet_ffi::{
    CardListenerError, CardOpeningListener, CardOpeningProgress, CardOpeningStage, CardState,
    SeChannelOpened, SeFfiError, SeReaderInfo, SeReaderKind, SecureElementTransport, Wallet,
    WalletConfig, WalletFfiError,
};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Test card `DEBIT` of the mock bank (mock-backend/src/bank/test_cards.rs).
const PAN: &str = "6222021234567894";
const NAME: &str = "张三";
const ID: &str = "110101199003071233";
const PHONE: &str = "13800138000";

/// Instance AID of the payment application the mock TSM installs for the debit card.
const DEBIT_INSTANCE_AID: &str = "A000000333010101";

/// Which APDUs [`PlatformTransport::transmit`] throws on.
const THROW_NONE: u8 = 0;
/// Every APDU throws.
const THROW_ALL: u8 = 1;
/// Every APDU but GET DATA (INS `CA`, how the SE names itself) throws: the TSM's script fails.
const THROW_SCRIPT: u8 = 2;

/// A platform-style transport: the simulator behind the FFI trait, counting APDUs; `transmit`
/// fails as `throwing` says, the way an undeclared Kotlin exception arrives (an unexpected
/// callback error).
struct PlatformTransport {
    sim: Arc<SimulatedSeTransport>,
    apdus: AtomicUsize,
    throwing: AtomicU8,
}

impl PlatformTransport {
    fn new(sim: Arc<SimulatedSeTransport>) -> Arc<Self> {
        Arc::new(Self {
            sim,
            apdus: AtomicUsize::new(0),
            throwing: AtomicU8::new(THROW_NONE),
        })
    }
}

impl SecureElementTransport for PlatformTransport {
    fn readers(&self) -> Result<Vec<SeReaderInfo>, SeFfiError> {
        // Names only: the facade derives the kind from the OMAPI reader name.
        Ok(self
            .sim
            .readers()?
            .into_iter()
            .map(|r| SeReaderInfo {
                name: r.name,
                kind: None,
                present: r.present,
            })
            .collect())
    }
    fn open_session(&self, reader: String) -> Result<u64, SeFfiError> {
        Ok(self.sim.open_session(reader)?)
    }
    fn open_logical_channel(
        &self,
        session: u64,
        aid: Option<Vec<u8>>,
        p2: u8,
    ) -> Result<SeChannelOpened, SeFfiError> {
        Ok(self.sim.open_logical_channel(session, aid, p2)?.into())
    }
    fn open_basic_channel(
        &self,
        session: u64,
        aid: Option<Vec<u8>>,
        p2: u8,
    ) -> Result<SeChannelOpened, SeFfiError> {
        Ok(self.sim.open_basic_channel(session, aid, p2)?.into())
    }
    fn transmit(&self, channel: u64, apdu: Vec<u8>) -> Result<Vec<u8>, SeFfiError> {
        self.apdus.fetch_add(1, Ordering::SeqCst);
        let throws = match self.throwing.load(Ordering::SeqCst) {
            THROW_ALL => true,
            THROW_SCRIPT => apdu.get(1) != Some(&0xCA),
            _ => false,
        };
        if throws {
            return Err(uniffi::UnexpectedUniFFICallbackError::new(
                "java.io.IOException: SE service died",
            )
            .into());
        }
        Ok(self.sim.transmit(channel, apdu)?)
    }
    fn close_channel(&self, channel: u64) -> Result<(), SeFfiError> {
        Ok(self.sim.close_channel(channel)?)
    }
    fn close_session(&self, session: u64) -> Result<(), SeFfiError> {
        Ok(self.sim.close_session(session)?)
    }
}

/// Records the progress reports.
#[derive(Default)]
struct Recorder(Mutex<Vec<CardOpeningProgress>>);

impl Recorder {
    fn reports(&self) -> Vec<CardOpeningProgress> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl CardOpeningListener for Recorder {
    fn on_progress(&self, progress: CardOpeningProgress) -> Result<(), CardListenerError> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(progress);
        Ok(())
    }
}

async fn world() -> Result<MockWorld, Box<dyn std::error::Error>> {
    Ok(MockWorld::start(MockWorldConfig::default()).await?)
}

/// A wallet in `dir` with fast TSM polling, and the debit test card bound to it.
async fn bound_wallet(
    dir: &tempfile::TempDir,
    url: &str,
) -> Result<(Arc<Wallet>, String), Box<dyn std::error::Error>> {
    let wallet = Wallet::open(
        WalletConfig {
            data_dir: dir.path().join("wallet").to_string_lossy().into_owned(),
            backend_url: url.to_owned(),
            request_timeout_ms: 5_000,
            max_retries: 0,
            ota_max_delay_ms: Some(5),
        },
        None,
        None,
    )?;
    let pending = wallet
        .begin_binding(PAN.into(), NAME.into(), ID.into(), PHONE.into())
        .await?;
    let outbox: SmsOutbox = reqwest::get(format!("{url}/test/sms/outbox?phone={PHONE}"))
        .await?
        .error_for_status()?
        .json()
        .await?;
    let code = outbox.messages.last().ok_or("no SMS")?.code.clone();
    let binding = wallet.confirm_binding(pending.session_id, code).await?;
    Ok((wallet, binding.binding_id))
}

fn card_code<T: std::fmt::Debug>(result: Result<T, WalletFfiError>) -> String {
    match result {
        Err(WalletFfiError::Card { code, .. }) => code,
        other => format!("not a card error: {other:?}"),
    }
}

#[tokio::test]
async fn open_lock_unlock_delete_through_a_platform_transport() -> TestResult {
    let world = world().await?;
    let dir = tempfile::tempdir()?;
    let (wallet, binding_id) = bound_wallet(&dir, world.url()).await?;

    // Without secure elements: no cards, and opening is the typed "use HCE" error.
    assert!(wallet.cards_in_se()?.is_empty());
    let none = wallet.open_card(binding_id.clone(), None, 0, None).await;
    assert_eq!(card_code(none), "no_secure_element");

    let sim = Arc::new(SimulatedSeTransport::open(dir.path().join("se"))?);
    let transport = PlatformTransport::new(sim.clone());
    wallet.attach_secure_elements(transport.clone());
    let progress = Arc::new(Recorder::default());
    let card = wallet
        .open_card(
            binding_id.clone(),
            Some(SeReaderKind::Ese),
            10_000,
            Some(progress.clone()),
        )
        .await?;
    assert_eq!(card.state, CardState::Active);
    assert_eq!(
        (card.reader.as_str(), card.reader_kind),
        ("eSE1", Some(SeReaderKind::Ese))
    );
    assert_eq!(card.instance_aid, DEBIT_INSTANCE_AID);
    assert_eq!(card.se_id, sim.se_id(ReaderKind::Ese));
    assert!(card.masked_pan.contains('*'), "{}", card.masked_pan);
    assert!(transport.apdus.load(Ordering::SeqCst) > 5);

    let reports = progress.reports();
    let percents: Vec<u8> = reports.iter().map(|p| p.percent).collect();
    assert!(
        percents.windows(2).all(|w| w[0] <= w[1]),
        "progress went back: {percents:?}"
    );
    let last = reports.last().ok_or("no progress")?;
    assert_eq!(
        (last.stage, last.percent),
        (CardOpeningStage::Completed, 100)
    );
    assert_eq!(
        reports.first().map(|p| p.stage),
        Some(CardOpeningStage::Handshake)
    );

    assert_eq!(
        wallet
            .ecash_balance(binding_id.clone(), card.se_id.clone())
            .await?,
        10_000
    );
    let listed = wallet.cards_in_se()?;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed.first().map(|c| c.ecash_balance), Some(Some(10_000)));
    let again = wallet
        .open_card(binding_id.clone(), Some(SeReaderKind::Ese), 0, None)
        .await;
    assert_eq!(card_code(again), "card_exists");

    let locked = wallet
        .lock_card(binding_id.clone(), card.se_id.clone())
        .await?;
    assert_eq!(locked.state, CardState::Locked);
    let refused = wallet
        .ecash_balance(binding_id.clone(), card.se_id.clone())
        .await;
    assert_eq!(card_code(refused), "invalid_state");
    let unlocked = wallet
        .unlock_card(binding_id.clone(), card.se_id.clone())
        .await?;
    assert_eq!(unlocked.state, CardState::Active);
    let status = wallet
        .card_status(binding_id.clone(), card.se_id.clone())
        .await?;
    assert_eq!(
        (status.state, status.ecash_balance),
        (CardState::Active, Some(10_000))
    );
    let deleted = wallet
        .delete_card(binding_id.clone(), card.se_id.clone())
        .await?;
    assert_eq!(deleted.state, CardState::Deleted);
    let unknown = wallet.lock_card(binding_id, "no-such-se".into()).await;
    assert_eq!(card_code(unknown), "card_not_found");
    drop(wallet);
    world.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn absent_secure_elements_and_failing_transports_are_typed_errors() -> TestResult {
    let world = world().await?;
    let dir = tempfile::tempdir()?;
    let (wallet, binding_id) = bound_wallet(&dir, world.url()).await?;
    let sim = Arc::new(SimulatedSeTransport::open(dir.path().join("se"))?);
    let transport = PlatformTransport::new(sim.clone());
    wallet.attach_secure_elements(transport.clone());

    for kind in [ReaderKind::Ese, ReaderKind::Sim, ReaderKind::Sd] {
        sim.set_present(kind, false);
    }
    let absent = wallet.open_card(binding_id.clone(), None, 0, None).await;
    assert_eq!(card_code(absent), "no_secure_element");

    // Every APDU throws: the SE cannot even name itself, and the TSM refuses to manage it.
    sim.set_present(ReaderKind::Ese, true);
    transport.throwing.store(THROW_ALL, Ordering::SeqCst);
    let unidentified = wallet
        .open_card(binding_id.clone(), Some(SeReaderKind::Ese), 1_000, None)
        .await;
    assert_eq!(card_code(unidentified), "unknown_se");

    // The SE names itself, then every command of the TSM's script throws: the local agent
    // reports the failure and the TSM fails the order. Never reported active.
    transport.throwing.store(THROW_SCRIPT, Ordering::SeqCst);
    let failed = wallet
        .open_card(binding_id.clone(), Some(SeReaderKind::Ese), 1_000, None)
        .await;
    assert_eq!(
        card_code(failed.clone()),
        "local_agent_failure",
        "{failed:?}"
    );
    // Both attempts left `opening` records (one under the reader name the unidentified SE
    // fell back to); none is active.
    let cards = wallet.cards_in_se()?;
    assert!(
        cards.iter().all(|c| c.state == CardState::Opening),
        "{cards:?}"
    );

    // The same wallet recovers once the transport works again: one active card.
    transport.throwing.store(THROW_NONE, Ordering::SeqCst);
    let card = wallet
        .open_card(binding_id.clone(), Some(SeReaderKind::Ese), 1_000, None)
        .await?;
    assert_eq!(card.state, CardState::Active);
    assert_eq!(card.se_id, sim.se_id(ReaderKind::Ese));
    let active = wallet.cards_in_se()?;
    assert_eq!(
        active
            .iter()
            .filter(|c| c.state == CardState::Active)
            .count(),
        1
    );
    assert_eq!(wallet.ecash_balance(binding_id, card.se_id).await?, 1_000);
    drop(wallet);
    world.shutdown().await;
    Ok(())
}

#[cfg(feature = "test-hooks")]
#[tokio::test]
async fn the_simulated_secure_elements_hook_opens_a_card() -> TestResult {
    use wallet_ffi::SimulatedSecureElements;

    let world = world().await?;
    let dir = tempfile::tempdir()?;
    let (wallet, binding_id) = bound_wallet(&dir, world.url()).await?;
    let sim = SimulatedSecureElements::open(dir.path().join("se").to_string_lossy().into_owned())?;
    sim.set_present(SeReaderKind::Ese, false);
    assert!(!sim.is_present(SeReaderKind::Ese));
    wallet.attach_secure_elements(sim.clone());
    let card = wallet
        .open_card(binding_id, Some(SeReaderKind::Ese), 500, None)
        .await?;
    assert_eq!(card.reader, "SIM1", "eSE absent: SIM is next");
    assert_eq!(card.se_id, sim.se_id(SeReaderKind::Sim));
    drop(wallet);
    world.shutdown().await;
    Ok(())
}
