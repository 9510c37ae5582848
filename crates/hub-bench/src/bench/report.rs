//! The report builder: every phase's figures turned into what the bench prints and writes: the
//! table with its title and notes (stdout and `bench.md`), the JSON (`bench.json`, or
//! `bridge.json` with `--bridge-only`) and the chart's input (`bench.png`).

use super::Machine;
use super::bridge::BridgeFigures;
use super::chart;
use super::cost::Costs;
use super::e2e;
use crate::proxy::{self, Counts};
use serde::Serialize;
use std::fmt::Write as _;
use std::path::Path;

/// What every phase measured.
#[derive(Debug)]
pub struct Figures {
    /// The machine.
    pub machine: Machine,
    /// Records of the bridge-alone load (`--records`).
    pub bridge_records: u64,
    /// How the stand-ins' phases were run.
    pub plan: e2e::Plan,
    /// The hub's bridge alone.
    pub hub_bridge: BridgeFigures,
    /// The baseline's bridge alone.
    pub base_bridge: BridgeFigures,
    /// The handler alone and both sides end to end.
    pub stand: e2e::Figures,
    /// Cost per million events.
    pub cost: Costs,
}

/// What the bench prints and writes.
pub struct Report {
    /// Printed on stdout.
    text: String,
    /// `bench.md` (the whole bench only).
    markdown: Option<String>,
    /// The JSON file's name and content.
    json: (&'static str, serde_json::Value),
    /// `bench.png`'s input (the whole bench only).
    chart: Option<chart::Figures>,
}

impl Report {
    /// Prints the text, writes the files into `out`, and says where.
    pub fn emit(&self, out: &Path) -> anyhow::Result<()> {
        print!("{}", self.text);
        if let Some(md) = &self.markdown {
            std::fs::write(out.join("bench.md"), md)?;
        }
        let (name, json) = &self.json;
        std::fs::write(out.join(name), serde_json::to_vec_pretty(json)?)?;
        match &self.chart {
            Some(figures) => {
                chart::draw(&out.join("bench.png"), figures)?;
                println!(
                    "\nwritten to {} (bench.json, bench.md, bench.png)",
                    out.display()
                );
            }
            None => println!("\nwritten to {}", out.join(name).display()),
        }
        Ok(())
    }
}

/// The report of `--bridge-only`: the hub's bridge alone, as a table of its figures and
/// `bridge.json`.
pub fn bridge_alone(machine: &Machine, hub: &BridgeFigures) -> anyhow::Result<Report> {
    let mut text = String::new();
    writeln!(text)?;
    writeln!(
        text,
        "Bridge alone ({} records of the fixture mix, {} cores: {})",
        hub.records, machine.cores, machine.cpu
    )?;
    writeln!(text, "| figure | value |\n|---|---|")?;
    writeln!(text, "| events/s (wall) | {:.0} |", hub.events_per_second)?;
    writeln!(
        text,
        "| **events/s per core** (events / CPU s) | **{:.0}** |",
        hub.events_per_cpu_second
    )?;
    if !hub.runs_events_per_cpu_second.is_empty() {
        writeln!(
            text,
            "| events/s per core of each run (the median's figures above) | {} |",
            runs_text(&hub.runs_events_per_cpu_second)
        )?;
    }
    writeln!(
        text,
        "| CPU s per 100k events | {:.2} |",
        hub.cpu_seconds_per_100k
    )?;
    writeln!(
        text,
        "| SNS calls per event | {:.3} |",
        hub.sns_calls_per_event
    )?;
    Ok(Report {
        text,
        markdown: None,
        json: (
            "bridge.json",
            serde_json::json!({"machine": machine, "bridge": hub}),
        ),
        chart: None,
    })
}

/// The report of the whole bench: the table of hub, baseline and their ratio, with its title
/// and where the hub's time goes, as text and `bench.md`; every figure as `bench.json`; the
/// chart.
pub fn whole(f: &Figures) -> Report {
    let rows = rows(f);
    let md = format!("{}\n\n{}\n{}\n", title(f), markdown(&rows), time_goes(f));
    Report {
        text: format!("\n{md}"),
        markdown: Some(md),
        json: ("bench.json", json(f, &rows)),
        chart: Some(chart_input(f)),
    }
}

/// One row of the table.
#[derive(Debug, Serialize)]
pub struct Row {
    /// What is measured.
    pub figure: String,
    /// The hub's value.
    pub hub: Option<f64>,
    /// The baseline's value.
    pub baseline: Option<f64>,
    /// hub / baseline.
    pub ratio: Option<f64>,
    /// Decimals to print.
    #[serde(skip)]
    pub decimals: usize,
}

fn row(figure: &str, hub: Option<f64>, baseline: Option<f64>, decimals: usize) -> Row {
    let ratio = match (hub, baseline) {
        (Some(h), Some(b)) if b != 0.0 => Some(h / b),
        _ => None,
    };
    Row {
        figure: figure.to_string(),
        hub,
        baseline,
        ratio,
        decimals,
    }
}

/// A row with both sides' values.
fn both(figure: &str, hub: f64, baseline: f64, decimals: usize) -> Row {
    row(figure, Some(hub), Some(baseline), decimals)
}

fn cell(v: Option<f64>, decimals: usize) -> String {
    v.map_or_else(|| "–".to_string(), |v| format!("{v:.decimals$}"))
}

/// The table as Markdown.
pub fn markdown(rows: &[Row]) -> String {
    let mut out =
        String::from("| figure | hub | baseline | hub / baseline |\n|---|---:|---:|---:|\n");
    for r in rows {
        out.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            r.figure,
            cell(r.hub, r.decimals),
            cell(r.baseline, r.decimals),
            r.ratio.map_or_else(|| "–".into(), |x| format!("{x:.3}")),
        ));
    }
    out
}

