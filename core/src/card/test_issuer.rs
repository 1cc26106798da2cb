//! The test issuer and test certification authority: **public, deterministic test values**, for
//! the mock issuer, the SE simulator, HCE tests and the POS terminal simulator. Never use them
//! for real cards.
//!
//! | what | value |
//! |---|---|
//! | IMK-AC | `0123456789ABCDEFFEDCBA9876543210` |
//! | IMK-SMI | `11223344556677888877665544332211` |
//! | IMK-SMC | `A1A2A3A4A5A6A7A8B1B2B3B4B5B6B7B8` |
//! | CA (SM2) | RID `A000000333`, index `80`; private key `d = SM3("wallet-core test CA 80")` |
//! | CA public key | `04` `027242682282145959923DDF780E9380A16AE138C9DEDA804AE481C6A45019D9` `F28E82610843FA7A2F063E4BCF5052B946E9B47509F6C10479569373C5D8B796` ([`TEST_CA_PUBLIC_KEY`]) |
//! | issuer (SM2) | private key `d = SM3("wallet-core test issuer")`; certificate for the first six PAN digits, expiry `12/49`, serial `000001` |
//!
//! The issuer master keys are those the mock TSM derives its cards' keys from. ICC key pairs are
//! fresh per card ([`issue_test_card`]) or given ([`issue_test_card_with_icc_key`]); the ICC
//! certificate expires with the card (`MMYY` of the card's expiry), serial `000001`.

use super::certs::{
    compressed_numeric, CertificateBody, FORMAT_ICC_CERTIFICATE, FORMAT_ISSUER_CERTIFICATE,
};
use super::keys::IssuerMasterKeys;
use super::perso::CardPersonalization;
use super::profile::{CardProfile, FddaPerso};
use crate::crypto::sm2::Sm2SigningKey;
use crate::crypto::sm3::sm3;
use crate::crypto::CryptoError;
use zeroize::Zeroizing;

/// Test issuer master key for application cryptograms.
pub const TEST_IMK_AC: [u8; 16] = [
    0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF, 0xFE, 0xDC, 0xBA, 0x98, 0x76, 0x54, 0x32, 0x10,
];
/// Test issuer master key for secure messaging integrity.
pub const TEST_IMK_SMI: [u8; 16] = [
    0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,
];
/// Test issuer master key for secure messaging confidentiality.
pub const TEST_IMK_SMC: [u8; 16] = [
    0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7, 0xA8, 0xB1, 0xB2, 0xB3, 0xB4, 0xB5, 0xB6, 0xB7, 0xB8,
];
/// Registered application provider identifier of UnionPay.
pub const TEST_RID: [u8; 5] = [0xA0, 0x00, 0x00, 0x03, 0x33];
/// Index of the test CA public key (`8F`).
pub const TEST_CA_INDEX: u8 = 0x80;
/// Seed of the test CA private key (`d = SM3(seed)`).
pub const TEST_CA_SEED: &[u8] = b"wallet-core test CA 80";
/// Seed of the test issuer private key (`d = SM3(seed)`).
pub const TEST_ISSUER_SEED: &[u8] = b"wallet-core test issuer";
/// The test CA public key `04 ‖ X ‖ Y`, which terminals trust.
pub const TEST_CA_PUBLIC_KEY: [u8; 65] = [
    0x04, 0x02, 0x72, 0x42, 0x68, 0x22, 0x82, 0x14, 0x59, 0x59, 0x92, 0x3D, 0xDF, 0x78, 0x0E, 0x93,
    0x80, 0xA1, 0x6A, 0xE1, 0x38, 0xC9, 0xDE, 0xDA, 0x80, 0x4A, 0xE4, 0x81, 0xC6, 0xA4, 0x50, 0x19,
    0xD9, 0xF2, 0x8E, 0x82, 0x61, 0x08, 0x43, 0xFA, 0x7A, 0x2F, 0x06, 0x3E, 0x4B, 0xCF, 0x50, 0x52,
    0xB9, 0x46, 0xE9, 0xB4, 0x75, 0x09, 0xF6, 0xC1, 0x04, 0x79, 0x56, 0x93, 0x73, 0xC5, 0xD8, 0xB7,
    0x96,
];

