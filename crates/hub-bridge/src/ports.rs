//! The bridge's ports: where events are published ([`Publisher`], SNS in the cloud), where
//! records that cannot be published go ([`DeadLetters`], SQS) and where bodies too large for
//! either are kept ([`ClaimStore`], S3), with in-memory adapters for tests and local runs.
//!
//! The in-memory adapters answer as the AWS ones do where a caller could tell the difference
//! (a batch over SNS's ten entries, a missing topic or queue, the claim URI's form): the port
//! contract suite (`tests/port_contracts.rs`) runs the same scenarios against both.

use crate::batch::MAX_ENTRIES;
use crate::dead_letter::BridgeDeadLetter;
use crate::message::Message;
use hub_core::ErrorClass;
use hub_core::PortError;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

/// One entry of a batch that the service refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryFailure {
    /// Index of the entry in the batch.
    pub index: usize,
    /// The service's error code, e.g. `InternalError`, `InvalidParameter`.
    pub code: String,
    /// The service's message.
    pub message: String,
    /// Whether sending it again may succeed (SNS: not a sender fault, or throttled).
    pub retryable: bool,
}

/// Publishes batches of messages (SNS `PublishBatch`).
pub trait Publisher: Send + Sync {
    /// Publishes up to 10 messages; `Ok` lists the entries that failed (the others were
    /// published), `Err` means the call as a whole failed.
    fn publish_batch(
        &self,
        messages: &[&Message],
    ) -> impl Future<Output = Result<Vec<EntryFailure>, PortError>> + Send;
}

/// Receives records that cannot be published (the bridge DLQ).
pub trait DeadLetters: Send + Sync {
    /// Sends one dead letter.
    fn send(&self, letter: &BridgeDeadLetter)
    -> impl Future<Output = Result<(), PortError>> + Send;

    /// Sends up to ten dead letters (within 256 KiB together) in as few calls as the sink
    /// allows: SQS `SendMessageBatch` takes them in one. `Ok` lists the letters not sent (their
    /// index in `letters`, and why); `Err` means the call as a whole failed. The default sends
    /// them one at a time.
    fn send_batch(
        &self,
        letters: &[&BridgeDeadLetter],
    ) -> impl Future<Output = Result<Vec<(usize, PortError)>, PortError>> + Send {
        async move {
            let mut failed = Vec::new();
            for (i, l) in letters.iter().enumerate() {
                if let Err(e) = self.send(l).await {
                    failed.push((i, e));
                }
            }
            Ok(failed)
        }
    }
}

/// Keeps bodies too large for SNS or SQS (S3 in the cloud).
pub trait ClaimStore: Send + Sync {
    /// Stores `body` under `key` (overwriting) and returns its URI, e.g. `s3://bucket/key`.
    fn put(
        &self,
        key: &str,
        body: Vec<u8>,
    ) -> impl Future<Output = Result<String, PortError>> + Send;
}

/// An in-memory publisher that can be made to fail, for tests and benchmarks.
#[derive(Debug, Default)]
pub struct MemoryPublisher {
    published: Mutex<Vec<Message>>,
    down: AtomicBool,
    missing: AtomicBool,
    fail_calls: AtomicU32,
    fail_entries: AtomicU32,
    hang_calls: AtomicU32,
    calls: AtomicU32,
    reject_containing: Mutex<Option<String>>,
}

impl MemoryPublisher {
    /// Every message published so far, in order.
    pub fn published(&self) -> Vec<Message> {
        self.published.lock().expect("not poisoned").clone()
    }

    /// While `down`, every call fails with a transient error (an outage).
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    /// While `missing`, every call fails with a permanent error, as SNS answers for a topic
    /// that does not exist (`NotFound`).
    pub fn set_topic_missing(&self, missing: bool) {
        self.missing.store(missing, Ordering::SeqCst);
    }

    /// The next `n` calls fail with a transient error.
    pub fn fail_next_calls(&self, n: u32) {
        self.fail_calls.store(n, Ordering::SeqCst);
    }

    /// The next `n` calls never answer (a stalled connection).
    pub fn hang_next_calls(&self, n: u32) {
        self.hang_calls.store(n, Ordering::SeqCst);
    }

    /// The next `n` entries (counted across calls) fail with a retryable entry error
    /// (`InternalError`), while the rest of their batch is published.
    pub fn fail_next_entries(&self, n: u32) {
        self.fail_entries.store(n, Ordering::SeqCst);
    }

    /// Entries whose body contains `needle` are refused as a sender fault (permanent).
    pub fn reject_bodies_containing(&self, needle: &str) {
        *self.reject_containing.lock().expect("not poisoned") = Some(needle.to_string());
    }

    /// Calls made so far, failed ones included.
    pub fn calls(&self) -> u32 {
        self.calls.load(Ordering::SeqCst)
    }
}

