//! End-to-end figures on the local stand-ins: the handler alone, then the whole chain (SAP
//! change produced to Kafka → item visible in DynamoDB), for the hub and for the baseline.
//!
//! Every AWS request of the measured components goes through `hub-bench count-proxy`, a child
//! process, so requests are counted at the endpoint; provisioning and the latency poller talk to
//! the stand-ins directly and are not counted.
//!
//! **Latency.** A change is *visible* once a reader of the table sees its entity at this
//! version or a newer one (newest wins: a change superseded before anyone saw it is visible when
//! its successor is). Only changes that are newer than everything produced before them for
//! their entity are measured (the others never change the table). The poller scans the table
//! every `poll` interval, and maps what it sees back to the produced records: by `event_id` for
//! the hub's items, by the Kafka coordinates (`src`) the baseline stores.

use super::probe::{Naming, Probe};
use super::rig::{create_topics, spawn_self, start_group_at_end};
use crate::baseline::{Mode, Python};
use crate::proxy::{self, Counts};
use anyhow::{Context as _, bail};
use aws_sdk_sqs::types::{Message, MessageAttributeValue};
use hub_aws::AwsClients;
use hub_aws::clients::LocalEndpoints;
use hub_local::provision::Provisioner;
use hub_local::{EsmConfig, SqsEventSourceMapping};
use hub_model::{Entity, Version};
use hub_sap::OwnedRecord;
use hub_template::{Context, Stack, Template};
use rdkafka::producer::FutureProducer;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tokio_util::sync::CancellationToken;

/// How the end-to-end load is produced and watched.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Records of the end-to-end load.
    pub records: u64,
    /// Distinct keys per entity.
    pub keys: u64,
    /// Records per burst (SAP sends IDocs in packets).
    pub burst: u64,
    /// Time between two bursts.
    pub interval: Duration,
    /// How often the poller scans the table.
    pub poll: Duration,
    /// After the last record is produced: how long without progress before the changes still
    /// pending count as never visible.
    pub timeout: Duration,
    /// Records of the handler-alone phase.
    pub handler_records: u64,
    /// The domain mappings' batching window instead of the template's (to see what it costs).
    pub window: Option<Duration>,
}

/// One record of a load, with what the hub makes of it.
#[derive(Debug, Clone)]
pub struct LoadRecord {
    /// Kafka topic (the template's SAP topic).
    pub topic: &'static str,
    /// The record.
    pub record: OwnedRecord,
    /// The hub's event id.
    pub event_id: String,
    /// Entity and key.
    pub entity_key: (Entity, String),
    /// Version.
    pub version: Version,
}

/// `sample` with what the hub's parser makes of it.
fn load_record(sample: hub_sap::samples::Sample) -> anyhow::Result<LoadRecord> {
    let limits = hub_sap::Limits::default();
    let out = hub_sap::parse_record(
        &sample.record.envelope(Some(sample.topic), None, None),
        &limits,
    )
    .with_context(|| format!("parsing {}", sample.name))?;
    let Some(hub_sap::Outcome::Change(e)) = out.into_iter().next() else {
        bail!("{} is not a change", sample.name);
    };
    Ok(LoadRecord {
        topic: sample.topic,
        record: sample.record,
        event_id: e.event_id,
        entity_key: (e.entity, e.key),
        version: e.version,
    })
}

/// Records `from..to` of the fixture mix, parsed by the hub's parser.
pub fn load(from: u64, to: u64, keys: u64) -> anyhow::Result<Vec<LoadRecord>> {
    (from..to)
        .map(|i| {
            load_record(hub_sap::samples::mixed(i, keys))
                .with_context(|| format!("load record {i}"))
        })
        .collect()
}

/// The warm-up records: the three IDoc fixtures (a material, a customer, an order).
fn warm_up() -> anyhow::Result<Vec<LoadRecord>> {
    hub_sap::samples::changes()
        .into_iter()
        .take(3)
        .map(load_record)
        .collect()
}

/// Percentiles of a sample, in milliseconds.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Percentiles {
    /// Samples.
    pub samples: usize,
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest.
    pub max: f64,
    /// Mean.
    pub mean: f64,
}

