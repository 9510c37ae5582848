//! The Lambda handler. Two kinds of invocation reach it:
//!
//! - **An SQS batch** from its queue (thin events, `enrichment = required`): each event is
//!   enriched ([`hub_enrich::Enricher`]) and published to the changes topic with the normal
//!   routing attributes; what S/4 could not answer now is reported in `batchItemFailures`;
//!   what cannot be enriched at all goes to the enricher's DLQ with its context. When the
//!   breaker of S/4's host is open at the end of the batch, the function turns its own event
//!   source mapping off.
//! - **The scheduled probe** (an EventBridge schedule, every minute): when the mapping is off,
//!   one cheap read of S/4; if it answers, the mapping goes back on. An operator who wants the
//!   mapping off for good disables the schedule too.

use crate::retry::RetryLater;
use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use hub_bridge::batch::pack_by;
use hub_bridge::{Message, Publisher};
use hub_core::ErrorClass;
use hub_core::retry::Backoff;
use hub_enrich::{BreakerState, Enricher, Fate, MappingSwitch, S4Api, Thin};
use hub_model::ChangeEvent;
use hub_sync::{DeadLetter, DeadLetterSink};
use lambda_runtime::LambdaEvent;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use tokio::time::Instant;
use tracing::{error, info, warn};

/// Time kept back from the invocation's deadline to publish and answer.
const MARGIN: std::time::Duration = std::time::Duration::from_secs(3);

/// What every invocation shares: built once per execution environment.
#[derive(Debug)]
pub struct State<A, P, D, M, R = crate::retry::QueueVisibility> {
    /// S/4 behind the breaker and the rate limit.
    pub enricher: Enricher<A>,
    /// The changes topic.
    pub publisher: P,
    /// The enricher's DLQ.
    pub dlq: D,
    /// The function's own event source mapping.
    pub mapping: M,
    /// Brings back sooner what S/4 could not answer.
    pub retry: R,
    /// After how long (`None`: the queue's visibility timeout).
    pub retry_delay: Option<std::time::Duration>,
    /// The topic is FIFO.
    pub fifo: bool,
    /// What the scheduled probe reads.
    pub probe_path: String,
    /// Write an EMF line per invocation (off locally, where the status line shows counters).
    pub emit_metrics: bool,
}

/// What a batch became, for tests and the log.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BatchReport {
    /// Events published (enriched, or as they were).
    pub published: usize,
    /// Acknowledged without publishing (superseded in the batch, not found in S/4).
    pub acknowledged: usize,
    /// Sent to the DLQ.
    pub dead_lettered: usize,
    /// Left in the queue for later.
    pub retried: usize,
    /// Whether the batch turned the event source mapping off.
    pub mapping_turned_off: bool,
}

/// Dispatches an invocation: an SQS batch, or the scheduled probe.
pub async fn handle<A: S4Api, P: Publisher, D: DeadLetterSink, M: MappingSwitch, R: RetryLater>(
    event: LambdaEvent<Value>,
    state: &State<A, P, D, M, R>,
) -> Result<Value, lambda_runtime::Error> {
    let deadline = Instant::now() + hub_core::deadline::remaining(event.context.deadline);
    if event.payload.get("Records").is_some() {
        let batch: SqsEvent = serde_json::from_value(event.payload)?;
        let (response, _) = handle_batch(batch, deadline, state).await;
        return Ok(serde_json::to_value(response)?);
    }
    let report = probe(state).await;
    Ok(serde_json::to_value(report)?)
}

/// One SQS batch. Never fails as a whole: each message is published, acknowledged,
/// dead-lettered or listed in `batchItemFailures`.
pub async fn handle_batch<
    A: S4Api,
    P: Publisher,
    D: DeadLetterSink,
    M: MappingSwitch,
    R: RetryLater,
