//! `logprobe replay` against what repeated `check` runs over the same lines
//! give (issue #15).
//!
//! - [`replay_agrees_with_repeated_checks`]: a property test. Generated
//!   Filebeat logs (7.x text and 8.x ndjson lines with their own times, at
//!   increasing times with random gaps: benign lines and look-alikes, the
//!   preset's one-shot failures, the "not finished" retry loop going on past
//!   10 minutes or broken by holes, metrics reports stalled or moving, output
//!   errors) are replayed whole, and the same lines are fed to
//!   [`check::check_at`] in-process as a kubelet would: before each simulated
//!   run at time R the lines timed up to R are appended, the run judges with
//!   `now` = R and `--since` = the incarnation's start, and after
//!   `--failure-threshold` failing runs in a row the container restarts (a
//!   new `--since` = R; the file keeps growing). The state file carries the
//!   crash-loop guard's history from one incarnation to the next, as the
//!   `emptyDir` of deploy/ does. Both sides must give the same trips,
//!   restarts and held trips at the same simulated times (whole seconds), on
//!   the same rule and line. The cases vary the period (10 s, 30 s), the
//!   failure threshold (1 to 3), `--max-restarts` (0 to 3) and
//!   `--max-silence` (off, 1m, 5m); in some the replay reads what `kubectl
//!   logs --timestamps` prints of the same lines instead.
//!   Only lines with their own times are generated: `check` times a line
//!   without one by the run that first sees it, `replay` by the line before
//!   it, by design. Every case spans at most a few hours of log time, so
//!   the guard's "an hour without a trip" is reached only now and then.
//! - [`the_shared_samples_replay_as_check_judges_them`]: the real lines of
//!   `../shared/samples`, as `tests/samples.rs` checks them with `check`.
//! - [`a_100_mib_log_in_bounded_memory`]: a 100 MiB 7.x log with one
//!   one-shot failure near its end, replayed in bounded memory; the same
//!   with a metrics report every 30 s is ignored for now (replay keeps
//!   every report's line, see
//!   [`a_100_mib_log_with_metrics_reports_in_bounded_memory`]).
//!
//! `LOGPROBE_PROPTEST_CASES=5000 cargo test --release --test integration replay_model::`
//! runs a long mode.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::{Duration, Instant, UNIX_EPOCH};

use logprobe::check;
use logprobe::cli::{CheckArgs, RuleArgs};
use logprobe::config::Config;
use logprobe::report::rule_label;
use logprobe::state::Evidence;
use logprobe::timefmt::format_rfc3339;
use logprobe::verdict::Status;
use proptest::prelude::*;
use proptest::test_runner::{TestCaseError, TestRunner};
use serde_json::Value;

use crate::util::{
    Env, STUCK, at_ns, at_time, proptest_config, sample_log_name, samples, set_mtime,
};

const S: i64 = 1_000_000_000;
const MS: i64 = 1_000_000;
/// 2026-11-26T10:00:00Z in ns.
const T0: i64 = 1_795_687_200 * S;

/// How `replay` names the silent stall in its trip events.
const STALL_RULE: &str = "silent stall";
/// How `replay` names the silence in its restart events.
const SILENCE_RULE: &str = "silence (--max-silence)";

// ---------------------------------------------------------------------------
// Lines Filebeat writes, at a given time

/// RFC 3339 with milliseconds, as Filebeat writes a line's time.
fn stamp(ns: i64) -> String {
    let s = format_rfc3339(ns);
    format!("{}.{:03}Z", &s[..s.len() - 1], ns.rem_euclid(S) / MS)
}

/// What `kubectl logs --timestamps` puts before a line: the runtime's time,
/// to the nanosecond (here the line's own time), and a space.
fn kubectl_prefix(ns: i64) -> String {
    let s = format_rfc3339(ns);
    format!("{}.{:09}Z ", &s[..s.len() - 1], ns.rem_euclid(S))
}

/// A 7.x text line (without its newline).
fn line_7x(ns: i64, level: &str, logger: &str, origin: &str, message: &str, tail: &str) -> String {
    format!(
        "{}\t{level}\t[{logger}]\t{origin}\t{message}{tail}",
        stamp(ns)
    )
}

/// An 8.x ndjson line (without its newline); `extra` goes after the last field.
fn line_8x(ns: i64, level: &str, logger: &str, origin: &str, message: &str, extra: &str) -> String {
    let (file, line) = origin.split_once(':').unwrap_or((origin, "1"));
    format!(
        "{{\"log.level\":\"{}\",\"@timestamp\":\"{}\",\"log.logger\":\"{logger}\",\"log.origin\":{{\"file.name\":\"{file}\",\"file.line\":{line}}},\"message\":\"{message}\",\"service.name\":\"filebeat\",\"ecs.version\":\"1.6.0\"{extra}}}",
        level.to_ascii_lowercase(),
        stamp(ns)
    )
}

fn line(v8: bool, ns: i64, level: &str, logger: &str, origin: &str, message: &str) -> String {
    if v8 {
        line_8x(ns, level, logger, origin, message, "")
    } else {
        line_7x(ns, level, logger, origin, message, "")
    }
}

