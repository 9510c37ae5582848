//! The SQS event source mapping, as AWS Lambda runs it, against the SQS stand-in.
//!
//! Semantics kept from AWS (Lambda developer guide, "Using Lambda with Amazon SQS"):
//!
//! - **Batching**: a poller gathers up to `BatchSize` messages; once the first arrives it keeps
//!   receiving until the batch is full, the `MaximumBatchingWindowInSeconds` runs out, or the
//!   6 MB invocation payload limit would be passed.
//! - **Visibility timeout**: messages stay in flight while the function runs; nothing extends or
//!   shortens their visibility. A failed message reappears when the queue's visibility timeout
//!   runs out, and its receive count grows.
//! - **Function error or timeout**: the whole batch fails; nothing is deleted.
//! - **Partial batch response** (`ReportBatchItemFailures`): only the messages not listed in
//!   `batchItemFailures` are deleted. A null or empty response or list means all succeeded. A
//!   response that is not a JSON object, or an item whose `itemIdentifier` is missing, null,
//!   empty, or not a message id of the batch, fails the whole batch: nothing is deleted.
//!   Without `ReportBatchItemFailures` any successful invocation deletes the whole batch.
//! - **Maximum concurrency**: at most that many invocations run at once (one per poller).
//! - **DLQ**: done by SQS itself, by the queue's redrive policy after `maxReceiveCount`
//!   receives; the mapping never moves messages.
//!
//! Not modelled: the scaling of pollers with queue depth, FIFO message-group ordering, filter
//! criteria (refused by [`crate::EsmConfig`]).

use crate::config::EsmConfig;
use crate::function::{FunctionError, LocalFunction};
use aws_sdk_sqs::types::{
    DeleteMessageBatchRequestEntry, Message, MessageSystemAttributeName, QueueAttributeName,
};
use hub_aws::AwsError;
use hub_core::retry::{Failed, Policy, retry};
use lambda_runtime::{Config, Context};
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use thiserror::Error;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, debug, info, info_span, warn};

/// Lambda's limit on a synchronous invocation payload (6 MB).
pub const MAX_PAYLOAD_BYTES: usize = 6 * 1024 * 1024;
/// SQS's limit on messages per ReceiveMessage and per DeleteMessageBatch call.
const SQS_BATCH_LIMIT: usize = 10;

/// Counters of one mapping, shared with whoever shows status.
#[derive(Debug, Default)]
pub struct EsmStats {
    /// Messages received from the queue (a redelivery counts again).
    pub received: AtomicU64,
    /// Invocations made.
    pub invocations: AtomicU64,
    /// Messages deleted after success.
    pub deleted: AtomicU64,
    /// Messages left for redelivery because the function reported them failed.
    pub item_failures: AtomicU64,
    /// Invocations that failed (error or timeout): their whole batch returns.
    pub function_errors: AtomicU64,
    /// Responses that broke the partial-batch format: their whole batch returns.
    pub malformed_responses: AtomicU64,
    /// Invocations running now.
    pub in_flight: AtomicU64,
    /// Highest number of invocations seen running at once.
    pub max_in_flight: AtomicU64,
    /// Where the time goes, when [`SqsEventSourceMapping::record_timings`] asked for it.
    pub timings: Option<std::sync::Mutex<Timings>>,
}

/// Where a message's time goes inside the mapping, in milliseconds, one entry per message or
/// invocation: recorded only when asked (the bench), as it grows with every message.
#[derive(Debug, Default, Clone)]
pub struct Timings {
    /// Per message: SQS `SentTimestamp` → the invocation that carried it started (the mapping's
    /// polling and its batching window).
    pub in_queue_ms: Vec<f64>,
    /// Per invocation: the function's run.
    pub invocation_ms: Vec<f64>,
}

/// A snapshot of [`EsmStats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub struct EsmSnapshot {
    /// See [`EsmStats::received`].
    pub received: u64,
    /// See [`EsmStats::invocations`].
    pub invocations: u64,
    /// See [`EsmStats::deleted`].
    pub deleted: u64,
    /// See [`EsmStats::item_failures`].
    pub item_failures: u64,
    /// See [`EsmStats::function_errors`].
    pub function_errors: u64,
    /// See [`EsmStats::malformed_responses`].
    pub malformed_responses: u64,
    /// See [`EsmStats::max_in_flight`].
    pub max_in_flight: u64,
}

