//! logprobe: an exec liveness probe for Filebeat.
//!
//! Each run scans only the log bytes added since the previous run, across the
//! current and rotated files, for many literal patterns at once, and answers
//! with an exit code and one line that explains itself. See [`run`].
//!
//! Modules, in the direction data flows: [`cli`] and [`config`] (what to do),
//! [`source`] (where bytes come from), [`scan`] (complete lines, matches),
//! [`verdict`] (trip, threshold, sticky, incarnation), [`state`] (kept between
//! runs) and [`report`] (what is printed); [`check`] ties them together.

pub mod check;
pub mod cli;
pub mod config;
pub mod cri;
pub mod exit;
#[doc(hidden)]
pub mod fuzzing;
pub mod incarnation;
pub mod install;
pub mod report;
pub mod scan;
pub mod sigbus;
pub mod source;
pub mod state;
pub mod timefmt;
pub mod verdict;

use std::path::{Path, PathBuf};

use cli::{Cli, Command, Format, StateAction, StateArgs};
use exit::Exit;

/// An I/O error as one short phrase, without Rust's `(os error N)` suffix.
pub fn io_error_text(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// Runs logprobe with parsed arguments and returns the exit status.
pub fn run(cli: Cli) -> Exit {
    match cli.command {
        None => check_command(&cli.check),
        Some(Command::Check(a)) => check_command(&a),
        Some(Command::Install { dir }) => match install::install(&dir) {
            Ok(line) => {
                println!("{line}");
                Exit::Healthy
            }
            Err(e) => {
                eprintln!("logprobe: {e}");
                Exit::CouldNotCheck
            }
        },
        Some(Command::State { action }) => match action {
            StateAction::Show(a) => state_show(&a),
            StateAction::Reset(a) => state_reset(&a),
        },
    }
}

fn check_command(a: &cli::CheckArgs) -> Exit {
    let cfg = match config::Config::from_args(a) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("logprobe: {e}");
            return Exit::Usage;
        }
    };
    sigbus::install(
        cfg.format == Format::Json,
        cfg.on_error == cli::OnError::Fail,
    );
    check::check(&cfg).print(cfg.format)
}

/// The state files `state show|reset` act on.
fn state_files(a: &StateArgs) -> Result<Vec<PathBuf>, String> {
    if let Some(p) = &a.state {
        return Ok(vec![p.clone()]);
    }
    let dir = Path::new(config::DEFAULT_STATE_DIR);
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("{}: {}", dir.display(), io_error_text(&e))),
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

fn state_show(a: &StateArgs) -> Exit {
    let files = match state_files(a) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("logprobe: state show: {e}");
            return Exit::CouldNotCheck;
        }
    };
    if files.is_empty() {
        println!(
            "no state in {} (no check has run with the default --state)",
            config::DEFAULT_STATE_DIR
        );
        return Exit::Healthy;
    }
    let mut status = Exit::Healthy;
    for path in files {
        match state::load(&path, false) {
            Ok(state::Loaded {
                state: Some(st), ..
            }) => {
                if a.format == Format::Json {
                    println!(
                        "{}",
                        serde_json::to_string(&serde_json::json!({"path": path, "state": st}))
                            .unwrap_or_default()
                    );
                    continue;
                }
                println!("{}:", path.display());
                println!("  verdict: {}", check::describe(&st, timefmt::now_ns()));
                println!("  incarnation: {}", timefmt::format_rfc3339(st.incarnation));
                println!("  configuration: {}", st.config);
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
                        timefmt::format_rfc3339(f.mtime)
                    );
                }
            }
            Ok(state::Loaded { warning, .. }) => {
                match warning {
                    Some(w) => eprintln!("logprobe: {w}"),
                    None => eprintln!("logprobe: {}: no such state", path.display()),
                }
                status = Exit::CouldNotCheck;
            }
            Err(e) => {
                eprintln!("logprobe: state {e}");
                status = Exit::CouldNotCheck;
            }
        }
    }
    status
}

fn state_reset(a: &StateArgs) -> Exit {
    let files = match state_files(a) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("logprobe: state reset: {e}");
            return Exit::CouldNotCheck;
        }
    };
    let mut status = Exit::Healthy;
    for path in &files {
        match state::reset(path) {
            Ok(true) => println!("forgot {}", path.display()),
            Ok(false) => println!("no state at {}", path.display()),
            Err(e) => {
                eprintln!("logprobe: state reset: {e}");
                status = Exit::CouldNotCheck;
            }
        }
    }
    if files.is_empty() {
        println!("no state in {}", config::DEFAULT_STATE_DIR);
    }
    status
}
