//! Local checks run before anything reaches the bank: card number (length, Luhn), phone number,
//! holder name and ID number. Each returns the normalized value or a [`ValidationError`].

use zeroize::Zeroizing;

/// An input failed a local check; nothing was sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    /// The card number is not 13–19 digits or fails the Luhn check.
    #[error("invalid card number: {0}")]
    InvalidCardNumber(&'static str),
    /// The phone number is not an 11-digit mainland number (optionally `+86`).
    #[error("invalid phone number: {0}")]
    InvalidPhone(&'static str),
    /// Another field is malformed.
    #[error("invalid {field}: {reason}")]
    InvalidField {
        /// The field's name.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// Whether `digits` (ASCII digits only) passes the Luhn (mod 10) check.
pub fn luhn_valid(digits: &str) -> bool {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 {
                    doubled - 9
                } else {
                    doubled
                }
            } else {
                d
            }
        })
        .sum();
    sum % 10 == 0
}

/// Normalizes a card number (spaces and dashes removed) and checks its length and Luhn digit.
pub fn card_number(input: &str) -> Result<String, ValidationError> {
    let pan: String = input.chars().filter(|c| *c != ' ' && *c != '-').collect();
    if !pan.chars().all(|c| c.is_ascii_digit()) {
        return Err(ValidationError::InvalidCardNumber(
            "only digits are allowed",
        ));
    }
    if !(13..=19).contains(&pan.len()) {
        return Err(ValidationError::InvalidCardNumber(
            "must be 13 to 19 digits",
        ));
    }
    if !luhn_valid(&pan) {
        return Err(ValidationError::InvalidCardNumber("check digit is wrong"));
    }
    Ok(pan)
}

/// Normalizes a mainland China mobile number: strips spaces, dashes and a `+86` / `86` prefix;
/// requires 11 digits starting with 1.
pub fn phone(input: &str) -> Result<String, ValidationError> {
    let compact: String = input.chars().filter(|c| *c != ' ' && *c != '-').collect();
    let local = compact
        .strip_prefix("+86")
        .or_else(|| {
            (compact.len() == 13)
                .then(|| compact.strip_prefix("86"))
                .flatten()
        })
        .unwrap_or(&compact);
    if local.len() != 11 || !local.chars().all(|c| c.is_ascii_digit()) {
        return Err(ValidationError::InvalidPhone("must be 11 digits"));
    }
    if !local.starts_with('1') {
        return Err(ValidationError::InvalidPhone("must start with 1"));
    }
    Ok(local.to_owned())
}

/// Trims the holder name; it must be 1–64 characters with no control characters.
pub fn holder_name(input: &str) -> Result<String, ValidationError> {
    let name = input.trim();
    let invalid = |reason| ValidationError::InvalidField {
        field: "holder_name",
        reason,
    };
    if name.is_empty() {
        return Err(invalid("must not be empty"));
    }
    if name.chars().count() > 64 {
        return Err(invalid("must be at most 64 characters"));
    }
    if name.chars().any(char::is_control) {
        return Err(invalid("must not contain control characters"));
    }
    Ok(name.to_owned())
}

/// The ID number or its tail: 4–18 characters, digits with an optional final `X` (upper-cased).
pub fn id_number(input: &str) -> Result<String, ValidationError> {
    let id = input.trim().to_ascii_uppercase();
    let invalid = |reason| ValidationError::InvalidField {
        field: "id_number",
        reason,
    };
    if !id.is_ascii() {
        return Err(invalid("must be digits, optionally ending in X"));
    }
    if !(4..=18).contains(&id.len()) {
        return Err(invalid(
            "give the full ID number or at least its last 4 characters",
        ));
    }
    let (body, last) = id.split_at(id.len() - 1);
    let well_formed = body.chars().all(|c| c.is_ascii_digit())
        && last.chars().all(|c| c.is_ascii_digit() || c == 'X');
    if !well_formed {
        return Err(invalid("must be digits, optionally ending in X"));
    }
    Ok(id)
}

/// Six-digit one-time code, surrounding spaces ignored; returned in memory zeroized on drop.
pub fn otp(input: &str) -> Result<Zeroizing<String>, ValidationError> {
    let code = input.trim();
    if code.len() != 6 || !code.chars().all(|c| c.is_ascii_digit()) {
        return Err(ValidationError::InvalidField {
            field: "otp",
            reason: "must be 6 digits",
        });
    }
    Ok(Zeroizing::new(code.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn luhn_matches_published_examples() {
        // ISO/IEC 7812 example and well-known test numbers.
        assert!(luhn_valid("79927398713"));
        assert!(luhn_valid("4111111111111111"));
        assert!(luhn_valid("6250941006528599")); // UnionPay test card number (published)
        assert!(!luhn_valid("79927398710"));
        assert!(!luhn_valid("4111111111111112"));
        assert!(!luhn_valid(""));
        assert!(!luhn_valid("12a4"));
    }

    #[test]
    fn card_number_normalizes_and_checks() {
        assert_eq!(
            card_number("4111 1111-1111 1111").unwrap(),
            "4111111111111111"
        );
        assert!(matches!(
            card_number("4111111111111112"),
            Err(ValidationError::InvalidCardNumber(_))
        ));
        assert!(matches!(
            card_number("411111111111"),
            Err(ValidationError::InvalidCardNumber(_))
        ));
        assert!(matches!(
            card_number("41111111111111111111"),
            Err(ValidationError::InvalidCardNumber(_))
        ));
        assert!(matches!(
            card_number("4111x11111111111"),
            Err(ValidationError::InvalidCardNumber(_))
        ));
    }

    #[test]
    fn phone_accepts_mainland_formats() {
        assert_eq!(phone("13800138000").unwrap(), "13800138000");
        assert_eq!(phone("+86 138-0013-8000").unwrap(), "13800138000");
        assert_eq!(phone("8613800138000").unwrap(), "13800138000");
        assert!(phone("1380013800").is_err());
        assert!(phone("23800138000").is_err());
        assert!(phone("1380013800a").is_err());
    }

    #[test]
    fn id_number_accepts_full_or_tail() {
        assert_eq!(
            id_number("11010519491231002x").unwrap(),
            "11010519491231002X"
        );
        assert_eq!(id_number("002X").unwrap(), "002X");
        assert!(id_number("02X").is_err());
        assert!(id_number("12X4").is_err());
    }

    #[test]
    fn otp_and_name() {
        assert_eq!(otp(" 123456 ").unwrap().as_str(), "123456");
        assert!(otp("12345").is_err());
        assert!(otp("12345a").is_err());
        assert_eq!(holder_name("  张三 ").unwrap(), "张三");
        assert!(holder_name("   ").is_err());
        assert!(holder_name("a\u{0}b").is_err());
    }

    proptest! {
        #[test]
        fn validators_never_panic(s in ".{0,40}") {
            let _ = card_number(&s);
            let _ = phone(&s);
            let _ = holder_name(&s);
            let _ = id_number(&s);
            let _ = otp(&s);
        }

        #[test]
        fn a_single_changed_digit_breaks_luhn(body in "[0-9]{12,18}", pos in 0usize..19, delta in 1u8..10) {
            // Complete `body` with its check digit, then change one digit: Luhn must fail.
            let check = (0..10u8).map(|d| format!("{body}{d}")).find(|n| luhn_valid(n)).unwrap();
            let mut bytes = check.into_bytes();
            let i = pos % bytes.len();
            bytes[i] = b'0' + (bytes[i] - b'0' + delta) % 10;
            prop_assert!(!luhn_valid(std::str::from_utf8(&bytes).unwrap()));
        }
    }
}
