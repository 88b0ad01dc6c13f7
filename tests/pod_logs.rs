//! The kubelet's pod logs as a source: the real executable on a fake node
//! (`--pod-root`), finding this pod's directory by itself, joining partial
//! CRI records, following the kubelet's rotation and container restarts,
//! and never reading compressed or temporary files; and the probe's window
//! loop over CRI bytes against a naive join.

use std::path::Path;
use std::time::{Duration, SystemTime};

use logprobe::preset::FILEBEAT_LOG_DIR;
use logprobe::scan::{Cursor, Ended, Flow, Framing, Limits, Matcher, Scanner};
use proptest::prelude::*;

use crate::util::{Env, cri, cri_now, one_shot_7x, proptest_config, since_ago, skip_on_this_host};

/// A line that trips the filebeat preset at once, as Filebeat writes it to
/// stderr (a CRI record's text): a one-shot start-up failure.
fn stuck_line() -> String {
    one_shot_7x()
}

#[test]
fn the_preset_falls_back_to_this_pods_logs() {
    if Path::new(FILEBEAT_LOG_DIR).exists() {
        skip_on_this_host(
            "the_preset_falls_back_to_this_pods_logs",
            "this machine has Filebeat log files",
        );
        return;
    }
    let e = Env::node(true);
    e.pods.append(
        "0.log",
        cri_now(
            "stderr",
            "F",
            "2026-11-26T10:00:00.000Z\tINFO\tinstance/beat.go:779\tHome path: [/usr/share/filebeat]",
        ),
    );
    // With the filebeat preset and no Filebeat log file: the pod logs, found by themselves.
    let r = e.run(&["--format", "json"]);
    let v = r.json();
    assert_eq!(r.code(), 0, "{v}");
    assert_eq!(v["files"], 1);
    let at = e.pods.size("0.log");
    e.pods
        .append("0.log", cri_now("stderr", "F", &stuck_line()));
    let r = e.run(&["--format", "json"]);
    let v = r.json();
    assert_eq!(r.code(), 1, "{v}");
    assert_eq!(v["match"]["offset"].as_u64(), Some(at));
    assert_eq!(
        v["match"]["file"],
        e.pods.file("0.log").display().to_string()
    );
    assert!(
        v["match"]["line"]
            .as_str()
            .unwrap()
            .contains("Z\\tERROR\\t[kubernetes]\\tadd_kubernetes_metadata"),
        "the CRI prefix is not part of the line: {v}"
    );
}

#[test]
fn partial_records_are_joined_across_runs() {
    let e = Env::node(true);
    let dir = format!("--pod-logs={}", e.pods.path().display());
    let args = ["--preset", "filebeat", dir.as_str(), "--format", "json"];
    e.pods.append("0.log", cri_now("stderr", "F", "hello"));
    let at = e.pods.size("0.log");
    let line = stuck_line();
    let (a, b) = line.split_at(line.find("kubernetes env").unwrap());
    e.pods.append("0.log", cri_now("stderr", "P", a));
    e.pods
        .append("0.log", cri_now("stdout", "F", "an unrelated stdout line"));
    let r = e.run(&args);
    assert_eq!(r.code(), 0, "{}", r.json());
    let st = e.state_json();
    assert_eq!(
        st["files"][0]["offset"].as_u64(),
        Some(at),
        "waits at the first partial record: {st}"
    );
    e.pods.append("0.log", cri_now("stderr", "F", b));
    let r = e.run(&args);
    let v = r.json();
    assert_eq!(r.code(), 1, "{v}");
    assert_eq!(v["match"]["offset"].as_u64(), Some(at));
}

#[test]
fn kubelet_rotation_and_container_restarts() {
    let e = Env::node(true);
    let json = ["--format", "json"];
    e.pods.append("0.log", cri_now("stderr", "F", "starting"));
    e.run(&json).expect(0);
    // The stuck line lands, then the kubelet rotates 0.log before the next run.
    let at = e.pods.size("0.log");
    e.pods
        .append("0.log", cri_now("stderr", "F", &stuck_line()));
    e.pods.rotate_cri("0.log", "20261126-100000");
    e.pods
        .append("0.log", cri_now("stderr", "F", "after rotation"));
    e.pods.append(
        "0.log.20261125-100000.gz",
        cri_now("stderr", "F", &stuck_line()),
    );
    // The kubelet gzips through a temporary file: never read either.
    e.pods.append(
        "0.log.20261125-100000.tmp",
        cri_now("stderr", "F", &stuck_line()),
    );
    let r = e.run(&json);
    let v = r.json();
    assert_eq!(r.code(), 1, "{v}");
    assert_eq!(
        v["match"]["file"],
        e.pods.file("0.log.20261126-100000").display().to_string()
    );
    assert_eq!(v["match"]["offset"].as_u64(), Some(at));
    // The container restarts: a new incarnation writes 1.log; the old files are older than it.
    let old = SystemTime::now() - Duration::from_secs(60);
    for f in ["0.log", "0.log.20261126-100000"] {
        e.pods.set_mtime(f, old);
    }
    let since = since_ago(30);
    let restarted = [since.as_str(), "--format", "json"];
    e.pods
        .append("1.log", cri_now("stderr", "F", "starting again"));
    let r = e.run(&restarted);
    assert_eq!(r.code(), 0, "{}", r.json());
    e.pods
        .append("1.log", cri_now("stderr", "F", &stuck_line()));
    e.run(&restarted).expect(1);
}

