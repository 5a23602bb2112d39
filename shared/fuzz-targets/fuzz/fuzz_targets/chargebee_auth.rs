//! `chargebee_auth`: see `saguaro_fuzz_targets::chargebee_auth`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| saguaro_fuzz_targets::chargebee_auth(data));
