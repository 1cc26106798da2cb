//! Published test vectors (`/work/shared/vectors`, i.e. `shared/vectors/` beside the repository)
//! run against `wallet_core::crypto`: SM3, SM4, SM2, AES-CMAC and one GlobalPlatform SCP03
//! mutual authentication.

use serde_json::Value;
use std::path::PathBuf;
use wallet_core::crypto::block::BlockCipher;
use wallet_core::crypto::cmac::{aes_cmac, aes_cmac_parts, derivation_constant, scp03_kdf};
use wallet_core::crypto::sm2::{sm2_z, verify_sm2, Sm2SigningKey};
use wallet_core::crypto::sm3::sm3;
use wallet_core::crypto::sm4::Sm4;

fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors")
}

fn load(name: &str) -> Value {
    let path = vectors_dir().join(name);
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {}: {e}", path.display()))
}

fn text<'a>(v: &'a Value, field: &str) -> &'a str {
    v[field]
        .as_str()
        .unwrap_or_else(|| panic!("missing string field {field}"))
}

fn bytes(v: &Value, field: &str) -> Vec<u8> {
    hex::decode(text(v, field)).unwrap_or_else(|e| panic!("field {field} is not hex: {e}"))
}

fn array<const N: usize>(v: &Value, field: &str) -> [u8; N] {
    bytes(v, field)
        .try_into()
        .unwrap_or_else(|_| panic!("field {field} is not {N} bytes"))
}

/// GB/T 32905-2016 appendix A.
#[test]
fn sm3_vectors() {
    let cases = load("sm3.json");
    let cases = cases.as_array().expect("sm3.json is an array");
    assert!(!cases.is_empty());
    for case in cases {
        assert_eq!(
            sm3(text(case, "msg_ascii").as_bytes()).as_slice(),
            bytes(case, "digest")
        );
    }
}

/// GB/T 32907-2016 appendix A, including the 1,000,000-fold encryption (in place, no
/// allocation per iteration).
#[test]
fn sm4_vectors() {
    let cases = load("sm4.json");
    let cases = cases.as_array().expect("sm4.json is an array");
    assert!(!cases.is_empty());
    for case in cases {
        let cipher = Sm4::new(&array(case, "key"));
        let mut block: [u8; 16] = array(case, "plain");
        let iterations = case["iterations"].as_u64().expect("iterations");
        for _ in 0..iterations {
            cipher.encrypt_block(&mut block);
        }
        assert_eq!(
            block,
            array::<16>(case, "cipher"),
            "{iterations} iterations"
        );
        if iterations == 1 {
            cipher.decrypt_block(&mut block);
            assert_eq!(block, array::<16>(case, "plain"));
        }
    }
}

/// SM2 signature with a fixed k: the published (r, s) verifies, and signing with that k
/// reproduces it.
#[test]
fn sm2_vector() {
    let v = load("sm2.json");
    assert_eq!(text(&v, "curve"), "sm2p256v1");
    let mut public = vec![0x04];
    public.extend_from_slice(&bytes(&v, "public_key_xy"));
    let user_id = text(&v, "user_id_ascii").as_bytes();
    let message = text(&v, "msg_ascii").as_bytes();
    let mut published = bytes(&v, "r");
    published.extend_from_slice(&bytes(&v, "s"));

    let key = Sm2SigningKey::from_bytes(&bytes(&v, "private_key")).expect("private key");
    assert_eq!(key.public_key().as_slice(), public, "public key from d");
    verify_sm2(&public, user_id, message, &published).expect("published signature verifies");

    let ours = key
        .sign_with_fixed_k(user_id, message, &bytes(&v, "k"))
        .expect("sign with k");
    assert_eq!(
        hex::encode(ours),
        hex::encode(&published),
        "signature with the published k"
    );

    // A fresh signature verifies too, and no signature verifies for another message or ID.
    let fresh = key.sign(user_id, message).expect("sign");
    verify_sm2(&public, user_id, message, &fresh).expect("fresh signature verifies");
    assert!(verify_sm2(&public, user_id, b"message digesT", &published).is_err());
    assert!(verify_sm2(&public, b"1234567812345679", message, &published).is_err());
    assert_eq!(sm2_z(user_id, &public).expect("Z").len(), 32);
}

/// RFC 4493 section 4, examples 1 to 4.
#[test]
fn aes_cmac_vectors() {
    let v = load("aes_cmac.json");
    let key = bytes(&v, "key");
    let cases = v["cases"].as_array().expect("cases");
    assert_eq!(cases.len(), 4);
    for case in cases {
        assert_eq!(
            aes_cmac(&key, &bytes(case, "msg")).unwrap().as_slice(),
            bytes(case, "mac")
        );
    }
}

/// GlobalPlatform SCP03 (Amendment D): session keys, card and host cryptograms and the C-MAC of
/// EXTERNAL AUTHENTICATE for one recorded mutual authentication.
#[test]
fn scp03_vector() {
    let v = load("scp03.json");
    let mut context = bytes(&v, "host_challenge");
    context.extend_from_slice(&bytes(&v, "card_challenge"));
    let static_enc = bytes(&v, "static_key_enc");
    let static_mac = bytes(&v, "static_key_mac");

    let s_enc = scp03_kdf(&static_enc, derivation_constant::S_ENC, &context, 128).unwrap();
    let s_mac = scp03_kdf(&static_mac, derivation_constant::S_MAC, &context, 128).unwrap();
    let s_rmac = scp03_kdf(&static_mac, derivation_constant::S_RMAC, &context, 128).unwrap();
    assert_eq!(
        hex::encode(s_enc.as_slice()),
        text(&v, "session_key_enc"),
        "S-ENC"
    );
    assert_eq!(
        hex::encode(s_mac.as_slice()),
        text(&v, "session_key_mac"),
        "S-MAC"
    );
    assert_eq!(
        hex::encode(s_rmac.as_slice()),
        text(&v, "session_key_rmac"),
        "S-RMAC"
    );

    let card_cryptogram =
        scp03_kdf(&s_mac, derivation_constant::CARD_CRYPTOGRAM, &context, 64).unwrap();
    assert_eq!(
        hex::encode(card_cryptogram.as_slice()),
        text(&v, "card_cryptogram"),
        "card cryptogram"
    );

    // EXTERNAL AUTHENTICATE: CLA 80 | 04 (secure messaging), INS 82, P1 = security level 03,
    // P2 00, Lc = 8 cryptogram bytes + 8 MAC bytes; data = host cryptogram; then the C-MAC.
    let host_cryptogram =
        scp03_kdf(&s_mac, derivation_constant::HOST_CRYPTOGRAM, &context, 64).unwrap();
    let header = [0x80 | 0x04, 0x82, 0x03, 0x00, 16];
    let chaining_value = [0u8; 16];
    let c_mac = aes_cmac_parts(&s_mac, &[&chaining_value, &header, &host_cryptogram]).unwrap();
    let mut apdu = header.to_vec();
    apdu.extend_from_slice(&host_cryptogram);
    apdu.extend_from_slice(&c_mac[..8]);
    assert_eq!(
        hex::encode(&apdu),
        text(&v, "external_authenticate_apdu"),
        "EXTERNAL AUTHENTICATE"
    );
}
