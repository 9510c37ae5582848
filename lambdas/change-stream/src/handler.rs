//! The Lambda handler: a batch of the table's stream records in, a partial batch response out.
//!
//! Per record, in stream order:
//! - `INSERT` or `MODIFY` of a record's own item whose version moved: one consolidated message
//!   (an order with its chunked items read back from the table);
//! - index rows, item chunks, `REMOVE`s (the TTL deleting a tombstone, an order dropping a
//!   material row) and images whose version did not move: skipped, counted;
//! - an item that is not a valid record: the batch fails from that record on
//!   (`batchItemFailures` with its sequence number). The mapping's `BisectBatchOnFunctionError`
//!   isolates it, and after `MaximumRetryAttempts` its on-failure destination (the change-stream
//!   DLQ) gets the record's coordinates; the records after it go on.
//!
//! Messages are published in stream order, ten to a `PublishBatch`, stopping at the first that
//! fails: the response names the first record not published, so a retry starts there and one
//! key's messages never overtake each other.

use aws_lambda_events::dynamodb::{Event, EventRecord};
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use base64::Engine;
use hub_aws::consolidated::SnsConsolidated;
use hub_core::{Classify, PortError};
use hub_model::consolidated::ConsolidatedMessage;
use hub_store::consolidated::{Outcome, outcome};
use hub_store::{EntityStore, Item, Key};
use lambda_runtime::LambdaEvent;
use serde_json::{Map, Number, Value, json};
use std::collections::HashMap;
use std::future::Future;
use tracing::{info, warn};

/// Where consolidated messages go: the SNS topic when deployed, memory in unit tests.
pub trait Sink: Send + Sync {
    /// Publishes `messages` in order, stopping at the first failure; one result per message
    /// (those after a failure are errors too).
    fn publish<'a>(
        &'a self,
        messages: &'a [ConsolidatedMessage],
    ) -> impl Future<Output = Vec<Result<(), PortError>>> + Send + 'a;
}

impl Sink for SnsConsolidated {
    async fn publish<'a>(
        &'a self,
        messages: &'a [ConsolidatedMessage],
    ) -> Vec<Result<(), PortError>> {
        SnsConsolidated::publish(self, messages).await
    }
}

/// What every invocation shares: built once per execution environment.
#[derive(Debug)]
pub struct State<P, S> {
    /// The consolidated topic.
    pub sink: P,
    /// The single table (read for chunked orders).
    pub store: S,
    /// Whether to print one EMF metrics line per batch (off locally and in tests).
    pub emit_metrics: bool,
}

/// What one batch came to.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    /// Records in the batch.
    pub records: usize,
    /// Messages published.
    pub published: usize,
    /// Records that are not changes of their own.
    pub skipped: usize,
    /// The sequence number of the first record not handled, if any.
    pub failed_at: Option<String>,
    /// Its index in the batch.
    pub failed_index: Option<usize>,
    /// Whether it failed for good (an item that is not a valid record): retrying the same
    /// record cannot help.
    pub permanent: bool,
    /// Why it failed.
    pub reason: Option<String>,
}

