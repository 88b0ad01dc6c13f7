//! The validated configuration of a `check` run, built from [`crate::cli::CheckArgs`].
//!
//! Everything a user can get wrong is caught here, before any file is touched,
//! and reported as one line naming the flag or file. The presets themselves
//! are in [`crate::preset`], the rules' syntax in [`crate::rules`].

use std::path::{Path, PathBuf};

use crate::cli::{CheckArgs, Format, OnError, PresetName};
use crate::digest::{FNV_OFFSET, fnv1a};
use crate::error::Error;
use crate::guard;
use crate::preset::{self, Preset};
use crate::rules::{self, Rule, When};
use crate::stall;
use crate::timefmt;

/// Default directory of state files: one file per distinct configuration.
pub const DEFAULT_STATE_DIR: &str = "/tmp/logprobe";

/// Default `--budget`: well under kubelet's default 1 s `timeoutSeconds`.
pub const DEFAULT_BUDGET_NS: i64 = 400 * 1_000_000;

/// Bytes mapped at a time: keeps peak memory small however large the logs are.
pub const DEFAULT_MAP_WINDOW: usize = 4 << 20;

/// A line longer than this without a newline is scanned in pieces.
pub const DEFAULT_MAX_LINE: usize = 1 << 20;

/// Where the kubelet's copy of the container's output is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PodLogs {
    /// Not read.
    Off,
    /// Read when no other log file exists (the filebeat preset's default).
    Fallback,
    /// Read from this pod's directory, found by itself.
    Auto,
    /// Read from this directory.
    Dir(PathBuf),
}

/// A validated `check` configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Paths and globs of the log files, found again on every run.
    pub logs: Vec<String>,
    /// The rules: the preset's, then `--pattern`, then `--patterns-file`; a
    /// later rule with the same literal replaces an earlier one.
    pub rules: Vec<Rule>,
    /// The rules' literals, in order; none is empty.
    pub patterns: Vec<String>,
    /// Literals that make a line never trip.
    pub excepts: Vec<String>,
    /// ASCII case-insensitive matching.
    pub ignore_case: bool,
    /// The state file.
    pub state_path: PathBuf,
    /// `--threshold`: matching lines needed to trip, for rules without options of their own.
    pub threshold: u32,
    /// `--window`: the span within which they must fall, in nanoseconds.
    pub window_ns: Option<i64>,
    /// `--max-stall`: trip when the metrics reports stay stalled this long, in nanoseconds.
    pub max_stall_ns: Option<i64>,
    /// Time after which scanning stops and resumes on the next run, in nanoseconds.
    pub budget_ns: i64,
    /// The incarnation's start given with `--since`, in ns since the epoch;
    /// `None` means this container's start (see [`crate::incarnation`]).
    pub since_ns: Option<i64>,
    /// The pod-log source.
    pub pod_logs: PodLogs,
    /// The containers whose pod logs are read: the first this pod has
    /// (`--container`, or the preset's names).
    pub containers: Vec<String>,
    /// The file-system root under which this pod's logs are looked for: `/`,
    /// or a fake node's root in tests (the hidden `--pod-root`).
    pub pod_root: PathBuf,
    /// `/proc`, or a fake one in tests (the hidden `--proc-root`).
    pub proc_root: PathBuf,
    /// `--max-restarts`: the crash-loop guard's K; 0 turns it off.
    pub max_restarts: u32,
    /// Fail when no watched file has grown for this long, in nanoseconds.
    pub max_silence_ns: Option<i64>,
    /// Output format.
    pub format: Format,
    /// Verdict when the probe cannot check.
    pub on_error: OnError,
    /// Bytes mapped at a time.
    pub map_window: usize,
    /// Longest line scanned whole.
    pub max_line: usize,
    /// A digest of everything that shapes the verdict; names the default state file.
    pub id: String,
}

impl Config {
    /// Validates raw options.
    ///
    /// # Errors
    /// One line naming the flag or file at fault.
    pub fn from_args(a: &CheckArgs) -> Result<Config, Error> {
        Config::validate(a).map_err(Error::from)
    }

