//! The consolidated change stream on the local stack: the table's DynamoDB stream (DynamoDB
//! Local) read by the local stream event source mapping configured from `template.yaml`, the
//! change-stream function, and the consolidated SNS topic (moto) with a domain's queue on it.
//!
//! - every applied change is published once, the record as it stands; stale and duplicate
//!   changes, index rows and chunks never are;
//! - a poison item is isolated by bisection and only its coordinates reach the DLQ;
//! - a batch discarded after its retries is published by the redrive, from the stream again.

use change_stream::handler::State;
use hub_aws::AwsClients;
use hub_aws::consolidated::SnsConsolidated;
use hub_aws::dynamo_store::DynamoStore;
use hub_integration_tests::*;
use hub_local::{
    LocalFunction, StreamEsmConfig, StreamEventSourceMapping, StreamStats, handler_fn,
};
use hub_model::consolidated::ConsolidatedMessage;
use hub_model::{ChangeEvent, Entity, Op};
use hub_store::testing::{event, now};
use hub_store::{Applied, EntityStore, plan};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

struct Rig {
    clients: AwsClients,
    ctx: hub_template::Context<'static>,
    store: DynamoStore,
    topic: String,
    dlq: String,
    stack: String,
}

async fn rig(prefix: &str) -> Rig {
    rig_with(prefix, &[]).await
}

async fn rig_with(prefix: &str, overrides: &[(&str, &str)]) -> Rig {
    let clients = clients().await;
    let stack = unique(prefix);
    let (report, ctx) = provision(&clients, project_template(), &stack, overrides).await;
    let id = |logical: &str| report.physical_id(logical).unwrap().to_string();
    Rig {
        store: DynamoStore::new(clients.dynamodb.clone(), id("HubTable")),
        topic: id("ConsolidatedTopic"),
        dlq: id("ChangeStreamDLQ"),
        clients,
        ctx,
        stack,
    }
}

impl Rig {
    /// The template's stream mapping of the change-stream function.
    fn config(&self) -> StreamEsmConfig {
        let configs = StreamEsmConfig::from_template(&self.ctx).unwrap();
        assert_eq!(configs.len(), 1, "one stream mapping in the template");
        let mut c = configs.into_iter().next().unwrap();
        assert_eq!(c.function, "ChangeStream");
        // The mapping starts where the table's stream starts: every write of this test.
        c.starting_position = hub_local::stream::StartingPosition::TrimHorizon;
        c.poll_interval = Duration::from_millis(100);
        c
    }

    fn function(&self) -> Arc<dyn LocalFunction> {
        change_stream::local::function_of(&self.ctx, "ChangeStream", &self.clients)
            .unwrap()
            .expect("ChangeStream builds the change-stream binary")
    }

    fn start(
        &self,
        config: StreamEsmConfig,
        function: Arc<dyn LocalFunction>,
    ) -> (Arc<StreamStats>, CancellationToken) {
        let esm = StreamEventSourceMapping::new(
            config,
            hub_aws::stream_records::streams_client(&self.clients),
            self.clients.sqs.clone(),
            function,
        );
        let stats = esm.stats();
        let token = CancellationToken::new();
        let t = token.clone();
        tokio::spawn(async move { esm.run(t).await.unwrap() });
        (stats, token)
    }

    /// Applies `e` as a domain function would.
    async fn apply(&self, e: &ChangeEvent) -> Applied {
        let p = plan(e, now(), Duration::from_secs(3600)).unwrap();
        self.store.apply(&p).await.unwrap()
    }
}

/// Every record the table's stream holds now (read independently of the mapping).
async fn stream_len(rig: &Rig) -> u64 {
    let arn = rig.ctx.physical("HubTable").unwrap().attributes["StreamArn"]
        .as_str()
        .unwrap()
        .to_string();
    stream_records(&rig.clients, &arn).await
}

