//! The S/4 enricher against the local S/4 (SAP CAP, `infra/local/s4`), each test with an S/4 of
//! its own (`infra/local/s4-serve.sh` on a free port, its thin events to a topic of its own):
//!
//! - the HTTPS adapter and the mappings on what CAP answers: each object read from the API is
//!   the record its full event gives;
//! - the main job's loop: an OData `PATCH` on the S/4 → the thin event S/4 raises → the bridge
//!   → the enricher's queue → the enricher → the domain queue → the table;
//! - the drills, with a fault proxy in front of the S/4 and the template's `maxReceiveCount`:
//!   slow, 500, 429 with `Retry-After`, and an outage of 30 probe periods (the template's
//!   30 minutes, with the probe every second instead of every minute), each ending with every
//!   change in the table and nothing dead-lettered.

use hub_aws::dynamo_store::DynamoStore;
use hub_enrich::{Enricher, Fate, Settings, Thin};
use hub_integration_tests::*;
use hub_local::s4::LocalS4;
use hub_sap::samples::{self, change_event as full, thin_event as thin};
use hub_store::{EntityStore, keys};
use s4_enricher::credentials::S4Secret;
use s4_enricher::s4_http::HttpS4;
use std::time::Duration;

/// A local S/4 of the test's own: its thin events to `topic` (none: only logged).
async fn local_s4(topic: Option<&str>) -> LocalS4 {
    let bootstrap = kafka_bootstrap();
    LocalS4::start(&repo_root(), topic.map(|t| (bootstrap.as_str(), t)))
        .await
        .expect("a local S/4")
}

/// Changes `field` of business partner `key` with an OData V2 `PATCH`.
fn patch(s4: &LocalS4, key: &str, field: &str, value: &str) {
    hub_local::s4::patch_business_partner(&s4.url, key, field, value).expect("the PATCH");
}

