//! One `check` run: lock, load, find files, scan the new bytes, decide, save, report.
//!
//! Data flows one way: sources → scan → verdict → state and report. The state
//! is written only after the scan, so a run killed at any moment leaves the
//! previous state, and the next run rereads instead of skipping.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::cli::OnError;
use crate::config::{self, Config, FNV_OFFSET, PodLogs, fnv1a};
use crate::exit::Exit;
use crate::incarnation::Incarnation;
use crate::report::{Outcome, Status, trip_message};
use crate::scan::{self, Cursor, Flow, Framing, Limits, Matcher};
use crate::source::files::{self, Found, mtime_ns};
use crate::source::pods;
use crate::state::{self, FileState, State};
use crate::timefmt;
use crate::verdict::{self, Counter};

/// Leading bytes covered by a file's fingerprint.
pub const FINGERPRINT_BYTES: usize = 1024;

fn base_outcome(cfg: &Config) -> Outcome {
    Outcome {
        status: Status::Healthy,
        exit: Exit::Healthy.code(),
        message: String::new(),
        scanned_bytes: 0,
        pending_bytes: 0,
        files: 0,
        matched: None,
        state: cfg.state_path.display().to_string(),
        incarnation: None,
        silent_since: None,
        errors: Vec::new(),
        warnings: Vec::new(),
    }
}

/// Turns trouble into the `--on-error` verdict.
fn could_not_check(cfg: &Config, mut out: Outcome, why: String) -> Outcome {
    out.status = Status::Error;
    match cfg.on_error {
        OnError::Pass => {
            out.exit = Exit::Healthy.code();
            out.message = format!("HEALTHY: could not check: {why} (--on-error pass)");
        }
        OnError::Fail => {
            out.exit = Exit::CouldNotCheck.code();
            out.message = format!("ERROR: could not check: {why}");
        }
    }
    if !out.errors.contains(&why) {
        out.errors.insert(0, why);
    }
    out
}

fn unhealthy(cfg: &Config, mut out: Outcome, trip: &state::Trip) -> Outcome {
    out.status = Status::Unhealthy;
    out.exit = Exit::Unhealthy.code();
    out.message = trip_message(trip, cfg.threshold, cfg.window_ns);
    out.set_trip(trip);
    out
}

/// Runs a check and says what it found. Never panics on bad input; the
/// probe's own trouble becomes [`Status::Error`], never [`Status::Unhealthy`].
pub fn check(cfg: &Config) -> Outcome {
    check_at(cfg, timefmt::now_ns())
}

