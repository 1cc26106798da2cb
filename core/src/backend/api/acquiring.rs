//! Wire types of the acquiring side: a POS terminal's online authorisations and offline advices
//! (acquirer). Served by the mock
//! backend's `acquirer` module; the issuer behind them is an in-process call.
//!
//! Endpoints:
//! - `POST {PATH_AUTHORIZATIONS}` [`AuthorizationRequest`] (with an `Idempotency-Key`) →
//!   `200` [`AuthorizationResponse`]: approved or declined with an ISO 8583 [`ResponseCode`],
//!   the ARPC (method 1) once the ARQC verified.
//! - `POST {PATH_OFFLINE_ADVICES}` [`OfflineAdviceRequest`] (with an `Idempotency-Key`) →
//!   `200` [`OfflineAdviceResponse`]: an offline e-cash TC the terminal approved, for clearing.
//! - `POST {PATH_REVERSALS}` [`ReversalRequest`] (with an `Idempotency-Key`) → `200`
//!   [`ReversalResponse`]: undo an approved authorisation the card did not complete
//!   ([`reversal`]).
//!
//! The clearing batches they land in are in [`super::clearing`].
//!
//! A decline is an answer (`200`, `approved: false`), not an error; malformed requests answer
//! `400 BAD_REQUEST` with the usual [`super::ErrorBody`].
//!
//! The card data ([`IccTransaction`]) travels as the terminal sent it to the card: amounts in
//! minor units (fen), ISO numeric codes as numbers, the date as `YYMMDD`, binary EMV values as
//! uppercase or lowercase hex. [`IccTransaction::cryptogram_data`] rebuilds from it exactly the
//! bytes the application cryptogram covers ([`crate::card::keys::CryptogramData`]).

pub mod reversal;

pub use reversal::{
    reversal_id_of, ReversalReason, ReversalRequest, ReversalResponse, ReversalStatus,
    PATH_REVERSALS, REVERSAL_ID_PREFIX,
};

use crate::card::keys::{CryptogramData, AC_LEN};
use crate::card::perso::amount_n12;
use serde::{Deserialize, Serialize};

/// Path of the online authorisation endpoint.
pub const PATH_AUTHORIZATIONS: &str = "/acquirer/v1/authorizations";
/// Path of the offline advice endpoint.
pub const PATH_OFFLINE_ADVICES: &str = "/acquirer/v1/offline-advices";

/// Transaction type (`9C`) of an e-cash load (圈存) from the cardholder's account.
pub const TRANSACTION_TYPE_LOAD: u8 = 0x60;

/// Cryptogram information data of an ARQC (`9F27`, bits 8-7 `10`).
pub const CID_ARQC: u8 = 0x80;
/// Cryptogram information data of a TC (`9F27`, bits 8-7 `01`).
pub const CID_TC: u8 = 0x40;
/// Cryptogram information data of an AAC (`9F27`, bits 8-7 `00`).
pub const CID_AAC: u8 = 0x00;

/// An ISO 8583 response code (field 39) as the issuer answers it. On the wire: the two-character
/// code; unknown codes survive as [`ResponseCode::Other`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum ResponseCode {
    /// `00` approved.
    Approved,
    /// `03` invalid merchant (the acquirer does not know it).
    InvalidMerchant,
    /// `05` do not honour.
    DoNotHonour,
    /// `12` invalid transaction (type, currency, or a cryptogram of the wrong kind).
    InvalidTransaction,
    /// `13` invalid amount.
    InvalidAmount,
    /// `14` invalid card number (no such card or token at the issuer).
    InvalidCardNumber,
    /// `30` format error (the card data cannot be interpreted, e.g. the IAD).
    FormatError,
    /// `51` insufficient funds.
    InsufficientFunds,
    /// `62` restricted card (blocked account).
    RestrictedCard,
    /// `63` security violation: the application cryptogram does not verify.
    CryptogramFailure,
    /// `94` duplicate transmission: this card's ATC was already used (a replayed cryptogram).
    Duplicate,
    /// `96` system malfunction.
    SystemMalfunction,
    /// Any other code.
    Other(String),
}

