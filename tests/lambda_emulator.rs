//! The Lambda binaries under cargo-lambda's Lambda Runtime API emulator (`cargo lambda watch`):
//! each domain binary handles an SQS event carrying a fixture's change event end to end (the
//! record lands in DynamoDB Local), and the bridge Lambda handles a self-managed Kafka event (the
//! IDoc reaches its domain queue through SNS, the garbage the bridge DLQ).

use hub_aws::dynamo_store::DynamoStore;
use hub_integration_tests::*;
use hub_sap::{Envelope, Limits, Outcome, parse_record};
use hub_store::{EntityStore, keys};
use serde_json::{Value, json};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn cargo_lambda() -> PathBuf {
    let local = repo_root().join(".local/venv/bin/cargo-lambda");
    if local.exists() {
        local
    } else {
        PathBuf::from("cargo-lambda")
    }
}

/// A free loopback port.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The emulator's process group, killed on drop.
struct Emulator(Child);

impl Drop for Emulator {
    fn drop(&mut self) {
        // The emulator stops on Ctrl-C (SIGINT); its function processes share its group.
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill")
            .args(["-s", "INT", "--", &group])
            .status();
        for _ in 0..50 {
            if matches!(self.0.try_wait(), Ok(Some(_))) {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = Command::new("kill")
            .args(["-s", "KILL", "--", &group])
            .status();
        let _ = self.0.wait();
    }
}

fn sqs_event(fixture: &str) -> Value {
    let bytes = std::fs::read(repo_root().join("crates/hub-sap/fixtures").join(fixture)).unwrap();
    let Outcome::Change(e) = parse_record(&Envelope::value_only(&bytes), &Limits::default())
        .unwrap()
        .remove(0)
    else {
        panic!("{fixture} is a change")
    };
    json!({"Records": [{
        "messageId": format!("m-{fixture}"),
        "body": serde_json::to_string(&e).unwrap(),
        "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": {},
        "eventSource": "aws:sqs",
    }]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_domain_binary_runs_under_the_runtime_emulator() {
    // Scenario: one emulator serves the three binaries; each invoked with an SQS event answers
    // an empty batchItemFailures and its record is in the table.
    let clients = clients().await;
    let stack = unique("emu");
    let (report, _) = provision(&clients, project_template(), &stack, &[]).await;
    let table = report.physical_id("HubTable").unwrap().to_string();
    let dlq = report.physical_id("CustomersDLQ").unwrap().to_string();
    let env = [format!("TABLE_NAME={table}"), format!("DLQ_URL={dlq}")];
    let (_emulator, port) = emulator("domain-sync", &env).await;

    let store = DynamoStore::new(clients.dynamodb.clone(), &table);
    for (binary, fixture, key) in [
        (
            "customer-sync",
            "debmas07_customer.xml",
            keys::customer("100123"),
        ),
        (
            "material-sync",
            "matmas05_pump.xml",
            keys::material("100234"),
        ),
        (
            "sales-order-sync",
            "orders05_salesorder.xml",
            keys::order("45001"),
        ),
    ] {
        let response = invoke(port, binary, &sqs_event(fixture)).await;
        assert_eq!(response, json!({"batchItemFailures": []}), "{binary}");
        let item = store.get(&key).await.unwrap();
        assert!(item.is_some(), "{binary} wrote {key:?}");
    }
}

/// Starts `cargo lambda watch` for `package` with `env` (name=value) on a free port; returns the
/// emulator and its port once it listens.
async fn emulator(package: &str, env: &[String]) -> (Emulator, u16) {
    let port = free_port();
    let endpoints = hub_aws::clients::LocalEndpoints::from_env();
    let mut cmd = Command::new(cargo_lambda());
    cmd.args(["lambda", "watch", "--ignore-changes", "-p", package])
        .args([
            "--invoke-address",
            "127.0.0.1",
            "--invoke-port",
            &port.to_string(),
        ]);
    for e in env {
        cmd.args(["--env-var", e]);
    }
    let child = cmd
        .env("AWS_ENDPOINT_URL_DYNAMODB", &endpoints.dynamodb)
        .env("AWS_ENDPOINT_URL_SQS", &endpoints.sqs)
        .env("AWS_ENDPOINT_URL_SNS", &endpoints.sns)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .current_dir(repo_root())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("cargo-lambda is installed (infra/local/install.sh)");
    let guard = Emulator(child);
    eventually(
        "the emulator to listen",
        Duration::from_secs(180),
        Duration::from_millis(200),
        || async { TcpStream::connect(("127.0.0.1", port)).ok().map(|_| ()) },
    )
    .await;
    (guard, port)
}

/// Invokes `binary` on the emulator at `port` with `payload`; returns its JSON answer.
async fn invoke(port: u16, binary: &str, payload: &Value) -> Value {
    let file = std::env::temp_dir().join(format!("{}-{binary}.json", unique("invoke")));
    std::fs::write(&file, serde_json::to_vec(payload).unwrap()).unwrap();
    let out = tokio::task::spawn_blocking({
        let (file, binary) = (file.clone(), binary.to_string());
        move || {
            Command::new(cargo_lambda())
                .args(["lambda", "invoke", &binary, "--invoke-address", "127.0.0.1"])
                .args(["--invoke-port", &port.to_string()])
                .arg("--data-file")
                .arg(&file)
                .current_dir(repo_root())
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    std::fs::remove_file(&file).ok();
    assert!(
        out.status.success(),
        "{binary}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bridge_lambda_handles_a_kafka_event_under_the_runtime_emulator() {
    // Scenario: a self-managed Kafka event (base64 key and value, byte-array headers) with a
    // MATMAS IDoc and a garbage record: the bridge Lambda answers 1 published, 1 dead-lettered;
    // the event is in the materials queue, the garbage in the bridge DLQ.
    use base64::Engine;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let clients = clients().await;
    let stack = unique("emu-bridge");
    let (report, _) = provision(&clients, project_template(), &stack, &[]).await;
    let id = |l: &str| report.physical_id(l).unwrap().to_string();
    let env = [
        format!("SNS_TOPIC_ARN={}", id("ChangesTopic")),
        format!("BRIDGE_DLQ_URL={}", id("BridgeDLQ")),
    ];
    let (_emulator, port) = emulator("kafka-bridge", &env).await;
    let event = json!({
        "eventSource": "SelfManagedKafka",
        "bootstrapServers": "broker-1:9092",
        "records": {"sap.idoc.matmas-0": [
            {"topic": "sap.idoc.matmas", "partition": 0, "offset": 7, "timestamp": 1764000000000i64,
             "timestampType": "CREATE_TIME", "key": b64(b"100234"),
             "value": b64(hub_sap::samples::MATMAS05.as_bytes()),
             "headers": [{"correlation_id": [101, 109, 117]}]},
            {"topic": "sap.idoc.matmas", "partition": 0, "offset": 8, "timestamp": 1764000000000i64,
             "timestampType": "CREATE_TIME", "key": null, "value": b64(b"garbage"), "headers": []}
        ]}
    });
    let answer = invoke(port, "kafka-bridge-lambda", &event).await;
    assert_eq!(answer["records"], 2);
    assert_eq!(answer["published"], 1);
    assert_eq!(answer["dead_lettered"], 1);
    let materials = drain_queue(
        &clients,
        &id("MaterialsQueue"),
        Duration::from_secs(30),
        |m| !m.is_empty(),
    )
    .await;
    let body: Value = serde_json::from_str(materials[0].body().unwrap()).unwrap();
    assert_eq!(body["key"], "100234");
    assert_eq!(body["correlation_id"], "emu");
    let letters = drain_queue(&clients, &id("BridgeDLQ"), Duration::from_secs(30), |m| {
        !m.is_empty()
    })
    .await;
    let letter = hub_bridge::BridgeDeadLetter::from_body(letters[0].body().unwrap()).unwrap();
    assert_eq!(letter.kafka.offset, 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_redrive_lambda_reports_then_moves_under_the_runtime_emulator() {
    // Scenario: the dlq-redrive binary, configured as the template's CustomersRedrive, invoked
    // as from the console: `{}` reports 2 movable letters and moves nothing; `{"dry_run":
    // false}` moves both back to the customers queue.
    let clients = clients().await;
    let stack = unique("emu-redrive");
    let (report, ctx) = provision(&clients, project_template(), &stack, &[]).await;
    let id = |l: &str| report.physical_id(l).unwrap().to_string();
    for key in ["1", "2"] {
        clients
            .sqs
            .send_message()
            .queue_url(id("CustomersDLQ"))
            .message_body(format!(r#"{{"entity":"customer","key":"{key}"}}"#))
            .send()
            .await
            .unwrap();
    }
    let env: Vec<String> = ctx
        .function_environment("CustomersRedrive")
        .unwrap()
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let (_emulator, port) = emulator("dlq-redrive", &env).await;
    let dry = invoke(port, "dlq-redrive", &json!({})).await;
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["totals"]["would_move"], 2);
    assert_eq!(dry["groups"]["transient/customer"]["would_move"], 2);
    assert_eq!(dry["stopped"], "drained");
    let moved = invoke(port, "dlq-redrive", &json!({"dry_run": false})).await;
    assert_eq!(moved["totals"]["moved"], 2, "{moved}");
    let back = drain_queue(
        &clients,
        &id("CustomersQueue"),
        Duration::from_secs(30),
        |m| m.len() >= 2,
    )
    .await;
    assert_eq!(back.len(), 2);
}
