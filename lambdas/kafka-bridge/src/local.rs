//! The bridge as the template deploys it, run locally (feature `local`): the `KafkaBridge`
//! function's environment and Kafka event source mappings read from `template.yaml`, with the
//! long-running consumer in place of Lambda's event source mapping (`hubctl run`, the bench).

use crate::Config;
use hub_core::config::{ConfigError, Env};
use hub_core::{Classify, ErrorClass};
use hub_kafka::bridge::ConsumerConfig;
use hub_template::{Context, TemplateError};
use serde_json::Value;
use thiserror::Error;

/// The bridge's logical id in `template.yaml`.
pub const FUNCTION: &str = "KafkaBridge";

/// The consumer group when the template's events name none.
const DEFAULT_GROUP: &str = "sap-sync-hub-bridge";

/// Why the template's bridge cannot run locally.
#[derive(Debug, Error)]
pub enum LocalError {
    /// The function's environment or events do not resolve.
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// Its environment is not a valid configuration.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The template has no bridge function.
    #[error("template.yaml has no {FUNCTION} function")]
    NoFunction,
    /// The bridge function has no Kafka event source mapping with a topic.
    #[error("the {FUNCTION} function has no Kafka event source mapping with a topic")]
    NoTopic,
}

impl Classify for LocalError {
    /// A template or a configuration does not mend itself: never retried.
    fn class(&self) -> ErrorClass {
        ErrorClass::Permanent
    }
}

/// The bridge as the template deploys it: the `KafkaBridge` function's environment (topic,
/// DLQ, bucket, thin-event policy, FIFO mode) and its Kafka event sources (topics, group), the
/// consumer reading from `bootstrap`.
pub fn from_template(
    ctx: &Context<'_>,
    bootstrap: &str,
) -> Result<(Config, ConsumerConfig), LocalError> {
    let env = ctx.function_environment(FUNCTION)?;
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let config = Config::from_env(&Env::from_pairs(&pairs))?;
    let (topics, group) = event_sources(ctx)?;
    let consumer = ConsumerConfig::from_env(&Env::from_pairs(&[
        ("KAFKA_BOOTSTRAP_SERVERS", bootstrap),
        ("KAFKA_TOPICS", &topics.join(",")),
        ("KAFKA_GROUP_ID", group.as_deref().unwrap_or(DEFAULT_GROUP)),
        // The status line shows the counters; no EMF lines on the terminal.
        ("BRIDGE_METRICS_INTERVAL_MS", "0"),
    ]))?;
    Ok((config, consumer))
}

/// The topics of the bridge's Kafka event source mappings (`AWS::Lambda::EventSourceMapping`
/// resources whose `FunctionName` is the bridge), and the first consumer group they name. Each
/// mapping has a group of its own in the cloud; locally one consumer reads every topic, in the
/// first mapping's group.
fn event_sources(ctx: &Context<'_>) -> Result<(Vec<String>, Option<String>), LocalError> {
    ctx.template()
        .resource(FUNCTION)
        .ok_or(LocalError::NoFunction)?;
    let mut topics = Vec::new();
    let mut group = None;
    for mapping in ctx
        .template()
        .resources_of_type("AWS::Lambda::EventSourceMapping")
        .filter(|m| m.properties["FunctionName"]["Ref"] == FUNCTION)
    {
        if !ctx.is_active(&mapping.logical_id)? {
            continue;
        }
        // Only what the local consumer needs: the function and the network are the cloud's.
        let path = format!("Resources.{}.Properties", mapping.logical_id);
        let resolved = |name: &str| match mapping.properties.get(name) {
            Some(v) => ctx.resolve(v, &format!("{path}.{name}")),
            None => Ok(None),
        };
        for t in resolved("Topics")?
            .as_ref()
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            topics.extend(t.as_str().map(str::to_string));
        }
        for config in [
            "SelfManagedKafkaEventSourceConfig",
            "AmazonManagedKafkaEventSourceConfig",
        ] {
            if let Some(c) = resolved(config)? {
                group = group.or(c["ConsumerGroupId"].as_str().map(str::to_string));
            }
        }
    }
    if topics.is_empty() {
        return Err(LocalError::NoTopic);
    }
    Ok((topics, group))
}
