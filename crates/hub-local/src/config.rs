//! Event source mappings read from `template.yaml`.
//!
//! For every `AWS::Serverless::Function` with an event of `Type: SQS`, the same properties
//! `sam deploy` turns into an `AWS::Lambda::EventSourceMapping`:
//!
//! | template property | meaning | AWS limit / default |
//! |---|---|---|
//! | `Queue` | the queue ARN (`!GetAtt Queue.Arn`) | required |
//! | `BatchSize` | most messages per invocation | 1–10,000; default 10; above 10 needs a batching window |
//! | `MaximumBatchingWindowInSeconds` | how long to gather a batch | 0–300; default 0 |
//! | `FunctionResponseTypes: [ReportBatchItemFailures]` | partial batch responses | off by default |
//! | `ScalingConfig.MaximumConcurrency` | most concurrent invocations | 2–1,000; unset: [`DEFAULT_POLLERS`] locally |
//! | `Enabled` | whether the mapping polls | default true |
//! | function `Timeout` (or `Globals.Function.Timeout`) | invocation deadline | default 3 s |

use hub_template::{Context, TemplateError};
use serde_json::Value;
use std::time::Duration;
use thiserror::Error;

/// Concurrent pollers when `MaximumConcurrency` is not set (AWS starts with five).
pub const DEFAULT_POLLERS: usize = 5;
/// Lambda's default function timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3);

/// One SQS event source mapping.
#[derive(Debug, Clone, PartialEq)]
pub struct EsmConfig {
    /// The function's logical id in the template.
    pub function: String,
    /// The event's name under `Events`.
    pub event: String,
    /// The queue URL.
    pub queue_url: String,
    /// The queue ARN (`eventSourceARN` of each record).
    pub queue_arn: String,
    /// The region (`awsRegion` of each record).
    pub region: String,
    /// Most messages per invocation.
    pub batch_size: usize,
    /// How long to keep gathering once the first message of a batch arrived.
    pub batching_window: Duration,
    /// Whether the function's `batchItemFailures` are honoured.
    pub report_batch_item_failures: bool,
    /// Most concurrent invocations (`None`: [`DEFAULT_POLLERS`]).
    pub maximum_concurrency: Option<usize>,
    /// The function's timeout.
    pub function_timeout: Duration,
    /// Whether the mapping is enabled.
    pub enabled: bool,
    /// How long an idle poller long-polls (`WaitTimeSeconds`, whole seconds, at most 20).
    /// AWS's pollers wait 20 s; locally the default is 1 s, so that the polls of a job that
    /// was killed end before the job restarts (a poll still open when a message arrives would
    /// hide that message for the visibility timeout). Benchmarks that count requests use 20 s.
    pub idle_wait: Duration,
}

impl EsmConfig {
    /// A mapping with AWS's defaults for a queue.
    pub fn new(function: &str, queue_url: &str, queue_arn: &str) -> EsmConfig {
        EsmConfig {
            function: function.to_string(),
            event: "Queue".to_string(),
            queue_url: queue_url.to_string(),
            queue_arn: queue_arn.to_string(),
            region: queue_arn
                .split(':')
                .nth(3)
                .unwrap_or("us-east-1")
                .to_string(),
            batch_size: 10,
            batching_window: Duration::ZERO,
            report_batch_item_failures: false,
            maximum_concurrency: None,
            function_timeout: DEFAULT_TIMEOUT,
            enabled: true,
            idle_wait: Duration::from_secs(1),
        }
    }

    /// Number of concurrent pollers (each invokes one batch at a time).
    pub fn pollers(&self) -> usize {
        self.maximum_concurrency.unwrap_or(DEFAULT_POLLERS)
    }

    /// Checks AWS's limits on the mapping's settings.
    pub fn validate(&self) -> Result<(), EsmConfigError> {
        let bad = |reason: String| EsmConfigError::Invalid {
            function: self.function.clone(),
            event: self.event.clone(),
            reason,
        };
        if !(1..=10_000).contains(&self.batch_size) {
            return Err(bad(format!(
                "BatchSize {} is outside 1..10000",
                self.batch_size
            )));
        }
        if self.batching_window > Duration::from_secs(300) {
            return Err(bad("MaximumBatchingWindowInSeconds is above 300".into()));
        }
        if self.batch_size > 10 && self.batching_window < Duration::from_secs(1) {
            return Err(bad(
                "BatchSize above 10 needs MaximumBatchingWindowInSeconds of at least 1".into(),
            ));
        }
        if let Some(c) = self.maximum_concurrency
            && !(2..=1000).contains(&c)
        {
            return Err(bad(format!("MaximumConcurrency {c} is outside 2..1000")));
        }
        if self.function_timeout.is_zero() || self.function_timeout > Duration::from_secs(900) {
            return Err(bad("function Timeout must be 1..900 seconds".into()));
        }
        Ok(())
    }

