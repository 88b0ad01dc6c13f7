//! The filebeat preset's rules on today's Filebeat (SPEC §3a): the
//! not-finished retry loop trips only when it persists, the one-shot
//! Kubernetes start-up failures trip at once, the look-alikes never do; rules
//! in patterns files, and `logprobe preset show`.

use std::fs;
use std::process::Command;

use crate::util::{BIN, Env, STUCK, log_time, s};

/// Filebeat 8.x's ndjson line at `secs` (see [`log_time`]).
fn ndjson(secs: i64, level: &str, logger: &str, message: &str) -> String {
    format!(
        "{{\"log.level\":\"{level}\",\"@timestamp\":\"{}\",\"log.logger\":\"{logger}\",\"log.origin\":{{\"file.name\":\"cfgfile/list.go\",\"file.line\":139}},\"message\":\"{message}\",\"service.name\":\"filebeat\",\"ecs.version\":\"1.6.0\"}}\n",
        log_time(secs)
    )
}

/// The 8.x module-path form of the not-finished error (ERROR on 8.x).
fn not_finished(secs: i64) -> String {
    ndjson(
        secs,
        "error",
        "reload",
        &format!(
            "Error creating runner from config: failed to create input: {STUCK}: {{Id: native::1308836-2049, Finished: false}}"
        ),
    )
}

const LOG: &str = "filebeat-20261126.ndjson";

/// Writes the retry loop every 10 s from `from` to `to` (seconds), running
/// the preset after each minute of log time; returns the exits.
fn loop_with_runs(e: &Env, from: i64, to: i64) -> Vec<i32> {
    let mut exits = Vec::new();
    for t in (from..=to).step_by(10) {
        e.logs.append(LOG, not_finished(t));
        if (t - from) % 60 == 0 || t == to {
            exits.push(e.preset_check(&[]).code());
        }
    }
    exits
}

#[test]
fn a_retry_loop_trips_once_it_has_gone_on_for_ten_minutes_and_stays_tripped() {
    let e = Env::new();
    let exits = loop_with_runs(&e, 0, 590);
    assert!(
        exits.iter().all(|&c| c == 0),
        "tripped before 10 minutes: {exits:?}"
    );
    e.preset_check(&[])
        .expect(0)
        .stdout_has("has kept coming for 9m50s of 10m0s so far");
    e.logs.append(LOG, not_finished(600));
    let r = e.preset_check(&[]);
    r.expect(1).stdout_has(&format!(
        "UNHEALTHY: \"{STUCK}\" kept coming for 10m0s (61 lines from 2026-11-26T10:00:00Z to 2026-11-26T10:10:00Z, persist 10m0s); last in "
    ));
    // Sticky: the loop may stop, the verdict stays for the incarnation.
    e.logs
        .append(LOG, ndjson(700, "info", "monitoring", "all good"));
    let again = e.preset_check(&["--format", "json"]).json();
    assert_eq!(again["status"], "unhealthy");
    assert_eq!(again["match"]["evidence"]["rule"], "persist");
    assert_eq!(again["match"]["count"], 61);
}

#[test]
fn a_hole_in_the_retry_loop_starts_it_again() {
    let e = Env::new();
    // Five minutes, a six-minute hole, five minutes: two bursts, no trip.
    let mut exits = loop_with_runs(&e, 0, 300);
    exits.extend(loop_with_runs(&e, 660, 960));
    assert!(exits.iter().all(|&c| c == 0), "{exits:?}");
    // The second burst goes on to ten minutes of its own: it trips.
    let exits = loop_with_runs(&e, 970, 1260);
    assert_eq!(exits.last(), Some(&1), "{exits:?}");
    assert!(
        exits[..exits.len() - 1].iter().all(|&c| c == 0),
        "{exits:?}"
    );
}

#[test]
fn one_shot_start_up_failures_trip_at_once() {
    for (logger, message) in [
        (
            "kubernetes",
            "add_kubernetes_metadata: could not detect kubernetes env: unable to build kube config due to error: invalid configuration",
        ),
        (
            "kubernetes",
            "Couldn't discover Kubernetes node: failed to get node name: dial tcp 10.0.0.1:443: i/o timeout",
        ),
        (
            "autodiscover",
            "Error starting kubernetes autodiscover provider: couldn't get kubernetes client: dial tcp 10.0.0.1:443: connect: connection refused",
        ),
    ] {
        let e = Env::new();
        e.logs.append(LOG, ndjson(0, "error", logger, message));
        let j = e.preset_check(&["--format", "json"]).json();
        assert_eq!(j["status"], "unhealthy", "{message}: {j}");
        assert_eq!(j["match"]["evidence"]["rule"], "count", "{j}");
    }
}

