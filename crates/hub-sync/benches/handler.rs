//! CPU cost of the domain handler, I/O excluded, and write calls per distinct entity.
//!
//! `cargo bench -p hub-sync --bench handler`. Batches of 100 SQS messages carrying canonical
//! change events (4 versions each of 25 customers, shuffled) go through `process_batch` against
//! a store that answers at once, so the figure is decoding, validation, coalescing, planning and
//! the response: µs per record = time per batch / 100. Targets: ≤ 10 µs per record, ≤ 1.0 store
//! write per distinct entity.
#![allow(missing_docs)] // criterion's macros generate undocumented functions

use aws_lambda_events::sqs::SqsEvent;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hub_core::PortError;
use hub_model::{Entity, Op};
use hub_store::testing::{event, shuffle};
use hub_store::{Applied, EntityStore, Item, Key, WritePlan};
use hub_sync::testing::{body, sqs_event};
use hub_sync::{MemoryDeadLetters, SyncConfig, process_batch};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::time::Instant;

/// A store without I/O: every write applies at once; counts the calls.
#[derive(Default)]
struct NoIo {
    calls: AtomicU64,
}

impl EntityStore for NoIo {
    async fn apply(&self, _: &WritePlan) -> Result<Applied, PortError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        Ok(Applied::Written)
    }
    async fn get(&self, _: &Key) -> Result<Option<Item>, PortError> {
        Ok(None)
    }
    async fn query(&self, _: &str) -> Result<Vec<Item>, PortError> {
        Ok(Vec::new())
    }
    async fn query_gsi1(&self, _: &str, _: &str, _: bool) -> Result<Vec<Item>, PortError> {
        Ok(Vec::new())
    }
}

fn batch() -> SqsEvent {
    let mut events = Vec::new();
    for key in 0..25 {
        for v in 0..4u64 {
            events.push(event(
                Entity::Customer,
                &format!("{}", 100_000 + key),
                v,
                Op::Upsert,
                v as u8,
            ));
        }
    }
    shuffle(&mut events, 7);
    sqs_event(
        "customer",
        events
            .iter()
            .enumerate()
            .map(|(i, e)| (format!("m{i}"), body(e))),
    )
}

fn handler(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let mut config = SyncConfig::new(Entity::Customer, "customers");
    config.emit_metrics = false;
    let sample = batch();
    let dlq = MemoryDeadLetters::default();

    // Write calls per distinct entity: printed once (deterministic, not timed).
    let store = NoIo::default();
    rt.block_on(process_batch(
        sample.clone(),
        &store,
        &dlq,
        &hub_sync::NoPayloads,
        &config,
        Instant::now() + Duration::from_secs(60),
    ));
    println!(
        "store writes per distinct entity: {:.2} ({} writes, 25 entities, 100 messages)",
        store.calls.load(Ordering::Relaxed) as f64 / 25.0,
        store.calls.load(Ordering::Relaxed)
    );

    let mut group = c.benchmark_group("domain_handler");
    group.throughput(Throughput::Elements(100));
    group.bench_function("batch_of_100_customers_25_keys", |b| {
        b.iter(|| {
            let store = NoIo::default();
            rt.block_on(process_batch(
                sample.clone(),
                &store,
                &dlq,
                &hub_sync::NoPayloads,
                &config,
                Instant::now() + Duration::from_secs(60),
            ))
        })
    });
    group.finish();
}

criterion_group!(benches, handler);
criterion_main!(benches);
