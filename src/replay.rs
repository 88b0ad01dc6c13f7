//! `logprobe replay`: what the probe would have done on logs already written.
//!
//! The inputs (Filebeat's own files, a pod-log directory, what `kubectl logs
//! --timestamps` prints, or standard input) are read twice, a mapped window at
//! a time: once for the lines' times (a line without a timestamp takes the
//! time of the line before it), once by the real scanner for the matching
//! lines. Then the probe is simulated, one run every `--period` from the
//! first line on: each run judges the matching lines up to its time with the
//! real [`Judge`] (a run at time R sees the lines timed up to R, as a probe
//! at R would have), and the kubelet restarts the container after
//! `--failure-threshold` failing runs in a row. A restart ends the
//! incarnation: later lines belong to the next one, which starts with the
//! crash-loop guard's history ([`crate::guard`]) as the state would keep it.

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::cli::{CheckArgs, Format, ReplayArgs};
use crate::config::Config;
use crate::error;
use crate::exit::Exit;
use crate::guard;
use crate::incarnation::Incarnation;
use crate::linetime;
use crate::report;
use crate::scan::{Cursor, Flow, Framing, Hit, Limits, MappedFile, Matcher, Scanner, Windows};
use crate::source::files;
use crate::state::{State, Trip};
use crate::timefmt::{self, format_rfc3339};
use crate::verdict::{Judge, Memory};

/// `--period` by default: kubelet's.
const DEFAULT_PERIOD_NS: i64 = 10 * 1_000_000_000;

/// `--failure-threshold` by default: kubelet's.
const DEFAULT_FAILURE_THRESHOLD: u32 = 3;

/// Runs simulated at most (three years of 10-second periods).
const MAX_RUNS: u64 = 10_000_000;

/// Events reported at most.
const MAX_EVENTS: usize = 10_000;

/// Runs `replay`: 0 when no restart would have happened, 1 when one would,
/// 2 on a usage error or unreadable input.
pub fn command(a: &ReplayArgs) -> Exit {
    match replay(a) {
        Ok((timeline, format)) => {
            timeline.print(format);
            if timeline.summary.restarts > 0 {
                Exit::Unhealthy
            } else {
                Exit::Healthy
            }
        }
        Err(e) => {
            error::print(e);
            Exit::Usage
        }
    }
}

/// Validates the options, reads the inputs and simulates the probe.
fn replay(a: &ReplayArgs) -> Result<(Timeline, Format), String> {
    if a.files.is_empty() {
        return Err(
            "replay: no input (give log files, a directory, or - for standard input)".into(),
        );
    }
    let cfg = config(a)?;
    let period = positive("--period", a.period.as_deref(), DEFAULT_PERIOD_NS)?;
    let threshold = match a.failure_threshold.as_deref() {
        None => DEFAULT_FAILURE_THRESHOLD,
        Some(v) => v
            .parse()
            .ok()
            .filter(|&n| (1..=1000).contains(&n))
            .ok_or_else(|| {
                format!("--failure-threshold: {v:?} is not a whole number from 1 to 1000")
            })?,
    };
    let inputs = open_inputs(&a.files)?;
    let read = read_inputs(&cfg, &inputs)?;
    let timeline = Simulation::new(&cfg, period, threshold, &read).run();
    Ok((timeline, cfg.format))
}

/// The rule options of `replay` as `check` validates them.
fn config(a: &ReplayArgs) -> Result<Config, String> {
    let args = CheckArgs {
        // Paths are not searched: they only satisfy `--preset none`.
        logs: a.files.clone(),
        rules: a.rules.clone(),
        format: Some(a.format),
        // Never used: the replay keeps no state and reads no clock.
        state: Some(PathBuf::from("/dev/null")),
        since: Some("@0".into()),
        ..CheckArgs::default()
    };
    Config::from_args(&args).map_err(|e| e.to_string())
}

fn positive(flag: &str, v: Option<&str>, default: i64) -> Result<i64, String> {
    match v.map(timefmt::parse_duration) {
        None => Ok(default),
        Some(Ok(ns)) if ns > 0 => Ok(ns),
        Some(Ok(_)) => Err(format!("{flag}: must be longer than 0")),
        Some(Err(e)) => Err(format!("{flag}: {e}")),
    }
}

