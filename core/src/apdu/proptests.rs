//! Property tests for every parser of [`crate::apdu`]: arbitrary bytes give `Ok` or `Err`, never a
//! panic; what the builders produce parses back to the same value.

use proptest::prelude::*;

use super::class::{Class, LogicalChannel};
use super::command::CommandApdu;
use super::dol::{Dol, DolEntry};
use super::error::{DolError, ResponseError};
use super::format::DataFormat;
use super::response::ResponseApdu;
use super::status::{Status, StatusWord};
use super::tag::Tag;
use super::tlv::{self, Tlv};
use super::tlv_build::TlvNode;

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..max)
}

/// Valid tags with the constructed bit as requested, 1 to 4 bytes long.
fn tag_strategy(constructed: bool) -> impl Strategy<Value = Tag> {
    (1usize..=4, any::<u8>(), any::<[u8; 3]>()).prop_filter_map(
        "valid tag",
        move |(n, first, rest)| {
            let mut first = if constructed {
                first | 0x20
            } else {
                first & !0x20
            };
            let mut raw;
            if n == 1 {
                if first & 0x1F == 0x1F {
                    first ^= 0x01;
                }
                raw = u32::from(first);
            } else {
                raw = u32::from(first | 0x1F);
                for (i, &b) in rest.iter().take(n - 1).enumerate() {
                    let b = if i + 2 < n { b | 0x80 } else { b & 0x7F };
                    raw = (raw << 8) | u32::from(b);
                }
            }
            Tag::new(raw).ok()
        },
    )
}

fn any_tag() -> impl Strategy<Value = Tag> {
    any::<bool>().prop_flat_map(tag_strategy)
}

/// Values of 0 to 299 bytes, so that the 81 and 82 length forms occur.
fn value_strategy() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![4 => bytes(20), 1 => bytes(300)]
}

fn tree_strategy() -> impl Strategy<Value = TlvNode> {
    let leaf = (tag_strategy(false), value_strategy()).prop_map(|(t, v)| TlvNode::primitive(t, v));
    leaf.prop_recursive(5, 48, 5, |inner| {
        (tag_strategy(true), prop::collection::vec(inner, 0..5))
            .prop_map(|(t, children)| TlvNode::constructed(t, children))
    })
}

fn count_nodes(node: &TlvNode) -> usize {
    match node {
        TlvNode::Primitive { .. } => 1,
        TlvNode::Constructed { children, .. } => {
            1 + children.iter().map(count_nodes).sum::<usize>()
        }
    }
}

fn command_strategy() -> impl Strategy<Value = CommandApdu> {
    let data = prop_oneof![3 => bytes(260), 1 => bytes(70_000).prop_map(|mut d| { d.truncate(65_535); d })];
    let ne = prop_oneof![
        Just(None),
        (1u32..=300).prop_map(Some),
        (1u32..=65_536).prop_map(Some)
    ];
    (any::<[u8; 4]>(), data, ne).prop_map(|([cla, ins, p1, p2], data, ne)| {
        let c = CommandApdu::new(cla, ins, p1, p2).with_data(data).unwrap();
        match ne {
            Some(ne) => c.with_le(ne).unwrap(),
            None => c,
        }
    })
}