/// Benign lines, look-alikes among them (an `Error creating runner from
/// config` with another cause, a state that is not finished, a Kubernetes
/// environment that was detected, an API watch error).
fn benign(v8: bool, ns: i64, which: u8, i: usize) -> String {
    let file = format!("/var/log/containers/web-{i}_default_web-0a1b.log");
    let (level, logger, origin, message) = match which % 6 {
        0 => (
            "INFO",
            "input.harvester",
            "log/harvester.go:309",
            format!("Harvester started for file: {file}"),
        ),
        1 => (
            "INFO",
            "input.harvester",
            "log/harvester.go:336",
            format!("File is inactive: {file}. Closing because close_inactive of 5m0s reached."),
        ),
        2 => (
            "ERROR",
            "autodiscover",
            "cfgfile/list.go:96",
            "Error creating runner from config: filestream input with ID 'k8s-logs' already exists, this will lead to data duplication, please use a different ID".into(),
        ),
        3 => (
            "DEBUG",
            "input",
            "log/input.go:512",
            format!("Harvester for file is still running: {file}, state is not finished"),
        ),
        4 => (
            "INFO",
            "kubernetes",
            "add_kubernetes_metadata/kubernetes.go:71",
            "add_kubernetes_metadata: kubernetes env detected, with version: v1.29.4".into(),
        ),
        _ => (
            "ERROR",
            "kubernetes",
            "kubernetes/watcher.go:258",
            "kubernetes: Watching API error EOF".into(),
        ),
    };
    line(v8, ns, level, logger, origin, &message)
}

/// One of the preset's one-shot start-up failures, as Filebeat logs it.
fn one_shot(v8: bool, ns: i64, which: u8) -> String {
    let (level, logger, origin, message) = match which % 3 {
        0 => (
            "ERROR",
            "kubernetes",
            "add_kubernetes_metadata/kubernetes.go:71",
            "add_kubernetes_metadata: could not detect kubernetes env: unable to build kube config due to error: invalid configuration: no configuration has been provided",
        ),
        1 => (
            "ERROR",
            "kubernetes",
            "add_kubernetes_metadata/matchers.go:91",
            "Couldn't discover Kubernetes node due to error can't get node filebeat-x7k2p: nodes is forbidden",
        ),
        _ => (
            "ERROR",
            "autodiscover",
            "autodiscover/autodiscover.go:104",
            "Error starting kubernetes autodiscover provider: timed out waiting for caches to sync",
        ),
    };
    line(v8, ns, level, logger, origin, message)
}

/// The "not finished" error in one of its wrappings.
fn stuck(v8: bool, ns: i64, wrap: u8) -> String {
    let (logger, origin, message) = match wrap % 3 {
        0 => (
            "autodiscover",
            "cfgfile/list.go:96",
            format!(
                "Error creating runner from config: {STUCK}: {{Id: native::1308836-2049, Finished: false, Source: /var/log/containers/web-0_default_web-0a1b.log, Offset: 0, TTL: -1ns, Type: container}}"
            ),
        ),
        1 => (
            "input",
            "fileset/factory.go:105",
            format!(
                "Error creating input: {STUCK}: {{Id:15629-2048 Finished:false Source:/var/log/secure}}"
            ),
        ),
        _ => (
            "input",
            "input/input.go:140",
            format!("failed to create input: {STUCK}"),
        ),
    };
    line(v8, ns, "ERROR", logger, origin, &message)
}

/// A metrics report's metrics: 0 stalled (events wait, nothing acked,
/// failed or retried), 1 acked, 2 nothing waiting, 3 failing, 4 retrying;
/// else a report without its numbers.
fn metrics(reading: u8) -> Option<&'static str> {
    Some(match reading {
        0 => {
            r#"{"beat":{"info":{"uptime":{"ms":840082}}},"libbeat":{"output":{"events":{"active":0},"write":{"bytes":0}},"pipeline":{"clients":1,"events":{"active":4117,"published":12}}},"registrar":{"states":{"current":4}}}"#
        }
        1 => {
            r#"{"libbeat":{"output":{"events":{"acked":2048,"active":0,"batches":1,"total":2048}},"pipeline":{"clients":1,"events":{"active":117,"published":2048}}}}"#
        }
        2 => {
            r#"{"libbeat":{"output":{"events":{"active":0}},"pipeline":{"clients":1,"events":{"active":0}}}}"#
        }
        3 => {
            r#"{"libbeat":{"output":{"events":{"failed":2048,"batches":1}},"pipeline":{"clients":1,"events":{"active":4117}}}}"#
        }
        4 => r#"{"libbeat":{"pipeline":{"clients":1,"events":{"active":4117,"retry":2048}}}}"#,
        _ => return None,
    })
}

