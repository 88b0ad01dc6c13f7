//! Property tests: a model of Filebeat writing its log (lines cut into
//! arbitrary writes), rotating it by rename (7.x) or by new file (8.x),
//! logrotate's copytruncate (with 7.x names the copy is `filebeat.1`, which
//! the probe watches: what it read of the original must not count again),
//! deleting beyond keepfiles and restarting (a new incarnation:
//! rotate on startup, `--since` moves on), with probe runs
//! (`check::check_at`, tiny map windows and line bounds) at arbitrary points.
//!
//! After every run the probe's verdict must equal a naive one-shot scan of
//! the incarnation's complete lines in write order: trip or not, which line
//! (file, offset, pattern), and when it was first seen (threshold within the
//! window, a line's time being the run that first had it complete).
//!
//! What the probe cannot see, and so the oracle does not expect: lines
//! deleted (rotated beyond keepfiles, or truncated) before any run had them
//! complete, and a partial line left in a file that is then deleted or
//! truncated. Lines of `max_line` bytes or more are written in one go: the
//! probe may count such a line before its newline arrives, which the fuzz
//! target `scan_incremental` covers instead; here they are still cut into
//! pieces by the map windows, and for them the oracle checks the line, not
//! which of its patterns was reported.
//!
//! `LOGPROBE_PROPTEST_CASES=200000 cargo test --release --test integration model::`
//! runs the long mode.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use logprobe::check;
use logprobe::cli::{CheckArgs, PresetName};
use logprobe::config::Config;
use logprobe::report::Outcome;
use logprobe::source::identity::FINGERPRINT_BYTES;
use logprobe::timefmt::format_rfc3339;
use logprobe::verdict::Status;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use crate::util::{Env, proptest_config};

const PATTERNS: [&str; 3] = ["STUCK", "zzq", "zz"];
const EXCEPT: &str = "ok!";
/// Pieces of short lines: patterns whole and in parts, the exception whole
/// and in parts, a tab, a NUL and invalid UTF-8.
const TOKENS: &[&[u8]] = &[
    b"a", b"bb ", b"STUCK", b"stuck", b"ST", b"UCK", b"z", b"zz", b"q", b"ok!", b"o", b"k!", b"\t",
    b"\0", b"\xff",
];
/// Pieces of long lines: no exception, whole or in parts.
const LONG_TOKENS: &[&[u8]] = &[
    b"a", b"bb ", b"STUCK", b"stuck", b"ST", b"UCK", b"z", b"zz", b"q", b"\t", b"\0", b"\xff",
];
/// 2026-11-26T00:00:00Z in ns.
const T0: i64 = 1_795_651_200 * 1_000_000_000;
const MS: i64 = 1_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    /// `filebeat` → `filebeat.1` … by rename.
    V7,
    /// A new `filebeat-YYYYMMDD[-N].ndjson` per rotation.
    V8,
}

#[derive(Debug, Clone)]
struct LineSpec {
    tokens: Vec<u8>,
    long: bool,
    pad: u16,
}

#[derive(Debug, Clone)]
enum Op {
    /// Queue a line (if any), then write up to `n` queued bytes (all when `n` ≥ 150).
    Write { line: Option<LineSpec>, n: u16 },
    /// Many benign lines at once (files past the 1 KiB fingerprint).
    Burst { lines: u8 },
    /// Filebeat's own rotation.
    Rotate,
    /// logrotate's copytruncate (see `Model::copy_truncate`).
    CopyTruncate,
    /// Filebeat restarts: a new incarnation; a crash leaves a partial line.
    Restart { crash: bool },
    /// A probe run.
    Run,
    /// Time passes (for windows).
    Sleep,
}

#[derive(Debug, Clone)]
struct Case {
    keep: usize,
    threshold: u32,
    window_ms: Option<i64>,
    ignore_case: bool,
    max_line: usize,
    window_extra: usize,
    ops: Vec<(Op, u32)>,
}

