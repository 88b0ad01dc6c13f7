//! Properties checked on arbitrary bytes, shared by the fuzz targets in
//! `fuzz/` (which include this file by path) and by the integration tests,
//! which replay the committed corpus on stable Rust. Each function panics
//! when a property does not hold. Only logprobe's public interface and std
//! are used here, so both crates compile it as it stands.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;

use logprobe::cli::Command;
use logprobe::config::Config;
use logprobe::scan::{Cursor, Ended, Flow, Framing, Hit, Limits, Matcher, SNIPPET_BYTES, Scanner};
use logprobe::stall::{self, Reading};
use logprobe::state;

/// Hands out the fuzzer's bytes; zeros once they run out.
struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    fn take(&mut self, n: usize) -> &'a [u8] {
        let (head, rest) = self.data.split_at(n.min(self.data.len()));
        self.data = rest;
        head
    }

    fn rest(&mut self) -> &'a [u8] {
        self.take(self.data.len())
    }
}

/// `state::parse` never panics, and whatever it accepts survives
/// serialise → parse unchanged (and serialises to the same bytes again).
pub fn state_parse(data: &[u8]) {
    let Ok(st) = state::parse(data) else {
        return;
    };
    let bytes = state::to_bytes(&st);
    let again = match state::parse(&bytes) {
        Ok(s) => s,
        Err(e) => panic!("a parsed state does not parse once serialised: {e}"),
    };
    assert_eq!(st, again, "state changed through serialise → parse");
    assert_eq!(
        state::to_bytes(&again),
        bytes,
        "serialisation is not stable"
    );
}

/// Letters of patterns and exceptions: few, so that they meet the content often.
const PATTERN_ALPHABET: &[u8] = b"abcAB.-";
/// Letters of the content: the pattern letters, newlines, a NUL and invalid UTF-8.
const CONTENT_ALPHABET: &[u8] = b"abcAB.-\n\n\0\xffab";

fn literal(input: &mut Input) -> String {
    let len = 1 + usize::from(input.byte() % 5);
    (0..len)
        .map(|_| {
            let b = input.byte();
            char::from(PATTERN_ALPHABET[usize::from(b) % PATTERN_ALPHABET.len()])
        })
        .collect()
}

/// The leftmost match in `line`, and among those starting there the pattern
/// listed first: what `aho_corasick::MatchKind::LeftmostFirst` finds.
fn naive_find(line: &[u8], literals: &[String], ignore_case: bool) -> Option<usize> {
    let eq = |a: &[u8], b: &[u8]| {
        if ignore_case {
            a.eq_ignore_ascii_case(b)
        } else {
            a == b
        }
    };
    (0..line.len()).find_map(|at| {
        literals.iter().position(|l| {
            let l = l.as_bytes();
            line.len() - at >= l.len() && eq(&line[at..at + l.len()], l)
        })
    })
}

fn occurs(line: &[u8], literal: &str, ignore_case: bool) -> bool {
    naive_find(
        line,
        std::slice::from_ref(&literal.to_string()),
        ignore_case,
    )
    .is_some()
}

