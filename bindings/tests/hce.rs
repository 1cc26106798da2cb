//! Host card emulation through the facade: the mock POS terminal (`MockTerminal`, test hooks)
//! taps a `TappableCard` implemented outside the library — as the Kotlin, Swift and Python tests
//! do — that hands every command APDU to `Wallet::process_apdu`.
#![cfg(feature = "test-hooks")]

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use mock_backend::{MockWorld, MockWorldConfig};
use wallet_core::backend::api::SmsOutbox;
use wallet_ffi::{
    AccountKind, MockTerminal, SeReaderKind, SimulatedSecureElements, TapDecision, TappableCard,
    TappableCardError, Wallet, WalletConfig, WalletFfiError,
};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Test card `DEBIT` of the mock bank (mock-backend/src/bank/test_cards.rs).
const PAN: &str = "6222021234567894";
const NAME: &str = "张三";
const ID: &str = "110101199003071233";
const PHONE: &str = "13800138000";

/// SELECT of the PPSE, `2PAY.SYS.DDF01` (EMV Book B), with Le.
const SELECT_PPSE: [u8; 20] = [
    0x00, 0xA4, 0x04, 0x00, 0x0E, b'2', b'P', b'A', b'Y', b'.', b'S', b'Y', b'S', b'.', b'D', b'D',
    b'F', b'0', b'1', 0x00,
];

/// The phone in the field: what Android's `HostApduService` does with each command.
struct Phone {
    wallet: Arc<Wallet>,
    apdus: AtomicU32,
}

impl TappableCard for Phone {
    fn transceive(&self, apdu: Vec<u8>) -> Result<Vec<u8>, TappableCardError> {
        self.apdus.fetch_add(1, Ordering::Relaxed);
        Ok(self.wallet.process_apdu(apdu))
    }
}

fn open_wallet(dir: &tempfile::TempDir, url: &str) -> Result<Arc<Wallet>, WalletFfiError> {
    Wallet::open(
        WalletConfig {
            data_dir: dir.path().join("wallet").to_string_lossy().into_owned(),
            backend_url: url.to_owned(),
            request_timeout_ms: 5_000,
            max_retries: 0,
            ota_max_delay_ms: Some(5),
        },
        None,
        None,
    )
}

async fn bind(wallet: &Wallet, url: &str) -> Result<String, Box<dyn std::error::Error>> {
    let pending = wallet
        .begin_binding(PAN.into(), NAME.into(), ID.into(), PHONE.into())
        .await?;
    let outbox: SmsOutbox = reqwest::get(format!("{url}/test/sms/outbox?phone={PHONE}"))
        .await?
        .error_for_status()?
        .json()
        .await?;
    let code = outbox.messages.last().ok_or("no SMS")?.code.clone();
    Ok(wallet
        .confirm_binding(pending.session_id, code)
        .await?
        .binding_id)
}

#[tokio::test]
async fn hce_card_pays_online_through_a_foreign_card() -> TestResult {
    let world = MockWorld::start(MockWorldConfig::default()).await?;
    let dir = tempfile::tempdir()?;
    let wallet = open_wallet(&dir, world.url())?;

    // No HCE card yet: the responder does not know the PPSE.
    assert_eq!(wallet.process_apdu(SELECT_PPSE.to_vec()), vec![0x6A, 0x82]);
    assert!(wallet.hce_cards()?.is_empty());

    let binding_id = bind(&wallet, world.url()).await?;
    let missing = wallet.replenish_keys(binding_id.clone()).await;
    assert!(
        matches!(missing, Err(WalletFfiError::Card { ref code, .. }) if code == "hce_card_not_found"),
        "{missing:?}"
    );
    let card = wallet.open_hce_card(binding_id.clone()).await?;
    assert_eq!(card.binding_id, binding_id);
    assert_eq!(card.account_kind, AccountKind::Debit);
    assert!(card.is_default && card.usable_keys > 0);
    assert!(!card.masked_token_pan.contains("1234567894"));
    assert_eq!(wallet.hce_cards()?, vec![card.clone()]);

    let terminal = MockTerminal::new(world.url().to_owned())?;
    let phone = Arc::new(Phone {
        wallet: wallet.clone(),
        apdus: AtomicU32::new(0),
    });
    let first = terminal.tap(phone.clone(), 2_345).await;
    wallet.on_deactivated(0);
    assert!(first.approved, "{first:?}");
    assert_eq!(first.decision, TapDecision::ApprovedOnline);
    assert_eq!(first.cryptogram_type.as_deref(), Some("arqc"));
    assert_eq!(
        first.masked_pan.as_deref(),
        Some(card.masked_token_pan.as_str())
    );
    assert_eq!(phone.apdus.load(Ordering::Relaxed), first.apdus);
    assert!(first.apdus >= 3, "SELECT PPSE, SELECT AID, GPO at least");

    let second = terminal.tap(phone.clone(), 2_345).await;
    wallet.on_deactivated(1);
    assert_eq!(second.decision, TapDecision::ApprovedOnline, "{second:?}");
    let (Some(atc1), Some(atc2)) = (first.atc, second.atc) else {
        return Err(format!("no ATC: {first:?} {second:?}").into());
    };
    assert!(atc2 > atc1, "ATC {atc1} then {atc2}");
    assert_eq!(wallet.hce_cards()?.first().map(|c| c.atc), Some(atc2));
    Ok(())
}

#[tokio::test]
async fn the_terminal_taps_the_card_in_a_simulated_se() -> TestResult {
    let world = MockWorld::start(MockWorldConfig::default()).await?;
    let dir = tempfile::tempdir()?;
    let wallet = open_wallet(&dir, world.url())?;
    let binding_id = bind(&wallet, world.url()).await?;
    let ses = SimulatedSecureElements::open(dir.path().join("se").to_string_lossy().into_owned())?;
    wallet.attach_secure_elements(ses.clone());
    let card = wallet
        .open_card(binding_id, Some(SeReaderKind::Ese), 0, None)
        .await?;

    let terminal = MockTerminal::new(world.url().to_owned())?;
    let result = terminal
        .tap_simulated_se(ses.clone(), SeReaderKind::Ese, 2_345)
        .await;
    assert!(result.approved, "{result:?}");
    assert_eq!(result.masked_pan.as_deref(), Some(card.masked_pan.as_str()));
    // The SIM has no card: nothing in common with the terminal.
    let empty = terminal
        .tap_simulated_se(ses, SeReaderKind::Sim, 2_345)
        .await;
    assert_eq!(empty.decision, TapDecision::Failed, "{empty:?}");
    Ok(())
}
