//! `hub-bench coldstart`: each Lambda function's cold-start initialisation, measured as issue 23
//! asks: from process start to the function's first request to the Lambda Runtime API, under a
//! runtime API emulator, beside a hello-world `lambda_runtime` function built the same way, in
//! the same run; and the size of each bootstrap.
//!
//! **What is measured.** The interval from the instant before the process is spawned to the
//! instant the request line of its first request, `GET /2018-06-01/runtime/invocation/next`,
//! arrives at the [`Emulator`]. Everything a function does before it asks for its first event
//! falls inside: loading the binary, the async runtime, tracing, reading and validating the
//! configuration, building the SDK clients and the adapters over them. The emulator never
//! answers: once the request line has arrived, the function is killed.
//!
//! **How.** Every function runs once unmeasured (so that every binary is in the page cache, and
//! a missing variable fails the command before any figure is taken), then `runs` times, the
//! functions taking turns within each round, so that whatever else the machine does weighs on
//! all of them alike. Each run has its own emulator on an ephemeral port of 127.0.0.1. The
//! figures are nearest-rank percentiles, as [`super::e2e::Percentiles`]'s.
//!
//! **Environment.** Each process starts from an empty environment plus `PATH`, then gets what
//! Lambda would give it (the `AWS_LAMBDA_*` variables `lambda_runtime` requires, a region and
//! static credentials) and the variables its configuration requires, with dummy values that
//! validate ([`FUNCTIONS`]). `AWS_ENDPOINT_URL` points every SDK client at 127.0.0.1:9 and the
//! EC2 metadata service is disabled, so nothing could leave the machine; no function calls AWS
//! before its first event in any case (configuration, `AwsClients::from_env` and the adapters'
//! constructors make no request).
//!
//! Run it alone on the machine, on binaries built with `cargo build --release` (the profile
//! `sam build` uses): a concurrent build makes every figure larger.

use anyhow::{Context as _, bail};
use serde::Serialize;
use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt as _;
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{ChildStderr, Command};

/// The path of the runtime API's next-invocation request: the first request a function makes,
/// once its initialisation is done.
pub const NEXT_INVOCATION: &str = "/2018-06-01/runtime/invocation/next";

/// The hello-world function's binary: the peer every function is compared with.
pub const HELLO: &str = "hello-lambda";

/// How long a function may take to make its first request before the run fails.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// The longest request line the emulator reads.
const MAX_REQUEST_LINE: usize = 8 * 1024;

/// The bytes of a function's stderr kept for the error when it fails to start.
const STDERR_TAIL: usize = 4 * 1024;

/// The lines of that tail an error shows.
const STDERR_LINES: usize = 20;

/// `hub-bench coldstart` arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The directory of the release binaries (each function's bootstrap, under its binary name).
    #[arg(long, default_value = "target/release")]
    dir: PathBuf,
    /// Measured runs of each function (after one unmeasured run each).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    runs: u32,
}

/// `hub-bench coldstart`: measures every function of [`FUNCTIONS`] and prints a Markdown table.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let figures = measure(&args.dir, args.runs).await?;
    print!("{}", markdown(&figures, args.runs));
    Ok(ExitCode::SUCCESS)
}

/// The cold-start phase of `hub-bench bench`: [`measure`] with `runs` runs of each function,
/// or `None` (the phase left out, with a note on stderr) when a binary is not in `dir`.
pub async fn phase(dir: &Path, runs: u32) -> anyhow::Result<Option<Vec<ColdStart>>> {
    let mut missing: Vec<&str> = FUNCTIONS
        .iter()
        .map(|f| f.binary)
        .filter(|b| !dir.join(b).is_file())
        .collect();
    missing.dedup();
    if !missing.is_empty() {
        eprintln!(
            "bench: cold start left out: {} not in {} (build them with `cargo build --release \
             -p hello-lambda -p domain-sync -p kafka-bridge -p dlq-redrive -p change-stream`)",
            missing.join(", "),
            dir.display()
        );
        return Ok(None);
    }
    measure(dir, runs).await.map(Some)
}

