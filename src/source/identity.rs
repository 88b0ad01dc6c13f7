//! Which file is which, from one run to the next: where to resume reading.
//!
//! A file is known by the device and inode of the opened descriptor, with a
//! fingerprint of its first bytes ([`FINGERPRINT_BYTES`]) so that a reused
//! inode is seen as a new file. Pure: the caller opens and stats the file;
//! [`resume`] only compares what it read with what the state remembers.
//!
//! - Same inode, same start, grown or not: resume at the saved cursor (rename
//!   rotation keeps the offset with the inode).
//! - Same inode and start, but shorter than the saved offset: truncated
//!   (copytruncate) and written again: from 0.
//! - Same inode, another start: a reused inode, or a file truncated and
//!   rewritten: a new file, from 0.
//! - A new inode whose start is that of a file read before, while that file
//!   no longer holds what was read of it (now shorter, or starting
//!   otherwise): a copy made by copytruncate; what was read of the original
//!   is not read again. The same when the original is gone, if its
//!   fingerprint is a whole [`FINGERPRINT_BYTES`].
//! - Anything else: a new file, from 0.
//!
//! A file shorter than [`FINGERPRINT_BYTES`] is fingerprinted whole, so its
//! copy is recognised by all of what was read of it. Two small files that
//! merely begin alike are not taken for each other: a copy of a small file
//! is recognised only while its original, still there under the same inode,
//! has been emptied or rewritten (copytruncate's signature), never when the
//! original is simply gone.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

use crate::digest::{FNV_OFFSET, fnv1a};
use crate::scan::Cursor;
use crate::state::FileState;

/// Leading bytes covered by a file's fingerprint.
pub const FINGERPRINT_BYTES: usize = 1024;

/// What this run read of an opened file.
#[derive(Debug, Clone, Copy)]
pub struct Opened<'h> {
    /// Device of the descriptor.
    pub dev: u64,
    /// Inode of the descriptor.
    pub ino: u64,
    /// Size of the descriptor.
    pub size: u64,
    /// Its first bytes, at most [`FINGERPRINT_BYTES`].
    pub head: &'h [u8],
}

impl Opened<'_> {
    /// The fingerprint to remember: (bytes covered, digest).
    pub fn fingerprint(&self) -> (u32, u64) {
        (self.head.len() as u32, fnv1a(self.head, FNV_OFFSET))
    }

    /// Whether this file starts with the bytes `e` was fingerprinted from.
    fn starts_like(&self, e: &FileState) -> bool {
        starts_like(self.head, e)
    }
}

/// Whether a file whose first bytes are `head` starts with the bytes `e`
/// was fingerprinted from.
pub fn starts_like(head: &[u8], e: &FileState) -> bool {
    let n = e.fp_len as usize;
    n <= head.len() && fnv1a(&head[..n], FNV_OFFSET) == e.fp
}

/// What became of a file read before, as this run finds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Now {
    /// Not found under its device and inode.
    Gone,
    /// Still there, holding at least what was read of it.
    Holds,
    /// Still there, but shorter than what was read, or starting otherwise.
    Changed,
}

/// Where to resume reading `file`, given what the state remembers (`known`)
/// and what became of a remembered file (`now`, asked only of a file whose
/// start `file` has).
pub fn resume(known: &[FileState], file: &Opened, now: impl Fn(&FileState) -> Now) -> Cursor {
    let same_inode = known
        .iter()
        .find(|e| e.dev == file.dev && e.ino == file.ino);
    match same_inode {
        Some(e) if file.starts_like(e) => {
            if file.size < e.cursor.offset {
                Cursor::default()
            } else {
                e.cursor
            }
        }
        _ => known
            .iter()
            .filter(|e| {
                e.cursor.offset > 0
                    && e.cursor.offset <= file.size
                    && file.starts_like(e)
                    && match now(e) {
                        Now::Changed => true,
                        Now::Gone => e.fp_len as usize == FINGERPRINT_BYTES,
                        Now::Holds => false,
                    }
            })
            .map(|e| e.cursor)
            .max_by_key(|c| c.offset)
            .unwrap_or_default(),
    }
}

