//! What `template.yaml` guarantees a production deployment, read off the template and its
//! parameters as CloudFormation would resolve them: every Kafka event source has a consumer group
//! of its own, authentication is required (the template's `Rules`), the table and the bucket
//! outlive the stack, only the topic and the redrive functions send to the domain queues, one
//! parameter puts everything under a customer-managed key, and every checkov suppression is
//! listed here with a check that its reason holds. No stand-in needed.

use hub_integration_tests::{project_objects, project_template};
use hub_template::{Context, Physical, Resource, Stack, Template, TemplateError};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

const SECRET: &str = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:sap-kafka-AbCdEf";
const CA: &str = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:sap-kafka-ca-AbCdEf";
const MSK: &str =
    "arn:aws:kafka:eu-west-1:123456789012:cluster/sap/0123abcd-4567-89ef-0123-456789abcdef-1";
const KEY: &str = "arn:aws:kms:eu-west-1:123456789012:key/0123abcd-4567-89ef-0123-456789abcdef";

/// The template with these parameters, every resource given a stand-in physical id and
/// attributes (`<id>-Arn`…), as if deployed: references resolve, values stay recognisable.
fn context<'t>(t: &'t Template, parameters: &[(&str, &str)]) -> Result<Context<'t>, TemplateError> {
    let overrides: BTreeMap<String, String> = parameters
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let mut ctx = Context::new(
        t,
        Stack::new("hub", "eu-west-1", "123456789012"),
        &overrides,
    )?;
    for r in &t.resources {
        let attributes = ["Arn", "QueueName", "QueueUrl", "TopicName", "StreamArn"]
            .into_iter()
            .map(|a| (a.to_string(), json!(format!("{}-{a}", r.logical_id))))
            .collect();
        ctx.set_physical(
            &r.logical_id,
            Physical {
                reference: r.logical_id.clone(),
                attributes,
            },
        );
    }
    Ok(ctx)
}

/// A property of a resource as CloudFormation resolves it (`None`: `AWS::NoValue` or absent).
fn property(ctx: &Context<'_>, r: &Resource, name: &str) -> Option<Value> {
    let v = r.properties.get(name)?;
    ctx.resolve(v, &format!("Resources.{}.Properties.{name}", r.logical_id))
        .unwrap()
}

/// The bridge's Kafka event source mappings that exist with these parameters.
fn kafka_sources<'t>(t: &'t Template, ctx: &Context<'_>) -> Vec<&'t Resource> {
    t.resources_of_type("AWS::Lambda::EventSourceMapping")
        .filter(|m| ctx.is_active(&m.logical_id).unwrap())
        .filter(|m| {
            m.properties
                .contains_key("SelfManagedKafkaEventSourceConfig")
                || m.properties
                    .contains_key("AmazonManagedKafkaEventSourceConfig")
        })
        .collect()
}

/// Every consumer group of a Kafka event source: of the mappings, and of SAM's Kafka events
/// (`SelfManagedKafka`, `MSK`) should a function declare one.
fn consumer_groups(t: &Template, ctx: &Context<'_>) -> Vec<(String, String)> {
    let mut groups = Vec::new();
    for m in kafka_sources(t, ctx) {
        for config in [
            "SelfManagedKafkaEventSourceConfig",
            "AmazonManagedKafkaEventSourceConfig",
        ] {
            if let Some(c) = property(ctx, m, config) {
                let group = c["ConsumerGroupId"].as_str().expect("a ConsumerGroupId");
                groups.push((m.logical_id.clone(), group.to_string()));
            }
        }
    }
    for f in t.resources_of_type("AWS::Serverless::Function") {
        for (name, e) in f
            .properties
            .get("Events")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            if e["Type"] == "SelfManagedKafka" || e["Type"] == "MSK" {
                let p = ctx.resolve_required(&e["Properties"], name).unwrap();
                groups.push((
                    format!("{}.{name}", f.logical_id),
                    p["ConsumerGroupId"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                ));
            }
        }
    }
    groups
}

