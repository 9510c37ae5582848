//! `hubctl publish`: produce SAP payloads to Kafka the way an SAP team would (kcat works too),
//! one record per file, with a progress bar for many files.

use anyhow::Context as _;
use hub_sap::OwnedRecord;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `hubctl publish`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The payload files: one record each (an IDoc XML, a CloudEvent JSON…), or with
    /// --envelope a JSON file `{"key": …, "headers": {…}, "value": …}`.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// The Kafka topic, e.g. sap.idoc.matmas.
    #[arg(long)]
    topic: String,
    /// A Kafka header, NAME=VALUE (repeatable), added to every record.
    #[arg(long = "header", value_name = "NAME=VALUE")]
    headers: Vec<String>,
    /// The Kafka key of every record (default: none, or the envelope's).
    #[arg(long)]
    key: Option<String>,
    /// The files are envelopes with key, headers and value (the binary-mode fixture format).
    #[arg(long)]
    envelope: bool,
    /// Brokers (default: KAFKA_BOOTSTRAP_SERVERS, else the local stack's embedded Kafka).
    #[arg(long)]
    bootstrap_servers: Option<String>,
}

/// Reads a record from `file` as `args` says.
fn record(args: &Args, file: &Path) -> anyhow::Result<OwnedRecord> {
    let raw = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    crate::parse::record_from(raw, args.envelope, args.key.as_deref(), &args.headers)
        .with_context(|| file.display().to_string())
}

/// The brokers: the flag, else `KAFKA_BOOTSTRAP_SERVERS`, else the local stack's.
pub fn bootstrap(flag: Option<&str>) -> anyhow::Result<String> {
    match flag {
        Some(b) => Ok(b.to_string()),
        None => hub_kafka::resolve_bootstrap(Path::new(".local/run/kafka.bootstrap"))
            .context("no Kafka: pass --bootstrap-servers, set KAFKA_BOOTSTRAP_SERVERS or start the local stack"),
    }
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let bootstrap = bootstrap(args.bootstrap_servers.as_deref())?;
    // Every file is read (and refused) before anything is produced.
    let records = args
        .files
        .iter()
        .map(|f| record(&args, f))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let producer = hub_kafka::produce::acked_producer(&bootstrap)?;
    let bar = if records.len() > 1 {
        ProgressBar::new(records.len() as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("[{bar:30}] {pos}/{len} records  {msg}")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    let mut last = (0, 0);
    for (file, record) in args.files.iter().zip(&records) {
        last = hub_kafka::produce::send(&producer, &args.topic, record).await?;
        bar.set_message(file.display().to_string());
        bar.inc(1);
    }
    bar.finish_and_clear();
    println!(
        "published {} record(s) to {} on {bootstrap} (last at partition {}, offset {})",
        records.len(),
        args.topic,
        last.0,
        last.1
    );
    Ok(ExitCode::SUCCESS)
}
