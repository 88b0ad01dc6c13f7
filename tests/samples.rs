//! The filebeat preset against real lines users posted (`../shared/samples`,
//! which CI and the project's developers have beside this folder).

use std::fs;
use std::path::Path;

use crate::util::{Env, skip};

/// A labelled line: (file, the line, label, broad label).
type Sample = (String, Vec<u8>, String, String);

/// The labelled lines of `../shared/samples`.
fn samples() -> Option<Vec<Sample>> {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/samples");
    let labels = match fs::read_to_string(shared.join("labels.tsv")) {
        Ok(l) => l,
        Err(e) => {
            skip(
                "the shared samples",
                &format!(
                    "{}/labels.tsv: {e} (../shared/samples is beside this folder only for CI and developers)",
                    shared.display()
                ),
            );
            return None;
        }
    };
    let rows = labels
        .lines()
        .skip(1)
        .map(|row| {
            let cols: Vec<&str> = row.split('\t').collect();
            let n = cols[1].parse::<usize>().unwrap();
            let text = fs::read(shared.join(cols[0])).unwrap();
            let line = text.split(|&b| b == b'\n').nth(n - 1).unwrap().to_vec();
            (
                cols[0].to_string(),
                line,
                cols[2].to_string(),
                cols[3].to_string(),
            )
        })
        .collect();
    Some(rows)
}

fn log_name(file: &str) -> &'static str {
    if file.ends_with(".ndjson") {
        "filebeat-20261126.ndjson"
    } else {
        "filebeat"
    }
}

/// The filebeat preset itself on these logs (its rules, the stall detector on).
fn preset_check(e: &Env) -> crate::util::Run {
    let logs = e.preset_log_args();
    let args: Vec<&str> = logs.iter().map(String::as_str).collect();
    e.run(&args)
}

/// The line with its leading time replaced by `time`.
fn at_time(line: &[u8], time: &str) -> Vec<u8> {
    let end = line.iter().position(|&b| b == b'\t' || b == b' ').unwrap();
    let mut v = time.as_bytes().to_vec();
    v.extend_from_slice(&line[end..]);
    v.push(b'\n');
    v
}

/// A fresh environment whose log holds `line`, in the file its layout names.
fn with_line(file: &str, line: &[u8]) -> Env {
    let e = Env::new();
    let mut data = line.to_vec();
    data.push(b'\n');
    e.logs.append(log_name(file), &data);
    e
}

/// Every line labelled `stuck` trips the classic one-line rule; none
/// labelled benign in the broad sense does.
#[test]
fn the_stuck_message_against_the_shared_samples() {
    let Some(rows) = samples() else {
        return;
    };
    let mut checked = (0, 0);
    for (file, line, label, broad) in &rows {
        let e = with_line(file, line);
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

/// With the filebeat preset's rules: no benign line trips; a stuck line
/// alone does not (churn), but the same line every 10 s for 10 minutes does.
#[test]
fn the_preset_against_the_shared_samples() {
    let Some(rows) = samples() else {
        return;
    };
    let mut checked = (0, 0);
    for (file, line, label, broad) in &rows {
        let e = with_line(file, line);
        if broad == "benign" {
            preset_check(&e).expect(0);
            checked.1 += 1;
        }
        if label != "stuck" {
            continue;
        }
        preset_check(&e).expect(0);
        let e = Env::new();
        for i in 0..=60 {
            let t = format!("2026-11-26T10:{:02}:{:02}.000Z", i / 6, i % 6 * 10);
            e.logs.append(log_name(file), at_time(line, &t));
            let r = preset_check(&e);
            if i < 60 {
                r.expect(0);
            } else {
                r.expect(1).stdout_has("kept coming for 10m0s (61 lines from 2026-11-26T10:00:00Z to 2026-11-26T10:10:00Z, persist 10m0s)");
            }
        }
        checked.0 += 1;
    }
    assert!(checked.0 >= 3 && checked.1 >= 80, "{checked:?}");
}
