//! Property tests: a model of Filebeat writing its log (lines cut into
//! arbitrary writes), rotating it by rename (7.x) or by new file (8.x),
//! logrotate's copytruncate (with 7.x names the copy is `filebeat.1`, which
//! the probe watches: what it read of the original must not count again),
//! deleting beyond keepfiles and restarting (a new incarnation:
//! rotate on startup, `--since` moves on), with probe runs
//! (`check::check_at`, tiny map windows and line bounds) at arbitrary points.
//!
//! After every run the probe's verdict must equal a naive one-shot
//! evaluation of the incarnation's complete lines in write order: trip or
//! not, which line (file, offset, pattern), the rule's evidence (its kind,
//! and its lines, span and counts), and when the line was first seen.
//!
//! Two kinds of cases:
//!
//! - *Classic* (`filebeat_7x_rename_rotation`, `filebeat_8x_new_file_rotation`):
//!   bare lines of tokens (NUL bytes, invalid UTF-8, long lines), three plain
//!   `-p` rules counted together with `-t`/`-w`, a line's time being the run
//!   that first had it complete.
//! - *Shaped* (`rules_persistence_and_stalls`): Filebeat-shaped lines (7.x
//!   text, 8.x ndjson) with their own times (UTC or with an offset), or in
//!   some cases none or an unparsable one (then the time of a line is the
//!   `now` given to the run that first had it complete); a persistence rule,
//!   a threshold rule with its own window and two plain rules (one `-p`, one
//!   patterns-file line) sharing `-t`/`-w`; with `--max-stall 2s` in some
//!   cases, metrics reports (stalled, moving, unreadable) and output error
//!   lines. The naive evaluation ([`Model::evaluate`]) is one loop over the
//!   lines: leftmost-first over the literal list (rules, then the report,
//!   then the output errors), exceptions, then per rule kind what SPEC §3a
//!   says. After the run, the test checks that the cases did reach
//!   persistence and stall trips, holes, restarts inside a run and runs
//!   across probe runs and files ([`Coverage`]).
//!
//! What the probe cannot see, and so the oracle does not expect: lines
//! deleted (rotated beyond keepfiles, or truncated) before any run had them
//! complete, and a partial line left in a file that is then deleted or
//! truncated. Lines of `max_line` bytes or more are written in one go: the
//! probe may count such a line before its newline arrives, which the fuzz
//! target `scan_incremental` covers instead; here they are still cut into
//! pieces by the map windows, and for them the oracle checks the line, not
//! which of its patterns was reported. Shaped cases have no long lines: a
//! piece's literal decides the rule (a persistence line or a count line),
//! and only the first piece has the line's time, so the naive verdict would
//! be ambiguous. Nor do they cut a line across a rotation or a
//! copytruncate (Filebeat rotates between whole lines; a fragment would be a
//! report that is half a report), and their copytruncate copy is not
//! watched (a copy the probe cannot tell from a new file is read again, a
//! known limit the classic cases model; its old lines would come after
//! newer ones, and "no gap longer than" has no one meaning for lines out of
//! time order).
//!
//! `LOGPROBE_PROPTEST_CASES=200000 cargo test --release --test integration model::`
//! runs the long mode.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use logprobe::check;
use logprobe::cli::{CheckArgs, PresetName};
use logprobe::config::Config;
use logprobe::report::Outcome;
use logprobe::source::identity::FINGERPRINT_BYTES;
use logprobe::state::Evidence;
use logprobe::timefmt::format_rfc3339;
use logprobe::verdict::Status;
use proptest::prelude::*;
use proptest::test_runner::{TestCaseError, TestRunner};

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
const S: i64 = 1_000 * MS;

// The shaped cases' rules, in the configuration's order: `-p` first, then
// the patterns file's lines. "UCK" is inside "STUCK" (which starts further
// left, so wins), "zz" inside "zzq" (same start: the earlier rule wins, so
// "zzq" comes first in the file).

/// `-p`: a plain rule, counted with [`PLAIN_FILE`] (`-t`, `-w`).
const PLAIN_P: &str = "UCK";
/// `[threshold=N window=W]`: a threshold rule with its own count.
const COUNT_RULE: &str = "zzq";
/// `[persist=P gap=G]`: the retry loop.
const PERSIST_RULE: &str = "STUCK";
/// A plain patterns-file line.
const PLAIN_FILE: &str = "zz";
/// Filebeat's metrics report (README, "Silent stalls").
const REPORT: &str = "Non-zero metrics in the last ";
/// An output that fails loudly (README, "Silent stalls").
const OUTPUT_ERRORS: [&str; 4] = [
    "Failed to connect to ",
    "Attempting to reconnect to ",
    "Failed to publish events",
    "failed to publish events",
];
/// `--max-stall` of the shaped cases that have it.
const MAX_STALL_MS: i64 = 2_000;
/// Pieces of shaped lines' messages: the rules' literals whole and in parts,
/// the exception, an output error. Nothing JSON would have to escape, no
/// report literal (a report is a line of its own kind, see [`Kind::Report`]).
const SHAPED_TOKENS: &[&str] = &[
    "a ",
    "bb ",
    "STUCK",
    "stuck",
    "ST",
    "UCK",
    "z",
    "zz",
    "q",
    "ok!",
    "o",
    "k!",
    "Failed to connect to ",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    /// `filebeat` → `filebeat.1` … by rename.
    V7,
    /// A new `filebeat-YYYYMMDD[-N].ndjson` per rotation.
    V8,
}

/// What a shaped line says (classic lines are all [`Kind::Tokens`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Its tokens.
    Tokens,
    /// The retry loop's message ([`PERSIST_RULE`]). Shaped lines other
    /// than [`Kind::Tokens`] have a few of their tokens before the message
    /// and the rest after it.
    Stuck,
    /// A metrics report.
    Report {
        reading: Reading,
        /// Which of the report shapes of `reading`.
        variant: u8,
        /// Events waiting, where the shape has them.
        active: u16,
    },
    /// One of the output error lines.
    OutputError { which: u8 },
}

