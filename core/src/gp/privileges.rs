//! Application privileges (GlobalPlatform Card Specification §6.6.1): three bytes in
//! INSTALL [for install] and in GET STATUS (tag `C5`); one byte in older cards.

use std::fmt;
use std::ops::BitOr;

use super::GpError;

/// A set of privileges, coded on three bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Privileges([u8; 3]);

impl Privileges {
    /// No privileges.
    pub const NONE: Privileges = Privileges([0, 0, 0]);
    /// Byte 1 b8: Security Domain.
    pub const SECURITY_DOMAIN: Privileges = Privileges([0x80, 0, 0]);
    /// Byte 1 b7: DAP Verification (with Security Domain).
    pub const DAP_VERIFICATION: Privileges = Privileges([0x40, 0, 0]);
    /// Byte 1 b6: Delegated Management (with Security Domain).
    pub const DELEGATED_MANAGEMENT: Privileges = Privileges([0x20, 0, 0]);
    /// Byte 1 b5: Card Lock.
    pub const CARD_LOCK: Privileges = Privileges([0x10, 0, 0]);
    /// Byte 1 b4: Card Terminate.
    pub const CARD_TERMINATE: Privileges = Privileges([0x08, 0, 0]);
    /// Byte 1 b3: Card Reset (Default Selected in GP 2.1).
    pub const CARD_RESET: Privileges = Privileges([0x04, 0, 0]);
    /// Byte 1 b2: CVM Management.
    pub const CVM_MANAGEMENT: Privileges = Privileges([0x02, 0, 0]);
    /// Byte 1 b1: Mandated DAP Verification (with Security Domain and DAP Verification).
    pub const MANDATED_DAP_VERIFICATION: Privileges = Privileges([0x01, 0, 0]);
    /// Byte 2 b8: Trusted Path.
    pub const TRUSTED_PATH: Privileges = Privileges([0, 0x80, 0]);
    /// Byte 2 b7: Authorized Management.
    pub const AUTHORIZED_MANAGEMENT: Privileges = Privileges([0, 0x40, 0]);
    /// Byte 2 b6: Token Verification.
    pub const TOKEN_VERIFICATION: Privileges = Privileges([0, 0x20, 0]);
    /// Byte 2 b5: Global Delete.
    pub const GLOBAL_DELETE: Privileges = Privileges([0, 0x10, 0]);
    /// Byte 2 b4: Global Lock.
    pub const GLOBAL_LOCK: Privileges = Privileges([0, 0x08, 0]);
    /// Byte 2 b3: Global Registry.
    pub const GLOBAL_REGISTRY: Privileges = Privileges([0, 0x04, 0]);
    /// Byte 2 b2: Final Application.
    pub const FINAL_APPLICATION: Privileges = Privileges([0, 0x02, 0]);
    /// Byte 2 b1: Global Service.
    pub const GLOBAL_SERVICE: Privileges = Privileges([0, 0x01, 0]);
    /// Byte 3 b8: Receipt Generation.
    pub const RECEIPT_GENERATION: Privileges = Privileges([0, 0, 0x80]);
    /// Byte 3 b7: Ciphered Load File Data Block.
    pub const CIPHERED_LOAD_FILE_DATA_BLOCK: Privileges = Privileges([0, 0, 0x40]);
    /// Byte 3 b6: Contactless Activation.
    pub const CONTACTLESS_ACTIVATION: Privileges = Privileges([0, 0, 0x20]);
    /// Byte 3 b5: Contactless Self-Activation.
    pub const CONTACTLESS_SELF_ACTIVATION: Privileges = Privileges([0, 0, 0x10]);

    /// Privileges from their three-byte coding.
    pub const fn from_bytes(bytes: [u8; 3]) -> Privileges {
        Privileges(bytes)
    }

    /// Decodes a 1-byte (GP 2.1) or 3-byte privileges field.
    pub fn parse(bytes: &[u8]) -> Result<Privileges, GpError> {
        match *bytes {
            [b1] => Ok(Privileges([b1, 0, 0])),
            [b1, b2, b3] => Ok(Privileges([b1, b2, b3])),
            _ => Err(GpError::InvalidParameter("privileges are 1 or 3 bytes")),
        }
    }

    /// The three-byte coding.
    pub const fn to_bytes(self) -> [u8; 3] {
        self.0
    }

    /// Whether every privilege of `other` is in `self`.
    pub fn contains(self, other: Privileges) -> bool {
        self.0.iter().zip(other.0).all(|(s, o)| s & o == o)
    }

    /// Whether this is a security domain (byte 1 b8).
    pub fn is_security_domain(self) -> bool {
        self.contains(Privileges::SECURITY_DOMAIN)
    }
}

impl BitOr for Privileges {
    type Output = Privileges;

    fn bitor(self, rhs: Privileges) -> Privileges {
        let [a, b, c] = self.0;
        let [x, y, z] = rhs.0;
        Privileges([a | x, b | y, c | z])
    }
}

impl fmt::Debug for Privileges {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c] = self.0;
        write!(f, "Privileges({a:02X}{b:02X}{c:02X})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codings() {
        let sd = Privileges::SECURITY_DOMAIN
            | Privileges::DAP_VERIFICATION
            | Privileges::TRUSTED_PATH
            | Privileges::CONTACTLESS_ACTIVATION;
        assert_eq!(sd.to_bytes(), [0xC0, 0x80, 0x20]);
        assert!(sd.is_security_domain());
        assert!(sd.contains(Privileges::DAP_VERIFICATION));
        assert!(!sd.contains(Privileges::CARD_LOCK));
        assert_eq!(Privileges::parse(&[0x9E]).unwrap().to_bytes(), [0x9E, 0, 0]);
        assert_eq!(
            Privileges::parse(&[0x80, 0x40, 0x00]).unwrap(),
            Privileges::SECURITY_DOMAIN | Privileges::AUTHORIZED_MANAGEMENT
        );
        assert!(Privileges::parse(&[1, 2]).is_err());
        assert_eq!(format!("{sd:?}"), "Privileges(C08020)");
    }
}