/// Handles one invocation.
///
/// - A publish that fails transiently is tried again from the failed record, with jittered
///   backoff, while the invocation has more than [`RETRY_MARGIN`] left; then the response names
///   the first record not published (the mapping retries from there, the shard waits).
/// - An item that is not a valid record fails for good: when it is not the batch's first record,
///   the response names it (the records before it are checkpointed); when it is the first, the
///   invocation fails as a whole, so that the mapping's `BisectBatchOnFunctionError` halves the
///   batch until the item is alone, and after its retries sends its coordinates to the DLQ.
pub async fn handle<P: Sink, S: EntityStore>(
    event: LambdaEvent<Event>,
    state: &State<P, S>,
) -> Result<DynamoDbEventResponse, lambda_runtime::Error> {
    let deadline =
        tokio::time::Instant::now() + hub_core::deadline::remaining(event.context.deadline);
    let records = &event.payload.records;
    let mut start = 0;
    let mut attempt = 0u32;
    let mut total = Report {
        records: records.len(),
        ..Report::default()
    };
    let report = loop {
        let mut report = process(&records[start..], state).await;
        total.published += report.published;
        total.skipped += report.skipped;
        report.failed_index = report.failed_index.map(|i| i + start);
        let Some(i) = report.failed_index.filter(|_| !report.permanent) else {
            break report;
        };
        attempt += 1;
        let wait = backoff(attempt);
        if tokio::time::Instant::now() + wait + RETRY_MARGIN > deadline {
            break report;
        }
        tokio::time::sleep(wait).await;
        start = i;
    };
    total.failed_at = report.failed_at.clone();
    total.failed_index = report.failed_index;
    total.permanent = report.permanent;
    total.reason = report.reason.clone();
    let t = totals();
    use std::sync::atomic::Ordering::Relaxed;
    t.published.fetch_add(total.published as u64, Relaxed);
    t.skipped.fetch_add(total.skipped as u64, Relaxed);
    t.failed
        .fetch_add(u64::from(total.failed_at.is_some()), Relaxed);
    if state.emit_metrics {
        println!("{}", metrics_line(&total));
    }
    if report.permanent && report.failed_index == Some(0) {
        return Err(format!(
            "stream record {} is not a valid record: {}",
            report.failed_at.as_deref().unwrap_or("?"),
            report.reason.as_deref().unwrap_or("")
        )
        .into());
    }
    let mut response = DynamoDbEventResponse::default();
    if let Some(seq) = &report.failed_at {
        if seq.is_empty() {
            return Err("a failed stream record has no sequence number".into());
        }
        response.batch_item_failures.push(failure(seq));
    }
    Ok(response)
}

/// What this process's invocations came to, since it started (for the main job's status
/// line; the deployed function reports EMF lines instead).
#[derive(Debug, Default)]
pub struct Totals {
    /// Messages published.
    pub published: std::sync::atomic::AtomicU64,
    /// Records that were not changes of their own.
    pub skipped: std::sync::atomic::AtomicU64,
    /// Invocations that ended with a failed record.
    pub failed: std::sync::atomic::AtomicU64,
}

/// The process's [`Totals`].
pub fn totals() -> &'static Totals {
    static TOTALS: std::sync::OnceLock<Totals> = std::sync::OnceLock::new();
    TOTALS.get_or_init(Totals::default)
}

/// Time kept back from the deadline when deciding to try a failed publish again.
pub const RETRY_MARGIN: std::time::Duration = std::time::Duration::from_secs(10);

/// Full-jitter backoff: up to 200 ms, doubling, at most 5 s.
fn backoff(attempt: u32) -> std::time::Duration {
    let cap = (200u64 << attempt.min(5)).min(5_000);
    std::time::Duration::from_millis(fastrand::u64(cap / 2..=cap))
}

fn failure(seq: &str) -> DynamoDbBatchItemFailure {
    let mut f = DynamoDbBatchItemFailure::default();
    f.item_identifier = Some(seq.to_string());
    f
}

/// Builds and publishes the messages of `records`; see the module's documentation.
pub async fn process<P: Sink, S: EntityStore>(
    records: &[EventRecord],
    state: &State<P, S>,
) -> Report {
    let mut report = Report {
        records: records.len(),
        ..Report::default()
    };
    let mut pending: Vec<(String, ConsolidatedMessage)> = Vec::new();
    let mut failed: Option<(usize, String, String)> = None;
    let mut indices = Vec::new();
    for (i, r) in records.iter().enumerate() {
        let seq = r.change.sequence_number.clone().unwrap_or_default();
        match message_outcome(r, &state.store).await {
            Ok(Some(m)) => {
                pending.push((seq, m));
                indices.push(i);
            }
            Ok(None) => report.skipped += 1,
            Err(Fault::Permanent(reason)) => {
                report.permanent = true;
                failed = Some((i, seq, reason));
                break;
            }
            Err(Fault::Transient(reason)) => {
                failed = Some((i, seq, reason));
                break;
            }
        }
    }
    let messages: Vec<ConsolidatedMessage> = pending.iter().map(|(_, m)| m.clone()).collect();
    let results = if messages.is_empty() {
        Vec::new()
    } else {
        state.sink.publish(&messages).await
    };
    for (((seq, m), result), i) in pending.iter().zip(results).zip(indices) {
        match result {
            Ok(()) => report.published += 1,
            Err(e) => {
                warn!(entity = %m.entity, key = %m.key, version = %m.version, error = %e, "Not published; the batch is retried from this record.");
                // A publish failure comes before any later build failure.
                report.permanent = e.class() == hub_core::ErrorClass::Permanent;
                failed = Some((i, seq.clone(), e.to_string()));
                break;
            }
        }
    }
    if let Some((i, seq, reason)) = failed {
        warn!(sequence_number = %seq, %reason, "Stream record failed.");
        report.failed_at = Some(seq);
        report.failed_index = Some(i);
        report.reason = Some(reason);
    }
    info!(
        records = report.records,
        published = report.published,
        skipped = report.skipped,
        failed = report.failed_at.is_some(),
        "Stream batch."
    );
    report
}

