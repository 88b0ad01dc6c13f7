//! The state file parser: no panic; parse → serialise → parse gives the same state.
#![no_main]

use libfuzzer_sys::fuzz_target;

// The properties are the integration tests' own, which replay the corpus.
#[allow(dead_code)]
#[path = "../../tests/fuzz_properties.rs"]
mod properties;

fuzz_target!(|data: &[u8]| properties::state_parse(data));
