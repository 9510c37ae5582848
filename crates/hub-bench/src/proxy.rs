//! `hub-bench count-proxy`: an HTTP proxy in front of the stand-ins that counts the AWS requests
//! passing through it, by service and operation, so that benchmarks count requests where AWS
//! would bill them: at the endpoint.
//!
//! The service is read from the SigV4 credential scope of the `Authorization` header
//! (`Credential=AKID/date/region/<service>/aws4_request`), which every SDK sends: `dynamodb` goes
//! to the DynamoDB upstream, everything else (SNS, SQS, S3) to moto. The operation is the
//! `X-Amz-Target` suffix (JSON protocols: DynamoDB, SQS), the `Action` form field (query
//! protocol: SNS) or the method (S3). `GET /__stats` answers the counts as JSON.
//!
//! DynamoDB is counted as AWS bills it: the proxy asks every data call for
//! `ReturnConsumedCapacity: INDEXES` (DynamoDB Local answers it exactly, transactions and global
//! secondary indexes included) and adds up the capacity units of the answer, the indexes' share
//! apart ([`OpCount::consumed`], [`OpCount::index`]). The DynamoDB Streams calls of the local
//! stream mapping are counted as `dynamodbstreams`: reads of a stream by a Lambda trigger are not
//! billed.

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// What one operation received.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct OpCount {
    /// Requests.
    pub requests: u64,
    /// Request body bytes.
    pub bytes: u64,
    /// Billing units: 64 KiB chunks of the payload for SNS and SQS; for DynamoDB, write request
    /// units (1 KiB of the item written, by DynamoDB's item-size rules; twice in a transaction)
    /// or read request units (one per read request): an estimate from the request; requests
    /// otherwise.
    pub units: u64,
    /// DynamoDB: the capacity units DynamoDB itself reported (`ConsumedCapacity`, table and
    /// indexes), what AWS bills.
    #[serde(default)]
    pub consumed: f64,
    /// DynamoDB: the global secondary indexes' part of [`OpCount::consumed`].
    #[serde(default)]
    pub index: f64,
    /// DynamoDB: writes refused by their condition (a stale version). They are billed: their
    /// units ([`failed_write_units`]: DynamoDB answers none) are in [`OpCount::consumed`].
    #[serde(default)]
    pub failed_conditions: u64,
}

/// DynamoDB operations that take `ReturnConsumedCapacity`.
const CONSUMED_OPS: [&str; 10] = [
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "GetItem",
    "Query",
    "Scan",
    "BatchGetItem",
    "BatchWriteItem",
    "TransactWriteItems",
    "TransactGetItems",
];

/// `body` asking for `ReturnConsumedCapacity: INDEXES` (unchanged when it is not a JSON object).
pub fn with_consumed_capacity(body: &[u8]) -> Option<Vec<u8>> {
    let mut v: serde_json::Value = serde_json::from_slice(body).ok()?;
    v.as_object_mut()?.insert(
        "ReturnConsumedCapacity".into(),
        serde_json::Value::from("INDEXES"),
    );
    serde_json::to_vec(&v).ok()
}

/// The capacity units of a DynamoDB answer: (all, the global secondary indexes' part).
pub fn consumed_capacity(answer: &[u8]) -> (f64, f64) {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(answer) else {
        return (0.0, 0.0);
    };
    let one = |c: &serde_json::Value| {
        let total = c["CapacityUnits"].as_f64().unwrap_or(0.0);
        let index: f64 = c["GlobalSecondaryIndexes"]
            .as_object()
            .map(|m| m.values().filter_map(|i| i["CapacityUnits"].as_f64()).sum())
            .unwrap_or(0.0);
        (total, index)
    };
    match &v["ConsumedCapacity"] {
        serde_json::Value::Array(a) => a
            .iter()
            .map(one)
            .fold((0.0, 0.0), |x, y| (x.0 + y.0, x.1 + y.1)),
        c @ serde_json::Value::Object(_) => one(c),
        _ => (0.0, 0.0),
    }
}