/// A function measured: its binary and the environment its configuration loads from.
#[derive(Debug, Clone, Copy)]
pub struct Function {
    /// The name in the report (the binary's, with the deployment when one binary is deployed in
    /// several ways).
    pub label: &'static str,
    /// The binary's file name in the build directory.
    pub binary: &'static str,
    /// The variables of the function's own configuration, as `template.yaml` sets them, with
    /// dummy values that validate.
    pub env: &'static [(&'static str, &'static str)],
}

/// The functions measured, the hello-world peer first. The values mirror `template.yaml`'s
/// environment of each function (its parameters at their defaults):
///
/// - `customer-sync`, `sales-order-sync` (`domain_sync::Config`): `TABLE_NAME`, `DLQ_URL` (a
///   URL), `TOMBSTONE_TTL_DAYS`.
/// - `kafka-bridge-lambda` (`hub_aws::bridge::Config`, with `hub_bridge::Settings`):
///   `SNS_TOPIC_ARN` (an ARN, not `.fifo` since `SNS_FIFO` is false), `BRIDGE_DLQ_URL` (a URL),
///   `CLAIM_CHECK_BUCKET`, `BRIDGE_THIN_EVENTS`, `SNS_FIFO`, `BRIDGE_MAX_FUTURE_SKEW_SECONDS`
///   (`IDOC_SENDER_TIME_ZONES` is blank by default, so unset).
/// - `dlq-redrive` (`dlq_redrive::Config`), deployed two ways that build different adapters: the
///   bridge DLQ's (`DLQ_URL`, `BRIDGE_DLQ_URL`, `SNS_TOPIC_ARN`: the bridge's configuration and
///   its SNS publisher, whose HTTPS client loads the trusted roots) and a domain DLQ's
///   (`DLQ_URL`, `TARGET_QUEUE_URL`).
/// - `change-stream` (`change_stream::Config`): `TABLE_NAME`, `CONSOLIDATED_TOPIC_ARN` (not
///   `.fifo` since `CONSOLIDATED_FIFO` is false), `CONSOLIDATED_FIFO`, `CLAIM_CHECK_BUCKET`.
pub const FUNCTIONS: &[Function] = &[
    Function {
        label: HELLO,
        binary: HELLO,
        env: &[],
    },
    Function {
        label: "customer-sync",
        binary: "customer-sync",
        env: &[
            ("TABLE_NAME", "hub-table"),
            (
                "DLQ_URL",
                "http://127.0.0.1:9/000000000000/hub-customers-dlq",
            ),
            ("TOMBSTONE_TTL_DAYS", "30"),
        ],
    },
    Function {
        label: "sales-order-sync",
        binary: "sales-order-sync",
        env: &[
            ("TABLE_NAME", "hub-table"),
            (
                "DLQ_URL",
                "http://127.0.0.1:9/000000000000/hub-sales-orders-dlq",
            ),
            ("TOMBSTONE_TTL_DAYS", "30"),
        ],
    },
    Function {
        label: "kafka-bridge-lambda",
        binary: "kafka-bridge-lambda",
        env: &[
            (
                "SNS_TOPIC_ARN",
                "arn:aws:sns:us-east-1:000000000000:hub-changes",
            ),
            (
                "BRIDGE_DLQ_URL",
                "http://127.0.0.1:9/000000000000/hub-bridge-dlq",
            ),
            ("CLAIM_CHECK_BUCKET", "hub-claim-checks"),
            ("BRIDGE_THIN_EVENTS", "dead-letter"),
            ("SNS_FIFO", "false"),
            ("BRIDGE_MAX_FUTURE_SKEW_SECONDS", "86400"),
        ],
    },
    Function {
        label: "dlq-redrive (bridge DLQ)",
        binary: "dlq-redrive",
        env: &[
            ("DLQ_URL", "http://127.0.0.1:9/000000000000/hub-bridge-dlq"),
            (
                "BRIDGE_DLQ_URL",
                "http://127.0.0.1:9/000000000000/hub-bridge-dlq",
            ),
            (
                "SNS_TOPIC_ARN",
                "arn:aws:sns:us-east-1:000000000000:hub-changes",
            ),
        ],
    },
    Function {
        label: "dlq-redrive (domain DLQ)",
        binary: "dlq-redrive",
        env: &[
            (
                "DLQ_URL",
                "http://127.0.0.1:9/000000000000/hub-customers-dlq",
            ),
            (
                "TARGET_QUEUE_URL",
                "http://127.0.0.1:9/000000000000/hub-customers",
            ),
        ],
    },
    Function {
        label: "change-stream",
        binary: "change-stream",
        env: &[
            ("TABLE_NAME", "hub-table"),
            (
                "CONSOLIDATED_TOPIC_ARN",
                "arn:aws:sns:us-east-1:000000000000:hub-consolidated",
            ),
            ("CONSOLIDATED_FIFO", "false"),
            ("CLAIM_CHECK_BUCKET", "hub-claim-checks"),
        ],
    },
];

