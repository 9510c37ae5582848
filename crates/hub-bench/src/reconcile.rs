//! `hub-bench reconcile`: how fast `hubctl reconcile` accounts for changes against DynamoDB
//! Local, against a competent peer in the same run.
//!
//! The load: `--changes` customer changes over `--keys` keys (several versions per key), the
//! table holding each key at its newest version (so every change is applied, the case where
//! every key must be read). Measured, each over the same table:
//! - **hub**: `hub_reconcile::account` over `hub_aws::table_versions::DynamoVersions`
//!   (`BatchGetItem`, 100 keys, one read per distinct key, 8 batches in flight);
//! - **peer**: what a competent team writes first with the SDK: one `GetItem` per distinct key,
//!   8 in flight, the same comparison;
//! - **naive**: one `GetItem` per change, one at a time (on a sample, extrapolated).
//!
//! Reported: changes accounted per second, requests, read units DynamoDB reported
//! (`ReturnConsumedCapacity`), and the hub's speed as a multiple of each.

use anyhow::Context as _;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, PutRequest,
    ReturnConsumedCapacity, ScalarAttributeType, WriteRequest,
};
use futures::StreamExt;
use hub_aws::AwsClients;
use hub_aws::clients::LocalEndpoints;
use hub_aws::table_versions::DynamoVersions;
use hub_model::{Entity, Version};
use hub_reconcile::{Change, Expected, ExpectedVersion, Found, Options, account};
use hub_store::keys;
use serde_json::json;
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

/// Arguments of `hub-bench reconcile`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Changes to account for.
    #[arg(long, default_value_t = 20_000)]
    changes: u64,
    /// Distinct keys they fall on.
    #[arg(long, default_value_t = 5_000)]
    keys: u64,
    /// Changes the naive peer reads (its rate is extrapolated).
    #[arg(long, default_value_t = 1_000)]
    naive_sample: u64,
    /// Where the figures go as JSON.
    #[arg(long, default_value = "target/bench/reconcile.json")]
    out: PathBuf,
}

fn version(i: u64) -> Version {
    let at = chrono::DateTime::parse_from_rfc3339("2026-11-20T10:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc)
        + chrono::Duration::milliseconds(i as i64);
    Version::new(at, 0)
}

async fn create_table(clients: &AwsClients, name: &str) -> anyhow::Result<()> {
    let attr = |n: &str| {
        AttributeDefinition::builder()
            .attribute_name(n)
            .attribute_type(ScalarAttributeType::S)
            .build()
    };
    let key = |n: &str, t: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(n)
            .key_type(t)
            .build()
    };
    clients
        .dynamodb
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attr("pk")?)
        .attribute_definitions(attr("sk")?)
        .key_schema(key("pk", KeyType::Hash)?)
        .key_schema(key("sk", KeyType::Range)?)
        .send()
        .await
        .context("creating the bench's table")?;
    Ok(())
}

/// The load: change `i` is on key `i % keys`, with a version growing with `i`.
fn load(changes: u64, keys: u64) -> Vec<Expected> {
    (0..changes)
        .map(|i| {
            Expected::Change(Change {
                entity: Entity::Customer,
                key: (100_000 + i % keys).to_string(),
                version: ExpectedVersion::exact(&version(i)),
                op: None,
                event_id: None,
                record: None,
            })
        })
        .collect()
}

async fn fill(clients: &AwsClients, table: &str, changes: u64, keys: u64) -> anyhow::Result<()> {
    // Each key at the version of its last change.
    let newest: HashMap<u64, u64> = (0..changes).map(|i| (i % keys, i)).collect();
    let items: Vec<WriteRequest> = newest
        .iter()
        .map(|(k, i)| {
            let key = keys::item(Entity::Customer, &(100_000 + k).to_string());
            let item = HashMap::from([
                ("pk".to_string(), AttributeValue::S(key.pk)),
                ("sk".to_string(), AttributeValue::S(key.sk)),
                (
                    "version".to_string(),
                    AttributeValue::S(version(*i).to_string()),
                ),
                ("deleted".to_string(), AttributeValue::Bool(false)),
                (
                    "name".to_string(),
                    AttributeValue::S(format!("customer {k}")),
                ),
            ]);
            WriteRequest::builder()
                .put_request(PutRequest::builder().set_item(Some(item)).build().unwrap())
                .build()
        })
        .collect();
    let mut writes = futures::stream::iter(items.chunks(25).map(<[WriteRequest]>::to_vec))
        .map(|chunk| async move {
            let mut pending = chunk;
            while !pending.is_empty() {
                let out = clients
                    .dynamodb
                    .batch_write_item()
                    .request_items(table, pending)
                    .send()
                    .await?;
                pending = out
                    .unprocessed_items()
                    .and_then(|u| u.get(table))
                    .cloned()
                    .unwrap_or_default();
            }
            Ok::<_, anyhow::Error>(())
        })
        .buffer_unordered(8);
    while let Some(r) = writes.next().await {
        r?;
    }
    Ok(())
}

