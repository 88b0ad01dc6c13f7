//! Incremental scanning with arbitrary growth, windows and stops equals a one-shot scan.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| logprobe::fuzzing::scan_incremental(data));
