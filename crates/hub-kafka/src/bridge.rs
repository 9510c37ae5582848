//! The bridge's long-running Kafka consumer: an rdkafka `StreamConsumer` in a consumer group
//! feeding [`hub_bridge::Pipeline`], at least once (DESIGN §4; Vector's `sources/kafka.rs`).
//!
//! - Records are gathered into chunks (`chunk_records`, or whatever arrived within `linger`)
//!   and each chunk is processed by a task of its own, up to `max_in_flight` chunks at once.
//! - `enable.auto.offset.store=false`: an offset is stored only when every record before it in
//!   its partition is published or dead-lettered ([`OffsetTracker`]); librdkafka commits stored
//!   offsets every `auto.commit.interval.ms` and on revoke and close.
//! - While every in-flight slot is taken and a chunk waits, the consumer stops reading
//!   (backpressure; a slot frees within one chunk's processing time).
//! - While the SNS circuit breaker is open, the consumer **pauses** its partitions (no
//!   fetching, no busy loop) and keeps polling so it stays in the group (an outage may outlast
//!   `max.poll.interval.ms`); it resumes when the breaker closes.
//! - On a rebalance, revoked partitions commit what is done (synchronously, before the new owner
//!   starts) and their in-flight work is dropped from the books (the new owner reads it again).
//! - `shutdown` resolving (SIGTERM/SIGINT in the binary) stops reading, lets in-flight work
//!   finish within `drain_timeout`, then commits and leaves the group within `close_timeout`:
//!   librdkafka's final commit and close block while the broker is unreachable, so they run on
//!   a thread of their own and `run` returns when the bound passes (what was not committed is
//!   read again after a restart; the version guard drops the duplicates).
//! - [`ConsumerHealth`] is what the health endpoint reads: partitions assigned, the loop's last
//!   turn (liveness), stopping.

use crate::KafkaAdapterError;
use crate::auth::{CREDENTIAL_PROPERTIES, Credentials};
use hub_bridge::offsets::{Lease, OffsetTracker};
use hub_bridge::{
    BreakerState, BridgeMetrics, ClaimStore, DeadLetters, KafkaRecord, Pipeline, Publisher,
};
use hub_core::config::{ConfigError, Env};
use rdkafka::consumer::{
    BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer,
};
use rdkafka::message::Message as _;
use rdkafka::statistics::Statistics;
use rdkafka::{ClientConfig, ClientContext, Offset, TopicPartitionList};
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tracing::{debug, info, warn};

/// The consumer's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerConfig {
    /// `bootstrap.servers`.
    pub bootstrap_servers: String,
    /// `group.id`.
    pub group_id: String,
    /// Topics; an entry starting with `^` is a regular expression (librdkafka's convention).
    pub topics: Vec<String>,
    /// Further librdkafka properties (TLS, timeouts), passed through as they are.
    pub properties: Vec<(String, String)>,
    /// Credentials (SASL, client certificate, CA), from Secrets Manager
    /// ([`crate::auth::AuthConfig::credentials`]); applied after `properties`.
    pub credentials: Credentials,
    /// Records per chunk at most.
    pub chunk_records: usize,
    /// How long a partial chunk waits for more records.
    pub linger: Duration,
    /// Chunks processed at once at most.
    pub max_in_flight: usize,
    /// How long shutdown waits for in-flight work.
    pub drain_timeout: Duration,
    /// How long shutdown waits for the final commit and leaving the group.
    pub close_timeout: Duration,
    /// How often an EMF metrics line is written (zero: never).
    pub metrics_interval: Duration,
}