/// The probe's window loop ([`Scanner::scan`]), over a file that grows by
/// arbitrary steps, with arbitrary window sizes, trips and budget stops,
/// finds exactly the lines a one-shot scan of the same bytes finds: each
/// counting line once, in order, with the leftmost pattern. Lines of
/// `max_line` bytes or more may be cut into pieces, so for them only this
/// holds: a line with a pattern and no exception counts, a line with no
/// pattern does not, and a reported pattern is in the line.
pub fn scan_incremental(data: &[u8]) {
    let mut input = Input { data };
    let flags = input.byte();
    let ignore_case = flags & 1 != 0;
    let max_line = 16 + usize::from(input.byte() % 49);
    let patterns: Vec<String> = (0..1 + flags / 2 % 3)
        .map(|_| literal(&mut input))
        .collect();
    let excepts: Vec<String> = (0..flags / 8 % 3).map(|_| literal(&mut input)).collect();
    let steps: Vec<(u8, u8)> = (0..input.byte() % 8)
        .map(|_| (input.byte(), input.byte()))
        .collect();
    let stops = input.byte();
    let budget_stops = input.byte();
    let content: Vec<u8> = input
        .rest()
        .iter()
        .map(|&b| CONTENT_ALPHABET[usize::from(b) % CONTENT_ALPHABET.len()])
        .collect();

    let m = Matcher::new(&patterns, &excepts, ignore_case).expect("valid literals");
    let len = content.len();
    let mut cursor = Cursor::default();
    let mut hits: Vec<Hit> = Vec::new();
    let mut visible = 0usize;
    let last = (255u8, 0u8);
    for (i, &(grow, extra)) in steps.iter().chain(std::iter::once(&last)).enumerate() {
        visible = visible.max(len * usize::from(grow) / 255);
        // At least what `--map-window` validation guarantees: max_line + longest literal.
        let scanner = Scanner {
            matcher: &m,
            framing: Framing::Plain,
            limits: Limits {
                map_window: max_line + m.overlap() + 1 + usize::from(extra),
                max_line,
            },
        };
        let mut stop_here = stops >> (i % 8) & 1 != 0;
        let mut out_of_time = budget_stops >> (i % 8) & 1 != 0;
        // A trip or a budget stop ends a run; the next run goes on from the cursor.
        loop {
            let before = cursor;
            let ended = scanner
                .scan(
                    &mut &content[..visible],
                    visible as u64,
                    &mut cursor,
                    &mut |h| {
                        hits.push(h);
                        if std::mem::take(&mut stop_here) {
                            Flow::Stop
                        } else {
                            Flow::Continue
                        }
                    },
                    &mut || std::mem::take(&mut out_of_time),
                )
                .expect("bytes in memory never fail to read");
            assert!(
                cursor.offset >= before.offset,
                "the cursor went back from {before:?} to {cursor:?}"
            );
            if ended == Ended::CaughtUp {
                break;
            }
        }
    }

    // Where lines start and end, naively.
    let mut lines: Vec<(usize, usize, bool)> = Vec::new(); // (start, end, complete)
    let mut s = 0;
    for (i, &b) in content.iter().enumerate() {
        if b == b'\n' {
            lines.push((s, i, true));
            s = i + 1;
        }
    }
    let tail_start = s;
    if len - tail_start >= max_line {
        let ll = cursor
            .long_line
            .expect("a long unterminated tail is a long line");
        assert_eq!(ll.start as usize, tail_start);
        assert!(len - (cursor.offset as usize) < max_line, "{cursor:?}");
        lines.push((tail_start, cursor.offset as usize, false));
    } else {
        assert_eq!(
            cursor,
            Cursor {
                offset: tail_start as u64,
                long_line: None
            },
            "a short tail is left for later"
        );
    }

    let mut got = hits.iter().peekable();
    for &(start, end, complete) in &lines {
        let line = &content[start..end];
        let hit = got.next_if(|h| h.line_start as usize == start);
        if let Some(h) = got.peek() {
            assert!(
                h.line_start as usize > start,
                "hit at {} is not at a line start, or out of order",
                h.line_start
            );
        }
        let found = naive_find(line, &patterns, ignore_case);
        let excepted = excepts.iter().any(|x| occurs(line, x, ignore_case));
        if complete && line.len() < max_line {
            let want = if excepted { None } else { found };
            assert_eq!(
                hit.map(|h| h.pattern),
                want,
                "line at {start} ({:?})",
                String::from_utf8_lossy(line)
            );
        } else {
            if found.is_some() && !excepted {
                assert!(hit.is_some(), "missed the long line at {start}");
            }
            if let Some(h) = hit {
                assert!(
                    occurs(line, &patterns[h.pattern], ignore_case),
                    "long line at {start}: pattern {:?} reported but not in it",
                    patterns[h.pattern]
                );
            }
        }
        if let Some(h) = hit {
            assert!(h.snippet.len() <= SNIPPET_BYTES + '…'.len_utf8());
            assert!(!h.snippet.chars().any(char::is_control), "{:?}", h.snippet);
        }
    }
    assert!(got.next().is_none(), "hits beyond the lines: {hits:?}");
}

