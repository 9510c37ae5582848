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
    /// The naive baseline's bridge alone.
    pub base_bridge: BridgeFigures,
    /// The competent baseline's bridge alone.
    pub competent_bridge: BridgeFigures,
    /// The handler alone and every side end to end.
    pub stand: e2e::Figures,
    /// Cost per million events.
    pub cost: Costs,
    /// The functions' cold start and size (absent when their release builds were not there).
    pub cold: Option<Vec<super::coldstart::ColdStart>>,
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
    /// `windows.png`'s input: the hub per batching window, and the competent baseline.
    windows: Option<(Vec<chart::Point>, chart::Point)>,
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
        if let Some((points, competent)) = &self.windows
            && !points.is_empty()
        {
            chart::draw_windows(&out.join("windows.png"), points, competent)?;
        }
        match &self.chart {
            Some(figures) => {
                chart::draw(&out.join("bench.png"), figures)?;
                println!(
                    "\nwritten to {} (bench.json, bench.md, bench.png, windows.png)",
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
        windows: None,
    })
}

/// The report of the whole bench: the table of the hub, the two baselines and the ratios, the
/// targets, the batching windows, where the time goes and the functions' cold start, as text
/// and `bench.md`; every figure as `bench.json`; the charts.
pub fn whole(f: &Figures) -> Report {
    let rows = rows(f);
    let md = format!(
        "{}\n\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n",
        title(f),
        markdown(&rows),
        targets(f),
        kinds_table(f),
        windows_table(f),
        hops_table(f),
        cold_table(f),
        time_goes(f)
    );
    Report {
        text: format!("\n{md}"),
        markdown: Some(md),
        json: ("bench.json", json(f, &rows)),
        chart: Some(chart_input(f)),
        windows: Some(windows_input(f)),
    }
}

/// One row of the table.
#[derive(Debug, Serialize)]
pub struct Row {
    /// What is measured.
    pub figure: String,
    /// The hub's value.
    pub hub: Option<f64>,
    /// The naive baseline's value.
    pub baseline: Option<f64>,
    /// The competent baseline's value.
    pub competent: Option<f64>,
    /// hub / naive baseline.
    pub ratio: Option<f64>,
    /// hub / competent baseline.
    pub ratio_competent: Option<f64>,
    /// Decimals to print.
    #[serde(skip)]
    pub decimals: usize,
}

fn ratio(hub: Option<f64>, other: Option<f64>) -> Option<f64> {
    match (hub, other) {
        (Some(h), Some(b)) if b != 0.0 => Some(h / b),
        _ => None,
    }
}

fn row(
    figure: &str,
    hub: Option<f64>,
    baseline: Option<f64>,
    competent: Option<f64>,
    decimals: usize,
) -> Row {
    Row {
        figure: figure.to_string(),
        hub,
        baseline,
        competent,
        ratio: ratio(hub, baseline),
        ratio_competent: ratio(hub, competent),
        decimals,
    }
}

/// A row with every side's value.
fn all(figure: &str, hub: f64, baseline: f64, competent: f64, decimals: usize) -> Row {
    row(figure, Some(hub), Some(baseline), Some(competent), decimals)
}

fn cell(v: Option<f64>, decimals: usize) -> String {
    v.map_or_else(|| "–".to_string(), |v| format!("{v:.decimals$}"))
}

/// The table as Markdown.
pub fn markdown(rows: &[Row]) -> String {
    let mut out = String::from(
        "| figure | hub | naive baseline | competent baseline | hub / naive | hub / competent |\n\
         |---|---:|---:|---:|---:|---:|\n",
    );
    let r3 = |x: Option<f64>| x.map_or_else(|| "–".into(), |x| format!("{x:.3}"));
    for r in rows {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            r.figure,
            cell(r.hub, r.decimals),
            cell(r.baseline, r.decimals),
            cell(r.competent, r.decimals),
            r3(r.ratio),
            r3(r.ratio_competent),
        ));
    }
    out
}

