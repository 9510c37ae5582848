//! S/4HANA's released OData V2 APIs, read for the enrichment of thin business events: which
//! entity set holds an object, the `$filter` and `$expand` that read several of them in one
//! call, and the answer (`{"d": {"results": [...]}}`) mapped with the very mappings of the
//! CloudEvent data ([`crate::cloudevent`]), so that an enriched event equals the event that
//! carried the same data.
//!
//! | entity | service | entity set | expanded |
//! |---|---|---|---|
//! | customer | `API_BUSINESS_PARTNER` | `A_BusinessPartner` | `to_BusinessPartnerAddress`, `to_BusinessPartnerTax`, `to_Customer/to_CustomerSalesArea/to_PartnerFunction` |
//! | material | `API_PRODUCT_SRV` | `A_Product` | `to_Description`, `to_Plant` |
//! | sales order | `API_SALES_ORDER_SRV` | `A_SalesOrder` | `to_Item`, `to_Partner` |
//!
//! Suppliers are not read: their object spans two entity sets (`A_Supplier` and the business
//! partner's address and bank accounts), and [`api`] answers `None`.
//!
//! The JSON is read with the same borrowing reader as the events (serde_json underneath): the
//! mapping looks fields up in place, and V2's shapes (`results` arrays, `/Date(…)/`, numbers
//! as strings) are what the event mappings already accept.

use crate::cloudevent;
use crate::error::{ParseError, Shape};
use crate::json::{self, Json, Object};
use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, Utc};
use hub_model::key::normalize;
use hub_model::{Entity, Op, Record};

/// Where an entity is read: the service, its entity set and what to expand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Api {
    /// The OData service (`API_BUSINESS_PARTNER`).
    pub service: &'static str,
    /// The entity set (`A_BusinessPartner`).
    pub entity_set: &'static str,
    /// The `$expand` list.
    pub expand: &'static str,
}

/// The service path of every S/4 OData V2 service: `<base>/sap/opu/odata/sap/<SERVICE>/`.
pub const SERVICE_ROOT: &str = "/sap/opu/odata/sap/";

/// The API an entity's thin events are enriched from; `None` for suppliers (see the module).
pub fn api(entity: Entity) -> Option<Api> {
    match entity {
        Entity::Customer => Some(Api {
            service: "API_BUSINESS_PARTNER",
            entity_set: "A_BusinessPartner",
            expand: "to_BusinessPartnerAddress,to_BusinessPartnerTax,\
                     to_Customer/to_CustomerSalesArea/to_PartnerFunction",
        }),
        Entity::Material => Some(Api {
            service: "API_PRODUCT_SRV",
            entity_set: "A_Product",
            expand: "to_Description,to_Plant",
        }),
        Entity::SalesOrder => Some(Api {
            service: "API_SALES_ORDER_SRV",
            entity_set: "A_SalesOrder",
            expand: "to_Item,to_Partner",
        }),
        Entity::Supplier => None,
    }
}

/// The property a thin event's key is matched on. A business partner event is keyed by the
/// partner (`BusinessPartner`); a customer event (`sap.s4.beh.customer…`) by the customer
/// number, which `A_BusinessPartner` holds as `Customer`.
pub fn key_property(entity: Entity, event_type: &str) -> &'static str {
    match entity {
        Entity::Customer if event_type.contains(".customer.") => "Customer",
        Entity::Customer => "BusinessPartner",
        Entity::Material => "Product",
        Entity::SalesOrder => "SalesOrder",
        Entity::Supplier => "Supplier",
    }
}

/// A cheap read that shows whether S/4 answers (the enricher's scheduled probe): one business
/// partner's key.
pub const PROBE_PATH: &str = "/sap/opu/odata/sap/API_BUSINESS_PARTNER/A_BusinessPartner?$top=1&$select=BusinessPartner&$format=json";

/// The path and query that read `keys` in one call:
/// `/sap/opu/odata/sap/API_PRODUCT_SRV/A_Product?$filter=Product eq '1' or Product eq '2'
/// &$expand=to_Description,to_Plant&$format=json`, percent-encoded. A quote in a key is
/// doubled, as OData's string literals want.
pub fn query(api: &Api, property: &str, keys: &[&str]) -> String {
    let filter = keys
        .iter()
        .map(|k| format!("{property} eq '{}'", k.replace('\'', "''")))
        .collect::<Vec<_>>()
        .join(" or ");
    format!(
        "{SERVICE_ROOT}{}/{}?$filter={}&$expand={}&$format=json",
        api.service,
        api.entity_set,
        encode(&filter),
        encode(api.expand),
    )
}