/// What a report says, as the model wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reading {
    /// Events wait, the output does nothing.
    Stalled,
    /// Nothing waits, or the output acked, failed or retried.
    Moving,
    /// No numbers, no gauge, or a gauge that is not a number.
    Unreadable,
}

#[derive(Debug, Clone)]
struct LineSpec {
    tokens: Vec<u8>,
    long: bool,
    /// A long line's length; in shaped lines, how many tokens go first.
    pad: u16,
    kind: Kind,
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
    /// Time passes (for windows, holes).
    Sleep,
}

/// How shaped lines carry their time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TimeStyle {
    /// `2026-11-26T00:00:01.234Z`.
    Utc,
    /// `2026-11-26T01:00:01.234+0100` (7.x), `…+01:00` (8.x).
    Offset,
    /// None at all: the line takes the run's `now`.
    Absent,
    /// One that does not parse: the same.
    Broken,
}

/// The shaped cases' rules and lines.
#[derive(Debug, Clone)]
struct Shape {
    time: TimeStyle,
    persist_ms: i64,
    gap_ms: i64,
    count_threshold: u32,
    count_window_ms: Option<i64>,
    /// `--max-stall 2s`, else `off`.
    max_stall: bool,
}

#[derive(Debug, Clone)]
struct Case {
    keep: usize,
    /// `-t`: the plain rules' threshold.
    threshold: u32,
    /// `-w`.
    window_ms: Option<i64>,
    ignore_case: bool,
    max_line: usize,
    window_extra: usize,
    ops: Vec<(Op, u32)>,
    /// `None`: a classic case.
    shape: Option<Shape>,
}

fn line_spec() -> impl Strategy<Value = LineSpec> {
    (
        prop::collection::vec(any::<u8>(), 0..10),
        prop::bool::weighted(0.12),
        any::<u16>(),
    )
        .prop_map(|(tokens, long, pad)| LineSpec {
            tokens,
            long,
            pad,
            kind: Kind::Tokens,
        })
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
                shape: None,
            },
        )
}

fn shaped_kind() -> impl Strategy<Value = Kind> {
    let reading = prop_oneof![
        6 => Just(Reading::Stalled),
        3 => Just(Reading::Moving),
        2 => Just(Reading::Unreadable),
    ];
    prop_oneof![
        2 => Just(Kind::Tokens),
        8 => Just(Kind::Stuck),
        4 => (reading, any::<u8>(), 1u16..5000).prop_map(|(reading, variant, active)| {
            Kind::Report { reading, variant, active }
        }),
        1 => any::<u8>().prop_map(|which| Kind::OutputError { which }),
    ]
}

fn shaped_line() -> impl Strategy<Value = LineSpec> {
    (
        prop::collection::vec(any::<u8>(), 0..6),
        any::<u16>(),
        shaped_kind(),
    )
        .prop_map(|(tokens, pad, kind)| LineSpec {
            tokens,
            long: false,
            pad,
            kind,
        })
}

fn shaped_op() -> impl Strategy<Value = (Op, u32)> {
    let op = prop_oneof![
        20 => (prop::option::weighted(0.85, shaped_line()), 0u16..200)
            .prop_map(|(line, n)| Op::Write { line, n }),
        7 => Just(Op::Run),
        1 => (10u8..40).prop_map(|lines| Op::Burst { lines }),
        2 => Just(Op::Rotate),
        1 => Just(Op::CopyTruncate),
        1 => any::<bool>().prop_map(|crash| Op::Restart { crash }),
        1 => Just(Op::Sleep),
    ];
    // Mostly shorter than the gaps (a loop goes on), sometimes longer (a
    // hole); some round, so that a hole of exactly the gap comes up.
    let round = prop_oneof![Just(500u32), Just(1_000), Just(1_500)];
    (
        op,
        prop_oneof![2 => Just(0u32), 10 => 1u32..200, 1 => 200u32..3000, 1 => round],
    )
}

