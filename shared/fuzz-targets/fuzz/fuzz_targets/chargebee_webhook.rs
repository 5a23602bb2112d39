//! `chargebee_webhook`: see `saguaro_fuzz_targets::chargebee_webhook`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| saguaro_fuzz_targets::chargebee_webhook(data));
