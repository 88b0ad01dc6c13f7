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
    check.patterns_file = None;
    if flags & 1 != 0 {
        let path = patterns_file_path();
        std::fs::write(&path, pf).expect("write the patterns file");
        check.patterns_file = Some(path);
    }
    let config = Config::from_args(&check);
    if let Some(p) = &check.patterns_file {
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
    }
}