/// Every row of the table, in order.
fn rows(f: &Figures) -> Vec<Row> {
    let mut rows = bridge_rows(&f.hub_bridge, &f.base_bridge, &f.competent_bridge);
    rows.extend(stand_rows(&f.stand));
    rows.extend(request_rows(&f.stand));
    rows.extend(cost_rows(&f.cost));
    rows
}

/// The bridges alone.
fn bridge_rows(hub: &BridgeFigures, base: &BridgeFigures, comp: &BridgeFigures) -> Vec<Row> {
    vec![
        all(
            "Bridge alone: events/s per core",
            hub.events_per_cpu_second,
            base.events_per_cpu_second,
            comp.events_per_cpu_second,
            0,
        ),
        all(
            "Bridge alone: events/s (wall, 2 cores)",
            hub.events_per_second,
            base.events_per_second,
            comp.events_per_second,
            0,
        ),
        all(
            "Bridge alone: CPU s per 100k events",
            hub.cpu_seconds_per_100k,
            base.cpu_seconds_per_100k,
            comp.cpu_seconds_per_100k,
            2,
        ),
        all(
            "Bridge alone: SNS requests per event",
            hub.sns_calls_per_event,
            base.sns_calls_per_event,
            comp.sns_calls_per_event,
            3,
        ),
    ]
}

/// Write units per successful write: what one applied write costs, index included (writes
/// refused by their version guard are billed, but apply nothing).
pub fn units_per_applied_write(c: &Counts) -> f64 {
    let (units, _) = super::cost::dynamodb_write_units(c);
    let applied: u64 = c.get("dynamodb").map_or(0, |ops| {
        ops.iter()
            .filter(|(op, _)| proxy::is_dynamodb_write(op))
            .map(|(_, o)| o.requests - o.failed_conditions)
            .sum()
    });
    units / applied.max(1) as f64
}

