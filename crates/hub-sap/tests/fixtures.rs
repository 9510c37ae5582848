//! Every sample payload of the fixtures folder, and variants written for each quirk real SAP
//! landscapes produce, through the public entry point `parse_record`.

use hub_core::{Classify, ErrorClass};
use hub_model::records::*;
use hub_model::{ChangeEvent, Entity, Op, Record};
use hub_sap::{Envelope, Limits, Outcome, OwnedRecord, ParseError, parse_record};

const MATMAS: &str = include_str!("../fixtures/matmas05_pump.xml");
const DEBMAS: &str = include_str!("../fixtures/debmas07_customer.xml");
const ORDERS: &str = include_str!("../fixtures/orders05_salesorder.xml");
const BP: &str = include_str!("../fixtures/s4_businesspartner_changed.cloudevent.json");
const PRODUCT_BINARY: &str = include_str!("../fixtures/s4_product_changed.binary.json");
const THIN_ORDER: &str = include_str!("../fixtures/s4_salesorder_created_thin.cloudevent.json");
const CREMAS05: &str = include_str!("../fixtures/cremas05_supplier.xml");
const CREMAS06: &str = include_str!("../fixtures/cremas06_supplier_deleted.xml");
const SUPPLIER: &str = include_str!("../fixtures/s4_supplier_changed.cloudevent.json");

/// The fixtures' bank account number and IBAN, which no Debug form and no error may show.
const ACCOUNT: &str = "00012345678";
const IBAN: &str = "PT50003500010001234567805";

fn parse(value: &[u8]) -> Result<Vec<Outcome>, ParseError> {
    parse_record(&Envelope::value_only(value), &Limits::default())
}

fn one(value: &str) -> ChangeEvent {
    let mut out = parse(value.as_bytes()).unwrap();
    assert_eq!(out.len(), 1);
    match out.remove(0) {
        Outcome::Change(e) => *e,
        other => panic!("expected a change, got {other:?}"),
    }
}

fn material(e: &ChangeEvent) -> &Material {
    match &e.data {
        Some(Record::Material(m)) => m,
        other => panic!("not a material: {other:?}"),
    }
}

fn customer(e: &ChangeEvent) -> &Customer {
    match &e.data {
        Some(Record::Customer(c)) => c,
        other => panic!("not a customer: {other:?}"),
    }
}

fn order(e: &ChangeEvent) -> &SalesOrder {
    match &e.data {
        Some(Record::SalesOrder(o)) => o,
        other => panic!("not an order: {other:?}"),
    }
}

fn supplier(e: &ChangeEvent) -> &Supplier {
    match &e.data {
        Some(Record::Supplier(s)) => s,
        other => panic!("not a supplier: {other:?}"),
    }
}

/// The binary-mode fixture as a record.
fn binary(fixture: &str) -> OwnedRecord {
    OwnedRecord::from_envelope_json(fixture.as_bytes()).unwrap()
}

fn env(b: &OwnedRecord) -> Envelope<'_> {
    b.envelope(Some("sap.s4.events"), Some(2), Some(41))
}

#[test]
fn matmas05_fixture() {
    // Scenario: the MATMAS05 pump becomes one material upsert with descriptions, plants and
    // valuation, ISO units and languages, normalised key, version from CREDAT+CRETIM+DOCNUM.
    let e = one(MATMAS);
    assert_eq!(e.entity, Entity::Material);
    assert_eq!(e.key, "100234");
    assert_eq!(e.op, Op::Upsert);
    assert_eq!(e.event_id, "idoc:S4PCLNT100:100:4711001");
    assert_eq!(
        e.version.to_string(),
        "2026-11-20T10:15:02.000Z#00000000000004711001"
    );
    assert_eq!(e.schema, "material.v1");
    assert_eq!(e.source.document_type.as_deref(), Some("MATMAS05"));
    assert_eq!(
        e.routing().pairs(),
        [
            ("entity", "material"),
            ("op", "upsert"),
            ("source_system", "S4PCLNT100"),
            ("schema", "material.v1")
        ]
    );
    let m = material(&e);
    assert_eq!(m.base_unit.as_deref(), Some("PCE"));
    assert_eq!(m.gross_weight.unwrap().to_string(), "12.5");
    assert_eq!(m.weight_unit.as_deref(), Some("KGM"));
    assert_eq!(m.descriptions.len(), 2);
    assert_eq!(m.descriptions[1].language, "PT");
    assert_eq!(m.descriptions[1].text, "Bomba hidráulica HP-200");
    assert_eq!(m.plants.len(), 2);
    assert_eq!(m.plants[1].safety_stock.unwrap().to_string(), "0");
    assert_eq!(m.valuations[0].standard_price.unwrap().to_string(), "845.9");
    assert_eq!(m.created_on.unwrap().to_string(), "2024-01-05");
    assert!(m.extensions.is_empty());
}