impl Percentiles {
    /// Nearest-rank percentiles of `values`.
    pub fn of(values: &[f64]) -> Percentiles {
        if values.is_empty() {
            return Percentiles::default();
        }
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        let at = |p: f64| v[((p * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1];
        Percentiles {
            samples: v.len(),
            p50: at(0.50),
            p95: at(0.95),
            p99: at(0.99),
            max: v[v.len() - 1],
            mean: v.iter().sum::<f64>() / v.len() as f64,
        }
    }
}

/// The handler measured alone (the hub's domain functions, invoked in batches as their event
/// source mapping would, against DynamoDB Local through the counting proxy).
#[derive(Debug, Clone, Serialize)]
pub struct HandlerFigures {
    /// Messages handled.
    pub records: u64,
    /// Distinct entities among them.
    pub distinct_entities: u64,
    /// Invocations (batches).
    pub invocations: u64,
    /// CPU µs per record (this process: handler, SDK and HTTP; DynamoDB Local is another process).
    pub cpu_us_per_record: f64,
    /// Mean wall time of one invocation, ms (what Lambda bills).
    pub ms_per_invocation: f64,
    /// DynamoDB write requests (PutItem, TransactWriteItems, DeleteItem, BatchWriteItem).
    pub dynamodb_writes: u64,
    /// Write requests per distinct entity.
    pub writes_per_entity: f64,
    /// Requests counted at the proxy.
    pub requests: Counts,
}

/// One side's end-to-end run.
#[derive(Debug, Clone, Serialize)]
pub struct EndToEnd {
    /// Records produced (each is one change event).
    pub records: u64,
    /// Wall seconds from the first record produced to the last change visible.
    pub wall_seconds: f64,
    /// SAP change produced → visible to a reader of the table.
    pub latency_ms: Percentiles,
    /// SAP change produced → written (the item's `updated_at`; the hub's items only).
    pub to_write_ms: Option<Percentiles>,
    /// Changes never visible: the table ended on an older version of their entity.
    pub never_visible: u64,
    /// Requests counted at the proxy during the run.
    pub requests: Counts,
    /// Lambda invocations (the hub's domain functions under the local event source mapping).
    pub lambda_invocations: u64,
    /// CPU seconds of the baseline's consumer process (the hub's handler CPU is measured alone).
    pub consumer_cpu_seconds: Option<f64>,
    /// The domain mappings' batching window of this run, ms (the hub's runs).
    pub window_ms: Option<u64>,
    /// Where the time goes, hop by hop.
    pub hops: Hops,
}

/// Where a side's end-to-end time goes, hop by hop, each over the measured changes.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Hops {
    /// SAP change produced → in its SQS queue (the bridge: Kafka fetch, parse, batching,
    /// publish; then SNS → SQS), from the probe's copy of each change.
    pub to_queue_ms: Percentiles,
    /// In SQS → written to the table, per change.
    pub queue_to_write_ms: Percentiles,
    /// The hub: in SQS → the invocation that carried it started (the mapping's polling and
    /// batching window), per message, from the mapping.
    pub in_queue_ms: Option<Percentiles>,
    /// The hub: one invocation of a domain function, per invocation.
    pub invocation_ms: Option<Percentiles>,
}

impl Hops {
    /// The hops of `tracker`'s measured changes, whose arrival in SQS `probe` saw (by `name`).
    fn of(
        tracker: &Tracker,
        probe: &HashMap<String, SystemTime>,
        name: impl Fn(usize) -> Option<String>,
    ) -> Hops {
        let ms = |a: SystemTime, b: SystemTime| {
            a.duration_since(b)
                .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
        };
        let (mut to_queue, mut to_write) = (Vec::new(), Vec::new());
        for &i in &tracker.measured {
            let Some(sent) = name(i).and_then(|n| probe.get(&n).copied()) else {
                continue;
            };
            if let Some(p) = tracker.produced[i] {
                to_queue.push(ms(sent, p));
            }
            if let Some(w) = tracker.written.get(&i) {
                to_write.push(ms(*w, sent));
            }
        }
        Hops {
            to_queue_ms: Percentiles::of(&to_queue),
            queue_to_write_ms: Percentiles::of(&to_write),
            in_queue_ms: None,
            invocation_ms: None,
        }
    }
}

/// Which records are pending, and how long they took.
struct Tracker {
    records: Vec<LoadRecord>,
    produced: Vec<Option<SystemTime>>,
    by_id: HashMap<String, usize>,
    newest: HashMap<(Entity, String), Version>,
    pending: HashMap<(Entity, String), Vec<usize>>,
    latency: Vec<f64>,
    to_write: Vec<f64>,
    measured: HashSet<usize>,
    /// When each measured change was written, as its item (or its successor's) says.
    written: HashMap<usize, SystemTime>,
}

impl Tracker {
    fn new(records: Vec<LoadRecord>) -> Tracker {
        let by_id = records
            .iter()
            .enumerate()
            .map(|(i, r)| (r.event_id.clone(), i))
            .collect();
        let n = records.len();
        Tracker {
            records,
            produced: vec![None; n],
            by_id,
            newest: HashMap::new(),
            pending: HashMap::new(),
            latency: Vec::new(),
            to_write: Vec::new(),
            measured: HashSet::new(),
            written: HashMap::new(),
        }
    }

    /// Record `i` was produced at `at`; `measure`: whether its latency counts.
    fn produced(&mut self, i: usize, at: SystemTime, measure: bool) {
        self.produced[i] = Some(at);
        let r = &self.records[i];
        let newer = self
            .newest
            .get(&r.entity_key)
            .is_none_or(|v| r.version > *v);
        if newer {
            self.newest.insert(r.entity_key.clone(), r.version);
            self.pending
                .entry(r.entity_key.clone())
                .or_default()
                .push(i);
            if measure {
                self.measured.insert(i);
            }
        }
    }

