//! The DynamoDB stream event source mapping, as AWS Lambda runs it, against DynamoDB Local's
//! stream.
//!
//! Read from every function of `template.yaml` with an event of `Type: DynamoDB`
//! ([`StreamEsmConfig::from_template`]):
//!
//! | template property | meaning | AWS limit / default |
//! |---|---|---|
//! | `Stream` | the stream ARN (`!GetAtt Table.StreamArn`) | required |
//! | `StartingPosition` | `TRIM_HORIZON` or `LATEST`, where a new mapping starts | required |
//! | `BatchSize` | most records per invocation | 1–10,000; default 100 |
//! | `MaximumBatchingWindowInSeconds` | how long to gather a batch | 0–300; default 0 |
//! | `BisectBatchOnFunctionError` | split a failed batch in two before retrying | default false |
//! | `MaximumRetryAttempts` | retries of a failed batch before it is discarded | -1 (until the records expire) or 0–10,000; default -1 |
//! | `DestinationConfig.OnFailure.Destination` | an SQS queue for discarded batches | none |
//! | `FunctionResponseTypes: [ReportBatchItemFailures]` | partial batch responses | off |
//! | `ParallelizationFactor` | concurrent batches per shard | 1 only, locally |
//! | `Enabled` | whether the mapping polls | default true |
//!
//! Semantics kept from AWS (Lambda developer guide, "Using Lambda with DynamoDB"):
//!
//! - **Order**: one batch at a time per shard, in sequence order; a shard's children are read
//!   after it is finished. A failed batch blocks its shard until it succeeds or is discarded.
//! - **Checkpoint**: after a successful batch, past its last record. With
//!   `ReportBatchItemFailures`, a response naming records checkpoints before the one with the
//!   lowest sequence number, and only the records from there on are retried. An empty or null
//!   list is success; an item with a missing, empty or unknown `itemIdentifier` fails the batch.
//! - **Function error or timeout**: the whole batch is retried; with
//!   `BisectBatchOnFunctionError` it is first split in two halves, retried one after the other
//!   (a partial response is not an error: the batch is cut at the returned record instead).
//! - **Retries**: each retry of a batch (or of a half) counts one attempt. After
//!   `MaximumRetryAttempts` the batch is discarded: the on-failure destination gets one message
//!   with the batch's shard and sequence numbers (`DDBStreamBatchInfo`, AWS's format, never the
//!   records), and the mapping goes on past it.
//!
//! Not modelled: `MaximumRecordAgeInSeconds`, tumbling windows, filter criteria, a parallelization
//! factor above 1 (refused). Locally a mapping starts at its `StartingPosition` each time the
//! main job starts, unless given a checkpoint file ([`StreamEventSourceMapping::with_checkpoints`]).

use crate::config::EsmConfigError;
use crate::function::{FunctionError, LocalFunction};
use aws_sdk_dynamodbstreams::types::{Record, ShardIteratorType};
use hub_aws::AwsError;
use hub_aws::stream_records::lambda_record;
use hub_template::Context;
use lambda_runtime::{Config, Context as LambdaContext};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

/// Where a new mapping starts reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartingPosition {
    /// The oldest record the stream holds (24 hours).
    TrimHorizon,
    /// Only records written after the mapping starts.
    Latest,
}

/// One DynamoDB stream event source mapping.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamEsmConfig {
    /// The function's logical id.
    pub function: String,
    /// The event's name under `Events`.
    pub event: String,
    /// The stream ARN.
    pub stream_arn: String,
    /// The region (`awsRegion` of each record).
    pub region: String,
    /// Where a new mapping starts.
    pub starting_position: StartingPosition,
    /// Most records per invocation.
    pub batch_size: usize,
    /// How long to keep gathering once the first record of a batch arrived.
    pub batching_window: Duration,
    /// Whether a failed batch is split in two before it is retried.
    pub bisect: bool,
    /// Retries before a batch is discarded (`None`: until its records expire).
    pub maximum_retry_attempts: Option<u32>,
    /// The on-failure destination: the queue's ARN and URL.
    pub on_failure: Option<(String, String)>,
    /// Whether the function's `batchItemFailures` are honoured.
    pub report_batch_item_failures: bool,
    /// The function's timeout.
    pub function_timeout: Duration,
    /// Whether the mapping is enabled.
    pub enabled: bool,
    /// How often an idle shard is read (AWS reads each shard four times a second).
    pub poll_interval: Duration,
}

