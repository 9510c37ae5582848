//! The DLQ redrive of SAP Sync Hub, free of SDKs: operators put failed messages back from the
//! AWS console (the `dlq-redrive` Lambda) or from a shell (`hubctl redrive`), safely.
//!
//! A run reads a DLQ, selects messages by error class, entity, age and key, holds back those
//! redriven too often (the loop guard), sends the others back at a bounded rate, deletes each
//! only after it was sent, stops before the Lambda's deadline and returns a [`Report`].
//!
//! **Its room:** hub-core, hub-model and hub-bridge (a bridge dead letter is redriven through the
//! bridge's pipeline again); no SDK. Its adapters live in hub-aws (feature `redrive`); the dlq-
//! redrive Lambda and `hubctl redrive` depend on it.
//!
//! # Layout
//! - [`request`]: the console input ([`RedriveRequest`]) and its [`Filter`].
//! - [`letter`]: a DLQ message ([`DlqMessage`]) and its [`Facts`] (domain and bridge shapes).
//! - [`ports`]: [`DlqQueue`], [`SendQueue`], [`ObjectReader`] and in-memory adapters.
//! - [`destination`]: back to a domain queue ([`QueueDestination`]) or through the bridge
//!   pipeline ([`BridgeDestination`]).
//! - [`engine`]: the run ([`run`]).
//! - [`report`]: its result.

pub mod destination;
pub mod engine;
pub mod letter;
pub mod ports;
pub mod report;
pub mod request;

pub use destination::{BridgeDestination, Destination, QueueDestination, Redriven};
pub use engine::{RunLimits, run};
pub use letter::{DlqMessage, Facts};
pub use ports::{DlqQueue, MemoryQueue, ObjectReader, Outgoing, SendQueue};
pub use report::{Counts, Report, StopReason};
pub use request::{Filter, RedriveRequest, When};
