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
    /// The names of the container whose pod logs are read, unless
    /// `--container` says otherwise: the first this pod has.
    pub containers: &'static [&'static str],
}

/// A rule of a preset.
#[derive(Debug, Clone, Copy)]
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

/// The container whose pod logs are read with the filebeat preset, unless
/// `--container` says otherwise.
pub const DEFAULT_CONTAINER: &str = "filebeat";

/// Directory of Elastic Agent's own log files in its image.
pub const ELASTIC_AGENT_LOG_DIR: &str = "/usr/share/elastic-agent/state/data/logs";

const ONE_HIT: When = When::Count {
    threshold: 1,
    window_ns: None,
};

/// The filebeat preset's rules: the "not finished" loop and the one-shot
/// Kubernetes failures at start-up.
const FILEBEAT_RULES: &[PresetRule] = &[
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
];

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
    rules: FILEBEAT_RULES,
    // Filebeat reports its metrics every 30 s at INFO by default.
    max_stall_ns: Some(10 * MINUTE),
    pod_logs_fallback: true,
    containers: &[DEFAULT_CONTAINER],
};

/// Elastic Agent's rules: its own retry line while an input cannot start,
/// then those of its Filebeat components, which it logs again as its own.
const ELASTIC_AGENT_RULES: &[PresetRule] = &[
    PresetRule {
        literal: "Reloading Beats inputs because forceReload is true",
        when: When::Persist {
            for_ns: 10 * MINUTE,
            gap_ns: DEFAULT_GAP_NS,
        },
        why: &[
            "Agent 8.9+ logs this at INFO about every 10 s while a log-type input",
            "cannot start (the \"not finished\" state of its Filebeat component, which",
            "Agent logs only at debug). A few are churn; it trips only when it keeps",
            "coming for 10 minutes, no two lines more than 2 minutes apart. A restart",
            "cures it as it cures Filebeat's (the registrar resets every state).",
            "Source: x-pack/libbeat/management/managerV2.go, elastic/beats PR #35250.",
        ],
    },
    FILEBEAT_RULES[0],
    FILEBEAT_RULES[1],
    FILEBEAT_RULES[2],
    FILEBEAT_RULES[3],
];

/// Elastic Agent's logs (its own ndjson files, else its pod logs), its
/// retry line, its Filebeat components' stuck messages and the silent stall.
pub const ELASTIC_AGENT: Preset = Preset {
    name: "elastic-agent",
    // `elastic-agent-YYYYMMDD[-N].ndjson`; never `elastic-agent-event-log-*`
    // (raw events, see `source::files`), which this glob does not match either.
    paths: &["/usr/share/elastic-agent/state/data/logs/elastic-agent-[0-9]*"],
    rules: ELASTIC_AGENT_RULES,
    // Agent logs its components' metrics reports again; under its OTel
    // runtime (default for Filebeat inputs from 9.5) there are none, and the
    // detector then never trips.
    max_stall_ns: Some(10 * MINUTE),
    pod_logs_fallback: true,
    // The standalone and the Fleet-managed DaemonSets name it differently.
    containers: &["elastic-agent-standalone", "elastic-agent"],
};

/// Nothing: `--log` and `--pattern` give everything.
pub const NONE: Preset = Preset {
    name: "none",
    paths: &[],
    rules: &[],
    max_stall_ns: None,
    pod_logs_fallback: false,
    containers: &[DEFAULT_CONTAINER],
};

/// The preset of a name.
pub fn get(name: PresetName) -> &'static Preset {
    match name {
        PresetName::Filebeat => &FILEBEAT,
        PresetName::ElasticAgent => &ELASTIC_AGENT,
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
        out.push_str(&format!(
            "# With none of them there, it reads this container's pod logs (--pod-logs),\n\
             # the container named {} (--container).\n",
            p.containers.join(" or ")
        ));
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
        for p in [&FILEBEAT, &ELASTIC_AGENT] {
            let text = show(p);
            let rules: Vec<_> = text
                .lines()
                .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
                .map(|l| parse_line(l, ONE_HIT).unwrap())
                .collect();
            assert_eq!(rules.len(), p.rules.len());
            for (got, want) in rules.iter().zip(p.rules) {
                assert_eq!((got.literal.as_str(), got.when), (want.literal, want.when));
            }
            assert!(text.contains("--max-stall 10m"));
            assert!(text.contains("Sources: elastic/beats #11834"));
        }
    }
}
