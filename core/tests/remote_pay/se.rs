//! SE mode: the card's payment applet signs after the PIN (SM2 and ECDSA P-256 profiles).

use crate::helpers::*;
use crate::support;
use mock_backend::bank::test_cards::{self, TestCard};
use mock_backend::se_sim::SimulatedSeTransport;
use mock_backend::MockWorld;
use std::sync::Arc;
use std::time::Duration;
use wallet_core::backend::api::remote::AuthMode;
use wallet_core::ota::AgentConfig;
use wallet_core::remote::{PayAuth, RemotePayError};
use wallet_core::se::ReaderKind;
use wallet_core::{Wallet, WalletConfig};

/// Binds `card` on a phone with simulated SEs and opens it in `kind`; returns the wallet, the
/// binding and the card's SE id.
async fn phone_with_card(
    world: &MockWorld,
    card: &TestCard,
    kind: ReaderKind,
) -> (Wallet, String, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let se = Arc::new(SimulatedSeTransport::open(dir.path().join("se")).unwrap());
    let wallet = Wallet::open(
        WalletConfig::new(dir.path().join("wallet"), world.url()),
        None,
    )
    .unwrap()
    .with_secure_elements(se)
    .with_ota_config(AgentConfig {
        allow_http: true,
        max_delay: Duration::from_millis(5),
        retry_window: Duration::from_secs(2),
        retry_backoff: Duration::from_millis(20),
        ..AgentConfig::default()
    });
    let binding = bind(&wallet, world.url(), card).await;
    let opened = wallet
        .open_card(&binding, Some(kind), 0, None)
        .await
        .unwrap();
    (wallet, binding, opened.se_id, dir)
}

fn se_auth(se_id: &str, pin: &str) -> PayAuth {
    PayAuth::Se {
        se_id: se_id.into(),
        pin: pin.into(),
    }
}

#[tokio::test]
async fn se_mode_pays_with_the_applet_key_after_the_pin() {
    let world = support::mock_world().await;
    // SM4 profile (SM2 signature) in the eSE, 3DES profile (ECDSA P-256) in the SIM.
    for (card, kind) in [
        (test_cards::DEBIT, ReaderKind::Ese),
        (test_cards::CREDIT, ReaderKind::Sim),
    ] {
        let (wallet, binding, se_id, _dir) = phone_with_card(&world, &card, kind).await;
        let before = balance(&world, &card);
        let order = create_order(world.url(), 4_321, None).await;

        let err = pay_error(
            wallet
                .pay_order(&binding, &order.order_id, se_auth(&se_id, "999999"))
                .await
                .unwrap_err(),
        );
        assert!(
            matches!(err, RemotePayError::PinWrong { attempts_left } if attempts_left > 0),
            "{err:?}"
        );
        let err = pay_error(
            wallet
                .pay_order(&binding, &order.order_id, se_auth(&se_id, "12"))
                .await
                .unwrap_err(),
        );
        assert!(matches!(err, RemotePayError::InvalidPin), "{err:?}");
        let err = pay_error(
            wallet
                .pay_order(
                    &binding,
                    &order.order_id,
                    se_auth("no-such-se", test_cards::TEST_PIN),
                )
                .await
                .unwrap_err(),
        );
        assert!(matches!(err, RemotePayError::NoSeCard), "{err:?}");
        assert_eq!(balance(&world, &card), before);

        let payment = wallet
            .pay_order(
                &binding,
                &order.order_id,
                se_auth(&se_id, test_cards::TEST_PIN),
            )
            .await
            .unwrap();
        assert_eq!(payment.auth, AuthMode::Se);
        assert_eq!(balance(&world, &card), before - 4_321, "{card:?}");
    }
}

#[tokio::test]
async fn se_mode_needs_secure_elements() {
    let world = support::mock_world().await;
    let (wallet, _dir) = support::wallet(world.url());
    let binding = bind(&wallet, world.url(), &test_cards::DEBIT).await;
    let order = create_order(world.url(), 100, None).await;
    let err = pay_error(
        wallet
            .pay_order(&binding, &order.order_id, se_auth("se", "123456"))
            .await
            .unwrap_err(),
    );
    assert!(matches!(err, RemotePayError::SeUnavailable), "{err:?}");
}
