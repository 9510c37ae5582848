//! What SAP sent: the changes to account for, from a Kafka window (each record parsed as the
//! bridge parses it) or from an SAP-side extract (`entity,key,version` as JSON lines or CSV).

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use hub_model::key::normalize;
use hub_model::{Entity, Op, Version};
use hub_sap::{Outcome, ParseError};
use serde::{Deserialize, Serialize};
use std::fmt;
use thiserror::Error;

/// A version as the input gives it: SAP's time, and the hub's tie-breaker when the input has it
/// (a Kafka record parsed by the hub, or an extract in the hub's `…Z#seq` form). Without it, a
/// stored version of the same millisecond counts as reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ExpectedVersion {
    /// SAP's time of the change, UTC, millisecond precision.
    pub at: DateTime<Utc>,
    /// The tie-breaker, when known.
    pub seq: Option<u64>,
}

impl ExpectedVersion {
    /// Exactly `v`.
    pub fn exact(v: &Version) -> ExpectedVersion {
        ExpectedVersion {
            at: v.at,
            seq: Some(v.seq),
        }
    }

    /// Reads the forms an SAP team can export: the hub's own (`2026-11-20T09:19:44.000Z#…`),
    /// RFC 3339 (`2026-11-20T10:19:44+01:00`), or SAP's UTC timestamp (`20261120091944`, the
    /// `TIMESTAMP` type of a change document or a BAdI table, with up to 7 decimals for
    /// `TIMESTAMPL`).
    ///
    /// ```
    /// use hub_reconcile::ExpectedVersion;
    /// let a = ExpectedVersion::parse("20261120091944").unwrap();
    /// let b = ExpectedVersion::parse("2026-11-20T10:19:44+01:00").unwrap();
    /// assert_eq!(a, b);
    /// assert_eq!(a.seq, None);
    /// let c = ExpectedVersion::parse("2026-11-20T09:19:44.000Z#00000000000000000007").unwrap();
    /// assert_eq!((c.at, c.seq), (a.at, Some(7)));
    /// assert!(ExpectedVersion::parse("yesterday").is_err());
    /// ```
    pub fn parse(s: &str) -> Result<ExpectedVersion, String> {
        let s = s.trim();
        let bad = || {
            format!(
                "version {:?}: expected the hub's version (2026-11-20T09:19:44.000Z#0), RFC 3339, or an SAP UTC timestamp (20261120091944)",
                s.chars().take(40).collect::<String>()
            )
        };
        if s.contains('#') {
            let v: Version = s.parse().map_err(|_| bad())?;
            return Ok(ExpectedVersion::exact(&v));
        }
        if let Ok(t) = DateTime::parse_from_rfc3339(s) {
            let v = Version::new(t.with_timezone(&Utc), 0);
            return Ok(ExpectedVersion {
                at: v.at,
                seq: None,
            });
        }
        let (whole, fraction) = s.split_once('.').unwrap_or((s, ""));
        if whole.len() == 14
            && whole.bytes().all(|b| b.is_ascii_digit())
            && fraction.len() <= 7
            && fraction.bytes().all(|b| b.is_ascii_digit())
        {
            let t = NaiveDateTime::parse_from_str(whole, "%Y%m%d%H%M%S").map_err(|_| bad())?;
            let millis: u32 = format!("{fraction:0<3}")[..3].parse().unwrap_or(0);
            let at = Utc.from_utc_datetime(&t) + chrono::Duration::milliseconds(millis.into());
            return Ok(ExpectedVersion { at, seq: None });
        }
        Err(bad())
    }

    /// Whether a stored version is this one or newer.
    pub fn reached_by(&self, stored: &Version) -> bool {
        match self.seq {
            Some(seq) => (stored.at, stored.seq) >= (self.at, seq),
            None => stored.at >= self.at,
        }
    }

    /// Whether `v` is this version.
    pub fn matches(&self, v: &Version) -> bool {
        v.at == self.at && self.seq.is_none_or(|s| s == v.seq)
    }
}

impl fmt::Display for ExpectedVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.seq {
            Some(seq) => Version::new(self.at, seq).fmt(f),
            None => f.write_str(&self.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
        }
    }
}

/// Where a record is in Kafka.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Coordinates {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
}

impl fmt::Display for Coordinates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}@{}", self.topic, self.partition, self.offset)
    }
}

/// One change SAP sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The object.
    pub entity: Entity,
    /// Its business key, canonical form (as the table keys it).
    pub key: String,
    /// Its version.
    pub version: ExpectedVersion,
    /// Upsert or delete, when known.
    pub op: Option<Op>,
    /// The hub's event id, when the change was parsed from a Kafka record.
    pub event_id: Option<String>,
    /// The Kafka record it came from, when it did.
    pub record: Option<Coordinates>,
}