/// Counts by `service` then `operation`.
pub type Counts = BTreeMap<String, BTreeMap<String, OpCount>>;

/// Whether a DynamoDB operation writes (billed in write units).
pub fn is_dynamodb_write(operation: &str) -> bool {
    matches!(
        operation,
        "PutItem" | "TransactWriteItems" | "DeleteItem" | "BatchWriteItem" | "UpdateItem"
    )
}

/// DynamoDB write requests in `counts`.
pub fn dynamodb_writes(counts: &Counts) -> u64 {
    counts.get("dynamodb").map_or(0, |ops| {
        ops.iter()
            .filter(|(op, _)| is_dynamodb_write(op))
            .map(|(_, c)| c.requests)
            .sum()
    })
}

/// The pseudo-service of [`Counts`] that holds DynamoDB's write units by the kind of item
/// written ([`item_kind`]), beside the units by operation (which bill; these do not add to them).
pub const ITEM_KINDS: &str = "dynamodb-items";

/// The kind of item a DynamoDB write writes, from its key: the partition key's prefix (up to
/// its first `#`), and for a row under another item (a sort key with a `#`, such as an order's
/// index row `MATERIAL#…`), `/ <its prefix> row`. `ORDER#1/ORDER` is `order`,
/// `ORDER#1/MATERIAL#2` `order / material row`, the baselines' `customer#1` `customer`. A
/// transaction counts as the kind of its first item.
pub fn item_kind(body: &[u8]) -> Option<String> {
    let r = serde_json::from_slice::<serde_json::Value>(body).ok()?;
    let first = r
        .get("TransactItems")
        .and_then(|t| t.get(0))
        .and_then(|t| t.as_object()?.values().next().cloned());
    let write = first.as_ref().unwrap_or(&r);
    let key = write.get("Item").or_else(|| write.get("Key"))?;
    let text = |name: &str| key.get(name)?.get("S")?.as_str().map(str::to_string);
    let prefix = |v: &str| v.split('#').next().unwrap_or(v).to_lowercase();
    let pk = text("pk")?;
    let mut kind = prefix(&pk);
    if let Some(sk) = text("sk").filter(|sk| sk.contains('#')) {
        kind = format!("{kind} / {} row", prefix(&sk));
    }
    Some(kind)
}

/// Adds one write of `kind` (if known) to the counts by kind of item.
fn count_kind(counts: &mut Counts, kind: Option<&str>, units: f64, index: f64, refused: bool) {
    let Some(kind) = kind else { return };
    let k = counts
        .entry(ITEM_KINDS.into())
        .or_default()
        .entry(kind.into())
        .or_default();
    k.requests += 1;
    k.consumed += units;
    k.index += index;
    k.failed_conditions += u64::from(refused);
}

/// Whether a DynamoDB write asks for the existing item when its condition fails
/// (`ReturnValuesOnConditionCheckFailure: ALL_OLD`).
fn asks_old_item(body: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(body).is_ok_and(|r| {
        r.get("ReturnValuesOnConditionCheckFailure")
            .and_then(serde_json::Value::as_str)
            == Some("ALL_OLD")
    })
}

/// The write units of a write refused by its condition. AWS bills it at the size of the
/// existing item, at least one unit (a refused write of a new item: 1). When the request asked
/// for that item (`asked_old`), the answer (`body`) holds it, or nothing if there is none, and
/// the bill is exact; otherwise the request's own units stand in for it (the existing item is
/// another version of the same entity, about the same size).
pub fn failed_write_units(body: &[u8], asked_old: bool, units_of_request: u64) -> u64 {
    if !asked_old {
        return units_of_request.max(1);
    }
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|r| {
            r.get("Item")
                .and_then(serde_json::Value::as_object)
                .cloned()
        })
        .map_or(1, |item| item_size(&item).div_ceil(1024).max(1) as u64)
}

