//! `events_body`: see `saguaro_fuzz_targets::events_body`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| saguaro_fuzz_targets::events_body(data));