    /// Every SQS event source mapping of every function in the template. The context must hold
    /// the queues' physical ids (run the provisioner first).
    pub fn from_template(ctx: &Context<'_>) -> Result<Vec<EsmConfig>, EsmConfigError> {
        let template = ctx.template();
        let mut out = Vec::new();
        for f in template.resources_of_type("AWS::Serverless::Function") {
            if !ctx.is_active(&f.logical_id)? {
                continue;
            }
            let timeout = match template.function_property(&f.logical_id, "Timeout") {
                None => DEFAULT_TIMEOUT,
                Some(v) => {
                    let v =
                        ctx.resolve_required(v, &format!("Resources.{}.Timeout", f.logical_id))?;
                    Duration::from_secs(number(&v).ok_or_else(|| EsmConfigError::Invalid {
                        function: f.logical_id.clone(),
                        event: String::new(),
                        reason: "Timeout is not a number".into(),
                    })?)
                }
            };
            let Some(events) = f.properties.get("Events").and_then(Value::as_object) else {
                continue;
            };
            for (name, event) in events {
                if event.get("Type").and_then(Value::as_str) != Some("SQS") {
                    continue;
                }
                let path = format!(
                    "Resources.{}.Properties.Events.{name}.Properties",
                    f.logical_id
                );
                let props = event
                    .get("Properties")
                    .map(|p| ctx.resolve_required(p, &path))
                    .transpose()?
                    .unwrap_or(Value::Null);
                out.push(EsmConfig::from_event(
                    ctx,
                    &f.logical_id,
                    name,
                    &props,
                    timeout,
                )?);
            }
        }
        Ok(out)
    }

    fn from_event(
        ctx: &Context<'_>,
        function: &str,
        event: &str,
        props: &Value,
        timeout: Duration,
    ) -> Result<EsmConfig, EsmConfigError> {
        let bad = |reason: &str| EsmConfigError::Invalid {
            function: function.to_string(),
            event: event.to_string(),
            reason: reason.to_string(),
        };
        const KNOWN: &[&str] = &[
            "Queue",
            "BatchSize",
            "MaximumBatchingWindowInSeconds",
            "FunctionResponseTypes",
            "ScalingConfig",
            "Enabled",
        ];
        if let Some(m) = props.as_object() {
            for k in m.keys() {
                if !KNOWN.contains(&k.as_str()) {
                    return Err(bad(&format!(
                        "{k} is not supported by the local event source mapping"
                    )));
                }
            }
        }
        let queue_arn = props
            .get("Queue")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("Queue (an ARN) is required"))?;
        let queue_url = queue_url(ctx, queue_arn).ok_or_else(|| {
            bad(&format!(
                "queue {queue_arn} is not a provisioned queue of the template"
            ))
        })?;
        let mut c = EsmConfig::new(function, &queue_url, queue_arn);
        c.event = event.to_string();
        c.region = ctx.stack().region.clone();
        c.function_timeout = timeout;
        if let Some(v) = props.get("BatchSize") {
            c.batch_size = number(v).ok_or_else(|| bad("BatchSize is not a number"))? as usize;
        }
        if let Some(v) = props.get("MaximumBatchingWindowInSeconds") {
            c.batching_window = Duration::from_secs(
                number(v).ok_or_else(|| bad("MaximumBatchingWindowInSeconds is not a number"))?,
            );
        }
        if let Some(v) = props.get("FunctionResponseTypes") {
            let types = v
                .as_array()
                .ok_or_else(|| bad("FunctionResponseTypes is a list"))?;
            for t in types {
                match t.as_str() {
                    Some("ReportBatchItemFailures") => c.report_batch_item_failures = true,
                    _ => {
                        return Err(bad(
                            "FunctionResponseTypes accepts only ReportBatchItemFailures",
                        ));
                    }
                }
            }
        }
        if let Some(v) = props
            .get("ScalingConfig")
            .and_then(|s| s.get("MaximumConcurrency"))
        {
            c.maximum_concurrency =
                Some(number(v).ok_or_else(|| bad("MaximumConcurrency is not a number"))? as usize);
        }
        if let Some(v) = props.get("Enabled") {
            c.enabled = match v {
                Value::Bool(b) => *b,
                Value::String(s) => s == "true",
                _ => return Err(bad("Enabled is a boolean")),
            };
        }
        c.validate()?;
        Ok(c)
    }
}

