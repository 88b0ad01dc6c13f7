//! logprobe's integration tests: one binary, a module per rule, so that the
//! test of a rule is found by its name. Most run the real executable
//! (`env!("CARGO_BIN_EXE_logprobe")`) in a temporary directory of its own and,
//! on failure, print the command, the directory listing, stdout, stderr and
//! the state file.
//!
//! - [`util`]: the temporary environment, Filebeat-like writers and rotators
//!   (7.x text, 8.x ndjson, CRI pod logs), the run helper and its failure
//!   dump, peak RSS, a seeded random generator, the lines Filebeat writes.
//! - [`agent`]: the elastic-agent preset: Agent's files and pod logs, its
//!   retry line and its Filebeat components' messages.
//! - [`detection`]: a stuck line trips the probe; the trip is sticky; the
//!   text line and the JSON report say where.
//! - [`complete_lines`]: only complete lines count: a line written across two
//!   runs, a pattern across a window edge.
//! - [`long_lines`]: lines without a newline for 64 MiB and 1 GiB, in bounded
//!   memory and time, counted once.
//! - [`binary_input`]: NUL bytes and invalid UTF-8 are scanned and escaped.
//! - [`budget`]: a run stops after `--budget` and the next goes on.
//! - [`rotation`]: 7.x rename rotation, 8.x new files, keepfiles,
//!   copytruncate, a reused inode.
//! - [`incarnation`]: only log bytes of this container's lifetime count.
//! - [`replay`]: `logprobe replay` over examples, generated crash loops,
//!   `kubectl logs --timestamps` output, pod-log directories and stdin.
//! - [`replay_model`]: `replay` against repeated `check` runs; samples; 100 MiB.
//! - [`restarts`]: restarts that cure: old lines never count after a
//!   restart, a small file's copy is read once, the incarnation with a shared
//!   PID namespace, the crash-loop guard and `logprobe ready`.
//! - [`discovery`]: which files are read: never raw event data or compressed
//!   files; missing and unreadable ones.
//! - [`state`]: the state file: set aside when broken, private, rewritten
//!   only on change, locked; `state show|reset`.
//! - [`options`]: usage errors, patterns files, exceptions and case,
//!   threshold and window, help and version.
//! - [`pod_logs`]: the kubelet's CRI pod logs, found without configuration;
//!   the CRI scanner against a naive join.
//! - [`silence`]: unhealthy while no watched log grows (`--max-silence`).
//! - [`install`]: `logprobe install DIR`.
//! - [`samples`]: the preset against real lines users posted (`../shared/samples`).
//! - [`examples`]: the README's examples on `examples/logs/`.
//! - [`faults`]: SIGKILL at random moments, SIGBUS, state directory trouble,
//!   many runs at once, 100 000 files, 10 000 patterns.
//! - [`model`]: property tests of Filebeat writing and rotating against a
//!   naive model of what the probe must find.
//! - [`fuzz_corpus`]: the committed fuzz corpus replayed through
//!   [`fuzz_properties`], the properties the fuzz targets in `fuzz/` check.

mod util;

mod agent;
mod binary_input;
mod budget;
mod complete_lines;
mod detection;
mod discovery;
mod examples;
mod faults;
mod fuzz_corpus;
mod fuzz_properties;
mod incarnation;
mod install;
mod long_lines;
mod model;
mod options;
mod pod_logs;
mod preset;
mod replay;
mod replay_model;
mod restarts;
mod rotation;
mod samples;
mod silence;
mod stall;
mod state;
