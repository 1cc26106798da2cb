//! The class byte (CLA): logical channel, secure messaging and command chaining bits
//! (ISO/IEC 7816-4 §5.4.1; GlobalPlatform Card Specification §11.1.4 for proprietary classes).
//!
//! Two codings exist. The *first interindustry* coding (`000c ssnn`) carries channels 0-3 and
//! four secure messaging indications; the *further interindustry* coding (`01sc nnnn`) carries
//! channels 4-19 (`nnnn` = channel − 4) and only one secure messaging bit. Proprietary classes
//! (bit 8 set, e.g. EMV's `80`/`84`) mirror the same two codings in their low seven bits, as
//! GlobalPlatform does: `80`-`87` on channels 0-3, `C0`-`CF` / `E0`-`EF` on channels 4-19.

use super::error::ClassError;

/// A logical channel number, 0 (the basic channel) to 19.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LogicalChannel(u8);

impl LogicalChannel {
    /// The basic channel, always open.
    pub const BASIC: LogicalChannel = LogicalChannel(0);
    /// Highest channel number the class byte can carry.
    pub const MAX: u8 = 19;

    /// Checks that `number` is in `0..=19`.
    pub const fn new(number: u8) -> Result<LogicalChannel, ClassError> {
        if number > Self::MAX {
            Err(ClassError::ChannelOutOfRange { channel: number })
        } else {
            Ok(LogicalChannel(number))
        }
    }

    /// The channel number.
    pub const fn number(self) -> u8 {
        self.0
    }
}

/// The secure messaging indication of a class byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SecureMessaging {
    /// No secure messaging.
    None,
    /// Proprietary secure messaging (first coding `01`; for proprietary classes this is the
    /// GlobalPlatform / EMV secure messaging of `84`, also expressible on channels 4-19).
    Proprietary,
    /// ISO/IEC 7816-4 §6 secure messaging, command header not authenticated.
    Standard,
    /// ISO/IEC 7816-4 §6 secure messaging, command header authenticated (channels 0-3 only).
    StandardHeaderAuthenticated,
}

/// The fields a class byte encodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClassInfo {
    /// Bit 8: a proprietary class (e.g. EMV and GlobalPlatform commands use `80`).
    pub proprietary: bool,
    /// Command chaining: more commands of the chain follow.
    pub chaining: bool,
    /// Secure messaging indication.
    pub secure_messaging: SecureMessaging,
    /// Logical channel.
    pub channel: LogicalChannel,
}

/// A class byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Class(u8);

impl Class {
    /// Wraps a raw class byte; no check is made until it is decoded.
    pub const fn new(cla: u8) -> Class {
        Class(cla)
    }

    /// The raw class byte.
    pub const fn value(self) -> u8 {
        self.0
    }

    /// Whether bit 8 (proprietary class) is set.
    pub const fn is_proprietary(self) -> bool {
        self.0 & 0x80 != 0
    }

    /// Decodes the channel, chaining and secure messaging fields.
    ///
    /// Fails for `FF` (invalid), the reserved interindustry range `20`-`3F` and its proprietary
    /// mirror `A0`-`BF`, which have no defined structure.
    pub const fn decode(self) -> Result<ClassInfo, ClassError> {
        let cla = self.0;
        if cla == 0xFF {
            return Err(ClassError::Invalid);
        }
        let proprietary = cla & 0x80 != 0;
        let chaining = cla & 0x10 != 0;
        match cla & 0x60 {
            0x00 => {
                let secure_messaging = match (cla >> 2) & 0x03 {
                    0 => SecureMessaging::None,
                    1 => SecureMessaging::Proprietary,
                    2 => SecureMessaging::Standard,
                    _ => SecureMessaging::StandardHeaderAuthenticated,
                };
                Ok(ClassInfo {
                    proprietary,
                    chaining,
                    secure_messaging,
                    channel: LogicalChannel(cla & 0x03),
                })
            }
            0x20 => Err(ClassError::Reserved { cla }),
            _ => {
                let secure_messaging = match (cla & 0x20 != 0, proprietary) {
                    (false, _) => SecureMessaging::None,
                    (true, true) => SecureMessaging::Proprietary,
                    (true, false) => SecureMessaging::Standard,
                };
                Ok(ClassInfo {
                    proprietary,
                    chaining,
                    secure_messaging,
                    channel: LogicalChannel(4 + (cla & 0x0F)),
                })
            }
        }
    }

    /// The logical channel this class byte addresses.
    pub const fn channel(self) -> Result<LogicalChannel, ClassError> {
        match self.decode() {
            Ok(info) => Ok(info.channel),
            Err(e) => Err(e),
        }
    }