/// Waits until the mapping has handled `n` stream records.
async fn handled(stats: &StreamStats, n: u64) {
    eventually(
        &format!("{n} stream records handled"),
        Duration::from_secs(60),
        Duration::from_millis(100),
        || async {
            let s = stats.snapshot();
            (s.succeeded + s.discarded_records >= n).then_some(())
        },
    )
    .await;
}

fn messages(
    taken: &[(String, std::collections::BTreeMap<String, String>)],
) -> Vec<ConsolidatedMessage> {
    taken
        .iter()
        .map(|(b, _)| serde_json::from_str(b).expect("a consolidated message"))
        .collect()
}

#[tokio::test]
async fn every_applied_change_is_published_once_as_the_record_now_stands() {
    // Scenario: a customer written at v1 and v3, then v2 (stale) and v3 again (duplicate); a
    // supplier; an order with its material index rows; a material and a customer deleted.
    // Exactly six messages: one per applied change, with the record, the version it replaced,
    // the event's ids and the routing attributes; no stale, duplicate or index-row message.
    let rig = rig("stream").await;
    let audit = subscribed_queue(
        &rig.clients,
        &rig.topic,
        &format!("{}-domain", rig.stack),
        None,
    )
    .await;
    let (stats, stop) = rig.start(rig.config(), rig.function());
    let c = |seq, op| event(Entity::Customer, "0000000001", seq, op, seq as u8);
    let changes = vec![
        c(1, Op::Upsert),
        c(9, Op::Upsert),
        c(5, Op::Upsert),
        c(9, Op::Upsert),
        event(Entity::Supplier, "0000300001", 2, Op::Upsert, 1),
        event(Entity::SalesOrder, "0000004711", 3, Op::Upsert, 2),
        event(Entity::Material, "MAT-1", 4, Op::Delete, 0),
        event(Entity::Customer, "0000000002", 6, Op::Delete, 0),
    ];
    let mut applied = Vec::new();
    for e in &changes {
        if rig.apply(e).await == Applied::Written {
            applied.push(e.clone());
        }
    }
    assert_eq!(
        applied.len(),
        6,
        "v5 is stale and the second v9 a duplicate"
    );
    handled(&stats, stream_len(&rig).await).await;
    let taken = take_exactly(&rig.clients, &audit, applied.len(), Duration::from_secs(30)).await;
    let got = messages(&taken);
    for (e, (m, (_, attributes))) in applied.iter().zip(got.iter().zip(&taken)) {
        assert_eq!(
            (m.entity, m.key.as_str(), m.version),
            (e.entity, e.key.as_str(), e.version),
            "in the table's order"
        );
        assert_eq!(m.op, e.op);
        assert_eq!(m.event_id, e.event_id);
        assert_eq!(m.correlation_id, e.correlation_id);
        assert_eq!(m.schema, e.schema);
        assert_eq!(
            m.record().unwrap(),
            e.data,
            "{} {}: the record as written",
            e.entity,
            e.key
        );
        assert_eq!(
            attributes.get("entity").map(String::as_str),
            Some(e.entity.as_str())
        );
        assert_eq!(
            attributes.get("op").map(String::as_str),
            Some(e.op.as_str())
        );
        assert_eq!(attributes.get("schema"), Some(&e.schema));
        assert_eq!(
            attributes.get("source_system"),
            Some(&e.routing().source_system)
        );
    }
    assert_eq!(got[0].previous_version, None);
    assert_eq!(
        got[1].previous_version,
        Some(changes[0].version),
        "v9 replaced v1"
    );
    let order = &got[3];
    let hub_model::Record::SalesOrder(o) = order.record().unwrap().unwrap() else {
        panic!("an order");
    };
    assert!(
        !o.items.is_empty(),
        "the order is one message with its items"
    );
    let s = stats.snapshot();
    assert_eq!((s.discarded_records, s.function_errors), (0, 0));
    stop.cancel();
}

