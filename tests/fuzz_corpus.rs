//! Replays the committed fuzz corpus (`fuzz/corpus/<target>/*`) through the
//! same checks the fuzz targets run ([`crate::fuzz_properties`]), on stable
//! Rust, so every seed and every crash turned into a seed stays a regression
//! test.

use std::fs;
use std::path::Path;

use crate::fuzz_properties;

fn replay(target: &str, check: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut inputs: Vec<_> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    inputs.sort();
    assert!(!inputs.is_empty(), "{}: no corpus", dir.display());
    for p in &inputs {
        let data = fs::read(p).unwrap();
        if std::panic::catch_unwind(|| check(&data)).is_err() {
            panic!("{target}: {} fails", p.display());
        }
    }
    println!("{target}: {} inputs replayed", inputs.len());
}

#[test]
fn state_parse_corpus() {
    replay("state_parse", fuzz_properties::state_parse);
}

#[test]
fn scan_incremental_corpus() {
    replay("scan_incremental", fuzz_properties::scan_incremental);
}

#[test]
fn options_corpus() {
    replay("options", fuzz_properties::options);
}

#[test]
fn stall_report_corpus() {
    replay("stall_report", fuzz_properties::stall_report);
}
