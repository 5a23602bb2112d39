//! `stripe_signature`: see `saguaro_fuzz_targets::stripe_signature`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| saguaro_fuzz_targets::stripe_signature(data));
