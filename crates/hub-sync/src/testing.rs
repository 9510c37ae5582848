//! Builders the domain functions' tests share (feature `testing`): SQS batches as Lambda passes
//! them, message bodies, and a batch with one message of each kind, instead of a copy in each
//! test file.

use aws_lambda_events::sqs::SqsEvent;
use hub_model::{ChangeEvent, Entity, Op};
use hub_store::testing::event;
use serde_json::json;

/// An SQS batch of `(message id, body)` as Lambda's event source mapping delivers it: each
/// message received once, with the `entity` message attribute the SNS subscription carries.
///
/// ```
/// let batch = hub_sync::testing::sqs_event("customer", [("m1", "{}".to_string())]);
/// assert_eq!(batch.records[0].message_id.as_deref(), Some("m1"));
/// assert_eq!(batch.records[0].message_attributes["entity"].string_value.as_deref(), Some("customer"));
/// ```
pub fn sqs_event<I, S>(entity: &str, messages: I) -> SqsEvent
where
    I: IntoIterator<Item = (S, String)>,
    S: AsRef<str>,
{
    let records: Vec<_> = messages
        .into_iter()
        .map(|(id, body)| {
            json!({
                "messageId": id.as_ref(),
                "body": body,
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {"entity": {"stringValue": entity, "dataType": "String"}},
                "eventSource": "aws:sqs",
            })
        })
        .collect();
    serde_json::from_value(json!({ "Records": records })).expect("a valid SQS event")
}

/// The body of an SQS message carrying `event`, as the bridge publishes it (its JSON).
///
/// ```
/// use hub_model::{Entity, Op};
/// let e = hub_store::testing::event(Entity::Customer, "N1", 3, Op::Upsert, 5);
/// let body = hub_sync::testing::body(&e);
/// assert_eq!(serde_json::from_str::<hub_model::ChangeEvent>(&body).unwrap(), e);
/// ```
pub fn body(event: &ChangeEvent) -> String {
    serde_json::to_string(event).expect("a change event serialises")
}

/// A customers batch with one message of each kind, by message id: `new`, `stale` (older than
/// S1 version 10 when that is stored), `dup-old`/`dup-new` (two versions of D1), `garbage`
/// (not JSON), `misrouted` (a sales order), `throttled` (T1, for a store that throttles it)
/// and `delete` (a tombstone of X1).
///
/// ```
/// let ids: Vec<&str> = hub_sync::testing::mixed_batch().iter().map(|(id, _)| *id).collect();
/// assert_eq!(ids, ["new", "stale", "dup-old", "dup-new", "garbage", "misrouted", "throttled", "delete"]);
/// ```
pub fn mixed_batch() -> Vec<(&'static str, String)> {
    vec![
        (
            "new",
            body(&event(Entity::Customer, "N1", 3, Op::Upsert, 5)),
        ),
        (
            "stale",
            body(&event(Entity::Customer, "S1", 4, Op::Upsert, 2)),
        ),
        (
            "dup-old",
            body(&event(Entity::Customer, "D1", 1, Op::Upsert, 1)),
        ),
        (
            "dup-new",
            body(&event(Entity::Customer, "D1", 2, Op::Upsert, 2)),
        ),
        ("garbage", "{not json".to_string()),
        (
            "misrouted",
            body(&event(Entity::SalesOrder, "O1", 1, Op::Upsert, 1)),
        ),
        (
            "throttled",
            body(&event(Entity::Customer, "T1", 1, Op::Upsert, 1)),
        ),
        (
            "delete",
            body(&event(Entity::Customer, "X1", 7, Op::Delete, 0)),
        ),
    ]
}
