//! The handler over in-memory adapters (an S/4 that answers `$filter` reads, SNS, the DLQ, the
//! mapping switch): what each message becomes, and the breaker turning the mapping off and the
//! probe turning it on. The same handler against moto and SAP CAP: `tests/enricher.rs` at the
//! workspace root.

use hub_bridge::ports::MemoryPublisher;
use hub_enrich::api::CallError;
use hub_enrich::{Enricher, MemoryS4, MemorySwitch, Settings};
use hub_model::ChangeEvent;
use hub_sap::samples::{self, odata_v2_entity, thin_event as thin};
use hub_sync::MemoryDeadLetters;
use s4_enricher::handler::{State, handle_batch, probe};
use std::time::Duration;
use tokio::time::Instant;

type MemoryState = State<MemoryS4, MemoryPublisher, MemoryDeadLetters, MemorySwitch>;

fn state() -> MemoryState {
    let s4 = MemoryS4::new();
    s4.put(
        "A_BusinessPartner",
        "BusinessPartner",
        odata_v2_entity(samples::BUSINESS_PARTNER),
    );
    s4.put(
        "A_Product",
        "Product",
        odata_v2_entity(samples::PRODUCT_BINARY),
    );
    s4.put(
        "A_SalesOrder",
        "SalesOrder",
        odata_v2_entity(samples::SALES_ORDER),
    );
    let settings = Settings {
        rate_limit: 1000.0,
        ..Settings::default()
    };
    State {
        enricher: Enricher::new(s4, settings),
        publisher: MemoryPublisher::default(),
        dlq: MemoryDeadLetters::default(),
        mapping: MemorySwitch::default(),
        retry: s4_enricher::retry::QueueVisibility,
        retry_delay: None,
        fifo: false,
        probe_path: hub_enrich::api::PROBE_PATH.into(),
        emit_metrics: false,
    }
}

fn batch(bodies: Vec<(&str, String)>) -> aws_lambda_events::sqs::SqsEvent {
    hub_sync::testing::sqs_event("customer", bodies)
}

fn body(e: &ChangeEvent) -> String {
    serde_json::to_string(e).unwrap()
}

fn soon() -> Instant {
    Instant::now() + Duration::from_secs(30)
}

#[tokio::test]
async fn thin_events_are_published_whole_and_the_unenrichable_dead_lettered() {
    // Scenario: three thin events are published whole with their routing attributes and no
    // enrichment attribute; a body that is no event and a supplier (no API read) go to the
    // DLQ with their context; nothing is left for retry.
    let s = state();
    let mut supplier = thin(samples::PRODUCT_BINARY);
    supplier.entity = hub_model::Entity::Supplier;
    let (response, report) = handle_batch(
        batch(vec![
            ("bp", body(&thin(samples::BUSINESS_PARTNER))),
            ("product", body(&thin(samples::PRODUCT_BINARY))),
            ("order", body(&thin(samples::SALES_ORDER))),
            ("garbage", "{not json".into()),
            ("supplier", body(&supplier)),
        ]),
        soon(),
        &s,
    )
    .await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!((report.published, report.dead_lettered), (3, 2));
    let published = s.publisher.published();
    for m in &published {
        assert!(
            m.attributes.iter().all(|(k, _)| *k != "enrichment"),
            "{:?}",
            m.attributes
        );
        let e: ChangeEvent = serde_json::from_str(&m.body).unwrap();
        assert!(e.data.is_some());
    }
    let entities: Vec<String> = published
        .iter()
        .map(|m| {
            m.attributes
                .iter()
                .find(|(k, _)| *k == "entity")
                .unwrap()
                .1
                .clone()
        })
        .collect();
    assert_eq!(entities, ["customer", "material", "sales_order"]);
    let letters = s.dlq.letters();
    assert_eq!(letters.len(), 2);
    assert!(
        letters[0].error_message.starts_with("bad_event"),
        "{}",
        letters[0].error_message
    );
    assert!(letters[1].error_message.starts_with("unsupported_entity"));
    assert_eq!(letters[1].stage, "s4-enricher");
}