impl ConsumerConfig {
    /// Reads the configuration; errors name the variable.
    ///
    /// `KAFKA_BOOTSTRAP_SERVERS` (required), `KAFKA_GROUP_ID` (default `sap-sync-hub-bridge`),
    /// `KAFKA_TOPICS` (required, comma-separated; `^…` entries are regexes), `KAFKA_PROP_<NAME>`
    /// (any librdkafka property: `KAFKA_PROP_SOCKET_TIMEOUT_MS=30000` sets
    /// `socket.timeout.ms`), `BRIDGE_CHUNK_RECORDS` (500), `BRIDGE_LINGER_MS` (5),
    /// `BRIDGE_MAX_IN_FLIGHT` (8), `BRIDGE_DRAIN_TIMEOUT_MS` (20000),
    /// `BRIDGE_CLOSE_TIMEOUT_MS` (5000), `BRIDGE_METRICS_INTERVAL_MS` (10000; 0 disables).
    /// Credentials are not read here ([`crate::auth`]); a `KAFKA_PROP_` naming one is refused.
    pub fn from_env(env: &Env) -> Result<ConsumerConfig, ConfigError> {
        let topics: Vec<String> = env
            .required("KAFKA_TOPICS")?
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .collect();
        if topics.is_empty() {
            return Err(ConfigError {
                variable: "KAFKA_TOPICS".into(),
                message: "names no topic".into(),
            });
        }
        let mut properties = Vec::new();
        for (name, value) in env.with_prefix("KAFKA_PROP_") {
            let property = name.to_ascii_lowercase().replace('_', ".");
            if CREDENTIAL_PROPERTIES.contains(&property.as_str()) {
                return Err(ConfigError {
                    variable: format!("KAFKA_PROP_{name}"),
                    message: format!(
                        "{property} is a credential: put it in the secret KAFKA_SECRET_ARN names"
                    ),
                });
            }
            if RESERVED.contains(&property.as_str()) {
                return Err(ConfigError {
                    variable: format!("KAFKA_PROP_{name}"),
                    message: format!(
                        "{property} is set by the bridge (at-least-once delivery depends on it)"
                    ),
                });
            }
            properties.push((property, value));
        }
        Ok(ConsumerConfig {
            bootstrap_servers: env.required("KAFKA_BOOTSTRAP_SERVERS")?,
            group_id: env
                .get("KAFKA_GROUP_ID")
                .unwrap_or_else(|| "sap-sync-hub-bridge".into()),
            topics,
            properties,
            credentials: Credentials::default(),
            chunk_records: env.number("BRIDGE_CHUNK_RECORDS", 500, 1..=100_000)?,
            linger: env.millis("BRIDGE_LINGER_MS", 5, 0..=10_000)?,
            max_in_flight: env.number("BRIDGE_MAX_IN_FLIGHT", 8, 1..=1024)?,
            drain_timeout: env.millis("BRIDGE_DRAIN_TIMEOUT_MS", 20_000, 0..=600_000)?,
            close_timeout: env.millis("BRIDGE_CLOSE_TIMEOUT_MS", 5_000, 100..=600_000)?,
            metrics_interval: env.millis("BRIDGE_METRICS_INTERVAL_MS", 10_000, 0..=3_600_000)?,
        })
    }