#[tokio::test]
async fn a_poison_item_is_isolated_by_bisection_and_only_its_coordinates_reach_the_dlq() {
    // Scenario: between valid customers, an item that is not a customer (a hand edit: the name
    // a number). The mapping (bisect on, two retries here) halves the batch until the item is
    // alone, discards it after its retries: the DLQ gets one message with its coordinates and
    // a batch size of 1; the three valid customers are published; the redrive's dry run reads
    // the record again and says why it still fails.
    let rig = rig("poison").await;
    let audit = subscribed_queue(
        &rig.clients,
        &rig.topic,
        &format!("{}-domain", rig.stack),
        None,
    )
    .await;
    let mut config = rig.config();
    assert!(
        config.bisect && config.report_batch_item_failures,
        "the template's mapping bisects"
    );
    assert!(
        config.on_failure.is_some(),
        "the template's mapping has an on-failure destination"
    );
    config.maximum_retry_attempts = Some(2);
    config.batching_window = Duration::from_secs(2);
    for (i, key) in ["0000000011", "0000000012"].iter().enumerate() {
        rig.apply(&event(Entity::Customer, key, i as u64 + 1, Op::Upsert, 1))
            .await;
    }
    let mut poison = hub_aws::dynamo_store::to_item(
        &plan(
            &event(Entity::Customer, "0000000013", 1, Op::Upsert, 1),
            now(),
            Duration::from_secs(60),
        )
        .unwrap()
        .main,
    );
    poison.insert(
        "name".into(),
        aws_sdk_dynamodb::types::AttributeValue::N("42".into()),
    );
    rig.clients
        .dynamodb
        .put_item()
        .table_name(rig.ctx.physical("HubTable").unwrap().reference.clone())
        .set_item(Some(poison))
        .send()
        .await
        .unwrap();
    rig.apply(&event(Entity::Customer, "0000000014", 4, Op::Upsert, 1))
        .await;
    let (stats, stop) = rig.start(config, rig.function());
    handled(&stats, stream_len(&rig).await).await;
    let published = messages(&take_exactly(&rig.clients, &audit, 3, Duration::from_secs(30)).await);
    let keys: Vec<&str> = published.iter().map(|m| m.key.as_str()).collect();
    assert_eq!(keys, vec!["0000000011", "0000000012", "0000000014"]);
    let s = stats.snapshot();
    assert!(s.bisections >= 1, "the batch was halved: {s:?}");
    assert_eq!((s.discarded_batches, s.discarded_records), (1, 1));
    let dead = take_exactly(&rig.clients, &rig.dlq, 1, Duration::from_secs(10)).await;
    let body: serde_json::Value = serde_json::from_str(&dead[0].0).unwrap();
    let info = &body["DDBStreamBatchInfo"];
    assert_eq!(info["batchSize"], 1);
    assert_eq!(info["startSequenceNumber"], info["endSequenceNumber"]);
    assert_eq!(
        body["requestContext"]["condition"],
        "RetryAttemptsExhausted"
    );
    stop.cancel();
    // Back in the DLQ, the redrive's dry run reads it from the stream and reports the fault.
    rig.clients
        .sqs
        .send_message()
        .queue_url(&rig.dlq)
        .message_body(&dead[0].0)
        .send()
        .await
        .unwrap();
    let state = redrive_state(&rig, &rig.topic);
    let report = change_stream::redrive::redrive(
        &change_stream::redrive::Request::default(),
        &rig.clients.sqs,
        &rig.dlq,
        &hub_aws::stream_records::streams_client(&rig.clients),
        &rig.clients.region(),
        &state,
    )
    .await
    .unwrap();
    assert_eq!(
        (report.messages, report.records, report.redriven),
        (1, 1, 0)
    );
    assert!(
        report.failed[0].reason.contains("not a customer record"),
        "{:?}",
        report.failed
    );
}

