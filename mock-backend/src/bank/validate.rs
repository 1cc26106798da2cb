//! Input checks and masking rules of the bank: card numbers, real-name data, device keys.

/// Length of a SEC1 uncompressed P-256 point.
pub const P256_SEC1_LEN: usize = 65;

/// Whether `pan` has 13 to 19 ASCII digits (no separators: this is the wire form) and a valid
/// Luhn check digit — the wallet's own check, [`wallet_core::binding::validate::card_number`].
pub fn is_valid_pan(pan: &str) -> bool {
    pan.bytes().all(|b| b.is_ascii_digit())
        && wallet_core::binding::validate::card_number(pan).is_ok()
}

/// Masks a card number to its first 6 and last 4 digits (`622202******7894`).
pub fn mask_pan(pan: &str) -> String {
    let len = pan.len();
    match (pan.get(..6), pan.get(len.saturating_sub(4)..)) {
        (Some(head), Some(tail)) if len > 10 => format!("{head}{}{tail}", "*".repeat(len - 10)),
        _ => "*".repeat(len),
    }
}

/// Masks a holder's name: every character but the last becomes `*` (`张三` → `*三`).
pub fn mask_name(name: &str) -> String {
    let count = name.chars().count();
    name.chars()
        .enumerate()
        .map(|(i, c)| if i + 1 == count { c } else { '*' })
        .collect()
}

/// Whether `given` identifies the holder whose full ID is `on_file`: the full ID, or a suffix of
/// at least 4 characters; the check character `X` is matched case-insensitively.
pub fn id_matches(given: &str, on_file: &str) -> bool {
    let given = given.trim().to_ascii_uppercase();
    let on_file = on_file.to_ascii_uppercase();
    given.chars().count() >= 4 && on_file.ends_with(&given)
}

/// Parses a device public key: hex of a 65-byte SEC1 uncompressed point (`04 || X || Y`).
/// A shape check only; the point is validated by the first signature verification.
pub fn parse_device_key(hex_key: &str) -> Option<Vec<u8>> {
    let bytes = hex::decode(hex_key.trim()).ok()?;
    (bytes.len() == P256_SEC1_LEN && bytes.first() == Some(&0x04)).then_some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_on_published_examples() {
        assert!(is_valid_pan("4111111111111111"));
        assert!(is_valid_pan("5555555555554444"));
        assert!(is_valid_pan("6011111111111117"));
        assert!(!is_valid_pan("4111111111111112"));
        // Right checksum, wrong length.
        assert!(!is_valid_pan("79927398713"));
        assert!(!is_valid_pan("4111 1111 1111 1111"));
        assert!(!is_valid_pan("411111111111111a"));
        assert!(!is_valid_pan(""));
        assert!(!is_valid_pan(&"0".repeat(20)));
    }

    #[test]
    fn masks() {
        assert_eq!(mask_pan("6222021234567894"), "622202******7894");
        assert_eq!(mask_pan("6222601234567890126"), "622260*********0126");
        assert_eq!(mask_name("张三"), "*三");
        assert_eq!(mask_name("王小明"), "**明");
        assert_eq!(mask_name("Alice Smith"), "**********h");
        assert_eq!(mask_name("李"), "李");
    }

    #[test]
    fn id_suffix_rules() {
        let id = "31010419851215002X";
        assert!(id_matches(id, id));
        assert!(id_matches("002x", id));
        assert!(id_matches(" 1215002X ", id));
        assert!(!id_matches("02X", id));
        assert!(!id_matches("003X", id));
        assert!(!id_matches("", id));
        assert!(!id_matches("x31010419851215002X", id));
    }

    #[test]
    fn device_key_shape() {
        let good = format!("04{}", "ab".repeat(64));
        assert_eq!(parse_device_key(&good).map(|k| k.len()), Some(65));
        assert!(parse_device_key(&format!("02{}", "ab".repeat(32))).is_none());
        assert!(parse_device_key(&format!("05{}", "ab".repeat(64))).is_none());
        assert!(parse_device_key(&format!("04{}", "ab".repeat(63))).is_none());
        assert!(parse_device_key("zz").is_none());
    }
}