/// Every row of the table, in order.
fn rows(f: &Figures) -> Vec<Row> {
    let mut rows = bridge_rows(&f.hub_bridge, &f.base_bridge);
    rows.extend(stand_rows(&f.stand));
    rows.extend(request_rows(&f.stand));
    rows.extend(cost_rows(&f.cost));
    rows
}

/// The bridges alone.
fn bridge_rows(hub: &BridgeFigures, base: &BridgeFigures) -> Vec<Row> {
    vec![
        both(
            "Bridge alone: events/s per core",
            hub.events_per_cpu_second,
            base.events_per_cpu_second,
            0,
        ),
        both(
            "Bridge alone: events/s (wall, 2 cores)",
            hub.events_per_second,
            base.events_per_second,
            0,
        ),
        both(
            "Bridge alone: CPU s per 100k events",
            hub.cpu_seconds_per_100k,
            base.cpu_seconds_per_100k,
            2,
        ),
        both(
            "Bridge alone: SNS requests per event",
            hub.sns_calls_per_event,
            base.sns_calls_per_event,
            3,
        ),
    ]
}

/// The handler alone, and what end to end writes, loses and takes.
fn stand_rows(s: &e2e::Figures) -> Vec<Row> {
    let (hub, base) = (&s.hub, &s.baseline);
    let consumer_cpu = base.consumer_cpu_seconds.unwrap_or(0.0);
    let per_entity =
        |c: &Counts| proxy::dynamodb_writes(c) as f64 / s.distinct_entities.max(1) as f64;
    vec![
        both(
            "Handler: CPU µs per record",
            s.handler.cpu_us_per_record,
            consumer_cpu / base.records.max(1) as f64 * 1e6,
            0,
        ),
        row(
            "Handler alone (batches of up to 100): DynamoDB writes per distinct entity",
            Some(s.handler.writes_per_entity),
            None,
            2,
        ),
        both(
            "End to end: DynamoDB writes per distinct entity",
            per_entity(&hub.requests),
            per_entity(&base.requests),
            2,
        ),
        both(
            "End to end: DynamoDB write units per event (as DynamoDB reported them)",
            super::cost::dynamodb_write_units(&hub.requests).0 / hub.records.max(1) as f64,
            super::cost::dynamodb_write_units(&base.requests).0 / base.records.max(1) as f64,
            2,
        ),
        both(
            "End to end: the index's share of those write units (%)",
            index_share(&hub.requests),
            index_share(&base.requests),
            1,
        ),
        both(
            "End to end: changes never visible (the table ends on an older version)",
            hub.never_visible as f64,
            base.never_visible as f64,
            0,
        ),
        both(
            "End to end: latency p50 (ms)",
            hub.latency_ms.p50,
            base.latency_ms.p50,
            0,
        ),
        both(
            "End to end: latency p95 (ms)",
            hub.latency_ms.p95,
            base.latency_ms.p95,
            0,
        ),
        both(
            "End to end: latency p99 (ms)",
            hub.latency_ms.p99,
            base.latency_ms.p99,
            0,
        ),
        both(
            "End to end: publish-side requests per event (SNS, S3)",
            publish_side(&hub.requests, hub.records),
            publish_side(&base.requests, base.records),
            3,
        ),
    ]
}