fn redrive_state(rig: &Rig, topic: &str) -> State<SnsConsolidated, DynamoStore> {
    State {
        sink: SnsConsolidated::new(
            rig.clients.sns.clone(),
            rig.clients.s3.clone(),
            topic,
            false,
            rig.ctx
                .physical("ClaimCheckBucket")
                .unwrap()
                .reference
                .clone(),
        ),
        store: rig.store.clone(),
        emit_metrics: false,
    }
}

#[tokio::test]
async fn a_batch_discarded_after_its_retries_is_published_by_the_redrive() {
    // Scenario: the function publishes to a topic that does not exist (a misconfiguration), so
    // the batch of four changes fails and is discarded at once (no retries here): its
    // coordinates go to the DLQ. The redrive's dry run reports four changes to publish and
    // moves nothing; the redrive reads them from the stream again, publishes all four to the
    // right topic and deletes the DLQ message.
    let rig = rig("redrive").await;
    let audit = subscribed_queue(
        &rig.clients,
        &rig.topic,
        &format!("{}-domain", rig.stack),
        None,
    )
    .await;
    let mut config = rig.config();
    config.maximum_retry_attempts = Some(0);
    config.bisect = false;
    config.batching_window = Duration::from_secs(2);
    for i in 0..4u64 {
        rig.apply(&event(
            Entity::Customer,
            &format!("00000001{i:02}"),
            i + 1,
            Op::Upsert,
            1,
        ))
        .await;
    }
    let broken = Arc::new(redrive_state(&rig, &format!("{}-missing", rig.topic)));
    let function = handler_fn(move |e| {
        let state = broken.clone();
        async move { change_stream::handler::handle(e, &state).await }
    });
    let (stats, stop) = rig.start(config, function);
    handled(&stats, stream_len(&rig).await).await;
    stop.cancel();
    assert_eq!(stats.discarded_records.load(Ordering::Relaxed), 4);
    let state = redrive_state(&rig, &rig.topic);
    let streams = hub_aws::stream_records::streams_client(&rig.clients);
    let dry = change_stream::redrive::redrive(
        &Default::default(),
        &rig.clients.sqs,
        &rig.dlq,
        &streams,
        &rig.clients.region(),
        &state,
    )
    .await
    .unwrap();
    assert_eq!(
        (dry.messages, dry.records, dry.published, dry.redriven),
        (1, 4, 4, 0)
    );
    assert!(
        receive(&rig.clients, &audit).await.is_empty(),
        "a dry run publishes nothing"
    );
    let request = change_stream::redrive::Request {
        dry_run: false,
        max_messages: 10,
    };
    let report = change_stream::redrive::redrive(
        &request,
        &rig.clients.sqs,
        &rig.dlq,
        &streams,
        &rig.clients.region(),
        &state,
    )
    .await
    .unwrap();
    assert_eq!(
        (report.records, report.published, report.redriven),
        (4, 4, 1),
        "{report:?}"
    );
    let published = messages(&take_exactly(&rig.clients, &audit, 4, Duration::from_secs(30)).await);
    assert!(
        published
            .iter()
            .all(|m| m.entity == Entity::Customer && m.previous_version.is_none())
    );
    assert!(
        receive(&rig.clients, &rig.dlq).await.is_empty(),
        "the DLQ message is deleted"
    );
}

