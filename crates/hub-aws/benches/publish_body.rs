//! µs to write the `PublishBatch` body of ten events of the bench's fixture mix (the bridge's
//! hot path besides signing and HTTP), and the percent-encoding alone against the
//! `percent-encoding` crate's.
//!
//! `cargo bench -p hub-aws --bench publish_body`
#![allow(missing_docs)] // criterion's macros generate undocumented functions

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hub_aws::sns_publisher::{encode, request_body};
use hub_bridge::{KafkaRecord, Message, Settings, route::route};
use std::hint::black_box;

fn messages() -> Vec<Message> {
    (0..10u64)
        .flat_map(|i| {
            let record = KafkaRecord::from_sample(hub_sap::samples::mixed(i, 1000), i as i64);
            route(&record, &Settings::default(), chrono::Utc::now()).messages
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let messages = messages();
    let refs: Vec<&Message> = messages.iter().collect();
    let arn = "arn:aws:sns:eu-west-1:123456789012:sap-sync-hub-changes";
    let mut group = c.benchmark_group("publish_body");
    group.throughput(Throughput::Elements(refs.len() as u64));
    group.bench_function("request_body_10_events", |b| {
        b.iter(|| request_body(black_box(arn), black_box(&refs)))
    });
    const QUERY: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    group.bench_function("encode_10_bodies", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(32 * 1024);
            for m in &messages {
                encode(&mut out, black_box(&m.body));
            }
            out
        })
    });
    group.bench_function("percent_encoding_crate_10_bodies", |b| {
        b.iter(|| {
            let mut out = String::with_capacity(32 * 1024);
            for m in &messages {
                for chunk in percent_encoding::utf8_percent_encode(black_box(&m.body), QUERY) {
                    out.push_str(chunk);
                }
            }
            out
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