/// The handler alone, and what end to end writes, loses and takes.
fn stand_rows(s: &e2e::Figures) -> Vec<Row> {
    let (hub, base, comp) = (&s.hub, &s.baseline, &s.competent);
    let consumer_cpu =
        |e: &e2e::EndToEnd| e.consumer_cpu_seconds.unwrap_or(0.0) / e.records.max(1) as f64 * 1e6;
    let per_entity = |e: &e2e::EndToEnd| {
        proxy::dynamodb_writes(&e.requests) as f64 / s.distinct_entities.max(1) as f64
    };
    let units_per_event = |e: &e2e::EndToEnd| {
        super::cost::dynamodb_write_units(&e.requests).0 / e.records.max(1) as f64
    };
    let each = |name: &str, f: &dyn Fn(&e2e::EndToEnd) -> f64, decimals| {
        all(name, f(hub), f(base), f(comp), decimals)
    };
    vec![
        all(
            "Handler: CPU µs per record",
            s.handler.cpu_us_per_record,
            consumer_cpu(base),
            consumer_cpu(comp),
            0,
        ),
        row(
            "Handler alone (batches of the template's BatchSize): DynamoDB writes per distinct entity",
            Some(s.handler.writes_per_entity),
            None,
            None,
            2,
        ),
        each(
            "End to end: DynamoDB writes per distinct entity",
            &per_entity,
            2,
        ),
        each(
            "End to end: DynamoDB write units per event (as DynamoDB reported them)",
            &units_per_event,
            2,
        ),
        each(
            "End to end: DynamoDB write units per applied write (index included)",
            &|e| units_per_applied_write(&e.requests),
            2,
        ),
        each(
            "End to end: the index's share of those write units (%)",
            &|e| index_share(&e.requests),
            1,
        ),
        each(
            "End to end: DynamoDB read units per event",
            &|e| super::cost::dynamodb_units(&e.requests).1 / e.records.max(1) as f64,
            2,
        ),
        each(
            "End to end: changes never visible (the table ends on an older version)",
            &|e| e.never_visible as f64,
            0,
        ),
        each("End to end: latency p50 (ms)", &|e| e.latency_ms.p50, 0),
        each("End to end: latency p95 (ms)", &|e| e.latency_ms.p95, 0),
        each("End to end: latency p99 (ms)", &|e| e.latency_ms.p99, 0),
        each(
            "End to end: publish-side requests per event (SNS, S3)",
            &|e| publish_side(&e.requests, e.records),
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
    let (hub, base, comp) = (&s.hub, &s.baseline, &s.competent);
    let service = |name: &str, service: &str| {
        all(
            &format!("Requests per 1,000 events: {name}"),
            per_1000(&hub.requests, service, hub.records),
            per_1000(&base.requests, service, base.records),
            per_1000(&comp.requests, service, comp.records),
            1,
        )
    };
    vec![
        service("SNS", "sns"),
        service("SQS", "sqs"),
        all(
            "Requests per 1,000 events: Lambda invocations",
            hub.lambda_invocations as f64 * 1000.0 / hub.records.max(1) as f64,
            0.0,
            0.0,
            1,
        ),
        service("DynamoDB", "dynamodb"),
    ]
}

/// Cost per million events, by service, the total, and the floor.
fn cost_rows(c: &Costs) -> Vec<Row> {
    let (hub, base, comp) = (&c.hub, &c.baseline, &c.competent);
    let item = |name: &str, h: f64, b: f64, k: f64| {
        all(
            &format!("Cost per million events (USD): {name}"),
            h,
            b,
            k,
            3,
        )
    };
    let floor = c.floor.total;
    vec![
        item("SNS", hub.sns, base.sns, comp.sns),
        item("SQS", hub.sqs, base.sqs, comp.sqs),
        item("Lambda", hub.lambda, base.lambda, comp.lambda),
        item("DynamoDB", hub.dynamodb, base.dynamodb, comp.dynamodb),
        item(
            "compute (bridge, consumer)",
            hub.compute,
            base.compute,
            comp.compute,
        ),
        all(
            "**Cost per million events (USD): total**",
            hub.total,
            base.total,
            comp.total,
            3,
        ),
        all(
            "Cost per million events: the floor of this load (USD; the same for every design)",
            floor,
            floor,
            floor,
            3,
        ),
        all(
            "Cost per million events: multiple of the floor",
            hub.total / floor.max(1e-12),
            base.total / floor.max(1e-12),
            comp.total / floor.max(1e-12),
            2,
        ),
    ]
}

/// The targets, each with its figure from this run and whether it is met.
fn targets(f: &Figures) -> String {
    let s = &f.stand;
    let (hub, comp) = (&s.hub, &s.competent);
    let mut out = String::from("### Targets\n\n| target | this run | met |\n|---|---|:-:|\n");
    let mut line = |target: &str, figure: String, met: bool| {
        out.push_str(&format!(
            "| {target} | {figure} | {} |\n",
            if met { "yes" } else { "**no**" }
        ));
    };
    let cost = f.cost.hub.total / f.cost.competent.total.max(1e-12);
    line(
        "cost per million events ≤ 0.5× the competent baseline's",
        format!(
            "{:.3} vs {:.3} USD: {cost:.2}×",
            f.cost.hub.total, f.cost.competent.total
        ),
        cost <= 0.5,
    );
    let units = units_per_applied_write(&hub.requests);
    line(
        "write units per applied write ≤ 1.2, index included",
        format!("{units:.2}"),
        units <= 1.2,
    );
    line(
        "latency p50 ≤ the competent baseline's",
        format!("{:.0} vs {:.0} ms", hub.latency_ms.p50, comp.latency_ms.p50),
        hub.latency_ms.p50 <= comp.latency_ms.p50,
    );
    line(
        "latency p99 ≤ 1 s",
        format!("{:.0} ms", hub.latency_ms.p99),
        hub.latency_ms.p99 <= 1000.0,
    );
    let bridge =
        f.hub_bridge.events_per_cpu_second / f.competent_bridge.events_per_cpu_second.max(1e-12);
    line(
        "bridge events per CPU second ≥ 20× the competent baseline's",
        format!("{bridge:.1}×"),
        bridge >= 20.0,
    );
    if let Some(cold) = &f.cold {
        let worst = cold
            .iter()
            .filter(|c| c.function != super::coldstart::HELLO)
            .fold(0.0f64, |a, c| a.max(c.vs_hello));
        line(
            "each function's initialisation ≤ 1.5× a hello-world's",
            format!("at most {worst:.2}×"),
            worst <= 1.5,
        );
        let biggest = cold
            .iter()
            .filter(|c| c.function != super::coldstart::HELLO)
            .fold(0u64, |a, c| a.max(c.bytes));
        line(
            "each bootstrap ≤ 8 MB",
            format!("at most {:.1} MB", biggest as f64 / 1e6),
            biggest <= 8_000_000,
        );
    }
    out
}

/// DynamoDB's write units by the kind of item written, for each side: writes applied and
/// refused by their condition, units (the index's apart), units per applied write.
fn kinds_table(f: &Figures) -> String {
    let s = &f.stand;
    let mut out = String::from(
        "### DynamoDB write units by kind of item (end to end, as DynamoDB reported them)\n\n\
         | side | item | writes applied | refused by their condition | write units | of which the index's | units per applied write |\n\
         |---|---|---:|---:|---:|---:|---:|\n",
    );
    for (side, run) in [
        ("hub", &s.hub),
        ("naive", &s.baseline),
        ("competent", &s.competent),
    ] {
        let Some(kinds) = run.requests.get(crate::proxy::ITEM_KINDS) else {
            continue;
        };
        for (kind, c) in kinds {
            let applied = c.requests - c.failed_conditions;
            out.push_str(&format!(
                "| {side} | {kind} | {applied} | {} | {:.0} | {:.0} | {:.2} |\n",
                c.failed_conditions,
                c.consumed,
                c.index,
                c.consumed / applied.max(1) as f64
            ));
        }
    }
    out
}

/// The batching-window sweep: latency against cost for each window.
fn windows_table(f: &Figures) -> String {
    let mut out = String::from(
        "### Batching window of the domain mappings: latency against cost\n\n\
         | window (ms) | p50 (ms) | p95 (ms) | p99 (ms) | invocations per 1,000 events | write units per event | cost per million events (USD) | cost / competent |\n\
         |---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for (run, cost) in f.stand.windows.iter().zip(&f.cost.windows) {
        out.push_str(&format!(
            "| {} | {:.0} | {:.0} | {:.0} | {:.1} | {:.2} | {:.3} | {:.2} |\n",
            run.window_ms.unwrap_or(0),
            run.latency_ms.p50,
            run.latency_ms.p95,
            run.latency_ms.p99,
            run.lambda_invocations as f64 * 1000.0 / run.records.max(1) as f64,
            super::cost::dynamodb_write_units(&run.requests).0 / run.records.max(1) as f64,
            cost.total,
            cost.total / f.cost.competent.total.max(1e-12),
        ));
    }
    out.push_str(&format!(
        "| competent baseline | {:.0} | {:.0} | {:.0} | – | {:.2} | {:.3} | 1.00 |\n\n\
         ![latency against cost](windows.png)\n",
        f.stand.competent.latency_ms.p50,
        f.stand.competent.latency_ms.p95,
        f.stand.competent.latency_ms.p99,
        super::cost::dynamodb_write_units(&f.stand.competent.requests).0
            / f.stand.competent.records.max(1) as f64,
        f.cost.competent.total,
    ));
    out
}

/// Where the time goes, hop by hop (p50 / p99, ms).
fn hops_table(f: &Figures) -> String {
    let s = &f.stand;
    let pp = |p: &e2e::Percentiles| format!("{:.0} / {:.0}", p.p50, p.p99);
    let opt = |p: &Option<e2e::Percentiles>| p.as_ref().map_or_else(|| "–".into(), pp);
    let mut out = String::from(
        "### Where the time goes (p50 / p99, ms)\n\n\
         | hop | hub | naive baseline | competent baseline |\n|---|---:|---:|---:|\n",
    );
    let sides = [&s.hub, &s.baseline, &s.competent];
    let mut line = |hop: &str, cells: [String; 3]| {
        out.push_str(&format!(
            "| {hop} | {} | {} | {} |\n",
            cells[0], cells[1], cells[2]
        ));
    };
    line(
        "SAP change produced → in SQS (Kafka fetch, the bridge, SNS → SQS)",
        sides.map(|e| pp(&e.hops.to_queue_ms)),
    );
    line(
        "in SQS → written (the consumer: polling, batching window, handler)",
        sides.map(|e| pp(&e.hops.queue_to_write_ms)),
    );
    line(
        "of which: in SQS → invoked (the mapping's polling and batching window)",
        sides.map(|e| opt(&e.hops.in_queue_ms)),
    );
    line(
        "of which: one invocation of the domain function",
        sides.map(|e| opt(&e.hops.invocation_ms)),
    );
    line(
        "SAP change produced → written",
        sides.map(|e| opt(&e.to_write_ms)),
    );
    line(
        "SAP change produced → visible to the poller",
        sides.map(|e| pp(&e.latency_ms)),
    );
    out
}

/// The functions' cold start and size.
fn cold_table(f: &Figures) -> String {
    let Some(cold) = &f.cold else {
        return "### Cold start and size\n\nNot measured: the release builds were not there \
                (`infra/local/bench.sh` builds them).\n"
            .into();
    };
    let mut out = String::from(
        "### Cold start and size\n\n\
         Process start → its first request to the runtime API (SDK clients and configuration \
         built), under the bench's runtime API emulator; release builds (stripped).\n\n\
         | function | bootstrap (MB) | init p50 (ms) | init p90 (ms) | × hello-world |\n\
         |---|---:|---:|---:|---:|\n",
    );
    for c in cold {
        out.push_str(&format!(
            "| {} | {:.2} | {:.1} | {:.1} | {:.2} |\n",
            c.function,
            c.bytes as f64 / 1e6,
            c.init_ms.median,
            c.init_ms.p90,
            c.vs_hello
        ));
    }
    out
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
        "Bridge alone: {} records (hub{}), {} (each baseline) of the fixture mix into a fast local SNS endpoint. \
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
    let window = format!(
        "the domain mappings' batching window ({} ms, {})",
        hub.window_ms.unwrap_or(0),
        if f.plan.window.is_some() {
            "--esm-window-ms"
        } else {
            "the template's"
        }
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
        "bridge": {"hub": f.hub_bridge, "baseline": f.base_bridge, "competent": f.competent_bridge},
        "handler": {"hub": s.handler},
        "end_to_end": {"hub": s.hub, "baseline": s.baseline, "competent": s.competent},
        "windows": s.windows.iter().zip(&f.cost.windows).map(|(run, cost)| serde_json::json!({
            "window_ms": run.window_ms, "end_to_end": run, "cost_per_million_events": cost,
        })).collect::<Vec<_>>(),
        "floor": s.floor,
        "cold_start": f.cold,
        "cost_per_million_events": {
            "hub": f.cost.hub, "baseline": f.cost.baseline, "competent": f.cost.competent,
            "floor": f.cost.floor,
        },
        "rows": rows,
    })
}

/// The chart's input: latency percentiles end to end and the bridges' events/s per core.
fn chart_input(f: &Figures) -> chart::Figures {
    let percentiles = |e: &e2e::EndToEnd| [e.latency_ms.p50, e.latency_ms.p95, e.latency_ms.p99];
    chart::Figures {
        hub_latency: percentiles(&f.stand.hub),
        baseline_latency: percentiles(&f.stand.baseline),
        competent_latency: percentiles(&f.stand.competent),
        throughput: [
            f.hub_bridge.events_per_cpu_second,
            f.base_bridge.events_per_cpu_second,
            f.competent_bridge.events_per_cpu_second,
        ],
    }
}

/// The latency/cost chart's input: the hub per window, the competent baseline.
fn windows_input(f: &Figures) -> (Vec<chart::Point>, chart::Point) {
    let points = f
        .stand
        .windows
        .iter()
        .zip(&f.cost.windows)
        .map(|(run, cost)| chart::Point {
            label: format!("{} ms", run.window_ms.unwrap_or(0)),
            cost: cost.total,
            p50: run.latency_ms.p50,
            p99: run.latency_ms.p99,
        })
        .collect();
    let c = &f.stand.competent;
    (
        points,
        chart::Point {
            label: "competent".into(),
            cost: f.cost.competent.total,
            p50: c.latency_ms.p50,
            p99: c.latency_ms.p99,
        },
    )
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
                mean: p50,
            },
            to_write_ms: None,
            never_visible: 0,
            requests: Counts::new(),
            lambda_invocations: 0,
            consumer_cpu_seconds: None,
            window_ms: None,
            hops: e2e::Hops::default(),
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
            competent_bridge: bridge(200, 2_000.0, Vec::new()),
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
                windows: vec![end_to_end(40, 400.0), end_to_end(40, 900.0)],
                baseline: end_to_end(40, 300.0),
                competent: end_to_end(40, 450.0),
                distinct_entities: 15,
                floor: e2e::Floor {
                    events: 40,
                    write_units: 20,
                    sns_requests: 4,
                    sqs_requests: 12,
                },
            },
            cost: Costs {
                hub: Cost::default(),
                baseline: Cost::default(),
                competent: Cost::default(),
                windows: vec![Cost::default(), Cost::default()],
                floor: Cost::default(),
            },
            cold: None,
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
                "windows",
                "floor",
                "cold_start",
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
        assert_eq!(rows.len(), 28);
        assert_eq!(rows[0]["figure"], "Bridge alone: events/s per core");
        assert_eq!(rows[0]["ratio"], 10.0);
        assert_eq!(rows[0]["ratio_competent"], 20.0);
        assert_eq!(
            rows[7]["figure"],
            "End to end: DynamoDB write units per event (as DynamoDB reported them)"
        );
        assert_eq!(
            rows[18]["figure"],
            "Requests per 1,000 events: Lambda invocations"
        );
        assert!(rows[18]["ratio"].is_null(), "no ratio to zero");
        assert_eq!(
            rows[25]["figure"],
            "**Cost per million events (USD): total**"
        );
        assert_eq!(json["windows"].as_array().unwrap().len(), 2);
        assert_eq!(json["floor"]["write_units"], 20);
        let md = r.markdown.as_deref().unwrap();
        assert_eq!(r.text, format!("\n{md}"));
        assert!(md.starts_with("Bridge alone: 1000 records (hub; the median of 3 runs, whose events/s per core were 39.0k, 40.0k, 41.0k), 200 (each baseline)"));
        assert!(md.contains(
            "| figure | hub | naive baseline | competent baseline | hub / naive | hub / competent |"
        ));
        assert!(md.contains("| End to end: latency p50 (ms) | 900 | 300 | 450 | 3.000 | 2.000 |"));
        assert!(md.contains("| latency p50 ≤ the competent baseline's | 900 vs 450 ms | **no** |"));
        assert!(md.contains("### Batching window of the domain mappings"));
        assert!(md.contains("### Where the time goes"));
        assert!(md.contains("Not measured: the release builds were not there"));
        assert!(md.ends_with("(it scans every 100 ms).\n"));
        let chart = r.chart.as_ref().unwrap();
        assert_eq!(chart.hub_latency, [900.0, 1800.0, 2700.0]);
        assert_eq!(chart.throughput, [40_000.0, 4_000.0, 2_000.0]);
        assert_eq!(r.windows.as_ref().unwrap().0.len(), 2);
    }
}
