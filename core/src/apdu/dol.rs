//! Data object lists (PDOL, CDOL1, CDOL2, DDOL…) and DOL-related data (EMV Book 3 §5.4).
//!
//! A DOL is a sequence of (tag, length) entries, no values. The terminal answers it with the
//! concatenated values of those tags, each fitted to the requested length; the card splits that
//! data back by the same DOL.
//!
//! Entry lengths are read as BER length fields (as in ISO/IEC 7816-4 header lists), so lengths
//! 128..=255 are `81 xx`; longer entries are rejected, which also bounds what a hostile DOL can
//! make [`Dol::build`] allocate.

use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;

use super::error::DolError;
use super::format::DataFormat;
use super::tag::Tag;
use super::tlv::parse_length;
use super::tlv_build::encode_length;

/// One DOL entry: the tag of a data element and the number of bytes requested.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DolEntry {
    /// The requested data element.
    pub tag: Tag,
    /// Bytes requested for it in the DOL-related data.
    pub len: u8,
}

impl DolEntry {
    /// An entry asking for `len` bytes of `tag`.
    pub const fn new(tag: Tag, len: u8) -> DolEntry {
        DolEntry { tag, len }
    }
}

/// Where [`Dol::build`] looks up the values of requested tags.
pub trait DolValues {
    /// The value of `tag`, if known.
    fn value(&self, tag: Tag) -> Option<&[u8]>;
}

impl<V: AsRef<[u8]>> DolValues for [(Tag, V)] {
    fn value(&self, tag: Tag) -> Option<&[u8]> {
        self.iter()
            .find(|(t, _)| *t == tag)
            .map(|(_, v)| v.as_ref())
    }
}

impl<V: AsRef<[u8]>> DolValues for Vec<(Tag, V)> {
    fn value(&self, tag: Tag) -> Option<&[u8]> {
        self.as_slice().value(tag)
    }
}

impl<V: AsRef<[u8]>, S: BuildHasher> DolValues for HashMap<Tag, V, S> {
    fn value(&self, tag: Tag) -> Option<&[u8]> {
        self.get(&tag).map(AsRef::as_ref)
    }
}

impl<V: AsRef<[u8]>> DolValues for BTreeMap<Tag, V> {
    fn value(&self, tag: Tag) -> Option<&[u8]> {
        self.get(&tag).map(AsRef::as_ref)
    }
}

/// A parsed data object list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Dol {
    entries: Vec<DolEntry>,
}

impl Dol {
    /// A DOL with these entries.
    pub fn new(entries: impl IntoIterator<Item = DolEntry>) -> Dol {
        Dol {
            entries: entries.into_iter().collect(),
        }
    }

    /// Parses the value of a DOL data object (e.g. of `9F38`).
    pub fn parse(bytes: &[u8]) -> Result<Dol, DolError> {
        let mut entries = Vec::with_capacity(bytes.len() / 2);
        let mut rest = bytes;
        while !rest.is_empty() {
            let (tag, tag_len) = Tag::parse(rest)?;
            let after_tag = rest.get(tag_len..).unwrap_or_default();
            let (len, len_len) = parse_length(after_tag)?;
            let len = u8::try_from(len).map_err(|_| DolError::EntryTooLong { tag, len })?;
            entries.push(DolEntry { tag, len });
            rest = after_tag.get(len_len..).unwrap_or_default();
        }
        Ok(Dol { entries })
    }

