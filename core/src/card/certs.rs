//! Offline data authentication with SM2 (fDDA): the certificate chain CA → issuer → ICC and the
//! signed dynamic application data, in a simplified form of PBOC 3.0's national-algorithm
//! formats (no RSA message recovery: every field travels in the clear, the SM2 signature follows).
//! Both card profiles (3DES and SM4) use SM2 for offline data authentication.
//!
//! Public key certificate (`90` issuer, `9F46` ICC):
//!
//! | field | bytes | value |
//! |---|---|---|
//! | format | 1 | `12` issuer certificate, `14` ICC certificate |
//! | subject | 4 / 10 | issuer identifier (leftmost 3–8 PAN digits, `F`-padded) / the PAN (`F`-padded) |
//! | expiry | 2 | `MMYY`, BCD |
//! | serial number | 3 | binary |
//! | signature algorithm | 1 | `04` SM2 with SM3 |
//! | public key algorithm | 1 | `04` SM2 |
//! | parameter index | 1 | `00` (sm2p256v1) |
//! | public key length | 1 | `40` |
//! | public key | 64 | `X ‖ Y` |
//! | signature | 64 | SM2 `r ‖ s` by the certifier (CA for `12`, issuer for `14`) |
//!
//! The signature covers every preceding field; an ICC certificate's also covers the static data
//! to be authenticated (here the AIP, as the tag list `9F4A = 82` says). Signer identity: the
//! GM/T 0009 default [`SIGNER_ID`].
//!
//! Signed dynamic application data (`9F4B`), [`sign_dynamic_data`]:
//! `15 ‖ 04 ‖ 10 ‖ ICC dynamic data (16) ‖ signature (64)`, with ICC dynamic data
//! `04 ‖ ICC dynamic number (4, random) ‖ ATC (2) ‖ CID (1) ‖ application cryptogram (8)`. The
//! signature covers `15 ‖ 04 ‖ 10 ‖ ICC dynamic data ‖ terminal dynamic data`, the latter being
//! `9F37 UN (4) ‖ 9F02 amount (6) ‖ 5F2A currency (2)` as the terminal sent them in the PDOL data.

use crate::crypto::sm2::{verify_sm2, Sm2SigningKey, DEFAULT_USER_ID, SIGNATURE_LEN};
use crate::crypto::CryptoError;

/// Format byte of an issuer public key certificate.
pub const FORMAT_ISSUER_CERTIFICATE: u8 = 0x12;
/// Format byte of an ICC public key certificate.
pub const FORMAT_ICC_CERTIFICATE: u8 = 0x14;
/// Format byte of signed dynamic application data.
pub const FORMAT_SDAD: u8 = 0x15;
/// Algorithm indicator of SM2 (signature with SM3, and public key).
pub const ALGORITHM_SM2: u8 = 0x04;
/// The SM2 signer identity of every signature here.
pub const SIGNER_ID: &[u8] = DEFAULT_USER_ID;
/// Length of the ICC dynamic data inside the SDAD.
pub const ICC_DYNAMIC_DATA_LEN: usize = 16;
/// Length of the SDAD (`9F4B`).
pub const SDAD_LEN: usize = 3 + ICC_DYNAMIC_DATA_LEN + SIGNATURE_LEN;