impl ResponseCode {
    /// The two-character code.
    pub fn as_str(&self) -> &str {
        match self {
            ResponseCode::Approved => "00",
            ResponseCode::InvalidMerchant => "03",
            ResponseCode::DoNotHonour => "05",
            ResponseCode::InvalidTransaction => "12",
            ResponseCode::InvalidAmount => "13",
            ResponseCode::InvalidCardNumber => "14",
            ResponseCode::FormatError => "30",
            ResponseCode::InsufficientFunds => "51",
            ResponseCode::RestrictedCard => "62",
            ResponseCode::CryptogramFailure => "63",
            ResponseCode::Duplicate => "94",
            ResponseCode::SystemMalfunction => "96",
            ResponseCode::Other(code) => code,
        }
    }

    /// Whether this code approves.
    pub fn is_approved(&self) -> bool {
        *self == ResponseCode::Approved
    }

    /// The authorisation response code (ARC) the ARPC covers: the code's two ASCII characters
    /// (`None` for a code that is not two ASCII characters).
    pub fn arc(&self) -> Option<[u8; 2]> {
        match self.as_str().as_bytes() {
            &[a, b] if a.is_ascii() && b.is_ascii() => Some([a, b]),
            _ => None,
        }
    }
}

impl From<String> for ResponseCode {
    fn from(code: String) -> Self {
        match code.as_str() {
            "00" => ResponseCode::Approved,
            "03" => ResponseCode::InvalidMerchant,
            "05" => ResponseCode::DoNotHonour,
            "12" => ResponseCode::InvalidTransaction,
            "13" => ResponseCode::InvalidAmount,
            "14" => ResponseCode::InvalidCardNumber,
            "30" => ResponseCode::FormatError,
            "51" => ResponseCode::InsufficientFunds,
            "62" => ResponseCode::RestrictedCard,
            "63" => ResponseCode::CryptogramFailure,
            "94" => ResponseCode::Duplicate,
            "96" => ResponseCode::SystemMalfunction,
            _ => ResponseCode::Other(code),
        }
    }
}

impl From<ResponseCode> for String {
    fn from(code: ResponseCode) -> Self {
        code.as_str().to_owned()
    }
}

impl std::fmt::Display for ResponseCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A field of an [`IccTransaction`] cannot be turned into card data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed card data field {field}: {reason}")]
pub struct CardDataError {
    /// The JSON field.
    pub field: &'static str,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl CardDataError {
    const fn new(field: &'static str, reason: &'static str) -> Self {
        Self { field, reason }
    }
}

/// The card data of one contactless transaction: what the terminal sent to the card (its PDOL
/// values) and what the card answered to GET PROCESSING OPTIONS. `Debug` hides the PAN.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IccTransaction {
    /// The PAN the card presented (`5A` / track 2): an account PAN, an SE device PAN or an HCE
    /// token, digits only.
    pub pan: String,
    /// PAN sequence number (`5F34`), 0–99.
    pub pan_sequence: u8,
    /// The selected application (`4F`), hex.
    pub aid: String,
    /// Amount, authorised (`9F02`), minor units.
    pub amount_authorised: u64,
    /// Amount, other (`9F03`), minor units.
    pub amount_other: u64,
    /// Terminal country code (`9F1A`), ISO 3166 numeric.
    pub terminal_country: u16,
    /// Transaction currency code (`5F2A`), ISO 4217 numeric.
    pub currency: u16,
    /// Transaction date (`9A`), `YYMMDD`.
    pub transaction_date: String,
    /// Transaction type (`9C`), hex (`00` purchase).
    pub transaction_type: String,
    /// Terminal verification results (`95`), hex, 5 bytes.
    pub tvr: String,
    /// Unpredictable number (`9F37`), hex, 4 bytes.
    pub unpredictable_number: String,
    /// Terminal transaction qualifiers (`9F66`), hex, 4 bytes.
    pub ttq: String,
    /// Application interchange profile (`82`), hex, 2 bytes.
    pub aip: String,
    /// Application transaction counter (`9F36`).
    pub atc: u16,
    /// Issuer application data (`9F10`), hex.
    pub iad: String,
    /// Application cryptogram (`9F26`), hex, 8 bytes.
    pub cryptogram: String,
    /// Cryptogram information data (`9F27`), hex, 1 byte.
    pub cid: String,
    /// Card transaction qualifiers (`9F6C`), hex, when the card sent them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ctq: Option<String>,
}

