//! The state file parser: no panic; parse → serialise → parse gives the same state.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| logprobe::fuzzing::state_parse(data));
