//! DLQ redrive on the local stack (moto, real SDK clients), configured from `template.yaml`'s
//! redrive functions: dry run, filters, loop guard, a destination cut mid-way, and the bridge
//! DLQ recovered once the cause is fixed.

use aws_sdk_sqs::types::{Message as SqsMessage, MessageAttributeValue};
use hub_aws::AwsClients;
use hub_aws::redrive::{SqsDlq, SqsSendQueue};
use hub_aws::sqs_dlq::SqsDeadLetters;
use hub_bridge::BridgeDeadLetter;
use hub_core::ErrorClass;
use hub_core::config::Env;
use hub_integration_tests::{
    Proxy, clients, depth, drain_queue, project_template, provision, receive, subscribed_queue,
    unique,
};
use hub_redrive::{QueueDestination, RedriveRequest, Report, RunLimits, StopReason};
use hub_sync::{DeadLetter, DeadLetterSink};
use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

/// A provisioned stack and the environments of its redrive functions.
struct Stack {
    clients: AwsClients,
    ids: HashMap<String, String>,
    env: HashMap<String, Vec<(String, String)>>,
}

impl Stack {
    async fn new(name: &str) -> Stack {
        let clients = clients().await;
        let (report, ctx) = provision(&clients, project_template(), &unique(name), &[]).await;
        let ids = report
            .resources
            .iter()
            .filter_map(|r| Some((r.logical_id.clone(), r.physical_id.clone()?)))
            .collect();
        let env = [
            "BridgeRedrive",
            "CustomersRedrive",
            "MaterialsRedrive",
            "SalesOrdersRedrive",
        ]
        .into_iter()
        .map(|f| (f.to_string(), ctx.function_environment(f).unwrap()))
        .collect();
        Stack { clients, ids, env }
    }

    fn id(&self, logical: &str) -> String {
        self.ids[logical].clone()
    }

    /// The redrive function `function` as deployed, with `extra` variables over its own.
    fn redriver(&self, function: &str, extra: &[(&str, &str)]) -> dlq_redrive::Redriver {
        let mut env = self.env[function].clone();
        for (k, v) in extra {
            env.retain(|(name, _)| name != k);
            env.push((k.to_string(), v.to_string()));
        }
        let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let config = dlq_redrive::Config::from_env(&Env::from_pairs(&pairs)).unwrap();
        dlq_redrive::Redriver::new(&self.clients, &config)
    }

    async fn redrive(&self, function: &str, request: &RedriveRequest) -> Report {
        self.redriver(function, &[])
            .run(request, RunLimits::within(Duration::from_secs(120)), |_| {})
            .await
    }
}

fn moving() -> RedriveRequest {
    RedriveRequest {
        dry_run: false,
        ..RedriveRequest::default()
    }
}

