//! The table's DynamoDB stream as Lambda sees it: records read with the DynamoDB Streams API
//! ([`lambda_record`]) in the JSON of a Lambda `DynamoDBEvent` record, and the stream client
//! ([`streams_client`]). The local stream event source mapping and the change stream's redrive
//! (which reads a failed batch's records again by their sequence numbers) both use them.

use crate::AwsClients;
use aws_sdk_dynamodbstreams::types::{AttributeValue, Record};
use base64::Engine;
use serde_json::{Map, Value, json};
use std::collections::HashMap;

/// A DynamoDB Streams client with the same configuration as the DynamoDB client (locally,
/// DynamoDB Local serves the Streams API on its own endpoint).
pub fn streams_client(clients: &AwsClients) -> aws_sdk_dynamodbstreams::Client {
    let mut b = aws_sdk_dynamodbstreams::config::Builder::from(&clients.config).timeout_config(
        aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(crate::clients::CONNECT_TIMEOUT)
            .operation_attempt_timeout(crate::clients::ATTEMPT_TIMEOUT)
            .build(),
    );
    if let Some(url) = &clients.dynamodb_endpoint_url {
        b = b.endpoint_url(url);
    }
    aws_sdk_dynamodbstreams::Client::from_conf(b.build())
}

/// `record` as one element of a Lambda `DynamoDBEvent`'s `Records`.
pub fn lambda_record(record: &Record, stream_arn: &str, region: &str) -> Value {
    let mut dynamodb = Map::new();
    if let Some(s) = &record.dynamodb {
        if let Some(t) = s.approximate_creation_date_time {
            dynamodb.insert(
                "ApproximateCreationDateTime".into(),
                json!(t.secs() as f64 + f64::from(t.subsec_nanos()) / 1e9),
            );
        }
        let image =
            |m: &Option<HashMap<String, AttributeValue>>| m.as_ref().map(|m| Value::Object(map(m)));
        if let Some(k) = image(&s.keys) {
            dynamodb.insert("Keys".into(), k);
        }
        if let Some(i) = image(&s.new_image) {
            dynamodb.insert("NewImage".into(), i);
        }
        if let Some(i) = image(&s.old_image) {
            dynamodb.insert("OldImage".into(), i);
        }
        if let Some(n) = &s.sequence_number {
            dynamodb.insert("SequenceNumber".into(), json!(n));
        }
        if let Some(n) = s.size_bytes {
            dynamodb.insert("SizeBytes".into(), json!(n));
        }
        if let Some(v) = &s.stream_view_type {
            dynamodb.insert("StreamViewType".into(), json!(v.as_str()));
        }
    }
    let mut out = json!({
        "eventID": record.event_id.clone().unwrap_or_default(),
        "eventName": record.event_name.as_ref().map(|n| n.as_str().to_string()).unwrap_or_default(),
        "eventVersion": record.event_version.clone().unwrap_or_else(|| "1.1".into()),
        "eventSource": "aws:dynamodb",
        "awsRegion": record.aws_region.clone().unwrap_or_else(|| region.to_string()),
        "dynamodb": Value::Object(dynamodb),
        "eventSourceARN": stream_arn,
    });
    if let Some(u) = &record.user_identity {
        out["userIdentity"] = json!({
            "type": u.r#type.clone().unwrap_or_default(),
            "principalId": u.principal_id.clone().unwrap_or_default(),
        });
    }
    out
}

fn map(m: &HashMap<String, AttributeValue>) -> Map<String, Value> {
    m.iter().map(|(k, v)| (k.clone(), wire(v))).collect()
}

/// An attribute value in DynamoDB's JSON wire form (`{"S": "…"}`, `{"N": "…"}`, …).
fn wire(v: &AttributeValue) -> Value {
    let b64 = |b: &[u8]| Value::from(base64::engine::general_purpose::STANDARD.encode(b));
    match v {
        AttributeValue::S(s) => json!({"S": s}),
        AttributeValue::N(n) => json!({"N": n}),
        AttributeValue::Bool(b) => json!({"BOOL": b}),
        AttributeValue::Null(b) => json!({"NULL": b}),
        AttributeValue::B(b) => json!({"B": b64(b.as_ref())}),
        AttributeValue::L(l) => json!({"L": l.iter().map(wire).collect::<Vec<_>>()}),
        AttributeValue::M(m) => json!({"M": Value::Object(map(m))}),
        AttributeValue::Ss(s) => json!({"SS": s}),
        AttributeValue::Ns(n) => json!({"NS": n}),
        AttributeValue::Bs(b) => {
            json!({"BS": b.iter().map(|b| b64(b.as_ref())).collect::<Vec<_>>()})
        }
        _ => json!({"NULL": true}),
    }
}