#[test]
fn no_two_kafka_event_sources_share_a_consumer_group() {
    // Scenario: AWS requires a consumer group id to be unique among all Kafka event sources, and
    // fixes it at creation. With self-managed Kafka and with MSK, each of the bridge's mappings
    // reads one topic in a group of its own, named after the stack (or the prefix) and the topic.
    let t = project_template();
    for cluster in [
        ("KafkaBootstrapServers", "b1:9096,b2:9096"),
        ("KafkaClusterArn", MSK),
    ] {
        for prefix in ["", "sap-prod"] {
            let ctx = context(
                t,
                &[
                    cluster,
                    ("KafkaAuth", "sasl-scram-512"),
                    ("KafkaSecretArn", SECRET),
                    ("KafkaConsumerGroupPrefix", prefix),
                ],
            )
            .unwrap();
            let groups = consumer_groups(t, &ctx);
            assert_eq!(
                groups.len(),
                hub_model::object::sap_topics().count(),
                "one group per topic: {groups:?}"
            );
            let distinct: BTreeSet<&String> = groups.iter().map(|(_, g)| g).collect();
            assert_eq!(distinct.len(), groups.len(), "shared groups: {groups:?}");
            let stem = if prefix.is_empty() { "hub" } else { prefix };
            for (id, g) in &groups {
                assert!(g.starts_with(&format!("{stem}-sap.")), "{id}: {g}");
            }
            for m in kafka_sources(t, &ctx) {
                let topics = property(&ctx, m, "Topics").unwrap();
                assert_eq!(topics.as_array().unwrap().len(), 1, "{}", m.logical_id);
            }
        }
    }
}

fn refused(parameters: &[(&str, &str)]) -> String {
    match context(project_template(), parameters) {
        Err(TemplateError::RuleFailed { rule, .. }) => rule,
        Err(e) => panic!("{parameters:?}: refused for another reason: {e}"),
        Ok(_) => panic!("{parameters:?}: accepted"),
    }
}