/// What every function gets besides its own configuration and `AWS_LAMBDA_RUNTIME_API`:
///
/// - `AWS_LAMBDA_FUNCTION_MEMORY_SIZE` and `AWS_LAMBDA_FUNCTION_VERSION`, which
///   `lambda_runtime::Config::from_env` requires (it panics without them; the function's name,
///   also required, is set per function). `lambda_runtime` 1.x reads no log format variable.
/// - A region and static credentials, as Lambda sets them, so `aws-config` resolves both from
///   the environment (no profile file: `HOME` is unset, as in Lambda).
/// - `AWS_ENDPOINT_URL` on 127.0.0.1:9 (the discard port) for every SDK client, and
///   `AWS_EC2_METADATA_DISABLED`, so that no request could leave the machine.
/// - `RUST_LOG=info`, as `template.yaml`'s globals set it.
const LAMBDA_ENV: &[(&str, &str)] = &[
    ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
    ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
    ("AWS_REGION", "us-east-1"),
    ("AWS_DEFAULT_REGION", "us-east-1"),
    ("AWS_ACCESS_KEY_ID", "test"),
    ("AWS_SECRET_ACCESS_KEY", "test"),
    ("AWS_SESSION_TOKEN", "test"),
    ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
    ("AWS_EC2_METADATA_DISABLED", "true"),
    ("RUST_LOG", "info"),
];

/// One function's cold start.
#[derive(Debug, Clone, Serialize)]
pub struct ColdStart {
    /// The function, as [`Function::label`] names it.
    pub function: String,
    /// Its binary.
    pub binary: String,
    /// The size of its bootstrap (the binary) in bytes.
    pub bytes: u64,
    /// Process start to its first request to the runtime API, in milliseconds.
    pub init_ms: InitMs,
    /// Its median over the hello-world function's median (1 for the hello-world function).
    pub vs_hello: f64,
}

/// Nearest-rank percentiles of a function's initialisation times, in milliseconds (of 10
/// runs, the median is the 5th fastest and the 90th percentile the 9th).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct InitMs {
    /// Runs measured.
    pub samples: usize,
    /// Fastest.
    pub min: f64,
    /// Median.
    pub median: f64,
    /// 90th percentile.
    pub p90: f64,
    /// Slowest.
    pub max: f64,
}

impl InitMs {
    /// The percentiles of `values` (all zero when there are none).
    pub fn of(values: &[f64]) -> InitMs {
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        let (Some(&min), Some(&max)) = (v.first(), v.last()) else {
            return InitMs::default();
        };
        let at = |p: f64| v[((p * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1];
        InitMs {
            samples: v.len(),
            min,
            median: at(0.50),
            p90: at(0.90),
            max,
        }
    }
}

/// Measures every function of [`FUNCTIONS`] from its binary in `dir`: its size, one unmeasured
/// run, then `runs` measured runs (the functions taking turns); in [`FUNCTIONS`]' order.
pub async fn measure(dir: &Path, runs: u32) -> anyhow::Result<Vec<ColdStart>> {
    let mut sizes = Vec::with_capacity(FUNCTIONS.len());
    for function in FUNCTIONS {
        let path = dir.join(function.binary);
        let bytes = std::fs::metadata(&path)
            .with_context(|| {
                format!(
                    "{}: no bootstrap at {} (build it with `cargo build --release`)",
                    function.label,
                    path.display()
                )
            })?
            .len();
        sizes.push(bytes);
    }
    for function in FUNCTIONS {
        init_once(dir, function).await?;
    }
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); FUNCTIONS.len()];
    for _ in 0..runs {
        for (function, times) in FUNCTIONS.iter().zip(&mut samples) {
            times.push(init_once(dir, function).await?.as_secs_f64() * 1e3);
        }
    }
    let init: Vec<InitMs> = samples.iter().map(|s| InitMs::of(s)).collect();
    let hello = FUNCTIONS
        .iter()
        .zip(&init)
        .find(|(f, _)| f.binary == HELLO)
        .map(|(_, i)| i.median)
        .context("the hello-world function is not among the functions measured")?;
    Ok(FUNCTIONS
        .iter()
        .zip(sizes)
        .zip(init)
        .map(|((function, bytes), init_ms)| ColdStart {
            function: function.label.to_string(),
            binary: function.binary.to_string(),
            bytes,
            init_ms,
            vs_hello: if hello > 0.0 {
                init_ms.median / hello
            } else {
                f64::NAN
            },
        })
        .collect())
}

