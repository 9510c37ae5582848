//! The Kafka bridge as a long-running consumer: a container, a systemd service or an ECS task
//! next to the SAP Kafka cluster. Configuration from the environment (docs/bridge.md, "Running
//! the bridge as a service").
//!
//! - `kafka-bridge`: consumes until SIGTERM or SIGINT, then drains in-flight work (within
//!   `BRIDGE_DRAIN_TIMEOUT_MS`), commits and leaves the group (within `BRIDGE_CLOSE_TIMEOUT_MS`).
//!   A second signal exits at once (130 after SIGINT, 143 after SIGTERM); a watchdog exits 1
//!   should the stop outlast both bounds by five seconds.
//! - `kafka-bridge health [live|ready]`: asks the running bridge's health endpoint; exit 0 when
//!   it answers 200 (an image's check command, with no shell or curl in it).
//!
//! Exit status: 0 stopped and committed; 1 failed, or stopped without the final commit (the
//! broker unreachable: what was done since the last periodic commit is read again); 2 invalid
//! configuration or unusable credentials.

use hub_core::config::{ConfigError, Env};
use hub_kafka::auth::AuthConfig;
use hub_kafka::bridge::{ConsumerConfig, ConsumerHealth, run_with_health};
use kafka_bridge::health::{self, Check, HealthConfig, HealthState};
use kafka_bridge::{Config, build};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use tokio::signal::unix::{SignalKind, signal};
use tracing::{error, info, warn};

/// mimalloc: measurably faster than glibc's allocator on the bridge's hot path (`hub-bench bench`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        None => serve().await,
        Some("health") => check(args.get(1).map(String::as_str)).await,
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Some(other) => {
            eprintln!("kafka-bridge: unknown command {other:?}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

const USAGE: &str =
    "usage: kafka-bridge               run the bridge (configuration from the environment)
       kafka-bridge health [live|ready]   ask the running bridge's health endpoint (exit 0 on 200)";

/// Everything the bridge reads from the environment, checked before anything starts.
struct Settings {
    config: Config,
    consumer: ConsumerConfig,
    auth: AuthConfig,
    health: HealthConfig,
}

fn settings(env: &Env) -> Result<Settings, ConfigError> {
    Ok(Settings {
        config: Config::from_env(env)?,
        consumer: ConsumerConfig::from_env(env)?,
        auth: AuthConfig::from_env(env)?,
        health: HealthConfig::from_env(env)?,
    })
}

async fn serve() -> ExitCode {
    hub_telemetry::init();
    let env = Env::process();
    let Settings {
        config,
        mut consumer,
        auth,
        health,
    } = match settings(&env) {
        Ok(s) => s,
        Err(e) => {
            error!(variable = %e.variable, "Invalid configuration: {e}");
            eprintln!("kafka-bridge: invalid configuration: {e}");
            return ExitCode::from(2);
        }
    };
    let clients = hub_aws::AwsClients::from_env().await;
    match credentials(&clients, &auth).await {
        Ok(c) => consumer.credentials = c,
        Err(e) => {
            error!(auth = auth.auth.as_str(), "Kafka credentials unusable: {e}");
            eprintln!("kafka-bridge: Kafka credentials unusable: {e}");
            return ExitCode::from(2);
        }
    }
    info!(
        auth = auth.auth.as_str(),
        "Kafka authentication configured."
    );
    let pipeline = Arc::new(build(&clients, &config));
    let consumer_health = Arc::new(ConsumerHealth::default());
    let state = HealthState {
        consumer: consumer_health.clone(),
        breaker: pipeline.breaker().clone(),
        metrics: pipeline.metrics().clone(),
        config: health,
    };
    if let Err(e) = health::serve(state).await {
        error!(error = %e, "The health endpoint cannot listen.");
        eprintln!("kafka-bridge: the health endpoint cannot listen: {e}");
        return ExitCode::from(2);
    }
    let stop_bound = consumer.drain_timeout + consumer.close_timeout + Duration::from_secs(5);
    let shutdown = match shutdown_signals(stop_bound) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("kafka-bridge: cannot listen for signals: {e}");
            return ExitCode::FAILURE;
        }
    };
    match run_with_health(&consumer, pipeline, shutdown, consumer_health).await {
        Ok(summary) if summary.closed => ExitCode::SUCCESS,
        Ok(_) => {
            eprintln!(
                "kafka-bridge: stopped without the final commit (broker unreachable); records since the last commit will be read again"
            );
            ExitCode::FAILURE
        }
        Err(e) => {
            error!(error = %e, "Bridge failed.");
            eprintln!("kafka-bridge: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The credentials' secrets, read once at start.
async fn credentials(
    clients: &hub_aws::AwsClients,
    auth: &AuthConfig,
) -> Result<hub_kafka::auth::Credentials, String> {
    let config = &clients.config;
    let read = |arn: Option<String>| async move {
        match arn {
            None => Ok(None),
            Some(arn) => hub_aws::secrets::secret_string(config, &arn)
                .await
                .map(Some)
                .map_err(|e| e.to_string()),
        }
    };
    let secret = read(auth.secret_arn.clone()).await?;
    let ca = read(auth.ca_secret_arn.clone()).await?;
    auth.credentials(secret.as_deref(), ca.as_deref())
        .map_err(|e| e.to_string())
}

/// A future resolving on the first SIGTERM or SIGINT. After it, a second signal exits at once
/// (143 or 130), and a watchdog exits 1 when the stop takes longer than `bound`.
fn shutdown_signals(
    bound: Duration,
) -> std::io::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let (first, first_seen) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let name = tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        };
        info!(
            signal = name,
            "Stopping: draining, committing, leaving the group."
        );
        let _ = first.send(());
        std::thread::spawn(move || {
            std::thread::sleep(bound);
            eprintln!(
                "kafka-bridge: the stop took longer than {} s; exiting",
                bound.as_secs()
            );
            std::process::exit(1);
        });
        let code = tokio::select! {
            _ = term.recv() => 143,
            _ = int.recv() => 130,
        };
        warn!(code, "Second signal: exiting without waiting.");
        eprintln!("kafka-bridge: second signal, exiting now");
        std::process::exit(code);
    });
    Ok(async move {
        let _ = first_seen.await;
    })
}

/// `kafka-bridge health [live|ready]`.
async fn check(which: Option<&str>) -> ExitCode {
    let check = match which {
        None | Some("live") => Check::Live,
        Some("ready") => Check::Ready,
        Some(other) => {
            eprintln!("kafka-bridge health: {other:?} is neither live nor ready");
            return ExitCode::from(2);
        }
    };
    let url = match HealthConfig::from_env(&Env::process()) {
        Ok(c) => match c.local_url(check) {
            Some(url) => url,
            None => {
                eprintln!("kafka-bridge health: BRIDGE_HEALTH_ADDR is off");
                return ExitCode::from(2);
            }
        },
        Err(e) => {
            eprintln!("kafka-bridge health: {e}");
            return ExitCode::from(2);
        }
    };
    match health::ask(&url, Duration::from_secs(3)).await {
        Ok((status, body)) => {
            println!("{body}");
            if status == 200 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("kafka-bridge health: {e}");
            ExitCode::FAILURE
        }
    }
}
