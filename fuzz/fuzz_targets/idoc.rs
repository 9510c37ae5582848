//! Fuzzes the IDoc XML parser (and whatever else a plain record value can reach).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| hub_sap::fuzzing::idoc(data));
