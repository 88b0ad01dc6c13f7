//! What a run prints: one self-explaining line (`text`) or one JSON object.
//!
//! kubelet keeps the first 10 KiB of a probe's output for the pod's events and
//! event messages over 1 KiB may be dropped, so the first line stays well
//! under 1 KiB: paths and patterns are cut, the line itself to 512 bytes.

use serde::Serialize;

use crate::cli::Format;
use crate::exit::Exit;
use crate::state::Trip;
use crate::timefmt;

/// The verdict of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// No trip.
    Healthy,
    /// Tripped (sticky) or silent too long.
    Unhealthy,
    /// The probe could not check.
    Error,
}

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
    /// Matching lines counted toward the threshold.
    pub count: u32,
}

/// Everything a run has to say.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// The verdict.
    pub status: Status,
    /// The exit status.
    pub exit: u8,
    /// The first line of text output.
    pub message: String,
    /// Bytes scanned by this run.
    pub scanned_bytes: u64,
    /// Bytes found but left for the next run (budget reached or tripped).
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
    /// Trouble that kept the probe from checking everything.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
    /// Things an operator may want to know.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
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

/// The line that explains a trip.
pub fn trip_message(t: &Trip, threshold: u32, window_ns: Option<i64>) -> String {
    let count = if threshold > 1 {
        match window_ns {
            Some(w) => format!(
                "{} matching lines within {}; last ",
                t.count,
                timefmt::format_duration(w)
            ),
            None => format!("{} matching lines; last ", t.count),
        }
    } else {
        String::new()
    };
    format!(
        "UNHEALTHY: {count}{:?} in {} at byte {} (first seen {}): {}",
        cut(&t.pattern, 120),
        cut(&t.file, 200),
        t.offset,
        timefmt::format_rfc3339(t.first_seen),
        t.line
    )
}

impl Outcome {
    /// The match part of a trip.
    pub fn set_trip(&mut self, t: &Trip) {
        self.matched = Some(MatchReport {
            pattern: t.pattern.clone(),
            file: t.file.clone(),
            offset: t.offset,
            line: t.line.clone(),
            first_seen: timefmt::format_rfc3339(t.first_seen),
            count: t.count,
        });
    }

    /// Prints the outcome and returns the exit status.
    pub fn print(&self, format: Format) -> Exit {
        match format {
            Format::Text => {
                println!("{}", self.message);
                for w in &self.warnings {
                    eprintln!("logprobe: warning: {w}");
                }
                for e in &self.errors {
                    eprintln!("logprobe: {e}");
                }
            }
            Format::Json => match serde_json::to_string(self) {
                Ok(s) => println!("{s}"),
                Err(e) => eprintln!("logprobe: cannot encode the report: {e}"),
            },
        }
        match self.exit {
            0 => Exit::Healthy,
            1 => Exit::Unhealthy,
            2 => Exit::Usage,
            _ => Exit::CouldNotCheck,
        }
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
        };
        let m = trip_message(&t, 3, Some(300_000_000_000));
        assert!(m.len() < 1024, "{}", m.len());
        assert!(m.starts_with("UNHEALTHY: 3 matching lines within 5m0s; last \"ppp"));
    }
}
