//! The main job (`hubctl run --seed`, what `infra/local/up.sh --seed` runs) on the local stack:
//! the whole chain comes up (provisioning, the bridge on the embedded Kafka, the domain functions
//! under the local event source mapping), the sample fixtures land in the table as typed records,
//! the status line counts them, and SIGTERM stops it cleanly.

use hub_aws::dynamo_store::DynamoStore;
use hub_integration_tests::*;
use hub_store::{EntityStore, keys};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_main_job_with_seed_lands_the_fixtures_in_the_table() {
    // Scenario: `hubctl run --seed` on its own stack and topics: the customer, the material,
    // the order and the supplier of the fixtures are in the table as typed records; the status line shows the
    // bridge's and the domains' counts; SIGTERM drains and exits 0.
    let clients = clients().await;
    let stack = unique("main");
    let params: Vec<String> = hub_model::object::sap_topics()
        .map(|t| format!("{}={stack}.{}", t.parameter, t.name))
        .chain([format!("KafkaConsumerGroupPrefix={stack}")])
        .collect();
    let mut args: Vec<String> = ["--seed", "--status-interval", "1", "--stack-name", &stack]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for p in &params {
        args.extend(["--parameter".to_string(), p.clone()]);
    }
    // A domain watching the consolidated topic from before the job starts: the stack
    // provisioned first, then `hubctl tail consolidated` subscribed.
    let overrides: Vec<(&str, &str)> = params.iter().filter_map(|p| p.split_once('=')).collect();
    provision(&clients, project_template(), &stack, &overrides).await;
    let mut tail = std::process::Command::new(workspace_binary("hubctl"));
    tail.args([
        "tail",
        "consolidated",
        "--max",
        "4",
        "--idle-timeout",
        "120",
        "--stack-name",
        &stack,
    ])
    .current_dir(repo_root())
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped());
    for p in &params {
        tail.args(["--parameter", p]);
    }
    let mut tail = tail.spawn().expect("hubctl tail runs");
    let mut tail_err = std::io::BufReader::new(tail.stderr.take().unwrap());
    let mut first = String::new();
    std::io::BufRead::read_line(&mut tail_err, &mut first).unwrap();
    assert!(first.starts_with("Tailing"), "{first}");
    let mut job = MainJob::start(&args, &[]);

    let store = DynamoStore::new(clients.dynamodb.clone(), format!("{stack}-hub"));
    for (entity, key) in [
        ("customer", keys::customer("100123")),
        ("material", keys::material("100234")),
        ("sales_order", keys::order("45001")),
        ("supplier", keys::supplier("300123")),
    ] {
        let item = eventually(
            &format!("the {entity} of the fixtures in the table"),
            Duration::from_secs(120),
            Duration::from_millis(500),
            || {
                let (store, key) = (store.clone(), key.clone());
                async move { store.get(&key).await.ok().flatten() }
            },
        )
        .await;
        assert_eq!(item.attrs["entity"], entity, "{key:?}");
        assert!(item.version().is_some(), "{key:?} has a version");
    }
    eventually(
        "a status line counting the seeded records",
        Duration::from_secs(30),
        Duration::from_millis(200),
        || {
            let seen = job.printed(|l| {
                l.contains("bridge consumed 7 published 7")
                    && l.contains("customers applied")
                    && l.contains("suppliers applied")
            });
            async move { seen.then_some(()) }
        },
    )
    .await;
    assert!(
        job.printed(|l| l.starts_with("Hub running: Kafka bootstrap")),
        "{:?}",
        job.lines()
    );
    assert!(
        job.printed(|l| l.starts_with("Seeded 7 sample records")),
        "{:?}",
        job.lines()
    );
    // The consolidated stream: one message per record applied (the 7 samples are 4 records:
    // the business partner, the product and the S/4 change update the same ones, or are
    // stale), on the status line and on the topic.
    eventually(
        "the status line counting the consolidated messages",
        Duration::from_secs(60),
        Duration::from_millis(200),
        || {
            let seen = job.printed(|l| l.contains("consolidated published 4 skipped"));
            async move { seen.then_some(()) }
        },
    )
    .await;
    let out = tokio::task::spawn_blocking(move || tail.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let mut entities: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            assert_eq!(v["attributes"]["entity"], v["message"]["entity"], "{l}");
            v["message"]["entity"].as_str().unwrap().to_string()
        })
        .collect();
    entities.sort();
    assert_eq!(
        entities,
        ["customer", "material", "sales_order", "supplier"]
    );
    let status = job.terminate(Duration::from_secs(40)).await;
    assert!(status.success(), "{status:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_main_job_stops_within_its_bound_when_the_broker_is_gone() {
    // Scenario: `hubctl run --seed` on a Kafka of the test's own; once the bridge has published
    // the fixtures, the broker goes away. SIGTERM: the bridge's final commit and leaving the
    // group cannot reach it, and the job still exits 0 within the bridge's close bound (5 s)
    // and a margin, instead of hanging after "Bridge stopped".
    let stack = unique("main-gone");
    let kafka = hub_kafka::EmbeddedKafka::start(1, &[]).unwrap();
    let params: Vec<String> = hub_model::object::sap_topics()
        .map(|t| format!("{}={stack}.{}", t.parameter, t.name))
        .chain([format!("KafkaConsumerGroupPrefix={stack}")])
        .collect();
    let mut args: Vec<String> = ["--seed", "--status-interval", "1", "--stack-name", &stack]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for p in &params {
        args.extend(["--parameter".to_string(), p.clone()]);
    }
    let mut job = MainJob::start(
        &args,
        &[("KAFKA_BOOTSTRAP_SERVERS", kafka.bootstrap_servers())],
    );
    eventually(
        "the bridge to publish the fixtures",
        Duration::from_secs(120),
        Duration::from_millis(200),
        || {
            let seen = job.printed(|l| l.contains("bridge consumed 7 published 7"));
            async move { seen.then_some(()) }
        },
    )
    .await;
    drop(kafka);
    let started = std::time::Instant::now();
    let status = job.terminate(Duration::from_secs(30)).await;
    let took = started.elapsed();
    eprintln!("hubctl run, SIGTERM with the broker gone: {status:?} after {took:?}");
    assert!(status.success(), "{status:?}");
    assert!(took < Duration::from_secs(5 + 3), "{took:?}");
}