/// Offline data authentication failed: what a terminal learns.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OdaError {
    /// A certificate or the SDAD does not have the documented layout.
    #[error("malformed {0}")]
    Malformed(&'static str),
    /// A signature does not verify.
    #[error("the signature of the {0} does not verify")]
    Signature(&'static str),
    /// A certified field does not match the card (issuer identifier, PAN).
    #[error("{0} does not match the card")]
    Mismatch(&'static str),
}

/// The certified fields of a public key certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateBody {
    /// [`FORMAT_ISSUER_CERTIFICATE`] or [`FORMAT_ICC_CERTIFICATE`].
    pub format: u8,
    /// Issuer identifier (4 bytes) or PAN (10 bytes), compressed numeric.
    pub subject: Vec<u8>,
    /// Expiry `MMYY` (BCD).
    pub expiry: [u8; 2],
    /// Serial number.
    pub serial: [u8; 3],
    /// The certified SM2 public key, `04 ‖ X ‖ Y`.
    pub public_key: [u8; 65],
}

impl CertificateBody {
    /// Length of the subject field for `format`.
    const fn subject_len(format: u8) -> Option<usize> {
        match format {
            FORMAT_ISSUER_CERTIFICATE => Some(4),
            FORMAT_ICC_CERTIFICATE => Some(10),
            _ => None,
        }
    }

    /// The signed fields, without the signature.
    fn encode(&self) -> Result<Vec<u8>, CryptoError> {
        if Self::subject_len(self.format) != Some(self.subject.len()) {
            return Err(CryptoError::InvalidInput("certificate subject length"));
        }
        let mut out = Vec::with_capacity(self.subject.len() + 78);
        out.push(self.format);
        out.extend_from_slice(&self.subject);
        out.extend_from_slice(&self.expiry);
        out.extend_from_slice(&self.serial);
        out.extend_from_slice(&[ALGORITHM_SM2, ALGORITHM_SM2, 0x00, 0x40]);
        out.extend_from_slice(self.public_key.get(1..).unwrap_or_default());
        Ok(out)
    }

    /// Signs the body (and `extra`, the static data of an ICC certificate) with `certifier`;
    /// returns the whole certificate.
    pub fn certify(&self, certifier: &Sm2SigningKey, extra: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let mut cert = self.encode()?;
        let mut signed = cert.clone();
        signed.extend_from_slice(extra);
        cert.extend_from_slice(&certifier.sign(SIGNER_ID, &signed)?);
        Ok(cert)
    }

    /// Parses a certificate of `format`, checks its signature under `certifier_public_key` over
    /// the body ‖ `extra`, and returns the body.
    pub fn verify(
        cert: &[u8],
        format: u8,
        certifier_public_key: &[u8],
        extra: &[u8],
    ) -> Result<CertificateBody, OdaError> {
        const WHAT: &str = "public key certificate";
        let subject_len = Self::subject_len(format).ok_or(OdaError::Malformed(WHAT))?;
        let body_len = 1 + subject_len + 2 + 3 + 4 + 64;
        if cert.len() != body_len + SIGNATURE_LEN || cert.first() != Some(&format) {
            return Err(OdaError::Malformed(WHAT));
        }
        let (body, signature) = cert.split_at(body_len);
        let rest = body.get(1..).unwrap_or_default();
        let (subject, rest) = rest
            .split_at_checked(subject_len)
            .ok_or(OdaError::Malformed(WHAT))?;
        let (expiry, rest) = rest.split_at_checked(2).ok_or(OdaError::Malformed(WHAT))?;
        let (serial, rest) = rest.split_at_checked(3).ok_or(OdaError::Malformed(WHAT))?;
        let (algorithms, key) = rest.split_at_checked(4).ok_or(OdaError::Malformed(WHAT))?;
        if algorithms != [ALGORITHM_SM2, ALGORITHM_SM2, 0x00, 0x40] {
            return Err(OdaError::Malformed("certificate algorithm"));
        }
        let mut signed = body.to_vec();
        signed.extend_from_slice(extra);
        verify_sm2(certifier_public_key, SIGNER_ID, &signed, signature)
            .map_err(|_| OdaError::Signature(WHAT))?;
        let mut public_key = [0x04; 65];
        public_key
            .get_mut(1..)
            .ok_or(OdaError::Malformed(WHAT))?
            .copy_from_slice(key);
        Ok(CertificateBody {
            format,
            subject: subject.to_vec(),
            expiry: expiry.try_into().map_err(|_| OdaError::Malformed(WHAT))?,
            serial: serial.try_into().map_err(|_| OdaError::Malformed(WHAT))?,
            public_key,
        })
    }
}

/// Packs digits into `len` bytes, right-padded with `F` (compressed numeric).
pub fn compressed_numeric<const N: usize>(digits: &str) -> Result<[u8; N], CryptoError> {
    const BAD: CryptoError = CryptoError::InvalidInput("compressed numeric digits");
    if digits.len() > 2 * N || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(BAD);
    }
    let mut nibbles = digits
        .bytes()
        .map(|b| b - b'0')
        .chain(std::iter::repeat(0x0F));
    let mut out = [0u8; N];
    for byte in &mut out {
        let hi = nibbles.next().ok_or(BAD)?;
        let lo = nibbles.next().ok_or(BAD)?;
        *byte = (hi << 4) | lo;
    }
    Ok(out)
}

/// Whether an issuer identifier (3–8 digits, `F`-padded) is a prefix of `pan`.
pub fn issuer_id_matches(issuer_id: &[u8], pan: &str) -> bool {
    let digits: String = issuer_id
        .iter()
        .flat_map(|b| [b >> 4, b & 0x0F])
        .take_while(|n| *n != 0x0F)
        .filter_map(|n| char::from_digit(u32::from(n), 10))
        .collect();
    (3..=8).contains(&digits.len()) && pan.starts_with(&digits)
}

