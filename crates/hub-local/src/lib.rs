//! Development tooling of SAP Sync Hub: the local stack around the Lambdas' own code. It holds
//! the provisioner that creates the resources of `template.yaml` on the local stand-ins (moto for
//! SNS, SQS and S3; DynamoDB Local), the SQS event source mappings that run the very handler
//! functions the Lambda binaries run against those stand-ins, and the helpers that wrap a
//! handler as a locally invoked function.
//!
//! No Lambda's production build links this crate: `domain-sync` uses it only behind its `local`
//! feature, which `hubctl` and the integration tests turn on. It may depend on `hub-core`,
//! `hub-template` (the template reader), `hub-aws` (the SDK clients and the classification of SDK
//! errors), the AWS SDKs and the Lambda runtime's types; never on a Lambda crate or on `hubctl`.
//!
//! # Layout
//! - [`provision`]: [`provision::Provisioner`], which creates or updates the template's resources
//!   (one module per service: SQS, SNS, S3, DynamoDB, sharing one create-update-check shape),
//!   checks them for drift, or only resolves a provisioned stack's physical ids for commands that
//!   read; its [`provision::Report`] and the summary lines printed from it.
//! - [`function`]: [`LocalFunction`], a function invoked with a JSON payload as Lambda invokes
//!   one, and [`handler_fn`], which wraps a `lambda_runtime` handler (`LambdaEvent<T>` in,
//!   `Result<R, E: Into<Diagnostic>>` out) the way the runtime does: deserialise, call,
//!   serialise.
//! - [`config`]: [`EsmConfig`], an event source mapping read from a function's `Events` in
//!   `template.yaml` (`Type: SQS`), validated against AWS's limits.
//! - [`esm`]: [`SqsEventSourceMapping`], the poller: batch size and batching window, function
//!   timeout, partial batch responses, maximum concurrency, and the queue's own redrive policy.
//! - [`s4`]: [`s4::LocalS4`], a local S/4 (SAP CAP) of one's own, and OData requests to it.
//! - [`stream`]: [`StreamEsmConfig`] (`Type: DynamoDB` events) and
//!   [`StreamEventSourceMapping`], the table's stream poller: batch size and window, bisection on
//!   function error, retry limit, partial batch responses and the on-failure destination.

pub mod config;
pub mod esm;
pub mod function;
pub mod provision;
pub mod s4;
pub mod stream;

pub use config::{EsmConfig, EsmConfigError};
pub use esm::{EsmError, EsmStats, EsmSwitch, SqsEventSourceMapping};
pub use function::{FunctionError, LocalFunction, handler_fn};
pub use stream::{StreamEsmConfig, StreamEventSourceMapping, StreamStats};
