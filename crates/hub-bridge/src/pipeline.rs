//! A chunk of Kafka records end to end: parse, route, claim-check what is too large, publish in
//! batches (concurrently, behind the breaker), dead-letter what cannot be published.
//!
//! [`Pipeline::process`] returns only when **every** record of the chunk is published or
//! dead-lettered: transient failures (SNS, SQS or S3 down, throttled) are retried with
//! full-jitter backoff for as long as it takes, behind the circuit breaker for SNS. A caller
//! that cannot wait (shutdown, a Lambda's deadline) drops the future: records not yet done are
//! simply not committed, and Kafka delivers them again (duplicates are harmless downstream:
//! writes are version-guarded and event ids deterministic).

use crate::batch::pack_by;
use crate::breaker::{BreakerState, CircuitBreaker};
use crate::dead_letter::{BridgeDeadLetter, DeadLetterClass, ErrorContext};
use crate::message::Message;
use crate::metrics::BridgeMetrics;
use crate::ports::{ClaimStore, DeadLetters, EntryFailure, Publisher};
use crate::record::KafkaRecord;
use crate::route::route;
use crate::settings::Settings;
use futures::StreamExt;
use hub_core::retry::{Failed, Policy, retry};
use hub_core::{ErrorClass, PortError};
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use tracing::{debug, error, warn};

/// What one chunk became.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ChunkReport {
    /// Records in the chunk.
    pub records: usize,
    /// Events published.
    pub published: usize,
    /// Dead letters sent (records, thin events, events SNS refused).
    pub dead_lettered: usize,
    /// Events published as claim checks.
    pub claim_checked: usize,
}

/// The pipeline and its adapters.
#[derive(Debug)]
pub struct Pipeline<P, D, C> {
    publisher: P,
    dead_letters: D,
    claims: C,
    settings: Settings,
    breaker: Arc<CircuitBreaker>,
    metrics: Arc<BridgeMetrics>,
}

type Indexed = (usize, Message);

/// The pipeline over the in-memory adapters (tests, local experiments).
pub type MemoryPipeline = Pipeline<
    crate::ports::MemoryPublisher,
    crate::ports::MemoryDeadLetters,
    crate::ports::MemoryClaims,
>;

impl MemoryPipeline {
    /// A pipeline over fresh in-memory adapters.
    pub fn in_memory(settings: Settings) -> MemoryPipeline {
        Pipeline::new(
            Default::default(),
            Default::default(),
            Default::default(),
            settings,
            Arc::new(BridgeMetrics::default()),
        )
    }
}

impl<P: Publisher, D: DeadLetters, C: ClaimStore> Pipeline<P, D, C> {
    /// A pipeline over these adapters.
    pub fn new(
        publisher: P,
        dead_letters: D,
        claims: C,
        settings: Settings,
        metrics: Arc<BridgeMetrics>,
    ) -> Pipeline<P, D, C> {
        Pipeline {
            publisher,
            dead_letters,
            claims,
            breaker: Arc::new(CircuitBreaker::new(settings.breaker)),
            settings,
            metrics,
        }
    }

    /// The breaker around SNS (the consumer pauses while it is open).
    pub fn breaker(&self) -> &Arc<CircuitBreaker> {
        &self.breaker
    }

    /// The metrics.
    pub fn metrics(&self) -> &Arc<BridgeMetrics> {
        &self.metrics
    }

    /// The publisher (tests inspect it).
    pub fn publisher(&self) -> &P {
        &self.publisher
    }

    /// The claim store (tests inspect it).
    pub fn claims(&self) -> &C {
        &self.claims
    }

    /// The dead-letter port (tests inspect it).
    pub fn dead_letters(&self) -> &D {
        &self.dead_letters
    }

