//! Patterns files and argument vectors: no panic, one-line errors, valid configurations build.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| logprobe::fuzzing::options(data));
