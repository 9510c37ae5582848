//! The canonical change event (DESIGN §2): what the bridge publishes for every SAP change and
//! what every consumer reads.

use crate::records::Record;
use crate::time_text::{ascii, put_date_time, put_digits};
use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// The kind of business object a change is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Entity {
    /// A customer ([`Customer`](crate::Customer)).
    Customer,
    /// A material ([`Material`](crate::Material)).
    Material,
    /// A sales order with its items ([`SalesOrder`](crate::SalesOrder)).
    SalesOrder,
    /// A supplier, the vendor master ([`Supplier`](crate::Supplier)).
    Supplier,
}

impl Entity {
    /// Every entity, in declaration order: for code and tests that go through them all.
    pub const ALL: [Entity; 4] = [
        Entity::Customer,
        Entity::Material,
        Entity::SalesOrder,
        Entity::Supplier,
    ];

    /// `customer`, `material`, `sales_order`, `supplier`: the value of the `entity` routing
    /// attribute (its object's [`name`](crate::object::Object::name)).
    pub fn as_str(self) -> &'static str {
        self.object().name
    }

    /// The schema of this entity's record, e.g. `customer.v1`.
    pub fn schema(self) -> &'static str {
        self.object().schema
    }
}

impl fmt::Display for Entity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the change does to the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// Create or replace the record.
    Upsert,
    /// The record was deleted (or flagged for deletion) in SAP.
    Delete,
}

impl Op {
    /// `upsert` or `delete`.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Upsert => "upsert",
            Op::Delete => "delete",
        }
    }
}

/// The orderable version of a change: SAP's own time of the change, then a tie-breaker from the
/// source (IDoc DOCNUM; CloudEvent `sequence`, else a stable hash of the event id). Never the
/// ingestion time.
///
/// Its string form sorts as the version does (fixed widths), so stores can compare it as a
/// string:
///
/// ```
/// use hub_model::Version;
/// let a: Version = "2026-11-20T10:15:02.000Z#00000000000004711001".parse().unwrap();
/// let b: Version = "2026-11-20T10:15:02.000Z#00000000000004711002".parse().unwrap();
/// assert!(a < b && a.to_string() < b.to_string());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Version {
    /// SAP's time of the change, UTC, millisecond precision.
    pub at: DateTime<Utc>,
    /// Tie-breaker among changes of the same millisecond.
    pub seq: u64,
}

