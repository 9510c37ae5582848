//! The batch processing every domain sync Lambda shares (DESIGN §3, §4): an SQS batch of
//! canonical change events in, version-guarded writes to the single table, an
//! `SqsBatchResponse` naming only the messages SQS must redeliver out.
//!
//! For each batch:
//! 1. a claim-check pointer (an event over SNS's 256 KiB, see `hub_model::claim_check`) is
//!    resolved through the [`PayloadStore`]: a missing object is permanent, an unavailable store
//!    transient;
//! 2. every message is decoded (raw SNS delivery: the body is the `ChangeEvent` JSON) and checked
//!    against the function's domain; a message that cannot be used is a **permanent** error: it
//!    goes to the domain DLQ at once, with error attributes, and counts as handled;
//! 3. changes of the same key are coalesced to the newest version (the others are stale by
//!    construction and count as such);
//! 4. the winners are written concurrently, each in a span with its message id and correlation
//!    id; a transient store error (throttling, timeout) is retried with full-jitter backoff while
//!    the invocation has time left, then reported in `batchItemFailures` so that SQS redelivers
//!    it (and after `maxReceiveCount` its redrive policy moves it to the DLQ);
//! 5. metrics are written as one CloudWatch EMF line.
//!
//! Logs carry ids, keys and classes, never record data (names, tax numbers, addresses).
//!
//! **Its room:** hub-core, hub-model, hub-store, and `aws_lambda_events` for the shapes of the SQS
//! batch and its partial-batch response (plain serde structs, no SDK: CI's SDK-free check allows
//! exactly that crate). The domain-sync Lambda depends on it.
//!
//! # Layout
//! - [`batch`]: [`process_batch`], [`SyncConfig`], [`BatchReport`].
//! - [`dlq`]: the [`DeadLetterSink`] port, [`DeadLetter`], [`MemoryDeadLetters`]; the
//!   [`PayloadStore`] port of claim checks, [`MemoryPayloads`] and [`NoPayloads`].
//! - [`metrics`]: the EMF line and the metric names.

pub mod batch;
pub mod dlq;
pub mod metrics;
#[cfg(feature = "testing")]
pub mod testing;

pub use batch::{BatchReport, SyncConfig, process_batch};
pub use dlq::{
    DeadLetter, DeadLetterSink, MemoryDeadLetters, MemoryPayloads, NoPayloads, PayloadStore,
};
