//! Entry points shared by the cargo-fuzz targets (`fuzz/`) and the test that replays their
//! corpus on stable Rust, so that CI exercises every corpus file without nightly.

use crate::{Envelope, Limits, parse_record};

/// Feeds bytes to the parser as a plain record value (the IDoc XML path, and the
/// structured-mode CloudEvent path for JSON).
pub fn idoc(data: &[u8]) {
    let _ = parse_record(&Envelope::value_only(data), &Limits::default());
}

/// The event types a binary-mode input is given, one per mapped S/4 object.
pub const BINARY_TYPES: [&str; 4] = [
    "sap.s4.beh.product.v1.Product.Changed.v1",
    "sap.s4.beh.businesspartner.v1.BusinessPartner.Changed.v1",
    "sap.s4.beh.salesorder.v1.SalesOrder.Changed.v1",
    "sap.s4.beh.supplier.v1.Supplier.Changed.v1",
];

/// Feeds bytes as a CloudEvent: the first byte chooses structured mode (even) or Kafka binary
/// mode (odd, with fixed `ce_*` headers and the type `BINARY_TYPES[(byte / 2) % 4]`: `0x01`
/// product, `0x03` business partner, `0x05` sales order, `0x07` supplier), the rest is the value.
pub fn cloudevent(data: &[u8]) {
    let Some((mode, value)) = data.split_first() else {
        return;
    };
    if mode % 2 == 0 {
        let _ = parse_record(&Envelope::value_only(value), &Limits::default());
        return;
    }
    let ty = BINARY_TYPES[usize::from(mode / 2) % BINARY_TYPES.len()];
    let headers = vec![
        ("ce_specversion".to_string(), b"1.0".to_vec()),
        ("ce_type".to_string(), ty.as_bytes().to_vec()),
        (
            "ce_source".to_string(),
            b"/default/sap.s4.beh/S4PCLNT100".to_vec(),
        ),
        ("ce_id".to_string(), b"fuzz".to_vec()),
        ("ce_time".to_string(), b"2026-11-20T10:30:44Z".to_vec()),
    ];
    let env = Envelope {
        topic: None,
        partition: None,
        offset: None,
        key: None,
        value,
        headers: &headers,
    };
    let _ = parse_record(&env, &Limits::default());
}