/// The card's contribution to the signed dynamic data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IccDynamicData {
    /// Fresh random number of the card (ICC dynamic number).
    pub icc_dynamic_number: [u8; 4],
    /// ATC of the transaction.
    pub atc: u16,
    /// Cryptogram information data (`9F27`).
    pub cid: u8,
    /// The application cryptogram (`9F26`).
    pub cryptogram: [u8; 8],
}

impl IccDynamicData {
    /// `04 ‖ ICC dynamic number ‖ ATC ‖ CID ‖ AC`.
    pub fn encode(&self) -> [u8; ICC_DYNAMIC_DATA_LEN] {
        let mut out = [0u8; ICC_DYNAMIC_DATA_LEN];
        out[0] = 0x04;
        out[1..5].copy_from_slice(&self.icc_dynamic_number);
        out[5..7].copy_from_slice(&self.atc.to_be_bytes());
        out[7] = self.cid;
        out[8..].copy_from_slice(&self.cryptogram);
        out
    }

    fn decode(bytes: &[u8]) -> Option<IccDynamicData> {
        let &[0x04, n0, n1, n2, n3, a0, a1, cid, ref ac @ ..] = bytes else {
            return None;
        };
        Some(IccDynamicData {
            icc_dynamic_number: [n0, n1, n2, n3],
            atc: u16::from_be_bytes([a0, a1]),
            cid,
            cryptogram: ac.try_into().ok()?,
        })
    }
}

/// The terminal's contribution to the signed dynamic data (its PDOL values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TerminalDynamicData {
    /// `9F37`.
    pub unpredictable_number: [u8; 4],
    /// `9F02`.
    pub amount: [u8; 6],
    /// `5F2A`.
    pub currency: [u8; 2],
}

impl TerminalDynamicData {
    fn encode(&self) -> [u8; 12] {
        let mut out = [0u8; 12];
        out[..4].copy_from_slice(&self.unpredictable_number);
        out[4..10].copy_from_slice(&self.amount);
        out[10..].copy_from_slice(&self.currency);
        out
    }
}

/// The signed part of the SDAD: header ‖ ICC dynamic data ‖ terminal dynamic data.
fn sdad_message(icc: &[u8], terminal: &TerminalDynamicData) -> Vec<u8> {
    let mut m = Vec::with_capacity(3 + ICC_DYNAMIC_DATA_LEN + 12);
    m.extend_from_slice(&[FORMAT_SDAD, ALGORITHM_SM2, ICC_DYNAMIC_DATA_LEN as u8]);
    m.extend_from_slice(icc);
    m.extend_from_slice(&terminal.encode());
    m
}

/// The card signs its dynamic data: the value of `9F4B`.
pub fn sign_dynamic_data(
    icc_key: &Sm2SigningKey,
    icc: &IccDynamicData,
    terminal: &TerminalDynamicData,
) -> Result<Vec<u8>, CryptoError> {
    let encoded = icc.encode();
    let signature = icc_key.sign(SIGNER_ID, &sdad_message(&encoded, terminal))?;
    let mut out = Vec::with_capacity(SDAD_LEN);
    out.extend_from_slice(&[FORMAT_SDAD, ALGORITHM_SM2, ICC_DYNAMIC_DATA_LEN as u8]);
    out.extend_from_slice(&encoded);
    out.extend_from_slice(&signature);
    Ok(out)
}

