//! The pipeline over in-memory adapters: every path a record can take, and outages waited out.

use hub_bridge::dead_letter::DeadLetterClass;
use hub_bridge::pipeline::MemoryPipeline;
use hub_bridge::ports::MemoryClaims;
use hub_bridge::route::EnrichmentPolicy;
use hub_bridge::testing::{fixture_records, mixed_with_poison, record};
use hub_bridge::{BreakerState, Settings};
use hub_model::claim_check::ClaimCheck;
use hub_sap::samples;
use std::sync::Arc;
use std::time::Duration;

type Mem = MemoryPipeline;

fn settings() -> Settings {
    let mut s = Settings::default();
    s.retry.base = Duration::from_millis(1);
    s.retry.cap = Duration::from_millis(20);
    s.breaker.failure_threshold = 3;
    s.breaker.open_for = Duration::from_millis(20);
    s.breaker.max_open_for = Duration::from_millis(50);
    s
}

fn pipeline(settings: Settings) -> Mem {
    MemoryPipeline::in_memory(settings)
}

#[tokio::test]
async fn fixtures_are_published_with_routing_attributes_and_poison_is_dead_lettered() {
    // Scenario: the fixtures with three poison records between them: every fixture is published
    // with entity/op/source_system/schema; each poison record is in the DLQ with its raw bytes
    // and coordinates; none blocks another.
    let p = pipeline(settings());
    let records = mixed_with_poison();
    let report = p.process(&records).await;
    assert_eq!(report.records, samples::changes().len() + 3);
    assert_eq!(report.published, samples::changes().len());
    assert_eq!(report.dead_lettered, 3);
    let published = p.publisher().published();
    let entities: Vec<&str> = published
        .iter()
        .map(|m| {
            m.attributes
                .iter()
                .find(|(k, _)| *k == "entity")
                .unwrap()
                .1
                .as_str()
        })
        .collect();
    assert_eq!(
        entities,
        [
            "material",
            "customer",
            "sales_order",
            "customer",
            "material",
            "supplier",
            "supplier",
            "supplier"
        ]
    );
    for m in &published {
        let names: Vec<&str> = m.attributes.iter().map(|(k, _)| *k).collect();
        assert_eq!(names, ["entity", "op", "source_system", "schema"]);
        let event: hub_model::ChangeEvent = serde_json::from_str(&m.body).unwrap();
        assert!(event.published_at.is_some());
        assert_eq!(event.event_id, m.event_id);
    }
    let letters = p.dead_letters().letters();
    let offsets: Vec<i64> = letters.iter().map(|d| d.kafka.offset).collect();
    assert_eq!(offsets.len(), 3);
    for d in &letters {
        let original = records.iter().find(|r| r.offset == d.kafka.offset).unwrap();
        assert_eq!(&d.to_record(None).unwrap(), original, "raw record kept");
        assert!(!d.error.message.is_empty());
    }
    let kinds: Vec<(i64, DeadLetterClass)> = {
        let mut v: Vec<_> = letters
            .iter()
            .map(|d| (d.kafka.offset, d.error.class))
            .collect();
        v.sort_by_key(|x| x.0);
        v
    };
    assert_eq!(kinds[0], (100, DeadLetterClass::Poison));
    assert_eq!(kinds[1], (101, DeadLetterClass::Poison));
    assert_eq!(kinds[2], (102, DeadLetterClass::Permanent));
    let snap = p.metrics().snapshot();
    let n = samples::changes().len();
    assert_eq!(
        (
            snap.received,
            snap.published,
            snap.dead_lettered,
            snap.records_done
        ),
        (n as u64 + 3, n as u64, 3, n as u64 + 3)
    );
}

