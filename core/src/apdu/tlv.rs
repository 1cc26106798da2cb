//! A borrowing BER-TLV parser (ISO/IEC 7816-4 §5.2, EMV Book 3 Annex B).
//!
//! Nothing is copied: a [`Tlv`] points into the input. Tags are 1 to 4 bytes, lengths use the
//! short form or the long forms `81`-`84` (the indefinite form `80` is rejected), and `00` / `FF`
//! padding before, between and after data objects is skipped as EMV allows. Every read is
//! bounds-checked; malformed input yields a [`TlvError`], never a panic.

use std::fmt;
use std::iter::FusedIterator;

use super::error::TlvError;
use super::tag::Tag;

/// Deepest nesting of constructed objects the recursive functions follow. EMV templates nest
/// about five deep; the limit only guards the stack against hostile input.
pub const MAX_DEPTH: usize = 32;

/// Longest long-form length field after its first byte (`84` → four bytes).
const MAX_LENGTH_BYTES: u8 = 4;

/// Reads a length field at the start of `input`; returns the length and the field's size.
pub fn parse_length(input: &[u8]) -> Result<(usize, usize), TlvError> {
    let (&first, rest) = input.split_first().ok_or(TlvError::TruncatedLength)?;
    if first < 0x80 {
        return Ok((usize::from(first), 1));
    }
    let count = first & 0x7F;
    if count == 0 {
        return Err(TlvError::IndefiniteLength);
    }
    if count > MAX_LENGTH_BYTES {
        return Err(TlvError::LengthFieldTooLong { count });
    }
    let bytes = rest
        .get(..usize::from(count))
        .ok_or(TlvError::TruncatedLength)?;
    let value = bytes.iter().fold(0u32, |acc, &b| (acc << 8) | u32::from(b));
    let len = usize::try_from(value).map_err(|_| TlvError::ValueOverflow {
        length: usize::MAX,
        available: 0,
    })?;
    Ok((len, 1 + usize::from(count)))
}

/// One data object, borrowed from the input. `Debug` shows tag and length, not the value, which
/// may be a PAN or track 2 data.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tlv<'a> {
    tag: Tag,
    value: &'a [u8],
    raw: &'a [u8],
}

impl<'a> Tlv<'a> {
    /// Parses the data object at the very start of `input` (no padding skipped); returns it and
    /// the rest of the input.
    pub fn parse(input: &'a [u8]) -> Result<(Tlv<'a>, &'a [u8]), TlvError> {
        let (tag, tag_len) = Tag::parse(input)?;
        let after_tag = input.get(tag_len..).ok_or(TlvError::TruncatedTag)?;
        let (length, length_len) = parse_length(after_tag)?;
        let after_length = after_tag
            .get(length_len..)
            .ok_or(TlvError::TruncatedLength)?;
        let (value, rest) =
            after_length
                .split_at_checked(length)
                .ok_or(TlvError::ValueOverflow {
                    length,
                    available: after_length.len(),
                })?;
        let raw_len = tag_len + length_len + length;
        let raw = input.get(..raw_len).ok_or(TlvError::ValueOverflow {
            length,
            available: after_length.len(),
        })?;
        Ok((Tlv { tag, value, raw }, rest))
    }

    /// Parses input that holds exactly one data object, with optional padding around it.
    pub fn parse_single(input: &'a [u8]) -> Result<Tlv<'a>, TlvError> {
        let (tlv, rest) = Tlv::parse(skip_padding(input))?;
        match skip_padding(rest).len() {
            0 => Ok(tlv),
            count => Err(TlvError::TrailingData { count }),
        }
    }

    /// The tag.
    pub const fn tag(&self) -> Tag {
        self.tag
    }

    /// The value field.
    pub const fn value(&self) -> &'a [u8] {
        self.value
    }

