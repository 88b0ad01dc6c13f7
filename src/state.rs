//! The state file: offsets per file and the verdict, kept between runs.
//!
//! Versioned JSON. Written crash-safely (a temporary file in the same
//! directory, `fsync`, `rename`, `fsync` of the directory) and only when it
//! changed. Runs are serialised by a non-blocking `flock` on a lock file beside
//! it, retried for a bounded time. Unreadable, truncated or foreign state is set
//! aside with a warning; symbolic links are never followed, for reading or writing.
//! The file holds one entry per log file still on disk, so it stays small however
//! many files come and go.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::incarnation::Incarnation;
use crate::scan::Cursor;

/// The state format written by this version.
pub const VERSION: u32 = 1;

/// Most file entries kept; beyond this the oldest are forgotten.
pub const MAX_FILES: usize = 4096;

/// A state file larger than this is not ours.
const MAX_STATE_BYTES: u64 = 64 << 20;

/// How long a run waits for another run's lock.
pub const LOCK_WAIT: Duration = Duration::from_millis(250);

/// Everything kept between runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// Format version; a file with another version is set aside.
    pub version: u32,
    /// Digest of the configuration that wrote it.
    pub config: String,
    /// Start of the incarnation it belongs to, ns since the epoch (for people).
    pub incarnation: i64,
    /// What identifies that incarnation (see [`crate::incarnation`]).
    #[serde(default)]
    pub incarnation_id: String,
    /// The sticky verdict, once tripped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trip: Option<Trip>,
    /// Recent matching lines of threshold rules (at most threshold − 1 each).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hits: Vec<HitRecord>,
    /// The current run of each persistence rule that has one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub runs: Vec<PersistRun>,
    /// The current run of stalled metrics reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stall: Option<StallRun>,
    /// A trip the crash-loop guard held back in this incarnation: it did not
    /// fail the liveness probe (see [`crate::guard`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held: Option<Trip>,
    /// The earlier incarnations this state saw, oldest first, at most
    /// [`crate::guard::HISTORY`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<Past>,
    /// `--max-restarts` of the run that wrote it, for `logprobe ready`.
    #[serde(default = "crate::guard::default_max_restarts")]
    pub max_restarts: u32,
    /// One entry per log file seen on the last run, oldest first.
    #[serde(default)]
    pub files: Vec<FileState>,
}

impl State {
    /// An empty state for a configuration and incarnation.
    pub fn new(config: &str, incarnation: &Incarnation) -> State {
        State {
            version: VERSION,
            config: config.to_string(),
            incarnation: incarnation.start_ns,
            incarnation_id: incarnation.id.clone(),
            trip: None,
            hits: Vec::new(),
            runs: Vec::new(),
            stall: None,
            held: None,
            history: Vec::new(),
            max_restarts: crate::guard::default_max_restarts(),
            files: Vec::new(),
        }
    }
}

/// An earlier incarnation, as the crash-loop guard remembers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Past {
    /// Its start, ns since the epoch.
    pub incarnation: i64,
    /// The pattern of the rule that tripped it; `None`: it did not trip.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tripped: Option<String>,
    /// The tripping line, escaped and cut.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub line: String,
    /// The pattern of the rule the guard held back in it, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held: Option<String>,
    /// The line of the held trip.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub held_line: String,
}

impl Past {
    /// The rules that tripped it, held back or not, each with its line.
    pub fn rules(&self) -> impl Iterator<Item = (&str, &str)> {
        let tripped = self.tripped.as_deref().map(|r| (r, self.line.as_str()));
        let held = self.held.as_deref().map(|r| (r, self.held_line.as_str()));
        held.into_iter().chain(tripped)
    }
}

/// What is known of one log file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileState {
    /// The path it was last seen under.
    pub path: String,
    /// Device of the opened descriptor.
    pub dev: u64,
    /// Inode of the opened descriptor.
    pub ino: u64,
    /// How many leading bytes `fp` covers.
    pub fp_len: u32,
    /// FNV-1a of the first `fp_len` bytes: tells a reused inode from the same file.
    pub fp: u64,
    /// Size when last seen, or less when the last run stopped before the end
    /// (budget reached, or tripped): a file is unchanged only if its size and
    /// mtime both equal these.
    pub size: u64,
    /// Modification time when last seen, ns since the epoch.
    pub mtime: i64,
    /// How far it has been scanned.
    #[serde(flatten)]
    pub cursor: Cursor,
}

