//! The provisioner against the stand-ins: what it creates is what `template.yaml` says (for every
//! object of `infra/template/objects.yaml`), a second run changes nothing, drift is found and
//! repaired, SNS routes through the filter policies to the right queue, and a queue's redrive
//! policy moves a message to its DLQ after maxReceiveCount.

use aws_sdk_sqs::types::QueueAttributeName;
use hub_integration_tests::*;
use hub_local::provision::{Action, Provisioner, normalise};
use serde_json::{Value, json};
use std::time::Duration;

#[tokio::test]
async fn provisioned_resources_match_the_template() {
    // Scenario: every resource of template.yaml is provisioned or reported cloud-only; every
    // queue, each object's subscription and the table exist with the names, redrive policies,
    // filter policies, keys and GSIs that template.yaml states, read back through the SDK.
    let clients = clients().await;
    let template = project_template();
    let stack = unique("prov");
    // With an S/4 to read, so that the enricher's resources are created and checked too.
    let s4 = [
        ("S4ApiBaseUrl", "https://s4.example.com"),
        (
            "S4ApiSecretArn",
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:hub-s4-AbCdEf",
        ),
    ];
    let (report, ctx) = provision(&clients, template, &stack, &s4).await;
    assert!(report.drift.is_empty(), "drift: {:?}", report.drift);

    // Every resource of the template is in the report: created, or known to be cloud-only.
    let reported: Vec<&str> = report
        .resources
        .iter()
        .map(|r| r.logical_id.as_str())
        .collect();
    for r in &template.resources {
        assert!(
            reported.contains(&r.logical_id.as_str()),
            "{} not provisioned",
            r.logical_id
        );
    }
    assert_eq!(reported.len(), template.resources.len());

    // Queues: name and every attribute the template sets.
    let objects = project_objects();
    let queues: Vec<_> = template.resources_of_type("AWS::SQS::Queue").collect();
    assert_eq!(
        queues.len(),
        2 * objects.len() + 4,
        "a queue and a DLQ per object, the bridge DLQ, the change-stream DLQ, and the S/4 \
         enricher's queue and DLQ"
    );
    for q in queues {
        let props = ctx.resolve_properties(&q.logical_id).unwrap();
        let url = report.physical_id(&q.logical_id).unwrap();
        let name = props["QueueName"].as_str().unwrap();
        assert!(name.starts_with(&stack), "{name}");
        assert!(url.ends_with(&format!("/{name}")), "{url}");
        let live = clients
            .sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::All)
            .send()
            .await
            .unwrap();
        let live = live.attributes().unwrap();
        if let Some(rp) = props.get("RedrivePolicy") {
            let live_rp: Value =
                serde_json::from_str(&live[&QueueAttributeName::RedrivePolicy]).unwrap();
            assert_eq!(
                normalise(live_rp),
                normalise(rp.clone()),
                "{}",
                q.logical_id
            );
        }
        for key in ["VisibilityTimeout", "MessageRetentionPeriod"] {
            if let Some(v) = props.get(key) {
                let live_v = &live[&QueueAttributeName::from(key)];
                // A parameter's value is a string, a literal in the template a number.
                let want = v.as_str().map_or_else(|| v.to_string(), str::to_string);
                assert_eq!(live_v, &want, "{}.{key}", q.logical_id);
            }
        }
    }
    // The customers queue dead-letters into the customers DLQ after 5 receives (the default).
    let customers = ctx.physical("CustomersQueue").unwrap();
    let rp = ctx.resolve_properties("CustomersQueue").unwrap()["RedrivePolicy"].clone();
    assert_eq!(
        normalise(rp),
        json!({"deadLetterTargetArn": ctx.physical("CustomersDLQ").unwrap().attributes["Arn"], "maxReceiveCount": "5"})
    );
    assert!(customers.reference.ends_with(&format!("{stack}-customers")));

    // Subscriptions: topic, endpoint, raw delivery and filter policy.
    for o in &objects {
        let (sub, queue, entity) = (
            format!("{}Subscription", o.stem()),
            format!("{}Queue", o.stem()),
            o.entity(),
        );
        let attrs = subscription_attributes(&clients, report.physical_id(&sub).unwrap()).await;
        assert_eq!(
            attrs["TopicArn"],
            report.physical_id("ChangesTopic").unwrap()
        );
        assert_eq!(
            attrs["Endpoint"],
            ctx.physical(&queue).unwrap().attributes["Arn"]
        );
        assert_eq!(attrs["RawMessageDelivery"], "true");
        let fp: Value = serde_json::from_str(&attrs["FilterPolicy"]).unwrap();
        assert_eq!(
            fp,
            json!({"entity": [entity], "enrichment": [{"exists": false}]}),
            "{sub}"
        );
    }
    // The enricher's subscription takes the thin events, and only them.
    let attrs = subscription_attributes(
        &clients,
        report.physical_id("EnricherSubscription").unwrap(),
    )
    .await;
    let fp: Value = serde_json::from_str(&attrs["FilterPolicy"]).unwrap();
    assert_eq!(fp, json!({"enrichment": ["required"]}));
    assert_eq!(
        attrs["Endpoint"],
        ctx.physical("EnricherQueue").unwrap().attributes["Arn"]
    );

    // The table: keys, the GSI, TTL and the stream.
    let table = clients
        .dynamodb
        .describe_table()
        .table_name(report.physical_id("HubTable").unwrap())
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    assert_eq!(table.table_name(), Some(format!("{stack}-hub").as_str()));
    let keys: Vec<_> = table
        .key_schema()
        .iter()
        .map(|k| (k.attribute_name(), k.key_type().as_str()))
        .collect();
    assert_eq!(keys, vec![("pk", "HASH"), ("sk", "RANGE")]);
    let gsi = &table.global_secondary_indexes()[0];
    assert_eq!(gsi.index_name(), Some("gsi1"));
    let gkeys: Vec<_> = gsi
        .key_schema()
        .iter()
        .map(|k| (k.attribute_name(), k.key_type().as_str()))
        .collect();
    assert_eq!(gkeys, vec![("gsi1pk", "HASH"), ("gsi1sk", "RANGE")]);
    assert_eq!(
        table
            .stream_specification()
            .and_then(|s| s.stream_view_type())
            .map(|v| v.as_str()),
        Some("NEW_AND_OLD_IMAGES")
    );
    let ttl = clients
        .dynamodb
        .describe_time_to_live()
        .table_name(report.physical_id("HubTable").unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        ttl.time_to_live_description()
            .and_then(|d| d.attribute_name()),
        Some("ttl")
    );
    // Outputs resolve to the created resources.
    assert_eq!(
        report.outputs["CustomersQueueUrl"],
        json!(customers.reference.clone())
    );
}

