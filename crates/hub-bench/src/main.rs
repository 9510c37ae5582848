//! `hub-bench`: development tooling of SAP Sync Hub. It measures the hub against a baseline (the
//! bridge alone, the domain handlers alone, the whole chain end to end, and what each costs), and
//! tells where the bridge's CPU goes. Nothing deployed depends on it, and no other crate does.
//!
//! **Its room:** every crate of the workspace (it drives the bridge and the domain functions as
//! `hubctl run` does, through their library crates and the Lambda crates' `local` features) and
//! the measuring tools (`cpu-time`, `plotters`, a `hyper` server), which belong in no runtime
//! crate. It depends on no binary: the helper processes it needs (the embedded Kafka, the fake
//! SNS, the counting proxy) are its own subcommands.
//!
//! # Layout
//! - `bench`: `hub-bench bench`, the phases in order (the bridge alone, hub and baseline; the
//!   handler alone; end to end, hub and baseline; cost), each returning its figures, and the
//!   report built from them (table, JSON, Markdown, chart).
//! - `baseline`: the baseline runner, `infra/baseline/baseline.py`'s processes.
//! - `fake_sns`: `hub-bench fake-sns`, an SNS endpoint that answers at once.
//! - `proxy`: `hub-bench count-proxy`, an HTTP proxy in front of the stand-ins that counts AWS
//!   requests by service and operation.
//! - `local_http`: the small HTTP server and client of those two.
//! - `profile`: `hub-bench profile-report`, where the bridge's CPU goes, from `perf script`.

mod baseline;
mod bench;
mod enrich;
mod fake_sns;
mod local_http;
mod profile;
mod proxy;
mod reconcile;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// mimalloc, as in the `kafka-bridge` binary: the bench measures the bridge with the allocator
/// it runs with (the SDK's request serialisation grows strings by reallocation, which glibc's
/// allocator copies; mimalloc is measurably faster on the bridge's hot path).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// SAP Sync Hub's bench and its helpers (development tooling).
#[derive(Debug, Parser)]
#[command(name = "hub-bench", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Measure: the bridge alone (events/s per core, CPU per 100k events) into a fast local
    /// SNS endpoint; prints a table and writes JSON.
    Bench(bench::Args),
    /// Measure `hubctl reconcile`'s accounting against DynamoDB Local (changes/s, requests,
    /// read units), beside a competent GetItem peer and a naive one; prints a table and writes
    /// JSON.
    Reconcile(reconcile::Args),
    /// The S/4 enricher against the local S/4 (SAP CAP) on a thin-event load: S/4 requests per
    /// event and the latency enrichment adds, beside a read per event and a read per key;
    /// prints a Markdown table.
    Enrich(enrich::Args),
    /// Cold start of each Lambda function: process start to its first request to a Lambda
    /// Runtime API emulator, beside a hello-world function, and each bootstrap's size; prints a
    /// Markdown table.
    Coldstart(bench::coldstart::Args),
    /// Where the bridge's CPU goes: shares by part, innermost frame and function, from `perf
    /// script` of a profiled `hub-bench bench --bridge-only` (infra/local/profile-bridge.sh).
    ProfileReport(profile::Args),
    /// An SNS endpoint that accepts signed Publish/PublishBatch calls and answers at once (for
    /// benchmarks). Prints its URL.
    FakeSns {
        /// Port on 127.0.0.1 (0: any free port).
        #[arg(long, default_value_t = 0)]
        port: u16,
    },
    /// An HTTP proxy in front of the stand-ins that counts AWS requests by service and operation
    /// (for benchmarks). Prints its URL; `GET /__stats` answers the counts.
    CountProxy {
        /// moto's URL (SNS, SQS, S3).
        #[arg(long)]
        moto: String,
        /// DynamoDB Local's URL.
        #[arg(long)]
        dynamodb: String,
    },
    /// The bench's embedded Kafka, in a process of its own so that the bench's CPU time is the
    /// bridge's: prints the bootstrap address, then serves until killed.
    #[command(hide = true)]
    EmbeddedKafka(bench::rig::KafkaArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        // The bench's output is its table; the components it runs log warnings only.
        Command::Bench(_) | Command::Reconcile(_) | Command::Coldstart(_) | Command::Enrich(_) => {
            hub_telemetry::init_at("warn")
        }
        _ => hub_telemetry::init(),
    }
    let result = match cli.command {
        // The mock cluster lives on this thread; it needs no async runtime.
        Command::EmbeddedKafka(args) => bench::rig::serve_kafka(args),
        Command::ProfileReport(args) => profile::run(args),
        other => {
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
            {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("error: cannot start the async runtime: {e}");
                    return ExitCode::FAILURE;
                }
            };
            runtime.block_on(async move {
                match other {
                    Command::Bench(args) => bench::run_bench(args).await,
                    Command::Reconcile(args) => reconcile::run(args).await,
                    Command::Enrich(args) => enrich::run(args).await,
                    Command::Coldstart(args) => bench::coldstart::run(args).await,
                    Command::FakeSns { port } => fake_sns::serve(port).await,
                    Command::CountProxy { moto, dynamodb } => proxy::serve(&moto, &dynamodb).await,
                    Command::EmbeddedKafka(_) | Command::ProfileReport(_) => {
                        unreachable!("handled above")
                    }
                }
            })
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
