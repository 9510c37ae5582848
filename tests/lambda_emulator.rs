//! Each domain Lambda binary, started under cargo-lambda's Lambda Runtime API emulator
//! (`cargo lambda watch`), handles an SQS event carrying a fixture's change event end to end:
//! the record lands in DynamoDB Local.

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
    let port = free_port();
    let endpoints = hub_aws::clients::LocalEndpoints::from_env();
    let child = Command::new(cargo_lambda())
        .args(["lambda", "watch", "--ignore-changes", "-p", "domain-sync"])
        .args([
            "--invoke-address",
            "127.0.0.1",
            "--invoke-port",
            &port.to_string(),
        ])
        .args(["--env-var", &format!("TABLE_NAME={table}")])
        .args(["--env-var", &format!("DLQ_URL={dlq}")])
        .env("AWS_ENDPOINT_URL_DYNAMODB", &endpoints.dynamodb)
        .env("AWS_ENDPOINT_URL_SQS", &endpoints.sqs)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .current_dir(repo_root())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("cargo-lambda is installed (infra/local/install.sh)");
    let _emulator = Emulator(child);
    eventually(
        "the emulator to listen",
        Duration::from_secs(120),
        Duration::from_millis(200),
        || async { TcpStream::connect(("127.0.0.1", port)).ok().map(|_| ()) },
    )
    .await;

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
        let file = std::env::temp_dir().join(format!("{stack}-{binary}.json"));
        std::fs::write(&file, serde_json::to_vec(&sqs_event(fixture)).unwrap()).unwrap();
        let out = tokio::task::spawn_blocking({
            let file = file.clone();
            move || {
                Command::new(cargo_lambda())
                    .args(["lambda", "invoke", binary, "--invoke-address", "127.0.0.1"])
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
        let response: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(response, json!({"batchItemFailures": []}), "{binary}");
        let item = store.get(&key).await.unwrap();
        assert!(item.is_some(), "{binary} wrote {key:?}");
    }
}
