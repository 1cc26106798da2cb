//! Limited-use keys (LUK): the one derivation shared by the token service that issues them, the
//! HCE card that computes cryptograms with them and the issuer that checks those cryptograms.
//!
//! An HCE card is a *token*: a virtual PAN (with its PSN) bound to the real account. The phone
//! never holds the token's ICC master keys; it receives a batch of limited-use keys, each one the
//! card application's AC master key for a few transactions.
//!
//! | step | 3DES profile ([`CardCrypto::Tdes`]) | SM4 profile ([`CardCrypto::Sm4`]) |
//! |---|---|---|
//! | token MK-AC from IMK-AC | EMV Book 2 A1.4.1 option A over token PAN / PSN ([`derive_icc_master_key`]) | PBOC, the same over token PAN / PSN |
//! | `LUK_i` from MK-AC | `3DES(MK-AC)[00 i F0 00×5] ‖ 3DES(MK-AC)[00 i 0F 00×5]`, odd parity | `SM4(MK-AC)[00 i F0 00×13]` |
//! | session key of ATC `n` | [`SessionKey::derive`] with `LUK_i` as the master key | the same |
//! | ARQC / ARPC | [`crate::card::keys`], unchanged | the same |
//!
//! `LUK_i` is thus the EMV common session key derivation (A1.3.1) of the token's MK-AC with the
//! diversification value `R = i` (key index as two bytes, `00 i`). The token's MK-AC serves for
//! nothing else: the phone's card application is personalised with `ac = LUK_i` and derives its
//! per-ATC session keys from it, and the issuer recomputes `LUK_i`, then the session key.
//!
//! The key index `i` (1 to 255; 0 is never issued) travels in the issuer application data: the
//! card application writes its derivation key index (DGI `9104` `DF04`,
//! [`crate::card::RiskParams::derivation_key_index`]) into byte 2 of `9F10`
//! (`07 ‖ DKI ‖ CVN ‖ 03 ‖ CVR ‖ algorithm`), and the HCE card is personalised with DKI = `i`.
//! [`key_index_of_iad`] reads it back.
//!
//! Each LUK is limited in use: at most [`DEFAULT_MAX_USES`] transactions and
//! [`DEFAULT_TTL_SECS`] seconds of life (the token service may choose others and says so in each
//! key's limits). The phone never uses a key beyond either limit; the issuer refuses a cryptogram
//! of a spent or expired key.
//!
//! Known answers (IMK-AC = the test IMK, token PAN `6288891234567890`, PSN 1), computed with
//! Python `cryptography` independently of this crate — see the tests.

use crate::card::keys::{
    derive_icc_master_key, verify_application_cryptogram, CryptogramData, IssuerMasterKeys,
    SessionKey, AC_LEN,
};
use crate::card::perso::CardCrypto;
use crate::crypto::des::tdes_ecb_encrypt;
use crate::crypto::sm4::{sm4_ecb_encrypt, BLOCK_LEN as SM4_BLOCK};
use crate::crypto::CryptoError;
use zeroize::Zeroizing;

/// Index of a limited-use key within its token (the DKI of `9F10`).
pub type LukIndex = u8;
/// The first key index a token service issues.
pub const FIRST_LUK_INDEX: LukIndex = 1;
/// The last key index a token can have; a token whose keys are all issued must be replaced.
pub const LAST_LUK_INDEX: LukIndex = 255;
/// Default number of transactions one LUK may serve.
pub const DEFAULT_MAX_USES: u32 = 5;
/// Default life of one LUK, in seconds (24 h).
pub const DEFAULT_TTL_SECS: u64 = 24 * 60 * 60;

/// A limited-use key: 16 bytes, zeroized on drop.
pub type LukKey = Zeroizing<[u8; 16]>;

/// `LUK_i` from the token's ICC master key for application cryptograms (see the
/// [module table](self)). Index 0 is refused.
pub fn luk_from_master_key(
    crypto: CardCrypto,
    mk_ac: &[u8; 16],
    index: LukIndex,
) -> Result<LukKey, CryptoError> {
    if index < FIRST_LUK_INDEX {
        return Err(CryptoError::InvalidInput("LUK index 0 is never issued"));
    }
    let mut key = Zeroizing::new([0u8; 16]);
    match crypto {
        CardCrypto::Tdes => {
            let input = [
                0, index, 0xF0, 0, 0, 0, 0, 0, //
                0, index, 0x0F, 0, 0, 0, 0, 0,
            ];
            let out = Zeroizing::new(tdes_ecb_encrypt(&mk_ac[..], &input)?);
            let src = out
                .get(..16)
                .ok_or(CryptoError::InvalidInput("cipher output"))?;
            key.copy_from_slice(src);
            key.iter_mut().for_each(|b| *b = odd_parity(*b));
        }
        CardCrypto::Sm4 => {
            let mut input = [0u8; SM4_BLOCK];
            input[1] = index;
            input[2] = 0xF0;
            let out = Zeroizing::new(sm4_ecb_encrypt(mk_ac, &input)?);
            let src = out
                .get(..16)
                .ok_or(CryptoError::InvalidInput("cipher output"))?;
            key.copy_from_slice(src);
        }
    }
    Ok(key)
}

