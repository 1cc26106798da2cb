//! The security level of a secure channel session: P1 of EXTERNAL AUTHENTICATE (GlobalPlatform
//! Amendment D, EXTERNAL AUTHENTICATE command, for SCP03; Card Specification Appendix E for
//! SCP02, which defines `00`, `01`, `03`, `11` and `13`).
//!
//! | P1   | protection                          |
//! |------|-------------------------------------|
//! | `00` | none (authenticated only)           |
//! | `01` | C-MAC                               |
//! | `03` | C-DECRYPTION and C-MAC              |
//! | `11` | C-MAC and R-MAC                     |
//! | `13` | C-DECRYPTION, C-MAC and R-MAC       |
//! | `33` | C-DECRYPTION, R-ENCRYPTION, C-MAC and R-MAC |
//!
//! Encryption always comes with a MAC; R-ENCRYPTION needs C-DECRYPTION (its ICV reuses the
//! command encryption counter).

use std::fmt;

use super::GpError;

/// A valid security level.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SecurityLevel(u8);

impl SecurityLevel {
    /// Bit of C-MAC.
    pub const C_MAC_BIT: u8 = 0x01;
    /// Bit of C-DECRYPTION (command data encrypted by the host).
    pub const C_DEC_BIT: u8 = 0x02;
    /// Bit of R-MAC.
    pub const R_MAC_BIT: u8 = 0x10;
    /// Bit of R-ENCRYPTION (response data encrypted by the card).
    pub const R_ENC_BIT: u8 = 0x20;

    /// `00`: mutual authentication only, no secure messaging.
    pub const NONE: SecurityLevel = SecurityLevel(0x00);
    /// `01`: C-MAC.
    pub const C_MAC: SecurityLevel = SecurityLevel(0x01);
    /// `03`: C-DECRYPTION and C-MAC.
    pub const C_DEC_C_MAC: SecurityLevel = SecurityLevel(0x03);
    /// `11`: C-MAC and R-MAC.
    pub const C_MAC_R_MAC: SecurityLevel = SecurityLevel(0x11);
    /// `13`: C-DECRYPTION, C-MAC and R-MAC.
    pub const C_DEC_C_MAC_R_MAC: SecurityLevel = SecurityLevel(0x13);
    /// `33`: C-DECRYPTION, R-ENCRYPTION, C-MAC and R-MAC.
    pub const FULL: SecurityLevel = SecurityLevel(0x33);

    /// Every valid level, weakest first.
    pub const ALL: [SecurityLevel; 6] = [
        Self::NONE,
        Self::C_MAC,
        Self::C_DEC_C_MAC,
        Self::C_MAC_R_MAC,
        Self::C_DEC_C_MAC_R_MAC,
        Self::FULL,
    ];

    /// Decodes P1 of EXTERNAL AUTHENTICATE.
    pub const fn new(p1: u8) -> Result<SecurityLevel, GpError> {
        match p1 {
            0x00 | 0x01 | 0x03 | 0x11 | 0x13 | 0x33 => Ok(SecurityLevel(p1)),
            level => Err(GpError::SecurityLevelNotSupported { level }),
        }
    }

    /// The P1 byte.
    pub const fn value(self) -> u8 {
        self.0
    }

    /// Whether commands carry a C-MAC.
    pub const fn c_mac(self) -> bool {
        self.0 & Self::C_MAC_BIT != 0
    }

    /// Whether command data is encrypted.
    pub const fn c_dec(self) -> bool {
        self.0 & Self::C_DEC_BIT != 0
    }

    /// Whether responses carry an R-MAC.
    pub const fn r_mac(self) -> bool {
        self.0 & Self::R_MAC_BIT != 0
    }

    /// Whether response data is encrypted.
    pub const fn r_enc(self) -> bool {
        self.0 & Self::R_ENC_BIT != 0
    }
}

impl TryFrom<u8> for SecurityLevel {
    type Error = GpError;

    fn try_from(p1: u8) -> Result<Self, Self::Error> {
        SecurityLevel::new(p1)
    }
}

impl fmt::Debug for SecurityLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecurityLevel({:02X})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_six_defined_levels() {
        let valid: Vec<u8> = (0..=255u8)
            .filter(|&p1| SecurityLevel::new(p1).is_ok())
            .collect();
        assert_eq!(valid, [0x00, 0x01, 0x03, 0x11, 0x13, 0x33]);
        assert_eq!(
            SecurityLevel::new(0x31),
            Err(GpError::SecurityLevelNotSupported { level: 0x31 })
        );
    }

    #[test]
    fn bits() {
        let full = SecurityLevel::FULL;
        assert!(full.c_mac() && full.c_dec() && full.r_mac() && full.r_enc());
        let l = SecurityLevel::C_MAC_R_MAC;
        assert!(l.c_mac() && !l.c_dec() && l.r_mac() && !l.r_enc());
        assert!(!SecurityLevel::NONE.c_mac());
        assert_eq!(
            format!("{:?}", SecurityLevel::C_DEC_C_MAC),
            "SecurityLevel(03)"
        );
    }
}