/// The table's records of `entities` as consolidated messages (what a copy must hold).
async fn table_state(rig: &Rig, entities: &[Entity]) -> Vec<ConsolidatedMessage> {
    let table = rig.ctx.physical("HubTable").unwrap().reference.clone();
    let mut out = Vec::new();
    let mut start = None;
    loop {
        let page = rig
            .clients
            .dynamodb
            .scan()
            .table_name(&table)
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .unwrap();
        for raw in page.items() {
            let item = hub_aws::dynamo_store::from_item(raw).unwrap();
            if !hub_store::consolidated::record_entity(&item).is_some_and(|e| entities.contains(&e))
            {
                continue;
            }
            let rows = rig.store.query(&item.key.pk).await.unwrap();
            match hub_store::consolidated::outcome(&item, None, &rows).unwrap() {
                hub_store::consolidated::Outcome::Publish(m) => out.push(*m),
                other => panic!("{other:?}"),
            }
        }
        match page.last_evaluated_key() {
            Some(k) if !k.is_empty() => start = Some(k.clone()),
            _ => break,
        }
    }
    out.sort_by(|a, b| (a.entity, &a.key).cmp(&(b.entity, &b.key)));
    out
}

/// `n` changes of `keys` keys per entity, numbered from `from`, in a shuffled order (so that
/// some arrive after a newer one and are stale), a tenth of them deletes.
fn changes(from: u64, n: u64, keys: u64, seed: u64) -> Vec<ChangeEvent> {
    let entities = [Entity::Customer, Entity::Supplier, Entity::SalesOrder];
    let mut out: Vec<ChangeEvent> = (from..from + n)
        .map(|i| {
            let entity = entities[(i % 3) as usize];
            let key = format!("{:010}", 500_000 + (i / 3) % keys);
            let op = if i % 10 == 7 { Op::Delete } else { Op::Upsert };
            event(entity, &key, i, op, (i % 7) as u8)
        })
        .collect();
    hub_store::testing::shuffle(&mut out, seed);
    out
}

/// Applies `events` eight at a time.
async fn apply_all(rig: &Rig, events: &[ChangeEvent]) {
    for chunk in events.chunks(8) {
        futures::future::join_all(chunk.iter().map(|e| rig.apply(e))).await;
    }
}

#[tokio::test]
async fn a_new_subscriber_gets_the_table_exactly_from_a_backfill_and_live_changes() {
    // Scenario: 1,000 changes of customers, suppliers and orders are applied (in a shuffled
    // order, some stale, a tenth deletes). A new domain subscribes its queue to the consolidated
    // topic, then asks for a backfill of the three entities while 200 more changes arrive. Its
    // consumer keeps the newer version of what it receives (hub-consumer). Afterwards its copy
    // equals the table, record by record: the same keys, versions, deletes and data.
    let rig = rig("backfill").await;
    let (stats, stop) = rig.start(rig.config(), rig.function());
    apply_all(&rig, &changes(0, 1000, 60, 7)).await;
    let queue = subscribed_queue(
        &rig.clients,
        &rig.topic,
        &format!("{}-newdomain", rig.stack),
        None,
    )
    .await;
    let live = changes(1000, 200, 70, 11);
    let table = rig.ctx.physical("HubTable").unwrap().reference.clone();
    let bucket = rig
        .ctx
        .physical("ClaimCheckBucket")
        .unwrap()
        .reference
        .clone();
    let fill = change_stream::backfill::Backfill {
        dynamodb: &rig.clients.dynamodb,
        sqs: &rig.clients.sqs,
        s3: &rig.clients.s3,
        table: &table,
        bucket: &bucket,
        store: &rig.store,
    };
    let backfills = async {
        let mut reports = Vec::new();
        for entity in ["customer", "supplier", "sales_order"] {
            let request = change_stream::backfill::Request {
                entity: entity.into(),
                keys: None,
                changed_since: None,
                to_queue: queue.clone(),
                dry_run: false,
                segments: Some(3),
                max_read_units_per_second: Some(1000.0),
                resume: None,
            };
            reports.push(fill.run(&request, None, &|_, _| {}, &|_| {}).await.unwrap());
        }
        reports
    };
    let ((), reports) = tokio::join!(apply_all(&rig, &live), backfills);
    for r in &reports {
        assert!(r.complete && r.failed == 0 && r.sent > 0, "{r:?}");
    }
    handled(&stats, stream_len(&rig).await).await;
    stop.cancel();
    let mut replica = hub_consumer::Replica::default();
    let mut received = 0;
    let mut replayed = 0;
    loop {
        let batch = receive(&rig.clients, &queue).await;
        if batch.is_empty() {
            break;
        }
        for m in batch {
            let attributes = m.message_attributes.clone().unwrap_or_default();
            let message = hub_consumer::parse(m.body.as_deref().unwrap()).unwrap();
            assert_eq!(
                attributes
                    .get("replay")
                    .and_then(|a| a.string_value.as_deref())
                    == Some("true"),
                message.replay
            );
            replayed += usize::from(message.replay);
            received += 1;
            hub_consumer::upsert(&mut replica, message).unwrap();
            rig.clients
                .sqs
                .delete_message()
                .queue_url(&queue)
                .set_receipt_handle(m.receipt_handle)
                .send()
                .await
                .unwrap();
        }
    }
    let expected = table_state(
        &rig,
        &[Entity::Customer, Entity::Supplier, Entity::SalesOrder],
    )
    .await;
    let got: Vec<&ConsolidatedMessage> = replica.iter().collect();
    assert_eq!(
        got.len(),
        expected.len(),
        "records in the copy and in the table ({received} messages, {replayed} backfilled)"
    );
    for (g, e) in got.iter().zip(&expected) {
        assert_eq!(
            (g.entity, &g.key, g.version, g.op),
            (e.entity, &e.key, e.version, e.op)
        );
        assert_eq!(g.data, e.data, "{} {}", e.entity, e.key);
    }
    assert_eq!(replayed as u64, reports.iter().map(|r| r.sent).sum::<u64>());
}

