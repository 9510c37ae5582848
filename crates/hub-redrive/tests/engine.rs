//! The redrive engine over in-memory queues: dry run, filters, loop guard, failures mid-way,
//! deadline, rate, and bridge dead letters back through the pipeline.

use chrono::{Duration as Age, Utc};
use hub_bridge::Settings;
use hub_bridge::ports::{MemoryClaims, MemoryPublisher};
use hub_bridge::route::{EnrichmentPolicy, route};
use hub_bridge::testing::sample_record;
use hub_redrive::ports::NoObjects;
use hub_redrive::{
    BridgeDestination, MemoryQueue, QueueDestination, RedriveRequest, RunLimits, StopReason, When,
    run,
};
use hub_sap::samples;
use std::time::Duration;

fn limits() -> RunLimits {
    let mut l = RunLimits::within(Duration::from_secs(60));
    l.send_retry.base = Duration::from_millis(1);
    l.send_retry.cap = Duration::from_millis(2);
    l
}

fn moving() -> RedriveRequest {
    RedriveRequest {
        dry_run: false,
        ..RedriveRequest::default()
    }
}

/// A domain DLQ with `n` customer and `n` material letters (permanent), keys 0..n.
fn domain_dlq(n: usize) -> MemoryQueue {
    let dlq = MemoryQueue::new("customers-dlq");
    for i in 0..n {
        for entity in ["customer", "material"] {
            let body = format!(r#"{{"entity":"{entity}","key":"{i}","event_id":"{entity}-{i}"}}"#);
            dlq.push(
                &body,
                &[
                    ("entity", entity),
                    ("op", "upsert"),
                    ("error_class", "permanent"),
                    ("error_message", "bad"),
                    ("stage", "customers-sync"),
                    ("failed_at", &Utc::now().to_rfc3339()),
                    ("attempts", "1"),
                ],
            );
        }
    }
    dlq
}

#[tokio::test]
async fn a_dry_run_changes_nothing_and_reports_by_group() {
    // Scenario: the default input reports what would move, grouped, and leaves every message
    // visible in the DLQ.
    let dlq = domain_dlq(3);
    let dest = QueueDestination::new(MemoryQueue::new("customers"));
    let report = run(&RedriveRequest::default(), &dlq, &dest, limits(), |_| {}).await;
    assert!(report.dry_run);
    assert_eq!(report.examined, 6);
    assert_eq!(report.totals.would_move, 6);
    assert_eq!(report.totals.moved, 0);
    assert_eq!(report.groups["permanent/customer"].would_move, 3);
    assert_eq!(report.groups["permanent/material"].would_move, 3);
    assert_eq!(report.stopped, StopReason::Drained);
    assert_eq!(report.remaining_in_dlq, Some(6), "all visible again");
    assert!(dest.queue().is_empty());
}

#[tokio::test]
async fn moved_messages_keep_body_and_attributes_and_count_the_redrive() {
    // Scenario: a real run sends every message back without its error context, with
    // redrive_count 1, and deletes it from the DLQ.
    let dlq = domain_dlq(2);
    let bodies: Vec<String> = dlq.messages().into_iter().map(|m| m.body).collect();
    let dest = QueueDestination::new(MemoryQueue::new("customers"));
    let report = run(&moving(), &dlq, &dest, limits(), |_| {}).await;
    assert_eq!(report.totals.moved, 4);
    assert!(dlq.is_empty());
    let sent = dest.queue().sent();
    assert_eq!(
        sent.iter().map(|m| m.body.clone()).collect::<Vec<_>>(),
        bodies
    );
    for m in sent {
        assert_eq!(
            m.attributes.keys().collect::<Vec<_>>(),
            ["entity", "op", "redrive_count"]
        );
        assert_eq!(m.attributes["redrive_count"], "1");
    }
}

#[tokio::test]
async fn filters_select_exactly_the_matching_messages() {
    // Scenario: entity, key, class and age filters each move only what matches; the rest stays.
    let dlq = domain_dlq(3);
    let dest = QueueDestination::new(MemoryQueue::new("q"));
    let mut r = moving();
    r.entity = vec!["material".into()];
    r.key = Some("1".into());
    let report = run(&r, &dlq, &dest, limits(), |_| {}).await;
    assert_eq!(report.totals.moved, 1);
    assert_eq!(report.totals.skipped_by_filter, 5);
    assert_eq!(
        dest.queue().sent()[0].body,
        r#"{"entity":"material","key":"1","event_id":"material-1"}"#
    );
    assert_eq!(dlq.len(), 5);

    let mut r = moving();
    r.error_class = vec!["poison".into()];
    let report = run(&r, &dlq, &dest, limits(), |_| {}).await;
    assert_eq!(
        (report.totals.moved, report.totals.skipped_by_filter),
        (0, 5)
    );

    let mut r = moving();
    r.older_than = Some(When::Ago(Age::hours(1)));
    let report = run(&r, &dlq, &dest, limits(), |_| {}).await;
    assert_eq!(report.totals.moved, 0, "they failed just now");
    let mut r = moving();
    r.newer_than = Some(When::Ago(Age::hours(1)));
    let report = run(&r, &dlq, &dest, limits(), |_| {}).await;
    assert_eq!(report.totals.moved, 5);
    assert!(dlq.is_empty());
}

#[tokio::test]
async fn the_loop_guard_holds_messages_redriven_too_often() {
    // Scenario: a message that keeps failing comes back with its count; at max_redrives it stays.
    let dlq = MemoryQueue::new("dlq");
    dlq.push(
        r#"{"key":"a"}"#,
        &[("entity", "customer"), ("redrive_count", "2")],
    );
    dlq.push(
        r#"{"key":"b"}"#,
        &[
            (
                "original_attributes",
                r#"{"entity":"customer","redrive_count":"3"}"#,
            ),
            ("error_class", "permanent"),
        ],
    );
    dlq.push(r#"{"key":"c"}"#, &[("entity", "customer")]);
    let dest = QueueDestination::new(MemoryQueue::new("q"));
    let mut r = moving();
    r.max_redrives = 3;
    let report = run(&r, &dlq, &dest, limits(), |_| {}).await;
    assert_eq!(report.totals.moved, 2);
    assert_eq!(report.totals.held_by_loop_guard, 1);
    assert_eq!(report.groups["permanent/customer"].held_by_loop_guard, 1);
    assert_eq!(dlq.messages()[0].body, r#"{"key":"b"}"#);
    let counts: Vec<String> = dest
        .queue()
        .sent()
        .iter()
        .map(|m| m.attributes["redrive_count"].clone())
        .collect();
    assert_eq!(counts, ["3", "1"]);
}

#[tokio::test]
async fn a_destination_failing_mid_way_loses_nothing() {
    // Scenario: the destination fails after 3 sends: the run stops, says why, and every message
    // is in the DLQ or in its queue (never deleted unsent).
    let dlq = domain_dlq(5);
    let dest = QueueDestination::new(MemoryQueue::new("q"));
    dest.queue().fail_sends_after(3);
    let report = run(&moving(), &dlq, &dest, limits(), |_| {}).await;
    assert_eq!(report.stopped, StopReason::DestinationUnavailable);
    assert_eq!(report.totals.moved, 3);
    assert_eq!(report.totals.failed, 1);
    assert_eq!(report.failures.len(), 1);
    assert_eq!(dlq.len(), 7);
    assert_eq!(dest.queue().len(), 3);
    assert_eq!(
        report.remaining_in_dlq,
        Some(7),
        "the rest is visible again"
    );
}

#[tokio::test]
async fn max_messages_and_the_deadline_stop_the_run_and_say_so() {
    // Scenario: a limit of 4 moves 4; a run without time left moves nothing; both say where.
    let dlq = domain_dlq(5);
    let dest = QueueDestination::new(MemoryQueue::new("q"));
    let mut r = moving();
    r.max_messages = 4;
    let report = run(&r, &dlq, &dest, limits(), |_| {}).await;
    assert_eq!(report.totals.moved, 4);
    assert_eq!(report.stopped, StopReason::MaxMessages);
    assert!(report.detail.contains("invoke again"));
    assert_eq!(report.remaining_in_dlq, Some(6));

    let mut l = limits();
    l.deadline = tokio::time::Instant::now() + Duration::from_millis(10);
    l.margin = Duration::from_secs(1);
    let report = run(&moving(), &dlq, &dest, l, |_| {}).await;
    assert_eq!(report.stopped, StopReason::Deadline);
    assert_eq!(report.totals.moved, 0);
    assert_eq!(dlq.len(), 6);
}

#[tokio::test(start_paused = true)]
async fn the_rate_limit_paces_sends() {
    // Scenario: 2 messages per second: 6 messages take at least 2.5 s (virtual time).
    let dlq = domain_dlq(3);
    let dest = QueueDestination::new(MemoryQueue::new("q"));
    let mut r = moving();
    r.rate_per_second = Some(2.0);
    let t0 = tokio::time::Instant::now();
    let report = run(&r, &dlq, &dest, limits(), |_| {}).await;
    assert_eq!(report.totals.moved, 6);
    assert!(
        t0.elapsed() >= Duration::from_millis(2500),
        "{:?}",
        t0.elapsed()
    );
}

fn thin_letter_body() -> String {
    let record = sample_record(samples::thin(), 7);
    let routed = route(&record, &Settings::default(), Utc::now());
    assert_eq!(routed.dead_letters.len(), 1);
    routed.dead_letters[0].body()
}

fn bridge(
    settings: Settings,
) -> BridgeDestination<MemoryPublisher, MemoryClaims, NoObjects, MemoryQueue> {
    BridgeDestination::new(
        "topic",
        MemoryPublisher::default(),
        MemoryClaims::default(),
        NoObjects,
        MemoryQueue::new("bridge-dlq-again"),
        settings,
        Duration::from_secs(5),
    )
}

#[tokio::test]
async fn bridge_dead_letters_go_back_through_the_pipeline_once_the_cause_is_fixed() {
    // Scenario: a thin event dead-lettered as needs_enrichment fails again under the same
    // settings (a new letter, redrives 1, replaces it); with thin events published it is
    // published and leaves the DLQ.
    let dlq = MemoryQueue::new("bridge-dlq");
    dlq.push(&thin_letter_body(), &[("error_class", "needs_enrichment")]);
    let unchanged = bridge(Settings::default());
    let report = run(&moving(), &dlq, &unchanged, limits(), |_| {}).await;
    assert_eq!(report.totals.still_failing, 1);
    assert!(dlq.is_empty());
    let again = &unchanged.dlq().sent()[0];
    let letter = hub_bridge::BridgeDeadLetter::from_body(&again.body).unwrap();
    assert_eq!(letter.redrives, 1);
    assert_eq!(letter.error.class.as_str(), "needs_enrichment");
    assert!(unchanged.publisher().published().is_empty());

    let dlq = MemoryQueue::new("bridge-dlq");
    dlq.push(&again.body, &[]);
    let fixed = bridge(Settings {
        enrichment: EnrichmentPolicy::PublishThin,
        ..Settings::default()
    });
    let report = run(&moving(), &dlq, &fixed, limits(), |_| {}).await;
    assert_eq!(report.totals.moved, 1);
    assert_eq!(report.groups["needs_enrichment/sales_order"].moved, 1);
    assert!(dlq.is_empty());
    assert_eq!(fixed.publisher().published().len(), 1);
}

#[tokio::test]
async fn a_bridge_outage_stops_the_run_with_the_letter_kept() {
    // Scenario: SNS down: the record is not published in time, the run stops, the letter stays.
    let dlq = MemoryQueue::new("bridge-dlq");
    dlq.push(&thin_letter_body(), &[]);
    let mut settings = Settings {
        enrichment: EnrichmentPolicy::PublishThin,
        ..Settings::default()
    };
    settings.retry.base = Duration::from_millis(1);
    settings.retry.cap = Duration::from_millis(5);
    let dest = BridgeDestination::new(
        "topic",
        MemoryPublisher::default(),
        MemoryClaims::default(),
        NoObjects,
        MemoryQueue::new("again"),
        settings,
        Duration::from_millis(200),
    );
    dest.publisher().set_down(true);
    let mut l = limits();
    l.send_retry.max_attempts = 1;
    let report = run(&moving(), &dlq, &dest, l, |_| {}).await;
    assert_eq!(report.stopped, StopReason::DestinationUnavailable);
    assert_eq!(report.totals.failed, 1);
    assert_eq!(dlq.len(), 1);
    assert_eq!(report.remaining_in_dlq, Some(1));
}
