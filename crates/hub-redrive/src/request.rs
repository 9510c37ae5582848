//! The redrive's input: the small JSON an operator types in the console's "Test" tab (every
//! field optional), and the filters it selects messages with.

use chrono::{DateTime, Duration as Age, Utc};
use serde::{Deserialize, Deserializer};
use std::fmt;

/// Messages moved in one run when the input does not say (a run stops before the Lambda's
/// timeout anyway; invoke again to continue).
pub const DEFAULT_MAX_MESSAGES: u32 = 1000;
/// Redrives of one message after which the loop guard holds it back.
pub const DEFAULT_MAX_REDRIVES: u32 = 3;

/// What to redrive and how. Unknown fields are refused, so a typo (`dryrun`) cannot turn a dry
/// run into a real one.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RedriveRequest {
    /// Report only; nothing is sent or deleted. Default `true`: moving needs `"dry_run": false`.
    pub dry_run: bool,
    /// Messages to move (or to report as movable) at most.
    pub max_messages: u32,
    /// Sends per second at most (none: as fast as the destination takes them).
    pub rate_per_second: Option<f64>,
    /// Only messages with one of these error classes (`permanent`, `transient`, `poison`,
    /// `needs_enrichment`). A single string is accepted.
    #[serde(deserialize_with = "one_or_many")]
    pub error_class: Vec<String>,
    /// Only messages of one of these entities (`customer`, `material`, `sales_order`,
    /// `supplier`).
    #[serde(deserialize_with = "one_or_many")]
    pub entity: Vec<String>,
    /// Only messages that failed before this: a duration ago (`30m`, `2h`, `7d`) or an RFC 3339
    /// time.
    pub older_than: Option<When>,
    /// Only messages that failed after this (same forms).
    pub newer_than: Option<When>,
    /// Only messages of this business key (e.g. a customer number).
    pub key: Option<String>,
    /// Loop guard: messages redriven this many times already stay in the DLQ and are reported.
    pub max_redrives: u32,
}

impl Default for RedriveRequest {
    fn default() -> Self {
        RedriveRequest {
            dry_run: true,
            max_messages: DEFAULT_MAX_MESSAGES,
            rate_per_second: None,
            error_class: Vec::new(),
            entity: Vec::new(),
            older_than: None,
            newer_than: None,
            key: None,
            max_redrives: DEFAULT_MAX_REDRIVES,
        }
    }
}

/// The input cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid redrive input: {0}")]
pub struct InvalidRequest(pub String);

impl RedriveRequest {
    /// Reads the console input; `null` or `{}` is the default (a dry run).
    pub fn from_json(v: serde_json::Value) -> Result<RedriveRequest, InvalidRequest> {
        let v = if v.is_null() {
            serde_json::json!({})
        } else {
            v
        };
        let r: RedriveRequest =
            serde_json::from_value(v).map_err(|e| InvalidRequest(e.to_string()))?;
        r.validate()?;
        Ok(r)
    }

    /// Checks the values together.
    pub fn validate(&self) -> Result<(), InvalidRequest> {
        if let Some(r) = self.rate_per_second
            && !(r.is_finite() && r > 0.0)
        {
            return Err(InvalidRequest(format!(
                "rate_per_second must be a positive number, not {r}"
            )));
        }
        if self.max_messages == 0 {
            return Err(InvalidRequest("max_messages must be at least 1".into()));
        }
        for c in &self.error_class {
            if !KNOWN_CLASSES.contains(&c.as_str()) {
                return Err(InvalidRequest(format!(
                    "error_class {c:?} is none of {}",
                    KNOWN_CLASSES.join(", ")
                )));
            }
        }
        Ok(())
    }

    /// The filter of this request, with relative ages taken from `now`.
    pub fn filter(&self, now: DateTime<Utc>) -> Filter {
        Filter {
            error_class: self.error_class.clone(),
            entity: self.entity.clone(),
            failed_before: self.older_than.as_ref().map(|w| w.at(now)),
            failed_after: self.newer_than.as_ref().map(|w| w.at(now)),
            key: self.key.clone(),
        }
    }
}

/// Error classes a DLQ message can carry.
pub const KNOWN_CLASSES: &[&str] = &["permanent", "transient", "poison", "needs_enrichment"];

/// The oldest age `When` takes, in days.
pub const MAX_AGE_DAYS: i64 = 36_500;

