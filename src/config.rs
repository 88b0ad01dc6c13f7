//! The validated configuration of a `check` run, built from [`crate::cli::CheckArgs`].
//!
//! Everything a user can get wrong is caught here, before any file is touched,
//! and reported as one line naming the flag or file. The filebeat preset lives
//! here too: its paths and its curated patterns, each with its public source.

use std::path::{Path, PathBuf};

use crate::cli::{CheckArgs, Format, OnError, Preset};
use crate::timefmt;

/// Directory of Filebeat's own log files in the official image.
pub const FILEBEAT_LOG_DIR: &str = "/usr/share/filebeat/logs";

/// The paths the filebeat preset watches: 7.x `filebeat`, `filebeat.1`…, 8.x
/// `filebeat-YYYYMMDD[-N].ndjson` (and 7.x `interval` names `filebeat-<time>-N`).
/// `filebeat-events-data-*` matches the last glob but is never read.
pub const FILEBEAT_PATHS: &[&str] = &[
    "/usr/share/filebeat/logs/filebeat",
    "/usr/share/filebeat/logs/filebeat.[0-9]*",
    "/usr/share/filebeat/logs/filebeat-*",
];

/// The filebeat preset's patterns. A default earns its place only when a
/// restart cures what it signals; configuration errors and output outages
/// come straight back after a restart and are left to `--pattern`.
pub const FILEBEAT_PATTERNS: &[&str] = &[
    // The in-memory input states are rebuilt from the registry on restart.
    // Sources: elastic/beats issues #11834, #37666, #26883; PRs #20915, #20305.
    // Matches every wrapping: "Error creating runner from config: …",
    // "Error creating input: …", "failed to create input: …", and the 8.x
    // JSON form (the text holds no character JSON escapes).
    "Can only start an input when all related states are finished",
];

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
    /// Literal patterns; none is empty.
    pub patterns: Vec<String>,
    /// Literals that make a line never trip.
    pub excepts: Vec<String>,
    /// ASCII case-insensitive matching.
    pub ignore_case: bool,
    /// The state file.
    pub state_path: PathBuf,
    /// Matching lines needed to trip (at least 1).
    pub threshold: u32,
    /// Span within which `threshold` lines must be seen, in nanoseconds.
    pub window_ns: Option<i64>,
    /// Time after which scanning stops and resumes on the next run, in nanoseconds.
    pub budget_ns: i64,
    /// The incarnation's start given with `--since`, in ns since the epoch;
    /// `None` means the start of PID 1.
    pub since_ns: Option<i64>,
    /// The pod-log source.
    pub pod_logs: PodLogs,
    /// The container whose pod logs are read.
    pub container: String,
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

