//! logprobe: an exec liveness probe for Filebeat.
//!
//! Each run scans only the log bytes added since the previous run, across the
//! current and rotated files, for many literal patterns at once, and answers
//! with an exit code and one line that explains itself. See [`run`], and
//! `ARCHITECTURE.md` for the map.
//!
//! Modules, in the direction data flows: [`cli`], [`preset`] and [`config`]
//! (what to do), [`source`] (where bytes come from, which file is which),
//! [`scan`] (complete lines, matches), [`verdict`] (trip, threshold, sticky,
//! incarnation, silence, which wins), [`state`] (kept between runs),
//! [`report`] (what is said) and [`exit`]; [`check`] runs them in order.

pub mod check;
pub mod cli;
pub mod config;
pub mod digest;
pub mod error;
pub mod exit;
pub mod guard;
pub mod incarnation;
pub mod install;
pub mod linetime;
pub mod preset;
pub mod ready;
pub mod replay;
pub mod report;
pub mod rules;
pub mod scan;
pub mod sigbus;
pub mod source;
pub mod stall;
pub mod state;
pub mod state_cmd;
pub mod timefmt;
pub mod verdict;

use cli::{Cli, Command};
use exit::Exit;

/// Runs logprobe with parsed arguments and returns the exit status.
pub fn run(cli: Cli) -> Exit {
    match cli.command {
        None => check::command(&cli.check),
        Some(Command::Check(a)) => check::command(&a),
        Some(Command::Install { dir }) => install::command(&dir),
        Some(Command::Ready(a)) => ready::command(&a),
        Some(Command::Replay(a)) => replay::command(&a),
        Some(Command::State { action }) => state_cmd::command(&action),
        Some(Command::Preset {
            action: cli::PresetAction::Show { name },
        }) => {
            print!("{}", preset::show(preset::get(name)));
            Exit::Healthy
        }
    }
}
