//! `program_file`: see `saguaro_fuzz_targets::program_file`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| saguaro_fuzz_targets::program_file(data));
