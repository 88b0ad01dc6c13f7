//! The crash-loop guard: a restart that did not cure is not repeated forever.
//!
//! The state remembers, for each recent incarnation, whether and on which
//! rule it tripped ([`Past`]). When the same rule tripped each of the last K
//! incarnations (`--max-restarts K`), restarting does not cure what it
//! signals: that rule no longer fails the liveness probe (its trip is *held*
//! and reported), and `logprobe ready` fails with the reason, so the pod
//! shows NotReady instead of a crash loop. A permanent failure therefore
//! restarts the container exactly K times. An incarnation that runs
//! [`CURED_AFTER_NS`] without tripping clears the history.
//!
//! The history lives in the state file, so the guard works only when that
//! file survives container restarts (the `emptyDir` of deploy/).

use crate::state::{Past, State};

/// `--max-restarts` by default.
pub const DEFAULT_MAX_RESTARTS: u32 = 3;

/// The largest `--max-restarts`.
pub const MAX_RESTARTS_LIMIT: u32 = 20;

/// Earlier incarnations remembered: enough for the largest `--max-restarts`.
pub const HISTORY: usize = MAX_RESTARTS_LIMIT as usize;

/// An incarnation that has run this long without tripping clears the history.
pub const CURED_AFTER_NS: i64 = 3600 * 1_000_000_000;

/// [`DEFAULT_MAX_RESTARTS`], for states written before the guard existed.
pub fn default_max_restarts() -> u32 {
    DEFAULT_MAX_RESTARTS
}

/// Moves the state's incarnation into its history, before the state is
/// taken over by a new incarnation: what tripped it, and what was held back.
pub fn close(st: &mut State) {
    let (trip, held) = (st.trip.take(), st.held.take());
    st.history.push(Past {
        incarnation: st.incarnation,
        tripped: trip.as_ref().map(|t| t.pattern.clone()),
        line: trip.map(|t| t.line).unwrap_or_default(),
        held: held.as_ref().map(|t| t.pattern.clone()),
        held_line: held.map(|t| t.line).unwrap_or_default(),
    });
    if st.history.len() > HISTORY {
        st.history.drain(..st.history.len() - HISTORY);
    }
}

/// A rule that tripped (or was held back in) each of the last `k`
/// incarnations, as the latest of them: a restart has not cured it. `None`
/// when `k` is 0 (the guard is off).
pub fn uncured(history: &[Past], k: u32) -> Option<Past> {
    let k = k as usize;
    if k == 0 || history.len() < k {
        return None;
    }
    let last = &history[history.len() - k..];
    let latest = &last[k - 1];
    let (rule, line) = latest
        .rules()
        .find(|(rule, _)| last.iter().all(|p| p.rules().any(|(r, _)| r == *rule)))?;
    Some(Past {
        incarnation: latest.incarnation,
        tripped: Some(rule.to_string()),
        line: line.to_string(),
        held: None,
        held_line: String::new(),
    })
}

/// Clears the history once this incarnation has run [`CURED_AFTER_NS`]
/// (at `now`) without tripping. Says whether it did.
pub fn forget_if_cured(st: &mut State, now: i64) -> bool {
    let cured = st.trip.is_none()
        && st.held.is_none()
        && !st.history.is_empty()
        && now.saturating_sub(st.incarnation) >= CURED_AFTER_NS;
    if cured {
        st.history.clear();
    }
    cured
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incarnation::Incarnation;
    use crate::state::Trip;

    fn past(rule: Option<&str>) -> Past {
        Past {
            incarnation: 0,
            tripped: rule.map(str::to_string),
            line: String::new(),
            held: None,
            held_line: String::new(),
        }
    }

    fn trip(pattern: &str) -> Trip {
        Trip {
            pattern: pattern.into(),
            file: "f".into(),
            offset: 0,
            line: format!("a line with {pattern}"),
            first_seen: 0,
            count: 1,
            evidence: None,
        }
    }

    #[test]
    fn the_same_rule_in_each_of_the_last_k() {
        let (a, b) = (Some("a"), Some("b"));
        let h = |rules: &[Option<&str>]| rules.iter().map(|r| past(*r)).collect::<Vec<_>>();
        assert!(uncured(&h(&[a, a, a]), 3).is_some());
        assert!(uncured(&h(&[b, None, a, a, a]), 3).is_some());
        assert!(uncured(&h(&[a, a]), 3).is_none(), "too few incarnations");
        assert!(uncured(&h(&[a, b, a]), 3).is_none(), "another rule between");
        assert!(
            uncured(&h(&[a, None, a, a]), 3).is_none(),
            "one did not trip"
        );
        assert!(uncured(&h(&[None, None, None]), 3).is_none());
        assert!(uncured(&h(&[a, a, a]), 0).is_none(), "0 turns it off");
        assert!(uncured(&h(&[a]), 1).is_some());
        // A held rule stays in its streak when another rule trips beside it.
        let mut both = h(&[a, a, b]);
        both[2].held = Some("a".into());
        let u = uncured(&both, 3).unwrap();
        assert_eq!(u.tripped.as_deref(), Some("a"));
    }

    #[test]
    fn closing_records_the_trip_or_the_held_trip_and_stays_bounded() {
        let mut st = State::new("c", &Incarnation::since(5));
        st.trip = Some(trip("a"));
        close(&mut st);
        assert_eq!(st.history[0].tripped.as_deref(), Some("a"));
        assert_eq!(st.history[0].incarnation, 5);
        assert!(st.trip.is_none());
        st.held = Some(trip("b"));
        st.trip = Some(trip("c"));
        close(&mut st);
        assert_eq!(st.history[1].held.as_deref(), Some("b"));
        assert_eq!(st.history[1].held_line, "a line with b");
        assert_eq!(st.history[1].tripped.as_deref(), Some("c"));
        close(&mut st);
        assert_eq!(st.history[2].tripped, None);
        for _ in 0..2 * HISTORY {
            close(&mut st);
        }
        assert_eq!(st.history.len(), HISTORY);
    }

    #[test]
    fn a_long_healthy_incarnation_forgets() {
        let mut st = State::new("c", &Incarnation::since(0));
        st.history = vec![past(Some("a")); 3];
        assert!(!forget_if_cured(&mut st, CURED_AFTER_NS - 1));
        st.held = Some(trip("a"));
        assert!(!forget_if_cured(&mut st, CURED_AFTER_NS), "held: not cured");
        st.held = None;
        assert!(forget_if_cured(&mut st, CURED_AFTER_NS));
        assert!(st.history.is_empty());
    }
}
