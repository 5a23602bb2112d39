//! `queue_message`: see `saguaro_fuzz_targets::queue_message`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| saguaro_fuzz_targets::queue_message(data));