/// [`check`] with the wall-clock time given: `now` (ns since the epoch) is
/// the time of every line first seen by this run, for `--window`.
pub fn check_at(cfg: &Config, now: i64) -> Outcome {
    let started = Instant::now();
    let mut out = base_outcome(cfg);

    let inc = match cfg.since_ns {
        Some(s) => Incarnation::since(s),
        None => match Incarnation::pid1() {
            Ok(s) => s,
            Err(e) => {
                return could_not_check(
                    cfg,
                    out,
                    format!("cannot tell when this container started ({e}); give --since"),
                );
            }
        },
    };
    let incarnation = inc.start_ns;
    out.incarnation = Some(timefmt::format_rfc3339(incarnation));

    if cfg.state_path.parent() == Some(Path::new(config::DEFAULT_STATE_DIR))
        && let Err(e) = state::ensure_dir(Path::new(config::DEFAULT_STATE_DIR))
    {
        return could_not_check(cfg, out, format!("state {e}"));
    }
    let lock = match state::lock(&cfg.state_path, state::LOCK_WAIT) {
        Ok(Some(l)) => l,
        Ok(None) => return busy(cfg, out, &inc),
        Err(e) => return could_not_check(cfg, out, format!("state {e}")),
    };
    let loaded = match state::load(&cfg.state_path, true) {
        Ok(l) => l,
        Err(e) => return could_not_check(cfg, out, format!("state {e}")),
    };
    out.warnings.extend(loaded.warning);
    let before = loaded.state.clone();
    let (mut st, warning) = verdict::reconcile(loaded.state, &cfg.id, &inc);
    out.warnings.extend(warning);

    if let Some(trip) = st.trip.clone() {
        return unhealthy(cfg, out, &trip);
    }

    let (mut found, errors, searched) = find_sources(cfg);
    // More files than the state remembers: read only the newest, or the
    // oldest would be forgotten after each run and read again on the next.
    if found.len() > state::MAX_FILES {
        out.warnings.push(format!(
            "{} log files found; only the newest {} are read",
            found.len(),
            state::MAX_FILES
        ));
        found.drain(..found.len() - state::MAX_FILES);
    }
    out.errors.extend(errors);
    out.files = found.len();

    // Finding files counts against the budget, but the scan always gets a
    // share of it: a run that spent it all on finding files would make no
    // progress, and neither would the next.
    let budget = Duration::from_nanos(cfg.budget_ns as u64);
    let deadline = (started + budget).max(Instant::now() + budget / 4);
    let limits = Limits {
        map_window: cfg.map_window,
        max_line: cfg.max_line,
    };
    let mut matcher: Option<Matcher> = None;
    let mut counter = Counter::new(
        cfg.threshold,
        cfg.window_ns,
        now,
        &cfg.patterns,
        std::mem::take(&mut st.hits),
    );
    let mut kept: Vec<FileState> = Vec::with_capacity(found.len());
    let mut out_of_time = false;

    let sizes: HashMap<(u64, u64), u64> = found.iter().map(|f| ((f.dev, f.ino), f.size)).collect();
    for f in &found {
        let prev = st
            .files
            .iter()
            .position(|e| e.dev == f.dev && e.ino == f.ino);
        if let Some(i) = prev {
            let e = &st.files[i];
            if e.size == f.size && e.mtime == f.mtime {
                let mut e = e.clone();
                e.path = f.path.display().to_string();
                kept.push(e);
                continue;
            }
        }
        if out_of_time || counter.trip.is_some() || Instant::now() >= deadline {
            out_of_time |= counter.trip.is_none();
            let done = prev.map_or(0, |i| st.files[i].cursor.offset);
            out.pending_bytes += f.size.saturating_sub(done);
            if let Some(i) = prev {
                kept.push(st.files[i].clone());
            }
            continue;
        }
        let mut work = FileWork {
            cfg,
            sizes: &sizes,
            incarnation,
            limits,
            deadline,
            matcher: &mut matcher,
            counter: &mut counter,
            scanned: 0,
            pending: 0,
            finished: true,
        };
        match work.scan(f, &st.files) {
            Ok(Some(entry)) => kept.push(entry),
            Ok(None) => {}
            Err(e) => {
                out.errors.push(format!(
                    "{}: {}",
                    f.path.display(),
                    crate::io_error_text(&e)
                ));
                if let Some(i) = prev {
                    kept.push(st.files[i].clone());
                }
            }
        }
        out.scanned_bytes += work.scanned;
        out.pending_bytes += work.pending;
        out_of_time |= !work.finished;
    }

    // Entries of files gone from disk are dropped; the newest are kept if there are too many.
    if kept.len() > state::MAX_FILES {
        kept.drain(..kept.len() - state::MAX_FILES);
    }
    st.files = kept;
    let trip = counter.trip.take();
    st.hits = std::mem::take(&mut counter.hits);
    st.trip = trip.clone();
    let hits_so_far = st.hits.len();

    // Unchanged (the common case): neither serialised nor written.
    let saved = if before.as_ref() == Some(&st) {
        Ok(false)
    } else {
        state::save(&cfg.state_path, &state::to_bytes(&st), &loaded.raw)
    };
    drop(lock);
    if let Err(e) = saved {
        let why = format!("cannot save state {e}");
        if let Some(t) = &trip {
            out.warnings.push(format!(
                "{why}; the next run will find the same lines again"
            ));
            return unhealthy(cfg, out, t);
        }
        return could_not_check(cfg, out, why);
    }
    if let Some(t) = &trip {
        return unhealthy(cfg, out, t);
    }
    if let Some(limit) = cfg.max_silence_ns
        && (out.errors.is_empty() || !found.is_empty())
    {
        // Growth is read from the files' modification times: no state needed.
        let newest = found.iter().map(|f| f.mtime).max().unwrap_or(i64::MIN);
        let since = newest.max(incarnation);
        if now - since > limit {
            out.status = Status::Unhealthy;
            out.exit = Exit::Unhealthy.code();
            out.message = format!(
                "UNHEALTHY: no watched log has grown for {} (since {}; --max-silence {}; {} file{} watched)",
                timefmt::format_duration(now - since),
                timefmt::format_rfc3339(since),
                timefmt::format_duration(limit),
                found.len(),
                if found.len() == 1 { "" } else { "s" }
            );
            out.silent_since = Some(timefmt::format_rfc3339(since));
            return out;
        }
    }
    if !out.errors.is_empty() {
        let first = out.errors[0].clone();
        return could_not_check(cfg, out, first);
    }
    out.message = healthy_message(
        cfg,
        &out,
        found.is_empty().then_some(&searched),
        hits_so_far,
        out_of_time,
    );
    out
}