/// A matching line remembered for a rule's threshold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HitRecord {
    /// The line's time (its own, else when the probe first saw it), ns since the epoch.
    pub time: i64,
    /// The file it was in.
    pub file: String,
    /// Offset of the line's first byte.
    pub offset: u64,
    /// The count it adds to: a rule's index in the configuration (see
    /// `Config::counter_of`).
    #[serde(default)]
    pub rule: usize,
}

/// A persistence rule's lines so far: one run with no gap over its bound.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersistRun {
    /// The rule (its index in the configuration).
    pub rule: usize,
    /// Time of the run's first line, ns since the epoch.
    pub first: i64,
    /// Time of its latest line.
    pub last: i64,
    /// Lines in the run.
    pub lines: u32,
}

/// Metrics reports stalled one after another so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StallRun {
    /// Time of the first stalled report, ns since the epoch.
    pub first: i64,
    /// Time of the latest.
    pub last: i64,
    /// Reports in the run.
    pub reports: u32,
    /// Events waiting in the latest.
    pub active: u64,
}

/// What made a rule trip, beside the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "lowercase")]
pub enum Evidence {
    /// `threshold` lines within `window_ns`.
    Count {
        /// Lines needed.
        threshold: u32,
        /// The span they had to fall within, ns.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        window_ns: Option<i64>,
    },
    /// Lines kept coming from `first` to `last`, at least `for_ns`.
    Persist {
        /// The first line's time.
        first: i64,
        /// The tripping line's time.
        last: i64,
        /// Lines in the run.
        lines: u32,
        /// How long they had to keep coming, ns.
        for_ns: i64,
    },
    /// Metrics reports stayed stalled from `first` to `last`, at least `for_ns`.
    Stall {
        /// The first stalled report's time.
        first: i64,
        /// The tripping report's time.
        last: i64,
        /// Reports in the run.
        reports: u32,
        /// Events waiting in the last one.
        active: u64,
        /// `--max-stall`, ns.
        for_ns: i64,
    },
}

/// The sticky verdict: what tripped the probe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trip {
    /// The pattern that matched.
    pub pattern: String,
    /// The file holding the line that tripped.
    pub file: String,
    /// Offset of that line's first byte.
    pub offset: u64,
    /// The line, escaped and cut.
    pub line: String,
    /// When the probe first saw it, ns since the epoch.
    pub first_seen: i64,
    /// Matching lines counted toward the threshold.
    pub count: u32,
    /// What the rule saw (absent in states of logprobe 0.1: one line).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Evidence>,
}

/// Why the state could not be used.
#[derive(Debug)]
pub enum StateError {
    /// The path (or its lock file) is a symbolic link.
    Symlink(PathBuf),
    /// An I/O error on a path.
    Io(PathBuf, io::Error),
}

impl std::fmt::Display for StateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StateError::Symlink(p) => write!(
                f,
                "{}: is a symbolic link; the state is never written through one (use --state to name a real path)",
                p.display()
            ),
            StateError::Io(p, e) => write!(f, "{}: {}", p.display(), crate::error::io_text(e)),
        }
    }
}

/// The lock that serialises runs on one state file; released on drop.
#[derive(Debug)]
pub struct Lock {
    _file: File,
}

/// The lock file beside a state file.
pub fn lock_path(state: &Path) -> PathBuf {
    sibling(state, ".lock")
}

fn sibling(state: &Path, suffix: &str) -> PathBuf {
    let mut s = state.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

fn is_symlink(p: &Path) -> bool {
    fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink())
}

