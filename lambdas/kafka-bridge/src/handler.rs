//! The Lambda handler: a `KafkaEvent` from the managed Kafka event source (MSK or self-managed
//! Kafka) through the pipeline.
//!
//! Lambda's event source mapping owns the offsets: it moves on only when the invocation
//! succeeds. So the handler succeeds only when every record is published or dead-lettered; if
//! the invocation runs out of time first (SNS down, breaker open), it fails, and the mapping
//! retries the whole batch (duplicates are harmless: event ids are deterministic and writes
//! version-guarded).

use aws_lambda_events::kafka::KafkaEvent;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hub_bridge::pipeline::ChunkReport;
use hub_bridge::{ClaimStore, DeadLetters, KafkaRecord, Pipeline, Publisher};
use lambda_runtime::LambdaEvent;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
use tracing::{info, warn};

/// Time kept back from the invocation's deadline to answer.
pub const ANSWER_MARGIN: Duration = Duration::from_millis(500);

/// The invocation ran out of time before every record was published or dead-lettered.
#[derive(Debug, thiserror::Error)]
#[error(
    "{records} records not published within the invocation (SNS unavailable?); the batch will be retried"
)]
pub struct Unfinished {
    /// Records in the batch.
    pub records: usize,
}

impl From<Unfinished> for lambda_runtime::Diagnostic {
    fn from(e: Unfinished) -> Self {
        lambda_runtime::Diagnostic {
            error_type: "Unfinished".into(),
            error_message: e.to_string(),
        }
    }
}

/// The records of the event, in topic, partition and offset order.
pub fn records(event: &KafkaEvent) -> Vec<KafkaRecord> {
    let mut out: Vec<KafkaRecord> = event
        .records
        .values()
        .flatten()
        .map(|r| {
            let topic: Arc<str> = r.topic.as_deref().unwrap_or("unknown").into();
            KafkaRecord {
                topic,
                partition: i32::try_from(r.partition).unwrap_or(i32::MAX),
                offset: r.offset,
                timestamp_ms: Some(r.timestamp.0.timestamp_millis()),
                key: r.key.as_deref().map(decode),
                value: r.value.as_deref().map(decode).unwrap_or_default(),
                headers: r
                    .headers
                    .iter()
                    .flat_map(|h| h.iter())
                    .map(|(k, v)| (k.clone(), v.iter().map(|b| *b as u8).collect()))
                    .collect(),
            }
        })
        .collect();
    out.sort_by(|a, b| (&a.topic, a.partition, a.offset).cmp(&(&b.topic, b.partition, b.offset)));
    out
}

/// Base64 as the event source encodes keys and values; anything else is kept as it is (and
/// then fails parsing and goes to the DLQ with those bytes, rather than being lost).
fn decode(s: &str) -> Vec<u8> {
    B64.decode(s).unwrap_or_else(|_| s.as_bytes().to_vec())
}

/// Handles one invocation.
pub async fn handle<P: Publisher, D: DeadLetters, C: ClaimStore>(
    event: LambdaEvent<KafkaEvent>,
    pipeline: &Pipeline<P, D, C>,
) -> Result<ChunkReport, Unfinished> {
    let left = hub_core::deadline::remaining(event.context.deadline).saturating_sub(ANSWER_MARGIN);
    tracing::debug!(
        deadline_ms = event.context.deadline,
        left_ms = left.as_millis() as u64,
        "Invocation."
    );
    let records = records(&event.payload);
    let n = records.len();
    let result = tokio::time::timeout_at(Instant::now() + left, pipeline.process(&records)).await;
    pipeline.metrics().print_emf();
    match result {
        Ok(report) => {
            info!(
                records = report.records,
                published = report.published,
                dead_lettered = report.dead_lettered,
                "Batch bridged."
            );
            Ok(report)
        }
        Err(_) => {
            warn!(
                records = n,
                "Invocation deadline reached; failing the batch so it is retried."
            );
            Err(Unfinished { records: n })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hub_bridge::Settings;
    use hub_bridge::pipeline::MemoryPipeline;

    fn pipeline() -> MemoryPipeline {
        let mut settings = Settings::default();
        settings.retry.cap = Duration::from_millis(5);
        MemoryPipeline::in_memory(settings)
    }

    fn event(deadline_ms: u64) -> LambdaEvent<KafkaEvent> {
        let idoc = B64.encode(hub_sap::samples::MATMAS05);
        let payload: KafkaEvent = serde_json::from_value(serde_json::json!({
            "eventSource": "SelfManagedKafka",
            "bootstrapServers": "b1:9092",
            "records": {
                "sap.idoc.matmas-0": [
                    {"topic": "sap.idoc.matmas", "partition": 0, "offset": 16, "timestamp": 1764000000000i64,
                     "timestampType": "CREATE_TIME", "key": B64.encode("100234"), "value": idoc,
                     "headers": [{"correlation_id": [99, 49]}]},
                    {"topic": "sap.idoc.matmas", "partition": 0, "offset": 15, "timestamp": 1764000000000i64,
                     "timestampType": "CREATE_TIME", "key": null, "value": B64.encode("garbage"), "headers": []}
                ]
            }
        }))
        .unwrap();
        let mut context = lambda_runtime::Context::default();
        context.deadline = deadline_ms;
        LambdaEvent::new(payload, context)
    }

    #[tokio::test]
    async fn a_kafka_event_is_bridged() {
        // Scenario: the event source's JSON (base64 key/value, byte-array headers) is decoded;
        // the IDoc is published with its correlation id, the garbage dead-lettered.
        let p = pipeline();
        let report = handle(event(0), &p).await.unwrap();
        assert_eq!(
            (report.records, report.published, report.dead_lettered),
            (2, 1, 1)
        );
        assert_eq!(p.publisher().published()[0].correlation_id, "c1");
        assert_eq!(p.dead_letters().letters()[0].kafka.offset, 15);
    }

    #[tokio::test]
    async fn an_outage_past_the_deadline_fails_the_batch() {
        // Scenario: SNS is down and the invocation has 1 s left: the handler fails (the event
        // source retries the batch) instead of dead-lettering.
        let p = pipeline();
        p.publisher().set_down(true);
        let deadline = chrono::Utc::now().timestamp_millis() as u64 + 1_000;
        let err = handle(event(deadline), &p).await.unwrap_err();
        assert_eq!(err.records, 2);
        assert!(p.publisher().published().is_empty());
    }
}
