//! The verdict rules: trip, threshold within a window, sticky, incarnation,
//! silence, and which of them wins.
//!
//! - A counting line (see [`crate::scan`]) is a hit; the probe trips when
//!   `threshold` hits fall within `window` (a hit's time is the run that first
//!   saw it).
//! - Once tripped, the verdict is kept in the state and repeated by every run
//!   of the same incarnation.
//! - A state from another incarnation or configuration keeps its offsets (they
//!   describe bytes already on disk) but loses its verdict and hits.
//! - [`decide`] is the one place that says which verdict a run gives, from
//!   what it found ([`Facts`]); its words are [`crate::report`]'s.

use crate::incarnation::Incarnation;
use crate::scan::{Flow, Hit};
use crate::state::{HitRecord, State, Trip};

/// The verdict of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// No trip.
    Healthy,
    /// Tripped (sticky) or silent too long.
    Unhealthy,
    /// The probe could not check.
    Error,
}

/// Everything a run found that bears on its verdict.
#[derive(Debug, Default)]
pub struct Facts {
    /// The trip: remembered from earlier in this incarnation, or new.
    pub trip: Option<Trip>,
    /// Trouble that stopped the run (incarnation, lock, state): no verdict of its own.
    pub failure: Option<String>,
    /// Another run held the lock: nothing was scanned.
    pub busy: bool,
    /// Trouble with some files; the rest were checked.
    pub errors: Vec<String>,
    /// Things an operator may want to know.
    pub warnings: Vec<String>,
    /// The paths and globs searched for log files.
    pub searched: Vec<String>,
    /// Log files found.
    pub files: usize,
    /// Modification time of the newest file found, ns since the epoch.
    pub newest_mtime: Option<i64>,
    /// Matching lines so far toward the threshold, short of it.
    pub hits: usize,
    /// Bytes scanned by this run.
    pub scanned_bytes: u64,
    /// Bytes left for the next run.
    pub pending_bytes: u64,
    /// The budget ran out before every file was scanned.
    pub out_of_time: bool,
}

/// The verdict, with what it rests on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A pattern tripped the probe (sticky).
    Tripped(Trip),
    /// No watched log has grown since `since`, longer than `--max-silence`.
    Silent {
        /// When a watched log last grew (or the incarnation began), ns.
        since: i64,
        /// How long ago that is, ns.
        for_ns: i64,
    },
    /// The probe could not check; the first reason.
    CouldNotCheck(String),
    /// Nothing tripped; the kind says what the run saw.
    Healthy(Healthy),
}

/// What a healthy run saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Healthy {
    /// Another run held the lock; no trip recorded in this incarnation.
    Busy,
    /// No log file exists.
    NoFiles,
    /// The files were scanned (maybe not all of them, if out of time).
    Scanned,
}

impl Verdict {
    /// Healthy, unhealthy, or could not check.
    pub fn status(&self) -> Status {
        match self {
            Verdict::Tripped(_) | Verdict::Silent { .. } => Status::Unhealthy,
            Verdict::CouldNotCheck(_) => Status::Error,
            Verdict::Healthy(_) => Status::Healthy,
        }
    }
}

/// Which verdict a run gives, in order: a trip (sticky or new) wins over
/// everything, even a state that could not be saved; then trouble that
/// stopped the run; then silence (unless nothing could be found because of
/// errors); then per-file errors; else healthy. `--on-error` decides only the
/// exit of [`Verdict::CouldNotCheck`] (see [`crate::exit::exit_for`]).
pub fn decide(f: &Facts, incarnation: i64, max_silence_ns: Option<i64>, now: i64) -> Verdict {
    if let Some(t) = &f.trip {
        return Verdict::Tripped(t.clone());
    }
    if let Some(why) = &f.failure {
        return Verdict::CouldNotCheck(why.clone());
    }
    if f.busy {
        return Verdict::Healthy(Healthy::Busy);
    }
    if let Some(limit) = max_silence_ns
        && (f.errors.is_empty() || f.files > 0)
    {
        // Growth is read from the files' modification times: no state needed.
        let since = f.newest_mtime.unwrap_or(i64::MIN).max(incarnation);
        if now - since > limit {
            return Verdict::Silent {
                since,
                for_ns: now - since,
            };
        }
    }
    if let Some(first) = f.errors.first() {
        return Verdict::CouldNotCheck(first.clone());
    }
    if f.files == 0 {
        return Verdict::Healthy(Healthy::NoFiles);
    }
    Verdict::Healthy(Healthy::Scanned)
}

/// Brings a loaded state into this run's incarnation and configuration.
/// Returns the state to work on, and whether a verdict of another
/// configuration was dropped (worth a warning: two configurations share a state).
pub fn reconcile(loaded: Option<State>, config: &str, incarnation: &Incarnation) -> (State, bool) {
    let Some(mut st) = loaded else {
        return (State::new(config, incarnation), false);
    };
    let other_config = st.config != config;
    if other_config || st.incarnation_id != incarnation.id {
        st.config = config.to_string();
        st.incarnation = incarnation.start_ns;
        st.incarnation_id = incarnation.id.clone();
        st.trip = None;
        st.hits.clear();
    }
    (st, other_config)
}

/// Counts hits toward the threshold during one run.
#[derive(Debug)]
pub struct Counter<'a> {
    threshold: u32,
    window_ns: Option<i64>,
    now: i64,
    patterns: &'a [String],
    /// Recent hits, oldest first (at most threshold − 1 once the run ends).
    pub hits: Vec<HitRecord>,
    /// Set when the probe trips.
    pub trip: Option<Trip>,
    /// Hits seen by this run.
    pub seen: u64,
}

