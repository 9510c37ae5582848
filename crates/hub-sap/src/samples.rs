//! The sample SAP payloads of `fixtures/`, as Kafka records on the topics SAP teams publish to:
//! for tests, `hubctl` seeding and benchmarks. Compiled in (`include_str!`), so every tool has
//! them without a path.

use crate::OwnedRecord;

/// One sample record and the topic it belongs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    /// The fixture's file name.
    pub name: &'static str,
    /// The Kafka topic, e.g. `sap.idoc.matmas`.
    pub topic: &'static str,
    /// The record (key, headers, value).
    pub record: OwnedRecord,
}

/// MATMAS05: a material (pump) with descriptions and plants.
pub const MATMAS05: &str = include_str!("../fixtures/matmas05_pump.xml");
/// DEBMAS07: a customer.
pub const DEBMAS07: &str = include_str!("../fixtures/debmas07_customer.xml");
/// S/4HANA SalesOrder changed, with its data (the object the thin sales order event names, as
/// API_SALES_ORDER_SRV holds it).
pub const SALES_ORDER: &str = include_str!("../fixtures/s4_salesorder_changed.cloudevent.json");
/// ORDERS05: a sales order with two items.
pub const ORDERS05: &str = include_str!("../fixtures/orders05_salesorder.xml");
/// S/4HANA BusinessPartner changed, structured mode.
pub const BUSINESS_PARTNER: &str =
    include_str!("../fixtures/s4_businesspartner_changed.cloudevent.json");
/// S/4HANA Product changed, Kafka binary mode (JSON envelope: key, headers, value).
pub const PRODUCT_BINARY: &str = include_str!("../fixtures/s4_product_changed.binary.json");
/// S/4HANA SalesOrder created, thin (needs enrichment).
pub const THIN_SALES_ORDER: &str =
    include_str!("../fixtures/s4_salesorder_created_thin.cloudevent.json");
/// CREMAS05 (with the `ns0` namespace of SAP's IDoc XML messages and an extension type): a
/// supplier with company code, purchasing organisation, bank details and a custom segment.
pub const CREMAS05: &str = include_str!("../fixtures/cremas05_supplier.xml");
/// CREMAS06: the same supplier flagged for deletion a week later (LOEVM = X).
pub const CREMAS06_DELETED: &str = include_str!("../fixtures/cremas06_supplier_deleted.xml");
/// S/4HANA Supplier changed, structured mode, with the supplier's data (`A_Supplier` and the
/// business partner's address and bank accounts).
pub const SUPPLIER: &str = include_str!("../fixtures/s4_supplier_changed.cloudevent.json");

fn value(v: &str) -> OwnedRecord {
    OwnedRecord {
        value: v.as_bytes().to_vec(),
        ..OwnedRecord::default()
    }
}

/// Every fixture that yields a change event (the thin order excluded: see [`thin`]), the
/// suppliers' last.
pub fn changes() -> Vec<Sample> {
    let mut all = vec![
        Sample {
            name: "matmas05_pump.xml",
            topic: "sap.idoc.matmas",
            record: value(MATMAS05),
        },
        Sample {
            name: "debmas07_customer.xml",
            topic: "sap.idoc.debmas",
            record: value(DEBMAS07),
        },
        Sample {
            name: "orders05_salesorder.xml",
            topic: "sap.idoc.orders",
            record: value(ORDERS05),
        },
        Sample {
            name: "s4_businesspartner_changed.cloudevent.json",
            topic: "sap.s4.events",
            record: value(BUSINESS_PARTNER),
        },
        Sample {
            name: "s4_product_changed.binary.json",
            topic: "sap.s4.events",
            record: OwnedRecord::from_envelope_json(PRODUCT_BINARY.as_bytes())
                .expect("the binary fixture is a valid envelope"),
        },
    ];
    all.extend(suppliers());
    all
}

/// What `hubctl run --seed` publishes: every change fixture but the supplier's deletion, so
/// that each object of the seed ends live in the table.
pub fn seed() -> Vec<Sample> {
    changes()
        .into_iter()
        .filter(|s| s.name != "cremas06_supplier_deleted.xml")
        .collect()
}

