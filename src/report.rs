//! What a run prints: one self-explaining line (`text`) or one JSON object,
//! and every sentence the probe says about a verdict.
//!
//! kubelet keeps the first 10 KiB of a probe's output for the pod's events and
//! event messages over 1 KiB may be dropped, so the first line stays well
//! under 1 KiB: paths and patterns are cut, the line itself to 512 bytes.

use serde::Serialize;

use crate::cli::{Format, OnError};
use crate::config::Config;
use crate::error;
use crate::exit::{Exit, exit_for};
use crate::state::{Evidence, Past, State, Trip};
use crate::timefmt::{format_duration, format_rfc3339};
use crate::verdict::{Facts, Healthy, Progress, Status, Verdict};

/// The match reported in JSON.
#[derive(Debug, Clone, Serialize)]
pub struct MatchReport {
    /// The pattern.
    pub pattern: String,
    /// The file.
    pub file: String,
    /// Byte offset of the matched line's first byte in that file.
    pub offset: u64,
    /// The line, escaped and cut.
    pub line: String,
    /// When the probe first saw it (RFC 3339).
    pub first_seen: String,
    /// Matching lines counted toward the threshold (lines of a persistence
    /// run, or reports of a stall).
    pub count: u32,
    /// What the rule saw: `{"rule":"count"|"persist"|"stall", …}`, times in ns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Evidence>,
}

impl From<&Trip> for MatchReport {
    fn from(t: &Trip) -> MatchReport {
        MatchReport {
            pattern: t.pattern.clone(),
            file: t.file.clone(),
            offset: t.offset,
            line: t.line.clone(),
            first_seen: format_rfc3339(t.first_seen),
            count: t.count,
            evidence: t.evidence,
        }
    }
}

/// Everything a run has to say.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// The verdict.
    pub status: Status,
    /// The exit status.
    pub exit: Exit,
    /// The first line of text output.
    pub message: String,
    /// Bytes scanned by this run.
    pub scanned_bytes: u64,
    /// Bytes found but left for the next run (budget reached).
    pub pending_bytes: u64,
    /// Log files found.
    pub files: usize,
    /// What tripped the probe.
    #[serde(rename = "match", skip_serializing_if = "Option::is_none")]
    pub matched: Option<MatchReport>,
    /// The state file.
    pub state: String,
    /// Start of the incarnation (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incarnation: Option<String>,
    /// With `--max-silence`: when a watched log last grew, if too long ago.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub silent_since: Option<String>,
    /// A trip the crash-loop guard held back: it does not fail the probe.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held: Option<MatchReport>,
    /// Why the crash-loop guard holds a rule back.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guard: Option<String>,
    /// Trouble that kept the probe from checking everything.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
    /// Things an operator may want to know.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// Why a run killed by SIGBUS gave no verdict (see [`crate::sigbus`]).
pub const TRUNCATED_WHILE_MAPPED: &str =
    "a log file was truncated while being read; state unchanged, the next run rereads it";

/// Why a run could not date its incarnation.
pub fn no_incarnation(e: &str) -> String {
    format!("cannot tell when this container started ({e}); give --since")
}

/// The warning of a run that found the lock taken.
pub fn busy_warning(cfg: &Config) -> String {
    format!(
        "another logprobe run holds the lock on {}; nothing scanned",
        cfg.state_path.display()
    )
}

/// The warning of a run that found more files than the state can remember.
pub fn too_many_files(found: usize, kept: usize) -> String {
    format!("{found} log files found; only the newest {kept} are read")
}

/// The warning of a run whose state was written with another configuration.
pub const OTHER_CONFIG: &str = "the state was written with other patterns or paths: its verdict is dropped (give each configuration its own --state)";

/// Why a tripped run could not keep its verdict, as a warning.
pub fn unsaved_trip(why: &str) -> String {
    format!("{why}; the next run will find the same lines again")
}

