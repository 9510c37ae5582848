//! The local runtime of SAP Sync Hub: what AWS Lambda's SQS event source mapping does in the
//! cloud, done on this machine against the SQS stand-in, running the very handler functions that
//! the Lambda binaries run.
//!
//! # Layout
//! - [`function`]: [`LocalFunction`], a function invoked with a JSON payload as Lambda invokes
//!   one, and [`handler_fn`], which wraps a `lambda_runtime` handler (`LambdaEvent<T>` in,
//!   `Result<R, E: Into<Diagnostic>>` out) the way the runtime does: deserialise, call,
//!   serialise.
//! - [`config`]: [`EsmConfig`], an event source mapping read from a function's `Events` in
//!   `template.yaml` (`Type: SQS`), validated against AWS's limits.
//! - [`esm`]: [`SqsEventSourceMapping`], the poller: batch size and batching window, function
//!   timeout, partial batch responses, maximum concurrency, and the queue's own redrive policy.

pub mod config;
pub mod esm;
pub mod function;
pub mod provision;

pub use config::{EsmConfig, EsmConfigError};
pub use esm::{EsmError, EsmStats, SqsEventSourceMapping};
pub use function::{FunctionError, LocalFunction, handler_fn};
