//! One SQS batch, start to finish.

use crate::dlq::{DeadLetter, DeadLetterSink, PayloadStore};
use crate::metrics::{Counters, emf_line};
use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use chrono::Utc;
use hub_core::retry::{Backoff, Policy, retry};
use hub_core::{Classify, ErrorClass, PortError};
use hub_model::claim_check::ClaimCheck;
use hub_model::{ChangeEvent, Entity};
use hub_store::{Applied, EntityStore, coalesce, plan};
use std::time::Duration;
use tokio::time::Instant;
use tracing::{Instrument, debug, info, info_span, warn};

/// How a domain function processes its batches.
#[derive(Debug, Clone)]
pub struct SyncConfig {
    /// The entity this function owns; other entities are dead-lettered (a misrouted message).
    pub entity: Entity,
    /// Domain name, used as metric dimension and DLQ `stage` (`customers`, …).
    pub domain: String,
    /// How long a tombstone stays before DynamoDB's TTL removes it.
    pub tombstone_ttl: Duration,
    /// Retries of transient store errors within the invocation.
    pub backoff: Backoff,
    /// Time kept in reserve before the invocation deadline: no retry starts later than that.
    pub safety_margin: Duration,
    /// Whether to print the EMF metrics line.
    pub emit_metrics: bool,
}

impl SyncConfig {
    /// Defaults for a domain: tombstones kept 30 days, up to 4 attempts, 2 s margin.
    pub fn new(entity: Entity, domain: &str) -> SyncConfig {
        SyncConfig {
            entity,
            domain: domain.to_string(),
            tombstone_ttl: Duration::from_secs(30 * 24 * 3600),
            backoff: Backoff {
                base: Duration::from_millis(50),
                cap: Duration::from_secs(2),
                max_attempts: 4,
            },
            safety_margin: Duration::from_secs(2),
            emit_metrics: true,
        }
    }
}

/// What a batch did: the response for SQS and the counters.
#[derive(Debug, Clone)]
pub struct BatchReport {
    /// Only the messages SQS must redeliver.
    pub response: SqsBatchResponse,
    /// Counters (also written as the EMF line).
    pub counters: Counters,
}

/// A message's fate.
enum Fate {
    Done,
    DeadLetter(ErrorClass, String),
    Retry,
}