/// `LUK_i` of token `token_pan` / `psn` from the issuer master keys (IMK-AC): the token's MK-AC,
/// then [`luk_from_master_key`].
pub fn derive_luk(
    imk: &IssuerMasterKeys,
    crypto: CardCrypto,
    token_pan: &str,
    psn: u8,
    index: LukIndex,
) -> Result<LukKey, CryptoError> {
    let mk_ac = derive_icc_master_key(crypto, &imk.ac, token_pan, psn)?;
    luk_from_master_key(crypto, &mk_ac, index)
}

/// The key index carried in issuer application data `9F10` (byte 2 of the 8-byte
/// `07 ‖ DKI ‖ CVN ‖ 03 ‖ CVR ‖ algorithm`); `None` for another layout.
pub fn key_index_of_iad(iad: &[u8]) -> Option<LukIndex> {
    match iad {
        [0x07, dki, _, 0x03, _, _, _, _] if *dki >= FIRST_LUK_INDEX => Some(*dki),
        _ => None,
    }
}

/// The issuer's side of the derivation: from the issuer master keys to the session key of one
/// HCE transaction, and the ARQC check.
#[derive(Debug, Clone, Copy, Default)]
pub struct IssuerView;

impl IssuerView {
    /// `LUK_i` of a token (see [`derive_luk`]).
    pub fn derive_luk(
        imk: &IssuerMasterKeys,
        crypto: CardCrypto,
        token_pan: &str,
        psn: u8,
        index: LukIndex,
    ) -> Result<LukKey, CryptoError> {
        derive_luk(imk, crypto, token_pan, psn, index)
    }

    /// The AC session key of transaction `atc` made with `LUK_i` (for the ARQC check and the
    /// ARPC).
    pub fn session_key(
        imk: &IssuerMasterKeys,
        crypto: CardCrypto,
        token_pan: &str,
        psn: u8,
        index: LukIndex,
        atc: u16,
    ) -> Result<SessionKey, CryptoError> {
        let luk = derive_luk(imk, crypto, token_pan, psn, index)?;
        SessionKey::derive(crypto, &luk, atc)
    }

    /// Checks an ARQC of an HCE token: the key index comes from `iad` (`9F10`), the ATC from
    /// `data`. Returns the key index on success; [`CryptoError::VerificationFailed`] for a wrong
    /// cryptogram, [`CryptoError::InvalidInput`] for an IAD without a key index.
    pub fn verify_arqc(
        imk: &IssuerMasterKeys,
        crypto: CardCrypto,
        token_pan: &str,
        psn: u8,
        iad: &[u8],
        data: &CryptogramData,
        arqc: &[u8],
    ) -> Result<LukIndex, CryptoError> {
        let index = key_index_of_iad(iad).ok_or(CryptoError::InvalidInput("IAD key index"))?;
        if arqc.len() != AC_LEN {
            return Err(CryptoError::VerificationFailed);
        }
        let key = Self::session_key(imk, crypto, token_pan, psn, index, data.atc)?;
        verify_application_cryptogram(&key, &data.encode(), arqc)?;
        Ok(index)
    }
}

/// `b` with its least significant bit set so that it has an odd number of one bits.
const fn odd_parity(b: u8) -> u8 {
    let high = b & 0xFE;
    if high.count_ones() % 2 == 0 {
        high | 1
    } else {
        high
    }
}

#[cfg(test)]
mod tests {
    //! Known answers computed with Python `cryptography` (TripleDES, SM4 in ECB / CBC), written
    //! out step by step from the module table, not with this crate.
    use super::*;
    use crate::card::keys::application_cryptogram;
    use crate::card::test_issuer::test_issuer_master_keys;

    const PAN: &str = "6288891234567890";

    fn hex16(key: &LukKey) -> String {
        hex::encode_upper(&key[..])
    }

