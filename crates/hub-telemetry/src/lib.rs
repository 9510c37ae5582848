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
//! - [`init`]: install the global subscriber once, at the top of `main`; [`init_at`] with another
//!   default filter, and [`verbosity`], the filter a command's `-v` flags ask for.
//! - [`Format`]: the chosen output format.

use tracing_subscriber::EnvFilter;
pub use tracing_subscriber::filter::LevelFilter;

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

/// Targets of the hub's own code: its crates (`hub_*`, `hubctl`) and its Lambdas.
const OWN_TARGETS: &[&str] = &["hub", "domain_sync", "kafka_bridge", "dlq_redrive"];

/// The filter of a command whose default level is `default`, raised by its `-v` flags: `-v` at
/// least INFO; `-vv` DEBUG for the hub's own code, dependencies (the SDK, hyper) at INFO;
/// `-vvv` DEBUG for everything; more, TRACE. Pass it to [`init_at`]; `RUST_LOG`, when set,
/// still decides.
pub fn verbosity(default: LevelFilter, verbose: u8) -> String {
    let at_least = |level: LevelFilter| default.max(level).to_string();
    match verbose {
        0 => default.to_string(),
        1 => at_least(LevelFilter::INFO),
        2 => {
            let mut filter = at_least(LevelFilter::INFO);
            for target in OWN_TARGETS {
                filter.push_str(&format!(",{target}=debug"));
            }
            filter
        }
        3 => at_least(LevelFilter::DEBUG),
        _ => LevelFilter::TRACE.to_string(),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_v_raises_the_level_never_lowers_it() {
        // Scenario: a quiet command (WARN) gets INFO with -v and DEBUG for the hub's own code
        // with -vv; a command that logs at INFO by default keeps it with -v; -vvv is DEBUG for
        // every crate, more is TRACE. Every filter parses.
        assert_eq!(verbosity(LevelFilter::WARN, 0), "warn");
        assert_eq!(verbosity(LevelFilter::WARN, 1), "info");
        assert_eq!(
            verbosity(LevelFilter::WARN, 2),
            "info,hub=debug,domain_sync=debug,kafka_bridge=debug,dlq_redrive=debug"
        );
        assert_eq!(verbosity(LevelFilter::INFO, 1), "info");
        assert_eq!(verbosity(LevelFilter::INFO, 3), "debug");
        assert_eq!(verbosity(LevelFilter::INFO, 5), "trace");
        for v in 0..5 {
            EnvFilter::try_new(verbosity(LevelFilter::WARN, v)).unwrap();
        }
    }
}
