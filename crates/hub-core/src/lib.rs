//! Pure foundations shared by every part of SAP Sync Hub: how errors are classified and how
//! retries back off. This crate has no AWS or Kafka dependency (CI checks it with `cargo tree`).
//!
//! # Layout
//! - [`error`]: [`ErrorClass`] and the [`Classify`] trait every error type of the hub implements,
//!   so that one question, "retry or not?", drives retries, DLQ routing and Lambda diagnostics.
//! - [`deadline`]: time left of a Lambda invocation.
//! - [`emf`]: the CloudWatch Embedded Metric Format envelope every component writes.
//! - [`retry`]: full-jitter exponential backoff ([`retry::Backoff`]).

pub mod deadline;
pub mod emf;
pub mod error;
pub mod retry;

pub use error::{Classify, ErrorClass};
