//! The enrichment of thin S/4HANA business events (issue 20), free of SDKs: a thin event (the
//! key only) in, the complete canonical change event out, read from S/4's released OData V2
//! APIs and mapped with the event mappings of `hub-sap`, so that it equals the event a full
//! S/4 event of the same object gives.
//!
//! **Its room:** hub-core, hub-model and hub-sap (the APIs, their answers and the mappings);
//! tokio's timer and lock. No SDK and no HTTP client: the S/4 API is the [`S4Api`] port, whose
//! HTTPS adapter (Basic or OAuth 2.0 client credentials, a custom CA) lives in
//! `lambdas/s4-enricher` with the rest of the wiring.
//!
//! What it guarantees:
//! - **Fewer calls than events.** A batch's thin events are grouped by entity; each distinct
//!   key is read once, and up to [`Settings::max_keys_per_call`] keys share one call
//!   (`$filter=K eq 'a' or K eq 'b'`). Two events of one key give one enriched event.
//! - **No late overwrite.** The enriched event's version is the newer of the event's version
//!   and the object's `LastChangeDateTime` (DESIGN §3).
//! - **S/4 is protected.** Every call waits for the [`RateLimiter`] (a token bucket; a `429` or
//!   `503` with `Retry-After` pauses it), and goes through the [`Breakers`] of its host: after
//!   `failure_threshold` consecutive failed calls (timeouts, connection errors, 5xx, 429) the
//!   breaker opens, and the caller stops calling and leaves the rest of its messages for later.
//! - **Outages never dead-letter.** A message whose object could not be read because of S/4
//!   comes back as [`Fate::Unavailable`]; only what S/4 answered and the hub cannot map is
//!   [`Fate::Failed`] (to the enricher's DLQ with its context).
//! - **Deleted after the event.** A Created or Changed event whose object S/4 no longer has
//!   becomes [`Fate::NotFound`]: acknowledged, counted and logged, never dead-lettered, never
//!   turned into a delete (see [`enricher`]).
//!
//! # Layout
//! - [`api`]: the [`S4Api`] port, its [`CallError`], and [`MemoryS4`], an in-memory S/4 for
//!   tests that answers `$filter` reads as S/4 does.
//! - [`breaker`]: [`Breakers`], one circuit breaker per S/4 host.
//! - [`limiter`]: [`RateLimiter`], the token bucket toward S/4.
//! - [`mapping`]: the [`MappingSwitch`] port (the enricher's own event source mapping, turned
//!   off while its breaker is open) and [`MemorySwitch`].
//! - [`enricher`]: [`Enricher`], a batch of thin events to their [`Fate`]s.
//! - [`metrics`]: the counters and their EMF line.
//! - [`settings`]: [`Settings`] from the environment.

pub mod api;
pub mod breaker;
pub mod enricher;
pub mod limiter;
pub mod mapping;
pub mod metrics;
pub mod settings;

pub use api::{CallError, MemoryS4, S4Api};
pub use breaker::{BreakerState, Breakers};
pub use enricher::{Enricher, Fate, Thin};
pub use limiter::RateLimiter;
pub use mapping::{MappingSwitch, MemorySwitch};
pub use metrics::EnrichMetrics;
pub use settings::Settings;