    /// The whole encoding: tag, length and value fields.
    pub const fn as_bytes(&self) -> &'a [u8] {
        self.raw
    }

    /// Whether the tag marks a constructed object (its value is a sequence of objects).
    pub const fn is_constructed(&self) -> bool {
        self.tag.is_constructed()
    }

    /// The objects inside a constructed object; empty for a primitive one.
    pub fn children(&self) -> TlvIter<'a> {
        if self.is_constructed() {
            TlvIter::new(self.value)
        } else {
            TlvIter::new(&[])
        }
    }

    /// The first direct child with `tag`.
    pub fn child(&self, tag: Tag) -> Result<Option<Tlv<'a>>, TlvError> {
        for child in self.children() {
            let child = child?;
            if child.tag == tag {
                return Ok(Some(child));
            }
        }
        Ok(None)
    }

    /// The first descendant with `tag`, depth first in document order (not `self`).
    pub fn find(&self, tag: Tag) -> Result<Option<Tlv<'a>>, TlvError> {
        if self.is_constructed() {
            find_in(self.value, tag, 1)
        } else {
            Ok(None)
        }
    }

    /// The first descendant reached by following `path` from this object's children, e.g.
    /// `[A5, BF0C, 61, 4F]` from an FCI template. Every matching branch is tried in order.
    pub fn find_path(&self, path: &[Tag]) -> Result<Option<Tlv<'a>>, TlvError> {
        if self.is_constructed() {
            find_path_in(self.value, path, 1)
        } else {
            Ok(None)
        }
    }
}

impl fmt::Debug for Tlv<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tlv {{ tag: {}, len: {} }}", self.tag, self.value.len())
    }
}

/// Iterates over a sequence of data objects, skipping `00`/`FF` padding. After the first error
/// it yields nothing more.
#[derive(Clone)]
pub struct TlvIter<'a> {
    rest: &'a [u8],
}

impl<'a> TlvIter<'a> {
    /// Iterates over the data objects of `input`.
    pub const fn new(input: &'a [u8]) -> TlvIter<'a> {
        TlvIter { rest: input }
    }
}

impl<'a> Iterator for TlvIter<'a> {
    type Item = Result<Tlv<'a>, TlvError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.rest = skip_padding(self.rest);
        if self.rest.is_empty() {
            return None;
        }
        match Tlv::parse(self.rest) {
            Ok((tlv, rest)) => {
                self.rest = rest;
                Some(Ok(tlv))
            }
            Err(e) => {
                self.rest = &[];
                Some(Err(e))
            }
        }
    }
}

impl FusedIterator for TlvIter<'_> {}

impl fmt::Debug for TlvIter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TlvIter {{ remaining: {} }}", self.rest.len())
    }
}

/// Iterates over the top-level data objects of `input`.
pub const fn iter(input: &[u8]) -> TlvIter<'_> {
    TlvIter::new(input)
}

/// The first data object with `tag` at any depth of `input`, depth first in document order.
/// Errors met before the object is found are returned.
pub fn find(input: &[u8], tag: Tag) -> Result<Option<Tlv<'_>>, TlvError> {
    find_in(input, tag, 0)
}

/// The first data object reached by following `path` from the top level of `input`, e.g.
/// `[6F, A5, BF0C, 61, 4F]`; every matching branch is tried in order. An empty path finds nothing.
pub fn find_path<'a>(input: &'a [u8], path: &[Tag]) -> Result<Option<Tlv<'a>>, TlvError> {
    find_path_in(input, path, 0)
}

/// Visits every data object of `input` depth first in document order, with its depth (0 for the
/// top level), checking the whole structure.
pub fn walk<'a, F>(input: &'a [u8], mut visit: F) -> Result<(), TlvError>
where
    F: FnMut(&Tlv<'a>, usize),
{
    walk_in(input, 0, &mut visit)
}

/// Checks that `input` is a well-formed sequence of data objects at every depth.
pub fn validate(input: &[u8]) -> Result<(), TlvError> {
    walk(input, |_, _| {})
}

fn skip_padding(mut input: &[u8]) -> &[u8] {
    while let Some((&(0x00 | 0xFF), rest)) = input.split_first() {
        input = rest;
    }
    input
}

fn check_depth(depth: usize) -> Result<(), TlvError> {
    if depth > MAX_DEPTH {
        Err(TlvError::TooDeep { max: MAX_DEPTH })
    } else {
        Ok(())
    }
}

fn find_in(input: &[u8], tag: Tag, depth: usize) -> Result<Option<Tlv<'_>>, TlvError> {
    check_depth(depth)?;
    for tlv in iter(input) {
        let tlv = tlv?;
        if tlv.tag == tag {
            return Ok(Some(tlv));
        }
        if tlv.is_constructed() {
            if let Some(found) = find_in(tlv.value, tag, depth + 1)? {
                return Ok(Some(found));
            }
        }
    }
    Ok(None)
}