    /// A reader saw record `i`'s version of its entity at `seen`, written at `written`.
    fn seen(&mut self, i: usize, seen: SystemTime, written: Option<SystemTime>) {
        let r = &self.records[i];
        let Some(pending) = self.pending.get_mut(&r.entity_key) else {
            return;
        };
        let version = r.version;
        let ms = |a: SystemTime, b: SystemTime| {
            a.duration_since(b)
                .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
        };
        let mut keep = Vec::new();
        for j in pending.drain(..) {
            if self.records[j].version <= version {
                if self.measured.contains(&j) {
                    let p = self.produced[j].unwrap_or(seen);
                    self.latency.push(ms(seen, p));
                    if let Some(w) = written {
                        self.to_write.push(ms(w, p));
                        self.written.insert(j, w);
                    }
                }
            } else {
                keep.push(j);
            }
        }
        *pending = keep;
    }

    fn pending(&self) -> usize {
        self.pending.values().map(Vec::len).sum()
    }
}

/// How the poller reads one side's table.
#[derive(Clone, Copy)]
enum Reader {
    /// The hub's items: `event_id`, `updated_at`.
    Hub,
    /// The baseline's items: `src` (topic:partition:offset).
    Baseline,
}

async fn scan(
    ddb: &aws_sdk_dynamodb::Client,
    table: &str,
    reader: Reader,
) -> anyhow::Result<Vec<(String, Option<SystemTime>)>> {
    let mut out = Vec::new();
    let mut start = None;
    loop {
        let page = ddb
            .scan()
            .table_name(table)
            .projection_expression(match reader {
                Reader::Hub => "event_id, updated_at",
                Reader::Baseline => "src",
            })
            .set_exclusive_start_key(start)
            .send()
            .await
            .context("scanning the table")?;
        for item in page.items() {
            let s = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned();
            let id = match reader {
                Reader::Hub => s("event_id"),
                Reader::Baseline => s("src"),
            };
            let written = s("updated_at")
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok())
                .map(SystemTime::from);
            if let Some(id) = id {
                out.push((id, written));
            }
        }
        start = page.last_evaluated_key;
        if start.is_none() {
            return Ok(out);
        }
    }
}

/// Produces `records` (indexes into the tracker) in bursts, polling the table in between, until
/// every measured change is visible. Returns the wall seconds.
#[allow(clippy::too_many_arguments)]
async fn drive(
    plan: &Plan,
    tracker: &mut Tracker,
    producer: &FutureProducer,
    topic_of: &(dyn Fn(&str) -> String + Sync),
    indexes: std::ops::Range<usize>,
    measure: bool,
    ddb: &aws_sdk_dynamodb::Client,
    table: &str,
    reader: Reader,
    src_index: &mut HashMap<String, usize>,
) -> anyhow::Result<f64> {
    let t0 = Instant::now();
    let mut next = indexes.start;
    let mut next_burst = Instant::now();
    let mut last_produced: Option<Instant> = None;
    let mut last_pending = usize::MAX;
    let mut last_progress = Instant::now();
    loop {
        if next < indexes.end && Instant::now() >= next_burst {
            let end = (next + plan.burst.max(1) as usize).min(indexes.end);
            let at = SystemTime::now();
            let sends = (next..end).map(|i| {
                let r = &tracker.records[i];
                let topic = topic_of(r.topic);
                async move {
                    hub_kafka::produce::send(producer, &topic, &r.record)
                        .await
                        .map(|(p, o)| format!("{topic}:{p}:{o}"))
                }
            });
            let coordinates = futures::future::try_join_all(sends).await?;
            for (i, src) in (next..end).zip(coordinates) {
                tracker.produced(i, at, measure);
                src_index.insert(src, i);
            }
            next = end;
            next_burst += plan.interval;
            if next == indexes.end {
                last_produced = Some(Instant::now());
            }
        }
        let now = SystemTime::now();
        for (id, written) in scan(ddb, table, reader).await? {
            let i = match reader {
                Reader::Hub => tracker.by_id.get(&id).copied(),
                Reader::Baseline => src_index.get(&id).copied(),
            };
            if let Some(i) = i {
                tracker.seen(i, now, written);
            }
        }
        if next == indexes.end && tracker.pending() == 0 {
            return Ok(t0.elapsed().as_secs_f64());
        }
        // Progress: what is still pending. A change never seen while nothing moves for
        // `plan.timeout` after the last record is one the table will not show: an older
        // version overwrote it (last writer wins).
        let pending = tracker.pending();
        if pending != last_pending {
            last_pending = pending;
            last_progress = Instant::now();
        }
        if let Some(last) = last_produced
            && last.elapsed() > plan.timeout
            && last_progress.elapsed() > plan.timeout
        {
            return Ok(t0.elapsed().as_secs_f64());
        }
        tokio::time::sleep(plan.poll).await;
    }
}

