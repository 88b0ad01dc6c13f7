//! The silent-stall detector (`--max-stall`, on at 10m in the filebeat
//! preset; SPEC §3a) on Filebeat's metrics reports, in both layouts and in
//! pod logs: a stall of ten minutes trips, an output outage never does.

use crate::util::{Env, cri_at, log_time};

/// The metrics a report carries: events waiting, and the output's counters.
#[derive(Clone, Copy)]
enum M {
    /// Events waiting, nothing acked, failed or retried.
    Stalled,
    /// Events acked.
    Busy,
    /// Nothing waiting.
    Idle,
    /// Events waiting, the output failing (counters move).
    Failing,
    /// Events waiting, being retried.
    Retrying,
    /// A report without its numbers.
    Unreadable,
}

fn metrics(m: M) -> &'static str {
    match m {
        M::Stalled => {
            r#"{"beat":{"info":{"uptime":{"ms":840082}}},"libbeat":{"output":{"events":{"active":0},"write":{"bytes":0}},"pipeline":{"clients":1,"events":{"active":4117,"published":12}}},"registrar":{"states":{"current":4}}}"#
        }
        M::Busy => {
            r#"{"libbeat":{"output":{"events":{"acked":2048,"active":0,"batches":1,"total":2048}},"pipeline":{"clients":1,"events":{"active":117,"published":2048}}}}"#
        }
        M::Idle => {
            r#"{"libbeat":{"output":{"events":{"active":0}},"pipeline":{"clients":1,"events":{"active":0}}}}"#
        }
        M::Failing => {
            r#"{"libbeat":{"output":{"events":{"failed":2048,"batches":1}},"pipeline":{"clients":1,"events":{"active":4117}}}}"#
        }
        M::Retrying => {
            r#"{"libbeat":{"pipeline":{"clients":1,"events":{"active":4117,"retry":2048}}}}"#
        }
        M::Unreadable => "",
    }
}

/// A report in the 7.x text layout at `secs`.
fn report_7x(secs: i64, m: M) -> String {
    let tail = match m {
        M::Unreadable => String::new(),
        m => format!("\t{{\"monitoring\": {{\"metrics\": {}}}}}", metrics(m)),
    };
    format!(
        "{}\tINFO\t[monitoring]\tlog/log.go:184\tNon-zero metrics in the last 30s{tail}\n",
        log_time(secs)
    )
}

/// A report in the 8.x ndjson layout at `secs`.
fn report_8x(secs: i64, m: M) -> String {
    let tail = match m {
        M::Unreadable => String::new(),
        m => format!(
            ",\"monitoring\":{{\"metrics\":{},\"ecs.version\":\"1.6.0\"}}",
            metrics(m)
        ),
    };
    format!(
        "{{\"log.level\":\"info\",\"@timestamp\":\"{}\",\"log.logger\":\"monitoring\",\"log.origin\":{{\"file.name\":\"log/log.go\",\"file.line\":187}},\"message\":\"Non-zero metrics in the last 30s\",\"service.name\":\"filebeat\"{tail}}}\n",
        log_time(secs)
    )
}

/// An output that is down says so (8.x layout).
fn connect_failed(secs: i64) -> String {
    format!(
        "{{\"log.level\":\"error\",\"@timestamp\":\"{}\",\"log.logger\":\"publisher_pipeline_output\",\"message\":\"Failed to connect to backoff(async(tcp://logstash:5044)): dial tcp 10.1.2.3:5044: i/o timeout\",\"service.name\":\"filebeat\"}}\n",
        log_time(secs)
    )
}

/// The reports of a sequence, one every 30 s from `from`.
fn every_30s(from: i64, ms: &[M]) -> Vec<(i64, M)> {
    ms.iter()
        .enumerate()
        .map(|(i, &m)| (from + 30 * i as i64, m))
        .collect()
}

/// Writes each report to the filebeat log (7.x or 8.x), running the preset
/// after each; returns the exit of every run.
fn probe_each(e: &Env, layout: u8, reports: &[(i64, M)]) -> Vec<i32> {
    let (name, make): (&str, fn(i64, M) -> String) = match layout {
        7 => ("filebeat", report_7x),
        _ => ("filebeat-20261126.ndjson", report_8x),
    };
    reports
        .iter()
        .map(|&(t, m)| {
            e.logs.append(name, make(t, m));
            e.preset_check(&[]).code()
        })
        .collect()
}

fn stalled(n: usize) -> Vec<M> {
    vec![M::Stalled; n]
}

