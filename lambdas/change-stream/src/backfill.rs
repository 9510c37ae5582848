//! Backfill: the current state of an entity's records, sent to one domain's queue, so that a
//! new subscriber of the consolidated topic starts from the whole table (DESIGN §7).
//!
//! The same code runs as `hubctl backfill` and as the `backfill` function invoked from the
//! console with a JSON [`Request`] (unknown fields refused, a dry run by default).
//!
//! - **Reads**: with `keys`, each record by its key (a consistent `GetItem`; an order's
//!   partition with a `Query` when its items are chunked); otherwise a parallel `Scan` in
//!   `segments` (default 4), filtered on the entity's own items and, with `changed_since`, on
//!   the time the table applied them (`updated_at`).
//! - **Rate**: reads are paced to `max_read_units_per_second`, measured from DynamoDB's own
//!   `ConsumedCapacity`. Default: a quarter of a provisioned table's read capacity, or 100
//!   units a second on an on-demand table (under 1% of the 12,000 read units a second a new
//!   on-demand table serves), so the live domains never feel it.
//! - **Sends**: each record's current state as a consolidated message with `replay = true`
//!   (and the attribute `replay = true`) to **that one queue only**, ten to a
//!   `SendMessageBatch`; over 256 KiB, as a claim check; to a FIFO queue with `MessageGroupId =
//!   entity:key`. A failed entry is sent again (three attempts, jittered backoff), then counted
//!   failed and named in the report.
//! - **Resumable**: the [`Checkpoint`] (each segment's last evaluated key, or how many keys are
//!   done) is handed to `on_checkpoint` after every page; a backfill given it as `resume` goes
//!   on from there. The function stops 30 s before its deadline with `complete: false` and the
//!   checkpoint in its answer: invoke it again with that as `resume`.
//!
//! The consumer keeps the newer version (`hub-consumer`): live changes and backfilled state
//! may overlap in any order.

use crate::handler::{Fault, message_outcome_of_item};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnConsumedCapacity, Select};
use aws_sdk_sqs::types::{MessageAttributeValue, SendMessageBatchRequestEntry};
use hub_aws::AwsError;
use hub_aws::dynamo_store::from_item;
use hub_model::Entity;
use hub_model::claim_check;
use hub_model::consolidated::ConsolidatedMessage;
use hub_store::{EntityStore, keys};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;
use tracing::{info, warn};

/// The default number of scan segments.
pub const DEFAULT_SEGMENTS: u32 = 4;
/// The default read rate on an on-demand table (read units per second).
pub const ON_DEMAND_READ_UNITS: f64 = 100.0;
/// The default share of a provisioned table's read capacity.
pub const PROVISIONED_SHARE: f64 = 0.25;
/// Time kept back from the function's deadline: no page starts and no wait runs into it.
const MARGIN: Duration = Duration::from_secs(30);
/// Failed keys named in a report, at most.
const NAMED_FAILURES: usize = 100;

/// What to backfill.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    /// The entity (`customer`, `material`, `sales_order`, `supplier`).
    pub entity: String,
    /// Only these keys (padded or not).
    #[serde(default)]
    pub keys: Option<Vec<String>>,
    /// Only records the table applied at or after this time (RFC 3339).
    #[serde(default)]
    pub changed_since: Option<String>,
    /// The one queue to send to (its URL).
    pub to_queue: String,
    /// Read and count only (default true).
    #[serde(default = "yes")]
    pub dry_run: bool,
    /// Parallel scan segments (1–64, default 4).
    #[serde(default)]
    pub segments: Option<u32>,
    /// Read units per second, at most (default: see the module).
    #[serde(default)]
    pub max_read_units_per_second: Option<f64>,
    /// Where a previous run stopped.
    #[serde(default)]
    pub resume: Option<Checkpoint>,
}

fn yes() -> bool {
    true
}

/// A request that cannot run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// Not an entity of the hub.
    #[error("entity {0:?} is not an object of the hub")]
    Entity(String),
    /// Not an RFC 3339 time.
    #[error("changed_since {0:?} is not an RFC 3339 time")]
    Since(String),
    /// Out of range.
    #[error("{0}")]
    Range(&'static str),
    /// The checkpoint is of another request.
    #[error("resume: the checkpoint is of another backfill ({0})")]
    Resume(&'static str),
}

/// Where one scan segment is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Segment {
    /// Not started.
    #[default]
    NotStarted,
    /// Read up to this key (the scan's last evaluated key).
    After {
        /// Partition key.
        pk: String,
        /// Sort key.
        sk: String,
    },
    /// Read to its end.
    Done,
}