impl EsmStats {
    /// The current values.
    pub fn snapshot(&self) -> EsmSnapshot {
        let r = |a: &AtomicU64| a.load(Ordering::Relaxed);
        EsmSnapshot {
            received: r(&self.received),
            invocations: r(&self.invocations),
            deleted: r(&self.deleted),
            item_failures: r(&self.item_failures),
            function_errors: r(&self.function_errors),
            malformed_responses: r(&self.malformed_responses),
            max_in_flight: r(&self.max_in_flight),
        }
    }
}

/// Errors that stop a mapping.
#[derive(Debug, Error)]
pub enum EsmError {
    /// The mapping cannot run as configured.
    #[error(transparent)]
    Config(#[from] crate::config::EsmConfigError),
    /// The function's timeout exceeds the queue's visibility timeout (AWS refuses such a mapping).
    #[error(
        "function {function}: timeout {timeout:?} exceeds the visibility timeout {visibility:?} of its queue"
    )]
    VisibilityTooShort {
        /// Function logical id.
        function: String,
        /// The function's timeout.
        timeout: Duration,
        /// The queue's visibility timeout.
        visibility: Duration,
    },
    /// SQS failed in a way that retrying did not fix.
    #[error(transparent)]
    Sqs(#[from] AwsError),
}

/// What a response means for the batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Delete every message.
    AllSucceeded,
    /// Delete all but these message ids.
    Partial(HashSet<String>),
    /// Delete nothing: the function failed, or its response broke the format.
    BatchFailed(String),
}

/// Interprets a function's outcome for a batch of `ids`, per AWS's rules (see module docs).
pub fn verdict(
    outcome: &Result<Value, FunctionError>,
    ids: &HashSet<String>,
    report_batch_item_failures: bool,
) -> Verdict {
    let response = match outcome {
        Err(e) => return Verdict::BatchFailed(format!("function error: {e}")),
        Ok(r) => r,
    };
    if !report_batch_item_failures {
        return Verdict::AllSucceeded;
    }
    let failures = match response {
        Value::Null => return Verdict::AllSucceeded,
        Value::Object(m) => match m.get("batchItemFailures") {
            None | Some(Value::Null) => return Verdict::AllSucceeded,
            Some(Value::Array(a)) => a,
            Some(_) => return Verdict::BatchFailed("batchItemFailures is not a list".into()),
        },
        _ => return Verdict::BatchFailed("the response is not a JSON object".into()),
    };
    let mut failed = HashSet::new();
    for item in failures {
        match item.get("itemIdentifier") {
            Some(Value::String(id)) if !id.is_empty() && ids.contains(id) => {
                failed.insert(id.clone());
            }
            Some(Value::String(id)) if !id.is_empty() => {
                return Verdict::BatchFailed(format!("itemIdentifier {id} is not in the batch"));
            }
            _ => return Verdict::BatchFailed("an itemIdentifier is missing, null or empty".into()),
        }
    }
    if failed.is_empty() {
        Verdict::AllSucceeded
    } else {
        Verdict::Partial(failed)
    }
}

