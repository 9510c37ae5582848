//! Fuzzes the redrive's console input: any bytes as the JSON an operator types into the
//! dlq-redrive function's test event (`{"older_than":"99999999999999d"}` once panicked).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| hub_redrive::request::fuzz(data));