/// Where a backfill is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Per scan segment.
    #[serde(default)]
    pub segments: Vec<Segment>,
    /// With `keys`: how many are done, in the given order.
    #[serde(default)]
    pub keys_done: usize,
}

impl Checkpoint {
    /// Whether every segment (or key) is done.
    pub fn finished(&self, keys: Option<usize>) -> bool {
        match keys {
            Some(n) => self.keys_done >= n,
            None => !self.segments.is_empty() && self.segments.iter().all(|s| *s == Segment::Done),
        }
    }
}

/// What a backfill did (a dry run: would do).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Report {
    /// The entity.
    pub entity: String,
    /// Nothing was sent.
    pub dry_run: bool,
    /// Every record was read (otherwise invoke again with `checkpoint` as `resume`).
    pub complete: bool,
    /// Items read.
    pub read: u64,
    /// Messages sent (dry run: to send).
    pub sent: u64,
    /// Items read that are not a record of the entity, or keys not found.
    pub skipped: u64,
    /// Messages not sent after their attempts, or items that are not valid records.
    pub failed: u64,
    /// The first failed keys, with why.
    pub failures: Vec<(String, String)>,
    /// Read units DynamoDB counted.
    pub read_units: f64,
    /// Seconds it took.
    pub seconds: f64,
    /// Where it stopped.
    pub checkpoint: Checkpoint,
}

/// The backfill's clients and settings.
pub struct Backfill<'a, S> {
    /// DynamoDB.
    pub dynamodb: &'a aws_sdk_dynamodb::Client,
    /// SQS.
    pub sqs: &'a aws_sdk_sqs::Client,
    /// S3 (claim checks).
    pub s3: &'a aws_sdk_s3::Client,
    /// The single table's name.
    pub table: &'a str,
    /// The claim-check bucket.
    pub bucket: &'a str,
    /// The single table, as a store (keys and chunked orders).
    pub store: &'a S,
}

/// The read units of reading `item` (`per_unit` bytes a unit: 4 KB consistent, 8 KB not).
fn read_units(item: &hub_store::Item, per_unit: f64) -> f64 {
    let bytes = serde_json::to_vec(&item.attrs).map_or(0, |b| b.len())
        + item.key.pk.len()
        + item.key.sk.len();
    (bytes as f64 / per_unit).ceil().max(1.0)
}

/// A validated request.
struct Plan {
    entity: Entity,
    keys: Option<Vec<String>>,
    since: Option<String>,
    segments: u32,
}

fn validate(r: &Request) -> Result<Plan, RequestError> {
    let entity =
        Entity::from_name(&r.entity).ok_or_else(|| RequestError::Entity(r.entity.clone()))?;
    let since = match &r.changed_since {
        None => None,
        Some(s) => Some(
            chrono::DateTime::parse_from_rfc3339(s)
                .map_err(|_| RequestError::Since(s.clone()))?
                .with_timezone(&chrono::Utc)
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        ),
    };
    let segments = r.segments.unwrap_or(DEFAULT_SEGMENTS);
    if !(1..=64).contains(&segments) {
        return Err(RequestError::Range("segments must be 1..64"));
    }
    if r.max_read_units_per_second
        .is_some_and(|u| u.is_nan() || u < 1.0)
    {
        return Err(RequestError::Range(
            "max_read_units_per_second must be at least 1",
        ));
    }
    if r.to_queue.is_empty() {
        return Err(RequestError::Range("to_queue is required"));
    }
    if let Some(c) = &r.resume {
        if r.keys.is_some() && !c.segments.is_empty() {
            return Err(RequestError::Resume(
                "a scan's checkpoint for a backfill of keys",
            ));
        }
        if r.keys.is_none() && !c.segments.is_empty() && c.segments.len() != segments as usize {
            return Err(RequestError::Resume("another number of segments"));
        }
    }
    Ok(Plan {
        entity,
        keys: r
            .keys
            .as_ref()
            .map(|k| k.iter().map(|k| hub_model::key::normalize(k)).collect()),
        since,
        segments,
    })
}

