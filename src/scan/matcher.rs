//! The literals of a run, compiled once, and what a line shows of a match.
//!
//! A line *counts* when it holds a pattern and no exception. [`offer`] is the
//! one place that decides whether a line, or a piece of a long line, counts
//! and hands the [`Hit`] on; every framing goes through it.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, Match, MatchKind};

use crate::linetime;

/// Bytes of a line shown in a report, after escaping.
pub const SNIPPET_BYTES: usize = 512;

/// All patterns and exceptions, compiled once per run.
#[derive(Debug)]
pub struct Matcher {
    patterns: AhoCorasick,
    excepts: Option<AhoCorasick>,
    /// Bytes of overlap between pieces of a long line: longest literal − 1.
    overlap: usize,
    /// The pattern whose lines are handed on whole ([`Hit::text`]).
    keep_text: Option<usize>,
    /// Patterns from this index on are only counted: their hits carry
    /// neither snippet nor time.
    bare_from: usize,
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
            keep_text: None,
            bare_from: usize::MAX,
        })
    }

    /// Hits of patterns from `pattern` on carry neither snippet nor time
    /// (lines whose mere presence is the news, like an output's errors).
    pub fn bare_from(mut self, pattern: usize) -> Matcher {
        self.bare_from = pattern;
        self
    }

    /// Hands on the whole text of the lines that `pattern` matches (for
    /// lines that carry data, like Filebeat's metrics reports), with their
    /// time but no snippet: [`snippet`] makes one from the text when needed.
    pub fn keeping_text_of(mut self, pattern: usize) -> Matcher {
        self.keep_text = Some(pattern);
        self
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
    pub(crate) fn find(&self, hay: &[u8]) -> Option<Match> {
        self.patterns.find(hay)
    }
}

/// Whether scanning goes on after a hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Keep scanning.
    Continue,
    /// Stop: the probe has tripped.
    Stop,
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
    /// The line's own time, ns since the epoch, where it has one (see
    /// [`crate::linetime`]): its CRI record's, else the text's.
    pub time: Option<i64>,
    /// The text offered (the line, or a piece of a long one), for the
    /// pattern given to [`Matcher::keeping_text_of`].
    pub text: Option<Vec<u8>>,
}

/// A line, or one piece of a long line, as offered to the verdict.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Line<'t> {
    /// Its text.
    pub text: &'t [u8],
    /// Offset of the line's first byte in its file.
    pub start: u64,
    /// The text begins inside the line (a later piece of a long line).
    pub cut_before: bool,
    /// In a CRI file: the record the line begins in (its time comes first).
    pub record: Option<&'t [u8]>,
}

impl<'t> Line<'t> {
    /// A whole line of a plain file, or a later piece of one (`cut_before`).
    pub fn plain(text: &'t [u8], start: u64, cut_before: bool) -> Line<'t> {
        Line {
            text,
            start,
            cut_before,
            record: None,
        }
    }

    /// The line's own time: its record's, else the text's when it begins the line.
    fn time(&self) -> Option<i64> {
        self.record
            .and_then(linetime::of_cri_prefix)
            .or_else(|| (!self.cut_before).then(|| linetime::of_text(self.text))?)
    }
}

/// Offers a line, or one piece of a long line, to the verdict: when it counts,
/// `on_hit` gets its [`Hit`] and says whether to go on.
///
/// For a piece, `settled` is the line's flag: a line that has counted, or met
/// an exception, is settled, and its later pieces are offered in vain. A
/// whole line passes `None`.
pub(crate) fn offer(
    m: &Matcher,
    line: Line,
    settled: Option<&mut bool>,
    on_hit: &mut dyn FnMut(Hit) -> Flow,
) -> Flow {
    let text = line.text;
    let found = match settled {
        Some(s) if *s => return Flow::Continue,
        Some(s) => {
            // An exception settles a piece even where no pattern is.
            if m.excepted(text) {
                *s = true;
                return Flow::Continue;
            }
            let Some(found) = m.find(text) else {
                return Flow::Continue;
            };
            *s = true;
            found
        }
        None => match m.find(text) {
            Some(found) if !m.excepted(text) => found,
            _ => return Flow::Continue,
        },
    };
    let pattern = found.pattern().as_usize();
    let (keep, bare) = (m.keep_text == Some(pattern), pattern >= m.bare_from);
    let snippet = if keep || bare {
        String::new()
    } else {
        snippet_for(text, found.start(), found.end(), line.cut_before)
    };
    on_hit(Hit {
        line_start: line.start,
        pattern,
        snippet,
        time: if bare { None } else { line.time() },
        text: keep.then(|| text.to_vec()),
    })
}

/// A line's text as a report shows it: escaped, cut to [`SNIPPET_BYTES`].
pub fn snippet(line: &[u8]) -> String {
    snippet_for(line, 0, 0, false)
}

/// The part of `line` to show: from its start when the match fits in
/// [`SNIPPET_BYTES`], else from a little before the match, marked with `…`.
fn snippet_for(line: &[u8], ms: usize, me: usize, cut_before: bool) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

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
