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
//!   the cursor then waits at its last record read, which the next run rereads
//!   as overlap (its text held no match, or the line is settled).
//! - A record that is itself longer than `max_line` (the kubelet never writes
//!   one) is scanned as plain text in pieces ([`LongLine::split_record`]).

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
    };
    if let Some(ll) = cursor.long_line
        && let Some(flow) = pass.resume(ll, p, cursor)
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
}

impl<'b> Pass<'b, '_> {
    fn at(&self, p: usize) -> u64 {
        self.buf_start + p as u64
    }

    /// Goes on with a line cut into pieces by an earlier call, whose last
    /// record read is at `p` (reread as overlap).
    fn resume(&mut self, ll: LongLine, p: usize, cursor: &mut Cursor) -> Option<Flow> {
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
        });
        if let Ahead::Incomplete { last, huge_tail } = look_ahead(buf, p, stream, p, self.max_line)
        {
            if huge_tail.is_some() && last == p {
                // Only the record we reread (its text is scanned), then a giant
                // one that cannot be joined: the line ends here.
                *cursor = Cursor::at(self.at(p + i + 1));
                return Some(Flow::Continue);
            }
            self.stop_after = Some(last);
        }
        None
    }

    /// Takes the record `[rec_start, rec_end)` (its newline included).
    fn record(&mut self, rec_start: usize, rec_end: usize, cursor: &mut Cursor) -> Option<Flow> {
        let buf = self.buf;
        let (stream, partial, text) = parse_record(&buf[rec_start..rec_end - 1]);
        if self.pending.as_ref().is_some_and(|pd| pd.stream == stream) {
            return self.join(text, partial, rec_end, cursor);
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
        rec_end: usize,
        cursor: &mut Cursor,
    ) -> Option<Flow> {
        let at_end = self.at(rec_end);
        let pd = self.pending.as_mut()?;
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
        }
        let rec = &self.buf[rec_start..rec_end - 1];
        self.pending = Some(Pending {
            stream,
            start: self.at(rec_start),
            record: prefix(rec, text).to_vec(),
            text: text.to_vec(),
            settled: false,
            long: false,
        });
        None
    }

    /// A line cut into pieces: scan what was joined, wait at its last record.
    fn finish(mut self, p: usize, cursor: &mut Cursor) -> Flow {
        let Some(mut pd) = self.pending.take() else {
            return Flow::Continue;
        };
        let last = self.stop_after.unwrap_or(p);
        let flow = offer_joined(self.m, &mut pd, self.on_hit);
        cursor.offset = self.at(last);
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