fn line_spec() -> impl Strategy<Value = LineSpec> {
    (
        prop::collection::vec(any::<u8>(), 0..10),
        prop::bool::weighted(0.12),
        any::<u16>(),
    )
        .prop_map(|(tokens, long, pad)| LineSpec { tokens, long, pad })
}

fn op() -> impl Strategy<Value = (Op, u32)> {
    let op = prop_oneof![
        12 => (prop::option::weighted(0.75, line_spec()), 0u16..200)
            .prop_map(|(line, n)| Op::Write { line, n }),
        5 => Just(Op::Run),
        1 => (10u8..60).prop_map(|lines| Op::Burst { lines }),
        2 => Just(Op::Rotate),
        1 => Just(Op::CopyTruncate),
        1 => any::<bool>().prop_map(|crash| Op::Restart { crash }),
        1 => Just(Op::Sleep),
    ];
    (op, prop_oneof![1 => Just(0u32), 3 => 1u32..2500])
}

fn case() -> impl Strategy<Value = Case> {
    (
        2usize..5,
        1u32..4,
        prop_oneof![
            Just(None),
            Just(Some(1_500)),
            Just(Some(6_000)),
            Just(Some(40_000))
        ],
        any::<bool>(),
        16usize..40,
        0usize..48,
        prop::collection::vec(op(), 1..60),
    )
        .prop_map(
            |(keep, threshold, window_ms, ignore_case, max_line, window_extra, ops)| Case {
                keep,
                threshold,
                window_ms,
                ignore_case,
                max_line,
                window_extra,
                ops,
            },
        )
}

/// A log file as the model knows it.
#[derive(Debug)]
struct MFile {
    /// Its name in the log directory; `None` once deleted.
    name: Option<String>,
    data: Vec<u8>,
    /// Bytes whose complete lines some run has had.
    seen: usize,
    /// Its length at the last run: the probe tells a copy of it from a new
    /// file by its first 1 KiB, so only when it had that much.
    run_len: usize,
    /// For a copy: the original's `id` and `seen`, settled at the next run.
    source: Option<(usize, usize)>,
    /// Unique, stable across insertions.
    id: usize,
    /// The incarnation that wrote it.
    incarnation: usize,
}

/// A counting line, as first seen by a run.
#[derive(Debug, Clone)]
struct SeenLine {
    time: i64,
    path: String,
    offset: usize,
    /// The pattern a one-shot scan reports; for a long line, any in the line.
    pattern: usize,
    long: bool,
    text: Vec<u8>,
}

struct Model {
    scheme: Scheme,
    case: Case,
    env: Env,
    logs: PathBuf,
    files: Vec<MFile>,
    /// Index of the file Filebeat writes.
    current: usize,
    pending: Vec<u8>,
    /// The day and index of the last 8.x file name.
    last_v8: Option<(String, u32)>,
    seq: u32,
    now: i64,
    since: i64,
    incarnation: usize,
    /// Counting lines of this incarnation, in write order.
    seen: Vec<SeenLine>,
    /// Index into `seen` of the line that tripped, once tripped.
    trip: Option<usize>,
    cfg: Config,
    log: Vec<String>,
}

fn set_mtime(path: &Path, ns: i64) {
    crate::util::set_mtime(path, UNIX_EPOCH + Duration::from_nanos(ns as u64));
}

fn find(line: &[u8], lit: &str, ignore_case: bool) -> Option<usize> {
    let lit = lit.as_bytes();
    (0..line.len()).find(|&i| {
        line.len() - i >= lit.len()
            && if ignore_case {
                line[i..i + lit.len()].eq_ignore_ascii_case(lit)
            } else {
                &line[i..i + lit.len()] == lit
            }
    })
}

/// The pattern a leftmost-first one-shot scan finds in `line`.
fn leftmost_first(line: &[u8], ignore_case: bool) -> Option<usize> {
    (0..line.len()).find_map(|at| {
        PATTERNS
            .iter()
            .position(|p| find(&line[at..], p, ignore_case) == Some(0))
    })
}