#[test]
fn debmas07_fixture() {
    // Scenario: the DEBMAS07 customer with company code, sales area and partner functions; the
    // empty LOEVM is no deletion.
    let e = one(DEBMAS);
    assert_eq!(
        (e.entity, e.key.as_str(), e.op),
        (Entity::Customer, "100123", Op::Upsert)
    );
    let c = customer(&e);
    assert_eq!(c.name.as_deref(), Some("Metalúrgica Paulista Ltda."));
    assert_eq!(c.language.as_deref(), Some("PT"));
    assert!(!c.deletion_flag);
    assert_eq!(c.company_codes[0].company_code, "1000");
    let area = &c.sales_areas[0];
    assert_eq!(
        (area.sales_org.as_str(), area.distribution_channel.as_str()),
        ("1000", "10")
    );
    assert_eq!(area.partners.len(), 2);
    assert_eq!(area.partners[0].partner, "100123");
}

#[test]
fn cremas05_fixture() {
    // Scenario: the CREMAS05 supplier (namespaced, with an extension type) becomes one supplier
    // upsert: ALPHA key normalised, version from CREDAT+CRETIM+DOCNUM, every field of E1LFA1M,
    // E1LFB1M, E1LFM1M and E1LFBKM mapped, the Z1LFA1X segment in extensions.
    let e = one(CREMAS05);
    assert_eq!(
        (e.entity, e.key.as_str(), e.op),
        (Entity::Supplier, "300123", Op::Upsert)
    );
    assert_eq!(e.event_id, "idoc:S4PCLNT100:100:4711320");
    assert_eq!(
        e.version.to_string(),
        "2026-11-20T10:25:33.000Z#00000000000004711320"
    );
    assert_eq!(e.schema, "supplier.v1");
    assert_eq!(e.source.message_type, "CREMAS");
    assert_eq!(
        e.source.document_type.as_deref(),
        Some("CREMAS05/ZCREMAS05X")
    );
    assert_eq!(
        e.routing().pairs(),
        [
            ("entity", "supplier"),
            ("op", "upsert"),
            ("source_system", "S4PCLNT100"),
            ("schema", "supplier.v1")
        ]
    );
    let s = supplier(&e);
    let expected = Supplier {
        supplier: "300123".into(),
        account_group: Some("KRED".into()),
        name: Some("Fundição Atlântico, S.A.".into()),
        name2: Some("Unidade de Matosinhos".into()),
        search_term: Some("FUNDATL".into()),
        street: Some("Rua do Ouro 420".into()),
        city: Some("Porto".into()),
        postal_code: Some("4100-320".into()),
        region: Some("13".into()),
        country: Some("PT".into()),
        phone: Some("+351 22 600 1200".into()),
        language: Some("PT".into()),
        tax_number: Some("503123456".into()),
        vat_number: Some("PT503123456".into()),
        customer: Some("100789".into()),
        posting_block: false,
        purchasing_block: false,
        deletion_flag: false,
        company_codes: vec![SupplierCompanyCode {
            company_code: "1000".into(),
            reconciliation_account: Some("0021100000".into()),
            payment_terms: Some("NT60".into()),
            payment_methods: Some("TU".into()),
            posting_block: false,
            deletion_flag: false,
        }],
        purchasing_orgs: vec![SupplierPurchasingOrg {
            purchasing_org: "1000".into(),
            currency: Some("EUR".into()),
            payment_terms: Some("NT60".into()),
            incoterms: Some("FOB".into()),
            incoterms_place: Some("Leixões".into()),
            minimum_order_value: Some("2500".parse().unwrap()),
            purchasing_group: Some("010".into()),
            planned_delivery_days: Some("21".parse().unwrap()),
            gr_based_invoice_verification: true,
            purchasing_block: false,
            deletion_flag: false,
        }],
        bank_details: vec![SupplierBankDetail {
            country: "PT".into(),
            bank_key: Some("00350001".into()),
            account: Some(ACCOUNT.into()),
            iban: Some(IBAN.into()),
            control_key: Some("05".into()),
            partner_bank_type: Some("0001".into()),
            account_holder: Some("Fundição Atlântico, S.A.".into()),
            reference: None,
            bank_name: Some("Caixa Geral de Depositos".into()),
            swift: Some("CGDIPTPL".into()),
        }],
        extensions: [
            ("Z1LFA1X.ESG_RATING", "B"),
            ("Z1LFA1X.ISO9001_UNTIL", "20281231"),
        ]
        .into_iter()
        .map(|(k, v)| (k.into(), v.into()))
        .collect(),
    };
    assert_eq!(s, &expected);
    // Stored and published as they are: the JSON carries the account and the IBAN.
    let json = serde_json::to_value(&e).unwrap();
    assert_eq!(json["data"]["bank_details"][0]["account"], ACCOUNT);
    assert_eq!(json["data"]["bank_details"][0]["iban"], IBAN);
    assert_eq!(json["data"]["customer"], "100789");
}

