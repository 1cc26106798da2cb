//! Application identifiers (ISO/IEC 7816-5): 5 to 16 bytes, a 5-byte registered provider
//! identifier (RID) then an optional proprietary extension (PIX).

use std::fmt;

use super::GpError;

/// Shortest AID (the RID alone).
pub const MIN_AID_LEN: usize = 5;
/// Longest AID.
pub const MAX_AID_LEN: usize = 16;

/// An application identifier of 5 to 16 bytes. AIDs are public: `Debug` and `Display` show them
/// in hex.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Aid(Vec<u8>);

impl Aid {
    /// The GlobalPlatform issuer security domain AID `A000000151000000`.
    pub const GP_ISD: [u8; 8] = [0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00];

    /// Checks the length (5 to 16 bytes).
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Aid, GpError> {
        let bytes = bytes.into();
        if (MIN_AID_LEN..=MAX_AID_LEN).contains(&bytes.len()) {
            Ok(Aid(bytes))
        } else {
            Err(GpError::InvalidParameter("AID must be 5 to 16 bytes"))
        }
    }

    /// Parses an AID received in command data (length errors are malformed commands).
    pub(crate) fn from_command(bytes: &[u8]) -> Result<Aid, GpError> {
        Aid::new(bytes).map_err(|_| GpError::MalformedCommand("AID must be 5 to 16 bytes"))
    }

    /// Parses an AID received in response data (length errors are malformed responses).
    pub(crate) fn from_response(bytes: &[u8]) -> Result<Aid, GpError> {
        Aid::new(bytes).map_err(|_| GpError::MalformedResponse("AID must be 5 to 16 bytes"))
    }

    /// The AID bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The registered provider identifier: the first five bytes.
    pub fn rid(&self) -> &[u8] {
        self.0.get(..MIN_AID_LEN).unwrap_or(&self.0)
    }
}

impl AsRef<[u8]> for Aid {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl TryFrom<&[u8]> for Aid {
    type Error = GpError;

    fn try_from(bytes: &[u8]) -> Result<Self, Self::Error> {
        Aid::new(bytes)
    }
}

impl fmt::Display for Aid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02X}"))
    }
}

impl fmt::Debug for Aid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Aid({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths() {
        assert!(Aid::new(vec![0xA0; 4]).is_err());
        assert!(Aid::new(vec![0xA0; 17]).is_err());
        let isd = Aid::new(Aid::GP_ISD).unwrap();
        assert_eq!(isd.to_string(), "A000000151000000");
        assert_eq!(format!("{isd:?}"), "Aid(A000000151000000)");
        assert_eq!(isd.rid(), [0xA0, 0x00, 0x00, 0x01, 0x51]);
        assert_eq!(
            Aid::from_command(&[1, 2]),
            Err(GpError::MalformedCommand("AID must be 5 to 16 bytes"))
        );
    }
}