/// One `GetItem` per key, `concurrency` in flight: the peer. Returns (applied, requests, units).
async fn get_items(
    clients: &AwsClients,
    table: &str,
    expected: &[Expected],
    distinct: bool,
    concurrency: usize,
) -> anyhow::Result<(u64, u64, f64)> {
    let mut wanted: Vec<&Change> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for e in expected {
        if let Expected::Change(c) = e
            && (!distinct || seen.insert(c.key.as_str()))
        {
            wanted.push(c);
        }
    }
    let mut reads = futures::stream::iter(wanted)
        .map(|c| async move {
            let key = keys::item(c.entity, &c.key);
            let out = clients
                .dynamodb
                .get_item()
                .table_name(table)
                .key("pk", AttributeValue::S(key.pk))
                .key("sk", AttributeValue::S(key.sk))
                .projection_expression("pk, sk, version, deleted")
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await?;
            let stored = out
                .item()
                .and_then(|i| i.get("version"))
                .and_then(|v| v.as_s().ok())
                .and_then(|v| v.parse::<Version>().ok());
            let units = out
                .consumed_capacity()
                .and_then(|c| c.capacity_units())
                .unwrap_or(0.0);
            Ok::<_, anyhow::Error>((c.key.clone(), stored, units))
        })
        .buffer_unordered(concurrency);
    let mut stored: HashMap<String, Option<Version>> = HashMap::new();
    let (mut requests, mut units) = (0u64, 0.0f64);
    while let Some(r) = reads.next().await {
        let (k, v, u) = r?;
        requests += 1;
        units += u;
        stored.insert(k, v);
    }
    // The same comparison as the hub's, over every change whose key was read.
    let mut applied = 0;
    for e in expected {
        if let Expected::Change(c) = e
            && let Some(Some(v)) = stored.get(&c.key)
            && c.version.reached_by(v)
        {
            applied += 1;
        }
    }
    Ok((applied, requests, units))
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let clients = AwsClients::local(&LocalEndpoints::from_env()).await;
    let table = format!("bench-reconcile-{}", chrono::Utc::now().timestamp_millis());
    let keys = args.keys.clamp(1, args.changes.max(1));
    create_table(&clients, &table).await?;
    let filled = Instant::now();
    fill(&clients, &table, args.changes, keys).await?;
    eprintln!(
        "table {table}: {keys} keys written in {:.1} s",
        filled.elapsed().as_secs_f64()
    );
    let expected = load(args.changes, keys);

    // The hub.
    let versions = DynamoVersions::new(clients.dynamodb.clone(), table.clone());
    let t = Instant::now();
    let report = account(
        &expected,
        &Found::new(),
        &versions,
        &Options::default(),
        |_| {},
    )
    .await?;
    let hub_s = t.elapsed().as_secs_f64();
    let hub_applied = report.total().applied;
    anyhow::ensure!(
        hub_applied == args.changes,
        "the hub found {hub_applied} of {} changes applied",
        args.changes
    );

    // The competent peer.
    let t = Instant::now();
    let (peer_applied, peer_requests, peer_units) =
        get_items(&clients, &table, &expected, true, 8).await?;
    let peer_s = t.elapsed().as_secs_f64();
    anyhow::ensure!(
        peer_applied == args.changes,
        "the peer found {peer_applied} applied"
    );

    // The naive peer, on a sample.
    let sample = &expected[..(args.naive_sample.min(args.changes)) as usize];
    let t = Instant::now();
    let (_, naive_requests, naive_units) = get_items(&clients, &table, sample, false, 1).await?;
    let naive_s = t.elapsed().as_secs_f64();

    let rate = |n: u64, s: f64| n as f64 / s.max(1e-9);
    let hub_rate = rate(args.changes, hub_s);
    let peer_rate = rate(args.changes, peer_s);
    let naive_rate = rate(sample.len() as u64, naive_s);
    println!(
        "reconcile: {} changes over {keys} keys, every one applied, against DynamoDB Local",
        args.changes
    );
    println!(
        "{:<46} {:>11} {:>9} {:>11} {:>12}",
        "design", "changes/s", "requests", "read units", "hub is ×"
    );
    println!(
        "{:<46} {:>11.0} {:>9} {:>11.1} {:>12}",
        "hub (BatchGetItem 100 keys, 8 in flight)",
        hub_rate,
        versions.requests(),
        versions.read_units(),
        "1.0"
    );
    println!(
        "{:<46} {:>11.0} {:>9} {:>11.1} {:>12.1}",
        "peer (GetItem per distinct key, 8 in flight)",
        peer_rate,
        peer_requests,
        peer_units,
        hub_rate / peer_rate
    );
    println!(
        "{:<46} {:>11.0} {:>9} {:>11.1} {:>12.1}",
        format!(
            "naive (GetItem per change, 1 at a time; {} sampled)",
            sample.len()
        ),
        naive_rate,
        naive_requests,
        naive_units,
        hub_rate / naive_rate
    );
    let out = json!({
        "changes": args.changes,
        "keys": keys,
        "hub": {"changes_per_s": hub_rate, "seconds": hub_s, "requests": versions.requests(), "read_units": versions.read_units()},
        "peer": {"changes_per_s": peer_rate, "seconds": peer_s, "requests": peer_requests, "read_units": peer_units},
        "naive": {"changes_per_s": naive_rate, "sampled": sample.len(), "requests": naive_requests, "read_units": naive_units},
        "hub_vs_peer": hub_rate / peer_rate,
        "hub_vs_naive": hub_rate / naive_rate,
    });
    if let Some(dir) = args.out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&args.out, serde_json::to_string_pretty(&out)?)?;
    clients
        .dynamodb
        .delete_table()
        .table_name(&table)
        .send()
        .await
        .ok();
    Ok(ExitCode::SUCCESS)
}
