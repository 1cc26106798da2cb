//! The card data the application provider's TSM writes into a new payment application instance:
//! a device PAN issued for the SE (never the account's PAN), its expiry and sequence number,
//! the ICC master keys derived from the issuer master keys, the electronic cash, and what full
//! offline capability adds ([`card_profile`]): a fresh SM2 ICC key pair certified by the test
//! issuer under the test CA (fDDA), and the risk parameters.
//!
//! # Issuer keys
//!
//! The ICC master keys come from the test issuer's master keys and the one derivation of the
//! core ([`wallet_core::card::test_issuer`], [`wallet_core::card::keys`]), the same the issuer
//! uses to check cryptograms.
//!
//! # DGIs
//!
//! [`CardProfile::to_dgis`]: `0101`, `9102`, `9103`, `8000`, `9104`, `0102`, `0103`, `8001`,
//! then `8002` the cardholder PIN ([`card_dgis`]), one STORE DATA each
//! ([`store_data_commands`]); the secret ones ([`is_secret_dgi`]: `8000` the ICC master keys,
//! `8001` the ICC private key, `8002` the PIN block) travel encrypted under the DEK. The card
//! generates its remote-payment signing key when it receives `8002` and answers the public key
//! to the last STORE DATA ([`wallet_core::card::signing`]).
//!
//! # The PIN
//!
//! The cardholder PIN comes from the bank's card record at personalisation time
//! ([`super::bank_link::BankLink::cardholder_pin`]) as a zeroized PIN block: the TSM never
//! stores it, never logs it.
//!
//! Cards are issued with the algorithm of the bank's card product
//! ([`super::bank_link::BoundAccount::se_card_crypto`]; [`CARD_CRYPTO`], SM4, by default). Device PANs: BIN [`DEVICE_PAN_BIN`], nine random
//! digits and a Luhn check digit; PSN `01`; expiry the last day of the month five years after
//! issue. E-cash limits: balance [`ECASH_BALANCE_LIMIT`], one transaction
//! [`ECASH_SINGLE_LIMIT`] (fen).

use wallet_core::backend::api::AccountKind;
use wallet_core::binding::validate::luhn_valid;
use wallet_core::card::perso::{
    is_secret_dgi, CardCrypto, CardKeys, CardPersonalization, ECashParams,
};
use wallet_core::card::signing::PinBlock;
use wallet_core::card::test_issuer::{issue_test_card, test_issuer_master_keys};
use wallet_core::card::CardProfile;
use wallet_core::crypto::random;
use wallet_core::crypto::CryptoError;
use wallet_core::gp::commands::{DataStructure, Dgi, StoreData, StoreDataEncryption};
use wallet_core::gp::{GpError, KeyEncryptionKey};

use super::records::CardRecord;

/// The algorithm of the cards this TSM issues unless the bank's card product says otherwise.
pub const CARD_CRYPTO: CardCrypto = CardCrypto::Sm4;
/// The BIN of device PANs (fictional).
pub const DEVICE_PAN_BIN: &str = "628888";
/// Highest e-cash balance of a card (fen): ¥1,000.
pub const ECASH_BALANCE_LIMIT: u64 = 100_000;
/// Highest amount of one offline e-cash transaction (fen): ¥500.
pub const ECASH_SINGLE_LIMIT: u64 = 50_000;
/// CNY / China (ISO 4217 / ISO 3166 numeric).
const CNY: u16 = 156;
/// Years a card is valid.
const VALIDITY_YEARS: i64 = 5;
/// Largest STORE DATA data field.
const MAX_STORE_DATA: usize = 255;

/// The three ICC master keys (AC, SMI, SMC) of card `pan` / `psn`, from the test issuer.
pub fn derive_icc_keys(crypto: CardCrypto, pan: &str, psn: u8) -> Result<CardKeys, CryptoError> {
    test_issuer_master_keys().derive_card_keys(crypto, pan, psn)
}

/// The Luhn check digit that completes `digits` (the wallet's own Luhn rule).
pub fn luhn_check_digit(digits: &str) -> Option<char> {
    ('0'..='9').find(|d| luhn_valid(&format!("{digits}{d}")))
}

/// A new device PAN: [`DEVICE_PAN_BIN`], nine random digits, a Luhn check digit.
pub fn issue_device_pan() -> Result<String, CryptoError> {
    let random: [u8; 8] = random::bytes()?;
    let number = u64::from_be_bytes(random) % 1_000_000_000;
    let body = format!("{DEVICE_PAN_BIN}{number:09}");
    let check = luhn_check_digit(&body).ok_or(CryptoError::InvalidInput("PAN digits"))?;
    Ok(format!("{body}{check}"))
}

/// The civil date (year, month, day) of a day count since 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The expiry `YYMMDD` of a card issued at Unix time `now`: the last day of the same month
/// [`VALIDITY_YEARS`] later.
pub fn expiry_for(now: u64) -> String {
    let days = i64::try_from(now / 86_400).unwrap_or(0);
    let (year, month, _) = civil_from_days(days);
    let year = year + VALIDITY_YEARS;
    format!(
        "{:02}{month:02}{:02}",
        year.rem_euclid(100),
        days_in_month(year, month)
    )
}

