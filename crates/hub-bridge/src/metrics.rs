//! The bridge's metrics: cumulative counters shared by every task, written as CloudWatch
//! Embedded Metric Format lines (namespace `SapSyncHub`, dimension `component`), one per
//! flush interval (the consumer) or per invocation (the Lambda), each with the deltas since the
//! previous line.

use serde_json::{Value, json};
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

pub use hub_core::emf::NAMESPACE;

/// The `component` dimension's value.
pub const COMPONENT: &str = "kafka-bridge";

/// Metric names of the bridge (the dashboard and alarms use the same names).
pub const METRICS: &[(&str, &str)] = &[
    ("bridge_records_received_total", "Count"),
    ("bridge_events_published_total", "Count"),
    ("bridge_records_dead_lettered_total", "Count"),
    ("bridge_needs_enrichment_total", "Count"),
    ("bridge_claim_checks_total", "Count"),
    ("bridge_publish_retries_total", "Count"),
    ("bridge_breaker_open", "None"),
    ("bridge_breaker_transitions_total", "Count"),
    ("bridge_consumer_lag", "Count"),
    ("sap_to_publish_latency_ms", "Milliseconds"),
];

/// EMF allows at most 100 values per metric in one line: latencies are sampled to this many.
const LATENCY_SAMPLES: usize = 100;

/// Cumulative counters (monotonic since start), readable at any time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Kafka records received.
    pub received: u64,
    /// Events published to SNS.
    pub published: u64,
    /// Records (or thin events) sent to the bridge DLQ.
    pub dead_lettered: u64,
    /// Of which thin events.
    pub needs_enrichment: u64,
    /// Events published as claim checks.
    pub claim_checks: u64,
    /// Retried calls (SNS, SQS, S3), whole or per entry.
    pub retries: u64,
    /// Breaker state changes.
    pub breaker_transitions: u64,
    /// Records fully handled (published or dead-lettered), i.e. whose offsets may be committed.
    pub records_done: u64,
}

/// The counters of one bridge process.
#[derive(Debug, Default)]
pub struct BridgeMetrics {
    received: AtomicU64,
    published: AtomicU64,
    dead_lettered: AtomicU64,
    needs_enrichment: AtomicU64,
    claim_checks: AtomicU64,
    retries: AtomicU64,
    breaker_transitions: AtomicU64,
    records_done: AtomicU64,
    breaker_open: AtomicU64,
    consumer_paused: std::sync::atomic::AtomicBool,
    consumer_lag: AtomicI64,
    latencies: Mutex<Reservoir>,
    last: Mutex<Snapshot>,
}

#[derive(Debug, Default)]
struct Reservoir {
    seen: u64,
    samples: Vec<i64>,
}