/// The stand-ins, directly (provisioning and polling) and through the proxy (the measured
/// components).
pub struct Stand {
    /// Direct clients.
    pub direct: AwsClients,
    /// Clients through the counting proxy.
    pub proxied: AwsClients,
    /// The proxy's URL.
    pub proxy: String,
}

impl Stand {
    /// Clients for the stand-ins of `infra/local/stack.sh` and the proxy at `proxy`.
    pub async fn new(proxy: &str) -> anyhow::Result<Stand> {
        let direct = AwsClients::local(&LocalEndpoints::from_env()).await;
        direct
            .dynamodb
            .list_tables()
            .limit(1)
            .send()
            .await
            .context("DynamoDB Local does not answer; start the stand-ins: bash infra/local/stack.sh start")?;
        direct
            .sqs
            .list_queues()
            .max_results(1)
            .send()
            .await
            .context(
                "moto does not answer; start the stand-ins: bash infra/local/stack.sh start",
            )?;
        let p = proxy.to_string();
        let proxied = AwsClients::local(&LocalEndpoints {
            sns: p.clone(),
            sqs: p.clone(),
            s3: p.clone(),
            dynamodb: p,
        })
        .await;
        Ok(Stand {
            direct,
            proxied,
            proxy: proxy.to_string(),
        })
    }

    async fn counts(&self) -> anyhow::Result<Counts> {
        proxy::fetch(&self.proxy).await
    }

    /// The counts once the work in flight has finished: every change may be visible while
    /// superseded records are still being handled, so this waits until nothing but idle
    /// receives has been counted for 1.5 s (at most 30 s).
    async fn settled_counts(&self) -> anyhow::Result<Counts> {
        let busy = |c: &Counts| -> Vec<(String, String, u64)> {
            c.iter()
                .flat_map(|(service, ops)| {
                    ops.iter()
                        .filter(|(op, _)| op.as_str() != "ReceiveMessage")
                        .map(move |(op, n)| (service.clone(), op.clone(), n.requests))
                })
                .collect()
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut last = self.counts().await?;
        let mut quiet = 0;
        while quiet < 3 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let now = self.counts().await?;
            quiet = if busy(&now) == busy(&last) {
                quiet + 1
            } else {
                0
            };
            last = now;
        }
        Ok(last)
    }
}

/// The template provisioned as stack `name`, with the bridge's brokers at `bootstrap`.
async fn provision<'t>(
    template: &'t Template,
    stand: &Stand,
    name: &str,
    bootstrap: &str,
) -> anyhow::Result<Context<'t>> {
    // The embedded Kafka is plaintext: the template's rules want that said.
    let overrides = BTreeMap::from([
        ("KafkaBootstrapServers".to_string(), bootstrap.to_string()),
        ("KafkaAuth".to_string(), "none".to_string()),
    ]);
    let stack = Stack::new(name, &stand.direct.region(), "123456789012");
    let mut ctx = Context::new(template, stack, &overrides)?;
    let report = Provisioner::new(stand.direct.clone())
        .provision(&mut ctx)
        .await?;
    if !report.drift.is_empty() {
        bail!("provisioning {name}: the stand-ins do not match the template");
    }
    Ok(ctx)
}

fn table_of(ctx: &Context<'_>, function: &str) -> anyhow::Result<String> {
    ctx.function_environment(function)?
        .into_iter()
        .find(|(k, _)| k == "TABLE_NAME")
        .map(|(_, v)| v)
        .context("the domain function has no TABLE_NAME")
}

/// The domain functions of the template: (mapping, entity).
fn mappings(
    ctx: &Context<'_>,
    clients: &AwsClients,
    window: Option<Duration>,
) -> anyhow::Result<Vec<(SqsEventSourceMapping, Entity)>> {
    let mut out = Vec::new();
    for mut config in EsmConfig::from_template(ctx)? {
        // As AWS's pollers do: the requests counted are then those AWS would bill.
        config.idle_wait = Duration::from_secs(20);
        if let Some(w) = window {
            config.batching_window = w;
            // AWS's rule: a batch above 10 messages needs a window of a second or more.
            if w < Duration::from_secs(1) {
                config.batch_size = config.batch_size.min(10);
            }
        }
        let binary = ctx
            .template()
            .resource(&config.function)
            .and_then(|r| r.metadata.get("BuildProperties"))
            .and_then(|b| b.get("Binary"))
            .and_then(serde_json::Value::as_str)
            .map(str::to_string);
        let Some((entity, _)) = binary.as_deref().and_then(domain_sync::domain_of) else {
            continue;
        };
        let Some(function) = domain_sync::local::function_of(ctx, &config.function, clients)?
        else {
            continue;
        };
        out.push((
            SqsEventSourceMapping::new(config, clients.sqs.clone(), function)?,
            entity,
        ));
    }
    if out.is_empty() {
        bail!("the template has no domain function");
    }
    Ok(out)
}