    /// Publishes or dead-letters every record of `records`; see the module documentation.
    pub async fn process(&self, records: &[KafkaRecord]) -> ChunkReport {
        let now = self.settings.clock.now();
        self.metrics.add_received(records.len() as u64);
        let mut messages: Vec<Indexed> = Vec::with_capacity(records.len());
        let mut letters: Vec<BridgeDeadLetter> = Vec::new();
        for (i, record) in records.iter().enumerate() {
            let routed = route(record, &self.settings, now);
            messages.extend(routed.messages.into_iter().map(|m| (i, m)));
            for d in &routed.dead_letters {
                warn!(
                    record = %record.coordinates(),
                    correlation_id = d.correlation_id.as_deref().unwrap_or(""),
                    error_class = %d.error.class,
                    error_kind = %d.error.kind,
                    error = %d.error.message,
                    "Record dead-lettered."
                );
            }
            letters.extend(routed.dead_letters);
        }
        let mut report = ChunkReport {
            records: records.len(),
            ..ChunkReport::default()
        };

        // Events over SNS's limit travel as claim checks (rare: one at a time).
        for (_, m) in &mut messages {
            if m.too_large() {
                let key = m.claim_key(&self.settings.claim_prefix);
                let body = m.body.clone().into_bytes();
                let uri = self
                    .until_done("claims:put", || self.claims.put(&key, body.clone()))
                    .await;
                *m = std::mem::replace(m, placeholder()).into_claim_check(uri);
                report.claim_checked += 1;
                self.metrics.add_claim_checks(1);
            }
        }

        let batches = pack_by(messages, |(_, m)| m.size());
        let outcomes: Vec<(usize, Vec<(Indexed, EntryFailure)>)> = futures::stream::iter(batches)
            .map(|b| self.publish_until_done(b))
            .buffer_unordered(self.settings.publish_concurrency)
            .collect()
            .await;
        let mut rejected = Vec::new();
        for (published, refused) in outcomes {
            report.published += published;
            rejected.extend(refused);
        }

        for ((i, m), failure) in rejected {
            error!(
                event_id = %m.event_id,
                correlation_id = %m.correlation_id,
                code = %failure.code,
                error = %failure.message,
                "SNS refused the event; it goes to the bridge DLQ."
            );
            let mut d = BridgeDeadLetter::new(
                &records[i],
                ErrorContext {
                    class: DeadLetterClass::Permanent,
                    kind: "publish_rejected".into(),
                    message: format!("{}: {}", failure.code, failure.message),
                    path: None,
                },
                self.settings.clock.now(),
            );
            d.event_id = Some(m.event_id);
            d.correlation_id = Some(m.correlation_id);
            d.entity = Some(m.entity.to_string());
            letters.push(d);
        }

        report.dead_lettered = self.send_dead_letters(letters).await;
        self.metrics.add_records_done(records.len() as u64);
        report
    }

    /// Sends `letters` to the DLQ in batches of up to ten (within 256 KiB), until every one is
    /// sent; returns how many. Values too large to travel inline go to the claim store first.
    async fn send_dead_letters(&self, letters: Vec<BridgeDeadLetter>) -> usize {
        if letters.is_empty() {
            return 0;
        }
        let letters: Vec<BridgeDeadLetter> = futures::stream::iter(letters)
            .map(|d| self.claim_check_value(d))
            .buffered(self.settings.publish_concurrency)
            .collect()
            .await;
        let batches = pack_by(letters, |d| d.sqs_bytes());
        futures::stream::iter(batches)
            .map(|b| self.send_letter_batch(b))
            .buffer_unordered(self.settings.publish_concurrency)
            .collect::<Vec<usize>>()
            .await
            .into_iter()
            .sum()
    }

    /// One batch of dead letters, sent until every letter is: only the ones not sent are sent
    /// again. The pending letters are copied into each attempt, so an attempt cut short by the
    /// call timeout loses none of them.
    async fn send_letter_batch(&self, batch: Vec<BridgeDeadLetter>) -> usize {
        let n = batch.len();
        let pending = Mutex::new(batch);
        self.until_done("dlq:send", || self.send_letters_once(&pending))
            .await;
        n
    }