fn basic() -> S4Secret {
    S4Secret::parse(r#"{"auth":"basic","username":"hub","password":"hub-local"}"#).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_s4_answers_each_object_as_its_full_event_carries_it() {
    // Scenario: the thin business partner, product and sales order events, enriched over HTTP
    // from SAP CAP's OData V2 (seeded with the fixtures' objects), give the records of the full
    // events, in one call per entity; the customer role of partner 100200 comes with its sales
    // area; a wrong password is a failed call (left for later), never a dead letter.
    let s4 = local_s4(None).await;
    let api = HttpS4::new(&s4.url, basic(), Duration::from_secs(10), true).unwrap();
    let enricher = Enricher::new(api, Settings::default());
    let fixtures = [
        samples::BUSINESS_PARTNER,
        samples::PRODUCT_BINARY,
        samples::SALES_ORDER,
    ];
    let mut batch: Vec<Thin> = fixtures
        .iter()
        .enumerate()
        .map(|(i, f)| Thin {
            id: i.to_string(),
            event: thin(f),
        })
        .collect();
    let mut other = thin(samples::BUSINESS_PARTNER);
    other.key = "100200".into();
    batch.push(Thin {
        id: "3".into(),
        event: other,
    });
    let fates = enricher.enrich(&batch, None).await;
    for (fixture, fate) in fixtures.iter().zip(&fates) {
        let Fate::Enriched(got) = fate else {
            panic!("{fate:?}")
        };
        let want = full(fixture);
        assert_eq!(got.data, want.data, "{}", want.entity);
        assert_eq!((&got.key, got.op), (&want.key, want.op));
    }
    let Fate::Enriched(role) = &fates[3] else {
        panic!("{:?}", fates[3])
    };
    let Some(hub_model::Record::Customer(c)) = &role.data else {
        panic!()
    };
    assert_eq!(c.account_group.as_deref(), Some("KUNA"));
    assert_eq!(c.sales_areas[0].partners[0].partner, "100200");
    assert_eq!(enricher.metrics().snapshot().calls, 3);

    let mut wrong = basic();
    wrong.auth = s4_enricher::credentials::Auth::Basic {
        username: "hub".into(),
        password: "wrong".into(),
    };
    let api = HttpS4::new(&s4.url, wrong, Duration::from_secs(10), true).unwrap();
    let refused = Enricher::new(api, Settings::default());
    let fates = refused.enrich(&batch[..1], None).await;
    assert!(matches!(fates[0], Fate::Unavailable { .. }), "{fates:?}");
}

/// The main job with the enricher reading `s4_url`, on its own stack and topics.
fn main_job(stack: &str, s4_url: &str) -> MainJob {
    let mut args: Vec<String> = [
        "--status-interval",
        "1",
        "--stack-name",
        stack,
        "--s4",
        s4_url,
        "--probe-interval",
        "1",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let params = hub_model::object::sap_topics()
        .map(|t| format!("{}={stack}.{}", t.parameter, t.name))
        .chain([
            format!("KafkaConsumerGroupPrefix={stack}"),
            // The drills' time: a thin event S/4 could not answer comes back after a second
            // (the template's default: a minute), as the probe runs every second.
            "EnricherRetryDelaySeconds=1".to_string(),
        ]);
    for p in params {
        args.extend(["--parameter".to_string(), p]);
    }
    MainJob::start(&args, &[])
}

/// The last status line's enricher counter `name` (`enriched 3` → 3).
fn enricher_count(job: &MainJob, name: &str) -> Option<u64> {
    let lines = job.lines();
    let line = lines
        .iter()
        .rev()
        .find(|l| l.contains("| enricher events"))?;
    let part = line
        .split(" | ")
        .find(|p| p.starts_with("enricher events"))?;
    let words: Vec<&str> = part.split_whitespace().collect();
    let i = words.iter().position(|w| *w == name)?;
    words.get(i + 1)?.parse().ok()
}

/// A DLQ count of the last status line (`Enricher 0`).
fn dlq_count(job: &MainJob, queue: &str) -> Option<u64> {
    let lines = job.lines();
    let line = lines.iter().rev().find(|l| l.contains("| DLQ "))?;
    let part = line.split(" | ").find(|p| p.starts_with("DLQ "))?;
    let words: Vec<&str> = part.split_whitespace().collect();
    let i = words.iter().position(|w| *w == queue)?;
    words.get(i + 1)?.parse().ok()
}

/// Waits until customer `key` in the table has search term `term`.
async fn lands(store: &DynamoStore, key: &str, term: &str, within: Duration) {
    let k = keys::customer(key);
    eventually(
        &format!("customer {key} with search term {term} in the table"),
        within,
        Duration::from_millis(300),
        || {
            let (store, k) = (store.clone(), k.clone());
            async move {
                let item = store.get(&k).await.ok().flatten()?;
                (item.attrs.get("search_term")?.as_str()? == term).then_some(())
            }
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_in_s4_reaches_the_table_whole_through_every_drill() {
    // Scenario: the main job with the enricher reading the local S/4 through a fault proxy.
    // 1. The loop: PATCH a business partner → thin event → bridge → enricher → table.
    // 2. Slow: S/4 answers after 2 s; the change lands.
    // 3. 500s, then 4. 429s with Retry-After: calls fail, the breaker opens and the mapping
    //    turns off; once S/4 answers the probe turns it on and the change lands.
    // 5. An outage of 30 probe periods while S/4 keeps changing (a change a second): the
    //    mapping goes off, nothing is received meanwhile, and afterwards every change is
    //    accounted for (each thin event enriched, or superseded by a newer one of its key).
    // Through all of it: nothing in the enricher's DLQ, nothing dead-lettered, with the queue's
    // real maxReceiveCount (the template's 5).
    let clients = clients().await;
    let stack = unique("enrich");
    let s4 = local_s4(Some(&format!("{stack}.sap.s4.events"))).await;
    let proxy = Proxy::start(s4.url.trim_start_matches("http://")).await;
    let mut job = main_job(&stack, &proxy.endpoint);
    let store = DynamoStore::new(clients.dynamodb.clone(), format!("{stack}-hub"));
    eventually(
        "the enricher running",
        Duration::from_secs(120),
        Duration::from_millis(200),
        || {
            let ready = job.printed(|l| l.starts_with("S/4 enricher reading"))
                && job.printed(|l| l.contains("| enricher events"));
            async move { ready.then_some(()) }
        },
    )
    .await;
    let mut produced = 0u64;

    // 1. The loop.
    patch(&s4, "100123", "SearchTerm1", "LOOP");
    produced += 1;
    lands(&store, "100123", "LOOP", Duration::from_secs(90)).await;

    // 2. Slow.
    proxy.set(Fault::Slow(Duration::from_secs(2)));
    patch(&s4, "100123", "SearchTerm1", "SLOW");
    produced += 1;
    lands(&store, "100123", "SLOW", Duration::from_secs(60)).await;
    proxy.set(Fault::None);

    // 3. and 4.: 500s, then 429s.
    let offs = |job: &MainJob| {
        job.lines()
            .iter()
            .filter(|l| l.contains("s4 enricher mapping off"))
            .count()
    };
    for (fault, term) in [
        (Fault::ServerErrors, "FIVEHUNDRED"),
        (Fault::TooManyRequests(2), "THROTTLED"),
    ] {
        let before = offs(&job);
        proxy.set(fault);
        patch(&s4, "100123", "SearchTerm1", term);
        produced += 1;
        eventually(
            &format!("the mapping off under {}", fault.as_str()),
            Duration::from_secs(60),
            Duration::from_millis(200),
            || {
                let now = offs(&job);
                async move { (now > before).then_some(()) }
            },
        )
        .await;
        proxy.set(Fault::None);
        lands(&store, "100123", term, Duration::from_secs(60)).await;
    }
    assert!(
        enricher_count(&job, "rate-limited").unwrap_or(0) > 0,
        "Retry-After held calls back"
    );
    let offs_before = offs(&job);

    // 5. The outage: 30 probe periods, a change every second meanwhile.
    proxy.set(Fault::Refused);
    let keys = ["100123", "100200"];
    let mut last = std::collections::BTreeMap::new();
    for i in 0..30u32 {
        let key = keys[i as usize % 2];
        let term = format!("OUT{i:02}");
        patch(&s4, key, "SearchTerm1", &term);
        produced += 1;
        last.insert(key, term);
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    assert!(
        offs(&job) > offs_before,
        "the breaker turned the mapping off during the outage"
    );
    proxy.set(Fault::None);
    for (key, term) in &last {
        lands(&store, key, term, Duration::from_secs(90)).await;
    }

    // Every thin event produced is accounted for: enriched or superseded, none lost, none
    // dead-lettered, none left.
    eventually(
        "the enricher's counters accounting for every change",
        Duration::from_secs(30),
        Duration::from_millis(500),
        || {
            let settled = enricher_count(&job, "enriched").unwrap_or(0)
                + enricher_count(&job, "superseded").unwrap_or(0);
            async move { (settled == produced).then_some(()) }
        },
    )
    .await;
    assert_eq!(enricher_count(&job, "dead-lettered"), Some(0));
    assert_eq!(enricher_count(&job, "not-found"), Some(0));
    assert_eq!(dlq_count(&job, "Enricher"), Some(0));
    assert_eq!(dlq_count(&job, "Customers"), Some(0));
    assert_eq!(dlq_count(&job, "Bridge"), Some(0));
    let status = job.terminate(Duration::from_secs(60)).await;
    assert!(status.success(), "{status:?}");
}
