//! Command APDUs (ISO/IEC 7816-4 §5.1): the four cases, short and extended length.
//!
//! | case | body                          | short                | extended                     |
//! |------|-------------------------------|----------------------|------------------------------|
//! | 1    | –                             | –                    | –                            |
//! | 2    | Le                            | `Le`                 | `00 Le1 Le2`                 |
//! | 3    | Lc, data                      | `Lc data`            | `00 Lc1 Lc2 data`            |
//! | 4    | Lc, data, Le                  | `Lc data Le`         | `00 Lc1 Lc2 data Le1 Le2`    |
//!
//! Short Le `00` means 256 bytes, extended Le `00 00` means 65536.

use std::fmt;

use zeroize::Zeroize;

use super::class::{Class, LogicalChannel};
use super::error::{ClassError, CommandError};

/// Largest command data field (Nc), in bytes.
pub const MAX_DATA_LEN: usize = 65_535;
/// Largest Ne a short Le field can ask for.
pub const MAX_SHORT_NE: u32 = 256;
/// Largest Ne an extended Le field can ask for.
pub const MAX_EXTENDED_NE: u32 = 65_536;
/// Largest Nc a short Lc field can carry.
const MAX_SHORT_NC: usize = 255;

/// A command APDU: header CLA INS P1 P2, optional data field, optional expected length Ne.
///
/// The data field and Ne are validated when set, so encoding never fails. `Debug` shows the header
/// and lengths but not the data, which may hold a PIN block or key material.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CommandApdu {
    cla: u8,
    ins: u8,
    p1: u8,
    p2: u8,
    data: Vec<u8>,
    ne: Option<u32>,
}

impl CommandApdu {
    /// A case 1 command (header only).
    pub const fn new(cla: u8, ins: u8, p1: u8, p2: u8) -> CommandApdu {
        CommandApdu {
            cla,
            ins,
            p1,
            p2,
            data: Vec::new(),
            ne: None,
        }
    }

    /// Sets the data field (Nc = `data.len()`, at most 65535). Empty data means no data field.
    pub fn with_data(mut self, data: impl Into<Vec<u8>>) -> Result<CommandApdu, CommandError> {
        let data = data.into();
        if data.len() > MAX_DATA_LEN {
            return Err(CommandError::DataTooLong { len: data.len() });
        }
        self.data = data;
        Ok(self)
    }

    /// Sets the expected response length Ne, `1..=65536` (256 is short Le `00`, 65536 is
    /// extended Le `00 00`).
    pub fn with_le(mut self, ne: u32) -> Result<CommandApdu, CommandError> {
        if ne == 0 || ne > MAX_EXTENDED_NE {
            return Err(CommandError::InvalidLe { ne });
        }
        self.ne = Some(ne);
        Ok(self)
    }

    /// Sets Ne from a short Le byte as it appears on the wire or in SW2 of `61xx` / `6Cxx`
    /// (`00` = 256).
    pub fn with_short_le(mut self, le: u8) -> CommandApdu {
        self.ne = Some(short_ne(le));
        self
    }

    /// Removes the Le field.
    pub fn without_le(mut self) -> CommandApdu {
        self.ne = None;
        self
    }

    /// The class byte.
    pub const fn cla(&self) -> u8 {
        self.cla
    }

    /// The class byte, decodable into channel and secure messaging fields.
    pub const fn class(&self) -> Class {
        Class::new(self.cla)
    }

    /// The instruction byte.
    pub const fn ins(&self) -> u8 {
        self.ins
    }

    /// Parameter 1.
    pub const fn p1(&self) -> u8 {
        self.p1
    }

    /// Parameter 2.
    pub const fn p2(&self) -> u8 {
        self.p2
    }

    /// The data field (empty when absent).
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// The expected response length Ne, if an Le field is present.
    pub const fn ne(&self) -> Option<u32> {
        self.ne
    }