/// Filebeat's periodic metrics report.
fn report(v8: bool, ns: i64, reading: u8) -> String {
    let (logger, origin, message) = (
        "monitoring",
        "log/log.go:187",
        "Non-zero metrics in the last 30s",
    );
    match (v8, metrics(reading)) {
        (false, Some(m)) => line_7x(
            ns,
            "INFO",
            logger,
            origin,
            message,
            &format!("\t{{\"monitoring\": {{\"metrics\": {m}}}}}"),
        ),
        (false, None) => line_7x(ns, "INFO", logger, origin, message, ""),
        (true, Some(m)) => line_8x(
            ns,
            "INFO",
            logger,
            origin,
            message,
            &format!(",\"monitoring\":{{\"metrics\":{m},\"ecs.version\":\"1.6.0\"}}"),
        ),
        (true, None) => line_8x(ns, "INFO", logger, origin, message, ""),
    }
}

/// An output that is down says so.
fn output_error(v8: bool, ns: i64, which: u8) -> String {
    let (logger, origin, message) = match which % 4 {
        0 => (
            "publisher_pipeline_output",
            "pipeline/client_worker.go:148",
            "Failed to connect to backoff(async(tcp://logstash:5044)): dial tcp 10.1.2.3:5044: i/o timeout",
        ),
        1 => (
            "publisher_pipeline_output",
            "pipeline/output.go:93",
            "Attempting to reconnect to backoff(elasticsearch(https://es:9200)) with 3 reconnect attempt(s)",
        ),
        2 => (
            "logstash",
            "logstash/async.go:280",
            "Failed to publish events caused by: write tcp 172.17.0.7:58986->10.85.190.50:5644: write: connection reset by peer",
        ),
        _ => (
            "publisher_pipeline_output",
            "pipeline/output.go:180",
            "failed to publish events: write tcp 172.17.0.7:58748->10.85.190.50:5644: write: connection reset by peer",
        ),
    };
    line(v8, ns, "ERROR", logger, origin, message)
}

// ---------------------------------------------------------------------------
// Generated logs

/// What a part of a generated log writes.
#[derive(Debug, Clone)]
enum Seg {
    /// `n` benign lines, `every` seconds apart.
    Benign { n: u8, every: u8, which: u8 },
    /// A one-shot start-up failure.
    OneShot { which: u8 },
    /// A crash loop: the same one-shot failure `n` times, `every` seconds
    /// apart (logged again at each start), for the crash-loop guard.
    CrashLoop { n: u8, every: u16, which: u8 },
    /// The retry loop: `n` "not finished" lines about `every` seconds
    /// apart, with a hole of `hole.1` seconds before the `hole.0`-th.
    Loop {
        n: u8,
        every: u8,
        hole: Option<(u8, u16)>,
        wrap: u8,
    },
    /// `readings.len()` metrics reports 30 s apart (see [`metrics`]).
    Reports { readings: Vec<u8> },
    /// `n` output error lines, `every` seconds apart.
    Output { n: u8, every: u8, which: u8 },
}

/// A part: starts `after` seconds after the previous part started (so parts
/// overlap: a loop goes on while reports come), in 7.x or 8.x layout.
#[derive(Debug, Clone)]
struct Part {
    after: u16,
    v8: bool,
    seg: Seg,
}

#[derive(Debug, Clone)]
struct Case {
    parts: Vec<Part>,
    period_s: i64,
    failure_threshold: u32,
    max_restarts: u32,
    /// `--max-silence`, if any.
    silence: Option<&'static str>,
    /// The replay reads `kubectl logs --timestamps` of the lines.
    kubectl: bool,
    /// The milliseconds of the lines' times.
    jitter: u64,
}

fn seg() -> impl Strategy<Value = Seg> {
    prop_oneof![
        3 => (1..=20u8, 1..=30u8, any::<u8>()).prop_map(|(n, every, which)| Seg::Benign { n, every, which }),
        2 => any::<u8>().prop_map(|which| Seg::OneShot { which }),
        1 => (2..=6u8, 60..=300u16, any::<u8>()).prop_map(|(n, every, which)| Seg::CrashLoop { n, every, which }),
        3 => (
            1..=90u8,
            8..=12u8,
            prop::option::weighted(0.4, (0..90u8, 60..=420u16)),
            any::<u8>()
        )
            .prop_map(|(n, every, hole, wrap)| Seg::Loop { n, every, hole, wrap }),
        3 => prop_oneof![
            // Stalled throughout: 10 minutes take 21 reports.
            (1..=30usize).prop_map(|n| vec![0; n]),
            prop::collection::vec(prop_oneof![6 => Just(0u8), 1 => 1..=5u8], 1..=30),
        ]
        .prop_map(|readings| Seg::Reports { readings }),
        1 => (1..=3u8, 1..=60u8, any::<u8>()).prop_map(|(n, every, which)| Seg::Output { n, every, which }),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop::collection::vec(
            (
                prop_oneof![1 => 0..=60u16, 2 => 0..=480u16],
                prop::bool::weighted(0.3),
                seg(),
            )
                .prop_map(|(after, v8, seg)| Part { after, v8, seg }),
            1..=7,
        ),
        prop_oneof![Just(10i64), Just(30i64)],
        1..=3u32,
        0..=3u32,
        prop_oneof![3 => Just(None), 1 => Just(Some("1m")), 1 => Just(Some("5m"))],
        prop::bool::weighted(0.25),
        any::<u64>(),
    )
        .prop_map(
            |(parts, period_s, failure_threshold, max_restarts, silence, kubectl, jitter)| Case {
                parts,
                period_s,
                failure_threshold,
                max_restarts,
                silence,
                kubectl,
                jitter,
            },
        )
}