/// One cold start of `function` from its binary in `dir`: from an empty environment (but
/// `PATH`), with [`LAMBDA_ENV`], its name and its own configuration.
async fn init_once(dir: &Path, function: &Function) -> anyhow::Result<Duration> {
    let mut command = Command::new(dir.join(function.binary));
    command.env_clear();
    if let Some(path) = std::env::var_os("PATH") {
        command.env("PATH", path);
    }
    let log_group = format!("/aws/lambda/{}", function.binary);
    command
        .envs(LAMBDA_ENV.iter().copied())
        .env("AWS_LAMBDA_FUNCTION_NAME", function.binary)
        .env("AWS_LAMBDA_LOG_GROUP_NAME", log_group)
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "coldstart")
        .envs(function.env.iter().copied());
    time_to_first_request(function.label, command).await
}

/// How a run ended.
enum Outcome {
    /// The emulator read a request (or failed to).
    Request(anyhow::Result<FirstRequest>),
    /// The process exited first.
    Exited(std::io::Result<std::process::ExitStatus>),
    /// Neither within [`START_TIMEOUT`].
    TimedOut,
}

/// Runs `command` (named `label` in errors) against an emulator of its own, set in its
/// `AWS_LAMBDA_RUNTIME_API`: the time from the instant before the spawn to the arrival of its
/// first request's line, which must be `GET` [`NEXT_INVOCATION`]. The process is killed then.
/// Exiting first, another first request, or none within [`START_TIMEOUT`], is an error naming
/// `label`, with the end of the process's stderr.
async fn time_to_first_request(label: &str, mut command: Command) -> anyhow::Result<Duration> {
    let emulator = Emulator::start().await?;
    command
        .env("AWS_LAMBDA_RUNTIME_API", emulator.address()?.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let started = Instant::now();
    let mut child = command
        .spawn()
        .with_context(|| format!("{label}: cannot start it"))?;
    let stderr = child.stderr.take().map(|s| tokio::spawn(tail(s)));
    let outcome = tokio::select! {
        request = emulator.first_request() => Outcome::Request(request),
        status = child.wait() => Outcome::Exited(status),
        () = tokio::time::sleep(START_TIMEOUT) => Outcome::TimedOut,
    };
    // Whatever happened, the function is done: it would wait for its event forever.
    let _ = child.start_kill();
    let _ = child.wait().await;
    let stderr = match stderr {
        Some(task) => tokio::time::timeout(Duration::from_secs(1), task)
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default(),
        None => String::new(),
    };
    match outcome {
        Outcome::Request(Ok(request)) if request.is_next() => {
            Ok(request.at.saturating_duration_since(started))
        }
        Outcome::Request(Ok(request)) => bail!(
            "{label}: its first request to the runtime API was {:?}, not GET {NEXT_INVOCATION}; \
             its stderr ends with:\n{stderr}",
            request.line
        ),
        Outcome::Request(Err(e)) => Err(e.context(format!(
            "{label}: no request line; its stderr ends with:\n{stderr}"
        ))),
        Outcome::Exited(status) => {
            let status = status.map_or_else(|e| e.to_string(), |s| s.to_string());
            bail!(
                "{label}: exited ({status}) before its first request to the runtime API; \
                 its stderr ends with:\n{stderr}"
            )
        }
        Outcome::TimedOut => bail!(
            "{label}: no request to the runtime API within {} s; its stderr ends with:\n{stderr}",
            START_TIMEOUT.as_secs()
        ),
    }
}

/// The last [`STDERR_LINES`] lines of `stderr` (of its last [`STDERR_TAIL`] bytes), read to its
/// end.
async fn tail(mut stderr: ChildStderr) -> String {
    let mut kept = Vec::with_capacity(STDERR_TAIL);
    let mut chunk = [0u8; 1024];
    while let Ok(n @ 1..) = stderr.read(&mut chunk).await {
        kept.extend_from_slice(&chunk[..n]);
        let excess = kept.len().saturating_sub(STDERR_TAIL);
        kept.drain(..excess);
    }
    let text = String::from_utf8_lossy(&kept);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(STDERR_LINES)..].join("\n")
}