impl Model {
    fn new(scheme: Scheme, case: Case) -> Model {
        let env = Env::on_tmpfs();
        let logs = env.logs.path().to_path_buf();
        let cfg = config(&case, &env, T0);
        let mut m = Model {
            scheme,
            case,
            env,
            logs,
            files: Vec::new(),
            current: 0,
            pending: Vec::new(),
            last_v8: None,
            seq: 0,
            now: T0,
            since: T0,
            incarnation: 0,
            seen: Vec::new(),
            trip: None,
            cfg,
            log: Vec::new(),
        };
        m.open_new();
        m
    }

    fn path(&self, name: &str) -> PathBuf {
        self.logs.join(name)
    }

    fn name_of(&self, i: usize) -> &str {
        self.files[i].name.as_deref().unwrap_or("(deleted)")
    }

    /// Creates the file Filebeat writes next (after a rotation or at start).
    fn open_new(&mut self) {
        let name = match self.scheme {
            Scheme::V7 => "filebeat".to_string(),
            Scheme::V8 => {
                let date: String = format_rfc3339(self.now)[..10]
                    .chars()
                    .filter(char::is_ascii_digit)
                    .collect();
                // The next index of the day, never one freed by a deletion.
                let n = match &self.last_v8 {
                    Some((d, n)) if *d == date => n + 1,
                    _ => 0,
                };
                self.last_v8 = Some((date.clone(), n));
                if n == 0 {
                    format!("filebeat-{date}.ndjson")
                } else {
                    format!("filebeat-{date}-{n}.ndjson")
                }
            }
        };
        let path = self.path(&name);
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .unwrap();
        set_mtime(&path, self.now);
        self.files.push(MFile {
            name: Some(name),
            data: Vec::new(),
            seen: 0,
            run_len: 0,
            source: None,
            id: self.files.len(),
            incarnation: self.incarnation,
        });
        self.current = self.files.len() - 1;
    }

    fn delete(&mut self, i: usize) {
        if let Some(name) = self.files[i].name.take() {
            fs::remove_file(self.path(&name)).unwrap();
        }
    }

    fn rotate(&mut self) {
        match self.scheme {
            Scheme::V7 => {
                self.shift_7x(None);
                self.open_new();
            }
            Scheme::V8 => {
                self.open_new();
                let live: Vec<usize> = (0..self.files.len())
                    .filter(|&i| self.files[i].name.is_some())
                    .collect();
                if live.len() > self.case.keep {
                    for &i in &live[..live.len() - self.case.keep] {
                        self.delete(i);
                    }
                }
            }
        }
    }

    /// The 7.x rename chain, oldest first so no name is overwritten:
    /// filebeat.{keep-1} is deleted, filebeat.N → filebeat.N+1, filebeat →
    /// filebeat.1 (unless it is `except`).
    fn shift_7x(&mut self, except: Option<usize>) {
        let live: Vec<usize> = (0..self.files.len())
            .filter(|&i| self.files[i].name.is_some() && Some(i) != except)
            .collect();
        for &i in &live {
            let name = self.files[i].name.clone().unwrap();
            let n: usize = match name.strip_prefix("filebeat.") {
                Some(n) => n.parse().unwrap(),
                None => 0,
            };
            if n + 1 >= self.case.keep {
                self.delete(i);
            } else {
                let to = format!("filebeat.{}", n + 1);
                fs::rename(self.path(&name), self.path(&to)).unwrap();
                self.files[i].name = Some(to);
            }
        }
    }