#[test]
fn a_suppliers_bank_accounts_stay_out_of_debug_output() {
    // Scenario: the events of the three supplier fixtures, printed with {:?} and {:#?} (as a
    // test failure or a debug! would), show neither the account number nor the IBAN.
    for e in [one(CREMAS05), one(SUPPLIER), one(CREMAS06)] {
        let debug = format!("{e:?}\n{e:#?}");
        for secret in [ACCOUNT, IBAN, "PT50 0035"] {
            assert!(!debug.contains(secret), "{secret} shown: {debug}");
        }
    }
    let outcome = format!("{:?}", parse(CREMAS05.as_bytes()).unwrap());
    assert!(!outcome.contains(ACCOUNT) && !outcome.contains(IBAN));
}

#[test]
fn cremas06_deletion_fixture() {
    // Scenario: the CREMAS06 that flags the supplier for deletion (LOEVM = X, as DEBMAS does):
    // op delete, with the record and its blocks, at a version after the CREMAS05 and the S/4
    // change.
    let e = one(CREMAS06);
    assert_eq!(
        (e.entity, e.key.as_str(), e.op),
        (Entity::Supplier, "300123", Op::Delete)
    );
    assert_eq!(e.source.document_type.as_deref(), Some("CREMAS06"));
    assert_eq!(
        e.version.to_string(),
        "2026-11-27T08:12:10.000Z#00000000000004711388"
    );
    assert!(e.version > one(CREMAS05).version && e.version > one(SUPPLIER).version);
    let s = supplier(&e);
    assert!(s.deletion_flag && s.posting_block && s.purchasing_block);
    assert!(s.company_codes[0].deletion_flag && s.company_codes[0].posting_block);
    assert!(s.purchasing_orgs[0].deletion_flag && s.purchasing_orgs[0].purchasing_block);
    assert!(s.bank_details.is_empty());
}

#[test]
fn s4_supplier_cloudevent_fixture() {
    // Scenario: a structured-mode Supplier.Changed with A_Supplier data becomes a supplier
    // upsert keyed by the supplier number, version from the event time, with company code,
    // purchasing organisation, address and bank account.
    let e = one(SUPPLIER);
    assert_eq!(
        (e.entity, e.key.as_str(), e.op),
        (Entity::Supplier, "300123", Op::Upsert)
    );
    assert_eq!(
        e.event_id,
        "ce:/default/sap.s4.beh/S4PCLNT100:6c1d9e52-37b0-4f0e-8a2d-91f4b7c03e18"
    );
    assert_eq!(e.occurred_at.to_rfc3339(), "2026-11-20T10:31:12+00:00");
    assert_eq!(e.schema, "supplier.v1");
    assert_eq!(
        e.correlation_id,
        hub_sap::cloudevent::passport_correlation("2A54482A0300E60000756E6B6E6F7752")
    );
    let s = supplier(&e);
    assert_eq!(s.name.as_deref(), Some("Fundição Atlântico, S.A."));
    assert_eq!(s.customer.as_deref(), Some("100789"));
    assert_eq!(s.street.as_deref(), Some("Rua do Ouro 420"));
    assert_eq!(s.company_codes[0].payment_methods.as_deref(), Some("TU"));
    let org = &s.purchasing_orgs[0];
    assert_eq!(org.minimum_order_value.unwrap().to_string(), "2500");
    assert!(org.gr_based_invoice_verification);
    let bank = &s.bank_details[0];
    assert_eq!(
        (
            bank.account.as_ref().unwrap().expose(),
            bank.iban.as_ref().unwrap().expose()
        ),
        (ACCOUNT, IBAN)
    );
    assert_eq!(bank.partner_bank_type.as_deref(), Some("0001"));
}

#[test]
fn s4_supplier_thin_deleted_and_flagged_events() {
    // Scenario: SAP's key-only Supplier.Changed needs enrichment; a key-only Supplier.Deleted
    // is a complete delete; a change with DeletionIndicator true is a delete with its record.
    let thin = r#"{"specversion": "1.0", "type": "sap.s4.beh.supplier.v1.Supplier.Changed.v1",
        "source": "/default/sap.s4.beh/S4PCLNT100", "id": "t-1", "time": "2026-11-20T11:00:00Z",
        "data": {"Supplier": "0000300123"}}"#;
    let out = parse(thin.as_bytes()).unwrap();
    let Outcome::NeedsEnrichment(n) = &out[0] else {
        panic!("{out:?}")
    };
    assert_eq!(
        (n.entity, n.key.as_str(), n.op),
        (Entity::Supplier, "300123", Op::Upsert)
    );
    let deleted = one(&thin.replace("Supplier.Changed", "Supplier.Deleted"));
    assert_eq!((deleted.op, deleted.data.is_none()), (Op::Delete, true));
    let flagged = one(&SUPPLIER.replacen(
        "\"DeletionIndicator\": false,\n    \"to_",
        "\"DeletionIndicator\": true,\n    \"to_",
        1,
    ));
    assert_eq!(flagged.op, Op::Delete);
    assert!(supplier(&flagged).deletion_flag);
}