proptest! {
    #[test]
    fn command_parse_never_panics_and_is_canonical(input in bytes(600)) {
        if let Ok(c) = CommandApdu::parse(&input) {
            let again = c.to_bytes();
            prop_assert_eq!(CommandApdu::parse(&again), Ok(c));
            prop_assert!(again.len() <= input.len());
        }
    }

    #[test]
    fn command_round_trips(c in command_strategy()) {
        let encoded = c.to_bytes();
        prop_assert_eq!(encoded.len(), c.encoded_len());
        prop_assert_eq!(&encoded[..4], &[c.cla(), c.ins(), c.p1(), c.p2()][..]);
        prop_assert_eq!(CommandApdu::parse(&encoded), Ok(c.clone()));
        // Cutting the encoding short or extending it never panics.
        for cut in [1usize, 2, 3] {
            if let Some(prefix) = encoded.get(..encoded.len().saturating_sub(cut)) {
                let _ = CommandApdu::parse(prefix);
            }
        }
        let mut longer = encoded.clone();
        longer.push(0x00);
        let _ = CommandApdu::parse(&longer);
    }

    #[test]
    fn response_parse(input in bytes(300)) {
        match ResponseApdu::parse(&input) {
            Ok(r) => {
                prop_assert!(input.len() >= 2);
                prop_assert_eq!(r.to_bytes(), input);
            }
            Err(e) => prop_assert_eq!(e, ResponseError::TooShort { len: input.len() }),
        }
    }

    #[test]
    fn response_round_trips(data in bytes(300), sw in any::<u16>()) {
        let r = ResponseApdu::new(data, sw);
        prop_assert_eq!(ResponseApdu::parse(&r.to_bytes()), Ok(r));
    }

    #[test]
    fn status_meaning_round_trips(raw in any::<u16>()) {
        let sw = StatusWord(raw);
        prop_assert_eq!(Status::from_word(sw).word(), sw);
        let prefix = format!("{raw:04X} (");
        prop_assert!(sw.to_string().starts_with(&prefix));
    }

    #[test]
    fn class_decode_encode_round_trips(cla in any::<u8>(), channel in 0u8..=19) {
        if let Ok(info) = Class::new(cla).decode() {
            prop_assert_eq!(info.encode().map(Class::value), Ok(cla));
            let ch = LogicalChannel::new(channel).unwrap();
            if let Ok(moved) = Class::new(cla).with_channel(ch) {
                let moved = moved.decode().unwrap();
                prop_assert_eq!(moved.channel, ch);
                prop_assert_eq!(moved.proprietary, info.proprietary);
                prop_assert_eq!(moved.chaining, info.chaining);
            }
        }
    }

    #[test]
    fn tag_parse_never_panics(input in bytes(8)) {
        if let Ok((tag, len)) = Tag::parse(&input) {
            prop_assert_eq!(tag.encoded_len(), len);
            prop_assert_eq!(Tag::new(tag.value()), Ok(tag));
        }
    }

    #[test]
    fn valid_tags_round_trip(tag in any_tag()) {
        let mut out = Vec::new();
        tag.write_to(&mut out);
        prop_assert_eq!(Tag::parse(&out), Ok((tag, out.len())));
    }

    #[test]
    fn tlv_parsers_never_panic(input in bytes(400), wanted in any_tag(), path in prop::collection::vec(any_tag(), 0..4)) {
        let _ = Tlv::parse(&input);
        let _ = Tlv::parse_single(&input);
        let _ = tlv::find(&input, wanted);
        let _ = tlv::find_path(&input, &path);
        for item in tlv::iter(&input) {
            match item {
                Ok(t) => {
                    let _ = t.find(wanted);
                    let _ = t.children().count();
                }
                Err(_) => break,
            }
        }
        let walked = tlv::walk(&input, |_, _| {});
        let owned = TlvNode::parse_all(&input);
        prop_assert_eq!(walked.is_ok(), owned.is_ok());
        if let Ok(nodes) = owned {
            // Re-encoding is canonical: parsing it gives the same trees.
            let encoded: Vec<u8> = nodes.iter().flat_map(TlvNode::encode).collect();
            prop_assert_eq!(TlvNode::parse_all(&encoded), Ok(nodes));
        }
    }

    #[test]
    fn tlv_trees_round_trip(tree in tree_strategy()) {
        let encoded = tree.encode();
        prop_assert_eq!(encoded.len(), tree.encoded_len());
        prop_assert_eq!(TlvNode::parse_all(&encoded), Ok(vec![tree.clone()]));
        let parsed = Tlv::parse_single(&encoded).unwrap();
        prop_assert_eq!(parsed.tag(), tree.tag());
        prop_assert_eq!(parsed.as_bytes(), &encoded[..]);
        let mut visited = 0;
        tlv::walk(&encoded, |_, _| visited += 1).unwrap();
        prop_assert_eq!(visited, count_nodes(&tree));
        // The root is found by its own tag; padding around it changes nothing.
        prop_assert_eq!(tlv::find(&encoded, tree.tag()).unwrap().map(|t| t.as_bytes()), Some(&encoded[..]));
        let mut padded = vec![0x00, 0xFF];
        padded.extend_from_slice(&encoded);
        padded.extend_from_slice(&[0xFF, 0x00]);
        prop_assert_eq!(TlvNode::parse_all(&padded), Ok(vec![tree]));
    }

    #[test]
    fn mutated_tlv_never_panics(tree in tree_strategy(), at in any::<prop::sample::Index>(), byte in any::<u8>(), cut in any::<prop::sample::Index>()) {
        let mut encoded = tree.encode();
        let i = at.index(encoded.len());
        if let Some(b) = encoded.get_mut(i) {
            *b = byte;
        }
        let cut = cut.index(encoded.len() + 1);
        let input = encoded.get(..cut).unwrap_or_default();
        let _ = tlv::validate(input);
        let _ = tlv::find(input, tree.tag());
        let _ = TlvNode::parse_all(input);
    }

    #[test]
    fn dol_parse_never_panics_and_is_canonical(input in bytes(100)) {
        if let Ok(dol) = Dol::parse(&input) {
            prop_assert_eq!(Dol::parse(&dol.to_bytes()), Ok(dol));
        }
    }

    #[test]
    fn dols_round_trip(entries in prop::collection::vec((any_tag(), any::<u8>()), 0..12)) {
        let dol: Dol = entries.iter().map(|&(t, l)| DolEntry::new(t, l)).collect();
        prop_assert_eq!(Dol::parse(&dol.to_bytes()), Ok(dol.clone()));
        prop_assert_eq!(dol.data_len(), entries.iter().map(|&(_, l)| usize::from(l)).sum::<usize>());
    }

    #[test]
    fn dol_data_builds_and_splits(
        entries in prop::collection::vec((any_tag(), 0u8..40), 0..10),
        values in prop::collection::vec(bytes(50), 10),
    ) {
        let dol: Dol = entries.iter().map(|&(t, l)| DolEntry::new(t, l)).collect();
        let supplied: Vec<(Tag, Vec<u8>)> =
            entries.iter().zip(&values).map(|(&(t, _), v)| (t, v.clone())).collect();
        let data = dol.build(&supplied);
        prop_assert_eq!(data.len(), dol.data_len());
        let split = dol.split(&data).unwrap();
        prop_assert_eq!(split.len(), dol.len());
        for (entry, (tag, value)) in dol.entries().iter().zip(&split) {
            prop_assert_eq!(*tag, entry.tag);
            let len = usize::from(entry.len);
            prop_assert_eq!(value.len(), len);
            // The first value supplied for the tag, as the lookup sees it.
            let Some((_, given)) = supplied.iter().find(|(t, _)| *t == entry.tag) else { continue };
            if entry.tag.is_constructed() {
                prop_assert!(value.iter().all(|&b| b == 0));
            } else if given.len() == len {
                prop_assert_eq!(*value, &given[..]);
            } else if given.len() > len {
                let kept = match DataFormat::of(entry.tag) {
                    DataFormat::Numeric => &given[given.len() - len..],
                    _ => &given[..len],
                };
                prop_assert_eq!(*value, kept);
            } else {
                let pad = len - given.len();
                match DataFormat::of(entry.tag) {
                    DataFormat::Numeric => {
                        prop_assert!(value[..pad].iter().all(|&b| b == 0));
                        prop_assert_eq!(&value[pad..], &given[..]);
                    }
                    DataFormat::CompressedNumeric => {
                        prop_assert_eq!(&value[..given.len()], &given[..]);
                        prop_assert!(value[given.len()..].iter().all(|&b| b == 0xFF));
                    }
                    DataFormat::Other => {
                        prop_assert_eq!(&value[..given.len()], &given[..]);
                        prop_assert!(value[given.len()..].iter().all(|&b| b == 0));
                    }
                }
            }
        }
    }

    #[test]
    fn dol_split_checks_length(
        entries in prop::collection::vec((any_tag(), any::<u8>()), 0..6),
        data in bytes(600),
    ) {
        let dol: Dol = entries.iter().map(|&(t, l)| DolEntry::new(t, l)).collect();
        match dol.split(&data) {
            Ok(values) => {
                prop_assert_eq!(data.len(), dol.data_len());
                let joined: Vec<u8> = values.iter().flat_map(|(_, v)| v.iter().copied()).collect();
                prop_assert_eq!(joined, data);
            }
            Err(e) => prop_assert_eq!(
                e,
                DolError::DataLengthMismatch { expected: dol.data_len(), actual: data.len() }
            ),
        }
    }
}