/// A generated line: its time and its text (without the newline).
#[derive(Debug, Clone)]
struct Line {
    ns: i64,
    text: String,
}

/// The case's lines in time order (the order Filebeat writes them in).
fn lines(case: &Case) -> Vec<Line> {
    let mut rng = crate::util::Rng::new(case.jitter);
    // In a quarter of the cases every time is a whole second: lines fall
    // on the runs' times.
    let whole = case.jitter.is_multiple_of(4);
    let mut out = Vec::new();
    let mut start = T0;
    let mut n = 0;
    for part in &case.parts {
        start += i64::from(part.after) * S;
        let v8 = part.v8;
        let mut at = |secs: i64, text: &dyn Fn(i64) -> String, rng: &mut crate::util::Rng| {
            let ms = if whole { 0 } else { rng.below(1000) as i64 };
            let ns = start + secs * S + ms * MS;
            out.push(Line { ns, text: text(ns) });
        };
        match &part.seg {
            Seg::Benign { n: k, every, which } => {
                for i in 0..i64::from(*k) {
                    n += 1;
                    let w = which.wrapping_add(i as u8);
                    at(i * i64::from(*every), &|ns| benign(v8, ns, w, n), &mut rng);
                }
            }
            Seg::OneShot { which } => at(0, &|ns| one_shot(v8, ns, *which), &mut rng),
            Seg::CrashLoop { n: k, every, which } => {
                for i in 0..i64::from(*k) {
                    at(
                        i * i64::from(*every),
                        &|ns| one_shot(v8, ns, *which),
                        &mut rng,
                    );
                }
            }
            Seg::Loop {
                n: k,
                every,
                hole,
                wrap,
            } => {
                let mut t = 0;
                for i in 0..*k {
                    if let Some((h, secs)) = hole
                        && i == *h
                    {
                        t += i64::from(*secs);
                    }
                    // Newer Filebeat retries every ~10 s.
                    at(t, &|ns| stuck(v8, ns, *wrap), &mut rng);
                    t += i64::from(*every);
                }
            }
            Seg::Reports { readings } => {
                for (i, &r) in readings.iter().enumerate() {
                    at(30 * i as i64, &|ns| report(v8, ns, r), &mut rng);
                }
            }
            Seg::Output { n: k, every, which } => {
                for i in 0..i64::from(*k) {
                    at(
                        i * i64::from(*every),
                        &|ns| output_error(v8, ns, *which),
                        &mut rng,
                    );
                }
            }
        }
    }
    // Stable: lines of the same millisecond keep the order they were made in.
    out.sort_by_key(|l| l.ns);
    out
}

// ---------------------------------------------------------------------------
// What happened, as both sides tell it

/// One event of the timeline: its simulated time (RFC 3339, whole seconds),
/// its kind, and its rule (trips: the literal, or the silent stall; held
/// trips: the literal; restarts: what failed the runs, as the guard's
/// sentences name it) and line offset.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Event {
    time: String,
    kind: &'static str,
    rule: String,
    offset: Option<u64>,
}

/// What the cases reached, to show the generator still covers what it is for.
#[derive(Debug, Default)]
struct Coverage {
    cases: u32,
    runs: u64,
    one_shot_trips: u32,
    persist_trips: u32,
    stall_trips: u32,
    silence_restarts: u32,
    restarts: u32,
    held: u32,
    /// Cases whose replay read `kubectl logs --timestamps` output.
    kubectl: u32,
    /// Cases with a loop broken by a hole over 2 minutes.
    long_holes: u32,
}