/// A point in time, given as an age (`2h` ago) or a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum When {
    /// This long before the run.
    Ago(Age),
    /// This time.
    At(DateTime<Utc>),
}

impl When {
    /// The time it designates for a run at `now`.
    pub fn at(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            When::Ago(d) => now
                .checked_sub_signed(*d)
                .unwrap_or(DateTime::<Utc>::MIN_UTC),
            When::At(t) => *t,
        }
    }

    /// Parses `45s`, `30m`, `2h`, `7d` or an RFC 3339 time.
    pub fn parse(s: &str) -> Result<When, String> {
        let s = s.trim();
        if let Ok(t) = DateTime::parse_from_rfc3339(s) {
            return Ok(When::At(t.with_timezone(&Utc)));
        }
        let (n, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
        let n: i64 = n.parse().map_err(|_| {
            format!("{s:?} is neither a duration (30m, 2h, 7d) nor an RFC 3339 time")
        })?;
        let d = match unit {
            "s" => Age::try_seconds(n),
            "m" => Age::try_minutes(n),
            "h" => Age::try_hours(n),
            "d" => Age::try_days(n),
            _ => return Err(format!("{s:?}: the unit must be s, m, h or d")),
        };
        // Nothing in a DLQ is older than its retention (14 days at most); a century is a
        // generous bound that keeps `now - age` a valid time.
        match d {
            Some(d) if d <= Age::days(MAX_AGE_DAYS) => Ok(When::Ago(d)),
            _ => Err(format!(
                "{:?}: at most {MAX_AGE_DAYS} days ago",
                s.chars().take(40).collect::<String>()
            )),
        }
    }
}

impl fmt::Display for When {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            When::Ago(d) => write!(f, "{}s ago", d.num_seconds()),
            When::At(t) => write!(f, "{}", t.to_rfc3339()),
        }
    }
}

impl<'de> Deserialize<'de> for When {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        When::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl std::str::FromStr for When {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        When::parse(s)
    }
}

fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Option::<OneOrMany>::deserialize(d)? {
        None => Vec::new(),
        Some(OneOrMany::One(s)) => vec![s],
        Some(OneOrMany::Many(v)) => v,
    })
}

/// What a message must be to be redriven. Empty lists match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// One of these classes.
    pub error_class: Vec<String>,
    /// One of these entities.
    pub entity: Vec<String>,
    /// Failed before this.
    pub failed_before: Option<DateTime<Utc>>,
    /// Failed after this.
    pub failed_after: Option<DateTime<Utc>>,
    /// This business key.
    pub key: Option<String>,
}

impl Filter {
    /// Whether a message with these facts is selected. A fact the message lacks (no entity, no
    /// failure time, a claim-checked body without key) does not match a filter on it.
    pub fn matches(&self, f: &crate::letter::Facts) -> bool {
        let listed = |list: &[String], v: Option<&str>| {
            list.is_empty() || v.is_some_and(|v| list.iter().any(|x| x == v))
        };
        listed(&self.error_class, Some(&f.error_class))
            && listed(&self.entity, f.entity.as_deref())
            && self
                .failed_before
                .is_none_or(|t| f.failed_at.is_some_and(|at| at < t))
            && self
                .failed_after
                .is_none_or(|t| f.failed_at.is_some_and(|at| at > t))
            && self
                .key
                .as_ref()
                .is_none_or(|k| f.key.as_deref() == Some(k.as_str()))
    }
}