impl StreamEsmConfig {
    /// A mapping with AWS's defaults.
    pub fn new(function: &str, stream_arn: &str) -> StreamEsmConfig {
        StreamEsmConfig {
            function: function.to_string(),
            event: String::new(),
            stream_arn: stream_arn.to_string(),
            region: "us-east-1".into(),
            starting_position: StartingPosition::Latest,
            batch_size: 100,
            batching_window: Duration::ZERO,
            bisect: false,
            maximum_retry_attempts: None,
            on_failure: None,
            report_batch_item_failures: false,
            function_timeout: crate::config::DEFAULT_TIMEOUT,
            enabled: true,
            poll_interval: Duration::from_millis(250),
        }
    }

    /// Every DynamoDB stream mapping of every active function in the template. The context
    /// must hold the table's and queues' physical ids (run the provisioner first).
    pub fn from_template(ctx: &Context<'_>) -> Result<Vec<StreamEsmConfig>, EsmConfigError> {
        let template = ctx.template();
        let mut out = Vec::new();
        for f in template.resources_of_type("AWS::Serverless::Function") {
            if !ctx.is_active(&f.logical_id)? {
                continue;
            }
            let Some(events) = f.properties.get("Events").and_then(Value::as_object) else {
                continue;
            };
            for (name, event) in events {
                if event.get("Type").and_then(Value::as_str) != Some("DynamoDB") {
                    continue;
                }
                let timeout = match template.function_property(&f.logical_id, "Timeout") {
                    None => crate::config::DEFAULT_TIMEOUT,
                    Some(v) => {
                        let v = ctx
                            .resolve_required(v, &format!("Resources.{}.Timeout", f.logical_id))?;
                        Duration::from_secs(number(&v).unwrap_or(3) as u64)
                    }
                };
                let path = format!(
                    "Resources.{}.Properties.Events.{name}.Properties",
                    f.logical_id
                );
                let props = event
                    .get("Properties")
                    .map(|p| ctx.resolve_required(p, &path))
                    .transpose()?
                    .unwrap_or(Value::Null);
                out.push(Self::from_event(ctx, &f.logical_id, name, &props, timeout)?);
            }
        }
        Ok(out)
    }

    fn from_event(
        ctx: &Context<'_>,
        function: &str,
        event: &str,
        props: &Value,
        timeout: Duration,
    ) -> Result<StreamEsmConfig, EsmConfigError> {
        let bad = |reason: String| EsmConfigError::Invalid {
            function: function.to_string(),
            event: event.to_string(),
            reason,
        };
        const KNOWN: &[&str] = &[
            "Stream",
            "StartingPosition",
            "BatchSize",
            "MaximumBatchingWindowInSeconds",
            "BisectBatchOnFunctionError",
            "MaximumRetryAttempts",
            "DestinationConfig",
            "FunctionResponseTypes",
            "ParallelizationFactor",
            "Enabled",
        ];
        if let Some(m) = props.as_object() {
            for k in m.keys() {
                if !KNOWN.contains(&k.as_str()) {
                    return Err(bad(format!(
                        "{k} is not supported by the local stream event source mapping"
                    )));
                }
            }
        }
        let stream = props
            .get("Stream")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("Stream (an ARN) is required".into()))?;
        let mut c = StreamEsmConfig::new(function, stream);
        c.event = event.to_string();
        c.region = ctx.stack().region.clone();
        c.function_timeout = timeout;
        c.starting_position = match props.get("StartingPosition").and_then(Value::as_str) {
            Some("TRIM_HORIZON") => StartingPosition::TrimHorizon,
            Some("LATEST") => StartingPosition::Latest,
            _ => return Err(bad("StartingPosition must be TRIM_HORIZON or LATEST".into())),
        };
        if let Some(v) = props.get("BatchSize") {
            let n = number(v).ok_or_else(|| bad("BatchSize is not a number".into()))?;
            if !(1..=10_000).contains(&n) {
                return Err(bad(format!("BatchSize {n} is outside 1..10000")));
            }
            c.batch_size = n as usize;
        }
        if let Some(v) = props.get("MaximumBatchingWindowInSeconds") {
            let n = number(v)
                .filter(|n| (0..=300).contains(n))
                .ok_or_else(|| bad("MaximumBatchingWindowInSeconds must be 0..300".into()))?;
            c.batching_window = Duration::from_secs(n as u64);
        }
        if let Some(v) = props.get("BisectBatchOnFunctionError") {
            c.bisect =
                boolean(v).ok_or_else(|| bad("BisectBatchOnFunctionError is a boolean".into()))?;
        }
        if let Some(v) = props.get("MaximumRetryAttempts") {
            c.maximum_retry_attempts = match number(v) {
                Some(-1) => None,
                Some(n) if (0..=10_000).contains(&n) => Some(n as u32),
                _ => return Err(bad("MaximumRetryAttempts must be -1 or 0..10000".into())),
            };
        }
        if let Some(v) = props.get("ParallelizationFactor")
            && number(v) != Some(1)
        {
            return Err(bad(
                "ParallelizationFactor above 1 is not modelled locally".into()
            ));
        }
        if let Some(v) = props.get("FunctionResponseTypes") {
            let types = v
                .as_array()
                .ok_or_else(|| bad("FunctionResponseTypes is a list".into()))?;
            for t in types {
                match t.as_str() {
                    Some("ReportBatchItemFailures") => c.report_batch_item_failures = true,
                    _ => {
                        return Err(bad(
                            "FunctionResponseTypes accepts only ReportBatchItemFailures".into(),
                        ));
                    }
                }
            }
        }
        if let Some(d) = props.get("DestinationConfig") {
            let arn = d
                .get("OnFailure")
                .and_then(|o| o.get("Destination"))
                .and_then(Value::as_str)
                .ok_or_else(|| bad("DestinationConfig needs OnFailure.Destination".into()))?;
            let url = crate::config::queue_url(ctx, arn).ok_or_else(|| {
                    bad(format!(
                        "on-failure destination {arn} is not a provisioned queue of the template (locally only SQS destinations)"
                    ))
                })?;
            c.on_failure = Some((arn.to_string(), url));
        }
        if let Some(v) = props.get("Enabled") {
            c.enabled = boolean(v).ok_or_else(|| bad("Enabled is a boolean".into()))?;
        }
        Ok(c)
    }
}