    /// Checks the options in the order they are listed in `--help`, so the
    /// first error is the one a user meets first.
    fn validate(a: &CheckArgs) -> Result<Config, String> {
        let preset = preset::get(a.rules.preset.unwrap_or(PresetName::Filebeat));
        let logs = log_paths(a, preset)?;
        let threshold = match &a.rules.threshold {
            None => 1,
            Some(t) => rules::parse_threshold(t).map_err(|_| {
                format!(
                    "--threshold: {t:?} is not a whole number from 1 to {}",
                    rules::MAX_THRESHOLD
                )
            })?,
        };
        let window_ns = duration("--window", a.rules.window.as_deref())?;
        let default = When::Count {
            threshold,
            window_ns,
        };
        let (rules, excepts) = literals(a, preset, default)?;
        let patterns: Vec<String> = rules.iter().map(|r| r.literal.clone()).collect();
        let max_silence_ns = duration("--max-silence", a.rules.max_silence.as_deref())?;
        let max_restarts = max_restarts(a.rules.max_restarts.as_deref())?;
        let max_stall_ns = match a.rules.max_stall.as_deref() {
            None => preset.max_stall_ns,
            Some("off") => None,
            Some(v) => duration("--max-stall", Some(v))?,
        };
        let budget_ns = duration("--budget", a.budget.as_deref())?.unwrap_or(DEFAULT_BUDGET_NS);
        let since_ns = match &a.since {
            None => None,
            Some(s) => Some(timefmt::parse_time(s).map_err(|e| format!("--since: {e}"))?),
        };
        let pod_logs = match &a.pod_logs {
            Some(d) if d.is_empty() => PodLogs::Auto,
            Some(d) => PodLogs::Dir(PathBuf::from(d)),
            None if preset.pod_logs_fallback && a.logs.is_empty() => PodLogs::Fallback,
            None => PodLogs::Off,
        };
        let containers: Vec<String> = match a.container.as_deref() {
            Some(c) => vec![c.to_string()],
            None => preset.containers.iter().map(|c| c.to_string()).collect(),
        };
        let container = containers.first().map_or("", String::as_str);
        if container.is_empty() || container.contains('/') {
            return Err(format!(
                "--container: {container:?} is not a container name"
            ));
        }
        let looked_for = looked_for(&patterns, max_stall_ns.is_some());
        let (max_line, map_window) = limits(a, &looked_for, &excepts)?;
        let sources = sources(&logs, &pod_logs, &containers.join("|"));
        let id = config_id(
            &sources,
            &rules,
            &excepts,
            a.rules.ignore_case,
            max_stall_ns,
        );
        let state_path = match &a.state {
            Some(p) if p.as_os_str().is_empty() => return Err("--state: empty path".into()),
            Some(p) => p.clone(),
            None => Path::new(DEFAULT_STATE_DIR).join(format!("state-{id}.json")),
        };
        Ok(Config {
            logs,
            rules,
            patterns,
            excepts,
            ignore_case: a.rules.ignore_case,
            state_path,
            threshold,
            window_ns,
            max_stall_ns,
            budget_ns,
            since_ns,
            pod_logs,
            containers,
            pod_root: a.pod_root.clone().unwrap_or_else(|| PathBuf::from("/")),
            proc_root: a
                .proc_root
                .clone()
                .unwrap_or_else(|| PathBuf::from("/proc")),
            max_restarts,
            max_silence_ns,
            format: a.format.unwrap_or(Format::Text),
            on_error: a.on_error.unwrap_or(OnError::Pass),
            map_window,
            max_line,
            id,
        })
    }
}

/// `--max-restarts`, from 0 to [`guard::MAX_RESTARTS_LIMIT`].
fn max_restarts(v: Option<&str>) -> Result<u32, String> {
    let Some(v) = v else {
        return Ok(guard::DEFAULT_MAX_RESTARTS);
    };
    v.parse::<u32>()
        .ok()
        .filter(|&k| k <= guard::MAX_RESTARTS_LIMIT)
        .ok_or_else(|| {
            format!(
                "--max-restarts: {v:?} is not a whole number from 0 (off) to {}",
                guard::MAX_RESTARTS_LIMIT
            )
        })
}

/// `--log`, or the preset's paths.
fn log_paths(a: &CheckArgs, preset: &Preset) -> Result<Vec<String>, String> {
    if a.logs.is_empty() {
        if preset.paths.is_empty() && a.pod_logs.is_none() {
            return Err(
                "--log: no log files given (--preset none needs --log or --pod-logs)".into(),
            );
        }
        return Ok(preset.paths.iter().map(|s| s.to_string()).collect());
    }
    if a.logs.iter().any(String::is_empty) {
        return Err("--log: empty path".into());
    }
    Ok(a.logs.clone())
}

