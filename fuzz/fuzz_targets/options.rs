//! Patterns files and argument vectors: no panic, one-line errors, valid configurations build.
#![no_main]

use libfuzzer_sys::fuzz_target;

// The properties are the integration tests' own, which replay the corpus.
#[allow(dead_code)]
#[path = "../../tests/fuzz_properties.rs"]
mod properties;

fuzz_target!(|data: &[u8]| properties::options(data));