fn sqs_message(i: usize, m: &hub_bridge::Message) -> anyhow::Result<Message> {
    let mut attributes = HashMap::new();
    for (k, v) in &m.attributes {
        attributes.insert(
            k.to_string(),
            MessageAttributeValue::builder()
                .data_type("String")
                .string_value(v)
                .build()?,
        );
    }
    Ok(Message::builder()
        .message_id(format!("bench-{i}"))
        .receipt_handle(format!("bench-{i}"))
        .body(&m.body)
        .set_message_attributes(Some(attributes))
        .build())
}

/// The hub's domain functions alone: `plan.handler_records` changes of the mix, as the bridge
/// publishes them, invoked in batches of each mapping's batch size.
pub async fn handler(
    template: &Template,
    stand: &Stand,
    plan: &Plan,
    name: &str,
) -> anyhow::Result<HandlerFigures> {
    let ctx = provision(template, stand, name, "127.0.0.1:9").await?;
    let mappings = mappings(&ctx, &stand.proxied, None)?;
    let records = load(0, plan.handler_records, plan.keys)?;
    let distinct: HashSet<_> = records.iter().map(|r| r.entity_key.clone()).collect();
    let now = chrono::Utc::now();
    let limits = hub_sap::Limits::default();
    let mut by_entity: HashMap<Entity, Vec<Message>> = HashMap::new();
    for (i, r) in records.iter().enumerate() {
        let out = hub_sap::parse_record(&r.record.envelope(Some(r.topic), None, None), &limits)?;
        for o in out {
            if let hub_sap::Outcome::Change(e) = o {
                let entity = e.entity;
                let m = hub_bridge::Message::from_event(*e, false, now);
                by_entity
                    .entry(entity)
                    .or_default()
                    .push(sqs_message(i, &m)?);
            }
        }
    }
    let before = stand.counts().await?;
    let cpu0 = cpu_time::ProcessTime::now();
    let t0 = Instant::now();
    let mut invocations = 0u64;
    for (esm, entity) in &mappings {
        let Some(messages) = by_entity.get(entity) else {
            continue;
        };
        for batch in messages.chunks(esm.config().batch_size.max(1)) {
            let out = esm
                .invoke_batch(batch)
                .await
                .map_err(|e| anyhow::anyhow!("{}: {e}", esm.config().function))?;
            let failed = out["batchItemFailures"].as_array().map_or(0, Vec::len);
            if failed > 0 {
                bail!(
                    "{}: {failed} messages of a batch failed",
                    esm.config().function
                );
            }
            invocations += 1;
        }
    }
    let wall = t0.elapsed().as_secs_f64();
    let cpu = cpu0.elapsed().as_secs_f64();
    let requests = proxy::delta(&before, &stand.counts().await?);
    let n = records.len() as u64;
    let w = proxy::dynamodb_writes(&requests);
    Ok(HandlerFigures {
        records: n,
        distinct_entities: distinct.len() as u64,
        invocations,
        cpu_us_per_record: cpu / n.max(1) as f64 * 1e6,
        ms_per_invocation: wall / invocations.max(1) as f64 * 1000.0,
        dynamodb_writes: w,
        writes_per_entity: w as f64 / distinct.len().max(1) as f64,
        requests,
    })
}

/// Waits until the warm-up records are visible, then produces and watches the load.
#[allow(clippy::too_many_arguments)]
async fn measure(
    plan: &Plan,
    stand: &Stand,
    producer: &FutureProducer,
    topic_of: &(dyn Fn(&str) -> String + Sync),
    table: &str,
    reader: Reader,
    before_load: impl AsyncFnOnce() -> anyhow::Result<()>,
) -> anyhow::Result<(f64, Tracker, HashMap<String, usize>)> {
    let warm = warm_up()?;
    let n_warm = warm.len();
    let mut all = warm;
    all.extend(load(0, plan.records, plan.keys)?);
    let mut tracker = Tracker::new(all);
    let mut src_index = HashMap::new();
    let warm_plan = Plan {
        burst: n_warm as u64,
        timeout: Duration::from_secs(60),
        ..plan.clone()
    };
    drive(
        &warm_plan,
        &mut tracker,
        producer,
        topic_of,
        0..n_warm,
        false,
        &stand.direct.dynamodb,
        table,
        reader,
        &mut src_index,
    )
    .await
    .context("warming up the chain")?;
    if tracker.pending() > 0 {
        bail!(
            "the warm-up records did not become visible within {:?}",
            warm_plan.timeout
        );
    }
    before_load().await?;
    let end = tracker.records.len();
    let wall = drive(
        plan,
        &mut tracker,
        producer,
        topic_of,
        n_warm..end,
        true,
        &stand.direct.dynamodb,
        table,
        reader,
        &mut src_index,
    )
    .await?;
    Ok((wall, tracker, src_index))
}