/// A Lambda Runtime API emulator on an ephemeral port of 127.0.0.1: as much of it as sees a
/// function's first request. It reads the request line and never answers.
#[derive(Debug)]
pub struct Emulator {
    listener: TcpListener,
}

/// The first request an [`Emulator`] received.
#[derive(Debug)]
pub struct FirstRequest {
    /// When its request line had arrived.
    pub at: Instant,
    /// Its request line (`GET /2018-06-01/runtime/invocation/next HTTP/1.1`), without the line
    /// end.
    pub line: String,
    /// Its connection, held open until the request is dropped, so that the function sees no
    /// error before it is stopped.
    _connection: TcpStream,
}

impl FirstRequest {
    /// Whether it is `GET` [`NEXT_INVOCATION`].
    pub fn is_next(&self) -> bool {
        let mut parts = self.line.split_ascii_whitespace();
        parts.next() == Some("GET") && parts.next() == Some(NEXT_INVOCATION)
    }
}

impl Emulator {
    /// An emulator listening on 127.0.0.1, on a port the system picks.
    pub async fn start() -> anyhow::Result<Emulator> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .context("binding the runtime API emulator on 127.0.0.1")?;
        Ok(Emulator { listener })
    }

    /// Its address, `127.0.0.1:<port>`: the value of a function's `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> anyhow::Result<SocketAddr> {
        self.listener
            .local_addr()
            .context("the runtime API emulator's address")
    }

    /// Waits for the first connection and reads its request line. A connection that closes, or
    /// sends more than 8 KiB, before a line end is an error.
    pub async fn first_request(&self) -> anyhow::Result<FirstRequest> {
        let (mut connection, _) = self
            .listener
            .accept()
            .await
            .context("accepting a connection to the runtime API emulator")?;
        let mut received = Vec::with_capacity(256);
        let mut chunk = [0u8; 1024];
        loop {
            let n = connection
                .read(&mut chunk)
                .await
                .context("reading a request to the runtime API emulator")?;
            let at = Instant::now();
            if n == 0 {
                bail!("a connection to the runtime API emulator closed before its request line");
            }
            received.extend_from_slice(&chunk[..n]);
            if let Some(end) = received.windows(2).position(|w| w == b"\r\n") {
                return Ok(FirstRequest {
                    at,
                    line: String::from_utf8_lossy(&received[..end]).into_owned(),
                    _connection: connection,
                });
            }
            if received.len() > MAX_REQUEST_LINE {
                bail!("a request line to the runtime API emulator is longer than 8 KiB");
            }
        }
    }
}