    fn client_config(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.bootstrap_servers)
            .set("group.id", &self.group_id)
            .set("enable.auto.offset.store", "false")
            .set("enable.auto.commit", "true")
            .set("auto.commit.interval.ms", "1000")
            .set("auto.offset.reset", "earliest")
            .set("enable.partition.eof", "false")
            .set("statistics.interval.ms", "5000")
            // Bound what is prefetched (it is what may still arrive after a pause). The bound
            // must hold the largest record a topic can carry: librdkafka never fetches a
            // record bigger than it, so one such record stopped its partition for good (the
            // poison drill's 16 MiB records did, with a 16 MiB bound) instead of reaching
            // the parser and the DLQ as `too_large`.
            .set("queued.max.messages.kbytes", QUEUED_MAX_KBYTES)
            // When that bound is reached, librdkafka stops fetching a partition for this long
            // (default 1 s). The bound drains in a fraction of that, so the consumer starved
            // for the rest: the bench ran at half speed, its CPU going to idle wake-ups.
            .set("fetch.queue.backoff.ms", FETCH_QUEUE_BACKOFF_MS)
            // A member that dies without leaving (SIGKILL, a lost host) holds its partitions
            // until its session expires: librdkafka's 45 s left a restarted bridge waiting
            // that long. A rebalance costs the hub little (in-flight chunks read again, dropped
            // by the version guard), so the session is the brokers' usual minimum, with a
            // heartbeat every second (six missed before the member is evicted).
            // `KAFKA_PROP_SESSION_TIMEOUT_MS` overrides it, e.g. with static membership.
            .set("session.timeout.ms", SESSION_TIMEOUT_MS)
            .set("heartbeat.interval.ms", HEARTBEAT_INTERVAL_MS);
        for (k, v) in self.properties.iter().chain(self.credentials.properties()) {
            c.set(k, v);
        }
        c
    }
}

/// What the consumer loop tells the health endpoint. Shared (`Arc`) between [`run_with_health`]
/// and whoever serves `/health`.
#[derive(Debug)]
pub struct ConsumerHealth {
    since: std::time::Instant,
    /// Milliseconds from `since` to the loop's last turn; `u64::MAX` before the first.
    last_turn_ms: AtomicU64,
    assigned: AtomicUsize,
    joined: AtomicBool,
    stopping: AtomicBool,
}

impl Default for ConsumerHealth {
    fn default() -> ConsumerHealth {
        ConsumerHealth {
            since: std::time::Instant::now(),
            last_turn_ms: AtomicU64::new(u64::MAX),
            assigned: AtomicUsize::new(0),
            joined: AtomicBool::new(false),
            stopping: AtomicBool::new(false),
        }
    }
}

impl ConsumerHealth {
    fn turned(&self) {
        let ms = u64::try_from(self.since.elapsed().as_millis()).unwrap_or(u64::MAX - 1);
        self.last_turn_ms.store(ms, Ordering::Relaxed);
    }

    /// How long ago the consumer loop last turned (it turns at least once a second while it
    /// runs); `None` before its first turn.
    pub fn since_last_turn(&self) -> Option<Duration> {
        match self.last_turn_ms.load(Ordering::Relaxed) {
            u64::MAX => None,
            ms => Some(
                self.since
                    .elapsed()
                    .saturating_sub(Duration::from_millis(ms)),
            ),
        }
    }

    /// Partitions assigned to this member now.
    pub fn assigned_partitions(&self) -> usize {
        self.assigned.load(Ordering::Relaxed)
    }

    /// Whether the consumer has been through at least one rebalance (joined its group).
    pub fn joined(&self) -> bool {
        self.joined.load(Ordering::Relaxed)
    }

    /// Whether shutdown has begun.
    pub fn stopping(&self) -> bool {
        self.stopping.load(Ordering::Relaxed)
    }
}

/// How long librdkafka waits to fetch again once the prefetch bound is reached; overridable
/// with `KAFKA_PROP_FETCH_QUEUE_BACKOFF_MS`.
const FETCH_QUEUE_BACKOFF_MS: &str = "50";

/// librdkafka properties the bridge owns.
/// The consumer's session: how long a member that died without leaving keeps its partitions.
pub const SESSION_TIMEOUT_MS: &str = "6000";

/// The prefetch bound, in KiB: 64 MiB, four times the parser's record limit (16 MiB), so a
/// record over that limit still reaches the parser and the DLQ. Topics must not allow records
/// larger than this (`max.message.bytes`; Kafka's default is 1 MB, MSK's largest 8 MB).
pub const QUEUED_MAX_KBYTES: &str = "65536";
/// How often the consumer tells the group coordinator it is alive.
pub const HEARTBEAT_INTERVAL_MS: &str = "1000";

const RESERVED: &[&str] = &["enable.auto.offset.store", "group.id", "bootstrap.servers"];