fn find_path_in<'a>(
    input: &'a [u8],
    path: &[Tag],
    depth: usize,
) -> Result<Option<Tlv<'a>>, TlvError> {
    let Some((&first, rest)) = path.split_first() else {
        return Ok(None);
    };
    check_depth(depth)?;
    for tlv in iter(input) {
        let tlv = tlv?;
        if tlv.tag != first {
            continue;
        }
        if rest.is_empty() {
            return Ok(Some(tlv));
        }
        if tlv.is_constructed() {
            if let Some(found) = find_path_in(tlv.value, rest, depth + 1)? {
                return Ok(Some(found));
            }
        }
    }
    Ok(None)
}

fn walk_in<'a, F>(input: &'a [u8], depth: usize, visit: &mut F) -> Result<(), TlvError>
where
    F: FnMut(&Tlv<'a>, usize),
{
    check_depth(depth)?;
    for tlv in iter(input) {
        let tlv = tlv?;
        visit(&tlv, depth);
        if tlv.is_constructed() {
            walk_in(tlv.value, depth + 1, visit)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        hex::decode(s.replace(' ', "")).unwrap()
    }

    fn tag(raw: u32) -> Tag {
        Tag::new(raw).unwrap()
    }

    /// A PPSE FCI as a UnionPay card returns it: 6F { 84 "2PAY.SYS.DDF01", A5 { BF0C { 61 {
    /// 4F A000000333010101, 50 "PBOC01", 87 01 } } } }. Lengths hand-counted.
    const PPSE_FCI: &str = "6F 2C 84 0E 325041592E5359532E4444463031 A5 1A BF0C 17 61 15 \
                            4F 08 A000000333010101 50 06 50424F433031 87 01 01";

    #[test]
    fn ppse_fci_structure() {
        let bytes = hex(PPSE_FCI);
        assert_eq!(bytes.len(), 0x2C + 2);
        let fci = Tlv::parse_single(&bytes).unwrap();
        assert_eq!(fci.tag(), Tag::FCI_TEMPLATE);
        assert!(fci.is_constructed());
        assert_eq!(fci.value().len(), 0x2C);
        assert_eq!(fci.as_bytes(), &bytes[..]);

        let children: Vec<_> = fci.children().collect::<Result<_, _>>().unwrap();
        assert_eq!(
            children.iter().map(|t| t.tag().value()).collect::<Vec<_>>(),
            [0x84, 0xA5]
        );
        assert_eq!(children[0].value(), b"2PAY.SYS.DDF01");

        let aid = fci.find(Tag::AID).unwrap().unwrap();
        assert_eq!(aid.value(), hex("A000000333010101"));
        let label = find_path(
            &bytes,
            &[tag(0x6F), tag(0xA5), tag(0xBF0C), tag(0x61), tag(0x50)],
        )
        .unwrap()
        .unwrap();
        assert_eq!(label.value(), b"PBOC01");
        let priority = fci
            .find_path(&[tag(0xA5), tag(0xBF0C), tag(0x61), tag(0x87)])
            .unwrap()
            .unwrap();
        assert_eq!(priority.value(), [0x01]);
        assert_eq!(
            fci.child(Tag::DF_NAME).unwrap().map(|t| t.value().len()),
            Some(14)
        );
        assert_eq!(fci.child(Tag::AID).unwrap(), None); // not a direct child
        assert_eq!(fci.find(Tag::ATC).unwrap(), None);
    }

    #[test]
    fn ppse_fci_walk_visits_every_object_with_depth() {
        let bytes = hex(PPSE_FCI);
        let mut seen = Vec::new();
        walk(&bytes, |t, depth| {
            seen.push((t.tag().value(), depth, t.value().len()))
        })
        .unwrap();
        assert_eq!(
            seen,
            [
                (0x6F, 0, 0x2C),
                (0x84, 1, 14),
                (0xA5, 1, 0x1A),
                (0xBF0C, 2, 0x17),
                (0x61, 3, 0x15),
                (0x4F, 4, 8),
                (0x50, 4, 6),
                (0x87, 4, 1),
            ]
        );
    }

    #[test]
    fn inconsistent_inner_length_is_reported() {
        // The same FCI with a 7-byte label claimed inside a 0x15-byte 61 template: 87's value
        // would run past the end of 61.
        let bytes = hex(
            "6F 2C 84 0E 325041592E5359532E4444463031 A5 1A BF0C 17 61 15 \
             4F 08 A000000333010101 50 07 50424F43303120 87 01",
        );
        let fci = Tlv::parse_single(&bytes).unwrap();
        assert_eq!(
            fci.find(Tag::APPLICATION_PRIORITY),
            Err(TlvError::ValueOverflow {
                length: 1,
                available: 0
            })
        );
        assert_eq!(
            validate(&bytes),
            Err(TlvError::ValueOverflow {
                length: 1,
                available: 0
            })
        );
        // Objects before the broken one are still found.
        assert!(fci.find(Tag::AID).unwrap().is_some());
    }

    #[test]
    fn multi_byte_tags_and_long_form_lengths() {
        // 9F38 PDOL, then BF0C with an 81-form length of 0x81 = 129 bytes.
        let mut bytes = hex("9F38 03 9F6604");
        bytes.extend_from_slice(&hex("BF0C 81 81 DF01 7E"));
        bytes.extend_from_slice(&[0xAB; 0x7E]);
        let mut it = iter(&bytes);
        let pdol = it.next().unwrap().unwrap();
        assert_eq!((pdol.tag(), pdol.value()), (Tag::PDOL, &hex("9F6604")[..]));
        let bf0c = it.next().unwrap().unwrap();
        assert_eq!(bf0c.tag(), Tag::FCI_ISSUER_DISCRETIONARY);
        assert_eq!(bf0c.value().len(), 129);
        let df01 = bf0c.child(tag(0xDF01)).unwrap().unwrap();
        assert_eq!(df01.value(), [0xAB; 0x7E]);
        assert!(it.next().is_none());

        // 82-form: 0x0100 = 256 bytes.
        let mut bytes = hex("70 82 0100");
        bytes.extend_from_slice(&[0x00; 256]);
        let record = Tlv::parse_single(&bytes).unwrap();
        assert_eq!(record.value().len(), 256);
        assert_eq!(record.children().count(), 0); // all padding

        // 83 and 84 forms with small values are accepted although not minimal.
        assert_eq!(parse_length(&hex("83 000005")), Ok((5, 4)));
        assert_eq!(parse_length(&hex("84 00000102")), Ok((0x102, 5)));
        assert_eq!(
            Tlv::parse(&hex("5A 81 02 1234 FF")).map(|(t, r)| (t.value().len(), r.len())),
            Ok((2, 1))
        );
    }

    #[test]
    fn padding_between_objects_is_skipped() {
        let bytes = hex("00 FF 9F36 02 0001 00 00 9F13 02 0000 FF FF");
        let tags: Vec<_> = iter(&bytes).map(|t| t.unwrap().tag().value()).collect();
        assert_eq!(tags, [0x9F36, 0x9F13]);
        assert_eq!(
            Tlv::parse_single(&hex("00 9F36 02 0001 FF")).map(|t| t.tag()),
            Ok(Tag::ATC)
        );
    }

    #[test]
    fn malformed_lengths_are_rejected() {
        assert_eq!(
            Tlv::parse(&hex("6F 80 00 00")).err(),
            Some(TlvError::IndefiniteLength)
        );
        assert_eq!(
            Tlv::parse(&hex("6F 85 0000000001")).err(),
            Some(TlvError::LengthFieldTooLong { count: 5 })
        );
        assert_eq!(
            Tlv::parse(&hex("6F 82 01")).err(),
            Some(TlvError::TruncatedLength)
        );
        assert_eq!(
            Tlv::parse(&hex("6F")).err(),
            Some(TlvError::TruncatedLength)
        );
        assert_eq!(
            Tlv::parse(&hex("6F 05 0102")).err(),
            Some(TlvError::ValueOverflow {
                length: 5,
                available: 2
            })
        );
        assert_eq!(
            Tlv::parse(&hex("6F 84 FFFFFFFF 00")).err(),
            Some(TlvError::ValueOverflow {
                length: 0xFFFF_FFFF,
                available: 1
            })
        );
        assert_eq!(Tlv::parse(&hex("9F")).err(), Some(TlvError::TruncatedTag));
        assert_eq!(
            Tlv::parse(&hex("DF 81 81 81 01 00")).err(),
            Some(TlvError::TagTooLong)
        );
        assert_eq!(
            Tlv::parse_single(&hex("84 01 AA 84 01")).err(),
            Some(TlvError::TrailingData { count: 2 })
        );
        assert_eq!(
            Tlv::parse_single(&hex("00 FF")).err(),
            Some(TlvError::TruncatedTag)
        );
    }

    #[test]
    fn iteration_stops_after_an_error() {
        let bytes = hex("84 01 AA 9F 84 01 BB");
        let items: Vec<_> = iter(&bytes).collect();
        assert_eq!(items.len(), 2);
        assert!(items[0].is_ok());
        // 9F 84 01 BB: the tag 9F8401 swallows 01, then BB announces 0x3B length bytes.
        assert_eq!(items[1], Err(TlvError::LengthFieldTooLong { count: 0x3B }));
    }

    #[test]
    fn nesting_beyond_the_limit_is_an_error_not_a_stack_overflow() {
        // 2000 nested A5 templates around an empty one: A5 len (A5 len (… A5 00)).
        let mut bytes = vec![0xA5, 0x00];
        for _ in 0..2000 {
            let mut outer = vec![0xA5];
            let mut len = Vec::new();
            crate::apdu::tlv_build::encode_length(bytes.len(), &mut len);
            outer.extend_from_slice(&len);
            outer.extend_from_slice(&bytes);
            bytes = outer;
        }
        assert_eq!(validate(&bytes), Err(TlvError::TooDeep { max: MAX_DEPTH }));
        assert_eq!(
            find(&bytes, Tag::ATC),
            Err(TlvError::TooDeep { max: MAX_DEPTH })
        );
        // Exactly MAX_DEPTH levels below the top are fine.
        let mut ok = vec![0x9F, 0x36, 0x00];
        for _ in 0..MAX_DEPTH {
            let mut outer = vec![0xA5];
            crate::apdu::tlv_build::encode_length(ok.len(), &mut outer);
            outer.extend_from_slice(&ok);
            ok = outer;
        }
        assert_eq!(find(&ok, Tag::ATC).map(|t| t.is_some()), Ok(true));
    }

    #[test]
    fn primitive_objects_have_no_children() {
        // 84's value looks like TLV but 84 is primitive.
        let bytes = hex("84 03 9F3600");
        let t = Tlv::parse_single(&bytes).unwrap();
        assert_eq!(t.children().count(), 0);
        assert_eq!(t.find(Tag::ATC), Ok(None));
        assert_eq!(find(&bytes, Tag::ATC), Ok(None));
        assert_eq!(format!("{t:?}"), "Tlv { tag: 84, len: 3 }");
    }

    #[test]
    fn find_path_backtracks_over_sibling_templates() {
        // Two 61 entries; only the second has a 9F0A.
        let bytes = hex("BF0C 0E 61 04 4F 02 A001 61 06 9F0A 03 000102");
        let found = find_path(&bytes, &[tag(0xBF0C), tag(0x61), tag(0x9F0A)])
            .unwrap()
            .unwrap();
        assert_eq!(found.value(), [0x00, 0x01, 0x02]);
        assert_eq!(find_path(&bytes, &[]), Ok(None));
        assert_eq!(find_path(&bytes, &[tag(0x61)]), Ok(None));
    }
}
