//! The long-running bridge as an operator runs it: the `kafka-bridge` binary as a process, with
//! an embedded Kafka of the test's own (so the broker can be taken away) and the AWS stand-ins.
//! Its health endpoint, its stop on SIGTERM with the broker up and gone, a second signal, and
//! its Kafka credentials read from Secrets Manager (moto) over the real SDK.

use hub_integration_tests::*;
use hub_sap::{OwnedRecord, samples};
use kafka_bridge::health;
use serde_json::Value;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The topic and the bridge DLQ of a provisioned copy of the project's stack.
struct Stack {
    topic_arn: String,
    bridge_dlq: String,
}

async fn stack(name: &str) -> Stack {
    let clients = clients().await;
    let (report, _) = provision(&clients, project_template(), &unique(name), &[]).await;
    Stack {
        topic_arn: report.physical_id("ChangesTopic").unwrap().to_string(),
        bridge_dlq: report.physical_id("BridgeDLQ").unwrap().to_string(),
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The `kafka-bridge` process, its output lines (stdout and stderr) collected.
struct Service {
    child: Child,
    port: u16,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Service {
    /// Starts the bridge with the stand-ins' endpoints and `env` over them.
    fn start(stack: &Stack, env: &[(&str, String)]) -> Service {
        use std::io::BufRead;
        let moto = hub_aws::clients::LocalEndpoints::from_env().sns;
        let port = free_port();
        let mut cmd = Command::new(workspace_binary("kafka-bridge"));
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("SNS_TOPIC_ARN", &stack.topic_arn)
            .env("BRIDGE_DLQ_URL", &stack.bridge_dlq)
            .env("BRIDGE_HEALTH_ADDR", format!("127.0.0.1:{port}"))
            .env("BRIDGE_METRICS_INTERVAL_MS", "0")
            .env("KAFKA_PROP_SESSION_TIMEOUT_MS", "6000")
            .env("AWS_ENDPOINT_URL", &moto)
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("the bridge starts");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let out = child.stdout.take().unwrap();
        let err = child.stderr.take().unwrap();
        for stream in [
            Box::new(out) as Box<dyn std::io::Read + Send>,
            Box::new(err) as Box<dyn std::io::Read + Send>,
        ] {
            let lines = lines.clone();
            std::thread::spawn(move || {
                for l in std::io::BufReader::new(stream)
                    .lines()
                    .map_while(Result::ok)
                {
                    lines.lock().unwrap().push(l);
                }
            });
        }
        Service { child, port, lines }
    }

    fn output(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }

    /// `GET /health/<check>`: the status and the JSON body, or `None` when nothing answers.
    async fn health(&self, check: &str) -> Option<(u16, Value)> {
        let url = format!("http://127.0.0.1:{}/health/{check}", self.port);
        let (status, body) = health::ask(&url, Duration::from_secs(2)).await.ok()?;
        Some((status, serde_json::from_str(&body).expect("JSON")))
    }

    /// Polls `/health/<check>` until `accept` takes the answer.
    async fn health_until(
        &self,
        check: &str,
        what: &str,
        accept: impl Fn(u16, &Value) -> bool,
    ) -> Value {
        eventually(
            what,
            Duration::from_secs(60),
            Duration::from_millis(100),
            || async {
                self.health(check)
                    .await
                    .filter(|(s, b)| accept(*s, b))
                    .map(|(_, b)| b)
            },
        )
        .await
    }

    fn signal(&self, signal: &str) {
        let ok = Command::new("kill")
            .args(["-s", signal, &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -s {signal}");
    }

    /// Waits (polling) for the process to exit, at most `timeout`; its status and how long it
    /// took from the call.
    async fn exit(&mut self, timeout: Duration) -> (ExitStatus, Duration) {
        let start = Instant::now();
        let status = eventually(
            "the bridge to exit",
            timeout,
            Duration::from_millis(10),
            || {
                let s = self.child.try_wait().unwrap();
                async move { s }
            },
        )
        .await;
        (status, start.elapsed())
    }

    /// Waits until a line of output contains `text`.
    async fn printed(&self, text: &str) {
        eventually(
            text,
            Duration::from_secs(30),
            Duration::from_millis(20),
            || {
                let found = self.output().contains(text);
                async move { found.then_some(()) }
            },
        )
        .await;
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn kafka_env(bootstrap: &str, topic: &str, group: &str) -> Vec<(&'static str, String)> {
    vec![
        ("KAFKA_BOOTSTRAP_SERVERS", bootstrap.to_string()),
        ("KAFKA_TOPICS", topic.to_string()),
        ("KAFKA_GROUP_ID", group.to_string()),
        ("KAFKA_AUTH", "none".to_string()),
    ]
}

fn records(n: u64) -> Vec<OwnedRecord> {
    (0..n).map(|i| samples::synthetic(i, 20).record).collect()
}

async fn committed_to_the_end(bootstrap: &str, group: &str, topic: &str) {
    eventually(
        "offsets committed to the end",
        Duration::from_secs(60),
        Duration::from_millis(200),
        || {
            let (committed, ends) = committed_and_end_offsets(bootstrap, group, topic);
            async move { (committed == ends).then_some(()) }
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_follows_partitions_and_the_breaker_and_sigterm_commits_and_exits_0() {
    // Scenario: the bridge on a three-partition topic with SNS behind a proxy. Liveness answers
    // 200 and readiness becomes 200 with three partitions and the breaker closed. SNS cut while
    // records arrive: the breaker opens, readiness says 503 "breaker open" and liveness stays
    // 200. SNS back: readiness 200 again, every offset committed; `kafka-bridge health ready`
    // exits 0. SIGTERM: exit 0 within the drain and close bounds, the offsets at the end.
    let stack = stack("svc-health").await;
    let topic = unique("sap.svc.health");
    let kafka = hub_kafka::EmbeddedKafka::start(1, &[(topic.clone(), 3)]).unwrap();
    let bootstrap = kafka.bootstrap_servers();
    let group = unique("svc");
    let moto = hub_aws::clients::LocalEndpoints::from_env().sns;
    let sns = Proxy::start(moto.trim_start_matches("http://")).await;
    let mut env = kafka_env(&bootstrap, &topic, &group);
    env.extend([
        ("AWS_ENDPOINT_URL_SNS", sns.endpoint.clone()),
        ("BRIDGE_BREAKER_FAILURES", "2".into()),
        ("BRIDGE_BREAKER_OPEN_MS", "300".into()),
        ("BRIDGE_BREAKER_MAX_OPEN_MS", "600".into()),
        ("BRIDGE_RETRY_BASE_MS", "20".into()),
        ("BRIDGE_RETRY_CAP_MS", "100".into()),
    ]);
    let mut bridge = Service::start(&stack, &env);

    let live = bridge
        .health_until("live", "liveness", |s, _| s == 200)
        .await;
    assert_eq!(live["ok"], true, "{live}");
    let ready = bridge
        .health_until("ready", "readiness", |s, _| s == 200)
        .await;
    assert_eq!(ready["partitions"], 3, "{ready}");
    assert_eq!(ready["breaker"], "closed", "{ready}");

    produce(&bootstrap, &topic, None, &records(20)).await;
    committed_to_the_end(&bootstrap, &group, &topic).await;

    sns.set_up(false);
    let mut more = records(40);
    more.drain(..20);
    produce(&bootstrap, &topic, None, &more).await;
    let not_ready = bridge
        .health_until("ready", "readiness to fail on the open breaker", |s, b| {
            s == 503 && b["breaker"] != "closed"
        })
        .await;
    assert!(
        not_ready["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r.as_str().unwrap().starts_with("breaker ")),
        "{not_ready}"
    );
    let (status, live) = bridge.health("live").await.expect("liveness answers");
    assert_eq!(status, 200, "an SNS outage does not fail liveness: {live}");

    sns.set_up(true);
    bridge
        .health_until("ready", "readiness back", |s, _| s == 200)
        .await;
    committed_to_the_end(&bootstrap, &group, &topic).await;

    let check = Command::new(workspace_binary("kafka-bridge"))
        .args(["health", "ready"])
        .env("BRIDGE_HEALTH_ADDR", format!("0.0.0.0:{}", bridge.port))
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "kafka-bridge health ready: {}",
        String::from_utf8_lossy(&check.stdout)
    );

    bridge.signal("TERM");
    let (status, took) = bridge.exit(Duration::from_secs(30)).await;
    eprintln!("SIGTERM with the broker up: {status} after {took:?}");
    assert!(status.success(), "{status}: {}", bridge.output());
    // Drain (nothing in flight) plus the close bound (5 s by default).
    assert!(took < Duration::from_secs(5), "stopped in {took:?}");
    let (committed, ends) = committed_and_end_offsets(&bootstrap, &group, &topic);
    assert_eq!(committed, ends);
    assert_eq!(ends.iter().sum::<i64>(), 40);
    // Nothing answers once it is gone: the check command fails.
    let check = Command::new(workspace_binary("kafka-bridge"))
        .args(["health", "live"])
        .env("BRIDGE_HEALTH_ADDR", format!("127.0.0.1:{}", bridge.port))
        .output()
        .unwrap();
    assert!(!check.status.success());
    drop(kafka);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_broker_gone_sigterm_still_exits_within_the_bound() {
    // Scenario: the bridge has consumed and committed; the broker goes away. Liveness still
    // answers 200 (a broker outage is not the process's fault). SIGTERM: the final commit and
    // leaving the group cannot finish, and the bridge exits once BRIDGE_CLOSE_TIMEOUT_MS (2 s)
    // has passed, status 0 (it finished) or 1 (stopped without the final commit, said so).
    let stack = stack("svc-gone").await;
    let topic = unique("sap.svc.gone");
    let kafka = hub_kafka::EmbeddedKafka::start(1, &[(topic.clone(), 2)]).unwrap();
    let bootstrap = kafka.bootstrap_servers();
    let group = unique("svc");
    let mut env = kafka_env(&bootstrap, &topic, &group);
    env.push(("BRIDGE_CLOSE_TIMEOUT_MS", "2000".into()));
    let mut bridge = Service::start(&stack, &env);
    bridge
        .health_until("ready", "readiness", |s, _| s == 200)
        .await;
    produce(&bootstrap, &topic, None, &records(10)).await;
    committed_to_the_end(&bootstrap, &group, &topic).await;

    drop(kafka);
    let (status, live) = bridge.health("live").await.expect("liveness answers");
    assert_eq!(status, 200, "{live}");

    bridge.signal("TERM");
    let (status, took) = bridge.exit(Duration::from_secs(30)).await;
    eprintln!("SIGTERM with the broker gone: {status} after {took:?}");
    assert!(
        took < Duration::from_secs(2 + 3),
        "the stop is bounded by the close timeout: {took:?}"
    );
    match status.code() {
        Some(0) => {}
        Some(1) => assert!(
            bridge.output().contains("stopped without the final commit"),
            "{}",
            bridge.output()
        ),
        other => panic!("exit {other:?}: {}", bridge.output()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_signal_exits_at_once() {
    // Scenario: the broker stops answering (a 10-minute round trip: connected, silent) and the
    // close bound is long (60 s): after SIGTERM the bridge waits to leave the group; a second
    // SIGTERM ends it at once with status 143. (A broker that is gone, connection refused, is no
    // test of this: librdkafka may give up leaving at once, and the bridge then exits 0 first.)
    let stack = stack("svc-twice").await;
    let topic = unique("sap.svc.twice");
    let kafka = hub_kafka::EmbeddedKafka::start(1, &[(topic.clone(), 1)]).unwrap();
    let bootstrap = kafka.bootstrap_servers();
    let group = unique("svc");
    let mut env = kafka_env(&bootstrap, &topic, &group);
    env.push(("BRIDGE_CLOSE_TIMEOUT_MS", "60000".into()));
    let mut bridge = Service::start(&stack, &env);
    bridge
        .health_until("ready", "readiness", |s, _| s == 200)
        .await;
    kafka
        .cluster()
        .broker_round_trip_time(1, Duration::from_secs(600))
        .unwrap();

    bridge.signal("TERM");
    bridge.printed("Stopping: draining").await;
    bridge.signal("TERM");
    let (status, took) = bridge.exit(Duration::from_secs(10)).await;
    eprintln!("second SIGTERM: {status} after {took:?}");
    assert_eq!(status.code(), Some(143), "{}", bridge.output());
    assert!(took < Duration::from_secs(2), "{took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_come_from_secrets_manager_and_bad_ones_stop_the_start() {
    // Scenario: secrets on the Secrets Manager stand-in, read over the real SDK.
    // - No KAFKA_AUTH, a password in KAFKA_PROP_SASL_PASSWORD, a secret that is not the SASL
    //   shape, an ARN that does not exist: exit 2 before anything starts, the message naming
    //   the variable, never the secret's text.
    // - A good SASL/SCRAM-512 secret: the bridge starts with SASL_SSL; the embedded broker
    //   speaks plaintext only, so it never joins the group: liveness 200, readiness 503 "not yet
    //   in the consumer group"; the password appears in no output; SIGTERM stops it in bound.
    let stack = stack("svc-secrets").await;
    let moto = hub_aws::clients::LocalEndpoints::from_env().sns;
    let config = aws_sdk_secretsmanager::config::Builder::from(&clients().await.config)
        .endpoint_url(&moto)
        .build();
    let sm = aws_sdk_secretsmanager::Client::from_conf(config);
    let create = |name: String, value: String| {
        let sm = sm.clone();
        async move {
            sm.create_secret()
                .name(name)
                .secret_string(value)
                .send()
                .await
                .unwrap()
                .arn
                .unwrap()
        }
    };
    const PASSWORD: &str = "pw-Zq81-never-logged";
    let good = create(
        unique("kafka-sasl"),
        format!(r#"{{"username":"sap-hub","password":"{PASSWORD}"}}"#),
    )
    .await;
    let wrong = create(
        unique("kafka-wrong"),
        format!(r#"{{"user":"sap-hub","pass":"{PASSWORD}"}}"#),
    )
    .await;
    let topic = unique("sap.svc.secrets");
    let kafka = hub_kafka::EmbeddedKafka::start(1, &[(topic.clone(), 1)]).unwrap();
    let bootstrap = kafka.bootstrap_servers();
    let base = kafka_env(&bootstrap, &topic, &unique("svc"));
    let with = |extra: &[(&'static str, &str)]| {
        let mut env: Vec<(&str, String)> = base
            .iter()
            .filter(|(k, _)| !extra.iter().any(|(e, _)| e == k))
            .cloned()
            .collect();
        env.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
        env
    };

    let refused: [(Vec<(&str, String)>, &str); 4] = [
        (
            with(&[("KAFKA_AUTH", "")]),
            "KAFKA_AUTH: required: one of sasl-scram-512, sasl-scram-256, mtls, none",
        ),
        (
            with(&[("KAFKA_PROP_SASL_PASSWORD", PASSWORD)]),
            "KAFKA_PROP_SASL_PASSWORD: sasl.password is a credential",
        ),
        (
            with(&[
                ("KAFKA_AUTH", "sasl-scram-512"),
                ("KAFKA_SECRET_ARN", &wrong),
            ]),
            "the secret KAFKA_SECRET_ARN names holds not the expected JSON",
        ),
        (
            with(&[
                ("KAFKA_AUTH", "sasl-scram-512"),
                (
                    "KAFKA_SECRET_ARN",
                    "arn:aws:secretsmanager:us-east-1:123456789012:secret:absent-AbCdEf",
                ),
            ]),
            "secretsmanager:GetSecretValue failed",
        ),
    ];
    for (env, expected) in refused {
        let mut bridge = Service::start(&stack, &env);
        let (status, _) = bridge.exit(Duration::from_secs(30)).await;
        let out = bridge.output();
        assert_eq!(status.code(), Some(2), "{expected}: {out}");
        assert!(out.contains(expected), "expected {expected:?} in: {out}");
        assert!(!out.contains(PASSWORD), "the password leaked: {out}");
    }

    let mut bridge = Service::start(
        &stack,
        &with(&[
            ("KAFKA_AUTH", "sasl-scram-512"),
            ("KAFKA_SECRET_ARN", &good),
            ("BRIDGE_CLOSE_TIMEOUT_MS", "2000"),
        ]),
    );
    bridge.printed("Kafka authentication configured").await;
    let live = bridge
        .health_until("live", "liveness", |s, _| s == 200)
        .await;
    assert_eq!(live["ok"], true);
    let (status, ready) = bridge.health("ready").await.expect("readiness answers");
    assert_eq!(status, 503, "{ready}");
    assert_eq!(ready["partitions"], 0, "{ready}");
    assert!(
        ready["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r == "not yet in the consumer group"),
        "{ready}"
    );
    bridge.signal("TERM");
    let (_, took) = bridge.exit(Duration::from_secs(30)).await;
    assert!(took < Duration::from_secs(2 + 3), "{took:?}");
    assert!(
        !bridge.output().contains(PASSWORD),
        "the password leaked: {}",
        bridge.output()
    );
}