// ---------------------------------------------------------------------------
// Inputs

/// One input file, open.
struct Input {
    /// As the user named it (`-` for standard input).
    name: String,
    file: File,
    size: u64,
    framing: Framing,
}

/// Opens every input: files as given, a directory's log files (a pod-log
/// directory's CRI files, or Filebeat's own files), `-` spooled from
/// standard input to an unlinked temporary file (so it is read in bounded
/// memory like any file).
fn open_inputs(names: &[String]) -> Result<Vec<Input>, String> {
    let mut out = Vec::new();
    for name in names {
        if name == "-" {
            let file = spool(&mut io::stdin().lock(), "-")?;
            out.push(input("-".into(), file)?);
            continue;
        }
        let path = Path::new(name);
        if is_stream(path) {
            let mut src = open_stream(path)?;
            out.push(input(name.clone(), spool(&mut src, name)?)?);
            continue;
        }
        if path.is_dir() {
            for p in directory_logs(path)? {
                let file = open(&p)?;
                out.push(input(p.display().to_string(), file)?);
            }
            continue;
        }
        out.push(input(name.clone(), open(path)?)?);
    }
    if out.is_empty() {
        return Err(format!("replay: no log file in {}", names.join(", ")));
    }
    Ok(out)
}

fn open(path: &Path) -> Result<File, String> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_CLOEXEC | nix::libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| error::at_path(path, &e))?;
    let meta = file.metadata().map_err(|e| error::at_path(path, &e))?;
    if !meta.is_file() {
        return Err(format!("{}: not a regular file", path.display()));
    }
    Ok(file)
}

/// An open input, its framing told from its first line.
fn input(name: String, file: File) -> Result<Input, String> {
    let size = file
        .metadata()
        .map_err(|e| format!("{name}: {}", error::io_text(&e)))?
        .len();
    let head = crate::source::identity::read_head(&file, size)
        .map_err(|e| format!("{name}: {}", error::io_text(&e)))?;
    let first = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let framing = if is_cri_record(first) {
        Framing::Cri
    } else {
        Framing::Plain
    };
    Ok(Input {
        name,
        file,
        size,
        framing,
    })
}

/// Whether a line is a CRI record (`<time> <stdout|stderr> <P|F> …`).
fn is_cri_record(line: &[u8]) -> bool {
    let mut parts = line.splitn(4, |&b| b == b' ');
    let (Some(time), Some(stream), Some(tag)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    timefmt::parse_rfc3339_bytes(time).is_some()
        && (stream == b"stdout" || stream == b"stderr")
        && (tag == b"P" || tag == b"F")
}

/// The log files of a directory: its CRI files when it is a pod-log
/// directory (`N.log`, rotated `N.log.<time>`), else Filebeat's own files;
/// never compressed, temporary or raw event files.
fn directory_logs(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut globs: Vec<(String, Framing)> = crate::source::pods::globs(dir)
        .into_iter()
        .map(|g| (g, Framing::Cri))
        .collect();
    let (mut found, errors) = files::discover(&globs);
    if found.is_empty() {
        globs = [
            "filebeat",
            "filebeat.[0-9]*",
            "filebeat-*.ndjson",
            "*.ndjson",
            "*.log",
        ]
        .iter()
        .map(|n| (dir.join(n).display().to_string(), Framing::Plain))
        .collect();
        found = files::discover(&globs).0;
    }
    if let Some(e) = errors.first() {
        return Err(e.clone());
    }
    Ok(found.into_iter().map(|f| f.path).collect())
}

/// Whether `path` is a pipe or a character device (`/dev/stdin`, `<(…)`).
fn is_stream(path: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::metadata(path).is_ok_and(|m| m.file_type().is_fifo() || m.file_type().is_char_device())
}

fn open_stream(path: &Path) -> Result<File, String> {
    File::open(path).map_err(|e| error::at_path(path, &e))
}

/// A stream (standard input, a pipe), copied to an unlinked temporary file.
fn spool(src: &mut impl io::Read, name: &str) -> Result<File, String> {
    let dir = std::env::temp_dir();
    let path = dir.join(format!("logprobe-replay-{}", std::process::id()));
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| format!("cannot spool standard input: {}", error::at_path(&path, &e)))?;
    let _ = std::fs::remove_file(&path);
    io::copy(src, &mut file).map_err(|e| format!("{name}: {}", error::io_text(&e)))?;
    Ok(file)
}