#[test]
fn a_pod_directory_that_cannot_be_found() {
    let e = Env::node(false);
    let r = e.run(&["--since", "@0", "--pod-logs", "--format", "json"]);
    let v = r.json();
    assert_eq!(r.code(), 0, "{v}");
    assert_eq!(v["status"], "error");
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("cannot find this pod's log directory"),
        "{v}"
    );
    assert!(r.stderr.is_empty() || !r.stderr.contains("panicked"));
    let r = e.run(&[
        "--since",
        "@0",
        "--pod-logs",
        "--on-error",
        "fail",
        "--format",
        "json",
    ]);
    assert_eq!(r.code(), 3, "{}", r.json());
    let r = e.run(&[
        "--since",
        "@0",
        "--pod-logs=/nonexistent/dir",
        "--format",
        "json",
    ]);
    let v = r.json();
    assert_eq!(r.code(), 0, "{v}");
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("/nonexistent/dir: not a directory"),
        "{v}"
    );
}

#[test]
fn compressed_and_temporary_pod_logs_are_never_read() {
    let e = Env::node(true);
    e.pods.append("0.log", cri_now("stderr", "F", "fine"));
    e.pods.append(
        "0.log.20261125-100000.gz",
        cri_now("stderr", "F", &stuck_line()),
    );
    e.pods.append(
        "0.log.20261126-100000.tmp",
        cri_now("stderr", "F", &stuck_line()),
    );
    let r = e.run(&["--format", "json"]);
    let v = r.json();
    assert_eq!(r.code(), 0, "{v}");
    assert_eq!(v["files"], 1, "{v}");
}

#[test]
fn a_record_longer_than_max_line_is_scanned_as_plain_text_once() {
    let m = Matcher::new(&["NEEDLE".to_string()], &[], false).unwrap();
    let mut data = cri("stderr", "F", "short");
    let giant_at = data.len() as u64;
    let giant = format!("{}NEEDLE{}", "a".repeat(100), "b".repeat(100));
    data.push_str(&cri("stderr", "F", &giant));
    let after_at = data.len() as u64;
    data.push_str(&cri("stderr", "F", "after NEEDLE"));
    data.push_str(&cri("stdout", "F", "stdout is never read: NEEDLE"));
    for cuts in [&[][..], &[60, 120, 200], &[150, 151, 152]] {
        let hits = incremental(data.as_bytes(), cuts, &m, 64);
        assert_eq!(hits, vec![giant_at, after_at], "cuts {cuts:?}");
    }
}

// The probe's window loop over CRI bytes, fed a growing file in arbitrary
// steps, finds exactly the lines a naive join of the whole file finds, each
// once, at its first record.

/// One record to write: stream (0 stdout, 1 stderr), partial, text.
type Rec = (u8, bool, String);

fn naive(records: &[Rec], patterns: &[&str]) -> Vec<u64> {
    let mut hits = Vec::new();
    let mut open: [Option<(u64, String)>; 2] = [None, None];
    let mut off = 0u64;
    for (s, partial, text) in records {
        if *s == 0 {
            // stdout may carry events (output.console): never read.
            off += render(&(*s, *partial, text.clone())).len() as u64;
            continue;
        }
        let slot = &mut open[*s as usize];
        let (start, mut joined) = slot.take().unwrap_or((off, String::new()));
        joined.push_str(text);
        if *partial {
            *slot = Some((start, joined));
        } else if patterns.iter().any(|p| joined.contains(p)) {
            hits.push(start);
        }
        off += render(&(*s, *partial, text.clone())).len() as u64;
    }
    hits.sort();
    hits
}

fn render(r: &Rec) -> String {
    cri(
        if r.0 == 0 { "stdout" } else { "stderr" },
        if r.1 { "P" } else { "F" },
        &r.2,
    )
}

/// The hits of [`Scanner::scan`] over `data` growing to each of `cuts`, then
/// to its end, with a window over all the bytes there are.
fn incremental(data: &[u8], cuts: &[usize], m: &Matcher, max_line: usize) -> Vec<u64> {
    let scanner = Scanner {
        matcher: m,
        framing: Framing::Cri,
        limits: Limits {
            map_window: data.len().max(max_line + m.overlap()),
            max_line,
        },
    };
    let mut c = Cursor::default();
    let mut hits = Vec::new();
    let mut ends: Vec<usize> = cuts.iter().map(|&x| x % (data.len() + 1)).collect();
    ends.push(data.len());
    ends.sort();
    for end in ends {
        let ended = scanner
            .scan(
                &mut &data[..end],
                end as u64,
                &mut c,
                &mut |h| {
                    hits.push(h.line_start);
                    Flow::Continue
                },
                &mut || false,
            )
            .expect("bytes in memory never fail to read");
        assert_eq!(ended, Ended::CaughtUp);
    }
    hits.sort();
    hits
}

fn record() -> impl Strategy<Value = Rec> {
    let text = prop::collection::vec(
        prop::sample::select(vec!["ab", "c", "NEEDLE", "NEE", "DLE", "x", "zz", " "]),
        0..6,
    )
    .prop_map(|v| v.concat());
    // Mostly stderr, with partials common so that joins and cuts are exercised.
    (prop::bool::weighted(0.8), prop::bool::weighted(0.4), text)
        .prop_map(|(err, p, t)| (u8::from(err), p, t))
}

proptest! {
    #![proptest_config(proptest_config(2000))]
    #[test]
    fn cri_incremental_equals_a_naive_join(
        mut records in prop::collection::vec(record(), 1..30),
        cuts in prop::collection::vec(any::<usize>(), 0..6),
        max_line in 80usize..200,
    ) {
        // End every stream's line, so that every line is complete at the end.
        records.push((0, false, String::new()));
        records.push((1, false, String::new()));
        let data: String = records.iter().map(render).collect();
        let patterns = ["NEEDLE"];
        let m = Matcher::new(&patterns.map(String::from), &[], false).unwrap();
        prop_assert_eq!(incremental(data.as_bytes(), &cuts, &m, max_line), naive(&records, &patterns));
    }
}
