//! The filebeat preset against real lines users posted (`../shared/samples`,
//! which CI and the project's developers have beside this folder).

use std::fs;
use std::path::Path;

use crate::util::{Env, skip};

/// Every line labelled `stuck` trips, none labelled benign in the broad sense does.
#[test]
fn preset_against_the_shared_samples() {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/samples");
    let labels = match fs::read_to_string(shared.join("labels.tsv")) {
        Ok(l) => l,
        Err(e) => {
            skip(
                "preset_against_the_shared_samples",
                &format!(
                    "{}/labels.tsv: {e} (../shared/samples is beside this folder only for CI and developers)",
                    shared.display()
                ),
            );
            return;
        }
    };
    let mut checked = (0, 0);
    for row in labels.lines().skip(1) {
        let cols: Vec<&str> = row.split('\t').collect();
        let (file, n, label, broad) =
            (cols[0], cols[1].parse::<usize>().unwrap(), cols[2], cols[3]);
        let text = fs::read(shared.join(file)).unwrap();
        let line = text.split(|&b| b == b'\n').nth(n - 1).unwrap();
        let e = Env::new();
        let name = if file.ends_with(".ndjson") {
            "filebeat-20261126.ndjson"
        } else {
            "filebeat"
        };
        let mut data = line.to_vec();
        data.push(b'\n');
        e.logs.append(name, &data);
        let r = e.check(&[]);
        if label == "stuck" {
            r.expect(1);
            checked.0 += 1;
        } else if broad == "benign" {
            r.expect(0);
            checked.1 += 1;
        }
    }
    assert!(checked.0 >= 3 && checked.1 >= 80, "{checked:?}");
}