impl Version {
    /// A version at `at` (truncated to milliseconds) with tie-breaker `seq`.
    pub fn new(at: DateTime<Utc>, seq: u64) -> Version {
        let ms = at.timestamp_millis();
        Version {
            at: Utc.timestamp_millis_opt(ms).single().unwrap_or(at),
            seq,
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Every change is published with its version: written digit by digit into one buffer
        // (the same text as `to_rfc3339_opts(Millis, true)`, proptest), without a `String`.
        let mut out = *b"0000-00-00T00:00:00.000Z#00000000000000000000";
        if !put_date_time(&mut out, &self.at) {
            // Years past four digits and leap seconds: chrono's own writer.
            return write!(
                f,
                "{}#{:020}",
                self.at.to_rfc3339_opts(SecondsFormat::Millis, true),
                self.seq
            );
        }
        let millis = self.at.timestamp_subsec_millis();
        put_digits(&mut out, 23, 3, millis.into());
        put_digits(&mut out, 45, 20, self.seq);
        f.write_str(ascii(&out))
    }
}

/// A string that is not a [`Version`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a version (expected <RFC 3339 time>#<20 digits>): {0}")]
pub struct VersionParseError(pub String);

impl FromStr for Version {
    type Err = VersionParseError;
    fn from_str(s: &str) -> Result<Version, VersionParseError> {
        let err = || VersionParseError(s.chars().take(80).collect());
        let (at, seq) = s.split_once('#').ok_or_else(err)?;
        let at = DateTime::parse_from_rfc3339(at).map_err(|_| err())?;
        let seq = seq.parse().map_err(|_| err())?;
        Ok(Version::new(at.with_timezone(&Utc), seq))
    }
}

impl Serialize for Version {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Version {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Version, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The SAP format a change came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Format {
    /// IDoc as XML.
    #[serde(rename = "idoc-xml")]
    IdocXml,
    /// A CloudEvents 1.0 business event (structured or Kafka binary mode).
    #[serde(rename = "cloudevent")]
    CloudEvent,
}

/// Where a change came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    /// The sending system: IDoc SNDPRN (logical system), CloudEvent `source`'s last segment.
    pub system: String,
    /// The SAP client (MANDT), if known.
    pub client: Option<String>,
    /// The format.
    pub format: Format,
    /// Message type: IDoc MESTYP (`MATMAS`), CloudEvent `type`.
    pub message_type: String,
    /// Basic type of an IDoc (`MATMAS05`, with the extension type if any).
    pub document_type: Option<String>,
    /// The document: IDoc DOCNUM, CloudEvent `id`.
    pub document: String,
    /// Kafka topic.
    pub topic: Option<String>,
    /// Kafka partition.
    pub partition: Option<i32>,
    /// Kafka offset.
    pub offset: Option<i64>,
}

/// The canonical change event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChangeEvent {
    /// Deterministic id of the SAP change: the same change always has the same id
    /// (IDoc: `idoc:<system>:<client>:<DOCNUM>`; CloudEvent: `ce:<source>:<id>`).
    pub event_id: String,
    /// What kind of object changed.
    pub entity: Entity,
    /// The business key, canonical form.
    pub key: String,
    /// Upsert or delete.
    pub op: Op,
    /// The orderable source version.
    pub version: Version,
    /// SAP's time of the change.
    #[serde(serialize_with = "crate::time_text::serialize_time")]
    pub occurred_at: DateTime<Utc>,
    /// When the bridge published it (set by the bridge, for end-to-end latency).
    #[serde(serialize_with = "crate::time_text::serialize_opt_time")]
    pub published_at: Option<DateTime<Utc>>,
    /// Where it came from.
    pub source: Source,
    /// Carried from SAP (Kafka header or payload) or, failing that, the event id.
    pub correlation_id: String,
    /// The schema of `data`, e.g. `customer.v1`.
    pub schema: String,
    /// The normalised record (for a delete: what SAP sent with it, if anything).
    pub data: Option<Record>,
}

impl ChangeEvent {
    /// The SNS message attributes of this event (the routing contract).
    pub fn routing(&self) -> RoutingAttributes {
        RoutingAttributes {
            entity: self.entity.as_str().to_string(),
            op: self.op.as_str().to_string(),
            source_system: sanitize_attribute(&self.source.system),
            schema: self.schema.clone(),
        }
    }
}

#[derive(Deserialize)]
struct RawEvent {
    event_id: String,
    entity: Entity,
    key: String,
    op: Op,
    version: Version,
    occurred_at: DateTime<Utc>,
    #[serde(default)]
    published_at: Option<DateTime<Utc>>,
    source: Source,
    correlation_id: String,
    schema: String,
    #[serde(default)]
    data: Option<serde_json::Value>,
}

impl<'de> Deserialize<'de> for ChangeEvent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ChangeEvent, D::Error> {
        use serde::de::Error;
        let raw = RawEvent::deserialize(d)?;
        let data = match raw.data {
            None | Some(serde_json::Value::Null) => None,
            Some(v) => Some(Record::from_value(raw.entity, v).map_err(D::Error::custom)?),
        };
        Ok(ChangeEvent {
            event_id: raw.event_id,
            entity: raw.entity,
            key: raw.key,
            op: raw.op,
            version: raw.version,
            occurred_at: raw.occurred_at,
            published_at: raw.published_at,
            source: raw.source,
            correlation_id: raw.correlation_id,
            schema: raw.schema,
            data,
        })
    }
}

/// The SNS message attributes the bridge publishes, on which subscription filter policies match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutingAttributes {
    /// `customer`, `material`, `sales_order`, `supplier`.
    pub entity: String,
    /// `upsert` or `delete`.
    pub op: String,
    /// The sending SAP system, e.g. `S4PCLNT100`.
    pub source_system: String,
    /// The schema, e.g. `customer.v1`.
    pub schema: String,
}

