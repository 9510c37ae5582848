//! The Lambda handler: an SQS batch in, a partial batch response out.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use hub_store::EntityStore;
use hub_sync::{DeadLetterSink, NoPayloads, PayloadStore, SyncConfig, process_batch};
use lambda_runtime::LambdaEvent;
use tokio::time::Instant;

/// What every invocation shares: built once per execution environment.
#[derive(Debug)]
pub struct State<S, D, P = NoPayloads> {
    /// The single table.
    pub store: S,
    /// The domain DLQ.
    pub dlq: D,
    /// Where claim-checked events are (S3 when deployed).
    pub payloads: P,
    /// Batch processing settings.
    pub sync: SyncConfig,
}

/// Handles one invocation. Never fails as a whole: every message is either handled, dead-lettered
/// or listed in `batchItemFailures`.
pub async fn handle<S: EntityStore, D: DeadLetterSink, P: PayloadStore>(
    event: LambdaEvent<SqsEvent>,
    state: &State<S, D, P>,
) -> Result<SqsBatchResponse, lambda_runtime::Error> {
    let deadline = deadline(event.context.deadline);
    let report = process_batch(
        event.payload,
        &state.store,
        &state.dlq,
        &state.payloads,
        &state.sync,
        deadline,
    )
    .await;
    Ok(report.response)
}

/// The invocation deadline as an `Instant`.
fn deadline(epoch_ms: u64) -> Instant {
    Instant::now() + hub_core::deadline::remaining(epoch_ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hub_model::{Entity, Op};
    use hub_store::testing::event;
    use hub_store::{MemoryStore, keys};
    use hub_sync::MemoryDeadLetters;

    #[tokio::test]
    async fn a_batch_lands_in_the_store() {
        // Scenario: the handler, as the runtime calls it, writes a customer and answers with no
        // failures.
        let mut sync = SyncConfig::new(Entity::Customer, "customers");
        sync.emit_metrics = false;
        let state = State {
            store: MemoryStore::new(),
            dlq: MemoryDeadLetters::default(),
            payloads: NoPayloads,
            sync,
        };
        let body =
            serde_json::to_string(&event(Entity::Customer, "100123", 1, Op::Upsert, 3)).unwrap();
        let payload: SqsEvent = serde_json::from_value(
            serde_json::json!({"Records": [{"messageId": "m1", "body": body}]}),
        )
        .unwrap();
        let response = handle(LambdaEvent::new(payload, Default::default()), &state)
            .await
            .unwrap();
        assert!(response.batch_item_failures.is_empty());
        let item = state
            .store
            .get(&keys::customer("100123"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(item.attrs["name"], "name-3");
    }
}