    /// The ISO/IEC 7816-4 case: 1 (header only), 2 (Le), 3 (data), 4 (data and Le).
    pub fn case(&self) -> u8 {
        match (self.data.is_empty(), self.ne.is_some()) {
            (true, false) => 1,
            (true, true) => 2,
            (false, false) => 3,
            (false, true) => 4,
        }
    }

    /// Whether [`to_bytes`](Self::to_bytes) uses extended length fields: when Nc exceeds 255 or
    /// Ne exceeds 256.
    pub fn is_extended(&self) -> bool {
        self.data.len() > MAX_SHORT_NC || self.ne.is_some_and(|ne| ne > MAX_SHORT_NE)
    }

    /// The same command re-addressed to `channel` (see [`Class::with_channel`]).
    pub fn on_channel(mut self, channel: LogicalChannel) -> Result<CommandApdu, ClassError> {
        self.cla = Class::new(self.cla).with_channel(channel)?.value();
        Ok(self)
    }

    /// Length of the encoding produced by [`to_bytes`](Self::to_bytes).
    pub fn encoded_len(&self) -> usize {
        let nc = self.data.len();
        let ext = self.is_extended();
        let lc = match (nc, ext) {
            (0, _) => 0,
            (_, false) => 1,
            (_, true) => 3,
        };
        let le = match (self.ne, ext, nc) {
            (None, _, _) => 0,
            (Some(_), false, _) => 1,
            (Some(_), true, 0) => 3,
            (Some(_), true, _) => 2,
        };
        4 + lc + nc + le
    }

    /// Encodes the command, with short length fields when both Nc and Ne allow it and extended
    /// ones otherwise.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.write_to(&mut out);
        out
    }

    /// Appends the encoding of [`to_bytes`](Self::to_bytes) to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[self.cla, self.ins, self.p1, self.p2]);
        let nc = self.data.len();
        if self.is_extended() {
            if nc > 0 {
                // Nc ≤ 65535 is an invariant of `with_data`; the mask keeps this panic-free.
                let lc = (nc & 0xFFFF) as u16;
                out.push(0x00);
                out.extend_from_slice(&lc.to_be_bytes());
                out.extend_from_slice(&self.data);
            }
            if let Some(ne) = self.ne {
                if nc == 0 {
                    out.push(0x00);
                }
                // 65536 → 00 00.
                out.extend_from_slice(&((ne & 0xFFFF) as u16).to_be_bytes());
            }
        } else {
            if nc > 0 {
                out.push((nc & 0xFF) as u8);
                out.extend_from_slice(&self.data);
            }
            if let Some(ne) = self.ne {
                // 256 → 00.
                out.push((ne & 0xFF) as u8);
            }
        }
    }

    /// Decodes a command APDU of any case, short or extended, rejecting inconsistent length
    /// fields, truncated input and trailing bytes.
    pub fn parse(bytes: &[u8]) -> Result<CommandApdu, CommandError> {
        let too_short = CommandError::TooShort { len: bytes.len() };
        let (header, body) = bytes.split_at_checked(4).ok_or(too_short)?;
        let &[cla, ins, p1, p2] = header else {
            return Err(too_short);
        };
        let (data, ne) = parse_body(body)?;
        Ok(CommandApdu {
            cla,
            ins,
            p1,
            p2,
            data: data.to_vec(),
            ne,
        })
    }
}