#[tokio::test(start_paused = true)]
async fn an_outage_turns_the_mapping_off_and_the_probe_turns_it_on() {
    // Scenario: S/4 times out: every message is left for retry (none dead-lettered) and the
    // open breaker turns the mapping off; the probe leaves it off while S/4 is down and turns
    // it on when S/4 answers; the messages then go through.
    let s = state();
    s.enricher
        .api()
        .set_down(Some(CallError::Timeout(Duration::from_secs(10))));
    let msgs = vec![
        ("bp", body(&thin(samples::BUSINESS_PARTNER))),
        ("product", body(&thin(samples::PRODUCT_BINARY))),
        ("order", body(&thin(samples::SALES_ORDER))),
    ];
    let (response, report) = handle_batch(batch(msgs.clone()), soon(), &s).await;
    assert_eq!(response.batch_item_failures.len(), 3);
    assert_eq!(report.dead_lettered, 0);
    assert!(report.mapping_turned_off);
    assert!(!s.mapping.is_on());
    let down = probe(&s).await;
    assert!(!down.enabled && matches!(down.s4, Some(Err(_))));
    s.enricher.api().set_down(None);
    let up = probe(&s).await;
    assert!(up.enabled && up.s4 == Some(Ok(())));
    assert!(s.mapping.is_on());
    let (response, report) = handle_batch(batch(msgs), soon(), &s).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(report.published, 3);
    assert_eq!(s.mapping.changes(), 2);
}

#[tokio::test(start_paused = true)]
async fn sns_down_leaves_the_messages_in_the_queue() {
    // Scenario: SNS fails every call: the enriched events are not lost, their messages stay
    // (batch item failures), nothing is dead-lettered.
    let s = state();
    s.publisher.set_down(true);
    let (response, report) = handle_batch(
        batch(vec![("order", body(&thin(samples::SALES_ORDER)))]),
        soon(),
        &s,
    )
    .await;
    assert_eq!(response.batch_item_failures.len(), 1);
    assert_eq!((report.published, report.dead_lettered), (0, 0));
}

#[tokio::test(start_paused = true)]
async fn a_batch_after_another_environments_probe_calls_s4_at_once() {
    // Scenario: this environment's breaker opened in an outage; another environment's probe
    // turned the mapping on (S/4 answers): the next batch here probes at once instead of
    // waiting out the breaker's open time, and goes through.
    let s = state();
    s.enricher
        .api()
        .set_down(Some(CallError::Connect("refused".into())));
    let msgs = vec![
        ("bp", body(&thin(samples::BUSINESS_PARTNER))),
        ("product", body(&thin(samples::PRODUCT_BINARY))),
        ("order", body(&thin(samples::SALES_ORDER))),
    ];
    let (_, report) = handle_batch(batch(msgs.clone()), soon(), &s).await;
    assert!(report.mapping_turned_off);
    s.enricher.api().set_down(None);
    // The other environment's probe: the mapping is on, this breaker still open.
    use hub_enrich::MappingSwitch;
    s.mapping.set_enabled(true).await.unwrap();
    assert_eq!(s.enricher.breaker_state(), hub_enrich::BreakerState::Open);
    let (response, report) = handle_batch(batch(msgs), soon(), &s).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(report.published, 3);
    assert!(s.mapping.is_on());
}

#[tokio::test]
async fn without_metrics_the_counters_add_up_and_the_call_times_are_not_kept() {
    // Scenario: the local run (no EMF line): after two batches the counters are running
    // totals (events, calls) for the status line, and no call time is kept, so a long run
    // holds nothing per call.
    let s = state();
    for _ in 0..2 {
        let (response, _) = handle_batch(
            batch(vec![("bp", body(&thin(samples::BUSINESS_PARTNER)))]),
            soon(),
            &s,
        )
        .await;
        assert!(response.batch_item_failures.is_empty());
    }
    let totals = s.enricher.metrics().snapshot();
    assert_eq!((totals.events, totals.calls, totals.enriched), (2, 2, 2));
    assert!(totals.call_ms.is_empty(), "{:?}", totals.call_ms);
}