impl RoutingAttributes {
    /// The attributes' names, in the order of [`RoutingAttributes::pairs`].
    pub const NAMES: [&'static str; 4] = ["entity", "op", "source_system", "schema"];

    /// (name, value) pairs, all of SNS data type `String`.
    pub fn pairs(&self) -> [(&'static str, &str); 4] {
        let [entity, op, source_system, schema] = Self::NAMES;
        [
            (entity, &self.entity),
            (op, &self.op),
            (source_system, &self.source_system),
            (schema, &self.schema),
        ]
    }

    /// The same pairs, owning their values.
    pub fn into_pairs(self) -> [(&'static str, String); 4] {
        let [entity, op, source_system, schema] = Self::NAMES;
        [
            (entity, self.entity),
            (op, self.op),
            (source_system, self.source_system),
            (schema, self.schema),
        ]
    }
}

/// Keeps an attribute value within what filter policies handle well: printable ASCII letters,
/// digits and `-_.:/`, at most 256 characters (SNS allows more, but a filter policy's values are
/// compared exactly and a policy is limited to 256 KiB).
fn sanitize_attribute(v: &str) -> String {
    let s: String = v
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "-_.:/".contains(*c))
        .take(256)
        .collect();
    if s.is_empty() {
        "unknown".to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::Material;

    proptest::proptest! {
        #[test]
        fn version_text_is_chronos_rfc3339_with_millis(
            ms in -62_167_219_200_000i64..=253_402_300_799_999,
            seq in proptest::prelude::any::<u64>(),
        ) {
            // Scenario: the digit-by-digit writer gives chrono's text, for any time of years 0
            // to 9999 and any tie-breaker, and the text reads back as the same version.
            let v = Version::new(Utc.timestamp_millis_opt(ms).unwrap(), seq);
            let text = v.to_string();
            proptest::prop_assert_eq!(
                &text,
                &format!("{}#{:020}", v.at.to_rfc3339_opts(SecondsFormat::Millis, true), seq)
            );
            proptest::prop_assert_eq!(text.parse::<Version>().unwrap(), v);
        }
    }

    fn event() -> ChangeEvent {
        ChangeEvent {
            event_id: "idoc:S4PCLNT100:100:4711001".into(),
            entity: Entity::Material,
            key: "100234".into(),
            op: Op::Upsert,
            version: "2026-11-20T10:15:02.000Z#00000000000004711001"
                .parse()
                .unwrap(),
            occurred_at: "2026-11-20T10:15:02Z".parse().unwrap(),
            published_at: None,
            source: Source {
                system: "S4PCLNT100".into(),
                client: Some("100".into()),
                format: Format::IdocXml,
                message_type: "MATMAS".into(),
                document_type: Some("MATMAS05".into()),
                document: "0000000004711001".into(),
                topic: Some("sap.idoc.matmas".into()),
                partition: Some(0),
                offset: Some(7),
            },
            correlation_id: "idoc:S4PCLNT100:100:4711001".into(),
            schema: "material.v1".into(),
            data: Some(Record::Material(Material {
                material: "100234".into(),
                ..Material::default()
            })),
        }
    }

    #[test]
    fn events_round_trip_through_json() {
        // Scenario: an event serialises to the documented JSON and reads back equal, the data
        // typed by its entity.
        let e = event();
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["entity"], "material");
        assert_eq!(json["op"], "upsert");
        assert_eq!(json["source"]["format"], "idoc-xml");
        assert_eq!(
            json["version"],
            "2026-11-20T10:15:02.000Z#00000000000004711001"
        );
        let back: ChangeEvent = serde_json::from_value(json).unwrap();
        assert_eq!(back, e);
    }

    #[test]
    fn every_entity_names_itself_as_serde_does() {
        // Scenario: the routing value of each entity is its JSON form and its schema's prefix.
        for e in Entity::ALL {
            assert_eq!(serde_json::to_value(e).unwrap(), e.as_str());
            assert_eq!(e.schema(), format!("{}.v1", e.as_str()));
        }
    }

    #[test]
    fn a_supplier_round_trips_and_its_bank_accounts_stay_out_of_debug() {
        // Scenario: a supplier event with bank details serialises the account and IBAN as they
        // are and reads back equal, while its Debug form shows neither.
        use crate::records::{Supplier, SupplierBankDetail};
        let mut e = event();
        e.entity = Entity::Supplier;
        e.schema = "supplier.v1".into();
        e.key = "300123".into();
        e.data = Some(Record::Supplier(Supplier {
            supplier: "300123".into(),
            name: Some("Fundição Atlântico S.A.".into()),
            bank_details: vec![SupplierBankDetail {
                country: "PT".into(),
                bank_key: Some("00350001".into()),
                account: Some("00012345678".into()),
                iban: Some("PT50003500010001234567890".into()),
                account_holder: Some("Fundição Atlântico S.A.".into()),
                ..SupplierBankDetail::default()
            }],
            ..Supplier::default()
        }));
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["entity"], "supplier");
        assert_eq!(json["data"]["bank_details"][0]["account"], "00012345678");
        assert_eq!(
            json["data"]["bank_details"][0]["iban"],
            "PT50003500010001234567890"
        );
        let back: ChangeEvent = serde_json::from_value(json).unwrap();
        assert_eq!(back, e);
        let debug = format!("{e:?} {e:#?}");
        for secret in ["00012345678", "PT50003500010001234567890"] {
            assert!(!debug.contains(secret), "{secret} in {debug}");
        }
        assert!(
            debug.contains("00350001"),
            "the bank key is not personal data"
        );
    }

    #[test]
    fn routing_attributes_are_the_contract() {
        // Scenario: the four attributes, with values sanitised for filter policies.
        let mut e = event();
        e.source.system = "S4P CLNT 100 ✓".into();
        let r = e.routing();
        assert_eq!(
            r.pairs(),
            [
                ("entity", "material"),
                ("op", "upsert"),
                ("source_system", "S4PCLNT100"),
                ("schema", "material.v1")
            ]
        );
    }

    #[test]
    fn versions_order_by_time_then_sequence() {
        // Scenario: time decides first, the tie-breaker second; the string form agrees.
        let t = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let a = Version::new(t("2026-11-20T10:15:02Z"), 9);
        let b = Version::new(t("2026-11-20T10:15:02.001Z"), 1);
        let c = Version::new(t("2026-11-20T10:15:02.001Z"), 2);
        assert!(a < b && b < c);
        assert!(a.to_string() < b.to_string() && b.to_string() < c.to_string());
        assert_eq!(c.to_string().parse::<Version>().unwrap(), c);
        assert!("garbage".parse::<Version>().is_err());
    }
}