/// Paces reads to a number of units per second.
struct Pace {
    rate: f64,
    started: Instant,
    used: Mutex<f64>,
    /// No wait goes past this (the function's deadline less its margin): the run stops there
    /// with its checkpoint instead.
    until: Option<Instant>,
}

impl Pace {
    async fn spend(&self, units: f64) {
        let wait = {
            let mut used = self.used.lock().unwrap_or_else(|e| e.into_inner());
            *used += units;
            let due = Duration::from_secs_f64(*used / self.rate);
            due.saturating_sub(self.started.elapsed())
        };
        let wait = match self.until {
            Some(u) => wait.min(u.saturating_duration_since(Instant::now())),
            None => wait,
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }

    fn used(&self) -> f64 {
        *self.used.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Counters shared by the segments.
#[derive(Default)]
struct Tally {
    read: u64,
    sent: u64,
    skipped: u64,
    failed: u64,
    failures: Vec<(String, String)>,
}

impl<S: EntityStore> Backfill<'_, S> {
    /// The read rate when the request sets none: see the module.
    pub async fn default_rate(&self) -> f64 {
        let provisioned = self
            .dynamodb
            .describe_table()
            .table_name(self.table)
            .send()
            .await
            .ok()
            .and_then(|d| d.table)
            .and_then(|t| t.provisioned_throughput)
            .and_then(|p| p.read_capacity_units)
            .filter(|u| *u > 0);
        match provisioned {
            Some(u) => (u as f64 * PROVISIONED_SHARE).max(1.0),
            None => ON_DEMAND_READ_UNITS,
        }
    }

    /// Runs `request`; `on_progress` gets (read, sent) after every page, `on_checkpoint` the
    /// checkpoint. Stops at `deadline` (if any) with `complete: false`.
    pub async fn run(
        &self,
        request: &Request,
        deadline: Option<Instant>,
        on_progress: &(dyn Fn(u64, u64) + Sync),
        on_checkpoint: &(dyn Fn(&Checkpoint) + Sync),
    ) -> Result<Report, RequestError> {
        let plan = validate(request)?;
        let started = Instant::now();
        let rate = match request.max_read_units_per_second {
            Some(r) => r,
            None => self.default_rate().await,
        };
        let pace = Pace {
            rate,
            started,
            used: Mutex::new(0.0),
            until: deadline.map(|d| d - MARGIN),
        };
        let tally = Mutex::new(Tally::default());
        let checkpoint = Mutex::new(request.resume.clone().unwrap_or_default());
        let fifo = request.to_queue.ends_with(".fifo");
        let ctx = Run {
            fill: self,
            request,
            plan: &plan,
            pace: &pace,
            tally: &tally,
            checkpoint: &checkpoint,
            deadline,
            fifo,
            on_progress,
            on_checkpoint,
        };
        info!(entity = %plan.entity, queue = %request.to_queue, dry_run = request.dry_run, rate, "Backfill starting.");
        if plan.keys.is_some() {
            ctx.by_keys().await;
        } else {
            {
                let mut c = checkpoint.lock().unwrap_or_else(|e| e.into_inner());
                if c.segments.is_empty() {
                    c.segments = vec![Segment::NotStarted; plan.segments as usize];
                }
            }
            let segments = (0..plan.segments).map(|s| ctx.segment(s));
            futures::future::join_all(segments).await;
        }
        let t = tally.into_inner().unwrap_or_else(|e| e.into_inner());
        let checkpoint = checkpoint.into_inner().unwrap_or_else(|e| e.into_inner());
        let report = Report {
            entity: plan.entity.as_str().to_string(),
            dry_run: request.dry_run,
            complete: checkpoint.finished(plan.keys.as_ref().map(Vec::len)),
            read: t.read,
            sent: t.sent,
            skipped: t.skipped,
            failed: t.failed,
            failures: t.failures,
            read_units: pace.used(),
            seconds: started.elapsed().as_secs_f64(),
            checkpoint,
        };
        info!(
            read = report.read,
            sent = report.sent,
            skipped = report.skipped,
            failed = report.failed,
            complete = report.complete,
            "Backfill done."
        );
        Ok(report)
    }
}

/// One run's shared state.
struct Run<'a, S> {
    fill: &'a Backfill<'a, S>,
    request: &'a Request,
    plan: &'a Plan,
    pace: &'a Pace,
    tally: &'a Mutex<Tally>,
    checkpoint: &'a Mutex<Checkpoint>,
    deadline: Option<Instant>,
    fifo: bool,
    on_progress: &'a (dyn Fn(u64, u64) + Sync),
    on_checkpoint: &'a (dyn Fn(&Checkpoint) + Sync),
}

impl<S: EntityStore> Run<'_, S> {
    fn out_of_time(&self) -> bool {
        self.deadline
            .is_some_and(|d| Instant::now() + Duration::from_secs(30) > d)
    }