/// The consumer's callbacks: rebalances and statistics.
struct BridgeContext {
    tracker: Arc<Mutex<OffsetTracker>>,
    metrics: Arc<BridgeMetrics>,
    health: Arc<ConsumerHealth>,
    assignment_changed: AtomicBool,
}

impl ClientContext for BridgeContext {
    fn stats(&self, statistics: Statistics) {
        let lag: i64 = statistics
            .topics
            .values()
            .flat_map(|t| t.partitions.values())
            .filter(|p| p.partition >= 0)
            .map(|p| p.consumer_lag.max(0))
            .sum();
        self.metrics.set_consumer_lag(lag);
    }
}

impl ConsumerContext for BridgeContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(revoked) = rebalance {
            let mut commit = TopicPartitionList::new();
            {
                let mut tracker = lock(&self.tracker);
                for e in revoked.elements() {
                    let topic: Arc<str> = e.topic().into();
                    if let Some(point) = tracker.revoke(&topic, e.partition()) {
                        let _ = commit.add_partition_offset(
                            e.topic(),
                            e.partition(),
                            Offset::Offset(point),
                        );
                    }
                }
            }
            if commit.count() > 0 {
                if let Err(e) = consumer.store_offsets(&commit) {
                    debug!(error = %e, "Storing offsets of revoked partitions failed.");
                }
                if let Err(e) = consumer.commit(&commit, CommitMode::Sync) {
                    warn!(error = %e, "Committing revoked partitions failed; their records will be read again.");
                }
            }
            info!(
                partitions = revoked.count(),
                "Partitions revoked: done work committed, in-flight work dropped."
            );
        }
    }

    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let now = consumer.assignment().map(|a| a.count()).unwrap_or(0);
        self.health.assigned.store(now, Ordering::Relaxed);
        self.health.joined.store(true, Ordering::Relaxed);
        if let Rebalance::Assign(assigned) = rebalance {
            let mut tracker = lock(&self.tracker);
            for e in assigned.elements() {
                tracker.assign(&e.topic().into(), e.partition());
            }
            self.assignment_changed.store(true, Ordering::SeqCst);
            info!(partitions = assigned.count(), "Partitions assigned.");
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// What a run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunSummary {
    /// Records received.
    pub received: u64,
    /// Records left unfinished at shutdown (Kafka delivers them again).
    pub abandoned: usize,
    /// Whether the final commit and leaving the group finished within `close_timeout`. When
    /// not (the broker unreachable), what was done since the last periodic commit is read again
    /// after a restart.
    pub closed: bool,
}

type Chunk = Vec<(Lease, KafkaRecord)>;

/// Consumes until `shutdown` resolves; see the module documentation.
pub async fn run<P, D, C>(
    config: &ConsumerConfig,
    pipeline: Arc<Pipeline<P, D, C>>,
    shutdown: impl Future<Output = ()>,
) -> Result<RunSummary, KafkaAdapterError>
where
    P: Publisher + 'static,
    D: DeadLetters + 'static,
    C: ClaimStore + 'static,
{
    run_with_health(config, pipeline, shutdown, Arc::default()).await
}

