//! The enricher over an in-memory S/4 that answers `$filter` reads as S/4 does, with the
//! fixtures as its objects: enriched equals full, one read per distinct key, versions, not
//! found, outages, throttling, refused requests.

use hub_enrich::api::CallError;
use hub_enrich::{BreakerState, Enricher, Fate, MemoryS4, Settings, Thin};
use hub_model::{ChangeEvent, Op, Version};
use hub_sap::samples::{self, change_event as full, odata_v2_entity, thin_event as thin};
use std::sync::Arc;
use std::time::Duration;

/// The three objects' fixtures, their entity sets and key properties.
const OBJECTS: [(&str, &str, &str); 3] = [
    (
        samples::BUSINESS_PARTNER,
        "A_BusinessPartner",
        "BusinessPartner",
    ),
    (samples::PRODUCT_BINARY, "A_Product", "Product"),
    (samples::SALES_ORDER, "A_SalesOrder", "SalesOrder"),
];

fn s4_with_fixtures() -> MemoryS4 {
    let s4 = MemoryS4::new();
    for (fixture, set, property) in OBJECTS {
        s4.put(set, property, odata_v2_entity(fixture));
    }
    s4
}

fn settings() -> Settings {
    Settings {
        rate_limit: 1000.0,
        ..Settings::default()
    }
}

fn batch(events: Vec<ChangeEvent>) -> Vec<Thin> {
    events
        .into_iter()
        .enumerate()
        .map(|(i, event)| Thin {
            id: format!("m{i}"),
            event,
        })
        .collect()
}

#[tokio::test]
async fn a_thin_event_of_each_object_comes_out_as_the_full_event() {
    // Scenario: the thin business partner, product and sales order events, enriched from the
    // fixtures' objects, equal the full events of the same data, but for the version: the
    // newer of the event's and the object's last change (here the event's, as the objects
    // changed a few seconds before their events).
    let e = Enricher::new(s4_with_fixtures(), settings());
    let thins: Vec<ChangeEvent> = OBJECTS.iter().map(|(f, _, _)| thin(f)).collect();
    let fates = e.enrich(&batch(thins.clone()), None).await;
    for ((fixture, _, _), (fate, thin)) in OBJECTS.iter().zip(fates.iter().zip(&thins)) {
        let Fate::Enriched(got) = fate else {
            panic!("{fate:?}")
        };
        let want = full(fixture);
        assert_eq!(got.data, want.data);
        assert_eq!(
            (got.entity, &got.key, got.op),
            (want.entity, &want.key, want.op)
        );
        assert_eq!(got.version, thin.version);
        assert_eq!(got.event_id, thin.event_id);
        assert_eq!(got.schema, want.schema);
    }
    assert_eq!(e.api().calls().len(), 3, "one call per entity");
}

#[tokio::test]
async fn one_read_per_distinct_key_and_several_keys_per_call() {
    // Scenario: 30 events over 3 products and 2 orders take 2 calls; each key's newest event
    // is enriched and the others are superseded.
    let s4 = s4_with_fixtures();
    for k in ["200001", "200002"] {
        let mut p = odata_v2_entity(samples::PRODUCT_BINARY);
        p["Product"] = k.into();
        s4.put("A_Product", "Product", p);
    }
    let mut so = odata_v2_entity(samples::SALES_ORDER);
    so["SalesOrder"] = "45003".into();
    s4.put("A_SalesOrder", "SalesOrder", so);
    let mut events = Vec::new();
    for i in 0..30u64 {
        let mut t = if i % 5 < 3 {
            thin(samples::PRODUCT_BINARY)
        } else {
            thin(samples::SALES_ORDER)
        };
        t.key = match i % 5 {
            0 => "100234",
            1 => "200001",
            2 => "200002",
            3 => "45002",
            _ => "45003",
        }
        .into();
        t.version = Version::new(t.version.at, i);
        events.push(t);
    }
    let e = Enricher::new(s4, settings());
    let fates = e.enrich(&batch(events), None).await;
    let enriched = fates
        .iter()
        .filter(|f| matches!(f, Fate::Enriched(_)))
        .count();
    let superseded = fates
        .iter()
        .filter(|f| matches!(f, Fate::Superseded))
        .count();
    assert_eq!((enriched, superseded), (5, 25));
    for (i, f) in fates.iter().enumerate() {
        // The newest of each key is one of the last five (the highest tie-breakers).
        assert_eq!(matches!(f, Fate::Enriched(_)), i >= 25, "{i}");
    }
    assert_eq!(e.api().calls().len(), 2);
    let c = e.metrics().snapshot();
    assert_eq!(
        (c.calls, c.events, c.enriched, c.superseded),
        (2, 30, 5, 25)
    );
}