/// The reference: `check_at` run by run on a growing copy of the log, the
/// kubelet restarting the container after `failure_threshold` failing runs.
fn by_checks(case: &Case, lines: &[Line], env: &Env, cov: &mut Coverage) -> Vec<Event> {
    let file = env.logs.file("filebeat");
    File::create(&file).unwrap();
    let first = lines[0].ns;
    let last = lines.last().unwrap().ns;
    let period = case.period_s * S;
    let end = last + period * i64::from(case.failure_threshold + 1);
    let mut events = Vec::new();
    let (mut since, mut next, mut offset) = (first, 0, 0u64);
    let (mut failing, mut tripped, mut held) = (0, false, false);
    let mut out = OpenOptions::new().append(true).open(&file).unwrap();
    let mut now = first + period;
    while now <= end {
        let mut wrote = None;
        while let Some(l) = lines.get(next).filter(|l| l.ns <= now) {
            out.write_all(l.text.as_bytes()).unwrap();
            out.write_all(b"\n").unwrap();
            offset += l.text.len() as u64 + 1;
            wrote = Some(l.ns);
            next += 1;
        }
        if let Some(t) = wrote {
            // Written when its last line was logged.
            set_mtime(&file, UNIX_EPOCH + Duration::from_nanos(t as u64));
        }
        let o = check::check_at(&config(case, env, since), now);
        cov.runs += 1;
        assert_ne!(o.status, Status::Error, "check could not check: {o:?}");
        let time = format_rfc3339(now);
        if let (false, Some(m)) = (tripped, &o.matched) {
            tripped = true;
            let rule = match m.evidence {
                Some(Evidence::Stall { .. }) => STALL_RULE.to_string(),
                _ => m.pattern.clone(),
            };
            events.push(Event {
                time: time.clone(),
                kind: "trip",
                rule,
                offset: Some(m.offset),
            });
        }
        if let (false, Some(h)) = (held, &o.held) {
            held = true;
            events.push(Event {
                time: time.clone(),
                kind: "held",
                rule: h.pattern.clone(),
                offset: None,
            });
        }
        failing = if o.status == Status::Unhealthy {
            failing + 1
        } else {
            0
        };
        if failing >= case.failure_threshold {
            // The rule as restart events name it (the guard's words).
            let rule = match (&o.matched, &o.silent_since) {
                (Some(m), _) => rule_label(&m.pattern),
                (None, Some(_)) => SILENCE_RULE.to_string(),
                (None, None) => panic!("unhealthy, neither tripped nor silent: {o:?}"),
            };
            events.push(Event {
                time,
                kind: "restart",
                rule,
                offset: None,
            });
            // A new incarnation, now; the state file (and its guard
            // history) and the log file stay.
            since = now;
            failing = 0;
            tripped = false;
            held = false;
        }
        now += period;
    }
    assert_eq!(next, lines.len(), "every line written");
    assert_eq!(offset, fs::metadata(&file).unwrap().len());
    events
}

/// `check`'s configuration of the reference: the filebeat preset on the
/// one file, the case's `--max-restarts` and `--max-silence`.
fn config(case: &Case, env: &Env, since: i64) -> Config {
    let args = CheckArgs {
        logs: vec![env.logs.file("filebeat").display().to_string()],
        state: Some(env.state()),
        since: Some(at_ns(since)),
        budget: Some("1h".into()),
        rules: RuleArgs {
            max_restarts: Some(case.max_restarts.to_string()),
            max_silence: case.silence.map(str::to_string),
            ..RuleArgs::default()
        },
        pod_root: Some(env.root().to_path_buf()),
        ..CheckArgs::default()
    };
    Config::from_args(&args).unwrap()
}

/// `logprobe replay --format json` of `path` with the case's options: the
/// events the reference gives too, and the summary.
fn by_replay(case: &Case, env: &Env, path: &Path) -> (Vec<Event>, Value, crate::util::Run) {
    let period = format!("{}s", case.period_s);
    let threshold = case.failure_threshold.to_string();
    let restarts = case.max_restarts.to_string();
    let mut args = vec![
        "replay",
        path.to_str().unwrap(),
        "--format",
        "json",
        "--period",
        &period,
        "--failure-threshold",
        &threshold,
        "--max-restarts",
        &restarts,
    ];
    if let Some(d) = case.silence {
        args.extend(["--max-silence", d]);
    }
    let r = env.run(&args);
    let mut events = Vec::new();
    let mut summary = Value::Null;
    for l in r.stdout.lines() {
        let v: Value =
            serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}\n{r}"));
        if !v["summary"].is_null() {
            summary = v["summary"].clone();
            continue;
        }
        let kind = match v["event"].as_str() {
            Some("trip") => "trip",
            Some("held") => "held",
            Some("restart") => "restart",
            _ => continue,
        };
        let rule = match kind {
            // "N failing runs in a row: <the rule>"
            "restart" => {
                let reason = v["reason"].as_str().unwrap();
                reason.split_once(" in a row: ").unwrap().1.to_string()
            }
            _ => v["rule"].as_str().unwrap().to_string(),
        };
        events.push(Event {
            time: v["time"].as_str().unwrap().to_string(),
            kind,
            rule,
            offset: (kind == "trip").then(|| v["offset"].as_u64().unwrap()),
        });
    }
    (events, summary, r)
}

