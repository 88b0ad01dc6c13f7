//! One `check` run, in order: date the incarnation, lock and load the state,
//! find the files, scan the new bytes, save, decide, report.
//!
//! Data flows one way: sources → scan → verdict → state and report. The state
//! is written only after the scan, so a run killed at any moment leaves the
//! previous state, and the next run rereads instead of skipping.

use std::collections::HashMap;
use std::fs::{File, Metadata, OpenOptions};
use std::io;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::cli::CheckArgs;
use crate::config::{self, Config, PodLogs};
use crate::error;
use crate::exit::Exit;
use crate::guard;
use crate::incarnation::Incarnation;
use crate::report::{self, Outcome};
use crate::scan::{Cursor, Ended, Limits, MappedFile, Matcher, Scanner};
use crate::sigbus;
use crate::source::files::{self, Found, mtime_ns};
use crate::source::identity::{self, Now, Opened};
use crate::source::pods;
use crate::state::{self, FileState, Loaded, Lock, State, Trip};
use crate::timefmt;
use crate::verdict::{self, Facts, Judge, Memory, Verdict};

/// `logprobe check`: validates the options, runs, prints, and returns the exit.
pub fn command(args: &CheckArgs) -> Exit {
    match Config::from_args(args) {
        Ok(cfg) => check(&cfg).print(cfg.format),
        Err(e) => {
            error::print(e);
            Exit::Usage
        }
    }
}

/// Runs a check and says what it found. Never panics on bad input; the
/// probe's own trouble becomes [`crate::verdict::Status::Error`], never
/// [`crate::verdict::Status::Unhealthy`].
pub fn check(cfg: &Config) -> Outcome {
    check_at(cfg, timefmt::now_ns())
}

/// [`check`] with the wall-clock time given: `now` (ns since the epoch) is
/// the time of every line first seen by this run, for `--window`.
pub fn check_at(cfg: &Config, now: i64) -> Outcome {
    check_with(cfg, now, || {})
}

/// [`check_at`], calling `after_discovery` between finding the files and
/// scanning them (tests rotate there, as Filebeat may at any moment).
fn check_with(cfg: &Config, now: i64, after_discovery: impl FnOnce()) -> Outcome {
    let started = Instant::now();
    let mut facts = Facts::default();
    let Some((lock, mut loaded)) = lock_and_load(cfg, &mut facts) else {
        let inc = facts.busy.then(|| busy(cfg, &mut facts)).flatten();
        return finish(cfg, inc, facts, now);
    };
    let last = loaded.state.as_ref().map(|s| s.incarnation_id.as_str());
    let inc = match incarnation(cfg, last) {
        Ok(inc) => inc,
        Err(why) => {
            facts.failure = Some(why);
            return finish(cfg, None, facts, now);
        }
    };
    let before = loaded.state.clone();
    let (mut st, other_config) = verdict::reconcile(loaded.state.take(), &cfg.id, &inc);
    if other_config {
        facts.warnings.push(report::OTHER_CONFIG.into());
    }
    let found = find_sources(cfg, &mut facts);
    after_discovery();
    Run::new(cfg, now, inc.start_ns, started, &found).scan_all(&found, &mut st, &mut facts);
    if guard::forget_if_cured(&mut st, now) {
        facts.uncured = None;
    }
    st.max_restarts = cfg.max_restarts;
    save(cfg, lock, &loaded, before.as_ref(), &st, &mut facts);
    finish(cfg, Some(inc.start_ns), facts, now)
}

fn finish(cfg: &Config, incarnation: Option<i64>, facts: Facts, now: i64) -> Outcome {
    let start = incarnation.unwrap_or_default();
    let v = verdict::decide(&facts, start, cfg.max_silence_ns, now);
    report::outcome(cfg, incarnation, facts, &v)
}

/// The incarnation: `--since`, or this container's start (`last`: the one
/// the state remembers, which saves looking at every process).
fn incarnation(cfg: &Config, last: Option<&str>) -> Result<Incarnation, String> {
    match cfg.since_ns {
        Some(s) => Ok(Incarnation::since(s)),
        None => {
            Incarnation::of_container(&cfg.proc_root, last).map_err(|e| report::no_incarnation(&e))
        }
    }
}

