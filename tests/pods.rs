//! The kubelet pod-log source and `--max-silence`: the real executable on a
//! fake node (`LOGPROBE_POD_ROOT`), and the CRI scanner against a naive join.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use logprobe::cri::scan_chunk_cri;
use logprobe::scan::{Cursor, Flow, Matcher};
use proptest::prelude::*;
use serde_json::Value;

const STUCK: &str = "Can only start an input when all related states are finished";
const UID: &str = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";

fn cri(stream: &str, tag: &str, text: &str) -> String {
    format!("2026-11-26T10:00:00.123456789Z {stream} {tag} {text}\n")
}

fn stuck_line() -> String {
    format!(
        "2026-11-26T10:02:11.386Z\tERROR\t[autodiscover]\tcfgfile/list.go:95\tError creating runner from config: {STUCK}"
    )
}

/// A fake node: /var/log/pods/kube-system_filebeat-x7k2p_<uid>/filebeat/ and,
/// optionally, the mountinfo line that names the pod's UID.
struct Node {
    root: tempfile::TempDir,
}

impl Node {
    fn new(with_uid: bool) -> Node {
        let root = tempfile::tempdir().unwrap();
        let n = Node { root };
        fs::create_dir_all(n.dir()).unwrap();
        if with_uid {
            fs::create_dir_all(n.root.path().join("proc/self")).unwrap();
            fs::write(
                n.root.path().join("proc/self/mountinfo"),
                format!("812 790 254:1 /var/lib/kubelet/pods/{UID}/etc-hosts /etc/hosts rw,relatime - ext4 /dev/vda1 rw\n"),
            )
            .unwrap();
        }
        n
    }
    fn dir(&self) -> PathBuf {
        self.root.path().join(format!(
            "var/log/pods/kube-system_filebeat-x7k2p_{UID}/filebeat"
        ))
    }
    fn state(&self) -> PathBuf {
        self.root.path().join("state.json")
    }
    fn append(&self, name: &str, data: &str) {
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir().join(name))
            .unwrap();
        f.write_all(data.as_bytes()).unwrap();
    }
    fn set_mtime(&self, name: &str, t: SystemTime) {
        File::options()
            .write(true)
            .open(self.dir().join(name))
            .unwrap()
            .set_modified(t)
            .unwrap();
    }
    fn size(&self, name: &str) -> u64 {
        fs::metadata(self.dir().join(name)).unwrap().len()
    }
    fn run(&self, args: &[&str]) -> (i32, Value, String) {
        let out: Output = Command::new(env!("CARGO_BIN_EXE_logprobe"))
            .args(args)
            .arg("--format=json")
            .arg("--state")
            .arg(self.state())
            .env("LOGPROBE_POD_ROOT", self.root.path())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let v: Value = serde_json::from_str(stdout.trim())
            .unwrap_or_else(|e| panic!("{e}: {stdout} {}", String::from_utf8_lossy(&out.stderr)));
        (
            out.status.code().unwrap_or(-1),
            v,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
    /// With the filebeat preset and no Filebeat log file: the pod logs, found by themselves.
    fn check(&self, extra: &[&str]) -> (i32, Value) {
        let mut args = vec!["--since", "@0"];
        args.extend_from_slice(extra);
        let (code, v, _) = self.run(&args);
        (code, v)
    }
}

/// `--since=@<now − secs>`.
fn since_ago(secs: u64) -> String {
    let t = SystemTime::now() - Duration::from_secs(secs);
    format!(
        "--since=@{}",
        t.duration_since(UNIX_EPOCH).unwrap().as_secs()
    )
}

#[test]
fn the_preset_falls_back_to_this_pods_logs() {
    if Path::new("/usr/share/filebeat/logs").exists() {
        eprintln!(
            "SKIPPED the_preset_falls_back_to_this_pods_logs: this machine has Filebeat log files"
        );
        return;
    }
    let n = Node::new(true);
    n.append("0.log", &cri("stderr", "F", "2026-11-26T10:00:00.000Z\tINFO\tinstance/beat.go:779\tHome path: [/usr/share/filebeat]"));
    let (code, v) = n.check(&[]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["files"], 1);
    let at = n.size("0.log");
    n.append("0.log", &cri("stderr", "F", &stuck_line()));
    let (code, v) = n.check(&[]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["match"]["offset"].as_u64(), Some(at));
    assert_eq!(
        v["match"]["file"],
        n.dir().join("0.log").display().to_string()
    );
    assert!(
        v["match"]["line"]
            .as_str()
            .unwrap()
            .starts_with("2026-11-26T10:02:11.386Z\\tERROR"),
        "the CRI prefix is not part of the line: {v}"
    );
}

#[test]
fn partial_records_are_joined_across_runs() {
    let n = Node::new(true);
    let dir = n.dir();
    let dir = format!("--pod-logs={}", dir.display());
    n.append("0.log", &cri("stderr", "F", "hello"));
    let at = n.size("0.log");
    let line = stuck_line();
    let (a, b) = line.split_at(line.find("all related").unwrap());
    n.append("0.log", &cri("stderr", "P", a));
    n.append("0.log", &cri("stdout", "F", "an unrelated stdout line"));
    let (code, v) = n.check(&["--preset", "filebeat", &dir]);
    assert_eq!(code, 0, "{v}");
    let st: Value = serde_json::from_str(&fs::read_to_string(n.state()).unwrap()).unwrap();
    assert_eq!(
        st["files"][0]["offset"].as_u64(),
        Some(at),
        "waits at the first partial record: {st}"
    );
    n.append("0.log", &cri("stderr", "F", b));
    let (code, v) = n.check(&["--preset", "filebeat", &dir]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["match"]["offset"].as_u64(), Some(at));
}

#[test]
fn kubelet_rotation_and_container_restarts() {
    let n = Node::new(true);
    n.append("0.log", &cri("stderr", "F", "starting"));
    assert_eq!(n.check(&[]).0, 0);
    // The stuck line lands, then the kubelet rotates 0.log before the next run.
    let at = n.size("0.log");
    n.append("0.log", &cri("stderr", "F", &stuck_line()));
    fs::rename(n.dir().join("0.log"), n.dir().join("0.log.20261126-100000")).unwrap();
    n.append("0.log", &cri("stderr", "F", "after rotation"));
    n.append(
        "0.log.20261125-100000.gz",
        &cri("stderr", "F", &stuck_line()),
    );
    // The kubelet gzips through a temporary file: never read either.
    n.append(
        "0.log.20261125-100000.tmp",
        &cri("stderr", "F", &stuck_line()),
    );
    let (code, v) = n.check(&[]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(
        v["match"]["file"],
        n.dir().join("0.log.20261126-100000").display().to_string()
    );
    assert_eq!(v["match"]["offset"].as_u64(), Some(at));
    // The container restarts: a new incarnation writes 1.log; the old files are older than it.
    let old = SystemTime::now() - Duration::from_secs(60);
    for f in ["0.log", "0.log.20261126-100000"] {
        n.set_mtime(f, old);
    }
    let since = since_ago(30);
    n.append("1.log", &cri("stderr", "F", "starting again"));
    let (code, v, _) = n.run(&[since.as_str()]);
    assert_eq!(code, 0, "{v:?}");
    n.append("1.log", &cri("stderr", "F", &stuck_line()));
    assert_eq!(n.run(&[since.as_str()]).0, 1);
}

#[test]
fn a_pod_directory_that_cannot_be_found() {
    let n = Node::new(false);
    let (code, v, stderr) = n.run(&["--since", "@0", "--pod-logs"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["status"], "error");
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("cannot find this pod's log directory"),
        "{v}"
    );
    assert!(stderr.is_empty() || !stderr.contains("panicked"));
    let (code, v, _) = n.run(&["--since", "@0", "--pod-logs", "--on-error", "fail"]);
    assert_eq!(code, 3, "{v}");
    let (code, v, _) = n.run(&["--since", "@0", "--pod-logs=/nonexistent/dir"]);
    assert_eq!(code, 0, "{v}");
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("/nonexistent/dir: not a directory"),
        "{v}"
    );
}

#[test]
fn silence_trips_and_clears() {
    let n = Node::new(true);
    n.append("0.log", &cri("stderr", "F", "metrics"));
    let ten_min_ago = SystemTime::now() - Duration::from_secs(600);
    n.set_mtime("0.log", ten_min_ago);
    let since = since_ago(3600);
    let (code, v, _) = n.run(&[since.as_str(), "--max-silence", "5m"]);
    assert_eq!(code, 1, "{v}");
    let msg = v["message"].as_str().unwrap();
    assert!(
        msg.starts_with("UNHEALTHY: no watched log has grown for 10m"),
        "{msg}"
    );
    assert!(msg.contains("--max-silence 5m0s"), "{msg}");
    assert!(v["silent_since"].is_string());
    // Not sticky: growth clears it.
    n.append("0.log", &cri("stderr", "F", "metrics again"));
    let (code, v, _) = n.run(&[since.as_str(), "--max-silence", "5m"]);
    assert_eq!(code, 0, "{v}");
    // A recent start counts as growth: silence is measured within the incarnation.
    n.set_mtime("0.log", ten_min_ago);
    let recent = since_ago(60);
    assert_eq!(n.run(&[recent.as_str(), "--max-silence", "5m"]).0, 0);
    assert_eq!(n.run(&[recent.as_str(), "--max-silence", "30s"]).0, 1);
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

// The CRI scanner fed a growing file in arbitrary steps finds exactly the
// lines a naive join of the whole file finds, each once, at its first record.

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

fn incremental(data: &[u8], cuts: &[usize], m: &Matcher, max_line: usize) -> Vec<u64> {
    let mut c = Cursor::default();
    let mut hits = Vec::new();
    let mut ends: Vec<usize> = cuts.iter().map(|&x| x % (data.len() + 1)).collect();
    ends.push(data.len());
    ends.sort();
    for end in ends {
        // Rescan until no progress, as scan_file does over windows.
        loop {
            let before = c;
            let start = match c.long_line {
                Some(ll) if ll.split_record => {
                    c.offset - (m.overlap() as u64).min(c.offset - ll.start)
                }
                _ => c.offset,
            } as usize;
            if start >= end {
                break;
            }
            scan_chunk_cri(
                m,
                &data[start..end],
                start as u64,
                max_line,
                &mut c,
                &mut |h| {
                    hits.push(h.line_start);
                    Flow::Continue
                },
            );
            if c == before {
                break;
            }
        }
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
    #![proptest_config(ProptestConfig::with_cases(std::env::var("LOGPROBE_PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(2000)))]
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

#[test]
fn compressed_and_temporary_pod_logs_are_never_read() {
    let n = Node::new(true);
    n.append("0.log", &cri("stderr", "F", "fine"));
    n.append(
        "0.log.20261125-100000.gz",
        &cri("stderr", "F", &stuck_line()),
    );
    n.append(
        "0.log.20261126-100000.tmp",
        &cri("stderr", "F", &stuck_line()),
    );
    let (code, v) = n.check(&[]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["files"], 1, "{v}");
}