#[tokio::test(start_paused = true)]
async fn an_sns_outage_opens_the_breaker_and_nothing_is_dead_lettered() {
    // Scenario: SNS is down: the chunk does not finish, the breaker opens and lets only its
    // probes through (on a paused clock, at most one per open period), the DLQ stays empty;
    // when SNS is back, everything is published once and the breaker closes.
    let p = Arc::new(pipeline(settings()));
    p.publisher().set_down(true);
    let mut state = p.breaker().subscribe();
    let task = tokio::spawn({
        let p = p.clone();
        async move { p.process(&fixture_records()).await }
    });
    tokio::time::timeout(
        Duration::from_secs(5),
        state.wait_for(|s| *s == BreakerState::Open),
    )
    .await
    .expect("breaker opens")
    .unwrap();
    assert!(!task.is_finished());
    let calls_while_open = p.publisher().calls();
    // Open for 20 ms, then 40 ms, then 50 ms (the cap) after each failed probe: 200 ms of the
    // paused clock hold four open periods, so at most four probes (at +20, +60, +110, +160).
    tokio::time::sleep(Duration::from_millis(200)).await;
    let probes = p.publisher().calls() - calls_while_open;
    assert!(
        (1..=4).contains(&probes),
        "the open breaker lets only its probes through: {probes} calls in 200 ms"
    );
    assert!(!task.is_finished());
    assert!(p.dead_letters().letters().is_empty());
    p.publisher().set_down(false);
    let report = tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(report.published, samples::changes().len());
    assert_eq!(p.publisher().published().len(), samples::changes().len());
    assert!(p.dead_letters().letters().is_empty());
    assert_eq!(p.breaker().state(), BreakerState::Closed);
    assert!(p.metrics().snapshot().retries > 0);
}

#[tokio::test]
async fn a_call_that_never_answers_times_out_and_is_retried() {
    // Scenario: SNS accepts the connection but never answers two calls (a stalled connection):
    // each call fails after the call timeout as a transient error, is retried, and every
    // fixture is published once; nothing is dead-lettered.
    let mut s = settings();
    s.call_timeout = Duration::from_millis(50);
    let p = pipeline(s);
    p.publisher().hang_next_calls(2);
    let report = tokio::time::timeout(Duration::from_secs(5), p.process(&fixture_records()))
        .await
        .expect("the stalled calls time out");
    assert_eq!(report.published, samples::changes().len());
    assert_eq!(p.publisher().published().len(), samples::changes().len());
    // The fixtures make one batch: two stalled calls, then the one that publishes it; each
    // stalled call retries all its entries.
    assert_eq!(p.publisher().calls(), 3);
    assert_eq!(
        p.metrics().snapshot().retries,
        2 * samples::changes().len() as u64
    );
    assert!(p.dead_letters().letters().is_empty());
}

#[tokio::test]
async fn refused_entries_go_to_the_dlq_and_the_rest_is_published() {
    // Scenario: SNS refuses one entry as a sender fault: it is dead-lettered (class permanent,
    // kind publish_rejected, with its event id); the others of the batch are published.
    let p = pipeline(settings());
    p.publisher()
        .reject_bodies_containing("\"entity\":\"customer\"");
    let report = p.process(&fixture_records()).await;
    let customers = 2;
    assert_eq!(report.published, samples::changes().len() - customers);
    let letters = p.dead_letters().letters();
    assert_eq!(letters.len(), customers);
    for d in letters {
        assert_eq!(d.error.class, DeadLetterClass::Permanent);
        assert_eq!(d.error.kind, "publish_rejected");
        assert_eq!(d.entity.as_deref(), Some("customer"));
        assert!(d.event_id.is_some());
    }
}

#[tokio::test]
async fn a_one_mib_idoc_travels_as_a_claim_check() {
    // Scenario: an ORDERS IDoc of 1 MiB gives an event over SNS's limit: its JSON goes to the
    // claim store and the published body is a pointer with the claim_check attribute.
    let p = pipeline(settings());
    let big = samples::large_order(1 << 20);
    let report = p
        .process(&[record("sap.idoc.orders", 7, big.as_bytes())])
        .await;
    assert_eq!((report.published, report.claim_checked), (1, 1));
    let m = &p.publisher().published()[0];
    assert!(m.size() < 1024);
    assert!(m.attributes.contains(&("claim_check", "s3".to_string())));
    assert!(
        m.attributes
            .contains(&("entity", "sales_order".to_string()))
    );
    let pointer = ClaimCheck::from_body(&m.body).expect("a pointer");
    let stored = p_claims(&p).get(&pointer.uri).expect("stored");
    assert_eq!(stored.len() as u64, pointer.bytes);
    let event: hub_model::ChangeEvent = serde_json::from_slice(&stored).unwrap();
    assert_eq!(event.event_id, m.event_id);
}