/// Takes the lock and loads the state. `None` when the run goes no further:
/// another run holds the lock (`facts.busy`) or the state cannot be used
/// (`facts.failure`).
fn lock_and_load(cfg: &Config, facts: &mut Facts) -> Option<(Lock, Loaded)> {
    let default_dir = Path::new(config::DEFAULT_STATE_DIR);
    if cfg.state_path.parent() == Some(default_dir)
        && let Err(e) = state::ensure_dir(default_dir)
    {
        facts.failure = Some(format!("state {e}"));
        return None;
    }
    let lock = match state::lock(&cfg.state_path, state::LOCK_WAIT) {
        Ok(Some(l)) => l,
        Ok(None) => {
            facts.busy = true;
            return None;
        }
        Err(e) => {
            facts.failure = Some(format!("state {e}"));
            return None;
        }
    };
    match state::load(&cfg.state_path, true) {
        Ok(loaded) => {
            facts.warnings.extend(loaded.warning.clone());
            Some((lock, loaded))
        }
        Err(e) => {
            facts.failure = Some(format!("state {e}"));
            None
        }
    }
}

/// While another run holds the lock: what the state already says (its
/// sticky trip, if it is this incarnation's). Returns the incarnation's start.
fn busy(cfg: &Config, facts: &mut Facts) -> Option<i64> {
    facts.warnings.push(report::busy_warning(cfg));
    let st = match state::load(&cfg.state_path, false) {
        Ok(Loaded { state, .. }) => state,
        Err(_) => None,
    };
    let inc = incarnation(cfg, st.as_ref().map(|s| s.incarnation_id.as_str())).ok()?;
    if let Some(st) = st
        && st.incarnation_id == inc.id
        && st.config == cfg.id
    {
        facts.trip = st.trip;
    }
    Some(inc.start_ns)
}

/// Saves the state when it changed, then lets the lock go. A trip stands
/// even when it cannot be saved; otherwise that is a failure to check.
fn save(
    cfg: &Config,
    lock: Lock,
    loaded: &Loaded,
    before: Option<&State>,
    st: &State,
    facts: &mut Facts,
) {
    // Unchanged (the common case): neither serialised nor written.
    let saved = if before == Some(st) {
        Ok(false)
    } else {
        state::save(&cfg.state_path, &state::to_bytes(st), &loaded.raw)
    };
    drop(lock);
    if let Err(e) = saved {
        let why = format!("cannot save state {e}");
        match facts.trip {
            Some(_) => facts.warnings.push(report::unsaved_trip(&why)),
            None => facts.failure = Some(why),
        }
    }
}

/// Finds the files of every source: the log paths, and the pod-log
/// directory when asked for (or, with the filebeat preset, when no log file
/// exists). Records what was searched and the trouble met.
fn find_sources(cfg: &Config, facts: &mut Facts) -> Vec<Found> {
    facts.searched = cfg.logs.clone();
    let plain: Vec<(String, crate::scan::Framing)> = cfg
        .logs
        .iter()
        .map(|l| (l.clone(), crate::scan::Framing::Plain))
        .collect();
    let (mut found, errors) = files::discover(&plain);
    facts.errors.extend(errors);
    let dir = match &cfg.pod_logs {
        PodLogs::Off => None,
        PodLogs::Fallback if !found.is_empty() => None,
        PodLogs::Dir(d) if d.is_dir() => Some(Ok(d.clone())),
        PodLogs::Dir(d) => Some(Err(format!("--pod-logs: {}: not a directory", d.display()))),
        PodLogs::Fallback | PodLogs::Auto => Some(pods::find_dir(&cfg.pod_root, &cfg.containers)),
    };
    match dir {
        None => {}
        Some(Ok(d)) => {
            let globs: Vec<(String, crate::scan::Framing)> = pods::globs(&d)
                .into_iter()
                .map(|g| (g, crate::scan::Framing::Cri))
                .collect();
            facts.searched.extend(globs.iter().map(|g| g.0.clone()));
            let (more, errs) = files::discover(&globs);
            facts.errors.extend(errs);
            found.extend(more);
            found.sort_by(files::older_first);
        }
        Some(Err(e)) if cfg.pod_logs == PodLogs::Fallback => {
            facts.errors.push(report::no_log_file(&cfg.logs, &e));
        }
        Some(Err(e)) => facts.errors.push(e),
    }
    // More files than the state remembers: read only the newest, or the
    // oldest would be forgotten after each run and read again on the next.
    if found.len() > state::MAX_FILES {
        facts
            .warnings
            .push(report::too_many_files(found.len(), state::MAX_FILES));
        found.drain(..found.len() - state::MAX_FILES);
    }
    facts.files = found.len();
    facts.newest_mtime = found.iter().map(|f| f.mtime).max();
    found
}