/// Takes the lock, retrying until `wait` has passed. `Ok(None)`: another run holds it.
///
/// # Errors
/// The lock file cannot be opened or is a symbolic link.
pub fn lock(state: &Path, wait: Duration) -> Result<Option<Lock>, StateError> {
    let path = lock_path(state);
    let open = |create: bool| {
        OpenOptions::new()
            .read(true)
            .write(create)
            .create(create)
            .mode(0o600)
            .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_CLOEXEC)
            .open(&path)
    };
    let file = match open(true) {
        Ok(f) => f,
        // A read-only directory may still hold a lock file made earlier.
        Err(e)
            if e.raw_os_error() == Some(nix::libc::EROFS)
                || e.kind() == io::ErrorKind::PermissionDenied =>
        {
            open(false).map_err(|_| StateError::Io(path.clone(), e))?
        }
        Err(e) if e.raw_os_error() == Some(nix::libc::ELOOP) => {
            return Err(StateError::Symlink(path));
        }
        Err(e) => return Err(StateError::Io(path, e)),
    };
    let deadline = Instant::now() + wait;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(Some(Lock { _file: file })),
            Err(fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(fs::TryLockError::WouldBlock) => return Ok(None),
            Err(fs::TryLockError::Error(e)) => return Err(StateError::Io(path, e)),
        }
    }
}

/// What loading found.
#[derive(Debug)]
pub struct Loaded {
    /// The state, if there was a usable one.
    pub state: Option<State>,
    /// The bytes read, to skip rewriting an unchanged state.
    pub raw: Vec<u8>,
    /// Why a file was set aside, if one was.
    pub warning: Option<String>,
}

/// Reads the state file. A missing file is no state; an unusable one is set
/// aside (renamed to `<file>.bad`, when `set_aside`) with a warning.
///
/// # Errors
/// The path is a symbolic link, or cannot be read for another reason than absence.
pub fn load(path: &Path, set_aside: bool) -> Result<Loaded, StateError> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_CLOEXEC | nix::libc::O_NONBLOCK)
        .open(path);
    let mut file = match file {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Ok(Loaded {
                state: None,
                raw: Vec::new(),
                warning: None,
            });
        }
        Err(e) if e.raw_os_error() == Some(nix::libc::ELOOP) => {
            return Err(StateError::Symlink(path.to_path_buf()));
        }
        Err(e) => return Err(StateError::Io(path.to_path_buf(), e)),
    };
    let meta = file
        .metadata()
        .map_err(|e| StateError::Io(path.to_path_buf(), e))?;
    let problem = if !meta.is_file() {
        Some("is not a regular file".to_string())
    } else if meta.len() > MAX_STATE_BYTES {
        Some(format!("is {} bytes, larger than any state", meta.len()))
    } else {
        None
    };
    let mut raw = Vec::new();
    let problem = match problem {
        Some(p) => Some(p),
        None => match file.read_to_end(&mut raw) {
            Err(e) => return Err(StateError::Io(path.to_path_buf(), e)),
            Ok(_) => match parse(&raw) {
                Ok(state) => {
                    return Ok(Loaded {
                        state: Some(state),
                        raw,
                        warning: None,
                    });
                }
                Err(why) => Some(why),
            },
        },
    };
    let why = problem.unwrap_or_default();
    Ok(Loaded {
        state: None,
        raw: Vec::new(),
        warning: Some(set_aside_bad(path, &why, set_aside && meta.is_file())),
    })
}

/// Sets an unusable state file aside as `<path>.bad` (when `rename`), and
/// says so in a warning.
fn set_aside_bad(path: &Path, why: &str, rename: bool) -> String {
    let mut warning = format!("state {}: {why}; ", path.display());
    if !rename {
        warning.push_str("starting afresh");
        return warning;
    }
    let bad = sibling(path, ".bad");
    match fs::rename(path, &bad) {
        Ok(()) => warning.push_str(&format!(
            "set aside as {} and started afresh",
            bad.display()
        )),
        Err(e) => warning.push_str(&format!("could not set it aside ({e}); starting afresh")),
    }
    warning
}

/// Parses state bytes, checking the version.
///
/// # Errors
/// Why the bytes are not a usable state.
pub fn parse(raw: &[u8]) -> Result<State, String> {
    #[derive(Deserialize)]
    struct Head {
        version: Option<u64>,
    }
    if raw.is_empty() {
        return Err("is empty".into());
    }
    // One pass in the common case; the version alone is read only to explain a failure.
    let full = serde_json::from_slice::<State>(raw);
    if let Ok(st) = full.as_ref()
        && st.version == VERSION
    {
        return full.map_err(|e| e.to_string());
    }
    let head: Head =
        serde_json::from_slice(raw).map_err(|e| format!("is not valid state JSON ({e})"))?;
    match head.version {
        Some(v) if v == u64::from(VERSION) => {}
        Some(v) => {
            return Err(format!(
                "has format version {v}, this logprobe reads {VERSION}"
            ));
        }
        None => return Err("has no format version: not a logprobe state".into()),
    }
    full.map_err(|e| format!("is not valid state JSON ({e})"))
}

