//! Scanning new bytes: complete lines only, all patterns at once.
//!
//! Invariants:
//! - A [`Cursor`]'s offset always points just past a newline, or at 0, except
//!   inside a line longer than `max_line` bytes, which is scanned in pieces of
//!   at least `max_line` bytes and marked by [`LongLine`].
//! - Each line counts at most once, however it is split across windows, runs
//!   and pieces: a piece is scanned together with the last `overlap` bytes of
//!   the previous one, so a pattern across the cut is found, and a settled
//!   line is never counted again.
//! - A line holding an exception never counts. For a line cut into pieces, an
//!   exception counts from the piece it appears in onwards.
//!
//! [`scan_chunk`] is pure (bytes in, hits out) so that the tests and the fuzz
//! targets drive the very code the probe runs; [`scan_file`] maps a file's
//! new bytes in bounded windows and feeds them to it.

use std::fs::File;
use std::os::unix::fs::FileExt;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use memmap2::{Advice, MmapOptions};
use serde::{Deserialize, Serialize};

/// Bytes of a line shown in a report, after escaping.
pub const SNIPPET_BYTES: usize = 512;

/// All patterns and exceptions, compiled once per run.
#[derive(Debug)]
pub struct Matcher {
    patterns: AhoCorasick,
    excepts: Option<AhoCorasick>,
    /// Bytes of overlap between pieces of a long line: longest literal − 1.
    overlap: usize,
}

impl Matcher {
    /// Compiles the literals.
    ///
    /// # Errors
    /// When a literal is empty or the automaton cannot be built.
    pub fn new(
        patterns: &[String],
        excepts: &[String],
        ignore_case: bool,
    ) -> Result<Matcher, String> {
        if patterns.is_empty() {
            return Err("no patterns".into());
        }
        if patterns.iter().chain(excepts).any(String::is_empty) {
            return Err("empty pattern".into());
        }
        let build = |lits: &[String]| {
            AhoCorasickBuilder::new()
                .match_kind(MatchKind::LeftmostFirst)
                .ascii_case_insensitive(ignore_case)
                .build(lits)
                .map_err(|e| format!("cannot compile patterns: {e}"))
        };
        let overlap = patterns
            .iter()
            .chain(excepts)
            .map(String::len)
            .max()
            .unwrap_or(1)
            - 1;
        Ok(Matcher {
            patterns: build(patterns)?,
            excepts: if excepts.is_empty() {
                None
            } else {
                Some(build(excepts)?)
            },
            overlap,
        })
    }

    /// Bytes of a long line re-read before the next piece.
    pub fn overlap(&self) -> usize {
        self.overlap
    }

    /// Whether a line holds an exception.
    pub(crate) fn excepted(&self, line: &[u8]) -> bool {
        self.excepts.as_ref().is_some_and(|x| x.is_match(line))
    }

    /// The leftmost pattern in `hay`.
    pub(crate) fn find(&self, hay: &[u8]) -> Option<aho_corasick::Match> {
        self.patterns.find(hay)
    }
}

/// Where scanning of one file stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// Every byte before this has been scanned.
    pub offset: u64,
    /// Set when `offset` lies inside a line longer than `max_line`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub long_line: Option<LongLine>,
}

/// A line longer than `max_line`, being scanned in pieces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LongLine {
    /// Offset of the line's first byte.
    pub start: u64,
    /// The line has counted, or met an exception: the rest of it is skipped.
    pub settled: bool,
    /// In a CRI file: `offset` lies inside one physical record longer than
    /// `max_line` (kubelet never writes one), scanned as plain text.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub split_record: bool,
}

/// How a file's bytes form lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// Newline-terminated lines (Filebeat's own log files).
    Plain,
    /// The kubelet's CRI records `<time> <stream> <P|F> <text>`: partial (`P`)
    /// records of a stream are joined up to its next full (`F`) one.
    Cri,
}

