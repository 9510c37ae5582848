//! `template.yaml` as operations need it: the EMF names of the code are the dashboard's and
//! the alarms', every DLQ has a redrive function wired to where its messages came from, IAM
//! statements name actions and resources exactly, and what the issue asks of the deployment
//! (retention, encryption, PITR, build method) is there. No stand-in needed.

use hub_integration_tests::project_template;
use hub_template::{Context, Stack};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Every `(namespace, metric, dimension, value)` of the dashboard body (metric arrays, with
/// CloudWatch's `"."` meaning "same as the line above").
fn dashboard_metrics(body: &str) -> Vec<[String; 4]> {
    let v: Value = serde_json::from_str(body).expect("the dashboard body is JSON");
    let mut out = Vec::new();
    for w in v["widgets"].as_array().unwrap() {
        let mut previous: Vec<String> = vec![String::new(); 4];
        for line in w["properties"]["metrics"].as_array().unwrap() {
            let fields: Vec<String> = line
                .as_array()
                .unwrap()
                .iter()
                .filter_map(Value::as_str)
                .take(4)
                .enumerate()
                .map(|(i, s)| {
                    if s == "." {
                        previous[i].clone()
                    } else {
                        s.to_string()
                    }
                })
                .collect();
            previous = fields.clone();
            out.push([
                fields[0].clone(),
                fields[1].clone(),
                fields[2].clone(),
                fields[3].clone(),
            ]);
        }
    }
    out
}

fn dashboard_body() -> String {
    let t = project_template();
    let d = t.resource("Dashboard").expect("a dashboard");
    d.properties["DashboardBody"]["Fn::Sub"]
        .as_str()
        .expect("DashboardBody is a !Sub string")
        .to_string()
}

#[test]
fn emf_names_of_the_code_are_the_templates() {
    // Scenario: every SapSyncHub metric the dashboard and the alarms use is emitted by the code
    // with that dimension, and every metric the code declares is on the dashboard.
    let code: BTreeMap<&str, (&str, BTreeSet<&str>)> = hub_sync::metrics::METRICS
        .iter()
        .map(|(name, _)| {
            let domains = domain_sync::DOMAINS.iter().map(|(_, _, d)| *d).collect();
            (*name, ("domain", domains))
        })
        .chain(
            hub_bridge::metrics::METRICS
                .iter()
                .map(|(name, _)| (*name, ("component", BTreeSet::from(["kafka-bridge"])))),
        )
        .collect();
    let mut used = BTreeSet::new();
    for [ns, metric, dim, value] in dashboard_metrics(&dashboard_body()) {
        if ns != hub_core::emf::NAMESPACE {
            continue;
        }
        let (dimension, values) = code
            .get(metric.as_str())
            .unwrap_or_else(|| panic!("dashboard metric {metric} is not emitted by the code"));
        assert_eq!(dim, *dimension, "{metric}");
        assert!(values.contains(value.as_str()), "{metric}: {dim}={value}");
        used.insert(metric);
    }
    for alarm in project_template().resources_of_type("AWS::CloudWatch::Alarm") {
        let p = &alarm.properties;
        if p["Namespace"] != hub_core::emf::NAMESPACE {
            continue;
        }
        let metric = p["MetricName"].as_str().unwrap();
        let (dimension, _) = code
            .get(metric)
            .unwrap_or_else(|| panic!("alarm {} metric {metric} is not emitted", alarm.logical_id));
        assert_eq!(
            p["Dimensions"][0]["Name"], *dimension,
            "{}",
            alarm.logical_id
        );
    }
    let missing: Vec<&&str> = code.keys().filter(|m| !used.contains(**m)).collect();
    assert!(
        missing.is_empty(),
        "declared but not on the dashboard: {missing:?}"
    );
}

fn env_ref(f: &hub_template::Resource, var: &str) -> Option<String> {
    f.properties
        .get("Environment")?
        .get("Variables")?
        .get(var)?
        .get("Ref")?
        .as_str()
        .map(str::to_string)
}

#[test]
fn every_dlq_has_a_redrive_function_wired_to_its_source() {
    // Scenario: each DLQ (a queue's RedrivePolicy target, and the bridge DLQ) is redriven by
    // one dlq-redrive function: back to the queue whose DLQ it is, or through the bridge.
    let t = project_template();
    let mut sources: BTreeMap<String, String> = BTreeMap::new();
    for q in t.resources_of_type("AWS::SQS::Queue") {
        if let Some(target) = q
            .properties
            .get("RedrivePolicy")
            .map(|r| &r["deadLetterTargetArn"])
        {
            let dlq = target["Fn::GetAtt"][0].as_str().unwrap().to_string();
            sources.insert(dlq, q.logical_id.clone());
        }
    }
    assert_eq!(sources.len(), 3);
    let redrives: Vec<_> = t
        .resources_of_type("AWS::Serverless::Function")
        .filter(|f| f.metadata["BuildProperties"]["Binary"] == "dlq-redrive")
        .collect();
    assert_eq!(redrives.len(), 4);
    let mut covered = BTreeSet::new();
    for f in redrives {
        let dlq = env_ref(f, "DLQ_URL").expect("DLQ_URL");
        match sources.get(&dlq) {
            Some(queue) => assert_eq!(env_ref(f, "TARGET_QUEUE_URL").as_ref(), Some(queue)),
            None => {
                assert_eq!(dlq, "BridgeDLQ");
                assert_eq!(env_ref(f, "SNS_TOPIC_ARN").as_deref(), Some("ChangesTopic"));
            }
        }
        assert_eq!(f.properties["Timeout"], 900, "{}", f.logical_id);
        covered.insert(dlq);
    }
    assert_eq!(covered.len(), 4, "one function per DLQ");
}

/// Every IAM statement the template writes (inline in function policies and topic policies).
fn statements(v: &Value, out: &mut Vec<Value>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::Array(list)) = m.get("Statement") {
                out.extend(list.iter().cloned());
            }
            m.values().for_each(|v| statements(v, out));
        }
        Value::Array(a) => a.iter().for_each(|v| statements(v, out)),
        _ => {}
    }
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a.iter().flat_map(strings).collect(),
        Value::Object(m) => m
            .get("Fn::Sub")
            .and_then(Value::as_str)
            .map(|s| vec![s.to_string()])
            .unwrap_or_default(),
        _ => vec![],
    }
}

