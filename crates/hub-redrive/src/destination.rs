//! Where a DLQ message goes back to.
//!
//! - [`QueueDestination`]: a domain DLQ's messages go back to the domain queue, body and
//!   attributes unchanged but for the error context (removed) and `redrive_count` (incremented).
//! - [`BridgeDestination`]: a bridge dead letter's raw record goes back through the bridge
//!   pipeline, parsed and published again, so a parser fix or a configuration change recovers
//!   it. A record that still fails is sent to the bridge DLQ again with its new error and its
//!   `redrives` incremented (the original is then deleted, so it is never in the DLQ twice).

use crate::letter::{DlqMessage, Facts, REDRIVE_COUNT};
use crate::ports::{ObjectReader, Outgoing, SendQueue};
use hub_bridge::ports::{ClaimStore, DeadLetters, Publisher};
use hub_bridge::{BridgeDeadLetter, BridgeMetrics, Pipeline, Settings};
use hub_core::ErrorClass;
use hub_core::PortError;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What became of a message sent back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redriven {
    /// Back at its source.
    Moved,
    /// Tried again and failed again: a new dead letter with the new error replaced it.
    StillFailing {
        /// The new error class.
        class: String,
        /// The new error.
        message: String,
        /// Message ids of the new dead letters (in the DLQ being redriven: not to be tried
        /// again in the same run).
        replaced_by: Vec<String>,
    },
}

/// Where the messages of one DLQ go back to.
pub trait Destination: Send + Sync {
    /// Its name, for the report.
    fn describe(&self) -> String;
    /// The facts of a message of this DLQ.
    fn facts(&self, message: &DlqMessage) -> Facts;
    /// Sends a message back. `Err` means it was not (or not wholly) sent back: it must stay in
    /// the DLQ.
    fn redrive(
        &self,
        message: &DlqMessage,
        facts: &Facts,
    ) -> impl Future<Output = Result<Redriven, PortError>> + Send;
}

/// A domain DLQ back to its queue.
#[derive(Debug)]
pub struct QueueDestination<S> {
    queue: S,
}

impl<S: SendQueue> QueueDestination<S> {
    /// Messages go to `queue`.
    pub fn new(queue: S) -> QueueDestination<S> {
        QueueDestination { queue }
    }

    /// The queue.
    pub fn queue(&self) -> &S {
        &self.queue
    }
}

/// The message a domain-DLQ message becomes when sent back: the original body and attributes,
/// `redrive_count` one higher; on FIFO queues the same group and a deduplication id per redrive.
pub fn outgoing(message: &DlqMessage, facts: &Facts) -> Outgoing {
    let count = facts.redrive_count + 1;
    let mut attributes = message.original_attributes();
    attributes.insert(REDRIVE_COUNT.to_string(), count.to_string());
    Outgoing {
        body: message.body.clone(),
        attributes,
        group_id: message.group_id.clone(),
        dedup_id: message
            .group_id
            .as_ref()
            .map(|_| format!("{}-r{count}", message.message_id)),
    }
}

impl<S: SendQueue> Destination for QueueDestination<S> {
    fn describe(&self) -> String {
        self.queue.describe()
    }

    fn facts(&self, message: &DlqMessage) -> Facts {
        message.domain_facts()
    }

    async fn redrive(&self, message: &DlqMessage, facts: &Facts) -> Result<Redriven, PortError> {
        self.queue.send(&outgoing(message, facts)).await?;
        Ok(Redriven::Moved)
    }
}

/// Keeps the dead letters the pipeline produced, for the destination to send itself.
#[derive(Debug, Default)]
pub struct Captured(Mutex<Vec<BridgeDeadLetter>>);

impl DeadLetters for Captured {
    async fn send(&self, letter: &BridgeDeadLetter) -> Result<(), PortError> {
        self.0.lock().unwrap().push(letter.clone());
        Ok(())
    }
}