impl<'a> Counter<'a> {
    /// Starts counting from the hits a state remembers.
    pub fn new(
        threshold: u32,
        window_ns: Option<i64>,
        now: i64,
        patterns: &'a [String],
        hits: Vec<HitRecord>,
    ) -> Self {
        let mut c = Counter {
            threshold,
            window_ns,
            now,
            patterns,
            hits,
            trip: None,
            seen: 0,
        };
        c.expire();
        c
    }

    fn expire(&mut self) {
        if let Some(w) = self.window_ns {
            let oldest = self.now.saturating_sub(w);
            self.hits.retain(|h| h.time >= oldest);
        }
        let keep = self.threshold.saturating_sub(1) as usize;
        if self.hits.len() > keep {
            self.hits.drain(..self.hits.len() - keep);
        }
    }

    /// Records a hit in `file`; says whether to go on scanning.
    pub fn on_hit(&mut self, hit: Hit, file: &str) -> Flow {
        self.seen += 1;
        if self.hits.len() + 1 >= self.threshold as usize {
            self.trip = Some(Trip {
                pattern: self.patterns.get(hit.pattern).cloned().unwrap_or_default(),
                file: file.to_string(),
                offset: hit.line_start,
                line: hit.snippet,
                first_seen: self.now,
                count: self.hits.len() as u32 + 1,
            });
            self.hits.clear();
            return Flow::Stop;
        }
        self.hits.push(HitRecord {
            time: self.now,
            file: file.to_string(),
            offset: hit.line_start,
        });
        Flow::Continue
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(at: u64) -> Hit {
        Hit {
            line_start: at,
            pattern: 0,
            snippet: String::new(),
        }
    }

    #[test]
    fn threshold_within_window() {
        let pats = vec!["p".to_string()];
        let mut c = Counter::new(3, Some(100), 1000, &pats, Vec::new());
        assert_eq!(c.on_hit(hit(0), "f"), Flow::Continue);
        assert_eq!(c.on_hit(hit(1), "f"), Flow::Continue);
        let kept = c.hits.clone();
        // Two hits at t=1000; at t=1200 they have expired.
        let mut later = Counter::new(3, Some(100), 1200, &pats, kept.clone());
        assert_eq!(later.on_hit(hit(2), "f"), Flow::Continue);
        // At t=1050 they still count.
        let mut soon = Counter::new(3, Some(100), 1050, &pats, kept);
        assert_eq!(soon.on_hit(hit(2), "f"), Flow::Stop);
        assert_eq!(soon.trip.unwrap().count, 3);
    }

    #[test]
    fn other_incarnation_drops_verdict_keeps_offsets() {
        let mut s = State::new("c", &Incarnation::since(1));
        s.trip = Some(Trip {
            pattern: "p".into(),
            file: "f".into(),
            offset: 0,
            line: String::new(),
            first_seen: 0,
            count: 1,
        });
        s.files.push(crate::state::FileState {
            path: "f".into(),
            dev: 1,
            ino: 1,
            fp_len: 0,
            fp: 0,
            size: 9,
            mtime: 0,
            cursor: crate::scan::Cursor::at(9),
        });
        let (r, w) = reconcile(Some(s.clone()), "c", &Incarnation::since(2));
        assert!(r.trip.is_none() && !w);
        assert_eq!(r.files, s.files);
        let (same, _) = reconcile(Some(s.clone()), "c", &Incarnation::since(1));
        assert!(same.trip.is_some());
        let (other, w) = reconcile(Some(s), "d", &Incarnation::since(1));
        assert!(other.trip.is_none() && w);
    }

    fn trip() -> Trip {
        Trip {
            pattern: "p".into(),
            file: "f".into(),
            offset: 0,
            line: String::new(),
            first_seen: 0,
            count: 1,
        }
    }

    #[test]
    fn which_verdict_wins() {
        let silent = Some(10);
        let healthy = |f: &Facts| decide(f, 0, silent, 5);
        // Nothing found, nothing wrong, not yet silent.
        assert_eq!(
            healthy(&Facts::default()),
            Verdict::Healthy(Healthy::NoFiles)
        );
        // A trip wins over a failure, errors and silence.
        let f = Facts {
            trip: Some(trip()),
            failure: Some("state".into()),
            errors: vec!["e".into()],
            ..Facts::default()
        };
        assert_eq!(decide(&f, 0, silent, 100), Verdict::Tripped(trip()));
        // A failure wins over silence.
        let f = Facts {
            failure: Some("state".into()),
            ..Facts::default()
        };
        assert_eq!(
            decide(&f, 0, silent, 100),
            Verdict::CouldNotCheck("state".into())
        );
        // Silence wins over per-file errors when some file was found...
        let f = Facts {
            errors: vec!["e".into()],
            files: 1,
            newest_mtime: Some(50),
            ..Facts::default()
        };
        assert_eq!(
            decide(&f, 0, silent, 100),
            Verdict::Silent {
                since: 50,
                for_ns: 50
            }
        );
        assert_eq!(
            decide(&f, 0, silent, 55),
            Verdict::CouldNotCheck("e".into())
        );
        // ...but not when errors kept every file from being found.
        let f = Facts {
            errors: vec!["e".into()],
            ..Facts::default()
        };
        assert_eq!(
            decide(&f, 0, silent, 100),
            Verdict::CouldNotCheck("e".into())
        );
        // Silence counts from the incarnation's start at the earliest.
        let f = Facts {
            files: 1,
            newest_mtime: Some(0),
            ..Facts::default()
        };
        assert_eq!(
            decide(&f, 95, silent, 100),
            Verdict::Healthy(Healthy::Scanned)
        );
        // A busy run is healthy unless the state says tripped.
        let f = Facts {
            busy: true,
            ..Facts::default()
        };
        assert_eq!(decide(&f, 0, silent, 100), Verdict::Healthy(Healthy::Busy));
    }
}