/// Why a record could not be told as a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// The item is not a valid record: no retry can help.
    Permanent(String),
    /// Reading the order's chunks failed: worth another attempt.
    Transient(String),
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fault::Permanent(s) | Fault::Transient(s) => f.write_str(s),
        }
    }
}

/// The message of one stream record: `Ok(None)` when it is not a change of its own.
pub async fn message_outcome<S: EntityStore>(
    r: &EventRecord,
    store: &S,
) -> Result<Option<ConsolidatedMessage>, Fault> {
    if r.event_name != "INSERT" && r.event_name != "MODIFY" {
        return Ok(None);
    }
    let item = image(r.change.new_image.inner()).ok_or_else(|| {
        Fault::Permanent("the new image has no pk/sk (is the stream NEW_AND_OLD_IMAGES?)".into())
    })?;
    let previous = image(r.change.old_image.inner()).and_then(|i| i.version().map(str::to_string));
    message_outcome_of_item(&item, previous.as_deref(), store).await
}

/// The message of an item of the table that replaced `previous` (an order's chunks read from
/// `store`): `Ok(None)` when it is not a change of its own.
pub async fn message_outcome_of_item<S: EntityStore>(
    item: &Item,
    previous: Option<&str>,
    store: &S,
) -> Result<Option<ConsolidatedMessage>, Fault> {
    let rows = if item.attrs.contains_key("item_chunks")
        && hub_store::consolidated::record_entity(item).is_some()
    {
        store.query(&item.key.pk).await.map_err(|e| {
            let text = format!("reading the order's item chunks: {e}");
            if e.class() == hub_core::ErrorClass::Permanent {
                Fault::Permanent(text)
            } else {
                Fault::Transient(text)
            }
        })?
    } else {
        Vec::new()
    };
    match outcome(item, previous, &rows) {
        Ok(Outcome::Publish(m)) => Ok(Some(*m)),
        Ok(Outcome::Skip(_)) => Ok(None),
        Err(e) if e.class() == hub_core::ErrorClass::Transient => {
            Err(Fault::Transient(e.to_string()))
        }
        Err(e) => Err(Fault::Permanent(e.to_string())),
    }
}

/// An image of the stream as an item of the table (`None` without `pk` and `sk`).
pub fn image(attrs: &HashMap<String, serde_dynamo::AttributeValue>) -> Option<Item> {
    let text = |name: &str| match attrs.get(name) {
        Some(serde_dynamo::AttributeValue::S(s)) => Some(s.clone()),
        _ => None,
    };
    let key = Key {
        pk: text("pk")?,
        sk: text("sk")?,
    };
    let mut names: Vec<&String> = attrs.keys().filter(|k| *k != "pk" && *k != "sk").collect();
    names.sort();
    let mut map = Map::new();
    for k in names {
        if let Some(v) = value(&attrs[k]) {
            map.insert(k.clone(), v);
        }
    }
    Some(Item { key, attrs: map })
}