/// The report: the Markdown table of `figures` from `runs` measured runs each.
pub fn markdown(figures: &[ColdStart], runs: u32) -> String {
    let mut out = format!(
        "Cold start: process start to the first `GET {NEXT_INVOCATION}` under a runtime API \
         emulator; {runs} runs of each function after one unmeasured run, nearest-rank \
         percentiles. Bootstrap MB: 10^6 bytes.\n\n\
         | function | bootstrap MB | init median ms | p90 ms | × hello-world |\n\
         |---|---:|---:|---:|---:|\n"
    );
    for f in figures {
        let _ = writeln!(
            out,
            "| {} | {:.1} | {:.1} | {:.1} | {:.2} |",
            f.function,
            f.bytes as f64 / 1e6,
            f.init_ms.median,
            f.init_ms.p90,
            f.vs_hello
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt as _;

    #[tokio::test]
    async fn the_emulator_records_the_first_request_line() {
        // Scenario: a client asks for the next invocation as lambda_runtime does; the emulator
        // records the request line, after the client started, and recognises it.
        let emulator = Emulator::start().await.unwrap();
        let address = emulator.address().unwrap();
        assert!(address.ip().is_loopback());
        let before = Instant::now();
        let client = tokio::spawn(async move {
            let mut stream = TcpStream::connect(address).await.unwrap();
            stream
                .write_all(b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n")
                .await
                .unwrap();
            stream
        });
        let request = emulator.first_request().await.unwrap();
        let _stream = client.await.unwrap();
        assert_eq!(
            request.line,
            "GET /2018-06-01/runtime/invocation/next HTTP/1.1"
        );
        assert!(request.is_next());
        assert!(request.at >= before);
    }

    #[tokio::test]
    async fn another_first_request_is_not_the_next_invocation() {
        // Scenario: a function that fails its initialisation reports it instead of asking for
        // an event: that is not the request measured.
        let emulator = Emulator::start().await.unwrap();
        let address = emulator.address().unwrap();
        let client = tokio::spawn(async move {
            let mut stream = TcpStream::connect(address).await.unwrap();
            stream
                .write_all(b"POST /2018-06-01/runtime/init/error HTTP/1.1\r\n\r\n")
                .await
                .unwrap();
            stream
        });
        let request = emulator.first_request().await.unwrap();
        let _stream = client.await.unwrap();
        assert!(!request.is_next());
    }

    #[tokio::test]
    async fn a_process_that_exits_first_is_an_error_with_its_stderr() {
        // Scenario: a process exits before any request; the error names it and shows the end
        // of its stderr.
        let mut command = Command::new("/bin/sh");
        command.args(["-c", "echo 'TABLE_NAME: required but not set' >&2; exit 2"]);
        let e = time_to_first_request("customer-sync", command)
            .await
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("customer-sync: exited"), "{e}");
        assert!(e.ends_with("TABLE_NAME: required but not set"), "{e}");
    }

    #[tokio::test]
    async fn a_process_is_timed_to_its_first_request() {
        // Scenario: a process that asks the runtime API of its environment for the next
        // invocation (bash's /dev/tcp, on loopback) is timed, then killed while it waits.
        if !Path::new("/bin/bash").exists() {
            return;
        }
        let script = "exec 3<>/dev/tcp/${AWS_LAMBDA_RUNTIME_API%:*}/${AWS_LAMBDA_RUNTIME_API##*:}; \
                      printf 'GET /2018-06-01/runtime/invocation/next HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n' >&3; \
                      exec sleep 30";
        let mut command = Command::new("/bin/bash");
        command.args(["-c", script]);
        let took = time_to_first_request("fake", command).await.unwrap();
        assert!(took < START_TIMEOUT, "{took:?}");
    }

    #[test]
    fn percentiles_by_nearest_rank() {
        // Scenario: of ten runs, the median is the 5th fastest and the 90th percentile the 9th;
        // no runs, no figures.
        let v: Vec<f64> = (1..=10).rev().map(f64::from).collect();
        let p = InitMs::of(&v);
        assert_eq!(
            (p.samples, p.min, p.median, p.p90, p.max),
            (10, 1.0, 5.0, 9.0, 10.0)
        );
        assert_eq!(InitMs::of(&[]), InitMs::default());
    }

    #[test]
    fn the_hello_world_peer_comes_first_and_labels_are_unique() {
        // Scenario: the peer is measured first in every round, and each row has its own name.
        assert_eq!(FUNCTIONS[0].binary, HELLO);
        let labels: std::collections::HashSet<_> = FUNCTIONS.iter().map(|f| f.label).collect();
        assert_eq!(labels.len(), FUNCTIONS.len());
        // The runtime API's address is set per run, never in a function's own variables.
        assert!(
            FUNCTIONS
                .iter()
                .flat_map(|f| f.env)
                .chain(LAMBDA_ENV)
                .all(|(k, _)| *k != "AWS_LAMBDA_RUNTIME_API")
        );
    }

    #[test]
    fn the_table_has_a_row_per_function() {
        // Scenario: a row shows MB, median, p90 and the ratio to the hello-world function.
        let figures = [ColdStart {
            function: HELLO.into(),
            binary: HELLO.into(),
            bytes: 1_500_000,
            init_ms: InitMs::of(&[2.0, 3.0]),
            vs_hello: 1.0,
        }];
        let table = markdown(&figures, 2);
        assert!(
            table.ends_with("| hello-lambda | 1.5 | 2.0 | 3.0 | 1.00 |\n"),
            "{table}"
        );
    }
}
