//! Cost per million events at AWS list prices.
//!
//! The prices, in one place (USD, region us-east-1, on-demand list prices as AWS's pricing pages
//! publish them; free tiers left out):
//!
//! | item | price | unit |
//! |---|---|---|
//! | SNS publish (standard topic) | 0.50 | per million requests; each 64 KiB of a request's payload is one request, a `PublishBatch` of up to 10 messages within 64 KiB is one |
//! | SNS delivery to SQS | 0.00 | deliveries to SQS queues are free |
//! | SQS (standard queue) | 0.40 | per million requests, per 64 KiB chunk (receives, deletes, sends) |
//! | Lambda requests | 0.20 | per million invocations |
//! | Lambda duration (arm64) | 0.0000133334 | per GB-second |
//! | DynamoDB on-demand writes | 0.625 | per million write request units, as DynamoDB reports them (`ConsumedCapacity`, indexes and transactions included) |
//! | DynamoDB on-demand reads | 0.125 | per million read request units, as DynamoDB reports them |
//! | Fargate compute (arm64) | 0.03238 | per vCPU-hour: the bridges' and the baseline consumer's CPU time, as if packed onto busy vCPUs |
//!
//! Requests and units are what the counting proxy saw ([`crate::proxy::units`]); DynamoDB's
//! units are the capacity units DynamoDB itself answered ([`crate::proxy::OpCount::consumed`]),
//! falling back to the estimate from the request only where no answer said; compute is the CPU
//! time measured per event. DynamoDB Streams reads by the change stream's trigger are free.

use super::bridge::BridgeFigures;
use super::e2e;
use crate::proxy::Counts;
use hub_template::Template;
use serde::Serialize;

/// The domain function whose memory size prices every domain function's duration.
const PRICED_FUNCTION: &str = "CustomerSync";

/// Its memory, MB, when the template does not say (what the template's `Globals` set).
const DEFAULT_MEMORY_MB: f64 = 256.0;

/// SNS, per million requests (64 KiB chunks).
pub const SNS_PER_MILLION: f64 = 0.50;
/// SQS, per million requests (64 KiB chunks).
pub const SQS_PER_MILLION: f64 = 0.40;
/// Lambda, per million invocations.
pub const LAMBDA_PER_MILLION: f64 = 0.20;
/// Lambda arm64, per GB-second.
pub const LAMBDA_PER_GB_SECOND: f64 = 0.000_013_333_4;
/// DynamoDB on-demand, per million write request units.
pub const DYNAMODB_PER_MILLION_WRU: f64 = 0.625;
/// DynamoDB on-demand, per million read request units.
pub const DYNAMODB_PER_MILLION_RRU: f64 = 0.125;
/// Fargate arm64, per vCPU-hour.
pub const FARGATE_PER_VCPU_HOUR: f64 = 0.032_38;

/// USD per million events, by service.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Cost {
    /// SNS.
    pub sns: f64,
    /// SQS.
    pub sqs: f64,
    /// Lambda (requests and duration of the domain functions).
    pub lambda: f64,
    /// DynamoDB.
    pub dynamodb: f64,
    /// Compute of the long-running processes (bridge; the baseline's consumer).
    pub compute: f64,
    /// Sum.
    pub total: f64,
}

/// Units of `service` in `counts`: (write-like, read-like) for DynamoDB; (all, 0) otherwise.
pub fn units(counts: &Counts, service: &str) -> (u64, u64) {
    let Some(ops) = counts.get(service) else {
        return (0, 0);
    };
    let mut w = 0;
    let mut r = 0;
    for (op, c) in ops {
        let write = service != "dynamodb" || crate::proxy::is_dynamodb_write(op);
        if write {
            w += c.units;
        } else {
            r += c.units;
        }
    }
    (w, r)
}