fn shaped_case() -> impl Strategy<Value = Case> {
    let time = prop_oneof![
        2 => Just(TimeStyle::Utc),
        1 => Just(TimeStyle::Offset),
        1 => Just(TimeStyle::Absent),
        1 => Just(TimeStyle::Broken),
    ];
    let shape = (
        time,
        prop_oneof![Just(1_500i64), Just(3_000)],
        prop_oneof![Just(1_000i64), Just(1_500)],
        2u32..4,
        prop_oneof![Just(None), Just(Some(1_000i64)), Just(Some(3_000))],
        any::<bool>(),
    )
        .prop_map(
            |(time, persist_ms, gap_ms, count_threshold, count_window_ms, max_stall)| Shape {
                time,
                persist_ms,
                gap_ms,
                count_threshold,
                count_window_ms,
                max_stall,
            },
        );
    (
        2usize..5,
        3u32..6,
        prop_oneof![Just(None), Just(Some(1_000i64)), Just(Some(4_000))],
        prop::bool::weighted(0.25),
        900usize..1000,
        0usize..400,
        prop::collection::vec(shaped_op(), 1..80),
        shape,
    )
        .prop_map(
            |(keep, threshold, window_ms, ignore_case, max_line, window_extra, ops, shape)| Case {
                keep,
                threshold,
                window_ms,
                ignore_case,
                max_line,
                window_extra,
                ops,
                shape: Some(shape),
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
    /// Its length at the last run: the probe fingerprints a file by its
    /// first 1 KiB, or all of it when shorter.
    run_len: usize,
    /// For a copy: the original's `id` and `seen`, and whether its
    /// fingerprint was a whole 1 KiB; settled at the next run.
    source: Option<(usize, usize, bool)>,
    /// Unique, stable across insertions.
    id: usize,
    /// The incarnation that wrote it.
    incarnation: usize,
}

/// What the model wrote into a line, beyond its bytes.
#[derive(Debug, Clone, Copy)]
struct Meta {
    /// Its own time, where it has one that parses.
    time: Option<i64>,
    /// For a report: whether stalled, and how many events wait.
    stalled: Option<Option<u64>>,
}

/// A line that matched a literal and holds no exception, as first seen by a run.
#[derive(Debug, Clone)]
struct SeenLine {
    /// Its own time, else `seen_at`.
    time: i64,
    /// The `now` of the run that first had it complete.
    seen_at: i64,
    path: String,
    /// The [`MFile::id`] of its file.
    file: usize,
    offset: usize,
    /// The literal a leftmost-first one-shot scan finds first, in
    /// [`Model::literals`]; for a long line the probe may report any in it.
    literal: usize,
    long: bool,
    text: Vec<u8>,
    /// For a report: `Some(active)` when stalled, `None` when not.
    stalled: Option<u64>,
}

/// When a model rule trips.
#[derive(Debug, Clone, Copy)]
enum MWhen {
    /// `threshold` lines within `window` ns; `shared`: a rule without
    /// options of its own, one count with every other such rule.
    Count {
        threshold: u32,
        window: Option<i64>,
        shared: bool,
    },
    /// Lines for `for_ns`, none more than `gap` after the one before.
    Persist { for_ns: i64, gap: i64 },
}

/// What the naive evaluation expects of a trip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Expected {
    /// Index into [`Model::seen`].
    line: usize,
    count: u32,
    evidence: Evidence,
}

/// What one incarnation's lines went through, for [`Coverage`].
#[derive(Debug, Default, Clone, Copy)]
struct Walk {
    /// A persistence run with lines, not tripped, at the end.
    persist_open: bool,
    /// A persistence run of 2+ lines broken by a hole.
    hole: bool,
    /// Stalled reports broken by a report that is not or an output error.
    stall_reset: bool,
}

/// What the generated shaped cases reached (summed over the cases run).
#[derive(Debug, Default)]
struct Coverage {
    cases: u32,
    count_trips: u32,
    persist_trips: u32,
    stall_trips: u32,
    /// Persistence trips whose run's lines came in 2+ probe runs.
    persist_across_runs: u32,
    /// … in 2+ files (across rotations).
    persist_across_files: u32,
    /// Persistence trips on lines without a time of their own.
    persist_untimed: u32,
    /// Restarts while a persistence run had lines.
    restart_in_persist: u32,
    holes: u32,
    stall_resets: u32,
    excepted: u32,
}

impl Coverage {
    fn add(&mut self, o: &Coverage) {
        self.cases += o.cases;
        self.count_trips += o.count_trips;
        self.persist_trips += o.persist_trips;
        self.stall_trips += o.stall_trips;
        self.persist_across_runs += o.persist_across_runs;
        self.persist_across_files += o.persist_across_files;
        self.persist_untimed += o.persist_untimed;
        self.restart_in_persist += o.restart_in_persist;
        self.holes += o.holes;
        self.stall_resets += o.stall_resets;
        self.excepted += o.excepted;
    }
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
    /// The rules, in the configuration's order, as the model means them.
    rules: Vec<(String, MWhen)>,
    /// Every literal looked for: the rules', then with `--max-stall` the
    /// report and the output errors.
    literals: Vec<String>,
    max_stall: Option<i64>,
    /// What each shaped line carries, by its bytes (unique: `L<seq>`).
    meta: HashMap<Vec<u8>, Meta>,
    /// Counting lines of this incarnation, in write order.
    seen: Vec<SeenLine>,
    /// The trip the naive evaluation found, once tripped.
    trip: Option<Expected>,
    cfg: Config,
    log: Vec<String>,
    coverage: Coverage,
}

fn set_mtime(path: &Path, ns: i64) {
    crate::util::set_mtime(path, UNIX_EPOCH + Duration::from_nanos(ns as u64));
}

/// Whether `lit` is at `i` in `line`.
fn is_at(line: &[u8], i: usize, lit: &str, ignore_case: bool) -> bool {
    let lit = lit.as_bytes();
    line.len() - i >= lit.len()
        && if ignore_case {
            line[i..i + lit.len()].eq_ignore_ascii_case(lit)
        } else {
            &line[i..i + lit.len()] == lit
        }
}

fn find(line: &[u8], lit: &str, ignore_case: bool) -> Option<usize> {
    (0..line.len()).find(|&i| is_at(line, i, lit, ignore_case))
}

/// The literal a leftmost-first one-shot scan finds in `line`: the one that
/// starts leftmost, of those the first in `literals`.
fn leftmost_first(line: &[u8], literals: &[String], ignore_case: bool) -> Option<usize> {
    (0..line.len()).find_map(|at| {
        literals
            .iter()
            .position(|p| is_at(line, at, p, ignore_case))
    })
}

/// `t` with milliseconds, shifted by `hours` and ending with `zone`.
fn time_text(t: i64, hours: i64, zone: &str) -> String {
    let s = format_rfc3339(t + hours * 3600 * S);
    format!("{}.{:03}{zone}", &s[..19], t.rem_euclid(S) / MS)
}

/// A report's metrics object, as Filebeat prints them (see `tests/stall.rs`);
/// `None`: a report without its numbers.
fn metrics(reading: Reading, variant: u8, active: u16) -> Option<String> {
    let a = active;
    Some(match (reading, variant % 5) {
        (Reading::Stalled, 0 | 3) => format!(
            r#"{{"beat":{{"info":{{"uptime":{{"ms":840082}}}}}},"libbeat":{{"output":{{"events":{{"active":0}},"write":{{"bytes":0}}}},"pipeline":{{"clients":1,"events":{{"active":{a},"published":12}}}}}},"registrar":{{"states":{{"current":4}}}}}}"#
        ),
        (Reading::Stalled, 1 | 4) => format!(
            r#"{{"libbeat":{{"output":{{"events":{{"acked":0}}}},"pipeline":{{"events":{{"active":{a}}}}}}}}}"#
        ),
        (Reading::Stalled, _) => format!(
            r#"{{"libbeat":{{"pipeline":{{"clients":2,"events":{{"active":{a},"filtered":3}}}}}}}}"#
        ),
        (Reading::Moving, 0) => format!(
            r#"{{"libbeat":{{"output":{{"events":{{"acked":2048,"active":0,"batches":1,"total":2048}}}},"pipeline":{{"clients":1,"events":{{"active":{a},"published":2048}}}}}}}}"#
        ),
        (Reading::Moving, 1) => {
            r#"{"libbeat":{"output":{"events":{"active":0}},"pipeline":{"clients":1,"events":{"active":0}}}}"#.to_string()
        }
        (Reading::Moving, 2) => format!(
            r#"{{"libbeat":{{"output":{{"events":{{"failed":2048,"batches":1}}}},"pipeline":{{"clients":1,"events":{{"active":{a}}}}}}}}}"#
        ),
        (Reading::Moving, 3) => format!(
            r#"{{"libbeat":{{"pipeline":{{"clients":1,"events":{{"active":{a},"retry":2048}}}}}}}}"#
        ),
        (Reading::Moving, _) => format!(
            r#"{{"libbeat":{{"output":{{"write":{{"errors":1}}}},"pipeline":{{"events":{{"active":{a}}}}}}}}}"#
        ),
        (Reading::Unreadable, 0 | 3) => return None,
        (Reading::Unreadable, 1 | 4) => r#"{"libbeat":{"pipeline":{"clients":1}}}"#.to_string(),
        (Reading::Unreadable, _) => {
            r#"{"libbeat":{"pipeline":{"events":{"active":"many"}}}}"#.to_string()
        }
    })
}

impl Model {
    fn new(scheme: Scheme, case: Case) -> Model {
        let env = Env::on_tmpfs();
        let logs = env.logs.path().to_path_buf();
        let (rules, literals, max_stall) = match &case.shape {
            None => {
                let when = MWhen::Count {
                    threshold: case.threshold,
                    window: case.window_ms.map(|w| w * MS),
                    shared: true,
                };
                let rules = PATTERNS.iter().map(|p| (p.to_string(), when)).collect();
                (rules, PATTERNS.map(String::from).to_vec(), None)
            }
            Some(shape) => {
                write_rules_file(&env, shape);
                let plain = MWhen::Count {
                    threshold: case.threshold,
                    window: case.window_ms.map(|w| w * MS),
                    shared: true,
                };
                let rules: Vec<(String, MWhen)> = vec![
                    (PLAIN_P.into(), plain),
                    (
                        COUNT_RULE.into(),
                        MWhen::Count {
                            threshold: shape.count_threshold,
                            window: shape.count_window_ms.map(|w| w * MS),
                            shared: false,
                        },
                    ),
                    (
                        PERSIST_RULE.into(),
                        MWhen::Persist {
                            for_ns: shape.persist_ms * MS,
                            gap: shape.gap_ms * MS,
                        },
                    ),
                    (PLAIN_FILE.into(), plain),
                ];
                let mut literals: Vec<String> = rules.iter().map(|r| r.0.clone()).collect();
                let max_stall = shape.max_stall.then_some(MAX_STALL_MS * MS);
                if max_stall.is_some() {
                    literals.push(REPORT.into());
                    literals.extend(OUTPUT_ERRORS.map(String::from));
                }
                (rules, literals, max_stall)
            }
        };
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
            rules,
            literals,
            max_stall,
            meta: HashMap::new(),
            seen: Vec::new(),
            trip: None,
            cfg,
            log: Vec::new(),
            coverage: Coverage {
                cases: 1,
                ..Coverage::default()
            },
        };
        m.open_new();
        m
    }

    fn shaped(&self) -> bool {
        self.case.shape.is_some()
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
        if self.shaped() {
            // Filebeat rotates between whole lines.
            self.write(self.pending.len());
        }
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
    /// truncated. 8.x, and shaped cases (see the module comment): the copy
    /// goes to an unwatched (compressed) name.
    fn copy_truncate(&mut self) {
        if self.shaped() {
            // logrotate cuts no line in two here (see the module comment).
            self.write(self.pending.len());
        }
        let i = self.current;
        let name = self.files[i].name.clone().unwrap();
        let path = self.path(&name);
        if self.scheme == Scheme::V7 && !self.shaped() {
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
                // The probe takes it for a copy when it starts with what the
                // last run fingerprinted of the original, and at the next run
                // the original no longer holds what was read (truncated here,
                // then rewritten with other lines), or is gone and had a whole
                // 1 KiB fingerprint: then what was read of the original is not
                // read again. A small original that is gone leaves its copy
                // looking new, read whole: modelled rather than expected away.
                source: (f.seen > 0).then_some((f.id, f.seen, f.run_len >= FINGERPRINT_BYTES)),
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
        if self.shaped() {
            return self.render_shaped(spec);
        }
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

    /// A Filebeat-shaped line (7.x text or 8.x ndjson) of the model's time,
    /// its time and reading remembered in [`Model::meta`].
    fn render_shaped(&mut self, spec: &LineSpec) -> Vec<u8> {
        let style = self.case.shape.as_ref().unwrap().time;
        self.seq += 1;
        let tokens: Vec<&str> = spec
            .tokens
            .iter()
            .map(|&t| SHAPED_TOKENS[usize::from(t) % SHAPED_TOKENS.len()])
            .collect();
        let first = [0, 0, 0, 1, 2][usize::from(spec.pad) % 5].min(tokens.len());
        let (before, after) = (tokens[..first].concat(), tokens[first..].concat());
        let seq = format!("L{:06} ", self.seq);
        let mut stalled = None;
        let mut tail = None;
        let (level, logger, origin, message) = match spec.kind {
            Kind::Tokens => ("INFO", "input", "log/input.go:117", tokens.concat()),
            Kind::Stuck => (
                "ERROR",
                "autodiscover",
                "cfgfile/list.go:95",
                format!(
                    "{before}Error creating runner from config: {PERSIST_RULE}: {{Id: native::1308836-2049, Finished: false}} {after}"
                ),
            ),
            Kind::Report {
                reading,
                variant,
                active,
            } => {
                stalled = Some((reading == Reading::Stalled).then_some(u64::from(active)));
                tail = metrics(reading, variant, active);
                (
                    "INFO",
                    "monitoring",
                    "log/log.go:184",
                    format!("{before}Non-zero metrics in the last 30s {after}"),
                )
            }
            Kind::OutputError { which } => {
                let text = [
                    "Failed to connect to backoff(async(tcp://logstash:5044)): dial tcp 10.1.2.3:5044: i/o timeout",
                    "Attempting to reconnect to backoff(async(tcp://logstash:5044)) with 3 reconnect attempt(s)",
                    "Failed to publish events caused by: write tcp 10.1.2.4:39812->10.1.2.3:5044: write: broken pipe",
                    "failed to publish events: temporary bulk send failure",
                ][usize::from(which) % 4];
                (
                    "ERROR",
                    "publisher_pipeline_output",
                    "pipeline/client_worker.go:148",
                    format!("{before}{text} {after}"),
                )
            }
        };
        let t = self.now;
        let (stamp, time) = match (style, self.scheme) {
            (TimeStyle::Utc, _) => (Some(time_text(t, 0, "Z")), Some(t)),
            (TimeStyle::Offset, Scheme::V7) => (Some(time_text(t, 1, "+0100")), Some(t)),
            (TimeStyle::Offset, Scheme::V8) => (Some(time_text(t, 1, "+01:00")), Some(t)),
            (TimeStyle::Absent, _) => (None, None),
            (TimeStyle::Broken, Scheme::V7) => (Some(time_text(t, 0, "").replace('T', " ")), None),
            (TimeStyle::Broken, Scheme::V8) => (Some("Nov 26 00:00:01.000".into()), None),
        };
        let line = match self.scheme {
            Scheme::V7 => {
                let head = stamp.map(|s| format!("{s}\t")).unwrap_or_default();
                let tail = tail
                    .map(|m| format!("\t{{\"monitoring\": {{\"metrics\": {m}}}}}"))
                    .unwrap_or_default();
                format!("{head}{level}\t[{logger}]\t{origin}\t{seq}{message}{tail}")
            }
            Scheme::V8 => {
                let ts = stamp
                    .map(|s| format!("\"@timestamp\":\"{s}\","))
                    .unwrap_or_default();
                let tail = tail
                    .map(|m| {
                        format!(",\"monitoring\":{{\"metrics\":{m},\"ecs.version\":\"1.6.0\"}}")
                    })
                    .unwrap_or_default();
                let (file, n) = origin.split_once(':').unwrap();
                format!(
                    "{{\"log.level\":\"{}\",{ts}\"log.logger\":\"{logger}\",\"log.origin\":{{\"file.name\":\"{file}\",\"file.line\":{n}}},\"message\":\"{seq}{message}\",\"service.name\":\"filebeat\"{tail}}}",
                    level.to_lowercase()
                )
            }
        };
        assert!(
            line.len() < self.case.max_line && !line.contains('\n'),
            "model: a shaped line of {} bytes, max_line {}",
            line.len(),
            self.case.max_line
        );
        self.meta
            .insert(line.clone().into_bytes(), Meta { time, stalled });
        let mut line = line.into_bytes();
        line.push(b'\n');
        line
    }

    /// What a run learns: every complete line not yet seen, in write order.
    fn observe(&mut self) {
        let (max_line, ic) = (self.case.max_line, self.case.ignore_case);
        for c in 0..self.files.len() {
            if let Some((id, seen, whole)) = self.files[c].source.take() {
                let o = self.files.iter().find(|f| f.id == id).unwrap();
                // Still there, it was truncated: shorter than `seen`, or
                // starting with lines written since (every line is unique).
                if o.name.is_some() || whole {
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
                let literal = leftmost_first(line, &self.literals, ic);
                if let (Some(literal), false) = (literal, excepted) {
                    let meta = self.meta.get(line);
                    let stalled = meta.and_then(|m| m.stalled);
                    assert!(
                        literal != self.rules.len() || stalled.is_some(),
                        "model: a report it did not write: {:?}",
                        String::from_utf8_lossy(line)
                    );
                    found.push(SeenLine {
                        time: meta.and_then(|m| m.time).unwrap_or(self.now),
                        seen_at: self.now,
                        path: path.clone(),
                        file: f.id,
                        offset: start,
                        literal,
                        long,
                        text: line.to_vec(),
                        stalled: stalled.flatten(),
                    });
                } else if literal.is_some() {
                    self.coverage.excepted += 1;
                }
                start = nl + 1;
            }
            self.seen.extend(found);
            self.files[i].seen = end;
        }
    }

    /// The naive verdict: the incarnation's counting lines in write order,
    /// each judged by the rule of its literal, until one trips.
    ///
    /// - A threshold rule trips on the line that makes `threshold` lines of
    ///   its count (its own, or the one shared by the rules without options)
    ///   within `window` before it, by the lines' times.
    /// - A persistence rule's run starts at a line more than `gap` after the
    ///   rule's previous line (or its first); it trips on the line that is
    ///   `for` or more after its run's first.
    /// - A stalled report starts a stall, or adds to it; it trips on the
    ///   report `--max-stall` or more after the stall's first. Any other
    ///   report, and an output error line, ends the stall.
    fn evaluate(&self) -> (Option<Expected>, Walk) {
        let mut walk = Walk::default();
        // Times of the lines of each count ("shared": the plain rules').
        let mut counts: HashMap<Option<usize>, Vec<i64>> = HashMap::new();
        // Per persistence rule: its run's first line (index), first and last time, lines.
        let mut runs: HashMap<usize, (usize, i64, i64, u32)> = HashMap::new();
        // The stall: first time, reports.
        let mut stall: Option<(i64, u32)> = None;
        for (k, l) in self.seen.iter().enumerate() {
            let t = l.time;
            if let Some((_, when)) = self.rules.get(l.literal) {
                match *when {
                    MWhen::Count {
                        threshold,
                        window,
                        shared,
                    } => {
                        let times = counts.entry((!shared).then_some(l.literal)).or_default();
                        times.push(t);
                        let within = times
                            .iter()
                            .filter(|&&x| window.is_none_or(|w| t - x <= w))
                            .count() as u32;
                        if within >= threshold {
                            let evidence = Evidence::Count {
                                threshold,
                                window_ns: window,
                            };
                            let e = Expected {
                                line: k,
                                count: within,
                                evidence,
                            };
                            return (Some(e), walk);
                        }
                    }
                    MWhen::Persist { for_ns, gap } => {
                        let run = match runs.get(&l.literal) {
                            Some(&(at, first, last, n)) if t - last <= gap => (at, first, t, n + 1),
                            Some(&(_, _, _, n)) => {
                                walk.hole |= n >= 2;
                                (k, t, t, 1)
                            }
                            None => (k, t, t, 1),
                        };
                        runs.insert(l.literal, run);
                        let (_, first, last, lines) = run;
                        if last - first >= for_ns {
                            let evidence = Evidence::Persist {
                                first,
                                last,
                                lines,
                                for_ns,
                            };
                            let e = Expected {
                                line: k,
                                count: lines,
                                evidence,
                            };
                            return (Some(e), walk);
                        }
                    }
                }
            } else if let (true, Some(active)) = (l.literal == self.rules.len(), l.stalled) {
                let (first, reports) = stall.map_or((t, 1), |(f, n)| (f, n + 1));
                stall = Some((first, reports));
                let for_ns = self.max_stall.unwrap();
                if t - first >= for_ns {
                    let evidence = Evidence::Stall {
                        first,
                        last: t,
                        reports,
                        active,
                        for_ns,
                    };
                    let e = Expected {
                        line: k,
                        count: reports,
                        evidence,
                    };
                    return (Some(e), walk);
                }
            } else {
                // A report that is not stalled, or an output error line.
                walk.stall_reset |= stall.is_some();
                stall = None;
            }
        }
        walk.persist_open = !runs.is_empty();
        (None, walk)
    }

    /// Adds what this incarnation's lines reached to the case's coverage.
    fn tally(&mut self, restart: bool) {
        let (trip, walk) = self.evaluate();
        let c = &mut self.coverage;
        c.holes += u32::from(walk.hole);
        c.stall_resets += u32::from(walk.stall_reset);
        c.restart_in_persist += u32::from(restart && walk.persist_open);
        let Some(e) = trip else { return };
        match e.evidence {
            Evidence::Count { .. } => c.count_trips += 1,
            Evidence::Stall { .. } => c.stall_trips += 1,
            Evidence::Persist { first, .. } => {
                c.persist_trips += 1;
                let lit = self.seen[e.line].literal;
                let run: Vec<&SeenLine> = self.seen[..=e.line]
                    .iter()
                    .filter(|l| l.literal == lit && l.time >= first)
                    .collect();
                let differ = |f: fn(&SeenLine) -> i64| run.iter().any(|l| f(l) != f(run[0]));
                c.persist_across_runs += u32::from(differ(|l| l.seen_at));
                c.persist_across_files += u32::from(differ(|l| l.file as i64));
                c.persist_untimed += u32::from(run.iter().all(|l| l.time == l.seen_at));
            }
        }
    }

    fn run(&mut self) -> Result<(), TestCaseError> {
        self.observe();
        if self.trip.is_none() {
            self.trip = self.evaluate().0;
        }
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
        match self.trip {
            None => {
                prop_assert_eq!(out.status, Status::Healthy, "false trip\n{}", ctx());
                prop_assert_eq!(out.exit.code(), 0);
            }
            Some(e) => {
                let want = &self.seen[e.line];
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
                    prop_assert_eq!(
                        &got.pattern,
                        &self.literals[want.literal],
                        "pattern\n{}",
                        ctx()
                    );
                }
                prop_assert_eq!(got.evidence, Some(e.evidence), "evidence\n{}", ctx());
                prop_assert_eq!(got.count, e.count, "count\n{}", ctx());
                prop_assert_eq!(
                    &got.first_seen,
                    &format_rfc3339(want.seen_at),
                    "first seen\n{}",
                    ctx()
                );
            }
        }
        Ok(())
    }

    fn context(&self, out: &Outcome) -> String {
        let mut s = format!(
            "outcome: {}\nsince {} now {} (ms after T0)\nliterals: {:?}\nexpected trip: {:?}\ncounting lines seen (times in ms after T0):\n",
            serde_json::to_string(out).unwrap(),
            (self.since - T0) / MS,
            (self.now - T0) / MS,
            self.literals,
            self.trip
        );
        for (k, l) in self.seen.iter().enumerate() {
            s += &format!(
                "  #{k} t={} seen={} {}@{} literal {} long {} stalled {:?} {:?}\n",
                (l.time - T0) / MS,
                (l.seen_at - T0) / MS,
                l.path,
                l.offset,
                l.literal,
                l.long,
                l.stalled,
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
        let sleep = if self.shaped() { 4 } else { 20 };
        let dt = match op {
            Op::Sleep => i64::from(dt_ms) * sleep * MS,
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
                    let line = if self.shaped() {
                        let spec = LineSpec {
                            tokens: vec![1, 0, 1],
                            long: false,
                            pad: 0,
                            kind: Kind::Tokens,
                        };
                        self.render_shaped(&spec)
                    } else {
                        self.seq += 1;
                        format!("L{:06} bb a bb\n", self.seq).into_bytes()
                    };
                    self.pending.extend_from_slice(&line);
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
                self.tally(true);
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

/// The shaped cases' patterns file, in the env's directory.
fn rules_path(env: &Env) -> PathBuf {
    env.root().join("rules.txt")
}

fn write_rules_file(env: &Env, shape: &Shape) {
    let window = shape
        .count_window_ms
        .map(|w| format!(" window={w}ms"))
        .unwrap_or_default();
    let text = format!(
        "# the model's rules (tests/model.rs)\n[threshold={}{window}] {COUNT_RULE}\n[persist={}ms gap={}ms] {PERSIST_RULE}\n\n{PLAIN_FILE}\n",
        shape.count_threshold, shape.persist_ms, shape.gap_ms
    );
    fs::write(rules_path(env), text).unwrap();
}

/// The filebeat preset's globs moved into `logs/`, with the model's rules.
fn config(case: &Case, env: &Env, since: i64) -> Config {
    let (patterns, patterns_file, max_stall) = match &case.shape {
        None => (PATTERNS.map(String::from).to_vec(), None, None),
        Some(shape) => (
            vec![PLAIN_P.to_string()],
            Some(rules_path(env)),
            Some(if shape.max_stall { "2s" } else { "off" }.to_string()),
        ),
    };
    let longest = [PATTERNS.as_slice(), &OUTPUT_ERRORS, &[REPORT, EXCEPT]]
        .concat()
        .iter()
        .map(|l| l.len())
        .max()
        .unwrap();
    let args = CheckArgs {
        preset: Some(PresetName::None),
        logs: env.preset_globs(),
        patterns,
        patterns_file,
        excepts: vec![EXCEPT.to_string()],
        ignore_case: case.ignore_case,
        state: Some(env.state()),
        threshold: Some(case.threshold.to_string()),
        window: case.window_ms.map(|w| format!("{w}ms")),
        max_stall,
        budget: Some("1h".into()),
        since: Some(crate::util::at_ns(since)),
        // The crash-loop guard is not modelled yet.
        max_restarts: Some("0".into()),
        max_line: Some(case.max_line),
        map_window: Some(
            case.max_line + if case.shape.is_some() { longest } else { 5 } + case.window_extra,
        ),
        ..CheckArgs::default()
    };
    Config::from_args(&args).unwrap()
}

/// Runs a case: its operations, then a last probe run; returns what its
/// lines reached.
fn run_case(scheme: Scheme, case: Case) -> Result<Coverage, TestCaseError> {
    let mut m = Model::new(scheme, case.clone());
    for (op, dt) in &case.ops {
        m.apply(op, *dt)?;
    }
    m.apply(&Op::Run, 1)?;
    m.tally(false);
    Ok(m.coverage)
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

/// Shaped cases (see the module comment), 7.x and 8.x, then a check that
/// they reached what they are for: trips of every kind, persistence runs
/// across probe runs and rotations and without line times, restarts inside
/// a persistence run, holes, stalls broken (by the default number of cases;
/// fewer, from `LOGPROBE_PROPTEST_CASES`, are not checked for it).
#[test]
fn rules_persistence_and_stalls() {
    const CASES: u32 = 1500;
    let mut config = proptest_config(CASES);
    config.source_file = Some(file!());
    let cases = config.cases;
    let mut runner = TestRunner::new(config);
    let total = RefCell::new(Coverage::default());
    let result = runner.run(&(any::<bool>(), shaped_case()), |(v8, case)| {
        let scheme = if v8 { Scheme::V8 } else { Scheme::V7 };
        let c = run_case(scheme, case)?;
        total.borrow_mut().add(&c);
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}\n{runner}");
    }
    let c = total.into_inner();
    eprintln!("model::rules_persistence_and_stalls reached: {c:?}");
    if cases >= CASES {
        let reached = [
            c.count_trips,
            c.persist_trips,
            c.stall_trips,
            c.persist_across_runs,
            c.persist_across_files,
            c.persist_untimed,
            c.restart_in_persist,
            c.holes,
            c.stall_resets,
            c.excepted,
        ];
        assert!(
            reached.iter().all(|&n| n >= 5),
            "the generated cases no longer reach all they are for: {c:?}"
        );
    }
}

/// Cases the model found, and the scenarios the shaped cases are for, kept
/// as plain examples: each runs the model (so the probe is compared after
/// every run) and then checks the naive verdict itself.
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
            shape: None,
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

    /// A shaped case: persist 3s, gap 1200ms; `-t 4`, the threshold rule 3
    /// lines; `--max-stall 2s` when `stall`.
    fn shaped(time: TimeStyle, stall: bool, ops: Vec<(Op, u32)>) -> Case {
        Case {
            keep: 3,
            threshold: 4,
            window_ms: None,
            ignore_case: false,
            max_line: 900,
            window_extra: 0,
            ops,
            shape: Some(Shape {
                time,
                persist_ms: 3_000,
                gap_ms: 1_200,
                count_threshold: 3,
                count_window_ms: None,
                max_stall: stall,
            }),
        }
    }

    fn line(kind: Kind) -> Op {
        Op::Write {
            line: Some(LineSpec {
                tokens: Vec::new(),
                long: false,
                pad: 0,
                kind,
            }),
            n: 200,
        }
    }

    fn stuck() -> Op {
        line(Kind::Stuck)
    }

    fn report(reading: Reading) -> Op {
        line(Kind::Report {
            reading,
            variant: 0,
            active: 4117,
        })
    }

    /// Runs the case on both schemes; returns the naive trips.
    fn trips(case: &Case) -> Vec<Option<Evidence>> {
        [Scheme::V7, Scheme::V8]
            .into_iter()
            .map(|scheme| {
                let mut m = Model::new(scheme, case.clone());
                for (op, dt) in &case.ops {
                    m.apply(op, *dt)
                        .unwrap_or_else(|e| panic!("{scheme:?}: {e}"));
                }
                m.apply(&Op::Run, 1).unwrap();
                m.trip.map(|e| e.evidence)
            })
            .collect()
    }

    /// A retry loop every 400 ms, with a probe run after every second line
    /// and a rotation after every third: one persistence run across all of
    /// them, timed by the lines or (without times of their own) by the runs.
    #[test]
    fn a_persistence_run_across_probe_runs_and_rotations() {
        for time in [TimeStyle::Utc, TimeStyle::Absent, TimeStyle::Broken] {
            let mut ops = Vec::new();
            for i in 1..=12 {
                ops.push((stuck(), 400));
                if i % 2 == 0 {
                    ops.push((Op::Run, 0));
                }
                if i % 3 == 0 {
                    ops.push((Op::Rotate, 0));
                }
            }
            // By their own times: the 1st line at 0.4 s, the 9th at 3.6 s.
            // By the runs': the first run at 0.8 s, the fifth at 4 s.
            let (first, last) = match time {
                TimeStyle::Utc => (T0 + 400 * MS, T0 + 3_600 * MS),
                _ => (T0 + 800 * MS, T0 + 4_000 * MS),
            };
            let want = Some(Evidence::Persist {
                first,
                last,
                lines: 9,
                for_ns: 3 * S,
            });
            assert_eq!(
                trips(&shaped(time, false, ops)),
                vec![want, want],
                "{time:?}"
            );
        }
    }

    /// The loop goes on across restarts (clean, then a crash): each new
    /// incarnation starts its run afresh, so 2 s before and 2 s after never
    /// trip; without the restarts, the same lines do.
    #[test]
    fn a_restart_starts_the_persistence_run_afresh() {
        let ops = |restart: bool| {
            let mut ops = Vec::new();
            for crash in [false, true] {
                for _ in 0..5 {
                    ops.push((stuck(), 500));
                    ops.push((Op::Run, 0));
                }
                let op = if restart {
                    Op::Restart { crash }
                } else {
                    Op::Sleep
                };
                ops.push((op, 0));
            }
            ops
        };
        let got = trips(&shaped(TimeStyle::Utc, false, ops(true)));
        assert_eq!(got, vec![None, None]);
        let got = trips(&shaped(TimeStyle::Utc, false, ops(false)));
        assert!(
            matches!(got[..], [Some(Evidence::Persist { lines: 7, .. }), Some(_)]),
            "{got:?}"
        );
    }

    /// A hole longer than the gap breaks the loop into two bursts; the
    /// second trips once it lasts on its own.
    #[test]
    fn a_hole_in_the_retry_loop_starts_a_new_run() {
        let mut ops = Vec::new();
        for _ in 0..6 {
            ops.push((stuck(), 500));
        }
        ops.push((Op::Run, 0));
        ops.push((stuck(), 1_300)); // the hole, at 4.3 s
        for _ in 0..5 {
            ops.push((stuck(), 500));
            ops.push((Op::Run, 0));
        }
        assert_eq!(
            trips(&shaped(TimeStyle::Utc, false, ops.clone())),
            vec![None, None]
        );
        ops.push((stuck(), 500));
        let want = Some(Evidence::Persist {
            first: T0 + 4_300 * MS,
            last: T0 + 7_300 * MS,
            lines: 7,
            for_ns: 3 * S,
        });
        assert_eq!(trips(&shaped(TimeStyle::Utc, false, ops)), vec![want, want]);
    }

    /// A hole of exactly the gap does not break the loop; a millisecond
    /// more does.
    #[test]
    fn a_hole_of_exactly_the_gap_is_no_hole() {
        let ops = |hole: u32| {
            let mut ops = vec![(stuck(), 0), (Op::Run, 0)];
            ops.extend([(stuck(), 1_200), (Op::Run, 0), (stuck(), hole)]);
            ops.extend([(stuck(), 600), (Op::Run, 0)]);
            ops
        };
        let want = Some(Evidence::Persist {
            first: T0,
            last: T0 + 3_000 * MS,
            lines: 4,
            for_ns: 3 * S,
        });
        let got = trips(&shaped(TimeStyle::Utc, false, ops(1_200)));
        assert_eq!(got, vec![want, want]);
        let got = trips(&shaped(TimeStyle::Utc, false, ops(1_201)));
        assert_eq!(got, vec![None, None]);
    }

    /// Stalled reports every 500 ms across runs and a rotation trip at
    /// 2 s; a moving report, or an output error line, starts over; an
    /// excepted output error line does not count at all.
    #[test]
    fn stalled_reports_trip_unless_the_output_moves_or_fails() {
        let stalled = |n: usize| {
            let mut ops = Vec::new();
            for i in 0..n {
                ops.push((report(Reading::Stalled), 500));
                if i == 2 {
                    ops.push((Op::Run, 0));
                    ops.push((Op::Rotate, 0));
                }
            }
            ops
        };
        let want = Some(Evidence::Stall {
            first: T0 + 500 * MS,
            last: T0 + 2_500 * MS,
            reports: 5,
            active: 4117,
            for_ns: 2 * S,
        });
        assert_eq!(
            trips(&shaped(TimeStyle::Utc, true, stalled(5))),
            vec![want, want]
        );
        // Without --max-stall, reports are lines like any other.
        assert_eq!(
            trips(&shaped(TimeStyle::Utc, false, stalled(5))),
            vec![None, None]
        );
        for (breaker, breaks) in [
            (report(Reading::Moving), true),
            (report(Reading::Unreadable), true),
            (line(Kind::OutputError { which: 0 }), true),
            (
                Op::Write {
                    line: Some(LineSpec {
                        tokens: vec![9], // ok!
                        long: false,
                        pad: 3, // before the message
                        kind: Kind::OutputError { which: 0 },
                    }),
                    n: 200,
                },
                false,
            ),
        ] {
            let mut ops = stalled(3);
            ops.push((breaker, 100));
            ops.extend(stalled(3));
            let got = trips(&shaped(TimeStyle::Utc, true, ops));
            assert_eq!(got[0].is_none(), breaks, "{got:?}");
            assert_eq!(got[0], got[1]);
        }
    }
}