    /// logrotate's copytruncate. 7.x: the chain shifts, the current file is
    /// copied to filebeat.1 (a new inode, which the probe reads) and
    /// truncated. 8.x: the copy goes to an unwatched (compressed) name.
    fn copy_truncate(&mut self) {
        let i = self.current;
        let name = self.files[i].name.clone().unwrap();
        let path = self.path(&name);
        if self.scheme == Scheme::V7 {
            self.shift_7x(Some(i));
            let copy = self.path("filebeat.1");
            fs::write(&copy, &self.files[i].data).unwrap();
            set_mtime(&copy, self.now);
            // The copy holds older data than what the original gets next.
            let f = &self.files[i];
            let copied = MFile {
                name: Some("filebeat.1".into()),
                data: f.data.clone(),
                seen: 0,
                run_len: 0,
                // The probe takes it for a copy when the original had its
                // whole 1 KiB fingerprint at the last run, and is gone or
                // shorter than that run's offset at the next: then what was
                // read of the original is not read again. Otherwise the copy
                // looks new and is read whole: a known limit, modelled
                // rather than expected away.
                source: (f.run_len >= FINGERPRINT_BYTES).then_some((f.id, f.seen)),
                id: self.files.len(),
                incarnation: f.incarnation,
            };
            self.files.insert(i, copied);
            self.current = i + 1;
        }
        let i = self.current;
        OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(0)
            .unwrap();
        set_mtime(&path, self.now);
        self.files[i].data.clear();
        self.files[i].seen = 0;
        self.files[i].run_len = 0;
    }

    fn write(&mut self, n: usize) {
        let n = n.min(self.pending.len());
        if n == 0 {
            return;
        }
        let bytes: Vec<u8> = self.pending.drain(..n).collect();
        let name = self.files[self.current].name.clone().unwrap();
        let path = self.path(&name);
        OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(&bytes)
            .unwrap();
        set_mtime(&path, self.now);
        self.files[self.current].data.extend_from_slice(&bytes);
    }

    fn render(&mut self, spec: &LineSpec) -> Vec<u8> {
        self.seq += 1;
        let mut line = format!("L{:06} ", self.seq).into_bytes();
        let max_line = self.case.max_line;
        if spec.long {
            for &t in &spec.tokens {
                line.extend_from_slice(LONG_TOKENS[usize::from(t) % LONG_TOKENS.len()]);
            }
            let len = max_line + usize::from(spec.pad) % (3 * max_line + 80);
            while line.len() < len {
                line.push(b'.');
            }
        } else {
            for &t in &spec.tokens {
                line.extend_from_slice(TOKENS[usize::from(t) % TOKENS.len()]);
            }
            line.truncate(max_line - 1);
        }
        line.push(b'\n');
        line
    }

    /// What a run learns: every complete line not yet seen, in write order.
    fn observe(&mut self) {
        let (max_line, ic) = (self.case.max_line, self.case.ignore_case);
        for c in 0..self.files.len() {
            if let Some((id, seen)) = self.files[c].source.take() {
                let o = self.files.iter().find(|f| f.id == id).unwrap();
                if o.name.is_none() || o.data.len() < seen {
                    self.files[c].seen = seen;
                }
            }
        }
        for f in &mut self.files {
            f.run_len = f.data.len();
        }
        for i in 0..self.files.len() {
            let f = &self.files[i];
            let Some(name) = f.name.clone() else { continue };
            if f.incarnation != self.incarnation {
                continue;
            }
            let Some(last_nl) = f.data.iter().rposition(|&b| b == b'\n') else {
                continue;
            };
            let end = last_nl + 1;
            let mut start = f.seen;
            let path = self.path(&name).display().to_string();
            let mut found = Vec::new();
            while start < end {
                let nl = start + f.data[start..end].iter().position(|&b| b == b'\n').unwrap();
                let line = &f.data[start..nl];
                let long = line.len() >= max_line;
                let excepted = find(line, EXCEPT, ic).is_some();
                assert!(!(long && excepted), "model: a long line with an exception");
                if let (Some(pattern), false) = (leftmost_first(line, ic), excepted) {
                    found.push(SeenLine {
                        time: self.now,
                        path: path.clone(),
                        offset: start,
                        pattern,
                        long,
                        text: line.to_vec(),
                    });
                }
                start = nl + 1;
            }
            self.seen.extend(found);
            self.files[i].seen = end;
        }
    }

    /// The naive verdict: the first counting line that completes `threshold`
    /// lines within the window.
    fn verdict(&mut self) {
        if self.trip.is_some() {
            return;
        }
        let n = self.case.threshold as usize;
        let w = self.case.window_ms.map(|w| w * MS);
        self.trip = (n - 1..self.seen.len())
            .find(|&k| w.is_none_or(|w| self.seen[k].time - self.seen[k + 1 - n].time <= w));
    }