/// Runs one case both ways and compares.
fn run_case(case: &Case, cov: &mut Coverage) -> Result<(), TestCaseError> {
    let lines = lines(case);
    let env = Env::on_tmpfs();
    let expected = by_checks(case, &lines, &env, cov);
    let plain = env.logs.file("filebeat");
    let (input, offsets) = if case.kubectl {
        // The same lines as `kubectl logs --timestamps` prints them; the
        // offsets of its lines, mapped to the plain file's.
        let path = env.root().join("kubectl.txt");
        let mut w = BufWriter::new(File::create(&path).unwrap());
        let mut map = HashMap::new();
        let (mut at, mut at_plain) = (0u64, 0u64);
        for l in &lines {
            let prefix = kubectl_prefix(l.ns);
            map.insert(at, at_plain);
            writeln!(w, "{prefix}{}", l.text).unwrap();
            at += (prefix.len() + l.text.len() + 1) as u64;
            at_plain += l.text.len() as u64 + 1;
        }
        w.flush().unwrap();
        (path, Some(map))
    } else {
        (plain, None)
    };
    let (mut got, summary, r) = by_replay(case, &env, &input);
    if let Some(map) = offsets {
        for e in &mut got {
            e.offset = e.offset.map(|o| map[&o]);
        }
    }
    let restarts = expected.iter().filter(|e| e.kind == "restart").count();
    let held = expected.iter().filter(|e| e.kind == "held").count();
    let timeline = || {
        lines
            .iter()
            .map(|l| format!("{} {}", format_rfc3339(l.ns), cut(&l.text, 160)))
            .collect::<Vec<_>>()
            .join("\n")
    };
    prop_assert_eq!(
        &got,
        &expected,
        "replay (left) and repeated checks (right) differ\nlines:\n{}\nreplay:\n{}",
        timeline(),
        r
    );
    prop_assert_eq!(r.code(), i32::from(restarts > 0), "{}", r);
    prop_assert_eq!(summary["restarts"].as_u64(), Some(restarts as u64), "{}", r);
    prop_assert_eq!(summary["held"].as_u64(), Some(held as u64), "{}", r);
    prop_assert_eq!(summary["lines"].as_u64(), Some(lines.len() as u64), "{}", r);
    prop_assert_eq!(summary["lines_without_time"].as_u64(), Some(0), "{}", r);
    // What the case reached.
    cov.cases += 1;
    cov.kubectl += u32::from(case.kubectl);
    cov.long_holes += case
        .parts
        .iter()
        .filter(
            |p| matches!(p.seg, Seg::Loop { n, hole: Some((h, secs)), .. } if h < n && secs > 120),
        )
        .count() as u32;
    for e in &expected {
        match (e.kind, e.rule.as_str()) {
            ("trip", STALL_RULE) => cov.stall_trips += 1,
            ("trip", r) if r == STUCK => cov.persist_trips += 1,
            ("trip", _) => cov.one_shot_trips += 1,
            ("restart", SILENCE_RULE) => {
                cov.silence_restarts += 1;
                cov.restarts += 1
            }
            ("restart", _) => cov.restarts += 1,
            ("held", _) => cov.held += 1,
            _ => {}
        }
    }
    Ok(())
}

fn cut(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Generated logs, replayed whole and checked run by run: the same trips,
/// restarts and held trips at the same times (see the module comment).
/// With the default number of cases, the cases must have reached every
/// kind of trip, silence restarts, the guard's held trips, kubectl input
/// and loops broken by long holes.
#[test]
fn replay_agrees_with_repeated_checks() {
    const CASES: u32 = 150;
    let mut config = proptest_config(CASES);
    config.source_file = Some(file!());
    let cases = config.cases;
    let mut runner = TestRunner::new(config);
    let total = RefCell::new(Coverage::default());
    let started = Instant::now();
    let result = runner.run(&case(), |case| {
        let mut c = Coverage::default();
        run_case(&case, &mut c)?;
        let mut t = total.borrow_mut();
        t.cases += c.cases;
        t.runs += c.runs;
        t.one_shot_trips += c.one_shot_trips;
        t.persist_trips += c.persist_trips;
        t.stall_trips += c.stall_trips;
        t.silence_restarts += c.silence_restarts;
        t.restarts += c.restarts;
        t.held += c.held;
        t.kubectl += c.kubectl;
        t.long_holes += c.long_holes;
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}\n{runner}");
    }
    let c = total.into_inner();
    eprintln!(
        "replay_model::replay_agrees_with_repeated_checks: {c:?} in {:?}",
        started.elapsed()
    );
    if cases >= CASES {
        let reached = [
            c.one_shot_trips,
            c.persist_trips,
            c.stall_trips,
            c.silence_restarts,
            c.held,
            c.kubectl,
            c.long_holes,
        ];
        assert!(
            reached.iter().all(|&n| n >= 3),
            "the generated cases no longer reach all they are for: {c:?}"
        );
    }
}

// ---------------------------------------------------------------------------
// The shared samples

/// `replay --format json` of one file with the preset's defaults (period
/// 10s, failure threshold 3): its events (trip, restart) as
/// (kind, time, rule or reason, message), and its exit.
fn replay_events(
    e: &Env,
    file: &Path,
) -> (Vec<(String, String, String, String)>, crate::util::Run) {
    let r = e.run(&["replay", file.to_str().unwrap(), "--format", "json"]);
    let events = r
        .stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["summary"].is_null())
        .map(|v| {
            let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
            (
                s("event"),
                s("time"),
                s("rule") + &s("reason"),
                s("message"),
            )
        })
        .collect();
    (events, r)
}