fn p_claims(p: &Mem) -> &MemoryClaims {
    p.claims()
}

#[tokio::test]
async fn thin_events_are_dead_lettered_or_published_as_configured() {
    // Scenario: by default a thin S/4 event goes to the DLQ as needs_enrichment with its entity
    // and key; with BRIDGE_THIN_EVENTS=publish it is published with enrichment=required.
    let thin = samples::thin();
    let r = record(thin.topic, 1, &thin.record.value);
    let p = pipeline(settings());
    p.process(std::slice::from_ref(&r)).await;
    let letters = p.dead_letters().letters();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].error.class, DeadLetterClass::NeedsEnrichment);
    assert_eq!(letters[0].entity.as_deref(), Some("sales_order"));
    assert!(letters[0].key.is_some());
    assert_eq!(p.metrics().snapshot().needs_enrichment, 1);

    let p = pipeline(Settings {
        enrichment: EnrichmentPolicy::PublishThin,
        ..settings()
    });
    p.process(&[r]).await;
    assert!(p.dead_letters().letters().is_empty());
    let m = &p.publisher().published()[0];
    assert!(
        m.attributes
            .contains(&("enrichment", "required".to_string()))
    );
}

#[tokio::test]
async fn a_dlq_outage_is_waited_out() {
    // Scenario: the DLQ is down when a poison record arrives: the chunk waits (nothing lost),
    // and completes once the DLQ is back.
    let p = Arc::new(pipeline(settings()));
    p.dead_letters().set_down(true);
    let task = tokio::spawn({
        let p = p.clone();
        async move { p.process(&[record("t", 0, b"garbage")]).await }
    });
    let retried = async {
        while p.metrics().snapshot().retries < 3 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(5), retried)
        .await
        .unwrap();
    assert!(!task.is_finished());
    p.dead_letters().set_down(false);
    let report = tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(report.dead_lettered, 1);
}

#[tokio::test]
async fn a_large_poison_value_moves_to_the_claim_store() {
    // Scenario: a 1 MiB garbage record cannot fit SQS: its raw value goes to the claim store
    // and the dead letter points at it.
    let p = pipeline(settings());
    let value = vec![b'#'; 1 << 20];
    p.process(&[record("t", 3, &value)]).await;
    let d = &p.dead_letters().letters()[0];
    assert!(d.value_b64.is_none());
    let c = d.value_claim_check.as_ref().expect("claim-checked value");
    assert_eq!(p.claims().get(&c.uri).unwrap(), value);
    assert!(d.body().len() < 64 * 1024);
}

#[tokio::test]
async fn only_failed_entries_are_retried() {
    // Scenario: three entries of the first batch fail with a retryable error: they alone are
    // sent again; every event is published exactly once, nothing is dead-lettered.
    let p = pipeline(settings());
    p.publisher().fail_next_entries(3);
    let report = p.process(&fixture_records()).await;
    assert_eq!(report.published, samples::changes().len());
    let published = p.publisher().published();
    let mut ids: Vec<&str> = published.iter().map(|m| m.event_id.as_str()).collect();
    ids.sort();
    ids.dedup();
    let n = samples::changes().len();
    assert_eq!((published.len(), ids.len()), (n, n), "each event once");
    assert_eq!(
        p.publisher().calls(),
        2,
        "one retry call, for the failed entries"
    );
    assert_eq!(p.metrics().snapshot().retries, 3);
    assert!(p.dead_letters().letters().is_empty());
}

#[tokio::test]
async fn fifo_mode_sets_group_and_deduplication_ids() {
    // Scenario: with SNS_FIFO the group is entity and key (changes of one entity stay in
    // order) and the deduplication id is the event id.
    let p = pipeline(Settings {
        fifo: true,
        ..settings()
    });
    p.process(&fixture_records()).await;
    let published = p.publisher().published();
    let pump = &published[0];
    assert_eq!(pump.group_id.as_deref(), Some("material:100234"));
    assert_eq!(pump.dedup_id.as_deref(), Some(pump.event_id.as_str()));
    for m in &published {
        assert!(m.group_id.is_some() && m.dedup_id.is_some());
    }
}