#[test]
fn ten_minutes_of_stalled_reports_trip_in_both_layouts() {
    for layout in [7, 8] {
        let e = Env::new();
        let exits = probe_each(&e, layout, &every_30s(0, &stalled(21)));
        assert_eq!(exits[..20], [0; 20], "layout {layout}: {exits:?}");
        assert_eq!(exits[20], 1, "layout {layout}: {exits:?}");
        let j = e.preset_check(&["--format", "json"]).json();
        assert_eq!(j["status"], "unhealthy");
        let m = j["message"].as_str().unwrap();
        assert!(
            m.starts_with("UNHEALTHY: silent stall: 4117 events waiting, none acked, no output errors, 21 metrics reports from 2026-11-26T10:00:00Z to 2026-11-26T10:10:00Z (--max-stall 10m0s); the last in "),
            "{m}"
        );
        assert!(m.len() < 1024);
        assert_eq!(j["match"]["evidence"]["rule"], "stall");
        assert_eq!(j["match"]["evidence"]["reports"], 21);
    }
}

#[test]
fn the_stall_so_far_survives_between_runs_and_is_reported() {
    let e = Env::new();
    probe_each(&e, 8, &every_30s(0, &stalled(11)));
    e.preset_check(&[])
        .expect(0)
        .stdout_has("HEALTHY: metrics reports stalled for 5m0s of 10m0s so far (11 reports)");
    let st = e.state_json();
    assert_eq!(st["stall"]["reports"], 11, "{st}");
}

#[test]
fn an_output_that_fails_loudly_is_an_outage_not_a_stall() {
    let e = Env::new();
    // Half an hour of stalled reports, each followed by a failed connect.
    for (t, m) in every_30s(0, &stalled(61)) {
        e.logs.append("filebeat-20261126.ndjson", report_8x(t, m));
        e.logs
            .append("filebeat-20261126.ndjson", connect_failed(t + 5));
        e.preset_check(&[]).expect(0);
    }
    // Failures or retries in the reports themselves: not silent either.
    for m in [M::Failing, M::Retrying] {
        let e = Env::new();
        let exits = probe_each(&e, 7, &every_30s(0, &[m; 41]));
        assert!(exits.iter().all(|&c| c == 0), "{exits:?}");
    }
}

#[test]
fn busy_idle_short_stalls_and_unreadable_reports_never_trip() {
    let mut seqs: Vec<Vec<M>> = vec![
        vec![M::Busy; 41],
        vec![M::Idle; 41],
        vec![M::Unreadable; 41],
    ];
    // Short stalls between healthy reports.
    seqs.push(
        [
            stalled(10),
            vec![M::Busy],
            stalled(10),
            vec![M::Idle],
            stalled(19),
        ]
        .concat(),
    );
    // A healthy report in the middle of 21 stalled ones.
    let mut middle = stalled(21);
    middle[10] = M::Busy;
    seqs.push(middle.clone());
    // An unreadable one there too.
    middle[10] = M::Unreadable;
    seqs.push(middle);
    for (i, seq) in seqs.iter().enumerate() {
        for layout in [7, 8] {
            let e = Env::new();
            let exits = probe_each(&e, layout, &every_30s(0, seq));
            assert!(
                exits.iter().all(|&c| c == 0),
                "sequence {i}, layout {layout}: {exits:?}"
            );
        }
    }
    // After a healthy report, ten minutes of stalled ones from there trip.
    let e = Env::new();
    let seq = [stalled(10), vec![M::Busy], stalled(21)].concat();
    let exits = probe_each(&e, 8, &every_30s(0, &seq));
    assert_eq!(exits.iter().position(|&c| c == 1), Some(31), "{exits:?}");
}

#[test]
fn off_disables_it() {
    let e = Env::new();
    let reports = every_30s(0, &stalled(41));
    for (t, m) in reports {
        e.logs.append("filebeat", report_7x(t, m));
    }
    e.preset_check(&["--max-stall", "off"]).expect(0);
    e.preset_check(&["--max-stall", "5"])
        .expect(2)
        .stderr_has("--max-stall:");
}

#[test]
fn stalled_reports_in_pod_logs_trip_too() {
    let e = Env::node(true);
    let args = ["--format", "json"];
    for (i, (t, m)) in every_30s(0, &stalled(21)).into_iter().enumerate() {
        // The kubelet's record time is when the line was written, like the line's own.
        e.pods.append(
            "0.log",
            cri_at(t, "stderr", "F", report_8x(t, m).trim_end()),
        );
        let j = e.run(&args).json();
        let want = if i == 20 { "unhealthy" } else { "healthy" };
        assert_eq!(j["status"], want, "report {i}: {j}");
    }
}