/// A matching line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// Offset of the line's first byte in its file.
    pub line_start: u64,
    /// Index of the pattern that matched.
    pub pattern: usize,
    /// The line, control characters escaped, cut to [`SNIPPET_BYTES`].
    pub snippet: String,
}

/// Whether scanning goes on after a hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Keep scanning.
    Continue,
    /// Stop: the probe has tripped.
    Stop,
}

/// Scans `buf`, the file's bytes from `buf_start`, advancing `cursor`.
///
/// `buf` must begin at or before `cursor.offset`, and before it only inside a
/// long line (the overlap); it may end anywhere. Complete lines are scanned;
/// an unterminated tail is left for later unless it reaches `max_line` bytes.
/// `on_hit` is called for each counting line in order; when it returns
/// [`Flow::Stop`] the cursor is left just past that line (or piece) and
/// `Flow::Stop` is returned.
pub fn scan_chunk(
    m: &Matcher,
    buf: &[u8],
    buf_start: u64,
    max_line: usize,
    cursor: &mut Cursor,
    on_hit: &mut dyn FnMut(Hit) -> Flow,
) -> Flow {
    debug_assert!(buf_start <= cursor.offset && cursor.offset <= buf_start + buf.len() as u64);
    let mut p = (cursor.offset - buf_start) as usize;

    if let Some(mut ll) = cursor.long_line {
        let from = p
            .saturating_sub(m.overlap)
            .max(ll.start.saturating_sub(buf_start) as usize);
        let (end, done) = match buf[p..].iter().position(|&b| b == b'\n') {
            Some(i) => (p + i, true),
            None if buf.len() - p >= max_line => (buf.len(), false),
            None => return Flow::Continue,
        };
        let mut flow = Flow::Continue;
        if !ll.settled {
            let piece = &buf[from..end];
            if m.excepted(piece) {
                ll.settled = true;
            } else if let Some(mat) = m.patterns.find(piece) {
                ll.settled = true;
                flow = on_hit(Hit {
                    line_start: ll.start,
                    pattern: mat.pattern().as_usize(),
                    snippet: snippet_for(
                        piece,
                        mat.start(),
                        mat.end(),
                        from > 0 || ll.start < buf_start,
                    ),
                });
            }
        }
        if done {
            cursor.offset = buf_start + end as u64 + 1;
            cursor.long_line = None;
            p = end + 1;
        } else {
            cursor.offset = buf_start + end as u64;
            cursor.long_line = Some(ll);
            return flow;
        }
        if flow == Flow::Stop {
            return flow;
        }
    }

    let complete_end = match buf[p..].iter().rposition(|&b| b == b'\n') {
        Some(i) => p + i + 1,
        None => p,
    };
    let region = &buf[p..complete_end];
    let mut s = 0;
    while s < region.len() {
        let Some(mat) = m.patterns.find(&region[s..]) else {
            break;
        };
        let (ms, me) = (s + mat.start(), s + mat.end());
        let ls = region[s..ms]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(s, |i| s + i + 1);
        let le = match region[ms..].iter().position(|&b| b == b'\n') {
            Some(i) => ms + i,
            None => region.len(), // unreachable: the region ends with a newline
        };
        let line = &region[ls..le];
        s = le + 1;
        if m.excepted(line) {
            continue;
        }
        let hit = Hit {
            line_start: buf_start + (p + ls) as u64,
            pattern: mat.pattern().as_usize(),
            snippet: snippet_for(line, ms - ls, me - ls, false),
        };
        if on_hit(hit) == Flow::Stop {
            cursor.offset = buf_start + (p + s) as u64;
            return Flow::Stop;
        }
    }
    cursor.offset = buf_start + complete_end as u64;

    let tail = &buf[complete_end..];
    if tail.len() >= max_line {
        let mut ll = LongLine {
            start: cursor.offset,
            settled: false,
            split_record: false,
        };
        cursor.offset = buf_start + buf.len() as u64;
        let mut flow = Flow::Continue;
        if m.excepted(tail) {
            ll.settled = true;
        } else if let Some(mat) = m.patterns.find(tail) {
            ll.settled = true;
            flow = on_hit(Hit {
                line_start: ll.start,
                pattern: mat.pattern().as_usize(),
                snippet: snippet_for(tail, mat.start(), mat.end(), false),
            });
        }
        cursor.long_line = Some(ll);
        return flow;
    }
    Flow::Continue
}