impl std::fmt::Debug for IccTransaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IccTransaction")
            .field("aid", &self.aid)
            .field("amount_authorised", &self.amount_authorised)
            .field("currency", &self.currency)
            .field("atc", &self.atc)
            .field("cid", &self.cid)
            .finish_non_exhaustive()
    }
}

/// `N` bytes from the hex of `field`.
fn hex_field<const N: usize>(field: &'static str, value: &str) -> Result<[u8; N], CardDataError> {
    let bytes = hex::decode(value).map_err(|_| CardDataError::new(field, "not hex"))?;
    bytes
        .try_into()
        .map_err(|_| CardDataError::new(field, "wrong length"))
}

/// An ISO numeric code (0–999) as EMV `n3`: two BCD bytes.
pub fn numeric_code_n3(code: u16) -> Option<[u8; 2]> {
    if code > 999 {
        return None;
    }
    let d = |div: u16| ((code / div) % 10) as u8;
    Some([d(100), (d(10) << 4) | d(1)])
}

impl IccTransaction {
    /// The cryptogram information data (`9F27`).
    pub fn cid_byte(&self) -> Result<u8, CardDataError> {
        Ok(hex_field::<1>("cid", &self.cid)?[0])
    }

    /// The transaction type (`9C`).
    pub fn transaction_type_byte(&self) -> Result<u8, CardDataError> {
        Ok(hex_field::<1>("transaction_type", &self.transaction_type)?[0])
    }

    /// The application cryptogram (`9F26`).
    pub fn cryptogram_bytes(&self) -> Result<[u8; AC_LEN], CardDataError> {
        hex_field("cryptogram", &self.cryptogram)
    }

    /// The issuer application data (`9F10`): 1 to 32 bytes.
    pub fn iad_bytes(&self) -> Result<Vec<u8>, CardDataError> {
        let iad = hex::decode(&self.iad).map_err(|_| CardDataError::new("iad", "not hex"))?;
        if iad.is_empty() || iad.len() > 32 {
            return Err(CardDataError::new("iad", "must be 1 to 32 bytes"));
        }
        Ok(iad)
    }

    /// Checks every field's shape (digits, hex lengths, ranges) without interpreting the IAD.
    pub fn validate(&self) -> Result<(), CardDataError> {
        let pan_ok =
            (12..=19).contains(&self.pan.len()) && self.pan.bytes().all(|b| b.is_ascii_digit());
        if !pan_ok {
            return Err(CardDataError::new("pan", "must be 12 to 19 digits"));
        }
        if self.pan_sequence > 99 {
            return Err(CardDataError::new("pan_sequence", "must be 0 to 99"));
        }
        let aid = hex::decode(&self.aid).map_err(|_| CardDataError::new("aid", "not hex"))?;
        if !(5..=16).contains(&aid.len()) {
            return Err(CardDataError::new("aid", "must be 5 to 16 bytes"));
        }
        hex_field::<4>("ttq", &self.ttq)?;
        if let Some(ctq) = &self.ctq {
            hex::decode(ctq).map_err(|_| CardDataError::new("ctq", "not hex"))?;
        }
        self.cid_byte()?;
        self.cryptogram_bytes()?;
        self.iad_bytes()?;
        self.cryptogram_data_with_cvr([0; 4]).map(|_| ())
    }

    /// The data the application cryptogram covers, with the CVR taken from bytes 4–7 of the
    /// IAD (the layout of this card profile, see [`crate::card::keys`]).
    pub fn cryptogram_data(&self) -> Result<CryptogramData, CardDataError> {
        let iad = self.iad_bytes()?;
        let cvr: [u8; 4] = iad
            .get(3..7)
            .and_then(|c| c.try_into().ok())
            .ok_or(CardDataError::new("iad", "too short for the CVR"))?;
        self.cryptogram_data_with_cvr(cvr)
    }

