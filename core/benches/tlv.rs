//! TLV and APDU hot paths: walking a 256-byte FCI and encoding GET PROCESSING OPTIONS.
//!
//! Run with `cargo bench -p wallet-core --bench tlv`. Target: the FCI walk well under 1 µs.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use wallet_core::apdu::{tlv, CommandApdu, Dol, Tag, Tlv, TlvNode};

fn tag(raw: u32) -> Tag {
    Tag::new(raw).expect("bench tags are valid")
}

/// The PDOL of a qPBOC application.
const PDOL: [u8; 24] = [
    0x9F, 0x66, 0x04, 0x9F, 0x02, 0x06, 0x9F, 0x03, 0x06, 0x9F, 0x1A, 0x02, 0x95, 0x05, 0x5F, 0x2A,
    0x02, 0x9A, 0x03, 0x9C, 0x01, 0x9F, 0x37, 0x04,
];

/// A SELECT AID response for a UnionPay debit application, padded with issuer discretionary
/// data (DF61) inside BF0C so that the whole template is exactly 256 bytes.
fn fci_256() -> Vec<u8> {
    let build = |filler: usize| {
        TlvNode::constructed(
            Tag::FCI_TEMPLATE,
            [
                TlvNode::primitive(
                    Tag::DF_NAME,
                    vec![0xA0, 0x00, 0x00, 0x03, 0x33, 0x01, 0x01, 0x01],
                ),
                TlvNode::constructed(
                    Tag::FCI_PROPRIETARY,
                    [
                        TlvNode::primitive(Tag::APPLICATION_LABEL, b"UnionPay Debit".to_vec()),
                        TlvNode::primitive(Tag::APPLICATION_PRIORITY, vec![0x01]),
                        TlvNode::primitive(Tag::PDOL, PDOL.to_vec()),
                        TlvNode::primitive(Tag::LANGUAGE_PREFERENCE, b"zhen".to_vec()),
                        TlvNode::primitive(Tag::ISSUER_CODE_TABLE_INDEX, vec![0x01]),
                        TlvNode::primitive(
                            Tag::APPLICATION_PREFERRED_NAME,
                            b"CUP Debit Card".to_vec(),
                        ),
                        TlvNode::constructed(
                            Tag::FCI_ISSUER_DISCRETIONARY,
                            [
                                TlvNode::primitive(Tag::LOG_ENTRY, vec![0x0B, 0x0A]),
                                TlvNode::primitive(tag(0xDF4D), vec![0x0C, 0x0A]),
                                TlvNode::primitive(tag(0x9F5A), vec![0x11, 0x01, 0x56]),
                                TlvNode::primitive(tag(0xDF61), vec![0x5A; filler]),
                            ],
                        ),
                    ],
                ),
            ],
        )
        .encode()
    };
    let fci = (0..256)
        .map(build)
        .find(|fci| fci.len() == 256)
        .expect("some filler length gives exactly 256 bytes");
    assert_eq!(tlv::validate(&fci), Ok(()));
    fci
}

/// Visits every object recursively, as a reader of the FCI does.
fn walk_all(fci: &[u8]) -> (usize, usize) {
    let mut objects = 0;
    let mut bytes = 0;
    let result = tlv::walk(fci, |t, _| {
        objects += 1;
        bytes += t.value().len();
    });
    assert!(result.is_ok());
    (objects, bytes)
}

/// The same walk written by hand with `children()`, without the library's walker.
fn walk_children(t: &Tlv<'_>, count: &mut usize) {
    *count += 1;
    for child in t.children().flatten() {
        walk_children(&child, count);
    }
}

fn benches(c: &mut Criterion) {
    let fci = fci_256();
    let (objects, _) = walk_all(&fci);
    eprintln!("FCI: {} bytes, {objects} data objects", fci.len());

    let mut group = c.benchmark_group("tlv");
    group.throughput(Throughput::Bytes(fci.len() as u64));
    group.bench_function("walk_fci_256", |b| b.iter(|| walk_all(black_box(&fci))));
    group.bench_function("children_recursion_fci_256", |b| {
        b.iter(|| {
            let mut count = 0;
            for t in tlv::iter(black_box(&fci)).flatten() {
                walk_children(&t, &mut count);
            }
            count
        })
    });
    group.bench_function("find_9F4D_fci_256", |b| {
        b.iter(|| tlv::find(black_box(&fci), Tag::LOG_ENTRY).map(|t| t.map(|t| t.value().len())))
    });
    group.bench_function("find_path_pdol_fci_256", |b| {
        let path = [Tag::FCI_TEMPLATE, Tag::FCI_PROPRIETARY, Tag::PDOL];
        b.iter(|| tlv::find_path(black_box(&fci), &path).map(|t| t.map(|t| t.value().len())))
    });
    group.finish();

    let mut group = c.benchmark_group("apdu");
    let dol = Dol::parse(&PDOL).expect("valid PDOL");
    let values: Vec<(Tag, Vec<u8>)> = vec![
        (tag(0x9F66), vec![0x36, 0x00, 0x00, 0x80]),
        (tag(0x9F02), vec![0x00, 0x00, 0x00, 0x00, 0x01, 0x00]),
        (tag(0x9F1A), vec![0x01, 0x56]),
        (tag(0x5F2A), vec![0x01, 0x56]),
        (tag(0x9A), vec![0x24, 0x01, 0x01]),
        (tag(0x9C), vec![0x00]),
        (tag(0x9F37), vec![0x12, 0x34, 0x56, 0x78]),
    ];
    let pdol_data = dol.build(&values);
    group.bench_function("gpo_encode", |b| {
        b.iter(|| CommandApdu::get_processing_options(black_box(&pdol_data)).map(|c| c.to_bytes()))
    });
    group.bench_function("pdol_parse_build_gpo_encode", |b| {
        b.iter(|| {
            let dol = Dol::parse(black_box(&PDOL)).expect("valid PDOL");
            let data = dol.build(black_box(&values));
            CommandApdu::get_processing_options(&data).map(|c| c.to_bytes())
        })
    });
    group.finish();
}

criterion_group!(tlv_benches, benches);
criterion_main!(tlv_benches);
