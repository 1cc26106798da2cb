//! The zeroisation audit (`docs/security/zeroisation.md`) as tests.
//!
//! 1. Compile time: every type that holds a phone-side secret implements
//!    [`ZeroizeOnDrop`]; for composite types (a record with a secret field), the field's type
//!    does. Changing one of them to a plain `Vec` / `String` / array stops these tests compiling.
//! 2. Behaviour: [`Zeroize::zeroize`] clears the bytes, observed through the type's own API
//!    (reading memory after a drop would be undefined behaviour, so the drop path itself is the
//!    derive's / `Zeroizing`'s guarantee and is checked at compile time only).

use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::card::keys::{application_cryptogram, IssuerMasterKeys, SessionKey, AC_LEN};
use crate::card::perso::{CardCrypto, CardKeys};
use crate::card::signing::PinBlock;
use crate::crypto::mac::{retail_mac, Padding};
use crate::gp::keys::{KeyEncryptionKey, StaticKeys, GP_TEST_KEY};

/// `T` zeroizes itself on drop.
fn assert_zeroize_on_drop<T: ZeroizeOnDrop>() {}

/// `T` can also be zeroized on demand.
fn assert_zeroize<T: Zeroize>() {}

/// The type of this value (a field of a composite record) zeroizes itself on drop.
fn zeroized_on_drop<T: ZeroizeOnDrop>(_: &T) {}

#[test]
fn every_secret_holding_type_zeroizes_on_drop() {
    use crate::crypto::aes::Aes;
    use crate::crypto::des::{Des, Tdes};
    use crate::crypto::secret::SecretBuffer;
    use crate::crypto::sm2::Sm2SigningKey;
    use crate::crypto::sm4::Sm4;

    // Keyed block ciphers (their key schedules: RustCrypto zeroizes them on drop).
    assert_zeroize_on_drop::<Des>();
    assert_zeroize_on_drop::<Tdes>();
    assert_zeroize_on_drop::<Aes>();
    assert_zeroize_on_drop::<Sm4>();
    // SM2 private scalars (ICC fDDA key, SE-applet signing key of SM4 cards).
    assert_zeroize_on_drop::<Sm2SigningKey>();
    // Plaintext JSON of sealed values.
    assert_zeroize_on_drop::<SecretBuffer>();
    assert_zeroize::<SecretBuffer>();
    // GlobalPlatform: static ENC / MAC / DEK, the PUT KEY key-encryption key, session keys.
    assert_zeroize_on_drop::<StaticKeys>();
    assert_zeroize::<StaticKeys>();
    assert_zeroize_on_drop::<KeyEncryptionKey>();
    assert_zeroize::<KeyEncryptionKey>();
    assert_zeroize_on_drop::<crate::gp::scp02::SessionKeys>();
    assert_zeroize_on_drop::<crate::gp::scp03::SessionKeys>();
    // Card keys: issuer master keys, ICC master keys (AC / SMI / SMC), session keys, PIN block.
    assert_zeroize_on_drop::<IssuerMasterKeys>();
    assert_zeroize::<IssuerMasterKeys>();
    assert_zeroize_on_drop::<CardKeys>();
    assert_zeroize::<CardKeys>();
    assert_zeroize_on_drop::<SessionKey>();
    assert_zeroize::<SessionKey>();
    assert_zeroize_on_drop::<PinBlock>();
    assert_zeroize::<PinBlock>();
    // HCE limited-use keys.
    assert_zeroize_on_drop::<crate::hce::luk::LukKey>();
    // Remote payment: the PIN, password or SMS code the payer gives.
    assert_zeroize_on_drop::<crate::remote::PayAuth>();
    assert_zeroize::<crate::remote::PayAuth>();
    // Command APDUs can be held in `Zeroizing` (the SE-mode VERIFY carries the PIN block).
    assert_zeroize::<crate::apdu::CommandApdu>();
}