/// The rules (the preset's, `--pattern`, `--patterns-file`) and `--except`.
/// Rules given without options of their own take `default` (`-t`, `-w`).
fn literals(
    a: &CheckArgs,
    preset: &Preset,
    default: When,
) -> Result<(Vec<Rule>, Vec<String>), String> {
    let mut rules: Vec<Rule> = preset
        .rules
        .iter()
        .map(|r| Rule {
            literal: r.literal.to_string(),
            when: r.when,
            own_options: true,
        })
        .collect();
    for p in &a.rules.patterns {
        check_literal("--pattern", p)?;
        add_rule(&mut rules, Rule::count(p, 1, None).with(default));
    }
    if let Some(file) = &a.rules.patterns_file {
        for r in read_patterns_file(file, default)? {
            add_rule(&mut rules, r);
        }
    }
    if rules.is_empty() {
        return Err(
            "--pattern: no patterns given (--preset none needs --pattern or --patterns-file)"
                .into(),
        );
    }
    let mut excepts = Vec::new();
    for x in &a.rules.excepts {
        check_literal("--except", x)?;
        excepts.push(x.clone());
    }
    dedup(&mut excepts);
    Ok((rules, excepts))
}

/// Adds a rule; one with the same literal as an earlier rule replaces it there.
fn add_rule(rules: &mut Vec<Rule>, rule: Rule) {
    match rules.iter_mut().find(|r| r.literal == rule.literal) {
        Some(old) => *old = rule,
        None => rules.push(rule),
    }
}

/// A duration flag's value in ns; zero is refused.
fn duration(flag: &str, value: Option<&str>) -> Result<Option<i64>, String> {
    let Some(v) = value else {
        return Ok(None);
    };
    match timefmt::parse_duration(v) {
        Ok(0) => Err(format!("{flag}: must be longer than 0")),
        Ok(ns) => Ok(Some(ns)),
        Err(e) => Err(format!("{flag}: {e}")),
    }
}

/// `--max-line` and `--map-window`: a window holds a whole line and a pattern's overlap.
fn limits(
    a: &CheckArgs,
    patterns: &[String],
    excepts: &[String],
) -> Result<(usize, usize), String> {
    let max_line = a.max_line.unwrap_or(DEFAULT_MAX_LINE);
    if max_line < 16 {
        return Err("--max-line: must be at least 16 bytes".into());
    }
    let map_window = a.map_window.unwrap_or(DEFAULT_MAP_WINDOW);
    let longest = patterns
        .iter()
        .chain(excepts)
        .map(String::len)
        .max()
        .unwrap_or(0);
    if map_window < max_line + longest {
        return Err(format!(
            "--map-window: must be at least --max-line plus the longest pattern ({} bytes)",
            max_line + longest
        ));
    }
    Ok((max_line, map_window))
}

/// Every source, as it enters the configuration's identity.
fn sources(logs: &[String], pod_logs: &PodLogs, container: &str) -> Vec<String> {
    let mut sources = logs.to_vec();
    match pod_logs {
        PodLogs::Off => {}
        PodLogs::Fallback => sources.push(format!("pods-fallback:{container}")),
        PodLogs::Auto => sources.push(format!("pods:{container}")),
        PodLogs::Dir(d) => sources.push(format!("pods-dir:{}", d.display())),
    }
    sources
}

fn check_literal(flag: &str, p: &str) -> Result<(), String> {
    if p.is_empty() {
        return Err(format!("{flag}: empty pattern (it would match every line)"));
    }
    if p.contains('\n') {
        return Err(format!(
            "{flag}: {p:?} holds a newline and could never match within a line"
        ));
    }
    Ok(())
}

fn dedup(v: &mut Vec<String>) {
    let mut seen = std::collections::HashSet::new();
    v.retain(|p| seen.insert(p.clone()));
}

/// Reads a patterns file: one rule per line (see [`crate::rules`]), blank
/// and `#` lines ignored; a line without options takes `default`.
///
/// # Errors
/// One line naming the file (and the line and option, for a bad one).
pub fn read_patterns_file(file: &Path, default: When) -> Result<Vec<Rule>, String> {
    let name = file.display();
    let bytes = std::fs::read(file)
        .map_err(|e| format!("--patterns-file: {name}: {}", crate::error::io_text(&e)))?;
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        format!("--patterns-file: {name}:{line}: not valid UTF-8")
    })?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let rule = rules::parse_line(line, default)
            .map_err(|e| format!("--patterns-file: {name}:{}: {e}", i + 1))?;
        out.push(rule);
    }
    Ok(out)
}

