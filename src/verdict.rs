//! The verdict rules: trip, threshold within a window, sticky, incarnation.
//!
//! - A counting line (see [`crate::scan`]) is a hit; the probe trips when
//!   `threshold` hits fall within `window` (a hit's time is the run that first
//!   saw it).
//! - Once tripped, the verdict is kept in the state and repeated by every run
//!   of the same incarnation.
//! - A state from another incarnation or configuration keeps its offsets (they
//!   describe bytes already on disk) but loses its verdict and hits.

use crate::incarnation::Incarnation;
use crate::scan::{Flow, Hit};
use crate::state::{HitRecord, State, Trip};

/// Brings a loaded state into this run's incarnation and configuration.
/// Returns the state to work on and a warning, if something was discarded.
pub fn reconcile(
    loaded: Option<State>,
    config: &str,
    incarnation: &Incarnation,
) -> (State, Option<String>) {
    let Some(mut st) = loaded else {
        return (State::new(config, incarnation), None);
    };
    let mut warning = None;
    if st.config != config {
        warning = Some(
            "the state was written with other patterns or paths: its verdict is dropped (give each configuration its own --state)"
                .to_string(),
        );
    }
    if st.config != config || st.incarnation_id != incarnation.id {
        st.config = config.to_string();
        st.incarnation = incarnation.start_ns;
        st.incarnation_id = incarnation.id.clone();
        st.trip = None;
        st.hits.clear();
    }
    (st, warning)
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
            cursor: crate::scan::Cursor {
                offset: 9,
                long_line: None,
            },
        });
        let (r, w) = reconcile(Some(s.clone()), "c", &Incarnation::since(2));
        assert!(r.trip.is_none() && w.is_none());
        assert_eq!(r.files, s.files);
        let (same, _) = reconcile(Some(s.clone()), "c", &Incarnation::since(1));
        assert!(same.trip.is_some());
        let (other, w) = reconcile(Some(s), "d", &Incarnation::since(1));
        assert!(other.trip.is_none() && w.is_some());
    }
}