>(
    batch: SqsEvent,
    deadline: Instant,
    state: &State<A, P, D, M, R>,
) -> (SqsBatchResponse, BatchReport) {
    let work_until = deadline.checked_sub(MARGIN).unwrap_or(deadline);
    let messages = batch.records;
    let mut report = BatchReport::default();
    let mut retry: Vec<usize> = Vec::new();
    let mut thins = Vec::with_capacity(messages.len());
    let mut thin_of = Vec::with_capacity(messages.len());
    for (i, m) in messages.iter().enumerate() {
        let body = m.body.as_deref().unwrap_or_default();
        match serde_json::from_str::<ChangeEvent>(body) {
            Ok(event) => {
                thin_of.push(i);
                thins.push(Thin {
                    id: m.message_id.clone().unwrap_or_default(),
                    event,
                });
            }
            Err(e) => {
                let letter = dead_letter(m, "bad_event", &format!("not a change event: {e}"), None);
                settle_dead_letter(state, letter, i, &mut retry, &mut report).await;
            }
        }
    }
    state.enricher.batch_arrived();
    let fates = state.enricher.enrich(&thins, Some(work_until)).await;
    let mut to_publish: Vec<(usize, Message)> = Vec::new();
    let now = chrono::Utc::now();
    for (fate, &i) in fates.into_iter().zip(&thin_of) {
        match fate {
            Fate::Enriched(e) | Fate::AsIs(e) => {
                to_publish.push((i, Message::from_event(*e, state.fifo, now)));
            }
            Fate::Superseded | Fate::NotFound => report.acknowledged += 1,
            Fate::Unavailable { .. } => retry.push(i),
            Fate::Failed {
                kind,
                message,
                path,
            } => {
                let letter = dead_letter(&messages[i], kind, &message, path.as_deref());
                settle_dead_letter(state, letter, i, &mut retry, &mut report).await;
            }
        }
    }
    let published = publish(state, to_publish, work_until).await;
    for (i, outcome) in published {
        match outcome {
            Ok(()) => report.published += 1,
            Err(PublishFailure::Retry) => retry.push(i),
            Err(PublishFailure::Refused(reason)) => {
                let letter = dead_letter(&messages[i], "publish_refused", &reason, None);
                settle_dead_letter(state, letter, i, &mut retry, &mut report).await;
            }
        }
    }
    if state.enricher.breaker_state() == BreakerState::Open {
        match state.mapping.set_enabled(false).await {
            Ok(()) => {
                report.mapping_turned_off = true;
                warn!(
                    "S/4's breaker is open: the event source mapping is off until the probe finds S/4 answering."
                );
            }
            Err(e) => {
                error!(error = %e, "S/4's breaker is open but the event source mapping could not be turned off.")
            }
        }
    }
    retry.sort_unstable();
    retry.dedup();
    if state.fifo {
        // A FIFO queue keeps order only if nothing after a failed message is deleted.
        if let Some(&first) = retry.first() {
            retry = (first..messages.len()).collect();
        }
    }
    report.retried = retry.len();
    if let (Some(delay), false) = (state.retry_delay, retry.is_empty()) {
        let receipts: Vec<String> = retry
            .iter()
            .filter_map(|&i| messages[i].receipt_handle.clone())
            .collect();
        if let Err(e) = state.retry.retry_in(&receipts, delay).await {
            // The queue's visibility timeout brings them back instead.
            warn!(error = %e, "Could not shorten the retried messages' visibility.");
        }
    }
    state
        .enricher
        .metrics()
        .update(|c| c.dead_lettered += report.dead_lettered as u64);
    emit_metrics(state);
    info!(
        messages = messages.len(),
        published = report.published,
        acknowledged = report.acknowledged,
        dead_lettered = report.dead_lettered,
        retried = report.retried,
        "S/4 enrichment batch done."
    );
    let mut response = SqsBatchResponse::default();
    for i in retry {
        let mut f = BatchItemFailure::default();
        f.item_identifier = messages[i].message_id.clone().unwrap_or_default();
        response.batch_item_failures.push(f);
    }
    (response, report)
}

/// The scheduled probe's report.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ProbeReport {
    /// Whether the mapping was on when the probe came.
    pub was_enabled: bool,
    /// S/4's answer to the probe (`None`: not asked, the mapping was on).
    pub s4: Option<Result<(), String>>,
    /// Whether the mapping is on now.
    pub enabled: bool,
}

/// The scheduled probe: when the mapping is off, read S/4 once; if it answers, turn the
/// mapping on.
pub async fn probe<A: S4Api, P, D, M: MappingSwitch, R>(
    state: &State<A, P, D, M, R>,
) -> ProbeReport {
    let was_enabled = match state.mapping.enabled().await {
        Ok(on) => on,
        Err(e) => {
            error!(error = %e, "The probe cannot read the event source mapping's state.");
            return ProbeReport {
                was_enabled: false,
                s4: None,
                enabled: false,
            };
        }
    };
    if was_enabled {
        return ProbeReport {
            was_enabled,
            s4: None,
            enabled: true,
        };
    }
    let answer = state.enricher.probe(&state.probe_path).await;
    let mut enabled = false;
    match &answer {
        Ok(()) => match state.mapping.set_enabled(true).await {
            Ok(()) => {
                enabled = true;
                info!("S/4 answers again: the event source mapping is back on.");
            }
            Err(e) => error!(error = %e, "S/4 answers but the mapping could not be turned on."),
        },
        Err(e) => {
            info!(error = %e, kind = e.kind(), "S/4 still does not answer; the mapping stays off.")
        }
    }
    emit_metrics(state);
    ProbeReport {
        was_enabled,
        s4: Some(answer.map_err(|e| e.to_string())),
        enabled,
    }
}

