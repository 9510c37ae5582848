//! One redrive run: receive from the DLQ, select, send back, delete only what was sent.
//!
//! Safety rules:
//! - a message is deleted from the DLQ only after its destination accepted it; if the run dies
//!   in between, the message reappears in the DLQ when its visibility timeout ends (and may
//!   then exist twice, which is harmless: writes are version-guarded, event ids deterministic);
//! - messages the run does not move (dry run, filtered out, held by the loop guard, failed)
//!   are hidden while the run lasts, so that each is examined once, and made visible again at
//!   the end;
//! - the run stops `margin` before its deadline and says why it stopped.

use crate::destination::{Destination, Redriven};
use crate::letter::DlqMessage;
use crate::ports::DlqQueue;
use crate::report::{Failure, MAX_LISTED_FAILURES, Report, StopReason};
use crate::request::RedriveRequest;
use hub_core::retry::{Backoff, Failed, Policy, retry};
use std::collections::{HashMap, HashSet};
use std::time::Duration;
use tokio::time::Instant;
use tracing::{info, warn};

/// Limits of a run besides the request.
#[derive(Debug, Clone, Copy)]
pub struct RunLimits {
    /// The run must have returned by then (a Lambda's deadline).
    pub deadline: Instant,
    /// Time kept in reserve before the deadline: no message is started later.
    pub margin: Duration,
    /// Receives that come back empty in a row before the DLQ counts as drained.
    pub empty_receives: u32,
    /// Retries of a send that failed transiently, before the run stops.
    pub send_retry: Backoff,
}

impl RunLimits {
    /// Limits for a run that must end `within` from now.
    pub fn within(within: Duration) -> RunLimits {
        RunLimits {
            deadline: Instant::now() + within,
            margin: Duration::from_secs(5).min(within / 4),
            empty_receives: 2,
            send_retry: Backoff {
                base: Duration::from_millis(100),
                cap: Duration::from_secs(2),
                max_attempts: 4,
            },
        }
    }
}

/// SQS receives at most 10 messages per call.
const RECEIVE_MAX: usize = 10;
/// The visibility timeout of a received message, at most (SQS allows 12 hours).
const MAX_HIDE: Duration = Duration::from_secs(12 * 3600);

