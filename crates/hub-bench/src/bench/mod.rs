//! `hub-bench bench`: the hub measured against a baseline, printed as one table and written as
//! JSON, Markdown and a PNG chart.
//!
//! Phases, in this order, each alone on the machine, each a function that returns its figures:
//!
//! 1. **Bridge alone, hub** ([`bridge::hub`]). `--records` records of the fixture mix
//!    (`hub_sap::samples::mixed`) are produced to an embedded Kafka **in a child process**
//!    (`hub-bench embedded-kafka`, see [`rig`]), then the bridge (the same consumer and pipeline
//!    as the `kafka-bridge` binary, signed `PublishBatch` calls through the AWS SDK) consumes and
//!    publishes them to `hub-bench fake-sns`, **another child process** that answers at once.
//!    This process then does only the bridge's work, so its CPU time (user + system, all
//!    threads, librdkafka's included) is the bridge's CPU time. The clocks start when the bridge
//!    starts its first chunk, as the baseline's start at its first record: joining the consumer
//!    group is not throughput.
//! 2. **Bridge alone, baseline** ([`bridge::baseline`]): `infra/baseline/baseline.py bridge` on
//!    the same topic (its own consumer group), `--baseline-records` records, into the same fake
//!    SNS.
//! 3. **Handler alone, hub** ([`e2e::handler`]): the domain functions invoked in batches against
//!    DynamoDB Local.
//! 4. **End to end, hub then baseline** ([`e2e::hub`], [`e2e::baseline`]) on the stand-ins, every
//!    AWS request counted by `hub-bench count-proxy`. [`e2e::phases`] runs 3 and 4.
//! 5. **Cost** ([`cost::phase`]), at the list prices documented in [`cost`].
//!
//! Then [`report`] turns every figure into the table, the JSON, the Markdown and the chart's
//! input ([`chart`] draws it).

use crate::baseline::{Mode, Python};
use anyhow::Context as _;
use hub_template::Template;
use rig::Rig;
use serde::Serialize;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

pub mod bridge;
pub mod chart;
pub mod coldstart;
pub mod cost;
pub mod e2e;
pub mod probe;
pub mod report;
pub mod rig;

/// `hub-bench bench` arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Records in the synthetic SAP load of the bridge-alone phase.
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..))]
    records: u64,
    /// Distinct business keys per entity (several versions per key).
    #[arg(long, default_value_t = 1_000)]
    keys: u64,
    /// Kafka partitions of the bench topic at least (more when the load needs them: the
    /// embedded Kafka keeps at most 5 MB per partition).
    #[arg(long, default_value_t = 4)]
    partitions: i32,
    /// Where to write bench.json, bench.md and bench.png.
    #[arg(long, default_value = "target/bench")]
    out: PathBuf,
    /// Measure the hub's bridge alone and stop (no stand-ins, no baseline).
    #[arg(long)]
    bridge_only: bool,
    /// Runs of the hub's bridge over the same load, each with its own consumer group; the
    /// figures are the median run's (by CPU per event): a shared two-core machine varies by
    /// ±15% from one run to the next.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    bridge_runs: u32,
    /// Records the baseline bridge consumes in the bridge-alone phase (at most `--records`).
    #[arg(long, default_value_t = 10_000)]
    baseline_records: u64,
    /// Records of the handler-alone phase.
    #[arg(long, default_value_t = 2_000)]
    handler_records: u64,
    /// Records of each end-to-end run.
    #[arg(long, default_value_t = 600)]
    e2e_records: u64,
    /// Distinct keys per entity in the end-to-end load.
    #[arg(long, default_value_t = 100)]
    e2e_keys: u64,
    /// Records per burst in the end-to-end load (SAP sends IDocs in packets).
    #[arg(long, default_value_t = 20)]
    burst: u64,
    /// Milliseconds between two bursts.
    #[arg(long, default_value_t = 1_000)]
    interval_ms: u64,
    /// Seconds without progress, after the last record, before changes still not visible
    /// count as never visible.
    #[arg(long, default_value_t = 30)]
    settle_s: u64,
    /// The domain mappings' batching window in ms, instead of the template's
    /// `MaximumBatchingWindowInSeconds` (to see what the window costs and saves; below 1 s the
    /// batch size is at most 10, as AWS requires).
    #[arg(long)]
    esm_window_ms: Option<u64>,
    /// The batching windows (ms) of the domain mappings the hub runs end to end with, to show
    /// latency against cost; a window equal to the template's reuses the main run. Empty: none.
    #[arg(long, value_delimiter = ',', default_value = "0,100,500,1000")]
    windows_ms: Vec<u64>,
    /// Where the release builds of the Lambda functions and `hello-lambda` are, for their cold
    /// start and size (`infra/local/bench.sh` builds them); the phase is left out when they
    /// are not there.
    #[arg(long, default_value = "target/release")]
    functions_dir: PathBuf,
    /// Cold starts of each function measured (the median is reported).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    cold_starts: u32,
    /// Milliseconds between two scans of the latency poller.
    #[arg(long, default_value_t = 100)]
    poll_ms: u64,
    /// The Python interpreter of the baseline (with confluent-kafka and boto3; `.local/run/env`
    /// sets `HUB_PYTHON` to the one `infra/local/install.sh` prepares).
    #[arg(long, env = "HUB_PYTHON", default_value = ".local/venv/bin/python")]
    python: PathBuf,
    /// The baseline's script.
    #[arg(long, default_value = "infra/baseline/baseline.py")]
    baseline_script: PathBuf,
    /// The SAM template the hub is provisioned from.
    #[arg(long, default_value = "template.yaml")]
    template: PathBuf,
}

