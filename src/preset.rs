//! Built-in sets of paths and rules (`--preset`), printed by `logprobe preset show`.
//!
//! A default rule earns its place only when a restart cures what it
//! signals: configuration errors and output outages come straight back after
//! a restart and are left to `--pattern`. Each rule says why, with its public
//! source, in the comment `preset show` prints above it.

use crate::cli::PresetName;
use crate::rules::{DEFAULT_GAP_NS, When};

const MINUTE: i64 = 60 * 1_000_000_000;

/// A preset: where the logs are and what trips the probe.
#[derive(Debug)]
pub struct Preset {
    /// Its name, as `--preset` takes it.
    pub name: &'static str,
    /// Paths and globs of the log files, current and rotated.
    pub paths: &'static [&'static str],
    /// The rules, each with why it is there.
    pub rules: &'static [PresetRule],
    /// `--max-stall` unless given: the silent-stall detector's span.
    pub max_stall_ns: Option<i64>,
    /// Whether, with no `--log` and no `--pod-logs`, this container's pod
    /// logs are read when none of `paths` exists.
    pub pod_logs_fallback: bool,
}

/// A rule of a preset.
#[derive(Debug)]
pub struct PresetRule {
    /// The literal.
    pub literal: &'static str,
    /// When its lines trip.
    pub when: When,
    /// Why it is there and why a restart cures it, with sources (comment lines).
    pub why: &'static [&'static str],
}

/// Directory of Filebeat's own log files in the official image.
pub const FILEBEAT_LOG_DIR: &str = "/usr/share/filebeat/logs";

/// The container whose pod logs are read, unless `--container` says otherwise.
pub const DEFAULT_CONTAINER: &str = "filebeat";

const ONE_HIT: When = When::Count {
    threshold: 1,
    window_ns: None,
};

/// Filebeat's logs, its known stuck messages and the silent stall.
pub const FILEBEAT: Preset = Preset {
    name: "filebeat",
    // 7.x `filebeat`, `filebeat.1`…, 8.x `filebeat-YYYYMMDD[-N].ndjson` (and
    // 7.x `interval` names `filebeat-<time>-N`). `filebeat-events-data-*`
    // matches the last glob but is never read (see `source::files`).
    paths: &[
        "/usr/share/filebeat/logs/filebeat",
        "/usr/share/filebeat/logs/filebeat.[0-9]*",
        "/usr/share/filebeat/logs/filebeat-*",
    ],
    rules: &[
        PresetRule {
            literal: "Can only start an input when all related states are finished",
            when: When::Persist {
                for_ns: 10 * MINUTE,
                gap_ns: DEFAULT_GAP_NS,
            },
            why: &[
                "An input cannot start while a harvester of the same file still runs.",
                "A restart cures it: the registrar resets every state to finished on",
                "load (filebeat/registrar/registrar.go). Every wrapping holds this text:",
                "\"Error creating runner from config: …\", \"failed to create input: …\",",
                "\"Error creating input: …\", and the 8.x JSON form. Since 7.9 it is a",
                "retry loop (~10 s) in which a few hits are churn that clears within",
                "the harvester's 5-minute close timeout: it trips only when it keeps",
                "coming for 10 minutes, no two lines more than 2 minutes apart.",
                "Sources: elastic/beats #11834, #37666, #26883, PR #20305, PR #20915.",
            ],
        },
        PresetRule {
            literal: "add_kubernetes_metadata: could not detect kubernetes env",
            when: ONE_HIT,
            why: &[
                "The processor gives up after ~30 s at start-up and events ship without",
                "Kubernetes metadata for the life of the process; a restart retries.",
                "INFO up to 9.4, ERROR from 9.5. Sources: elastic/beats #16064, PR #50509.",
            ],
        },
        PresetRule {
            literal: "Couldn't discover Kubernetes node",
            when: ONE_HIT,
            why: &[
                "add_kubernetes_metadata could not find its node at start-up: no",
                "metadata for the life of the process; a restart retries (ERROR).",
                "Source: libbeat/processors/add_kubernetes_metadata in elastic/beats.",
            ],
        },
        PresetRule {
            literal: "Error starting kubernetes autodiscover provider",
            when: ONE_HIT,
            why: &[
                "Kubernetes autodiscover did not start: no input for any pod until a",
                "restart (ERROR). Source: libbeat/autodiscover/providers/kubernetes/",
                "kubernetes.go in elastic/beats.",
            ],
        },
    ],
    // Filebeat reports its metrics every 30 s at INFO by default.
    max_stall_ns: Some(10 * MINUTE),
    pod_logs_fallback: true,
};

/// Nothing: `--log` and `--pattern` give everything.
pub const NONE: Preset = Preset {
    name: "none",
    paths: &[],
    rules: &[],
    max_stall_ns: None,
    pod_logs_fallback: false,
};

/// The preset of a name.
pub fn get(name: PresetName) -> &'static Preset {
    match name {
        PresetName::Filebeat => &FILEBEAT,
        PresetName::None => &NONE,
    }
}

/// `logprobe preset show NAME`: the preset as a patterns file, with its paths
/// and the silent-stall setting as comments, ready for `--preset none -f`.
pub fn show(p: &Preset) -> String {
    let mut out = format!(
        "# The {} preset, as a patterns file: edit it and pass it with\n\
         #   logprobe --preset none -f FILE -l PATH ...\n\
         # (see `logprobe --help` for the syntax of a rule's options).\n",
        p.name
    );
    if p.paths.is_empty() {
        out.push_str("#\n# No paths: give --log or --pod-logs.\n");
    } else {
        out.push_str("#\n# Its paths (give each with -l):\n");
        for path in p.paths {
            out.push_str(&format!("#   {path}\n"));
        }
    }
    if p.pod_logs_fallback {
        out.push_str(
            "# With none of them there, it reads this container's pod logs (--pod-logs).\n",
        );
    }
    match p.max_stall_ns {
        Some(ns) => out.push_str(&format!(
            "#\n# Silent stall: on, --max-stall {} (events wait in Filebeat's metrics reports,\n\
             # none acked, failed or retried, no output error; --max-stall off disables it).\n",
            crate::timefmt::format_duration(ns)
        )),
        None => out.push_str("#\n# Silent stall: off (--max-stall DURATION turns it on).\n"),
    }
    for r in p.rules {
        out.push('\n');
        for line in r.why {
            out.push_str(&format!("# {line}\n"));
        }
        let rule = crate::rules::Rule {
            literal: r.literal.to_string(),
            when: r.when,
            own_options: true,
        };
        out.push_str(&rule.to_line());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::parse_line;

    #[test]
    fn show_prints_rules_that_read_back_the_same() {
        let text = show(&FILEBEAT);
        let rules: Vec<_> = text
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .map(|l| parse_line(l, ONE_HIT).unwrap())
            .collect();
        assert_eq!(rules.len(), FILEBEAT.rules.len());
        for (got, want) in rules.iter().zip(FILEBEAT.rules) {
            assert_eq!((got.literal.as_str(), got.when), (want.literal, want.when));
        }
        assert!(text.contains("--max-stall 10m"));
        assert!(text.contains("Sources: elastic/beats #11834"));
    }
}
