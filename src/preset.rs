//! Built-in sets of paths and patterns (`--preset`).
//!
//! A default pattern earns its place only when a restart cures what it
//! signals: configuration errors and output outages come straight back after
//! a restart and are left to `--pattern`. Each pattern names its public source.

use crate::cli::PresetName;

/// A preset: where the logs are and what trips the probe.
#[derive(Debug)]
pub struct Preset {
    /// Paths and globs of the log files, current and rotated.
    pub paths: &'static [&'static str],
    /// Literal patterns.
    pub patterns: &'static [&'static str],
    /// Whether, with no `--log` and no `--pod-logs`, this container's pod
    /// logs are read when none of `paths` exists.
    pub pod_logs_fallback: bool,
}

/// Directory of Filebeat's own log files in the official image.
pub const FILEBEAT_LOG_DIR: &str = "/usr/share/filebeat/logs";

/// The container whose pod logs are read, unless `--container` says otherwise.
pub const DEFAULT_CONTAINER: &str = "filebeat";

/// Filebeat's logs and its known stuck messages.
pub const FILEBEAT: Preset = Preset {
    // 7.x `filebeat`, `filebeat.1`…, 8.x `filebeat-YYYYMMDD[-N].ndjson` (and
    // 7.x `interval` names `filebeat-<time>-N`). `filebeat-events-data-*`
    // matches the last glob but is never read (see `source::files`).
    paths: &[
        "/usr/share/filebeat/logs/filebeat",
        "/usr/share/filebeat/logs/filebeat.[0-9]*",
        "/usr/share/filebeat/logs/filebeat-*",
    ],
    patterns: &[
        // The in-memory input states are rebuilt from the registry on restart.
        // Sources: elastic/beats issues #11834, #37666, #26883; PRs #20915, #20305.
        // Matches every wrapping: "Error creating runner from config: …",
        // "Error creating input: …", "failed to create input: …", and the 8.x
        // JSON form (the text holds no character JSON escapes).
        "Can only start an input when all related states are finished",
    ],
    pod_logs_fallback: true,
};

/// Nothing: `--log` and `--pattern` give everything.
pub const NONE: Preset = Preset {
    paths: &[],
    patterns: &[],
    pod_logs_fallback: false,
};

/// The preset of a name.
pub fn get(name: PresetName) -> &'static Preset {
    match name {
        PresetName::Filebeat => &FILEBEAT,
        PresetName::None => &NONE,
    }
}