/// [`run`], reporting to `health` as it goes (the long-running bridge's `/health`).
pub async fn run_with_health<P, D, C>(
    config: &ConsumerConfig,
    pipeline: Arc<Pipeline<P, D, C>>,
    shutdown: impl Future<Output = ()>,
    health: Arc<ConsumerHealth>,
) -> Result<RunSummary, KafkaAdapterError>
where
    P: Publisher + 'static,
    D: DeadLetters + 'static,
    C: ClaimStore + 'static,
{
    /// Records taken from librdkafka per wake-up of the loop, at most.
    const DRAIN_PER_WAKE: usize = 256;
    let tracker = Arc::new(Mutex::new(OffsetTracker::new()));
    let context = BridgeContext {
        tracker: tracker.clone(),
        metrics: pipeline.metrics().clone(),
        health: health.clone(),
        assignment_changed: AtomicBool::new(false),
    };
    let consumer: StreamConsumer<BridgeContext> = config
        .client_config()
        .create_with_context(context)
        .map_err(|source| KafkaAdapterError::Kafka {
            operation: "create consumer",
            source,
        })?;
    let topics: Vec<&str> = config.topics.iter().map(String::as_str).collect();
    consumer
        .subscribe(&topics)
        .map_err(|source| KafkaAdapterError::Kafka {
            operation: "subscribe",
            source,
        })?;
    info!(topics = ?config.topics, group_id = %config.group_id, "Bridge consuming.");

    let mut state = Loop {
        consumer: &consumer,
        tracker: &tracker,
        pipeline: &pipeline,
        config,
        chunk: Vec::with_capacity(config.chunk_records),
        linger_until: None,
        waiting: VecDeque::new(),
        in_flight: JoinSet::new(),
        paused: false,
        topics: HashMap::new(),
        received: 0,
    };
    let mut breaker = pipeline.breaker().subscribe();
    let mut metrics_tick = tokio::time::interval(if config.metrics_interval.is_zero() {
        Duration::from_secs(3600)
    } else {
        config.metrics_interval
    });
    metrics_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The loop turns at least this often, so that liveness sees it alive when nothing arrives.
    let mut heartbeat = tokio::time::interval(Duration::from_secs(1));
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(shutdown);
    loop {
        health.turned();
        state.apply_pause(*breaker.borrow() != BreakerState::Closed);
        let linger = state.linger_until;
        tokio::select! {
            biased;
            () = &mut shutdown => break,
            Some(done) = state.in_flight.join_next(), if !state.in_flight.is_empty() => {
                state.finished(done);
            }
            _ = breaker.changed() => {
                let s = *breaker.borrow();
                info!(breaker = s.as_str(), "Breaker state seen by the consumer.");
            }
            () = sleep_until(linger), if linger.is_some() => state.flush(),
            // Backpressure: while every slot is busy and a chunk waits, stop reading (unless
            // paused, when polling only keeps the group membership alive).
            msg = consumer.recv(), if state.waiting.is_empty() || state.paused => {
                match msg {
                    Ok(m) => state.received(&m),
                    Err(e) => warn!(error = %e, "Kafka consumer error (librdkafka retries)."),
                }
                // Take what librdkafka already holds without a trip through the select per
                // record (bounded, so that finished work and shutdown are seen in between).
                let mut more = DRAIN_PER_WAKE;
                while more > 0 && state.waiting.is_empty() && !state.paused {
                    match futures::FutureExt::now_or_never(consumer.recv()) {
                        Some(Ok(m)) => state.received(&m),
                        Some(Err(e)) => {
                            warn!(error = %e, "Kafka consumer error (librdkafka retries).");
                            break;
                        }
                        None => break,
                    }
                    more -= 1;
                }
            }
            _ = metrics_tick.tick(), if !config.metrics_interval.is_zero() => {
                pipeline.metrics().print_emf();
            }
            _ = heartbeat.tick() => {}
        }
    }
    health.stopping.store(true, Ordering::Relaxed);

    // Drain: dispatch what was received, let in-flight work finish within the bound, commit.
    info!(
        in_flight = state.in_flight.len(),
        "Shutting down: draining in-flight work."
    );
    state.flush();
    let deadline = Instant::now() + config.drain_timeout;
    while !state.in_flight.is_empty() || !state.waiting.is_empty() {
        health.turned();
        match tokio::time::timeout_at(deadline, state.in_flight.join_next()).await {
            Ok(Some(done)) => state.finished(done),
            Ok(None) => state.dispatch_waiting(),
            Err(_) => break,
        }
    }
    let abandoned = lock(&tracker).in_flight();
    if abandoned > 0 {
        warn!(
            records = abandoned,
            "Drain timeout: unfinished records are not committed and will be read again."
        );
    }
    state.in_flight.abort_all();
    state.store_offsets();
    pipeline.metrics().print_emf();
    let received = state.received;
    drop(state);
    let closed = close(consumer, config.close_timeout).await;
    info!(records = received, closed, "Bridge stopped.");
    Ok(RunSummary {
        received,
        abandoned,
        closed,
    })
}