/// The dead letter of `m`: permanent, its kind and message (and the field at fault) as the
/// error message.
fn dead_letter(m: &SqsMessage, kind: &str, message: &str, path: Option<&str>) -> DeadLetter {
    let error = match path {
        Some(p) => format!("{kind}: {message} (at {p})"),
        None => format!("{kind}: {message}"),
    };
    DeadLetter::of_message(m, ErrorClass::Permanent, &error, "s4-enricher".into())
}

async fn settle_dead_letter<A, P, D: DeadLetterSink, M, R>(
    state: &State<A, P, D, M, R>,
    letter: DeadLetter,
    i: usize,
    retry: &mut Vec<usize>,
    report: &mut BatchReport,
) {
    warn!(message_id = %letter.message_id, error = %letter.error_message, "Dead-lettering.");
    match state.dlq.send(letter).await {
        Ok(()) => report.dead_lettered += 1,
        // The DLQ did not take it: the message stays in the queue.
        Err(e) => {
            error!(error = %e, "The DLQ did not take a dead letter; the message stays.");
            retry.push(i);
        }
    }
}

enum PublishFailure {
    /// Try again later (SNS down, throttling, out of time).
    Retry,
    /// SNS refused the entry as such.
    Refused(String),
}

/// Publishes the messages in `PublishBatch` calls; entries SNS fails transiently are sent again
/// (three attempts, full-jitter backoff) while time is left.
async fn publish<A, P: Publisher, D, M, R>(
    state: &State<A, P, D, M, R>,
    items: Vec<(usize, Message)>,
    until: Instant,
) -> Vec<(usize, Result<(), PublishFailure>)> {
    let backoff = Backoff {
        base: std::time::Duration::from_millis(100),
        cap: std::time::Duration::from_secs(2),
        max_attempts: 3,
    };
    let mut out = Vec::with_capacity(items.len());
    for batch in pack_by(items, |(_, m)| m.size()) {
        let mut pending: BTreeMap<usize, Message> = batch.into_iter().collect();
        let mut attempt = 0;
        while !pending.is_empty() {
            attempt += 1;
            let order: Vec<usize> = pending.keys().copied().collect();
            let refs: Vec<&Message> = order.iter().map(|i| &pending[i]).collect();
            match state.publisher.publish_batch(&refs).await {
                Ok(failures) => {
                    let mut failed: BTreeMap<usize, bool> = BTreeMap::new();
                    for f in &failures {
                        if let Some(&i) = order.get(f.index) {
                            if f.retryable {
                                failed.insert(i, true);
                            } else {
                                out.push((
                                    i,
                                    Err(PublishFailure::Refused(format!(
                                        "{}: {}",
                                        f.code, f.message
                                    ))),
                                ));
                                failed.insert(i, false);
                            }
                        }
                    }
                    for &i in &order {
                        match failed.get(&i) {
                            None => {
                                pending.remove(&i);
                                out.push((i, Ok(())));
                            }
                            Some(false) => {
                                pending.remove(&i);
                            }
                            Some(true) => {}
                        }
                    }
                }
                Err(e) if !e.class.is_retryable() => {
                    for i in order {
                        pending.remove(&i);
                        out.push((i, Err(PublishFailure::Refused(e.to_string()))));
                    }
                }
                Err(e) => {
                    warn!(error = %e, attempt, "Publishing enriched events failed.");
                }
            }
            if pending.is_empty() {
                break;
            }
            let delay = backoff.delay(attempt - 1);
            if !backoff.allows(attempt) || Instant::now() + delay > until {
                break;
            }
            tokio::time::sleep(delay).await;
        }
        out.extend(pending.into_keys().map(|i| (i, Err(PublishFailure::Retry))));
    }
    out
}

/// The probe's input when invoked by hand (`{"probe": true}`), as the schedule's is ignored.
pub fn probe_event() -> Value {
    json!({"probe": true})
}

/// Prints the EMF line of the counters since the last one (Lambda). Without metrics (the local
/// run), the counters stay running totals for the status line, and the calls' times, which only
/// the EMF line carries, are dropped so that a long run does not keep one per call.
fn emit_metrics<A: S4Api, P, D, M, R>(state: &State<A, P, D, M, R>) {
    let metrics = state.enricher.metrics();
    if state.emit_metrics {
        let counts = metrics.take();
        println!(
            "{}",
            hub_enrich::metrics::emf_line(&counts, chrono::Utc::now().timestamp_millis())
        );
    } else {
        metrics.update(|c| c.call_ms.clear());
    }
}