/// An attribute as JSON, the way the DynamoDB adapter reads the table (numbers as integers
/// when they are, sets as lists, binary as base64).
fn value(a: &serde_dynamo::AttributeValue) -> Option<Value> {
    use serde_dynamo::AttributeValue as A;
    let number = |n: &str| {
        n.parse::<i64>().map(Value::from).ok().or_else(|| {
            n.parse::<f64>()
                .ok()
                .and_then(Number::from_f64)
                .map(Value::Number)
        })
    };
    let b64 = |b: &[u8]| Value::from(base64::engine::general_purpose::STANDARD.encode(b));
    Some(match a {
        A::S(s) => Value::from(s.clone()),
        A::N(n) => number(n)?,
        A::Bool(b) => Value::Bool(*b),
        A::Null(_) => return None,
        A::B(b) => b64(b),
        A::L(l) => Value::Array(l.iter().filter_map(value).collect()),
        A::M(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .filter_map(|k| value(&m[k]).map(|v| (k.clone(), v)))
                    .collect(),
            )
        }
        A::Ss(s) => Value::Array(s.iter().cloned().map(Value::from).collect()),
        A::Ns(n) => Value::Array(n.iter().filter_map(|n| number(n)).collect()),
        A::Bs(b) => Value::Array(b.iter().map(|b| b64(b)).collect()),
    })
}

/// The metrics of the change stream's EMF line: name and unit.
pub const METRICS: [(&str, &str); 4] = [
    ("stream_records_total", "Count"),
    ("consolidated_published_total", "Count"),
    ("stream_records_skipped_total", "Count"),
    ("stream_batches_failed_total", "Count"),
];

/// The batch's EMF line (namespace `SapSyncHub`, dimension `function = change-stream`).
pub fn metrics_line(report: &Report) -> Value {
    hub_core::emf::line(
        ("function", "change-stream"),
        &METRICS,
        json!({
            "stream_records_total": report.records,
            "consolidated_published_total": report.published,
            "stream_records_skipped_total": report.skipped,
            "stream_batches_failed_total": usize::from(report.failed_at.is_some()),
        }),
        chrono_now_ms(),
    )
}