macro_rules! adder {
    ($($(#[$doc:meta])* $name:ident => $field:ident;)*) => {
        $( $(#[$doc])* pub fn $name(&self, n: u64) { self.$field.fetch_add(n, Ordering::Relaxed); } )*
    };
}

impl BridgeMetrics {
    adder! {
        /// Records received.
        add_received => received;
        /// Events published.
        add_published => published;
        /// Dead letters sent.
        add_dead_lettered => dead_lettered;
        /// Thin events dead-lettered.
        add_needs_enrichment => needs_enrichment;
        /// Claim checks published.
        add_claim_checks => claim_checks;
        /// Retries.
        add_retries => retries;
        /// Records done.
        add_records_done => records_done;
    }

    /// The breaker is open or half-open (`true`) or closed, and its state changes so far.
    pub fn set_breaker(&self, open: bool, transitions: u64) {
        self.breaker_open.store(u64::from(open), Ordering::Relaxed);
        self.breaker_transitions
            .store(transitions, Ordering::Relaxed);
    }

    /// The consumer paused (`true`) or resumed its partitions.
    pub fn set_consumer_paused(&self, paused: bool) {
        self.consumer_paused.store(paused, Ordering::Relaxed);
    }

    /// Whether the consumer's partitions are paused.
    pub fn consumer_paused(&self) -> bool {
        self.consumer_paused.load(Ordering::Relaxed)
    }

    /// Whether the breaker is open or half-open.
    pub fn breaker_open(&self) -> bool {
        self.breaker_open.load(Ordering::Relaxed) != 0
    }

    /// The consumer's total lag (records), from librdkafka's statistics.
    pub fn set_consumer_lag(&self, lag: i64) {
        self.consumer_lag.store(lag, Ordering::Relaxed);
    }

    /// The consumer's last known lag.
    pub fn consumer_lag(&self) -> i64 {
        self.consumer_lag.load(Ordering::Relaxed)
    }

    /// Records one SAP-to-publish latency (reservoir sampling keeps a uniform sample).
    pub fn observe_latency_ms(&self, ms: i64) {
        let mut r = self.latencies.lock().unwrap_or_else(|p| p.into_inner());
        r.seen += 1;
        if r.samples.len() < LATENCY_SAMPLES {
            r.samples.push(ms);
        } else {
            let i = fastrand::u64(0..r.seen);
            if (i as usize) < LATENCY_SAMPLES {
                r.samples[i as usize] = ms;
            }
        }
    }

    /// The cumulative counters.
    pub fn snapshot(&self) -> Snapshot {
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Snapshot {
            received: l(&self.received),
            published: l(&self.published),
            dead_lettered: l(&self.dead_lettered),
            needs_enrichment: l(&self.needs_enrichment),
            claim_checks: l(&self.claim_checks),
            retries: l(&self.retries),
            breaker_transitions: l(&self.breaker_transitions),
            records_done: l(&self.records_done),
        }
    }

    /// Writes the EMF line of now to stdout (where CloudWatch Logs picks it up).
    pub fn print_emf(&self) {
        println!("{}", self.emf_line(chrono::Utc::now().timestamp_millis()));
    }

    /// The EMF line with the deltas since the previous call (and the latency sample, reset).
    pub fn emf_line(&self, timestamp_ms: i64) -> Value {
        let now = self.snapshot();
        let prev = std::mem::replace(
            &mut *self.last.lock().unwrap_or_else(|p| p.into_inner()),
            now,
        );
        let latencies =
            std::mem::take(&mut *self.latencies.lock().unwrap_or_else(|p| p.into_inner())).samples;
        let values = json!({
            "bridge_records_received_total": now.received - prev.received,
            "bridge_events_published_total": now.published - prev.published,
            "bridge_records_dead_lettered_total": now.dead_lettered - prev.dead_lettered,
            "bridge_needs_enrichment_total": now.needs_enrichment - prev.needs_enrichment,
            "bridge_claim_checks_total": now.claim_checks - prev.claim_checks,
            "bridge_publish_retries_total": now.retries - prev.retries,
            "bridge_breaker_open": self.breaker_open.load(Ordering::Relaxed),
            "bridge_breaker_transitions_total": now.breaker_transitions - prev.breaker_transitions,
            "bridge_consumer_lag": self.consumer_lag.load(Ordering::Relaxed).max(0),
            "sap_to_publish_latency_ms": latencies,
        });
        hub_core::emf::line(("component", COMPONENT), METRICS, values, timestamp_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emf_lines_carry_deltas_and_every_declared_metric() {
        // Scenario: two lines: the second has only what happened since the first; every name in
        // METRICS is a member of the line and of its declaration.
        let m = BridgeMetrics::default();
        m.add_received(5);
        m.add_published(4);
        for i in 0..500 {
            m.observe_latency_ms(i);
        }
        let first = m.emf_line(1);
        assert_eq!(first["bridge_records_received_total"], 5);
        assert_eq!(
            first["sap_to_publish_latency_ms"].as_array().unwrap().len(),
            100
        );
        m.add_received(2);
        let second = m.emf_line(2);
        assert_eq!(second["bridge_records_received_total"], 2);
        assert_eq!(second["bridge_events_published_total"], 0);
        assert!(
            second["sap_to_publish_latency_ms"]
                .as_array()
                .unwrap()
                .is_empty()
        );
        let declared = second["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap();
        assert_eq!(declared.len(), METRICS.len());
        for (name, _) in METRICS {
            assert!(second.get(*name).is_some(), "{name} missing");
        }
    }
}
