//! `hubctl`: the developer and operator CLI of SAP Sync Hub: what operators and developers run
//! day to day against a stack.
//!
//! **Its room:** the library crates and the Lambda crates' `local` features (it runs the hub's
//! functions locally as the template deploys them). No measuring tools: the bench, its fake SNS
//! and counting proxy, and the profile report are development tooling and live in `hub-bench`.
//!
//! # Layout
//! - `provision`: create (or check) the resources of `template.yaml` on the local stand-ins.
//! - `kafka`: host the embedded Kafka broker.
//! - `parse`: print the canonical change events of one Kafka record (or its typed error).
//! - `run`: the main job: provision, then run every function of the template under the local
//!   SQS and DynamoDB stream event source mappings, with a live status, until interrupted.
//! - `status`: queue depths and table size of the stack.
//! - `get`, `query`: read the single table as a domain consumer would.
//! - `publish`: produce SAP payload files to Kafka, one record per file.
//! - `redrive`: put a DLQ's messages back where they came from.
//! - `replay`: a window of SAP's topics through the bridge's parse and publish again.
//! - `backfill`: an entity's current state sent to one domain's queue (as the backfill function).
//! - `tail`: watch the consolidated (or the raw changes) topic through a queue of its own.
//! - `reconcile`: account for every change of a Kafka window or an SAP extract: applied,
//!   stale, missing, dead-lettered or in flight.
//!
//! Commands that only read (`status`, `get`, `query`, `parse`) log warnings only and print just
//! their answer; the global `-v` (INFO) and `-vv` (the hub's DEBUG lines) raise any command's
//! log level, and `RUST_LOG`, when set, decides as usual.

mod backfill;
mod kafka;
mod parse;
mod provision;
mod publish;
mod read;
mod reconcile;
mod redrive;
mod replay;
mod run;
mod s4;
mod stack;
mod status;
mod tail;

use clap::{Parser, Subcommand};

/// mimalloc, as in the `kafka-bridge` binary: `hubctl run` runs the bridge, whose SDK request
/// serialisation grows strings by reallocation, which glibc's allocator copies; mimalloc is
/// measurably faster on the bridge's hot path.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::process::ExitCode;

/// SAP Sync Hub developer CLI.
#[derive(Debug, Parser)]
#[command(name = "hubctl", version, about)]
struct Cli {
    /// More output: -v logs at INFO (and `provision` lists every resource), -vv the hub's DEBUG
    /// lines (each resource provisioned or resolved), -vvv every crate's. RUST_LOG, when set,
    /// decides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create the resources of template.yaml on the local stand-ins (or, with --check, report
    /// drift without writing).
    Provision(provision::Args),
    /// The embedded Kafka broker.
    #[command(subcommand)]
    Kafka(kafka::Command),
    /// The main job: provision, then run the hub's functions under the local event source
    /// mappings until interrupted.
    Run(run::Args),
    /// Produce SAP payload files to a Kafka topic, one record per file (like kcat).
    Publish(publish::Args),
    /// Queue depths (with DLQs) and table size of the local stack.
    Status(status::Args),
    /// Read one record as a domain consumer would (customer, material, order, supplier…).
    Get(read::GetArgs),
    /// Run an index query (customer-orders newest first, material-orders).
    Query(read::QueryArgs),
    /// Print the canonical change events of one Kafka record as JSON lines, or its typed error
    /// (exit status 2).
    Parse(parse::Args),
    /// Put the messages of a DLQ back where they came from (the dlq-redrive Lambda's logic,
    /// configured as in template.yaml), with filters, a rate limit and a loop guard.
    Redrive(redrive::Args),
    /// Watch a topic as a domain would: `consolidated` (every applied change, the record as it
    /// now stands) or `changes` (the bridge's raw events), one JSON line per message.
    Tail(tail::Args),
    /// Send an entity's current state (the consolidated message format, `replay = true`) to one
    /// domain's queue: dry run unless --execute, rate-limited, resumable from a checkpoint.
    Backfill(backfill::Args),
    /// Run a window of SAP's Kafka topics through the bridge's parse and publish again (no
    /// consumer group, nothing committed): dry run unless --execute. Applied changes come back
    /// stale and change nothing.
    Replay(replay::Args),
    /// Account for every change of a Kafka window or an SAP-side extract against the table,
    /// the DLQs and the domain queues: applied, stale, missing, dead-lettered, in flight. Exit
    /// status 0 only when nothing is missing or stale (1), 2 when it could not reconcile.
    Reconcile(reconcile::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let verbose = cli.verbose;
    // Commands whose output is the point (an answer) log warnings only.
    let quiet = matches!(
        cli.command,
        Command::Status(_)
            | Command::Get(_)
            | Command::Query(_)
            | Command::Parse(_)
            | Command::Reconcile(_)
    );
    let default = if quiet {
        hub_telemetry::LevelFilter::WARN
    } else {
        hub_telemetry::LevelFilter::INFO
    };
    hub_telemetry::init_at(&hub_telemetry::verbosity(default, verbose));
    let result = match cli.command {
        // The mock cluster lives on this thread; it needs no async runtime.
        Command::Kafka(cmd) => kafka::run(cmd),
        Command::Parse(args) => parse::run(args),
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
                    Command::Provision(args) => provision::run(args, verbose).await,
                    Command::Run(args) => run::run(args, verbose).await,
                    Command::Status(args) => status::run(args).await,
                    Command::Get(args) => read::get(args).await,
                    Command::Query(args) => read::query(args).await,
                    Command::Redrive(args) => redrive::run(args).await,
                    Command::Reconcile(args) => reconcile::run(args).await,
                    Command::Publish(args) => publish::run(args).await,
                    Command::Tail(args) => tail::run(args).await,
                    Command::Backfill(args) => backfill::run(args).await,
                    Command::Replay(args) => replay::run(args).await,
                    Command::Kafka(_) | Command::Parse(_) => unreachable!("handled above"),
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