    async fn send_letters_once(
        &self,
        pending: &Mutex<Vec<BridgeDeadLetter>>,
    ) -> Result<(), PortError> {
        let lock = || pending.lock().unwrap_or_else(PoisonError::into_inner);
        let batch = lock().clone();
        let refs: Vec<&BridgeDeadLetter> = batch.iter().collect();
        let failed = self.dead_letters.send_batch(&refs).await?;
        let again: std::collections::BTreeSet<usize> = failed.iter().map(|(i, _)| *i).collect();
        for (i, d) in batch.iter().enumerate() {
            if !again.contains(&i) {
                self.metrics.add_dead_lettered(1);
                if d.error.class == DeadLetterClass::NeedsEnrichment {
                    self.metrics.add_needs_enrichment(1);
                }
            }
        }
        let Some((_, first)) = failed.into_iter().next() else {
            lock().clear();
            return Ok(());
        };
        let total = batch.len();
        *lock() = batch
            .into_iter()
            .enumerate()
            .filter(|(i, _)| again.contains(i))
            .map(|(_, d)| d)
            .collect();
        Err(PortError::new(
            first.operation,
            first.class,
            format!("{} of {total} dead letters not sent: {first}", again.len()),
        ))
    }

    /// `d` with its value in the claim store when it is too large to travel inline.
    async fn claim_check_value(&self, mut d: BridgeDeadLetter) -> BridgeDeadLetter {
        if d.value_too_large() {
            let key = d.value_object_key(&self.settings.claim_prefix);
            let value = d.to_record(None).map(|r| r.value).unwrap_or_default();
            let len = value.len() as u64;
            let uri = self
                .until_done("claims:put", || self.claims.put(&key, value.clone()))
                .await;
            d.value_b64 = None;
            d.value_claim_check = Some(hub_model::claim_check::ClaimCheck { uri, bytes: len });
        }
        d
    }

    /// Calls `op` until it succeeds, waiting with full-jitter backoff between attempts. A
    /// permanent error (a missing queue or bucket, access denied) is a configuration problem an
    /// operator must fix: logged at ERROR and retried, never turned into data loss.
    /// `call`, failing as a transient error when it is not answered within the call timeout.
    async fn bounded<T>(
        &self,
        operation: &'static str,
        call: impl Future<Output = Result<T, PortError>>,
    ) -> Result<T, PortError> {
        let limit = self.settings.call_timeout;
        tokio::time::timeout(limit, call).await.unwrap_or_else(|_| {
            Err(PortError::new(
                operation,
                ErrorClass::Transient,
                format!("no answer within {} ms", limit.as_millis()),
            ))
        })
    }

    async fn until_done<T, F, Fut>(&self, what: &'static str, mut op: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, PortError>>,
    {
        let mut log_and_count = |f: &Failed<'_, PortError>| {
            let (attempt, e) = (f.attempt, f.error);
            if e.class == ErrorClass::Transient {
                warn!(operation = what, attempt, error = %e, "Call failed; retrying.");
            } else {
                error!(operation = what, attempt, error = %e, "Call refused; retrying until the configuration is fixed.");
            }
            self.metrics.add_retries(1);
            true
        };
        // A forever policy whose classifier always says retry returns only on success.
        let policy = Policy::forever(self.settings.retry);
        loop {
            let out = retry(policy, &mut log_and_count, || self.bounded(what, op())).await;
            if let Ok(v) = out.result {
                return v;
            }
        }
    }

