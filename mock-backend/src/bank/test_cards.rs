//! The bank's deterministic test cards. Every person here is fictional; ID numbers are synthetic
//! (valid PRC resident-ID format and check digit, but made up). The same table is in
//! `mock-backend/README.md`.
//!
//! Every card has the cardholder PIN [`TEST_PIN`] (`123456`), which the TSM personalises into the
//! SE payment application it opens for that account (remote payment in SE mode verifies it on
//! the card), and a card product algorithm: the SE cards of [`CREDIT`] (招商银行) are 3DES
//! cards (their remote-payment key is ECDSA P-256), all others SM4 (SM2 key).

use wallet_core::backend::api::AccountKind;
use wallet_core::card::CardCrypto;

/// The cardholder PIN of every test card.
pub const TEST_PIN: &str = "123456";

/// Whether an account can be bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountStatus {
    /// Normal: can be bound and used.
    Active,
    /// Blocked by the bank: binding answers `CARD_NOT_ELIGIBLE`.
    Blocked,
}

/// One test card and its account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TestCard {
    /// Card number (digits only, valid Luhn).
    pub pan: &'static str,
    /// Holder's name as on file.
    pub holder_name: &'static str,
    /// Holder's 18-character resident ID number.
    pub id_number: &'static str,
    /// Mobile number on file (11 digits).
    pub phone: &'static str,
    /// Kind of account.
    pub kind: AccountKind,
    /// Opening balance in fen (for credit cards: the available credit).
    pub balance_fen: i64,
    /// Issuing bank.
    pub issuer_name: &'static str,
    /// Whether the card can be bound.
    pub status: AccountStatus,
    /// The cardholder PIN (6 digits), personalised into the SE payment application. Test data:
    /// a real bank would hand it to the personalisation bureau encrypted, never in clear.
    pub pin: &'static str,
    /// The algorithm of the SE payment cards issued for this account (3DES: P-256 signing key;
    /// SM4: SM2 signing key).
    pub se_card_crypto: CardCrypto,
}

impl TestCard {
    /// The test card with card number `pan`, if the bank has it.
    pub fn by_pan(pan: &str) -> Option<&'static TestCard> {
        ALL.iter().find(|card| card.pan == pan)
    }
}

/// Debit card of 张三 at 中国工商银行 (¥12,345.67).
pub const DEBIT: TestCard = TestCard {
    pan: "6222021234567894",
    holder_name: "张三",
    id_number: "110101199003071233",
    phone: "13800138000",
    kind: AccountKind::Debit,
    balance_fen: 1_234_567,
    issuer_name: "中国工商银行",
    status: AccountStatus::Active,
    pin: TEST_PIN,
    se_card_crypto: CardCrypto::Sm4,
};

/// Credit card of 李四 at 招商银行 (¥50,000.00 available); the ID ends in `X`.
pub const CREDIT: TestCard = TestCard {
    pan: "6259651234567894",
    holder_name: "李四",
    id_number: "31010419851215002X",
    phone: "13912345678",
    kind: AccountKind::Credit,
    balance_fen: 5_000_000,
    issuer_name: "招商银行",
    status: AccountStatus::Active,
    pin: TEST_PIN,
    se_card_crypto: CardCrypto::Tdes,
};

/// Quasi-credit card of 王小明 at 中国农业银行 (¥2,000.00).
pub const QUASI_CREDIT: TestCard = TestCard {
    pan: "6228481234567894",
    holder_name: "王小明",
    id_number: "440305199206183457",
    phone: "15012345678",
    kind: AccountKind::QuasiCredit,
    balance_fen: 200_000,
    issuer_name: "中国农业银行",
    status: AccountStatus::Active,
    pin: TEST_PIN,
    se_card_crypto: CardCrypto::Sm4,
};

/// Stand-alone electronic-cash card of 赵六 at 中国银行 (¥500.00).
pub const E_CASH: TestCard = TestCard {
    pan: "6217861234567890",
    holder_name: "赵六",
    id_number: "510107198808084566",
    phone: "18612345678",
    kind: AccountKind::ECash,
    balance_fen: 50_000,
    issuer_name: "中国银行",
    status: AccountStatus::Active,
    pin: TEST_PIN,
    se_card_crypto: CardCrypto::Sm4,
};

/// Blocked debit card of 陈七 at 中国建设银行: binding answers `CARD_NOT_ELIGIBLE`.
pub const BLOCKED: TestCard = TestCard {
    pan: "6217001234567893",
    holder_name: "陈七",
    id_number: "330106197501015676",
    phone: "18812345678",
    kind: AccountKind::Debit,
    balance_fen: 100_000,
    issuer_name: "中国建设银行",
    status: AccountStatus::Blocked,
    pin: TEST_PIN,
    se_card_crypto: CardCrypto::Sm4,
};