/// Adds one invocation that started at `started` with `batch` to `timings`.
fn record(timings: &std::sync::Mutex<Timings>, batch: &[Message], started: std::time::SystemTime) {
    let ms = |t: std::time::SystemTime| {
        t.duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    let Ok(mut t) = timings.lock() else {
        return;
    };
    let start = ms(started);
    t.invocation_ms
        .push(started.elapsed().map_or(0.0, |d| d.as_secs_f64() * 1000.0));
    for m in batch {
        let sent = m
            .attributes()
            .and_then(|a| a.get(&MessageSystemAttributeName::SentTimestamp))
            .and_then(|v| v.parse::<f64>().ok());
        if let Some(sent) = sent {
            t.in_queue_ms.push((start - sent).max(0.0));
        }
    }
}

/// An SQS event source mapping bound to a function.
#[derive(Clone)]
pub struct SqsEventSourceMapping {
    config: Arc<EsmConfig>,
    sqs: aws_sdk_sqs::Client,
    function: Arc<dyn LocalFunction>,
    stats: Arc<EsmStats>,
    switch: EsmSwitch,
}

/// A running mapping's on/off switch, as `UpdateEventSourceMapping`'s `Enabled` turns a
/// deployed one: off, its pollers receive nothing (invocations running finish); on, they poll
/// again. Cheap to clone; on by default.
#[derive(Debug, Clone)]
pub struct EsmSwitch(Arc<std::sync::atomic::AtomicBool>);

impl Default for EsmSwitch {
    fn default() -> Self {
        EsmSwitch(Arc::new(std::sync::atomic::AtomicBool::new(true)))
    }
}

impl EsmSwitch {
    /// Whether the mapping polls.
    pub fn is_on(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// Turns it on or off.
    pub fn set(&self, on: bool) {
        self.0.store(on, Ordering::SeqCst);
    }
}

impl std::fmt::Debug for SqsEventSourceMapping {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqsEventSourceMapping")
            .field("config", &self.config)
            .finish()
    }
}

impl SqsEventSourceMapping {
    /// A mapping that invokes `function` with batches from `config.queue_url`.
    pub fn new(
        config: EsmConfig,
        sqs: aws_sdk_sqs::Client,
        function: Arc<dyn LocalFunction>,
    ) -> Result<SqsEventSourceMapping, EsmError> {
        config.validate()?;
        Ok(SqsEventSourceMapping {
            config: Arc::new(config),
            sqs,
            function,
            stats: Arc::new(EsmStats::default()),
            switch: EsmSwitch::default(),
        })
    }

    /// The same mapping under `switch` (shared with whoever turns it, such as the function
    /// itself through its local adapter).
    pub fn with_switch(mut self, switch: EsmSwitch) -> SqsEventSourceMapping {
        self.switch = switch;
        self
    }

    /// The mapping's switch.
    pub fn switch(&self) -> EsmSwitch {
        self.switch.clone()
    }

    /// Records where each message's time goes ([`EsmStats::timings`]), from now on. Call it
    /// before [`SqsEventSourceMapping::run`].
    pub fn record_timings(&mut self) {
        self.stats = Arc::new(EsmStats {
            timings: Some(std::sync::Mutex::new(Timings::default())),
            ..EsmStats::default()
        });
    }

    /// The counters of this mapping.
    pub fn stats(&self) -> Arc<EsmStats> {
        self.stats.clone()
    }

    /// The configuration.
    pub fn config(&self) -> &EsmConfig {
        &self.config
    }

    /// Polls and invokes until `shutdown` is cancelled, then lets running invocations finish.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), EsmError> {
        if !self.config.enabled {
            info!(function = %self.config.function, "Event source mapping disabled.");
            return Ok(());
        }
        let visibility = self.visibility_timeout().await?;
        if self.config.function_timeout > visibility {
            return Err(EsmError::VisibilityTooShort {
                function: self.config.function.clone(),
                timeout: self.config.function_timeout,
                visibility,
            });
        }
        info!(
            function = %self.config.function,
            queue = %self.config.queue_url,
            pollers = self.config.pollers(),
            batch_size = self.config.batch_size,
            "Event source mapping started."
        );
        let result = self.poll_loop(&shutdown).await;
        info!(function = %self.config.function, "Event source mapping stopped.");
        result
    }

    async fn visibility_timeout(&self) -> Result<Duration, EsmError> {
        let out = self
            .sqs
            .get_queue_attributes()
            .queue_url(&self.config.queue_url)
            .attribute_names(QueueAttributeName::VisibilityTimeout)
            .send()
            .await
            .map_err(|e| AwsError::sdk("sqs:GetQueueAttributes", e))?;
        let secs = out
            .attributes()
            .and_then(|a| a.get(&QueueAttributeName::VisibilityTimeout))
            .and_then(|v| v.parse().ok())
            .unwrap_or(30);
        Ok(Duration::from_secs(secs))
    }

    /// One poller gathers batches; each batch is invoked on its own task, at most
    /// `pollers()` at a time. The poller waits for a free slot before receiving more, so no
    /// message sits in flight waiting for a function slot.
    async fn poll_loop(&self, shutdown: &CancellationToken) -> Result<(), EsmError> {
        let slots = Arc::new(tokio::sync::Semaphore::new(self.config.pollers()));
        let mut invocations = tokio::task::JoinSet::new();
        let carry: std::sync::Mutex<Vec<Message>> = std::sync::Mutex::new(Vec::new());
        // SQS unreachable or throttling: back off like Lambda's pollers, never give up.
        let log_failure = |f: &Failed<'_, AwsError>| {
            warn!(error = %f.error, delay = ?f.delay, "Polling failed; retrying.");
            true
        };
        let policy = Policy::forever(hub_core::retry::Backoff::default());
        while !shutdown.is_cancelled() {
            while invocations.try_join_next().is_some() {}
            if !self.switch.is_on() {
                // Off: receive nothing (what is gathered and carried waits for its visibility
                // timeout, as on AWS).
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep(Duration::from_millis(100)) => continue,
                }
            }
            let permit = tokio::select! {
                _ = shutdown.cancelled() => break,
                p = slots.clone().acquire_owned() => p.expect("the semaphore is never closed"),
            };
            let gathered = tokio::select! {
                _ = shutdown.cancelled() => break,
                out = retry(policy, log_failure, || self.gather_carried(&carry, shutdown)) => out.result,
            };
            // A forever policy whose classifier always retries ends only with a batch.
            let Ok(batch) = gathered else { continue };
            if batch.is_empty() {
                continue;
            }
            let me = self.clone();
            invocations.spawn(async move {
                me.invoke_and_settle(batch).await;
                drop(permit);
            });
        }
        // Running invocations finish and settle; messages gathered but not invoked return to
        // the queue when their visibility timeout runs out.
        while invocations.join_next().await.is_some() {}
        Ok(())
    }

    /// [`Self::gather`] with the messages carried over from the last batch kept in `carry`.
    async fn gather_carried(
        &self,
        carry: &std::sync::Mutex<Vec<Message>>,
        shutdown: &CancellationToken,
    ) -> Result<Vec<Message>, AwsError> {
        let lock = || {
            carry
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        };
        let mut carried = std::mem::take(&mut *lock());
        let batch = self.gather(&mut carried, shutdown).await;
        *lock() = carried;
        batch
    }

    /// Gathers one batch: waits for a first message (long polls of [`EsmConfig::idle_wait`]),
    /// then fills up within the batching window: long polls while a second or more of it is
    /// left, then one sweep at its end (short polls while they come back full).
    async fn gather(
        &self,
        carry: &mut Vec<Message>,
        shutdown: &CancellationToken,
    ) -> Result<Vec<Message>, AwsError> {
        let mut batch: Vec<Message> = std::mem::take(carry);
        let mut bytes: usize = batch.iter().map(message_size).sum();
        let mut deadline =
            (!batch.is_empty()).then(|| Instant::now() + self.config.batching_window);
        let idle_wait = Duration::from_secs(self.config.idle_wait.as_secs().clamp(1, 20));
        while batch.len() < self.config.batch_size {
            if batch.is_empty() && !self.switch.is_on() {
                // Turned off while waiting for a first message.
                break;
            }
            let (wait, sweep) = match deadline {
                None => (idle_wait, false),
                Some(_) if self.config.batching_window.is_zero() => break,
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left >= Duration::from_secs(1) {
                        (Duration::from_secs(1), false)
                    } else {
                        // The window's end: wait it out, then take what is there.
                        tokio::select! {
                            _ = shutdown.cancelled() => break,
                            _ = tokio::time::sleep(left) => {}
                        }
                        (Duration::ZERO, true)
                    }
                }
            };
            let room = (self.config.batch_size - batch.len()).min(SQS_BATCH_LIMIT);
            let received = tokio::select! {
                // Keep what was gathered for the invocation; stop waiting for more.
                _ = shutdown.cancelled() => break,
                r = self.receive(room, wait) => r?,
            };
            let full = received.len() >= room;
            if !received.is_empty() {
                self.stats
                    .received
                    .fetch_add(received.len() as u64, Ordering::Relaxed);
            }
            for m in received {
                let size = message_size(&m);
                if bytes + size > MAX_PAYLOAD_BYTES && !batch.is_empty() {
                    carry.push(m);
                } else {
                    bytes += size;
                    batch.push(m);
                }
            }
            if !carry.is_empty() || (sweep && !full) {
                break;
            }
            if deadline.is_none() && !batch.is_empty() {
                deadline = Some(Instant::now() + self.config.batching_window);
            }
        }
        Ok(batch)
    }

    async fn receive(&self, max: usize, wait: Duration) -> Result<Vec<Message>, AwsError> {
        let out = self
            .sqs
            .receive_message()
            .queue_url(&self.config.queue_url)
            .max_number_of_messages(max as i32)
            .wait_time_seconds(wait.as_secs() as i32)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send()
            .await
            .map_err(|e| AwsError::sdk("sqs:ReceiveMessage", e))?;
        Ok(out.messages.unwrap_or_default())
    }

    /// Invokes the function once with `batch`, as the mapping would, without deleting anything
    /// (benchmarks measure the handler this way, with no poller beside it).
    pub async fn invoke_batch(&self, batch: &[Message]) -> Result<Value, FunctionError> {
        let context = self.context(&format!("local-{}", fastrand_id()));
        self.stats.invocations.fetch_add(1, Ordering::Relaxed);
        let timeout = self.config.function_timeout;
        match tokio::time::timeout(timeout, self.function.invoke(self.payload(batch), context))
            .await
        {
            Ok(r) => r,
            Err(_) => Err(FunctionError::Timeout(timeout)),
        }
    }

    async fn invoke_and_settle(&self, batch: Vec<Message>) {
        let ids: HashSet<String> = batch.iter().filter_map(|m| m.message_id.clone()).collect();
        let request_id = format!("local-{}", fastrand_id());
        let span = info_span!("invoke", function = %self.config.function, request_id = %request_id, messages = batch.len());
        async {
            let payload = self.payload(&batch);
            let context = self.context(&request_id);
            let now = self.stats.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.stats.max_in_flight.fetch_max(now, Ordering::SeqCst);
            self.stats.invocations.fetch_add(1, Ordering::Relaxed);
            let timeout = self.config.function_timeout;
            let started = std::time::SystemTime::now();
            let outcome = match tokio::time::timeout(timeout, self.function.invoke(payload, context)).await {
                Ok(r) => r,
                Err(_) => Err(FunctionError::Timeout(timeout)),
            };
            if let Some(timings) = &self.stats.timings {
                record(timings, &batch, started);
            }
            self.stats.in_flight.fetch_sub(1, Ordering::SeqCst);
            let to_delete: Vec<&Message> = match verdict(&outcome, &ids, self.config.report_batch_item_failures) {
                Verdict::AllSucceeded => batch.iter().collect(),
                Verdict::Partial(failed) => {
                    self.stats.item_failures.fetch_add(failed.len() as u64, Ordering::Relaxed);
                    debug!(failed = failed.len(), "Partial batch failure; failed messages stay.");
                    batch
                        .iter()
                        .filter(|m| !m.message_id.as_ref().is_some_and(|id| failed.contains(id)))
                        .collect()
                }
                Verdict::BatchFailed(reason) => {
                    if outcome.is_err() {
                        self.stats.function_errors.fetch_add(1, Ordering::Relaxed);
                    } else {
                        self.stats.malformed_responses.fetch_add(1, Ordering::Relaxed);
                    }
                    warn!(%reason, "Batch failed; its messages return after the visibility timeout.");
                    Vec::new()
                }
            };
            self.delete(&to_delete).await;
        }
        .instrument(span)
        .await
    }

    /// Deletes messages in batches of ten. A failed delete leaves the message to reappear
    /// (at-least-once, as in AWS); the handler's writes are idempotent.
    async fn delete(&self, messages: &[&Message]) {
        for chunk in messages.chunks(SQS_BATCH_LIMIT) {
            let entries: Vec<_> = chunk
                .iter()
                .enumerate()
                .filter_map(|(i, m)| {
                    DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(m.receipt_handle.clone()?)
                        .build()
                        .ok()
                })
                .collect();
            if entries.is_empty() {
                continue;
            }
            let n = entries.len() as u64;
            match self
                .sqs
                .delete_message_batch()
                .queue_url(&self.config.queue_url)
                .set_entries(Some(entries))
                .send()
                .await
            {
                Ok(out) => {
                    let failed = out.failed().len() as u64;
                    self.stats.deleted.fetch_add(n - failed, Ordering::Relaxed);
                    if failed > 0 {
                        warn!(
                            failed,
                            "Some deletes failed; those messages will be redelivered."
                        );
                    }
                }
                Err(e) => {
                    let e = AwsError::sdk("sqs:DeleteMessageBatch", e);
                    warn!(error = %e, "Delete failed; the batch will be redelivered.");
                }
            }
        }
    }

    fn context(&self, request_id: &str) -> Context {
        let deadline = SystemTime::now() + self.config.function_timeout;
        let mut config = Config::default();
        config.function_name = self.config.function.clone();
        let mut c = Context::default();
        c.request_id = request_id.to_string();
        c.deadline = deadline
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or_default();
        c.invoked_function_arn = self.config.function.clone();
        c.env_config = Arc::new(config);
        c
    }

    /// The event Lambda sends for SQS: `{"Records": [...]}`, field names as on the wire.
    fn payload(&self, batch: &[Message]) -> Value {
        let records: Vec<Value> = batch
            .iter()
            .map(|m| {
                let attributes: Map<String, Value> = m
                    .attributes()
                    .map(|a| {
                        a.iter()
                            .map(|(k, v)| (k.as_str().to_string(), Value::String(v.clone())))
                            .collect()
                    })
                    .unwrap_or_default();
                let message_attributes: Map<String, Value> = m
                    .message_attributes()
                    .map(|a| {
                        a.iter()
                            .map(|(k, v)| {
                                let mut o = Map::new();
                                if let Some(s) = v.string_value() {
                                    o.insert("stringValue".into(), json!(s));
                                }
                                if let Some(b) = v.binary_value() {
                                    o.insert(
                                        "binaryValue".into(),
                                        json!(aws_smithy_types::base64::encode(b.as_ref())),
                                    );
                                }
                                o.insert("stringListValues".into(), json!([]));
                                o.insert("binaryListValues".into(), json!([]));
                                o.insert("dataType".into(), json!(v.data_type()));
                                (k.clone(), Value::Object(o))
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                json!({
                    "messageId": m.message_id(),
                    "receiptHandle": m.receipt_handle(),
                    "body": m.body(),
                    "attributes": attributes,
                    "messageAttributes": message_attributes,
                    "md5OfBody": m.md5_of_body(),
                    "md5OfMessageAttributes": m.md5_of_message_attributes(),
                    "eventSource": "aws:sqs",
                    "eventSourceARN": self.config.queue_arn,
                    "awsRegion": self.config.region,
                })
            })
            .collect();
        json!({ "Records": records })
    }
}

fn message_size(m: &Message) -> usize {
    m.body().map(str::len).unwrap_or(0) + 512
}

fn fastrand_id() -> String {
    format!("{:016x}", fastrand::u64(..))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> HashSet<String> {
        ["a", "b", "c"].iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn success_responses() {
        // Scenario: null, {}, a null list and an empty list all mean the whole batch succeeded;
        // without ReportBatchItemFailures any successful response does.
        for r in [
            json!(null),
            json!({}),
            json!({"batchItemFailures": null}),
            json!({"batchItemFailures": []}),
        ] {
            assert_eq!(verdict(&Ok(r), &ids(), true), Verdict::AllSucceeded);
        }
        let partial = json!({"batchItemFailures": [{"itemIdentifier": "a"}]});
        assert_eq!(verdict(&Ok(partial), &ids(), false), Verdict::AllSucceeded);
    }

    #[test]
    fn partial_failures_name_messages() {
        // Scenario: listed ids stay, the others are deleted.
        let r = json!({"batchItemFailures": [{"itemIdentifier": "a"}, {"itemIdentifier": "c"}]});
        assert_eq!(
            verdict(&Ok(r), &ids(), true),
            Verdict::Partial(["a", "c"].iter().map(|s| s.to_string()).collect())
        );
    }

    #[test]
    fn malformed_responses_fail_the_batch() {
        // Scenario: every malformed shape AWS lists fails the whole batch.
        for r in [
            json!("ok"),
            json!([1]),
            json!({"batchItemFailures": "a"}),
            json!({"batchItemFailures": [{"itemIdentifier": ""}]}),
            json!({"batchItemFailures": [{"itemIdentifier": null}]}),
            json!({"batchItemFailures": [{"itemId": "a"}]}),
            json!({"batchItemFailures": [{"itemIdentifier": "zzz"}]}),
        ] {
            assert!(
                matches!(
                    verdict(&Ok(r.clone()), &ids(), true),
                    Verdict::BatchFailed(_)
                ),
                "{r}"
            );
        }
        let err = Err(FunctionError::Timeout(Duration::from_secs(1)));
        assert!(matches!(
            verdict(&err, &ids(), true),
            Verdict::BatchFailed(_)
        ));
        let err = Err(FunctionError::Timeout(Duration::from_secs(1)));
        assert!(matches!(
            verdict(&err, &ids(), false),
            Verdict::BatchFailed(_)
        ));
    }
}