    /// Encodes the DOL (tags and minimal length fields).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.entries.len() * 3);
        for entry in &self.entries {
            entry.tag.write_to(&mut out);
            encode_length(usize::from(entry.len), &mut out);
        }
        out
    }

    /// The entries, in order.
    pub fn entries(&self) -> &[DolEntry] {
        &self.entries
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the DOL has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Length of the DOL-related data: the sum of the requested lengths.
    pub fn data_len(&self) -> usize {
        self.entries.iter().map(|e| usize::from(e.len)).sum()
    }

    /// Builds the DOL-related data from `values`, each fitted to its entry's length with the
    /// format of [`DataFormat::of`] (EMV Book 3 §5.4):
    ///
    /// - unknown or absent tags, and constructed tags, give zeroes;
    /// - a longer value loses its leftmost bytes if numeric (`n`), its rightmost otherwise;
    /// - a shorter value gets leading `00` if numeric, trailing `FF` if compressed numeric
    ///   (`cn`), trailing `00` otherwise.
    pub fn build<V: DolValues + ?Sized>(&self, values: &V) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.data_len());
        for entry in &self.entries {
            let value = if entry.tag.is_constructed() {
                None
            } else {
                values.value(entry.tag)
            };
            fit(
                value,
                usize::from(entry.len),
                DataFormat::of(entry.tag),
                &mut out,
            );
        }
        out
    }

    /// Splits DOL-related data back into one value per entry (what a card does with the PDOL data
    /// of GET PROCESSING OPTIONS). The data must be exactly [`data_len`](Self::data_len) long.
    pub fn split<'a>(&self, data: &'a [u8]) -> Result<Vec<(Tag, &'a [u8])>, DolError> {
        let mismatch = DolError::DataLengthMismatch {
            expected: self.data_len(),
            actual: data.len(),
        };
        let mut out = Vec::with_capacity(self.entries.len());
        let mut rest = data;
        for entry in &self.entries {
            let (value, tail) = rest
                .split_at_checked(usize::from(entry.len))
                .ok_or(mismatch)?;
            out.push((entry.tag, value));
            rest = tail;
        }
        if rest.is_empty() {
            Ok(out)
        } else {
            Err(mismatch)
        }
    }
}

impl FromIterator<DolEntry> for Dol {
    fn from_iter<I: IntoIterator<Item = DolEntry>>(iter: I) -> Dol {
        Dol::new(iter)
    }
}

