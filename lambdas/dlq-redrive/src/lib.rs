//! The `dlq-redrive` Lambda, deployed once per DLQ and invoked from the AWS console with a small
//! JSON input ([`hub_redrive::RedriveRequest`]); `hubctl redrive` runs the same code locally.
//!
//! **Its room:** hub-core, hub-redrive, hub-telemetry and hub-aws with its `redrive` adapters
//! (which bring the bridge's, to redrive the bridge DLQ through the pipeline). No other Lambda
//! crate.
//!
//! # Layout
//! - [`Config`]: which DLQ, and where its messages go back to, from the environment.
//! - [`Redriver`]: the DLQ and its destination over the AWS adapters, built once.
//! - [`handler`]: the Lambda handler.

pub mod handler;

use hub_aws::AwsClients;
use hub_aws::bridge::{self, Claims};
use hub_aws::redrive::{S3Objects, SqsDlq, SqsSendQueue};
use hub_aws::sns_publisher::SnsPublisher;
use hub_core::config::{ConfigError, Env};
use hub_redrive::{BridgeDestination, QueueDestination, RedriveRequest, Report, RunLimits, run};
use std::time::Duration;

/// Where a DLQ's messages go back to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `TARGET_QUEUE_URL`: a domain DLQ's own queue.
    Queue(String),
    /// `SNS_TOPIC_ARN` (with the bridge's variables): the bridge DLQ, through the pipeline.
    Bridge(Box<bridge::Config>),
}

/// The redrive function's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `DLQ_URL` (required): the DLQ this deployment redrives.
    pub dlq_url: String,
    /// Where its messages go.
    pub target: Target,
    /// `REDRIVE_RECORD_TIMEOUT_MS` (bridge DLQ): how long one record may wait for SNS
    /// (default 20000).
    pub record_timeout: Duration,
}

fn url(env: &Env, name: &str) -> Result<Option<String>, ConfigError> {
    match env.get(name) {
        Some(u) if !u.starts_with("http") => Err(ConfigError {
            variable: name.into(),
            message: format!("{u:?} is not a queue URL"),
        }),
        other => Ok(other),
    }
}

impl Config {
    /// Reads and validates the configuration.
    pub fn from_env(env: &Env) -> Result<Config, ConfigError> {
        let dlq_url = url(env, "DLQ_URL")?.ok_or_else(|| ConfigError {
            variable: "DLQ_URL".into(),
            message: "is required".into(),
        })?;
        let target = match (url(env, "TARGET_QUEUE_URL")?, env.get("SNS_TOPIC_ARN")) {
            (Some(q), None) => Target::Queue(q),
            (None, Some(_)) => Target::Bridge(Box::new(bridge::Config::from_env(env)?)),
            (Some(_), Some(_)) => {
                return Err(ConfigError {
                    variable: "TARGET_QUEUE_URL".into(),
                    message: "set with SNS_TOPIC_ARN: a DLQ goes back to a queue (domain DLQs) \
                              or through the bridge (the bridge DLQ), not both"
                        .into(),
                });
            }
            (None, None) => {
                return Err(ConfigError {
                    variable: "TARGET_QUEUE_URL".into(),
                    message: "or SNS_TOPIC_ARN is required (where the messages go back to)".into(),
                });
            }
        };
        Ok(Config {
            dlq_url,
            target,
            record_timeout: env.millis("REDRIVE_RECORD_TIMEOUT_MS", 20_000, 100..=600_000)?,
        })
    }
}

/// The DLQ and its destination.
#[derive(Debug)]
pub enum Redriver {
    /// A domain DLQ back to its queue.
    Queue(SqsDlq, QueueDestination<SqsSendQueue>),
    /// The bridge DLQ through the bridge pipeline.
    Bridge(
        SqsDlq,
        Box<BridgeDestination<SnsPublisher, Claims, S3Objects, SqsSendQueue>>,
    ),
}

impl Redriver {
    /// Builds the adapters of `config`.
    pub fn new(clients: &AwsClients, config: &Config) -> Redriver {
        let dlq = SqsDlq::new(clients.sqs.clone(), &config.dlq_url);
        match &config.target {
            Target::Queue(q) => Redriver::Queue(
                dlq,
                QueueDestination::new(SqsSendQueue::new(clients.sqs.clone(), q)),
            ),
            Target::Bridge(b) => Redriver::Bridge(
                dlq,
                Box::new(BridgeDestination::new(
                    &b.topic_arn,
                    bridge::publisher(clients, b),
                    bridge::claims(clients, b),
                    S3Objects::new(clients.s3.clone()),
                    SqsSendQueue::new(clients.sqs.clone(), &config.dlq_url),
                    b.settings.clone(),
                    config.record_timeout,
                )),
            ),
        }
    }

    /// One run; `progress` sees the report after every message.
    pub async fn run(
        &self,
        request: &RedriveRequest,
        limits: RunLimits,
        progress: impl FnMut(&Report),
    ) -> Report {
        match self {
            Redriver::Queue(dlq, dest) => run(request, dlq, dest, limits, progress).await,
            Redriver::Bridge(dlq, dest) => run(request, dlq, dest.as_ref(), limits, progress).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DLQ: (&str, &str) = (
        "DLQ_URL",
        "http://127.0.0.1:4566/000000000000/customers-dlq",
    );

    #[test]
    fn a_domain_dlq_goes_back_to_its_queue() {
        // Scenario: DLQ and target queue URLs configure a domain redrive.
        let c = Config::from_env(&Env::from_pairs(&[
            DLQ,
            (
                "TARGET_QUEUE_URL",
                "http://127.0.0.1:4566/000000000000/customers",
            ),
        ]))
        .unwrap();
        assert!(matches!(c.target, Target::Queue(ref q) if q.ends_with("/customers")));
        assert_eq!(c.record_timeout, Duration::from_secs(20));
    }

    #[test]
    fn the_bridge_dlq_goes_through_the_bridge() {
        // Scenario: the bridge's variables configure a bridge redrive.
        let c = Config::from_env(&Env::from_pairs(&[
            DLQ,
            (
                "SNS_TOPIC_ARN",
                "arn:aws:sns:eu-west-1:000000000000:changes",
            ),
            (
                "BRIDGE_DLQ_URL",
                "http://127.0.0.1:4566/000000000000/bridge-dlq",
            ),
            ("BRIDGE_THIN_EVENTS", "publish"),
        ]))
        .unwrap();
        assert!(matches!(c.target, Target::Bridge(_)));
    }

    #[test]
    fn errors_name_the_variable() {
        // Scenario: a missing or contradictory environment fails at start, naming the variable.
        for (pairs, variable) in [
            (vec![], "DLQ_URL"),
            (vec![("DLQ_URL", "customers-dlq")], "DLQ_URL"),
            (vec![DLQ], "TARGET_QUEUE_URL"),
            (
                vec![
                    DLQ,
                    ("TARGET_QUEUE_URL", "http://q"),
                    ("SNS_TOPIC_ARN", "arn:x"),
                ],
                "TARGET_QUEUE_URL",
            ),
            (
                vec![DLQ, ("SNS_TOPIC_ARN", "arn:aws:sns:r:1:t")],
                "BRIDGE_DLQ_URL",
            ),
        ] {
            let e = Config::from_env(&Env::from_pairs(&pairs)).unwrap_err();
            assert_eq!(e.variable, variable, "{pairs:?}: {e}");
        }
    }
}