/// The supplier fixtures, each a change event: the CREMAS05 supplier, the S/4 event that
/// changes it, the CREMAS06 that flags it for deletion (in version order).
///
/// Kept apart from [`changes`], [`synthetic`] and [`mixed`]: tests and benchmarks of the
/// deployed topology rely on those lists' length and entity mix.
pub fn suppliers() -> Vec<Sample> {
    vec![
        Sample {
            name: "cremas05_supplier.xml",
            topic: "sap.idoc.cremas",
            record: value(CREMAS05),
        },
        Sample {
            name: "s4_supplier_changed.cloudevent.json",
            topic: "sap.s4.events",
            record: value(SUPPLIER),
        },
        Sample {
            name: "cremas06_supplier_deleted.xml",
            topic: "sap.idoc.cremas",
            record: value(CREMAS06_DELETED),
        },
    ]
}

/// Record `i` of a synthetic load of CREMAS05 suppliers, as [`synthetic`] draws MATMAS, DEBMAS
/// and ORDERS: each with its own DOCNUM (so its own event id, and versions that grow with `i`)
/// and a supplier number among `keys` (so a key gets several versions).
pub fn synthetic_supplier(i: u64, keys: u64) -> Sample {
    let key = 300_000 + i % keys.max(1);
    let text = CREMAS05
        .replace(
            "<DOCNUM>0000000004711320</DOCNUM>",
            &format!("<DOCNUM>{:016}</DOCNUM>", 6_000_000_000 + i),
        )
        .replace(
            "<LIFNR>0000300123</LIFNR>",
            &format!("<LIFNR>{key:010}</LIFNR>"),
        );
    Sample {
        name: "cremas05_supplier.xml",
        topic: "sap.idoc.cremas",
        record: OwnedRecord {
            key: Some(key.to_string().into_bytes()),
            ..value(&text)
        },
    }
}

/// The thin S/4HANA sales order (a [`crate::Outcome::NeedsEnrichment`]).
pub fn thin() -> Sample {
    Sample {
        name: "s4_salesorder_created_thin.cloudevent.json",
        topic: "sap.s4.events",
        record: value(THIN_SALES_ORDER),
    }
}

/// An ORDERS05 IDoc of at least `min_bytes`: the fixture's first item repeated with new item
/// numbers (for claim-check and size-limit tests).
pub fn large_order(min_bytes: usize) -> String {
    let start = ORDERS05.find("<E1EDP01").expect("the fixture has an item");
    let end = ORDERS05[start..]
        .find("</E1EDP01>")
        .map(|i| start + i + "</E1EDP01>".len())
        .expect("the item ends");
    let item = &ORDERS05[start..end];
    let mut items = String::new();
    let mut n = 1u32;
    while ORDERS05.len() + items.len() < min_bytes {
        items.push_str(&item.replace(
            "<POSEX>000010</POSEX>",
            &format!("<POSEX>{:06}</POSEX>", n * 10),
        ));
        items.push_str("\n    ");
        n += 1;
    }
    format!("{}{}{}", &ORDERS05[..start], items, &ORDERS05[start..])
}

/// Record `i` of a synthetic SAP load drawn from the IDoc fixtures: MATMAS, DEBMAS and ORDERS
/// in turn, each with its own DOCNUM (so its own event id, and versions that grow with `i`) and
/// a business key among `keys` per entity (so a key gets several versions).
pub fn synthetic(i: u64, keys: u64) -> Sample {
    let docnum = format!("<DOCNUM>{:016}</DOCNUM>", 5_000_000_000 + i);
    let key = 100_000 + (i / 3) % keys.max(1);
    let (name, topic, text) = match i % 3 {
        0 => (
            "matmas05_pump.xml",
            "sap.idoc.matmas",
            MATMAS05
                .replace("<DOCNUM>0000000004711001</DOCNUM>", &docnum)
                .replace(
                    "<MATNR>000000000000100234</MATNR>",
                    &format!("<MATNR>{key:018}</MATNR>"),
                ),
        ),
        1 => (
            "debmas07_customer.xml",
            "sap.idoc.debmas",
            DEBMAS07
                .replace("<DOCNUM>0000000004711107</DOCNUM>", &docnum)
                .replace(
                    "<KUNNR>0000100123</KUNNR>",
                    &format!("<KUNNR>{key:010}</KUNNR>"),
                ),
        ),
        _ => (
            "orders05_salesorder.xml",
            "sap.idoc.orders",
            ORDERS05
                .replace("<DOCNUM>0000000004711250</DOCNUM>", &docnum)
                .replace(
                    "<BELNR>0000045001</BELNR>",
                    &format!("<BELNR>{key:010}</BELNR>"),
                ),
        ),
    };
    Sample {
        name,
        topic,
        record: OwnedRecord {
            key: Some(key.to_string().into_bytes()),
            ..value(&text)
        },
    }
}