/// The global secondary indexes' share of the write units DynamoDB reported, in percent.
fn index_share(c: &Counts) -> f64 {
    let (w, i) = super::cost::dynamodb_write_units(c);
    if w > 0.0 { i / w * 100.0 } else { 0.0 }
}

/// Requests per 1,000 events end to end, by service.
fn request_rows(s: &e2e::Figures) -> Vec<Row> {
    let (hub, base) = (&s.hub, &s.baseline);
    let service = |name: &str, service: &str| {
        both(
            &format!("Requests per 1,000 events: {name}"),
            per_1000(&hub.requests, service, hub.records),
            per_1000(&base.requests, service, base.records),
            1,
        )
    };
    vec![
        service("SNS", "sns"),
        service("SQS", "sqs"),
        both(
            "Requests per 1,000 events: Lambda invocations",
            hub.lambda_invocations as f64 * 1000.0 / hub.records.max(1) as f64,
            0.0,
            1,
        ),
        service("DynamoDB", "dynamodb"),
    ]
}

/// Cost per million events, by service, and the total.
fn cost_rows(c: &Costs) -> Vec<Row> {
    let (hub, base) = (&c.hub, &c.baseline);
    let item = |name: &str, hub: f64, base: f64| {
        both(
            &format!("Cost per million events (USD): {name}"),
            hub,
            base,
            3,
        )
    };
    vec![
        item("SNS", hub.sns, base.sns),
        item("SQS", hub.sqs, base.sqs),
        item("Lambda", hub.lambda, base.lambda),
        item("DynamoDB", hub.dynamodb, base.dynamodb),
        item("compute (bridge, consumer)", hub.compute, base.compute),
        both(
            "**Cost per million events (USD): total**",
            hub.total,
            base.total,
            3,
        ),
    ]
}

/// Requests of `service` per 1,000 `events`.
fn per_1000(counts: &Counts, service: &str, events: u64) -> f64 {
    counts
        .get(service)
        .map_or(0, |ops| ops.values().map(|c| c.requests).sum::<u64>()) as f64
        * 1000.0
        / events.max(1) as f64
}

/// SNS and S3 requests per event: what publishing costs in requests.
fn publish_side(counts: &Counts, events: u64) -> f64 {
    (["sns", "s3"]
        .iter()
        .map(|s| {
            counts
                .get(*s)
                .map_or(0, |o| o.values().map(|x| x.requests).sum::<u64>())
        })
        .sum::<u64>()) as f64
        / events.max(1) as f64
}