fn number(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn boolean(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s == "true" => Some(true),
        Value::String(s) if s == "false" => Some(false),
        _ => None,
    }
}

/// Counters of one stream mapping, shared with whoever shows status.
#[derive(Debug, Default)]
pub struct StreamStats {
    /// Records read from the stream.
    pub records: AtomicU64,
    /// Invocations made.
    pub invocations: AtomicU64,
    /// Records checkpointed after success.
    pub succeeded: AtomicU64,
    /// Invocations that failed (error, timeout or a malformed response).
    pub function_errors: AtomicU64,
    /// Responses that named failed records.
    pub partial_failures: AtomicU64,
    /// Batches split in two.
    pub bisections: AtomicU64,
    /// Batches discarded after their retries (sent to the on-failure destination).
    pub discarded_batches: AtomicU64,
    /// Records in discarded batches.
    pub discarded_records: AtomicU64,
}

/// A snapshot of [`StreamStats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub struct StreamSnapshot {
    /// See [`StreamStats::records`].
    pub records: u64,
    /// See [`StreamStats::invocations`].
    pub invocations: u64,
    /// See [`StreamStats::succeeded`].
    pub succeeded: u64,
    /// See [`StreamStats::function_errors`].
    pub function_errors: u64,
    /// See [`StreamStats::partial_failures`].
    pub partial_failures: u64,
    /// See [`StreamStats::bisections`].
    pub bisections: u64,
    /// See [`StreamStats::discarded_batches`].
    pub discarded_batches: u64,
    /// See [`StreamStats::discarded_records`].
    pub discarded_records: u64,
}

impl StreamStats {
    /// The current values.
    pub fn snapshot(&self) -> StreamSnapshot {
        let r = |a: &AtomicU64| a.load(Ordering::Relaxed);
        StreamSnapshot {
            records: r(&self.records),
            invocations: r(&self.invocations),
            succeeded: r(&self.succeeded),
            function_errors: r(&self.function_errors),
            partial_failures: r(&self.partial_failures),
            bisections: r(&self.bisections),
            discarded_batches: r(&self.discarded_batches),
            discarded_records: r(&self.discarded_records),
        }
    }
}

/// What one invocation of a batch came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamVerdict {
    /// Every record succeeded.
    AllSucceeded,
    /// The records before index `n` succeeded; retry from `n` (a partial batch response).
    FailedFrom(usize),
    /// The invocation failed as a whole (error, timeout, malformed response).
    FunctionError(String),
}

