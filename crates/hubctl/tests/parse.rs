//! `hubctl parse` as an operator uses it: JSON lines for a good payload, a typed error and a
//! non-zero exit for a bad one.

mod common;

use common::hubctl;
use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../hub-sap/fixtures")
        .join(name)
}

#[test]
fn an_idoc_prints_its_change_event() {
    // Scenario: the MATMAS05 fixture gives one JSON line, a material upsert, exit 0; the Kafka
    // coordinates given on the command line are in the event's source.
    let f = fixture("matmas05_pump.xml");
    let (code, lines) = hubctl(&[
        "parse",
        f.to_str().unwrap(),
        "--topic",
        "sap.idoc.matmas",
        "--partition",
        "1",
        "--offset",
        "99",
    ]);
    assert_eq!(code, 0);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["outcome"], "change");
    assert_eq!(lines[0]["entity"], "material");
    assert_eq!(lines[0]["key"], "100234");
    assert_eq!(lines[0]["source"]["topic"], "sap.idoc.matmas");
    assert_eq!(lines[0]["source"]["offset"], 99);
}

#[test]
fn a_cremas_prints_its_supplier_with_bank_details_as_published() {
    // Scenario: the CREMAS05 fixture gives one supplier upsert with the normalised key; the
    // printed event is what the bridge publishes, bank details included.
    let f = fixture("cremas05_supplier.xml");
    let (code, lines) = hubctl(&["parse", f.to_str().unwrap(), "--topic", "sap.idoc.cremas"]);
    assert_eq!(code, 0);
    assert_eq!(lines.len(), 1);
    assert_eq!(
        (&lines[0]["entity"], &lines[0]["key"], &lines[0]["op"]),
        (&"supplier".into(), &"300123".into(), &"upsert".into())
    );
    assert_eq!(lines[0]["schema"], "supplier.v1");
    assert_eq!(
        lines[0]["data"]["bank_details"][0]["iban"],
        "PT50003500010001234567805"
    );
    let f = fixture("cremas06_supplier_deleted.xml");
    let (code, lines) = hubctl(&["parse", f.to_str().unwrap()]);
    assert_eq!((code, lines[0]["op"].as_str()), (0, Some("delete")));
}

#[test]
fn a_binary_cloudevent_from_an_envelope_and_headers() {
    // Scenario: the binary-mode fixture read as an envelope, with a correlation header added.
    let f = fixture("s4_product_changed.binary.json");
    let (code, lines) = hubctl(&[
        "parse",
        f.to_str().unwrap(),
        "--envelope",
        "--header",
        "correlation_id=ops-1",
    ]);
    assert_eq!(code, 0);
    assert_eq!(lines[0]["entity"], "material");
    assert_eq!(lines[0]["correlation_id"], "ops-1");
}

#[test]
fn a_thin_event_is_reported_as_needing_enrichment() {
    // Scenario: the thin sales-order event is not an error: exit 0, outcome needs_enrichment.
    let f = fixture("s4_salesorder_created_thin.cloudevent.json");
    let (code, lines) = hubctl(&["parse", f.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert_eq!(lines[0]["outcome"], "needs_enrichment");
    assert_eq!(lines[0]["key"], "45002");
}

#[test]
fn a_bad_payload_prints_its_typed_error_and_fails() {
    // Scenario: a MATMAS with a bad number: exit 2 and one JSON line naming kind, class and
    // the field at fault.
    let text = std::fs::read_to_string(fixture("matmas05_pump.xml"))
        .unwrap()
        .replace("<BRGEW>12.500</BRGEW>", "<BRGEW>twelve</BRGEW>");
    let dir = std::env::temp_dir().join(format!("hubctl-parse-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.xml");
    std::fs::write(&bad, text).unwrap();
    let (code, lines) = hubctl(&["parse", bad.to_str().unwrap()]);
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(code, 2);
    assert_eq!(lines[0]["outcome"], "error");
    assert_eq!(lines[0]["kind"], "bad_number");
    assert_eq!(lines[0]["class"], "poison");
    assert_eq!(lines[0]["path"], "IDOC[0].E1MARAM.BRGEW");
}