/// Splits a command body (everything after the header) into data field and Ne.
fn parse_body(body: &[u8]) -> Result<(&[u8], Option<u32>), CommandError> {
    let total = body.len() + 4;
    let truncated = |expected: usize| CommandError::Truncated {
        expected: expected + 4,
        actual: total,
    };
    let Some((&b1, rest)) = body.split_first() else {
        return Ok((&[], None)); // case 1
    };
    if rest.is_empty() {
        return Ok((&[], Some(short_ne(b1)))); // case 2S
    }
    if b1 != 0 {
        // Short Lc = b1.
        let nc = usize::from(b1);
        let (data, after) = rest.split_at_checked(nc).ok_or(truncated(1 + nc))?;
        return match after {
            [] => Ok((data, None)),                  // case 3S
            [le] => Ok((data, Some(short_ne(*le)))), // case 4S
            [_, extra @ ..] => Err(CommandError::TrailingBytes { count: extra.len() }),
        };
    }
    // Extended: 00 followed by two length bytes.
    let (len, after_len) = rest.split_at_checked(2).ok_or(truncated(3))?;
    let &[hi, lo] = len else {
        return Err(truncated(3));
    };
    let value = u16::from_be_bytes([hi, lo]);
    if after_len.is_empty() {
        return Ok((&[], Some(extended_ne(value)))); // case 2E
    }
    if value == 0 {
        return Err(CommandError::ZeroExtendedLc);
    }
    let nc = usize::from(value);
    let (data, after) = after_len.split_at_checked(nc).ok_or(truncated(3 + nc))?;
    match after {
        [] => Ok((data, None)), // case 3E
        [_] => Err(truncated(3 + nc + 2)),
        [hi, lo] => Ok((data, Some(extended_ne(u16::from_be_bytes([*hi, *lo]))))), // case 4E
        [_, _, extra @ ..] => Err(CommandError::TrailingBytes { count: extra.len() }),
    }
}

fn short_ne(le: u8) -> u32 {
    if le == 0 {
        MAX_SHORT_NE
    } else {
        u32::from(le)
    }
}

fn extended_ne(le: u16) -> u32 {
    if le == 0 {
        MAX_EXTENDED_NE
    } else {
        u32::from(le)
    }
}

impl TryFrom<&[u8]> for CommandApdu {
    type Error = CommandError;

    fn try_from(bytes: &[u8]) -> Result<Self, Self::Error> {
        CommandApdu::parse(bytes)
    }
}

/// Clears the data field, contents and spare capacity, leaving it empty (the header and Ne are
/// not secret). A command whose data is a PIN block or key material can be held in
/// `Zeroizing<CommandApdu>`, so that its data is cleared when it drops.
impl Zeroize for CommandApdu {
    fn zeroize(&mut self) {
        self.data.zeroize();
    }
}

impl fmt::Debug for CommandApdu {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "CommandApdu {{ header: {:02X}{:02X}{:02X}{:02X}, nc: {}, ne: {:?} }}",
            self.cla,
            self.ins,
            self.p1,
            self.p2,
            self.data.len(),
            self.ne
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(data: &[u8], ne: Option<u32>) -> CommandApdu {
        let c = CommandApdu::new(0x00, 0xB0, 0x01, 0x02)
            .with_data(data.to_vec())
            .unwrap();
        match ne {
            Some(ne) => c.with_le(ne).unwrap(),
            None => c,
        }
    }

    #[test]
    fn zeroize_clears_the_data_and_keeps_the_header() {
        let mut c = cmd(&[0x26, 0x12, 0x34, 0x56, 0xFF, 0xFF, 0xFF, 0xFF], Some(256));
        c.zeroize();
        assert_eq!(c.data(), &[] as &[u8]);
        assert_eq!((c.cla(), c.ins(), c.p1(), c.p2()), (0x00, 0xB0, 0x01, 0x02));
        assert_eq!(c.ne(), Some(256));
    }

    /// Encodes, checks the expected bytes, and decodes them back.
    fn check(c: &CommandApdu, expected: &[u8], case: u8, extended: bool) {
        assert_eq!(c.to_bytes(), expected);
        assert_eq!(c.encoded_len(), expected.len());
        assert_eq!(c.case(), case);
        assert_eq!(c.is_extended(), extended);
        assert_eq!(CommandApdu::parse(expected).as_ref(), Ok(c));
    }

    #[test]
    fn case_1() {
        check(&cmd(&[], None), &[0x00, 0xB0, 0x01, 0x02], 1, false);
    }

