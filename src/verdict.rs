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

use crate::config::{Config, Role};
use crate::guard;
use crate::incarnation::Incarnation;
use crate::rules::When;
use crate::scan::{Flow, Hit};
use crate::stall::{self, Reading};
use crate::state::{Evidence, HitRecord, Past, PersistRun, StallRun, State, Trip};

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
    /// How far the rules have come toward a trip, short of it.
    pub progress: Option<Progress>,
    /// Bytes scanned by this run.
    pub scanned_bytes: u64,
    /// Bytes left for the next run.
    pub pending_bytes: u64,
    /// The budget ran out before every file was scanned.
    pub out_of_time: bool,
    /// A trip the crash-loop guard held back in this incarnation.
    pub held: Option<Trip>,
    /// The latest incarnation of a rule that tripped each of the last
    /// `--max-restarts`: the guard holds that rule back.
    pub uncured: Option<Past>,
}

/// How far the rules have come toward a trip, for the healthy line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// `count` of a threshold rule's `threshold` lines (the rule closest to it).
    Lines {
        /// Lines remembered.
        count: u32,
        /// Lines needed.
        threshold: u32,
        /// Within this span, ns.
        window_ns: Option<i64>,
    },
    /// A persistence rule's lines have kept coming for `so_far` of `for_ns`.
    Persist {
        /// The rule's literal.
        literal: String,
        /// How long so far, ns.
        so_far: i64,
        /// How long it takes, ns.
        for_ns: i64,
    },
    /// Metrics reports have stayed stalled for `so_far` of `for_ns`.
    Stall {
        /// How long so far, ns.
        so_far: i64,
        /// `--max-stall`, ns.
        for_ns: i64,
        /// Reports so far.
        reports: u32,
    },
}

/// The progress to show: the threshold rule with the most lines, else the
/// longest persistence run, else the stalled reports.
pub fn progress(cfg: &Config, m: &Memory) -> Option<Progress> {
    let lines = cfg
        .rules
        .iter()
        .enumerate()
        .filter_map(|(i, r)| match r.when {
            When::Count {
                threshold,
                window_ns,
            } => {
                let count = m.hits.iter().filter(|h| h.rule == i).count() as u32;
                (count > 0 && cfg.counter_of(i) == i).then_some((count, threshold, window_ns))
            }
            When::Persist { .. } => None,
        });
    if let Some((count, threshold, window_ns)) = lines.max_by_key(|l| l.0) {
        return Some(Progress::Lines {
            count,
            threshold,
            window_ns,
        });
    }
    let longest = m.runs.iter().max_by_key(|run| run.last - run.first);
    if let Some(run) = longest
        && let Some(rule) = cfg.rules.get(run.rule)
        && let When::Persist { for_ns, .. } = rule.when
    {
        return Some(Progress::Persist {
            literal: rule.literal.clone(),
            so_far: run.last - run.first,
            for_ns,
        });
    }
    let (run, for_ns) = (m.stall.as_ref()?, cfg.max_stall_ns?);
    Some(Progress::Stall {
        so_far: run.last - run.first,
        for_ns,
        reports: run.reports,
    })
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

/// Brings a loaded state into this run's incarnation and configuration; an
/// earlier incarnation goes into the crash-loop guard's history. Returns the state to work on, and whether a verdict of another
/// configuration was dropped (worth a warning: two configurations share a state).
pub fn reconcile(loaded: Option<State>, config: &str, incarnation: &Incarnation) -> (State, bool) {
    let Some(mut st) = loaded else {
        return (State::new(config, incarnation), false);
    };
    let other_config = st.config != config;
    let other_incarnation = st.incarnation_id != incarnation.id;
    if other_incarnation {
        guard::close(&mut st);
    }
    if other_config || other_incarnation {
        st.config = config.to_string();
        st.incarnation = incarnation.start_ns;
        st.incarnation_id = incarnation.id.clone();
        st.trip = None;
        st.held = None;
        st.hits.clear();
        st.runs.clear();
        st.stall = None;
    }
    (st, other_config)
}

/// What the rules remember between runs: taken from the state for a run,
/// given back after it.
#[derive(Debug, Default)]
pub struct Memory {
    /// Recent lines of threshold rules.
    pub hits: Vec<HitRecord>,
    /// Current runs of persistence rules.
    pub runs: Vec<PersistRun>,
    /// The current run of stalled reports.
    pub stall: Option<StallRun>,
}

impl Memory {
    /// Takes the memory out of a state.
    pub fn take(st: &mut State) -> Memory {
        Memory {
            hits: std::mem::take(&mut st.hits),
            runs: std::mem::take(&mut st.runs),
            stall: st.stall.take(),
        }
    }

    /// Gives it back.
    pub fn put(self, st: &mut State) {
        st.hits = self.hits;
        st.runs = self.runs;
        st.stall = self.stall;
    }
}

/// Judges every matching line of one run against the rules, in order.
///
/// A line's time is its own ([`Hit::time`]) or, without one, `now`, the
/// time the probe first saw it. Windows, persistence and stalls are measured
/// in those times only, so the verdict is the same however the lines are
/// split across runs. A line whose own time lies before the incarnation's
/// start was written by an earlier incarnation and never counts.
///
/// Once tripped, the judge counts nothing more but lets the scan go on, so
/// the offsets keep up with the log while the verdict is sticky: after a
/// restart, only lines written since the last run are left to read.
#[derive(Debug)]
pub struct Judge<'a> {
    cfg: &'a Config,
    now: i64,
    /// Start of the incarnation, ns since the epoch.
    since: i64,
    /// The pattern of a rule the crash-loop guard holds back.
    guarded: Option<String>,
    /// What the rules remember.
    pub memory: Memory,
    /// Set when the probe trips (or tripped earlier in this incarnation).
    pub trip: Option<Trip>,
    /// Set when the guarded rule trips: it does not fail the probe.
    pub held: Option<Trip>,
}

