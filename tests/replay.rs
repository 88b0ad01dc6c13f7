//! `logprobe replay`: what the probe would have done on logs already
//! written, run by run, with the kubelet's restarts and the crash-loop guard.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::util::{BIN, Env, STUCK, log_time};

/// A 7.x line at `secs` after the model's epoch (see [`log_time`]).
fn line_7x(secs: i64, level: &str, text: &str) -> String {
    format!("{}\t{level}\t[x]\tx.go:1\t{text}\n", log_time(secs))
}

const ONE_SHOT: &str = "add_kubernetes_metadata: could not detect kubernetes env";

/// `logprobe replay INPUT` with `text` on its standard input.
fn replay_piped(input: &str, text: &str) -> std::process::Output {
    let mut child = Command::new(BIN)
        .args(["replay", input])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn replay(e: &Env, args: &[&str]) -> crate::util::Run {
    let mut all = vec!["replay"];
    all.extend_from_slice(args);
    e.run(&all)
}

#[test]
fn the_examples() {
    let e = Env::new();
    let ex = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/logs");
    let dir = |d: &str| ex.join(d).display().to_string();
    replay(&e, &[&dir("healthy")])
        .expect(0)
        .stdout_has("replayed 9 lines (0 without a timestamp of their own) from 2026-11-26T09:00:00Z to 2026-11-26T09:06:01Z in 1 file: no restart");
    let r = replay(&e, &[&dir("stuck")]);
    r.expect(1)
        .stdout_has(&format!("2026-11-26T10:13:20Z  trip     \"{STUCK}\" kept coming for 10m0s (61 lines from 2026-11-26T10:03:11Z to 2026-11-26T10:13:11Z"))
        .stdout_has("2026-11-26T10:13:40Z  restart  #1 by the kubelet (3 failing runs in a row: ")
        .stdout_has("1 restart");
    assert_eq!(r.stdout.lines().count(), 3, "{r}");
    replay(&e, &[&dir("stalled")])
        .expect(1)
        .stdout_has("trip     silent stall: 4117 events waiting")
        .stdout_has("(3 failing runs in a row: the silent stall (--max-stall))");
    // The probe's timing: a longer period and threshold restart later.
    replay(
        &e,
        &[&dir("stuck"), "--period", "30s", "--failure-threshold", "5"],
    )
    .expect(1)
    .stdout_has("2026-11-26T10:13:30Z  trip")
    .stdout_has("2026-11-26T10:15:30Z  restart  #1 by the kubelet (5 failing runs in a row");
}

/// A start-up failure logged once an hour, at every start: three restarts,
/// then the guard holds it and `ready` would fail; without the guard, a
/// restart every hour.
#[test]
fn a_crash_loop_and_the_guard() {
    let e = Env::new();
    let mut log = String::new();
    for h in 0..6 {
        log.push_str(&line_7x(
            h * 3600,
            "ERROR",
            &format!("{ONE_SHOT}: no configuration"),
        ));
        log.push_str(&line_7x(h * 3600 + 5, "INFO", "harvester started"));
    }
    e.logs.append("filebeat", &log);
    let file = e.logs.file("filebeat").display().to_string();
    let r = replay(&e, &[&file]);
    r.expect(1)
        .stdout_has("restart  #3 by the kubelet")
        .stdout_has(&format!(
            "not ready  \"{ONE_SHOT}\" tripped each of the last 3 incarnations"
        ))
        .stdout_has(&format!("held     \"{ONE_SHOT}\" tripped again"))
        .stdout_has("3 restarts (")
        .stdout_has("the crash-loop guard held back 1 trip");
    assert!(!r.stdout.contains("restart  #4"), "{r}");
    replay(&e, &[&file, "--max-restarts", "0"])
        .expect(1)
        .stdout_has("restart  #6 by the kubelet")
        .stdout_has("6 restarts");
    // JSON: one object per event, then the summary.
    let r = replay(&e, &[&file, "--format", "json"]);
    let events: Vec<serde_json::Value> = r
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let kinds: Vec<&str> = events.iter().filter_map(|v| v["event"].as_str()).collect();
    assert_eq!(
        kinds,
        [
            "trip",
            "restart",
            "trip",
            "restart",
            "trip",
            "restart",
            "not_ready",
            "held"
        ],
        "{r}"
    );
    let summary = &events.last().unwrap()["summary"];
    assert_eq!(summary["restarts"], 3);
    assert_eq!(summary["held"], 1);
    assert_eq!(summary["lines"], 12);
}

#[test]
fn kubectl_logs_timestamps_pod_log_directories_and_standard_input() {
    let e = Env::new();
    // `kubectl logs --timestamps`: each line after the runtime's time.
    let mut kubectl = String::new();
    for i in 0..3 {
        let t = log_time(i * 60).replace(".000Z", ".123456789Z");
        kubectl.push_str(&format!("{t} {}", line_7x(i * 60, "INFO", "fine")));
    }
    let t = log_time(200).replace(".000Z", ".123456789Z");
    kubectl.push_str(&format!("{t} {}", line_7x(200, "ERROR", ONE_SHOT)));
    e.logs.append("kubectl.txt", &kubectl);
    let path = e.logs.file("kubectl.txt").display().to_string();
    replay(&e, &[&path])
        .expect(1)
        // Runs fall at the first line's time plus periods: the one at 10:03:20.12 sees it.
        .stdout_has(&format!("{}  trip", log_time(200).replace(".000Z", "Z")));
    // A pod-log directory: CRI records, the kubelet's rotated file first.
    let pods = e.root().join("pods/kube-system_filebeat-x_uid/filebeat");
    std::fs::create_dir_all(&pods).unwrap();
    let cri = |secs: i64, text: &str| {
        format!(
            "{} stderr F {text}\n",
            log_time(secs).replace(".000Z", ".000000001Z")
        )
    };
    std::fs::write(pods.join("0.log.20261126-100000"), cri(0, "starting")).unwrap();
    std::fs::write(
        pods.join("0.log"),
        cri(100, &line_7x(100, "ERROR", ONE_SHOT)),
    )
    .unwrap();
    std::fs::write(pods.join("0.log.20261125-100000.gz"), cri(50, ONE_SHOT)).unwrap();
    let r = replay(&e, &[&pods.display().to_string()]);
    r.expect(1).stdout_has("in 2 files");
    assert_eq!(r.stdout.matches("  trip ").count(), 1, "{r}");
    // Standard input.
    let out = replay_piped("-", &kubectl);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("in 1 file: 1 restart"));
}