/// The hub's whole chain: the template provisioned as stack `name`, the bridge and every domain
/// function running as in `hubctl run`, their AWS clients through the proxy; `window` instead
/// of the template's batching window of the domain mappings when given.
pub async fn hub(
    template: &Template,
    stand: &Stand,
    plan: &Plan,
    window: Option<Duration>,
    bootstrap: &str,
    name: &str,
) -> anyhow::Result<EndToEnd> {
    let ctx = provision(template, stand, name, bootstrap).await?;
    let mappings = mappings(&ctx, &stand.proxied, window)?;
    let table = table_of(&ctx, mappings[0].0.config().function.as_str())?;
    let window_ms = mappings[0].0.config().batching_window.as_millis() as u64;
    let topic_arn = ctx
        .function_environment(kafka_bridge::local::FUNCTION)?
        .into_iter()
        .find(|(k, _)| k == "SNS_TOPIC_ARN")
        .map(|(_, v)| v)
        .context("the bridge has no SNS_TOPIC_ARN")?;
    let probe = Probe::start(
        &stand.direct,
        &topic_arn,
        &format!("{name}-probe"),
        Naming::EventId,
    )
    .await?;
    let shutdown = CancellationToken::new();
    let mut tasks = tokio::task::JoinSet::new();
    let mut stats = Vec::new();
    for (mut esm, _) in mappings {
        esm.record_timings();
        stats.push(esm.stats());
        let token = shutdown.clone();
        tasks.spawn(async move {
            esm.run(token).await?;
            anyhow::Ok(())
        });
    }
    let (config, consumer) = kafka_bridge::local::from_template(&ctx, bootstrap)?;
    create_topics(bootstrap, &consumer.topics)?;
    start_group_at_end(bootstrap, &consumer.group_id, &consumer.topics)?;
    let pipeline = Arc::new(kafka_bridge::build(&stand.proxied, &config));
    let token = shutdown.clone();
    tasks.spawn(async move {
        hub_kafka::bridge::run(&consumer, pipeline, token.cancelled_owned()).await?;
        anyhow::Ok(())
    });
    let producer = hub_kafka::produce::acked_producer(bootstrap)?;
    let topic_of = |t: &str| t.to_string();
    let invocations = || stats.iter().map(|s| s.snapshot().invocations).sum::<u64>();
    // The mappings' timings of the load alone: those of the warm-up are dropped.
    let clear_timings = || {
        for s in &stats {
            if let Some(t) = &s.timings
                && let Ok(mut t) = t.lock()
            {
                *t = hub_local::esm::Timings::default();
            }
        }
    };
    let mut before = (Counts::new(), 0);
    let result = measure(
        plan,
        stand,
        &producer,
        &topic_of,
        &table,
        Reader::Hub,
        async || {
            before = (stand.counts().await?, invocations());
            clear_timings();
            Ok(())
        },
    )
    .await;
    let after = (stand.settled_counts().await, invocations());
    shutdown.cancel();
    while let Some(r) = tasks.join_next().await {
        if let Ok(Err(e)) = r {
            tracing::warn!(error = %e, "A component stopped with an error.");
        }
    }
    let arrived = probe.stop().await;
    let (wall, tracker, _) = result?;
    let mut hops = Hops::of(&tracker, &arrived, |i| {
        Some(tracker.records[i].event_id.clone())
    });
    let mut timings = hub_local::esm::Timings::default();
    for s in &stats {
        if let Some(t) = &s.timings
            && let Ok(t) = t.lock()
        {
            timings.in_queue_ms.extend(&t.in_queue_ms);
            timings.invocation_ms.extend(&t.invocation_ms);
        }
    }
    hops.in_queue_ms = Some(Percentiles::of(&timings.in_queue_ms));
    hops.invocation_ms = Some(Percentiles::of(&timings.invocation_ms));
    Ok(EndToEnd {
        records: plan.records,
        wall_seconds: wall,
        latency_ms: Percentiles::of(&tracker.latency),
        to_write_ms: Some(Percentiles::of(&tracker.to_write)),
        never_visible: tracker.pending() as u64,
        requests: proxy::delta(&before.0, &after.0?),
        lambda_invocations: after.1 - before.1,
        consumer_cpu_seconds: None,
        window_ms: Some(window_ms),
        hops,
    })
}