    fn run(&mut self) -> Result<(), TestCaseError> {
        self.observe();
        self.verdict();
        let out = check::check_at(&self.cfg, self.now);
        let state = fs::read(&self.cfg.state_path).unwrap_or_default();
        prop_assert!(
            state.is_empty() || logprobe::state::parse(&state).is_ok(),
            "state does not parse: {}",
            String::from_utf8_lossy(&state)
        );
        self.compare(&out)
    }

    fn compare(&self, out: &Outcome) -> Result<(), TestCaseError> {
        let ctx = || self.context(out);
        prop_assert!(out.errors.is_empty(), "errors: {:?}\n{}", out.errors, ctx());
        match self.trip.map(|k| &self.seen[k]) {
            None => {
                prop_assert_eq!(out.status, Status::Healthy, "false trip\n{}", ctx());
                prop_assert_eq!(out.exit.code(), 0);
            }
            Some(want) => {
                prop_assert_eq!(out.status, Status::Unhealthy, "missed trip\n{}", ctx());
                prop_assert_eq!(out.exit.code(), 1);
                let got = out.matched.as_ref().unwrap();
                prop_assert_eq!(&got.file, &want.path, "file\n{}", ctx());
                prop_assert_eq!(got.offset, want.offset as u64, "offset\n{}", ctx());
                if want.long {
                    prop_assert!(
                        find(&want.text, &got.pattern, self.case.ignore_case).is_some(),
                        "pattern {:?} not in the long line\n{}",
                        got.pattern,
                        ctx()
                    );
                } else {
                    prop_assert_eq!(&got.pattern, PATTERNS[want.pattern], "pattern\n{}", ctx());
                }
                prop_assert_eq!(got.count, self.case.threshold);
                prop_assert_eq!(
                    &got.first_seen,
                    &format_rfc3339(want.time),
                    "first seen\n{}",
                    ctx()
                );
            }
        }
        Ok(())
    }

    fn context(&self, out: &Outcome) -> String {
        let mut s = format!(
            "outcome: {}\nsince {} now {}\nexpected trip: {:?}\ncounting lines seen:\n",
            serde_json::to_string(out).unwrap(),
            self.since,
            self.now,
            self.trip
        );
        for l in &self.seen {
            s += &format!(
                "  t={} {}@{} pattern {} long {} {:?}\n",
                (l.time - T0) / MS,
                l.path,
                l.offset,
                l.pattern,
                l.long,
                String::from_utf8_lossy(&l.text)
            );
        }
        s += "files:\n";
        for (i, f) in self.files.iter().enumerate() {
            s += &format!(
                "  {} inc {} len {} seen {}{}\n",
                self.name_of(i),
                f.incarnation,
                f.data.len(),
                f.seen,
                if i == self.current { " (current)" } else { "" }
            );
        }
        s += "ops:\n";
        for l in &self.log {
            s += &format!("  {l}\n");
        }
        s += &format!(
            "state: {}",
            fs::read_to_string(&self.cfg.state_path).unwrap_or_default()
        );
        s
    }

    fn apply(&mut self, op: &Op, dt_ms: u32) -> Result<(), TestCaseError> {
        let dt = match op {
            Op::Sleep => i64::from(dt_ms) * 20 * MS,
            // A truncated file's time always moves on, so that it is never
            // taken for unchanged (same size, same time) once rewritten.
            Op::CopyTruncate => i64::from(dt_ms.max(1)) * MS,
            _ => i64::from(dt_ms) * MS,
        };
        self.now += dt;
        self.log.push(format!("t={} {op:?}", (self.now - T0) / MS));
        match op {
            Op::Write { line, n } => {
                if let Some(spec) = line {
                    let bytes = self.render(spec);
                    let long = spec.long;
                    self.pending.extend_from_slice(&bytes);
                    if long {
                        // Long lines are written whole (see the module comment).
                        self.write(self.pending.len());
                        return Ok(());
                    }
                }
                let n = if *n >= 150 {
                    self.pending.len()
                } else {
                    usize::from(*n)
                };
                self.write(n);
            }
            Op::Burst { lines } => {
                for _ in 0..*lines {
                    self.seq += 1;
                    let line = format!("L{:06} bb a bb\n", self.seq);
                    self.pending.extend_from_slice(line.as_bytes());
                }
                self.write(self.pending.len());
            }
            Op::Rotate => self.rotate(),
            Op::CopyTruncate => self.copy_truncate(),
            Op::Restart { crash } => {
                if !crash {
                    self.write(self.pending.len());
                }
                self.pending.clear();
                self.now += MS;
                self.since = self.now;
                self.incarnation += 1;
                self.seen.clear();
                self.trip = None;
                self.cfg = config(&self.case, &self.env, self.since);
                self.rotate(); // rotateonstartup
            }
            Op::Run => self.run()?,
            Op::Sleep => {}
        }
        Ok(())
    }
}

