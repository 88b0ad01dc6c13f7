//! Finding log files by path or glob, on every run.
//!
//! Globs (`*`, `?`, `[...]`) may stand in any path component. Never read:
//! compressed files (their bytes are not lines) and Filebeat's
//! `*-events-data-*` files (raw user events that may quote any error).
//! The result is ordered oldest data first, so a rotated file's unread tail is
//! scanned before the current file.

use std::cmp::Ordering;
use std::ffi::OsStr;
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::scan::Framing;

/// Suffixes of compressed files, which are skipped.
const COMPRESSED: &[&str] = &[
    ".gz", ".zst", ".bz2", ".xz", ".lz4", ".lz", ".lzma", ".br", ".zip", ".Z", ".7z", ".tgz", ".sz",
];

/// A log file found on disk, with what `stat` on its path said.
#[derive(Debug, Clone)]
pub struct Found {
    /// Its path.
    pub path: PathBuf,
    /// How its bytes form lines.
    pub framing: Framing,
    /// Device.
    pub dev: u64,
    /// Inode.
    pub ino: u64,
    /// Size in bytes.
    pub size: u64,
    /// Modification time, ns since the epoch.
    pub mtime: i64,
}

/// Modification time of metadata in ns since the epoch.
pub fn mtime_ns(m: &fs::Metadata) -> i64 {
    m.mtime()
        .saturating_mul(1_000_000_000)
        .saturating_add(m.mtime_nsec())
}

/// Whether a file name is never read: compressed, raw event data
/// (Filebeat's `*-events-data-*`, Elastic Agent's `*-event-log-*`), or a
/// temporary file (the kubelet gzips a rotated pod log through `<name>.tmp`).
pub fn is_excluded(name: &OsStr) -> bool {
    let n = name.as_bytes();
    let has = |part: &[u8]| n.windows(part.len()).any(|w| w == part);
    has(b"events-data")
        || has(b"event-log")
        || n.ends_with(b".tmp")
        || COMPRESSED.iter().any(|s| n.ends_with(s.as_bytes()))
}

/// Finds the regular files that `patterns` name, deduplicated by device and
/// inode, oldest data first. Missing paths are not errors (the files may not
/// exist yet); other trouble is returned beside the files found.
pub fn discover(patterns: &[(String, Framing)]) -> (Vec<Found>, Vec<String>) {
    let mut paths = Vec::new();
    let mut errors = Vec::new();
    for (p, framing) in patterns {
        let mut expanded = Vec::new();
        expand(Path::new(p), &mut expanded, &mut errors);
        paths.extend(expanded.into_iter().map(|e| (e, *framing)));
    }
    let mut found: Vec<Found> = Vec::with_capacity(paths.len());
    let mut identities = std::collections::HashSet::with_capacity(paths.len());
    for (path, framing) in paths {
        let Some(name) = path.file_name() else {
            continue;
        };
        if is_excluded(name) {
            continue;
        }
        match fs::metadata(&path) {
            Ok(m) if m.is_file() => {
                if !identities.insert((m.dev(), m.ino())) {
                    continue;
                }
                found.push(Found {
                    framing,
                    dev: m.dev(),
                    ino: m.ino(),
                    size: m.len(),
                    mtime: mtime_ns(&m),
                    path,
                });
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => errors.push(format!("{}: {}", path.display(), crate::error::io_text(&e))),
        }
    }
    found.sort_by(older_first);
    (found, errors)
}

/// Oldest data first: by modification time, then by the rotation scheme the
/// name shows (for files written within one clock tick), then by name.
pub fn older_first(a: &Found, b: &Found) -> Ordering {
    a.mtime
        .cmp(&b.mtime)
        .then_with(|| rotation_rank(&a.path).cmp(&rotation_rank(&b.path)))
        .then_with(|| a.path.cmp(&b.path))
}

/// Larger is newer, among the names of one rotation scheme:
/// 7.x `filebeat.2` < `filebeat.1` < `filebeat`; 8.x `filebeat-20261126.ndjson`
/// < `filebeat-20261126-1.ndjson` < `filebeat-20261127.ndjson`; kubelet
/// `0.log.20261126-100000` < `0.log`.
fn rotation_rank(path: &Path) -> (i64, i64) {
    let name = path.file_name().map(OsStr::as_bytes).unwrap_or_default();
    let digits = |s: &[u8]| -> Option<i64> {
        if s.is_empty() || s.len() > 18 || !s.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(s).ok()?.parse().ok()
    };
    if let Some(stem) = name.strip_suffix(b".ndjson") {
        // filebeat-YYYYMMDD or filebeat-YYYYMMDD-N
        let parts: Vec<&[u8]> = stem.rsplitn(3, |&b| b == b'-').collect();
        if let [n, date, _] = parts[..]
            && let (Some(date), Some(n)) = (digits(date), digits(n))
            && date > 19_000_000
        {
            return (date, n);
        }
        if let [date, _] | [date, _, _] = parts[..]
            && let Some(date) = digits(date)
        {
            return (date, 0);
        }
        return (0, 0);
    }
    if let Some(pos) = name.windows(5).position(|w| w == b".log.") {
        // kubelet: N.log.YYYYMMDD-hhmmss
        let ts: Vec<u8> = name[pos + 5..]
            .iter()
            .copied()
            .filter(|b| *b != b'-')
            .collect();
        return (-1, digits(&ts).unwrap_or(0));
    }
    if let Some(dot) = name.iter().rposition(|&b| b == b'.')
        && let Some(n) = digits(&name[dot + 1..])
    {
        return (0, -n); // 7.x rename chain
    }
    (0, 0)
}

fn has_magic(s: &[u8]) -> bool {
    s.iter().any(|b| matches!(b, b'*' | b'?' | b'['))
}

/// Expands one path or glob into existing paths.
fn expand(pattern: &Path, out: &mut Vec<PathBuf>, errors: &mut Vec<String>) {
    if !has_magic(pattern.as_os_str().as_bytes()) {
        out.push(pattern.to_path_buf());
        return;
    }
    let mut bases: Vec<PathBuf> = vec![PathBuf::new()];
    let comps: Vec<_> = pattern.components().collect();
    for (i, comp) in comps.iter().enumerate() {
        let c = comp.as_os_str();
        let last = i + 1 == comps.len();
        let mut next = Vec::new();
        for base in &bases {
            if !has_magic(c.as_bytes()) {
                next.push(base.join(c));
                continue;
            }
            let dir = if base.as_os_str().is_empty() {
                Path::new(".")
            } else {
                base.as_path()
            };
            let entries = match fs::read_dir(dir) {
                Ok(e) => e,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
                    ) =>
                {
                    continue;
                }
                Err(e) => {
                    errors.push(format!("{}: {}", dir.display(), crate::error::io_text(&e)));
                    continue;
                }
            };
            let mut names: Vec<_> = entries
                .flatten()
                .map(|e| e.file_name())
                .filter(|n| {
                    let nb = n.as_bytes();
                    (!nb.starts_with(b".") || c.as_bytes().starts_with(b"."))
                        && glob_match(c.as_bytes(), nb)
                })
                .collect();
            names.sort();
            for n in names {
                let p = base.join(n);
                if last || p.is_dir() {
                    next.push(p);
                }
            }
        }
        bases = next;
    }
    out.extend(bases);
}