/// Finds the files of every source: the log paths, and the pod-log
/// directory when asked for (or, with the filebeat preset, when no log file
/// exists). Returns the files, the trouble met, and what was searched.
fn find_sources(cfg: &Config) -> (Vec<Found>, Vec<String>, Vec<String>) {
    let mut searched = cfg.logs.clone();
    let plain: Vec<(String, Framing)> = cfg
        .logs
        .iter()
        .map(|l| (l.clone(), Framing::Plain))
        .collect();
    let (mut found, mut errors) = files::discover(&plain);
    let dir = match &cfg.pod_logs {
        PodLogs::Off => return (found, errors, searched),
        PodLogs::Fallback if !found.is_empty() => return (found, errors, searched),
        PodLogs::Dir(d) if d.is_dir() => Ok(d.clone()),
        PodLogs::Dir(d) => Err(format!("--pod-logs: {}: not a directory", d.display())),
        PodLogs::Fallback | PodLogs::Auto => pods::find_dir(&pods_root(), &cfg.container),
    };
    match dir {
        Ok(d) => {
            let globs: Vec<(String, Framing)> = pods::globs(&d)
                .into_iter()
                .map(|g| (g, Framing::Cri))
                .collect();
            searched.extend(globs.iter().map(|g| g.0.clone()));
            let (more, errs) = files::discover(&globs);
            errors.extend(errs);
            found.extend(more);
            found.sort_by(files::older_first);
        }
        Err(e) if cfg.pod_logs == PodLogs::Fallback => {
            errors.push(format!(
                "no Filebeat log file ({}), and {e}",
                crate::report::cut(&cfg.logs.join(", "), 200)
            ));
        }
        Err(e) => errors.push(e),
    }
    (found, errors, searched)
}

/// The file-system root under which pod logs are looked for: `/`, or
/// `$LOGPROBE_POD_ROOT` (for tests that lay out a fake node).
fn pods_root() -> PathBuf {
    std::env::var_os("LOGPROBE_POD_ROOT").map_or_else(|| PathBuf::from("/"), PathBuf::from)
}

fn healthy_message(
    cfg: &Config,
    out: &Outcome,
    none_found: Option<&Vec<String>>,
    hits: usize,
    out_of_time: bool,
) -> String {
    if let Some(searched) = none_found {
        let list = crate::report::cut(&searched.join(", "), 300);
        return format!("HEALTHY: no log file found ({list}); nothing to check");
    }
    let mut m = format!(
        "HEALTHY: no match in {} new bytes of {} log file{}",
        out.scanned_bytes,
        out.files,
        if out.files == 1 { "" } else { "s" }
    );
    if hits > 0 {
        let within = cfg
            .window_ns
            .map(|w| format!(" within {}", timefmt::format_duration(w)))
            .unwrap_or_default();
        m = format!(
            "HEALTHY: {hits} of {} matching lines{within} so far",
            cfg.threshold
        );
    }
    if out_of_time {
        m.push_str(&format!(
            " (budget {} reached; {} bytes left for the next run)",
            timefmt::format_duration(cfg.budget_ns),
            out.pending_bytes
        ));
    }
    m
}

/// The verdict while another run holds the lock: what the state already says.
fn busy(cfg: &Config, mut out: Outcome, inc: &Incarnation) -> Outcome {
    out.warnings.push(format!(
        "another logprobe run holds the lock on {}; nothing scanned",
        cfg.state_path.display()
    ));
    if let Ok(state::Loaded {
        state: Some(st), ..
    }) = state::load(&cfg.state_path, false)
        && st.incarnation_id == inc.id
        && st.config == cfg.id
        && let Some(t) = &st.trip
    {
        return unhealthy(cfg, out, t);
    }
    out.message =
        "HEALTHY: another run is checking right now; no trip recorded in this incarnation".into();
    out
}