/// Every run's events per CPU second, as `41.2k, 44.0k, 39.8k`.
fn runs_text(runs: &[f64]) -> String {
    runs.iter()
        .map(|r| format!("{:.1}k", r / 1000.0))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The table's title: what each phase ran, on which machine.
fn title(f: &Figures) -> String {
    let (hub, plan, machine) = (&f.hub_bridge, &f.plan, &f.machine);
    format!(
        "Bridge alone: {} records (hub{}), {} (baseline) of the fixture mix into a fast local SNS endpoint. \
         Handler alone: {} records. End to end: {} records ({} keys per entity, bursts of {} every {} ms) \
         on moto and DynamoDB Local. Machine: {} cores, {}.",
        hub.records,
        match hub.runs_events_per_cpu_second.as_slice() {
            [] => String::new(),
            runs => format!(
                "; the median of {} runs, whose events/s per core were {}",
                runs.len(),
                runs_text(runs)
            ),
        },
        f.base_bridge.records,
        f.stand.handler.records,
        plan.records,
        plan.keys,
        plan.burst,
        plan.interval.as_millis(),
        machine.cores,
        machine.cpu
    )
}

/// The note under the table: where the hub's end-to-end time goes.
fn time_goes(f: &Figures) -> String {
    let hub = &f.stand.hub;
    let hub_write = hub.to_write_ms.unwrap_or_default();
    let window = f.plan.window.map_or_else(
        || "the template's batching window of the domain mappings (1 s)".to_string(),
        |w| {
            format!(
                "a batching window of {} ms (--esm-window-ms)",
                w.as_millis()
            )
        },
    );
    format!(
        "Where the hub's end-to-end time goes: SAP change produced → item written p50 {:.0} ms / p95 {:.0} ms \
         (Kafka fetch, the bridge's batching, SNS → SQS, {window}, the handler's writes); written → seen \
         by the poller p50 {:.0} ms (it scans every {} ms).",
        hub_write.p50,
        hub_write.p95,
        (hub.latency_ms.p50 - hub_write.p50).max(0.0),
        f.plan.poll.as_millis()
    )
}

/// `bench.json`: the plan, every phase's figures and the rows.
fn json(f: &Figures, rows: &[Row]) -> serde_json::Value {
    let (plan, s) = (&f.plan, &f.stand);
    let millis = |d: std::time::Duration| d.as_millis() as u64;
    serde_json::json!({
        "machine": f.machine,
        "plan": {
            "bridge_records": f.bridge_records, "baseline_bridge_records": f.base_bridge.records,
            "handler_records": plan.handler_records, "e2e_records": plan.records,
            "e2e_keys": plan.keys, "burst": plan.burst, "interval_ms": millis(plan.interval),
            "poll_ms": millis(plan.poll), "esm_window_ms": plan.window.map(millis),
        },
        "bridge": {"hub": f.hub_bridge, "baseline": f.base_bridge},
        "handler": {"hub": s.handler},
        "end_to_end": {"hub": s.hub, "baseline": s.baseline},
        "cost_per_million_events": {"hub": f.cost.hub, "baseline": f.cost.baseline},
        "rows": rows,
    })
}

/// The chart's input: latency percentiles end to end and the bridges' events/s per core.
fn chart_input(f: &Figures) -> chart::Figures {
    let percentiles = |e: &e2e::EndToEnd| [e.latency_ms.p50, e.latency_ms.p95, e.latency_ms.p99];
    chart::Figures {
        hub_latency: percentiles(&f.stand.hub),
        baseline_latency: percentiles(&f.stand.baseline),
        throughput: [
            f.hub_bridge.events_per_cpu_second,
            f.base_bridge.events_per_cpu_second,
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::cost::Cost;
    use std::time::Duration;

    fn bridge(records: u64, events_per_cpu_second: f64, runs: Vec<f64>) -> BridgeFigures {
        BridgeFigures {
            records,
            events: records,
            wall_seconds: 1.0,
            cpu_seconds: 0.5,
            events_per_second: 2_000.0,
            events_per_cpu_second,
            cpu_seconds_per_100k: 2.5,
            sns_calls: records / 10,
            sns_calls_per_event: 0.1,
            cores: 2,
            runs_events_per_cpu_second: runs,
        }
    }

    fn end_to_end(records: u64, p50: f64) -> e2e::EndToEnd {
        e2e::EndToEnd {
            records,
            wall_seconds: 10.0,
            latency_ms: e2e::Percentiles {
                samples: 10,
                p50,
                p95: p50 * 2.0,
                p99: p50 * 3.0,
                max: p50 * 4.0,
            },
            to_write_ms: None,
            never_visible: 0,
            requests: Counts::new(),
            lambda_invocations: 0,
            consumer_cpu_seconds: None,
        }
    }

    fn figures() -> Figures {
        Figures {
            machine: Machine {
                cpu: "a CPU".into(),
                cores: 2,
            },
            bridge_records: 1_000,
            plan: e2e::Plan {
                records: 40,
                keys: 5,
                burst: 20,
                interval: Duration::from_millis(500),
                poll: Duration::from_millis(100),
                timeout: Duration::from_secs(10),
                handler_records: 100,
                window: None,
            },
            hub_bridge: bridge(1_000, 40_000.0, vec![39_000.0, 40_000.0, 41_000.0]),
            base_bridge: bridge(200, 4_000.0, Vec::new()),
            stand: e2e::Figures {
                handler: e2e::HandlerFigures {
                    records: 100,
                    distinct_entities: 15,
                    invocations: 3,
                    cpu_us_per_record: 50.0,
                    ms_per_invocation: 20.0,
                    dynamodb_writes: 30,
                    writes_per_entity: 2.0,
                    requests: Counts::new(),
                },
                hub: end_to_end(40, 900.0),
                baseline: end_to_end(40, 300.0),
                distinct_entities: 15,
            },
            cost: Costs {
                hub: Cost::default(),
                baseline: Cost::default(),
            },
        }
    }

    #[test]
    fn the_bridge_alone_report_is_its_table_and_bridge_json() {
        // Scenario: --bridge-only with three runs: the runs' line is in the table, the JSON
        // holds the machine and the bridge.
        let f = figures();
        let r = bridge_alone(&f.machine, &f.hub_bridge).unwrap();
        assert_eq!(
            r.text,
            "\nBridge alone (1000 records of the fixture mix, 2 cores: a CPU)\n\
             | figure | value |\n|---|---|\n\
             | events/s (wall) | 2000 |\n\
             | **events/s per core** (events / CPU s) | **40000** |\n\
             | events/s per core of each run (the median's figures above) | 39.0k, 40.0k, 41.0k |\n\
             | CPU s per 100k events | 2.50 |\n\
             | SNS calls per event | 0.100 |\n"
        );
        assert_eq!(r.json.0, "bridge.json");
        assert_eq!(r.json.1["bridge"]["events"], 1_000);
        assert!(r.markdown.is_none() && r.chart.is_none());
    }

    #[test]
    fn the_whole_report_has_every_row_in_order_and_every_phase_in_its_json() {
        // Scenario: the table's rows keep their order and labels (the README and earlier
        // bench.json files compare by them); the JSON's sections and plan keep theirs.
        let r = whole(&figures());
        let (name, json) = &r.json;
        assert_eq!(*name, "bench.json");
        let keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "machine",
                "plan",
                "bridge",
                "handler",
                "end_to_end",
                "cost_per_million_events",
                "rows"
            ]
        );
        let plan: Vec<&str> = json["plan"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            plan,
            [
                "bridge_records",
                "baseline_bridge_records",
                "handler_records",
                "e2e_records",
                "e2e_keys",
                "burst",
                "interval_ms",
                "poll_ms",
                "esm_window_ms"
            ]
        );
        assert_eq!(json["plan"]["interval_ms"], 500);
        assert!(json["plan"]["esm_window_ms"].is_null());
        let rows = json["rows"].as_array().unwrap();
        assert_eq!(rows.len(), 24);
        assert_eq!(rows[0]["figure"], "Bridge alone: events/s per core");
        assert_eq!(rows[0]["ratio"], 10.0);
        assert_eq!(
            rows[7]["figure"],
            "End to end: DynamoDB write units per event (as DynamoDB reported them)"
        );
        assert_eq!(
            rows[16]["figure"],
            "Requests per 1,000 events: Lambda invocations"
        );
        assert!(rows[16]["ratio"].is_null(), "no ratio to zero");
        assert_eq!(
            rows[23]["figure"],
            "**Cost per million events (USD): total**"
        );
        let md = r.markdown.as_deref().unwrap();
        assert_eq!(r.text, format!("\n{md}"));
        assert!(md.starts_with("Bridge alone: 1000 records (hub; the median of 3 runs, whose events/s per core were 39.0k, 40.0k, 41.0k), 200 (baseline)"));
        assert!(md.contains("| figure | hub | baseline | hub / baseline |"));
        assert!(md.contains("| End to end: latency p50 (ms) | 900 | 300 | 3.000 |"));
        assert!(md.ends_with("(it scans every 100 ms).\n"));
        let chart = r.chart.as_ref().unwrap();
        assert_eq!(chart.hub_latency, [900.0, 1800.0, 2700.0]);
        assert_eq!(chart.throughput, [40_000.0, 4_000.0]);
    }
}
