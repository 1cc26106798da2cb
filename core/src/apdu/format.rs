//! Data element formats (EMV Book 3 §4.3, Annex A1) where DOL processing needs them.

use super::tag::Tag;

/// The format of a data element, as far as DOL truncation and padding care.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataFormat {
    /// `n`: BCD digits, right-justified, padded with leading zeroes (amounts, dates, codes).
    Numeric,
    /// `cn`: BCD digits, left-justified, padded with trailing `F` nibbles (PAN).
    CompressedNumeric,
    /// `a`, `an`, `ans`, `b`: everything else.
    Other,
}

/// Tags of format `n` among those terminals and cards commonly exchange (EMV Book 3 Annex A1;
/// PBOC 3.0 for the electronic cash amounts `9F77`, `9F78`, `9F79`, `9F6D`).
const NUMERIC: &[u32] = &[
    0x5F24, // Application expiration date, n 6 (YYMMDD)
    0x5F25, // Application effective date, n 6
    0x5F28, // Issuer country code, n 3
    0x5F2A, // Transaction currency code, n 3
    0x5F34, // Application PAN sequence number, n 2
    0x5F36, // Transaction currency exponent, n 1
    0x9A,   // Transaction date, n 6
    0x9C,   // Transaction type, n 2
    0x9F01, // Acquirer identifier, n 6-11
    0x9F02, // Amount, authorised, n 12
    0x9F03, // Amount, other, n 12
    0x9F11, // Issuer code table index, n 2
    0x9F15, // Merchant category code, n 4
    0x9F1A, // Terminal country code, n 3
    0x9F21, // Transaction time, n 6
    0x9F35, // Terminal type, n 2
    0x9F3C, // Transaction reference currency code, n 3
    0x9F3D, // Transaction reference currency exponent, n 1
    0x9F41, // Transaction sequence counter, n 4-8
    0x9F42, // Application currency code, n 3
    0x9F44, // Application currency exponent, n 1
    0x9F6D, // PBOC electronic cash reset threshold, n 12
    0x9F77, // PBOC electronic cash balance limit, n 12
    0x9F78, // PBOC electronic cash single transaction limit, n 12
    0x9F79, // PBOC electronic cash balance, n 12
];

/// Tags of format `cn`.
const COMPRESSED_NUMERIC: &[u32] = &[
    0x5A,   // Application PAN, cn up to 19
    0x9F20, // Track 2 discretionary data, cn
];

impl DataFormat {
    /// The format of `tag` according to the built-in table; unknown tags are
    /// [`DataFormat::Other`].
    pub fn of(tag: Tag) -> DataFormat {
        let raw = tag.value();
        if NUMERIC.contains(&raw) {
            DataFormat::Numeric
        } else if COMPRESSED_NUMERIC.contains(&raw) {
            DataFormat::CompressedNumeric
        } else {
            DataFormat::Other
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_entries_are_valid_tags_and_disjoint() {
        for &raw in NUMERIC.iter().chain(COMPRESSED_NUMERIC) {
            assert!(Tag::new(raw).is_ok(), "{raw:X}");
        }
        for raw in NUMERIC {
            assert!(!COMPRESSED_NUMERIC.contains(raw));
        }
    }

    #[test]
    fn common_tags() {
        let of = |raw| DataFormat::of(Tag::new(raw).unwrap());
        for raw in [
            0x9F02, 0x9F03, 0x5F2A, 0x9F1A, 0x9A, 0x9C, 0x9F21, 0x5F36, 0x9F79,
        ] {
            assert_eq!(of(raw), DataFormat::Numeric, "{raw:X}");
        }
        assert_eq!(of(0x5A), DataFormat::CompressedNumeric);
        for raw in [0x9F66, 0x95, 0x9F37, 0x9F4E, 0x9F33, 0x82, 0x9F36] {
            assert_eq!(of(raw), DataFormat::Other, "{raw:X}");
        }
    }
}
