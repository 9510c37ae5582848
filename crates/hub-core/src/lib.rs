//! Pure foundations shared by every part of SAP Sync Hub: configuration from the environment,
//! how errors are classified, the ports' error, and how retries back off.
//!
//! **Its room:** the bottom of the workspace. Every crate, Lambda and binary may depend on it;
//! it depends on no crate of the hub, and on no AWS SDK, Kafka client or Lambda runtime crate
//! (CI checks it with `cargo tree`). Only `tokio`'s timer, for the retry loop's waits.
//!
//! # Layout
//! - [`breaker`]: [`breaker::BreakerState`], the states every circuit breaker of the hub has.
//! - [`config`]: [`config::Env`] and [`config::ConfigError`], every process's settings from the
//!   environment, each error naming its variable.
//! - [`error`]: [`ErrorClass`] and the [`Classify`] trait every error type of the hub implements,
//!   so that one question, "retry or not?", drives retries, DLQ routing and Lambda diagnostics.
//! - [`port`]: [`PortError`], the error of every port, with its class and its source.
//! - [`retry`]: full-jitter exponential backoff ([`retry::Backoff`]) and [`retry::retry`], the
//!   one retry loop.
//! - [`deadline`]: time left of a Lambda invocation.
//! - [`emf`]: the CloudWatch Embedded Metric Format envelope every component writes.

pub mod breaker;
pub mod config;
pub mod deadline;
pub mod emf;
pub mod error;
pub mod port;
pub mod retry;

pub use error::{Classify, ErrorClass};
pub use port::PortError;
