//! E-cash loads (圈存): the checks of a load authorisation and the issuer script that sets the
//! card's new balance.
//!
//! A load is an online transaction of type `60` ([`TRANSACTION_TYPE_LOAD`]) in CNY whose
//! request carries the card's e-cash balance and balance limit as the terminal read them
//! ([`EcashLoadRequest`]; the issuer keeps no copy of the card's e-cash state, so it trusts the
//! terminal's reading and the card enforces its limit again, `6A80`). New balance = balance +
//! amount; above the limit the load is refused (`13`) before any money moves.
//!
//! The script is the PUT DATA command `04 DA 9F 79 0A new-balance (n12) ‖ MAC (4)`, the MAC
//! ([`script_mac`]) under the SMI session key of the ARQC's ATC, derived from the card's MK-SMI
//! exactly as the card derives it (test issuer master keys per PAN / PSN, or the resolver's
//! per-card keys). Cards whose cryptograms are checked by another entity
//! ([`KeySource::Delegated`], HCE tokens) hold no e-cash and cannot be loaded (`12`).

use super::resolver::KeySource;
use super::verify::crypto_of_iad;
use super::{IssuerError, ACCOUNT_CURRENCY};
use wallet_core::backend::api::acquiring::{
    EcashLoadRequest, IccTransaction, ResponseCode, TRANSACTION_TYPE_LOAD,
};
use wallet_core::card::keys::{script_mac, SessionKey};
use wallet_core::card::perso::amount_n12;
use wallet_core::card::test_issuer::test_issuer_master_keys;

/// Header of the load script: `CLA INS P1 P2 Lc` (Lc counts the n12 value and the MAC).
pub const SCRIPT_HEADER: [u8; 5] = [0x04, 0xDA, 0x9F, 0x79, 0x0A];

/// Why a load is refused: the response code and the message.
pub type LoadRefusal = (ResponseCode, String);

/// Whether `txn` is an e-cash load.
pub fn is_load(txn: &IccTransaction) -> bool {
    txn.transaction_type_byte().ok() == Some(TRANSACTION_TYPE_LOAD)
}

/// The card's balance after the load `txn` described by `load`, or why it is refused.
pub fn new_balance(
    txn: &IccTransaction,
    load: Option<&EcashLoadRequest>,
) -> Result<u64, LoadRefusal> {
    let refuse = |code, message: &str| Err((code, message.to_owned()));
    if txn.currency != ACCOUNT_CURRENCY {
        return refuse(ResponseCode::InvalidTransaction, "e-cash is loaded in CNY");
    }
    let Some(load) = load else {
        return refuse(
            ResponseCode::InvalidTransaction,
            "a load needs the card's e-cash balance and limit",
        );
    };
    if txn.amount_authorised == 0 {
        return refuse(ResponseCode::InvalidAmount, "the amount is zero");
    }
    match load.ecash_balance.checked_add(txn.amount_authorised) {
        Some(balance) if balance <= load.balance_limit => Ok(balance),
        _ => refuse(
            ResponseCode::InvalidAmount,
            "the load would exceed the card's e-cash balance limit",
        ),
    }
}

/// The PUT DATA script setting the balance to `new_balance`, MAC included, or why the card
/// cannot be loaded.
pub fn script(
    keys: &KeySource,
    txn: &IccTransaction,
    new_balance: u64,
) -> Result<Result<Vec<u8>, LoadRefusal>, IssuerError> {
    let refuse = |code, message: &str| Ok(Err((code, message.to_owned())));
    let (Ok(iad), Ok(arqc)) = (txn.iad_bytes(), txn.cryptogram_bytes()) else {
        return refuse(ResponseCode::FormatError, "malformed card data");
    };
    let crypto = match crypto_of_iad(&iad) {
        Ok(crypto) => crypto,
        Err((code, message)) => return refuse(code, message),
    };
    let smi = match keys {
        KeySource::TestIssuer => {
            test_issuer_master_keys()
                .derive_card_keys(crypto, &txn.pan, txn.pan_sequence)?
                .smi
        }
        KeySource::IccMasterKeys(keys) => keys.smi.clone(),
        KeySource::Delegated(_) => {
            return refuse(
                ResponseCode::InvalidTransaction,
                "this card holds no e-cash",
            )
        }
    };
    let Ok(value) = amount_n12(new_balance) else {
        return refuse(ResponseCode::InvalidAmount, "balance beyond 12 digits");
    };
    let key = SessionKey::derive(crypto, &smi, txn.atc)?;
    let mac = script_mac(&key, &SCRIPT_HEADER, txn.atc, &arqc, &value)?;
    Ok(Ok([&SCRIPT_HEADER[..], &value, &mac].concat()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_txn(amount: u64) -> IccTransaction {
        IccTransaction {
            pan: "6222021234567894".into(),
            pan_sequence: 1,
            aid: "A000000333010101".into(),
            amount_authorised: amount,
            amount_other: 0,
            terminal_country: 156,
            currency: 156,
            transaction_date: "250314".into(),
            transaction_type: "60".into(),
            tvr: "0000000000".into(),
            unpredictable_number: "DEADBEEF".into(),
            ttq: "26800080".into(),
            aip: "2400".into(),
            atc: 7,
            iad: "07010103A0000001".into(),
            cryptogram: "0011223344556677".into(),
            cid: "80".into(),
            ctq: None,
        }
    }

    #[test]
    fn new_balance_respects_the_limit() {
        let load = EcashLoadRequest {
            ecash_balance: 8_766,
            balance_limit: 100_000,
        };
        assert!(is_load(&load_txn(1)));
        assert_eq!(new_balance(&load_txn(5_000), Some(&load)), Ok(13_766));
        assert_eq!(new_balance(&load_txn(91_234), Some(&load)), Ok(100_000));
        let over = new_balance(&load_txn(91_235), Some(&load)).unwrap_err();
        assert_eq!(over.0, ResponseCode::InvalidAmount);
        assert_eq!(
            new_balance(&load_txn(1), None).unwrap_err().0,
            ResponseCode::InvalidTransaction
        );
        assert_eq!(
            new_balance(&load_txn(0), Some(&load)).unwrap_err().0,
            ResponseCode::InvalidAmount
        );
    }

    #[test]
    fn script_is_put_data_with_the_n12_balance() {
        let script = script(&KeySource::TestIssuer, &load_txn(5_000), 13_766)
            .unwrap()
            .unwrap();
        assert_eq!(
            hex::encode_upper(&script[..11]),
            "04DA9F790A000000013766",
            "header and n12 value"
        );
        assert_eq!(script.len(), 15, "plus a 4-byte MAC");
    }
}