/// The final commit and leaving the group, within `bound`. Both block inside librdkafka while
/// the coordinator is unreachable (a synchronous commit waits for it; closing waits for the
/// leave), so they run on a thread of their own, which is left behind when the bound passes.
async fn close(consumer: StreamConsumer<BridgeContext>, bound: Duration) -> bool {
    use rdkafka::types::RDKafkaErrorCode;
    let (done, finished) = tokio::sync::oneshot::channel();
    let spawned = std::thread::Builder::new()
        .name("kafka-close".into())
        .spawn(move || {
            let committed = match consumer.commit_consumer_state(CommitMode::Sync) {
                Ok(()) => true,
                // Nothing stored since the last commit: nothing to do.
                Err(e) if e.rdkafka_error_code() == Some(RDKafkaErrorCode::NoOffset) => true,
                Err(e) => {
                    warn!(error = %e, "Final commit failed; records since the last commit will be read again.");
                    false
                }
            };
            consumer.unsubscribe();
            drop(consumer);
            let _ = done.send(committed);
        });
    if let Err(e) = spawned {
        warn!(error = %e, "No thread for closing the consumer; leaving without the final commit.");
        return false;
    }
    match tokio::time::timeout(bound, finished).await {
        Ok(Ok(committed)) => committed,
        _ => {
            warn!(
                timeout_ms = u64::try_from(bound.as_millis()).unwrap_or(u64::MAX),
                "The final commit and leaving the group did not finish in time (broker \
                 unreachable?); stopping anyway: records since the last commit will be read again."
            );
            false
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

struct Loop<'a, P, D, C> {
    consumer: &'a StreamConsumer<BridgeContext>,
    tracker: &'a Arc<Mutex<OffsetTracker>>,
    pipeline: &'a Arc<Pipeline<P, D, C>>,
    config: &'a ConsumerConfig,
    chunk: Chunk,
    linger_until: Option<Instant>,
    waiting: VecDeque<Chunk>,
    in_flight: JoinSet<Vec<Lease>>,
    paused: bool,
    topics: HashMap<String, Arc<str>>,
    received: u64,
}

impl<P, D, C> Loop<'_, P, D, C>
where
    P: Publisher + 'static,
    D: DeadLetters + 'static,
    C: ClaimStore + 'static,
{
    fn received(&mut self, m: &rdkafka::message::BorrowedMessage<'_>) {
        self.received += 1;
        let topic = match self.topics.get(m.topic()) {
            Some(t) => t.clone(),
            None => {
                let t: Arc<str> = m.topic().into();
                self.topics.insert(m.topic().to_string(), t.clone());
                t
            }
        };
        let Some(lease) = lock(self.tracker).start(&topic, m.partition(), m.offset()) else {
            return;
        };
        let record = crate::record_of(m, topic);
        self.chunk.push((lease, record));
        if self.chunk.len() >= self.config.chunk_records {
            self.flush();
        } else if self.linger_until.is_none() {
            self.linger_until = Some(Instant::now() + self.config.linger);
        }
    }

    fn flush(&mut self) {
        self.linger_until = None;
        if self.chunk.is_empty() {
            return;
        }
        let chunk = std::mem::replace(
            &mut self.chunk,
            Vec::with_capacity(self.config.chunk_records),
        );
        self.waiting.push_back(chunk);
        self.dispatch_waiting();
    }

    fn dispatch_waiting(&mut self) {
        while self.in_flight.len() < self.config.max_in_flight {
            let Some(chunk) = self.waiting.pop_front() else {
                break;
            };
            let pipeline = self.pipeline.clone();
            self.in_flight.spawn(async move {
                let (leases, records): (Vec<Lease>, Vec<KafkaRecord>) = chunk.into_iter().unzip();
                pipeline.process(&records).await;
                leases
            });
        }
    }

    fn finished(&mut self, done: Result<Vec<Lease>, tokio::task::JoinError>) {
        match done {
            Ok(leases) => {
                let mut tracker = lock(self.tracker);
                for l in &leases {
                    tracker.done(l);
                }
            }
            // A panicking chunk loses nothing: its offsets stay in flight, so nothing after them
            // is committed, and the records are read again after a restart.
            Err(e) => warn!(error = %e, "A chunk task failed; its records stay uncommitted."),
        }
        self.store_offsets();
        self.dispatch_waiting();
    }

    fn store_offsets(&mut self) {
        let points = lock(self.tracker).take_committable();
        if points.is_empty() {
            return;
        }
        let mut tpl = TopicPartitionList::new();
        for (topic, partition, point) in &points {
            let _ = tpl.add_partition_offset(topic, *partition, Offset::Offset(*point));
        }
        if let Err(e) = self.consumer.store_offsets(&tpl) {
            debug!(error = %e, "Storing offsets failed (partition revoked meanwhile?).");
        }
    }

    fn apply_pause(&mut self, breaker_open: bool) {
        let should = breaker_open;
        let changed = self
            .consumer
            .context()
            .assignment_changed
            .swap(false, Ordering::SeqCst);
        if should == self.paused && !(should && changed) {
            return;
        }
        let Ok(assignment) = self.consumer.assignment() else {
            return;
        };
        let result = if should {
            self.consumer.pause(&assignment)
        } else {
            self.consumer.resume(&assignment)
        };
        match result {
            Ok(()) => {
                if should != self.paused {
                    info!(
                        paused = should,
                        breaker_open,
                        waiting_chunks = self.waiting.len(),
                        partitions = assignment.count(),
                        "{}",
                        if should {
                            "Consumption paused."
                        } else {
                            "Consumption resumed."
                        }
                    );
                }
                self.paused = should;
                self.pipeline.metrics().set_consumer_paused(should);
            }
            Err(e) => warn!(error = %e, "Pause/resume failed; retried on the next turn."),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(extra: &[(&str, &str)]) -> ClientConfig {
        let mut pairs = vec![("KAFKA_BOOTSTRAP_SERVERS", "b:9092"), ("KAFKA_TOPICS", "t")];
        pairs.extend_from_slice(extra);
        ConsumerConfig::from_env(&Env::from_pairs(&pairs))
            .unwrap()
            .client_config()
    }

    #[test]
    fn prefetch_is_bounded_and_refilled_without_a_one_second_stall() {
        // Scenario: the consumer bounds its prefetch, fetches again 50 ms (not librdkafka's
        // 1 s) after reaching the bound, and an operator's KAFKA_PROP_ value wins over both.
        let c = config(&[]);
        assert_eq!(c.get("queued.max.messages.kbytes"), Some(QUEUED_MAX_KBYTES));
        let bound: usize = QUEUED_MAX_KBYTES.parse::<usize>().unwrap() * 1024;
        assert!(
            bound > hub_sap::Limits::default().max_bytes,
            "a record over the parser's limit must still be fetched, to be dead-lettered"
        );
        assert_eq!(c.get("fetch.queue.backoff.ms"), Some("50"));
        assert_eq!(c.get("enable.auto.offset.store"), Some("false"));
        let c = config(&[("KAFKA_PROP_FETCH_QUEUE_BACKOFF_MS", "200")]);
        assert_eq!(c.get("fetch.queue.backoff.ms"), Some("200"));
    }
}