/// Runs one redrive of `dlq` to `destination`. `progress` is called after every message.
pub async fn run<Q: DlqQueue, D: Destination>(
    request: &RedriveRequest,
    dlq: &Q,
    destination: &D,
    limits: RunLimits,
    mut progress: impl FnMut(&Report),
) -> Report {
    let started = Instant::now();
    let filter = request.filter(chrono::Utc::now());
    let mut report = Report {
        dry_run: request.dry_run,
        source: dlq.describe(),
        destination: destination.describe(),
        ..Report::default()
    };
    // Messages to make visible again at the end, by message id (the latest receipt handle).
    let mut hold: HashMap<String, String> = HashMap::new();
    // Dead letters this run wrote (records that failed again): never tried twice in one run.
    let mut written: HashSet<String> = HashSet::new();
    let mut empty = 0;
    let interval = request
        .rate_per_second
        .map(|r| Duration::from_secs_f64(1.0 / r));
    let mut next_send = Instant::now();
    let mut stop: Option<(StopReason, String)> = None;

    'receiving: while stop.is_none() {
        let now = Instant::now();
        if now + limits.margin >= limits.deadline {
            stop = Some((
                StopReason::Deadline,
                "the invocation's deadline is near".into(),
            ));
            break;
        }
        if report.selected() >= u64::from(request.max_messages) {
            stop = Some((
                StopReason::MaxMessages,
                format!("{} messages", request.max_messages),
            ));
            break;
        }
        // Hidden for the rest of the run and a minute more: a run that dies gives them back.
        let hide_for = (limits.deadline - now + Duration::from_secs(60)).min(MAX_HIDE);
        let batch = match dlq.receive(RECEIVE_MAX, hide_for).await {
            Ok(b) => b,
            Err(e) => {
                stop = Some((StopReason::DlqUnavailable, e.to_string()));
                break;
            }
        };
        if batch.is_empty() {
            empty += 1;
            if empty >= limits.empty_receives {
                stop = Some((StopReason::Drained, "no visible message left".into()));
            }
            continue;
        }
        empty = 0;
        let mut delete = Vec::new();
        for (i, m) in batch.iter().enumerate() {
            if hold.contains_key(&m.message_id) || written.contains(&m.message_id) {
                // Seen already (its hiding ended during a long run): keep the newest handle.
                hold.insert(m.message_id.clone(), m.receipt_handle.clone());
                continue;
            }
            report.examined += 1;
            let facts = destination.facts(m);
            let group = facts.group();
            let keep = |hold: &mut HashMap<String, String>, m: &DlqMessage| {
                hold.insert(m.message_id.clone(), m.receipt_handle.clone());
            };
            if !filter.matches(&facts) {
                report.count(&group, |c| c.skipped_by_filter += 1);
                keep(&mut hold, m);
            } else if facts.redrive_count >= request.max_redrives {
                report.count(&group, |c| c.held_by_loop_guard += 1);
                keep(&mut hold, m);
            } else if report.selected() >= u64::from(request.max_messages) {
                // The limit was reached inside this batch: the rest is given back unexamined.
                report.examined -= 1;
                keep(&mut hold, m);
            } else if request.dry_run {
                report.count(&group, |c| c.would_move += 1);
                keep(&mut hold, m);
            } else if Instant::now() + limits.margin >= limits.deadline {
                report.examined -= 1;
                for rest in &batch[i..] {
                    keep(&mut hold, rest);
                }
                stop = Some((
                    StopReason::Deadline,
                    "the invocation's deadline is near".into(),
                ));
                break;
            } else {
                if let Some(interval) = interval {
                    tokio::time::sleep_until(next_send).await;
                    next_send = next_send.max(Instant::now()) + interval;
                }
                match send_with_retries(destination, m, &facts, limits.send_retry).await {
                    Ok(Redriven::Moved) => {
                        report.count(&group, |c| c.moved += 1);
                        delete.push(m.receipt_handle.clone());
                    }
                    Ok(Redriven::StillFailing {
                        class,
                        message,
                        replaced_by,
                    }) => {
                        written.extend(replaced_by);
                        info!(message_id = %m.message_id, error_class = %class, error = %message, "Redriven record failed again; its new dead letter replaces it.");
                        report.count(&group, |c| c.still_failing += 1);
                        delete.push(m.receipt_handle.clone());
                    }
                    Err(e) => {
                        warn!(message_id = %m.message_id, error = %e, "Not redriven; it stays in the DLQ.");
                        report.count(&group, |c| c.failed += 1);
                        if report.failures.len() < MAX_LISTED_FAILURES {
                            report.failures.push(Failure {
                                message_id: m.message_id.clone(),
                                group: group.clone(),
                                error: e.to_string(),
                            });
                        }
                        keep(&mut hold, m);
                        if e.class.is_retryable() {
                            for rest in &batch[i + 1..] {
                                keep(&mut hold, rest);
                            }
                            stop = Some((StopReason::DestinationUnavailable, e.to_string()));
                            delete_sent(dlq, &delete, &mut report).await;
                            break 'receiving;
                        }
                    }
                }
            }
            progress(&report);
        }
        delete_sent(dlq, &delete, &mut report).await;
        progress(&report);
    }

    let receipts: Vec<String> = hold.into_values().collect();
    for chunk in receipts.chunks(RECEIVE_MAX) {
        if let Err(e) = dlq.release(chunk).await {
            // They become visible anyway when their hiding ends.
            warn!(error = %e, "Could not make messages visible again; they will be after their visibility timeout.");
        }
    }
    let (reason, detail) = stop.unwrap_or_default();
    report.stopped = reason;
    report.detail = match reason {
        StopReason::Deadline | StopReason::MaxMessages => {
            format!("{detail}; invoke again with the same input to continue")
        }
        _ => detail,
    };
    report.remaining_in_dlq = dlq.depth().await.ok();
    report.elapsed_ms = started.elapsed().as_millis() as u64;
    progress(&report);
    info!(
        source = %report.source,
        stopped = ?report.stopped,
        summary = %report.summary(),
        "Redrive finished."
    );
    report
}

async fn send_with_retries<D: Destination>(
    destination: &D,
    m: &DlqMessage,
    facts: &crate::letter::Facts,
    backoff: Backoff,
) -> Result<Redriven, hub_core::PortError> {
    let transient = |f: &Failed<'_, hub_core::PortError>| f.error.class.is_retryable();
    retry(Policy::attempts(backoff), transient, || {
        destination.redrive(m, facts)
    })
    .await
    .result
}

async fn delete_sent<Q: DlqQueue>(dlq: &Q, receipts: &[String], report: &mut Report) {
    if receipts.is_empty() {
        return;
    }
    let failed = match dlq.delete(receipts).await {
        Ok(failed) => failed,
        Err(e) => {
            warn!(error = %e, "Delete failed; the messages sent back will reappear in the DLQ.");
            receipts.to_vec()
        }
    };
    for r in failed {
        if report.failures.len() < MAX_LISTED_FAILURES {
            report.failures.push(Failure {
                message_id: r,
                group: String::new(),
                error: "sent back but not deleted from the DLQ: it will reappear there (a harmless duplicate)".into(),
            });
        }
    }
}
