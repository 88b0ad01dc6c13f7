//! The metrics report parser: no panic; readings as Filebeat's reports mean them.
#![no_main]

use libfuzzer_sys::fuzz_target;

// The properties are the integration tests' own, which replay the corpus.
#[allow(dead_code)]
#[path = "../../tests/fuzz_properties.rs"]
mod properties;

fuzz_target!(|data: &[u8]| properties::stall_report(data));