/// DynamoDB's (write, read) request units in `counts`: per operation, the capacity units
/// DynamoDB reported, or the proxy's estimate where it reported none.
pub fn dynamodb_units(counts: &Counts) -> (f64, f64) {
    let Some(ops) = counts.get("dynamodb") else {
        return (0.0, 0.0);
    };
    let mut w = 0.0;
    let mut r = 0.0;
    for (op, c) in ops {
        let units = if c.consumed > 0.0 {
            c.consumed
        } else {
            c.units as f64
        };
        if crate::proxy::is_dynamodb_write(op) {
            w += units;
        } else {
            r += units;
        }
    }
    (w, r)
}

/// DynamoDB's write units reported, and the global secondary indexes' part of them.
pub fn dynamodb_write_units(counts: &Counts) -> (f64, f64) {
    counts.get("dynamodb").map_or((0.0, 0.0), |ops| {
        ops.iter()
            .filter(|(op, _)| crate::proxy::is_dynamodb_write(op))
            .fold((0.0, 0.0), |(w, i), (_, c)| (w + c.consumed, i + c.index))
    })
}

/// What the cost of one side is made of, per event.
#[derive(Debug, Clone, Copy)]
pub struct Inputs {
    /// Events the counts are for.
    pub events: u64,
    /// Lambda invocations per event.
    pub invocations_per_event: f64,
    /// Billed duration of one invocation, seconds.
    pub seconds_per_invocation: f64,
    /// Memory of a domain function, GB.
    pub memory_gb: f64,
    /// CPU seconds per event of the long-running processes.
    pub cpu_seconds_per_event: f64,
}

/// USD per million events.
pub fn per_million(counts: &Counts, i: &Inputs) -> Cost {
    let events = i.events.max(1) as f64;
    let per_event = |units: u64| units as f64 / events;
    let sns = per_event(units(counts, "sns").0) * SNS_PER_MILLION;
    let sqs = per_event(units(counts, "sqs").0) * SQS_PER_MILLION;
    let (wru, rru) = dynamodb_units(counts);
    let dynamodb =
        wru / events * DYNAMODB_PER_MILLION_WRU + rru / events * DYNAMODB_PER_MILLION_RRU;
    let lambda = i.invocations_per_event * LAMBDA_PER_MILLION
        + i.invocations_per_event
            * i.seconds_per_invocation
            * i.memory_gb
            * LAMBDA_PER_GB_SECOND
            * 1e6;
    let compute = i.cpu_seconds_per_event * FARGATE_PER_VCPU_HOUR / 3600.0 * 1e6;
    Cost {
        sns,
        sqs,
        lambda,
        dynamodb,
        compute,
        total: sns + sqs + lambda + dynamodb + compute,
    }
}

/// Each side's cost per million events.
#[derive(Debug, Clone, Serialize)]
pub struct Costs {
    /// The hub's (with the template's batching window).
    pub hub: Cost,
    /// The naive baseline's.
    pub baseline: Cost,
    /// The competent baseline's.
    pub competent: Cost,
    /// The hub's with each batching window of the sweep, in its order.
    pub windows: Vec<Cost>,
    /// The floor: what no design can avoid on this load ([`e2e::Floor`]).
    pub floor: Cost,
}

/// The cost phase: each side's cost per million events from what the other phases measured
/// (requests counted end to end, the handler's duration, the bridges' CPU), the domain
/// functions' memory read from `template`.
pub fn phase(
    template: &Template,
    hub_bridge: &BridgeFigures,
    base_bridge: &BridgeFigures,
    competent_bridge: &BridgeFigures,
    stand: &e2e::Figures,
) -> Costs {
    let memory = memory_gb(template);
    Costs {
        hub: hub(hub_bridge, stand, &stand.hub, memory),
        baseline: baseline(base_bridge, &stand.baseline),
        competent: baseline(competent_bridge, &stand.competent),
        windows: stand
            .windows
            .iter()
            .map(|run| hub(hub_bridge, stand, run, memory))
            .collect(),
        floor: floor(&stand.floor),
    }
}