#[tokio::test]
async fn a_late_enrichment_carries_the_objects_newer_change() {
    // Scenario: the object changed after the event (LastChangeDateTime later than the event's
    // time): the enriched event's version is the object's, so that it cannot lose to the
    // change it already shows; an earlier last change keeps the event's version.
    let s4 = s4_with_fixtures();
    let later = chrono::DateTime::parse_from_rfc3339("2026-11-20T11:00:00Z").unwrap();
    let mut p = odata_v2_entity(samples::PRODUCT_BINARY);
    p["LastChangeDateTime"] = format!("/Date({}+0000)/", later.timestamp_millis()).into();
    s4.put("A_Product", "Product", p);
    let t = thin(samples::PRODUCT_BINARY);
    let e = Enricher::new(s4, settings());
    let fates = e.enrich(&batch(vec![t.clone()]), None).await;
    let Fate::Enriched(got) = &fates[0] else {
        panic!()
    };
    assert_eq!(got.version, Version::new(later.into(), t.version.seq));
    assert!(got.version > t.version);
    assert_eq!(got.occurred_at, got.version.at);
}

#[tokio::test]
async fn deleted_after_the_event_is_not_found_and_a_thin_delete_needs_no_call() {
    // Scenario: the order was deleted in S/4 after its Changed event: not found (no call
    // failure, no dead letter); a Deleted event is published as it is, without a call.
    let s4 = s4_with_fixtures();
    s4.delete("A_SalesOrder", "SalesOrder", "45002");
    let mut delete = thin(samples::PRODUCT_BINARY);
    delete.op = Op::Delete;
    let e = Enricher::new(s4, settings());
    let fates = e
        .enrich(
            &batch(vec![thin(samples::SALES_ORDER), delete.clone()]),
            None,
        )
        .await;
    assert_eq!(fates[0], Fate::NotFound);
    assert_eq!(fates[1], Fate::AsIs(Box::new(delete)));
    assert_eq!(e.api().calls().len(), 1);
    assert_eq!(e.metrics().snapshot().not_found, 1);
}

#[tokio::test(start_paused = true)]
async fn an_outage_opens_the_breaker_and_nothing_is_dead_lettered() {
    // Scenario: S/4 refuses connections: each call is tried 3 times; at 5 consecutive failures
    // the breaker opens and the remaining reads are not even tried; every event is
    // unavailable (left in the queue), none failed. After the outage a probe closes it.
    let s4 = Arc::new(s4_with_fixtures());
    s4.set_down(Some(CallError::Connect("connection refused".into())));
    let mut s = settings();
    s.max_keys_per_call = 1;
    let e = Enricher::new(s4.clone(), s);
    let events: Vec<ChangeEvent> = OBJECTS.iter().map(|(f, _, _)| thin(f)).collect();
    let fates = e.enrich(&batch(events.clone()), None).await;
    assert!(
        fates.iter().all(|f| matches!(f, Fate::Unavailable { .. })),
        "{fates:?}"
    );
    assert_eq!(
        s4.calls().len(),
        5,
        "3 attempts, then 2 until the breaker opened"
    );
    assert_eq!(e.breaker_state(), BreakerState::Open);
    // While open: no call at all.
    let fates = e.enrich(&batch(events.clone()), None).await;
    assert!(fates.iter().all(|f| matches!(f, Fate::Unavailable { .. })));
    assert_eq!(s4.calls().len(), 5);
    // After open_for, one probe; S/4 is back: it closes and all are enriched.
    s4.set_down(None);
    tokio::time::advance(Duration::from_secs(30)).await;
    let fates = e.enrich(&batch(events), None).await;
    assert!(
        fates.iter().all(|f| matches!(f, Fate::Enriched(_))),
        "{fates:?}"
    );
    assert_eq!(e.breaker_state(), BreakerState::Closed);
    assert_eq!(e.metrics().snapshot().breaker_transitions, 3);
}