/// The part of `line` to show: from its start when the match fits in
/// [`SNIPPET_BYTES`], else from a little before the match, marked with `…`.
pub(crate) fn snippet_for(line: &[u8], ms: usize, me: usize, cut_before: bool) -> String {
    let (from, mark) = if me <= SNIPPET_BYTES / 2 || (ms < 64 && me <= SNIPPET_BYTES) {
        (0, cut_before)
    } else {
        (ms.saturating_sub(64), true)
    };
    let mut out = String::with_capacity(SNIPPET_BYTES + 8);
    if mark {
        out.push('…');
    }
    escape_into(&line[from..], &mut out, SNIPPET_BYTES);
    out
}

/// Appends `bytes` to `out` with control characters, backslashes and invalid
/// UTF-8 escaped, stopping before `out` would pass `limit` bytes (then ends with `…`).
pub fn escape_into(bytes: &[u8], out: &mut String, limit: usize) {
    use std::fmt::Write;
    let limit = limit.saturating_sub('…'.len_utf8());
    let mut piece = String::with_capacity(8);
    for chunk in bytes.utf8_chunks() {
        let valid = chunk.valid().chars().map(Ok);
        let invalid = chunk.invalid().iter().map(|&b| Err(b));
        for item in valid.chain(invalid) {
            piece.clear();
            match item {
                Ok('\\') => piece.push_str("\\\\"),
                Ok('\t') => piece.push_str("\\t"),
                Ok('\r') => piece.push_str("\\r"),
                Ok('\n') => piece.push_str("\\n"),
                Ok(c) if c.is_control() => {
                    let _ = write!(piece, "\\u{{{:x}}}", c as u32);
                }
                Ok(c) => piece.push(c),
                Err(b) => {
                    let _ = write!(piece, "\\x{b:02x}");
                }
            }
            if out.len() + piece.len() > limit {
                out.push('…');
                return;
            }
            out.push_str(&piece);
        }
    }
}

/// Limits of one file scan.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Bytes mapped at a time; at least `max_line` + overlap.
    pub map_window: usize,
    /// Longest line scanned whole.
    pub max_line: usize,
}

/// Scans a file's new bytes, from `cursor` up to `size`, in mapped windows.
///
/// `deadline` is checked between windows: when it says stop, the progress so
/// far is kept in `cursor` and `Ok(false)` is returned. A mapping that fails is
/// replaced by `pread`.
///
/// # Errors
/// A read error on the descriptor.
#[allow(clippy::too_many_arguments)]
pub fn scan_file(
    m: &Matcher,
    file: &File,
    size: u64,
    framing: Framing,
    limits: Limits,
    cursor: &mut Cursor,
    on_hit: &mut dyn FnMut(Hit) -> Flow,
    out_of_time: &mut dyn FnMut() -> bool,
) -> std::io::Result<(Flow, bool)> {
    let mut buf = Vec::new();
    while cursor.offset < size {
        let back = match cursor.long_line {
            Some(ll) if framing == Framing::Plain || ll.split_record => {
                (m.overlap as u64).min(cursor.offset - ll.start)
            }
            _ => 0,
        };
        let chunk = match framing {
            Framing::Plain => scan_chunk,
            Framing::Cri => crate::cri::scan_chunk_cri,
        };
        let start = cursor.offset - back;
        let len = (size - start).min(limits.map_window as u64) as usize;
        let before = *cursor;
        let flow = match map(file, start, len) {
            Some(map) => chunk(m, &map, start, limits.max_line, cursor, on_hit),
            None => {
                buf.resize(len, 0);
                file.read_exact_at(&mut buf, start)?;
                chunk(m, &buf, start, limits.max_line, cursor, on_hit)
            }
        };
        if flow == Flow::Stop {
            return Ok((Flow::Stop, true));
        }
        if *cursor == before {
            break; // an unterminated tail: wait for more bytes
        }
        if cursor.offset < size && out_of_time() {
            return Ok((Flow::Continue, false));
        }
    }
    Ok((Flow::Continue, true))
}

