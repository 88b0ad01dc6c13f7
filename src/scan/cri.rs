//! Scanning the kubelet's container logs: CRI records joined into lines.
//!
//! Each physical line of `/var/log/pods/…/<container>/N.log` is a record
//! `<RFC 3339 time> <stdout|stderr> <P|F> <text>`. The runtime splits a long
//! line into partial (`P`) records ended by a full (`F`) one; patterns are
//! matched against the joined text, never against the prefixes.
//!
//! Only `stderr` is read: Filebeat logs there (`-e`), while `stdout` may carry
//! events (`output.console`), that is users' own lines, which may quote any
//! error, like the `filebeat-events-data-*` files.
//!
//! Invariants, beside those of [`super`]:
//! - The cursor always points at the start of a record. While a stream's line
//!   is incomplete it stays at that line's first record, and no record after
//!   it is counted, so rereading them next run counts nothing twice.
//! - A line whose records span `max_line` bytes or more is scanned in pieces:
//!   the cursor then waits at the latest of its records read from which their
//!   texts hold at least the overlap (longest literal − 1) of the joined text,
//!   or at the first record read, and the next run rereads them as overlap
//!   (their text held no match, or the line is settled). Rereading only the
//!   last record would lose a pattern cut between two records' texts.
//! - A line followed by a record too long to join ends before that record.
//! - A record that is itself longer than `max_line` (the kubelet never writes
//!   one) is scanned as plain text in pieces ([`LongLine::split_record`]).

use std::collections::VecDeque;

use super::cursor::{Cursor, LongLine};
use super::lines::scan_chunk;
use super::matcher::{Flow, Hit, Line, Matcher, offer};

/// One CRI record without its newline: (stream, partial, text). Anything that
/// is not a CRI record counts as a full line of its own.
pub fn parse_record(rec: &[u8]) -> (&[u8], bool, &[u8]) {
    let mut parts = rec.splitn(4, |&b| b == b' ');
    if let (Some(time), Some(stream), Some(tag)) = (parts.next(), parts.next(), parts.next())
        && time.len() >= 20
        && time[0].is_ascii_digit()
        && (stream == b"stdout" || stream == b"stderr")
        && (tag == b"P" || tag == b"F")
    {
        return (stream, tag == b"P", parts.next().unwrap_or_default());
    }
    (b"", false, rec)
}

/// A stream's line being joined.
struct Pending<'b> {
    stream: &'b [u8],
    start: u64,
    /// The prefix of the record it begins in (for its time).
    record: Vec<u8>,
    text: Vec<u8>,
    settled: bool,
    long: bool,
    /// The line's latest records read in this call, `(start, text length)`,
    /// oldest first: the fewest whose texts hold the matcher's overlap (all
    /// of them while they hold less). The first is where a cut line waits.
    reread: VecDeque<(usize, usize)>,
    /// Bytes of text in `reread` after its first record.
    reread_after_first: usize,
    /// The end of the line's last record read (its newline included).
    last_end: usize,
}

impl Pending<'_> {
    /// Notes a record of the line read, `[start, end)` with `text_len` bytes
    /// of text, keeping in `reread` only what covers `overlap` bytes of text.
    fn read(&mut self, start: usize, end: usize, text_len: usize, overlap: usize) {
        if !self.reread.is_empty() {
            self.reread_after_first += text_len;
        }
        self.reread.push_back((start, text_len));
        self.last_end = end;
        while self.reread.len() > 1 && self.reread_after_first >= overlap {
            self.reread.pop_front();
            let (_, first) = self.reread[0];
            self.reread_after_first -= first;
        }
    }
}

/// What lies after a partial record: its line's final record, or not yet.
enum Ahead {
    /// The `F` record of the same stream is in the buffer.
    Complete,
    /// It is not: where the stream's last complete record starts, and whether
    /// an incomplete record of `max_line` bytes or more ends the buffer.
    Incomplete {
        last: usize,
        huge_tail: Option<usize>,
    },
}

