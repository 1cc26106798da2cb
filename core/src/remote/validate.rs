//! Local checks of what the user types, before anything is sent.

use super::RemotePayError;

/// A payment password: exactly 6 ASCII digits.
pub(super) fn password(password: &str) -> Result<(), RemotePayError> {
    digits(password, 6, 6).ok_or(RemotePayError::InvalidPassword)
}

/// A card PIN: 4 to 12 ASCII digits.
pub(super) fn pin(pin: &str) -> Result<(), RemotePayError> {
    digits(pin, 4, 12).ok_or(RemotePayError::InvalidPin)
}

/// An order id the platform could have issued: 1–64 characters of `A–Z a–z 0–9 - _ .`, so it
/// is safe in a URL path and in the payment message.
pub(super) fn order_id(order_id: &str) -> Result<(), RemotePayError> {
    let ok = (1..=64).contains(&order_id.len())
        && order_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(RemotePayError::InvalidOrderId)
    }
}

fn digits(value: &str, min: usize, max: usize) -> Option<()> {
    ((min..=max).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_digit())).then_some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_six_digits() {
        assert!(password("135790").is_ok());
        for bad in ["", "12345", "1234567", "12345a", "１２３４５６", "12 456"] {
            assert!(
                matches!(password(bad), Err(RemotePayError::InvalidPassword)),
                "{bad}"
            );
        }
    }

    #[test]
    fn pins_are_four_to_twelve_digits() {
        assert!(pin("1234").is_ok());
        assert!(pin("123456789012").is_ok());
        for bad in ["123", "1234567890123", "12a4"] {
            assert!(matches!(pin(bad), Err(RemotePayError::InvalidPin)), "{bad}");
        }
    }

    #[test]
    fn order_ids_are_url_and_message_safe() {
        assert!(order_id("ord-20261125-0001_a.b").is_ok());
        for bad in ["", "a/b", "a?b", "a b", "a=b", "a\nb", &"x".repeat(65)] {
            assert!(
                matches!(order_id(bad), Err(RemotePayError::InvalidOrderId)),
                "{bad:?}"
            );
        }
    }
}
