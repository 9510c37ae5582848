//! `hubctl replay` against the whole chain (`hubctl run`: the bridge, the domain functions
//! and the change stream, as separate processes) on an embedded Kafka of the test's own: a
//! window replayed twice changes neither the table nor the consolidated stream.

use hub_integration_tests::drills::{Chain, Rig, domains_drained, loads};
use hub_integration_tests::*;
use std::time::Duration;

fn replay(chain: &Chain, rig: &Rig, from: &str) -> serde_json::Value {
    let mut cmd = std::process::Command::new(workspace_binary("hubctl"));
    cmd.arg("replay")
        .arg("--execute")
        .args(["--topics", &chain.kafka_topics().join(","), "--from", from])
        // The chain's stack and parameters, without `hubctl run`'s own options.
        .args(chain.args.iter().skip(2))
        .current_dir(repo_root());
    for (k, v) in rig.proxied_env() {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("hubctl replay runs");
    assert!(
        out.status.success(),
        "hubctl replay: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("a JSON report")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_window_replayed_twice_changes_neither_the_table_nor_the_consolidated_stream() {
    // Scenario: 240 records (customers, materials, orders, suppliers, with repeats of the same
    // keys) go through the chain and are reconciled; a domain subscribes to the consolidated
    // topic. The whole window is replayed twice: both replays publish every change again, the
    // domain queues drain, and then the table is item for item what it was (`updated_at`
    // included), its stream holds no new record, and the domain got no message.
    let rig = Rig::start().await;
    let mut chain = Chain::new(&rig, "replay", &[]);
    let env = rig.proxied_env();
    let _bridge = chain.start_ready("bridge", &env).await;
    let _domains = chain.start_ready("domains", &env).await;
    let from = (chrono::Utc::now() - chrono::Duration::seconds(5)).to_rfc3339();
    chain.produce(loads(0, 240, 20));
    chain.flush().await;
    let changes = chain.changes();
    eventually(
        "the window applied",
        Duration::from_secs(180),
        Duration::from_secs(2),
        || async { (chain.reconcile().0 == Some(0)).then_some(()) },
    )
    .await;
    let table = format!("{}-hub", chain.stack);
    let stream = table_stream_arn(&rig.clients, &table).await;
    let (queues, _) = chain.domain_queues(&rig.clients).await;
    assert!(domains_drained(&rig.clients, &queues, Duration::from_secs(120)).await);
    // The change stream has published everything the table holds (the main job's counters).
    let written = stream_records(&rig.clients, &stream).await;
    eventually(
        "the change stream caught up",
        Duration::from_secs(120),
        Duration::from_millis(500),
        || {
            let line = _domains
                .lines()
                .into_iter()
                .rev()
                .find(|l| l.contains("consolidated published"));
            async move {
                let line = line?;
                let n = |word: &str| -> u64 {
                    line.split(word)
                        .nth(1)
                        .and_then(|r| r.split_whitespace().next())
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0)
                };
                (n("consolidated published ") + n(" skipped ") >= written).then_some(())
            }
        },
    )
    .await;
    let topic = format!(
        "arn:aws:sns:{}:123456789012:{}-consolidated",
        rig.clients.region(),
        chain.stack
    );
    let domain = subscribed_queue(
        &rig.clients,
        &topic,
        &format!("{}-domain", chain.stack),
        None,
    )
    .await;
    let before = table_items(&rig.clients, &table).await;
    for _ in 0..2 {
        let report = replay(&chain, &rig, &from);
        assert_eq!(report["published"], changes, "{report}");
        assert_eq!(report["dead_lettered"], 0, "{report}");
        assert!(domains_drained(&rig.clients, &queues, Duration::from_secs(180)).await);
    }
    assert_eq!(
        stream_records(&rig.clients, &stream).await,
        written,
        "no write reached the table's stream"
    );
    let after = table_items(&rig.clients, &table).await;
    assert_eq!(before.len(), after.len());
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(b, a, "item {:?} changed", b.key);
    }
    assert!(
        receive(&rig.clients, &domain).await.is_empty(),
        "no consolidated message for changes already applied"
    );
}
