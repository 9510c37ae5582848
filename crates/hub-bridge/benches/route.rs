//! µs per record to route the bench's fixture mix: parse, map, serialise the canonical event and
//! build its message (everything the bridge does to a record between Kafka and `PublishBatch`),
//! and µs to write the `PublishBatch` body of ten of them is in `hub-aws`.
//!
//! `cargo bench -p hub-bridge --bench route`
#![allow(missing_docs)] // criterion's macros generate undocumented functions

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hub_bridge::{KafkaRecord, Settings, route::route};
use std::hint::black_box;

fn records() -> Vec<KafkaRecord> {
    (0..100u64)
        .map(|i| KafkaRecord::from_sample(hub_sap::samples::mixed(i, 1000), i as i64))
        .collect()
}

fn bench(c: &mut Criterion) {
    let records = records();
    let settings = Settings::default();
    let now = chrono::Utc::now();
    let mut group = c.benchmark_group("route");
    group.throughput(Throughput::Elements(records.len() as u64));
    group.bench_function("fixture_mix_100_records", |b| {
        b.iter(|| {
            for r in &records {
                black_box(route(black_box(r), &settings, now));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
