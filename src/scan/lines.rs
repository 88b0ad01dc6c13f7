//! Newline-terminated lines (Filebeat's own log files).
//!
//! [`scan_chunk`] is pure: bytes in, hits out. The window loop in
//! [`super`] feeds it; so do the tests and the fuzz targets, through that loop.

use super::cursor::{Cursor, LongLine};
use super::matcher::{Flow, Hit, Line, Matcher, offer};

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
    let p = match cursor.long_line {
        None => (cursor.offset - buf_start) as usize,
        Some(ll) => match long_line_piece(m, buf, buf_start, max_line, cursor, ll, on_hit) {
            Ok(p) => p,
            Err(flow) => return flow,
        },
    };

    let complete_end = match memchr::memrchr(b'\n', &buf[p..]) {
        Some(i) => p + i + 1,
        None => p,
    };
    let region = &buf[p..complete_end];
    let mut s = 0;
    // One search over all complete lines; a line is cut out only around a match.
    while s < region.len() {
        let Some(mat) = m.find(&region[s..]) else {
            break;
        };
        let ms = s + mat.start();
        let ls = memchr::memrchr(b'\n', &region[s..ms]).map_or(s, |i| s + i + 1);
        let le = match memchr::memchr(b'\n', &region[ms..]) {
            Some(i) => ms + i,
            None => region.len(), // unreachable: the region ends with a newline
        };
        s = le + 1;
        let line_start = buf_start + (p + ls) as u64;
        if offer(
            m,
            Line::plain(&region[ls..le], line_start, false),
            None,
            on_hit,
        ) == Flow::Stop
        {
            cursor.offset = buf_start + (p + s) as u64;
            return Flow::Stop;
        }
    }
    cursor.offset = buf_start + complete_end as u64;

    let tail = &buf[complete_end..];
    if tail.len() < max_line {
        return Flow::Continue;
    }
    // An unterminated line of max_line bytes or more: scanned in pieces.
    let mut ll = LongLine {
        start: cursor.offset,
        settled: false,
        split_record: false,
    };
    cursor.offset = buf_start + buf.len() as u64;
    let flow = offer(
        m,
        Line::plain(tail, ll.start, false),
        Some(&mut ll.settled),
        on_hit,
    );
    cursor.long_line = Some(ll);
    flow
}

/// The next piece of a long line that began before `cursor`, scanned with
/// the overlap before it. `Ok(p)`: the line ended and was left behind,
/// complete lines resume at `buf[p]`. `Err(flow)`: return `flow` now (the
/// line goes on past `buf`, or `on_hit` said stop).
fn long_line_piece(
    m: &Matcher,
    buf: &[u8],
    buf_start: u64,
    max_line: usize,
    cursor: &mut Cursor,
    mut ll: LongLine,
    on_hit: &mut dyn FnMut(Hit) -> Flow,
) -> Result<usize, Flow> {
    let p = (cursor.offset - buf_start) as usize;
    let from = p
        .saturating_sub(m.overlap())
        .max(ll.start.saturating_sub(buf_start) as usize);
    let (end, done) = match memchr::memchr(b'\n', &buf[p..]) {
        Some(i) => (p + i, true),
        None if buf.len() - p >= max_line => (buf.len(), false),
        None => return Err(Flow::Continue), // too short a piece: wait
    };
    let cut_before = from > 0 || ll.start < buf_start;
    let piece = Line::plain(&buf[from..end], ll.start, cut_before);
    let flow = offer(m, piece, Some(&mut ll.settled), on_hit);
    if !done {
        cursor.offset = buf_start + end as u64;
        cursor.long_line = Some(ll);
        return Err(flow);
    }
    *cursor = Cursor::at(buf_start + end as u64 + 1);
    match flow {
        Flow::Continue => Ok(end + 1),
        Flow::Stop => Err(Flow::Stop),
    }
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
}