/// Record `i` of a synthetic load over the whole fixture mix: three in five are IDocs as in
/// [`synthetic`], one a structured BusinessPartner CloudEvent, one a binary-mode Product
/// CloudEvent. Each CloudEvent has its own id (so its own event id), a business key among
/// `keys` and a time `i` seconds after the fixture's (so a key gets several versions, and a
/// CloudEvent is newer than the IDocs of its key).
pub fn mixed(i: u64, keys: u64) -> Sample {
    let key = 100_000 + (i / 5) % keys.max(1);
    let at = |fixture: &str| {
        chrono::DateTime::parse_from_rfc3339(fixture)
            .map(|t| {
                (t + chrono::Duration::seconds(i as i64))
                    .to_utc()
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            })
            .unwrap_or_else(|_| fixture.to_string())
    };
    match i % 5 {
        3 => {
            let mut s = changes().swap_remove(3);
            let text = BUSINESS_PARTNER
                .replace(
                    "0f6b2c1e-8d7a-4c2b-9a51-3e0f1d2c4b77",
                    &format!("00000000-0000-4000-8000-{i:012}"),
                )
                .replace("2026-11-20T10:21:07Z", &at("2026-11-20T10:21:07Z"))
                .replace(
                    "\"BusinessPartner\": \"100123\"",
                    &format!("\"BusinessPartner\": \"{key}\""),
                )
                .replace(
                    "\"Customer\": \"0000100123\"",
                    &format!("\"Customer\": \"{key:010}\""),
                );
            s.record.value = text.into_bytes();
            s
        }
        4 => {
            let mut s = changes().swap_remove(4);
            for (k, v) in &mut s.record.headers {
                if k == "ce_id" {
                    *v = format!("00000000-0000-4000-9000-{i:012}").into_bytes();
                } else if k == "ce_time" {
                    *v = at("2026-11-20T10:30:44Z").into_bytes();
                }
            }
            s.record.key = Some(key.to_string().into_bytes());
            s.record.value = String::from_utf8_lossy(&s.record.value)
                .replace("\"Product\":\"100234\"", &format!("\"Product\":\"{key}\""))
                .replace(
                    "\"Product\": \"100234\"",
                    &format!("\"Product\": \"{key}\""),
                )
                .into_bytes();
            s
        }
        _ => synthetic(i / 5 * 3 + i % 5, keys),
    }
}

/// The kinds of bad record [`poison`] makes, in turn, with the parse error kind each must give.
pub const POISON_KINDS: [(&str, &str); 7] = [
    ("truncated", "bad_xml"),
    ("wrong_encoding", "bad_encoding"),
    ("bad_number", "bad_number"),
    ("bad_date", "bad_date"),
    ("unknown_idoc_type", "unsupported_idoc_type"),
    ("unknown_event_type", "unsupported_event_type"),
    ("binary", "unrecognized"),
];