// ---------------------------------------------------------------------------
// Reading: the lines' times and the matching lines

/// A matching line, with the time it is judged by.
struct Matched {
    time: i64,
    hit: Hit,
    /// The input it is in.
    input: usize,
}

/// What the inputs hold.
struct Read {
    names: Vec<String>,
    matched: Vec<Matched>,
    /// Times of lines that follow a silence longer than `--max-silence`:
    /// (the line before, this line).
    gaps: Vec<(i64, i64)>,
    lines: u64,
    untimed: u64,
    first: Option<i64>,
    last: Option<i64>,
}

/// Reads every input, oldest first (by the time of its first line).
fn read_inputs(cfg: &Config, inputs: &[Input]) -> Result<Read, String> {
    // A file truncated while mapped (a live log rotated by copytruncate).
    crate::sigbus::arm(
        Exit::Usage.code(),
        "logprobe: replay: a log file was truncated while being read: replay a copy of it\n"
            .to_string(),
    );
    let mut order: Vec<(Option<i64>, usize)> = Vec::new();
    let mut times = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        let t =
            LineTimes::of(input).map_err(|e| format!("{}: {}", input.name, error::io_text(&e)))?;
        order.push((t.first, i));
        times.push(t);
    }
    // Stable: inputs without any time keep the order they were given in.
    order.sort_by_key(|&(first, _)| first.unwrap_or(i64::MIN));
    let matcher = matcher(cfg).map_err(|e| e.to_string())?;
    let mut read = Read {
        names: inputs.iter().map(|i| i.name.clone()).collect(),
        matched: Vec::new(),
        gaps: Vec::new(),
        lines: 0,
        untimed: 0,
        first: None,
        last: None,
    };
    read.first = times.iter().filter_map(|t| t.first).min();
    read.last = times.iter().filter_map(|t| t.last).max();
    let Some(first) = read.first else {
        return Err(format!(
            "replay: no line in {} has a timestamp of its own: nothing places the lines in time",
            read.names.join(", ")
        ));
    };
    // Lines before any time of their input take the earliest time of all.
    let mut before = first;
    for &(_, i) in &order {
        let t = &times[i];
        read.lines += t.lines;
        read.untimed += t.untimed;
        scan(cfg, &matcher, &inputs[i], i, t, before, &mut read.matched)
            .map_err(|e| format!("{}: {}", inputs[i].name, error::io_text(&e)))?;
        before = t.last.unwrap_or(before);
    }
    read.matched.sort_by_key(|m| m.time);
    if let Some(limit) = cfg.max_silence_ns {
        read.gaps = gaps(&times, &order, limit);
    }
    Ok(read)
}

fn matcher(cfg: &Config) -> io::Result<Matcher> {
    let mut m =
        Matcher::new(&cfg.literals(), &cfg.excepts, cfg.ignore_case).map_err(io::Error::other)?;
    if cfg.max_stall_ns.is_some() {
        m = m
            .keeping_text_of(cfg.rules.len())
            .bare_from(cfg.rules.len() + 1);
    }
    Ok(m)
}

/// The matching lines of one input, each with its time: its own, else the
/// time of the line before it (in this input, else the inputs before).
fn scan(
    cfg: &Config,
    matcher: &Matcher,
    input: &Input,
    index: usize,
    times: &LineTimes,
    before: i64,
    out: &mut Vec<Matched>,
) -> io::Result<()> {
    let scanner = Scanner {
        matcher,
        framing: input.framing,
        limits: Limits {
            map_window: cfg.map_window,
            max_line: cfg.max_line,
        },
    };
    let mut cursor = Cursor::default();
    let mut hits = Vec::new();
    scanner.scan(
        &mut MappedFile::new(&input.file),
        input.size,
        &mut cursor,
        &mut |mut hit| {
            // A metrics report is kept as what it reads as, and a short
            // snippet: a week of reports fits in little memory.
            if let Some(text) = hit.text.take() {
                hit.snippet = report::cut(&crate::scan::snippet(&text), 160);
                hit.text = Some(crate::stall::canonical(crate::stall::read(&text)));
            }
            hits.push(hit);
            Flow::Continue
        },
        &mut || false,
    )?;
    for hit in hits {
        let time = hit
            .time
            .or_else(|| times.before(hit.line_start))
            .unwrap_or(before);
        out.push(Matched {
            time,
            hit,
            input: index,
        });
    }
    Ok(())
}