/// How a stream mapping reads a response, as AWS does. `sequence_numbers` are the batch's.
pub fn stream_verdict(
    outcome: &Result<Value, FunctionError>,
    sequence_numbers: &[String],
    report_batch_item_failures: bool,
) -> StreamVerdict {
    let response = match outcome {
        Err(e) => return StreamVerdict::FunctionError(e.to_string()),
        Ok(r) => r,
    };
    if !report_batch_item_failures {
        return StreamVerdict::AllSucceeded;
    }
    let failures = match response {
        Value::Null => return StreamVerdict::AllSucceeded,
        Value::Object(m) => match m.get("batchItemFailures") {
            None | Some(Value::Null) => return StreamVerdict::AllSucceeded,
            Some(Value::Array(a)) => a,
            Some(_) => {
                return StreamVerdict::FunctionError("batchItemFailures is not a list".into());
            }
        },
        _ => return StreamVerdict::FunctionError("the response is not an object".into()),
    };
    let mut lowest: Option<usize> = None;
    for f in failures {
        let id = f
            .get("itemIdentifier")
            .and_then(Value::as_str)
            .unwrap_or("");
        let Some(i) = sequence_numbers
            .iter()
            .position(|s| s == id)
            .filter(|_| !id.is_empty())
        else {
            return StreamVerdict::FunctionError(format!(
                "itemIdentifier {id:?} is not a sequence number of the batch"
            ));
        };
        lowest = Some(lowest.map_or(i, |l| l.min(i)));
    }
    match lowest {
        None => StreamVerdict::AllSucceeded,
        Some(i) => StreamVerdict::FailedFrom(i),
    }
}

/// The local stream event source mapping: polls the stream's shards and invokes the function.
pub struct StreamEventSourceMapping {
    config: StreamEsmConfig,
    streams: aws_sdk_dynamodbstreams::Client,
    sqs: aws_sdk_sqs::Client,
    function: Arc<dyn LocalFunction>,
    stats: Arc<StreamStats>,
    checkpoints: Option<PathBuf>,
}

/// A shard as the mapping reads it.
#[derive(Debug, Default)]
struct Shard {
    parent: Option<String>,
    iterator: Option<String>,
    finished: bool,
    /// Seen when the mapping started (read from the starting position); otherwise a child
    /// shard, read from its start.
    initial: bool,
}

impl StreamEventSourceMapping {
    /// A mapping of `config` invoking `function`, reading with `streams` and sending discarded
    /// batches with `sqs`.
    pub fn new(
        config: StreamEsmConfig,
        streams: aws_sdk_dynamodbstreams::Client,
        sqs: aws_sdk_sqs::Client,
        function: Arc<dyn LocalFunction>,
    ) -> StreamEventSourceMapping {
        StreamEventSourceMapping {
            config,
            streams,
            sqs,
            function,
            stats: Arc::new(StreamStats::default()),
            checkpoints: None,
        }
    }

    /// Keeps each shard's checkpoint in `path` (JSON), so that a restarted main job resumes
    /// where it stopped, as the mapping in AWS does, rather than at its starting position.
    pub fn with_checkpoints(mut self, path: PathBuf) -> StreamEventSourceMapping {
        self.checkpoints = Some(path);
        self
    }

    /// The mapping's counters.
    pub fn stats(&self) -> Arc<StreamStats> {
        self.stats.clone()
    }

    /// The mapping's configuration.
    pub fn config(&self) -> &StreamEsmConfig {
        &self.config
    }

