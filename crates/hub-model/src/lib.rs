//! The contract between the bridge and every consumer of SAP Sync Hub: the canonical
//! [`ChangeEvent`] (DESIGN §2) and the typed domain records it carries ([`Customer`],
//! [`Material`], [`SalesOrder`], [`Supplier`]). Pure: no I/O, no SDK.
//!
//! **Its room:** hub-core only, and data crates (serde, chrono, rust_decimal, compact_str). Every
//! crate that reads or writes events may depend on it; it depends on no other crate of the hub, no
//! SDK, no Kafka client, no Lambda runtime.
//!
//! # Layout
//! - [`event`]: [`ChangeEvent`], [`Entity`], [`Op`], [`Version`] (orderable source version),
//!   [`Source`] (where it came from), [`RoutingAttributes`] (the SNS message attributes).
//! - [`records`]: the domain records, documented field by field, and [`Record`];
//!   [`records::Sensitive`] for personal data kept out of `Debug` (a supplier's bank accounts).
//! - [`object`]: the registry of SAP objects ([`object::OBJECTS`]): per entity its routing name,
//!   schema, table key, domain, sync function, IDoc types and topic, S/4 objects.
//! - [`claim_check`]: the pointer that carries events over SNS's 256 KiB limit.
//! - [`consolidated`]: [`consolidated::ConsolidatedMessage`], an applied change as the
//!   `consolidated` topic publishes it (and a backfill sends it).
//! - [`key`]: business keys: SAP ALPHA conversion handled once ([`key::normalize`]).

pub mod claim_check;
pub mod consolidated;
pub mod event;
pub mod key;
pub mod object;
pub mod records;
mod time_text;

pub use event::{ChangeEvent, Entity, Op, RoutingAttributes, Source, Version};
pub use object::{OBJECTS, Object};
pub use records::{Customer, Material, Record, SalesOrder, Supplier};