/// Matches a name against one glob component: `*`, `?`, `[abc]`, `[a-z]`,
/// `[!x]` or `[^x]`, and `\` to escape.
pub fn glob_match(pat: &[u8], name: &[u8]) -> bool {
    let (mut p, mut n) = (0, 0);
    let (mut star_p, mut star_n) = (usize::MAX, 0);
    while n < name.len() {
        if p < pat.len() {
            match pat[p] {
                b'*' => {
                    star_p = p;
                    star_n = n;
                    p += 1;
                    continue;
                }
                b'?' => {
                    p += 1;
                    n += 1;
                    continue;
                }
                b'[' => {
                    if let Some((matched, len)) = class(&pat[p..], name[n]) {
                        if matched {
                            p += len;
                            n += 1;
                            continue;
                        }
                    } else if name[n] == b'[' {
                        p += 1;
                        n += 1;
                        continue;
                    }
                }
                b'\\' if p + 1 < pat.len() && pat[p + 1] == name[n] => {
                    p += 2;
                    n += 1;
                    continue;
                }
                b'\\' if p + 1 < pat.len() => {}
                c if c == name[n] => {
                    p += 1;
                    n += 1;
                    continue;
                }
                _ => {}
            }
        }
        if star_p == usize::MAX {
            return false;
        }
        star_n += 1;
        n = star_n;
        p = star_p + 1;
    }
    pat[p..].iter().all(|&b| b == b'*')
}

/// Matches `c` against a bracket class at the start of `pat`; returns
/// (matched, length of the class) or `None` when the bracket is not closed.
fn class(pat: &[u8], c: u8) -> Option<(bool, usize)> {
    let mut i = 1;
    let negate = matches!(pat.get(1), Some(b'!' | b'^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    while i < pat.len() {
        if pat[i] == b']' && !first {
            return Some((matched != negate, i + 1));
        }
        first = false;
        let lo = pat[i];
        if i + 2 < pat.len() && pat[i + 1] == b'-' && pat[i + 2] != b']' {
            if lo <= c && c <= pat[i + 2] {
                matched = true;
            }
            i += 3;
        } else {
            if lo == c {
                matched = true;
            }
            i += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match(b"filebeat.[0-9]*", b"filebeat.1"));
        assert!(glob_match(b"filebeat.[0-9]*", b"filebeat.12"));
        assert!(!glob_match(b"filebeat.[0-9]*", b"filebeat"));
        assert!(glob_match(b"filebeat-*", b"filebeat-20261126-2.ndjson"));
        assert!(glob_match(b"*.log", b"0.log"));
        assert!(!glob_match(b"*.log", b"0.log.20261126-100000"));
        assert!(glob_match(b"a?c", b"abc"));
        assert!(glob_match(b"[!a]x", b"bx"));
        assert!(!glob_match(b"[!a]x", b"ax"));
        assert!(glob_match(b"\\*", b"*"));
        assert!(glob_match(b"[", b"["));
    }

    #[test]
    fn exclusions() {
        assert!(is_excluded(OsStr::new(
            "filebeat-events-data-20261126.ndjson"
        )));
        assert!(is_excluded(OsStr::new("filebeat.1.gz")));
        assert!(is_excluded(OsStr::new("0.log.20261126-100000.gz")));
        assert!(is_excluded(OsStr::new("0.log.20261126-100000.tmp")));
        assert!(!is_excluded(OsStr::new("filebeat-20261126.ndjson")));
    }

    #[test]
    fn rotation_ranks_put_older_first() {
        let r = |s: &str| rotation_rank(Path::new(s));
        assert!(r("filebeat.2") < r("filebeat.1"));
        assert!(r("filebeat.1") < r("filebeat"));
        assert!(r("filebeat-20261126.ndjson") < r("filebeat-20261126-1.ndjson"));
        assert!(r("filebeat-20261126-9.ndjson") < r("filebeat-20261126-10.ndjson"));
        assert!(r("filebeat-20261126-3.ndjson") < r("filebeat-20261127.ndjson"));
        assert!(r("0.log.20261126-100000") < r("0.log.20261126-110000"));
        assert!(r("0.log.20261126-110000") < r("0.log"));
    }
}