/// The cargo-fuzz target's entry point (`fuzz/fuzz_targets/redrive_request.rs`), replayed on
/// stable Rust by `tests/fuzz_corpus.rs`: bytes as the console's JSON input, read, validated and,
/// when accepted, turned into a filter that is matched against a dead letter's facts. Whatever the
/// bytes, it returns; it never panics.
pub fn fuzz(data: &[u8]) {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let Ok(r) = RedriveRequest::from_json(v) else {
        return;
    };
    let now = Utc::now();
    let filter = r.filter(now);
    let facts = crate::letter::Facts {
        error_class: "permanent".into(),
        entity: Some("customer".into()),
        key: Some("100001".into()),
        failed_at: Some(now),
        redrive_count: 0,
    };
    let _ = filter.matches(&facts);
    let _ = r.older_than.map(|w| w.to_string());
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn empty_input_is_a_dry_run_with_defaults() {
        // Scenario: the console's default `{}` (or no input) only reports.
        for v in [json!({}), serde_json::Value::Null] {
            let r = RedriveRequest::from_json(v).unwrap();
            assert!(r.dry_run);
            assert_eq!(r.max_messages, DEFAULT_MAX_MESSAGES);
            assert_eq!(r.max_redrives, DEFAULT_MAX_REDRIVES);
        }
    }

    #[test]
    fn an_age_beyond_any_time_is_refused_not_a_panic() {
        // Scenario: `{"older_than":"99999999999999d"}` from the console panicked (chrono's
        // days() out of range); every unit at its extremes is now an error or a valid time.
        for age in [
            "99999999999999d",
            "9223372036854775807s",
            "999999999999h",
            "36501d",
        ] {
            let e = RedriveRequest::from_json(json!({ "older_than": age })).unwrap_err();
            assert!(e.0.contains("at most 36500 days ago"), "{age}: {e}");
        }
        let r = RedriveRequest::from_json(json!({ "newer_than": "36500d" })).unwrap();
        let now = Utc::now();
        let at = r.newer_than.unwrap().at(now);
        assert!(at < now);
    }

    proptest::proptest! {
        #[test]
        fn no_console_input_panics(input in "\\PC{0,40}", n in proptest::num::i64::ANY, unit in "[smhdx]?") {
            // Any text as a time, and any number with any unit, in any field that takes one.
            for v in [input.clone(), format!("{n}{unit}")] {
                for field in ["older_than", "newer_than", "max_messages", "error_class", "key"] {
                    let _ = RedriveRequest::from_json(json!({ field: v }));
                }
                if let Ok(w) = When::parse(&v) {
                    let _ = w.at(Utc::now());
                }
            }
        }
    }

    #[test]
    fn every_field_parses() {
        // Scenario: the documented input, with one-or-many lists and both time forms.
        let r = RedriveRequest::from_json(json!({
            "dry_run": false, "max_messages": 50, "rate_per_second": 10,
            "error_class": "permanent", "entity": ["customer", "material"],
            "older_than": "2h", "newer_than": "2026-01-01T00:00:00Z",
            "key": "0000100001", "max_redrives": 5
        }))
        .unwrap();
        assert!(!r.dry_run);
        assert_eq!(r.error_class, vec!["permanent"]);
        assert_eq!(r.entity, vec!["customer", "material"]);
        assert_eq!(r.older_than, Some(When::Ago(Age::hours(2))));
        assert!(matches!(r.newer_than, Some(When::At(_))));
        assert_eq!(r.rate_per_second, Some(10.0));
    }

    #[test]
    fn mistakes_are_refused_with_their_reason() {
        // Scenario: a typo, a bad unit, an unknown class, a zero rate are refused, never guessed.
        for (input, needle) in [
            (json!({"dryrun": false}), "unknown field `dryrun`"),
            (json!({"older_than": "2w"}), "unit must be"),
            (json!({"error_class": "fatal"}), "error_class \"fatal\""),
            (json!({"rate_per_second": 0}), "rate_per_second"),
            (json!({"max_messages": 0}), "max_messages"),
        ] {
            let e = RedriveRequest::from_json(input.clone()).unwrap_err();
            assert!(e.0.contains(needle), "{input}: {e}");
        }
    }

    #[test]
    fn filters_need_the_fact_they_test() {
        // Scenario: each filter selects exactly the messages with the matching fact.
        let now = Utc::now();
        let facts = crate::letter::Facts {
            error_class: "permanent".into(),
            entity: Some("customer".into()),
            key: Some("42".into()),
            failed_at: Some(now - Age::hours(3)),
            redrive_count: 0,
        };
        let mut r = RedriveRequest::default();
        assert!(r.filter(now).matches(&facts));
        r.older_than = Some(When::Ago(Age::hours(2)));
        assert!(r.filter(now).matches(&facts));
        r.newer_than = Some(When::Ago(Age::hours(1)));
        assert!(!r.filter(now).matches(&facts));
        r.newer_than = None;
        r.key = Some("43".into());
        assert!(!r.filter(now).matches(&facts));
        r.key = Some("42".into());
        r.entity = vec!["material".into()];
        assert!(!r.filter(now).matches(&facts));
        r.entity = vec![];
        r.error_class = vec!["poison".into()];
        assert!(!r.filter(now).matches(&facts));
        let unknown = crate::letter::Facts {
            failed_at: None,
            ..facts
        };
        r.error_class = vec![];
        assert!(
            !r.filter(now).matches(&unknown),
            "no time: an age filter cannot match"
        );
    }
}