/// The fixtures' SAP times are 2026-11-20…27; a bridge clock at 2026-11-01 puts them weeks in
/// its future.
fn clock_at(rfc3339: &str) -> hub_bridge::Clock {
    hub_bridge::Clock::Fixed(
        chrono::DateTime::parse_from_rfc3339(rfc3339)
            .unwrap()
            .to_utc(),
    )
}

#[tokio::test]
async fn changes_from_the_future_are_dead_lettered_as_future_version() {
    // Scenario: the bridge's clock (fixed, no sleeping) is before the fixtures' SAP times: with
    // a one-day skew every change is further ahead and goes to the DLQ as poison
    // future_version, naming entity, key and the SAP time's field, not the time; with the clock
    // a few hours before the DEBMAS07 fixture (10:19:44 on 2026-11-20), it is published.
    let mut s = settings();
    s.clock = clock_at("2026-11-01T00:00:00Z");
    let p = pipeline(s.clone());
    let records = fixture_records();
    let report = p.process(&records).await;
    assert_eq!(report.published, 0);
    assert_eq!(report.dead_lettered, records.len());
    let letters = p.dead_letters().letters();
    for d in &letters {
        assert_eq!(d.error.class, DeadLetterClass::Poison);
        assert_eq!(d.error.kind, "future_version");
        assert!(d.entity.is_some() && d.key.is_some() && d.event_id.is_some());
        assert!(
            d.error.message.contains("ahead of the bridge's clock"),
            "{d:?}"
        );
        assert!(!d.error.message.contains("2026"), "{}", d.error.message);
        assert!(
            d.attributes()
                .contains(&("error_kind", "future_version".into()))
        );
    }
    let idoc = letters
        .iter()
        .find(|d| d.kafka.topic == "sap.idoc.debmas")
        .unwrap();
    assert_eq!(idoc.error.path.as_deref(), Some("EDI_DC40.CREDAT"));
    assert_eq!(
        (idoc.entity.as_deref(), idoc.key.as_deref()),
        (Some("customer"), Some("100123"))
    );
    let ce = letters
        .iter()
        .find(|d| d.kafka.topic == "sap.s4.events")
        .unwrap();
    assert_eq!(ce.error.path.as_deref(), Some("time"));

    // Within the skew (a day ahead at most): published.
    s.clock = clock_at("2026-11-20T00:00:00Z");
    let p = pipeline(s.clone());
    let debmas = records
        .iter()
        .find(|r| &*r.topic == "sap.idoc.debmas")
        .unwrap();
    assert_eq!(p.process(std::slice::from_ref(debmas)).await.published, 1);
    // A smaller skew refuses the same record: 10 h 19 min ahead is more than an hour.
    s.max_future_skew = Duration::from_secs(3600);
    let p = pipeline(s);
    let report = p.process(std::slice::from_ref(debmas)).await;
    assert_eq!((report.published, report.dead_lettered), (0, 1));
}

#[tokio::test]
async fn a_thin_event_from_the_future_is_refused_too() {
    // Scenario: a thin S/4 event carries a version as well; published thin (or enriched later),
    // it would pin its key just the same, so it is dead-lettered as future_version, not as
    // needs_enrichment.
    let mut s = settings();
    s.enrichment = EnrichmentPolicy::PublishThin;
    s.clock = clock_at("2026-11-01T00:00:00Z");
    let p = pipeline(s);
    let report = p
        .process(&[hub_bridge::testing::sample_record(samples::thin(), 0)])
        .await;
    assert_eq!((report.published, report.dead_lettered), (0, 1));
    let d = &p.dead_letters().letters()[0];
    assert_eq!(
        (d.error.class, d.error.kind.as_str()),
        (DeadLetterClass::Poison, "future_version")
    );
    assert_eq!(d.entity.as_deref(), Some("sales_order"));
}