#[tokio::test]
async fn a_second_run_changes_nothing_and_drift_is_repaired() {
    // Scenario: provisioning twice leaves everything unchanged; a filter policy changed behind
    // the template's back is reported by --check and put back by the next provisioning.
    let clients = clients().await;
    let template = project_template();
    let stack = unique("idem");
    let (first, _) = provision(&clients, template, &stack, &[]).await;
    let (second, mut ctx) = provision(&clients, template, &stack, &[]).await;
    for r in &second.resources {
        assert!(
            matches!(
                r.action,
                Action::Unchanged | Action::CloudOnly | Action::ConditionFalse
            ),
            "{} was {:?} on the second run",
            r.logical_id,
            r.action
        );
        assert_eq!(first.physical_id(&r.logical_id), r.physical_id.as_deref());
    }

    let sub = second.physical_id("MaterialsSubscription").unwrap();
    clients
        .sns
        .set_subscription_attributes()
        .subscription_arn(sub)
        .attribute_name("FilterPolicy")
        .attribute_value(r#"{"entity":["customer"]}"#)
        .send()
        .await
        .unwrap();
    let checked = Provisioner::new(clients.clone())
        .check(&mut ctx)
        .await
        .unwrap();
    assert_eq!(checked.drift.len(), 1, "{:?}", checked.drift);
    assert_eq!(checked.drift[0].logical_id, "MaterialsSubscription");
    assert_eq!(checked.drift[0].property, "FilterPolicy");

    let repaired = Provisioner::new(clients.clone())
        .provision(&mut ctx)
        .await
        .unwrap();
    let action = repaired
        .resources
        .iter()
        .find(|r| r.logical_id == "MaterialsSubscription")
        .unwrap()
        .action;
    assert_eq!(action, Action::Updated);
    assert!(repaired.drift.is_empty(), "{:?}", repaired.drift);
}

#[tokio::test]
async fn sns_routes_each_entity_to_its_queue_only() {
    // Scenario: a message published with entity=material reaches the materials queue, raw
    // (body unchanged), and neither the customers nor the sales-orders queue; one with an entity
    // no filter policy names reaches no queue.
    let clients = clients().await;
    let template = project_template();
    let stack = unique("route");
    let (report, _) = provision(&clients, template, &stack, &[]).await;
    let topic = report.physical_id("ChangesTopic").unwrap();
    let attr = |v: &str| {
        aws_sdk_sns::types::MessageAttributeValue::builder()
            .data_type("String")
            .string_value(v)
            .build()
            .unwrap()
    };
    for (entity, body) in [("material", r#"{"n":1}"#), ("nothing", r#"{"n":2}"#)] {
        clients
            .sns
            .publish()
            .topic_arn(topic)
            .message(body)
            .message_attributes("entity", attr(entity))
            .message_attributes("op", attr("upsert"))
            .send()
            .await
            .unwrap();
    }
    let materials = report.physical_id("MaterialsQueue").unwrap();
    let got = eventually(
        "the material message",
        Duration::from_secs(20),
        Duration::from_millis(100),
        || async {
            let m = receive(&clients, materials).await;
            (!m.is_empty()).then_some(m)
        },
    )
    .await;
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].body(),
        Some(r#"{"n":1}"#),
        "raw delivery keeps the body as published"
    );
    let attrs = got[0].message_attributes().unwrap();
    assert_eq!(attrs["entity"].string_value(), Some("material"));
    for q in ["CustomersQueue", "SalesOrdersQueue", "MaterialsQueue"] {
        let url = report.physical_id(q).unwrap();
        let (visible, _) = depth(&clients, url).await;
        assert_eq!(visible, 0, "{q} must hold nothing else");
    }
}

#[tokio::test]
async fn redrive_policy_moves_to_dlq_after_max_receive_count() {
    // Scenario: with MaxReceiveCount=2, a customers-queue message received twice without being
    // deleted is moved by SQS to the customers DLQ, body unchanged.
    let clients = clients().await;
    let template = project_template();
    let stack = unique("redrive");
    let (report, _) = provision(
        &clients,
        template,
        &stack,
        &[
            ("MaxReceiveCount", "2"),
            ("DomainQueueVisibilityTimeout", "1"),
        ],
    )
    .await;
    let queue = report.physical_id("CustomersQueue").unwrap();
    let dlq = report.physical_id("CustomersDLQ").unwrap();
    send_all(&clients, queue, &["poison".to_string()]).await;
    let receives = std::sync::atomic::AtomicUsize::new(0);
    let moved = eventually(
        "the message in the DLQ",
        Duration::from_secs(30),
        Duration::from_millis(200),
        || {
            let clients = clients.clone();
            let receives = &receives;
            async move {
                let n = receive(&clients, queue).await.len();
                receives.fetch_add(n, std::sync::atomic::Ordering::SeqCst);
                let m = receive(&clients, dlq).await;
                (!m.is_empty()).then_some(m)
            }
        },
    )
    .await;
    assert_eq!(
        receives.into_inner(),
        2,
        "received exactly maxReceiveCount times before the move"
    );
    assert_eq!(moved[0].body(), Some("poison"));
    assert_eq!(depth(&clients, queue).await, (0, 0));
}

#[tokio::test]
async fn resolve_finds_what_provisioning_made_and_writes_nothing() {
    // Scenario: resolving a provisioned stack (what the read-only commands do) gives every
    // resource the physical id and the outputs provisioning gave it, comparing nothing; on a
    // stack never provisioned it reports the resources missing and creates none of them.
    let clients = clients().await;
    let template = project_template();
    let stack = unique("resolve");
    let (provisioned, _) = provision(&clients, template, &stack, &[]).await;
    let context = |name: &str| {
        hub_template::Context::new(
            template,
            hub_template::Stack::new(name, &clients.region(), "123456789012"),
            &Default::default(),
        )
        .unwrap()
    };
    let mut ctx = context(&stack);
    let resolved = Provisioner::new(clients.clone())
        .resolve(&mut ctx)
        .await
        .unwrap();
    assert!(resolved.drift.is_empty(), "{:?}", resolved.drift);
    assert_eq!(resolved.outputs, provisioned.outputs);
    assert_eq!(resolved.resources.len(), provisioned.resources.len());
    for (p, r) in provisioned.resources.iter().zip(&resolved.resources) {
        assert_eq!(
            (&r.logical_id, &r.physical_id),
            (&p.logical_id, &p.physical_id)
        );
        let expected = match p.action {
            Action::Created | Action::Updated | Action::Unchanged => Action::Found,
            other => other,
        };
        assert_eq!(r.action, expected, "{}", r.logical_id);
    }

    let absent = unique("resolve-absent");
    let resolved = Provisioner::new(clients.clone())
        .resolve(&mut context(&absent))
        .await
        .unwrap();
    // The shared resources the stand-ins hold (the changes, consolidated and alarm topics and
    // their policies, the bridge and change-stream DLQs, the domain queues' policy, the bucket,
    // the table) and each object's queue, DLQ and subscription.
    let expected = 10 + 3 * hub_model::OBJECTS.len();
    assert_eq!(
        resolved.missing().len(),
        expected,
        "{:?}",
        resolved.missing()
    );
    let checked = Provisioner::new(clients.clone())
        .check(&mut context(&absent))
        .await
        .unwrap();
    assert_eq!(checked.missing(), resolved.missing());
}

#[tokio::test]
async fn unsupported_resources_fail_clearly() {
    // Scenario: a resource type or property the local provisioner does not implement stops
    // provisioning with an error naming it; nothing silently differs from the template.
    let clients = clients().await;
    let t = hub_template::Template::parse("Resources:\n  Box:\n    Type: AWS::EC2::Instance\n")
        .unwrap();
    let mut ctx = hub_template::Context::new(
        &t,
        hub_template::Stack::new("x", "us-east-1", "123456789012"),
        &Default::default(),
    )
    .unwrap();
    let err = Provisioner::new(clients.clone())
        .provision(&mut ctx)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Box: type AWS::EC2::Instance is not supported by the local provisioner"
    );
    let t = hub_template::Template::parse(&format!(
        "Resources:\n  Q:\n    Type: AWS::SQS::Queue\n    Properties: {{QueueName: {}, Colour: blue}}\n",
        unique("q")
    ))
    .unwrap();
    let mut ctx = hub_template::Context::new(
        &t,
        hub_template::Stack::new("x", "us-east-1", "123456789012"),
        &Default::default(),
    )
    .unwrap();
    let err = Provisioner::new(clients)
        .provision(&mut ctx)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Q.Colour: property is not supported by the local provisioner"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifo_mode_provisions_fifo_resources_and_the_bridge_publishes_to_them() {
    // Scenario: FifoMode=true gives a FIFO topic, FIFO domain queues and DLQs; the bridge in FIFO
    // mode (SNS_FIFO from the template) publishes the DEBMAS fixture, which reaches the customers
    // FIFO queue in its entity:key group; the local mappings take FIFO's batch limits.
    let clients = clients().await;
    let stack = unique("fifo");
    let (report, ctx) = provision(
        &clients,
        project_template(),
        &stack,
        &[("FifoMode", "true")],
    )
    .await;
    assert!(report.drift.is_empty(), "drift: {:?}", report.drift);
    let id = |l: &str| report.physical_id(l).unwrap().to_string();
    for l in [
        "ChangesTopic",
        "CustomersQueue",
        "CustomersDLQ",
        "SalesOrdersDLQ",
    ] {
        assert!(id(l).ends_with(".fifo"), "{l}: {}", id(l));
    }
    assert!(
        !id("BridgeDLQ").ends_with(".fifo"),
        "the bridge DLQ stays standard"
    );
    let env: Vec<(String, String)> = ctx.function_environment("BridgeRedrive").unwrap();
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let config =
        kafka_bridge::Config::from_env(&hub_core::config::Env::from_pairs(&pairs)).unwrap();
    assert!(config.settings.fifo);
    let pipeline = kafka_bridge::build(&clients, &config);
    let sample = hub_sap::samples::changes()
        .into_iter()
        .find(|s| s.topic == "sap.idoc.debmas")
        .unwrap();
    let r = pipeline
        .process(&[hub_bridge::KafkaRecord::from_sample(sample, 1)])
        .await;
    assert_eq!(r.published, 1, "{r:?}");
    let got = drain_queue(
        &clients,
        &id("CustomersQueue"),
        Duration::from_secs(30),
        |m| !m.is_empty(),
    )
    .await;
    let group = got[0]
        .attributes()
        .and_then(|a| a.get(&aws_sdk_sqs::types::MessageSystemAttributeName::MessageGroupId))
        .cloned()
        .unwrap_or_default();
    assert!(group.starts_with("customer:"), "group {group:?}");
    let mappings = hub_local::EsmConfig::from_template(&ctx).unwrap();
    assert!(mappings.iter().all(|m| m.batch_size <= 10), "{mappings:?}");
}

/// A subscription's attributes (`GetSubscriptionAttributes`).
async fn subscription_attributes(
    clients: &hub_aws::AwsClients,
    arn: &str,
) -> std::collections::HashMap<String, String> {
    clients
        .sns
        .get_subscription_attributes()
        .subscription_arn(arn)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()
}