/// Appends `value` fitted to `len` bytes according to `format`.
fn fit(value: Option<&[u8]>, len: usize, format: DataFormat, out: &mut Vec<u8>) {
    let Some(value) = value else {
        out.resize(out.len() + len, 0x00);
        return;
    };
    if let Some(excess) = value.len().checked_sub(len) {
        let (left, right) = value.split_at_checked(excess).unwrap_or_default();
        let kept = match format {
            DataFormat::Numeric => right,
            DataFormat::CompressedNumeric | DataFormat::Other => value.get(..len).unwrap_or(left),
        };
        out.extend_from_slice(kept);
        return;
    }
    let pad = len - value.len();
    match format {
        DataFormat::Numeric => {
            out.resize(out.len() + pad, 0x00);
            out.extend_from_slice(value);
        }
        DataFormat::CompressedNumeric => {
            out.extend_from_slice(value);
            out.resize(out.len() + pad, 0xFF);
        }
        DataFormat::Other => {
            out.extend_from_slice(value);
            out.resize(out.len() + pad, 0x00);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apdu::error::TlvError;

    fn hex(s: &str) -> Vec<u8> {
        hex::decode(s.replace(' ', "")).unwrap()
    }

    fn tag(raw: u32) -> Tag {
        Tag::new(raw).unwrap()
    }

    /// A qPBOC PDOL: TTQ 4, amount 6, amount other 6, country 2, TVR 5, currency 2, date 3,
    /// type 1, unpredictable number 4.
    const QPBOC_PDOL: &str = "9F66 04 9F02 06 9F03 06 9F1A 02 95 05 5F2A 02 9A 03 9C 01 9F37 04";

    #[test]
    fn parse_a_qpboc_pdol() {
        let dol = Dol::parse(&hex(QPBOC_PDOL)).unwrap();
        let expected: Vec<_> = [
            (0x9F66, 4),
            (0x9F02, 6),
            (0x9F03, 6),
            (0x9F1A, 2),
            (0x95, 5),
            (0x5F2A, 2),
            (0x9A, 3),
            (0x9C, 1),
            (0x9F37, 4),
        ]
        .into_iter()
        .map(|(t, l)| DolEntry::new(tag(t), l))
        .collect();
        assert_eq!(dol.entries(), &expected[..]);
        assert_eq!(dol.data_len(), 33);
        assert_eq!(dol.to_bytes(), hex(QPBOC_PDOL));
    }

    #[test]
    fn build_pdol_data_for_a_qpboc_purchase() {
        let dol = Dol::parse(&hex(QPBOC_PDOL)).unwrap();
        // CNY 1.00 purchase on 2024-01-01 in China (156); TVR and amount other not supplied.
        let values: Vec<(Tag, Vec<u8>)> = vec![
            (tag(0x9F66), hex("36000080")),
            (tag(0x9F02), hex("0100")), // short numeric → leading zeroes
            (tag(0x9F1A), hex("0156")),
            (tag(0x5F2A), hex("0156")),
            (tag(0x9A), hex("240101")),
            (tag(0x9C), hex("00")),
            (tag(0x9F37), hex("12345678")),
        ];
        let data = dol.build(&values);
        assert_eq!(
            data,
            hex("36000080 000000000100 000000000000 0156 0000000000 0156 240101 00 12345678")
        );
        let split = dol.split(&data).unwrap();
        assert_eq!(split[1], (tag(0x9F02), &hex("000000000100")[..]));
        assert_eq!(split[4], (tag(0x95), &[0u8; 5][..]));
        assert_eq!(split.len(), 9);
    }

    #[test]
    fn truncation_and_padding_follow_the_format() {
        let dol = Dol::new([
            DolEntry::new(tag(0x9F02), 6), // n: keep rightmost
            DolEntry::new(tag(0x9F4E), 4), // ans: keep leftmost
            DolEntry::new(tag(0x9F4E), 8), // ans: pad right with 00
            DolEntry::new(tag(0x5A), 10),  // cn: pad right with FF
            DolEntry::new(tag(0x5A), 4),   // cn: keep leftmost
            DolEntry::new(tag(0x9F7A), 1), // absent: zeroes
            DolEntry::new(tag(0xBF0C), 2), // constructed: zeroes even when a value exists
            DolEntry::new(tag(0x9F33), 2), // b: keep leftmost
        ]);
        let values = [
            (tag(0x9F02), hex("0000000000123456")),
            (tag(0x9F4E), b"ABCDEF".to_vec()),
            (tag(0x5A), hex("6228480000000001")),
            (tag(0xBF0C), hex("9F4D02")),
            (tag(0x9F33), hex("E0F0C8")),
        ];
        let data = dol.build(&values[..]);
        assert_eq!(
            data,
            hex("000000123456 41424344 414243444546 0000 6228480000000001FFFF 62284800 00 0000 E0F0")
        );
        assert_eq!(data.len(), dol.data_len());
    }

    #[test]
    fn values_from_maps() {
        let dol = Dol::parse(&hex("9F1A 02 9C 01")).unwrap();
        let mut map = HashMap::new();
        map.insert(tag(0x9F1A), vec![0x01, 0x56]);
        assert_eq!(dol.build(&map), hex("0156 00"));
        let mut tree = BTreeMap::new();
        tree.insert(tag(0x9C), [0x20]);
        assert_eq!(dol.build(&tree), hex("0000 20"));
    }

    #[test]
    fn split_requires_the_exact_length() {
        let dol = Dol::parse(&hex("9F02 06 5F2A 02 9A 03")).unwrap();
        let data = hex("000000001000 0156 240315");
        assert_eq!(
            dol.split(&data).unwrap(),
            vec![
                (tag(0x9F02), &hex("000000001000")[..]),
                (tag(0x5F2A), &hex("0156")[..]),
                (tag(0x9A), &hex("240315")[..]),
            ]
        );
        assert_eq!(
            dol.split(&data[..10]),
            Err(DolError::DataLengthMismatch {
                expected: 11,
                actual: 10
            })
        );
        let mut long = data.clone();
        long.push(0);
        assert_eq!(
            dol.split(&long),
            Err(DolError::DataLengthMismatch {
                expected: 11,
                actual: 12
            })
        );
        assert_eq!(Dol::default().split(&[]), Ok(vec![]));
    }

    #[test]
    fn long_form_entry_lengths() {
        let dol = Dol::parse(&hex("9F4E 81 80 9F10 20")).unwrap();
        assert_eq!(dol.entries()[0], DolEntry::new(tag(0x9F4E), 128));
        assert_eq!(dol.to_bytes(), hex("9F4E 81 80 9F10 20"));
        assert_eq!(dol.data_len(), 160);
    }

    #[test]
    fn malformed_dols_are_rejected() {
        assert_eq!(
            Dol::parse(&hex("9F")),
            Err(DolError::Entry(TlvError::TruncatedTag))
        );
        assert_eq!(
            Dol::parse(&hex("9F02")),
            Err(DolError::Entry(TlvError::TruncatedLength))
        );
        assert_eq!(
            Dol::parse(&hex("9F02 80")),
            Err(DolError::Entry(TlvError::IndefiniteLength))
        );
        assert_eq!(
            Dol::parse(&hex("9F02 82 0100")),
            Err(DolError::EntryTooLong {
                tag: tag(0x9F02),
                len: 256
            })
        );
        assert_eq!(
            Dol::parse(&hex("9F02 06 00 01")),
            Err(DolError::Entry(TlvError::InvalidTag { raw: 0 }))
        );
        assert_eq!(Dol::parse(&[]), Ok(Dol::default()));
    }
}
