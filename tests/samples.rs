//! The filebeat preset against real lines users posted (`../shared/samples`,
//! which CI and the project's developers have beside this folder).

use crate::util::{Env, at_time, sample_log_name, samples};

/// The filebeat preset itself on these logs (its rules, the stall detector on).
fn preset_check(e: &Env) -> crate::util::Run {
    let logs = e.preset_log_args();
    let args: Vec<&str> = logs.iter().map(String::as_str).collect();
    e.run(&args)
}

/// A fresh environment whose log holds `line`, in the file its layout names.
fn with_line(file: &str, line: &[u8]) -> Env {
    let e = Env::new();
    let mut data = line.to_vec();
    data.push(b'\n');
    e.logs.append(sample_log_name(file), &data);
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
            e.logs.append(sample_log_name(file), at_time(line, &t));
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