#[test]
fn decrypted_plaintexts_and_derived_keys_come_back_zeroizing() {
    use crate::crypto::{aead, aes, cmac, des, kdf, secret, sm2, sm4};
    // Each result is checked to be `ZeroizeOnDrop`: changing a return type to a plain `Vec` or
    // array stops this compiling. The values are checked too, so the calls are real.
    let key = [0x42u8; 32];
    let opened = aead::open(&key, b"aad", &aead::seal(&key, b"aad", b"plain").unwrap()).unwrap();
    zeroized_on_drop(&opened);
    assert_eq!(opened.as_slice(), b"plain");

    let okm = kdf::hkdf_sha256(b"salt", b"ikm", b"info", 32).unwrap();
    zeroized_on_drop(&okm);
    let derived = cmac::scp03_kdf(&GP_TEST_KEY, 0x04, &[1; 16], 128).unwrap();
    zeroized_on_drop(&derived);
    assert_eq!((okm.len(), derived.len()), (32, 16));

    let block = [0x5Au8; 16];
    let iv = [0u8; 16];
    let aes_ecb = aes::aes_ecb_decrypt(&GP_TEST_KEY, &block).unwrap();
    let aes_cbc = aes::aes_cbc_decrypt(&GP_TEST_KEY, &iv, &block).unwrap();
    let tdes_ecb = des::tdes_ecb_decrypt(&GP_TEST_KEY, &block).unwrap();
    let tdes_cbc = des::tdes_cbc_decrypt(&GP_TEST_KEY, &[0; 8], &block).unwrap();
    let sm4_ecb = sm4::sm4_ecb_decrypt(&GP_TEST_KEY, &block).unwrap();
    let sm4_cbc = sm4::sm4_cbc_decrypt(&GP_TEST_KEY, &iv, &block).unwrap();
    for plain in [&aes_ecb, &aes_cbc, &tdes_ecb, &tdes_cbc, &sm4_ecb, &sm4_cbc] {
        zeroized_on_drop(plain);
        assert_eq!(plain.len(), 16);
    }

    let kek = KeyEncryptionKey::aes(&GP_TEST_KEY);
    let unwrapped = kek.decrypt(&kek.encrypt(&[7; 16]).unwrap()).unwrap();
    zeroized_on_drop(&unwrapped);
    assert_eq!(unwrapped.as_slice(), &[7; 16]);

    let scalar = sm2::Sm2SigningKey::generate().unwrap().to_bytes();
    zeroized_on_drop(&scalar);
    let text = secret::hex_encode(&[0xAB, 0xCD]);
    zeroized_on_drop(&text);
    assert_eq!(text.as_str(), "abcd");

    let verifier = crate::backend::api::remote::password_verifier("135790", "b-1");
    zeroized_on_drop(&verifier);

    let otp = crate::binding::validate::otp(" 246801 ").unwrap();
    zeroized_on_drop(&otp);
    assert_eq!(otp.as_str(), "246801");
}

#[test]
fn wire_requests_zeroize_codes_and_verifiers_and_never_debug_them() {
    use crate::backend::api::remote::{
        AuthMode, DeviceProof, PaymentCredential, PaymentMessage, PaymentRequest,
        SetPasswordRequest,
    };
    use crate::backend::api::ConfirmBindingRequest;

    const CODE: &str = "246801";
    let verifier_hex = "5e".repeat(32);
    let proof = DeviceProof {
        timestamp: 1_700_000_000,
        nonce: "00112233445566778899aabbccddeeff".into(),
        signature: "3045".into(),
    };

    let confirm = ConfirmBindingRequest {
        binding_session_id: "s-1".into(),
        otp: crate::binding::validate::otp(CODE).unwrap(),
        device_public_key: "04ab".into(),
        device_id: "d-1".into(),
    };
    zeroized_on_drop(&confirm.otp);

    let set_password = SetPasswordRequest {
        binding_id: "b-1".into(),
        verifier: crate::crypto::secret::hex_encode(&[0x5e; 32]),
        proof: proof.clone(),
    };
    zeroized_on_drop(&set_password.verifier);
    assert_eq!(set_password.verifier.as_str(), verifier_hex);

    let credential = PaymentCredential::Sms {
        challenge_id: "c-1".into(),
        code: Zeroizing::new(CODE.to_owned()),
    };
    let PaymentCredential::Sms { code, .. } = &credential else {
        unreachable!("built as Sms");
    };
    zeroized_on_drop(code);
    let payment = PaymentRequest {
        message: PaymentMessage {
            order_id: "o-1".into(),
            merchant_id: "M0001".into(),
            amount: 100,
            currency: "CNY".into(),
            binding_id: "b-1".into(),
            auth: AuthMode::Sms,
            se_id: String::new(),
            timestamp: proof.timestamp,
            nonce: proof.nonce.clone(),
        },
        signature: "3045".into(),
        credential: credential.clone(),
    };

    for (debug, identifier) in [
        (format!("{confirm:?}"), "s-1"),
        (format!("{set_password:?}"), "b-1"),
        (format!("{credential:?}"), "c-1"),
        (format!("{payment:?}"), "o-1"),
    ] {
        assert!(debug.contains(identifier), "{debug}");
        assert!(!debug.contains(CODE), "{debug}");
        assert!(!debug.contains(&verifier_hex), "{debug}");
    }
    // On the wire they are still plain strings.
    let json = serde_json::to_value(&confirm).unwrap();
    assert_eq!(json["otp"], CODE);
    let json = serde_json::to_value(&payment).unwrap();
    assert_eq!(json["credential"]["code"], CODE);
}