/// The URL of the template's provisioned queue whose ARN is `arn`.
pub(crate) fn queue_url(ctx: &Context<'_>, arn: &str) -> Option<String> {
    ctx.template()
        .resources_of_type("AWS::SQS::Queue")
        .filter_map(|q| ctx.physical(&q.logical_id))
        .find(|p| p.attributes.get("Arn").and_then(Value::as_str) == Some(arn))
        .map(|p| p.reference.clone())
}

fn number(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// A mapping that cannot be set up.
#[derive(Debug, Error)]
pub enum EsmConfigError {
    /// The template could not be resolved.
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// A setting breaks AWS's limits or is not supported locally.
    #[error("function {function}, event {event}: {reason}")]
    Invalid {
        /// Function logical id.
        function: String,
        /// Event name.
        event: String,
        /// What is wrong.
        reason: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use hub_template::{Physical, Stack, Template};
    use serde_json::json;
    use std::collections::BTreeMap;

    const T: &str = r#"
Globals:
  Function: { Timeout: 20 }
Resources:
  Q:
    Type: AWS::SQS::Queue
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        Changes:
          Type: SQS
          Properties:
            Queue: !GetAtt Q.Arn
            BatchSize: 100
            MaximumBatchingWindowInSeconds: 2
            FunctionResponseTypes: [ReportBatchItemFailures]
            ScalingConfig: { MaximumConcurrency: 4 }
        Api:
          Type: Api
  Plain:
    Type: AWS::Serverless::Function
    Properties:
      Timeout: 9
      Events:
        E: { Type: SQS, Properties: { Queue: !GetAtt Q.Arn } }
"#;

    fn ctx(t: &Template) -> Context<'_> {
        let mut c = Context::new(t, Stack::new("s", "eu-west-1", "1"), &BTreeMap::new()).unwrap();
        c.set_physical(
            "Q",
            Physical {
                reference: "http://sqs/q".into(),
                attributes: [("Arn".to_string(), json!("arn:aws:sqs:eu-west-1:1:q"))].into(),
            },
        );
        c
    }

    #[test]
    fn reads_sqs_events_with_globals_and_defaults() {
        // Scenario: every SQS event of every function becomes a mapping; Globals give the
        // timeout; unset settings take AWS's defaults; non-SQS events are ignored.
        let t = Template::parse(T).unwrap();
        let all = EsmConfig::from_template(&ctx(&t)).unwrap();
        assert_eq!(all.len(), 2);
        let a = &all[0];
        assert_eq!((a.function.as_str(), a.event.as_str()), ("Fn", "Changes"));
        assert_eq!(a.queue_url, "http://sqs/q");
        assert_eq!(a.batch_size, 100);
        assert_eq!(a.batching_window, Duration::from_secs(2));
        assert!(a.report_batch_item_failures);
        assert_eq!(a.maximum_concurrency, Some(4));
        assert_eq!(a.function_timeout, Duration::from_secs(20));
        let b = &all[1];
        assert_eq!(b.batch_size, 10);
        assert!(!b.report_batch_item_failures);
        assert_eq!(b.pollers(), DEFAULT_POLLERS);
        assert_eq!(b.function_timeout, Duration::from_secs(9));
    }

    #[test]
    fn aws_limits_are_enforced() {
        // Scenario: settings AWS would refuse are refused here too.
        let mut c = EsmConfig::new("F", "u", "arn:aws:sqs:r:1:q");
        c.batch_size = 11;
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("batching window")
                || c.validate()
                    .unwrap_err()
                    .to_string()
                    .contains("MaximumBatchingWindowInSeconds")
        );
        c.batching_window = Duration::from_secs(1);
        assert!(c.validate().is_ok());
        c.maximum_concurrency = Some(1);
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("MaximumConcurrency 1")
        );
        c.maximum_concurrency = Some(2);
        c.batch_size = 10_001;
        assert!(c.validate().is_err());
    }

    #[test]
    fn unknown_queues_and_properties_fail() {
        // Scenario: an event on a queue that was not provisioned, or with a property the local
        // mapping does not implement, is an error naming the function and event.
        let t = Template::parse(T).unwrap();
        let c = Context::new(&t, Stack::new("s", "r", "1"), &BTreeMap::new()).unwrap();
        assert!(EsmConfig::from_template(&c).is_err());
        let t2 = Template::parse(&T.replace(
            "BatchSize: 100",
            "FilterCriteria: {}\n            BatchSize: 100",
        ))
        .unwrap();
        let e = EsmConfig::from_template(&ctx(&t2)).unwrap_err();
        assert!(
            e.to_string().contains("FilterCriteria is not supported"),
            "{e}"
        );
    }
}