    /// Polls until `shutdown`; a batch being handled is finished first.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), AwsError> {
        if !self.config.enabled {
            info!(function = %self.config.function, "Stream mapping disabled.");
            shutdown.cancelled().await;
            return Ok(());
        }
        let mut saved = self.load_checkpoints();
        // Per shard, the last record read (settled or in the batch being gathered): a new
        // iterator starts after it, never before.
        let mut read_upto: BTreeMap<String, String> = saved.clone();
        let mut shards: BTreeMap<String, Shard> = BTreeMap::new();
        let mut first = true;
        let mut last_listing = Instant::now() - Duration::from_secs(3600);
        let mut batch: Vec<Record> = Vec::new();
        let mut batch_shard = String::new();
        let mut batch_started: Option<Instant> = None;
        info!(function = %self.config.function, stream = %self.config.stream_arn, "Stream mapping polling.");
        while !shutdown.is_cancelled() {
            if last_listing.elapsed() > Duration::from_secs(5) {
                match self.list_shards().await {
                    Ok(listed) => {
                        for (id, parent) in listed {
                            shards.entry(id).or_insert_with(|| Shard {
                                parent,
                                initial: first,
                                ..Shard::default()
                            });
                        }
                        first = false;
                        last_listing = Instant::now();
                    }
                    Err(e) => {
                        warn!(error = %e, "Cannot list the stream's shards; trying again.");
                        sleep_or_stop(&shutdown, Duration::from_secs(1)).await;
                        continue;
                    }
                }
            }
            // The shard to read: the batch's own, else the first unfinished shard whose parent
            // is finished or unknown.
            let current = if !batch.is_empty() {
                Some(batch_shard.clone())
            } else {
                shards
                    .iter()
                    .find(|(_, s)| {
                        !s.finished
                            && s.parent
                                .as_ref()
                                .is_none_or(|p| shards.get(p).is_none_or(|parent| parent.finished))
                    })
                    .map(|(id, _)| id.clone())
            };
            let Some(id) = current else {
                sleep_or_stop(&shutdown, self.config.poll_interval).await;
                continue;
            };
            let mut got_records = false;
            if batch.len() < self.config.batch_size {
                match self
                    .read(&id, &mut shards, &mut saved, &mut read_upto)
                    .await
                {
                    Ok(records) => {
                        got_records = !records.is_empty();
                        if let Some(last) = records.last().and_then(seq) {
                            read_upto.insert(id.clone(), last.to_string());
                        }
                        if got_records && batch.is_empty() {
                            batch_started = Some(Instant::now());
                            batch_shard = id.clone();
                        }
                        self.stats
                            .records
                            .fetch_add(records.len() as u64, Ordering::Relaxed);
                        batch.extend(records);
                    }
                    Err(e) => {
                        warn!(shard = %id, error = %e, "Cannot read the shard; trying again.");
                        sleep_or_stop(&shutdown, Duration::from_secs(1)).await;
                        continue;
                    }
                }
            }
            let finished = shards.get(&id).is_some_and(|s| s.finished);
            let due = batch_started.is_some_and(|t| t.elapsed() >= self.config.batching_window);
            if !batch.is_empty() && (batch.len() >= self.config.batch_size || due || finished) {
                let take = batch.len().min(self.config.batch_size);
                let rest = batch.split_off(take);
                let full = std::mem::replace(&mut batch, rest);
                if let Some(last) = self.settle(&id, full, &shutdown).await {
                    saved.insert(id.clone(), last);
                    self.save_checkpoints(&saved);
                }
                batch_started = (!batch.is_empty()).then(Instant::now);
                continue;
            }
            if !got_records {
                sleep_or_stop(&shutdown, self.config.poll_interval).await;
            }
        }
        Ok(())
    }

    async fn list_shards(&self) -> Result<Vec<(String, Option<String>)>, AwsError> {
        let mut out = Vec::new();
        let mut start: Option<String> = None;
        loop {
            let d = self
                .streams
                .describe_stream()
                .stream_arn(&self.config.stream_arn)
                .set_exclusive_start_shard_id(start.take())
                .send()
                .await
                .map_err(|e| AwsError::sdk("dynamodbstreams:DescribeStream", e))?;
            let Some(desc) = d.stream_description else {
                break;
            };
            for s in desc.shards() {
                if let Some(id) = s.shard_id() {
                    out.push((id.to_string(), s.parent_shard_id().map(str::to_string)));
                }
            }
            match desc.last_evaluated_shard_id {
                Some(l) => start = Some(l),
                None => break,
            }
        }
        Ok(out)
    }

    /// One `GetRecords` of shard `id` (getting its iterator first if needed, after the last
    /// record read, else at the starting position).
    async fn read(
        &self,
        id: &str,
        shards: &mut BTreeMap<String, Shard>,
        saved: &mut BTreeMap<String, String>,
        read_upto: &mut BTreeMap<String, String>,
    ) -> Result<Vec<Record>, AwsError> {
        let fresh = saved.is_empty();
        let shard = shards.get_mut(id).expect("a listed shard");
        if shard.finished {
            return Ok(Vec::new());
        }
        if shard.iterator.is_none() {
            let req = self
                .streams
                .get_shard_iterator()
                .stream_arn(&self.config.stream_arn)
                .shard_id(id);
            let from = read_upto.get(id).cloned();
            let first = match &from {
                Some(seq) => req
                    .clone()
                    .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                    .sequence_number(seq),
                // `LATEST` only for a mapping's first start: after that, a shard without a
                // checkpoint is one created since (a child), read from its start.
                None if shard.initial
                    && fresh
                    && self.config.starting_position == StartingPosition::Latest =>
                {
                    req.clone().shard_iterator_type(ShardIteratorType::Latest)
                }
                None => req
                    .clone()
                    .shard_iterator_type(ShardIteratorType::TrimHorizon),
            };
            let out = match first.send().await {
                Ok(o) => o,
                Err(e)
                    if from.is_some()
                        && e.as_service_error()
                            .is_some_and(|s| s.is_trimmed_data_access_exception()) =>
                {
                    // The checkpoint is older than the stream's retention (24 hours): what lay
                    // between is gone. AWS goes on from the oldest record kept; so does this.
                    warn!(shard = %id, checkpoint = from.as_deref().unwrap_or(""), "The checkpoint is past the stream's retention: records were lost; reading from the oldest kept.");
                    saved.remove(id);
                    read_upto.remove(id);
                    req.shard_iterator_type(ShardIteratorType::TrimHorizon)
                        .send()
                        .await
                        .map_err(|e| AwsError::sdk("dynamodbstreams:GetShardIterator", e))?
                }
                Err(e) => return Err(AwsError::sdk("dynamodbstreams:GetShardIterator", e)),
            };
            shard.iterator = out.shard_iterator;
            if shard.iterator.is_none() {
                shard.finished = true;
                return Ok(Vec::new());
            }
        }
        let out = self
            .streams
            .get_records()
            .shard_iterator(shard.iterator.clone().unwrap_or_default())
            .limit(self.config.batch_size.min(1000) as i32)
            .send()
            .await;
        let out = match out {
            Ok(o) => o,
            Err(e) => {
                // An expired iterator is read again from the checkpoint.
                shard.iterator = None;
                return Err(AwsError::sdk("dynamodbstreams:GetRecords", e));
            }
        };
        shard.iterator = out.next_shard_iterator;
        let records = out.records.unwrap_or_default();
        if shard.iterator.is_none() {
            debug!(shard = %id, "Shard finished.");
            shard.finished = true;
        }
        Ok(records)
    }

    /// Invokes the function with `batch` until every record succeeded or was discarded; returns
    /// the sequence number to checkpoint after.
    async fn settle(
        &self,
        shard: &str,
        batch: Vec<Record>,
        shutdown: &CancellationToken,
    ) -> Option<String> {
        let last = batch.last().and_then(seq).map(str::to_string);
        let mut work: VecDeque<(Vec<Record>, u32)> = VecDeque::from([(batch, 0)]);
        while let Some((records, attempts)) = work.pop_front() {
            if attempts > 0 {
                // Retries back off (100 ms, doubling, at most 2 s) so a failing dependency is
                // not hammered; the shard waits, as in AWS.
                let wait =
                    Duration::from_millis(100 << attempts.min(5)).min(Duration::from_secs(2));
                tokio::time::sleep(wait).await;
            }
            let seqs: Vec<String> = records.iter().filter_map(seq).map(str::to_string).collect();
            let outcome = self.invoke(&records).await;
            let verdict = stream_verdict(&outcome, &seqs, self.config.report_batch_item_failures);
            let failed: Vec<Record> = match verdict {
                StreamVerdict::AllSucceeded => {
                    self.stats
                        .succeeded
                        .fetch_add(records.len() as u64, Ordering::Relaxed);
                    continue;
                }
                StreamVerdict::FailedFrom(i) => {
                    self.stats.partial_failures.fetch_add(1, Ordering::Relaxed);
                    self.stats.succeeded.fetch_add(i as u64, Ordering::Relaxed);
                    debug!(from = %seqs[i], "Partial batch failure; retrying from that record.");
                    let failed = records[i..].to_vec();
                    if self.exhausted(attempts) {
                        if !self
                            .discard(
                                shard,
                                &failed,
                                attempts,
                                "PartialBatchItemFailure",
                                shutdown,
                            )
                            .await
                        {
                            return None;
                        }
                        continue;
                    }
                    work.push_front((failed, attempts + 1));
                    continue;
                }
                StreamVerdict::FunctionError(reason) => {
                    self.stats.function_errors.fetch_add(1, Ordering::Relaxed);
                    warn!(function = %self.config.function, %reason, records = records.len(), "Stream batch failed.");
                    records
                }
            };
            if self.exhausted(attempts) {
                if !self
                    .discard(shard, &failed, attempts, "Unhandled", shutdown)
                    .await
                {
                    return None;
                }
                continue;
            }
            if self.config.bisect && failed.len() > 1 {
                self.stats.bisections.fetch_add(1, Ordering::Relaxed);
                let mut first = failed;
                let second = first.split_off(first.len() / 2);
                work.push_front((second, attempts + 1));
                work.push_front((first, attempts + 1));
            } else {
                work.push_front((failed, attempts + 1));
            }
            if shutdown.is_cancelled() {
                // Stopping: nothing past the failure is checkpointed; the next start retries.
                return None;
            }
        }
        last
    }

    fn exhausted(&self, attempts: u32) -> bool {
        self.config
            .maximum_retry_attempts
            .is_some_and(|m| attempts >= m)
    }

    async fn invoke(&self, records: &[Record]) -> Result<Value, FunctionError> {
        let payload = json!({
            "Records": records
                .iter()
                .map(|r| lambda_record(r, &self.config.stream_arn, &self.config.region))
                .collect::<Vec<_>>()
        });
        self.stats.invocations.fetch_add(1, Ordering::Relaxed);
        let timeout = self.config.function_timeout;
        match tokio::time::timeout(timeout, self.function.invoke(payload, self.context())).await {
            Ok(r) => r,
            Err(_) => Err(FunctionError::Timeout(timeout)),
        }
    }

    /// Sends the batch's coordinates to the on-failure destination (AWS's message), or drops
    /// it with a warning when there is none. `false` when stopped before the destination got
    /// it: nothing is checkpointed then, and the next start retries the batch.
    async fn discard(
        &self,
        shard: &str,
        records: &[Record],
        attempts: u32,
        error: &str,
        shutdown: &CancellationToken,
    ) -> bool {
        self.stats.discarded_batches.fetch_add(1, Ordering::Relaxed);
        self.stats
            .discarded_records
            .fetch_add(records.len() as u64, Ordering::Relaxed);
        let arrival = |r: Option<&Record>| {
            r.and_then(|r| r.dynamodb.as_ref())
                .and_then(|d| d.approximate_creation_date_time)
                .map(|t| {
                    chrono::DateTime::from_timestamp(t.secs(), 0)
                        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                        .unwrap_or_default()
                })
        };
        let message = on_failure_message(&OnFailure {
            function: &self.config.function,
            stream_arn: &self.config.stream_arn,
            shard,
            start: records.first().and_then(seq).unwrap_or_default(),
            end: records.last().and_then(seq).unwrap_or_default(),
            first_arrival: arrival(records.first()),
            last_arrival: arrival(records.last()),
            batch_size: records.len(),
            invokes: attempts + 1,
            function_error: error,
        });
        let Some((_, url)) = &self.config.on_failure else {
            warn!(function = %self.config.function, records = records.len(), "Batch discarded after its retries, with no on-failure destination.");
            return true;
        };
        // The destination must get it: retried until it does (the shard waits meanwhile).
        loop {
            match self
                .sqs
                .send_message()
                .queue_url(url)
                .message_body(message.to_string())
                .send()
                .await
            {
                Ok(_) => {
                    warn!(function = %self.config.function, records = records.len(), "Batch discarded after its retries; its coordinates went to the on-failure destination.");
                    return true;
                }
                Err(e) => {
                    warn!(error = %AwsError::sdk("sqs:SendMessage", e), "Cannot reach the on-failure destination; trying again.");
                    if shutdown.is_cancelled() {
                        return false;
                    }
                    sleep_or_stop(shutdown, Duration::from_secs(1)).await;
                }
            }
        }
    }

    fn context(&self) -> LambdaContext {
        let deadline = SystemTime::now() + self.config.function_timeout;
        let mut config = Config::default();
        config.function_name = self.config.function.clone();
        let mut c = LambdaContext::default();
        c.request_id = format!("local-{:016x}", fastrand::u64(..));
        c.deadline = deadline
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or_default();
        c.invoked_function_arn = self.config.function.clone();
        c.env_config = Arc::new(config);
        c
    }

    fn load_checkpoints(&self) -> BTreeMap<String, String> {
        self.checkpoints
            .as_ref()
            .and_then(|p| std::fs::read(p).ok())
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    fn save_checkpoints(&self, saved: &BTreeMap<String, String>) {
        if let Some(p) = &self.checkpoints {
            let tmp = p.with_extension("tmp");
            if std::fs::write(&tmp, serde_json::to_vec(saved).unwrap_or_default()).is_ok() {
                std::fs::rename(&tmp, p).ok();
            }
        }
    }
}