#[tokio::test]
async fn a_backfill_resumes_from_its_checkpoint() {
    // Scenario: a backfill is killed after its first checkpoint (as `hubctl backfill` keeps
    // it in a file). Run again from it, it goes on: it sends fewer records than the whole,
    // reports the backfill complete, and the two runs together sent every record.
    let rig = rig("resume").await;
    apply_all(&rig, &changes(0, 600, 200, 3)).await;
    let queue = subscribed_queue(&rig.clients, &rig.topic, &format!("{}-q", rig.stack), None).await;
    let table = rig.ctx.physical("HubTable").unwrap().reference.clone();
    let bucket = rig
        .ctx
        .physical("ClaimCheckBucket")
        .unwrap()
        .reference
        .clone();
    let fill = change_stream::backfill::Backfill {
        dynamodb: &rig.clients.dynamodb,
        sqs: &rig.clients.sqs,
        s3: &rig.clients.s3,
        table: &table,
        bucket: &bucket,
        store: &rig.store,
    };
    let mut request = change_stream::backfill::Request {
        entity: "customer".into(),
        keys: None,
        changed_since: None,
        to_queue: queue.clone(),
        dry_run: false,
        segments: Some(1),
        max_read_units_per_second: Some(1000.0),
        resume: None,
    };
    let saved: std::sync::Mutex<Option<change_stream::backfill::Checkpoint>> = Default::default();
    let first_page = tokio::sync::Notify::new();
    let keep = |c: &change_stream::backfill::Checkpoint| {
        *saved.lock().unwrap() = Some(c.clone());
        first_page.notify_one();
    };
    let quiet = |_: u64, _: u64| {};
    tokio::select! {
        _ = fill.run(&request, None, &quiet, &keep) => panic!("the backfill ended before it was killed"),
        _ = first_page.notified() => {}
    }
    let checkpoint = saved.lock().unwrap().clone().unwrap();
    assert!(
        matches!(
            checkpoint.segments[0],
            change_stream::backfill::Segment::After { .. }
        ),
        "{checkpoint:?}"
    );
    request.resume = Some(checkpoint);
    let done = fill.run(&request, None, &|_, _| {}, &|_| {}).await.unwrap();
    assert!(done.complete, "{done:?}");
    let expected = table_state(&rig, &[Entity::Customer]).await;
    assert!(
        (done.sent as usize) < expected.len(),
        "resumed, not restarted: {done:?}"
    );
    let mut keys = Vec::new();
    loop {
        let batch = receive(&rig.clients, &queue).await;
        if batch.is_empty() {
            break;
        }
        for m in batch {
            keys.push(hub_consumer::parse(m.body.as_deref().unwrap()).unwrap().key);
            rig.clients
                .sqs
                .delete_message()
                .queue_url(&queue)
                .set_receipt_handle(m.receipt_handle)
                .send()
                .await
                .unwrap();
        }
    }
    keys.sort();
    keys.dedup();
    let mut want: Vec<String> = expected.into_iter().map(|m| m.key).collect();
    want.sort();
    assert_eq!(keys, want, "every record sent by one of the two runs");
}