/// Everything written into the instance of `card` (e-cash balance `balance`).
pub fn personalization(
    card: &CardRecord,
    balance: u64,
) -> Result<CardPersonalization, CryptoError> {
    Ok(CardPersonalization {
        account_kind: card.account_kind,
        pan: card.device_pan.clone(),
        pan_sequence: card.pan_sequence,
        expiry: card.expiry.clone(),
        crypto: card.crypto,
        currency: CNY,
        country: CNY,
        keys: derive_icc_keys(card.crypto, &card.device_pan, card.pan_sequence)?,
        ecash: Some(ECashParams {
            balance,
            balance_limit: ECASH_BALANCE_LIMIT,
            single_transaction_limit: ECASH_SINGLE_LIMIT,
        }),
    })
}

/// The whole personalisation of the instance of `card` (e-cash balance `balance`): the base
/// data of [`personalization`] issued by the test issuer with a fresh ICC key pair (fDDA
/// certificates under the test CA) and the default risk parameters.
pub fn card_profile(card: &CardRecord, balance: u64) -> Result<CardProfile, CryptoError> {
    issue_test_card(personalization(card, balance)?)
}

/// The DGIs of the instance of `card`: those of [`card_profile`], then the cardholder PIN
/// (`8002`) when there is one.
pub fn card_dgis(
    card: &CardRecord,
    balance: u64,
    pin: Option<&PinBlock>,
) -> Result<Vec<Dgi>, super::TsmError> {
    let mut dgis = card_profile(card, balance)?
        .to_dgis()
        .map_err(|e| super::TsmError::Internal(format!("personalisation: {e}")))?;
    dgis.extend(pin.map(PinBlock::to_dgi));
    Ok(dgis)
}

/// The STORE DATA commands carrying `dgis`: one per DGI, numbered from 0, the last marked;
/// secret DGIs ([`is_secret_dgi`]) with their value encrypted under `kek` and P1 saying so.
pub fn store_data_commands(
    dgis: &[Dgi],
    kek: &KeyEncryptionKey,
) -> Result<Vec<StoreData>, GpError> {
    let count = dgis.len();
    dgis.iter()
        .enumerate()
        .map(|(i, dgi)| {
            let (encryption, value) = if is_secret_dgi(dgi.tag) {
                (StoreDataEncryption::Encrypted, kek.encrypt(&dgi.data)?)
            } else {
                (StoreDataEncryption::None, dgi.data.clone())
            };
            let data = Dgi::encode_all(&[Dgi {
                tag: dgi.tag,
                data: value,
            }])?;
            if data.len() > MAX_STORE_DATA {
                return Err(GpError::InvalidParameter("DGI longer than one STORE DATA"));
            }
            Ok(StoreData {
                last: i + 1 == count,
                block_number: u8::try_from(i)
                    .map_err(|_| GpError::InvalidParameter("too many DGIs"))?,
                encryption,
                structure: DataStructure::Dgi,
                data,
            })
        })
        .collect()
}