/// A Kafka record that gives no change: the bridge must have dead-lettered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unparsed {
    /// Where it is.
    pub record: Coordinates,
    /// The parse error's kind (`bad_xml`, `unrecognized`…).
    pub kind: &'static str,
}

/// What is accounted for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    /// A change, which must reach the table (or be dead-lettered, or still be on its way).
    Change(Change),
    /// A record that gives no change, which must be in the bridge DLQ.
    Unparsed(Unparsed),
}

/// The expected changes of one Kafka record, from what the SAP parser made of it.
pub fn from_record(record: Coordinates, parsed: Result<Vec<Outcome>, ParseError>) -> Vec<Expected> {
    match parsed {
        Err(e) => vec![Expected::Unparsed(Unparsed {
            record,
            kind: e.kind(),
        })],
        Ok(outcomes) => outcomes
            .into_iter()
            .map(|o| {
                let (entity, key, version, op, event_id) = match o {
                    Outcome::Change(e) => (e.entity, e.key, e.version, e.op, e.event_id),
                    Outcome::NeedsEnrichment(n) => (n.entity, n.key, n.version, n.op, n.event_id),
                };
                Expected::Change(Change {
                    entity,
                    key,
                    version: ExpectedVersion::exact(&version),
                    op: Some(op),
                    event_id: Some(event_id),
                    record: Some(record.clone()),
                })
            })
            .collect(),
    }
}

/// An extract that cannot be read, with the line at fault.
#[derive(Debug, Error)]
pub enum ExtractError {
    /// A line or row is not a change.
    #[error("line {line}: {message}")]
    Line {
        /// 1-based line number.
        line: u64,
        /// What is wrong with it.
        message: String,
    },
    /// The CSV has no `entity`, `key` or `version` column.
    #[error(
        "the CSV header must name the columns entity, key and version (and optionally op); it has: {0}"
    )]
    Header(String),
}

/// The entity of a name in an extract: the routing name (`customer`, `material`,
/// `sales_order`, `supplier`), `order`, or an IDoc message type (`DEBMAS`…), any case.
pub fn entity_named(name: &str) -> Result<Entity, String> {
    let lower = name.trim().to_ascii_lowercase();
    let lower = if lower == "order" {
        "sales_order".to_string()
    } else {
        lower
    };
    Entity::from_name(&lower)
        .or_else(|| Entity::for_idoc(&name.trim().to_ascii_uppercase()))
        .ok_or_else(|| {
            let known: Vec<&str> = hub_model::OBJECTS.iter().map(|o| o.name).collect();
            format!(
                "entity {:?} is not an object of the hub; one of: {}",
                name.chars().take(40).collect::<String>(),
                known.join(", ")
            )
        })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Row {
    entity: String,
    key: String,
    version: String,
    #[serde(default)]
    op: Option<String>,
}

fn change(row: Row) -> Result<Change, String> {
    let op = match row.op.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(o) if o.eq_ignore_ascii_case("upsert") => Some(Op::Upsert),
        Some(o) if o.eq_ignore_ascii_case("delete") => Some(Op::Delete),
        Some(o) => {
            return Err(format!(
                "op {:?}: expected upsert or delete",
                o.chars().take(20).collect::<String>()
            ));
        }
    };
    if row.key.trim().is_empty() {
        return Err("empty key".into());
    }
    Ok(Change {
        entity: entity_named(&row.entity)?,
        key: normalize(&row.key),
        version: ExpectedVersion::parse(&row.version)?,
        op,
        event_id: None,
        record: None,
    })
}

