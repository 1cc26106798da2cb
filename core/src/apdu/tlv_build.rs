//! An owned BER-TLV tree and its encoder, always choosing the minimal length form.

use std::fmt;

use super::error::TlvError;
use super::tag::Tag;
use super::tlv::{iter, Tlv, MAX_DEPTH};

/// Size of the minimal length field for a value of `len` bytes.
pub const fn length_field_len(len: usize) -> usize {
    match len {
        0..=0x7F => 1,
        0x80..=0xFF => 2,
        0x100..=0xFFFF => 3,
        0x1_0000..=0xFF_FFFF => 4,
        _ => 5,
    }
}

/// Appends the minimal length field for `len`: short form below 128, else `81`-`84`.
///
/// BER-TLV as ISO/IEC 7816-4 defines it stops at `84` (lengths below 2³²); a longer value is
/// written with its length saturated to `FFFFFFFF`, which a parser then rejects as overflowing.
pub fn encode_length(len: usize, out: &mut Vec<u8>) {
    let size = length_field_len(len);
    if size == 1 {
        out.push((len & 0x7F) as u8);
        return;
    }
    let count = size - 1;
    let value = u32::try_from(len).unwrap_or(u32::MAX).to_be_bytes();
    out.push(0x80 | (count as u8));
    out.extend(value.iter().skip(4 - count));
}

/// Appends one primitive data object: tag, minimal length, value.
pub fn encode_tlv(tag: Tag, value: &[u8], out: &mut Vec<u8>) {
    tag.write_to(out);
    encode_length(value.len(), out);
    out.extend_from_slice(value);
}

/// An owned data object: a primitive value or a constructed list of children.
///
/// `Debug` shows tags and lengths only.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum TlvNode {
    /// A primitive object. The value is written verbatim, so a constructed tag with
    /// pre-encoded children as its value is also possible.
    Primitive {
        /// The tag.
        tag: Tag,
        /// The value field.
        value: Vec<u8>,
    },
    /// A constructed object whose value is the encoding of its children.
    Constructed {
        /// The tag (normally with the constructed bit set).
        tag: Tag,
        /// The nested objects, in order.
        children: Vec<TlvNode>,
    },
}

impl TlvNode {
    /// A primitive object.
    pub fn primitive(tag: Tag, value: impl Into<Vec<u8>>) -> TlvNode {
        TlvNode::Primitive {
            tag,
            value: value.into(),
        }
    }

    /// A constructed object.
    pub fn constructed(tag: Tag, children: impl IntoIterator<Item = TlvNode>) -> TlvNode {
        TlvNode::Constructed {
            tag,
            children: children.into_iter().collect(),
        }
    }

    /// The tag.
    pub const fn tag(&self) -> Tag {
        match self {
            TlvNode::Primitive { tag, .. } | TlvNode::Constructed { tag, .. } => *tag,
        }
    }

    /// Length of the value field once encoded.
    pub fn value_len(&self) -> usize {
        match self {
            TlvNode::Primitive { value, .. } => value.len(),
            TlvNode::Constructed { children, .. } => {
                children.iter().map(TlvNode::encoded_len).sum()
            }
        }
    }

    /// Length of the whole encoding.
    pub fn encoded_len(&self) -> usize {
        let value_len = self.value_len();
        self.tag().encoded_len() + length_field_len(value_len) + value_len
    }

    /// Encodes the object.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.encode_into(&mut out);
        out
    }

    /// Appends the encoding to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        match self {
            TlvNode::Primitive { tag, value } => encode_tlv(*tag, value, out),
            TlvNode::Constructed { tag, children } => {
                tag.write_to(out);
                encode_length(self.value_len(), out);
                for child in children {
                    child.encode_into(out);
                }
            }
        }
    }

    /// Copies a parsed object into an owned tree (constructed tags become
    /// [`TlvNode::Constructed`], parsed recursively).
    pub fn from_tlv(tlv: &Tlv<'_>) -> Result<TlvNode, TlvError> {
        node_from(tlv, 0)
    }

    /// Parses every top-level object of `input` (padding skipped) into owned trees.
    pub fn parse_all(input: &[u8]) -> Result<Vec<TlvNode>, TlvError> {
        nodes_from(input, 0)
    }
}