impl<'a> Judge<'a> {
    /// Starts judging with what the state remembers, counting every line.
    pub fn new(cfg: &'a Config, now: i64, memory: Memory) -> Judge<'a> {
        Judge {
            cfg,
            now,
            since: i64::MIN,
            guarded: None,
            memory,
            trip: None,
            held: None,
        }
    }

    /// Lines whose own time lies before `start` (the incarnation's) do not count.
    pub fn since(mut self, start: i64) -> Self {
        self.since = start;
        self
    }

    /// What this incarnation already found: its sticky trip (nothing more
    /// counts), its held trip, and the pattern the guard holds back.
    pub fn after(
        mut self,
        trip: Option<Trip>,
        held: Option<Trip>,
        guarded: Option<String>,
    ) -> Self {
        self.trip = trip;
        self.held = held;
        self.guarded = guarded;
        self
    }

    /// Judges a matching line of `file`; the scan always goes on.
    pub fn on_hit(&mut self, hit: Hit, file: &str) -> Flow {
        if self.trip.is_some() || hit.time.is_some_and(|t| t < self.since) {
            return Flow::Continue;
        }
        let t = hit.time.unwrap_or(self.now);
        let evidence = match self.cfg.role(hit.pattern) {
            Role::Rule(i) => match self.cfg.rules[i].when {
                When::Count {
                    threshold,
                    window_ns,
                } => self.count(i, threshold, window_ns, t, &hit, file),
                When::Persist { for_ns, gap_ns } => self.persist(i, for_ns, gap_ns, t),
            },
            Role::Report => self.report(t, &hit),
            Role::OutputError => {
                // An output that fails loudly is down, not silently stalled.
                self.memory.stall = None;
                None
            }
        };
        let Some((count, evidence)) = evidence else {
            return Flow::Continue;
        };
        let literals = self.cfg.literals();
        let line = match &hit.text {
            Some(text) if hit.snippet.is_empty() => crate::scan::snippet(text),
            _ => hit.snippet,
        };
        let trip = Trip {
            pattern: literals.get(hit.pattern).cloned().unwrap_or_default(),
            file: file.to_string(),
            offset: hit.line_start,
            line,
            first_seen: self.now,
            count,
            evidence: Some(evidence),
        };
        if self.guarded.as_ref() == Some(&trip.pattern) {
            self.held.get_or_insert(trip);
        } else {
            self.trip = Some(trip);
        }
        Flow::Continue
    }

    /// A line of a threshold rule: trips at the `threshold`-th within `window`
    /// (of the lines that share its count, see [`Config::counter_of`]).
    fn count(
        &mut self,
        rule: usize,
        threshold: u32,
        window_ns: Option<i64>,
        t: i64,
        hit: &Hit,
        file: &str,
    ) -> Option<(u32, Evidence)> {
        let rule = self.cfg.counter_of(rule);
        let hits = &mut self.memory.hits;
        if let Some(w) = window_ns {
            hits.retain(|h| h.rule != rule || h.time >= t.saturating_sub(w));
        }
        let before = hits.iter().filter(|h| h.rule == rule).count() as u32;
        if before + 1 >= threshold {
            hits.retain(|h| h.rule != rule);
            let evidence = Evidence::Count {
                threshold,
                window_ns,
            };
            return Some((before + 1, evidence));
        }
        hits.push(HitRecord {
            time: t,
            file: file.to_string(),
            offset: hit.line_start,
            rule,
        });
        None
    }

    /// A line of a persistence rule: trips once its run lasts `for_ns`.
    fn persist(
        &mut self,
        rule: usize,
        for_ns: i64,
        gap_ns: i64,
        t: i64,
    ) -> Option<(u32, Evidence)> {
        let runs = &mut self.memory.runs;
        let i = match runs.iter().position(|r| r.rule == rule) {
            Some(i) => i,
            None => {
                runs.push(PersistRun {
                    rule,
                    first: t,
                    last: t,
                    lines: 0,
                });
                runs.len() - 1
            }
        };
        let run = &mut runs[i];
        if t - run.last > gap_ns {
            // A hole longer than the bound: a new burst begins here.
            *run = PersistRun {
                rule,
                first: t,
                last: t,
                lines: 0,
            };
        }
        run.last = run.last.max(t);
        run.lines += 1;
        if run.last - run.first < for_ns {
            return None;
        }
        let run = runs.remove(i);
        let evidence = Evidence::Persist {
            first: run.first,
            last: run.last,
            lines: run.lines,
            for_ns,
        };
        Some((run.lines, evidence))
    }

    /// A metrics report: trips once the reports stay stalled for `--max-stall`.
    fn report(&mut self, t: i64, hit: &Hit) -> Option<(u32, Evidence)> {
        let for_ns = self.cfg.max_stall_ns?;
        let reading = hit.text.as_deref().map_or(Reading::Unreadable, stall::read);
        let Reading::Stalled(active) = reading else {
            self.memory.stall = None;
            return None;
        };
        let run = self.memory.stall.get_or_insert(StallRun {
            first: t,
            last: t,
            reports: 0,
            active,
        });
        run.last = run.last.max(t);
        run.reports += 1;
        run.active = active;
        if run.last - run.first < for_ns {
            return None;
        }
        let run = self.memory.stall.take()?;
        let evidence = Evidence::Stall {
            first: run.first,
            last: run.last,
            reports: run.reports,
            active: run.active,
            for_ns,
        };
        Some((run.reports, evidence))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000_000;
    const MIN: i64 = 60 * S;

    fn config(args: &[&str]) -> Config {
        let mut argv = vec!["logprobe", "--preset", "none", "-l", "/x"];
        argv.extend_from_slice(args);
        let cli = crate::cli::parse(argv.iter().map(Into::into).collect()).unwrap();
        Config::from_args(&cli.check).unwrap()
    }

    /// A hit of literal `pattern` at `time` (seconds), at offset `at`.
    fn hit(pattern: usize, time: Option<i64>, at: u64) -> Hit {
        Hit {
            line_start: at,
            pattern,
            snippet: String::new(),
            time: time.map(|t| t * S),
            text: None,
        }
    }

    /// Feeds hits of pattern 0 at these times (seconds) to a fresh judge,
    /// one run per slice; returns the run and the offset that tripped.
    fn trips_at(cfg: &Config, runs: &[&[i64]]) -> Option<(usize, u64)> {
        let mut memory = Memory::default();
        let mut at = 0;
        for (n, times) in runs.iter().enumerate() {
            let mut j = Judge::new(cfg, 0, memory);
            for &t in *times {
                at += 1;
                assert_eq!(j.on_hit(hit(0, Some(t), at), "f"), Flow::Continue);
                if let Some(trip) = &j.trip {
                    return Some((n, trip.offset));
                }
            }
            memory = j.memory;
        }
        None
    }

    #[test]
    fn threshold_within_window_by_the_lines_times() {
        let cfg = config(&["-p", "p", "-t", "3", "-w", "100s"]);
        assert_eq!(trips_at(&cfg, &[&[1000, 1001, 1099]]), Some((0, 3)));
        assert_eq!(trips_at(&cfg, &[&[1000, 1001], &[1200]]), None);
        assert_eq!(trips_at(&cfg, &[&[1000], &[1050], &[1090]]), Some((2, 3)));
        // The two oldest fall out of the window; the fourth and fifth complete it.
        assert_eq!(trips_at(&cfg, &[&[0, 10, 200, 250, 290]]), Some((0, 5)));
        // A line without a time of its own takes the time the probe saw it.
        let mut j = Judge::new(&cfg, 7 * S, Memory::default());
        j.on_hit(hit(0, None, 1), "f");
        assert_eq!(j.memory.hits[0].time, 7 * S);
    }

    #[test]
    fn lines_older_than_the_incarnation_never_count() {
        let cfg = config(&["-p", "p"]);
        let mut j = Judge::new(&cfg, 100 * S, Memory::default()).since(50 * S);
        j.on_hit(hit(0, Some(49), 1), "f");
        assert!(j.trip.is_none(), "written before the start");
        // A line without a time of its own is as new as the run that sees it.
        j.on_hit(hit(0, None, 2), "f");
        assert_eq!(j.trip.as_ref().map(|t| t.offset), Some(2));
        let mut j = Judge::new(&cfg, 100 * S, Memory::default()).since(50 * S);
        j.on_hit(hit(0, Some(50), 3), "f");
        assert_eq!(j.trip.map(|t| t.offset), Some(3), "written at the start");
    }

    #[test]
    fn once_tripped_nothing_more_counts_and_the_first_trip_stands() {
        let cfg = config(&["-p", "p", "-p", "q"]);
        let mut j = Judge::new(&cfg, 0, Memory::default());
        j.on_hit(hit(0, Some(1), 1), "f");
        for at in 2..10 {
            assert_eq!(j.on_hit(hit(1, Some(at as i64), at), "f"), Flow::Continue);
        }
        assert_eq!(
            j.trip.as_ref().map(|t| (t.pattern.as_str(), t.offset)),
            Some(("p", 1))
        );
        assert!(j.memory.hits.is_empty());
    }

    #[test]
    fn the_guarded_rule_is_held_and_the_others_still_trip() {
        let cfg = config(&["-p", "p", "-p", "q"]);
        let mut j = Judge::new(&cfg, 0, Memory::default()).after(None, None, Some("p".into()));
        j.on_hit(hit(0, Some(1), 1), "f");
        j.on_hit(hit(0, Some(2), 2), "f");
        assert!(j.trip.is_none());
        assert_eq!(
            j.held.as_ref().map(|t| t.offset),
            Some(1),
            "the first is kept"
        );
        j.on_hit(hit(1, Some(3), 3), "f");
        assert_eq!(j.trip.map(|t| t.pattern), Some("q".to_string()));
    }

    #[test]
    fn persistence_trips_on_a_loop_that_goes_on_and_not_on_bursts() {
        let mut cfg = config(&["-p", "p"]);
        cfg.rules[0].when = When::Persist {
            for_ns: 10 * MIN,
            gap_ns: 2 * MIN,
        };
        // Every 10 s for 10 minutes, across runs of one minute each.
        let times: Vec<i64> = (0..=60).map(|i| i * 10).collect();
        let runs: Vec<&[i64]> = times.chunks(6).collect();
        assert_eq!(trips_at(&cfg, &runs), Some((10, 61)));
        // A 6-minute hole: two bursts of 5 minutes, no trip.
        let bursts: Vec<i64> = (0..=30)
            .map(|i| i * 10)
            .chain((0..=30).map(|i| 660 + i * 10))
            .collect();
        assert_eq!(trips_at(&cfg, &[&bursts]), None);
        // A hole of exactly the bound does not break the run.
        assert_eq!(
            trips_at(&cfg, &[&[0, 120, 240, 360, 480, 600]]),
            Some((0, 6))
        );
        // One more second does.
        assert_eq!(trips_at(&cfg, &[&[0, 120, 240, 361, 480, 600]]), None);
    }

    #[test]
    fn a_stall_needs_stalled_reports_for_the_whole_span_without_output_errors() {
        let cfg = config(&["-p", "p", "--max-stall", "10m"]);
        let report = cfg.rules.len();
        let stalled =
            br#"{"monitoring":{"metrics":{"libbeat":{"pipeline":{"events":{"active":5}}}}}}"#;
        let acked = br#"{"monitoring":{"metrics":{"libbeat":{"output":{"events":{"acked":5}},"pipeline":{"events":{"active":5}}}}}}"#;
        let feed = |lines: &[(i64, &[u8])]| {
            let mut j = Judge::new(&cfg, 0, Memory::default());
            for (i, (t, text)) in lines.iter().enumerate() {
                let mut h = hit(report, Some(*t), i as u64);
                h.text = Some(text.to_vec());
                if text.is_empty() {
                    h.pattern = report + 1; // an output error line
                }
                j.on_hit(h, "f");
                if j.trip.is_some() {
                    return j.trip;
                }
            }
            None
        };
        let every_30s = |text: &'static [u8], n: i64| (0..n).map(move |i| (i * 30, text));
        let trip = feed(&every_30s(stalled, 21).collect::<Vec<_>>()).unwrap();
        assert_eq!(trip.count, 21);
        assert!(matches!(
            trip.evidence,
            Some(Evidence::Stall {
                reports: 21,
                active: 5,
                ..
            })
        ));
        assert!(feed(&every_30s(stalled, 20).collect::<Vec<_>>()).is_none());
        // A healthy report in the middle starts the span again.
        let mut mixed: Vec<_> = every_30s(stalled, 21).collect();
        mixed[10].1 = acked;
        assert!(feed(&mixed).is_none());
        // So does an output error line.
        let mut loud: Vec<_> = every_30s(stalled, 21).collect();
        loud.insert(10, (295, b""));
        assert!(feed(&loud).is_none());
        // Without --max-stall, reports are not even looked for.
        let off = config(&["-p", "p"]);
        assert_eq!(off.literals().len(), 1);
    }

    #[test]
    fn other_incarnation_drops_verdict_keeps_offsets() {
        let mut s = State::new("c", &Incarnation::since(1));
        s.trip = Some(trip());
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
        // The earlier incarnation is remembered, with the rule that tripped it.
        assert_eq!(r.history.len(), 1);
        assert_eq!(r.history[0].tripped.as_deref(), Some("p"));
        assert_eq!(r.history[0].incarnation, 1);
        assert_eq!(
            reconcile(Some(r), "c", &Incarnation::since(2))
                .0
                .history
                .len(),
            1
        );
        let (same, _) = reconcile(Some(s.clone()), "c", &Incarnation::since(1));
        assert!(same.trip.is_some());
        let (other, w) = reconcile(Some(s), "d", &Incarnation::since(1));
        assert!(other.trip.is_none() && w);
        assert!(other.history.is_empty(), "the same incarnation");
    }

    fn trip() -> Trip {
        Trip {
            pattern: "p".into(),
            file: "f".into(),
            offset: 0,
            line: String::new(),
            first_seen: 0,
            count: 1,
            evidence: None,
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