/// Serialises a state (compact JSON and a newline).
pub fn to_bytes(state: &State) -> Vec<u8> {
    let mut v = serde_json::to_vec(state).unwrap_or_default();
    v.push(b'\n');
    v
}

/// Writes the state atomically unless `bytes` equal what was loaded.
/// Returns whether it wrote.
///
/// # Errors
/// The state could not be written (nothing is replaced then).
pub fn save(path: &Path, bytes: &[u8], loaded_raw: &[u8]) -> Result<bool, StateError> {
    if bytes == loaded_raw {
        return Ok(false);
    }
    if is_symlink(path) {
        return Err(StateError::Symlink(path.to_path_buf()));
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let io = |e: io::Error| StateError::Io(path.to_path_buf(), e);
    let write = || -> io::Result<()> {
        let _ = fs::remove_file(&tmp);
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_CLOEXEC)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        File::open(&dir)?.sync_all()
    };
    if let Err(e) = write() {
        let _ = fs::remove_file(&tmp);
        return Err(io(e));
    }
    remove_stale_temporaries(&dir, &name);
    Ok(true)
}

/// Removes temporary files left by runs that were killed mid-write.
fn remove_stale_temporaries(dir: &Path, name: &str) {
    let prefix = format!(".{name}.");
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let n = e.file_name();
        let n = n.to_string_lossy();
        if n.starts_with(&prefix) && n.ends_with(".tmp") {
            let _ = fs::remove_file(e.path());
        }
    }
}

/// Creates the default state directory, private to its owner.
///
/// # Errors
/// The directory cannot be created.
pub fn ensure_dir(dir: &Path) -> Result<(), StateError> {
    match fs::create_dir(dir) {
        Ok(()) => fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
            .map_err(|e| StateError::Io(dir.to_path_buf(), e)),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(StateError::Io(dir.to_path_buf(), e)),
    }
}

/// Deletes a state file and its lock file, under the lock. Returns whether a state existed.
///
/// # Errors
/// The state is locked by a running check, or cannot be removed.
pub fn reset(path: &Path) -> Result<bool, String> {
    let lock = lock(path, Duration::from_secs(2)).map_err(|e| e.to_string())?;
    if lock.is_none() {
        return Err(format!(
            "{}: another run holds the lock; try again",
            path.display()
        ));
    }
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(format!("{}: {}", path.display(), crate::error::io_text(&e))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_version_check() {
        let mut s = State::new("abc", &Incarnation::since(42));
        s.files.push(FileState {
            path: "/l/filebeat".into(),
            dev: 1,
            ino: 2,
            fp_len: 3,
            fp: 4,
            size: 5,
            mtime: 6,
            cursor: Cursor {
                offset: 5,
                long_line: None,
            },
        });
        let b = to_bytes(&s);
        assert_eq!(parse(&b).unwrap(), s);
        assert!(
            parse(br#"{"version":99}"#)
                .unwrap_err()
                .contains("version 99")
        );
        assert!(parse(b"{").unwrap_err().contains("not valid"));
        assert!(parse(b"{}").unwrap_err().contains("no format version"));
        assert!(parse(b"").is_err());
    }

    #[test]
    fn save_is_atomic_private_and_skips_unchanged() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("s.json");
        let b = to_bytes(&State::new("x", &Incarnation::since(1)));
        assert!(save(&p, &b, &[]).unwrap());
        assert!(!save(&p, &b, &b).unwrap());
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(fs::read_dir(d.path()).unwrap().count(), 1);
    }

    #[test]
    fn never_writes_through_a_symlink() {
        let d = tempfile::tempdir().unwrap();
        let target = d.path().join("precious");
        fs::write(&target, b"keep").unwrap();
        let p = d.path().join("s.json");
        std::os::unix::fs::symlink(&target, &p).unwrap();
        assert!(matches!(load(&p, true), Err(StateError::Symlink(_))));
        assert!(matches!(save(&p, b"{}", &[]), Err(StateError::Symlink(_))));
        assert_eq!(fs::read(&target).unwrap(), b"keep");
    }
}