/// The times of one input's lines, as far as the replay needs them.
struct LineTimes {
    lines: u64,
    untimed: u64,
    first: Option<i64>,
    last: Option<i64>,
    /// (offset of a line, its time) at each line with a time of its own
    /// that is later than every time before it: what a line without a
    /// time takes from the lines before it, and where silences are.
    marks: Vec<(u64, i64)>,
}

impl LineTimes {
    /// Reads the lines of `input`, a window at a time. A line longer than a
    /// window is timed by its start.
    fn of(input: &Input) -> io::Result<LineTimes> {
        let mut t = LineTimes {
            lines: 0,
            untimed: 0,
            first: None,
            last: None,
            marks: Vec::new(),
        };
        let cri = input.framing == Framing::Cri;
        let mut src = MappedFile::new(&input.file);
        let window = crate::config::DEFAULT_MAP_WINDOW as u64;
        // Inside a line longer than a window, already counted.
        let mut inside = false;
        let mut at = 0;
        while at < input.size {
            let len = (input.size - at).min(window) as usize;
            let bytes = src.window(at, len)?;
            let mut start = 0;
            while let Some(nl) = memchr(&bytes[start..]) {
                if !std::mem::take(&mut inside) {
                    t.line(at + start as u64, &bytes[start..start + nl], cri);
                }
                start += nl + 1;
            }
            let at_end = at + len as u64 == input.size;
            if start < len && (start == 0 || at_end) {
                // No newline in what is left of the window: a long line, or
                // the unterminated last line.
                if !inside {
                    t.line(at + start as u64, &bytes[start..], cri);
                }
                inside = true;
                start = len;
            }
            at += start as u64;
        }
        Ok(t)
    }

    fn line(&mut self, offset: u64, line: &[u8], cri: bool) {
        self.lines += 1;
        let own = if cri {
            linetime::of_cri_prefix(line)
        } else {
            linetime::of_text(line)
        };
        let Some(time) = own else {
            self.untimed += 1;
            return;
        };
        self.first.get_or_insert(time);
        if self.last.is_none_or(|l| time > l) {
            self.last = Some(time);
            self.marks.push((offset, time));
        }
    }

    /// The latest time of a line at or before `offset`.
    fn before(&self, offset: u64) -> Option<i64> {
        let i = self.marks.partition_point(|&(o, _)| o <= offset);
        (i > 0).then(|| self.marks[i - 1].1)
    }
}

fn memchr(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&b| b == b'\n')
}

/// The silences longer than `limit` between lines, across all inputs in order.
fn gaps(times: &[LineTimes], order: &[(Option<i64>, usize)], limit: i64) -> Vec<(i64, i64)> {
    let mut out = Vec::new();
    let mut prev: Option<i64> = None;
    for &(_, i) in order {
        for &(_, t) in &times[i].marks {
            if let Some(p) = prev
                && t - p > limit
            {
                out.push((p, t));
            }
            prev = Some(prev.map_or(t, |p| p.max(t)));
        }
    }
    out
}

// ---------------------------------------------------------------------------
// The simulation

/// One thing that would have happened.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
enum Event {
    /// A rule tripped the probe: its runs fail from here on.
    Trip {
        time: String,
        rule: String,
        message: String,
        file: String,
        offset: u64,
        line: String,
    },
    /// No line for longer than `--max-silence`: runs fail while it lasts.
    Silent { time: String, since: String },
    /// The kubelet restarted the container.
    Restart {
        time: String,
        restart: u32,
        reason: String,
    },
    /// The crash-loop guard held a trip back: it does not fail the probe.
    Held {
        time: String,
        rule: String,
        message: String,
    },
    /// `logprobe ready` would fail from here on.
    NotReady { time: String, reason: String },
    /// The guard's history was cleared by an hour without a trip.
    Ready { time: String, reason: String },
}