/// Percent-encodes a query value (unreserved characters, `,` and `/` stay).
fn encode(v: &str) -> String {
    let mut out = String::with_capacity(v.len() * 2);
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~,/".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// One object of an answer, mapped.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiObject {
    /// The value of the key property the call filtered on, canonical form: which thin events
    /// this object answers.
    pub matched: String,
    /// The mapped record, or the mapping's error (a required field missing, a bad number).
    pub record: Result<Mapped, ParseError>,
}

/// A record read from the API.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapped {
    /// The hub's key of the record (a business partner's customer number, as the event
    /// mapping gives it).
    pub key: String,
    /// `Delete` when the object is flagged for deletion or archiving, as for events.
    pub op: Op,
    /// The record.
    pub record: Record,
    /// The object's `LastChangeDateTime` (or `LastChangeDate` + `LastChangeTime`), UTC.
    pub last_change: Option<DateTime<Utc>>,
}

/// Reads an entity set's answer: `{"d": {"results": [...]}}` (V2), `{"d": {...}}` (one
/// entity) or `{"value": [...]}` (V4). An answer of another shape is an error of the whole
/// call; an object that does not map is an error of that object alone.
pub fn read(
    entity: Entity,
    property: &str,
    body: &[u8],
    max_depth: usize,
) -> Result<Vec<ApiObject>, ParseError> {
    let v = json::parse(body, max_depth)?;
    let shape = |reason: &str| ParseError::Json {
        path: "$".into(),
        reason: reason.into(),
    };
    let Json::Object(mut top) = v else {
        return Err(shape("an OData answer is a JSON object"));
    };
    let items = match (top.remove("d"), top.remove("value")) {
        (Some(Json::Object(mut d)), _) => match d.remove("results") {
            Some(Json::Array(a)) => a,
            Some(_) => return Err(shape("d.results is not an array")),
            None => vec![Json::Object(d)],
        },
        (None, Some(Json::Array(a))) => a,
        _ => return Err(shape("neither d nor value holds the entities")),
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let Json::Object(m) = item else {
            return Err(ParseError::Json {
                path: format!("d.results[{i}]"),
                reason: "an entity is a JSON object".into(),
            });
        };
        let Some(matched) = cloudevent::s(&m, property).map(|k| normalize(&k)) else {
            return Err(ParseError::MissingField {
                path: format!("d.results[{i}].{property}"),
            });
        };
        out.push(ApiObject {
            matched,
            record: map(entity, &m),
        });
    }
    Ok(out)
}

fn map(entity: Entity, m: &Object<'_>) -> Result<Mapped, ParseError> {
    let key_field = match entity {
        Entity::Customer => "BusinessPartner",
        Entity::Material => "Product",
        Entity::SalesOrder => "SalesOrder",
        Entity::Supplier => "Supplier",
    };
    let raw = match entity {
        Entity::Customer => cloudevent::s(m, "Customer").or_else(|| cloudevent::s(m, key_field)),
        _ => cloudevent::s(m, key_field),
    }
    .ok_or_else(|| ParseError::MissingField {
        path: format!("data.{key_field}"),
    })?;
    let key = normalize(&raw);
    let record = match entity {
        Entity::Customer => Record::Customer(cloudevent::customer(m, &key)?),
        Entity::Material => Record::Material(cloudevent::material(m, &key)?),
        Entity::SalesOrder => Record::SalesOrder(cloudevent::sales_order(m, &key)?),
        Entity::Supplier => Record::Supplier(cloudevent::supplier(m, &key)?),
    };
    let op = if cloudevent::flagged_for_deletion(&record) {
        Op::Delete
    } else {
        Op::Upsert
    };
    Ok(Mapped {
        key,
        op,
        record,
        last_change: last_change(m)?,
    })
}

/// `LastChangeDateTime` (`Edm.DateTimeOffset`: `/Date(1763634065000+0000)/` or ISO), or
/// `LastChangeDate` (`/Date(…)/`, a day) with `LastChangeTime` (`Edm.Time`: `PT10H21M05S`),
/// as `A_BusinessPartner` has them.
pub(crate) fn last_change(m: &Object<'_>) -> Result<Option<DateTime<Utc>>, ParseError> {
    if let Some(v) = cloudevent::s(m, "LastChangeDateTime") {
        return odata_time(&v, "LastChangeDateTime").map(Some);
    }
    let Some(day) = cloudevent::s(m, "LastChangeDate") else {
        return Ok(None);
    };
    let day = odata_time(&day, "LastChangeDate")?.date_naive();
    let time = match cloudevent::s(m, "LastChangeTime") {
        Some(t) => edm_time(&t).ok_or_else(|| ParseError::BadDate {
            path: "LastChangeTime".into(),
            shape: Shape::of(&t),
        })?,
        None => NaiveTime::MIN,
    };
    Ok(Some(NaiveDate::and_time(&day, time).and_utc()))
}