/// Cuts `s` to at most `max` bytes on a character boundary, marking the cut.
pub fn cut(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max.saturating_sub(3);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// The error of the filebeat preset when neither its files nor the pod logs are there.
pub fn no_log_file(logs: &[String], why: &str) -> String {
    format!(
        "no Filebeat log file ({}), and {why}",
        cut(&logs.join(", "), 200)
    )
}

/// The line that explains a trip, from the trip alone (it is sticky, and
/// `state show` prints it too).
pub fn trip_message(t: &Trip) -> String {
    let (pattern, file) = (cut(&t.pattern, 120), cut(&t.file, 200));
    let (offset, seen) = (t.offset, format_rfc3339(t.first_seen));
    let head = match t.evidence {
        Some(Evidence::Stall {
            first,
            last,
            reports,
            active,
            for_ns,
        }) => {
            return format!(
                "UNHEALTHY: silent stall: {active} events waiting, none acked, no output errors, \
                 {reports} metrics reports from {} to {} (--max-stall {}); the last in {file} at byte {offset}",
                format_rfc3339(first),
                format_rfc3339(last),
                format_duration(for_ns),
            );
        }
        Some(Evidence::Persist {
            first,
            last,
            lines,
            for_ns,
        }) => format!(
            "{pattern:?} kept coming for {} ({lines} lines from {} to {}, persist {}); last",
            format_duration(last - first),
            format_rfc3339(first),
            format_rfc3339(last),
            format_duration(for_ns),
        ),
        Some(Evidence::Count {
            window_ns: Some(w), ..
        }) if t.count > 1 => format!(
            "{} matching lines within {}; last {pattern:?}",
            t.count,
            format_duration(w)
        ),
        _ if t.count > 1 => format!("{} matching lines; last {pattern:?}", t.count),
        _ => format!("{pattern:?}"),
    };
    format!(
        "UNHEALTHY: {head} in {file} at byte {offset} (first seen {seen}): {}",
        t.line
    )
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn silence_message(since: i64, for_ns: i64, limit: i64, files: usize) -> String {
    format!(
        "UNHEALTHY: no watched log has grown for {} (since {}; --max-silence {}; {files} file{} watched)",
        format_duration(for_ns),
        format_rfc3339(since),
        format_duration(limit),
        plural(files)
    )
}

fn progress_message(p: Option<&Progress>) -> String {
    match p {
        Some(Progress::Lines {
            count,
            threshold,
            window_ns,
        }) => {
            let within = window_ns
                .map(|w| format!(" within {}", format_duration(w)))
                .unwrap_or_default();
            format!("HEALTHY: {count} of {threshold} matching lines{within} so far")
        }
        Some(Progress::Persist {
            literal,
            so_far,
            for_ns,
        }) => format!(
            "HEALTHY: {:?} has kept coming for {} of {} so far",
            cut(literal, 120),
            format_duration(*so_far),
            format_duration(*for_ns)
        ),
        Some(Progress::Stall {
            so_far,
            for_ns,
            reports,
        }) => format!(
            "HEALTHY: metrics reports stalled for {} of {} so far ({reports} reports)",
            format_duration(*so_far),
            format_duration(*for_ns)
        ),
        None => String::new(),
    }
}

/// A rule as the guard's sentences name it: its literal, quoted and cut, or
/// the silent stall by name (its literal is the metrics report's).
pub fn rule_label(pattern: &str) -> String {
    if pattern == crate::stall::REPORT {
        "the silent stall (--max-stall)".to_string()
    } else {
        format!("{:?}", cut(pattern, 120))
    }
}

/// Why the crash-loop guard holds a rule back: it tripped each of the last
/// `k` incarnations, the latest being `p`.
pub fn uncured(p: &Past, k: u32) -> String {
    let rule = rule_label(p.tripped.as_deref().unwrap_or_default());
    format!("{rule} {}", uncured_why(p, k))
}

/// [`uncured`] without the rule.
fn uncured_why(p: &Past, k: u32) -> String {
    let times = if k == 1 {
        "the last incarnation".to_string()
    } else {
        format!("each of the last {k} incarnations")
    };
    format!(
        "tripped {times} (the latest started {}), so a restart does not cure it",
        format_rfc3339(p.incarnation)
    )
}

/// The healthy line's word on the crash-loop guard, if it holds a rule back
/// that has not tripped in this incarnation (yet).
fn guard_note(cfg: &Config, f: &Facts) -> String {
    match &f.uncured {
        Some(p) if f.held.is_none() => format!(
            "; the crash-loop guard holds {} back: {} (`logprobe ready` fails)",
            rule_label(p.tripped.as_deref().unwrap_or_default()),
            uncured_why(p, cfg.max_restarts)
        ),
        _ => String::new(),
    }
}

/// The healthy line of an incarnation whose trip the crash-loop guard held back.
fn held_message(cfg: &Config, t: &Trip, p: &Past) -> String {
    format!(
        "HEALTHY (crash-loop guard): {} tripped again in {} at byte {} (first seen {}), \
         but it {}: not failing for it, `logprobe ready` fails instead: {}",
        rule_label(&t.pattern),
        cut(&t.file, 200),
        t.offset,
        format_rfc3339(t.first_seen),
        uncured_why(p, cfg.max_restarts),
        cut(&t.line, 200)
    )
}

fn healthy_message(cfg: &Config, f: &Facts, kind: Healthy) -> String {
    if kind != Healthy::Busy
        && let (Some(t), Some(p)) = (&f.held, &f.uncured)
    {
        return held_message(cfg, t, p);
    }
    let mut m = healthy_head(cfg, f, kind);
    if kind != Healthy::Busy {
        m.push_str(&guard_note(cfg, f));
    }
    m
}

fn healthy_head(cfg: &Config, f: &Facts, kind: Healthy) -> String {
    let mut m = match kind {
        Healthy::Busy => {
            return "HEALTHY: another run is checking right now; no trip recorded in this incarnation"
                .into();
        }
        Healthy::NoFiles => {
            let list = cut(&f.searched.join(", "), 300);
            return format!("HEALTHY: no log file found ({list}); nothing to check");
        }
        Healthy::Scanned if f.progress.is_some() => progress_message(f.progress.as_ref()),
        Healthy::Scanned => format!(
            "HEALTHY: no match in {} new bytes of {} log file{}",
            f.scanned_bytes,
            f.files,
            plural(f.files)
        ),
    };
    if f.out_of_time {
        m.push_str(&format!(
            " (budget {} reached; {} bytes left for the next run)",
            format_duration(cfg.budget_ns),
            f.pending_bytes
        ));
    }
    m
}

/// The outcome of a run: the verdict in words, with what the run found.
pub fn outcome(cfg: &Config, incarnation: Option<i64>, f: Facts, v: &Verdict) -> Outcome {
    let status = v.status();
    let mut errors = f.errors.clone();
    let mut out = Outcome {
        status,
        exit: exit_for(status, cfg.on_error),
        message: String::new(),
        scanned_bytes: f.scanned_bytes,
        pending_bytes: f.pending_bytes,
        files: f.files,
        matched: None,
        state: cfg.state_path.display().to_string(),
        incarnation: incarnation.map(format_rfc3339),
        silent_since: None,
        held: f.held.as_ref().map(MatchReport::from),
        guard: f.uncured.as_ref().map(|p| uncured(p, cfg.max_restarts)),
        errors: Vec::new(),
        warnings: f.warnings.clone(),
    };
    out.message = match v {
        Verdict::Tripped(t) => {
            out.matched = Some(MatchReport::from(t));
            trip_message(t)
        }
        Verdict::Silent { since, for_ns } => {
            out.silent_since = Some(format_rfc3339(*since));
            let limit = cfg.max_silence_ns.unwrap_or_default();
            silence_message(*since, *for_ns, limit, f.files)
        }
        Verdict::CouldNotCheck(why) => {
            if !errors.contains(why) {
                errors.insert(0, why.clone());
            }
            match cfg.on_error {
                OnError::Pass => format!("HEALTHY: could not check: {why} (--on-error pass)"),
                OnError::Fail => format!("ERROR: could not check: {why}"),
            }
        }
        Verdict::Healthy(kind) => healthy_message(cfg, &f, *kind),
    };
    out.errors = errors;
    out
}

/// Used by `state show`: a state file's verdict in words.
pub fn describe(st: &State) -> String {
    match &st.trip {
        Some(t) => trip_message(t),
        None => format!(
            "HEALTHY so far: {} file{} tracked, {} recent matching line{}",
            st.files.len(),
            plural(st.files.len()),
            st.hits.len(),
            plural(st.hits.len())
        ),
    }
}

impl Outcome {
    /// What is written to stdout: the message, or the JSON object; one line.
    pub fn stdout(&self, format: Format) -> String {
        match format {
            Format::Text => format!("{}\n", self.message),
            Format::Json => match serde_json::to_string(self) {
                Ok(s) => format!("{s}\n"),
                Err(e) => {
                    error::print(format_args!("cannot encode the report: {e}"));
                    String::new()
                }
            },
        }
    }

    /// Prints the outcome and returns the exit status.
    pub fn print(&self, format: Format) -> Exit {
        print!("{}", self.stdout(format));
        if format == Format::Text {
            for w in &self.warnings {
                error::warn(w);
            }
            for e in &self.errors {
                error::print(e);
            }
        }
        self.exit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trip_line_stays_short() {
        let t = Trip {
            pattern: "p".repeat(5000),
            file: "/f".repeat(5000),
            offset: 7,
            line: "l".repeat(512),
            first_seen: 0,
            count: 3,
            evidence: Some(Evidence::Count {
                threshold: 3,
                window_ns: Some(300_000_000_000),
            }),
        };
        let m = trip_message(&t);
        assert!(m.len() < 1024, "{}", m.len());
        assert!(m.starts_with("UNHEALTHY: 3 matching lines within 5m0s; last \"ppp"));
    }
}
