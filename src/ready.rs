//! `logprobe ready`: the readiness probe that tells a crash loop the probe
//! stopped from a healthy pod (see [`crate::guard`]).
//!
//! It reads the liveness probe's state and brings it into this incarnation
//! as a check would, without writing it: not ready when a rule tripped each
//! of the last `--max-restarts` incarnations. Its own trouble (no state yet,
//! an unreadable one) never makes the pod NotReady; it says so and exits 0.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::cli::{Format, ReadyArgs};
use crate::error;
use crate::exit::Exit;
use crate::guard;
use crate::incarnation::Incarnation;
use crate::report::{self, cut};
use crate::state::{self, Loaded, State};
use crate::state_cmd;
use crate::timefmt;
use crate::verdict;

/// kubelet shows a failed probe's output in an event after `Readiness probe
/// failed: `; over 1 KiB in all it may be dropped.
const MAX_LINE: usize = 900;

/// What `ready` found in one state file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
struct Readiness {
    /// Not ready only when the crash-loop guard holds a rule back.
    ready: bool,
    /// The line.
    message: String,
    /// The state file.
    state: String,
}

/// Runs `ready` and returns its exit: 0 ready, 1 not ready, 2 bad options.
pub fn command(a: &ReadyArgs) -> Exit {
    let since = match a.since.as_deref().map(timefmt::parse_time) {
        None => None,
        Some(Ok(ns)) => Some(ns),
        Some(Err(e)) => {
            error::print(format_args!("--since: {e}"));
            return Exit::Usage;
        }
    };
    let proc = a.proc_root.as_deref().unwrap_or(Path::new("/proc"));
    // The incarnation, as `check` finds it (`last`: the state's).
    let incarnation = |last: Option<&str>| match since {
        Some(ns) => Ok(Incarnation::since(ns)),
        None => Incarnation::of_container(proc, last),
    };
    let root = a.root.as_deref().unwrap_or(Path::new("/"));
    let files = match state_cmd::files(a.state.as_deref()) {
        Ok(f) => f,
        Err(e) => {
            error::print(format_args!("ready: {e}"));
            return Exit::Healthy;
        }
    };
    let now = timefmt::now_ns();
    let all: Vec<Readiness> = files
        .iter()
        .map(|p| readiness(p, &incarnation, root, now))
        .collect();
    let shown = all.iter().find(|r| !r.ready).or(all.first());
    let fallback = Readiness {
        ready: true,
        message: format!(
            "READY: no state in {} yet (no liveness run with the default --state)",
            crate::config::DEFAULT_STATE_DIR
        ),
        state: String::new(),
    };
    let shown = shown.unwrap_or(&fallback);
    match a.format {
        Format::Text => println!("{}", shown.message),
        Format::Json => println!("{}", serde_json::to_string(shown).unwrap_or_default()),
    }
    if shown.ready {
        Exit::Healthy
    } else {
        Exit::Unhealthy
    }
}

/// The readiness one state file gives, at `now`, in the incarnation that
/// `incarnation` finds.
fn readiness(
    path: &Path,
    incarnation: &dyn Fn(Option<&str>) -> Result<Incarnation, String>,
    root: &Path,
    now: i64,
) -> Readiness {
    let ready = |message: String| Readiness {
        ready: true,
        message: cut(&message, MAX_LINE),
        state: path.display().to_string(),
    };
    let st = match state::load(path, false) {
        Ok(Loaded {
            state: Some(st), ..
        }) => st,
        Ok(Loaded {
            warning: Some(w), ..
        }) => return ready(format!("READY: {w}; the crash-loop guard is not checked")),
        Ok(Loaded { .. }) => {
            return ready(format!(
                "READY: no state at {} yet (the liveness probe has not run){}",
                path.display(),
                on_own_fs(path, root)
            ));
        }
        Err(e) => {
            return ready(format!(
                "READY: cannot read state {e}; the crash-loop guard is not checked"
            ));
        }
    };
    let st = match incarnation(Some(&st.incarnation_id)) {
        Ok(inc) => {
            let config = st.config.clone();
            verdict::reconcile(Some(st), &config, &inc).0
        }
        // Without the incarnation the state is taken as this one's: nothing
        // is counted as a restart that may not have been one.
        Err(_) => st,
    };
    let mut st: State = st;
    guard::forget_if_cured(&mut st, now);
    let k = st.max_restarts;
    let tail = on_own_fs(path, root);
    if k == 0 {
        return ready(format!(
            "READY: the crash-loop guard is off (--max-restarts 0){tail}"
        ));
    }
    match &guard::uncured(&st.history, k) {
        Some(p) => Readiness {
            ready: false,
            message: cut(
                &format!(
                    "NOT READY: {}; liveness no longer fails for it, so Filebeat is not restarted again; \
                     fix the cause, then `logprobe state reset -s {}`; last line: {}",
                    report::uncured(p, k),
                    path.display(),
                    cut(&p.line, 300)
                ),
                MAX_LINE,
            ),
            state: path.display().to_string(),
        },
        None => {
            let streak = streak(&st);
            ready(format!(
                "READY: no rule tripped each of the last {k} incarnations ({streak}){tail}"
            ))
        }
    }
}

/// How far the latest rule's streak of restarts has come, for the ready line.
fn streak(st: &State) -> String {
    let Some(last) = st.history.last() else {
        return "no earlier incarnation remembered".to_string();
    };
    let best = last
        .rules()
        .map(|(rule, _)| {
            let n = st
                .history
                .iter()
                .rev()
                .take_while(|p| p.rules().any(|(r, _)| r == rule))
                .count();
            (n, rule)
        })
        .max();
    match best {
        Some((n, rule)) => format!("{} tripped the last {n}", report::rule_label(rule)),
        None => "the last one did not trip".to_string(),
    }
}

/// A warning when the state lies on the container's own file system (the
/// device of `root`), which a restart discards: the guard cannot work there.
fn on_own_fs(path: &Path, root: &Path) -> String {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let (Ok(d), Ok(r)) = (std::fs::metadata(dir), std::fs::metadata(root)) else {
        return String::new();
    };
    if d.dev() != r.dev() {
        return String::new();
    }
    format!(
        "; but {} is on the container's own file system, which a restart discards: \
         the crash-loop guard needs the state on a volume that survives restarts (the emptyDir of deploy/)",
        dir.display()
    )
}
