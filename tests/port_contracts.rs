//! One contract per port, written once and run against the in-memory adapter and the AWS adapter
//! on the stand-ins (moto for SNS, SQS and S3): what a caller may rely on whichever adapter is
//! behind the port. Where the two disagreed, the in-memory adapter was changed to answer as the
//! AWS one does. Every AWS scenario creates a topic, queue or bucket of its own.
//!
//! | port | in memory | AWS |
//! |---|---|---|
//! | `hub_bridge::Publisher` | `MemoryPublisher` | `SnsPublisher` (read back from a raw-delivery SQS subscription) |
//! | `hub_bridge::DeadLetters` | `MemoryDeadLetters` | `SqsBridgeDeadLetters` |
//! | `hub_bridge::ClaimStore` | `MemoryClaims` | `S3Claims` |
//! | `hub_sync::DeadLetterSink` | `MemoryDeadLetters` | `SqsDeadLetters` |
//! | `hub_sync::PayloadStore` | `MemoryPayloads` | `S3Payloads` |
//! | `hub_redrive::DlqQueue`, `SendQueue` | `MemoryQueue` | `SqsDlq`, `SqsSendQueue` |
//! | `hub_redrive::ObjectReader` | `MemoryObjects` | `S3Objects` |

use aws_sdk_sqs::types::Message as SqsMessage;
use hub_aws::AwsClients;
use hub_aws::bridge::{S3Claims, SqsBridgeDeadLetters};
use hub_aws::redrive::{S3Objects, SqsDlq, SqsSendQueue};
use hub_aws::s3_payloads::S3Payloads;
use hub_aws::sns_publisher::SnsPublisher;
use hub_aws::sqs_dlq::SqsDeadLetters;
use hub_bridge::dead_letter::{DeadLetterClass, ErrorContext};
use hub_bridge::ports::{EntryFailure, MemoryClaims, MemoryPublisher};
use hub_bridge::{BridgeDeadLetter, ClaimStore, DeadLetters, KafkaRecord, Message, Publisher};
use hub_core::{ErrorClass, PortError};
use hub_integration_tests::{clients, depth, drain_queue, queue_arn, s3_object, unique};
use hub_model::claim_check::{ClaimCheck, s3_location};
use hub_redrive::ports::MemoryObjects;
use hub_redrive::{DlqMessage, DlqQueue, MemoryQueue, ObjectReader, Outgoing, SendQueue};
use hub_sync::{DeadLetter, DeadLetterSink, MemoryPayloads, PayloadStore};
use std::collections::BTreeMap;
use std::time::Duration;

/// A message as its destination holds it: the body and the string attributes.
type Held = (String, BTreeMap<String, String>);

fn sorted(mut v: Vec<Held>) -> Vec<Held> {
    v.sort();
    v
}

fn held(m: &SqsMessage) -> Held {
    let attributes = m
        .message_attributes()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.clone(), v.string_value()?.to_string())))
        .collect();
    (m.body().unwrap_or_default().to_string(), attributes)
}

/// Every message of `queue_url` once `n` have arrived (each deleted as it is read). The
/// stand-in delivers within the sending call, so the queue is then empty: nothing arrived twice.
async fn arrived(clients: &AwsClients, queue_url: &str, n: usize) -> Vec<Held> {
    let got = drain_queue(clients, queue_url, Duration::from_secs(20), |m| {
        m.len() >= n
    })
    .await;
    assert_eq!(
        depth(clients, queue_url).await,
        (0, 0),
        "nothing more than the {n} expected arrived"
    );
    got.iter().map(held).collect()
}

async fn new_queue(clients: &AwsClients, prefix: &str) -> String {
    clients
        .sqs
        .create_queue()
        .queue_name(unique(prefix))
        .send()
        .await
        .expect("CreateQueue")
        .queue_url
        .expect("a queue URL")
}

/// The URL a queue named `unique(prefix)` would have beside `existing`: no such queue.
fn missing_queue(existing: &str, prefix: &str) -> String {
    let (base, _) = existing.rsplit_once('/').expect("a queue URL has a path");
    format!("{base}/{}", unique(prefix))
}

async fn new_bucket(clients: &AwsClients, prefix: &str) -> String {
    let name = unique(prefix);
    clients
        .s3
        .create_bucket()
        .bucket(&name)
        .send()
        .await
        .expect("CreateBucket");
    name
}

async fn put_object(clients: &AwsClients, bucket: &str, key: &str, bytes: Vec<u8>) {
    clients
        .s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(bytes.into())
        .send()
        .await
        .expect("PutObject");
}

fn assert_permanent<T: std::fmt::Debug>(result: Result<T, PortError>, what: &str) {
    let e = result.expect_err(what);
    assert_eq!(e.class, ErrorClass::Permanent, "{what}: {e}");
}

// ---------------------------------------------------------------------------------------------
// Publisher (hub-bridge): SNS PublishBatch.