/// The baseline's whole chain: its own topic, one queue per entity (filter policy on `entity`,
/// raw delivery) and one table, created directly; its bridge and consumer processes talk to the
/// proxy.
pub async fn baseline(
    python: &Python,
    mode: Mode,
    stand: &Stand,
    plan: &Plan,
    bootstrap: &str,
    name: &str,
) -> anyhow::Result<EndToEnd> {
    let d = &stand.direct;
    let topic_arn = d
        .sns
        .create_topic()
        .name(name)
        .send()
        .await?
        .topic_arn
        .context("no topic ARN")?;
    let mut queues = Vec::new();
    for entity in ["customer", "material", "sales_order"] {
        let url = super::probe::subscribed_queue(
            d,
            &topic_arn,
            &format!("{name}-{entity}"),
            Some(format!("{{\"entity\": [\"{entity}\"]}}")),
        )
        .await?;
        queues.push(url);
    }
    d.dynamodb
        .create_table()
        .table_name(name)
        .attribute_definitions(
            aws_sdk_dynamodb::types::AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(aws_sdk_dynamodb::types::ScalarAttributeType::S)
                .build()?,
        )
        .key_schema(
            aws_sdk_dynamodb::types::KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(aws_sdk_dynamodb::types::KeyType::Hash)
                .build()?,
        )
        .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
        .send()
        .await?;
    let probe = Probe::start(d, &topic_arn, &format!("{name}-probe"), Naming::Source).await?;
    let prefix = format!("{name}.");
    let topics: Vec<String> = [
        "sap.idoc.matmas",
        "sap.idoc.debmas",
        "sap.idoc.orders",
        "sap.s4.events",
    ]
    .iter()
    .map(|t| format!("{prefix}{t}"))
    .collect();
    create_topics(bootstrap, &topics)?;
    let consumer = python
        .start(&[
            "consumer",
            "--mode",
            mode.as_str(),
            "--endpoint",
            &stand.proxy,
            "--queues",
            &queues.join(","),
            "--table",
            name,
        ])
        .await?;
    let bridge = python
        .start(&[
            "bridge",
            "--mode",
            mode.as_str(),
            "--bootstrap",
            bootstrap,
            "--topics",
            &topics.join(","),
            "--group",
            name,
            "--endpoint",
            &stand.proxy,
            "--topic-arn",
            &topic_arn,
        ])
        .await?;
    let producer = hub_kafka::produce::acked_producer(bootstrap)?;
    let topic_of = |t: &str| format!("{prefix}{t}");
    let mut before = Counts::new();
    let result = measure(
        plan,
        stand,
        &producer,
        &topic_of,
        name,
        Reader::Baseline,
        async || {
            before = stand.counts().await?;
            Ok(())
        },
    )
    .await;
    let after = stand.settled_counts().await;
    let consumer_stats = consumer.stop().await;
    let _ = bridge.stop().await;
    let arrived = probe.stop().await;
    let (wall, tracker, src_index) = result?;
    let consumer_stats = consumer_stats?;
    let src_of: HashMap<usize, &String> = src_index.iter().map(|(s, i)| (*i, s)).collect();
    let hops = Hops::of(&tracker, &arrived, |i| {
        src_of.get(&i).map(|s| s.to_string())
    });
    Ok(EndToEnd {
        records: plan.records,
        wall_seconds: wall,
        latency_ms: Percentiles::of(&tracker.latency),
        to_write_ms: Some(Percentiles::of(&tracker.to_write)),
        never_visible: tracker.pending() as u64,
        requests: proxy::delta(&before, &after?),
        lambda_invocations: 0,
        consumer_cpu_seconds: consumer_stats.cpu_seconds,
        window_ms: None,
        hops,
    })
}

/// The figures of the phases on the stand-ins.
#[derive(Debug)]
pub struct Figures {
    /// The hub's domain functions alone.
    pub handler: HandlerFigures,
    /// The hub end to end, with the template's batching window (or `--esm-window-ms`).
    pub hub: EndToEnd,
    /// The hub end to end with each batching window of the sweep, in order.
    pub windows: Vec<EndToEnd>,
    /// The naive baseline end to end.
    pub baseline: EndToEnd,
    /// The competent baseline end to end.
    pub competent: EndToEnd,
    /// Distinct entities in the end-to-end load.
    pub distinct_entities: u64,
    /// What no design can avoid on this load.
    pub floor: Floor,
}

/// The phases on the stand-ins, in order, each alone on the machine: the handler alone, then
/// end to end the hub, the hub with each of `windows` (a run whose window is the template's is
/// not repeated), the naive baseline and the competent one, on the rig's embedded Kafka at
/// `bootstrap`. Every AWS request of the measured components goes through
/// `hub-bench count-proxy`, a child process that lives as long as the phases.
pub async fn phases(
    template: &Template,
    python: &Python,
    plan: &Plan,
    windows: &[Duration],
    bootstrap: &str,
) -> anyhow::Result<Figures> {
    let endpoints = LocalEndpoints::from_env();
    let (_proxy, proxy_url) = spawn_self(&[
        "count-proxy",
        "--moto",
        &endpoints.sqs,
        "--dynamodb",
        &endpoints.dynamodb,
    ])?;
    let stand = Stand::new(&proxy_url).await?;
    let run_id = format!(
        "bench-{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp()
    );
    eprintln!("bench: handler alone ({} records)…", plan.handler_records);
    let handler_alone = handler(template, &stand, plan, &format!("{run_id}-h")).await?;
    eprintln!("bench: end to end, hub ({} records)…", plan.records);
    let hub_e2e = hub(
        template,
        &stand,
        plan,
        plan.window,
        bootstrap,
        &format!("{run_id}-e"),
    )
    .await?;
    let mut sweep = Vec::new();
    for (n, w) in windows.iter().enumerate() {
        if hub_e2e.window_ms == Some(w.as_millis() as u64) {
            sweep.push(hub_e2e.clone());
            continue;
        }
        eprintln!(
            "bench: end to end, hub, batching window {} ms…",
            w.as_millis()
        );
        sweep.push(
            hub(
                template,
                &stand,
                plan,
                Some(*w),
                bootstrap,
                &format!("{run_id}-w{n}"),
            )
            .await?,
        );
    }
    eprintln!(
        "bench: end to end, naive baseline ({} records)…",
        plan.records
    );
    let base_e2e = baseline(
        python,
        Mode::Naive,
        &stand,
        plan,
        bootstrap,
        &format!("{run_id}-b"),
    )
    .await?;
    eprintln!(
        "bench: end to end, competent baseline ({} records)…",
        plan.records
    );
    let competent = baseline(
        python,
        Mode::Competent,
        &stand,
        plan,
        bootstrap,
        &format!("{run_id}-c"),
    )
    .await?;
    let load = load(0, plan.records, plan.keys)?;
    Ok(Figures {
        handler: handler_alone,
        hub: hub_e2e,
        windows: sweep,
        baseline: base_e2e,
        competent,
        distinct_entities: load
            .iter()
            .map(|r| &r.entity_key)
            .collect::<HashSet<_>>()
            .len() as u64,
        floor: Floor::of(&load, plan.burst),
    })
}

