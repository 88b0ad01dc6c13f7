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
//! Invariants, beside those of [`crate::scan`]:
//! - The cursor always points at the start of a record. While a stream's line
//!   is incomplete it stays at that line's first record, and no record after
//!   it is counted, so rereading them next run counts nothing twice.
//! - A line whose records span `max_line` bytes or more is scanned in pieces:
//!   the cursor then waits at its last record read, which the next run rereads
//!   as overlap (its text held no match, or the line is settled).
//! - A record that is itself longer than `max_line` (the kubelet never writes
//!   one) is scanned as plain text in pieces ([`LongLine::split_record`]).

use crate::scan::{Cursor, Flow, Hit, LongLine, Matcher, scan_chunk, snippet_for};

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
        let Some(i) = buf[q..].iter().position(|&b| b == b'\n') else {
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

/// Scans a piece of a joined line; returns the hit, if the line counts here.
fn scan_piece(m: &Matcher, pd: &mut Pending) -> Option<Hit> {
    let cut_before = pd.long;
    if pd.settled {
        return None;
    }
    if m.excepted(&pd.text) {
        pd.settled = true;
        return None;
    }
    let mat = m.find(&pd.text)?;
    pd.settled = true;
    Some(Hit {
        line_start: pd.start,
        pattern: mat.pattern().as_usize(),
        snippet: snippet_for(&pd.text, mat.start(), mat.end(), cut_before),
    })
}

/// [`crate::scan::scan_chunk`] for CRI records: same contract, with lines
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
        let end = buf[p..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(buf.len(), |i| p + i + 1);
        if scan_chunk(m, &buf[..end], buf_start, max_line, cursor, on_hit) == Flow::Stop {
            return Flow::Stop;
        }
        if cursor.long_line.is_some() {
            return Flow::Continue;
        }
        p = (cursor.offset - buf_start) as usize;
    }

    let mut pending: Option<Pending> = None;
    // Where a line cut into pieces must stop this run: its stream's last record here.
    let mut stop_after: Option<usize> = None;
    if let Some(ll) = cursor.long_line {
        let Some(i) = buf[p..].iter().position(|&b| b == b'\n') else {
            return Flow::Continue;
        };
        let (stream, _, _) = parse_record(&buf[p..p + i]);
        pending = Some(Pending {
            stream,
            start: ll.start,
            text: Vec::new(),
            settled: ll.settled,
            long: true,
        });
        match look_ahead(buf, p, stream, p, max_line) {
            Ahead::Complete => {}
            Ahead::Incomplete { last, huge_tail } => {
                if huge_tail.is_some() && last == p {
                    // Only the record we reread (its text is scanned), then a giant
                    // one that cannot be joined: the line ends here.
                    cursor.offset = buf_start + (p + i + 1) as u64;
                    cursor.long_line = None;
                    return Flow::Continue;
                }
                stop_after = Some(last);
            }
        }
    }

    while p < buf.len() {
        let Some(i) = buf[p..].iter().position(|&b| b == b'\n') else {
            if pending.is_none() && buf.len() - p >= max_line {
                return start_split_record(m, buf, buf_start, max_line, cursor, p, on_hit);
            }
            break;
        };
        let rec_end = p + i + 1;
        let (stream, partial, text) = parse_record(&buf[p..p + i]);
        let rec_start = p;
        p = rec_end;

        match pending.as_mut() {
            Some(pd) if pd.stream == stream => {
                pd.text.extend_from_slice(text);
                let mut hit = None;
                if !partial {
                    hit = scan_piece(m, pd);
                    pending = None;
                    cursor.offset = buf_start + rec_end as u64;
                    cursor.long_line = None;
                } else if pd.text.len() >= max_line {
                    hit = scan_piece(m, pd);
                    pd.long = true;
                    let keep = pd.text.len() - m.overlap().min(pd.text.len());
                    pd.text.drain(..keep);
                }
                if let Some(h) = hit
                    && on_hit(h) == Flow::Stop
                {
                    return Flow::Stop;
                }
            }
            _ if stream == b"stdout" => {
                if pending.is_none() {
                    cursor.offset = buf_start + rec_end as u64;
                }
            }
            Some(_) => {
                // A line that is not a CRI record, amid a joined line: a line of its own.
                if let Some(h) = full_line(m, text, buf_start + rec_start as u64)
                    && on_hit(h) == Flow::Stop
                {
                    return Flow::Stop;
                }
            }
            None if !partial => {
                cursor.offset = buf_start + rec_end as u64;
                if let Some(h) = full_line(m, text, buf_start + rec_start as u64)
                    && on_hit(h) == Flow::Stop
                {
                    return Flow::Stop;
                }
            }
            None => {
                if let Ahead::Incomplete { last, huge_tail } =
                    look_ahead(buf, rec_end, stream, rec_start, max_line)
                {
                    if huge_tail.is_none() && last - rec_start < max_line {
                        // Wait for the rest of the line, rereading from its start.
                        return Flow::Continue;
                    }
                    // Too long to wait for: scanned in pieces up to its last record here.
                    stop_after = Some(last);
                }
                pending = Some(Pending {
                    stream,
                    start: buf_start + rec_start as u64,
                    text: text.to_vec(),
                    settled: false,
                    long: false,
                });
            }
        }
        if stop_after == Some(rec_start) {
            break;
        }
    }

    if let Some(mut pd) = pending {
        // A line cut into pieces: scan what was joined, wait at its last record.
        let last = stop_after.unwrap_or(p);
        let hit = scan_piece(m, &mut pd);
        cursor.offset = buf_start + last as u64;
        cursor.long_line = Some(LongLine {
            start: pd.start,
            settled: pd.settled,
            split_record: false,
        });
        if let Some(h) = hit {
            return on_hit(h);
        }
    }
    Flow::Continue
}

/// Matches one full line's text.
fn full_line(m: &Matcher, text: &[u8], start: u64) -> Option<Hit> {
    let mat = m.find(text)?;
    if m.excepted(text) {
        return None;
    }
    Some(Hit {
        line_start: start,
        pattern: mat.pattern().as_usize(),
        snippet: snippet_for(text, mat.start(), mat.end(), false),
    })
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