    /// The same class byte re-coded for `channel`, keeping the proprietary, chaining and secure
    /// messaging indications.
    ///
    /// ```
    /// use wallet_core::apdu::{Class, LogicalChannel};
    /// let ch5 = LogicalChannel::new(5)?;
    /// assert_eq!(Class::new(0x00).with_channel(ch5)?.value(), 0x41);
    /// assert_eq!(Class::new(0x84).with_channel(ch5)?.value(), 0xE1);
    /// # Ok::<(), wallet_core::apdu::ClassError>(())
    /// ```
    pub const fn with_channel(self, channel: LogicalChannel) -> Result<Class, ClassError> {
        match self.decode() {
            Ok(mut info) => {
                info.channel = channel;
                match info.encode() {
                    Ok(class) => Ok(class),
                    Err(ClassError::SecureMessagingNotEncodable { channel, .. }) => {
                        Err(ClassError::SecureMessagingNotEncodable {
                            cla: self.0,
                            channel,
                        })
                    }
                    Err(e) => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }
}

impl ClassInfo {
    /// Encodes these fields into a class byte: first interindustry coding for channels 0-3,
    /// further interindustry coding for channels 4-19.
    ///
    /// Channels 4-19 cannot express header-authenticated secure messaging, nor proprietary secure
    /// messaging of an interindustry class, nor standard secure messaging of a proprietary class;
    /// and the combination that would give `FF` is invalid.
    pub const fn encode(self) -> Result<Class, ClassError> {
        let base = if self.proprietary { 0x80 } else { 0x00 };
        let chaining = if self.chaining { 0x10 } else { 0x00 };
        let channel = self.channel.0;
        let cla = if channel < 4 {
            let sm = match self.secure_messaging {
                SecureMessaging::None => 0x00,
                SecureMessaging::Proprietary => 0x04,
                SecureMessaging::Standard => 0x08,
                SecureMessaging::StandardHeaderAuthenticated => 0x0C,
            };
            base | chaining | sm | channel
        } else {
            let sm = match (self.secure_messaging, self.proprietary) {
                (SecureMessaging::None, _) => 0x00,
                (SecureMessaging::Proprietary, true) | (SecureMessaging::Standard, false) => 0x20,
                _ => {
                    let original = ClassInfo {
                        channel: LogicalChannel(0),
                        ..self
                    };
                    let cla = match original.encode() {
                        Ok(class) => class.0,
                        Err(_) => 0xFF,
                    };
                    return Err(ClassError::SecureMessagingNotEncodable { cla, channel });
                }
            };
            base | 0x40 | sm | chaining | (channel - 4)
        };
        if cla == 0xFF {
            Err(ClassError::Invalid)
        } else {
            Ok(Class(cla))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ch(n: u8) -> LogicalChannel {
        LogicalChannel(n)
    }

    fn recode(cla: u8, channel: u8) -> Result<u8, ClassError> {
        Class::new(cla).with_channel(ch(channel)).map(Class::value)
    }

    #[test]
    fn channels_0_to_3_use_the_first_interindustry_coding() {
        assert_eq!(recode(0x00, 0), Ok(0x00));
        assert_eq!(recode(0x00, 1), Ok(0x01));
        assert_eq!(recode(0x00, 3), Ok(0x03));
        assert_eq!(recode(0x80, 2), Ok(0x82));
        assert_eq!(recode(0x84, 3), Ok(0x87));
        assert_eq!(recode(0x0C, 2), Ok(0x0E));
        assert_eq!(recode(0x43, 1), Ok(0x01));
    }

    #[test]
    fn channels_4_to_19_use_the_further_interindustry_coding() {
        assert_eq!(recode(0x00, 4), Ok(0x40));
        assert_eq!(recode(0x00, 19), Ok(0x4F));
        assert_eq!(recode(0x08, 4), Ok(0x60)); // standard SM → bit 6
        assert_eq!(recode(0x10, 7), Ok(0x53)); // chaining → bit 5
        assert_eq!(recode(0x80, 5), Ok(0xC1)); // GlobalPlatform, no SM
        assert_eq!(recode(0x84, 4), Ok(0xE0)); // GlobalPlatform SM
        assert_eq!(recode(0x84, 19), Ok(0xEF));
        assert_eq!(recode(0xE5, 0), Ok(0x84));
    }

    #[test]
    fn what_cannot_be_coded_is_an_error() {
        assert_eq!(
            recode(0x0C, 4),
            Err(ClassError::SecureMessagingNotEncodable {
                cla: 0x0C,
                channel: 4
            })
        );
        assert_eq!(
            recode(0x04, 9),
            Err(ClassError::SecureMessagingNotEncodable {
                cla: 0x04,
                channel: 9
            })
        );
        assert_eq!(recode(0x94, 19), Err(ClassError::Invalid)); // would be FF
        assert_eq!(recode(0xFF, 0), Err(ClassError::Invalid));
        assert_eq!(recode(0x20, 0), Err(ClassError::Reserved { cla: 0x20 }));
        assert_eq!(recode(0xA0, 1), Err(ClassError::Reserved { cla: 0xA0 }));
        assert_eq!(
            LogicalChannel::new(20),
            Err(ClassError::ChannelOutOfRange { channel: 20 })
        );
        assert_eq!(LogicalChannel::new(19).map(LogicalChannel::number), Ok(19));
    }

    #[test]
    fn decode_reports_every_field() {
        assert_eq!(
            Class::new(0x9D).decode(),
            Ok(ClassInfo {
                proprietary: true,
                chaining: true,
                secure_messaging: SecureMessaging::StandardHeaderAuthenticated,
                channel: ch(1),
            })
        );
        assert_eq!(
            Class::new(0x7A).decode(),
            Ok(ClassInfo {
                proprietary: false,
                chaining: true,
                secure_messaging: SecureMessaging::Standard,
                channel: ch(14),
            })
        );
        assert_eq!(Class::new(0xCF).channel(), Ok(ch(19)));
        assert!(Class::new(0x80).is_proprietary());
        assert!(!Class::new(0x40).is_proprietary());
    }
}