    #[test]
    fn case_2_short() {
        check(
            &cmd(&[], Some(1)),
            &[0x00, 0xB0, 0x01, 0x02, 0x01],
            2,
            false,
        );
        check(
            &cmd(&[], Some(255)),
            &[0x00, 0xB0, 0x01, 0x02, 0xFF],
            2,
            false,
        );
        check(
            &cmd(&[], Some(256)),
            &[0x00, 0xB0, 0x01, 0x02, 0x00],
            2,
            false,
        );
    }

    #[test]
    fn case_2_extended() {
        check(
            &cmd(&[], Some(257)),
            &[0x00, 0xB0, 0x01, 0x02, 0x00, 0x01, 0x01],
            2,
            true,
        );
        check(
            &cmd(&[], Some(65_535)),
            &[0x00, 0xB0, 0x01, 0x02, 0x00, 0xFF, 0xFF],
            2,
            true,
        );
        check(
            &cmd(&[], Some(65_536)),
            &[0x00, 0xB0, 0x01, 0x02, 0x00, 0x00, 0x00],
            2,
            true,
        );
    }

    #[test]
    fn case_3_short() {
        check(
            &cmd(&[0xAA], None),
            &[0x00, 0xB0, 0x01, 0x02, 0x01, 0xAA],
            3,
            false,
        );
        let data = [0x5A; 255];
        let mut expected = vec![0x00, 0xB0, 0x01, 0x02, 0xFF];
        expected.extend_from_slice(&data);
        check(&cmd(&data, None), &expected, 3, false);
    }

    #[test]
    fn case_3_extended() {
        let data = [0x5A; 256];
        let mut expected = vec![0x00, 0xB0, 0x01, 0x02, 0x00, 0x01, 0x00];
        expected.extend_from_slice(&data);
        check(&cmd(&data, None), &expected, 3, true);
        let data = vec![0x11; 65_535];
        let mut expected = vec![0x00, 0xB0, 0x01, 0x02, 0x00, 0xFF, 0xFF];
        expected.extend_from_slice(&data);
        check(&cmd(&data, None), &expected, 3, true);
    }

    #[test]
    fn case_4_short() {
        check(
            &cmd(&[0xAA, 0xBB], Some(256)),
            &[0x00, 0xB0, 0x01, 0x02, 0x02, 0xAA, 0xBB, 0x00],
            4,
            false,
        );
        check(
            &cmd(&[0xAA], Some(16)),
            &[0x00, 0xB0, 0x01, 0x02, 0x01, 0xAA, 0x10],
            4,
            false,
        );
    }

    #[test]
    fn case_4_extended_when_data_or_ne_needs_it() {
        // Long data, short Ne: both fields extended (7816-4 never mixes forms).
        let data = [0x77; 300];
        let mut expected = vec![0x00, 0xB0, 0x01, 0x02, 0x00, 0x01, 0x2C];
        expected.extend_from_slice(&data);
        expected.extend_from_slice(&[0x00, 0x10]);
        check(&cmd(&data, Some(16)), &expected, 4, true);
        // Short data, Ne 65536.
        check(
            &cmd(&[0xAA], Some(65_536)),
            &[0x00, 0xB0, 0x01, 0x02, 0x00, 0x00, 0x01, 0xAA, 0x00, 0x00],
            4,
            true,
        );
    }

    #[test]
    fn non_minimal_extended_encodings_decode() {
        // Extended encodings of commands that would also fit the short form.
        let c = CommandApdu::parse(&[0x80, 0xCA, 0x9F, 0x36, 0x00, 0x00, 0x05]).unwrap();
        assert_eq!(
            (c.cla(), c.ins(), c.p1(), c.p2(), c.ne()),
            (0x80, 0xCA, 0x9F, 0x36, Some(5))
        );
        let c = CommandApdu::parse(&[
            0x00, 0xA4, 0x04, 0x00, 0x00, 0x00, 0x02, 0xA0, 0x00, 0x01, 0x00,
        ])
        .unwrap();
        assert_eq!((c.data(), c.ne()), (&[0xA0, 0x00][..], Some(256)));
        assert_eq!(
            c.to_bytes(),
            [0x00, 0xA4, 0x04, 0x00, 0x02, 0xA0, 0x00, 0x00]
        );
    }