/// The real lines users posted, replayed as `check` judges them
/// (`tests/samples.rs`): a line alone that the preset trips on at once
/// (none of today's samples; the preset's one-shot failures, generated,
/// join them) trips the first run and restarts the container two runs
/// later, on the rule `check` names; every other line alone, benign,
/// look-alike or the "not finished" error once (churn), gives no restart;
/// each "not finished" line every 10 s for 10 minutes trips the run that
/// sees the 61st and restarts two runs later, also as `kubectl logs
/// --timestamps` prints it (the runtime's times, a little later than the
/// lines' own, time the runs).
#[test]
fn the_shared_samples_replay_as_check_judges_them() {
    let Some(mut rows) = samples() else {
        return;
    };
    // No sample is a line the preset trips on at once: the preset's
    // one-shot failures as generated here go with them, so that this case
    // is replayed too.
    for which in 0..3 {
        for (file, v8) in [("generated-7x.txt", false), ("generated-8x.ndjson", true)] {
            let line = one_shot(v8, T0 + 386 * MS, which).into_bytes();
            rows.push((file.into(), line, "one-shot".into(), "stuck".into()));
        }
    }
    let mut checked = (0, 0, 0);
    for (file, line, label, broad) in &rows {
        let e = Env::new();
        let name = sample_log_name(file);
        let own = logprobe::linetime::of_text(line);
        if own.is_none() {
            // Timed by a line before it, as replay times such lines.
            e.logs
                .append(name, format!("{}\n", benign(false, T0, 0, 0)));
        }
        let mut data = line.clone();
        data.push(b'\n');
        e.logs.append(name, &data);
        let logs = e.preset_log_args();
        let args: Vec<&str> = logs.iter().map(String::as_str).collect();
        let mut json = args.clone();
        json.extend(["--format", "json"]);
        let check = e.run(&json);
        let (events, r) = replay_events(&e, &e.logs.file(name));
        let first = own.unwrap_or(T0);
        if check.code() == 1 {
            let pattern = check.json()["match"]["pattern"]
                .as_str()
                .unwrap()
                .to_string();
            let kinds: Vec<(&str, String)> = events
                .iter()
                .map(|(k, t, _, _)| (k.as_str(), t.clone()))
                .collect();
            assert_eq!(
                kinds,
                [
                    ("trip", format_rfc3339(first + 10 * S)),
                    ("restart", format_rfc3339(first + 30 * S)),
                ],
                "{file} {label}: check trips at once\n{r}"
            );
            assert_eq!(events[0].2, pattern, "{r}");
            r.expect(1);
            checked.2 += 1;
        } else {
            check.expect(0);
            assert!(
                events.is_empty(),
                "{file} {label}: check does not trip\n{r}"
            );
            r.expect(0).stdout_has("\"restarts\":0");
        }
        if broad == "benign" {
            check.expect(0);
            checked.1 += 1;
        }
        if label != "stuck" {
            continue;
        }
        check.expect(0);
        for kubectl in [false, true] {
            let e = Env::new();
            let mut log = Vec::new();
            for i in 0..=60 {
                let secs = i * 10;
                let t = format!("2026-11-26T10:{:02}:{:02}.000Z", secs / 60, secs % 60);
                if kubectl {
                    log.extend_from_slice(kubectl_prefix(T0 + secs * S + 3 * MS).as_bytes());
                }
                log.extend(at_time(line, &t));
            }
            e.logs.append(name, &log);
            let (events, r) = replay_events(&e, &e.logs.file(name));
            r.expect(1);
            assert_eq!(events.len(), 2, "{r}");
            let (kind, time, rule, message) = &events[0];
            assert_eq!(
                (kind.as_str(), time.as_str(), rule.as_str()),
                ("trip", "2026-11-26T10:10:00Z", STUCK),
                "{r}"
            );
            assert!(
                message.contains("kept coming for 10m0s (61 lines from 2026-11-26T10:00:00Z to 2026-11-26T10:10:00Z, persist 10m0s)"),
                "{r}"
            );
            assert_eq!(
                (events[1].0.as_str(), events[1].1.as_str()),
                ("restart", "2026-11-26T10:10:20Z"),
                "{r}"
            );
        }
        checked.0 += 1;
    }
    assert!(
        checked.0 >= 3 && checked.1 >= 80 && checked.2 >= 6,
        "{checked:?}"
    );
    eprintln!(
        "replay_model::the_shared_samples: {} stuck loops, {} benign lines, {} lines tripping at once",
        checked.0, checked.1, checked.2
    );
}

// ---------------------------------------------------------------------------
// A 100 MiB log