/// The floor's cost: its write units, SNS and SQS requests at list prices; no compute.
pub fn floor(f: &e2e::Floor) -> Cost {
    let events = f.events.max(1) as f64;
    let sns = f.sns_requests as f64 / events * SNS_PER_MILLION;
    let sqs = f.sqs_requests as f64 / events * SQS_PER_MILLION;
    let dynamodb = f.write_units as f64 / events * DYNAMODB_PER_MILLION_WRU;
    Cost {
        sns,
        sqs,
        dynamodb,
        total: sns + sqs + dynamodb,
        ..Cost::default()
    }
}

/// The memory of a domain function, GB, as the template deploys it.
fn memory_gb(template: &Template) -> f64 {
    template
        .function_property(PRICED_FUNCTION, "MemorySize")
        .and_then(serde_json::Value::as_f64)
        .unwrap_or(DEFAULT_MEMORY_MB)
        / 1024.0
}

/// The hub's cost in run `e2e`: its requests end to end, its domain functions' invocations at
/// the handler's duration, its bridge's CPU.
fn hub(bridge: &BridgeFigures, stand: &e2e::Figures, e2e: &e2e::EndToEnd, memory_gb: f64) -> Cost {
    per_million(
        &e2e.requests,
        &Inputs {
            events: e2e.records,
            invocations_per_event: e2e.lambda_invocations as f64 / e2e.records.max(1) as f64,
            // The run's own invocations when the mapping timed them (a short window makes
            // smaller batches), else the handler alone's.
            seconds_per_invocation: e2e
                .hops
                .invocation_ms
                .filter(|p| p.samples > 0)
                .map_or(stand.handler.ms_per_invocation, |p| p.mean)
                / 1000.0,
            memory_gb,
            cpu_seconds_per_event: bridge.cpu_seconds / bridge.events.max(1) as f64,
        },
    )
}

/// The baseline's cost: its requests end to end, its bridge's and its consumer's CPU.
fn baseline(bridge: &BridgeFigures, e2e: &e2e::EndToEnd) -> Cost {
    let consumer_cpu = e2e.consumer_cpu_seconds.unwrap_or(0.0);
    per_million(
        &e2e.requests,
        &Inputs {
            events: e2e.records,
            invocations_per_event: 0.0,
            seconds_per_invocation: 0.0,
            memory_gb: 0.0,
            cpu_seconds_per_event: bridge.cpu_seconds / bridge.events.max(1) as f64
                + consumer_cpu / e2e.records.max(1) as f64,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::OpCount;

    #[test]
    fn one_publish_per_event_costs_the_list_price() {
        // Scenario: 1,000 events, one Publish each (one unit), one PutItem each (one WRU), no
        // Lambda, no compute: SNS 0.50 and DynamoDB 0.625 per million events.
        let mut c = Counts::new();
        let one = |n| OpCount {
            requests: n,
            bytes: 0,
            units: n,
            ..OpCount::default()
        };
        c.entry("sns".into())
            .or_default()
            .insert("Publish".into(), one(1000));
        c.entry("dynamodb".into())
            .or_default()
            .insert("PutItem".into(), one(1000));
        c.entry("dynamodb".into())
            .or_default()
            .insert("GetItem".into(), one(1000));
        let cost = per_million(
            &c,
            &Inputs {
                events: 1000,
                invocations_per_event: 0.0,
                seconds_per_invocation: 0.0,
                memory_gb: 0.0,
                cpu_seconds_per_event: 0.0,
            },
        );
        assert!((cost.sns - 0.50).abs() < 1e-9);
        assert!((cost.dynamodb - 0.75).abs() < 1e-9);
        assert!((cost.total - 1.25).abs() < 1e-9);
        // A vCPU busy for an hour handling 3.6 M events costs one vCPU-hour per 3.6 M.
        let compute = per_million(
            &Counts::new(),
            &Inputs {
                events: 1,
                invocations_per_event: 0.0,
                seconds_per_invocation: 0.0,
                memory_gb: 0.0,
                cpu_seconds_per_event: 1.0 / 1000.0,
            },
        );
        assert!((compute.compute - FARGATE_PER_VCPU_HOUR * 1000.0 / 3600.0).abs() < 1e-9);
    }
}