#[test]
fn secret_fields_of_composite_records_zeroize_on_drop() {
    use crate::backend::api::hce::LimitedUseKey;
    use crate::card::profile::FddaPerso;
    use crate::card::test_issuer::test_issuer_master_keys;
    use crate::hce::model::StoredKey;

    let fdda = FddaPerso {
        ca_index: 0x80,
        issuer_certificate: Vec::new(),
        icc_certificate: Vec::new(),
        icc_private_key: Zeroizing::new([7; 32]),
    };
    zeroized_on_drop(&fdda.icc_private_key);

    let keys = test_issuer_master_keys()
        .derive_card_keys(CardCrypto::Tdes, "6222021234567894", 1)
        .unwrap();
    zeroized_on_drop(&keys);
    zeroized_on_drop(&keys.ac);

    let grant = LimitedUseKey {
        index: 1,
        key: Zeroizing::new([9; 16]),
        max_uses: 1,
        issued_at: 0,
        expires_at: 1,
    };
    zeroized_on_drop(&grant.key);
    let stored = StoredKey {
        index: grant.index,
        key: grant.key.clone(),
        max_uses: 1,
        uses: 0,
        expires_at: 1,
    };
    zeroized_on_drop(&stored.key);
}

#[test]
fn zeroized_static_keys_are_all_zero() {
    let mut keys = StaticKeys::new(&[1; 16], &[2; 16], &[3; 16], 0x30);
    keys.zeroize();
    assert_eq!(
        (keys.enc(), keys.mac(), keys.dek(), keys.version()),
        (&[0; 16], &[0; 16], &[0; 16], 0)
    );
}

#[test]
fn a_zeroized_key_encryption_key_encrypts_as_the_zero_key() {
    let block = [0x5Au8; 16];
    for (mut kek, zero) in [
        (
            KeyEncryptionKey::aes(&GP_TEST_KEY),
            KeyEncryptionKey::aes(&[0; 16]),
        ),
        (
            KeyEncryptionKey::tdes(&GP_TEST_KEY),
            KeyEncryptionKey::tdes(&[0; 16]),
        ),
    ] {
        assert_ne!(kek.encrypt(&block).unwrap(), zero.encrypt(&block).unwrap());
        kek.zeroize();
        assert_eq!(kek.encrypt(&block).unwrap(), zero.encrypt(&block).unwrap());
    }
}

#[test]
fn zeroized_gp_session_keys_are_all_zero() {
    let keys = StaticKeys::single(&GP_TEST_KEY, 0x30);
    let mut scp02 = crate::gp::scp02::SessionKeys::derive(&keys, 7).unwrap();
    assert_ne!(*scp02.enc, [0; 16]);
    scp02.zeroize();
    assert_eq!([*scp02.enc, *scp02.mac, *scp02.dek], [[0; 16]; 3]);

    let mut scp03 = crate::gp::scp03::SessionKeys::derive(&keys, &[1; 8], &[2; 8]).unwrap();
    assert_ne!(*scp03.mac, [0; 16]);
    scp03.zeroize();
    assert_eq!([*scp03.enc, *scp03.mac, *scp03.rmac], [[0; 16]; 3]);
}

#[test]
fn zeroized_card_keys_are_all_zero() {
    let mut imk = crate::card::test_issuer::test_issuer_master_keys();
    let mut card = imk
        .derive_card_keys(CardCrypto::Sm4, "6222021234567894", 1)
        .unwrap();
    assert_ne!(*card.ac, [0; 16]);
    imk.zeroize();
    card.zeroize();
    assert_eq!([*imk.ac, *imk.smi, *imk.smc], [[0; 16]; 3]);
    assert_eq!([*card.ac, *card.smi, *card.smc], [[0; 16]; 3]);
}

#[test]
fn a_zeroized_session_key_macs_as_the_zero_key() {
    let master = [0x11u8; 16];
    let mut key = SessionKey::derive(CardCrypto::Tdes, &master, 0x0042).unwrap();
    let input = [0xA5u8; 37];
    let zero_key_mac = retail_mac(&[0; 16], &[0; 8], &input, Padding::Method2).unwrap();
    assert_ne!(
        application_cryptogram(&key, &input).unwrap(),
        zero_key_mac[..AC_LEN]
    );
    key.zeroize();
    assert_eq!(
        application_cryptogram(&key, &input).unwrap(),
        zero_key_mac[..AC_LEN]
    );
    assert_eq!(
        key.crypto(),
        CardCrypto::Tdes,
        "the algorithm is not secret"
    );
}

#[test]
fn a_zeroized_pin_block_is_all_zero() {
    let mut block = PinBlock::new("123456").unwrap();
    assert_ne!(block.as_bytes(), &[0; 8]);
    block.zeroize();
    assert_eq!(block.as_bytes(), &[0; 8]);
}
