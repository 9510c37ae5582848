//! Tracing set-up shared by every binary of SAP Sync Hub.
//!
//! Inside AWS Lambda (detected by `AWS_LAMBDA_FUNCTION_NAME`) logs are JSON lines, one object per
//! event with its span fields, which CloudWatch Logs Insights can query; locally they are the
//! compact human format. `RUST_LOG` filters as usual (default `info`).
//!
//! **Its room:** tracing and tracing-subscriber only. Every binary and Lambda calls it once at the
//! top of `main`; no library crate depends on it.
//!
//! # Layout
//! - [`init`]: install the global subscriber once, at the top of `main`.
//! - [`Format`]: the chosen output format.

use tracing_subscriber::EnvFilter;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One JSON object per line (Lambda, CloudWatch).
    Json,
    /// Human-readable, for a terminal.
    Pretty,
}

impl Format {
    /// JSON inside Lambda or when `HUB_LOG_FORMAT=json`, pretty otherwise.
    pub fn from_env() -> Format {
        match std::env::var("HUB_LOG_FORMAT").ok().as_deref() {
            Some("json") => Format::Json,
            Some("pretty") => Format::Pretty,
            _ if std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some() => Format::Json,
            _ => Format::Pretty,
        }
    }
}

/// Installs the global tracing subscriber in the format [`Format::from_env`] picks. Logs go to
/// stderr so that stdout stays free for command output and CloudWatch EMF metric lines.
/// Calling it twice is harmless (the second call does nothing).
pub fn init() {
    init_with(Format::from_env());
}

/// As [`init`], with `level` (e.g. `warn`) when `RUST_LOG` is not set: for commands whose own
/// output is the point (benchmarks).
pub fn init_at(level: &str) {
    install(Format::from_env(), level);
}

/// Installs the global subscriber with an explicit format.
pub fn init_with(format: Format) {
    install(format, "info");
}

fn install(format: Format, default_level: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        Format::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
        Format::Pretty => builder.compact().try_init(),
    };
}
