//! `hubctl parse`: what the hub makes of one Kafka record.

use anyhow::{Context as _, bail};
use hub_core::Classify;
use hub_sap::{Limits, OwnedRecord, parse_record};
use serde_json::json;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `hubctl parse`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The record value (`-` for standard input); with --envelope, a JSON file
    /// `{"key": …, "headers": {…}, "value": …}` holding the whole record.
    file: PathBuf,
    /// A Kafka header, NAME=VALUE (repeatable), e.g. `--header ce_specversion=1.0`.
    #[arg(long = "header", value_name = "NAME=VALUE")]
    headers: Vec<String>,
    /// The Kafka key.
    #[arg(long)]
    key: Option<String>,
    /// The Kafka topic the record came from (recorded in the event's source).
    #[arg(long)]
    topic: Option<String>,
    /// The Kafka partition.
    #[arg(long)]
    partition: Option<i32>,
    /// The Kafka offset.
    #[arg(long)]
    offset: Option<i64>,
    /// FILE is an envelope with key, headers and value (the binary-mode fixture format).
    #[arg(long)]
    envelope: bool,
}

/// A Kafka record from a file's bytes, as `hubctl parse` and `hubctl publish` take it: the
/// value itself, or with `envelope` a JSON `{"key", "headers", "value"}`; then `key` replaces
/// the key and each `NAME=VALUE` of `headers` is appended.
pub fn record_from(
    raw: Vec<u8>,
    envelope: bool,
    key: Option<&str>,
    headers: &[String],
) -> anyhow::Result<OwnedRecord> {
    let mut record = if envelope {
        OwnedRecord::from_envelope_json(&raw).map_err(|e| anyhow::anyhow!("--envelope: {e}"))?
    } else {
        OwnedRecord {
            value: raw,
            ..OwnedRecord::default()
        }
    };
    if let Some(k) = key {
        record.key = Some(k.as_bytes().to_vec());
    }
    for h in headers {
        let Some((k, v)) = h.split_once('=') else {
            bail!("--header {h}: expected NAME=VALUE");
        };
        record.headers.push((k.to_string(), v.as_bytes().to_vec()));
    }
    Ok(record)
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let raw = if args.file.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::stdin().read_to_end(&mut buf)?;
        buf
    } else {
        std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?
    };
    let record = record_from(raw, args.envelope, args.key.as_deref(), &args.headers)?;
    let env = record.envelope(args.topic.as_deref(), args.partition, args.offset);
    let mut out = std::io::stdout().lock();
    match parse_record(&env, &Limits::default()) {
        Ok(outcomes) => {
            for o in outcomes {
                writeln!(out, "{}", serde_json::to_string(&o)?)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            let line = json!({
                "outcome": "error",
                "class": e.class(),
                "kind": e.kind(),
                "path": e.path(),
                "message": e.to_string(),
            });
            writeln!(out, "{line}")?;
            eprintln!("error ({}): {e}", e.class());
            Ok(ExitCode::from(2))
        }
    }
}