    fn cryptogram_data_with_cvr(&self, cvr: [u8; 4]) -> Result<CryptogramData, CardDataError> {
        let n12 = |field, amount| -> Result<[u8; 6], CardDataError> {
            amount_n12(amount)
                .ok()
                .and_then(|v| v.try_into().ok())
                .ok_or(CardDataError::new(field, "beyond 12 digits"))
        };
        let n3 = |field, code| numeric_code_n3(code).ok_or(CardDataError::new(field, "above 999"));
        let date = &self.transaction_date;
        if date.len() != 6 || !date.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CardDataError::new("transaction_date", "must be YYMMDD"));
        }
        Ok(CryptogramData {
            amount_authorised: n12("amount_authorised", self.amount_authorised)?,
            amount_other: n12("amount_other", self.amount_other)?,
            terminal_country: n3("terminal_country", self.terminal_country)?,
            tvr: hex_field("tvr", &self.tvr)?,
            currency: n3("currency", self.currency)?,
            date: hex_field("transaction_date", date)?,
            transaction_type: self.transaction_type_byte()?,
            unpredictable_number: hex_field("unpredictable_number", &self.unpredictable_number)?,
            aip: hex_field("aip", &self.aip)?,
            atc: self.atc,
            cvr,
        })
    }
}

/// An online authorisation request from a POS terminal (ISO 8583 `0100` in JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationRequest {
    /// Terminal identification (`9F1C`): 8 letters or digits.
    pub terminal_id: String,
    /// Merchant identifier (`9F16`): 15 letters or digits, known to the acquirer.
    pub merchant_id: String,
    /// Terminal type (`9F35`), hex (`22`: attended, online with offline capability).
    pub terminal_type: String,
    /// The card data with the ARQC.
    pub transaction: IccTransaction,
    /// For an e-cash load (`transaction_type` `60`): the card's e-cash state as the terminal
    /// read it with GET DATA after SELECT and before GET PROCESSING OPTIONS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecash_load: Option<EcashLoadRequest>,
}

/// The card's e-cash state sent with a load authorisation (PBOC: the terminal reads `9F79`
/// and `9F77` with GET DATA once the application is selected, before GPO).
///
/// The issuer builds the new balance (`ecash_balance` + the amount) from it and refuses a load
/// above `balance_limit`; the card checks the limit again when it receives the script (`6A80`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EcashLoadRequest {
    /// The e-cash balance before the load (`9F79`), minor units.
    pub ecash_balance: u64,
    /// The card's e-cash balance limit (`9F77`), minor units.
    pub balance_limit: u64,
}

/// The answer to an [`AuthorizationRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationResponse {
    /// Whether the issuer approved.
    pub approved: bool,
    /// The issuer's (or the acquirer's) response code.
    pub response_code: ResponseCode,
    /// Human-readable reason (English).
    pub message: String,
    /// The acquirer's identifier of this authorisation.
    pub authorization_id: String,
    /// Six-character approval code, when approved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_code: Option<String>,
    /// ARPC method 1 over the ARQC and the ARC ([`ResponseCode::arc`]), hex, whenever the ARQC
    /// verified (also for declines); the terminal may pass `ARPC ‖ ARC` to the card with
    /// EXTERNAL AUTHENTICATE.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arpc: Option<String>,
    /// The clearing day the transaction was recorded in, when approved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clearing_date: Option<String>,
    /// An approved e-cash load's issuer script, hex: the complete PUT DATA command
    /// `04 DA 9F 79 0A new-balance (n12) ‖ MAC (4)` for the terminal to send to the card.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer_script: Option<String>,
}

/// An offline transaction (e-cash TC) the terminal approved and now uploads for clearing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfflineAdviceRequest {
    /// Terminal identification (`9F1C`).
    pub terminal_id: String,
    /// Merchant identifier (`9F16`).
    pub merchant_id: String,
    /// Terminal type (`9F35`), hex.
    pub terminal_type: String,
    /// Whether the terminal verified fDDA (the signed dynamic data) before approving.
    pub fdda_verified: bool,
    /// The card data with the TC.
    pub transaction: IccTransaction,
}