#[test]
fn look_alikes_never_trip_however_often_they_come() {
    // Configuration errors, noise, capacity and outputs that are down: a
    // restart cures none of them (../shared/filebeat-facts.md).
    let look_alikes = [
        (
            "error",
            "input",
            "filestream input with ID 'kube-logs' already exists, this will lead to data duplication, please use a different ID",
        ),
        (
            "error",
            "input",
            "State for  should have been dropped, but couldn't as state is not finished.",
        ),
        (
            "error",
            "input",
            "Harvester could not be started on new file: /var/log/a.log, Err: error setting up harvester: Harvester setup failed. Unexpected file opening error: open /var/log/a.log: too many open files",
        ),
        (
            "error",
            "input",
            "cannot create a file descriptor for an ingest target",
        ),
        (
            "error",
            "reload",
            "Error creating runner from config: each input must have at least one path defined",
        ),
        (
            "warn",
            "input",
            "filestream input without ID is discouraged, please add an ID and restart Filebeat",
        ),
        (
            "error",
            "publisher_pipeline_output",
            "Failed to connect to backoff(async(tcp://logstash:5044)): dial tcp 10.1.2.3:5044: connect: connection refused",
        ),
        (
            "info",
            "publisher_pipeline_output",
            "Attempting to reconnect to backoff(async(tcp://logstash:5044)) with 12 reconnect attempt(s)",
        ),
        (
            "error",
            "logstash",
            "Failed to publish events caused by: read tcp 10.0.0.5:51234->10.1.2.3:5044: i/o timeout",
        ),
        (
            "error",
            "elasticsearch",
            "failed to publish events: 429 Too Many Requests",
        ),
    ];
    let e = Env::new();
    for t in (0..=1800).step_by(10) {
        for (level, logger, message) in look_alikes {
            e.logs.append(LOG, ndjson(t, level, logger, message));
        }
        if t % 300 == 0 {
            e.preset_check(&[]).expect(0);
        }
    }
    e.preset_check(&[])
        .expect(0)
        .stdout_has("HEALTHY: no match in ");
}

#[test]
fn rules_in_a_patterns_file_and_bad_options_named_by_file_and_line() {
    let e = Env::new();
    let file = e.root().join("rules.txt");
    fs::write(
        &file,
        "# two kinds of rules\n[threshold=2 window=1m] flaky thing\n[persist=30s gap=10s] retrying\n",
    )
    .unwrap();
    let args = ["--preset", "none", "-f", s(&file)];
    let logs = e.preset_log_args();
    let run = |extra: &[&str]| {
        let mut a: Vec<&str> = args.to_vec();
        a.extend(logs.iter().map(String::as_str));
        a.extend_from_slice(extra);
        e.run(&a)
    };
    let line = |t: i64, what: &str| format!("{}\tWARN\t{what}\n", log_time(t));
    e.logs.append("filebeat", line(0, "flaky thing"));
    e.logs.append("filebeat", line(100, "flaky thing")); // outside its window
    run(&[]).expect(0);
    for t in (100..=125).step_by(5) {
        e.logs.append("filebeat", line(t, "retrying"));
    }
    // The threshold rule's line is the progress shown; the run is in the state.
    run(&[])
        .expect(0)
        .stdout_has("HEALTHY: 1 of 2 matching lines within 1m0s so far");
    let runs = &e.state_json()["runs"];
    assert_eq!(
        (runs[0]["lines"].as_u64(), runs[0]["rule"].as_u64()),
        (Some(6), Some(1)),
        "{runs}"
    );
    e.logs.append("filebeat", line(130, "retrying"));
    run(&[])
        .expect(1)
        .stdout_has("\"retrying\" kept coming for 30s (7 lines from ");

    for (bad, why) in [
        ("[treshold=3] x\n", "2: unknown option \"treshold\""),
        (
            "[persist=5m threshold=2] x\n",
            "2: persist cannot go with threshold or window",
        ),
        ("[gap=1m] x\n", "2: gap goes with persist"),
        ("[window=5] x\n", "2: window:"),
    ] {
        fs::write(&file, format!("# a comment\n{bad}")).unwrap();
        let r = run(&[]);
        r.expect(2).stderr_has(&format!(
            "logprobe: --patterns-file: {}:{why}",
            file.display()
        ));
        assert_eq!(r.stderr.lines().count(), 1, "{r}");
    }
}

#[test]
fn preset_show_prints_rules_a_user_can_copy() {
    let e = Env::new();
    let show = |name: &str| {
        let mut cmd = Command::new(BIN);
        cmd.args(["preset", "show", name]);
        e.exec(cmd)
    };
    let shown = show("filebeat");
    shown.expect(0);
    let text = shown.stdout.clone();
    for want in [
        "[persist=10m0s gap=2m0s] Can only start an input when all related states are finished",
        "add_kubernetes_metadata: could not detect kubernetes env",
        "Couldn't discover Kubernetes node",
        "Error starting kubernetes autodiscover provider",
        "--max-stall 10m",
        "Sources: elastic/beats #11834",
        "/usr/share/filebeat/logs/filebeat-*",
    ] {
        assert!(text.contains(want), "{want:?} missing from:\n{text}");
    }
    // Copied into a file and passed with --preset none, the rules behave alike.
    let file = e.root().join("copied.txt");
    fs::write(&file, &text).unwrap();
    let logs = e.preset_log_args();
    let mut args = vec!["--preset", "none", "-f", s(&file), "--max-stall", "10m"];
    args.extend(logs.iter().map(String::as_str));
    for t in (0..=590).step_by(10) {
        e.logs.append(LOG, not_finished(t));
    }
    e.run(&args).expect(0);
    e.logs.append(LOG, not_finished(600));
    e.run(&args).expect(1).stdout_has("kept coming for 10m0s");
    show("none")
        .expect(0)
        .stdout_has("No paths: give --log or --pod-logs.");
}