/// What the replay found, in one line.
#[derive(Debug, Default, Serialize)]
struct Summary {
    lines: u64,
    lines_without_time: u64,
    files: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    first: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last: Option<String>,
    restarts: u32,
    /// Restarts by the rule that caused them (`silence` for --max-silence).
    by_rule: Vec<(String, u32)>,
    held: u32,
    /// Why the replay stopped before the end of the lines, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    stopped: Option<String>,
}

/// The events, then the summary.
struct Timeline {
    events: Vec<Event>,
    summary: Summary,
}

impl Timeline {
    /// Prints the timeline; stops quietly when the reader goes away (`| head`).
    fn print(&self, format: Format) {
        let _ = self.write(&mut io::BufWriter::new(io::stdout().lock()), format);
    }

    fn write(&self, out: &mut impl Write, format: Format) -> io::Result<()> {
        for e in &self.events {
            match format {
                Format::Json => writeln!(out, "{}", serde_json::to_string(e).unwrap_or_default())?,
                Format::Text => writeln!(out, "{}", e.text())?,
            }
        }
        match format {
            Format::Json => {
                let v = serde_json::json!({ "summary": &self.summary });
                writeln!(out, "{}", serde_json::to_string(&v).unwrap_or_default())?;
            }
            Format::Text => writeln!(out, "{}", self.summary.text())?,
        }
        out.flush()
    }
}

impl Event {
    fn text(&self) -> String {
        match self {
            Event::Trip { time, message, .. } => format!("{time}  trip     {message}"),
            Event::Silent { time, since } => {
                format!("{time}  silent   no line since {since}: runs fail (--max-silence)")
            }
            Event::Restart {
                time,
                restart,
                reason,
            } => format!(
                "{time}  restart  #{restart} by the kubelet ({reason}); later lines belong to the next incarnation"
            ),
            Event::Held { time, message, .. } => format!("{time}  held     {message}"),
            Event::NotReady { time, reason } => format!("{time}  not ready  {reason}"),
            Event::Ready { time, reason } => format!("{time}  ready    {reason}"),
        }
    }
}

impl Summary {
    fn text(&self) -> String {
        let span = match (&self.first, &self.last) {
            (Some(a), Some(b)) => format!(" from {a} to {b}"),
            _ => String::new(),
        };
        let by: Vec<String> = self
            .by_rule
            .iter()
            .map(|(r, n)| format!("{} {n}", label(r)))
            .collect();
        let restarts = match self.restarts {
            0 => "no restart".to_string(),
            1 => format!("1 restart ({})", by.join(", ")),
            n => format!("{n} restarts ({})", by.join(", ")),
        };
        let stopped = self
            .stopped
            .as_ref()
            .map(|s| format!("; {s}"))
            .unwrap_or_default();
        let held = if self.held > 0 {
            format!(
                "; the crash-loop guard held back {} trip{}",
                self.held,
                if self.held == 1 { "" } else { "s" }
            )
        } else {
            String::new()
        };
        format!(
            "replayed {} lines ({} without a timestamp of their own){span} in {} file{}: {restarts}{held}{stopped}",
            self.lines,
            self.lines_without_time,
            self.files,
            if self.files == 1 { "" } else { "s" }
        )
    }
}

/// The probe and the kubelet, run by run.
struct Simulation<'a> {
    cfg: &'a Config,
    period: i64,
    failure_threshold: u32,
    read: &'a Read,
    /// What the state would hold: the incarnation, its trip and held trip,
    /// the rules' memory, the guard's history.
    state: State,
    memory: Memory,
    /// Matching lines judged so far.
    next: usize,
    failing: u32,
    events: Vec<Event>,
    summary: Summary,
}

impl<'a> Simulation<'a> {
    fn new(cfg: &'a Config, period: i64, failure_threshold: u32, read: &'a Read) -> Self {
        let start = read.first.unwrap_or_default();
        let mut state = State::new(&cfg.id, &Incarnation::since(start));
        state.max_restarts = cfg.max_restarts;
        Simulation {
            cfg,
            period,
            failure_threshold,
            read,
            state,
            memory: Memory::default(),
            next: 0,
            failing: 0,
            events: Vec::new(),
            summary: Summary {
                lines: read.lines,
                lines_without_time: read.untimed,
                files: read.names.len(),
                first: read.first.map(format_rfc3339),
                last: read.last.map(format_rfc3339),
                ..Summary::default()
            },
        }
    }

