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
//! [`Scanner::scan`] is the one window loop: the probe drives it over mapped
//! files ([`MappedFile`]), the tests and the fuzz targets over byte slices, so
//! they all check the very code the probe runs. Each window goes to the
//! framing's pure chunk scanner: [`lines::scan_chunk`] or [`cri::scan_chunk_cri`].
//!
//! Modules, each using only those listed before it: [`cursor`], [`matcher`],
//! [`lines`], [`cri`]; this one ties them together.

pub mod cri;
pub mod cursor;
pub mod lines;
pub mod matcher;

use std::fs::File;
use std::io;
use std::ops::Deref;
use std::os::unix::fs::FileExt;

use memmap2::{Advice, Mmap, MmapOptions};

pub use cursor::{Cursor, LongLine};
pub use matcher::{Flow, Hit, Matcher, SNIPPET_BYTES, escape_into, snippet};

/// How a file's bytes form lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// Newline-terminated lines (Filebeat's own log files).
    Plain,
    /// The kubelet's CRI records `<time> <stream> <P|F> <text>`: partial (`P`)
    /// records of a stream are joined up to its next full (`F`) one.
    Cri,
}

/// Limits of one file scan.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Bytes mapped at a time; at least `max_line` + overlap.
    pub map_window: usize,
    /// Longest line scanned whole.
    pub max_line: usize,
}

/// How a scan of one file ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// Every complete line up to the size given was scanned; an unterminated
    /// tail shorter than `max_line` waits for its newline.
    CaughtUp,
    /// `on_hit` said stop: the cursor is just past the line that tripped.
    Tripped,
    /// Out of time between two windows: the cursor keeps the progress.
    OutOfTime,
}

/// Bytes of a file, handed out a window at a time.
pub trait Windows {
    /// The bytes `[start, start + len)`.
    type Window<'w>: Deref<Target = [u8]>
    where
        Self: 'w;

    /// Gives the window `[start, start + len)`; the caller keeps within the size.
    ///
    /// # Errors
    /// A read error.
    fn window(&mut self, start: u64, len: usize) -> io::Result<Self::Window<'_>>;
}

/// Bytes already in memory (tests, fuzz targets): the file's first bytes.
impl Windows for &[u8] {
    type Window<'w>
        = &'w [u8]
    where
        Self: 'w;

    fn window(&mut self, start: u64, len: usize) -> io::Result<&[u8]> {
        let start = start as usize;
        Ok(&self[start..start + len])
    }
}

/// A log file, mapped a window at a time, or read with `pread` when mapping fails.
pub struct MappedFile<'f> {
    file: &'f File,
    buf: Vec<u8>,
}

impl<'f> MappedFile<'f> {
    /// Windows over an open file.
    pub fn new(file: &'f File) -> MappedFile<'f> {
        MappedFile {
            file,
            buf: Vec::new(),
        }
    }
}

/// A mapped window, or the read buffer.
pub enum FileWindow<'w> {
    /// Mapped with sequential advice.
    Mapped(Mmap),
    /// Read into the buffer.
    Read(&'w [u8]),
}

impl Deref for FileWindow<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            FileWindow::Mapped(m) => m,
            FileWindow::Read(b) => b,
        }
    }
}

impl Windows for MappedFile<'_> {
    type Window<'w>
        = FileWindow<'w>
    where
        Self: 'w;

    fn window(&mut self, start: u64, len: usize) -> io::Result<FileWindow<'_>> {
        if let Some(map) = map(self.file, start, len) {
            return Ok(FileWindow::Mapped(map));
        }
        self.buf.resize(len, 0);
        self.file.read_exact_at(&mut self.buf, start)?;
        Ok(FileWindow::Read(&self.buf))
    }
}

/// Maps `len` bytes of `file` from `offset`, read-only, with sequential advice.
fn map(file: &File, offset: u64, len: usize) -> Option<Mmap> {
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

/// What a scan needs besides the bytes: the literals, the framing, the limits.
#[derive(Debug, Clone, Copy)]
pub struct Scanner<'m> {
    /// The compiled literals.
    pub matcher: &'m Matcher,
    /// How the bytes form lines.
    pub framing: Framing,
    /// Window and line bounds.
    pub limits: Limits,
}

impl Scanner<'_> {
    /// Where the next window starts: at the cursor, or, inside a long line
    /// scanned as text, up to `overlap` bytes before it (never before the
    /// line), so that a pattern across the cut is found.
    pub fn window_start(&self, cursor: &Cursor) -> u64 {
        match cursor.long_line {
            Some(ll) if self.framing == Framing::Plain || ll.split_record => {
                cursor.offset - (self.matcher.overlap() as u64).min(cursor.offset - ll.start)
            }
            _ => cursor.offset,
        }
    }

    /// Scans the bytes of `src` from `cursor` up to `size`, a window of at
    /// most `limits.map_window` bytes at a time, advancing `cursor`.
    ///
    /// `on_hit` is called for each counting line in order; `out_of_time` is
    /// asked between two windows, after one that made progress.
    ///
    /// # Errors
    /// A read error from `src`.
    pub fn scan<W: Windows>(
        &self,
        src: &mut W,
        size: u64,
        cursor: &mut Cursor,
        on_hit: &mut dyn FnMut(Hit) -> Flow,
        out_of_time: &mut dyn FnMut() -> bool,
    ) -> io::Result<Ended> {
        let chunk = match self.framing {
            Framing::Plain => lines::scan_chunk,
            Framing::Cri => cri::scan_chunk_cri,
        };
        let (m, max_line) = (self.matcher, self.limits.max_line);
        while cursor.offset < size {
            let start = self.window_start(cursor);
            let len = (size - start).min(self.limits.map_window as u64) as usize;
            let before = *cursor;
            let window = src.window(start, len)?;
            if chunk(m, &window, start, max_line, cursor, on_hit) == Flow::Stop {
                return Ok(Ended::Tripped);
            }
            if *cursor == before {
                break; // an unterminated tail: wait for more bytes
            }
            if cursor.offset < size && out_of_time() {
                return Ok(Ended::OutOfTime);
            }
        }
        Ok(Ended::CaughtUp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_line_pieces_find_a_pattern_across_the_cut_once() {
        let m = Matcher::new(&["NEEDLE".to_string()], &[], false).unwrap();
        let s = Scanner {
            matcher: &m,
            framing: Framing::Plain,
            limits: Limits {
                map_window: 64,
                max_line: 16,
            },
        };
        let mut line = vec![b'.'; 40];
        line[18..24].copy_from_slice(b"NEEDLE");
        line.extend_from_slice(b"NEEDLE\n");
        let mut c = Cursor::default();
        let mut found = Vec::new();
        // Feed it as a growing file: 21 bytes, then everything.
        for end in [21usize, line.len()] {
            let ended = s
                .scan(
                    &mut &line[..end],
                    end as u64,
                    &mut c,
                    &mut |h| {
                        found.push(h.line_start);
                        Flow::Continue
                    },
                    &mut || false,
                )
                .unwrap();
            assert_eq!(ended, Ended::CaughtUp);
        }
        assert_eq!(found, vec![0]);
        assert_eq!(c, Cursor::at(line.len() as u64));
    }
}
