//! Fuzzes the CloudEvent parser, structured and Kafka binary mode.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| hub_sap::fuzzing::cloudevent(data));