/// The metrics of a 7.x report a user posted (`../shared/samples`,
/// `lines-7x.txt` line 25): about 1 KB, output moving.
const REAL_METRICS: &str = r#"{"beat":{"cpu":{"system":{"ticks":200,"time":{"ms":204}},"total":{"ticks":290,"time":{"ms":298},"value":290},"user":{"ticks":90,"time":{"ms":94}}},"handles":{"limit":{"hard":65536,"soft":65536},"open":7},"info":{"ephemeral_id":"204c67fc-5f4f-43a5-bf75-2b2e418f4b27","uptime":{"ms":30031}},"memstats":{"gc_next":7210976,"memory_alloc":5288736,"memory_total":23980560,"rss":16326656}},"filebeat":{"events":{"added":3343,"done":3343},"harvester":{"open_files":1,"running":1,"started":1}},"libbeat":{"config":{"module":{"running":0}},"output":{"events":{"acked":3342,"batches":5,"total":3342},"read":{"bytes":42},"type":"logstash","write":{"bytes":104030}},"pipeline":{"clients":1,"events":{"active":0,"filtered":1,"published":3342,"retry":2048,"total":3343},"queue":{"acked":3342}}},"registrar":{"states":{"current":1,"update":3343},"writes":{"success":6,"total":6}},"system":{"cpu":{"cores":1},"load":{"1":1.86,"15":0.37,"5":0.88,"norm":{"1":1.86,"15":0.37,"5":0.88}}}}"#;

/// What a generated big log holds besides its one failure.
#[derive(Clone, Copy)]
enum Mix {
    /// Benign lines 20 ms apart.
    Benign,
    /// Filebeat's real mix at INFO: a benign line a second and a metrics
    /// report ([`REAL_METRICS`]) every 30 s, about a fifth of the bytes.
    WithReports,
}

/// Writes a 7.x log of `size` bytes to `path` (see [`Mix`]), with the
/// one-shot failure after `stuck_at` bytes. Returns the failure's offset
/// and time.
fn big_log(path: &Path, size: u64, stuck_at: u64, mix: Mix) -> (u64, i64) {
    let mut w = BufWriter::with_capacity(1 << 20, File::create(path).unwrap());
    let (mut at, mut i, mut stuck) = (0u64, 0i64, None);
    let step = match mix {
        Mix::Benign => 20 * MS,
        Mix::WithReports => S,
    };
    while at < size {
        let ns = T0 + i * step;
        let text = if stuck.is_none() && at >= stuck_at {
            stuck = Some((at, ns));
            one_shot(false, ns, 0)
        } else if matches!(mix, Mix::WithReports) && i % 30 == 29 {
            let tail = format!("\t{{\"monitoring\": {{\"metrics\": {REAL_METRICS}}}}}");
            line_7x(
                ns,
                "INFO",
                "monitoring",
                "log/log.go:144",
                "Non-zero metrics in the last 30s",
                &tail,
            )
        } else {
            benign(false, ns, (i % 5) as u8, (i % 97) as usize)
        };
        w.write_all(text.as_bytes()).unwrap();
        w.write_all(b"\n").unwrap();
        at += text.len() as u64 + 1;
        i += 1;
    }
    w.flush().unwrap();
    stuck.unwrap()
}

/// Replays the 100 MiB log: the trip at the failure's byte, at the first
/// run at or after its time, the restart two runs later, in bounded memory.
fn replay_100_mib(mix: Mix) {
    let e = Env::on_tmpfs();
    let path = e.logs.file("filebeat");
    let started = Instant::now();
    let (offset, time) = big_log(&path, 100 << 20, 99 << 20, mix);
    let first = T0;
    let generated = started.elapsed();
    let r = e.exec_for(
        e.command(&["replay", path.to_str().unwrap(), "--format", "json"]),
        Duration::from_secs(600),
    );
    r.expect(1);
    let events: Vec<Value> = r
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let period = 10 * S;
    let run = first + (time - first + period - 1) / period * period;
    assert_eq!(events[0]["event"], "trip", "{r}");
    assert_eq!(events[0]["offset"].as_u64(), Some(offset), "{r}");
    assert_eq!(events[0]["file"].as_str(), path.to_str(), "{r}");
    assert_eq!(
        events[0]["time"].as_str(),
        Some(format_rfc3339(run).as_str()),
        "{r}"
    );
    assert_eq!(events[1]["event"], "restart", "{r}");
    assert_eq!(
        events[1]["time"].as_str(),
        Some(format_rfc3339(run + 2 * period).as_str()),
        "{r}"
    );
    // Then only, an hour later, the guard's history forgotten.
    assert!(
        events[2..events.len() - 1]
            .iter()
            .all(|v| v["event"] == "ready"),
        "{r}"
    );
    assert_eq!(events.last().unwrap()["summary"]["restarts"], 1, "{r}");
    r.assert_peak_rss_below(32 << 10, "replaying 100 MiB");
    eprintln!(
        "replay_model: 100 MiB generated in {generated:?}, replayed in {:?}, peak RSS {:?} KiB",
        r.elapsed, r.peak_rss_kib
    );
}

/// A 100 MiB 7.x log of benign lines with one one-shot failure 99 MiB in:
/// the trip at its byte and the restart, with a peak RSS under 32 MiB.
#[test]
fn a_100_mib_log_in_bounded_memory() {
    replay_100_mib(Mix::Benign);
}

/// The same with Filebeat's real mix: a metrics report every 30 s, about a
/// fifth of the bytes. `replay` keeps of each report only what it reads as
/// and a short snippet, so its memory does not grow with the reports' bytes.
#[test]
fn a_100_mib_log_with_metrics_reports_in_bounded_memory() {
    replay_100_mib(Mix::WithReports);
}