/// A publisher under test and where its messages can be read back.
trait PublisherRig {
    type P: Publisher;
    fn publisher(&self) -> &Self::P;
    /// What was published, once `n` messages have arrived.
    async fn delivered(&self, n: usize) -> Vec<Held>;
    /// `m` changed so that the service refuses it as an entry of a batch.
    fn refused(&self, m: Message) -> Message;
    /// A publisher to a topic that does not exist.
    fn without_topic(&self) -> Self::P;
}

/// Message `i` of the bridge's test batches, with the four routing attributes.
fn message(i: usize, entity: &'static str) -> Message {
    Message {
        attributes: vec![
            ("entity", entity.to_string()),
            (
                "op",
                if i.is_multiple_of(2) {
                    "upsert"
                } else {
                    "delete"
                }
                .to_string(),
            ),
            ("source_system", "S4PCLNT100".to_string()),
            ("schema", format!("{entity}.v1")),
        ],
        ..hub_bridge::testing::message(i, entity, false)
    }
}

fn as_held(m: &Message) -> Held {
    let attributes = m
        .attributes
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    (m.body.clone(), attributes)
}

/// Every entry of a full batch (ten) is delivered once, with its body and attributes.
async fn publisher_delivers_each_entry_once(rig: &impl PublisherRig) {
    let batch: Vec<Message> = (0..10)
        .map(|i| message(i, ["customer", "material", "sales_order"][i % 3]))
        .collect();
    let refs: Vec<&Message> = batch.iter().collect();
    let failures = rig.publisher().publish_batch(&refs).await.unwrap();
    assert_eq!(failures, vec![]);
    let want = sorted(batch.iter().map(as_held).collect());
    assert_eq!(sorted(rig.delivered(10).await), want);
}

/// An entry the service refuses comes back by its index, not retryable; the others are
/// delivered.
async fn publisher_reports_a_refused_entry_by_index(rig: &impl PublisherRig) {
    let batch = [
        message(0, "material"),
        rig.refused(message(1, "material")),
        message(2, "material"),
    ];
    let refs: Vec<&Message> = batch.iter().collect();
    let failures = rig.publisher().publish_batch(&refs).await.unwrap();
    let summary: Vec<(usize, &str, bool)> = failures
        .iter()
        .map(|f: &EntryFailure| (f.index, f.code.as_str(), f.retryable))
        .collect();
    assert_eq!(summary, [(1, "InvalidParameter", false)], "{failures:?}");
    let want = sorted(vec![as_held(&batch[0]), as_held(&batch[2])]);
    assert_eq!(sorted(rig.delivered(2).await), want);
}

/// A call over SNS's ten entries and a call to a missing topic fail as a whole, permanently,
/// and publish nothing.
async fn publisher_refuses_whole_calls_permanently(rig: &impl PublisherRig) {
    let eleven: Vec<Message> = (0..11).map(|i| message(i, "customer")).collect();
    let refs: Vec<&Message> = eleven.iter().collect();
    assert_permanent(rig.publisher().publish_batch(&refs).await, "eleven entries");
    let m = message(99, "customer");
    assert_permanent(
        rig.without_topic().publish_batch(&[&m]).await,
        "a missing topic",
    );
    // Only this one arrives: neither refused call published anything.
    rig.publisher().publish_batch(&[&m]).await.unwrap();
    assert_eq!(rig.delivered(1).await, vec![as_held(&m)]);
}

struct MemoryPublish(MemoryPublisher);

impl MemoryPublish {
    const REFUSE: &str = "refuse-this-entry";

    fn new() -> MemoryPublish {
        let p = MemoryPublisher::default();
        p.reject_bodies_containing(Self::REFUSE);
        MemoryPublish(p)
    }
}