    /// Every run from one period after the first line until the restart a
    /// trip near the end would cause. Runs that can change nothing (no
    /// trip, no failing run, no silence to watch, no line due) are skipped.
    fn run(mut self) -> Timeline {
        let Some(first) = self.read.first else {
            return self.finish();
        };
        let tail = self
            .period
            .saturating_mul(i64::from(self.failure_threshold) + 1);
        let end = self.read.last.unwrap_or(first).saturating_add(tail);
        let mut now = first.saturating_add(self.period);
        let mut runs: u64 = 0;
        self.guard_check(first);
        while now <= end {
            if runs == MAX_RUNS || self.events.len() >= MAX_EVENTS {
                self.summary.stopped = Some(format!(
                    "stopped at {} after {runs} runs and {} events: are some timestamps far off?",
                    format_rfc3339(now),
                    self.events.len()
                ));
                break;
            }
            self.probe_run(now);
            runs += 1;
            let next = now.saturating_add(self.period);
            now = match self.due(next) {
                // Nothing more can happen.
                Some(i64::MAX) => break,
                // The first run at or after `t`, on the runs' grid.
                Some(t) if t > next => {
                    let periods =
                        t.saturating_sub(first).saturating_add(self.period - 1) / self.period;
                    first.saturating_add(periods.saturating_mul(self.period))
                }
                _ => next,
            };
        }
        self.finish()
    }

    /// When the next run that can change anything is due, if later than
    /// the next period: the next matching line, or the hour that clears the
    /// guard's history. `None`: every run counts (tripped, failing, or
    /// watching for silence).
    fn due(&self, next: i64) -> Option<i64> {
        if self.state.trip.is_some() || self.failing > 0 || self.cfg.max_silence_ns.is_some() {
            return None;
        }
        let line = self
            .read
            .matched
            .get(self.next)
            .map_or(i64::MAX, |m| m.time);
        let cure = if self.state.history.is_empty() || self.state.held.is_some() {
            i64::MAX
        } else {
            self.state.incarnation.saturating_add(guard::CURED_AFTER_NS)
        };
        Some(line.min(cure).max(next))
    }

    fn finish(self) -> Timeline {
        Timeline {
            events: self.events,
            summary: self.summary,
        }
    }

    /// One liveness run at `now`, and the kubelet's answer to it.
    fn probe_run(&mut self, now: i64) {
        let guarded = guard::uncured(&self.state.history, self.cfg.max_restarts)
            .and_then(|p| p.tripped.clone());
        let had = (self.state.trip.is_some(), self.state.held.is_some());
        let mut judge = Judge::new(self.cfg, now, std::mem::take(&mut self.memory))
            .since(self.state.incarnation)
            .after(self.state.trip.take(), self.state.held.take(), guarded);
        let read = self.read;
        while let Some(m) = read.matched.get(self.next).filter(|m| m.time <= now) {
            let mut hit = m.hit.clone();
            hit.time = Some(m.time);
            judge.on_hit(hit, &read.names[m.input]);
            self.next += 1;
        }
        self.state.trip = judge.trip.take();
        self.state.held = judge.held.take();
        self.memory = judge.memory;
        if let (false, Some(t)) = (had.0, &self.state.trip) {
            self.events.push(trip_event(now, t));
        }
        if let (false, Some(t)) = (had.1, &self.state.held) {
            self.summary.held += 1;
            self.events.push(Event::Held {
                time: format_rfc3339(now),
                rule: t.pattern.clone(),
                message: format!(
                    "{} tripped again, but a restart has not cured it: not failing for it",
                    report::rule_label(&t.pattern)
                ),
            });
        }
        let silent = self.silent_since(now);
        let failing = self.state.trip.is_some() || silent.is_some();
        if let (Some(since), 0, None) = (silent, self.failing, &self.state.trip) {
            self.events.push(Event::Silent {
                time: format_rfc3339(now),
                since: format_rfc3339(since),
            });
        }
        self.failing = if failing { self.failing + 1 } else { 0 };
        if self.failing >= self.failure_threshold {
            self.restart(now);
            return;
        }
        let engaged = guard::uncured(&self.state.history, self.cfg.max_restarts).is_some();
        if guard::forget_if_cured(&mut self.state, now) && engaged {
            self.events.push(Event::Ready {
                time: format_rfc3339(now),
                reason: "an hour without a trip cleared the crash-loop guard's history".into(),
            });
        }
    }