/// A bridge-DLQ record back through the bridge pipeline.
#[derive(Debug)]
pub struct BridgeDestination<P, C, R, S> {
    pipeline: Pipeline<P, Captured, C>,
    objects: R,
    dlq: S,
    /// How long one record may take (the pipeline waits out SNS outages; the redrive must not).
    patience: Duration,
    target: String,
    lock: tokio::sync::Mutex<()>,
}

impl<P: Publisher, C: ClaimStore, R: ObjectReader, S: SendQueue> BridgeDestination<P, C, R, S> {
    /// Records are published by `publisher` (claim checks in `claims`), values claim-checked in
    /// the DLQ are read from `objects`, records that still fail go to `dlq` (the bridge DLQ).
    pub fn new(
        target: &str,
        publisher: P,
        claims: C,
        objects: R,
        dlq: S,
        settings: Settings,
        patience: Duration,
    ) -> Self {
        BridgeDestination {
            pipeline: Pipeline::new(
                publisher,
                Captured::default(),
                claims,
                settings,
                Arc::new(BridgeMetrics::default()),
            ),
            objects,
            dlq,
            patience,
            target: target.to_string(),
            lock: tokio::sync::Mutex::new(()),
        }
    }

    /// The publisher.
    pub fn publisher(&self) -> &P {
        self.pipeline.publisher()
    }

    /// The queue records that still fail are sent to (the bridge DLQ).
    pub fn dlq(&self) -> &S {
        &self.dlq
    }
}

fn permanent(operation: &'static str, message: String) -> PortError {
    PortError::new(operation, ErrorClass::Permanent, message)
}

impl<P: Publisher, C: ClaimStore, R: ObjectReader, S: SendQueue> Destination
    for BridgeDestination<P, C, R, S>
{
    fn describe(&self) -> String {
        format!("bridge pipeline → {}", self.target)
    }

    fn facts(&self, message: &DlqMessage) -> Facts {
        message.bridge_facts()
    }

    async fn redrive(&self, message: &DlqMessage, _facts: &Facts) -> Result<Redriven, PortError> {
        let letter = message
            .bridge_letter()
            .map_err(|e| permanent("redrive", format!("not a bridge dead letter: {e}")))?;
        let value = match &letter.value_claim_check {
            Some(c) if letter.value_b64.is_none() => Some(self.objects.get(&c.uri).await?),
            _ => None,
        };
        let record = letter
            .to_record(value)
            .map_err(|e| permanent("redrive", e.to_string()))?;
        // One record at a time through the pipeline, so the captured dead letters are this
        // record's.
        let _one = self.lock.lock().await;
        let report = tokio::time::timeout(self.patience, self.pipeline.process(&[record]))
            .await
            .map_err(|_| {
                PortError::new(
                    "sns:PublishBatch",
                    ErrorClass::Transient,
                    format!(
                        "not published within {:?} (SNS unavailable or breaker open)",
                        self.patience
                    ),
                )
            })?;
        let captured: Vec<BridgeDeadLetter> =
            std::mem::take(&mut *self.pipeline.dead_letters().0.lock().unwrap());
        let Some(first) = captured.first() else {
            debug_assert!(report.published > 0 || report.records == 1);
            return Ok(Redriven::Moved);
        };
        let (class, error) = (
            first.error.class.as_str().to_string(),
            first.error.message.clone(),
        );
        let mut replaced_by = Vec::new();
        for mut again in captured {
            again.redrives = letter.redrives + 1;
            again.attempts = letter.attempts + 1;
            if letter.value_b64.is_none() {
                // The value stays where it is.
                again.value_b64 = None;
                again.value_claim_check = letter.value_claim_check.clone();
            }
            let id = self
                .dlq
                .send(&Outgoing {
                    body: again.body(),
                    attributes: again
                        .attributes()
                        .into_iter()
                        .map(|(k, v)| (k.to_string(), v))
                        .collect(),
                    group_id: None,
                    dedup_id: None,
                })
                .await?;
            replaced_by.push(id);
        }
        Ok(Redriven::StillFailing {
            class,
            message: error,
            replaced_by,
        })
    }
}