fn look_ahead(buf: &[u8], from: usize, stream: &[u8], last: usize, max_line: usize) -> Ahead {
    let mut last = last;
    let mut q = from;
    while q < buf.len() {
        let Some(i) = memchr::memchr(b'\n', &buf[q..]) else {
            let huge = (buf.len() - q >= max_line).then_some(q);
            return Ahead::Incomplete {
                last,
                huge_tail: huge,
            };
        };
        let (s, partial, _) = parse_record(&buf[q..q + i]);
        if s == stream {
            if !partial {
                return Ahead::Complete;
            }
            last = q;
        }
        q += i + 1;
    }
    Ahead::Incomplete {
        last,
        huge_tail: None,
    }
}

/// Offers what is joined of a stream's line (a piece of it, when long).
fn offer_joined(m: &Matcher, pd: &mut Pending, on_hit: &mut dyn FnMut(Hit) -> Flow) -> Flow {
    let line = Line {
        text: &pd.text,
        start: pd.start,
        cut_before: pd.long,
        record: Some(&pd.record),
    };
    offer(m, line, Some(&mut pd.settled), on_hit)
}

/// The part of a record before its text: `<time> <stream> <P|F> `.
fn prefix<'r>(rec: &'r [u8], text: &[u8]) -> &'r [u8] {
    &rec[..rec.len() - text.len()]
}

/// [`scan_chunk`] for CRI records: same contract, with lines
/// joined from records as the module documentation says.
pub fn scan_chunk_cri(
    m: &Matcher,
    buf: &[u8],
    buf_start: u64,
    max_line: usize,
    cursor: &mut Cursor,
    on_hit: &mut dyn FnMut(Hit) -> Flow,
) -> Flow {
    let mut p = (cursor.offset - buf_start) as usize;

    if cursor.long_line.is_some_and(|ll| ll.split_record) {
        let end = memchr::memchr(b'\n', &buf[p..]).map_or(buf.len(), |i| p + i + 1);
        if scan_chunk(m, &buf[..end], buf_start, max_line, cursor, on_hit) == Flow::Stop {
            return Flow::Stop;
        }
        if cursor.long_line.is_some() {
            return Flow::Continue;
        }
        p = (cursor.offset - buf_start) as usize;
    }

    let mut pass = Pass {
        m,
        buf,
        buf_start,
        max_line,
        on_hit,
        pending: None,
        stop_after: None,
        giant_ahead: false,
    };
    if let Some(ll) = cursor.long_line
        && let Some(flow) = pass.resume(ll, p)
    {
        return flow;
    }
    while p < buf.len() {
        let Some(i) = memchr::memchr(b'\n', &buf[p..]) else {
            if pass.pending.is_none() && buf.len() - p >= max_line {
                let on_hit = &mut *pass.on_hit;
                return start_split_record(m, buf, buf_start, max_line, cursor, p, on_hit);
            }
            break;
        };
        let rec_start = p;
        p += i + 1;
        if let Some(flow) = pass.record(rec_start, p, cursor) {
            return flow;
        }
        if pass.stop_after == Some(rec_start) {
            break;
        }
    }
    pass.finish(p, cursor)
}

/// One call's walk over the records of a buffer. Its methods return
/// `Some(flow)` when the call must return that at once.
struct Pass<'b, 'h> {
    m: &'b Matcher,
    buf: &'b [u8],
    buf_start: u64,
    max_line: usize,
    on_hit: &'h mut dyn FnMut(Hit) -> Flow,
    /// A stream's line being joined.
    pending: Option<Pending<'b>>,
    /// Where a line cut into pieces must stop this run: its stream's last record here.
    stop_after: Option<usize>,
    /// A record too long to join ends the buffer after `stop_after`: the
    /// line ends before it.
    giant_ahead: bool,
}