    #[test]
    fn tdes_luks_match_known_answers() {
        let imk = test_issuer_master_keys();
        let mk = derive_icc_master_key(CardCrypto::Tdes, &imk.ac, PAN, 1).unwrap();
        assert_eq!(
            hex::encode_upper(&mk[..]),
            "5E8C7C51FD8F3D3D9D1FF173B9B36804"
        );
        for (i, want) in [
            (1, "BF467CFB0E970413EAADA210E9D643A4"),
            (2, "7F0BA8A4983D5B9749238C2F8A0B83B3"),
            (255, "AE19E394461380A2FEFDD002794A915B"),
        ] {
            let luk = derive_luk(&imk, CardCrypto::Tdes, PAN, 1, i).unwrap();
            assert_eq!(hex16(&luk), want, "index {i}");
        }
    }

    #[test]
    fn sm4_luks_match_known_answers() {
        let imk = test_issuer_master_keys();
        for (i, want) in [
            (1, "E0D4F2012B5DDBDC6CEBAB5CA42513CF"),
            (2, "9948E0C032DCA329D0C15E66AAE4072D"),
            (255, "A750705987165CF0BB9AB00803F972BD"),
        ] {
            let luk = IssuerView::derive_luk(&imk, CardCrypto::Sm4, PAN, 1, i).unwrap();
            assert_eq!(hex16(&luk), want, "index {i}");
        }
        assert!(derive_luk(&imk, CardCrypto::Sm4, PAN, 1, 0).is_err());
        assert!(derive_luk(&imk, CardCrypto::Sm4, "62888X", 1, 1).is_err());
    }

    /// ¥10.00, CNY / China, 2025-03-14, UN 11223344, AIP 2000, ATC 5, CVR 03 A00000.
    fn data() -> CryptogramData {
        CryptogramData {
            amount_authorised: [0, 0, 0, 0, 0x10, 0],
            amount_other: [0; 6],
            terminal_country: [0x01, 0x56],
            tvr: [0; 5],
            currency: [0x01, 0x56],
            date: [0x25, 0x03, 0x14],
            transaction_type: 0x00,
            unpredictable_number: [0x11, 0x22, 0x33, 0x44],
            aip: [0x20, 0x00],
            atc: 5,
            cvr: [0x03, 0xA0, 0x00, 0x00],
        }
    }

    #[test]
    fn issuer_checks_an_arqc_made_with_the_luk_named_in_the_iad() {
        let imk = test_issuer_master_keys();
        // SM4-CBC MAC (method 2 padding) under SM4(LUK_2)[00 05 F0 00×13], by Python.
        let arqc = hex::decode("AE25C298429A4B16").unwrap();
        let iad = [0x07, 0x02, 0x01, 0x03, 0xA0, 0x00, 0x00, 0x04];
        let check = |iad: &[u8], arqc: &[u8]| {
            IssuerView::verify_arqc(&imk, CardCrypto::Sm4, PAN, 1, iad, &data(), arqc)
        };
        assert_eq!(check(&iad, &arqc), Ok(2));
        // The card side computes the same with the LUK as its AC master key.
        let luk = derive_luk(&imk, CardCrypto::Sm4, PAN, 1, 2).unwrap();
        let key = SessionKey::derive(CardCrypto::Sm4, &luk, 5).unwrap();
        assert_eq!(
            application_cryptogram(&key, &data().encode()).unwrap()[..],
            arqc[..]
        );
        let mut wrong_index = iad;
        wrong_index[1] = 3;
        assert_eq!(
            check(&wrong_index, &arqc),
            Err(CryptoError::VerificationFailed)
        );
        let mut flipped = arqc.clone();
        flipped[0] ^= 1;
        assert_eq!(check(&iad, &flipped), Err(CryptoError::VerificationFailed));
        assert_eq!(
            check(&iad, &arqc[..7]),
            Err(CryptoError::VerificationFailed)
        );
        assert!(matches!(
            check(&[0x07, 0x00, 0x01, 0x03, 0, 0, 0, 4], &arqc),
            Err(CryptoError::InvalidInput(_))
        ));
    }

    #[test]
    fn key_index_comes_from_byte_2_of_the_iad() {
        assert_eq!(key_index_of_iad(&[7, 9, 1, 3, 0xA0, 0, 0, 1]), Some(9));
        assert_eq!(key_index_of_iad(&[7, 0, 1, 3, 0xA0, 0, 0, 1]), None);
        assert_eq!(key_index_of_iad(&[7, 9, 1, 3]), None);
        assert_eq!(key_index_of_iad(&[6, 9, 1, 3, 0xA0, 0, 0, 1]), None);
    }
}