fn seq(r: &Record) -> Option<&str> {
    r.dynamodb.as_ref()?.sequence_number.as_deref()
}

async fn sleep_or_stop(shutdown: &CancellationToken, d: Duration) {
    tokio::select! {
        _ = shutdown.cancelled() => {}
        _ = tokio::time::sleep(d) => {}
    }
}

/// What the on-failure message describes.
#[derive(Debug, Clone)]
pub struct OnFailure<'a> {
    /// The function.
    pub function: &'a str,
    /// The stream.
    pub stream_arn: &'a str,
    /// The shard.
    pub shard: &'a str,
    /// The discarded batch's first sequence number.
    pub start: &'a str,
    /// Its last.
    pub end: &'a str,
    /// When its first record arrived in the stream (RFC 3339).
    pub first_arrival: Option<String>,
    /// When its last record arrived.
    pub last_arrival: Option<String>,
    /// Records in the batch.
    pub batch_size: usize,
    /// Invocations it had.
    pub invokes: u32,
    /// `Unhandled` (a function error) or `PartialBatchItemFailure`.
    pub function_error: &'a str,
}

/// The message Lambda sends to a stream mapping's on-failure destination (AWS's format: the
/// batch's coordinates, never its records).
pub fn on_failure_message(f: &OnFailure<'_>) -> Value {
    json!({
        "requestContext": {
            "requestId": format!("local-{:016x}", fastrand::u64(..)),
            "functionArn": f.function,
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": f.invokes,
        },
        "responseContext": {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": f.function_error,
        },
        "version": "1.0",
        "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "DDBStreamBatchInfo": {
            "shardId": f.shard,
            "startSequenceNumber": f.start,
            "endSequenceNumber": f.end,
            "approximateArrivalOfFirstRecord": f.first_arrival,
            "approximateArrivalOfLastRecord": f.last_arrival,
            "batchSize": f.batch_size,
            "streamArn": f.stream_arn,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seqs() -> Vec<String> {
        vec!["100".into(), "200".into(), "300".into()]
    }

    #[test]
    fn responses_are_read_as_aws_reads_them() {
        // Scenario: empty and null lists are success; the lowest named record is where the
        // retry starts; unknown or empty identifiers and non-object answers fail the batch;
        // without ReportBatchItemFailures any answer is success.
        let v = |r: Value| stream_verdict(&Ok(r), &seqs(), true);
        assert_eq!(v(Value::Null), StreamVerdict::AllSucceeded);
        assert_eq!(
            v(json!({"batchItemFailures": []})),
            StreamVerdict::AllSucceeded
        );
        assert_eq!(
            v(json!({"batchItemFailures": [{"itemIdentifier": "300"}, {"itemIdentifier": "200"}]})),
            StreamVerdict::FailedFrom(1)
        );
        assert!(matches!(
            v(json!({"batchItemFailures": [{"itemIdentifier": ""}]})),
            StreamVerdict::FunctionError(_)
        ));
        assert!(matches!(
            v(json!({"batchItemFailures": [{"itemIdentifier": "999"}]})),
            StreamVerdict::FunctionError(_)
        ));
        assert!(matches!(v(json!([1])), StreamVerdict::FunctionError(_)));
        assert_eq!(
            stream_verdict(
                &Ok(json!({"batchItemFailures": [{"itemIdentifier": "100"}]})),
                &seqs(),
                false
            ),
            StreamVerdict::AllSucceeded
        );
        assert!(matches!(
            stream_verdict(
                &Err(FunctionError::Timeout(Duration::from_secs(1))),
                &seqs(),
                true
            ),
            StreamVerdict::FunctionError(_)
        ));
    }

    #[test]
    fn the_on_failure_message_is_awss() {
        // Scenario: the destination gets the batch's coordinates in AWS's field names.
        let m = on_failure_message(&OnFailure {
            function: "ChangeStream",
            stream_arn: "arn:s",
            shard: "shardId-1",
            start: "100",
            end: "300",
            first_arrival: None,
            last_arrival: None,
            batch_size: 3,
            invokes: 4,
            function_error: "Unhandled",
        });
        assert_eq!(m["DDBStreamBatchInfo"]["startSequenceNumber"], "100");
        assert_eq!(m["DDBStreamBatchInfo"]["endSequenceNumber"], "300");
        assert_eq!(m["DDBStreamBatchInfo"]["batchSize"], 3);
        assert_eq!(m["requestContext"]["condition"], "RetryAttemptsExhausted");
        assert_eq!(m["requestContext"]["approximateInvokeCount"], 4);
    }
}