/// The charges no design can avoid on a load that arrives in bursts: each burst's changes must
/// become visible before the next, so each burst costs at least one write unit per distinct
/// entity (at the minimum item size), one SNS request per ten events (a `PublishBatch`), and
/// per entity's queue one `ReceiveMessage` and one `DeleteMessageBatch` per ten messages.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Floor {
    /// Events of the load.
    pub events: u64,
    /// DynamoDB write units.
    pub write_units: u64,
    /// SNS requests.
    pub sns_requests: u64,
    /// SQS requests.
    pub sqs_requests: u64,
}

impl Floor {
    /// The floor of `load` produced `burst` records at a time.
    pub fn of(load: &[LoadRecord], burst: u64) -> Floor {
        let mut f = Floor {
            events: load.len() as u64,
            ..Floor::default()
        };
        for chunk in load.chunks(burst.max(1) as usize) {
            let distinct: HashSet<_> = chunk.iter().map(|r| &r.entity_key).collect();
            f.write_units += distinct.len() as u64;
            f.sns_requests += (chunk.len() as u64).div_ceil(10);
            let mut per_queue: HashMap<Entity, u64> = HashMap::new();
            for r in chunk {
                *per_queue.entry(r.entity_key.0).or_default() += 1;
            }
            f.sqs_requests += per_queue.values().map(|n| 2 * n.div_ceil(10)).sum::<u64>();
        }
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_floor_is_one_unit_per_distinct_entity_per_burst_and_full_batches() {
        // Scenario: 40 records of 2 keys per entity in bursts of 20: each burst touches at
        // most 6 entities, so 2 bursts cost at most 12 write units; 20 events are 2 PublishBatch
        // requests per burst; each entity's queue takes one receive and one delete batch per ten.
        let records = load(0, 40, 2).unwrap();
        let f = Floor::of(&records, 20);
        assert_eq!(f.events, 40);
        let mut units = 0;
        for burst in records.chunks(20) {
            units += burst
                .iter()
                .map(|r| &r.entity_key)
                .collect::<HashSet<_>>()
                .len() as u64;
        }
        assert_eq!(f.write_units, units);
        assert!(units <= 12, "{units}");
        assert_eq!(f.sns_requests, 4);
        assert!(
            f.sqs_requests >= 2 * 3 * 2 && f.sqs_requests <= 2 * 4 * 2,
            "{f:?}"
        );
    }

    #[test]
    fn percentiles_by_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        let p = Percentiles::of(&v);
        assert_eq!((p.p50, p.p95, p.p99, p.max), (50.0, 95.0, 99.0, 100.0));
        assert_eq!(Percentiles::of(&[]).samples, 0);
    }

    #[test]
    fn a_change_is_visible_when_its_version_or_a_newer_one_is_seen() {
        // Scenario: an order gets several versions; a reader sees its third version: the first
        // three are visible at once (two of them superseded unseen), the others stay pending;
        // seeing an older version later changes nothing.
        let records = load(0, 40, 2).unwrap();
        let key = records
            .iter()
            .find(|r| r.entity_key.0 == Entity::SalesOrder)
            .unwrap()
            .entity_key
            .clone();
        let same: Vec<usize> = (0..records.len())
            .filter(|&i| records[i].entity_key == key)
            .collect();
        assert!(same.len() >= 3, "several versions of one key");
        let mut t = Tracker::new(records);
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        for i in 0..t.records.len() {
            t.produced(i, t0, true);
        }
        let pending_before = t.pending();
        t.seen(same[2], t0 + Duration::from_millis(250), None);
        assert_eq!(t.latency.len(), 3);
        assert!(t.latency.iter().all(|&l| l == 250.0));
        assert_eq!(t.pending(), pending_before - t.latency.len());
        // Seeing an older version again changes nothing.
        t.seen(same[0], t0 + Duration::from_millis(900), None);
        assert!(t.latency.iter().all(|&l| l == 250.0));
    }
}