#[test]
fn orders05_fixture() {
    // Scenario: the ORDERS05 order: org data from E1EDK14, dates from E1EDK03, partners, PO,
    // items with material, schedule line and value, totals.
    let e = one(ORDERS);
    assert_eq!((e.entity, e.key.as_str()), (Entity::SalesOrder, "45001"));
    let o = order(&e);
    assert_eq!(o.sales_org.as_deref(), Some("1000"));
    assert_eq!(o.division.as_deref(), Some("00"));
    assert_eq!(o.sold_to.as_deref(), Some("100123"));
    assert_eq!(o.customer_po.as_deref(), Some("PO-2026-7781"));
    assert_eq!(o.requested_delivery_date.unwrap().to_string(), "2026-12-04");
    assert_eq!(o.net_value.unwrap().to_string(), "2291.8");
    assert_eq!(o.items.len(), 2);
    assert_eq!(o.items[0].item, "10");
    assert_eq!(o.items[0].material.as_deref(), Some("100234"));
    assert_eq!(
        o.items[1].schedule_lines[0].date.unwrap().to_string(),
        "2026-11-27"
    );
}

#[test]
fn business_partner_cloudevent_fixture() {
    // Scenario: a structured-mode BusinessPartner.Changed with data becomes a customer upsert
    // keyed by the customer number, version from the event time.
    let e = one(BP);
    assert_eq!(
        (e.entity, e.key.as_str(), e.op),
        (Entity::Customer, "100123", Op::Upsert)
    );
    assert_eq!(
        e.event_id,
        "ce:/default/sap.s4.beh/S4PCLNT100:0f6b2c1e-8d7a-4c2b-9a51-3e0f1d2c4b77"
    );
    assert_eq!(e.source.system, "S4PCLNT100");
    assert_eq!(e.source.client.as_deref(), Some("100"));
    assert_eq!(e.occurred_at.to_rfc3339(), "2026-11-20T10:21:07+00:00");
    // The passport is opaque SAP data (user, system): its digest correlates, never the text.
    assert!(
        e.correlation_id.starts_with("passport:") && e.correlation_id.len() == 25,
        "{}",
        e.correlation_id
    );
    assert!(!e.correlation_id.contains("2A54482A"));
    assert_eq!(one(BP).correlation_id, e.correlation_id, "stable");
}