/// The answer to an [`OfflineAdviceRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfflineAdviceResponse {
    /// Whether the advice was accepted for clearing (the TC verified and was new).
    pub accepted: bool,
    /// `00` accepted, or why not (`63` bad TC, `94` ATC already seen, `14` unknown card…).
    pub response_code: ResponseCode,
    /// Human-readable reason (English).
    pub message: String,
    /// The acquirer's identifier of this advice.
    pub advice_id: String,
    /// The clearing day the transaction was recorded in, when accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clearing_date: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> IccTransaction {
        IccTransaction {
            pan: "6222021234567894".into(),
            pan_sequence: 1,
            aid: "A000000333010101".into(),
            amount_authorised: 12_345,
            amount_other: 0,
            terminal_country: 156,
            currency: 156,
            transaction_date: "250314".into(),
            transaction_type: "00".into(),
            tvr: "0000000000".into(),
            unpredictable_number: "DEADBEEF".into(),
            ttq: "26000080".into(),
            aip: "2400".into(),
            atc: 0x0102,
            iad: "07010103A0000001".into(),
            cryptogram: "0011223344556677".into(),
            cid: "80".into(),
            ctq: None,
        }
    }

    #[test]
    fn cryptogram_data_is_the_documented_37_bytes() {
        let data = sample().cryptogram_data().unwrap();
        // Hand-assembled: 9F02 ‖ 9F03 ‖ 9F1A ‖ 95 ‖ 5F2A ‖ 9A ‖ 9C ‖ 9F37 ‖ 82 ‖ 9F36 ‖ CVR.
        let expected = "000000012345\
                        000000000000\
                        0156\
                        0000000000\
                        0156\
                        250314\
                        00\
                        DEADBEEF\
                        2400\
                        0102\
                        03A00000";
        assert_eq!(hex::encode_upper(data.encode()), expected);
    }

    #[test]
    fn malformed_fields_are_named() {
        let mut t = sample();
        t.tvr = "00".into();
        assert_eq!(t.validate().unwrap_err().field, "tvr");
        let mut t = sample();
        t.transaction_date = "25-3-1".into();
        assert_eq!(t.validate().unwrap_err().field, "transaction_date");
        let mut t = sample();
        t.iad = "0701".into();
        assert!(t.validate().is_ok(), "shape only");
        assert_eq!(t.cryptogram_data().unwrap_err().field, "iad");
        let mut t = sample();
        t.pan = "62220212345678a4".into();
        assert_eq!(t.validate().unwrap_err().field, "pan");
        let mut t = sample();
        t.amount_authorised = 1_000_000_000_000;
        assert_eq!(t.validate().unwrap_err().field, "amount_authorised");
        let mut t = sample();
        t.currency = 1000;
        assert_eq!(t.validate().unwrap_err().field, "currency");
        assert!(sample().validate().is_ok());
    }

    #[test]
    fn response_codes_round_trip_as_strings() {
        for (code, text) in [
            (ResponseCode::Approved, "00"),
            (ResponseCode::InsufficientFunds, "51"),
            (ResponseCode::CryptogramFailure, "63"),
            (ResponseCode::Duplicate, "94"),
            (ResponseCode::Other("N7".into()), "N7"),
        ] {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{text}\""));
            assert_eq!(serde_json::from_str::<ResponseCode>(&json).unwrap(), code);
        }
        assert_eq!(ResponseCode::InsufficientFunds.arc(), Some(*b"51"));
        assert_eq!(ResponseCode::Other("ABC".into()).arc(), None);
        assert!(ResponseCode::Approved.is_approved());
    }

    #[test]
    fn n3_is_bcd() {
        assert_eq!(numeric_code_n3(156), Some([0x01, 0x56]));
        assert_eq!(numeric_code_n3(840), Some([0x08, 0x40]));
        assert_eq!(numeric_code_n3(1000), None);
    }

    #[test]
    fn debug_hides_the_pan() {
        assert!(!format!("{:?}", sample()).contains("6222021234567894"));
    }
}
