//! Metrics as CloudWatch Embedded Metric Format: one JSON line on stdout per batch, which
//! CloudWatch Logs turns into metrics (namespace [`NAMESPACE`], dimension `domain`).

use serde_json::{Value, json};

pub use hub_core::emf::NAMESPACE;

/// Metric names of the domain sync functions (the dashboard and alarms use the same names).
pub const METRICS: &[(&str, &str)] = &[
    ("events_received_total", "Count"),
    ("events_applied_total", "Count"),
    ("events_stale_total", "Count"),
    ("events_tombstoned_total", "Count"),
    ("events_dead_lettered_total", "Count"),
    ("events_retried_total", "Count"),
    ("events_failed_total", "Count"),
    ("sap_to_table_latency_ms", "Milliseconds"),
];

/// Counters of one batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    /// Messages in the batch.
    pub received: u64,
    /// Changes written.
    pub applied: u64,
    /// Changes older than (or equal to) what the table holds, or superseded in the batch.
    pub stale: u64,
    /// Deletes written as tombstones (also counted in `applied`).
    pub tombstoned: u64,
    /// Messages sent to the DLQ.
    pub dead_lettered: u64,
    /// Store retries within the invocation.
    pub retried: u64,
    /// Messages reported in `batchItemFailures`.
    pub failed: u64,
    /// SAP-to-table latency of each applied change, in ms.
    pub latencies_ms: Vec<i64>,
}

/// Counters summed over every batch this process handled, per domain (what `hubctl run` shows;
/// in Lambda, CloudWatch sums the EMF lines instead).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Totals {
    /// Messages received.
    pub received: u64,
    /// Changes written.
    pub applied: u64,
    /// Changes older than what the table holds.
    pub stale: u64,
    /// Deletes written as tombstones.
    pub tombstoned: u64,
    /// Messages sent to the DLQ.
    pub dead_lettered: u64,
    /// Messages reported in `batchItemFailures`.
    pub failed: u64,
}

static TOTALS: std::sync::Mutex<std::collections::BTreeMap<String, Totals>> =
    std::sync::Mutex::new(std::collections::BTreeMap::new());

/// Adds one batch's counters to the process totals of `domain`.
pub fn add_to_totals(domain: &str, c: &Counters) {
    let mut all = TOTALS.lock().unwrap_or_else(|e| e.into_inner());
    let t = all.entry(domain.to_string()).or_default();
    t.received += c.received;
    t.applied += c.applied;
    t.stale += c.stale;
    t.tombstoned += c.tombstoned;
    t.dead_lettered += c.dead_lettered;
    t.failed += c.failed;
}

/// The process totals, per domain.
pub fn totals() -> std::collections::BTreeMap<String, Totals> {
    TOTALS.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// The EMF line for one batch of `domain`.
pub fn emf_line(domain: &str, c: &Counters, timestamp_ms: i64) -> Value {
    let values = json!({
        "events_received_total": c.received,
        "events_applied_total": c.applied,
        "events_stale_total": c.stale,
        "events_tombstoned_total": c.tombstoned,
        "events_dead_lettered_total": c.dead_lettered,
        "events_retried_total": c.retried,
        "events_failed_total": c.failed,
        "sap_to_table_latency_ms": c.latencies_ms,
    });
    hub_core::emf::line(("domain", domain), METRICS, values, timestamp_ms)
}