fn event_body(entity: &str, key: &str) -> String {
    format!(r#"{{"event_id":"{entity}-{key}","entity":"{entity}","key":"{key}","op":"upsert"}}"#)
}

fn routing(entity: &str) -> HashMap<String, String> {
    [
        ("entity", entity),
        ("op", "upsert"),
        ("source_system", "S4PCLNT100"),
        ("schema", &format!("{entity}.v1")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// Dead-letters a message as a domain function does (hub-sync's letter, the SQS adapter).
async fn dead_letter(
    clients: &AwsClients,
    dlq: &str,
    body: &str,
    attributes: HashMap<String, String>,
    class: ErrorClass,
) {
    SqsDeadLetters::new(clients.sqs.clone(), dlq)
        .send(DeadLetter {
            body: body.to_string(),
            attributes,
            error_class: class,
            error_message: "rejected".into(),
            stage: "customers-sync".into(),
            failed_at: chrono::Utc::now().to_rfc3339(),
            attempts: 1,
            correlation_id: Some("corr-1".into()),
            message_id: unique("m"),
        })
        .await
        .unwrap();
}

/// Sends a message as the queue's redrive policy moves it: routing attributes only.
async fn exhausted(clients: &AwsClients, dlq: &str, body: &str, entity: &str) {
    let attrs = routing(entity)
        .into_iter()
        .map(|(k, v)| {
            (
                k,
                MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value(v)
                    .build()
                    .unwrap(),
            )
        })
        .collect();
    clients
        .sqs
        .send_message()
        .queue_url(dlq)
        .message_body(body)
        .set_message_attributes(Some(attrs))
        .send()
        .await
        .unwrap();
}

fn attr(m: &SqsMessage, name: &str) -> Option<String> {
    m.message_attributes()
        .and_then(|a| a.get(name))
        .and_then(|v| v.string_value())
        .map(str::to_string)
}

fn bodies(messages: &[SqsMessage]) -> BTreeSet<String> {
    messages
        .iter()
        .map(|m| m.body().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_changes_nothing_and_reports_by_class_and_entity() {
    // Scenario: 3 letters a domain function dead-lettered and 2 the redrive policy moved; the
    // dry run reports them by class and entity and leaves all 5 visible, the queue empty.
    let s = Stack::new("rd-dry").await;
    let dlq = s.id("CustomersDLQ");
    for k in 0..3 {
        let body = event_body("customer", &k.to_string());
        dead_letter(
            &s.clients,
            &dlq,
            &body,
            routing("customer"),
            ErrorClass::Permanent,
        )
        .await;
    }
    for k in 3..5 {
        exhausted(
            &s.clients,
            &dlq,
            &event_body("customer", &k.to_string()),
            "customer",
        )
        .await;
    }
    let report = s
        .redrive("CustomersRedrive", &RedriveRequest::default())
        .await;
    assert!(report.dry_run);
    assert_eq!(report.examined, 5);
    assert_eq!(report.groups["permanent/customer"].would_move, 3);
    assert_eq!(report.groups["transient/customer"].would_move, 2);
    assert_eq!(report.totals.moved, 0);
    assert_eq!(report.stopped, StopReason::Drained);
    assert_eq!(
        depth(&s.clients, &dlq).await,
        (5, 0),
        "visible again, none deleted"
    );
    assert_eq!(depth(&s.clients, &s.id("CustomersQueue")).await, (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_select_exactly_the_matching_messages() {
    // Scenario: keys 0..6, classes alternating: the filter (permanent, keys 2 or 4 by two runs)
    // moves exactly those, body unchanged, routing attributes restored, redrive_count 1.
    let s = Stack::new("rd-filter").await;
    let dlq = s.id("MaterialsDLQ");
    for k in 0..6 {
        let class = if k % 2 == 0 {
            ErrorClass::Permanent
        } else {
            ErrorClass::Poison
        };
        let body = event_body("material", &k.to_string());
        dead_letter(&s.clients, &dlq, &body, routing("material"), class).await;
    }
    let mut total = Report::default();
    for key in ["2", "3", "4"] {
        let request = RedriveRequest {
            error_class: vec!["permanent".into()],
            key: Some(key.into()),
            ..moving()
        };
        let r = s.redrive("MaterialsRedrive", &request).await;
        assert_eq!(r.examined, 6 - total.totals.moved);
        total.totals.moved += r.totals.moved;
    }
    assert_eq!(total.totals.moved, 2, "keys 2 and 4; 3 is poison");
    let moved = drain_queue(
        &s.clients,
        &s.id("MaterialsQueue"),
        Duration::from_secs(30),
        |m| m.len() >= 2,
    )
    .await;
    assert_eq!(
        bodies(&moved),
        BTreeSet::from([event_body("material", "2"), event_body("material", "4")])
    );
    for m in &moved {
        assert_eq!(attr(m, "entity").as_deref(), Some("material"));
        assert_eq!(attr(m, "schema").as_deref(), Some("material.v1"));
        assert_eq!(attr(m, "redrive_count").as_deref(), Some("1"));
        assert_eq!(
            attr(m, "error_class"),
            None,
            "the error context is not sent back"
        );
    }
    assert_eq!(depth(&s.clients, &dlq).await.0, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_loop_guard_holds_a_message_that_keeps_failing() {
    // Scenario: a message fails, is redriven, fails again (dead-lettered by the function with
    // the attributes it came back with), twice; with max_redrives 2 the third run holds it.
    let s = Stack::new("rd-loop").await;
    let (dlq, queue) = (s.id("CustomersDLQ"), s.id("CustomersQueue"));
    let body = event_body("customer", "7");
    dead_letter(
        &s.clients,
        &dlq,
        &body,
        routing("customer"),
        ErrorClass::Permanent,
    )
    .await;
    let request = RedriveRequest {
        max_redrives: 2,
        ..moving()
    };
    for round in 1..=2 {
        let r = s.redrive("CustomersRedrive", &request).await;
        assert_eq!(r.totals.moved, 1, "round {round}");
        let back = drain_queue(&s.clients, &queue, Duration::from_secs(30), |m| {
            !m.is_empty()
        })
        .await;
        assert_eq!(attr(&back[0], "redrive_count"), Some(round.to_string()));
        let attributes = back[0]
            .message_attributes()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.string_value().unwrap().to_string()))
            .collect();
        dead_letter(&s.clients, &dlq, &body, attributes, ErrorClass::Permanent).await;
    }
    let r = s.redrive("CustomersRedrive", &request).await;
    assert_eq!(r.totals.moved, 0);
    assert_eq!(r.groups["permanent/customer"].held_by_loop_guard, 1);
    assert_eq!(
        depth(&s.clients, &dlq).await,
        (1, 0),
        "held back in the DLQ, visible"
    );
    assert_eq!(depth(&s.clients, &queue).await, (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_destination_cut_mid_way_loses_nothing() {
    // Scenario: 12 messages redriven at 4/s to a queue reached through a proxy that is cut
    // after the first arrive: the run stops and says why; every message is in the DLQ or back
    // in its queue.
    let s = Stack::new("rd-cut").await;
    let (dlq, queue) = (s.id("SalesOrdersDLQ"), s.id("SalesOrdersQueue"));
    let all: BTreeSet<String> = (0..12)
        .map(|k| event_body("sales_order", &k.to_string()))
        .collect();
    for body in &all {
        dead_letter(
            &s.clients,
            &dlq,
            body,
            routing("sales_order"),
            ErrorClass::Permanent,
        )
        .await;
    }
    let endpoints = hub_aws::clients::LocalEndpoints::from_env();
    let proxy = Proxy::start(endpoints.sqs.trim_start_matches("http://")).await;
    let through_proxy = aws_sdk_sqs::Client::from_conf(
        aws_sdk_sqs::config::Builder::from(&s.clients.config)
            .endpoint_url(&proxy.endpoint)
            .build(),
    );
    let destination = QueueDestination::new(SqsSendQueue::new(through_proxy, &queue));
    let source = SqsDlq::new(s.clients.sqs.clone(), &dlq);
    let request = RedriveRequest {
        rate_per_second: Some(4.0),
        ..moving()
    };
    let mut limits = RunLimits::within(Duration::from_secs(120));
    limits.send_retry.base = Duration::from_millis(50);
    let run = hub_redrive::run(&request, &source, &destination, limits, |_| {});
    let cut = async {
        hub_integration_tests::eventually(
            "three messages back in the queue",
            Duration::from_secs(30),
            Duration::from_millis(100),
            || async { (depth(&s.clients, &queue).await.0 >= 3).then_some(()) },
        )
        .await;
        proxy.set_up(false);
    };
    let (report, ()) = tokio::join!(run, cut);
    assert_eq!(
        report.stopped,
        StopReason::DestinationUnavailable,
        "{report:?}"
    );
    assert!(
        report.totals.moved >= 3 && report.totals.moved < 12,
        "{report:?}"
    );
    assert!(report.totals.failed >= 1);
    let in_queue = drain_queue(&s.clients, &queue, Duration::from_secs(30), |m| {
        m.len() as u64 >= report.totals.moved
    })
    .await;
    let in_dlq = drain_queue(&s.clients, &dlq, Duration::from_secs(30), |m| {
        m.len() as u64 >= 12 - report.totals.moved
    })
    .await;
    let found: BTreeSet<String> = bodies(&in_queue).union(&bodies(&in_dlq)).cloned().collect();
    assert_eq!(found, all, "every message is in the DLQ or in its queue");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bridge_dlq_is_recovered_once_the_cause_is_fixed() {
    // Scenario: the bridge dead-letters a thin S/4 event (needs_enrichment) and a garbage record.
    // A redrive under the same configuration fails them again (each replaced by a letter with
    // redrives 1); once thin events may be published, a redrive of needs_enrichment publishes
    // the event, which reaches the enricher's subscription through SNS (and no domain queue),
    // and leaves the garbage.
    let s = Stack::new("rd-bridge").await;
    let bridge_dlq = s.id("BridgeDLQ");
    let pairs: Vec<(&str, &str)> = s.env["BridgeRedrive"]
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let config = kafka_bridge::Config::from_env(&Env::from_pairs(&pairs)).unwrap();
    let pipeline = kafka_bridge::build(&s.clients, &config);
    let thin = hub_sap::samples::thin();
    let report = pipeline
        .process(&[
            hub_bridge::testing::record(thin.topic, 1, &thin.record.value),
            hub_bridge::testing::record("sap.idoc.orders", 2, b"<not an idoc"),
        ])
        .await;
    assert_eq!(report.dead_lettered, 2);

    let r = s.redrive("BridgeRedrive", &moving()).await;
    assert_eq!(r.totals.still_failing, 2, "{r:?}");
    assert_eq!(r.groups["needs_enrichment/sales_order"].still_failing, 1);
    let letters = drain_queue(&s.clients, &bridge_dlq, Duration::from_secs(30), |m| {
        m.len() >= 2
    })
    .await;
    for m in &letters {
        let l = BridgeDeadLetter::from_body(m.body().unwrap()).unwrap();
        assert_eq!(l.redrives, 1);
        assert_eq!(l.attempts, 2);
        // Put back for the next run.
        let attrs = l
            .attributes()
            .into_iter()
            .map(|(k, v)| {
                let a = MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value(v);
                (k.to_string(), a.build().unwrap())
            })
            .collect();
        s.clients
            .sqs
            .send_message()
            .queue_url(&bridge_dlq)
            .message_body(l.body())
            .set_message_attributes(Some(attrs))
            .send()
            .await
            .unwrap();
    }

    // Thin events reach the enricher's queue, never a domain's: a queue subscribed as the
    // enricher's is (filter enrichment = required) stands for it on this stack without an S/4.
    let thin_queue = subscribed_queue(
        &s.clients,
        &s.id("ChangesTopic"),
        &unique("rd-thin"),
        Some(r#"{"enrichment": ["required"]}"#),
    )
    .await;
    let fixed = s.redriver("BridgeRedrive", &[("BRIDGE_THIN_EVENTS", "publish")]);
    let request = RedriveRequest {
        error_class: vec!["needs_enrichment".into()],
        ..moving()
    };
    let r = fixed
        .run(
            &request,
            RunLimits::within(Duration::from_secs(120)),
            |_| {},
        )
        .await;
    assert_eq!(r.totals.moved, 1, "{r:?}");
    assert_eq!(r.totals.skipped_by_filter, 1);
    let orders = drain_queue(&s.clients, &thin_queue, Duration::from_secs(30), |m| {
        !m.is_empty()
    })
    .await;
    assert_eq!(attr(&orders[0], "enrichment").as_deref(), Some("required"));
    assert_eq!(attr(&orders[0], "entity").as_deref(), Some("sales_order"));
    assert!(
        receive(&s.clients, &s.id("SalesOrdersQueue"))
            .await
            .is_empty(),
        "a thin event reached a domain queue"
    );
    let left = drain_queue(&s.clients, &bridge_dlq, Duration::from_secs(30), |m| {
        !m.is_empty()
    })
    .await;
    assert_eq!(left.len(), 1);
    let l = BridgeDeadLetter::from_body(left[0].body().unwrap()).unwrap();
    assert_eq!(l.kafka.offset, 2, "the garbage stays");
}