    /// When the last line before `now` was written, if that is longer ago than
    /// `--max-silence` (counting from the incarnation's start at the earliest).
    fn silent_since(&self, now: i64) -> Option<i64> {
        let limit = self.cfg.max_silence_ns?;
        let last = self.read.last?;
        let before = if now > last {
            last
        } else {
            let g = self.read.gaps.iter().find(|&&(a, b)| a < now && now < b)?;
            g.0
        };
        let since = before.max(self.state.incarnation);
        (now - since > limit).then_some(since)
    }

    /// The kubelet restarts the container at `now`: a new incarnation.
    fn restart(&mut self, now: i64) {
        self.summary.restarts += 1;
        let rule = self
            .state
            .trip
            .as_ref()
            .map_or_else(|| SILENCE.to_string(), rule_name);
        match self.summary.by_rule.iter_mut().find(|(r, _)| *r == rule) {
            Some((_, n)) => *n += 1,
            None => self.summary.by_rule.push((rule.clone(), 1)),
        }
        self.events.push(Event::Restart {
            time: format_rfc3339(now),
            restart: self.summary.restarts,
            reason: format!(
                "{} failing runs in a row: {}",
                self.failure_threshold,
                label(&rule)
            ),
        });
        let inc = Incarnation::since(now);
        let old = std::mem::replace(&mut self.state, State::new(&self.cfg.id, &inc));
        self.state = crate::verdict::reconcile(Some(old), &self.cfg.id, &inc).0;
        self.memory = Memory::default();
        self.failing = 0;
        self.guard_check(now);
    }

    /// At an incarnation's start: whether `ready` fails in it from the start.
    fn guard_check(&mut self, now: i64) {
        if let Some(p) = &guard::uncured(&self.state.history, self.cfg.max_restarts) {
            self.events.push(Event::NotReady {
                time: format_rfc3339(now),
                reason: report::uncured(p, self.cfg.max_restarts),
            });
        }
    }
}

/// The rule of restarts caused by `--max-silence`.
const SILENCE: &str = "silence (--max-silence)";

/// The rule of the silent stall, in the JSON events.
const STALL: &str = "silent stall";

/// How the timeline names the rule of a trip: its literal, or the silent stall.
fn rule_name(t: &Trip) -> String {
    if t.pattern == crate::stall::REPORT {
        STALL.to_string()
    } else {
        t.pattern.clone()
    }
}

/// A rule as the timeline writes it: a literal quoted, a detector by name.
fn label(rule: &str) -> String {
    match rule {
        SILENCE => rule.to_string(),
        STALL => report::rule_label(crate::stall::REPORT),
        _ => report::rule_label(rule),
    }
}

/// The event of a trip seen by the run at `now`.
fn trip_event(now: i64, t: &Trip) -> Event {
    let message = report::trip_message(t);
    let message = message
        .strip_prefix("UNHEALTHY: ")
        .unwrap_or(&message)
        .to_string();
    Event::Trip {
        time: format_rfc3339(now),
        rule: rule_name(t),
        message,
        file: t.file.clone(),
        offset: t.offset,
        line: t.line.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_cri_records_from_kubectl_timestamps() {
        assert!(is_cri_record(
            b"2026-11-26T10:00:00.123456789Z stderr F hello"
        ));
        assert!(!is_cri_record(
            b"2026-11-26T10:00:00.123456789Z hello world"
        ));
        assert!(!is_cri_record(b"2026-11-26T10:00:00.123Z\tINFO\tx"));
        assert!(!is_cri_record(
            b"{\"@timestamp\":\"2026-11-26T10:00:00.000Z\"}"
        ));
    }
}