fn config_id(
    logs: &[String],
    rules: &[Rule],
    excepts: &[String],
    ignore_case: bool,
    max_stall_ns: Option<i64>,
) -> String {
    let rules: Vec<String> = rules.iter().map(Rule::to_line).collect();
    let mut h = FNV_OFFSET;
    for (tag, list) in [(b'l', logs), (b'p', &rules[..]), (b'x', excepts)] {
        for item in list {
            h = fnv1a(&[tag], h);
            h = fnv1a(item.as_bytes(), h);
            h = fnv1a(&[0], h);
        }
    }
    h = fnv1a(&[u8::from(ignore_case)], h);
    h = fnv1a(&max_stall_ns.unwrap_or(-1).to_le_bytes(), h);
    format!("{h:016x}")
}

impl Config {
    /// Every literal the matcher looks for: the rules' first (index `i` is
    /// rule `i`), then, with `--max-stall`, the metrics report and the
    /// output errors that break a stall (see [`Config::role`]).
    pub fn literals(&self) -> Vec<String> {
        looked_for(&self.patterns, self.max_stall_ns.is_some())
    }

    /// Whose count a line of rule `i` adds to: its own, for a rule with
    /// options of its own; else the one count that every rule given without
    /// options shares, as `-t`/`-w` always meant (N lines of any of them).
    pub fn counter_of(&self, i: usize) -> usize {
        match self.rules.get(i) {
            Some(r) if !r.own_options => {
                self.rules.iter().position(|r| !r.own_options).unwrap_or(i)
            }
            _ => i,
        }
    }

    /// What the literal of index `i` (in [`Config::literals`]) is for.
    pub fn role(&self, i: usize) -> Role {
        let n = self.rules.len();
        match i {
            _ if i < n => Role::Rule(i),
            _ if i == n => Role::Report,
            _ => Role::OutputError,
        }
    }
}

/// The rules' literals, then, for the stall detector, the report and the output errors.
fn looked_for(patterns: &[String], stall: bool) -> Vec<String> {
    let mut v = patterns.to_vec();
    if stall {
        v.push(stall::REPORT.to_string());
        v.extend(stall::OUTPUT_ERRORS.iter().map(|s| s.to_string()));
    }
    v
}

/// What a matched literal is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Rule `i`'s literal.
    Rule(usize),
    /// Filebeat's metrics report (`--max-stall`).
    Report,
    /// A line of an output that fails loudly: not a silent stall.
    OutputError,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> CheckArgs {
        CheckArgs::default()
    }

    #[test]
    fn preset_defaults() {
        let c = Config::from_args(&args()).unwrap();
        assert_eq!(c.logs, preset::FILEBEAT.paths);
        let literals: Vec<&str> = preset::FILEBEAT.rules.iter().map(|r| r.literal).collect();
        assert_eq!(c.patterns, literals);
        assert_eq!(c.max_stall_ns, preset::FILEBEAT.max_stall_ns);
        assert_eq!(c.threshold, 1);
        assert!(c.state_path.starts_with(DEFAULT_STATE_DIR));
    }

    #[test]
    fn rejects_bad_values_naming_the_flag() {
        let mut a = args();
        a.rules.patterns = vec![String::new()];
        assert!(
            Config::validate(&a)
                .unwrap_err()
                .starts_with("--pattern: empty")
        );
        let mut a = args();
        a.rules.threshold = Some("0".into());
        assert!(Config::validate(&a).unwrap_err().starts_with("--threshold"));
        let mut a = args();
        a.rules.window = Some("5".into());
        assert!(Config::validate(&a).unwrap_err().starts_with("--window"));
        let mut a = args();
        a.rules.preset = Some(PresetName::None);
        assert!(Config::validate(&a).unwrap_err().starts_with("--log"));
        a.logs = vec!["/x".into()];
        assert!(Config::validate(&a).unwrap_err().starts_with("--pattern"));
    }

    #[test]
    fn different_patterns_get_different_default_state() {
        let a = Config::from_args(&args()).unwrap();
        let mut b = args();
        b.rules.patterns = vec!["x".into()];
        let b = Config::from_args(&b).unwrap();
        assert_ne!(a.state_path, b.state_path);
    }
}