#[tokio::test(start_paused = true)]
async fn retry_after_holds_the_next_call() {
    // Scenario: S/4 answers 429 with Retry-After: 7 s; the next attempt goes no sooner, and
    // the event is enriched.
    let s4 = s4_with_fixtures();
    s4.fail_next([CallError::Status {
        status: 429,
        retry_after: Some(Duration::from_secs(7)),
        message: "Too Many Requests".into(),
    }]);
    let e = Enricher::new(s4, settings());
    let start = tokio::time::Instant::now();
    let fates = e
        .enrich(&batch(vec![thin(samples::SALES_ORDER)]), None)
        .await;
    assert!(matches!(fates[0], Fate::Enriched(_)));
    assert!(
        start.elapsed() >= Duration::from_secs(7),
        "{:?}",
        start.elapsed()
    );
    let c = e.metrics().snapshot();
    assert_eq!((c.calls, c.call_failures, c.rate_limited_waits), (2, 1, 1));
}

#[tokio::test(start_paused = true)]
async fn a_wait_past_the_deadline_leaves_the_events_for_later() {
    // Scenario: a Retry-After longer than the invocation has left: the events are left
    // unavailable within the deadline, not dead-lettered.
    let s4 = s4_with_fixtures();
    s4.fail_next([CallError::Status {
        status: 503,
        retry_after: Some(Duration::from_secs(120)),
        message: "Service Unavailable".into(),
    }]);
    let e = Enricher::new(s4, settings());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let fates = e
        .enrich(&batch(vec![thin(samples::SALES_ORDER)]), Some(deadline))
        .await;
    assert!(matches!(fates[0], Fate::Unavailable { .. }), "{fates:?}");
    assert!(tokio::time::Instant::now() <= deadline);
}

#[tokio::test]
async fn a_refused_multi_key_read_is_split_and_only_the_bad_key_fails() {
    // Scenario: S/4 refuses the two-key read (400); read alone, one key is refused again and
    // fails with its context, the other is enriched.
    let s4 = s4_with_fixtures();
    let refused = CallError::Status {
        status: 400,
        retry_after: None,
        message: "Invalid key predicate".into(),
    };
    s4.fail_next([refused.clone(), refused]);
    let mut other = thin(samples::SALES_ORDER);
    // Read first (keys go in order): S/4 refuses it alone too.
    other.key = "10000".into();
    let e = Enricher::new(s4, settings());
    let fates = e
        .enrich(&batch(vec![thin(samples::SALES_ORDER), other]), None)
        .await;
    assert!(matches!(fates[0], Fate::Enriched(_)), "{fates:?}");
    assert!(
        matches!(
            &fates[1],
            Fate::Failed {
                kind: "s4_refused",
                ..
            }
        ),
        "{fates:?}"
    );
    assert_eq!(e.api().calls().len(), 3);
    assert_eq!(e.breaker_state(), BreakerState::Closed);
}

#[tokio::test]
async fn an_object_that_does_not_map_fails_alone_with_its_path() {
    // Scenario: S/4 answers a product whose plant lacks its key: that event fails with the
    // field's path; the order of the same batch is enriched.
    let s4 = s4_with_fixtures();
    let mut p = odata_v2_entity(samples::PRODUCT_BINARY);
    p["to_Plant"]["results"][0]
        .as_object_mut()
        .unwrap()
        .remove("Plant");
    s4.put("A_Product", "Product", p);
    let e = Enricher::new(s4, settings());
    let fates = e
        .enrich(
            &batch(vec![
                thin(samples::PRODUCT_BINARY),
                thin(samples::SALES_ORDER),
            ]),
            None,
        )
        .await;
    let Fate::Failed { kind, path, .. } = &fates[0] else {
        panic!("{fates:?}")
    };
    assert_eq!(
        (*kind, path.as_deref()),
        ("mapping", Some("data.to_Plant[0].Plant"))
    );
    assert!(matches!(fates[1], Fate::Enriched(_)));
}