#[test]
fn the_passport_is_digested_alike_in_both_modes() {
    // Scenario: the same passport as a structured attribute and as a binary-mode header gives
    // the same correlation id; another passport another one; an explicit correlationid wins.
    let structured = one(BP).correlation_id;
    let headers = vec![
        ("ce_specversion".to_string(), b"1.0".to_vec()),
        (
            "ce_type".to_string(),
            b"sap.s4.beh.businesspartner.v1.BusinessPartner.Changed.v1".to_vec(),
        ),
        (
            "ce_source".to_string(),
            b"/default/sap.s4.beh/S4PCLNT100".to_vec(),
        ),
        ("ce_id".to_string(), b"1".to_vec()),
        ("ce_time".to_string(), b"2026-11-20T10:21:07Z".to_vec()),
        (
            "ce_sappassport".to_string(),
            b"2a54482a0300e60000756e6b6e6f776e".to_vec(),
        ),
    ];
    let env = Envelope {
        headers: &headers,
        ..Envelope::value_only(br#"{"BusinessPartner": "100123", "BusinessPartnerFullName": "X"}"#)
    };
    let Outcome::Change(binary) = parse_record(&env, &Limits::default()).unwrap().remove(0) else {
        panic!()
    };
    assert_eq!(binary.correlation_id, structured);
    let other = BP.replace(
        "2A54482A0300E60000756E6B6E6F776E",
        "2A54482A0300E60000756E6B6E6F7700",
    );
    assert_ne!(one(&other).correlation_id, structured);
    let explicit = BP.replace("\"sappassport\"", "\"correlationid\": \"c-1\", \"x\"");
    assert_eq!(one(&explicit).correlation_id, "c-1");
}

#[test]
fn product_binary_cloudevent_fixture() {
    // Scenario: a Kafka binary-mode Product.Changed (ce_* headers, data in the value).
    let b = binary(PRODUCT_BINARY);
    let out = parse_record(&env(&b), &Limits::default()).unwrap();
    let Outcome::Change(e) = &out[0] else {
        panic!("{out:?}")
    };
    assert_eq!((e.entity, e.key.as_str()), (Entity::Material, "100234"));
    assert_eq!(e.source.topic.as_deref(), Some("sap.s4.events"));
    assert_eq!((e.source.partition, e.source.offset), (Some(2), Some(41)));
    let m = material(e);
    assert_eq!(m.descriptions[0].text, "Hydraulic pump HP-200 (rev. B)");
    assert_eq!(m.plants[0].safety_stock.unwrap().to_string(), "5");
}

#[test]
fn thin_cloudevent_needs_enrichment() {
    // Scenario: SAP's default key-only event is not an error but a typed request for
    // enrichment carrying entity, key and version.
    let out = parse(THIN_ORDER.as_bytes()).unwrap();
    let Outcome::NeedsEnrichment(n) = &out[0] else {
        panic!("{out:?}")
    };
    assert_eq!(
        (n.entity, n.key.as_str(), n.op),
        (Entity::SalesOrder, "45002", Op::Upsert)
    );
    assert_eq!(n.version.at.to_rfc3339(), "2026-11-20T10:40:12+00:00");
    // A thin Deleted event is complete: a delete needs only the key.
    let deleted = THIN_ORDER.replace("SalesOrder.Created", "SalesOrder.Deleted");
    let e = one(&deleted);
    assert_eq!((e.op, e.data.is_none()), (Op::Delete, true));
}

#[test]
fn same_object_same_record_whatever_the_format() {
    // Scenario: the pump from MATMAS05 and from the S/4 Product event agree on every field both
    // carry; the customer from DEBMAS07 and from the BusinessPartner event likewise.
    let idoc = one(MATMAS);
    let b = binary(PRODUCT_BINARY);
    let Outcome::Change(ce) = parse_record(&env(&b), &Limits::default())
        .unwrap()
        .remove(0)
    else {
        panic!()
    };
    let (a, b) = (material(&idoc), material(&ce));
    assert_eq!(a.material, b.material);
    assert_eq!(a.material_type, b.material_type);
    assert_eq!(a.material_group, b.material_group);
    assert_eq!(a.base_unit, b.base_unit);
    assert_eq!(a.gross_weight, b.gross_weight);
    assert_eq!(a.net_weight, b.net_weight);
    assert_eq!(a.weight_unit, b.weight_unit);
    assert_eq!(a.plants[0].plant, b.plants[0].plant);
    assert_eq!(a.plants[0].mrp_type, b.plants[0].mrp_type);
    assert_eq!(a.plants[0].safety_stock, b.plants[0].safety_stock);

    let (i, c) = (one(DEBMAS), one(BP));
    let (a, b) = (customer(&i), customer(&c));
    assert_eq!(i.key, c.key);
    for (x, y) in [
        (&a.name, &b.name),
        (&a.search_term, &b.search_term),
        (&a.street, &b.street),
        (&a.city, &b.city),
        (&a.postal_code, &b.postal_code),
        (&a.region, &b.region),
        (&a.country, &b.country),
        (&a.language, &b.language),
        (&a.tax_number, &b.tax_number),
    ] {
        assert_eq!(x, y);
    }

    let (i, c) = (one(CREMAS05), one(SUPPLIER));
    let (a, b) = (supplier(&i), supplier(&c));
    assert_eq!(i.key, c.key);
    for (x, y) in [
        (&a.account_group, &b.account_group),
        (&a.name, &b.name),
        (&a.street, &b.street),
        (&a.city, &b.city),
        (&a.postal_code, &b.postal_code),
        (&a.region, &b.region),
        (&a.country, &b.country),
        (&a.tax_number, &b.tax_number),
        (&a.vat_number, &b.vat_number),
        (&a.customer, &b.customer),
    ] {
        assert_eq!(x, y);
    }
    assert_eq!(
        (a.posting_block, a.purchasing_block, a.deletion_flag),
        (b.posting_block, b.purchasing_block, b.deletion_flag)
    );
    assert_eq!(a.company_codes, b.company_codes);
    assert_eq!(a.purchasing_orgs, b.purchasing_orgs);
    assert_eq!(a.bank_details, b.bank_details);
}

#[test]
fn several_idocs_in_one_document() {
    // Scenario: two IDOC elements in one document are two change events, each with its own
    // DOCNUM-based id and version.
    let second = MATMAS
        .split("<IDOC BEGIN=\"1\">")
        .nth(1)
        .unwrap()
        .split("</IDOC>")
        .next()
        .unwrap()
        .replace("0000000004711001", "0000000004711002")
        .replace("000000000000100234", "000000000000100235");
    let doc = MATMAS.replace(
        "</MATMAS05>",
        &format!("<IDOC BEGIN=\"1\">{second}</IDOC></MATMAS05>"),
    );
    let out = parse(doc.as_bytes()).unwrap();
    let keys: Vec<_> = out
        .iter()
        .map(|o| match o {
            Outcome::Change(e) => (e.key.clone(), e.version.seq),
            _ => panic!(),
        })
        .collect();
    assert_eq!(
        keys,
        vec![("100234".into(), 4711001), ("100235".into(), 4711002)]
    );
}

#[test]
fn custom_segments_and_extension_fields_are_kept() {
    // Scenario: a Z segment under E1MARAM and a ZZ extension field of E1MARAM travel in
    // `extensions`; they are not fatal and do not disturb the standard fields.
    let doc = MATMAS
        .replace(
            "<MEINS_ISO>PCE</MEINS_ISO>",
            "<MEINS_ISO>PCE</MEINS_ISO><ZZPUMPCLASS>A2</ZZPUMPCLASS>",
        )
        .replace(
            "<E1MBEWM SEGMENT=\"1\">",
            "<Z1PUMPX SEGMENT=\"1\"><PRESSURE>16</PRESSURE><SEAL>FKM</SEAL></Z1PUMPX><E1MBEWM SEGMENT=\"1\">",
        );
    let e = one(&doc);
    let m = material(&e);
    assert_eq!(
        m.extensions.get("E1MARAM.ZZPUMPCLASS").map(|v| v.as_str()),
        Some("A2")
    );
    assert_eq!(
        m.extensions.get("Z1PUMPX.PRESSURE").map(|v| v.as_str()),
        Some("16")
    );
    assert_eq!(m.valuations.len(), 1);
}

#[test]
fn iso_8859_1_documents() {
    // Scenario: a DEBMAS declared ISO-8859-1, with Latin-1 bytes, reads as the UTF-8 one does.
    let latin1: Vec<u8> = DEBMAS
        .replace("encoding=\"UTF-8\"", "encoding=\"ISO-8859-1\"")
        .chars()
        .map(|c| u8::try_from(u32::from(c)).expect("fixture is Latin-1 representable"))
        .collect();
    assert!(std::str::from_utf8(&latin1).is_err(), "really not UTF-8");
    let out = parse(&latin1).unwrap();
    let Outcome::Change(l) = &out[0] else {
        panic!()
    };
    assert_eq!(customer(l), customer(&one(DEBMAS)));
}

#[test]
fn namespace_prefixes_and_other_basic_types() {
    // Scenario: a MATMAS03 with ns0: prefixes maps like MATMAS05.
    let doc = MATMAS
        .replace("MATMAS05", "MATMAS03")
        .replace('<', "<ns0:")
        .replace("<ns0:/", "</ns0:")
        .replace("<ns0:?xml", "<?xml")
        .replace(
            "<ns0:MATMAS03>",
            "<ns0:MATMAS03 xmlns:ns0=\"urn:sap-com:document:sap:idoc\">",
        );
    let e = one(&doc);
    assert_eq!(e.key, "100234");
    assert_eq!(e.source.document_type.as_deref(), Some("MATMAS03"));
    assert_eq!(material(&e).plants.len(), 2);
}

#[test]
fn supplier_deletions_and_deleted_parts() {
    // Scenario: as for customers, MSGFN 003 on E1LFA1M makes op = delete; a bank detail or
    // purchasing organisation sent with MSGFN 003 is left out while the supplier stays.
    let msgfn = CREMAS05.replacen(
        "<MSGFN>005</MSGFN>\n      <LIFNR>",
        "<MSGFN>003</MSGFN>\n      <LIFNR>",
        1,
    );
    assert_eq!(one(&msgfn).op, Op::Delete);
    let parts = CREMAS05
        .replace(
            "<MSGFN>005</MSGFN>\n        <LIFNR>0000300123</LIFNR>\n        <BANKS>",
            "<MSGFN>003</MSGFN>\n        <LIFNR>0000300123</LIFNR>\n        <BANKS>",
        )
        .replace(
            "<MSGFN>005</MSGFN>\n        <LIFNR>0000300123</LIFNR>\n        <EKORG>",
            "<MSGFN>003</MSGFN>\n        <LIFNR>0000300123</LIFNR>\n        <EKORG>",
        );
    let e = one(&parts);
    let s = supplier(&e);
    assert_eq!(e.op, Op::Upsert);
    assert!(s.bank_details.is_empty() && s.purchasing_orgs.is_empty());
    assert_eq!(s.company_codes.len(), 1);
}

#[test]
fn supplier_errors_name_the_field_and_never_a_bank_value() {
    // Scenario: a CREMAS without LIFNR, a bank detail without BANKS and a bad minimum order
    // value are poison errors naming their path; no message shows the account or the IBAN.
    let cases = [
        (
            CREMAS05.replace("<LIFNR>0000300123</LIFNR>\n      <ANRED>", "<ANRED>"),
            "missing_field",
            "IDOC[0].E1LFA1M.LIFNR",
        ),
        (
            CREMAS05.replace("<BANKS>PT</BANKS>", ""),
            "missing_field",
            "IDOC[0].E1LFA1M.E1LFBKM[0].BANKS",
        ),
        (
            CREMAS05.replace("<MINBW>2500.00</MINBW>", "<MINBW>2.500,00</MINBW>"),
            "bad_number",
            "IDOC[0].E1LFA1M.E1LFM1M[0].MINBW",
        ),
    ];
    for (doc, kind, path) in cases {
        let e = err(&doc);
        assert_eq!((e.kind(), e.path()), (kind, Some(path)), "{e}");
        assert_eq!(e.class(), ErrorClass::Poison);
        let text = format!("{e} {e:?}");
        assert!(!text.contains(ACCOUNT) && !text.contains(IBAN), "{text}");
    }
}

#[test]
fn deletions_become_delete_events() {
    // Scenario: LVORM = X, LOEVM = X and MSGFN 003 each make op = delete; a description deleted
    // with MSGFN 003 is left out while the material stays.
    let flagged = MATMAS.replace("<MTART>FERT</MTART>", "<MTART>FERT</MTART><LVORM>X</LVORM>");
    let e = one(&flagged);
    assert_eq!(e.op, Op::Delete);
    assert!(material(&e).deletion_flag);
    let c = one(&DEBMAS.replace("<LOEVM></LOEVM>", "<LOEVM>X</LOEVM>"));
    assert_eq!(c.op, Op::Delete);
    let msgfn = DEBMAS.replacen(
        "<MSGFN>005</MSGFN>\n      <KUNNR>",
        "<MSGFN>003</MSGFN>\n      <KUNNR>",
        1,
    );
    assert_eq!(one(&msgfn).op, Op::Delete);
    let desc = MATMAS.replacen(
        "<MSGFN>005</MSGFN>\n        <SPRAS>P</SPRAS>",
        "<MSGFN>003</MSGFN>\n        <SPRAS>P</SPRAS>",
        1,
    );
    let e = one(&desc);
    assert_eq!((e.op, material(&e).descriptions.len()), (Op::Upsert, 1));
}

#[test]
fn trailing_minus_and_empty_dates() {
    // Scenario: a negative value with a trailing minus, an empty optional field and a
    // 00000000 date.
    let doc = MATMAS
        .replace("<EISBE>5.000</EISBE>", "<EISBE>5.000-</EISBE>")
        .replace("<LAEDA>20261120</LAEDA>", "<LAEDA>00000000</LAEDA>")
        .replace("<VOLUM>0.040</VOLUM>", "<VOLUM></VOLUM>");
    let e = one(&doc);
    let m = material(&e);
    assert_eq!(m.plants[0].safety_stock.unwrap().to_string(), "-5");
    assert_eq!(m.changed_on, None);
    assert_eq!(m.volume, None);
}

#[test]
fn correlation_id_from_a_kafka_header() {
    // Scenario: a correlation_id header wins over the derived one.
    let headers = vec![("correlation_id".to_string(), b"req-42".to_vec())];
    let env = Envelope {
        topic: None,
        partition: None,
        offset: None,
        key: None,
        value: MATMAS.as_bytes(),
        headers: &headers,
    };
    let Outcome::Change(e) = parse_record(&env, &Limits::default()).unwrap().remove(0) else {
        panic!()
    };
    assert_eq!(e.correlation_id, "req-42");
    assert_eq!(
        one(MATMAS).correlation_id,
        e.event_id,
        "derived from the event id otherwise"
    );
}

fn err(value: &str) -> ParseError {
    parse(value.as_bytes()).unwrap_err()
}

#[test]
fn every_way_input_can_be_wrong_is_a_typed_error_with_its_path() {
    // Scenario: each kind of bad input gives its own error, naming the field or segment, with
    // its class.
    let cases: Vec<(ParseError, &str, Option<&str>, ErrorClass)> = vec![
        (
            err("not sap at all"),
            "unrecognized",
            None,
            ErrorClass::Poison,
        ),
        (err("   "), "empty", None, ErrorClass::Poison),
        (err("<MATMAS05><IDOC>"), "bad_xml", None, ErrorClass::Poison),
        (
            err("{\"specversion\": "),
            "bad_json",
            Some("$"),
            ErrorClass::Poison,
        ),
        (err("<X><Y/></X>"), "no_idoc", None, ErrorClass::Poison),
        (
            err(&MATMAS.replace("<MATNR>000000000000100234</MATNR>", "")),
            "missing_field",
            Some("IDOC[0].E1MARAM.MATNR"),
            ErrorClass::Poison,
        ),
        (
            err(&MATMAS.replace("<BRGEW>12.500</BRGEW>", "<BRGEW>12,5</BRGEW>")),
            "bad_number",
            Some("IDOC[0].E1MARAM.BRGEW"),
            ErrorClass::Poison,
        ),
        (
            err(&MATMAS.replace("<PLIFZ>14</PLIFZ>", "<PLIFZ>x</PLIFZ>")),
            "bad_number",
            Some("IDOC[0].E1MARAM.E1MARCM[1].PLIFZ"),
            ErrorClass::Poison,
        ),
        (
            err(&MATMAS.replace("<ERSDA>20240105</ERSDA>", "<ERSDA>20241305</ERSDA>")),
            "bad_date",
            Some("IDOC[0].E1MARAM.ERSDA"),
            ErrorClass::Poison,
        ),
        (
            err(&MATMAS.replace("<MESTYP>MATMAS</MESTYP>", "<MESTYP>CLFMAS</MESTYP>")),
            "unsupported_idoc_type",
            Some("IDOC[0].EDI_DC40"),
            ErrorClass::Permanent,
        ),
        (
            err(&MATMAS.replace("EDI_DC40", "EDI_XX40")),
            "missing_control_record",
            Some("IDOC[0]"),
            ErrorClass::Poison,
        ),
        (
            err(&MATMAS.replace("E1MARAM", "E1MARAX")),
            "missing_segment",
            None,
            ErrorClass::Poison,
        ),
        (
            err(&BP.replace(
                "businesspartner.v1.BusinessPartner",
                "purchaseorder.v1.PurchaseOrder",
            )),
            "unsupported_event_type",
            None,
            ErrorClass::Permanent,
        ),
        (
            err(&BP.replace("\"specversion\": \"1.0\"", "\"specversion\": \"0.3\"")),
            "unsupported_specversion",
            None,
            ErrorClass::Permanent,
        ),
        (
            err(&BP.replace("\"time\": \"2026-11-20T10:21:07Z\",", "")),
            "missing_attribute",
            Some("time"),
            ErrorClass::Poison,
        ),
        (
            err(&BP.replace("2026-11-20T10:21:07Z", "yesterday")),
            "bad_date",
            Some("time"),
            ErrorClass::Poison,
        ),
    ];
    for (e, kind, path, class) in cases {
        assert_eq!(e.kind(), kind, "{e}");
        if let Some(p) = path {
            assert_eq!(e.path(), Some(p), "{e}");
        }
        assert_eq!(e.class(), class, "{e}");
    }
}

#[test]
fn oversized_input_is_refused_before_parsing() {
    // Scenario: a value over the limit is refused at once, whatever it holds.
    let limits = Limits {
        max_bytes: 1024,
        ..Limits::default()
    };
    let e = parse_record(&Envelope::value_only(MATMAS.as_bytes()), &limits).unwrap_err();
    assert!(matches!(e, ParseError::TooLarge { size, limit: 1024 } if size == MATMAS.len()));
}

#[test]
fn idoc_times_are_read_in_the_senders_time_zone() {
    // Scenario: the DEBMAS07 fixture (SNDPRN S4PCLNT100) configured as Europe/Berlin, created
    // around both daylight-saving changes of 2026: the version is the UTC instant; the repeated
    // autumn hour takes its first pass, the skipped spring hour is shifted forward; another
    // sender, and no configuration, read the same text as UTC.
    use hub_sap::{SenderTimeZones, parse_record_with};
    let zones = SenderTimeZones::parse("S4PCLNT100=Europe/Berlin").unwrap();
    let version_at = |credat: &str, cretim: &str, zones: &SenderTimeZones| {
        let xml = DEBMAS
            .replace(
                "<CREDAT>20261120</CREDAT>",
                &format!("<CREDAT>{credat}</CREDAT>"),
            )
            .replace(
                "<CRETIM>101944</CRETIM>",
                &format!("<CRETIM>{cretim}</CRETIM>"),
            );
        let out = parse_record_with(
            &Envelope::value_only(xml.as_bytes()),
            &Limits::default(),
            zones,
        )
        .unwrap();
        let Outcome::Change(e) = &out[0] else {
            panic!("{out:?}")
        };
        assert_eq!(e.occurred_at, e.version.at);
        e.version
            .at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    };
    assert_eq!(
        version_at("20261120", "101944", &zones),
        "2026-11-20T09:19:44Z"
    );
    assert_eq!(
        version_at("20260715", "101944", &zones),
        "2026-07-15T08:19:44Z"
    );
    // Spring, 2026-03-29: 02:00–03:00 local does not exist.
    assert_eq!(
        version_at("20260329", "015959", &zones),
        "2026-03-29T00:59:59Z"
    );
    assert_eq!(
        version_at("20260329", "023000", &zones),
        "2026-03-29T01:30:00Z"
    );
    assert_eq!(
        version_at("20260329", "030000", &zones),
        "2026-03-29T01:00:00Z"
    );
    // Autumn, 2026-10-25: 02:00–03:00 local happens twice.
    assert_eq!(
        version_at("20261025", "015959", &zones),
        "2026-10-24T23:59:59Z"
    );
    assert_eq!(
        version_at("20261025", "023000", &zones),
        "2026-10-25T00:30:00Z"
    );
    assert_eq!(
        version_at("20261025", "030000", &zones),
        "2026-10-25T02:00:00Z"
    );
    let other = SenderTimeZones::parse("ECCCLNT800=America/New_York").unwrap();
    assert_eq!(
        version_at("20261120", "101944", &other),
        "2026-11-20T10:19:44Z"
    );
    assert_eq!(
        version_at("20261120", "101944", &SenderTimeZones::utc()),
        "2026-11-20T10:19:44Z"
    );
}
