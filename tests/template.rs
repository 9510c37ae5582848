//! `template.yaml` as operations need it: every object of `infra/template/objects.yaml` has all
//! its resources and agrees with the Rust registry of domain functions, the EMF names of the code
//! are the dashboard's and the alarms', every DLQ has a redrive function wired to where its
//! messages came from, IAM statements name actions and resources exactly, and what the issue asks
//! of the deployment (retention, encryption, PITR, build method) is there. No stand-in needed.

use hub_integration_tests::{project_objects, project_template};
use hub_template::{Context, Stack};
use serde_json::{Value, json};
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
            let domains = hub_model::OBJECTS.iter().map(|o| o.domain).collect();
            (*name, ("domain", domains))
        })
        .chain(
            hub_bridge::metrics::METRICS
                .iter()
                .map(|(name, _)| (*name, ("component", BTreeSet::from(["kafka-bridge"])))),
        )
        .chain(
            change_stream::handler::METRICS
                .iter()
                .map(|(name, _)| (*name, ("function", BTreeSet::from(["change-stream"])))),
        )
        .chain(
            hub_enrich::metrics::METRICS
                .iter()
                .map(|(name, _)| (*name, ("service", BTreeSet::from(["s4-enricher"])))),
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
    // A DLQ per object, and the S/4 enricher's.
    let objects = project_objects().len() + 1;
    assert_eq!(
        sources.len(),
        objects,
        "a DLQ per object and the enricher's"
    );
    let redrives: Vec<_> = t
        .resources_of_type("AWS::Serverless::Function")
        .filter(|f| f.metadata["BuildProperties"]["Binary"] == "dlq-redrive")
        .collect();
    assert_eq!(redrives.len(), objects + 1);
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
    assert_eq!(covered.len(), objects + 1, "one function per DLQ");
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

/// Actions IAM grants on no particular resource (no resource-level permissions): the only ones a
/// statement may allow on `"*"`.
const NO_RESOURCE_LEVEL: &[&str] = &[
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeVpcs",
    "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups",
    "lambda:ListEventSourceMappings",
];

#[test]
fn iam_statements_name_actions_and_resources_exactly() {
    // Scenario: no statement allows a wildcard action, or every resource but for the actions
    // that have no resource-level permissions; logs go to the function's own log group's
    // streams; object ARNs are scoped to the key prefixes the functions write; every function
    // has a role of the template's (no SAM-made role with AWSLambdaBasicExecutionRole).
    let t = project_template();
    let mut all = Vec::new();
    for r in &t.resources {
        statements(&Value::Object(r.properties.clone()), &mut all);
    }
    assert!(all.len() >= 10, "statements found: {}", all.len());
    for s in &all {
        // A Deny narrows: `s3:*` over plain HTTP, `sqs:SendMessage` from anyone else.
        let allow = s["Effect"] == "Allow";
        let actions = strings(&s["Action"]);
        for a in &actions {
            assert!(!allow || !a.contains('*'), "wildcard action {a} in {s}");
        }
        for r in strings(&s["Resource"]) {
            if r == "*" {
                assert!(
                    actions
                        .iter()
                        .all(|a| NO_RESOURCE_LEVEL.contains(&a.as_str())),
                    "{actions:?} on every resource in {s}"
                );
                continue;
            }
            if r.contains(":logs:") {
                assert!(
                    r.ends_with("Logs}:log-stream:*"),
                    "logs outside a declared log group's streams: {r}"
                );
                continue;
            }
            // A wildcard ARN only when a condition holds it to named resources (the enricher's
            // own event source mapping, by `lambda:FunctionArn`).
            assert!(
                !r.ends_with(":*") || !allow || s.get("Condition").is_some(),
                "wildcard resource {r} in {s}"
            );
            if r.contains(":s3:::") && allow {
                assert!(
                    r.ends_with("/events/*")
                        || r.ends_with("/dead-letters/*")
                        || r.ends_with("/consolidated/*"),
                    "S3 access outside the claim-check prefixes: {r}"
                );
            }
        }
    }
    for f in t.resources_of_type("AWS::Serverless::Function") {
        let role = format!("{}Role", f.logical_id);
        assert_eq!(
            f.properties["Role"],
            json!({"Fn::GetAtt": [role, "Arn"]}),
            "{}: a role of the template's, not SAM's",
            f.logical_id
        );
        assert!(
            !f.properties.contains_key("Policies"),
            "{}: Policies are ignored with a Role",
            f.logical_id
        );
        let r = t.resource(&role).unwrap();
        assert_eq!(r.kind, "AWS::IAM::Role");
        assert_eq!(r.condition, f.condition, "{role}");
        assert!(
            !r.properties.contains_key("ManagedPolicyArns"),
            "{role}: a managed policy grants more than the function uses"
        );
        // Its logs: its own log group, declared with a retention.
        let text = serde_json::to_string(&r.properties).unwrap();
        let group = format!("{}Logs", f.logical_id);
        assert!(
            text.contains(&format!("log-group:${{{group}}}:log-stream:*")),
            "{role} does not write to {group}"
        );
        assert_eq!(t.resource(&group).unwrap().kind, "AWS::Logs::LogGroup");
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
        let sse = ctx
            .resolve(&q.properties["SqsManagedSseEnabled"], &q.logical_id)
            .unwrap();
        assert_eq!(sse, Some(Value::Bool(true)), "{}", q.logical_id);
        if q.logical_id.ends_with("DLQ") {
            assert_eq!(
                q.properties["MessageRetentionPeriod"]["Ref"], "DlqRetentionSeconds",
                "{}",
                q.logical_id
            );
        }
    }
    assert_eq!(
        ctx.resolve_required(
            &t.resource("ChangesTopic").unwrap().properties["KmsMasterKeyId"],
            "ChangesTopic"
        )
        .unwrap(),
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

#[test]
fn every_object_has_all_its_resources() {
    // Scenario: each object of objects.yaml has its queue and DLQ (redrive policy to it), its
    // subscription filtered on its entity, its sync function on the queue with partial batch
    // responses, its redrive function from the DLQ to the queue, two log groups, five alarms,
    // a place in the domain queues' policy, three outputs, and its lines on the dashboard.
    let t = project_template();
    let ctx = Context::new(
        t,
        Stack::new("s", "eu-west-1", "123456789012"),
        &Default::default(),
    )
    .unwrap();
    let on_dashboard = dashboard_metrics(&dashboard_body());
    let policy = &t.resource("DomainQueuesPolicy").unwrap().properties;
    let objects = project_objects();
    assert!(objects.len() >= 3);
    for o in &objects {
        let id = |suffix: &str| format!("{}{suffix}", o.stem());
        let get = |suffix: &str, kind: &str| {
            let r = t
                .resource(&id(suffix))
                .unwrap_or_else(|| panic!("{} is missing", id(suffix)));
            assert_eq!(r.kind, kind, "{}", r.logical_id);
            &r.properties
        };
        let resolved = |suffix: &str, v: &Value| {
            let v = ctx.resolve_required(v, &id(suffix)).unwrap();
            v.as_str().unwrap().to_string()
        };
        let (queue, dlq, sync, redrive) = (id("Queue"), id("DLQ"), id("Sync"), id("Redrive"));
        let (domain, function) = (o.domain(), o.function());

        let q = get("Queue", "AWS::SQS::Queue");
        assert_eq!(resolved("Queue", &q["QueueName"]), format!("s-{domain}"));
        assert_eq!(
            q["RedrivePolicy"]["deadLetterTargetArn"],
            json!({"Fn::GetAtt": [dlq, "Arn"]})
        );
        let d = get("DLQ", "AWS::SQS::Queue");
        assert_eq!(resolved("DLQ", &d["QueueName"]), format!("s-{domain}-dlq"));

        let sub = get("Subscription", "AWS::SNS::Subscription");
        assert_eq!(sub["TopicArn"], json!({"Ref": "ChangesTopic"}));
        assert_eq!(sub["Endpoint"], json!({"Fn::GetAtt": [queue, "Arn"]}));
        assert_eq!(sub["RawMessageDelivery"], true);
        // Thin S/4 events are the enricher's, never a domain's.
        assert_eq!(
            sub["FilterPolicy"],
            json!({"entity": [o.entity()], "enrichment": [{"exists": false}]})
        );

        let f = get("Sync", "AWS::Serverless::Function");
        let binary = &t.resource(&sync).unwrap().metadata["BuildProperties"]["Binary"];
        assert_eq!(binary, function, "{sync}");
        assert_eq!(
            resolved("Sync", &f["FunctionName"]),
            format!("s-{function}")
        );
        assert_eq!(
            f["Environment"]["Variables"]["DLQ_URL"],
            json!({"Ref": dlq})
        );
        let events: Vec<&Value> = f["Events"].as_object().unwrap().values().collect();
        assert_eq!(events.len(), 1, "{sync}");
        assert_eq!(events[0]["Type"], "SQS");
        let p = &events[0]["Properties"];
        assert_eq!(p["Queue"], json!({"Fn::GetAtt": [queue, "Arn"]}));
        assert_eq!(
            p["FunctionResponseTypes"],
            json!(["ReportBatchItemFailures"])
        );

        let r = get("Redrive", "AWS::Serverless::Function");
        let binary = &t.resource(&redrive).unwrap().metadata["BuildProperties"]["Binary"];
        assert_eq!(binary, "dlq-redrive");
        assert_eq!(
            resolved("Redrive", &r["FunctionName"]),
            format!("s-{domain}-redrive")
        );
        assert_eq!(
            r["Environment"]["Variables"]["DLQ_URL"],
            json!({"Ref": dlq})
        );
        assert_eq!(
            r["Environment"]["Variables"]["TARGET_QUEUE_URL"],
            json!({"Ref": queue})
        );

        for (suffix, name) in [
            ("SyncLogs", function.to_string()),
            ("RedriveLogs", format!("{domain}-redrive")),
        ] {
            let l = get(suffix, "AWS::Logs::LogGroup");
            assert_eq!(
                resolved(suffix, &l["LogGroupName"]),
                format!("/aws/lambda/s-{name}")
            );
            assert_eq!(l["RetentionInDays"], json!({"Ref": "LogRetentionDays"}));
        }

        for (suffix, metric, dimension) in [
            (
                "DlqAlarm",
                "ApproximateNumberOfMessagesVisible",
                json!({"Fn::GetAtt": [dlq, "QueueName"]}),
            ),
            (
                "QueueAgeAlarm",
                "ApproximateAgeOfOldestMessage",
                json!({"Fn::GetAtt": [queue, "QueueName"]}),
            ),
            ("SyncErrorsAlarm", "Errors", json!({"Ref": sync})),
            ("SyncThrottlesAlarm", "Throttles", json!({"Ref": sync})),
            ("RedriveErrorsAlarm", "Errors", json!({"Ref": redrive})),
        ] {
            let a = get(suffix, "AWS::CloudWatch::Alarm");
            assert_eq!(a["MetricName"], metric, "{}", id(suffix));
            assert_eq!(a["Dimensions"][0]["Value"], dimension, "{}", id(suffix));
            assert_eq!(
                a["AlarmActions"],
                json!([{"Ref": "AlarmTopic"}]),
                "{}",
                id(suffix)
            );
        }

        assert!(
            policy["Queues"]
                .as_array()
                .unwrap()
                .contains(&json!({"Ref": queue}))
        );
        let arns = policy["PolicyDocument"]["Statement"][0]["Resource"]
            .as_array()
            .unwrap();
        assert!(
            arns.contains(&json!({"Fn::GetAtt": [queue, "Arn"]})),
            "{queue}"
        );

        for (output, target) in [
            ("QueueUrl", &queue),
            ("DlqUrl", &dlq),
            ("RedriveFunction", &redrive),
        ] {
            let v = t
                .outputs
                .get(&id(output))
                .unwrap_or_else(|| panic!("output {} is missing", id(output)));
            assert_eq!(v["Value"], json!({"Ref": target}), "{}", id(output));
        }

        let line = |ns: &str, metric: &str, dim: &str, value: &str| {
            [ns, metric, dim, value].map(str::to_string)
        };
        for (metric, _) in hub_sync::metrics::METRICS {
            let l = line(hub_core::emf::NAMESPACE, metric, "domain", domain);
            assert!(on_dashboard.contains(&l), "dashboard lacks {l:?}");
        }
        for l in [
            line(
                "AWS/SQS",
                "ApproximateNumberOfMessagesVisible",
                "QueueName",
                &format!("${{{dlq}.QueueName}}"),
            ),
            line(
                "AWS/SQS",
                "ApproximateAgeOfOldestMessage",
                "QueueName",
                &format!("${{{queue}.QueueName}}"),
            ),
        ] {
            assert!(on_dashboard.contains(&l), "dashboard lacks {l:?}");
        }
    }
}

#[test]
fn objects_yaml_and_the_domain_registry_agree() {
    // Scenario: the objects of infra/template/objects.yaml and the domain functions of the Rust
    // registry (hub_model::OBJECTS) are the same: binary, entity and domain of each.
    let in_yaml: BTreeSet<(String, String, String)> = project_objects()
        .iter()
        .map(|o| (o.function().into(), o.entity().into(), o.domain().into()))
        .collect();
    let in_code: BTreeSet<(String, String, String)> = hub_model::OBJECTS
        .iter()
        .map(|o| (o.function.into(), o.name.into(), o.domain.into()))
        .collect();
    let only_yaml: Vec<_> = in_yaml.difference(&in_code).collect();
    let only_code: Vec<_> = in_code.difference(&in_yaml).collect();
    assert!(
        only_yaml.is_empty() && only_code.is_empty(),
        "(binary, entity, domain) in objects.yaml only: {only_yaml:?} (add them to \
         hub_model::OBJECTS, with their binary); in hub_model::OBJECTS only: {only_code:?} \
         (add them to infra/template/objects.yaml and regenerate template.yaml)"
    );
}

#[test]
fn the_bridge_reads_every_sap_topic_of_the_registry() {
    // Scenario: each topic of hub_model::object::sap_topics() (an object's IDoc topic, S/4's
    // events) is a template parameter with that default, and a Kafka event source mapping of
    // the bridge function reads it: a new object's IDocs reach the bridge without a hand-kept
    // list.
    let t = project_template();
    t.resource("KafkaBridge").expect("the KafkaBridge function");
    let read: BTreeSet<String> = t
        .resources_of_type("AWS::Lambda::EventSourceMapping")
        .filter(|m| m.properties["FunctionName"] == json!({"Ref": "KafkaBridge"}))
        .flat_map(|m| m.properties["Topics"].as_array().unwrap().clone())
        .filter_map(|topic| topic["Ref"].as_str().map(str::to_string))
        .collect();
    for topic in hub_model::object::sap_topics() {
        let p = t
            .parameter(topic.parameter)
            .unwrap_or_else(|| panic!("no template parameter {}", topic.parameter));
        assert_eq!(
            p.default.as_deref(),
            Some(topic.name),
            "{}",
            topic.parameter
        );
        assert!(
            read.contains(topic.parameter),
            "the bridge does not read {}",
            topic.name
        );
    }
}
