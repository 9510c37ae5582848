//! The enricher's counters and their CloudWatch EMF line (dimension `service = s4-enricher`).

use crate::breaker::BreakerState;
use serde_json::{Value, json};
use std::sync::Mutex;

/// What the metrics are declared as: name and unit.
pub const METRICS: &[(&str, &str)] = &[
    ("enrich_events_total", "Count"),
    ("enrich_enriched_total", "Count"),
    ("enrich_superseded_total", "Count"),
    ("enrich_not_found_total", "Count"),
    ("enrich_as_is_total", "Count"),
    ("enrich_unavailable_total", "Count"),
    ("enrich_dead_lettered_total", "Count"),
    ("s4_calls_total", "Count"),
    ("s4_call_failures_total", "Count"),
    ("s4_call_ms", "Milliseconds"),
    ("s4_rate_limited_waits_total", "Count"),
    ("s4_rate_limited_wait_ms", "Milliseconds"),
    ("s4_breaker_state", "None"),
    ("s4_breaker_transitions_total", "Count"),
    ("s4_requests_per_event", "None"),
];

/// Counters of one invocation (or of a whole local run).
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Counts {
    /// Thin events received.
    pub events: u64,
    /// Enriched events to publish.
    pub enriched: u64,
    /// Events covered by a newer event of the same key in the batch.
    pub superseded: u64,
    /// Events whose object S/4 no longer has.
    pub not_found: u64,
    /// Events that needed no read (a delete, or data already there).
    pub as_is: u64,
    /// Events left for later because S/4 could not be read.
    pub unavailable: u64,
    /// Events sent to the enricher's DLQ.
    pub dead_lettered: u64,
    /// Calls made to S/4.
    pub calls: u64,
    /// Calls that failed.
    pub call_failures: u64,
    /// Each call's time, milliseconds (in the EMF line; not in the local status file).
    #[serde(skip)]
    pub call_ms: Vec<f64>,
    /// Calls that waited for the rate limit.
    pub rate_limited_waits: u64,
    /// Time waited for the rate limit, milliseconds.
    pub rate_limited_wait_ms: f64,
    /// Breaker state changes.
    pub breaker_transitions: u64,
    /// The breaker's state at the end (0 closed, 1 half open, 2 open).
    pub breaker_state: u8,
}

/// The counters, shared by an enricher's tasks.
#[derive(Debug, Default)]
pub struct EnrichMetrics {
    counts: Mutex<Counts>,
}

impl EnrichMetrics {
    /// Changes the counters.
    pub fn update(&self, f: impl FnOnce(&mut Counts)) {
        f(&mut self.counts.lock().unwrap_or_else(|p| p.into_inner()));
    }

    /// A copy of the counters.
    pub fn snapshot(&self) -> Counts {
        self.counts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The counters without the calls' times (a status line's, which needs no copy of them).
    pub fn totals(&self) -> Counts {
        let mut c = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let times = std::mem::take(&mut c.call_ms);
        let out = c.clone();
        c.call_ms = times;
        out
    }

    /// The counters since the last call, which starts new ones (the breaker's state stays).
    pub fn take(&self) -> Counts {
        let mut c = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let state = c.breaker_state;
        let out = std::mem::take(&mut *c);
        c.breaker_state = state;
        out
    }

    /// Records the breaker's state.
    pub fn breaker(&self, state: BreakerState) {
        self.update(|c| c.breaker_state = state.gauge());
    }
}

/// The EMF line of `c`.
pub fn emf_line(c: &Counts, timestamp_ms: i64) -> Value {
    let per_event = if c.events == 0 {
        0.0
    } else {
        c.calls as f64 / c.events as f64
    };
    hub_core::emf::line(
        ("service", "s4-enricher"),
        METRICS,
        json!({
            "enrich_events_total": c.events,
            "enrich_enriched_total": c.enriched,
            "enrich_superseded_total": c.superseded,
            "enrich_not_found_total": c.not_found,
            "enrich_as_is_total": c.as_is,
            "enrich_unavailable_total": c.unavailable,
            "enrich_dead_lettered_total": c.dead_lettered,
            "s4_calls_total": c.calls,
            "s4_call_failures_total": c.call_failures,
            "s4_call_ms": c.call_ms,
            "s4_rate_limited_waits_total": c.rate_limited_waits,
            "s4_rate_limited_wait_ms": c.rate_limited_wait_ms,
            "s4_breaker_state": c.breaker_state,
            "s4_breaker_transitions_total": c.breaker_transitions,
            "s4_requests_per_event": per_event,
        }),
        timestamp_ms,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_declares_every_value_it_carries() {
        // Scenario: each declared metric has a value in the line, and none is undeclared.
        let c = Counts {
            events: 10,
            calls: 2,
            call_ms: vec![12.0, 30.5],
            ..Counts::default()
        };
        let l = emf_line(&c, 1);
        let declared = l["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap();
        assert_eq!(declared.len(), METRICS.len());
        for (name, _) in METRICS {
            assert!(!l[name].is_null(), "{name}");
        }
        assert_eq!(l["s4_requests_per_event"], 0.2);
        assert_eq!(l["service"], "s4-enricher");
    }
}