/// A patterns file and an argument vector, through `cli::parse` and
/// `Config::from_args`: no panic; a configuration error is one line naming
/// the flag; a configuration accepted builds its matcher.
pub fn options(data: &[u8]) {
    let mut input = Input { data };
    let flags = input.byte();
    let pf_len = usize::from(input.byte()) * 8 + usize::from(input.byte() % 8);
    let pf = input.take(pf_len);
    let args: Vec<OsString> = std::iter::once(OsString::from("logprobe"))
        .chain(
            input
                .rest()
                .split(|&b| b == 0)
                .map(|a| OsString::from_vec(a.to_vec())),
        )
        .collect();

    let cli = match logprobe::cli::parse(args) {
        Ok(c) => c,
        Err(e) => {
            let line = logprobe::cli::error_line(&e);
            assert!(
                !line.contains('\n'),
                "a usage error over several lines: {line:?}"
            );
            return;
        }
    };
    let mut check = match cli.command {
        None => cli.check,
        Some(Command::Check(a)) => *a,
        Some(_) => return,
    };
    // Read only the file written here, whatever path the arguments named.
    check.rules.patterns_file = None;
    if flags & 1 != 0 {
        let path = patterns_file_path();
        std::fs::write(&path, pf).expect("write the patterns file");
        check.rules.patterns_file = Some(path);
    }
    let config = Config::from_args(&check);
    if let Some(p) = &check.rules.patterns_file {
        let _ = std::fs::remove_file(p);
    }
    match config {
        Err(e) => {
            let e = e.as_str();
            assert!(!e.is_empty(), "an empty error");
            assert!(
                !e.contains(['\n', '\r']),
                "an error of more than one line: {e:?}"
            );
            assert!(e.starts_with("--"), "an error that names no flag: {e:?}");
        }
        Ok(cfg) => {
            assert!(!cfg.patterns.is_empty());
            assert!(cfg.threshold >= 1);
            let longest = cfg
                .patterns
                .iter()
                .chain(&cfg.excepts)
                .map(String::len)
                .max()
                .unwrap_or(0);
            assert!(cfg.map_window >= cfg.max_line + longest);
            if let Err(e) = Matcher::new(&cfg.patterns, &cfg.excepts, cfg.ignore_case) {
                panic!("a configuration accepted cannot build its matcher: {e}");
            }
        }
    }
}