impl PublisherRig for MemoryPublish {
    type P = MemoryPublisher;
    fn publisher(&self) -> &MemoryPublisher {
        &self.0
    }
    async fn delivered(&self, _n: usize) -> Vec<Held> {
        self.0.published().iter().map(as_held).collect()
    }
    fn refused(&self, mut m: Message) -> Message {
        m.body = format!(r#"{{"note":"{}"}}"#, Self::REFUSE);
        m
    }
    fn without_topic(&self) -> MemoryPublisher {
        let p = MemoryPublisher::default();
        p.set_topic_missing(true);
        p
    }
}

/// A topic of its own with a queue subscribed with raw delivery, as the hub's queues are.
struct SnsPublish {
    clients: AwsClients,
    publisher: SnsPublisher,
    topic_arn: String,
    queue_url: String,
}

impl SnsPublish {
    async fn new() -> SnsPublish {
        let clients = clients().await;
        let topic_arn = clients
            .sns
            .create_topic()
            .name(unique("contract-topic"))
            .send()
            .await
            .unwrap()
            .topic_arn
            .unwrap();
        let queue_url = new_queue(&clients, "contract-sub").await;
        clients
            .sns
            .subscribe()
            .topic_arn(&topic_arn)
            .protocol("sqs")
            .endpoint(queue_arn(&clients, &queue_url).await)
            .attributes("RawMessageDelivery", "true")
            .send()
            .await
            .unwrap();
        SnsPublish {
            publisher: SnsPublisher::new(&clients, &topic_arn),
            clients,
            topic_arn,
            queue_url,
        }
    }
}

impl PublisherRig for SnsPublish {
    type P = SnsPublisher;
    fn publisher(&self) -> &SnsPublisher {
        &self.publisher
    }
    async fn delivered(&self, n: usize) -> Vec<Held> {
        arrived(&self.clients, &self.queue_url, n).await
    }
    fn refused(&self, mut m: Message) -> Message {
        // A deduplication id is for FIFO topics only: a standard topic refuses the entry.
        m.dedup_id = Some(m.event_id.clone());
        m
    }
    fn without_topic(&self) -> SnsPublisher {
        // The same region and account, another name.
        let (prefix, _) = self.topic_arn.rsplit_once(':').unwrap();
        SnsPublisher::new(
            &self.clients,
            format!("{prefix}:{}", unique("no-such-topic")),
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Dead letters (hub-bridge): the bridge DLQ.

trait BridgeDlqRig {
    type D: DeadLetters;
    fn dlq(&self) -> &Self::D;
    /// What the DLQ holds, once `n` letters are in it.
    async fn held(&self, n: usize) -> Vec<Held>;
    /// A sink whose queue does not exist.
    fn without_queue(&self) -> Self::D;
}

fn bridge_letter(offset: i64, class: DeadLetterClass, message: String) -> BridgeDeadLetter {
    let record = KafkaRecord {
        partition: 2,
        key: Some(b"000000000000004711".to_vec()),
        headers: vec![(
            "correlation_id".into(),
            format!("corr-{offset}").into_bytes(),
        )],
        ..hub_bridge::testing::record("sap.idoc.matmas", offset, &[0, 159, 146, 150, b'<', b'&'])
    };
    let error = ErrorContext {
        class,
        kind: "xml_syntax".into(),
        message,
        path: Some("/MATMAS05/IDOC".into()),
    };
    BridgeDeadLetter::new(&record, error, chrono::Utc::now())
}

/// Each letter arrives as its JSON body (the raw record recoverable from it) with its context
/// attributes: class, kind, message (cut to 1024 characters), stage, time, attempts, topic,
/// correlation id.
async fn bridge_letters_arrive_with_their_context(rig: &impl BridgeDlqRig) {
    let letters = [
        bridge_letter(7, DeadLetterClass::Poison, "unexpected end".into()),
        bridge_letter(8, DeadLetterClass::Permanent, "é".repeat(1500)),
    ];
    for l in &letters {
        rig.dlq().send(l).await.unwrap();
    }
    let mut got = rig.held(2).await;
    got.sort_by_key(|(body, _)| BridgeDeadLetter::from_body(body).unwrap().kafka.offset);
    for ((body, attributes), sent) in got.iter().zip(&letters) {
        let back = BridgeDeadLetter::from_body(body).unwrap();
        assert_eq!(&back, sent, "the body is the letter");
        assert_eq!(
            back.to_record(None).unwrap().value,
            [0, 159, 146, 150, b'<', b'&']
        );
        let a = |k: &str| attributes.get(k).map(String::as_str);
        assert_eq!(a("error_class"), Some(sent.error.class.as_str()));
        assert_eq!(a("error_kind"), Some("xml_syntax"));
        assert_eq!(a("stage"), Some("kafka-bridge"));
        assert_eq!(a("attempts"), Some("1"));
        assert_eq!(a("kafka_topic"), Some("sap.idoc.matmas"));
        assert_eq!(
            a("correlation_id"),
            Some(format!("corr-{}", sent.kafka.offset).as_str())
        );
        assert!(a("failed_at").is_some_and(|t| t.ends_with('Z')));
        let message: String = sent.error.message.chars().take(1024).collect();
        assert_eq!(a("error_message"), Some(message.as_str()));
    }
}

/// A queue that does not exist is a permanent error.
async fn bridge_letters_to_a_missing_queue_fail_permanently(rig: &impl BridgeDlqRig) {
    let letter = bridge_letter(1, DeadLetterClass::Poison, "x".into());
    assert_permanent(rig.without_queue().send(&letter).await, "a missing queue");
}

#[derive(Default)]
struct MemoryBridgeDlq(hub_bridge::ports::MemoryDeadLetters);

impl BridgeDlqRig for MemoryBridgeDlq {
    type D = hub_bridge::ports::MemoryDeadLetters;
    fn dlq(&self) -> &Self::D {
        &self.0
    }
    async fn held(&self, _n: usize) -> Vec<Held> {
        self.0
            .letters()
            .iter()
            .map(|l| {
                let attributes = l
                    .attributes()
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect();
                (l.body(), attributes)
            })
            .collect()
    }
    fn without_queue(&self) -> Self::D {
        let d = hub_bridge::ports::MemoryDeadLetters::default();
        d.set_queue_missing(true);
        d
    }
}

struct SqsBridgeDlq {
    clients: AwsClients,
    dlq: SqsBridgeDeadLetters,
    url: String,
}

impl SqsBridgeDlq {
    async fn new() -> SqsBridgeDlq {
        let clients = clients().await;
        let url = new_queue(&clients, "contract-bridge-dlq").await;
        SqsBridgeDlq {
            dlq: SqsBridgeDeadLetters::new(clients.sqs.clone(), &url),
            clients,
            url,
        }
    }
}

impl BridgeDlqRig for SqsBridgeDlq {
    type D = SqsBridgeDeadLetters;
    fn dlq(&self) -> &Self::D {
        &self.dlq
    }
    async fn held(&self, n: usize) -> Vec<Held> {
        arrived(&self.clients, &self.url, n).await
    }
    fn without_queue(&self) -> Self::D {
        SqsBridgeDeadLetters::new(self.clients.sqs.clone(), missing_queue(&self.url, "no-dlq"))
    }
}

// ---------------------------------------------------------------------------------------------
// Claim store (hub-bridge): bodies too large for SNS or SQS.

trait ClaimRig {
    type C: ClaimStore;
    fn claims(&self) -> &Self::C;
    /// The bucket its URIs name.
    fn bucket(&self) -> &str;
    /// The object at `uri`.
    async fn read(&self, uri: &str) -> Vec<u8>;
}

/// A body put under a key reads back byte for byte at the returned `s3://bucket/key` URI (the
/// form the consumers parse); a second put under the same key overwrites it at the same URI.
async fn claims_read_back_what_was_put(rig: &impl ClaimRig) {
    let key = "p/events/material/2026-11-03/e-1_x.json";
    let first: Vec<u8> = (0..70_000u32).map(|i| (i % 251) as u8).collect();
    let uri = rig.claims().put(key, first.clone()).await.unwrap();
    assert_eq!(s3_location(&uri), Some((rig.bucket(), key)), "{uri}");
    assert_eq!(rig.read(&uri).await, first);
    let again = rig.claims().put(key, b"second".to_vec()).await.unwrap();
    assert_eq!(again, uri);
    assert_eq!(rig.read(&uri).await, b"second");
}

#[derive(Default)]
struct MemoryClaim(MemoryClaims);

impl ClaimRig for MemoryClaim {
    type C = MemoryClaims;
    fn claims(&self) -> &MemoryClaims {
        &self.0
    }
    fn bucket(&self) -> &str {
        MemoryClaims::BUCKET
    }
    async fn read(&self, uri: &str) -> Vec<u8> {
        self.0.get(uri).expect("stored")
    }
}

struct S3Claim {
    clients: AwsClients,
    claims: S3Claims,
    bucket: String,
}

impl S3Claim {
    async fn new() -> S3Claim {
        let clients = clients().await;
        let bucket = new_bucket(&clients, "contract-claims").await;
        S3Claim {
            claims: S3Claims::new(clients.s3.clone(), &bucket),
            clients,
            bucket,
        }
    }
}

impl ClaimRig for S3Claim {
    type C = S3Claims;
    fn claims(&self) -> &S3Claims {
        &self.claims
    }
    fn bucket(&self) -> &str {
        &self.bucket
    }
    async fn read(&self, uri: &str) -> Vec<u8> {
        let (bucket, key) = s3_location(uri).expect("an s3:// URI");
        s3_object(&self.clients, bucket, key).await
    }
}

// ---------------------------------------------------------------------------------------------
// Dead-letter sink (hub-sync): the domain DLQ.

trait SinkRig {
    type S: DeadLetterSink;
    fn sink(&self) -> &Self::S;
    /// What the DLQ holds, once `n` letters are in it.
    async fn held(&self, n: usize) -> Vec<Held>;
}

fn strings(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn domain_letter(attributes: &[(&str, &str)]) -> DeadLetter {
    DeadLetter {
        body: r#"{"event_id":"e-1","entity":"customer","key":"4711","note":"Grüße & 100%"}"#.into(),
        attributes: strings(attributes).into_iter().collect(),
        error_class: ErrorClass::Permanent,
        error_message: "customer 4711: no name".into(),
        stage: "customers-sync".into(),
        failed_at: "2026-11-03T10:00:00.000Z".into(),
        attempts: 3,
        correlation_id: Some("corr-1".into()),
        message_id: "m-1".into(),
    }
}

const ROUTING: &[(&str, &str)] = &[
    ("entity", "customer"),
    ("op", "upsert"),
    ("source_system", "S4PCLNT100"),
    ("schema", "customer.v1"),
];

const CONTEXT: &[(&str, &str)] = &[
    ("error_class", "permanent"),
    ("error_message", "customer 4711: no name"),
    ("stage", "customers-sync"),
    ("failed_at", "2026-11-03T10:00:00.000Z"),
    ("attempts", "3"),
    ("correlation_id", "corr-1"),
];

/// The body arrives unchanged with the original attributes kept and the error context added
/// (four routing attributes and six of context: exactly SQS's ten).
async fn sink_keeps_the_message_and_adds_the_context(rig: &impl SinkRig) {
    rig.sink().send(domain_letter(ROUTING)).await.unwrap();
    let got = rig.held(1).await;
    let mut want: BTreeMap<String, String> = strings(ROUTING).into_iter().collect();
    want.extend(strings(CONTEXT));
    assert_eq!(want.len(), 10);
    assert_eq!(got, vec![(domain_letter(&[]).body, want)]);
}

/// With more than ten attributes in all, the original ones travel packed as JSON in
/// `original_attributes` beside the context, and the redrive unpacks them unchanged.
async fn sink_packs_more_than_ten_attributes(rig: &impl SinkRig) {
    let mut original = ROUTING.to_vec();
    original.extend([("enrichment", "required"), ("replay", "true")]);
    rig.sink().send(domain_letter(&original)).await.unwrap();
    let got = rig.held(1).await;
    let [(body, attributes)] = got.as_slice() else {
        panic!("one letter: {got:?}")
    };
    assert_eq!(body, &domain_letter(&[]).body);
    let mut want: BTreeMap<String, String> = strings(CONTEXT).into_iter().collect();
    let packed = attributes
        .get(hub_sync::dlq::ORIGINAL_ATTRIBUTES)
        .expect("packed originals");
    want.insert(hub_sync::dlq::ORIGINAL_ATTRIBUTES.into(), packed.clone());
    assert_eq!(attributes, &want);
    let in_dlq = DlqMessage {
        message_id: "m-1".into(),
        receipt_handle: "r".into(),
        body: body.clone(),
        attributes: attributes.clone(),
        sent_at: None,
        group_id: None,
    };
    let original: BTreeMap<String, String> = strings(&original).into_iter().collect();
    assert_eq!(in_dlq.original_attributes(), original);
}

#[derive(Default)]
struct MemorySink(hub_sync::MemoryDeadLetters);

impl SinkRig for MemorySink {
    type S = hub_sync::MemoryDeadLetters;
    fn sink(&self) -> &Self::S {
        &self.0
    }
    async fn held(&self, _n: usize) -> Vec<Held> {
        self.0.messages()
    }
}

struct SqsSink {
    clients: AwsClients,
    sink: SqsDeadLetters,
    url: String,
}

impl SqsSink {
    async fn new() -> SqsSink {
        let clients = clients().await;
        let url = new_queue(&clients, "contract-domain-dlq").await;
        SqsSink {
            sink: SqsDeadLetters::new(clients.sqs.clone(), &url),
            clients,
            url,
        }
    }
}

impl SinkRig for SqsSink {
    type S = SqsDeadLetters;
    fn sink(&self) -> &SqsDeadLetters {
        &self.sink
    }
    async fn held(&self, n: usize) -> Vec<Held> {
        arrived(&self.clients, &self.url, n).await
    }
}

// ---------------------------------------------------------------------------------------------
// Payload store (hub-sync): claim-checked events.

trait PayloadRig {
    type P: PayloadStore;
    fn payloads(&self) -> &Self::P;
    /// Stores `body` under `key`; the claim check pointing at it.
    async fn store(&self, key: &str, body: &str) -> ClaimCheck;
    /// A claim check naming `key`, where nothing is stored.
    fn missing(&self, key: &str) -> ClaimCheck;
}

/// A stored event is returned as stored; a missing object or a URI that is not `s3://` is a
/// permanent error.
async fn payloads_return_the_stored_event(rig: &impl PayloadRig) {
    let event = format!(
        r#"{{"event_id":"e-1","data":{{"notes":"{}","ü":"😀"}}}}"#,
        "n".repeat(300 * 1024)
    );
    let claim = rig.store("customer/BIG1.json", &event).await;
    assert_eq!(rig.payloads().fetch(&claim).await.unwrap(), event);
    assert_permanent(
        rig.payloads()
            .fetch(&rig.missing("customer/none.json"))
            .await,
        "a missing object",
    );
    let not_s3 = ClaimCheck {
        uri: "https://example.com/customer/BIG1.json".into(),
        bytes: 1,
    };
    assert_permanent(
        rig.payloads().fetch(&not_s3).await,
        "a URI that is not s3://",
    );
}

#[derive(Default)]
struct MemoryPayload(MemoryPayloads);

impl PayloadRig for MemoryPayload {
    type P = MemoryPayloads;
    fn payloads(&self) -> &MemoryPayloads {
        &self.0
    }
    async fn store(&self, key: &str, body: &str) -> ClaimCheck {
        let claim = self.missing(key);
        self.0.put(&claim.uri, body);
        ClaimCheck {
            bytes: body.len() as u64,
            ..claim
        }
    }
    fn missing(&self, key: &str) -> ClaimCheck {
        ClaimCheck {
            uri: format!("s3://memory/{key}"),
            bytes: 0,
        }
    }
}

struct S3Payload {
    clients: AwsClients,
    payloads: S3Payloads,
    bucket: String,
}

impl S3Payload {
    async fn new() -> S3Payload {
        let clients = clients().await;
        let bucket = new_bucket(&clients, "contract-payloads").await;
        S3Payload {
            payloads: S3Payloads::new(clients.s3.clone()),
            clients,
            bucket,
        }
    }
}

impl PayloadRig for S3Payload {
    type P = S3Payloads;
    fn payloads(&self) -> &S3Payloads {
        &self.payloads
    }
    async fn store(&self, key: &str, body: &str) -> ClaimCheck {
        put_object(&self.clients, &self.bucket, key, body.as_bytes().to_vec()).await;
        ClaimCheck {
            bytes: body.len() as u64,
            ..self.missing(key)
        }
    }
    fn missing(&self, key: &str) -> ClaimCheck {
        ClaimCheck {
            uri: format!("s3://{}/{key}", self.bucket),
            bytes: 0,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// DLQ and send queue (hub-redrive): one queue seen through both ports.

trait QueueRig {
    type Q: DlqQueue;
    type S: SendQueue;
    fn dlq(&self) -> &Self::Q;
    fn sender(&self) -> &Self::S;
}

/// Long enough that nothing received comes back by itself during a scenario.
const HIDE: Duration = Duration::from_secs(60);

fn outgoing(i: usize) -> Outgoing {
    Outgoing {
        body: format!(r#"{{"event_id":"e-{i}","note":"a & b ü"}}"#),
        attributes: strings(&[("entity", "customer"), ("redrive_count", &i.to_string())])
            .into_iter()
            .collect(),
        group_id: None,
        dedup_id: None,
    }
}

/// Each send returns the new message's id; a receive hands out each message with that id, its
/// body, attributes and sent time, and hides it: the depth drops and a second receive gets
/// nothing.
async fn queues_hand_out_what_was_sent_and_hide_it(rig: &impl QueueRig) {
    let mut ids = BTreeMap::new();
    for i in 0..3 {
        let id = rig.sender().send(&outgoing(i)).await.unwrap();
        assert!(!id.is_empty());
        assert!(ids.insert(id, i).is_none(), "ids are distinct");
    }
    assert_eq!(rig.dlq().depth().await.unwrap(), 3);
    let got = rig.dlq().receive(10, HIDE).await.unwrap();
    assert_eq!(got.len(), 3);
    for m in &got {
        let i = ids[&m.message_id];
        assert_eq!(m.body, outgoing(i).body);
        assert_eq!(m.attributes, outgoing(i).attributes);
        assert!(!m.receipt_handle.is_empty());
        assert!(m.sent_at.is_some());
        assert_eq!(m.group_id, None);
    }
    assert_eq!(rig.dlq().depth().await.unwrap(), 0);
    assert_eq!(rig.dlq().receive(10, HIDE).await.unwrap(), vec![]);
}

/// A released message is visible again and comes with a new receipt; a deleted one is gone
/// (releasing its receipt brings nothing back); deleting it again is no error; a receipt that
/// never named a message is reported back.
async fn queues_release_and_delete(rig: &impl QueueRig) {
    for i in 0..2 {
        rig.sender().send(&outgoing(i)).await.unwrap();
    }
    let got = rig.dlq().receive(10, HIDE).await.unwrap();
    assert_eq!(got.len(), 2);
    let (first, second) = (&got[0], &got[1]);
    rig.dlq()
        .release(std::slice::from_ref(&first.receipt_handle))
        .await
        .unwrap();
    assert_eq!(rig.dlq().depth().await.unwrap(), 1);
    let again = rig.dlq().receive(10, HIDE).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].message_id, first.message_id);
    assert_eq!(again[0].body, first.body);
    assert_ne!(again[0].receipt_handle, first.receipt_handle);

    let receipts = [
        again[0].receipt_handle.clone(),
        second.receipt_handle.clone(),
    ];
    assert_eq!(
        rig.dlq().delete(&receipts).await.unwrap(),
        Vec::<String>::new()
    );
    rig.dlq().release(&receipts).await.unwrap();
    assert_eq!(rig.dlq().depth().await.unwrap(), 0, "deleted, not hidden");
    assert_eq!(
        rig.dlq().delete(&receipts[1..]).await.unwrap(),
        Vec::<String>::new(),
        "deleting again is no error"
    );
    let unknown = vec!["never-a-receipt".to_string()];
    assert_eq!(rig.dlq().delete(&unknown).await.unwrap(), unknown);
}

/// A receive hands out at most ten messages (SQS's limit), whatever was asked.
async fn queues_hand_out_at_most_ten_a_receive(rig: &impl QueueRig) {
    for i in 0..12 {
        rig.sender().send(&outgoing(i)).await.unwrap();
    }
    let got = rig.dlq().receive(20, HIDE).await.unwrap();
    assert!((1..=10).contains(&got.len()), "{} messages", got.len());
    assert_eq!(rig.dlq().depth().await.unwrap(), 12 - got.len() as u64);
}

struct MemoryQueueRig(MemoryQueue);

impl MemoryQueueRig {
    fn new() -> MemoryQueueRig {
        MemoryQueueRig(MemoryQueue::new("contract"))
    }
}

impl QueueRig for MemoryQueueRig {
    type Q = MemoryQueue;
    type S = MemoryQueue;
    fn dlq(&self) -> &MemoryQueue {
        &self.0
    }
    fn sender(&self) -> &MemoryQueue {
        &self.0
    }
}

struct SqsQueueRig {
    dlq: SqsDlq,
    sender: SqsSendQueue,
}

impl SqsQueueRig {
    async fn new() -> SqsQueueRig {
        let clients = clients().await;
        let url = new_queue(&clients, "contract-redrive").await;
        SqsQueueRig {
            dlq: SqsDlq::new(clients.sqs.clone(), &url),
            sender: SqsSendQueue::new(clients.sqs.clone(), &url),
        }
    }
}

impl QueueRig for SqsQueueRig {
    type Q = SqsDlq;
    type S = SqsSendQueue;
    fn dlq(&self) -> &SqsDlq {
        &self.dlq
    }
    fn sender(&self) -> &SqsSendQueue {
        &self.sender
    }
}

// ---------------------------------------------------------------------------------------------
// Object reader (hub-redrive): claim-checked values of the bridge DLQ.

trait ObjectRig {
    type R: ObjectReader;
    fn reader(&self) -> &Self::R;
    /// Stores `bytes` under `key`; its URI.
    async fn store(&self, key: &str, bytes: Vec<u8>) -> String;
}

/// A stored object reads back byte for byte; a missing key or a URI that is not `s3://` is a
/// permanent error.
async fn objects_read_back_what_was_stored(rig: &impl ObjectRig) {
    let bytes: Vec<u8> = (0..=255u8).cycle().take(40_000).collect();
    let uri = rig
        .store("p/dead-letters/sap.idoc.matmas/2/41.bin", bytes.clone())
        .await;
    assert_eq!(rig.reader().get(&uri).await.unwrap(), bytes);
    let missing = uri.replace("/41.bin", "/42.bin");
    assert_permanent(rig.reader().get(&missing).await, "a missing key");
    assert_permanent(rig.reader().get("file:///tmp/41.bin").await, "not s3://");
}

#[derive(Default)]
struct MemoryObject(MemoryObjects);

impl ObjectRig for MemoryObject {
    type R = MemoryObjects;
    fn reader(&self) -> &MemoryObjects {
        &self.0
    }
    async fn store(&self, key: &str, bytes: Vec<u8>) -> String {
        let uri = format!("s3://memory/{key}");
        self.0.0.lock().unwrap().insert(uri.clone(), bytes);
        uri
    }
}

struct S3Object {
    clients: AwsClients,
    reader: S3Objects,
    bucket: String,
}

impl S3Object {
    async fn new() -> S3Object {
        let clients = clients().await;
        let bucket = new_bucket(&clients, "contract-objects").await;
        S3Object {
            reader: S3Objects::new(clients.s3.clone()),
            clients,
            bucket,
        }
    }
}

impl ObjectRig for S3Object {
    type R = S3Objects;
    fn reader(&self) -> &S3Objects {
        &self.reader
    }
    async fn store(&self, key: &str, bytes: Vec<u8>) -> String {
        put_object(&self.clients, &self.bucket, key, bytes).await;
        format!("s3://{}/{key}", self.bucket)
    }
}

// ---------------------------------------------------------------------------------------------

mod memory {
    use super::*;

    #[tokio::test]
    async fn publisher_delivers_each_entry_once() {
        // Scenario: a batch of ten published once each, with body and attributes, in memory.
        super::publisher_delivers_each_entry_once(&MemoryPublish::new()).await;
    }

    #[tokio::test]
    async fn publisher_reports_a_refused_entry_by_index() {
        // Scenario: a refused entry comes back by index, the others published, in memory.
        super::publisher_reports_a_refused_entry_by_index(&MemoryPublish::new()).await;
    }

    #[tokio::test]
    async fn publisher_refuses_whole_calls_permanently() {
        // Scenario: eleven entries and a missing topic fail permanently, in memory.
        super::publisher_refuses_whole_calls_permanently(&MemoryPublish::new()).await;
    }

    #[tokio::test]
    async fn bridge_letters_arrive_with_their_context() {
        // Scenario: bridge dead letters as body and context attributes, in memory.
        super::bridge_letters_arrive_with_their_context(&MemoryBridgeDlq::default()).await;
    }

    #[tokio::test]
    async fn bridge_letters_to_a_missing_queue_fail_permanently() {
        // Scenario: a missing bridge DLQ is permanent, in memory.
        super::bridge_letters_to_a_missing_queue_fail_permanently(&MemoryBridgeDlq::default())
            .await;
    }

    #[tokio::test]
    async fn claims_read_back_what_was_put() {
        // Scenario: put, read back, overwrite, the URI's form, in memory.
        super::claims_read_back_what_was_put(&MemoryClaim::default()).await;
    }

    #[tokio::test]
    async fn sink_keeps_the_message_and_adds_the_context() {
        // Scenario: a domain dead letter with ten attributes, in memory.
        super::sink_keeps_the_message_and_adds_the_context(&MemorySink::default()).await;
    }

    #[tokio::test]
    async fn sink_packs_more_than_ten_attributes() {
        // Scenario: twelve attributes, the originals packed, in memory.
        super::sink_packs_more_than_ten_attributes(&MemorySink::default()).await;
    }

    #[tokio::test]
    async fn payloads_return_the_stored_event() {
        // Scenario: a claim-checked event fetched; missing and non-S3 URIs, in memory.
        super::payloads_return_the_stored_event(&MemoryPayload::default()).await;
    }

    #[tokio::test]
    async fn queues_hand_out_what_was_sent_and_hide_it() {
        // Scenario: send, receive, hidden, in memory.
        super::queues_hand_out_what_was_sent_and_hide_it(&MemoryQueueRig::new()).await;
    }

    #[tokio::test]
    async fn queues_release_and_delete() {
        // Scenario: release, delete, delete again, an unknown receipt, in memory.
        super::queues_release_and_delete(&MemoryQueueRig::new()).await;
    }

    #[tokio::test]
    async fn queues_hand_out_at_most_ten_a_receive() {
        // Scenario: twelve waiting, twenty asked for, in memory.
        super::queues_hand_out_at_most_ten_a_receive(&MemoryQueueRig::new()).await;
    }

    #[tokio::test]
    async fn objects_read_back_what_was_stored() {
        // Scenario: an object read back; missing and non-S3 URIs, in memory.
        super::objects_read_back_what_was_stored(&MemoryObject::default()).await;
    }
}

mod aws {
    use super::*;

    #[tokio::test]
    async fn publisher_delivers_each_entry_once() {
        // Scenario: a batch of ten published once each, with body and attributes, on SNS.
        super::publisher_delivers_each_entry_once(&SnsPublish::new().await).await;
    }

    #[tokio::test]
    async fn publisher_reports_a_refused_entry_by_index() {
        // Scenario: a refused entry comes back by index, the others published, on SNS.
        super::publisher_reports_a_refused_entry_by_index(&SnsPublish::new().await).await;
    }

    #[tokio::test]
    async fn publisher_refuses_whole_calls_permanently() {
        // Scenario: eleven entries and a missing topic fail permanently, on SNS.
        super::publisher_refuses_whole_calls_permanently(&SnsPublish::new().await).await;
    }

    #[tokio::test]
    async fn bridge_letters_arrive_with_their_context() {
        // Scenario: bridge dead letters as body and context attributes, on SQS.
        super::bridge_letters_arrive_with_their_context(&SqsBridgeDlq::new().await).await;
    }

    #[tokio::test]
    async fn bridge_letters_to_a_missing_queue_fail_permanently() {
        // Scenario: a missing bridge DLQ is permanent, on SQS.
        super::bridge_letters_to_a_missing_queue_fail_permanently(&SqsBridgeDlq::new().await).await;
    }

    #[tokio::test]
    async fn claims_read_back_what_was_put() {
        // Scenario: put, read back, overwrite, the URI's form, on S3.
        super::claims_read_back_what_was_put(&S3Claim::new().await).await;
    }

    #[tokio::test]
    async fn sink_keeps_the_message_and_adds_the_context() {
        // Scenario: a domain dead letter with ten attributes, on SQS.
        super::sink_keeps_the_message_and_adds_the_context(&SqsSink::new().await).await;
    }

    #[tokio::test]
    async fn sink_packs_more_than_ten_attributes() {
        // Scenario: twelve attributes, the originals packed, on SQS.
        super::sink_packs_more_than_ten_attributes(&SqsSink::new().await).await;
    }

    #[tokio::test]
    async fn payloads_return_the_stored_event() {
        // Scenario: a claim-checked event fetched; missing and non-S3 URIs, on S3.
        super::payloads_return_the_stored_event(&S3Payload::new().await).await;
    }

    #[tokio::test]
    async fn queues_hand_out_what_was_sent_and_hide_it() {
        // Scenario: send, receive, hidden, on SQS.
        super::queues_hand_out_what_was_sent_and_hide_it(&SqsQueueRig::new().await).await;
    }

    #[tokio::test]
    async fn queues_release_and_delete() {
        // Scenario: release, delete, delete again, an unknown receipt, on SQS.
        super::queues_release_and_delete(&SqsQueueRig::new().await).await;
    }

    #[tokio::test]
    async fn queues_hand_out_at_most_ten_a_receive() {
        // Scenario: twelve waiting, twenty asked for, on SQS.
        super::queues_hand_out_at_most_ten_a_receive(&SqsQueueRig::new().await).await;
    }

    #[tokio::test]
    async fn objects_read_back_what_was_stored() {
        // Scenario: an object read back; missing and non-S3 URIs, on S3.
        super::objects_read_back_what_was_stored(&S3Object::new().await).await;
    }
}