    fn tally(&self) -> std::sync::MutexGuard<'_, Tally> {
        self.tally.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn fail(&self, key: &str, reason: String) {
        warn!(key, %reason, "Backfill: record not sent.");
        let mut t = self.tally();
        t.failed += 1;
        if t.failures.len() < NAMED_FAILURES {
            t.failures.push((key.to_string(), reason));
        }
    }

    fn progress(&self) {
        let (read, sent) = {
            let t = self.tally();
            (t.read, t.sent)
        };
        (self.on_progress)(read, sent);
        let c = self
            .checkpoint
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        (self.on_checkpoint)(&c);
    }

    async fn by_keys(&self) {
        let keys = self.plan.keys.as_deref().unwrap_or_default();
        let mut done = self
            .checkpoint
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .keys_done;
        for chunk in keys[done.min(keys.len())..].chunks(25) {
            if self.out_of_time() {
                return;
            }
            let mut messages = Vec::new();
            for key in chunk {
                let k = keys::item(self.plan.entity, key);
                match self.fill.store.get(&k).await {
                    Ok(None) => {
                        self.pace.spend(1.0).await;
                        self.tally().skipped += 1;
                    }
                    Ok(Some(item)) => {
                        // A consistent read: a unit per 4 KB of the item.
                        self.pace.spend(read_units(&item, 4096.0)).await;
                        self.tally().read += 1;
                        if let Some(m) = self.message(item).await {
                            messages.push(m);
                        }
                    }
                    Err(e) => self.fail(key, e.to_string()),
                }
            }
            self.send(messages).await;
            done += chunk.len();
            self.checkpoint
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .keys_done = done;
            self.progress();
        }
    }

