//! The redrive's ports: the DLQ it reads ([`DlqQueue`]), the queue it sends to ([`SendQueue`])
//! and where claim-checked values are read back ([`ObjectReader`]), with in-memory adapters.
//!
//! [`MemoryQueue`] keeps SQS's rules where a caller could tell the difference (at most ten
//! messages a receive, whole seconds of hiding, unknown receipts reported back from a delete):
//! the port contract suite (`tests/port_contracts.rs`) runs the same scenarios against it and
//! the SQS adapters.

use crate::letter::DlqMessage;
use hub_core::ErrorClass;
use hub_core::PortError;
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A message to send to a queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// The body, unchanged from the DLQ message.
    pub body: String,
    /// Message attributes (at most 10, SQS's limit).
    pub attributes: BTreeMap<String, String>,
    /// FIFO queues: the message group.
    pub group_id: Option<String>,
    /// FIFO queues: the deduplication id.
    pub dedup_id: Option<String>,
}

/// The DLQ being redriven (SQS).
pub trait DlqQueue: Send + Sync {
    /// Its URL or name, for the report.
    fn describe(&self) -> String;
    /// Receives up to `max` messages (SQS returns at most 10) and hides them for `hide_for`
    /// (SQS: whole seconds, 1 s to 12 h).
    fn receive(
        &self,
        max: usize,
        hide_for: Duration,
    ) -> impl Future<Output = Result<Vec<DlqMessage>, PortError>> + Send;
    /// Deletes messages; returns the receipt handles that could not be deleted (SQS: a receipt
    /// that never named a message of the queue; deleting a deleted message again is no error).
    fn delete(
        &self,
        receipts: &[String],
    ) -> impl Future<Output = Result<Vec<String>, PortError>> + Send;
    /// Makes messages visible again at once.
    fn release(&self, receipts: &[String]) -> impl Future<Output = Result<(), PortError>> + Send;
    /// Messages in the queue (SQS's approximate count of visible ones).
    fn depth(&self) -> impl Future<Output = Result<u64, PortError>> + Send;
}

/// A queue messages are sent back to (a domain queue, or the bridge DLQ for records that still
/// fail).
pub trait SendQueue: Send + Sync {
    /// Its URL or name, for the report.
    fn describe(&self) -> String;
    /// Sends one message; returns its new message id.
    fn send(&self, message: &Outgoing) -> impl Future<Output = Result<String, PortError>> + Send;
}

/// Reads objects by URI (`s3://bucket/key`): values the bridge DLQ claim-checked.
pub trait ObjectReader: Send + Sync {
    /// The object's bytes.
    fn get(&self, uri: &str) -> impl Future<Output = Result<Vec<u8>, PortError>> + Send;
}

#[derive(Debug, Clone)]
struct Stored {
    message: DlqMessage,
    visible_at: Instant,
}

/// A queue in memory with SQS's visibility semantics, usable as DLQ and as destination.
#[derive(Debug, Default)]
pub struct MemoryQueue {
    name: String,
    state: Mutex<MemoryState>,
}

#[derive(Debug, Default)]
struct MemoryState {
    messages: Vec<Stored>,
    /// Receipt handles of deleted messages: deleting again is no error, as on SQS.
    deleted: BTreeSet<String>,
    next: u64,
    sends_left: Option<u32>,
    sent: Vec<Outgoing>,
}

/// SQS's most messages per `ReceiveMessage`.
const RECEIVE_LIMIT: usize = 10;

/// SQS's longest visibility timeout (12 hours).
const MAX_VISIBILITY: Duration = Duration::from_secs(43_200);

/// How long SQS hides a received message asked to hide for `hide_for`: the SQS adapter sends
/// whole seconds, at least one.
fn visibility(hide_for: Duration) -> Duration {
    Duration::from_secs(hide_for.as_secs()).clamp(Duration::from_secs(1), MAX_VISIBILITY)
}

impl MemoryQueue {
    /// An empty queue.
    pub fn new(name: &str) -> MemoryQueue {
        MemoryQueue {
            name: name.to_string(),
            state: Mutex::default(),
        }
    }

    /// Adds a message (body, attributes), visible at once.
    pub fn push(&self, body: &str, attributes: &[(&str, &str)]) -> String {
        let mut s = self.state.lock().unwrap();
        s.next += 1;
        let id = format!("{}-{}", self.name, s.next);
        s.messages.push(Stored {
            message: DlqMessage {
                message_id: id.clone(),
                receipt_handle: String::new(),
                body: body.to_string(),
                attributes: attributes
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                sent_at: Some(chrono::Utc::now()),
                group_id: None,
            },
            visible_at: Instant::now(),
        });
        id
    }

    /// Messages in the queue, visible or not.
    pub fn len(&self) -> usize {
        self.state.lock().unwrap().messages.len()
    }