/// `hub-bench bench`: the phases in order, then the report.
pub async fn run_bench(args: Args) -> anyhow::Result<ExitCode> {
    let machine = Machine::this();
    std::fs::create_dir_all(&args.out)?;
    let python = Python {
        interpreter: args.python.clone(),
        script: args.baseline_script.clone(),
    };
    let template = if args.bridge_only {
        None
    } else {
        Some(prepare(&args, &python).await?)
    };
    let rig = Rig::start(args.records, args.keys, args.partitions).await?;
    let hub_bridge = bridge::hub(&rig, args.records, args.bridge_runs).await?;
    let Some(template) = template else {
        report::bridge_alone(&machine, &hub_bridge)?.emit(&args.out)?;
        return Ok(ExitCode::SUCCESS);
    };
    let baseline_records = args.baseline_records.min(args.records);
    let base_bridge = bridge::baseline(&rig, &python, Mode::Naive, baseline_records).await?;
    let competent_bridge =
        bridge::baseline(&rig, &python, Mode::Competent, baseline_records).await?;
    let cold = coldstart::phase(&args.functions_dir, args.cold_starts).await?;
    let plan = plan(&args);
    let windows: Vec<Duration> = args
        .windows_ms
        .iter()
        .map(|ms| Duration::from_millis(*ms))
        .collect();
    let stand = e2e::phases(&template, &python, &plan, &windows, &rig.bootstrap).await?;
    let cost = cost::phase(
        &template,
        &hub_bridge,
        &base_bridge,
        &competent_bridge,
        &stand,
    );
    let figures = report::Figures {
        machine,
        bridge_records: args.records,
        plan,
        hub_bridge,
        base_bridge,
        competent_bridge,
        stand,
        cost,
        cold,
    };
    report::whole(&figures).emit(&args.out)?;
    Ok(verdict(&figures.stand.hub))
}

/// Before anything is measured: the baseline's interpreter has its packages, and the template
/// reads.
async fn prepare(args: &Args, python: &Python) -> anyhow::Result<Template> {
    python.check().await?;
    Template::from_path(&args.template)
        .with_context(|| format!("reading {}", args.template.display()))
}

/// How the stand-ins' phases run, from the arguments.
fn plan(args: &Args) -> e2e::Plan {
    e2e::Plan {
        records: args.e2e_records,
        keys: args.e2e_keys,
        burst: args.burst,
        interval: Duration::from_millis(args.interval_ms),
        poll: Duration::from_millis(args.poll_ms),
        timeout: Duration::from_secs(args.settle_s),
        handler_records: args.handler_records,
        window: args.esm_window_ms.map(Duration::from_millis),
    }
}

/// Success, unless the hub lost changes end to end.
fn verdict(hub: &e2e::EndToEnd) -> ExitCode {
    if hub.never_visible > 0 {
        eprintln!(
            "bench: {} of the hub's changes never became visible: the hub lost updates",
            hub.never_visible
        );
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// The machine the figures come from.
#[derive(Debug, Serialize)]
pub struct Machine {
    /// CPU model.
    pub cpu: String,
    /// Cores.
    pub cores: usize,
}

impl Machine {
    /// This machine: its CPU model from `/proc/cpuinfo`, and its cores.
    fn this() -> Machine {
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|c| {
                c.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split(':').nth(1))
                    .map(|m| m.trim().to_string())
            })
            .unwrap_or_else(|| "unknown CPU".into());
        Machine {
            cpu,
            cores: cores(),
        }
    }
}

/// Cores this process may run on.
fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