/// Processes one batch. `deadline` is when the invocation must have answered (Lambda's
/// deadline); retries stop `safety_margin` before it.
pub async fn process_batch<S: EntityStore, D: DeadLetterSink, P: PayloadStore>(
    event: SqsEvent,
    store: &S,
    dlq: &D,
    payloads: &P,
    config: &SyncConfig,
    deadline: Instant,
) -> BatchReport {
    let mut counters = Counters {
        received: event.records.len() as u64,
        ..Counters::default()
    };
    let records = event.records;
    let mut fates: Vec<Fate> = Vec::with_capacity(records.len());
    let mut decoded: Vec<(usize, ChangeEvent)> = Vec::new();
    // Claim-checked events are fetched first (concurrently); the DLQ keeps the pointer.
    // Bounded by the deadline like every call (an S3 that never answers): such a message is
    // left to SQS to redeliver.
    let bodies = futures::future::join_all(records.iter().map(|m| async move {
        tokio::time::timeout_at(answer_by(deadline, config), body_of(m, payloads))
            .await
            .unwrap_or_else(|_| {
                Err((
                    ErrorClass::Transient,
                    "the claim check's object: no answer before the invocation's deadline".into(),
                ))
            })
    }))
    .await;
    for (i, body) in bodies.into_iter().enumerate() {
        match body.and_then(|b| decode(&b, config.entity).map_err(|r| (ErrorClass::Permanent, r))) {
            Ok(e) => {
                fates.push(Fate::Done);
                decoded.push((i, e));
            }
            Err((ErrorClass::Transient, _)) => fates.push(Fate::Retry),
            Err((class, reason)) => fates.push(Fate::DeadLetter(class, reason)),
        }
    }

    let refs: Vec<&ChangeEvent> = decoded.iter().map(|(_, e)| e).collect();
    let (winners, superseded) = coalesce(&refs);
    counters.stale += superseded.len() as u64;
    for s in &superseded {
        debug!(message_id = ?records[decoded[*s].0].message_id, event_id = %decoded[*s].1.event_id, "Superseded within the batch.");
    }

    let writes = winners.iter().map(|w| {
        let (index, event) = &decoded[*w];
        let message_id = records[*index].message_id.clone().unwrap_or_default();
        let span = info_span!(
            "change",
            message_id = %message_id,
            event_id = %event.event_id,
            correlation_id = %event.correlation_id,
            entity = %event.entity,
        );
        async move { (*index, write(event, store, config, deadline).await) }.instrument(span)
    });
    let results = futures::future::join_all(writes).await;
    let now = Utc::now();
    for (index, result) in results {
        let event = &decoded
            .iter()
            .find(|(i, _)| *i == index)
            .expect("decoded")
            .1;
        match result {
            Ok((Applied::Written, tombstone, retries)) => {
                counters.applied += 1;
                counters.retried += retries;
                if tombstone {
                    counters.tombstoned += 1;
                }
                counters
                    .latencies_ms
                    .push((now - event.occurred_at).num_milliseconds().max(0));
            }
            Ok((Applied::Stale, _, retries)) => {
                counters.stale += 1;
                counters.retried += retries;
            }
            Err((e, retries)) => {
                counters.retried += retries;
                fates[index] = match e.class() {
                    ErrorClass::Transient => Fate::Retry,
                    class => Fate::DeadLetter(class, e.to_string()),
                };
            }
        }
    }

    let mut failures = Vec::new();
    for (i, fate) in fates.into_iter().enumerate() {
        let m = &records[i];
        let id = m.message_id.clone().unwrap_or_default();
        match fate {
            Fate::Done => {}
            Fate::Retry => {
                counters.failed += 1;
                warn!(message_id = %id, "Transient failure; SQS will redeliver.");
                failures.push(id);
            }
            Fate::DeadLetter(class, reason) => {
                let letter =
                    DeadLetter::of_message(m, class, &reason, format!("{}-sync", config.domain));
                // Bounded like the writes: a DLQ that never answers must not time the
                // invocation out.
                let sent =
                    match tokio::time::timeout_at(answer_by(deadline, config), dlq.send(letter))
                        .await
                    {
                        Ok(sent) => sent,
                        Err(_) => Err(PortError::transient(
                            "dlq send",
                            "no answer before the invocation's deadline",
                        )),
                    };
                match sent {
                    Ok(()) => {
                        counters.dead_lettered += 1;
                        warn!(message_id = %id, error_class = %class, error = %reason, "Dead-lettered.");
                    }
                    Err(e) => {
                        // Never report a message handled that is nowhere: SQS redelivers it.
                        counters.failed += 1;
                        warn!(message_id = %id, error = %e, "DLQ unavailable; SQS will redeliver.");
                        failures.push(id);
                    }
                }
            }
        }
    }
    let mut response = SqsBatchResponse::default();
    for id in failures {
        let mut f = BatchItemFailure::default();
        f.item_identifier = id;
        response.batch_item_failures.push(f);
    }
    crate::metrics::add_to_totals(&config.domain, &counters);
    if config.emit_metrics {
        println!(
            "{}",
            emf_line(&config.domain, &counters, now.timestamp_millis())
        );
    }
    info!(
        domain = %config.domain,
        received = counters.received,
        applied = counters.applied,
        stale = counters.stale,
        dead_lettered = counters.dead_lettered,
        failed = counters.failed,
        "Batch processed."
    );
    BatchReport { response, counters }
}

/// The event JSON of a message: its body, or the object its claim check points to.
async fn body_of<P: PayloadStore>(
    m: &SqsMessage,
    payloads: &P,
) -> Result<String, (ErrorClass, String)> {
    let body = m
        .body
        .as_deref()
        .ok_or((ErrorClass::Permanent, "message has no body".to_string()))?;
    match ClaimCheck::from_body(body) {
        None => Ok(body.to_string()),
        Some(claim) => payloads
            .fetch(&claim)
            .await
            .map_err(|e| (e.class, e.to_string())),
    }
}