#[tokio::test]
async fn idoc_times_of_a_configured_sender_are_published_in_utc() {
    // Scenario: IDOC_SENDER_TIME_ZONES gives the fixtures' sender S4PCLNT100 Europe/Berlin:
    // the DEBMAS07 fixture's CREDAT/CRETIM 2026-11-20 10:19:44 (winter time, +01:00) is
    // published with version and occurred_at 09:19:44Z; S/4 events (RFC 3339 with an offset)
    // are unchanged.
    let env = hub_core::config::Env::from_pairs(&[(
        "IDOC_SENDER_TIME_ZONES",
        "S4PCLNT100=Europe/Berlin",
    )]);
    let p = pipeline(Settings::from_env(&env).unwrap());
    p.process(&fixture_records()).await;
    let events: Vec<hub_model::ChangeEvent> = p
        .publisher()
        .published()
        .iter()
        .map(|m| serde_json::from_str(&m.body).unwrap())
        .collect();
    let customer = events
        .iter()
        .find(|e| e.source.message_type == "DEBMAS")
        .unwrap();
    assert_eq!(
        customer.version.at.to_rfc3339(),
        "2026-11-20T09:19:44+00:00"
    );
    assert_eq!(customer.occurred_at, customer.version.at);
    let bp = events
        .iter()
        .find(|e| e.event_id.ends_with("0f6b2c1e-8d7a-4c2b-9a51-3e0f1d2c4b77"))
        .unwrap();
    assert_eq!(bp.version.at.to_rfc3339(), "2026-11-20T10:21:07+00:00");
}

#[tokio::test]
async fn dead_letters_travel_ten_to_a_batch_within_256_kib() {
    // Scenario: 25 bad records, five of them 60 KiB: the DLQ gets every one exactly once, in
    // calls of at most ten letters and 256 KiB (SQS SendMessageBatch's limits), so a flood of
    // bad records costs a tenth of the requests.
    let p = pipeline(settings());
    let records: Vec<_> = (0..25)
        .map(|i| {
            let value = if i % 5 == 0 {
                vec![b'#'; 60 * 1024]
            } else {
                format!("garbage {i}").into_bytes()
            };
            record("t", i, &value)
        })
        .collect();
    let report = p.process(&records).await;
    assert_eq!(report.dead_lettered, 25);
    let letters = p.dead_letters().letters();
    let mut offsets: Vec<i64> = letters.iter().map(|d| d.kafka.offset).collect();
    offsets.sort_unstable();
    assert_eq!(offsets, (0..25).collect::<Vec<i64>>());
    let calls = p.dead_letters().calls();
    assert_eq!(calls.iter().sum::<usize>(), 25);
    assert!(calls.iter().all(|n| *n <= 10), "{calls:?}");
    assert!(calls.len() <= 4, "{calls:?}");
    let bytes: usize = letters.iter().map(|d| d.sqs_bytes()).sum();
    assert!(
        bytes / calls.len() <= 256 * 1024,
        "{bytes} bytes in {calls:?}"
    );
    assert_eq!(p.metrics().snapshot().dead_lettered, 25);
}

#[tokio::test]
async fn only_the_dead_letters_sqs_failed_are_sent_again() {
    // Scenario: SQS fails 3 entries of a batch of 10 (a partial SendMessageBatch answer): only
    // those 3 are sent again, and each letter reaches the DLQ exactly once.
    let p = pipeline(settings());
    p.dead_letters().fail_entries(3);
    let records: Vec<_> = (0..10)
        .map(|i| record("t", i, format!("garbage {i}").as_bytes()))
        .collect();
    let report = p.process(&records).await;
    assert_eq!(report.dead_lettered, 10);
    assert_eq!(p.dead_letters().calls(), vec![10, 3]);
    let mut offsets: Vec<i64> = p
        .dead_letters()
        .letters()
        .iter()
        .map(|d| d.kafka.offset)
        .collect();
    offsets.sort_unstable();
    assert_eq!(offsets, (0..10).collect::<Vec<i64>>());
    assert_eq!(p.metrics().snapshot().dead_lettered, 10);
}