    /// Publishes one batch until every entry is published or refused for good; returns how
    /// many were published and the refused ones. Only the entries SNS failed are sent again.
    async fn publish_until_done(
        &self,
        batch: Vec<Indexed>,
    ) -> (usize, Vec<(Indexed, EntryFailure)>) {
        let state = Mutex::new(Publishing {
            pending: batch,
            total: 0,
            rejected: Vec::new(),
        });
        let mut log_and_count = |f: &Failed<'_, Unpublished>| {
            let attempt = f.attempt;
            let entries = match f.error {
                Unpublished::Entries(n) => *n,
                Unpublished::Call { error, entries } => {
                    if error.class == ErrorClass::Transient {
                        warn!(entries, attempt, error = %error, "PublishBatch failed; retrying.");
                    } else {
                        error!(entries, attempt, error = %error, "PublishBatch refused as a whole; retrying until the configuration is fixed.");
                    }
                    *entries
                }
            };
            self.metrics.add_retries(entries as u64);
            true
        };
        // A forever policy whose classifier always says retry returns only when all is done.
        let policy = Policy::forever(self.settings.retry);
        while retry(policy, &mut log_and_count, || self.publish_once(&state))
            .await
            .result
            .is_err()
        {}
        let done = state.into_inner().unwrap_or_else(PoisonError::into_inner);
        (done.total, done.rejected)
    }

    /// One `PublishBatch` of the entries still pending, through the breaker. The entries SNS
    /// failed and may take later stay pending; those it refused for good are set apart.
    async fn publish_once(&self, state: &Mutex<Publishing>) -> Result<(), Unpublished> {
        let lock = || state.lock().unwrap_or_else(PoisonError::into_inner);
        let pending = std::mem::take(&mut lock().pending);
        let permit = self.breaker.permit().await;
        let result = {
            let refs: Vec<&Message> = pending.iter().map(|(_, m)| m).collect();
            self.bounded("sns:PublishBatch", self.publisher.publish_batch(&refs))
                .await
        };
        let failures = match result {
            Ok(failures) => failures,
            Err(error) => {
                self.breaker_failure(permit);
                let entries = pending.len();
                lock().pending = pending;
                return Err(Unpublished::Call { error, entries });
            }
        };
        let sent = pending.len();
        let mut again = Vec::new();
        let mut refused = Vec::new();
        let mut published = 0u64;
        let now = self.settings.clock.now();
        for (i, item) in pending.into_iter().enumerate() {
            match failures.iter().find(|f| f.index == i) {
                None => {
                    published += 1;
                    self.metrics
                        .observe_latency_ms((now - item.1.occurred_at).num_milliseconds());
                    debug!(
                        event_id = %item.1.event_id,
                        correlation_id = %item.1.correlation_id,
                        "Event published."
                    );
                }
                Some(f) if f.retryable => again.push(item),
                Some(f) => refused.push((item, f.clone())),
            }
        }
        self.metrics.add_published(published);
        if again.len() == sent {
            self.breaker_failure(permit);
        } else {
            self.breaker_success(permit);
        }
        let left = again.len();
        let mut s = lock();
        s.total += published as usize;
        s.rejected.extend(refused);
        s.pending = again;
        if left == 0 {
            Ok(())
        } else {
            Err(Unpublished::Entries(left))
        }
    }

    fn breaker_failure(&self, permit: crate::breaker::Permit<'_>) {
        self.breaker.failure(permit);
        self.export_breaker();
    }

    fn breaker_success(&self, permit: crate::breaker::Permit<'_>) {
        self.breaker.success(permit);
        self.export_breaker();
    }

    fn export_breaker(&self) {
        self.metrics.set_breaker(
            self.breaker.state() != BreakerState::Closed,
            self.breaker.transitions(),
        );
    }
}

/// A batch being published: what is left, what went out, what SNS refused for good.
struct Publishing {
    pending: Vec<Indexed>,
    total: usize,
    rejected: Vec<(Indexed, EntryFailure)>,
}

/// Why an attempt left entries unpublished.
enum Unpublished {
    /// SNS failed this many entries of the batch, each of them retryable.
    Entries(usize),
    /// The whole call failed.
    Call { error: PortError, entries: usize },
}

fn placeholder() -> Message {
    Message {
        event_id: String::new(),
        correlation_id: String::new(),
        body: String::new(),
        attributes: Vec::new(),
        group_id: None,
        dedup_id: None,
        occurred_at: chrono::DateTime::<chrono::Utc>::MIN_UTC,
        entity: "",
    }
}