/// Scans one file; collects what the run learns about it.
struct FileWork<'a, 'c> {
    cfg: &'a Config,
    /// Size of each file found this run, by device and inode.
    sizes: &'a HashMap<(u64, u64), u64>,
    incarnation: i64,
    limits: Limits,
    deadline: Instant,
    matcher: &'a mut Option<Matcher>,
    counter: &'a mut Counter<'c>,
    scanned: u64,
    pending: u64,
    finished: bool,
}

impl FileWork<'_, '_> {
    /// Opens, identifies and scans a file. `Ok(None)`: it vanished or is not a regular file.
    fn scan(&mut self, f: &Found, known: &[FileState]) -> io::Result<Option<FileState>> {
        let file = match OpenOptions::new()
            .read(true)
            .custom_flags(nix::libc::O_CLOEXEC | nix::libc::O_NONBLOCK)
            .open(&f.path)
        {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        // Identity and size come from the descriptor, never from the path.
        let meta = file.metadata()?;
        if !meta.is_file() {
            return Ok(None);
        }
        let (size, mtime) = (meta.len(), mtime_ns(&meta));
        let head = read_head(&file, size)?;
        let same_start = |e: &FileState| {
            (e.fp_len as usize) <= head.len()
                && fnv1a(&head[..e.fp_len as usize], FNV_OFFSET) == e.fp
        };
        let prev = known
            .iter()
            .find(|e| e.dev == meta.dev() && e.ino == meta.ino());
        let mut cursor = match prev {
            Some(e) if same_start(e) => {
                if size < e.cursor.offset {
                    Cursor::default()
                } else {
                    e.cursor
                }
            }
            // A new file, a reused inode, or one truncated and rewritten; or
            // a copy of a file read before (logrotate's copytruncate copies,
            // then truncates): what was read of the original is not read
            // again. A copy has the original's whole fingerprint, and the
            // original is gone or shorter than what was read of it.
            _ => known
                .iter()
                .filter(|e| {
                    e.fp_len as usize == FINGERPRINT_BYTES
                        && e.cursor.offset <= size
                        && self
                            .sizes
                            .get(&(e.dev, e.ino))
                            .is_none_or(|&now| now < e.cursor.offset)
                        && same_start(e)
                })
                .map(|e| e.cursor)
                .max_by_key(|c| c.offset)
                .unwrap_or_default(),
        };
        let path = f.path.display().to_string();
        let mut examined = size;
        if mtime < self.incarnation {
            // Written only by an earlier incarnation: never trips.
            cursor = Cursor {
                offset: size,
                long_line: None,
            };
        } else if cursor.offset < size {
            if self.matcher.is_none() {
                let m = Matcher::new(&self.cfg.patterns, &self.cfg.excepts, self.cfg.ignore_case)
                    .map_err(io::Error::other)?;
                *self.matcher = Some(m);
            }
            let Some(m) = self.matcher.as_ref() else {
                return Ok(None);
            };
            let before = cursor.offset;
            let counter = &mut *self.counter;
            let deadline = self.deadline;
            let (flow, done) = scan::scan_file(
                m,
                &file,
                size,
                f.framing,
                self.limits,
                &mut cursor,
                &mut |hit| counter.on_hit(hit, &path),
                &mut || Instant::now() >= deadline,
            )?;
            self.scanned += cursor.offset - before;
            self.finished = done;
            if !done {
                self.pending += size - cursor.offset;
            }
            if !done || flow == Flow::Stop {
                // Examined only this far: the next run must not take the file as unchanged.
                examined = cursor.offset;
            }
        }
        Ok(Some(FileState {
            path,
            dev: meta.dev(),
            ino: meta.ino(),
            fp_len: head.len() as u32,
            fp: fnv1a(&head, FNV_OFFSET),
            size: examined,
            mtime,
            cursor,
        }))
    }
}

/// The first bytes of a file, for its fingerprint.
fn read_head(file: &File, size: u64) -> io::Result<Vec<u8>> {
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

/// Used by `state show`: a state file's verdict in words.
pub fn describe(st: &State, _now: i64) -> String {
    match &st.trip {
        Some(t) => trip_message(t, t.count, None),
        None => format!(
            "HEALTHY so far: {} file{} tracked, {} recent matching line{}",
            st.files.len(),
            if st.files.len() == 1 { "" } else { "s" },
            st.hits.len(),
            if st.hits.len() == 1 { "" } else { "s" }
        ),
    }
}