/// 64-bit FNV-1a: a small, stable digest for names and fingerprints (not cryptographic).
pub fn fnv1a(data: &[u8], mut h: u64) -> u64 {
    for &b in data {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// FNV-1a's initial value.
pub const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

impl Config {
    /// Validates raw options.
    ///
    /// # Errors
    /// One line naming the flag or file at fault.
    pub fn from_args(a: &CheckArgs) -> Result<Config, String> {
        let preset = a.preset.unwrap_or(Preset::Filebeat);
        let logs: Vec<String> = if a.logs.is_empty() {
            match preset {
                Preset::Filebeat => FILEBEAT_PATHS.iter().map(|s| s.to_string()).collect(),
                Preset::None if a.pod_logs.is_some() => Vec::new(),
                Preset::None => {
                    return Err(
                        "--log: no log files given (--preset none needs --log or --pod-logs)"
                            .into(),
                    );
                }
            }
        } else {
            for l in &a.logs {
                if l.is_empty() {
                    return Err("--log: empty path".into());
                }
            }
            a.logs.clone()
        };

        let mut patterns: Vec<String> = match preset {
            Preset::Filebeat => FILEBEAT_PATTERNS.iter().map(|s| s.to_string()).collect(),
            Preset::None => Vec::new(),
        };
        for p in &a.patterns {
            check_literal("--pattern", p)?;
            patterns.push(p.clone());
        }
        if let Some(file) = &a.patterns_file {
            patterns.extend(read_patterns_file(file)?);
        }
        dedup(&mut patterns);
        if patterns.is_empty() {
            return Err(
                "--pattern: no patterns given (--preset none needs --pattern or --patterns-file)"
                    .into(),
            );
        }
        let mut excepts = Vec::new();
        for x in &a.excepts {
            check_literal("--except", x)?;
            excepts.push(x.clone());
        }
        dedup(&mut excepts);

        let threshold = match &a.threshold {
            None => 1,
            Some(t) => match t.trim().parse::<u32>() {
                Ok(n) if (1..=100_000).contains(&n) => n,
                _ => {
                    return Err(format!(
                        "--threshold: {t:?} is not a whole number from 1 to 100000"
                    ));
                }
            },
        };
        let window_ns = match &a.window {
            None => None,
            Some(w) => match timefmt::parse_duration(w) {
                Ok(0) => return Err("--window: must be longer than 0".into()),
                Ok(ns) => Some(ns),
                Err(e) => return Err(format!("--window: {e}")),
            },
        };
        let budget_ns = match &a.budget {
            None => DEFAULT_BUDGET_NS,
            Some(b) => match timefmt::parse_duration(b) {
                Ok(0) => return Err("--budget: must be longer than 0".into()),
                Ok(ns) => ns,
                Err(e) => return Err(format!("--budget: {e}")),
            },
        };
        let since_ns = match &a.since {
            None => None,
            Some(s) => Some(timefmt::parse_time(s).map_err(|e| format!("--since: {e}"))?),
        };
        let pod_logs = match &a.pod_logs {
            Some(d) if d.is_empty() => PodLogs::Auto,
            Some(d) => PodLogs::Dir(PathBuf::from(d)),
            None if preset == Preset::Filebeat && a.logs.is_empty() => PodLogs::Fallback,
            None => PodLogs::Off,
        };
        let container = a
            .container
            .clone()
            .unwrap_or_else(|| "filebeat".to_string());
        if container.is_empty() || container.contains('/') {
            return Err(format!(
                "--container: {container:?} is not a container name"
            ));
        }
        let max_silence_ns = match &a.max_silence {
            None => None,
            Some(w) => match timefmt::parse_duration(w) {
                Ok(0) => return Err("--max-silence: must be longer than 0".into()),
                Ok(ns) => Some(ns),
                Err(e) => return Err(format!("--max-silence: {e}")),
            },
        };
        let max_line = a.max_line.unwrap_or(DEFAULT_MAX_LINE);
        if max_line < 16 {
            return Err("--max-line: must be at least 16 bytes".into());
        }
        let map_window = a.map_window.unwrap_or(DEFAULT_MAP_WINDOW);
        let longest = patterns
            .iter()
            .chain(&excepts)
            .map(String::len)
            .max()
            .unwrap_or(0);
        if map_window < max_line + longest {
            return Err(format!(
                "--map-window: must be at least --max-line plus the longest pattern ({} bytes)",
                max_line + longest
            ));
        }

        let mut sources = logs.clone();
        match &pod_logs {
            PodLogs::Off => {}
            PodLogs::Fallback => sources.push(format!("pods-fallback:{container}")),
            PodLogs::Auto => sources.push(format!("pods:{container}")),
            PodLogs::Dir(d) => sources.push(format!("pods-dir:{}", d.display())),
        }
        let id = config_id(
            &sources,
            &patterns,
            &excepts,
            a.ignore_case,
            threshold,
            window_ns,
        );
        let state_path = match &a.state {
            Some(p) if p.as_os_str().is_empty() => return Err("--state: empty path".into()),
            Some(p) => p.clone(),
            None => Path::new(DEFAULT_STATE_DIR).join(format!("state-{id}.json")),
        };
        Ok(Config {
            logs,
            patterns,
            excepts,
            ignore_case: a.ignore_case,
            state_path,
            threshold,
            window_ns,
            budget_ns,
            since_ns,
            pod_logs,
            container,
            max_silence_ns,
            format: a.format.unwrap_or(Format::Text),
            on_error: a.on_error.unwrap_or(OnError::Pass),
            map_window,
            max_line,
            id,
        })
    }
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

/// Reads a patterns file: one literal per line, blank and `#` lines ignored.
///
/// # Errors
/// One line naming the file (and the line, for a bad one).
pub fn read_patterns_file(file: &Path) -> Result<Vec<String>, String> {
    let bytes = std::fs::read(file).map_err(|e| {
        format!(
            "--patterns-file: {}: {}",
            file.display(),
            crate::io_error_text(&e)
        )
    })?;
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        format!(
            "--patterns-file: {}:{line}: not valid UTF-8",
            file.display()
        )
    })?;
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        out.push(line.to_string());
    }
    Ok(out)
}

fn config_id(
    logs: &[String],
    patterns: &[String],
    excepts: &[String],
    ignore_case: bool,
    threshold: u32,
    window_ns: Option<i64>,
) -> String {
    let mut h = FNV_OFFSET;
    for (tag, list) in [(b'l', logs), (b'p', patterns), (b'x', excepts)] {
        for item in list {
            h = fnv1a(&[tag], h);
            h = fnv1a(item.as_bytes(), h);
            h = fnv1a(&[0], h);
        }
    }
    h = fnv1a(&[u8::from(ignore_case)], h);
    h = fnv1a(&threshold.to_le_bytes(), h);
    h = fnv1a(&window_ns.unwrap_or(-1).to_le_bytes(), h);
    format!("{h:016x}")
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
        assert_eq!(c.logs.len(), FILEBEAT_PATHS.len());
        assert_eq!(c.patterns, FILEBEAT_PATTERNS);
        assert_eq!(c.threshold, 1);
        assert!(c.state_path.starts_with(DEFAULT_STATE_DIR));
    }

    #[test]
    fn rejects_bad_values_naming_the_flag() {
        let mut a = args();
        a.patterns = vec![String::new()];
        assert!(
            Config::from_args(&a)
                .unwrap_err()
                .starts_with("--pattern: empty")
        );
        let mut a = args();
        a.threshold = Some("0".into());
        assert!(
            Config::from_args(&a)
                .unwrap_err()
                .starts_with("--threshold")
        );
        let mut a = args();
        a.window = Some("5".into());
        assert!(Config::from_args(&a).unwrap_err().starts_with("--window"));
        let mut a = args();
        a.preset = Some(Preset::None);
        assert!(Config::from_args(&a).unwrap_err().starts_with("--log"));
        a.logs = vec!["/x".into()];
        assert!(Config::from_args(&a).unwrap_err().starts_with("--pattern"));
    }

    #[test]
    fn different_patterns_get_different_default_state() {
        let a = Config::from_args(&args()).unwrap();
        let mut b = args();
        b.patterns = vec!["x".into()];
        let b = Config::from_args(&b).unwrap();
        assert_ne!(a.state_path, b.state_path);
    }
}