/// Whether an account of `kind` gets electronic cash on its card (every kind: PBOC cards carry
/// e-cash beside the account).
pub const fn has_ecash(_kind: AccountKind) -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected values computed independently with Python `cryptography` (SM4 and TripleDES in
    /// ECB mode over the hand-built block `Y ‖ ¬Y`).
    #[test]
    fn icc_master_keys_match_independent_computation() {
        // PAN 6288880000000017, PSN 01 → Y = 8888000000001701.
        let sm4 = derive_icc_keys(CardCrypto::Sm4, "6288880000000017", 1).unwrap();
        assert_eq!(
            hex::encode_upper(*sm4.ac),
            "5A5396BD15155930AF9E763017A39E67"
        );
        // 3DES: the same blocks, odd parity adjusted (EMV option A).
        let tdes = derive_icc_keys(CardCrypto::Tdes, "6288880000000017", 1).unwrap();
        assert_eq!(
            hex::encode_upper(*tdes.ac),
            "BFE089983BE94373FE6152A8313E8052"
        );
        // 13-digit PAN, PSN 00 → 15 digits, left-padded: Y = 0400000000000600.
        let short = derive_icc_keys(CardCrypto::Sm4, "4000000000006", 0).unwrap();
        assert_eq!(
            hex::encode_upper(*short.ac),
            "0033C02BE1C6F4334C8AF421960A0676"
        );
        assert_ne!(*sm4.smi, *sm4.ac);
        assert!(derive_icc_keys(CardCrypto::Sm4, "62x8", 1).is_err());
    }

    #[test]
    fn device_pans_are_luhn_valid_in_the_bin() {
        assert_eq!(luhn_check_digit("7992739871"), Some('3'));
        assert_eq!(luhn_check_digit("411111111111111"), Some('1'));
        let pan = issue_device_pan().unwrap();
        assert_eq!(pan.len(), 16);
        assert!(pan.starts_with(DEVICE_PAN_BIN));
        assert!(crate::bank::validate::is_valid_pan(&pan));
    }

    #[test]
    fn expiry_is_the_end_of_the_month_five_years_on() {
        // 2024-02-10 → 2029-02-28; 2023-02-01 → 2028-02-29 (leap); 2026-11-25 → 2031-11-30.
        assert_eq!(expiry_for(1_707_523_200), "290228");
        assert_eq!(expiry_for(1_675_209_600), "280229");
        assert_eq!(expiry_for(1_795_564_800), "311130");
        assert_eq!(civil_from_days(0), (1970, 1, 1));
    }

    fn record() -> CardRecord {
        CardRecord {
            se_id: "00".into(),
            instance_aid: "A000000333010101".into(),
            binding_id: "b".into(),
            opening_id: "o".into(),
            account_kind: AccountKind::Debit,
            device_pan: "6288880000000017".into(),
            pan_sequence: 1,
            expiry: "311231".into(),
            state: super::super::records::CardState::Opening,
            initial_load: 2_000,
            ecash_balance: None,
            crypto: CARD_CRYPTO,
            se_payment_key: None,
            ecash_refund: None,
        }
    }

    /// The whole profile: eight DGIs, two of them secret, each within one STORE DATA once
    /// encrypted; the keys those of the issuer master keys.
    #[test]
    fn cards_are_issued_with_full_offline_capability() {
        let profile = card_profile(&record(), 2_000).unwrap();
        assert_eq!(
            profile.perso.keys,
            derive_icc_keys(CARD_CRYPTO, "6288880000000017", 1).unwrap()
        );
        assert_eq!(profile.perso.ecash.map(|e| e.balance), Some(2_000));
        assert!(profile.fdda.is_some());
        let dgis = profile.to_dgis().unwrap();
        let tags: Vec<u16> = dgis.iter().map(|d| d.tag).collect();
        assert_eq!(
            tags,
            [0x0101, 0x9102, 0x9103, 0x8000, 0x9104, 0x0102, 0x0103, 0x8001]
        );
        let kek = KeyEncryptionKey::aes(&[0x21; 16]);
        let commands = store_data_commands(&dgis, &kek).unwrap();
        let encrypted: Vec<u16> = commands
            .iter()
            .filter(|c| c.encryption == StoreDataEncryption::Encrypted)
            .map(|c| u16::from_be_bytes([c.data[0], c.data[1]]))
            .collect();
        assert_eq!(encrypted, [0x8000, 0x8001]);
        assert!(commands.last().is_some_and(|c| c.last));
        // Each ICC key pair is fresh.
        let again = card_profile(&record(), 2_000).unwrap();
        assert_ne!(
            again.fdda.map(|f| f.icc_certificate),
            profile.fdda.map(|f| f.icc_certificate)
        );
    }

    /// The PIN goes last, as a secret DGI whose value is one whole cipher block pair.
    #[test]
    fn the_pin_is_personalised_encrypted_and_the_profile_follows_the_card_crypto() {
        let pin = PinBlock::new("123456").unwrap();
        let tdes = CardRecord {
            crypto: CardCrypto::Tdes,
            ..record()
        };
        let dgis = card_dgis(&tdes, 0, Some(&pin)).unwrap();
        assert_eq!(dgis.last().map(|d| d.tag), Some(0x8002));
        assert_eq!(
            CardProfile::from_dgis(&dgis).unwrap().perso.crypto,
            CardCrypto::Tdes
        );
        let kek = KeyEncryptionKey::aes(&[0x21; 16]);
        let commands = store_data_commands(&dgis, &kek).unwrap();
        let last = commands.last().unwrap();
        assert!(last.last && last.encryption == StoreDataEncryption::Encrypted);
        assert_eq!(last.data[..3], [0x80, 0x02, 16]);
        assert_ne!(last.data[3..], pin.to_dgi().data[..]);
        let without = card_dgis(&record(), 0, None).unwrap();
        assert_eq!(without.len(), dgis.len() - 1);
    }

    #[test]
    fn secret_dgis_travel_encrypted() {
        let kek = KeyEncryptionKey::aes(&[0x33; 16]);
        let dgis = vec![
            Dgi {
                tag: 0x0101,
                data: vec![1, 2, 3],
            },
            Dgi {
                tag: 0x8000,
                data: vec![0x44; 48],
            },
        ];
        let commands = store_data_commands(&dgis, &kek).unwrap();
        assert_eq!(commands.len(), 2);
        assert_eq!((commands[0].p1(), commands[0].block_number), (0x08, 0));
        assert_eq!(commands[0].data, [0x01, 0x01, 0x03, 1, 2, 3]);
        assert_eq!((commands[1].p1(), commands[1].block_number), (0xE8, 1));
        let encrypted = kek.encrypt(&[0x44; 48]).unwrap();
        assert_eq!(commands[1].data[..3], [0x80, 0x00, 48]);
        assert_eq!(commands[1].data[3..], encrypted[..]);
        assert_ne!(encrypted, vec![0x44; 48]);
    }
}