/// 19-digit debit card of "Alice Smith" (Latin name) at 交通银行 (¥8,888.00).
pub const LATIN_NAME_DEBIT: TestCard = TestCard {
    pan: "6222601234567890126",
    holder_name: "Alice Smith",
    id_number: "110108199505236784",
    phone: "15987654321",
    kind: AccountKind::Debit,
    balance_fen: 888_800,
    issuer_name: "交通银行",
    status: AccountStatus::Active,
    pin: TEST_PIN,
    se_card_crypto: CardCrypto::Sm4,
};

/// Every card on file at the mock bank.
pub const ALL: [TestCard; 6] = [
    DEBIT,
    CREDIT,
    QUASI_CREDIT,
    E_CASH,
    BLOCKED,
    LATIN_NAME_DEBIT,
];

/// A card number with a valid Luhn check digit that is not on file (`UNKNOWN_CARD`).
pub const UNKNOWN_PAN: &str = "6222029999999996";

#[cfg(test)]
mod tests {
    use super::*;

    /// Luhn written independently of `bank::validate`: double every second digit from the right.
    fn luhn_ok(pan: &str) -> bool {
        let digits: Vec<u32> = pan.chars().filter_map(|c| c.to_digit(10)).collect();
        let sum: u32 = digits
            .iter()
            .rev()
            .enumerate()
            .map(|(i, &d)| {
                if i % 2 == 1 {
                    [0, 2, 4, 6, 8, 1, 3, 5, 7, 9][d as usize]
                } else {
                    d
                }
            })
            .sum();
        digits.len() == pan.len() && sum % 10 == 0
    }

    /// ISO 7064 MOD 11-2 check character of a PRC resident ID (GB 11643).
    fn prc_id_ok(id: &str) -> bool {
        const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
        let chars: Vec<char> = id.chars().collect();
        if chars.len() != 18 {
            return false;
        }
        let mut sum = 0;
        for (c, w) in chars.iter().zip(WEIGHTS) {
            match c.to_digit(10) {
                Some(d) => sum += d * w,
                None => return false,
            }
        }
        let check = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'][(sum % 11) as usize];
        chars.last() == Some(&check)
    }

    #[test]
    fn reference_numbers_check_the_checkers() {
        // Classic published Luhn examples.
        assert!(luhn_ok("79927398713"));
        assert!(!luhn_ok("79927398710"));
        assert!(luhn_ok("4111111111111111"));
        // GB 11643 example ID 11010519491231002X.
        assert!(prc_id_ok("11010519491231002X"));
        assert!(!prc_id_ok("110105194912310021"));
    }

    #[test]
    fn every_test_card_pan_passes_luhn_and_has_a_valid_length() {
        for card in ALL {
            assert!(luhn_ok(card.pan), "{}", card.pan);
            assert!((16..=19).contains(&card.pan.len()), "{}", card.pan);
        }
        assert!(luhn_ok(UNKNOWN_PAN));
        assert!(ALL.iter().all(|card| card.pan != UNKNOWN_PAN));
    }

    #[test]
    fn holders_have_well_formed_ids_and_phones() {
        for card in ALL {
            assert!(prc_id_ok(card.id_number), "{}", card.id_number);
            assert_eq!(card.phone.len(), 11);
            assert!(
                ["13", "15", "18"].iter().any(|p| card.phone.starts_with(p)),
                "{}",
                card.phone
            );
        }
    }

    #[test]
    fn the_table_covers_every_kind_a_blocked_card_and_a_latin_name() {
        for kind in [
            AccountKind::Debit,
            AccountKind::Credit,
            AccountKind::QuasiCredit,
            AccountKind::ECash,
        ] {
            assert!(ALL
                .iter()
                .any(|c| c.kind == kind && c.status == AccountStatus::Active));
        }
        assert!(ALL.iter().any(|c| c.status == AccountStatus::Blocked));
        assert!(ALL.iter().any(|c| c.holder_name.is_ascii()));
        let mut pans: Vec<_> = ALL.iter().map(|c| c.pan).collect();
        pans.sort_unstable();
        pans.dedup();
        assert_eq!(pans.len(), ALL.len());
    }

    #[test]
    fn cards_have_a_pin_and_both_algorithms_are_issued() {
        for card in ALL {
            assert_eq!(card.pin.len(), 6);
            assert!(card.pin.bytes().all(|b| b.is_ascii_digit()));
            assert_eq!(TestCard::by_pan(card.pan), Some(&card));
        }
        assert_eq!(TestCard::by_pan(UNKNOWN_PAN), None);
        assert_eq!(CREDIT.se_card_crypto, CardCrypto::Tdes);
        assert_eq!(DEBIT.se_card_crypto, CardCrypto::Sm4);
    }
}