/// What stays the same for every file of one run, built once.
struct Run<'a> {
    cfg: &'a Config,
    now: i64,
    /// Start of the incarnation, ns since the epoch.
    incarnation: i64,
    /// When scanning stops for this run.
    deadline: Instant,
    limits: Limits,
    /// Each file found this run, by device and inode.
    found: HashMap<(u64, u64), &'a Found>,
}

/// What one file's scan yields.
struct Scanned {
    entry: FileState,
    scanned: u64,
    pending: u64,
    ended: Ended,
}

impl<'a> Run<'a> {
    fn new(
        cfg: &'a Config,
        now: i64,
        incarnation: i64,
        started: Instant,
        found: &'a [Found],
    ) -> Self {
        // Finding files counts against the budget, but the scan always gets a
        // share of it: a run that spent it all on finding files would make no
        // progress, and neither would the next.
        let budget = Duration::from_nanos(cfg.budget_ns as u64);
        Run {
            cfg,
            now,
            incarnation,
            deadline: (started + budget).max(Instant::now() + budget / 4),
            limits: Limits {
                map_window: cfg.map_window,
                max_line: cfg.max_line,
            },
            found: found.iter().map(|f| ((f.dev, f.ino), f)).collect(),
        }
    }

    /// Scans every file with new bytes, oldest first, until a trip or the
    /// deadline; keeps one state entry per file still on disk.
    fn scan_all(&self, found: &[Found], st: &mut State, facts: &mut Facts) {
        let cfg = self.cfg;
        let uncured = guard::uncured(&st.history, cfg.max_restarts);
        let guarded = uncured.as_ref().and_then(|p| p.tripped.clone());
        facts.uncured = uncured;
        let mut judge = Judge::new(cfg, self.now, Memory::take(st))
            .since(self.incarnation)
            .after(st.trip.take(), st.held.take(), guarded);
        let mut matcher = None;
        let mut kept: Vec<FileState> = Vec::with_capacity(found.len());
        // Entries of files found but not opened this run: a path opened after
        // a rename rotation holds the next newer file, so the file found there
        // was never opened. Its entry must outlive the run, or the next run
        // would read it again from the start.
        let mut unopened: Vec<FileState> = Vec::new();
        for f in found {
            let prev = st.files.iter().find(|e| e.dev == f.dev && e.ino == f.ino);
            if let Some(e) = prev.filter(|e| e.size == f.size && e.mtime == f.mtime) {
                kept.push(FileState {
                    path: f.path.display().to_string(),
                    ..e.clone()
                });
                continue;
            }
            if facts.out_of_time || Instant::now() >= self.deadline {
                facts.out_of_time = true;
                let done = prev.map_or(0, |e| e.cursor.offset);
                facts.pending_bytes += f.size.saturating_sub(done);
                kept.extend(prev.cloned());
                continue;
            }
            match self.scan_file(f, &st.files, &mut matcher, &mut judge) {
                Ok(Some(s)) => {
                    facts.scanned_bytes += s.scanned;
                    facts.pending_bytes += s.pending;
                    facts.out_of_time |= s.ended == Ended::OutOfTime;
                    if (s.entry.dev, s.entry.ino) != (f.dev, f.ino) {
                        unopened.extend(prev.cloned());
                    }
                    kept.push(s.entry);
                }
                Ok(None) => unopened.extend(prev.cloned()),
                Err(e) => {
                    facts.errors.push(error::at_path(&f.path, &e));
                    kept.extend(prev.cloned());
                }
            }
        }
        for e in unopened {
            if !kept.iter().any(|k| (k.dev, k.ino) == (e.dev, e.ino)) {
                kept.push(e);
            }
        }
        // Entries of files gone from disk are dropped; the newest are kept if there are too many.
        if kept.len() > state::MAX_FILES {
            kept.drain(..kept.len() - state::MAX_FILES);
        }
        st.files = kept;
        st.trip = judge.trip.take();
        st.held = judge.held.take();
        facts.progress = verdict::progress(cfg, &judge.memory);
        judge.memory.put(st);
        facts.trip = st.trip.clone();
        facts.held = st.held.clone();
    }

