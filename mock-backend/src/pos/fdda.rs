//! fDDA as a terminal performs it, with the formats of [`wallet_core::card::certs`]:
//!
//! 1. the CA public key: RID of the selected AID and index `8F`, among the terminal's trusted
//!    keys (e.g. [`wallet_core::card::test_issuer::TEST_CA`]);
//! 2. the issuer certificate `90`, signed by the CA; its issuer identifier must prefix the PAN
//!    and it must not have expired;
//! 3. the ICC certificate `9F46`, signed by the issuer over its fields and the static data to
//!    authenticate (the records the AFL flags for offline data authentication, then the values
//!    of the tags in `9F4A`, where only `82` AIP is allowed); its PAN must be the card's and it
//!    must not have expired;
//! 4. the signed dynamic data `9F4B` under the ICC key, over the terminal's UN, amount and
//!    currency; the ATC, CID and cryptogram inside must be the ones the card returned.

use wallet_core::apdu::{tlv, Tag};
use wallet_core::card::certs::{
    compressed_numeric, issuer_id_matches, verify_dynamic_data, CertificateBody, OdaError,
    TerminalDynamicData, FORMAT_ICC_CERTIFICATE, FORMAT_ISSUER_CERTIFICATE,
};
use wallet_core::card::test_issuer::CaPublicKey;

