//! A platform signer outside the core holds the device key; a key changed behind the bank's
//! back is rejected.

use crate::helpers::*;
use crate::support;
use mock_backend::bank::test_cards;
use std::sync::Arc;
use wallet_core::crypto::ecdsa::P256SigningKey;
use wallet_core::remote::RemotePayError;
use wallet_core::signer::{Signer, SignerError};
use wallet_core::{Wallet, WalletConfig};

/// A platform signer written outside the core (as the Kotlin / Swift shells do), counting its
/// signatures; `rotate` replaces a key behind the bank's back.
#[derive(Debug, Default)]
struct PlatformSigner {
    keys: std::sync::Mutex<std::collections::HashMap<String, P256SigningKey>>,
    signatures: std::sync::atomic::AtomicUsize,
}

impl Signer for PlatformSigner {
    fn generate_key(&self, alias: &str) -> Result<Vec<u8>, SignerError> {
        let key = P256SigningKey::generate().map_err(|e| SignerError::Platform(e.to_string()))?;
        let public = key.public_key_sec1();
        self.keys.lock().unwrap().insert(alias.to_owned(), key);
        Ok(public)
    }
    fn public_key(&self, alias: &str) -> Result<Option<Vec<u8>>, SignerError> {
        Ok(self
            .keys
            .lock()
            .unwrap()
            .get(alias)
            .map(|k| k.public_key_sec1()))
    }
    fn sign(&self, alias: &str, message: &[u8]) -> Result<Vec<u8>, SignerError> {
        self.signatures
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let keys = self.keys.lock().unwrap();
        let key = keys.get(alias).ok_or(SignerError::KeyNotFound)?;
        key.sign(message)
            .map_err(|e| SignerError::Platform(e.to_string()))
    }
    fn delete_key(&self, alias: &str) -> Result<(), SignerError> {
        self.keys.lock().unwrap().remove(alias);
        Ok(())
    }
}

#[tokio::test]
async fn a_platform_signer_holds_the_device_key_and_a_wrong_key_is_rejected() {
    let world = support::mock_world().await;
    let dir = tempfile::tempdir().unwrap();
    let signer = Arc::new(PlatformSigner::default());
    let wallet = Wallet::open_with_signer(
        WalletConfig::new(dir.path(), world.url()),
        None,
        Some(signer.clone()),
    )
    .unwrap();
    let card = test_cards::DEBIT;
    let binding = bind(&wallet, world.url(), &card).await;
    // The bank registered the platform's key.
    let registered = world
        .state()
        .bank()
        .binding_account(&binding)
        .unwrap()
        .unwrap()
        .device_public_key;
    let aliases: Vec<String> = signer.keys.lock().unwrap().keys().cloned().collect();
    assert_eq!(aliases.len(), 1);
    assert_eq!(signer.public_key(&aliases[0]).unwrap(), Some(registered));

    wallet
        .set_payment_password(&binding, PASSWORD)
        .await
        .unwrap();
    let before = balance(&world, &card);
    let order = create_order(world.url(), 600, None).await;
    let signed = signer.signatures.load(std::sync::atomic::Ordering::SeqCst);
    wallet
        .pay_order(&binding, &order.order_id, password(PASSWORD))
        .await
        .unwrap();
    assert_eq!(
        signer.signatures.load(std::sync::atomic::Ordering::SeqCst),
        signed + 1,
        "the payment message was signed by the platform signer"
    );
    assert_eq!(balance(&world, &card), before - 600);

    // A second binding gets its own key; unbinding it deletes that key from the platform.
    let credit = bind(&wallet, world.url(), &test_cards::CREDIT).await;
    assert_eq!(signer.keys.lock().unwrap().len(), 2);
    wallet.unbind(&credit).await.unwrap();
    let left: Vec<String> = signer.keys.lock().unwrap().keys().cloned().collect();
    assert_eq!(left, aliases);

    // The key changes behind the bank's back: the RPS rejects the signature, nothing is debited.
    signer.generate_key(&aliases[0]).unwrap();
    let order = create_order(world.url(), 700, None).await;
    let err = pay_error(
        wallet
            .pay_order(&binding, &order.order_id, password(PASSWORD))
            .await
            .unwrap_err(),
    );
    assert!(matches!(err, RemotePayError::SignatureRejected), "{err:?}");
    assert_eq!(balance(&world, &card), before - 600);
}