/// A CA public key as a terminal stores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaPublicKey {
    /// RID of the payment system.
    pub rid: [u8; 5],
    /// Index (`8F`).
    pub index: u8,
    /// SM2 public key `04 ‖ X ‖ Y`.
    pub public_key: [u8; 65],
}

/// The test CA public key entry of a terminal.
pub const TEST_CA: CaPublicKey = CaPublicKey {
    rid: TEST_RID,
    index: TEST_CA_INDEX,
    public_key: TEST_CA_PUBLIC_KEY,
};

/// The test issuer master keys.
pub fn test_issuer_master_keys() -> IssuerMasterKeys {
    IssuerMasterKeys {
        ac: Zeroizing::new(TEST_IMK_AC),
        smi: Zeroizing::new(TEST_IMK_SMI),
        smc: Zeroizing::new(TEST_IMK_SMC),
    }
}

/// The test CA's SM2 private key.
pub fn test_ca_key() -> Result<Sm2SigningKey, CryptoError> {
    Sm2SigningKey::from_bytes(&Zeroizing::new(sm3(TEST_CA_SEED))[..])
}

/// The test issuer's SM2 private key.
pub fn test_issuer_key() -> Result<Sm2SigningKey, CryptoError> {
    Sm2SigningKey::from_bytes(&Zeroizing::new(sm3(TEST_ISSUER_SEED))[..])
}

/// The issuer certificate (signed by the test CA) for the issuer identifier `bin` (3–8 digits).
pub fn test_issuer_certificate(bin: &str) -> Result<Vec<u8>, CryptoError> {
    CertificateBody {
        format: FORMAT_ISSUER_CERTIFICATE,
        subject: compressed_numeric::<4>(bin)?.to_vec(),
        expiry: [0x12, 0x49],
        serial: [0x00, 0x00, 0x01],
        public_key: test_issuer_key()?.public_key(),
    }
    .certify(&test_ca_key()?, &[])
}

/// `perso` with keys derived from the test issuer master keys and fDDA material for a fresh ICC
/// key pair.
pub fn issue_test_card(perso: CardPersonalization) -> Result<CardProfile, CryptoError> {
    issue_test_card_with_icc_key(perso, &Sm2SigningKey::generate()?)
}

/// `perso` with its ICC master keys derived from the test issuer master keys (whatever keys it
/// held), and fDDA material certifying `icc_key`.
pub fn issue_test_card_with_icc_key(
    mut perso: CardPersonalization,
    icc_key: &Sm2SigningKey,
) -> Result<CardProfile, CryptoError> {
    perso.keys =
        test_issuer_master_keys().derive_card_keys(perso.crypto, &perso.pan, perso.pan_sequence)?;
    let bin = perso
        .pan
        .get(..6)
        .map(str::to_owned)
        .ok_or(CryptoError::InvalidInput("PAN shorter than 6 digits"))?;
    let expiry = perso
        .expiry
        .get(..4)
        .and_then(|yymm| hex::decode(yymm).ok())
        .and_then(|b| <[u8; 2]>::try_from(b).ok())
        .map(|[yy, mm]| [mm, yy])
        .ok_or(CryptoError::InvalidInput("expiry YYMMDD"))?;
    let mut profile = CardProfile::new(perso);
    let icc_body = CertificateBody {
        format: FORMAT_ICC_CERTIFICATE,
        subject: compressed_numeric::<10>(&profile.perso.pan)?.to_vec(),
        expiry,
        serial: [0x00, 0x00, 0x01],
        public_key: icc_key.public_key(),
    };
    // The AIP is the static data; it depends only on the presence of fDDA material.
    let static_data = CardProfile {
        fdda: Some(placeholder()),
        ..profile.clone()
    }
    .aip();
    profile.fdda = Some(FddaPerso {
        ca_index: TEST_CA_INDEX,
        issuer_certificate: test_issuer_certificate(&bin)?,
        icc_certificate: icc_body.certify(&test_issuer_key()?, &static_data)?,
        icc_private_key: icc_key.to_bytes(),
    });
    Ok(profile)
}