    #[test]
    fn malformed_commands_are_rejected() {
        use CommandError::*;
        assert_eq!(CommandApdu::parse(&[]), Err(TooShort { len: 0 }));
        assert_eq!(
            CommandApdu::parse(&[0x00, 0xA4, 0x04]),
            Err(TooShort { len: 3 })
        );
        // Lc 05 but 2 data bytes.
        assert_eq!(
            CommandApdu::parse(&[0x00, 0xA4, 0x04, 0x00, 0x05, 0xA0, 0x00]),
            Err(Truncated {
                expected: 10,
                actual: 7
            })
        );
        // Lc 01, data, Le, then one byte too many.
        assert_eq!(
            CommandApdu::parse(&[0x00, 0xA4, 0x04, 0x00, 0x01, 0xA0, 0x00, 0x99]),
            Err(TrailingBytes { count: 1 })
        );
        // 00 then a single byte: an extended length field cut short.
        assert_eq!(
            CommandApdu::parse(&[0x00, 0xA4, 0x04, 0x00, 0x00, 0x01]),
            Err(Truncated {
                expected: 7,
                actual: 6
            })
        );
        // Extended Lc 00 00 with a body.
        assert_eq!(
            CommandApdu::parse(&[0x00, 0xA4, 0x04, 0x00, 0x00, 0x00, 0x00, 0xAA]),
            Err(ZeroExtendedLc)
        );
        // Extended Lc 00 03, only two data bytes.
        assert_eq!(
            CommandApdu::parse(&[0x00, 0xA4, 0x04, 0x00, 0x00, 0x00, 0x03, 0xA0, 0x00]),
            Err(Truncated {
                expected: 10,
                actual: 9
            })
        );
        // Extended case 4 with a one-byte Le.
        assert_eq!(
            CommandApdu::parse(&[0x00, 0xA4, 0x04, 0x00, 0x00, 0x00, 0x01, 0xA0, 0x00]),
            Err(Truncated {
                expected: 10,
                actual: 9
            })
        );
        // Extended case 4 followed by a stray byte.
        assert_eq!(
            CommandApdu::parse(&[0x00, 0xA4, 0x04, 0x00, 0x00, 0x00, 0x01, 0xA0, 0x00, 0x00, 0x00]),
            Err(TrailingBytes { count: 1 })
        );
    }

    #[test]
    fn builders_validate_lengths() {
        let c = CommandApdu::new(0, 0, 0, 0);
        assert_eq!(c.clone().with_le(0), Err(CommandError::InvalidLe { ne: 0 }));
        assert_eq!(
            c.clone().with_le(65_537),
            Err(CommandError::InvalidLe { ne: 65_537 })
        );
        assert_eq!(
            c.clone().with_data(vec![0; 65_536]),
            Err(CommandError::DataTooLong { len: 65_536 })
        );
        assert_eq!(
            c.with_le(7).map(CommandApdu::without_le).map(|c| c.case()),
            Ok(1)
        );
    }

    #[test]
    fn debug_hides_the_data_field() {
        let c = cmd(&[0x24, 0x12, 0x34, 0xFF], Some(256));
        let shown = format!("{c:?}");
        assert_eq!(
            shown,
            "CommandApdu { header: 00B00102, nc: 4, ne: Some(256) }"
        );
    }

    #[test]
    fn on_channel_recodes_the_class_byte() {
        let c = CommandApdu::new(0x80, 0xCA, 0x9F, 0x36)
            .on_channel(LogicalChannel::new(6).unwrap())
            .unwrap();
        assert_eq!(c.to_bytes(), [0xC2, 0xCA, 0x9F, 0x36]);
    }
}