fn patterns_file_path() -> PathBuf {
    std::env::temp_dir().join(format!(
        "logprobe-fuzz-patterns-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ))
}
/// A metric's value in a generated report.
#[derive(Debug, Clone, Copy)]
enum Metric {
    Absent,
    /// A JSON number as written, and its value.
    Number(&'static str, f64),
    Int(i64),
    Big(u64),
    /// JSON that is not a number.
    Other(&'static str),
}

impl Metric {
    fn number(self) -> Option<f64> {
        match self {
            Metric::Absent | Metric::Other(_) => None,
            Metric::Number(_, v) => Some(v),
            Metric::Int(i) => Some(i as f64),
            Metric::Big(u) => Some(u as f64),
        }
    }

    fn text(self) -> Option<String> {
        match self {
            Metric::Absent => None,
            Metric::Number(t, _) | Metric::Other(t) => Some(t.to_string()),
            Metric::Int(i) => Some(i.to_string()),
            Metric::Big(u) => Some(u.to_string()),
        }
    }
}

/// Numbers written as Filebeat never does, but JSON allows.
const ODD_NUMBERS: &[(&str, f64)] = &[
    ("0.0", 0.0),
    ("-0", 0.0),
    ("0e3", 0.0),
    ("2.5", 2.5),
    ("0.25", 0.25),
    ("1e2", 100.0),
    ("-1.5E-3", -0.0015),
    ("-7.0", -7.0),
];
const NOT_NUMBERS: &[&str] = &[
    "\"many\"",
    "\"12\"",
    "true",
    "null",
    "[1]",
    "{}",
    "{\"n\":1}",
];

fn big(input: &mut Input) -> u64 {
    let bits = 1 + u32::from(input.byte() % 64);
    let raw = u64::from_le_bytes(std::array::from_fn(|_| input.byte()));
    (raw & (u64::MAX >> (64 - bits))).max(1)
}

/// The gauge `libbeat.pipeline.events.active`: positive half the time.
fn active_metric(input: &mut Input) -> Metric {
    match input.byte() % 10 {
        0 => Metric::Absent,
        1 => Metric::Other(NOT_NUMBERS[usize::from(input.byte()) % NOT_NUMBERS.len()]),
        2 => Metric::Int(0),
        3 => Metric::Int(-((big(input) >> 1) as i64) - 1),
        4 => {
            let (t, v) = ODD_NUMBERS[usize::from(input.byte()) % ODD_NUMBERS.len()];
            Metric::Number(t, v)
        }
        _ => Metric::Big(big(input)),
    }
}

/// A moving counter; only absent, zero or not a number when `quiet`.
fn counter_metric(input: &mut Input, quiet: bool) -> Metric {
    let pick = input.byte();
    match pick % if quiet { 6 } else { 9 } {
        0..=2 => Metric::Absent,
        3 => [
            Metric::Int(0),
            Metric::Number("0.0", 0.0),
            Metric::Number("-0", 0.0),
        ][usize::from(pick / 16) % 3],
        4 | 5 => Metric::Other(NOT_NUMBERS[usize::from(input.byte()) % NOT_NUMBERS.len()]),
        6 | 7 => Metric::Big(big(input)),
        _ => {
            let (t, v) = ODD_NUMBERS[3 + usize::from(input.byte()) % (ODD_NUMBERS.len() - 3)];
            Metric::Number(t, v)
        }
    }
}

/// The moving counters of `logprobe::stall` (MOVING there), by dotted name.
const MOVING_COUNTERS: [&str; 6] = [
    "libbeat.output.events.acked",
    "libbeat.output.events.failed",
    "libbeat.output.events.dropped",
    "libbeat.pipeline.events.retry",
    "libbeat.output.read.errors",
    "libbeat.output.write.errors",
];
const ACTIVE_GAUGE: &str = "libbeat.pipeline.events.active";

/// Values a real report carries beside those read, some named alike
/// (`filebeat.events.active` was a delta that could be negative).
const NOISE: &[(&str, &str)] = &[
    ("libbeat.output.events.active", "17"),
    ("filebeat.events.active", "-243"),
    ("libbeat.pipeline.clients", "1"),
    ("libbeat.output.events.batches", "5"),
    ("libbeat.output.events.total", "3342"),
    ("libbeat.output.type", "\"logstash\""),
    ("libbeat.pipeline.events.published", "3342"),
    ("libbeat.pipeline.queue.max_events", "4096"),
    ("filebeat.harvester.running", "3"),
    ("registrar.states.current", "12"),
    ("beat.memstats.rss", "61440000"),
    ("libbeat.config.module.running", "0"),
];

/// A JSON object under construction: keys in order of first insertion.
#[derive(Default)]
struct Obj(Vec<(String, Node)>);

enum Node {
    Leaf(String),
    Obj(Obj),
}

impl Obj {
    fn insert(&mut self, path: &[&str], leaf: String) {
        let (key, rest) = path.split_first().expect("a key");
        if rest.is_empty() {
            self.0.push((key.to_string(), Node::Leaf(leaf)));
            return;
        }
        let at = match self
            .0
            .iter()
            .position(|(k, n)| k == key && matches!(n, Node::Obj(_)))
        {
            Some(at) => at,
            None => {
                self.0.push((key.to_string(), Node::Obj(Obj::default())));
                self.0.len() - 1
            }
        };
        if let Node::Obj(o) = &mut self.0[at].1 {
            o.insert(rest, leaf);
        }
    }

    fn render(&self, spaced: bool) -> String {
        let (colon, comma) = if spaced { (": ", ", ") } else { (":", ",") };
        let items: Vec<String> = self
            .0
            .iter()
            .map(|(k, n)| match n {
                Node::Leaf(v) => format!("\"{k}\"{colon}{v}"),
                Node::Obj(o) => format!("\"{k}\"{colon}{}", o.render(spaced)),
            })
            .collect();
        format!("{{{}}}", items.join(comma))
    }
}

/// A report's `monitoring.metrics` as the fuzzer chooses it: the gauge and
/// the counters each nested, flat (dotted) or both, among noise, in some order.
struct Report {
    active: Metric,
    counters: [Metric; 6],
    metrics: String,
}

fn report_metrics(input: &mut Input) -> Report {
    let flags = input.byte();
    let active = active_metric(input);
    let counters = std::array::from_fn(|_| counter_metric(input, flags & 1 != 0));
    let mut entries: Vec<(&str, String, u8)> = Vec::new(); // (name, value, placement)
    let noise = u16::from_le_bytes([input.byte(), input.byte()]);
    for (i, (name, value)) in NOISE.iter().enumerate() {
        if noise >> i & 1 != 0 {
            entries.push((name, value.to_string(), 0));
        }
    }
    let named =
        std::iter::once((ACTIVE_GAUGE, active)).chain(MOVING_COUNTERS.into_iter().zip(counters));
    for (name, m) in named {
        if let Some(text) = m.text() {
            entries.push((name, text, input.byte() % 3));
        }
    }
    let turn = usize::from(input.byte()) % entries.len().max(1);
    entries.rotate_left(turn);
    let mut obj = Obj::default();
    for (name, value, placement) in entries {
        if placement != 1 {
            obj.insert(&name.split('.').collect::<Vec<_>>(), value.clone());
        }
        if placement != 0 {
            obj.insert(&[name], value);
        }
    }
    let metrics = obj.render(flags & 2 != 0);
    Report {
        active,
        counters,
        metrics,
    }
}

impl Report {
    /// What `stall::read` must say; `Stalled(None)`: stalled, whatever count.
    fn expected(&self) -> Result<Option<u64>, Reading> {
        let Some(active) = self.active.number() else {
            return Err(Reading::Unreadable);
        };
        if active <= 0.0
            || self
                .counters
                .iter()
                .any(|c| c.number().is_some_and(|n| n != 0.0))
        {
            return Err(Reading::Moving);
        }
        Ok(match self.active {
            Metric::Big(n) if n <= 1 << 53 => Some(n),
            _ => None,
        })
    }

    fn line_7x(&self) -> Vec<u8> {
        format!(
            "2026-11-26T10:00:30.123Z\tINFO\t[monitoring]\tlog/log.go:145\tNon-zero metrics in the last 30s\t{{\"monitoring\": {{\"metrics\": {}}}}}",
            self.metrics
        )
        .into_bytes()
    }

    fn line_8x(&self) -> Vec<u8> {
        format!(
            "{{\"log.level\":\"info\",\"@timestamp\":\"2026-11-26T10:00:30.123Z\",\"log.logger\":\"monitoring\",\"log.origin\":{{\"file.name\":\"log/log.go\",\"file.line\":192}},\"message\":\"Non-zero metrics in the last 30s\",\"service.name\":\"filebeat\",\"monitoring\":{{\"metrics\":{},\"ecs.version\":\"1.6.0\"}},\"ecs.version\":\"1.6.0\"}}",
            self.metrics
        )
        .into_bytes()
    }
}

fn assert_reading(line: &[u8], want: Result<Option<u64>, Reading>) -> Reading {
    let got = stall::read(line);
    let ok = match (want, got) {
        (Ok(None), got) => matches!(got, Reading::Stalled(_)),
        (Ok(Some(n)), got) => got == Reading::Stalled(n),
        (Err(w), got) => got == w,
    };
    assert!(
        ok,
        "read gave {got:?}, want {want:?}: {:?}",
        String::from_utf8_lossy(line)
    );
    got
}

/// `stall::read`, the metrics report parser: never panics on any bytes; on a
/// report shaped like Filebeat's (7.x text with a JSON tail, 8.x ndjson)
/// around chosen values, a missing or non-numeric gauge
/// `libbeat.pipeline.events.active` is unreadable (never stalled), active
/// <= 0 or any moving counter non-zero is moving, and active > 0 with every
/// moving counter absent, zero or not a number is stalled with active
/// events. Both layouts read the same; a report cut short is unreadable; bytes
/// after a whole report change nothing.
pub fn stall_report(data: &[u8]) {
    let _ = stall::read(data);
    let mut input = Input { data };
    let report = report_metrics(&mut input);
    let want = report.expected();
    let (l7, l8) = (report.line_7x(), report.line_8x());
    let got = assert_reading(&l7, want);
    assert_eq!(
        stall::read(&l8),
        got,
        "8.x reads other than 7.x: {:?}",
        report.metrics
    );
    let line = if input.byte() & 1 == 0 { l7 } else { l8 };
    let cut = usize::from(u16::from_le_bytes([input.byte(), input.byte()])) % line.len();
    assert_reading(&line[..cut], Err(Reading::Unreadable));
    let mut long = line;
    long.extend_from_slice(input.rest());
    assert_reading(&long, want);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn naive_find_is_leftmost_first() {
        let p = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(naive_find(b"xxabc", &p(&["bc", "ab"]), false), Some(1));
        assert_eq!(naive_find(b"xxabc", &p(&["abc", "ab"]), false), Some(0));
        assert_eq!(naive_find(b"xxABC", &p(&["abc"]), true), Some(0));
        assert_eq!(naive_find(b"xxABC", &p(&["abc"]), false), None);
    }

    #[test]
    fn empty_inputs_hold() {
        state_parse(b"");
        scan_incremental(b"");
        options(b"");
        stall_report(b"");
    }
}
