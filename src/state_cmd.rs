//! `logprobe state show|reset`: the state file, for people.

use std::path::{Path, PathBuf};

use crate::cli::{Format, StateAction, StateArgs};
use crate::config::DEFAULT_STATE_DIR;
use crate::error;
use crate::exit::Exit;
use crate::report;
use crate::state::{self, Loaded};
use crate::timefmt::format_rfc3339;

/// Runs `state show` or `state reset`.
pub fn command(action: &StateAction) -> Exit {
    match action {
        StateAction::Show(a) => show(a),
        StateAction::Reset(a) => reset(a),
    }
}

/// The state files `state show|reset` act on.
fn state_files(a: &StateArgs) -> Result<Vec<PathBuf>, String> {
    files(a.state.as_deref())
}

/// `state`, or without it every state file in the default directory.
///
/// # Errors
/// The default directory cannot be read.
pub fn files(state: Option<&Path>) -> Result<Vec<PathBuf>, String> {
    if let Some(p) = state {
        return Ok(vec![p.to_path_buf()]);
    }
    let dir = Path::new(DEFAULT_STATE_DIR);
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(error::at_path(dir, &e)),
    };
    let mut v: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.extension().is_some_and(|x| x == "json")
                && p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("state-"))
        })
        .collect();
    v.sort();
    Ok(v)
}

fn show(a: &StateArgs) -> Exit {
    let files = match state_files(a) {
        Ok(f) => f,
        Err(e) => {
            error::print(format_args!("state show: {e}"));
            return Exit::CouldNotCheck;
        }
    };
    if files.is_empty() {
        println!("no state in {DEFAULT_STATE_DIR} (no check has run with the default --state)");
        return Exit::Healthy;
    }
    let mut status = Exit::Healthy;
    for path in files {
        match state::load(&path, false) {
            Ok(Loaded {
                state: Some(st), ..
            }) => print_state(&path, &st, a.format),
            Ok(Loaded { warning, .. }) => {
                match warning {
                    Some(w) => error::print(w),
                    None => error::print(format_args!("{}: no such state", path.display())),
                }
                status = Exit::CouldNotCheck;
            }
            Err(e) => {
                error::print(format_args!("state {e}"));
                status = Exit::CouldNotCheck;
            }
        }
    }
    status
}

fn print_state(path: &Path, st: &state::State, format: Format) {
    if format == Format::Json {
        let v = serde_json::json!({"path": path, "state": st});
        println!("{}", serde_json::to_string(&v).unwrap_or_default());
        return;
    }
    println!("{}:", path.display());
    println!("  verdict: {}", report::describe(st));
    println!("  incarnation: {}", format_rfc3339(st.incarnation));
    println!("  configuration: {}", st.config);
    if let Some(t) = &st.held {
        println!(
            "  held back by the crash-loop guard: {}",
            report::trip_message(t)
        );
    }
    if !st.history.is_empty() {
        let past: Vec<String> = st
            .history
            .iter()
            .map(|p| {
                let rule = p
                    .tripped
                    .as_deref()
                    .map_or("no trip".into(), |r| format!("{r:?}"));
                format!("{} {rule}", format_rfc3339(p.incarnation))
            })
            .collect();
        println!(
            "  earlier incarnations (oldest first; --max-restarts {}): {}",
            st.max_restarts,
            past.join(", ")
        );
    }
    for f in &st.files {
        let tail = match f.cursor.long_line {
            Some(l) => format!(", inside a long line from byte {}", l.start),
            None => String::new(),
        };
        println!(
            "  {}: scanned to byte {} of {} (dev {} inode {}, modified {}{tail})",
            f.path,
            f.cursor.offset,
            f.size,
            f.dev,
            f.ino,
            format_rfc3339(f.mtime)
        );
    }
}

fn reset(a: &StateArgs) -> Exit {
    let files = match state_files(a) {
        Ok(f) => f,
        Err(e) => {
            error::print(format_args!("state reset: {e}"));
            return Exit::CouldNotCheck;
        }
    };
    let mut status = Exit::Healthy;
    for path in &files {
        match state::reset(path) {
            Ok(true) => println!("forgot {}", path.display()),
            Ok(false) => println!("no state at {}", path.display()),
            Err(e) => {
                error::print(format_args!("state reset: {e}"));
                status = Exit::CouldNotCheck;
            }
        }
    }
    if files.is_empty() {
        println!("no state in {DEFAULT_STATE_DIR}");
    }
    status
}
