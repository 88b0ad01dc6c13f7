//! The command line as the user typed it (clap derive), validated only in form.
//!
//! Building matchers, resolving paths and checking values against each other
//! happens in [`crate::config`].

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Exec liveness probe for Filebeat: fails when a stuck message appears in the
/// log bytes written since the last run.
#[derive(Debug, Parser)]
#[command(
    name = "logprobe",
    version,
    about,
    long_about = "Exec liveness probe for Filebeat. Each run scans only the log bytes \
added since the previous run (current and rotated files), matches all patterns at once, \
and answers with an exit code and one line that explains itself.\n\n\
Exit status: 0 healthy, 1 unhealthy, 2 usage or configuration error, \
3 could not check (only with --on-error fail).",
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
pub struct Cli {
    /// What to do; `check` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Options of `check`, accepted without the word `check`.
    #[command(flatten)]
    pub check: CheckArgs,
}

/// `check`'s options alone: what kubelet runs every 10 s, parsed without
/// building the other subcommands (half of the command line's cost).
#[derive(Debug, Parser)]
#[command(
    name = "logprobe",
    version,
    about,
    override_usage = "logprobe [check] [OPTIONS]\n       logprobe install DIR\n       logprobe ready [-s FILE]\n       logprobe replay [OPTIONS] FILE...\n       logprobe state show|reset [-s FILE]\n       logprobe preset show [NAME]",
    after_help = "Exit status: 0 healthy, 1 unhealthy, 2 usage or configuration error, \
3 could not check (only with --on-error fail). `logprobe --help` lists the subcommands."
)]
struct CheckCli {
    #[command(flatten)]
    check: CheckArgs,
}

/// Parses a command line: in full when it names a subcommand or asks for
/// help or the version, else as `check`'s options alone.
///
/// # Errors
/// clap's error, for the caller to print.
pub fn parse(mut args: Vec<OsString>) -> Result<Cli, clap::Error> {
    match args.get(1).and_then(|a| a.to_str()) {
        Some(
            "install" | "ready" | "replay" | "state" | "preset" | "help" | "--help" | "-h"
            | "--version" | "-V",
        ) => Cli::try_parse_from(args),
        first => {
            if first == Some("check") {
                args.remove(1);
            }
            CheckCli::try_parse_from(args).map(|c| Cli {
                command: None,
                check: c.check,
            })
        }
    }
}

/// clap's error as one line for stderr, naming the flag or value: kubelet
/// shows only what fits in an event. clap's message may continue on the next
/// lines up to a blank one (e.g. the missing arguments); usage and tips are dropped.
pub fn error_line(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let head: Vec<&str> = text
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect();
    let line = head.join(" ");
    let line = line.strip_prefix("error: ").unwrap_or(&line);
    if line.is_empty() {
        "invalid arguments (see logprobe --help)".to_string()
    } else {
        format!("{line} (see logprobe --help)")
    }
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan the new log bytes and give a verdict (the default).
    Check(Box<CheckArgs>),
    /// Copy this executable to DIR/logprobe (for an init container).
    Install {
        /// Directory to copy into, e.g. an emptyDir shared with the Filebeat container.
        dir: PathBuf,
    },
    /// What the probe would have done on logs already written: a timeline of
    /// trips and of the restarts the kubelet would have made.
    Replay(Box<ReplayArgs>),
    /// Readiness probe: fails when the crash-loop guard holds a rule back,
    /// because restarting did not cure it (see --max-restarts).
    Ready(ReadyArgs),
    /// Inspect or forget the saved offsets and verdict.
    State {
        /// show or reset.
        #[command(subcommand)]
        action: StateAction,
    },
    /// Print a preset's paths and rules in the patterns-file syntax.
    Preset {
        /// show.
        #[command(subcommand)]
        action: PresetAction,
    },
}

/// What `preset` does.
#[derive(Debug, Subcommand)]
pub enum PresetAction {
    /// Print a preset's rules (with their comments and sources) as a patterns
    /// file, to copy, edit and pass with `--preset none -f FILE`.
    Show {
        /// The preset.
        #[arg(value_enum, default_value_t = PresetName::Filebeat)]
        name: PresetName,
    },
}

/// What `state` does.
#[derive(Debug, Subcommand)]
pub enum StateAction {
    /// Print the state file(s) readably.
    Show(StateArgs),
    /// Forget the state: the next check starts over under the incarnation rule.
    Reset(StateArgs),
}

/// Options of `state show|reset`.
#[derive(Debug, Args)]
pub struct StateArgs {
    /// The state file; without it, every state file in the default directory.
    #[arg(short = 's', long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Output format of `show`.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// The built-in presets, by name (see [`crate::preset`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PresetName {
    /// Filebeat's log files in /usr/share/filebeat/logs and its known stuck messages.
    Filebeat,
    /// Elastic Agent's log files (or its pod logs) and its known stuck messages.
    ElasticAgent,
    /// Nothing: give --log and --pattern yourself.
    None,
}

/// What is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One line that explains itself.
    Text,
    /// One JSON object.
    Json,
}

/// The verdict when the probe itself cannot check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnError {
    /// Exit 0 and say why on stderr: the probe's trouble never restarts Filebeat.
    Pass,
    /// Exit 3.
    Fail,
}