fn node_from(tlv: &Tlv<'_>, depth: usize) -> Result<TlvNode, TlvError> {
    if tlv.is_constructed() {
        Ok(TlvNode::Constructed {
            tag: tlv.tag(),
            children: nodes_from(tlv.value(), depth + 1)?,
        })
    } else {
        Ok(TlvNode::primitive(tlv.tag(), tlv.value()))
    }
}

fn nodes_from(input: &[u8], depth: usize) -> Result<Vec<TlvNode>, TlvError> {
    if depth > MAX_DEPTH {
        return Err(TlvError::TooDeep { max: MAX_DEPTH });
    }
    iter(input).map(|tlv| node_from(&tlv?, depth)).collect()
}

impl fmt::Debug for TlvNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlvNode::Primitive { tag, value } => write!(f, "{tag}[{}]", value.len()),
            TlvNode::Constructed { tag, children } => f.debug_map().entry(tag, children).finish(),
        }
    }
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

    #[test]
    fn minimal_length_forms() {
        let enc = |len| {
            let mut out = Vec::new();
            encode_length(len, &mut out);
            out
        };
        assert_eq!(enc(0), [0x00]);
        assert_eq!(enc(0x7F), [0x7F]);
        assert_eq!(enc(0x80), [0x81, 0x80]);
        assert_eq!(enc(0xFF), [0x81, 0xFF]);
        assert_eq!(enc(0x100), [0x82, 0x01, 0x00]);
        assert_eq!(enc(0xFFFF), [0x82, 0xFF, 0xFF]);
        assert_eq!(enc(0x1_0000), [0x83, 0x01, 0x00, 0x00]);
        assert_eq!(enc(0x100_0000), [0x84, 0x01, 0x00, 0x00, 0x00]);
        for len in [0, 0x7F, 0x80, 0xFF, 0x100, 0xFFFF, 0x1_0000, 0x100_0000] {
            assert_eq!(length_field_len(len), enc(len).len());
        }
    }

    #[test]
    fn builds_the_ppse_fci() {
        let fci = TlvNode::constructed(
            Tag::FCI_TEMPLATE,
            [
                TlvNode::primitive(Tag::DF_NAME, b"2PAY.SYS.DDF01".to_vec()),
                TlvNode::constructed(
                    Tag::FCI_PROPRIETARY,
                    [TlvNode::constructed(
                        Tag::FCI_ISSUER_DISCRETIONARY,
                        [TlvNode::constructed(
                            Tag::APPLICATION_TEMPLATE,
                            [
                                TlvNode::primitive(Tag::AID, hex("A000000333010101")),
                                TlvNode::primitive(Tag::APPLICATION_LABEL, b"PBOC01".to_vec()),
                                TlvNode::primitive(Tag::APPLICATION_PRIORITY, vec![0x01]),
                            ],
                        )],
                    )],
                ),
            ],
        );
        let expected = hex(
            "6F 2C 84 0E 325041592E5359532E4444463031 A5 1A BF0C 17 61 15 \
             4F 08 A000000333010101 50 06 50424F433031 87 01 01",
        );
        assert_eq!(fci.encode(), expected);
        assert_eq!(fci.encoded_len(), expected.len());
        assert_eq!(TlvNode::parse_all(&expected), Ok(vec![fci]));
    }

    #[test]
    fn constructed_value_switches_to_long_form_at_128() {
        let node =
            TlvNode::constructed(tag(0x70), [TlvNode::primitive(tag(0x57), vec![0x11; 0x7E])]);
        // 57 7E + 126 bytes = 128 bytes of value → 70 81 80.
        let bytes = node.encode();
        assert_eq!(&bytes[..5], &[0x70, 0x81, 0x80, 0x57, 0x7E]);
        assert_eq!(bytes.len(), 3 + 128);
        let node = TlvNode::primitive(tag(0x9F4B), vec![0x22; 300]);
        assert_eq!(&node.encode()[..5], &[0x9F, 0x4B, 0x82, 0x01, 0x2C]);
    }

    #[test]
    fn debug_shows_structure_without_values() {
        let node = TlvNode::constructed(
            tag(0x70),
            [TlvNode::primitive(tag(0x5A), hex("6228480000000001"))],
        );
        assert_eq!(format!("{node:?}"), "{Tag(70): [5A[8]]}");
    }
}