impl<'b> Pass<'b, '_> {
    fn at(&self, p: usize) -> u64 {
        self.buf_start + p as u64
    }

    /// Goes on with a line cut into pieces by an earlier call, whose records
    /// from `p` on were read then (reread as overlap).
    fn resume(&mut self, ll: LongLine, p: usize) -> Option<Flow> {
        let buf = self.buf;
        let Some(i) = memchr::memchr(b'\n', &buf[p..]) else {
            return Some(Flow::Continue);
        };
        let (stream, _, text) = parse_record(&buf[p..p + i]);
        self.pending = Some(Pending {
            stream,
            start: ll.start,
            record: prefix(&buf[p..p + i], text).to_vec(),
            text: Vec::new(),
            settled: ll.settled,
            long: true,
            reread: VecDeque::new(),
            reread_after_first: 0,
            last_end: p,
        });
        if let Ahead::Incomplete { last, huge_tail } = look_ahead(buf, p, stream, p, self.max_line)
        {
            self.stop_after = Some(last);
            self.giant_ahead = huge_tail.is_some();
        }
        None
    }

    /// Takes the record `[rec_start, rec_end)` (its newline included).
    fn record(&mut self, rec_start: usize, rec_end: usize, cursor: &mut Cursor) -> Option<Flow> {
        let buf = self.buf;
        let (stream, partial, text) = parse_record(&buf[rec_start..rec_end - 1]);
        if self.pending.as_ref().is_some_and(|pd| pd.stream == stream) {
            return self.join(text, partial, rec_start, rec_end, cursor);
        }
        if stream == b"stdout" {
            if self.pending.is_none() {
                cursor.offset = self.at(rec_end);
            }
            return None;
        }
        if self.pending.is_none() && partial {
            return self.begin(stream, text, rec_start, rec_end);
        }
        // A full line; or one that is not a CRI record, amid a joined line: a line of its own.
        if self.pending.is_none() {
            cursor.offset = self.at(rec_end);
        }
        let rec = &buf[rec_start..rec_end - 1];
        let line = Line {
            text,
            start: self.at(rec_start),
            cut_before: false,
            record: (!stream.is_empty()).then_some(rec),
        };
        (offer(self.m, line, None, self.on_hit) == Flow::Stop).then_some(Flow::Stop)
    }

    /// Adds a record's text to the line being joined; offers the line when
    /// its full record came, or a piece of it when it grew past `max_line`.
    fn join(
        &mut self,
        text: &[u8],
        partial: bool,
        rec_start: usize,
        rec_end: usize,
        cursor: &mut Cursor,
    ) -> Option<Flow> {
        let at_end = self.at(rec_end);
        let pd = self.pending.as_mut()?;
        pd.read(rec_start, rec_end, text.len(), self.m.overlap());
        pd.text.extend_from_slice(text);
        let mut flow = Flow::Continue;
        if !partial {
            flow = offer_joined(self.m, pd, self.on_hit);
            self.pending = None;
            *cursor = Cursor::at(at_end);
        } else if pd.text.len() >= self.max_line {
            flow = offer_joined(self.m, pd, self.on_hit);
            pd.long = true;
            let keep = pd.text.len() - self.m.overlap().min(pd.text.len());
            pd.text.drain(..keep);
        }
        (flow == Flow::Stop).then_some(Flow::Stop)
    }

    /// A partial record begins a line: wait for the rest unless it is
    /// already too long to wait for.
    fn begin(
        &mut self,
        stream: &'b [u8],
        text: &[u8],
        rec_start: usize,
        rec_end: usize,
    ) -> Option<Flow> {
        if let Ahead::Incomplete { last, huge_tail } =
            look_ahead(self.buf, rec_end, stream, rec_start, self.max_line)
        {
            if huge_tail.is_none() && last - rec_start < self.max_line {
                // Wait for the rest of the line, rereading from its start.
                return Some(Flow::Continue);
            }
            // Too long to wait for: scanned in pieces up to its last record here.
            self.stop_after = Some(last);
            self.giant_ahead = huge_tail.is_some();
        }
        let rec = &self.buf[rec_start..rec_end - 1];
        let mut pd = Pending {
            stream,
            start: self.at(rec_start),
            record: prefix(rec, text).to_vec(),
            text: text.to_vec(),
            settled: false,
            long: false,
            reread: VecDeque::new(),
            reread_after_first: 0,
            last_end: rec_end,
        };
        pd.read(rec_start, rec_end, text.len(), self.m.overlap());
        self.pending = Some(pd);
        None
    }

    /// A line cut into pieces: scan what was joined, then wait at the record
    /// from which the next run rereads the overlap; or, when a record too long
    /// to join comes next, end the line before it.
    fn finish(mut self, p: usize, cursor: &mut Cursor) -> Flow {
        let Some(mut pd) = self.pending.take() else {
            return Flow::Continue;
        };
        let flow = offer_joined(self.m, &mut pd, self.on_hit);
        if self.giant_ahead {
            *cursor = Cursor::at(self.at(pd.last_end));
            return flow;
        }
        let wait = pd.reread.front().map_or(p, |&(at, _)| at);
        cursor.offset = self.at(wait);
        cursor.long_line = Some(LongLine {
            start: pd.start,
            settled: pd.settled,
            split_record: false,
        });
        flow
    }
}

