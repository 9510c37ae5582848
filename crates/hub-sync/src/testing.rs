//! Builders the domain functions' tests share (feature `testing`): SQS batches as Lambda passes
//! them, instead of a copy in each test file.

use aws_lambda_events::sqs::SqsEvent;
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