/// The terminal checks an SDAD under the ICC public key and returns the card's dynamic data.
pub fn verify_dynamic_data(
    icc_public_key: &[u8],
    sdad: &[u8],
    terminal: &TerminalDynamicData,
) -> Result<IccDynamicData, OdaError> {
    const WHAT: &str = "signed dynamic application data";
    let header = [FORMAT_SDAD, ALGORITHM_SM2, ICC_DYNAMIC_DATA_LEN as u8];
    if sdad.len() != SDAD_LEN || sdad.get(..3) != Some(&header[..]) {
        return Err(OdaError::Malformed(WHAT));
    }
    let icc = sdad.get(3..3 + ICC_DYNAMIC_DATA_LEN).unwrap_or_default();
    let signature = sdad.get(3 + ICC_DYNAMIC_DATA_LEN..).unwrap_or_default();
    verify_sm2(
        icc_public_key,
        SIGNER_ID,
        &sdad_message(icc, terminal),
        signature,
    )
    .map_err(|_| OdaError::Signature(WHAT))?;
    IccDynamicData::decode(icc).ok_or(OdaError::Malformed(WHAT))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> Sm2SigningKey {
        Sm2SigningKey::from_bytes(&[byte; 32]).unwrap()
    }

    #[test]
    fn certificate_layout_and_chain() {
        let (ca, issuer, icc) = (key(1), key(2), key(3));
        let issuer_body = CertificateBody {
            format: FORMAT_ISSUER_CERTIFICATE,
            subject: compressed_numeric::<4>("628888").unwrap().to_vec(),
            expiry: [0x12, 0x49],
            serial: [0, 0, 1],
            public_key: issuer.public_key(),
        };
        let cert = issuer_body.certify(&ca, &[]).unwrap();
        assert_eq!(cert.len(), 142);
        assert_eq!(
            hex::encode_upper(&cert[..14]),
            "12628888FF124900000104040040"
        );
        assert_eq!(&cert[14..78], &issuer.public_key()[1..]);
        // The signature is a plain SM2 signature over the first 78 bytes.
        verify_sm2(
            &ca.public_key(),
            b"1234567812345678",
            &cert[..78],
            &cert[78..],
        )
        .unwrap();
        let body = CertificateBody::verify(&cert, 0x12, &ca.public_key(), &[]).unwrap();
        assert_eq!(body, issuer_body);
        assert!(issuer_id_matches(&body.subject, "6288881234567890"));
        assert!(!issuer_id_matches(&body.subject, "6222021234567890"));

        let aip = [0x24, 0x00];
        let icc_body = CertificateBody {
            format: FORMAT_ICC_CERTIFICATE,
            subject: compressed_numeric::<10>("6288881234567890")
                .unwrap()
                .to_vec(),
            expiry: [0x12, 0x30],
            serial: [0, 0, 7],
            public_key: icc.public_key(),
        };
        let cert = icc_body.certify(&issuer, &aip).unwrap();
        assert_eq!(cert.len(), 148);
        assert_eq!(hex::encode_upper(&cert[..11]), "146288881234567890FFFF");
        assert_eq!(
            CertificateBody::verify(&cert, 0x14, &issuer.public_key(), &aip),
            Ok(icc_body)
        );
        // Other static data, another certifier, a flipped bit or a cut: refused.
        assert!(CertificateBody::verify(&cert, 0x14, &issuer.public_key(), &[0x20, 0]).is_err());
        assert!(CertificateBody::verify(&cert, 0x14, &ca.public_key(), &aip).is_err());
        let mut bad = cert.clone();
        bad[20] ^= 1;
        assert_eq!(
            CertificateBody::verify(&bad, 0x14, &issuer.public_key(), &aip),
            Err(OdaError::Signature("public key certificate"))
        );
        assert!(matches!(
            CertificateBody::verify(&cert[..147], 0x14, &issuer.public_key(), &aip),
            Err(OdaError::Malformed(_))
        ));
        assert!(CertificateBody::verify(&cert, 0x12, &issuer.public_key(), &aip).is_err());
    }

    #[test]
    fn dynamic_data_signature() {
        let icc = key(3);
        let idd = IccDynamicData {
            icc_dynamic_number: [1, 2, 3, 4],
            atc: 0x0102,
            cid: 0x40,
            cryptogram: [9; 8],
        };
        let tdd = TerminalDynamicData {
            unpredictable_number: [0xAA; 4],
            amount: [0, 0, 0, 0, 0x12, 0x34],
            currency: [0x01, 0x56],
        };
        let sdad = sign_dynamic_data(&icc, &idd, &tdd).unwrap();
        assert_eq!(sdad.len(), SDAD_LEN);
        assert_eq!(
            hex::encode_upper(&sdad[..19]),
            "150410040102030401024009090909090909 09".replace(' ', "")
        );
        // Independently: the signature covers header ‖ ICC data ‖ UN ‖ amount ‖ currency.
        let mut m = sdad[..19].to_vec();
        m.extend_from_slice(&hex::decode("AAAAAAAA0000000012340156").unwrap());
        verify_sm2(&icc.public_key(), b"1234567812345678", &m, &sdad[19..]).unwrap();
        assert_eq!(verify_dynamic_data(&icc.public_key(), &sdad, &tdd), Ok(idd));
        let other = TerminalDynamicData {
            amount: [0, 0, 0, 0, 0x12, 0x35],
            ..tdd
        };
        assert!(verify_dynamic_data(&icc.public_key(), &sdad, &other).is_err());
        assert!(verify_dynamic_data(&icc.public_key(), &sdad[..82], &tdd).is_err());
    }

    #[test]
    fn compressed_numeric_pads_with_f() {
        assert_eq!(compressed_numeric::<2>("123").unwrap(), [0x12, 0x3F]);
        assert!(compressed_numeric::<2>("12345").is_err());
        assert!(compressed_numeric::<2>("12a").is_err());
    }
}