impl Publisher for MemoryPublisher {
    async fn publish_batch(&self, messages: &[&Message]) -> Result<Vec<EntryFailure>, PortError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let hang = self
            .hang_calls
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if hang {
            std::future::pending::<()>().await;
        }
        let scripted = self
            .fail_calls
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if self.down.load(Ordering::SeqCst) || scripted {
            return Err(PortError::new(
                "memory:PublishBatch",
                ErrorClass::Transient,
                "service unavailable",
            ));
        }
        if self.missing.load(Ordering::SeqCst) {
            return Err(PortError::permanent(
                "memory:PublishBatch",
                "NotFound: the topic does not exist",
            ));
        }
        // SNS refuses the whole call (`TooManyEntriesInBatchRequest`), publishing none.
        if messages.len() > MAX_ENTRIES {
            return Err(PortError::permanent(
                "memory:PublishBatch",
                format!(
                    "TooManyEntriesInBatchRequest: {} entries, at most {MAX_ENTRIES}",
                    messages.len()
                ),
            ));
        }
        let reject = self.reject_containing.lock().expect("not poisoned").clone();
        let mut failed = Vec::new();
        let mut published = self.published.lock().expect("not poisoned");
        for (index, m) in messages.iter().enumerate() {
            let transient = self
                .fail_entries
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok();
            if transient {
                failed.push(EntryFailure {
                    index,
                    code: "InternalError".into(),
                    message: "try again".into(),
                    retryable: true,
                });
            } else if reject.as_ref().is_some_and(|n| m.body.contains(n.as_str())) {
                failed.push(EntryFailure {
                    index,
                    code: "InvalidParameter".into(),
                    message: "refused by the test".into(),
                    retryable: false,
                });
            } else {
                published.push((*m).clone());
            }
        }
        Ok(failed)
    }
}

/// An in-memory DLQ.
#[derive(Debug, Default)]
pub struct MemoryDeadLetters {
    letters: Mutex<Vec<BridgeDeadLetter>>,
    calls: Mutex<Vec<usize>>,
    entry_failures: Mutex<usize>,
    down: AtomicBool,
    missing: AtomicBool,
}

impl MemoryDeadLetters {
    /// Every call so far, by the number of letters it carried.
    pub fn calls(&self) -> Vec<usize> {
        self.calls.lock().expect("not poisoned").clone()
    }

    /// The next `n` letters sent fail as entries of their batch (a transient failure), as SQS
    /// answers part of a `SendMessageBatch`.
    pub fn fail_entries(&self, n: usize) {
        *self.entry_failures.lock().expect("not poisoned") = n;
    }

    /// Every dead letter so far.
    pub fn letters(&self) -> Vec<BridgeDeadLetter> {
        self.letters.lock().expect("not poisoned").clone()
    }

    /// While `down`, sends fail with a transient error.
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    /// While `missing`, sends fail with a permanent error, as SQS answers for a queue that
    /// does not exist (`AWS.SimpleQueueService.NonExistentQueue`).
    pub fn set_queue_missing(&self, missing: bool) {
        self.missing.store(missing, Ordering::SeqCst);
    }
}

impl DeadLetters for MemoryDeadLetters {
    async fn send(&self, letter: &BridgeDeadLetter) -> Result<(), PortError> {
        self.send_batch(&[letter])
            .await?
            .pop()
            .map_or(Ok(()), |(_, e)| Err(e))
    }

    async fn send_batch(
        &self,
        letters: &[&BridgeDeadLetter],
    ) -> Result<Vec<(usize, PortError)>, PortError> {
        self.calls.lock().expect("not poisoned").push(letters.len());
        if self.down.load(Ordering::SeqCst) {
            return Err(PortError::new(
                "memory:SendMessage",
                ErrorClass::Transient,
                "queue unavailable",
            ));
        }
        if self.missing.load(Ordering::SeqCst) {
            return Err(PortError::permanent(
                "memory:SendMessage",
                "AWS.SimpleQueueService.NonExistentQueue: the queue does not exist",
            ));
        }
        let mut failing = self.entry_failures.lock().expect("not poisoned");
        let mut failed = Vec::new();
        for (i, l) in letters.iter().enumerate() {
            if *failing > 0 {
                *failing -= 1;
                failed.push((
                    i,
                    PortError::new(
                        "memory:SendMessageBatch",
                        ErrorClass::Transient,
                        "InternalError: try again",
                    ),
                ));
            } else {
                self.letters
                    .lock()
                    .expect("not poisoned")
                    .push((*l).clone());
            }
        }
        Ok(failed)
    }
}

/// An in-memory claim store. Its URIs have the S3 adapter's form, `s3://memory/<key>` (bucket
/// [`MemoryClaims::BUCKET`]), the form the consumers of a claim check parse.
#[derive(Debug, Default)]
pub struct MemoryClaims {
    objects: Mutex<HashMap<String, Vec<u8>>>,
}

impl MemoryClaims {
    /// The bucket named in its URIs.
    pub const BUCKET: &'static str = "memory";

    /// The object at `uri`, if any.
    pub fn get(&self, uri: &str) -> Option<Vec<u8>> {
        self.objects.lock().expect("not poisoned").get(uri).cloned()
    }

    /// How many objects are stored.
    pub fn len(&self) -> usize {
        self.objects.lock().expect("not poisoned").len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl ClaimStore for MemoryClaims {
    async fn put(&self, key: &str, body: Vec<u8>) -> Result<String, PortError> {
        let uri = format!("s3://{}/{key}", Self::BUCKET);
        self.objects
            .lock()
            .expect("not poisoned")
            .insert(uri.clone(), body);
        Ok(uri)
    }
}

/// No claim store configured: a body too large for SNS or SQS cannot be stored, so the
/// pipeline keeps retrying it (and logs at ERROR): configure `CLAIM_CHECK_BUCKET`.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoClaims;

impl ClaimStore for NoClaims {
    async fn put(&self, _key: &str, _body: Vec<u8>) -> Result<String, PortError> {
        Err(PortError::new(
            "claims:put",
            ErrorClass::Permanent,
            "no claim-check store configured (set CLAIM_CHECK_BUCKET)",
        ))
    }
}
