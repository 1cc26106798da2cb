//! Application identifiers of the payment application (UnionPay registered AIDs) and its
//! GlobalPlatform load file.

use crate::backend::api::AccountKind;

/// Proximity payment system environment name, `2PAY.SYS.DDF01`.
pub const PPSE: &[u8] = b"2PAY.SYS.DDF01";
/// UnionPay debit.
pub const DEBIT: [u8; 8] = [0xA0, 0x00, 0x00, 0x03, 0x33, 0x01, 0x01, 0x01];
/// UnionPay credit.
pub const CREDIT: [u8; 8] = [0xA0, 0x00, 0x00, 0x03, 0x33, 0x01, 0x01, 0x02];
/// UnionPay quasi-credit.
pub const QUASI_CREDIT: [u8; 8] = [0xA0, 0x00, 0x00, 0x03, 0x33, 0x01, 0x01, 0x03];
/// UnionPay electronic cash.
pub const E_CASH: [u8; 8] = [0xA0, 0x00, 0x00, 0x03, 0x33, 0x01, 0x01, 0x06];
/// Load file (package) of the payment application in the SE (`A0000003330101`).
pub const PAYMENT_LOAD_FILE: [u8; 7] = [0xA0, 0x00, 0x00, 0x03, 0x33, 0x01, 0x01];
/// Executable module of the payment application inside its load file.
pub const PAYMENT_MODULE: [u8; 8] = [0xA0, 0x00, 0x00, 0x03, 0x33, 0x01, 0x01, 0x00];

/// The application AID of an account kind (also the SE instance AID of its card).
pub fn for_account(kind: AccountKind) -> [u8; 8] {
    match kind {
        AccountKind::Debit => DEBIT,
        AccountKind::Credit => CREDIT,
        AccountKind::QuasiCredit => QUASI_CREDIT,
        AccountKind::ECash => E_CASH,
    }
}

/// The application label (tag `50`) of an account kind's application.
pub fn label(kind: AccountKind) -> &'static [u8] {
    match kind {
        AccountKind::Debit => b"UnionPay Debit",
        AccountKind::Credit => b"UnionPay Credit",
        AccountKind::QuasiCredit => b"UnionPay QCredit",
        AccountKind::ECash => b"UnionPay E-Cash",
    }
}

/// The account kind whose application has this AID.
pub fn account_of(aid: &[u8]) -> Option<AccountKind> {
    [
        AccountKind::Debit,
        AccountKind::Credit,
        AccountKind::QuasiCredit,
        AccountKind::ECash,
    ]
    .into_iter()
    .find(|kind| for_account(*kind) == aid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aids_round_trip_and_ppse_is_the_emv_name() {
        assert_eq!(hex::encode_upper(PPSE), "325041592E5359532E4444463031");
        for kind in [
            AccountKind::Debit,
            AccountKind::Credit,
            AccountKind::QuasiCredit,
            AccountKind::ECash,
        ] {
            assert_eq!(account_of(&for_account(kind)), Some(kind));
            assert!(for_account(kind).starts_with(&PAYMENT_LOAD_FILE));
        }
        assert_eq!(hex::encode_upper(E_CASH), "A000000333010106");
        assert_eq!(account_of(&PAYMENT_MODULE), None);
        assert_eq!(label(AccountKind::ECash), b"UnionPay E-Cash");
        assert!(label(AccountKind::QuasiCredit).len() <= 16);
    }
}