/// The filebeat preset's globs moved into `logs/`, with the model's patterns.
fn config(case: &Case, env: &Env, since: i64) -> Config {
    let args = CheckArgs {
        preset: Some(PresetName::None),
        logs: env.preset_globs(),
        patterns: PATTERNS.iter().map(|s| s.to_string()).collect(),
        excepts: vec![EXCEPT.to_string()],
        ignore_case: case.ignore_case,
        state: Some(env.state()),
        threshold: Some(case.threshold.to_string()),
        window: case.window_ms.map(|w| format!("{w}ms")),
        budget: Some("1h".into()),
        since: Some(crate::util::at_ns(since)),
        max_line: Some(case.max_line),
        map_window: Some(case.max_line + 5 + case.window_extra),
        ..CheckArgs::default()
    };
    Config::from_args(&args).unwrap()
}

fn run_case(scheme: Scheme, case: Case) -> Result<(), TestCaseError> {
    let mut m = Model::new(scheme, case.clone());
    for (op, dt) in &case.ops {
        m.apply(op, *dt)?;
    }
    m.apply(&Op::Run, 1)
}

proptest! {
    #![proptest_config(proptest_config(1500))]

    #[test]
    fn filebeat_7x_rename_rotation(case in case()) {
        run_case(Scheme::V7, case)?;
    }

    #[test]
    fn filebeat_8x_new_file_rotation(case in case()) {
        run_case(Scheme::V8, case)?;
    }
}

/// Cases the model found, kept as plain examples.
mod examples {
    use super::*;

    fn case(threshold: u32) -> Case {
        Case {
            keep: 5,
            threshold,
            window_ms: None,
            ignore_case: false,
            max_line: 64,
            window_extra: 0,
            ops: Vec::new(),
        }
    }

    /// A file that begins like another one still on disk is not its copy:
    /// its lines are read, though its first 1 KiB matches the other's.
    #[test]
    fn a_file_beginning_like_another_is_read_whole() {
        let env = Env::on_tmpfs();
        let logs = env.logs.path();
        let cfg = config(&case(1), &env, T0);
        let benign: Vec<u8> = (0..64)
            .flat_map(|_| b"L000000 bb a bb bb a\n".to_vec())
            .collect();
        fs::write(logs.join("filebeat.1"), &benign).unwrap();
        set_mtime(&logs.join("filebeat.1"), T0 + MS);
        let out = check::check_at(&cfg, T0 + 2 * MS);
        assert_eq!(out.status, Status::Healthy, "{out:?}");
        // The same first 1 KiB, then a stuck line before the other's end.
        let mut data = benign[..1050].to_vec();
        data.extend_from_slice(b"\nL000001 STUCK\n");
        let at = data.len() - b"L000001 STUCK\n".len();
        data.extend_from_slice(&benign);
        fs::write(logs.join("filebeat"), &data).unwrap();
        set_mtime(&logs.join("filebeat"), T0 + 3 * MS);
        let out = check::check_at(&cfg, T0 + 4 * MS);
        assert_eq!(out.status, Status::Unhealthy, "{out:?}");
        assert_eq!(out.matched.unwrap().offset, at as u64);
    }
}
