//! Enrichment reads the object from S/4's OData V2 API; mapped with the event mappings, it must
//! give the very record the full event gives (issue 20's "enriched equals full").

use hub_model::{Op, Record};
use hub_sap::odata::{self, Mapped};
use hub_sap::samples::{self, odata_v2_entity};

/// The answer of a multi-key `$filter` read holding `entities`.
fn answer(entities: Vec<serde_json::Value>) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({"d": {"results": entities}})).unwrap()
}

fn only(entity: hub_model::Entity, property: &str, body: &[u8], key: &str) -> Mapped {
    let objects = odata::read(entity, property, body, 64).unwrap();
    let o = objects
        .into_iter()
        .find(|o| o.matched == key)
        .expect("the key is answered");
    o.record.unwrap()
}

#[test]
fn each_object_read_from_the_api_maps_to_the_full_events_record() {
    // Scenario: business partner, product and sales order, each read in a V2 answer beside
    // another object, map to the record (and key, and op) of the full event of the same data.
    let cases = [
        (samples::BUSINESS_PARTNER, "BusinessPartner", "100123"),
        (samples::PRODUCT_BINARY, "Product", "100234"),
        (samples::SALES_ORDER, "SalesOrder", "45002"),
    ];
    for (fixture, property, key) in cases {
        let full = samples::change_event(fixture);
        let mut other = odata_v2_entity(fixture);
        other[property] = serde_json::Value::String("999".into());
        let body = answer(vec![other, odata_v2_entity(fixture)]);
        let mapped = only(full.entity, property, &body, key);
        assert_eq!(mapped.key, full.key, "{property}");
        assert_eq!(mapped.op, full.op, "{property}");
        assert_eq!(Some(mapped.record), full.data, "{property}");
        assert!(mapped.last_change.is_some(), "{property}");
    }
}

#[test]
fn the_customer_role_adds_account_group_and_sales_areas() {
    // Scenario: A_BusinessPartner expanded with to_Customer/to_CustomerSalesArea gives the
    // customer's account group and sales areas with their partner functions.
    let mut bp = odata_v2_entity(samples::BUSINESS_PARTNER);
    bp["to_Customer"] = serde_json::json!({
        "Customer": "100123",
        "CustomerAccountGroup": "KUNA",
        "to_CustomerSalesArea": {"results": [{
            "SalesOrganization": "1000", "DistributionChannel": "10", "Division": "00",
            "Currency": "BRL", "CustomerPaymentTerms": "NT30", "ShippingCondition": "01",
            "to_PartnerFunction": {"results": [
                {"PartnerFunction": "WE", "BPCustomerNumber": "0000100123"}
            ]}
        }]}
    });
    let m = only(
        hub_model::Entity::Customer,
        "BusinessPartner",
        &answer(vec![bp]),
        "100123",
    );
    let Record::Customer(c) = m.record else {
        panic!()
    };
    assert_eq!(c.account_group.as_deref(), Some("KUNA"));
    assert_eq!(c.sales_areas.len(), 1);
    assert_eq!(c.sales_areas[0].payment_terms.as_deref(), Some("NT30"));
    assert_eq!(c.sales_areas[0].partners[0].partner, "100123");
    assert_eq!(m.op, Op::Upsert);
}

#[test]
fn a_bad_object_fails_alone_and_a_flagged_one_is_a_delete() {
    // Scenario: one product without its plant's key fails with the field's path; the other of
    // the same answer maps, and a product marked for deletion maps to a delete.
    let mut bad = odata_v2_entity(samples::PRODUCT_BINARY);
    bad["Product"] = "1".into();
    bad["to_Plant"]["results"][0]
        .as_object_mut()
        .unwrap()
        .remove("Plant");
    let mut flagged = odata_v2_entity(samples::PRODUCT_BINARY);
    flagged["IsMarkedForDeletion"] = true.into();
    let body = answer(vec![bad, flagged]);
    let objects = odata::read(hub_model::Entity::Material, "Product", &body, 64).unwrap();
    let e = objects[0].record.as_ref().unwrap_err();
    assert_eq!(e.path(), Some("data.to_Plant[0].Plant"));
    assert_eq!(objects[1].record.as_ref().unwrap().op, Op::Delete);
}
