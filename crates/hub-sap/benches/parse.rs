//! µs per record to parse and canonicalise each fixture (criterion).
#![allow(missing_docs)] // criterion's macros generate undocumented functions
//!
//! `cargo bench -p hub-sap --bench parse`; the target is ≤ 15 µs for the MATMAS05 fixture on
//! one core.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hub_sap::{Envelope, Limits, parse_record};
use std::hint::black_box;

const FIXTURES: &[(&str, &str)] = &[
    (
        "matmas05_pump.xml",
        include_str!("../fixtures/matmas05_pump.xml"),
    ),
    (
        "debmas07_customer.xml",
        include_str!("../fixtures/debmas07_customer.xml"),
    ),
    (
        "orders05_salesorder.xml",
        include_str!("../fixtures/orders05_salesorder.xml"),
    ),
    (
        "s4_businesspartner_changed.cloudevent.json",
        include_str!("../fixtures/s4_businesspartner_changed.cloudevent.json"),
    ),
    (
        "s4_salesorder_created_thin.cloudevent.json",
        include_str!("../fixtures/s4_salesorder_created_thin.cloudevent.json"),
    ),
    (
        "cremas05_supplier.xml",
        include_str!("../fixtures/cremas05_supplier.xml"),
    ),
    (
        "cremas06_supplier_deleted.xml",
        include_str!("../fixtures/cremas06_supplier_deleted.xml"),
    ),
    (
        "s4_supplier_changed.cloudevent.json",
        include_str!("../fixtures/s4_supplier_changed.cloudevent.json"),
    ),
];

fn parse(c: &mut Criterion) {
    let limits = Limits::default();
    let mut group = c.benchmark_group("parse_and_canonicalise");
    group.throughput(Throughput::Elements(1));
    for (name, text) in FIXTURES {
        let bytes = text.as_bytes();
        group.bench_function(*name, |b| {
            b.iter(|| parse_record(black_box(&Envelope::value_only(bytes)), &limits).unwrap())
        });
    }
    let product = hub_sap::OwnedRecord::from_envelope_json(include_bytes!(
        "../fixtures/s4_product_changed.binary.json"
    ))
    .unwrap();
    group.bench_function("s4_product_changed.binary.json", |b| {
        b.iter(|| {
            let env = black_box(&product).envelope(Some("sap.s4.events"), Some(0), Some(0));
            parse_record(&env, &limits).unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches, stage_benches);

/// The IDoc stage alone (decode + generic tree, no mapping), for the MATMAS05 fixture.
fn tree_only(c: &mut Criterion) {
    let text = include_str!("../fixtures/matmas05_pump.xml");
    c.bench_function("idoc_tree_only/matmas05_pump.xml", |b| {
        b.iter(|| {
            let decoded = hub_sap::idoc::tree::decode(black_box(text.as_bytes())).unwrap();
            hub_sap::idoc::tree::parse(&decoded, Default::default())
                .unwrap()
                .idocs()
                .len()
        })
    });
}

/// What quick-xml's tokenizer alone costs per IDoc fixture: every event read, nothing done with
/// it. The floor under the IDoc parser; the rest of `parse_and_canonicalise` is the tree, the
/// mapping and the typed record.
fn tokenizer_only(c: &mut Criterion) {
    let mut group = c.benchmark_group("quick_xml_tokenizer_only");
    group.throughput(Throughput::Elements(1));
    for (name, text) in FIXTURES.iter().filter(|(n, _)| n.ends_with(".xml")) {
        group.bench_function(*name, |b| {
            b.iter(|| {
                let mut reader = quick_xml::Reader::from_str(black_box(text));
                let mut events = 0usize;
                while !matches!(reader.read_event().unwrap(), quick_xml::events::Event::Eof) {
                    events += 1;
                }
                events
            })
        });
    }
    group.finish();
}

criterion_group!(stage_benches, tree_only, tokenizer_only);