    /// Whether the queue holds no message.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every message in the queue (visible or not).
    pub fn messages(&self) -> Vec<DlqMessage> {
        let s = self.state.lock().unwrap();
        s.messages.iter().map(|m| m.message.clone()).collect()
    }

    /// What was sent to this queue through [`SendQueue`].
    pub fn sent(&self) -> Vec<Outgoing> {
        self.state.lock().unwrap().sent.clone()
    }

    /// After `n` more successful sends, every send fails (transiently).
    pub fn fail_sends_after(&self, n: u32) {
        self.state.lock().unwrap().sends_left = Some(n);
    }
}

impl DlqQueue for MemoryQueue {
    fn describe(&self) -> String {
        self.name.clone()
    }

    async fn receive(&self, max: usize, hide_for: Duration) -> Result<Vec<DlqMessage>, PortError> {
        let mut s = self.state.lock().unwrap();
        let now = Instant::now();
        let max = max.clamp(1, RECEIVE_LIMIT);
        let hide_for = visibility(hide_for);
        let mut out = Vec::new();
        let mut next = s.next;
        for m in s.messages.iter_mut() {
            if out.len() >= max {
                break;
            }
            if m.visible_at <= now {
                next += 1;
                m.visible_at = now + hide_for;
                m.message.receipt_handle = format!("{}#{next}", m.message.message_id);
                out.push(m.message.clone());
            }
        }
        s.next = next;
        Ok(out)
    }

    async fn delete(&self, receipts: &[String]) -> Result<Vec<String>, PortError> {
        let mut s = self.state.lock().unwrap();
        let mut failed = Vec::new();
        for r in receipts {
            let before = s.messages.len();
            // A message never received has no receipt handle yet.
            s.messages
                .retain(|m| m.message.receipt_handle.is_empty() || &m.message.receipt_handle != r);
            if s.messages.len() < before {
                s.deleted.insert(r.clone());
            } else if !s.deleted.contains(r) {
                // SQS: `ReceiptHandleIsInvalid`, a failed entry of the batch.
                failed.push(r.clone());
            }
        }
        Ok(failed)
    }

    async fn release(&self, receipts: &[String]) -> Result<(), PortError> {
        let mut s = self.state.lock().unwrap();
        let now = Instant::now();
        for m in s.messages.iter_mut() {
            if receipts.contains(&m.message.receipt_handle) {
                m.visible_at = now;
            }
        }
        Ok(())
    }

    async fn depth(&self) -> Result<u64, PortError> {
        let s = self.state.lock().unwrap();
        let now = Instant::now();
        Ok(s.messages.iter().filter(|m| m.visible_at <= now).count() as u64)
    }
}

impl SendQueue for MemoryQueue {
    fn describe(&self) -> String {
        self.name.clone()
    }

    async fn send(&self, message: &Outgoing) -> Result<String, PortError> {
        {
            let mut s = self.state.lock().unwrap();
            if let Some(left) = s.sends_left.as_mut() {
                if *left == 0 {
                    return Err(PortError::new(
                        "sqs:SendMessage",
                        ErrorClass::Transient,
                        "injected failure",
                    ));
                }
                *left -= 1;
            }
            s.sent.push(message.clone());
        }
        let attrs: Vec<(&str, &str)> = message
            .attributes
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        Ok(self.push(&message.body, &attrs))
    }
}

/// Objects in memory.
#[derive(Debug, Default)]
pub struct MemoryObjects(pub Mutex<BTreeMap<String, Vec<u8>>>);

impl ObjectReader for MemoryObjects {
    async fn get(&self, uri: &str) -> Result<Vec<u8>, PortError> {
        self.0.lock().unwrap().get(uri).cloned().ok_or_else(|| {
            PortError::new(
                "s3:GetObject",
                ErrorClass::Permanent,
                format!("no object {uri}"),
            )
        })
    }
}

/// No object store: a claim-checked value cannot be read.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoObjects;

impl ObjectReader for NoObjects {
    async fn get(&self, uri: &str) -> Result<Vec<u8>, PortError> {
        Err(PortError::new(
            "s3:GetObject",
            ErrorClass::Permanent,
            format!("no object store configured to read {uri}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_receive_hides_for_at_least_a_second_as_sqs_does() {
        // Scenario: asked to hide for less than a second, the queue hides for one, as the SQS
        // adapter's whole seconds do; a message is never handed out twice at once.
        let q = MemoryQueue::new("q");
        q.push("a", &[]);
        let got = q.receive(10, Duration::ZERO).await.unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(q.depth().await.unwrap(), 0);
        assert!(q.receive(10, Duration::ZERO).await.unwrap().is_empty());
        assert_eq!(
            visibility(Duration::from_millis(1500)),
            Duration::from_secs(1)
        );
        assert_eq!(visibility(Duration::from_secs(100_000)), MAX_VISIBILITY);
    }
}