/// The first bytes of a file, for its fingerprint.
///
/// # Errors
/// A read error on the descriptor.
pub fn read_head(file: &File, size: u64) -> io::Result<Vec<u8>> {
    let mut head = vec![0; (size as usize).min(FINGERPRINT_BYTES)];
    let mut got = 0;
    while got < head.len() {
        match file.read_at(&mut head[got..], got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    head.truncate(got);
    Ok(head)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file of `size` bytes whose first bytes are `head`, read to `offset`.
    fn known(ino: u64, head: &[u8], offset: u64) -> FileState {
        let head = &head[..head.len().min(FINGERPRINT_BYTES)];
        FileState {
            path: format!("f{ino}"),
            dev: 1,
            ino,
            fp_len: head.len() as u32,
            fp: fnv1a(head, FNV_OFFSET),
            size: offset,
            mtime: 0,
            cursor: Cursor::at(offset),
        }
    }

    fn opened(ino: u64, head: &[u8], size: u64) -> Opened<'_> {
        Opened {
            dev: 1,
            ino,
            size,
            head: &head[..head.len().min(FINGERPRINT_BYTES)],
        }
    }

    #[test]
    fn table() {
        let a = vec![b'a'; 2000];
        let b = vec![b'b'; 2000];
        let short = b"short\n".to_vec();
        // (case, remembered, the file now, sizes of the files found now, want)
        type Case<'a> = (&'a str, Vec<FileState>, Opened<'a>, &'a [(u64, Now)], u64);
        use Now::{Changed, Holds};
        let none: &[(u64, Now)] = &[];
        let small = b"one line\ntwo\n".to_vec();
        let small_grown = b"one line\ntwo\nthree\n".to_vec();
        let cases: Vec<Case> = vec![
            ("new file", vec![], opened(7, &a, 2000), none, 0),
            (
                "same inode grown",
                vec![known(7, &a, 1500)],
                opened(7, &a, 2000),
                &[(7, Holds)],
                1500,
            ),
            (
                "same inode unchanged",
                vec![known(7, &a, 2000)],
                opened(7, &a, 2000),
                &[(7, Holds)],
                2000,
            ),
            (
                "rotated: same inode, new name",
                vec![known(7, &a, 1500)],
                opened(7, &a, 1800),
                &[(7, Holds)],
                1500,
            ),
            (
                "reused inode",
                vec![known(7, &a, 1500)],
                opened(7, &b, 2000),
                &[(7, Changed)],
                0,
            ),
            (
                "truncated and rewritten alike",
                vec![known(7, &a, 1500)],
                opened(7, &a, 1200),
                &[(7, Changed)],
                0,
            ),
            (
                "copy after copytruncate",
                vec![known(7, &a, 1500)],
                opened(8, &a, 2000),
                &[(7, Changed), (8, Holds)],
                1500,
            ),
            (
                "copy while the original is gone",
                vec![known(7, &a, 1500)],
                opened(8, &a, 2000),
                &[(8, Holds)],
                1500,
            ),
            (
                "same start, original still whole",
                vec![known(7, &a, 1500)],
                opened(8, &a, 2000),
                &[(7, Holds), (8, Holds)],
                0,
            ),
            (
                "copy shorter than what was read",
                vec![known(7, &a, 1500)],
                opened(8, &a, 1000),
                &[(7, Changed)],
                0,
            ),
            (
                "different file of another start",
                vec![known(7, &a, 1500)],
                opened(8, &b, 2000),
                &[(7, Changed)],
                0,
            ),
            (
                "small file: same inode grown",
                vec![known(7, &short, 6)],
                opened(7, &short, 6),
                &[(7, Holds)],
                6,
            ),
            (
                "small file: copy after copytruncate, grown before the copy",
                vec![known(7, &small, 13)],
                opened(8, &small_grown, 19),
                &[(7, Changed)],
                13,
            ),
            (
                "small file: copy of exactly what was read",
                vec![known(7, &small, 13)],
                opened(8, &small, 13),
                &[(7, Changed)],
                13,
            ),
            (
                "small file gone, a new one begins alike: not a copy",
                vec![known(7, &small, 13)],
                opened(8, &small_grown, 19),
                none,
                0,
            ),
            (
                "small file still whole, a new one begins alike: not a copy",
                vec![known(7, &small, 13)],
                opened(8, &small_grown, 19),
                &[(7, Holds)],
                0,
            ),
            (
                "small file emptied, a new one of another start: not a copy",
                vec![known(7, &small, 13)],
                opened(8, &short, 6),
                &[(7, Changed)],
                0,
            ),
        ];
        for (case, remembered, file, found, want) in cases {
            let now = |e: &FileState| {
                found
                    .iter()
                    .find(|f| e.dev == 1 && f.0 == e.ino)
                    .map_or(Now::Gone, |f| f.1)
            };
            let got = resume(&remembered, &file, now);
            assert_eq!(got.offset, want, "{case}");
        }
    }

    #[test]
    fn reads_the_head_of_a_file() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f");
        std::fs::write(&p, vec![b'x'; 3000]).unwrap();
        let f = File::open(&p).unwrap();
        assert_eq!(read_head(&f, 3000).unwrap().len(), FINGERPRINT_BYTES);
        assert_eq!(read_head(&f, 10).unwrap().len(), 10);
    }
}