/// Options of `check`.
#[derive(Debug, Args, Default)]
pub struct CheckArgs {
    /// Log file, directory glob or path to watch, current and rotated (repeatable;
    /// replaces the preset's paths). Globs: * ? [...] in any path component.
    #[arg(short = 'l', long = "log", value_name = "PATH_OR_GLOB")]
    pub logs: Vec<String>,
    /// The rules and what tripping takes.
    #[command(flatten)]
    pub rules: RuleArgs,
    /// Where offsets and verdict live [default: /tmp/logprobe/state-<hash of the options>.json].
    #[arg(short = 's', long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Stop scanning after this long, keep the progress, finish the rest next run [default: 400ms].
    #[arg(long, value_name = "DURATION")]
    pub budget: Option<String>,
    /// Start of this incarnation (RFC 3339 or @<unix seconds>) [default: this container's start].
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Also read this container's stderr/stdout as the kubelet stores it
    /// (/var/log/pods/<namespace>_<pod>_<uid>/<container>/); without DIR, this pod's
    /// directory is found by itself [default with the filebeat preset: used when no Filebeat log file exists].
    #[arg(long, value_name = "DIR", num_args = 0..=1, require_equals = true, default_missing_value = "")]
    pub pod_logs: Option<String>,
    /// The container whose pod logs are read.
    #[arg(long, value_name = "NAME")]
    pub container: Option<String>,
    /// What is printed.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<Format>,
    /// Verdict when the probe itself cannot check: pass exits 0 (saying why on stderr), fail exits 3.
    #[arg(long, value_enum, value_name = "MODE")]
    pub on_error: Option<OnError>,
    /// Bytes mapped at a time (tuning and tests).
    #[arg(long, hide = true, value_name = "BYTES")]
    pub map_window: Option<usize>,
    /// A line longer than this without a newline is scanned in pieces (tuning and tests).
    #[arg(long, hide = true, value_name = "BYTES")]
    pub max_line: Option<usize>,
    /// Where the node's file system is, for finding this pod's logs (tests lay out a fake node).
    #[arg(long, hide = true, value_name = "DIR")]
    pub pod_root: Option<PathBuf>,
    /// Where /proc is, for dating the incarnation (tests lay out a fake one).
    #[arg(long, hide = true, value_name = "DIR")]
    pub proc_root: Option<PathBuf>,
}

/// The rule options that `check` and `replay` share: which lines trip the probe
/// and what tripping takes.
#[derive(Debug, Clone, Args, Default)]
pub struct RuleArgs {
    /// A literal that makes the probe fail (repeatable; adds to the preset's).
    #[arg(short = 'p', long = "pattern", value_name = "TEXT")]
    pub patterns: Vec<String>,
    /// File with one rule per line: a literal, optionally after options in brackets
    /// ([threshold=N window=D] or [persist=D gap=D]); blank lines and # lines are ignored.
    #[arg(short = 'f', long = "patterns-file", value_name = "FILE")]
    pub patterns_file: Option<PathBuf>,
    /// A line holding this literal never trips the probe (repeatable).
    #[arg(short = 'x', long = "except", value_name = "TEXT")]
    pub excepts: Vec<String>,
    /// ASCII case-insensitive matching of patterns and exceptions.
    #[arg(short = 'i', long)]
    pub ignore_case: bool,
    /// Built-in paths and rules [default: filebeat].
    #[arg(long, value_enum, value_name = "NAME")]
    pub preset: Option<PresetName>,
    /// Number of matching lines needed to trip (rules without options of their own).
    #[arg(short = 't', long, value_name = "N")]
    pub threshold: Option<String>,
    /// The N matches must fall within this span (e.g. 5m), by the lines' own times (else when first seen).
    #[arg(short = 'w', long, value_name = "DURATION")]
    pub window: Option<String>,
    /// Fail when no watched log has grown for this long in this incarnation (e.g. 5m) [default: off].
    #[arg(long, value_name = "DURATION")]
    pub max_silence: Option<String>,
    /// Fail when Filebeat's metrics reports show events waiting and none acked, failed or
    /// retried, one after another, for this long, with no output error in between (e.g. 10m;
    /// off disables) [default with the filebeat preset: 10m].
    #[arg(long, value_name = "DURATION|off")]
    pub max_stall: Option<String>,
    /// Crash-loop guard: once the same rule has tripped in each of the last K
    /// incarnations, it stops failing this probe and `logprobe ready` fails
    /// instead (needs the state on a volume that survives restarts; 0 turns it off) [default: 3].
    #[arg(long, value_name = "K")]
    pub max_restarts: Option<String>,
}

/// Options of `replay`: `check`'s rules, and the livenessProbe's timing.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Filebeat log files (7.x text, 8.x ndjson, rotated sets in any order), a
    /// directory of them or a pod-log directory (CRI records), what `kubectl logs
    /// --timestamps` prints, or - for standard input.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<String>,
    /// The rules and what tripping takes, as in `check`.
    #[command(flatten)]
    pub rules: RuleArgs,
    /// The livenessProbe's periodSeconds, as a duration [default: 10s].
    #[arg(long, value_name = "DURATION")]
    pub period: Option<String>,
    /// The livenessProbe's failureThreshold [default: 3].
    #[arg(long, value_name = "N")]
    pub failure_threshold: Option<String>,
    /// What is printed: a timeline and a summary line, or one JSON object per event and a summary.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Options of `ready`.
#[derive(Debug, Args)]
pub struct ReadyArgs {
    /// The liveness probe's state file; without it, every state file in the default directory.
    #[arg(short = 's', long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// The liveness probe's --since, if it has one.
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// What is printed.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Where /proc is, for dating the incarnation (tests lay out a fake one).
    #[arg(long, hide = true, value_name = "DIR")]
    pub proc_root: Option<PathBuf>,
    /// The container's own root file system, told apart from volumes (tests).
    #[arg(long, hide = true, value_name = "DIR")]
    pub root: Option<PathBuf>,
}