/// Reads an extract: JSON lines (`{"entity":…,"key":…,"version":…[,"op":…]}`) when its first
/// non-blank line starts with `{`, else CSV with a header naming the columns `entity`, `key`,
/// `version` (and optionally `op`), in any order. Blank lines are skipped; the first bad line
/// stops the reading with its number.
pub fn read_extract(text: &str) -> Result<Vec<Change>, ExtractError> {
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    if first.trim_start().starts_with('{') {
        let mut out = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let line_no = i as u64 + 1;
            let row: Row = serde_json::from_str(line).map_err(|e| ExtractError::Line {
                line: line_no,
                message: format!("not a change: {e}"),
            })?;
            out.push(change(row).map_err(|message| ExtractError::Line {
                line: line_no,
                message,
            })?);
        }
        return Ok(out);
    }
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| ExtractError::Header(e.to_string()))?
        .clone();
    let lower: Vec<String> = headers.iter().map(|h| h.to_ascii_lowercase()).collect();
    if !["entity", "key", "version"]
        .iter()
        .all(|c| lower.iter().any(|h| h == c))
    {
        return Err(ExtractError::Header(lower.join(",")));
    }
    let headers = csv::StringRecord::from(lower);
    let mut out = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| ExtractError::Line {
            line: e.position().map_or(0, |p| p.line()),
            message: e.to_string(),
        })?;
        let line = record.position().map_or(0, |p| p.line());
        let row: Row = record
            .deserialize(Some(&headers))
            .map_err(|e| ExtractError::Line {
                line,
                message: e.to_string(),
            })?;
        out.push(change(row).map_err(|message| ExtractError::Line { line, message })?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_extract_reads_as_csv_or_json_lines_alike() {
        // Scenario: the same three changes exported as CSV (columns in another order, quoted,
        // an SAP timestamp, padded keys) and as JSON lines give the same changes.
        let csv = "version,entity,key,op\n\
                   20261120091944,customer,0000100001,upsert\n\
                   \"2026-11-20T09:19:44.000Z#00000000000000000002\",MATMAS,mat-7,\n\
                   2026-11-21T08:00:00Z,order,4500000001,delete\n";
        let jsonl = r#"{"entity":"customer","key":"0000100001","version":"20261120091944","op":"upsert"}

{"entity":"MATMAS","key":"mat-7","version":"2026-11-20T09:19:44.000Z#00000000000000000002"}
{"entity":"order","key":"4500000001","version":"2026-11-21T08:00:00Z","op":"delete"}
"#;
        let a = read_extract(csv).unwrap();
        let b = read_extract(jsonl).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), 3);
        assert_eq!(
            (a[0].entity, a[0].key.as_str()),
            (Entity::Customer, "100001")
        );
        assert_eq!(
            (a[1].entity, a[1].key.as_str()),
            (Entity::Material, "MAT-7")
        );
        assert_eq!(a[1].version.seq, Some(2));
        assert_eq!(a[2].op, Some(Op::Delete));
    }

    #[test]
    fn a_bad_extract_names_its_line() {
        // Scenario: an unknown entity, a bad version, a missing column, an unknown field: each
        // is refused with its line, never half-read.
        let e = read_extract(
            "entity,key,version\ncustomer,1,20261120091944\nplanet,2,20261120091944\n",
        )
        .unwrap_err();
        assert!(
            e.to_string().starts_with("line 3: entity \"planet\""),
            "{e}"
        );
        let e = read_extract("entity,key,version\ncustomer,1,tomorrow\n").unwrap_err();
        assert!(e.to_string().starts_with("line 2: version"), "{e}");
        let e = read_extract("entity,key\ncustomer,1\n").unwrap_err();
        assert!(matches!(e, ExtractError::Header(_)), "{e}");
        let e = read_extract(
            "{\"entity\":\"customer\",\"key\":\"1\",\"version\":\"20261120091944\",\"colour\":1}\n",
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("line 1: not a change"), "{e}");
        let e = read_extract("entity,key,version\ncustomer,,20261120091944\n").unwrap_err();
        assert!(e.to_string().contains("empty key"), "{e}");
    }

    #[test]
    fn a_version_without_its_tie_breaker_is_reached_within_its_millisecond() {
        let at = ExpectedVersion::parse("2026-11-20T09:19:44.123Z").unwrap();
        let stored = |s: &str| s.parse::<Version>().unwrap();
        assert!(at.reached_by(&stored("2026-11-20T09:19:44.123Z#00000000000000000000")));
        assert!(at.reached_by(&stored("2026-11-20T09:19:44.124Z#00000000000000000000")));
        assert!(!at.reached_by(&stored("2026-11-20T09:19:44.122Z#00000000000000000009")));
        let exact =
            ExpectedVersion::parse("2026-11-20T09:19:44.123Z#00000000000000000005").unwrap();
        assert!(!exact.reached_by(&stored("2026-11-20T09:19:44.123Z#00000000000000000004")));
        assert!(exact.reached_by(&stored("2026-11-20T09:19:44.123Z#00000000000000000005")));
        assert!(exact.matches(&stored("2026-11-20T09:19:44.123Z#00000000000000000005")));
        assert!(at.matches(&stored("2026-11-20T09:19:44.123Z#00000000000000000005")));
        let sap = ExpectedVersion::parse("20261120091944.1234567").unwrap();
        assert_eq!(sap, at);
    }
}