/// `/Date(ms)/`, `/Date(ms+0000)/` or RFC 3339.
fn odata_time(v: &str, path: &str) -> Result<DateTime<Utc>, ParseError> {
    let bad = || ParseError::BadDate {
        path: path.into(),
        shape: Shape::of(v),
    };
    if let Some(inner) = v.strip_prefix("/Date(").and_then(|r| r.strip_suffix(")/")) {
        // The offset after the milliseconds only says which zone the writer was in: the
        // milliseconds are UTC already.
        let digits = inner
            .char_indices()
            .skip(1)
            .find(|(_, c)| *c == '+' || *c == '-')
            .map_or(inner, |(i, _)| &inner[..i]);
        let ms: i64 = digits.parse().map_err(|_| bad())?;
        return DateTime::<Utc>::from_timestamp_millis(ms).ok_or_else(bad);
    }
    DateTime::parse_from_rfc3339(v)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| bad())
}

/// `PT10H21M05S` (hours, minutes, seconds; each optional).
fn edm_time(v: &str) -> Option<NaiveTime> {
    let mut rest = v.strip_prefix("PT")?;
    let mut total = TimeDelta::zero();
    while !rest.is_empty() {
        let end = rest.find(|c: char| !c.is_ascii_digit() && c != '.')?;
        let n: f64 = rest[..end].parse().ok()?;
        let unit = rest[end..].chars().next()?;
        let secs = match unit {
            'H' => n * 3600.0,
            'M' => n * 60.0,
            'S' => n,
            _ => return None,
        };
        total += TimeDelta::milliseconds((secs * 1000.0).round() as i64);
        rest = &rest[end + 1..];
    }
    (total < TimeDelta::days(1)).then(|| NaiveTime::MIN + total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_filter_several_keys_and_quote_literals() {
        // Scenario: keys join with `or`, a quote doubles, and the query is percent-encoded.
        let a = api(Entity::Material).unwrap();
        let q = query(&a, "Product", &["100234", "O'1"]);
        assert_eq!(
            q,
            "/sap/opu/odata/sap/API_PRODUCT_SRV/A_Product?$filter=Product%20eq%20%27100234%27\
             %20or%20Product%20eq%20%27O%27%271%27&$expand=to_Description,to_Plant&$format=json"
        );
        assert!(api(Entity::Supplier).is_none());
        assert_eq!(
            key_property(
                Entity::Customer,
                "sap.s4.beh.customer.v1.Customer.Changed.v1"
            ),
            "Customer"
        );
        assert_eq!(
            key_property(
                Entity::Customer,
                "sap.s4.beh.businesspartner.v1.BusinessPartner.Changed.v1"
            ),
            "BusinessPartner"
        );
    }

    #[test]
    fn odata_times_read_in_every_shape() {
        // Scenario: /Date(ms)/ with and without an offset, RFC 3339, and Date + Time.
        let at = DateTime::parse_from_rfc3339("2026-11-20T10:21:05Z").unwrap();
        let ms = at.timestamp_millis();
        for v in [
            format!("/Date({ms})/"),
            format!("/Date({ms}+0000)/"),
            "2026-11-20T10:21:05Z".to_string(),
        ] {
            assert_eq!(odata_time(&v, "x").unwrap(), at, "{v}");
        }
        let day = DateTime::parse_from_rfc3339("2026-11-20T00:00:00Z")
            .unwrap()
            .timestamp_millis();
        let body =
            format!(r#"{{"LastChangeDate": "/Date({day})/", "LastChangeTime": "PT10H21M05S"}}"#);
        let Json::Object(m) = json::parse(body.as_bytes(), 8).unwrap() else {
            unreachable!()
        };
        assert_eq!(last_change(&m).unwrap(), Some(at.with_timezone(&Utc)));
        assert!(edm_time("PT25H").is_none() && edm_time("10:21").is_none());
        assert!(odata_time("/Date(x)/", "x").is_err());
    }

    #[test]
    fn answers_of_another_shape_are_errors_of_the_call() {
        // Scenario: an HTML page, a d without entities, a result without the key property.
        for body in [
            &b"<html>gateway</html>"[..],
            br#"{"d": {"results": 3}}"#,
            br#"{"error": {"code": "X"}}"#,
            br#"{"d": {"results": [{"Name": "no key"}]}}"#,
        ] {
            assert!(read(Entity::Material, "Product", body, 16).is_err());
        }
        let one = br#"{"d": {"Product": "7", "ProductType": "FERT"}}"#;
        let got = read(Entity::Material, "Product", one, 16).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].matched, "7");
    }
}