/// The billing units of one request (see [`OpCount::units`]).
pub fn units(service: &str, operation: &str, body: &[u8]) -> u64 {
    let chunks = |size: usize| (body.len().div_ceil(size)).max(1) as u64;
    match service {
        "sns" | "sqs" => chunks(64 * 1024),
        "dynamodb" => dynamodb_units(operation, body),
        _ => 1,
    }
}

/// Write request units of a DynamoDB write: 1 per KiB of each item written (a delete, update or
/// condition check without the item: 1), twice in a transaction; 1 for any other request.
fn dynamodb_units(operation: &str, body: &[u8]) -> u64 {
    let Ok(request) = serde_json::from_slice::<serde_json::Value>(body) else {
        return 1;
    };
    let wru = |item: Option<&serde_json::Value>| {
        item.and_then(serde_json::Value::as_object)
            .map_or(1, |i| item_size(i).div_ceil(1024).max(1) as u64)
    };
    match operation {
        "PutItem" => wru(request.get("Item")),
        "TransactWriteItems" => {
            2 * request["TransactItems"].as_array().map_or(1, |items| {
                items
                    .iter()
                    .map(|t| wru(t.get("Put").and_then(|p| p.get("Item"))))
                    .sum()
            })
        }
        "BatchWriteItem" => request["RequestItems"].as_object().map_or(1, |tables| {
            tables
                .values()
                .flat_map(|w| w.as_array().into_iter().flatten())
                .map(|w| wru(w.get("PutRequest").and_then(|p| p.get("Item"))))
                .sum()
        }),
        _ => 1,
    }
}

/// DynamoDB's size of an item: attribute names plus values (strings and binaries by length,
/// numbers about 1 byte per 2 digits, maps and lists 3 bytes plus 1 per element).
pub fn item_size(item: &serde_json::Map<String, serde_json::Value>) -> usize {
    item.iter().map(|(k, v)| k.len() + value_size(v)).sum()
}

fn value_size(v: &serde_json::Value) -> usize {
    let Some((kind, inner)) = v.as_object().and_then(|o| o.iter().next()) else {
        return 1;
    };
    let text = |x: &serde_json::Value| x.as_str().map_or(0, str::len);
    match kind.as_str() {
        "S" => text(inner),
        "B" => text(inner) * 3 / 4,
        "N" => text(inner).div_ceil(2) + 1,
        "BOOL" | "NULL" => 1,
        "SS" | "NS" | "BS" => inner.as_array().map_or(0, |a| a.iter().map(text).sum()),
        "M" => inner.as_object().map_or(3, |m| {
            3 + m
                .iter()
                .map(|(k, v)| k.len() + value_size(v) + 1)
                .sum::<usize>()
        }),
        "L" => inner.as_array().map_or(3, |l| {
            3 + l.iter().map(|v| value_size(v) + 1).sum::<usize>()
        }),
        _ => 1,
    }
}

/// The difference `after − before`, per service and operation (operations without requests in
/// between are left out).
pub fn delta(before: &Counts, after: &Counts) -> Counts {
    let mut out = Counts::new();
    for (service, ops) in after {
        for (op, a) in ops {
            let b = before
                .get(service)
                .and_then(|o| o.get(op))
                .copied()
                .unwrap_or_default();
            if a.requests > b.requests {
                out.entry(service.clone()).or_default().insert(
                    op.clone(),
                    OpCount {
                        requests: a.requests - b.requests,
                        bytes: a.bytes - b.bytes,
                        units: a.units - b.units,
                        consumed: a.consumed - b.consumed,
                        failed_conditions: a.failed_conditions - b.failed_conditions,
                        index: a.index - b.index,
                    },
                );
            }
        }
    }
    out
}

/// The service of a SigV4-signed request.
fn service_of(req: &Request<Incoming>) -> Option<String> {
    let auth = req.headers().get("authorization")?.to_str().ok()?;
    let scope = auth.split("Credential=").nth(1)?.split([',', ' ']).next()?;
    scope.split('/').nth(3).map(str::to_string)
}