/// Maps `len` bytes of `file` from `offset`, read-only, with sequential advice.
fn map(file: &File, offset: u64, len: usize) -> Option<memmap2::Mmap> {
    if len == 0 {
        return None;
    }
    // SAFETY: the mapping is read-only and private to this process, and is
    // dropped before this run ends. Another process may truncate the file
    // while it is mapped; touching a page past the new end then raises SIGBUS,
    // which `crate::sigbus` turns into an orderly exit that changes no state
    // (the next run sees the shorter file and starts it over).
    let map = unsafe {
        MmapOptions::new()
            .offset(offset)
            .len(len)
            .populate()
            .map(file)
    }
    .ok()?;
    let _ = map.advise(Advice::Sequential);
    Some(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matcher(p: &[&str], x: &[&str]) -> Matcher {
        let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        Matcher::new(&s(p), &s(x), false).unwrap()
    }

    fn hits(m: &Matcher, data: &[u8], max_line: usize) -> (Vec<Hit>, Cursor) {
        let mut c = Cursor::default();
        let mut v = Vec::new();
        scan_chunk(m, data, 0, max_line, &mut c, &mut |h| {
            v.push(h);
            Flow::Continue
        });
        (v, c)
    }

    #[test]
    fn complete_lines_only() {
        let m = matcher(&["stuck"], &[]);
        let (h, c) = hits(&m, b"ok\nis stuck\nstuck but no newline", 1024);
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].line_start, 3);
        assert_eq!(h[0].snippet, "is stuck");
        assert_eq!(c.offset, 12);
    }

    #[test]
    fn one_hit_per_line_and_exceptions() {
        let m = matcher(&["a", "b"], &["skip"]);
        let (h, _) = hits(&m, b"a b a\nskip a\nb\n", 1024);
        assert_eq!(
            h.iter().map(|h| h.line_start).collect::<Vec<_>>(),
            vec![0, 13]
        );
        assert_eq!(h[1].pattern, 1);
    }

    #[test]
    fn long_line_pieces_find_a_pattern_across_the_cut_once() {
        let m = matcher(&["NEEDLE"], &[]);
        let mut line = vec![b'.'; 40];
        line[18..24].copy_from_slice(b"NEEDLE");
        line.extend_from_slice(b"NEEDLE\n");
        let mut c = Cursor::default();
        let mut found = Vec::new();
        // Feed it as a growing file: 21 bytes, then everything.
        for end in [21usize, line.len()] {
            let start = match c.long_line {
                Some(ll) => c.offset - (m.overlap() as u64).min(c.offset - ll.start),
                None => c.offset,
            } as usize;
            scan_chunk(&m, &line[start..end], start as u64, 16, &mut c, &mut |h| {
                found.push(h.line_start);
                Flow::Continue
            });
        }
        assert_eq!(found, vec![0]);
        assert_eq!(
            c,
            Cursor {
                offset: line.len() as u64,
                long_line: None
            }
        );
    }

    #[test]
    fn escapes_control_bytes_and_invalid_utf8() {
        let mut s = String::new();
        escape_into(b"a\tb\x00c\xffd\\", &mut s, 512);
        assert_eq!(s, "a\\tb\\u{0}c\\xffd\\\\");
        let mut s = String::new();
        escape_into(&[b'\x01'; 1000], &mut s, 512);
        assert!(s.len() <= 512 && s.ends_with('…'));
    }
}
