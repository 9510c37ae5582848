//! µs per record to route the bench's fixture mix: parse, map, serialise the canonical event and
//! build its message (everything the bridge does to a record between Kafka and `PublishBatch`),
//! and µs to write the `PublishBatch` body of ten of them is in `hub-aws`. `serde_json_only` is
//! the floor under serialising: the mix's message bodies (`message::body_of`), nothing else.
//!
//! `cargo bench -p hub-bridge --bench route`
#![allow(missing_docs)] // criterion's macros generate undocumented functions

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hub_bridge::{KafkaRecord, Settings, message::body_of, route::route};
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

    // The floor under serialising: the message bodies of the mix's events alone (stamped as
    // `Message::from_event` stamps them), which serde_json writes.
    let events: Vec<hub_model::ChangeEvent> = records
        .iter()
        .flat_map(|r| {
            hub_sap::parse_record(&r.envelope(), &settings.limits).expect("the mix parses")
        })
        .filter_map(|o| match o {
            hub_sap::Outcome::Change(e) => Some(hub_model::ChangeEvent {
                published_at: Some(now),
                ..*e
            }),
            hub_sap::Outcome::NeedsEnrichment(_) => None,
        })
        .collect();
    let mut group = c.benchmark_group("serde_json_only");
    group.throughput(Throughput::Elements(events.len() as u64));
    group.bench_function(format!("fixture_mix_{}_events", events.len()), |b| {
        b.iter(|| {
            for e in &events {
                black_box(body_of(black_box(e)));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