/// Bad record `i` of a poison load (for drills): the kind `POISON_KINDS[i % 7]`, built from
/// record `i` of [`synthetic`] (so on its topic, with its key) or, for an unknown event type, a
/// CloudEvent on `sap.s4.events`. Returns the parse error kind it must give.
pub fn poison(i: u64) -> (&'static str, Sample) {
    let (kind, expected) = POISON_KINDS[(i % POISON_KINDS.len() as u64) as usize];
    // Decimals are in MATMAS: a bad number is made from the MATMAS record of `i`'s three.
    let good = synthetic(if kind == "bad_number" { i - i % 3 } else { i }, 1_000);
    let text = String::from_utf8(good.record.value.clone()).expect("the fixtures are UTF-8");
    let bytes: Vec<u8> = match kind {
        "truncated" => text.as_bytes()[..text.len() / 2].to_vec(),
        "wrong_encoding" => {
            // Latin-1 bytes in a document that says UTF-8.
            let mut b = text.clone().into_bytes();
            let at = text.find("</IDOC>").unwrap_or(text.len() / 2);
            b.splice(at..at, *b"<ZTEXT>Stra\xdfe M\xfcller</ZTEXT>");
            b
        }
        "bad_number" => replace_field(&text, &["BRGEW"], "12,5kg"),
        "bad_date" => replace_field(&text, &["CREDAT"], "20261340"),
        "unknown_idoc_type" => {
            let mut t = replace_field(&text, &["MESTYP"], "ZUNKNOWN");
            if text.contains("<IDOCTP>") {
                t = replace_field(
                    &String::from_utf8(t).unwrap_or_default(),
                    &["IDOCTP"],
                    "ZUNK01",
                );
            }
            t
        }
        "unknown_event_type" => BUSINESS_PARTNER
            .replace(
                "sap.s4.beh.businesspartner.v1.BusinessPartner.Changed.v1",
                "sap.s4.beh.unknownobject.v1.UnknownObject.Changed.v1",
            )
            .replace(
                "0f6b2c1e-8d7a-4c2b-9a51-3e0f1d2c4b77",
                &format!("poison-{i}"),
            )
            .into_bytes(),
        _ => {
            // Seeded noise that starts like neither XML nor JSON.
            let mut rng = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
            let mut b = vec![0x00u8];
            for _ in 0..64 + (i % 64) {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                b.push((rng >> 24) as u8);
            }
            b
        }
    };
    let topic = if kind == "unknown_event_type" {
        "sap.s4.events"
    } else {
        good.topic
    };
    (
        expected,
        Sample {
            name: kind,
            topic,
            record: OwnedRecord {
                key: good.record.key,
                value: bytes,
                ..OwnedRecord::default()
            },
        },
    )
}

/// `<TAG>…</TAG>` of the first tag of `tags` present in `text`, with its value replaced.
fn replace_field(text: &str, tags: &[&str], value: &str) -> Vec<u8> {
    for tag in tags {
        let open = format!("<{tag}>");
        if text.contains(&open) {
            let old = between(text, &open, &format!("</{tag}>"));
            return text
                .replacen(&old, &format!("<{tag}>{value}</{tag}>"), 1)
                .into_bytes();
        }
    }
    text.as_bytes().to_vec()
}

/// The first `open…close` of `text`, both included (empty when absent).
fn between(text: &str, open: &str, close: &str) -> String {
    let Some(start) = text.find(open) else {
        return String::new();
    };
    match text[start..].find(close) {
        Some(end) => text[start..start + end + close.len()].to_string(),
        None => String::new(),
    }
}

/// An S/4 event fixture made thin, as S/4 raises it by default: its data cut down to the key
/// (`BusinessPartner`, `Product`, `SalesOrder`, `Supplier`), the rest of the event unchanged.
pub fn thin_of(fixture: &str) -> OwnedRecord {
    let mut v: serde_json::Value = serde_json::from_str(fixture).expect("a fixture is JSON");
    let data_field = if v.get("headers").is_some() {
        "value"
    } else {
        "data"
    };
    let data = v[data_field].as_object().cloned().unwrap_or_default();
    let thin: serde_json::Map<String, serde_json::Value> = data
        .into_iter()
        .filter(|(k, _)| {
            ["BusinessPartner", "Product", "SalesOrder", "Supplier"].contains(&k.as_str())
        })
        .collect();
    v[data_field] = serde_json::Value::Object(thin);
    let text = serde_json::to_string(&v).expect("JSON serialises");
    if data_field == "value" {
        OwnedRecord::from_envelope_json(text.as_bytes()).expect("the fixture's envelope")
    } else {
        OwnedRecord {
            value: text.into_bytes(),
            ..OwnedRecord::default()
        }
    }
}

/// The record of an S/4 event fixture: structured mode (the event is the value), or binary mode
/// (the JSON envelope: key, headers, value).
pub fn record_of(fixture: &str) -> OwnedRecord {
    if fixture.contains("\"headers\"") {
        OwnedRecord::from_envelope_json(fixture.as_bytes()).expect("the fixture's envelope")
    } else {
        value(fixture)
    }
}

/// The first outcome of `record` parsed with the default limits.
fn first_outcome(record: &OwnedRecord) -> crate::Outcome {
    crate::parse_record(
        &record.envelope(None, None, None),
        &crate::Limits::default(),
    )
    .expect("the fixture parses")
    .remove(0)
}

