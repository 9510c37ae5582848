//! SAP formats to canonical change events (DESIGN §2): IDoc XML and S/4HANA business events
//! (CloudEvents 1.0). Pure: no I/O, no SDK.
//!
//! One entry point, [`parse_record`]: a Kafka record in, a list of [`Outcome`]s out (a document
//! with several IDocs gives one event per IDoc; a thin S/4 event gives a request for
//! enrichment), or a typed [`ParseError`] naming the field or segment at fault, classified
//! poison or permanent. It never panics, whatever the bytes, and its memory is bounded by
//! [`Limits`].
//!
//! **Its room:** hub-core and hub-model, and the parsing crates (quick-xml, serde_json,
//! encoding_rs, simdutf8). Only the bridge's side depends on it (hub-bridge, and through it the
//! bridge and redrive Lambdas); a domain function never links it. No I/O, no SDK.
//!
//! # Layout
//! - [`record`]: [`Envelope`] (the Kafka record), [`Outcome`], [`NeedsEnrichment`], [`Limits`].
//! - [`idoc`]: IDoc XML: the generic tree ([`idoc::tree`]) and the MATMAS / DEBMAS / CREMAS /
//!   ORDERS mappings.
//! - [`cloudevent`]: S/4HANA business events, structured and Kafka binary mode.
//! - [`odata`]: S/4HANA's OData V2 APIs (entity sets, multi-key `$filter`, answers mapped as
//!   events are), for the enrichment of thin events.
//! - [`conv`]: SAP conventions (trailing minus, `YYYYMMDD`, flags, ISO languages and units).
//! - [`time_zone`]: [`SenderTimeZones`], the zone each sending system writes CREDAT/CRETIM in.
//! - [`error`]: the error type, [`ParseError`].
//! - [`samples`]: the fixtures as Kafka records, for tests, seeding and benchmarks.
//! - [`fuzzing`]: the entry points of the fuzz targets (`fuzz/`) and of their corpus replay.
//!
//! Format detection: a `ce_specversion` header means a binary-mode CloudEvent; otherwise a value
//! starting with `<` (after a BOM and blanks) is IDoc XML and one starting with `{` a
//! structured-mode CloudEvent.

pub mod cloudevent;
pub mod conv;
pub mod error;
pub mod fuzzing;
pub mod idoc;
mod json;
pub mod odata;
pub mod record;
pub mod samples;
pub mod time_zone;

pub use error::ParseError;
pub use record::{Envelope, Limits, NeedsEnrichment, Outcome, OwnedRecord};
pub use time_zone::SenderTimeZones;

/// Turns one Kafka record into canonical change events, IDoc times taken as UTC.
pub fn parse_record(env: &Envelope<'_>, limits: &Limits) -> Result<Vec<Outcome>, ParseError> {
    parse_record_with(env, limits, &SenderTimeZones::utc())
}

/// Turns one Kafka record into canonical change events, an IDoc's CREDAT/CRETIM read in the
/// time zone `zones` gives its sender (`SNDPRN`).
pub fn parse_record_with(
    env: &Envelope<'_>,
    limits: &Limits,
    zones: &SenderTimeZones,
) -> Result<Vec<Outcome>, ParseError> {
    if env.value.len() > limits.max_bytes {
        return Err(ParseError::TooLarge {
            size: env.value.len(),
            limit: limits.max_bytes,
        });
    }
    if cloudevent::is_binary(env) {
        return cloudevent::parse_binary(env, limits.max_json_depth);
    }
    let start = env
        .value
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(env.value)
        .iter()
        .find(|b| !b.is_ascii_whitespace());
    match start {
        None => Err(ParseError::Empty),
        Some(b'<') => parse_idoc(env, limits, zones),
        Some(b'{') => cloudevent::parse_structured(env, limits.max_json_depth),
        // UTF-16 with a BOM is XML in practice.
        Some(0xFE | 0xFF) => parse_idoc(env, limits, zones),
        Some(_) => Err(ParseError::Unrecognized(
            "neither XML nor JSON, and no ce_specversion header".into(),
        )),
    }
}

fn parse_idoc(
    env: &Envelope<'_>,
    limits: &Limits,
    zones: &SenderTimeZones,
) -> Result<Vec<Outcome>, ParseError> {
    let text = idoc::tree::decode(env.value)?;
    let idocs = idoc::tree::parse(&text, limits.tree)?;
    idoc::to_outcomes(&idocs, env, zones)
}

/// FNV-1a, 64 bits: a stable hash for tie-breakers (not for security).
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}
