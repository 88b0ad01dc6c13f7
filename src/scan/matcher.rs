//! The literals of a run, compiled once, and what a line shows of a match.
//!
//! A line *counts* when it holds a pattern and no exception. [`offer`] is the
//! one place that decides whether a line, or a piece of a long line, counts
//! and hands the [`Hit`] on; every framing goes through it.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, Match, MatchKind};

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
}

/// Offers a line, or one piece of a long line, to the verdict: when it counts,
/// `on_hit` gets its [`Hit`] and says whether to go on.
///
/// `text` begins at the line's first byte, or, for a later piece of a long
/// line, somewhere inside it (`cut_before`). For a piece, `settled` is the
/// line's flag: a line that has counted, or met an exception, is settled, and
/// its later pieces are offered in vain. A whole line passes `None`.
pub(crate) fn offer(
    m: &Matcher,
    text: &[u8],
    line_start: u64,
    cut_before: bool,
    settled: Option<&mut bool>,
    on_hit: &mut dyn FnMut(Hit) -> Flow,
) -> Flow {
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
    on_hit(Hit {
        line_start,
        pattern: found.pattern().as_usize(),
        snippet: snippet_for(text, found.start(), found.end(), cut_before),
    })
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