fn chrono_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hub_model::{Entity, Op};
    use hub_store::testing::{event, now};
    use hub_store::{MemoryStore, plan};
    use std::sync::Mutex;
    use std::time::Duration;

    /// A sink that keeps what it was given and fails the `fail_at`-th message onwards.
    #[derive(Default)]
    struct Memory {
        published: Mutex<Vec<ConsolidatedMessage>>,
        fail_at: Option<usize>,
    }

    impl Sink for Memory {
        async fn publish<'a>(
            &'a self,
            messages: &'a [ConsolidatedMessage],
        ) -> Vec<Result<(), PortError>> {
            let mut out = Vec::new();
            let mut published = self.published.lock().unwrap();
            for i in 0..messages.len() {
                if self.fail_at.is_some_and(|f| published.len() + i >= f) {
                    out.push(Err(PortError::transient("sns:PublishBatch", "down")));
                } else {
                    out.push(Ok(()));
                }
            }
            let ok = out.iter().filter(|r| r.is_ok()).count();
            published.extend(messages[..ok].iter().cloned());
            out
        }
    }

    /// A stream record of `item` replacing `old` as the Lambda event carries it.
    fn record(seq: u64, name: &str, new: Option<&Item>, old: Option<&Item>) -> EventRecord {
        let image = |i: Option<&Item>| -> Value {
            let Some(i) = i else { return json!({}) };
            let mut m = Map::new();
            m.insert("pk".into(), json!({"S": i.key.pk}));
            m.insert("sk".into(), json!({"S": i.key.sk}));
            for (k, v) in &i.attrs {
                m.insert(k.clone(), wire(v));
            }
            Value::Object(m)
        };
        serde_json::from_value(json!({
            "eventID": format!("e{seq}"), "eventName": name, "eventVersion": "1.1",
            "eventSource": "aws:dynamodb", "awsRegion": "eu-west-1",
            "dynamodb": {"ApproximateCreationDateTime": 1.7e9, "Keys": {},
                         "NewImage": image(new), "OldImage": image(old),
                         "SequenceNumber": format!("{seq:021}"), "SizeBytes": 100,
                         "StreamViewType": "NEW_AND_OLD_IMAGES"}
        }))
        .unwrap()
    }

    fn wire(v: &Value) -> Value {
        match v {
            Value::String(s) => json!({"S": s}),
            Value::Number(n) => json!({"N": n.to_string()}),
            Value::Bool(b) => json!({"BOOL": b}),
            Value::Null => json!({"NULL": true}),
            Value::Array(a) => json!({"L": a.iter().map(wire).collect::<Vec<_>>()}),
            Value::Object(m) => {
                json!({"M": m.iter().map(|(k, v)| (k.clone(), wire(v))).collect::<Map<_, _>>()})
            }
        }
    }

    fn written(entity: Entity, key: &str, seq: u64, op: Op) -> hub_store::WritePlan {
        plan(
            &event(entity, key, seq, op, 1),
            now(),
            Duration::from_secs(3600),
        )
        .unwrap()
    }

    #[tokio::test]
    async fn changes_are_published_in_order_and_rows_of_their_own_are_not() {
        // Scenario: a customer inserted then modified, an order with its index rows, a TTL
        // removal: three messages in stream order; rows and the removal skipped.
        let c1 = written(Entity::Customer, "0000000001", 1, Op::Upsert);
        let c2 = written(Entity::Customer, "0000000001", 5, Op::Upsert);
        let o = written(Entity::SalesOrder, "0000004711", 2, Op::Upsert);
        let mut records = vec![
            record(1, "INSERT", Some(&c1.main), None),
            record(2, "MODIFY", Some(&c2.main), Some(&c1.main)),
            record(3, "INSERT", Some(&o.main), None),
        ];
        for (i, row) in o.index_rows.iter().enumerate() {
            records.push(record(4 + i as u64, "INSERT", Some(row), None));
        }
        records.push(record(99, "REMOVE", None, Some(&c2.main)));
        let state = State {
            sink: Memory::default(),
            store: MemoryStore::new(),
            emit_metrics: false,
        };
        let mut event = Event::default();
        event.records = records;
        let response = handle(LambdaEvent::new(event, Default::default()), &state)
            .await
            .unwrap();
        assert!(response.batch_item_failures.is_empty());
        let published = state.sink.published.lock().unwrap();
        let seen: Vec<(Entity, String)> = published
            .iter()
            .map(|m| (m.entity, m.version.to_string()))
            .collect();
        assert_eq!(
            seen,
            vec![
                (Entity::Customer, c1.version.clone()),
                (Entity::Customer, c2.version.clone()),
                (Entity::SalesOrder, o.version.clone())
            ]
        );
        assert_eq!(
            published[1].previous_version.map(|v| v.to_string()),
            Some(c1.version.clone())
        );
    }

    #[tokio::test]
    async fn a_poison_item_fails_the_batch_from_its_record_and_a_publish_failure_from_its_own() {
        // Scenario: the second of three records is not a valid customer: the first is
        // published, the response names the second. Then SNS fails the second message of
        // three valid ones: the response names its record, the third is not published.
        let good = written(Entity::Customer, "0000000001", 1, Op::Upsert);
        let mut bad = written(Entity::Customer, "0000000002", 1, Op::Upsert).main;
        bad.attrs.insert("name".into(), json!(42));
        let other = written(Entity::Customer, "0000000003", 1, Op::Upsert);
        let records = vec![
            record(1, "INSERT", Some(&good.main), None),
            record(2, "INSERT", Some(&bad), None),
            record(3, "INSERT", Some(&other.main), None),
        ];
        let state = State {
            sink: Memory::default(),
            store: MemoryStore::new(),
            emit_metrics: false,
        };
        let report = process(&records, &state).await;
        assert_eq!(
            report.failed_at.as_deref(),
            Some(format!("{:021}", 2).as_str())
        );
        assert!(report.reason.unwrap().contains("not a customer record"));
        assert!(report.permanent);
        assert_eq!(state.sink.published.lock().unwrap().len(), 1);
        // The retry starts at the poison record: now first, the invocation fails as a whole,
        // so that the mapping bisects the batch.
        let mut event = Event::default();
        event.records = records[1..].to_vec();
        let e = handle(LambdaEvent::new(event, Default::default()), &state)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("not a valid record"), "{e}");

        let records = vec![
            record(1, "INSERT", Some(&good.main), None),
            record(2, "INSERT", Some(&other.main), None),
            record(
                3,
                "MODIFY",
                Some(&written(Entity::Customer, "0000000001", 4, Op::Delete).main),
                Some(&good.main),
            ),
        ];
        let state = State {
            sink: Memory {
                fail_at: Some(1),
                ..Memory::default()
            },
            store: MemoryStore::new(),
            emit_metrics: false,
        };
        let report = process(&records, &state).await;
        assert_eq!(
            report.failed_at.as_deref(),
            Some(format!("{:021}", 2).as_str())
        );
        assert_eq!(report.published, 1);
    }
}
