//! The merchants the mock acquirer serves (fictional), and the acquiring institution.
//!
//! | merchant id | name |
//! |---|---|
//! | `898310058120001` | 模拟便利店 (mock convenience store) |
//! | `898310058120002` | 模拟咖啡馆 (mock café) |
//!
//! Both are acquired by the institution `48020000` "Mock Acquirer". Any terminal id of 8 letters
//! or digits is accepted for a known merchant.

use crate::clearing::Institution;

/// Identifier of the mock acquiring institution.
pub const ACQUIRER_ID: &str = "48020000";
/// Name of the mock acquiring institution.
pub const ACQUIRER_NAME: &str = "Mock Acquirer";

/// A merchant of the acquirer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Merchant {
    /// Merchant identifier (`9F16`, 15 characters).
    pub id: &'static str,
    /// Merchant name.
    pub name: &'static str,
}

/// The mock convenience store.
pub const CONVENIENCE_STORE: Merchant = Merchant {
    id: "898310058120001",
    name: "模拟便利店",
};

/// The mock café.
pub const CAFE: Merchant = Merchant {
    id: "898310058120002",
    name: "模拟咖啡馆",
};

/// Every merchant of the acquirer.
pub const ALL: [Merchant; 2] = [CONVENIENCE_STORE, CAFE];

/// The merchant with identifier `id`.
pub fn find(id: &str) -> Option<Merchant> {
    ALL.into_iter().find(|m| m.id == id)
}

/// The acquiring institution of every merchant here.
pub fn acquirer() -> Institution {
    Institution {
        id: ACQUIRER_ID.to_owned(),
        name: ACQUIRER_NAME.to_owned(),
    }
}