/// Scans the giant record at `at` (longer than `max_line`, no newline yet) as plain text.
fn start_split_record(
    m: &Matcher,
    buf: &[u8],
    buf_start: u64,
    max_line: usize,
    cursor: &mut Cursor,
    at: usize,
    on_hit: &mut dyn FnMut(Hit) -> Flow,
) -> Flow {
    cursor.offset = buf_start + at as u64;
    cursor.long_line = None;
    let flow = scan_chunk(m, &buf[at..], cursor.offset, max_line, cursor, on_hit);
    if let Some(ll) = cursor.long_line.as_mut() {
        ll.split_record = true;
    }
    flow
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(stream: &str, tag: &str, text: &str) -> String {
        format!("2026-11-26T10:00:00.123456789Z {stream} {tag} {text}\n")
    }

    /// Scans `data` growing to each of `ends` as the window loop would, with a
    /// window over all the bytes there are: the hits' line starts.
    fn scan_growing(data: &[u8], ends: &[usize], max_line: usize) -> (Vec<u64>, Cursor) {
        let m = Matcher::new(&["NEEDLE".to_string()], &[], false).unwrap();
        let mut c = Cursor::default();
        let mut hits = Vec::new();
        for &end in ends.iter().chain([&data.len()]) {
            while c.offset < end as u64 {
                let before = c;
                let start = match c.long_line {
                    Some(ll) if ll.split_record => {
                        c.offset - (m.overlap() as u64).min(c.offset - ll.start)
                    }
                    _ => c.offset,
                };
                let buf = &data[start as usize..end];
                let mut on_hit = |h: Hit| {
                    hits.push(h.line_start);
                    Flow::Continue
                };
                scan_chunk_cri(&m, buf, start, max_line, &mut c, &mut on_hit);
                if c == before {
                    break;
                }
            }
        }
        (hits, c)
    }

    #[test]
    fn a_pattern_across_records_of_a_line_cut_between_runs_is_found_once() {
        // A stderr line "xNEE" + "D" + "" + "LExx", with stdout records between
        // its records: they span more than max_line bytes, though its text is
        // short, so a run that ends before its full record cuts it. The next
        // run must reread the text before the cut ("NEE" + "D" + ""), not just
        // the last record's (""), to find NEEDLE across it.
        let mut data = rec("stdout", "F", "before");
        let line_at = data.len() as u64;
        data += &rec("stderr", "P", "xNEE");
        data += &rec("stdout", "F", "an unrelated stdout line");
        data += &rec("stderr", "P", "D");
        data += &rec("stderr", "P", "");
        let cut = data.len();
        data += &rec("stderr", "F", "LExx");
        data += &rec("stderr", "F", "after");
        let end_at = data.len() as u64;
        for max_line in [16, 80, 120] {
            let (hits, c) = scan_growing(data.as_bytes(), &[cut], max_line);
            assert_eq!(hits, vec![line_at], "max_line {max_line}");
            assert_eq!(c, Cursor::at(end_at), "max_line {max_line}");
        }
        // Cut after every byte, each run rereading what it must.
        let ends: Vec<usize> = (0..data.len()).collect();
        let (hits, c) = scan_growing(data.as_bytes(), &ends, 80);
        assert_eq!(hits, vec![line_at]);
        assert_eq!(c, Cursor::at(end_at));
    }

    #[test]
    fn a_cut_line_followed_by_a_record_too_long_to_join_ends_before_it() {
        let mut data = rec("stderr", "P", "xNEE");
        data += &rec("stdout", "F", "an unrelated stdout line");
        data += &rec("stderr", "P", "DLE");
        let giant_at = data.len();
        data += &rec(
            "stderr",
            "F",
            &format!("{}NEEDLE{}", "a".repeat(90), "b".repeat(90)),
        );
        data += &rec("stderr", "F", "after");
        let end_at = data.len() as u64;
        let ends = [giant_at + 100, giant_at + 150];
        let (hits, c) = scan_growing(data.as_bytes(), &ends, 64);
        assert_eq!(hits, vec![0, giant_at as u64]);
        assert_eq!(c, Cursor::at(end_at));
    }
}