    /// Opens, identifies and scans a file. `Ok(None)`: it vanished or is not a regular file.
    fn scan_file(
        &self,
        f: &Found,
        known: &[FileState],
        matcher: &mut Option<Matcher>,
        judge: &mut Judge,
    ) -> io::Result<Option<Scanned>> {
        // Identity and size come from the descriptor, never from the path.
        let Some((file, meta)) = open_regular(&f.path)? else {
            return Ok(None);
        };
        let (size, mtime) = (meta.len(), mtime_ns(&meta));
        let head = identity::read_head(&file, size)?;
        let opened = Opened {
            dev: meta.dev(),
            ino: meta.ino(),
            size,
            head: &head,
        };
        let mut cursor = identity::resume(known, &opened, |e| self.what_became(e));
        let (mut scanned, mut ended) = (0, Ended::CaughtUp);
        if mtime < self.incarnation {
            // Written only by an earlier incarnation: never trips.
            cursor = Cursor::at(size);
        } else if cursor.offset < size {
            let m = match matcher {
                Some(m) => m,
                None => matcher.insert(self.first_matcher(judge.trip.as_ref())?),
            };
            let before = cursor.offset;
            ended = self.scan_bytes(&file, f, size, &mut cursor, m, judge)?;
            scanned = cursor.offset - before;
        }
        let (fp_len, fp) = opened.fingerprint();
        let entry = FileState {
            path: f.path.display().to_string(),
            dev: opened.dev,
            ino: opened.ino,
            fp_len,
            fp,
            // Examined only this far: the next run must not take the file as unchanged.
            size: if ended == Ended::CaughtUp {
                size
            } else {
                cursor.offset
            },
            mtime,
            cursor,
        };
        let pending = if ended == Ended::OutOfTime {
            size - cursor.offset
        } else {
            0
        };
        Ok(Some(Scanned {
            entry,
            scanned,
            pending,
            ended,
        }))
    }

    /// What became of a file read before: gone, still holding what was read
    /// of it, or emptied or rewritten since (its start read again to tell).
    fn what_became(&self, e: &FileState) -> Now {
        let Some(f) = self.found.get(&(e.dev, e.ino)) else {
            return Now::Gone;
        };
        if f.size < e.cursor.offset {
            return Now::Changed;
        }
        let head = match open_regular(&f.path) {
            Ok(Some((file, meta))) if (meta.dev(), meta.ino()) == (e.dev, e.ino) => {
                identity::read_head(&file, meta.len())
            }
            // Renamed or replaced since it was found: it is not there as it was.
            Ok(_) => return Now::Gone,
            Err(e) => Err(e),
        };
        match head {
            Ok(head) if identity::starts_like(&head, e) => Now::Holds,
            Ok(_) => Now::Changed,
            // Unreadable: taken as whole, so nothing is skipped on its account.
            Err(_) => Now::Holds,
        }
    }

    /// Scans `file` from `cursor` to `size`, counting hits, until the deadline.
    fn scan_bytes(
        &self,
        file: &File,
        f: &Found,
        size: u64,
        cursor: &mut Cursor,
        matcher: &Matcher,
        judge: &mut Judge,
    ) -> io::Result<Ended> {
        let scanner = Scanner {
            matcher,
            framing: f.framing,
            limits: self.limits,
        };
        let path = f.path.display().to_string();
        scanner.scan(
            &mut MappedFile::new(file),
            size,
            cursor,
            &mut |hit| {
                let tripped = judge.trip.is_some();
                let flow = judge.on_hit(hit, &path);
                if !tripped && let Some(t) = &judge.trip {
                    // Reading goes on: a SIGBUS from here on must still say tripped.
                    self.arm_sigbus(Some(t));
                }
                flow
            },
            &mut || Instant::now() >= self.deadline,
        )
    }

    /// The matcher, built when the first file has new bytes; from then on a
    /// SIGBUS (a file truncated while mapped) gives the report prepared by
    /// [`Run::arm_sigbus`]: the sticky `trip`, if any.
    fn first_matcher(&self, trip: Option<&Trip>) -> io::Result<Matcher> {
        let cfg = self.cfg;
        let mut m = Matcher::new(&cfg.literals(), &cfg.excepts, cfg.ignore_case)
            .map_err(io::Error::other)?;
        if cfg.max_stall_ns.is_some() {
            // The metrics report's numbers are read from its whole line; an
            // output error line only ends a stall.
            m = m
                .keeping_text_of(cfg.rules.len())
                .bare_from(cfg.rules.len() + 1);
        }
        self.arm_sigbus(trip);
        Ok(m)
    }