/// The `(Type, URI)` pairs of a mapping's `SourceAccessConfigurations`.
fn access(ctx: &Context<'_>, m: &Resource) -> Vec<(String, String)> {
    property(ctx, m, "SourceAccessConfigurations")
        .map(|v| {
            v.as_array()
                .unwrap()
                .iter()
                .map(|a| {
                    (
                        a["Type"].as_str().unwrap().to_string(),
                        a["URI"].as_str().unwrap().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn kafka_authentication_is_required_and_reaches_every_event_source() {
    // Scenario: with a Kafka cluster, the stack is refused unless KafkaAuth says how to
    // authenticate (`none` explicitly, for development); SASL/SCRAM and mTLS need their secret;
    // MSK takes no SCRAM-256; a VPC needs its security group; one cluster, not two. Accepted
    // settings reach every mapping as Lambda's source access configurations.
    let bootstrap = ("KafkaBootstrapServers", "b1:9096,b2:9096");
    assert_eq!(refused(&[bootstrap]), "KafkaAuthIsExplicit");
    assert_eq!(refused(&[("KafkaClusterArn", MSK)]), "KafkaAuthIsExplicit");
    for auth in ["sasl-scram-512", "sasl-scram-256", "mtls"] {
        assert_eq!(
            refused(&[bootstrap, ("KafkaAuth", auth)]),
            "KafkaAuthHasItsSecret"
        );
    }
    assert_eq!(
        refused(&[
            ("KafkaClusterArn", MSK),
            ("KafkaAuth", "sasl-scram-256"),
            ("KafkaSecretArn", SECRET)
        ]),
        "MskAuthentication"
    );
    assert_eq!(
        refused(&[bootstrap, ("KafkaClusterArn", MSK), ("KafkaAuth", "none")]),
        "OneKafkaCluster"
    );
    assert_eq!(
        refused(&[
            bootstrap,
            ("KafkaAuth", "none"),
            ("KafkaVpcSubnet1", "subnet-0a")
        ]),
        "KafkaVpcHasASecurityGroup"
    );
    // Without a cluster there is no bridge Lambda and nothing to authenticate.
    let t = project_template();
    let ctx = context(t, &[]).unwrap();
    assert!(!ctx.is_active("KafkaBridge").unwrap());
    assert!(kafka_sources(t, &ctx).is_empty());

    // (parameter overrides, the expected SourceAccessConfigurations as (type, URI))
    type Pairs<'a> = &'a [(&'a str, &'a str)];
    let cases: &[(Pairs, Pairs)] = &[
        (&[bootstrap, ("KafkaAuth", "none")], &[]),
        (
            &[
                bootstrap,
                ("KafkaAuth", "sasl-scram-512"),
                ("KafkaSecretArn", SECRET),
            ],
            &[("SASL_SCRAM_512_AUTH", SECRET)],
        ),
        (
            &[
                bootstrap,
                ("KafkaAuth", "sasl-scram-256"),
                ("KafkaSecretArn", SECRET),
            ],
            &[("SASL_SCRAM_256_AUTH", SECRET)],
        ),
        (
            &[
                bootstrap,
                ("KafkaAuth", "mtls"),
                ("KafkaSecretArn", SECRET),
                ("KafkaRootCaSecretArn", CA),
                ("KafkaVpcSubnet1", "subnet-0a"),
                ("KafkaVpcSubnet2", "subnet-0b"),
                ("KafkaVpcSecurityGroup", "sg-0c"),
            ],
            &[
                ("CLIENT_CERTIFICATE_TLS_AUTH", SECRET),
                ("SERVER_ROOT_CA_CERTIFICATE", CA),
                ("VPC_SUBNET", "subnet:subnet-0a"),
                ("VPC_SUBNET", "subnet:subnet-0b"),
                ("VPC_SECURITY_GROUP", "security_group:sg-0c"),
            ],
        ),
        (
            &[
                ("KafkaClusterArn", MSK),
                ("KafkaAuth", "sasl-scram-512"),
                ("KafkaSecretArn", SECRET),
            ],
            &[("SASL_SCRAM_512_AUTH", SECRET)],
        ),
        (
            &[
                ("KafkaClusterArn", MSK),
                ("KafkaAuth", "mtls"),
                ("KafkaSecretArn", SECRET),
            ],
            &[("CLIENT_CERTIFICATE_TLS_AUTH", SECRET)],
        ),
    ];
    for (parameters, expected) in cases {
        let ctx = context(t, parameters).unwrap();
        let msk = parameters.iter().any(|(k, _)| *k == "KafkaClusterArn");
        let sources = kafka_sources(t, &ctx);
        assert_eq!(sources.len(), hub_model::object::sap_topics().count());
        for m in sources {
            let expected: Vec<(String, String)> = expected
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect();
            assert_eq!(access(&ctx, m), expected, "{parameters:?} {}", m.logical_id);
            // The MSK event source (the cluster's ARN), or the self-managed one (brokers).
            assert_eq!(
                property(&ctx, m, "EventSourceArn"),
                msk.then(|| json!(MSK)),
                "{}",
                m.logical_id
            );
            assert_eq!(
                property(&ctx, m, "SelfManagedEventSource").is_some(),
                !msk,
                "{}",
                m.logical_id
            );
        }
        // The role reads the secrets, and manages network interfaces only where pollers run
        // in a VPC (the given subnets, or MSK's).
        let role = t.resource("KafkaBridgeRole").unwrap();
        let policies = property(&ctx, role, "Policies").unwrap();
        let names: BTreeSet<&str> = policies
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["PolicyName"].as_str().unwrap())
            .collect();
        let vpc = parameters.iter().any(|(k, _)| *k == "KafkaVpcSubnet1");
        assert_eq!(
            names.contains("event-source-network"),
            vpc || msk,
            "{names:?}"
        );
        assert_eq!(
            names.contains("kafka-credentials"),
            !expected.is_empty(),
            "{names:?}"
        );
        assert_eq!(
            names.contains("kafka-root-ca"),
            parameters.iter().any(|(k, _)| *k == "KafkaRootCaSecretArn"),
            "{names:?}"
        );
        assert_eq!(names.contains("msk-cluster"), msk, "{names:?}");
    }
}

#[test]
fn the_table_and_the_bucket_outlive_the_stack() {
    // Scenario: deleting or replacing the stack keeps the table and the claim-check bucket
    // (DeletionPolicy and UpdateReplacePolicy Retain); DynamoDB refuses to delete the table
    // (deletion protection); the bucket refuses every request that is not over TLS.
    let t = project_template();
    for id in ["HubTable", "ClaimCheckBucket"] {
        let r = t.resource(id).unwrap();
        assert_eq!(r.deletion_policy.as_deref(), Some("Retain"), "{id}");
        assert_eq!(r.update_replace_policy.as_deref(), Some("Retain"), "{id}");
    }
    assert_eq!(
        t.resource("HubTable").unwrap().properties["DeletionProtectionEnabled"],
        true
    );
    let policies: Vec<&Resource> = t
        .resources_of_type("AWS::S3::BucketPolicy")
        .filter(|p| p.properties["Bucket"] == json!({"Ref": "ClaimCheckBucket"}))
        .collect();
    assert_eq!(policies.len(), 1);
    let statements = policies[0].properties["PolicyDocument"]["Statement"]
        .as_array()
        .unwrap();
    let tls = statements
        .iter()
        .find(|s| s["Condition"]["Bool"]["aws:SecureTransport"] == "false")
        .expect("a statement on aws:SecureTransport");
    assert_eq!(tls["Effect"], "Deny");
    assert_eq!(tls["Principal"], "*");
    assert_eq!(tls["Action"], "s3:*");
    assert_eq!(
        tls["Resource"],
        json!([
            {"Fn::GetAtt": ["ClaimCheckBucket", "Arn"]},
            {"Fn::Sub": "${ClaimCheckBucket.Arn}/*"}
        ])
    );
}

/// Whether a queue policy lets `request` send: an Allow that matches and no Deny that matches.
/// Conditions use the operators the template uses (`ArnEquals`, `ArnNotEquals`; several keys
/// must all hold; a key missing from the request matches a negated operator, as in IAM).
fn may_send(statements: &[Value], queue: &Value, request: &BTreeMap<&str, Value>) -> bool {
    let matches = |s: &Value| -> bool {
        let principal = request.get("principal").unwrap();
        let principal_ok = s["Principal"] == "*"
            || s["Principal"]["Service"].as_str() == principal["Service"].as_str()
                && principal.get("Service").is_some();
        let actions: Vec<&Value> = match &s["Action"] {
            Value::Array(a) => a.iter().collect(),
            a => vec![a],
        };
        let action_ok = actions.iter().any(|a| *a == "sqs:SendMessage");
        let resources: Vec<&Value> = match &s["Resource"] {
            Value::Array(a) => a.iter().collect(),
            r => vec![r],
        };
        let resource_ok = resources.contains(&queue);
        let condition_ok = s["Condition"]
            .as_object()
            .into_iter()
            .flatten()
            .all(|(op, keys)| {
                keys.as_object().unwrap().iter().all(|(key, values)| {
                    let values: Vec<&Value> = match values {
                        Value::Array(a) => a.iter().collect(),
                        v => vec![v],
                    };
                    match (op.as_str(), request.get(key.as_str())) {
                        ("ArnEquals", Some(v)) => values.contains(&v),
                        ("ArnEquals", None) => false,
                        ("ArnNotEquals", Some(v)) => !values.contains(&v),
                        ("ArnNotEquals", None) => true,
                        (other, _) => panic!("operator {other} not evaluated here"),
                    }
                })
            });
        principal_ok && action_ok && resource_ok && condition_ok
    };
    let allowed = statements
        .iter()
        .any(|s| s["Effect"] == "Allow" && matches(s));
    let denied = statements
        .iter()
        .any(|s| s["Effect"] == "Deny" && matches(s));
    allowed && !denied
}

#[test]
fn only_the_topic_and_the_redrive_functions_send_to_the_domain_queues() {
    // Scenario: the domain queues' policy lets SNS deliver from the changes topic, denies every
    // other principal's SendMessage (another topic, a role of the account with sqs:SendMessage
    // on "*"), and still lets each redrive function put messages back.
    let t = project_template();
    let policy = &t.resource("DomainQueuesPolicy").unwrap().properties;
    let statements = policy["PolicyDocument"]["Statement"].as_array().unwrap();
    let objects = project_objects();
    assert!(!objects.is_empty());
    let sns = json!({"Service": "sns.amazonaws.com"});
    let role = |id: &str| json!({"Fn::GetAtt": [id, "Arn"]});
    for o in &objects {
        let queue = json!({"Fn::GetAtt": [format!("{}Queue", o.stem()), "Arn"]});
        let topic = json!({"Ref": "ChangesTopic"});
        let from = |principal: Value, source: Option<Value>, arn: Option<Value>| {
            let mut r = BTreeMap::from([("principal", principal)]);
            if let Some(s) = source {
                r.insert("aws:SourceArn", s);
            }
            if let Some(a) = arn {
                r.insert("aws:PrincipalArn", a);
            }
            may_send(statements, &queue, &r)
        };
        assert!(
            from(sns.clone(), Some(topic.clone()), None),
            "{}: the topic",
            o.stem()
        );
        let other_topic = json!("arn:aws:sns:eu-west-1:123456789012:other");
        assert!(
            !from(sns.clone(), Some(other_topic), None),
            "{}: another topic",
            o.stem()
        );
        let intruder = json!("arn:aws:iam::123456789012:role/admin");
        assert!(
            !from(json!({"AWS": "123456789012"}), None, Some(intruder)),
            "{}: a role of the account",
            o.stem()
        );
        // The redrive functions are not denied (their own role allows the send, to their
        // queue only: see the IAM test of tests/template.rs).
        let redrive = role(&format!("{}RedriveRole", o.stem()));
        let denied = statements.iter().any(|s| {
            s["Effect"] == "Deny"
                && may_send(
                    &[
                        json!({"Effect": "Allow", "Principal": "*", "Action": s["Action"],
                              "Resource": s["Resource"], "Condition": s["Condition"]}),
                    ],
                    &queue,
                    &BTreeMap::from([
                        ("principal", json!({"AWS": "123456789012"})),
                        ("aws:PrincipalArn", redrive.clone()),
                    ]),
                )
        });
        assert!(!denied, "{}: its redrive function is denied", o.stem());
    }
}

#[test]
fn one_parameter_puts_table_topic_queues_and_bucket_under_a_customer_managed_key() {
    // Scenario: without KmsKeyArn, AWS-managed keys (SSE-SQS, alias/aws/sns, DynamoDB's and
    // S3's own); with it, the table, the topic, every queue and the bucket use that key, and
    // every function's role may use it (and only then).
    let t = project_template();
    for key in [None, Some(KEY)] {
        let parameters: Vec<(&str, &str)> = key.map(|k| ("KmsKeyArn", k)).into_iter().collect();
        let ctx = context(t, &parameters).unwrap();
        let table = t.resource("HubTable").unwrap();
        let sse = property(&ctx, table, "SSESpecification").unwrap();
        assert_eq!(sse["SSEEnabled"], true);
        assert_eq!(sse.get("KMSMasterKeyId").and_then(Value::as_str), key);
        assert_eq!(sse.get("SSEType").is_some(), key.is_some());
        let topic = t.resource("ChangesTopic").unwrap();
        assert_eq!(
            property(&ctx, topic, "KmsMasterKeyId").unwrap(),
            key.unwrap_or("alias/aws/sns")
        );
        for q in t.resources_of_type("AWS::SQS::Queue") {
            assert_eq!(
                property(&ctx, q, "KmsMasterKeyId")
                    .as_ref()
                    .and_then(Value::as_str),
                key,
                "{}",
                q.logical_id
            );
            assert_eq!(
                property(&ctx, q, "SqsManagedSseEnabled"),
                key.is_none().then_some(Value::Bool(true)),
                "{}",
                q.logical_id
            );
        }
        let bucket = t.resource("ClaimCheckBucket").unwrap();
        let enc = property(&ctx, bucket, "BucketEncryption").unwrap();
        let default = &enc["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"];
        match key {
            Some(k) => {
                assert_eq!(default["SSEAlgorithm"], "aws:kms");
                assert_eq!(default["KMSMasterKeyID"], k);
            }
            None => assert_eq!(default["SSEAlgorithm"], "AES256"),
        }
        for role in t.resources_of_type("AWS::IAM::Role") {
            if !ctx.is_active(&role.logical_id).unwrap()
                || role.metadata.contains_key("ImplicitFrom")
            {
                continue;
            }
            let policies = property(&ctx, role, "Policies").unwrap();
            let kms: Vec<&Value> = policies
                .as_array()
                .unwrap()
                .iter()
                .filter(|p| p["PolicyName"] == "kms")
                .collect();
            assert_eq!(kms.len(), usize::from(key.is_some()), "{}", role.logical_id);
            if let Some(k) = key {
                assert_eq!(kms[0]["PolicyDocument"]["Statement"][0]["Resource"], k);
            }
        }
    }
}

/// The checkov suppressions of the template: `(logical id, check id, comment)`.
fn suppressions(t: &Template) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for r in &t.resources {
        let skips = r.metadata.get("checkov").and_then(|c| c.get("skip"));
        for s in skips.and_then(Value::as_array).into_iter().flatten() {
            out.push((
                r.logical_id.clone(),
                s["id"].as_str().unwrap().to_string(),
                s["comment"].as_str().unwrap_or_default().to_string(),
            ));
        }
    }
    out
}

#[test]
fn every_checkov_suppression_is_listed_and_its_reason_holds() {
    // Scenario: each remaining suppression is one of the kinds listed here, says why, and what
    // its reason claims is checked on the template: a new suppression, or a change that makes a
    // reason false, fails this test.
    let t = project_template();
    let plain = context(t, &[]).unwrap();
    let keyed = context(t, &[("KmsKeyArn", KEY)]).unwrap();
    let vpc = context(
        t,
        &[
            ("KafkaBootstrapServers", "b1:9096"),
            ("KafkaAuth", "none"),
            ("KafkaVpcSubnet1", "subnet-0a"),
            ("KafkaVpcSecurityGroup", "sg-0c"),
        ],
    )
    .unwrap();
    let all = suppressions(t);
    assert!(!all.is_empty());
    let mut kinds: BTreeMap<(String, String), usize> = BTreeMap::new();
    for (id, check, comment) in &all {
        assert!(comment.len() > 40, "{id} {check}: a suppression says why");
        let r = t.resource(id).unwrap();
        *kinds.entry((r.kind.clone(), check.clone())).or_default() += 1;
        match (r.kind.as_str(), check.as_str()) {
            // "Encrypted at rest: under the customer-managed key when KmsKeyArn is set,
            // otherwise with SSE-SQS."
            ("AWS::SQS::Queue", "CKV_AWS_27") => {
                assert_eq!(
                    property(&plain, r, "SqsManagedSseEnabled"),
                    Some(json!(true))
                );
                assert_eq!(property(&keyed, r, "KmsMasterKeyId"), Some(json!(KEY)));
            }
            // "Encrypted at rest (SSESpecification): under the customer-managed key when
            // KmsKeyArn is set, otherwise under the AWS-managed DynamoDB key."
            ("AWS::DynamoDB::Table", "CKV_AWS_119") => {
                assert_eq!(
                    property(&plain, r, "SSESpecification").unwrap()["SSEEnabled"],
                    true
                );
                assert_eq!(
                    property(&keyed, r, "SSESpecification").unwrap()["KMSMasterKeyId"],
                    KEY
                );
            }
            // "Concurrency is bounded by the event source mapping (SQS MaximumConcurrency, or
            // one poller per Kafka partition)."
            ("AWS::Serverless::Function", "CKV_AWS_115") => {
                let sqs_bounded = r
                    .properties
                    .get("Events")
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten()
                    .any(|(_, e)| {
                        let max = &e["Properties"]["ScalingConfig"]["MaximumConcurrency"];
                        // A number, or a parameter with a maximum.
                        let bounded = max.is_number()
                            || max["Ref"].as_str().is_some_and(|p| {
                                t.parameter(p).is_some_and(|p| p.max_value.is_some())
                            });
                        e["Type"] == "SQS" && bounded
                    });
                let kafka_driven = t
                    .resources_of_type("AWS::Lambda::EventSourceMapping")
                    .any(|m| m.properties["FunctionName"] == json!({"Ref": id}));
                // One invocation per shard and ParallelizationFactor.
                let stream_bounded = r
                    .properties
                    .get("Events")
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten()
                    .any(|(_, e)| {
                        e["Type"] == "DynamoDB"
                            && e["Properties"]["ParallelizationFactor"].is_number()
                    });
                assert!(
                    sqs_bounded || kafka_driven || stream_bounded,
                    "{id}: concurrency unbounded"
                );
            }
            // "Invoked synchronously (an event source mapping or the console)."
            ("AWS::Serverless::Function", "CKV_AWS_116") => {
                for (_, e) in r
                    .properties
                    .get("Events")
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten()
                {
                    // Both are polled by an event source mapping, which invokes synchronously.
                    // A schedule invokes asynchronously: only the enricher's probe, which
                    // carries no data and is never retried.
                    let probe = e["Type"] == "Schedule"
                        && e["Properties"]["Input"] == r#"{"probe": true}"#
                        && r.properties["EventInvokeConfig"]["MaximumRetryAttempts"] == 0;
                    assert!(
                        e["Type"] == "SQS" || e["Type"] == "DynamoDB" || probe,
                        "{id}: an asynchronous event source"
                    );
                }
                let probe_only = r
                    .properties
                    .get("EventInvokeConfig")
                    .is_none_or(|c| c["MaximumRetryAttempts"] == 0);
                assert!(probe_only, "{id}");
                let permissions = t.resources_of_type("AWS::Lambda::Permission").count();
                assert_eq!(
                    permissions, 0,
                    "a service may invoke a function asynchronously"
                );
            }
            // "The function calls only AWS public endpoints; the Kafka event source reaches a
            // cluster in a VPC through its own VPC settings."
            ("AWS::Serverless::Function", "CKV_AWS_117") => {
                assert!(!r.properties.contains_key("VpcConfig"), "{id}");
                let env = serde_json::to_string(&r.properties.get("Environment")).unwrap();
                assert!(!env.contains("Kafka"), "{id} talks to Kafka itself: {env}");
                for m in kafka_sources(t, &vpc) {
                    let types: Vec<String> =
                        access(&vpc, m).into_iter().map(|(ty, _)| ty).collect();
                    assert!(
                        types.contains(&"VPC_SUBNET".to_string()),
                        "{}",
                        m.logical_id
                    );
                    assert!(
                        types.contains(&"VPC_SECURITY_GROUP".to_string()),
                        "{}",
                        m.logical_id
                    );
                }
            }
            // "The environment holds only resource names, URLs and ARNs, no secrets."
            ("AWS::Serverless::Function", "CKV_AWS_173") => {
                let vars = plain.function_environment(id).unwrap();
                for (name, _) in vars {
                    for word in ["PASSWORD", "SECRET", "TOKEN", "CREDENTIAL", "PRIVATE"] {
                        assert!(!name.contains(word), "{id}: {name} in the environment");
                    }
                }
            }
            // "CloudWatch Logs encrypts every log group at rest; the logs carry ids and errors,
            // not payloads" (tests/log_capture.rs proves the second part).
            ("AWS::Logs::LogGroup", "CKV_AWS_158") => {
                assert!(r.properties.contains_key("RetentionInDays"), "{id}");
            }
            // "No access-log bucket of its own; objects are written and read only by the
            // stack's functions, whose roles are scoped to key prefixes."
            ("AWS::S3::Bucket", "CKV_AWS_18") => {
                let public = &r.properties["PublicAccessBlockConfiguration"];
                for k in [
                    "BlockPublicAcls",
                    "BlockPublicPolicy",
                    "IgnorePublicAcls",
                    "RestrictPublicBuckets",
                ] {
                    assert_eq!(public[k], true, "{k}");
                }
            }
            // "Claim checks are written once under unique keys and expire after 14 days."
            ("AWS::S3::Bucket", "CKV_AWS_21") => {
                let rule = &r.properties["LifecycleConfiguration"]["Rules"][0];
                assert_eq!(rule["ExpirationInDays"], 14);
                assert!(!r.properties.contains_key("VersioningConfiguration"));
            }
            // "CloudWatch alarms cannot publish to a topic under the AWS-managed SNS key, and
            // alarm notifications carry no business data."
            ("AWS::SNS::Topic", "CKV_AWS_26") => {
                assert!(!r.properties.contains_key("KmsMasterKeyId"), "{id}");
                let alarms: Vec<&Resource> =
                    t.resources_of_type("AWS::CloudWatch::Alarm").collect();
                assert!(!alarms.is_empty());
                for a in alarms {
                    assert_eq!(
                        a.properties["AlarmActions"],
                        json!([{"Ref": id}]),
                        "{}",
                        a.logical_id
                    );
                }
                for topic in t
                    .resources_of_type("AWS::SNS::Topic")
                    .filter(|x| x.logical_id != *id)
                {
                    assert!(
                        topic.properties.contains_key("KmsMasterKeyId"),
                        "{}",
                        topic.logical_id
                    );
                }
            }
            (kind, check) => panic!(
                "{id} ({kind}) suppresses {check}: list it here with a check that its reason holds"
            ),
        }
    }
    // The listed kinds, and how many resources suppress each: printed for the closing note.
    for ((kind, check), n) in &kinds {
        println!("{check} on {n} × {kind}");
    }
}

/// Every `Action` under `v`, however nested (statements inside `Fn::If`).
fn actions(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                match (k.as_str(), v) {
                    ("Action", Value::String(a)) => {
                        out.insert(a.clone());
                    }
                    ("Action", Value::Array(a)) => {
                        out.extend(a.iter().filter_map(Value::as_str).map(str::to_string));
                    }
                    _ => actions(v, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|v| actions(v, out)),
        _ => {}
    }
}

#[test]
fn the_service_examples_agree_with_the_bridge_lambda_and_the_stop_bounds() {
    // Scenario: the long-running bridge's examples in infra/container. Its task role allows
    // exactly what the bridge Lambda's role allows on the hub's resources (the Lambda-only
    // parts aside: its log group, X-Ray, MSK discovery and the pollers' network interfaces). The
    // ECS task and the systemd unit wait longer than the bridge's stop bound (drain 20 s +
    // close 5 s + the 5 s watchdog) before killing it, run it as the image's non-root user,
    // check liveness only, and put no credential in the environment.
    let root = hub_integration_tests::repo_root().join("infra/container");
    let read = |f: &str| std::fs::read_to_string(root.join(f)).unwrap();
    let t = project_template();
    let mut lambda = BTreeSet::new();
    actions(
        &Value::Object(t.resource("KafkaBridgeRole").unwrap().properties.clone()),
        &mut lambda,
    );
    let lambda_only = ["logs:", "xray:", "kafka:", "ec2:", "sts:"];
    lambda.retain(|a| !lambda_only.iter().any(|p| a.starts_with(p)));
    let mut task = BTreeSet::new();
    actions(
        &serde_json::from_str(&read("task-role-policy.json")).unwrap(),
        &mut task,
    );
    assert_eq!(
        task, lambda,
        "task-role-policy.json against KafkaBridgeRole"
    );

    let ecs: Value = serde_json::from_str(&read("ecs-task-definition.json")).unwrap();
    let c = &ecs["containerDefinitions"][0];
    let stop_bound_s = 20 + 5 + 5;
    assert!(c["stopTimeout"].as_u64().unwrap() > stop_bound_s);
    assert_eq!(c["user"], "65532:65532");
    assert_eq!(c["readonlyRootFilesystem"], true);
    assert_eq!(
        c["healthCheck"]["command"],
        json!(["CMD", "/kafka-bridge", "health", "live"])
    );
    let names: Vec<&str> = c["environment"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"KAFKA_AUTH") && names.contains(&"KAFKA_SECRET_ARN"));
    let unit = read("kafka-bridge.service");
    let env_file = read("kafka-bridge.env.example");
    for name in names.iter().copied().chain(
        env_file
            .lines()
            .filter_map(|l| l.trim_start_matches('#').split_once('='))
            .map(|(k, _)| k.trim()),
    ) {
        assert!(
            !["PASSWORD", "SASL_", "PRIVATE", "SSL_KEY"]
                .iter()
                .any(|s| name.contains(s)),
            "a credential in the environment: {name}"
        );
    }
    let timeout_stop: u64 = unit
        .lines()
        .find_map(|l| l.strip_prefix("TimeoutStopSec="))
        .unwrap()
        .parse()
        .unwrap();
    assert!(timeout_stop > stop_bound_s);
    assert!(unit.contains("KillSignal=SIGTERM") && unit.contains("RestartPreventExitStatus=2"));
    let dockerfile = read("Dockerfile");
    assert!(dockerfile.contains("FROM scratch") && dockerfile.contains("USER 65532:65532"));
}