struct State {
    counts: Mutex<Counts>,
    client: Client<HttpConnector, Full<Bytes>>,
    moto: hyper::Uri,
    dynamodb: hyper::Uri,
}

/// Serves on 127.0.0.1 (any free port), printing the proxy's URL on stdout, until stopped.
pub async fn serve(moto: &str, dynamodb: &str) -> anyhow::Result<std::process::ExitCode> {
    let state = Arc::new(State {
        counts: Mutex::new(Counts::new()),
        client: Client::builder(TokioExecutor::new()).build_http(),
        moto: moto.parse()?,
        dynamodb: dynamodb.parse()?,
    });
    crate::local_http::serve(
        0,
        state,
        |req, state| async move { forward(req, &state).await },
    )
    .await
}

fn plain(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r
}

async fn forward(req: Request<Incoming>, state: &State) -> Response<Full<Bytes>> {
    if req.uri().path() == "/__stats" {
        let counts = state
            .counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        return plain(
            StatusCode::OK,
            serde_json::to_string(&counts).unwrap_or_default(),
        );
    }
    let mut service = service_of(&req).unwrap_or_else(|| "unsigned".into());
    let full_target = req
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    if service == "dynamodb" && full_target.starts_with("DynamoDBStreams") {
        service = "dynamodbstreams".into();
    }
    let target =
        (!full_target.is_empty()).then(|| full_target.rsplit('.').next().unwrap_or("").to_string());
    let method = req.method().to_string();
    let (mut parts, body) = req.into_parts();
    let body = match body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => return plain(StatusCode::BAD_GATEWAY, format!("unreadable body: {e}")),
    };
    let operation = target
        .or_else(|| {
            form_urlencoded::parse(&body)
                .find(|(k, _)| k == "Action")
                .map(|(_, v)| v.into_owned())
        })
        .unwrap_or(method);
    let bytes = body.len() as u64;
    let measured = service == "dynamodb" && CONSUMED_OPS.contains(&operation.as_str());
    let units_of_request = units(&service, &operation, &body);
    let asked_old = measured && asks_old_item(&body);
    let kind = (measured && is_dynamodb_write(&operation))
        .then(|| item_kind(&body))
        .flatten();
    let body = match measured.then(|| with_consumed_capacity(&body)).flatten() {
        Some(b) => {
            parts.headers.insert(
                hyper::header::CONTENT_LENGTH,
                hyper::header::HeaderValue::from(b.len()),
            );
            Bytes::from(b)
        }
        None => body,
    };
    {
        let mut counts = state.counts.lock().unwrap_or_else(|e| e.into_inner());
        let c = counts
            .entry(service.clone())
            .or_default()
            .entry(operation.clone())
            .or_default();
        c.requests += 1;
        c.bytes += bytes;
        c.units += units_of_request;
    }
    let upstream = if service.starts_with("dynamodb") {
        &state.dynamodb
    } else {
        &state.moto
    };
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_string();
    let uri = format!(
        "{}://{}{}",
        upstream.scheme_str().unwrap_or("http"),
        upstream.authority().map_or("127.0.0.1", |a| a.as_str()),
        path
    );
    match uri.parse() {
        Ok(u) => parts.uri = u,
        Err(e) => return plain(StatusCode::BAD_GATEWAY, format!("bad upstream URI: {e}")),
    }
    let res = match state
        .client
        .request(Request::from_parts(parts, Full::new(body)))
        .await
    {
        Ok(r) => r,
        Err(e) => return plain(StatusCode::BAD_GATEWAY, format!("upstream: {e}")),
    };
    let (parts, body) = res.into_parts();
    match body.collect().await {
        Ok(b) => {
            let b = b.to_bytes();
            // A write whose condition failed is billed too, at the size of the item it found
            // (at least one unit), as AWS bills it; DynamoDB answers no ConsumedCapacity for
            // it (see `failed_write_units`).
            let failed_condition = measured
                && is_dynamodb_write(&operation)
                && !parts.status.is_success()
                && b.windows(b"ConditionalCheckFailed".len())
                    .any(|w| w == b"ConditionalCheckFailed");
            if failed_condition {
                let mut counts = state.counts.lock().unwrap_or_else(|e| e.into_inner());
                let c = counts
                    .entry(service.clone())
                    .or_default()
                    .entry(operation.clone())
                    .or_default();
                let units = failed_write_units(&b, asked_old, units_of_request) as f64;
                c.consumed += units;
                c.failed_conditions += 1;
                count_kind(&mut counts, kind.as_deref(), units, 0.0, true);
            }
            if measured && parts.status.is_success() {
                let (consumed, index) = consumed_capacity(&b);
                let mut counts = state.counts.lock().unwrap_or_else(|e| e.into_inner());
                let c = counts
                    .entry(service)
                    .or_default()
                    .entry(operation)
                    .or_default();
                c.consumed += consumed;
                c.index += index;
                count_kind(&mut counts, kind.as_deref(), consumed, index, false);
            }
            Response::from_parts(parts, Full::new(b))
        }
        Err(e) => plain(StatusCode::BAD_GATEWAY, format!("upstream body: {e}")),
    }
}