fn placeholder() -> FddaPerso {
    FddaPerso {
        ca_index: 0,
        issuer_certificate: Vec::new(),
        icc_certificate: Vec::new(),
        icc_private_key: Zeroizing::new([0; 32]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::api::AccountKind;
    use crate::card::certs::issuer_id_matches;
    use crate::card::keys::derive_icc_master_key;
    use crate::card::perso::{CardCrypto, CardKeys};
    use crate::crypto::sm2::verify_sm2;

    #[test]
    fn keys_come_from_their_documented_seeds() {
        // SM3("wallet-core test CA 80"), also computed with Python's hashlib ("sm3").
        assert_eq!(
            hex::encode_upper(test_ca_key().unwrap().to_bytes()),
            "35C49D0B660C8536E059434519CF88126C5F5899198D720E6D9D0C7F312A476E"
        );
        assert_eq!(test_ca_key().unwrap().public_key(), TEST_CA_PUBLIC_KEY);
        assert_eq!(
            hex::encode_upper(test_issuer_key().unwrap().public_key()),
            "04CEF89DFEBFBF980B8AC6C9E5E1D43BC24C125C76859C196A60B329579DE272\
             9AD1AA178B6864C9B3F1D2EDBBF4AE9CE779AD8FEA3496FF42AE5C9D4179007AE1"
        );
        assert_eq!(TEST_CA.index, 0x80);
    }

    #[test]
    fn issued_card_carries_a_chain_to_the_test_ca() {
        let perso = CardPersonalization {
            account_kind: AccountKind::Debit,
            pan: "6288881234567890".into(),
            pan_sequence: 1,
            expiry: "301231".into(),
            crypto: CardCrypto::Sm4,
            currency: 156,
            country: 156,
            keys: CardKeys {
                ac: Zeroizing::new([0; 16]),
                smi: Zeroizing::new([0; 16]),
                smc: Zeroizing::new([0; 16]),
            },
            ecash: None,
        };
        let icc = Sm2SigningKey::from_bytes(&[9; 32]).unwrap();
        let profile = issue_test_card_with_icc_key(perso, &icc).unwrap();
        let mk_ac =
            derive_icc_master_key(CardCrypto::Sm4, &TEST_IMK_AC, "6288881234567890", 1).unwrap();
        assert_eq!(profile.perso.keys.ac, mk_ac);
        let fdda = profile.fdda.as_ref().unwrap();
        assert_eq!(fdda.ca_index, TEST_CA_INDEX);
        assert_eq!(fdda.icc_private_key[..], [9; 32]);

        // Issuer certificate: 12 ‖ 628888FF ‖ 1249 ‖ 000001 ‖ 04 04 00 40 ‖ key ‖ CA signature.
        let cert = &fdda.issuer_certificate;
        assert_eq!(
            hex::encode_upper(&cert[..14]),
            "12628888FF124900000104040040"
        );
        verify_sm2(
            &TEST_CA_PUBLIC_KEY,
            b"1234567812345678",
            &cert[..78],
            &cert[78..],
        )
        .unwrap();
        let issuer =
            CertificateBody::verify(cert, FORMAT_ISSUER_CERTIFICATE, &TEST_CA_PUBLIC_KEY, &[])
                .unwrap();
        assert!(issuer_id_matches(&issuer.subject, "6288881234567890"));
        // ICC certificate: PAN, expiry 12/30, signed with the AIP (24 00) as static data.
        let cert = &fdda.icc_certificate;
        assert_eq!(
            hex::encode_upper(&cert[..16]),
            "146288881234567890FFFF1230000001"
        );
        let mut signed = cert[..84].to_vec();
        signed.extend_from_slice(&profile.aip());
        assert_eq!(profile.aip(), [0x24, 0x00]);
        verify_sm2(
            &issuer.public_key,
            b"1234567812345678",
            &signed,
            &cert[84..],
        )
        .unwrap();
        assert_eq!(&cert[20..84], &icc.public_key()[1..]);
    }
}