    /// Prepares what a SIGBUS prints: the trip, which stands whatever
    /// happens to the files, or else that the run could not check.
    fn arm_sigbus(&self, trip: Option<&Trip>) {
        let facts = Facts {
            files: self.found.len(),
            ..Facts::default()
        };
        let verdict = match trip {
            Some(t) => Verdict::Tripped(t.clone()),
            None => Verdict::CouldNotCheck(report::TRUNCATED_WHILE_MAPPED.to_string()),
        };
        let out = report::outcome(self.cfg, Some(self.incarnation), facts, &verdict);
        sigbus::arm(out.exit.code(), out.stdout(self.cfg.format));
    }
}

/// Opens a log file for reading, with its descriptor's metadata. `Ok(None)`:
/// it vanished, or is not a regular file.
fn open_regular(path: &Path) -> io::Result<Option<(File, Metadata)>> {
    let file = match OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_CLOEXEC | nix::libc::O_NONBLOCK)
        .open(path)
    {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let meta = file.metadata()?;
    Ok(meta.is_file().then_some((file, meta)))
}

#[cfg(test)]
mod tests {
    use std::fs::{self, OpenOptions};
    use std::io::Write;
    use std::path::Path;

    use super::*;
    use crate::cli::{PresetName, RuleArgs};
    use crate::verdict::Status;

    const STUCK: &str = "input stuck";

    fn append(path: &Path, text: &str) {
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap();
        f.write_all(text.as_bytes()).unwrap();
    }

    /// Filebeat 7.x's rename rotation: filebeat.N -> filebeat.N+1, then
    /// filebeat -> filebeat.1, and a new filebeat.
    fn rotate(dir: &Path, kept: usize) {
        for n in (1..=kept).rev() {
            let from = dir.join(format!("filebeat.{n}"));
            if from.exists() {
                fs::rename(&from, dir.join(format!("filebeat.{}", n + 1))).unwrap();
            }
        }
        fs::rename(dir.join("filebeat"), dir.join("filebeat.1")).unwrap();
        append(&dir.join("filebeat"), "benign after the rotation\n");
    }

    /// A rotation between finding the files and opening them: each path then
    /// holds the next newer file, and the files found there are never opened.
    /// Their entries stay, so no line is read twice: with `--threshold 2`, one
    /// stuck line never trips, however often the race hits.
    #[test]
    fn a_rotation_between_discovery_and_open_reads_no_line_twice() {
        let dir = tempfile::tempdir().unwrap();
        let logs = dir.path().join("logs");
        fs::create_dir(&logs).unwrap();
        let cfg = Config::from_args(&CheckArgs {
            logs: vec![format!("{}/filebeat*", logs.display())],
            rules: RuleArgs {
                preset: Some(PresetName::None),
                patterns: vec![STUCK.into()],
                threshold: Some("2".into()),
                max_restarts: Some("0".into()),
                ..RuleArgs::default()
            },
            state: Some(dir.path().join("state.json")),
            since: Some("@0".into()),
            budget: Some("1h".into()),
            ..CheckArgs::default()
        })
        .unwrap();
        let now = timefmt::now_ns();
        append(&logs.join("filebeat"), &format!("benign\n{STUCK} once\n"));
        assert_eq!(check_at(&cfg, now).status, Status::Healthy);
        for round in 0..4 {
            // The current file grows, so no run takes it as unchanged; then
            // the rotation lands between discovery and open.
            append(&logs.join("filebeat"), "benign\n");
            let o = check_with(&cfg, now, || rotate(&logs, round + 1));
            assert_eq!(
                o.status,
                Status::Healthy,
                "round {round}, racing run: {}",
                o.message
            );
            let o = check_at(&cfg, now);
            assert_eq!(
                o.status,
                Status::Healthy,
                "round {round}, next run: {}",
                o.message
            );
        }
        append(&logs.join("filebeat"), &format!("{STUCK} twice\n"));
        let o = check_at(&cfg, now);
        assert_eq!(
            o.status,
            Status::Unhealthy,
            "the second stuck line: {}",
            o.message
        );
    }
}