#[test]
fn lines_without_a_timestamp_take_the_time_before_them() {
    let e = Env::new();
    let mut log = line_7x(0, "INFO", "starting");
    log.push_str(&format!("goroutine 1 [running]: {ONE_SHOT}\n"));
    log.push_str(&line_7x(600, "INFO", "later"));
    e.logs.append("filebeat", &log);
    let file = e.logs.file("filebeat").display().to_string();
    replay(&e, &[&file])
        .expect(1)
        .stdout_has("replayed 3 lines (1 without a timestamp of their own)")
        // Judged at the time of the line before it: seen by the first run.
        .stdout_has(&format!("{}  trip", log_time(10).replace(".000Z", "Z")));
}

#[test]
fn silence_restarts_when_asked_for() {
    let e = Env::new();
    let mut log = line_7x(0, "INFO", "a");
    log.push_str(&line_7x(30, "INFO", "b"));
    log.push_str(&line_7x(900, "INFO", "c"));
    e.logs.append("filebeat", &log);
    let file = e.logs.file("filebeat").display().to_string();
    replay(&e, &[&file]).expect(0).stdout_has("no restart");
    replay(&e, &[&file, "--max-silence", "5m"])
        .expect(1)
        .stdout_has(&format!(
            "{}  silent   no line since {}",
            log_time(340).replace(".000Z", "Z"),
            log_time(30).replace(".000Z", "Z")
        ))
        .stdout_has("(3 failing runs in a row: silence (--max-silence))");
}

#[test]
fn bad_input_is_named_in_one_line() {
    let e = Env::new();
    let r = replay(&e, &["/nonexistent/filebeat"]);
    r.expect(2).stderr_has("/nonexistent/filebeat: ");
    assert_eq!(r.stderr.lines().count(), 1, "{r}");
    let empty = e.root().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    replay(&e, &[empty.to_str().unwrap()])
        .expect(2)
        .stderr_has("no log file in");
    let file = e.logs.file("filebeat");
    std::fs::write(&file, line_7x(0, "INFO", "x")).unwrap();
    let f = file.display().to_string();
    replay(&e, &[&f, "--period", "0s"])
        .expect(2)
        .stderr_has("--period");
    replay(&e, &[&f, "--failure-threshold", "0"])
        .expect(2)
        .stderr_has("--failure-threshold");
    replay(&e, &[&f, "--max-restarts", "99"])
        .expect(2)
        .stderr_has("--max-restarts");
    e.run(&["replay"]).expect(2);
}

#[test]
fn inputs_that_overlap_in_time_far_off_timestamps_and_untimed_files() {
    let e = Env::new();
    // A retry loop an hour in, and a short second file from its first minute.
    let mut a = line_7x(0, "INFO", "start");
    for i in 0..=90 {
        a.push_str(&line_7x(3600 + i * 10, "ERROR", STUCK));
    }
    e.logs.append("a.log", &a);
    e.logs.append("b.log", line_7x(30, "INFO", "b"));
    let (fa, fb) = (
        e.logs.file("a.log").display().to_string(),
        e.logs.file("b.log").display().to_string(),
    );
    replay(&e, &[&fa, &fb]).expect(1).stdout_has(&format!(
        "to {} in 2 files: 1 restart",
        log_time(4500).replace(".000Z", "Z")
    ));
    // A line from 1970 before the real ones: no endless run of empty periods.
    let mut far = "1970-01-01T00:00:01.000Z\tINFO\t[x]\tx.go:1\tclock not set\n".to_string();
    far.push_str(&line_7x(0, "ERROR", ONE_SHOT));
    e.logs.append("far.log", &far);
    let f = e.logs.file("far.log").display().to_string();
    let r = replay(&e, &[&f]);
    r.expect(1).stdout_has("1 restart");
    assert!(r.elapsed.as_secs() < 10, "{r}");
    // With --max-silence every empty period counts: it stops, and says why.
    replay(&e, &[&f, "--max-silence", "2m"])
        .expect(1)
        .stdout_has("are some timestamps far off?");
    // A file without a single timestamp cannot be placed in time.
    e.logs.append("untimed.log", format!("worker: {STUCK}\n"));
    let u = e.logs.file("untimed.log").display().to_string();
    replay(&e, &[&u])
        .expect(2)
        .stderr_has("has a timestamp of its own");
    // A pipe given by name, like standard input.
    let out = replay_piped("/dev/stdin", &far);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
}