    async fn segment(&self, segment: u32) {
        let at = self
            .checkpoint
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .segments[segment as usize]
            .clone();
        let mut start = match at {
            Segment::Done => return,
            Segment::After { pk, sk } => Some(HashMap::from([
                ("pk".to_string(), AttributeValue::S(pk)),
                ("sk".to_string(), AttributeValue::S(sk)),
            ])),
            Segment::NotStarted => None,
        };
        let object = self.plan.entity.object();
        let mut filter = "#entity = :entity AND sk = :sk".to_string();
        let mut values = HashMap::from([
            (
                ":entity".to_string(),
                AttributeValue::S(object.name.to_string()),
            ),
            (
                ":sk".to_string(),
                AttributeValue::S(object.item_sk.to_string()),
            ),
        ]);
        if let Some(since) = &self.plan.since {
            filter.push_str(" AND updated_at >= :since");
            values.insert(":since".into(), AttributeValue::S(since.clone()));
        }
        loop {
            if self.out_of_time() {
                return;
            }
            let page = self
                .fill
                .dynamodb
                .scan()
                .table_name(self.fill.table)
                .segment(segment as i32)
                .total_segments(self.plan.segments as i32)
                .filter_expression(&filter)
                .expression_attribute_names("#entity", "entity")
                .set_expression_attribute_values(Some(values.clone()))
                .select(Select::AllAttributes)
                .limit(100)
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .set_exclusive_start_key(start.clone())
                .send()
                .await;
            let page = match page {
                Ok(p) => p,
                Err(e) => {
                    let e = AwsError::sdk("dynamodb:Scan", e);
                    if hub_core::Classify::class(&e) == hub_core::ErrorClass::Permanent {
                        // Access denied, no such table, a bad resume key: no retry mends it.
                        // The segment stops where it is; the report says why.
                        self.fail(&format!("scan segment {segment}"), e.to_string());
                        return;
                    }
                    warn!(segment, error = %e, "Backfill: scan failed; trying again.");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            let units = page
                .consumed_capacity()
                .and_then(|c| c.capacity_units())
                .unwrap_or(0.5);
            let mut messages = Vec::new();
            for raw in page.items() {
                self.tally().read += 1;
                let Some(item) = from_item(raw) else {
                    self.tally().skipped += 1;
                    continue;
                };
                if let Some(m) = self.message(item).await {
                    messages.push(m);
                }
            }
            self.send(messages).await;
            let next = page.last_evaluated_key().filter(|k| !k.is_empty()).cloned();
            let position = match &next {
                None => Segment::Done,
                Some(k) => {
                    let s = |n: &str| {
                        k.get(n)
                            .and_then(|v| v.as_s().ok())
                            .cloned()
                            .unwrap_or_default()
                    };
                    Segment::After {
                        pk: s("pk"),
                        sk: s("sk"),
                    }
                }
            };
            self.checkpoint
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .segments[segment as usize] = position;
            self.progress();
            self.pace.spend(units).await;
            match next {
                Some(k) => start = Some(k),
                None => return,
            }
        }
    }

    /// The message of an item read, `None` when skipped or failed.
    async fn message(&self, item: hub_store::Item) -> Option<ConsolidatedMessage> {
        let key = item.key.pk.clone();
        if item.attrs.contains_key("item_chunks") {
            // Its chunks are read with a consistent query of the order's partition: about the
            // order's whole size again.
            let chunks = item
                .attrs
                .get("item_chunks")
                .and_then(serde_json::Value::as_u64)
                .unwrap_or(1) as f64;
            self.pace
                .spend(chunks * hub_store::plan::ITEM_BUDGET as f64 / 4096.0)
                .await;
        }
        match message_outcome_of_item(&item, None, self.fill.store).await {
            Ok(Some(mut m)) => {
                m.replay = true;
                Some(m)
            }
            Ok(None) => {
                self.tally().skipped += 1;
                None
            }
            Err(Fault::Permanent(reason)) | Err(Fault::Transient(reason)) => {
                self.fail(&key, reason);
                None
            }
        }
    }

    /// Sends `messages` ten to a batch (a dry run counts them).
    async fn send(&self, messages: Vec<ConsolidatedMessage>) {
        if self.request.dry_run {
            self.tally().sent += messages.len() as u64;
            return;
        }
        let mut batch: Vec<(ConsolidatedMessage, String)> = Vec::new();
        let mut bytes = 0;
        for m in messages {
            let body = match self.body(&m).await {
                Ok(b) => b,
                Err(e) => {
                    self.fail(&m.key, e);
                    continue;
                }
            };
            if batch.len() == 10 || bytes + body.len() > 250 * 1024 {
                self.send_batch(std::mem::take(&mut batch)).await;
                bytes = 0;
            }
            bytes += body.len();
            batch.push((m, body));
        }
        if !batch.is_empty() {
            self.send_batch(batch).await;
        }
    }

    async fn body(&self, m: &ConsolidatedMessage) -> Result<String, String> {
        hub_aws::consolidated::body(self.fill.s3, self.fill.bucket, m)
            .await
            .map(|(body, _)| body)
            .map_err(|e| e.to_string())
    }

    async fn send_batch(&self, mut pending: Vec<(ConsolidatedMessage, String)>) {
        for attempt in 0..3u32 {
            if pending.is_empty() {
                return;
            }
            if attempt > 0 {
                let cap = 200u64 << attempt;
                tokio::time::sleep(Duration::from_millis(fastrand::u64(cap / 2..=cap))).await;
            }
            let entries: Vec<SendMessageBatchRequestEntry> = pending
                .iter()
                .enumerate()
                .filter_map(|(i, (m, body))| self.entry(i, m, body))
                .collect();
            let out = self
                .fill
                .sqs
                .send_message_batch()
                .queue_url(&self.request.to_queue)
                .set_entries(Some(entries))
                .send()
                .await;
            match out {
                Ok(out) => {
                    let failed: Vec<(usize, String)> = out
                        .failed()
                        .iter()
                        .filter_map(|f| {
                            Some((
                                f.id().parse().ok()?,
                                format!("{}: {}", f.code(), f.message().unwrap_or("")),
                            ))
                        })
                        .collect();
                    let sent = pending.len() - failed.len();
                    self.tally().sent += sent as u64;
                    let mut next = Vec::new();
                    for (i, reason) in failed {
                        if attempt == 2 {
                            self.fail(&pending[i].0.key, reason);
                        } else {
                            next.push(pending[i].clone());
                        }
                    }
                    pending = next;
                }
                Err(e) => {
                    let e = AwsError::sdk("sqs:SendMessageBatch", e).to_string();
                    if attempt == 2 {
                        for (m, _) in &pending {
                            self.fail(&m.key, e.clone());
                        }
                    }
                }
            }
        }
    }

    fn entry(
        &self,
        i: usize,
        m: &ConsolidatedMessage,
        body: &str,
    ) -> Option<SendMessageBatchRequestEntry> {
        let mut e = SendMessageBatchRequestEntry::builder()
            .id(i.to_string())
            .message_body(body);
        let mut attributes = m.attributes();
        if claim_check::ClaimCheck::from_body(body).is_some() {
            attributes.push((claim_check::ATTRIBUTE, "s3".into()));
        }
        for (name, value) in attributes {
            e = e.message_attributes(
                name,
                MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value(value)
                    .build()
                    .ok()?,
            );
        }
        if self.fifo {
            e = e.message_group_id(m.group_id()).message_deduplication_id(
                format!("{}:replay", m.deduplication_id())
                    .chars()
                    .take(128)
                    .collect::<String>(),
            );
        }
        e.build().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_checked_before_anything_is_read() {
        // Scenario: unknown fields are refused, the default is a dry run; a bad entity, time,
        // segment count or a checkpoint of another backfill are typed errors.
        let r: Request =
            serde_json::from_str(r#"{"entity": "customer", "to_queue": "q"}"#).unwrap();
        assert!(r.dry_run);
        assert!(validate(&r).is_ok());
        assert!(
            serde_json::from_str::<Request>(
                r#"{"entity": "customer", "to_queue": "q", "dryrun": false}"#
            )
            .is_err()
        );
        let bad = |f: &dyn Fn(&mut Request)| {
            let mut r = r.clone();
            f(&mut r);
            validate(&r).err()
        };
        assert_eq!(
            bad(&|r| r.entity = "kunde".into()),
            Some(RequestError::Entity("kunde".into()))
        );
        assert!(matches!(
            bad(&|r| r.changed_since = Some("yesterday".into())),
            Some(RequestError::Since(_))
        ));
        assert!(matches!(
            bad(&|r| r.segments = Some(0)),
            Some(RequestError::Range(_))
        ));
        assert!(matches!(
            bad(&|r| r.resume = Some(Checkpoint {
                segments: vec![Segment::NotStarted; 2],
                keys_done: 0
            })),
            Some(RequestError::Resume(_))
        ));
        let p = validate(&Request {
            keys: Some(vec!["0000100123".into()]),
            ..r.clone()
        })
        .unwrap();
        assert_eq!(
            p.keys.unwrap(),
            vec!["100123"],
            "keys are normalised as the table's"
        );
    }

    #[test]
    fn a_checkpoint_is_finished_when_every_segment_is() {
        // Scenario: not started, started and done segments; keys.
        let mut c = Checkpoint {
            segments: vec![Segment::Done, Segment::NotStarted],
            keys_done: 0,
        };
        assert!(!c.finished(None));
        c.segments[1] = Segment::After {
            pk: "p".into(),
            sk: "s".into(),
        };
        assert!(!c.finished(None));
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(
            serde_json::from_str::<Checkpoint>(&json).unwrap(),
            c,
            "{json}"
        );
        c.segments[1] = Segment::Done;
        assert!(c.finished(None));
        assert!(!Checkpoint::default().finished(Some(3)));
        assert!(
            Checkpoint {
                keys_done: 3,
                ..Checkpoint::default()
            }
            .finished(Some(3))
        );
    }
}
