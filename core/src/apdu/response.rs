//! Response APDUs: a data field followed by the status word SW1 SW2.

use std::fmt;

use super::error::ResponseError;
use super::status::{Status, StatusWord};

/// A response APDU. `Debug` shows the data length and status word, not the data, which may hold
/// a PAN, track 2 data or a cryptogram.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ResponseApdu {
    /// The response data field (possibly empty).
    pub data: Vec<u8>,
    /// The trailing status word.
    pub sw: StatusWord,
}

impl ResponseApdu {
    /// A response with `data` and status `sw`.
    pub fn new(data: impl Into<Vec<u8>>, sw: impl Into<StatusWord>) -> ResponseApdu {
        ResponseApdu {
            data: data.into(),
            sw: sw.into(),
        }
    }

    /// `data` followed by `9000`.
    pub fn success(data: impl Into<Vec<u8>>) -> ResponseApdu {
        ResponseApdu::new(data, StatusWord::SUCCESS)
    }

    /// A response with no data, only the status word (e.g. `6A82`).
    pub fn status_only(sw: impl Into<StatusWord>) -> ResponseApdu {
        ResponseApdu::new(Vec::new(), sw)
    }

    /// Splits `bytes` into data and status word without copying.
    pub fn split(bytes: &[u8]) -> Result<(&[u8], StatusWord), ResponseError> {
        let too_short = ResponseError::TooShort { len: bytes.len() };
        let split = bytes.len().checked_sub(2).ok_or(too_short)?;
        let (data, sw) = bytes.split_at_checked(split).ok_or(too_short)?;
        let &[sw1, sw2] = sw else {
            return Err(too_short);
        };
        Ok((data, StatusWord::new(sw1, sw2)))
    }

    /// Decodes a response: at least the two status bytes.
    pub fn parse(bytes: &[u8]) -> Result<ResponseApdu, ResponseError> {
        let (data, sw) = ResponseApdu::split(bytes)?;
        Ok(ResponseApdu {
            data: data.to_vec(),
            sw,
        })
    }

    /// Encodes the response: data then SW1 SW2.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.data.len() + 2);
        out.extend_from_slice(&self.data);
        out.extend_from_slice(&self.sw.to_bytes());
        out
    }

    /// Whether the status word is `9000`.
    pub const fn is_success(&self) -> bool {
        self.sw.is_success()
    }

    /// The typed meaning of the status word.
    pub const fn status(&self) -> Status {
        self.sw.status()
    }
}

impl TryFrom<&[u8]> for ResponseApdu {
    type Error = ResponseError;

    fn try_from(bytes: &[u8]) -> Result<Self, Self::Error> {
        ResponseApdu::parse(bytes)
    }
}

impl fmt::Debug for ResponseApdu {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ResponseApdu {{ len: {}, sw: {:04X} }}",
            self.data.len(),
            self.sw.0
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_splits_data_and_status() {
        let r = ResponseApdu::parse(&[0x6F, 0x00, 0x90, 0x00]).unwrap();
        assert_eq!(r.data, [0x6F, 0x00]);
        assert_eq!(r.sw, StatusWord(0x9000));
        assert!(r.is_success());

        let r = ResponseApdu::parse(&[0x6A, 0x82]).unwrap();
        assert!(r.data.is_empty());
        assert_eq!(r.status(), Status::FileNotFound);
        assert!(!r.is_success());

        let r = ResponseApdu::parse(&[0x61, 0x1C]).unwrap();
        assert_eq!(r.status(), Status::MoreData { available: 0x1C });
    }

    #[test]
    fn fewer_than_two_bytes_is_an_error() {
        assert_eq!(
            ResponseApdu::parse(&[]),
            Err(ResponseError::TooShort { len: 0 })
        );
        assert_eq!(
            ResponseApdu::parse(&[0x90]),
            Err(ResponseError::TooShort { len: 1 })
        );
    }

    #[test]
    fn build_and_encode() {
        assert_eq!(
            ResponseApdu::success(vec![0x01, 0x02]).to_bytes(),
            [0x01, 0x02, 0x90, 0x00]
        );
        assert_eq!(
            ResponseApdu::status_only(Status::ConditionsNotSatisfied).to_bytes(),
            [0x69, 0x85]
        );
        assert_eq!(
            ResponseApdu::new(vec![0xAA], 0x6283).to_bytes(),
            [0xAA, 0x62, 0x83]
        );
        assert_eq!(
            ResponseApdu::split(&[0x9F, 0x36, 0x02, 0x00, 0x01, 0x90, 0x00]),
            Ok((&[0x9F, 0x36, 0x02, 0x00, 0x01][..], StatusWord::SUCCESS))
        );
    }

    #[test]
    fn debug_hides_the_data() {
        let r = ResponseApdu::success(vec![0x5A, 0x08, 0x62, 0x22]);
        assert_eq!(format!("{r:?}"), "ResponseApdu { len: 4, sw: 9000 }");
    }
}
