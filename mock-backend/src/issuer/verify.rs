//! The issuer's cryptography, all from the core's one implementation
//! ([`wallet_core::card::keys`], [`wallet_core::card::test_issuer`]): the card's algorithm from
//! its issuer application data, the ICC master key, the session key of the ATC, the application
//! cryptogram check and the ARPC.

use super::resolver::KeySource;
use super::IssuerError;
use crate::state::AppState;
use wallet_core::backend::api::acquiring::{IccTransaction, ResponseCode};
use wallet_core::card::keys::{arpc_method_1, verify_application_cryptogram, SessionKey, AC_LEN};
use wallet_core::card::test_issuer::test_issuer_master_keys;
use wallet_core::card::CardCrypto;
use wallet_core::crypto::CryptoError;

/// Why a cryptogram was not accepted, as a response code and a message.
pub type Refusal = (ResponseCode, &'static str);

/// The algorithm byte of this profile's issuer application data (`9F10`):
/// `07 ‖ DKI ‖ CVN ‖ 03 ‖ CVR (3) ‖ algorithm` with `01` 3DES, `04` SM4.
pub fn crypto_of_iad(iad: &[u8]) -> Result<CardCrypto, Refusal> {
    match iad {
        [0x07, _, _, 0x03, _, _, _, algorithm, ..] => match algorithm {
            0x01 => Ok(CardCrypto::Tdes),
            0x04 => Ok(CardCrypto::Sm4),
            _ => Err((ResponseCode::FormatError, "unknown algorithm in the IAD")),
        },
        _ => Err((
            ResponseCode::FormatError,
            "issuer application data not understood",
        )),
    }
}

/// A verified application cryptogram: the session key that produced it, for the ARPC.
#[derive(Debug)]
pub struct Verified {
    key: SessionKey,
    cryptogram: [u8; AC_LEN],
}

/// Recomputes the application cryptogram of `txn` under the card's keys and compares it (or
/// lets the owner of delegated keys do it). `known` is the card's algorithm if the issuer knows
/// it.
pub fn verify_cryptogram(
    world: &AppState,
    txn: &IccTransaction,
    keys: &KeySource,
    known: Option<CardCrypto>,
    now: u64,
) -> Result<Result<Verified, Refusal>, IssuerError> {
    let Ok(iad) = txn.iad_bytes() else {
        return Ok(Err((ResponseCode::FormatError, "malformed IAD")));
    };
    let crypto = match crypto_of_iad(&iad) {
        Ok(crypto) => crypto,
        Err(refusal) => return Ok(Err(refusal)),
    };
    if known.is_some_and(|k| k != crypto) {
        return Ok(Err((
            ResponseCode::CryptogramFailure,
            "the IAD names another algorithm than the card's",
        )));
    }
    let (Ok(data), Ok(cryptogram)) = (txn.cryptogram_data(), txn.cryptogram_bytes()) else {
        return Ok(Err((ResponseCode::FormatError, "malformed card data")));
    };
    let card_keys = match keys {
        KeySource::TestIssuer => {
            test_issuer_master_keys().derive_card_keys(crypto, &txn.pan, txn.pan_sequence)?
        }
        KeySource::IccMasterKeys(keys) => keys.clone(),
        KeySource::Delegated(check) => {
            return Ok(check
                .check(world, txn, now)?
                .map(|key| Verified { key, cryptogram }));
        }
    };
    let key = SessionKey::derive(crypto, &card_keys.ac, txn.atc)?;
    Ok(
        match verify_application_cryptogram(&key, &data.encode(), &cryptogram) {
            Ok(()) => Ok(Verified { key, cryptogram }),
            Err(_) => Err((
                ResponseCode::CryptogramFailure,
                "the application cryptogram does not verify",
            )),
        },
    )
}

impl Verified {
    /// ARPC method 1 over the verified ARQC and the ARC of `code` (`None` if the code has no
    /// two-character ARC).
    pub fn arpc(&self, code: &ResponseCode) -> Result<Option<[u8; AC_LEN]>, CryptoError> {
        code.arc()
            .map(|arc| arpc_method_1(&self.key, &self.cryptogram, &arc))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn algorithm_comes_from_the_last_iad_byte() {
        assert_eq!(
            crypto_of_iad(&[0x07, 0x01, 0x01, 0x03, 0xA0, 0, 0, 0x01]),
            Ok(CardCrypto::Tdes)
        );
        assert_eq!(
            crypto_of_iad(&[0x07, 0x01, 0x01, 0x03, 0xA0, 0, 0, 0x04, 0xFF]),
            Ok(CardCrypto::Sm4)
        );
        assert!(crypto_of_iad(&[0x07, 0x01, 0x01, 0x03, 0xA0, 0, 0, 0x02]).is_err());
        assert!(crypto_of_iad(&[0x06, 0x01, 0x01, 0x03, 0xA0, 0, 0]).is_err());
        assert!(crypto_of_iad(&[]).is_err());
    }
}