/// The change event of an S/4 event fixture that carries its data.
pub fn change_event(fixture: &str) -> hub_model::ChangeEvent {
    match first_outcome(&record_of(fixture)) {
        crate::Outcome::Change(e) => *e,
        other => panic!("not a change event: {other:?}"),
    }
}

/// The thin event of an S/4 event fixture ([`thin_of`]) as the bridge publishes it for the
/// enricher (the change event without `data`).
pub fn thin_event(fixture: &str) -> hub_model::ChangeEvent {
    match first_outcome(&thin_of(fixture)) {
        crate::Outcome::NeedsEnrichment(t) => t.into_event(),
        other => panic!("not a thin event: {other:?}"),
    }
}

/// The data of an S/4 event fixture (structured, or binary's envelope) as S/4's OData V2 API
/// answers the same object: every list a `{"results": [...]}`, `LastChangeDateTime` an
/// `/Date(ms+0000)/` and every other ISO day (`Edm.DateTime`) an `/Date(ms)/`; the
/// `__metadata` a V2 entity carries. What an enricher reading the API gets for the object the
/// fixture's full event carries.
pub fn odata_v2_entity(fixture: &str) -> serde_json::Value {
    use serde_json::Value;
    fn v2(v: Value, name: &str) -> Value {
        match v {
            Value::Array(a) => {
                serde_json::json!({"results": a.into_iter().map(|x| v2(x, "")).collect::<Vec<_>>()})
            }
            Value::Object(m) => Value::Object(
                m.into_iter()
                    .map(|(k, x)| {
                        let x = v2(x, &k);
                        (k, x)
                    })
                    .collect(),
            ),
            Value::String(s) if name == "LastChangeDateTime" => {
                let at = chrono::DateTime::parse_from_rfc3339(&s).expect("an RFC 3339 time");
                Value::String(format!("/Date({}+0000)/", at.timestamp_millis()))
            }
            Value::String(s)
                if s.len() == 10 && chrono::NaiveDate::parse_from_str(&s, "%Y-%m-%d").is_ok() =>
            {
                let day = chrono::NaiveDate::parse_from_str(&s, "%Y-%m-%d").expect("checked");
                let ms = day
                    .and_time(chrono::NaiveTime::MIN)
                    .and_utc()
                    .timestamp_millis();
                Value::String(format!("/Date({ms})/"))
            }
            other => other,
        }
    }
    let event: Value = serde_json::from_str(fixture).expect("a fixture is JSON");
    let data = event
        .get("data")
        .or_else(|| event.get("value"))
        .cloned()
        .expect("an event fixture with data");
    let mut entity = v2(data, "");
    if let Value::Object(m) = &mut entity {
        m.insert(
            "__metadata".into(),
            serde_json::json!({"type": "S4.Entity"}),
        );
    }
    entity
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sample_parses_and_the_large_order_is_large() {
        // Scenario: the samples are what they claim: changes parse to changes, the thin one to a
        // request for enrichment, and the large order keeps every item.
        let limits = crate::Limits::default();
        for s in changes() {
            let out =
                crate::parse_record(&s.record.envelope(Some(s.topic), Some(0), Some(0)), &limits)
                    .unwrap_or_else(|e| panic!("{}: {e}", s.name));
            assert!(matches!(out[0], crate::Outcome::Change(_)), "{}", s.name);
        }
        for s in suppliers() {
            let out =
                crate::parse_record(&s.record.envelope(Some(s.topic), Some(0), Some(0)), &limits)
                    .unwrap_or_else(|e| panic!("{}: {e}", s.name));
            let crate::Outcome::Change(e) = &out[0] else {
                panic!("{}: a change", s.name)
            };
            assert_eq!(
                (e.entity, e.key.as_str()),
                (hub_model::Entity::Supplier, "300123"),
                "{}",
                s.name
            );
        }
        let t = thin();
        let out = crate::parse_record(&t.record.envelope(None, None, None), &limits).unwrap();
        assert!(matches!(out[0], crate::Outcome::NeedsEnrichment(_)));
        let big = large_order(1 << 20);
        assert!(big.len() >= 1 << 20);
        let out =
            crate::parse_record(&crate::Envelope::value_only(big.as_bytes()), &limits).unwrap();
        let crate::Outcome::Change(e) = &out[0] else {
            panic!("a change")
        };
        let Some(hub_model::Record::SalesOrder(o)) = &e.data else {
            panic!("an order")
        };
        assert!(o.items.len() > 1000, "{} items", o.items.len());
    }

    #[test]
    fn synthetic_records_have_their_own_ids_and_shared_keys() {
        // Scenario: 30 records over 2 keys: 30 distinct event ids, 2 keys per entity.
        let limits = crate::Limits::default();
        let mut ids = std::collections::BTreeSet::new();
        let mut keys = std::collections::BTreeSet::new();
        for i in 0..30 {
            let s = synthetic(i, 2);
            let out = crate::parse_record(&s.record.envelope(Some(s.topic), None, None), &limits)
                .unwrap_or_else(|e| panic!("{i}: {e}"));
            let crate::Outcome::Change(e) = &out[0] else {
                panic!("a change")
            };
            ids.insert(e.event_id.clone());
            keys.insert((e.entity, e.key.clone()));
        }
        assert_eq!(ids.len(), 30);
        assert_eq!(keys.len(), 6);
        let mut mixed_ids = std::collections::BTreeSet::new();
        let mut mixed_keys = std::collections::BTreeSet::new();
        let mut versions = Vec::new();
        for i in 0..50 {
            let s = mixed(i, 5);
            let out = crate::parse_record(&s.record.envelope(Some(s.topic), None, None), &limits)
                .unwrap_or_else(|e| panic!("{i}: {e}"));
            let crate::Outcome::Change(e) = &out[0] else {
                panic!("a change")
            };
            mixed_ids.insert(e.event_id.clone());
            mixed_keys.insert((e.entity, e.key.clone()));
            versions.push(((e.entity, e.key.clone()), e.version));
        }
        assert_eq!(mixed_ids.len(), 50);
        // Every kind of record spreads over the keys: 5 keys of each of the 3 entities.
        assert_eq!(mixed_keys.len(), 15, "{mixed_keys:?}");
        // The CloudEvents of a key get newer with i.
        let bp: Vec<_> = (0..50)
            .filter(|i| i % 5 == 3)
            .map(|i| &versions[i as usize])
            .filter(|(k, _)| k == &versions[3].0)
            .collect();
        assert!(bp.len() >= 2 && bp.windows(2).all(|w| w[0].1 < w[1].1));
    }

    #[test]
    fn synthetic_suppliers_have_their_own_ids_and_shared_keys() {
        // Scenario: 20 CREMAS05 over 3 keys: 20 distinct event ids, 3 suppliers, and each key's
        // versions grow with i.
        let limits = crate::Limits::default();
        let mut ids = std::collections::BTreeSet::new();
        let mut versions: std::collections::BTreeMap<String, Vec<hub_model::Version>> =
            Default::default();
        for i in 0..20 {
            let s = synthetic_supplier(i, 3);
            let out = crate::parse_record(&s.record.envelope(Some(s.topic), None, None), &limits)
                .unwrap_or_else(|e| panic!("{i}: {e}"));
            let crate::Outcome::Change(e) = &out[0] else {
                panic!("a change")
            };
            assert_eq!(e.entity, hub_model::Entity::Supplier);
            ids.insert(e.event_id.clone());
            versions.entry(e.key.clone()).or_default().push(e.version);
        }
        assert_eq!(ids.len(), 20);
        assert_eq!(versions.len(), 3, "{versions:?}");
        assert!(versions.values().all(|v| v.windows(2).all(|w| w[0] < w[1])));
    }

    #[test]
    fn each_poison_record_gives_its_typed_error() {
        // Scenario: two rounds of every poison kind: each record fails to parse with the
        // kind it promises, never panics, and lands on an SAP topic.
        for i in 0..(2 * POISON_KINDS.len() as u64) {
            let (kind, sample) = poison(i);
            let env = sample
                .record
                .envelope(Some(sample.topic), Some(0), Some(i as i64));
            let err = crate::parse_record(&env, &crate::Limits::default()).expect_err(sample.name);
            assert_eq!(err.kind(), kind, "poison {i} ({})", sample.name);
            assert!(sample.topic.starts_with("sap."));
        }
    }
}