/// Decodes an event body into a change event of this domain, or says why it cannot be one.
fn decode(body: &str, entity: Entity) -> Result<ChangeEvent, String> {
    let event: ChangeEvent = serde_json::from_str(body).map_err(|e| undecodable(&e))?;
    if event.entity != entity {
        return Err(format!(
            "entity {} delivered to the {} domain",
            event.entity, entity
        ));
    }
    if event.schema != entity.schema() {
        return Err(format!(
            "schema {} is not {}",
            schema_name(&event.schema),
            entity.schema()
        ));
    }
    Ok(event)
}

/// A body's schema as an error may quote it: itself when it looks like one (`customer.v1`),
/// else only its length, since the body's text can be anything, a personal value too.
fn schema_name(schema: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "._-".contains(c);
    if !schema.is_empty() && schema.len() <= 64 && schema.chars().all(plain) {
        schema.to_string()
    } else {
        format!("<{} characters>", schema.chars().count())
    }
}

/// Why a body is not a change event, by kind and position only: serde's own message quotes the
/// offending value, which can be personal data (a name, a bank account), and this text is
/// logged and written into the DLQ's `error_message`. The body itself is kept in the DLQ.
fn undecodable(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let kind = match e.classify() {
        Category::Syntax => "malformed JSON",
        Category::Eof => "truncated JSON",
        Category::Data => "a field is missing or has the wrong type or value",
        Category::Io => "unreadable",
    };
    format!(
        "not a canonical change event: {kind} (line {}, column {})",
        e.line(),
        e.column()
    )
}

/// Writes one change, retrying transient errors while time remains. Returns (outcome,
/// tombstone?, retries) or (error, retries).
async fn write<S: EntityStore>(
    event: &ChangeEvent,
    store: &S,
    config: &SyncConfig,
    deadline: Instant,
) -> Result<(Applied, bool, u64), (PortError, u64)> {
    let plan = plan(event, Utc::now(), config.tombstone_ttl)
        .map_err(|e| (PortError::caused_by("plan", ErrorClass::Permanent, e), 0))?;
    let last_start = deadline
        .checked_sub(config.safety_margin)
        .unwrap_or(deadline);
    let policy = Policy::attempts(config.backoff).until(last_start);
    let transient = |f: &hub_core::retry::Failed<'_, PortError>| {
        let retry = f.error.is_retryable();
        if retry {
            debug!(attempt = f.attempt, delay = ?f.delay, error = %f.error, "Transient store error; retrying.");
        }
        retry
    };
    // Every attempt ends by half the margin before the deadline, whatever the SDK's own
    // timeouts and retries would allow (a store that accepts connections and never answers):
    // the invocation then answers with the message in batchItemFailures instead of timing out,
    // which would count a receive for the whole batch and return it only after the visibility
    // timeout.
    let answer_by = answer_by(deadline, config);
    let out = retry(policy, transient, || async {
        match tokio::time::timeout_at(answer_by, store.apply(&plan)).await {
            Ok(result) => result,
            Err(_) => Err(PortError::transient(
                "store write",
                "no answer before the invocation's deadline; left to SQS to redeliver",
            )),
        }
    })
    .await;
    let retries = u64::from(out.retries);
    match out.result {
        Ok(applied) => Ok((applied, plan.tombstone, retries)),
        Err(e) => Err((e, retries)),
    }
}

/// When every call to the store or the DLQ must have answered: half the safety margin before the
/// invocation's deadline, leaving the other half to answer the invocation.
fn answer_by(deadline: Instant, config: &SyncConfig) -> Instant {
    deadline
        .checked_sub(config.safety_margin / 2)
        .unwrap_or(deadline)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrong_schema_is_quoted_only_when_it_looks_like_one() {
        // Scenario: another version of the schema is named; a name sent as the schema is not.
        let e = hub_store::testing::event(Entity::Customer, "1", 1, hub_model::Op::Upsert, 1);
        let mut v = serde_json::to_value(&e).unwrap();
        v["schema"] = serde_json::json!("customer.v2");
        let err = decode(&v.to_string(), Entity::Customer).unwrap_err();
        assert_eq!(err, "schema customer.v2 is not customer.v1");
        v["schema"] = serde_json::json!("Maria Souza");
        let err = decode(&v.to_string(), Entity::Customer).unwrap_err();
        assert_eq!(err, "schema <11 characters> is not customer.v1");
    }
}