#[tokio::test]
async fn a_fifo_consolidated_topic_keeps_each_records_changes_in_order() {
    // Scenario: with `ConsolidatedFifo=true` the topic is FIFO; a domain's FIFO queue gets each
    // record's changes in the table's order, grouped by `entity:key`.
    let rig = rig_with("fifo", &[("ConsolidatedFifo", "true")]).await;
    assert!(rig.topic.ends_with("-consolidated.fifo"), "{}", rig.topic);
    let url = rig
        .clients
        .sqs
        .create_queue()
        .queue_name(format!("{}-domain.fifo", rig.stack))
        .attributes(aws_sdk_sqs::types::QueueAttributeName::FifoQueue, "true")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let arn = queue_arn(&rig.clients, &url).await;
    rig.clients
        .sns
        .subscribe()
        .topic_arn(&rig.topic)
        .protocol("sqs")
        .endpoint(arn)
        .attributes("RawMessageDelivery", "true")
        .send()
        .await
        .unwrap();
    let (stats, stop) = rig.start(rig.config(), rig.function());
    for seq in 1..=4u64 {
        for key in ["0000000021", "0000000022"] {
            rig.apply(&event(Entity::Customer, key, seq, Op::Upsert, seq as u8))
                .await;
        }
    }
    handled(&stats, stream_len(&rig).await).await;
    stop.cancel();
    let mut seen: std::collections::BTreeMap<String, Vec<u64>> = Default::default();
    while seen.values().map(Vec::len).sum::<usize>() < 8 {
        let batch = rig
            .clients
            .sqs
            .receive_message()
            .queue_url(&url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .message_system_attribute_names(
                aws_sdk_sqs::types::MessageSystemAttributeName::MessageGroupId,
            )
            .send()
            .await
            .unwrap()
            .messages
            .unwrap_or_default();
        assert!(!batch.is_empty(), "8 messages expected, got {seen:?}");
        for m in batch {
            let msg: ConsolidatedMessage =
                serde_json::from_str(m.body.as_deref().unwrap()).unwrap();
            let group = m
                .attributes
                .as_ref()
                .and_then(|a| {
                    a.get(&aws_sdk_sqs::types::MessageSystemAttributeName::MessageGroupId)
                })
                .cloned();
            assert_eq!(group, Some(format!("customer:{}", msg.key)));
            seen.entry(msg.key.clone())
                .or_default()
                .push(msg.version.seq);
            rig.clients
                .sqs
                .delete_message()
                .queue_url(&url)
                .set_receipt_handle(m.receipt_handle)
                .send()
                .await
                .unwrap();
        }
    }
    for (key, versions) in &seen {
        assert_eq!(versions, &vec![1, 2, 3, 4], "{key}: in order");
    }
}

#[tokio::test]
async fn an_order_over_256_kib_is_one_claim_checked_message_with_all_its_items() {
    // Scenario: an order of 3,000 items (over one item's size: its items in ITEMS# chunks, and
    // over SNS's 256 KiB) is published once, as a claim check: the attribute `claim_check = s3`,
    // and the object holds the whole message, its record equal to the change's with every item.
    let rig = rig("large").await;
    let audit = subscribed_queue(
        &rig.clients,
        &rig.topic,
        &format!("{}-domain", rig.stack),
        None,
    )
    .await;
    let (stats, stop) = rig.start(rig.config(), rig.function());
    let mut e = event(Entity::SalesOrder, "0000004712", 5, Op::Upsert, 1);
    if let Some(hub_model::Record::SalesOrder(o)) = &mut e.data {
        let item = o.items[0].clone();
        o.items = (0..3000)
            .map(|i| hub_model::records::SalesOrderItem {
                item: format!("{i:06}").into(),
                description: Some("x".repeat(200).into()),
                ..item.clone()
            })
            .collect();
    }
    assert_eq!(rig.apply(&e).await, Applied::Written);
    handled(&stats, stream_len(&rig).await).await;
    stop.cancel();
    let taken = take_exactly(&rig.clients, &audit, 1, Duration::from_secs(30)).await;
    let (body, attributes) = &taken[0];
    assert_eq!(
        attributes.get("claim_check").map(String::as_str),
        Some("s3")
    );
    assert_eq!(
        attributes.get("entity").map(String::as_str),
        Some("sales_order")
    );
    let pointer = hub_model::claim_check::ClaimCheck::from_body(body).expect("a claim check");
    let (bucket, key) = pointer.s3_location().unwrap();
    let object = rig
        .clients
        .s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap();
    let bytes = object.body.collect().await.unwrap().into_bytes();
    assert_eq!(bytes.len() as u64, pointer.bytes);
    let m: ConsolidatedMessage = serde_json::from_slice(&bytes).unwrap();
    assert_eq!((m.key.as_str(), m.version), ("0000004712", e.version));
    assert_eq!(m.record().unwrap(), e.data, "every item, in order");
}

#[tokio::test]
async fn hubctl_backfill_sends_after_a_dry_run_and_leaves_no_checkpoint() {
    // Scenario: the guide's order, `hubctl backfill` as a dry run then with --execute: the dry
    // run sends nothing and keeps no checkpoint, so the run that sends starts from the
    // beginning and sends every customer; its report is complete, its checkpoint file gone.
    let rig = rig("cli").await;
    apply_all(&rig, &changes(0, 90, 30, 5)).await;
    let queue = subscribed_queue(&rig.clients, &rig.topic, &format!("{}-q", rig.stack), None).await;
    let backfill = |execute: bool| {
        let mut cmd = std::process::Command::new(workspace_binary("hubctl"));
        cmd.args([
            "backfill",
            "--entity",
            "customer",
            "--to-queue",
            &queue,
            "--stack-name",
            &rig.stack,
        ])
        .current_dir(repo_root());
        if execute {
            cmd.arg("--execute");
        }
        let out = cmd.output().expect("hubctl runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("a JSON report")
    };
    let expected = table_state(&rig, &[Entity::Customer]).await.len() as u64;
    let dry = backfill(false);
    assert_eq!(
        (dry["dry_run"].as_bool(), dry["sent"].as_u64()),
        (Some(true), Some(expected))
    );
    assert!(
        receive(&rig.clients, &queue).await.is_empty(),
        "a dry run sends nothing"
    );
    let run = backfill(true);
    assert_eq!(
        (run["complete"].as_bool(), run["sent"].as_u64()),
        (Some(true), Some(expected)),
        "{run}"
    );
    take_exactly(
        &rig.clients,
        &queue,
        expected as usize,
        Duration::from_secs(30),
    )
    .await;
    let left: Vec<_> = std::fs::read_dir(repo_root().join(".local/run"))
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(&format!("backfill-{}-", rig.stack))
        })
        .collect();
    assert!(left.is_empty(), "no checkpoint left: {left:?}");
}