/// fDDA failed: why the terminal refuses the offline approval.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FddaError {
    /// The card's AIP does not announce DDA.
    #[error("the card does not support offline data authentication")]
    NotSupported,
    /// A data object fDDA needs is missing or malformed.
    #[error("missing or malformed {0}")]
    Missing(&'static str),
    /// The terminal does not trust a CA key with this RID and index.
    #[error("no trusted CA public key with index {index:02X} for this RID")]
    UnknownCa {
        /// The index the card named (`8F`).
        index: u8,
    },
    /// A certificate or the signed dynamic data does not verify or is malformed.
    #[error(transparent)]
    Authentication(#[from] OdaError),
    /// A certificate has expired.
    #[error("the {0} certificate has expired")]
    Expired(&'static str),
    /// A certified or signed value does not match the card or the transaction.
    #[error("{0} does not match")]
    Mismatch(&'static str),
}

/// What fDDA checks, as the terminal read it.
#[derive(Debug, Clone, Copy)]
pub struct FddaInput<'a> {
    /// The selected AID (its first 5 bytes are the RID).
    pub aid: &'a [u8],
    /// The records read (contents of their `70` templates), with whether the AFL flags each for
    /// offline data authentication.
    pub records: &'a [(Vec<u8>, bool)],
    /// `82`.
    pub aip: [u8; 2],
    /// `9F4B`, if the card sent it.
    pub sdad: Option<&'a [u8]>,
    /// The card's PAN (digits).
    pub pan: &'a str,
    /// The transaction date `9A` (YYMMDD, BCD).
    pub date: [u8; 3],
    /// The terminal's UN, amount and currency as sent in the PDOL data.
    pub terminal: TerminalDynamicData,
    /// `9F36`, `9F27`, `9F26` as the card returned them.
    pub atc: u16,
    /// `9F27`.
    pub cid: u8,
    /// `9F26`.
    pub cryptogram: [u8; 8],
}

fn bcd(byte: u8) -> Option<u32> {
    let (hi, lo) = (byte >> 4, byte & 0x0F);
    (hi <= 9 && lo <= 9).then_some(u32::from(hi) * 10 + u32::from(lo))
}

/// Months since year 0 of a `YY`, `MM` pair (EMV: `YY` < 50 is 20YY, else 19YY).
fn months(yy: u8, mm: u8) -> Option<u32> {
    let (yy, mm) = (bcd(yy)?, bcd(mm)?);
    if !(1..=12).contains(&mm) {
        return None;
    }
    let year = if yy < 50 { 2000 + yy } else { 1900 + yy };
    Some(year * 12 + mm)
}

/// Checks that a certificate's `MMYY` expiry is not before the transaction's month.
fn check_expiry(expiry: [u8; 2], date: [u8; 3], which: &'static str) -> Result<(), FddaError> {
    let [mm, yy] = expiry;
    let cert = months(yy, mm).ok_or(FddaError::Missing("certificate expiry"))?;
    let today = months(date[0], date[1]).ok_or(FddaError::Missing("transaction date"))?;
    if cert < today {
        return Err(FddaError::Expired(which));
    }
    Ok(())
}

/// The value of the first `tag` in the records.
fn record_value(records: &[(Vec<u8>, bool)], tag: u32) -> Option<&[u8]> {
    let tag = Tag::new(tag).ok()?;
    records
        .iter()
        .find_map(|(record, _)| tlv::find(record, tag).ok().flatten())
        .map(|t| t.value())
}

/// Performs fDDA (see the [module](self)).
pub fn verify(input: &FddaInput<'_>, trusted: &[CaPublicKey]) -> Result<(), FddaError> {
    if input.aip[0] & 0x20 == 0 {
        return Err(FddaError::NotSupported);
    }
    let records = input.records;
    let index = match record_value(records, 0x8F) {
        Some(&[index]) => index,
        _ => return Err(FddaError::Missing("CA public key index (8F)")),
    };
    let rid = input.aid.get(..5).ok_or(FddaError::Missing("RID"))?;
    let ca = trusted
        .iter()
        .find(|ca| ca.rid.as_slice() == rid && ca.index == index)
        .ok_or(FddaError::UnknownCa { index })?;

    let issuer_cert =
        record_value(records, 0x90).ok_or(FddaError::Missing("issuer certificate (90)"))?;
    let issuer =
        CertificateBody::verify(issuer_cert, FORMAT_ISSUER_CERTIFICATE, &ca.public_key, &[])?;
    if !issuer_id_matches(&issuer.subject, input.pan) {
        return Err(FddaError::Mismatch("issuer identifier"));
    }
    check_expiry(issuer.expiry, input.date, "issuer")?;

    let mut static_data: Vec<u8> = records
        .iter()
        .filter(|(_, oda)| *oda)
        .flat_map(|(record, _)| record.iter().copied())
        .collect();
    if let Some(list) = record_value(records, 0x9F4A) {
        match list {
            [] => {}
            [0x82] => static_data.extend_from_slice(&input.aip),
            _ => {
                return Err(FddaError::Missing(
                    "static data tag list (9F4A) other than 82",
                ))
            }
        }
    }
    let icc_cert =
        record_value(records, 0x9F46).ok_or(FddaError::Missing("ICC certificate (9F46)"))?;
    let icc = CertificateBody::verify(
        icc_cert,
        FORMAT_ICC_CERTIFICATE,
        &issuer.public_key,
        &static_data,
    )?;
    let pan = compressed_numeric::<10>(input.pan).map_err(|_| FddaError::Mismatch("PAN"))?;
    if icc.subject != pan {
        return Err(FddaError::Mismatch("PAN in the ICC certificate"));
    }
    check_expiry(icc.expiry, input.date, "ICC")?;

    let sdad = input
        .sdad
        .ok_or(FddaError::Missing("signed dynamic data (9F4B)"))?;
    let dynamic = verify_dynamic_data(&icc.public_key, sdad, &input.terminal)?;
    if dynamic.atc != input.atc {
        return Err(FddaError::Mismatch("ATC in the signed dynamic data"));
    }
    if dynamic.cid != input.cid || dynamic.cryptogram != input.cryptogram {
        return Err(FddaError::Mismatch("cryptogram in the signed dynamic data"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_is_month_precise_with_the_emv_century_rule() {
        // Certificate valid through 12/49; transaction in March 2025.
        assert!(check_expiry([0x12, 0x49], [0x25, 0x03, 0x14], "x").is_ok());
        // Valid through 03/25: still valid on 2025-03-31, not on 2025-04-01.
        assert!(check_expiry([0x03, 0x25], [0x25, 0x03, 0x31], "x").is_ok());
        assert_eq!(
            check_expiry([0x03, 0x25], [0x25, 0x04, 0x01], "x"),
            Err(FddaError::Expired("x"))
        );
        // 12/99 means 1999.
        assert!(check_expiry([0x12, 0x99], [0x25, 0x01, 0x01], "x").is_err());
        assert_eq!(
            check_expiry([0x13, 0x30], [0x25, 0x01, 0x01], "x"),
            Err(FddaError::Missing("certificate expiry"))
        );
    }

    #[test]
    fn refuses_without_dda_or_ca() {
        let input = FddaInput {
            aid: &[0xA0, 0, 0, 3, 0x33, 1, 1, 1],
            records: &[(vec![0x8F, 0x01, 0x80], false)],
            aip: [0x24, 0x00],
            sdad: None,
            pan: "6222021234567894",
            date: [0x25, 0x03, 0x14],
            terminal: TerminalDynamicData::default(),
            atc: 1,
            cid: 0x40,
            cryptogram: [0; 8],
        };
        assert_eq!(
            verify(&input, &[]),
            Err(FddaError::UnknownCa { index: 0x80 })
        );
        let no_dda = FddaInput {
            aip: [0x04, 0x00],
            ..input
        };
        assert_eq!(verify(&no_dda, &[]), Err(FddaError::NotSupported));
        let no_index = FddaInput {
            records: &[],
            ..input
        };
        assert!(matches!(verify(&no_index, &[]), Err(FddaError::Missing(_))));
    }
}
