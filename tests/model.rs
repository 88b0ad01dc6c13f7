//! Property tests: a model of Filebeat writing its log (lines cut into
//! arbitrary writes), rotating it by rename (7.x) or by new file (8.x),
//! logrotate's copytruncate (with 7.x names the copy is `filebeat.1`, which
//! the probe watches: what it read of the original must not count again,
//! however small the file), deleting beyond keepfiles, and restarting: a
//! new incarnation (`--since` moves on), with or without rotation at
//! start-up (without, the same file keeps growing across incarnations),
//! cleanly or by a crash (which loses what was not written yet, or leaves a
//! partial line). Probe runs (`check::check_at`, tiny map windows and line
//! bounds, `--max-restarts` 0 to 3) come at arbitrary points.
//!
//! After every run the probe's verdict must equal a naive one-shot
//! evaluation of the incarnation's complete lines in write order: trip or
//! not, which line (file, offset, pattern), the rule's evidence (its kind,
//! and its lines, span and counts), and when the line was first seen; the
//! same of the trip the crash-loop guard held back, and the guard's reason.
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
//!   says.
//!
//! Both kinds have [`Op::Retry`] (a line that keeps coming, mostly the
//! case's usual one: a crash loop repeats itself) and cases that restart
//! often, so that rules trip, and trip again after a restart.
//!
//! Restarts (SPEC §3b), in the naive evaluation and in what a run reads
//! ([`Model::observe`]):
//!
//! - Lines whose own time lies before the incarnation's start never count,
//!   read or not. Lines without one count when first read in the
//!   incarnation, so those written after the last run before the restart
//!   do; runs read on to the end once tripped (and the sticky runs after),
//!   so no others are left unread. A file changed since the last run but
//!   last modified before the incarnation's start is skipped to its end
//!   (mid-line too); one as the last run left it keeps its offset.
//! - A crash's partial line, in a file the next incarnation goes on
//!   writing, is ended by that incarnation's first line (cut so that the
//!   two stay a short line): one line, read from its start or, when the
//!   probe skipped the file at the end of the half, from there.
//! - Where a run resumes a file is SPEC §4's identity rule
//!   ([`Model::resume`]: inode, fingerprint of the first min(size, 1 KiB)
//!   bytes, the copytruncate copy of a file of any size), checked against
//!   what the file's history means (the same file where it was, a
//!   truncated one from 0, a copy where its original was). The two differ
//!   only where a fingerprint is shorter than a line's unique start (the
//!   model's lines are unique from their 7th byte): a file holding only
//!   half its first line, skipped to its end, that is emptied and written
//!   again from a line beginning alike is taken for the same file grown.
//! - The crash-loop guard: the model remembers each incarnation that had a
//!   probe run (the probe learns of no other) with the literal that tripped
//!   it, or that was held back in it. When the last K tripped on the same
//!   literal R, a trip on R (the line that completes a count, a persistence
//!   run or a stall, judged by the guard of the run that read it) is held:
//!   the first is reported, healthy, and the rule starts over as after any
//!   trip (its count's lines used up, shared ones too), while other rules
//!   trip as ever. A run that finds no trip and none held, an hour
//!   ([`Op::Wait`]) or more after its incarnation began, clears the history.
//!
//! After the run, each test checks that its cases did reach what they are
//! for ([`Coverage`]): persistence and stall trips, holes, restarts inside a
//! run and runs across probe runs and files (shaped); lines of an earlier
//! incarnation after a restart that kept the file, with times (never
//! counted, shaped) and without, and skipped files; partial lines ended by
//! the next incarnation (classic); copies of files smaller than the
//! fingerprint (7.x classic); held trips, then other rules' trips, the guard
//! broken by a healthy incarnation or by another rule's, and histories
//! cleared by an hour without a trip, the guard on.
//!
//! What the probe cannot see, and so the oracle does not expect: lines
//! deleted (rotated beyond keepfiles, or truncated) before any run had them
//! complete, and a partial line left in a file that is then deleted or
//! truncated. Lines of `max_line` bytes or more are written in one go: the
//! probe may count such a line before its newline arrives, which the fuzz
//! target `scan_incremental` covers instead; here they are still cut into
//! pieces by the map windows, and for them the oracle checks the line, not
//! which of its patterns was reported. With the guard on, which pattern
//! trips matters (it may be the one held back), so long lines then hold one
//! literal only ([`LONG_TOKENS_ONE`]). Shaped cases have no long lines: a
//! piece's literal decides the rule (a persistence line or a count line),
//! and only the first piece has the line's time, so the naive verdict would
//! be ambiguous. Nor do they cut a line across a rotation or a
//! copytruncate (Filebeat rotates between whole lines; a fragment would be a
//! report that is half a report), nor across a restart that keeps the file
//! (that restart is clean: a line half of one incarnation, half of the
//! next, would have the old one's time and a kind of neither); and their
//! copytruncate copy is not watched (its old lines would come after newer
//! ones, and "no gap longer than" has no one meaning for lines out of time
//! order). An original that is gone when its copy is first read (the
//! identity rule's other case) does not come up: Filebeat never deletes
//! the file it writes.
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
use logprobe::cli::{CheckArgs, PresetName, RuleArgs};
use logprobe::config::Config;
use logprobe::guard::CURED_AFTER_NS;
use logprobe::report::{MatchReport, Outcome};
use logprobe::source::identity::FINGERPRINT_BYTES;
use logprobe::state::{Evidence, Past};
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
/// Pieces of long lines in cases with the crash-loop guard on: one literal
/// at most ("STUCK"), so that which pattern a long line trips on, which the
/// guard holds back or not, is known (see the module comment).
const LONG_TOKENS_ONE: &[&[u8]] = &[
    b"a", b"bb ", b"STUCK", b"stuck", b"ST", b"UCK", b"\t", b"\0", b"\xff",
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
    /// A line that keeps coming, `lines` times `every` ms apart, with a
    /// probe run after the `i`-th when bit `i` of `runs` is set, so that
    /// rules trip often, and trip again after a restart. `what`: the case's
    /// usual line ([`Case::retry`], 2 in 3), else another. Which lines:
    /// classic, one of the patterns; shaped (of 6), the retry loop (3), a
    /// stalled report, a line of the threshold rule, of the plain rules.
    Retry {
        what: u8,
        lines: u8,
        every: u16,
        runs: u16,
    },
    /// Filebeat's own rotation.
    Rotate,
    /// logrotate's copytruncate (see `Model::copy_truncate`).
    CopyTruncate,
    /// Filebeat restarts: a new incarnation. A crash loses what it had not
    /// written yet, or (when the op's time is odd) all but the end of it,
    /// leaving a partial line. `rotate`: rotate on start-up (else the same
    /// file keeps growing).
    Restart { crash: bool, rotate: bool },
    /// A probe run.
    Run,
    /// Time passes (for windows, holes).
    Sleep,
    /// An hour passes (for the crash-loop guard's cure).
    Wait,
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
    /// `--max-restarts` (0: the crash-loop guard is off).
    max_restarts: u32,
    /// What [`Op::Retry`] writes most often: a crash loop repeats itself.
    retry: u8,
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

fn retry() -> impl Strategy<Value = Op> {
    // A probe run after one line in four.
    let runs = (any::<u16>(), any::<u16>()).prop_map(|(a, b)| a & b);
    (any::<u8>(), 2u8..12, 100u16..700, runs).prop_map(|(what, lines, every, runs)| Op::Retry {
        what,
        lines,
        every,
        runs,
    })
}

fn restart() -> impl Strategy<Value = Op> {
    (any::<bool>(), any::<bool>()).prop_map(|(crash, rotate)| Op::Restart { crash, rotate })
}

/// `restarts`: their weight, out of about 50 (some cases restart often, for
/// the crash-loop guard).
fn op(restarts: u32) -> impl Strategy<Value = (Op, u32)> {
    let op = prop_oneof![
        24 => (prop::option::weighted(0.75, line_spec()), 0u16..200)
            .prop_map(|(line, n)| Op::Write { line, n }),
        10 => Just(Op::Run),
        2 => (10u8..60).prop_map(|lines| Op::Burst { lines }),
        2 => retry(),
        4 => Just(Op::Rotate),
        3 => Just(Op::CopyTruncate),
        restarts => restart(),
        2 => Just(Op::Sleep),
        2 => Just(Op::Wait),
    ];
    (op, prop_oneof![1 => Just(0u32), 3 => 1u32..2500])
}

/// `--max-restarts` of a generated case.
fn max_restarts() -> impl Strategy<Value = u32> {
    0u32..4
}

/// The ops of a generated case: mostly few restarts, sometimes many.
fn ops(
    op: fn(u32) -> BoxedStrategy<(Op, u32)>,
    len: std::ops::Range<usize>,
) -> impl Strategy<Value = Vec<(Op, u32)>> {
    prop_oneof![
        2 => prop::collection::vec(op(2), len.clone()),
        1 => prop::collection::vec(op(6), len),
    ]
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
        ops(|w| op(w).boxed(), 1..80),
        (max_restarts(), any::<u8>()),
    )
        .prop_map(
            |(
                keep,
                threshold,
                window_ms,
                ignore_case,
                max_line,
                window_extra,
                ops,
                (max_restarts, retry),
            )| {
                Case {
                    keep,
                    threshold,
                    window_ms,
                    ignore_case,
                    max_line,
                    window_extra,
                    ops,
                    shape: None,
                    max_restarts,
                    retry,
                }
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

fn shaped_op(restarts: u32) -> impl Strategy<Value = (Op, u32)> {
    let op = prop_oneof![
        40 => (prop::option::weighted(0.85, shaped_line()), 0u16..200)
            .prop_map(|(line, n)| Op::Write { line, n }),
        14 => Just(Op::Run),
        2 => (10u8..40).prop_map(|lines| Op::Burst { lines }),
        10 => retry(),
        4 => Just(Op::Rotate),
        2 => Just(Op::CopyTruncate),
        restarts => restart(),
        2 => Just(Op::Sleep),
        2 => Just(Op::Wait),
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
        ops(|w| shaped_op(w).boxed(), 1..100),
        shape,
        (max_restarts(), any::<u8>()),
    )
        .prop_map(
            |(
                keep,
                threshold,
                window_ms,
                ignore_case,
                max_line,
                window_extra,
                ops,
                shape,
                (max_restarts, retry),
            )| Case {
                keep,
                threshold,
                window_ms,
                ignore_case,
                max_line,
                window_extra,
                ops,
                shape: Some(shape),
                max_restarts,
                retry,
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
    /// For a copy: the original's `id` and `seen`, and whether its
    /// fingerprint was a whole 1 KiB; settled at the next run.
    source: Option<(usize, usize, bool)>,
    /// Unique, stable across insertions.
    id: usize,
    /// Its modification time (ns).
    mtime: i64,
    /// What the last run left of it, if it was there: the probe's entry.
    known: Option<Known>,
    /// Its length at the last restart: lines ending before that were
    /// written by an earlier incarnation.
    restart_len: usize,
}

/// What the probe remembers of a file after a run (SPEC §4).
#[derive(Debug, Clone)]
struct Known {
    /// Its length and modification time: the probe does not look again at
    /// a file that is as it was.
    len: usize,
    mtime: i64,
    /// Its first 1 KiB, or all of it when shorter: its fingerprint.
    head: Vec<u8>,
    /// Where the run left off.
    cursor: usize,
}

/// The model's lines are unique from their 7th byte (`L<seq>`): a
/// fingerprint shorter than that (of a file holding only part of its first
/// line) may be the start of another file too.
const UNIQUE_PREFIX: usize = 7;

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
    /// The literal (in [`Model::literals`]) the crash-loop guard held back
    /// at the run that first had the line.
    guard: Option<usize>,
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

/// The naive verdict of an incarnation's lines so far.
#[derive(Debug, Default)]
struct Naive {
    /// The trip, which fails the probe.
    trip: Option<Expected>,
    /// The first trip of the rule the crash-loop guard holds back.
    held: Option<Expected>,
    walk: Walk,
}

/// An earlier incarnation that had a probe run, as the model remembers it.
#[derive(Debug, Clone)]
struct PastInc {
    /// Its start (`--since`).
    start: i64,
    /// The literal that tripped it.
    tripped: Option<String>,
    /// The literal of the trip held back in it.
    held: Option<String>,
    /// The literal the guard held back in it, if it did.
    guarded: Option<String>,
}

impl PastInc {
    /// The literals that tripped it, held back or not.
    fn rules(&self) -> impl Iterator<Item = &String> {
        self.held.iter().chain(self.tripped.iter())
    }
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

/// What the generated cases reached (summed over the cases run).
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
    /// Restarts that kept the file Filebeat writes (no rotation at start-up).
    kept_file_restarts: u32,
    /// Lines of an earlier incarnation, with times of their own, read after
    /// the restart (they do not count).
    old_timed_lines: u32,
    /// Matching lines of an earlier incarnation, without times of their
    /// own, first read after the restart (they count).
    old_untimed_hits: u32,
    /// Files skipped for being older than the incarnation although they
    /// had lines never read.
    old_files_skipped: u32,
    /// Lines begun by a crashed incarnation and ended by the next.
    joined_lines: u32,
    /// Copies (copytruncate) of a file shorter than the fingerprint, taken
    /// for copies (what was read of the original not read again).
    small_copies: u32,
    /// Files the identity rule resumed otherwise than their history says:
    /// only where a fingerprint is shorter than a line's unique start.
    fingerprint_collisions: u32,
    /// Probe runs with the crash-loop guard holding a rule back.
    guarded_runs: u32,
    /// Incarnations with the guard holding a rule back at their first run.
    guarded_incarnations: u32,
    /// Incarnations with a held trip...
    held: u32,
    /// ... and then a trip of another rule.
    held_then_trip: u32,
    /// Incarnations with the guard on that ended without a trip...
    guard_broken_healthy: u32,
    /// ... or tripped by another rule.
    guard_broken_other: u32,
    /// Histories cleared by an hour without a trip...
    cured: u32,
    /// ... while the guard held a rule back.
    cured_guarded: u32,
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
        self.kept_file_restarts += o.kept_file_restarts;
        self.old_timed_lines += o.old_timed_lines;
        self.old_untimed_hits += o.old_untimed_hits;
        self.old_files_skipped += o.old_files_skipped;
        self.joined_lines += o.joined_lines;
        self.small_copies += o.small_copies;
        self.fingerprint_collisions += o.fingerprint_collisions;
        self.guarded_runs += o.guarded_runs;
        self.guarded_incarnations += o.guarded_incarnations;
        self.held += o.held;
        self.held_then_trip += o.held_then_trip;
        self.guard_broken_healthy += o.guard_broken_healthy;
        self.guard_broken_other += o.guard_broken_other;
        self.cured += o.cured;
        self.cured_guarded += o.cured_guarded;
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
    /// The trip the crash-loop guard held back, once held.
    held: Option<Expected>,
    /// Earlier incarnations that had a probe run, oldest first.
    history: Vec<PastInc>,
    /// Whether this incarnation had a probe run.
    ran: bool,
    /// The literal the guard held back in this incarnation, if it did.
    guarded: Option<String>,
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
            held: None,
            history: Vec::new(),
            ran: false,
            guarded: None,
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
            source: None,
            id: self.files.len(),
            mtime: self.now,
            known: None,
            restart_len: 0,
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
                // The probe takes it for a copy when it starts with what the
                // last run fingerprinted of the original, and at the next run
                // the original no longer holds what was read (truncated here,
                // then rewritten with other lines), or is gone and had a whole
                // 1 KiB fingerprint: then what was read of the original is not
                // read again. A small original that is gone leaves its copy
                // looking new, read whole: modelled rather than expected away.
                source: f
                    .known
                    .as_ref()
                    .filter(|_| f.seen > 0)
                    .map(|k| (f.id, f.seen, k.head.len() >= FINGERPRINT_BYTES)),
                id: self.files.len(),
                mtime: self.now,
                known: None,
                restart_len: f.restart_len,
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
        let f = &mut self.files[i];
        f.data.clear();
        f.seen = 0;
        f.mtime = self.now;
        f.restart_len = 0;
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
        self.files[self.current].mtime = self.now;
    }

    /// Queues bytes for Filebeat to write. After a crash that left a partial
    /// line in the file it goes on writing (no rotation at start-up), the
    /// first line ends that one: it is cut so that the two stay a short line
    /// (see the module comment).
    fn queue(&mut self, mut bytes: Vec<u8>) {
        let data = &self.files[self.current].data;
        if self.pending.is_empty()
            && let Some(&last) = data.last()
            && last != b'\n'
        {
            let begun = data.len() - data.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
            let room = self.case.max_line - 1 - begun;
            let nl = bytes.iter().position(|&b| b == b'\n').unwrap();
            if nl > room {
                bytes.drain(room..nl);
            }
            self.coverage.joined_lines += 1;
        }
        self.pending.extend_from_slice(&bytes);
    }

    fn render(&mut self, spec: &LineSpec) -> Vec<u8> {
        if self.shaped() {
            return self.render_shaped(spec);
        }
        self.seq += 1;
        let mut line = format!("L{:06} ", self.seq).into_bytes();
        let max_line = self.case.max_line;
        if spec.long {
            let tokens = if self.case.max_restarts == 0 {
                LONG_TOKENS
            } else {
                LONG_TOKENS_ONE
            };
            for &t in &spec.tokens {
                line.extend_from_slice(tokens[usize::from(t) % tokens.len()]);
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

    /// What a run learns: every complete line not yet seen, in write order,
    /// that counts in this incarnation. `guard`: the literal the crash-loop
    /// guard holds back in this run.
    ///
    /// A file changed since the last run but last modified before the
    /// incarnation began is skipped to its end (mid-line too); one as it was
    /// keeps its offset. A line whose own time lies before the incarnation's
    /// start does not count; one without takes the run's time, and counts.
    fn observe(&mut self, guard: Option<usize>) {
        let (max_line, ic) = (self.case.max_line, self.case.ignore_case);
        let unchanged: Vec<bool> = (self.files.iter())
            .map(|f| {
                (f.known.as_ref()).is_some_and(|k| (k.len, k.mtime) == (f.data.len(), f.mtime))
            })
            .collect();
        let resumed: Vec<usize> = (0..self.files.len()).map(|i| self.resume(i)).collect();
        for (i, at) in resumed.into_iter().enumerate() {
            if self.files[i].name.is_none() || unchanged[i] {
                continue;
            }
            // What the resumption means: the same file goes on where it was
            // (from 0 once truncated); a copy (copytruncate) where its
            // original was, when the probe can tell: the original still
            // there, truncated (shorter, or starting with lines written
            // since), or gone with a whole 1 KiB fingerprint.
            let mut meant = self.files[i].seen;
            if let Some((id, seen, whole)) = self.files[i].source.take() {
                let o = self.files.iter().find(|f| f.id == id).unwrap();
                if o.name.is_some() || whole {
                    meant = seen;
                    self.coverage.small_copies += u32::from(!whole);
                }
            }
            if at != meant {
                // The fingerprint's limit (SPEC §4): the start of a file
                // holding only part of its first line may begin another.
                let tiny = self.files.iter().any(|f| {
                    f.known
                        .as_ref()
                        .is_some_and(|k| k.cursor > 0 && k.head.len() < UNIQUE_PREFIX)
                });
                assert!(
                    tiny,
                    "model: file {} resumed at {at}, not {meant}",
                    self.name_of(i)
                );
                self.coverage.fingerprint_collisions += 1;
            }
            self.files[i].seen = at;
        }
        for i in 0..self.files.len() {
            let f = &self.files[i];
            let Some(name) = f.name.clone() else { continue };
            let unchanged = unchanged[i];
            let end = f
                .data
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |p| p + 1);
            if !unchanged && f.mtime < self.since {
                // Written only by an earlier incarnation: never trips.
                self.coverage.old_files_skipped += u32::from(end > f.seen);
                self.files[i].seen = f.data.len();
                continue;
            }
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
                // Ended before the last restart: an earlier incarnation's.
                let old = nl < f.restart_len;
                if let (Some(literal), false) = (literal, excepted) {
                    let meta = self.meta.get(line);
                    let stalled = meta.and_then(|m| m.stalled);
                    assert!(
                        literal != self.rules.len() || stalled.is_some(),
                        "model: a report it did not write: {:?}",
                        String::from_utf8_lossy(line)
                    );
                    let own = meta.and_then(|m| m.time);
                    if own.is_some_and(|t| t < self.since) {
                        assert!(old, "model: a line older than its incarnation");
                        self.coverage.old_timed_lines += 1;
                    } else {
                        self.coverage.old_untimed_hits += u32::from(old);
                        found.push(SeenLine {
                            time: own.unwrap_or(self.now),
                            seen_at: self.now,
                            path: path.clone(),
                            file: f.id,
                            offset: start,
                            literal,
                            long,
                            text: line.to_vec(),
                            stalled: stalled.flatten(),
                            guard,
                        });
                    }
                } else if literal.is_some() {
                    self.coverage.excepted += 1;
                }
                start = nl + 1;
            }
            self.seen.extend(found);
            self.files[i].seen = self.files[i].seen.max(end);
        }
        for f in &mut self.files {
            f.known = f.name.as_ref().map(|_| Known {
                len: f.data.len(),
                mtime: f.mtime,
                head: f.data[..f.data.len().min(FINGERPRINT_BYTES)].to_vec(),
                cursor: f.seen,
            });
        }
    }

    /// Where a run resumes reading file `i` by the identity rule (SPEC §4),
    /// from what the last run left ([`MFile::known`]): the same file (its
    /// start unchanged) where it was, or from 0 when shorter than that;
    /// else, as a copy, where the furthest of the files whose start it has
    /// was, if that one no longer holds what was read of it (shorter, or
    /// starting otherwise) or is gone with a whole 1 KiB fingerprint; else 0.
    fn resume(&self, i: usize) -> usize {
        let f = &self.files[i];
        if let Some(k) = &f.known
            && f.data.starts_with(&k.head)
        {
            return if f.data.len() < k.cursor { 0 } else { k.cursor };
        }
        (self.files.iter())
            .filter_map(|o| Some((o, o.known.as_ref()?)))
            .filter(|(o, k)| {
                k.cursor > 0
                    && k.cursor <= f.data.len()
                    && f.data.starts_with(&k.head)
                    && match o.name {
                        None => k.head.len() == FINGERPRINT_BYTES,
                        Some(_) => o.data.len() < k.cursor || !o.data.starts_with(&k.head),
                    }
            })
            .map(|(_, k)| k.cursor)
            .max()
            .unwrap_or(0)
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
    /// - A trip on the literal the crash-loop guard held back when the line
    ///   was read does not fail the probe: the first is held, and the rule
    ///   starts over as after any trip (its lines, run or stall used up).
    fn evaluate(&self) -> Naive {
        let mut v = Naive::default();
        // Times of the lines of each count ("shared": the plain rules').
        let mut counts: HashMap<Option<usize>, Vec<i64>> = HashMap::new();
        // Per persistence rule: its run's first line (index), first and last time, lines.
        let mut runs: HashMap<usize, (usize, i64, i64, u32)> = HashMap::new();
        // The stall: first time, reports.
        let mut stall: Option<(i64, u32)> = None;
        for (k, l) in self.seen.iter().enumerate() {
            let t = l.time;
            let fired = if let Some((_, when)) = self.rules.get(l.literal) {
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
                        (within >= threshold).then(|| {
                            times.clear();
                            let evidence = Evidence::Count {
                                threshold,
                                window_ns: window,
                            };
                            (within, evidence)
                        })
                    }
                    MWhen::Persist { for_ns, gap } => {
                        let run = match runs.get(&l.literal) {
                            Some(&(at, first, last, n)) if t - last <= gap => (at, first, t, n + 1),
                            Some(&(_, _, _, n)) => {
                                v.walk.hole |= n >= 2;
                                (k, t, t, 1)
                            }
                            None => (k, t, t, 1),
                        };
                        runs.insert(l.literal, run);
                        let (_, first, last, lines) = run;
                        (last - first >= for_ns).then(|| {
                            runs.remove(&l.literal);
                            let evidence = Evidence::Persist {
                                first,
                                last,
                                lines,
                                for_ns,
                            };
                            (lines, evidence)
                        })
                    }
                }
            } else if let (true, Some(active)) = (l.literal == self.rules.len(), l.stalled) {
                let (first, reports) = stall.map_or((t, 1), |(f, n)| (f, n + 1));
                stall = Some((first, reports));
                let for_ns = self.max_stall.unwrap();
                (t - first >= for_ns).then(|| {
                    stall = None;
                    let evidence = Evidence::Stall {
                        first,
                        last: t,
                        reports,
                        active,
                        for_ns,
                    };
                    (reports, evidence)
                })
            } else {
                // A report that is not stalled, or an output error line.
                v.walk.stall_reset |= stall.is_some();
                stall = None;
                None
            };
            let Some((count, evidence)) = fired else {
                continue;
            };
            let e = Expected {
                line: k,
                count,
                evidence,
            };
            if l.guard == Some(l.literal) {
                v.held.get_or_insert(e);
            } else {
                v.trip = Some(e);
                return v;
            }
        }
        v.walk.persist_open = !runs.is_empty();
        v
    }

    /// Adds what this incarnation's lines reached to the case's coverage.
    fn tally(&mut self, restart: bool) {
        let Naive { trip, held, walk } = self.evaluate();
        let c = &mut self.coverage;
        c.holes += u32::from(walk.hole);
        c.stall_resets += u32::from(walk.stall_reset);
        c.restart_in_persist += u32::from(restart && walk.persist_open);
        if held.is_some() {
            c.held += 1;
            c.held_then_trip += u32::from(trip.is_some());
        }
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

    /// The latest of the last `--max-restarts` incarnations when the same
    /// literal tripped each of them: the guard holds it back.
    /// (The latest's start, the literal.)
    fn uncured(&self) -> Option<(i64, String)> {
        let k = self.case.max_restarts as usize;
        if k == 0 || self.history.len() < k {
            return None;
        }
        let last = &self.history[self.history.len() - k..];
        let latest = &last[k - 1];
        let rule = latest
            .rules()
            .find(|rule| last.iter().all(|p| p.rules().any(|r| r == *rule)))?;
        Some((latest.start, rule.clone()))
    }

    /// Ends the incarnation: the probe remembers it if it had a run.
    fn close(&mut self) {
        if self.ran {
            let literal = |e: Expected| self.literals[self.seen[e.line].literal].clone();
            let (tripped, held) = (self.trip.map(literal), self.held.map(literal));
            self.history.push(PastInc {
                start: self.since,
                tripped,
                held,
                guarded: self.guarded.take(),
            });
        }
        self.ran = false;
        self.guarded = None;
    }

    fn run(&mut self) -> Result<(), TestCaseError> {
        if !self.ran {
            self.ran = true;
            // The probe closes the last incarnation it saw.
            if let Some(p) = self.history.last()
                && let Some(r) = &p.guarded
            {
                if p.rules().next().is_none() {
                    self.coverage.guard_broken_healthy += 1;
                } else if !p.rules().any(|q| q == r) {
                    self.coverage.guard_broken_other += 1;
                }
            }
        }
        let uncured = self.uncured();
        let guard = uncured
            .as_ref()
            .map(|(_, r)| self.literals.iter().position(|l| l == r).unwrap());
        if let Some((_, rule)) = &uncured {
            self.coverage.guarded_runs += 1;
            self.coverage.guarded_incarnations += u32::from(self.guarded.is_none());
            self.guarded = Some(rule.clone());
        }
        self.observe(guard);
        let naive = self.evaluate();
        self.trip = naive.trip;
        self.held = naive.held;
        let mut want_guard = uncured.map(|(start, rule)| {
            let past = Past {
                incarnation: start,
                tripped: Some(rule),
                line: String::new(),
                held: None,
                held_line: String::new(),
            };
            logprobe::report::uncured(&past, self.case.max_restarts)
        });
        // An hour without a trip, held or not, clears the history.
        if self.trip.is_none() && self.held.is_none() && self.now - self.since >= CURED_AFTER_NS {
            if !self.history.is_empty() {
                self.coverage.cured += 1;
                self.coverage.cured_guarded += u32::from(want_guard.is_some());
            }
            self.history.clear();
            want_guard = None;
        }
        let out = check::check_at(&self.cfg, self.now);
        let state = fs::read(&self.cfg.state_path).unwrap_or_default();
        prop_assert!(
            state.is_empty() || logprobe::state::parse(&state).is_ok(),
            "state does not parse: {}",
            String::from_utf8_lossy(&state)
        );
        self.compare(&out, want_guard.as_deref())
    }

    fn compare(&self, out: &Outcome, guard: Option<&str>) -> Result<(), TestCaseError> {
        let ctx = || self.context(out);
        prop_assert!(out.errors.is_empty(), "errors: {:?}\n{}", out.errors, ctx());
        prop_assert_eq!(out.guard.as_deref(), guard, "guard\n{}", ctx());
        match self.trip {
            None => {
                prop_assert_eq!(out.status, Status::Healthy, "false trip\n{}", ctx());
                prop_assert_eq!(out.exit.code(), 0);
            }
            Some(e) => {
                prop_assert_eq!(out.status, Status::Unhealthy, "missed trip\n{}", ctx());
                prop_assert_eq!(out.exit.code(), 1);
                self.compare_match(out.matched.as_ref(), e, "trip", out)?;
            }
        }
        match self.held {
            None => prop_assert!(out.held.is_none(), "unexpected held trip\n{}", ctx()),
            Some(e) => self.compare_match(out.held.as_ref(), e, "held trip", out)?,
        }
        Ok(())
    }

    /// The probe's report of a trip (or held trip) against the naive one.
    fn compare_match(
        &self,
        got: Option<&MatchReport>,
        e: Expected,
        what: &str,
        out: &Outcome,
    ) -> Result<(), TestCaseError> {
        let ctx = || self.context(out);
        let want = &self.seen[e.line];
        let Some(got) = got else {
            return Err(TestCaseError::fail(format!("missed {what}\n{}", ctx())));
        };
        prop_assert_eq!(&got.file, &want.path, "{} file\n{}", what, ctx());
        prop_assert_eq!(got.offset, want.offset as u64, "{} offset\n{}", what, ctx());
        // With the guard on, long lines hold one literal (see LONG_TOKENS_ONE).
        if want.long && self.case.max_restarts == 0 {
            prop_assert!(
                find(&want.text, &got.pattern, self.case.ignore_case).is_some(),
                "{} pattern {:?} not in the long line\n{}",
                what,
                got.pattern,
                ctx()
            );
        } else {
            prop_assert_eq!(
                &got.pattern,
                &self.literals[want.literal],
                "{} pattern\n{}",
                what,
                ctx()
            );
        }
        prop_assert_eq!(
            got.evidence,
            Some(e.evidence),
            "{} evidence\n{}",
            what,
            ctx()
        );
        prop_assert_eq!(got.count, e.count, "{} count\n{}", what, ctx());
        prop_assert_eq!(
            &got.first_seen,
            &format_rfc3339(want.seen_at),
            "{} first seen\n{}",
            what,
            ctx()
        );
        Ok(())
    }

    fn context(&self, out: &Outcome) -> String {
        let mut s = format!(
            "outcome: {}\nincarnation {} since {} now {} (ms after T0)\nliterals: {:?}\nexpected trip: {:?}\nexpected held trip: {:?}\n--max-restarts {}, earlier incarnations: {:?}\ncounting lines seen (times in ms after T0):\n",
            serde_json::to_string(out).unwrap(),
            self.incarnation,
            (self.since - T0) / MS,
            (self.now - T0) / MS,
            self.literals,
            self.trip,
            self.held,
            self.case.max_restarts,
            self.history
        );
        for (k, l) in self.seen.iter().enumerate() {
            s += &format!(
                "  #{k} t={} seen={} {}@{} literal {} long {} stalled {:?} guard {:?} {:?}\n",
                (l.time - T0) / MS,
                (l.seen_at - T0) / MS,
                l.path,
                l.offset,
                l.literal,
                l.long,
                l.stalled,
                l.guard,
                String::from_utf8_lossy(&l.text)
            );
        }
        s += "files:\n";
        for (i, f) in self.files.iter().enumerate() {
            s += &format!(
                "  {} mtime {} len {} seen {} known {:?} restart_len {}{}\n",
                self.name_of(i),
                (f.mtime - T0) / MS,
                f.data.len(),
                f.seen,
                f.known
                    .as_ref()
                    .map(|k| (k.len, (k.mtime - T0) / MS, k.head.len(), k.cursor)),
                f.restart_len,
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
            Op::Wait => 3600 * S + i64::from(dt_ms) * MS,
            _ => i64::from(dt_ms) * MS,
        };
        self.now += dt;
        self.log.push(format!("t={} {op:?}", (self.now - T0) / MS));
        match op {
            Op::Write { line, n } => {
                if let Some(spec) = line {
                    let bytes = self.render(spec);
                    let long = spec.long;
                    self.queue(bytes);
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
                    self.queue(line);
                }
                self.write(self.pending.len());
            }
            Op::Retry {
                what,
                lines,
                every,
                runs,
            } => {
                for i in 0..*lines {
                    if i > 0 {
                        self.now += i64::from(*every) * MS;
                    }
                    // SHAPED_TOKENS: 5 "UCK", 7 "zz", 8 "q".
                    let what = if what % 3 == 0 {
                        what / 3
                    } else {
                        self.case.retry
                    };
                    // TOKENS: 2 "STUCK", 7 "zz", 8 "q".
                    let classic = [vec![2], vec![7, 8], vec![7]][usize::from(what % 3)].clone();
                    let (tokens, kind) = match what % 6 {
                        _ if !self.shaped() => (classic, Kind::Tokens),
                        3 => {
                            let reading = Reading::Stalled;
                            let (variant, active) = (i, 4117);
                            (
                                vec![],
                                Kind::Report {
                                    reading,
                                    variant,
                                    active,
                                },
                            )
                        }
                        4 => (vec![7, 8], Kind::Tokens),
                        5 => (vec![[5, 7][usize::from(i % 2)]], Kind::Tokens),
                        _ => (vec![], Kind::Stuck),
                    };
                    let spec = LineSpec {
                        tokens,
                        long: false,
                        pad: 0,
                        kind,
                    };
                    let line = self.render(&spec);
                    self.queue(line);
                    self.write(self.pending.len());
                    if runs & (1 << i) != 0 {
                        self.run()?;
                    }
                }
            }
            Op::Rotate => self.rotate(),
            Op::CopyTruncate => self.copy_truncate(),
            Op::Restart { crash, rotate } => {
                // In shaped cases, a restart that keeps its file is clean
                // (see the module comment).
                if !crash || (!rotate && self.shaped()) {
                    self.write(self.pending.len());
                } else if dt_ms % 2 == 1 {
                    // Killed in the middle of its last line.
                    let cut = 1 + dt_ms as usize / 2 % 8;
                    self.write(self.pending.len().saturating_sub(cut));
                }
                self.pending.clear();
                self.tally(true);
                self.close();
                self.now += MS;
                self.since = self.now;
                self.incarnation += 1;
                self.seen.clear();
                self.trip = None;
                self.held = None;
                self.cfg = config(&self.case, &self.env, self.since);
                for f in &mut self.files {
                    f.restart_len = f.data.len();
                }
                if *rotate {
                    self.rotate(); // rotateonstartup
                } else {
                    self.coverage.kept_file_restarts += 1;
                }
            }
            Op::Run => self.run()?,
            Op::Sleep | Op::Wait => {}
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
        logs: env.preset_globs(),
        rules: RuleArgs {
            preset: Some(PresetName::None),
            patterns,
            patterns_file,
            excepts: vec![EXCEPT.to_string()],
            ignore_case: case.ignore_case,
            threshold: Some(case.threshold.to_string()),
            window: case.window_ms.map(|w| format!("{w}ms")),
            max_stall,
            max_restarts: Some(case.max_restarts.to_string()),
            ..RuleArgs::default()
        },
        state: Some(env.state()),
        budget: Some("1h".into()),
        since: Some(crate::util::at_ns(since)),
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

/// Runs the generated cases of `strategy` (`LOGPROBE_PROPTEST_CASES` of
/// them, else `CASES`), failing on the first the probe gets wrong; then,
/// with the default number of cases or more (fewer are not checked for it),
/// checks that they reached what they are for: each of `reached` at least
/// 5 times.
fn run_cases(
    name: &str,
    strategy: impl Strategy<Value = (Scheme, Case)>,
    reached: fn(&Coverage) -> Vec<(&'static str, u32)>,
) {
    const CASES: u32 = 1500;
    let mut config = proptest_config(CASES);
    config.source_file = Some(file!());
    let cases = config.cases;
    let mut runner = TestRunner::new(config);
    let total = RefCell::new(Coverage::default());
    let result = runner.run(&strategy, |(scheme, case)| {
        let c = run_case(scheme, case)?;
        total.borrow_mut().add(&c);
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}\n{runner}");
    }
    let c = total.into_inner();
    eprintln!("model::{name} reached: {c:?}");
    if cases >= CASES {
        let missed: Vec<_> = reached(&c).into_iter().filter(|r| r.1 < 5).collect();
        assert!(
            missed.is_empty(),
            "the generated cases no longer reach all they are for: {missed:?} in {c:?}"
        );
    }
}

/// What every kind of case must reach: restarts that keep the file (old
/// lines read after them, or their file skipped), and the crash-loop guard
/// holding a rule back, broken by a healthy incarnation or another rule's,
/// and cured by an hour without a trip.
fn reached_by_all(c: &Coverage) -> Vec<(&'static str, u32)> {
    vec![
        ("kept_file_restarts", c.kept_file_restarts),
        ("old_untimed_hits", c.old_untimed_hits),
        ("old_files_skipped", c.old_files_skipped),
        ("guarded_runs", c.guarded_runs),
        ("held", c.held),
        ("held_then_trip", c.held_then_trip),
        ("guard_broken_healthy", c.guard_broken_healthy),
        ("guard_broken_other", c.guard_broken_other),
        ("cured", c.cured),
        ("cured_guarded", c.cured_guarded),
    ]
}

/// Classic cases, 7.x: what all reach, crashes whose partial line the next
/// incarnation ends, and copies of files shorter than the fingerprint.
#[test]
fn filebeat_7x_rename_rotation() {
    run_cases(
        "filebeat_7x_rename_rotation",
        case().prop_map(|c| (Scheme::V7, c)),
        |c| {
            let mut r = reached_by_all(c);
            r.extend([
                ("joined_lines", c.joined_lines),
                ("small_copies", c.small_copies),
            ]);
            r
        },
    );
}

/// Classic cases, 8.x (the copytruncate copy is not watched).
#[test]
fn filebeat_8x_new_file_rotation() {
    run_cases(
        "filebeat_8x_new_file_rotation",
        case().prop_map(|c| (Scheme::V8, c)),
        |c| {
            let mut r = reached_by_all(c);
            r.push(("joined_lines", c.joined_lines));
            r
        },
    );
}

/// Shaped cases (see the module comment), 7.x and 8.x: trips of every kind,
/// persistence runs across probe runs and rotations and without line times,
/// restarts inside a persistence run, holes, stalls broken; lines of an
/// earlier incarnation read after a restart, with times of their own (never
/// counted) and without; and what all reach.
#[test]
fn rules_persistence_and_stalls() {
    let scheme = prop_oneof![Just(Scheme::V7), Just(Scheme::V8)];
    run_cases(
        "rules_persistence_and_stalls",
        (scheme, shaped_case()),
        |c| {
            let mut r = reached_by_all(c);
            r.extend([
                ("count_trips", c.count_trips),
                ("persist_trips", c.persist_trips),
                ("stall_trips", c.stall_trips),
                ("persist_across_runs", c.persist_across_runs),
                ("persist_across_files", c.persist_across_files),
                ("persist_untimed", c.persist_untimed),
                ("restart_in_persist", c.restart_in_persist),
                ("holes", c.holes),
                ("stall_resets", c.stall_resets),
                ("excepted", c.excepted),
                ("old_timed_lines", c.old_timed_lines),
            ]);
            r
        },
    );
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
            max_restarts: 0,
            retry: 0,
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
            max_restarts: 0,
            retry: 0,
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

    /// Runs the case on both schemes, then a last probe run; returns the models.
    fn models(case: &Case) -> Vec<Model> {
        [Scheme::V7, Scheme::V8]
            .into_iter()
            .map(|scheme| {
                let mut m = Model::new(scheme, case.clone());
                for (op, dt) in &case.ops {
                    m.apply(op, *dt)
                        .unwrap_or_else(|e| panic!("{scheme:?}: {e}"));
                }
                m.apply(&Op::Run, 1)
                    .unwrap_or_else(|e| panic!("{scheme:?}: {e}"));
                m
            })
            .collect()
    }

    /// Runs the case on both schemes; returns the naive trips.
    fn trips(case: &Case) -> Vec<Option<Evidence>> {
        models(case)
            .into_iter()
            .map(|m| m.trip.map(|e| e.evidence))
            .collect()
    }

    /// Runs the case on both schemes; returns the literals of the naive
    /// trip and held trip.
    fn verdicts(case: &Case) -> Vec<(Option<&'static str>, Option<&'static str>)> {
        models(case)
            .iter()
            .map(|m| {
                let literal = |e: &Expected| {
                    let l = &m.literals[m.seen[e.line].literal];
                    *PATTERNS.iter().find(|p| *p == l).unwrap()
                };
                (m.trip.as_ref().map(literal), m.held.as_ref().map(literal))
            })
            .collect()
    }

    /// A classic line of these [`TOKENS`] (1 "bb ", 2 "STUCK", 7 "zz"),
    /// `n` bytes of it written (all from 150).
    fn tokens(tokens: &[u8], n: u16) -> Op {
        Op::Write {
            line: Some(LineSpec {
                tokens: tokens.to_vec(),
                long: false,
                pad: 0,
                kind: Kind::Tokens,
            }),
            n,
        }
    }

    fn classic(threshold: u32, max_restarts: u32, ops: Vec<(Op, u32)>) -> Case {
        Case {
            max_restarts,
            ops,
            ..case(threshold)
        }
    }

    const KEEP: Op = Op::Restart {
        crash: false,
        rotate: false,
    };

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
                    Op::Restart {
                        crash,
                        rotate: true,
                    }
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

    /// Filebeat restarts without rotating: the file keeps growing. Its lines
    /// from before the restart carry their times, so they never count, read
    /// or not: the persistence run starts with the first new line (counted
    /// with the old ones, 0.5 s before it, it would trip far earlier).
    #[test]
    fn lines_timed_before_the_restart_never_count() {
        let mut ops = Vec::new();
        for _ in 0..8 {
            ops.push((stuck(), 500)); // 0.5 s to 4 s, never read
        }
        ops.push((KEEP, 0)); // the incarnation starts at 4.001 s
        for _ in 0..7 {
            ops.push((stuck(), 500)); // 4.501 s to 7.501 s
        }
        let want = Some(Evidence::Persist {
            first: T0 + 4_501 * MS,
            last: T0 + 7_501 * MS,
            lines: 7,
            for_ns: 3 * S,
        });
        let case = shaped(TimeStyle::Utc, false, ops.clone());
        assert_eq!(trips(&case), vec![want, want]);
        for m in models(&case) {
            assert_eq!(m.coverage.old_timed_lines, 8);
        }
        ops.pop();
        let case = shaped(TimeStyle::Utc, false, ops);
        assert_eq!(trips(&case), vec![None, None]);
    }

    /// The same without line times: a line not read before the restart
    /// counts (the bound: only lines written after the last run before it),
    /// one read before does not; and a tripped incarnation's runs read on to
    /// the end, so that after the restart nothing old is left.
    #[test]
    fn untimed_lines_count_only_if_unread_at_the_restart() {
        let stuck = || tokens(&[2], 200);
        let ops = vec![
            (stuck(), 0),
            (Op::Run, 10),
            (stuck(), 10), // not read before the restart
            (KEEP, 10),
            (stuck(), 10),
        ];
        // -t 2: the line unread at the restart and the new one.
        let got = trips(&classic(2, 0, ops.clone()));
        assert!(got.iter().all(Option::is_some), "{got:?}");
        // -t 3: the line read before the restart does not count.
        assert_eq!(trips(&classic(3, 0, ops)), vec![None, None]);
        let ops = |sticky_run: bool| {
            let mut ops = vec![(stuck(), 0), (Op::Run, 10), (stuck(), 10), (stuck(), 10)];
            if sticky_run {
                ops.push((Op::Run, 10)); // tripped: reads on, counts nothing
            }
            // A new line, so the file is of this incarnation.
            ops.extend([(KEEP, 10), (tokens(&[1], 200), 10)]);
            ops
        };
        assert_eq!(trips(&classic(1, 0, ops(true))), vec![None, None]);
        let got = trips(&classic(1, 0, ops(false)));
        assert!(got.iter().all(Option::is_some), "{got:?}");
    }

    /// A crash leaves half a line, which Filebeat, restarted without
    /// rotating, ends with its first line. If the probe last saw the file
    /// with that half (as it still is), it resumes before it and reads the
    /// joined line from its start; if the file changed since, it skips the
    /// file, older than the incarnation, to its end, and reads the new line
    /// on its own.
    #[test]
    fn a_partial_line_left_by_a_crash_is_ended_by_the_next_incarnation() {
        let crash = Op::Restart {
            crash: true,
            rotate: false,
        };
        let half = || tokens(&[1], 5); // "L0000" of "L000001 bb \n"
        let seen = vec![
            (half(), 0),
            (Op::Run, 10),
            (crash.clone(), 10),
            (Op::Run, 10),
            (tokens(&[2], 200), 10),
        ];
        let unseen = vec![
            (half(), 0),
            (crash, 10),
            (Op::Run, 10),
            (tokens(&[2], 200), 10),
        ];
        for (ops, at) in [(seen, 0), (unseen, 5)] {
            for m in models(&classic(1, 0, ops)) {
                let e = m.trip.expect("tripped");
                assert_eq!(m.seen[e.line].offset, at);
                assert_eq!(m.coverage.joined_lines, 1);
            }
        }
    }

    /// The identity rule's limit (SPEC §4): a file known by the one byte it
    /// held (half a line a crash left, skipped to its end), emptied by
    /// copytruncate and written again from a line that begins with that
    /// byte, is taken for the same file grown: read from byte 1.
    #[test]
    fn a_fingerprint_of_one_byte_may_begin_another_file() {
        let crash = Op::Restart {
            crash: true,
            rotate: false,
        };
        let ops = vec![
            (tokens(&[], 1), 0), // "L" of "L000001 \n"
            (crash, 0),
            (Op::Run, 0),
            (Op::CopyTruncate, 1),
            (tokens(&[2], 200), 0),
        ];
        for m in models(&classic(1, 0, ops)) {
            let e = m.trip.expect("tripped");
            assert_eq!(m.seen[e.line].offset, 1);
            // 7.x: its copy too, taken for a new file.
            assert!(m.coverage.fingerprint_collisions >= 1);
        }
    }

    /// logrotate's copytruncate of a file smaller than the fingerprint: the
    /// copy (7.x: `filebeat.1`, watched) is known by all of the original's
    /// bytes, so the line already read does not count again.
    #[test]
    fn a_small_file_s_copy_is_not_read_again() {
        let stuck = || tokens(&[2], 200);
        let mut ops = vec![(stuck(), 0), (Op::Run, 10), (Op::CopyTruncate, 10)];
        let ms = models(&classic(2, 0, ops.clone()));
        assert!(ms.iter().all(|m| m.trip.is_none()));
        assert_eq!(ms[0].coverage.small_copies, 1);
        ops.push((stuck(), 10));
        let got = trips(&classic(2, 0, ops));
        assert!(got.iter().all(Option::is_some), "{got:?}");
    }

    /// `--max-restarts 2`: "STUCK" tripped each of the last two
    /// incarnations, so in the third it is held (the probe stays healthy and
    /// says why), while "zz" still trips; the held "STUCK" stays in its
    /// streak beside "zz", so "STUCK" is held in the fourth again. A healthy
    /// incarnation breaks the streak; one without a probe run is not seen,
    /// and does not.
    #[test]
    fn the_guard_holds_a_rule_that_tripped_each_of_the_last_k() {
        let stuck = || (tokens(&[2], 200), 10);
        let restart = |rotate| {
            let op = Op::Restart {
                crash: false,
                rotate,
            };
            (op, 10)
        };
        let tripped = |rotate| vec![stuck(), (Op::Run, 10), restart(rotate)];
        let (s, zz) = (Some("STUCK"), Some("zz"));
        let mut ops = [tripped(true), tripped(false)].concat();
        ops.push(stuck());
        assert_eq!(verdicts(&classic(1, 2, ops.clone())), [(None, s); 2]);
        assert_eq!(verdicts(&classic(1, 3, ops.clone())), [(s, None); 2]);
        assert_eq!(verdicts(&classic(1, 0, ops.clone())), [(s, None); 2]);
        ops.extend([
            (Op::Run, 10),
            stuck(),
            (tokens(&[7], 200), 10),
            (Op::Run, 10),
        ]);
        assert_eq!(verdicts(&classic(1, 2, ops.clone())), [(zz, s); 2]);
        ops.extend([restart(false), stuck()]);
        assert_eq!(verdicts(&classic(1, 2, ops)), [(None, s); 2]);
        for (healthy_run, want) in [(true, (s, None)), (false, (None, s))] {
            let mut ops = [tripped(true), tripped(true)].concat();
            if healthy_run {
                ops.push((Op::Run, 10));
            }
            ops.extend([restart(true), stuck()]);
            assert_eq!(verdicts(&classic(1, 2, ops)), [want; 2], "{healthy_run}");
        }
    }

    /// An incarnation that has run an hour without a trip, held or not,
    /// clears the history: the guard no longer holds "STUCK" back
    /// (`--max-restarts 1`).
    #[test]
    fn an_hour_without_a_trip_clears_the_history() {
        let ops = |wait: bool| {
            let mut ops = vec![
                (tokens(&[2], 200), 10),
                (Op::Run, 10),
                (
                    Op::Restart {
                        crash: false,
                        rotate: true,
                    },
                    10,
                ),
                (Op::Run, 10),
            ];
            if wait {
                ops.extend([(Op::Wait, 0), (Op::Run, 0)]);
            }
            ops.push((tokens(&[2], 200), 10));
            ops
        };
        let s = Some("STUCK");
        assert_eq!(verdicts(&classic(1, 1, ops(false))), [(None, s); 2]);
        let case = classic(1, 1, ops(true));
        assert_eq!(verdicts(&case), [(s, None); 2]);
        for m in models(&case) {
            assert!(m.history.is_empty());
            assert_eq!((m.coverage.cured, m.coverage.cured_guarded), (1, 1));
        }
    }
}