/// The counts of the proxy at `endpoint`.
pub async fn fetch(endpoint: &str) -> anyhow::Result<Counts> {
    crate::local_http::get_json(&format!("{endpoint}/__stats")).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_follow_the_billing_rules() {
        // Scenario: SNS and SQS bill 64 KiB chunks; a DynamoDB put 1 KiB of item per unit (the
        // item's size, not the request's), doubled in a transaction; reads count one.
        assert_eq!(units("sns", "PublishBatch", b""), 1);
        assert_eq!(units("sns", "PublishBatch", &[b'x'; 64 * 1024]), 1);
        assert_eq!(units("sns", "PublishBatch", &[b'x'; 64 * 1024 + 1]), 2);
        let big = "x".repeat(1500);
        let put =
            serde_json::json!({"TableName": "t", "Item": {"pk": {"S": "A#1"}, "doc": {"S": big}}});
        assert_eq!(units("dynamodb", "PutItem", put.to_string().as_bytes()), 2);
        let small = serde_json::json!({"TableName": "t", "Item": {"pk": {"S": "A#1"}, "n": {"N": "12"}, "ok": {"BOOL": true}}});
        assert_eq!(
            units("dynamodb", "PutItem", small.to_string().as_bytes()),
            1
        );
        let txn = serde_json::json!({"TransactItems": [
            {"Put": {"TableName": "t", "Item": {"pk": {"S": big}}}},
            {"Put": {"TableName": "t", "Item": {"pk": {"S": "x"}}}},
            {"ConditionCheck": {"TableName": "t", "Key": {"pk": {"S": "x"}}}},
        ]});
        assert_eq!(
            units("dynamodb", "TransactWriteItems", txn.to_string().as_bytes()),
            2 * (2 + 1 + 1)
        );
        assert_eq!(units("dynamodb", "GetItem", b"{}"), 1);
    }

    #[test]
    fn consumed_capacity_is_read_from_dynamodbs_answer() {
        // Scenario: a single call's object and a transaction's list, the indexes' part apart;
        // the request gains ReturnConsumedCapacity = INDEXES, whatever it asked.
        let put = br#"{"ConsumedCapacity": {"TableName": "t", "CapacityUnits": 3.0,
            "Table": {"CapacityUnits": 2.0}, "GlobalSecondaryIndexes": {"gsi1": {"CapacityUnits": 1.0}}}}"#;
        assert_eq!(consumed_capacity(put), (3.0, 1.0));
        let txn = br#"{"ConsumedCapacity": [{"TableName": "t", "CapacityUnits": 8.0,
            "GlobalSecondaryIndexes": {"gsi1": {"CapacityUnits": 2.0}}}, {"TableName": "u", "CapacityUnits": 1.0}]}"#;
        assert_eq!(consumed_capacity(txn), (9.0, 2.0));
        assert_eq!(consumed_capacity(b"{}"), (0.0, 0.0));
        let asked =
            with_consumed_capacity(br#"{"TableName": "t", "ReturnConsumedCapacity": "NONE"}"#)
                .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&asked).unwrap();
        assert_eq!(v["ReturnConsumedCapacity"], "INDEXES");
        assert!(with_consumed_capacity(b"not json").is_none());
    }

    #[test]
    fn writes_are_told_apart_by_the_kind_of_item() {
        let put = |pk: &str, sk: Option<&str>| {
            let sk = sk.map_or(String::new(), |s| format!(r#","sk":{{"S":"{s}"}}"#));
            format!(r#"{{"Item":{{"pk":{{"S":"{pk}"}}{sk}}}}}"#)
        };
        assert_eq!(
            item_kind(put("ORDER#1", Some("ORDER")).as_bytes()).as_deref(),
            Some("order")
        );
        assert_eq!(
            item_kind(put("ORDER#1", Some("MATERIAL#7")).as_bytes()).as_deref(),
            Some("order / material row")
        );
        assert_eq!(
            item_kind(put("customer#1", None).as_bytes()).as_deref(),
            Some("customer")
        );
        let delete = br#"{"Key":{"pk":{"S":"ORDER#1"},"sk":{"S":"MATERIAL#7"}}}"#;
        assert_eq!(item_kind(delete).as_deref(), Some("order / material row"));
        let txn =
            br#"{"TransactItems":[{"Put":{"Item":{"pk":{"S":"ORDER#1"},"sk":{"S":"ORDER"}}}}]}"#;
        assert_eq!(item_kind(txn).as_deref(), Some("order"));
        assert_eq!(item_kind(b"{}"), None);
    }

    #[test]
    fn a_refused_write_is_billed_at_the_item_it_found() {
        let big = format!(r#"{{"Item":{{"pk":{{"S":"{}"}}}}}}"#, "x".repeat(1500));
        assert_eq!(failed_write_units(big.as_bytes(), true, 1), 2);
        // No item found (a new order on the fast path): one unit, whatever was sent.
        assert_eq!(failed_write_units(br#"{"__type":"x"}"#, true, 2), 1);
        // Not asked: the request's own size stands in for it.
        assert_eq!(failed_write_units(b"{}", false, 2), 2);
        assert!(asks_old_item(
            br#"{"ReturnValuesOnConditionCheckFailure":"ALL_OLD"}"#
        ));
        assert!(!asks_old_item(br#"{"Item":{}}"#));
    }

    #[test]
    fn item_size_follows_dynamodb_rules() {
        let item = serde_json::json!({"pk": {"S": "abc"}, "m": {"M": {"k": {"S": "vv"}}}, "l": {"L": [{"N": "1"}]}});
        // pk 2+3; m 1 + (3 + (1+2+1)); l 1 + (3 + (2+1))
        assert_eq!(item_size(item.as_object().unwrap()), 5 + 8 + 7);
    }

    #[test]
    fn delta_keeps_what_happened_in_between() {
        let mut a = Counts::new();
        a.entry("sqs".into()).or_default().insert(
            "ReceiveMessage".into(),
            OpCount {
                requests: 2,
                bytes: 10,
                units: 2,
                ..OpCount::default()
            },
        );
        let mut b = a.clone();
        b.get_mut("sqs")
            .unwrap()
            .get_mut("ReceiveMessage")
            .unwrap()
            .requests = 5;
        b.entry("sns".into()).or_default().insert(
            "Publish".into(),
            OpCount {
                requests: 1,
                bytes: 3,
                units: 1,
                ..OpCount::default()
            },
        );
        let d = delta(&a, &b);
        assert_eq!(d["sqs"]["ReceiveMessage"].requests, 3);
        assert_eq!(d["sns"]["Publish"].requests, 1);
        assert!(delta(&b, &b).is_empty());
    }
}