#[test]
fn iam_statements_name_actions_and_resources_exactly() {
    // Scenario: no statement allows a wildcard action or every resource; object ARNs are scoped
    // to the key prefixes the functions write; functions use no broad SAM policy template.
    let t = project_template();
    let mut all = Vec::new();
    for r in &t.resources {
        statements(&Value::Object(r.properties.clone()), &mut all);
    }
    assert!(all.len() >= 10, "statements found: {}", all.len());
    for s in &all {
        for a in strings(&s["Action"]) {
            assert!(!a.contains('*'), "wildcard action {a} in {s}");
        }
        for r in strings(&s["Resource"]) {
            assert!(
                r != "*" && !r.ends_with(":*"),
                "wildcard resource {r} in {s}"
            );
            if r.contains(":s3:::") {
                assert!(
                    r.ends_with("/events/*") || r.ends_with("/dead-letters/*"),
                    "S3 access outside the claim-check prefixes: {r}"
                );
            }
        }
    }
    for f in t.resources_of_type("AWS::Serverless::Function") {
        for p in f.properties["Policies"].as_array().unwrap() {
            let Some(name) = p.as_object().and_then(|o| o.keys().next()) else {
                continue;
            };
            assert!(
                ![
                    "DynamoDBCrudPolicy",
                    "S3CrudPolicy",
                    "S3ReadPolicy",
                    "S3WritePolicy",
                    "AmazonSQSFullAccess"
                ]
                .contains(&name.as_str()),
                "{}: {name} grants more than the function uses",
                f.logical_id
            );
        }
    }
}

#[test]
fn the_deployment_settings_are_there() {
    // Scenario: DLQ retention at the SQS maximum, encryption at rest on topic, queues and
    // table, PITR, arm64 by default, rust-cargolambda on provided.al2023, partial batch
    // responses on every SQS event, and FIFO mode naming topic and domain queues `.fifo`.
    let t = project_template();
    let stack = Stack::new("s", "eu-west-1", "123456789012");
    let ctx = Context::new(t, stack.clone(), &Default::default()).unwrap();
    assert_eq!(
        ctx.parameter("DlqRetentionSeconds"),
        Some(&Value::from("1209600"))
    );
    assert_eq!(ctx.parameter("Architecture"), Some(&Value::from("arm64")));
    assert_eq!(t.globals["Function"]["Runtime"], "provided.al2023");
    for q in t.resources_of_type("AWS::SQS::Queue") {
        assert_eq!(
            q.properties["SqsManagedSseEnabled"], true,
            "{}",
            q.logical_id
        );
        if q.logical_id.ends_with("DLQ") {
            assert_eq!(
                q.properties["MessageRetentionPeriod"]["Ref"], "DlqRetentionSeconds",
                "{}",
                q.logical_id
            );
        }
    }
    assert_eq!(
        t.resource("ChangesTopic").unwrap().properties["KmsMasterKeyId"],
        "alias/aws/sns"
    );
    let table = &t.resource("HubTable").unwrap().properties;
    assert_eq!(table["SSESpecification"]["SSEEnabled"], true);
    assert_eq!(
        table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"],
        true
    );
    for f in t.resources_of_type("AWS::Serverless::Function") {
        assert_eq!(
            f.metadata["BuildMethod"], "rust-cargolambda",
            "{}",
            f.logical_id
        );
        for e in f
            .properties
            .get("Events")
            .and_then(Value::as_object)
            .into_iter()
            .flat_map(|m| m.values())
        {
            if e["Type"] == "SQS" {
                assert_eq!(
                    e["Properties"]["FunctionResponseTypes"][0], "ReportBatchItemFailures",
                    "{}",
                    f.logical_id
                );
            }
        }
    }
    let fifo = BTreeMap::from([("FifoMode".to_string(), "true".to_string())]);
    let ctx = Context::new(t, stack, &fifo).unwrap();
    for id in [
        "ChangesTopic",
        "CustomersQueue",
        "CustomersDLQ",
        "SalesOrdersQueue",
    ] {
        let props = &t.resource(id).unwrap().properties;
        let name = props.get("TopicName").or(props.get("QueueName")).unwrap();
        let name = ctx.resolve_required(name, id).unwrap();
        let name = name.as_str().unwrap();
        assert!(name.ends_with(".fifo"), "{id}: {name}");
    }
}
