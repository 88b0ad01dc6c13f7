//! `logprobe-stress`: runs the real `logprobe` executable the way kubelet
//! does, against emulated Filebeat processes, and checks every verdict.
//!
//! Each worker is one pod: a writer thread emulates Filebeat (7.x rename
//! rotation or 8.x new-file rotation, lines cut into partial writes, deletion
//! beyond keepfiles, a metrics report every ~0.2 s, every line stamped with
//! the wall-clock time) and, in each incarnation, plants one of (`--plant`):
//! a single stuck line of a one-shot rule, a retry loop of the not-finished
//! message (a persistence rule), a silent stall (metrics reports with events
//! waiting and none acked), or a permanent start-up failure (the one-shot
//! `add_kubernetes_metadata` line, logged at every start, that no restart
//! cures). A prober thread runs `logprobe` at a period, kills it at the
//! timeout, counts consecutive failures and, at the failure threshold,
//! restarts the emulated Filebeat: a new incarnation (`--since`) that rotates
//! on start-up or appends to the same file (`--on-start`). A readiness
//! thread runs `logprobe ready` at its own period. Times are scaled down
//! (persist 3 s, gap 2 s, `--max-stall 2s`) so that plants trip in seconds;
//! the healthy writer adds noise that must not trip: short bursts of the
//! not-finished message and short runs of stalled reports.
//!
//! The tool models the crash-loop guard (`--max-restarts K`): when the last K
//! incarnations of a pod tripped on the same rule (the same literal), that
//! rule's trip must be held (exit 0, JSON `held` and `guard`) and `logprobe
//! ready` must answer one `NOT READY:` line; otherwise trips must fail and
//! `ready` must answer `READY:`. No pod may restart more than K times in a
//! row on one rule.
//!
//! It prints runs per second, the error rate, run latency (p50, p99, max),
//! plants by kind, missed and false trips (a trip must name its plant: its
//! line, its rule and a span within the plant), restarts per pod, NotReady
//! pods and time to detect, and exits 1 on any miss, false trip or guard
//! fault (2 on bad arguments).

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::{Parser, ValueEnum};
use logprobe::guard::{DEFAULT_MAX_RESTARTS, MAX_RESTARTS_LIMIT};
use logprobe::preset::FILEBEAT;
use logprobe::report::rule_label;
use logprobe::timefmt::{format_duration, format_rfc3339, parse_duration};

/// The stuck message the emulated Filebeat plants: the filebeat preset's.
const STUCK: &str = FILEBEAT.rules[0].literal;

/// The permanent start-up failure: a one-shot rule of the filebeat preset
/// (checked by a test), logged by every incarnation soon after it starts.
const STARTUP_FAILURE: &str = "add_kubernetes_metadata: could not detect kubernetes env";
/// About how long after a start the start-up failure is logged (Filebeat's
/// ~30 s, scaled down).
const STARTUP_AFTER: Duration = Duration::from_millis(200);

/// The persistence rule of retry-loop incarnations, scaled down from the
/// preset's 10 minutes and 2 minutes.
const LOOP_RULE: &str = "[persist=3s gap=2s] ";
/// Its span and gap bound, ns.
const PERSIST_NS: i64 = 3 * SEC_NS;
const GAP_NS: i64 = 2 * SEC_NS;
/// `--max-stall` of every probe run, scaled down from the preset's 10 minutes.
const MAX_STALL: &str = "2s";
const MAX_STALL_NS: i64 = 2 * SEC_NS;
const SEC_NS: i64 = 1_000_000_000;
/// About how often a retry loop repeats its line, and Filebeat reports its metrics.
const LOOP_EVERY: Duration = Duration::from_secs(1);
const REPORT_EVERY: Duration = Duration::from_millis(200);

/// Stress test for logprobe: emulated Filebeat pods probed as kubelet would.
#[derive(Debug, Parser)]
#[command(name = "logprobe-stress", version)]
struct Args {
    /// Pods, each with its own log directory, state, writer and prober.
    #[arg(long, default_value_t = 4)]
    workers: usize,
    /// How long to run (e.g. 60s, 10m).
    #[arg(long, default_value = "60s", value_parser = duration)]
    duration: Duration,
    /// Probe timeout: a run still going is killed (kubelet's timeoutSeconds).
    #[arg(long, default_value = "1s", value_parser = duration)]
    timeout: Duration,
    /// Probe period (kubelet's periodSeconds; shorter to stress harder).
    #[arg(long, default_value = "1s", value_parser = duration)]
    period: Duration,
    /// Log lines per second written by each emulated Filebeat.
    #[arg(long, default_value_t = 200)]
    write_rate: u32,
    /// Rotate the log when it reaches this many bytes.
    #[arg(long, default_value_t = 256 << 10)]
    rotate_bytes: u64,
    /// Files kept by the rotation (current included); older ones are deleted.
    #[arg(long, default_value_t = 7)]
    keep_files: usize,
    /// Filebeat's naming: 7x renames filebeat → filebeat.1…, 8x opens filebeat-YYYYMMDD[-N].ndjson.
    #[arg(long, value_enum, default_value_t = Scheme::Mixed)]
    scheme: Scheme,
    /// What each incarnation plants: one stuck line, a retry loop, a silent
    /// stall, or (mixed) each in turn.
    #[arg(long, value_enum, default_value_t = PlantArg::Mixed)]
    plant: PlantArg,
    /// Mean time from a (re)start of Filebeat to its plant.
    #[arg(long, default_value = "5s", value_parser = duration)]
    stuck_after: Duration,
    /// Consecutive failures before the emulated kubelet restarts Filebeat.
    #[arg(long, default_value_t = 3)]
    failure_threshold: u32,
    /// Whether a restarted Filebeat rotates its log at start-up (7.x
    /// `rotateonstartup`, 8.x a new file) or appends to the same current file.
    #[arg(long, value_enum, default_value_t = OnStart::Rotate)]
    on_start: OnStart,
    /// `--max-restarts` of every probe run: the crash-loop guard (0 turns it off).
    #[arg(long, default_value_t = DEFAULT_MAX_RESTARTS,
          value_parser = clap::value_parser!(u32).range(0..=MAX_RESTARTS_LIMIT as i64))]
    max_restarts: u32,
    /// A restart discards the state (as on the container's own file system):
    /// the new incarnation reads every file from the start, so line times
    /// alone keep the earlier incarnations' lines out, and the crash-loop
    /// guard, without a history, never holds.
    #[arg(long)]
    lose_state: bool,
    /// Readiness probe period: how often `logprobe ready` runs in each pod.
    #[arg(long, default_value = "1s", value_parser = duration)]
    ready_period: Duration,
    /// The logprobe executable [default: `logprobe` beside this program].
    #[arg(long)]
    logprobe: Option<PathBuf>,
    /// Where the pods' files go [default: a new directory in /dev/shm, or the temp dir, removed at the end].
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Seed of the random choices.
    #[arg(long)]
    seed: Option<u64>,
}

impl Args {
    /// The K the crash-loop guard works with: `--max-restarts`, or 0 when
    /// the state, and so the history, is lost at every restart.
    fn guard_k(&self) -> u32 {
        if self.lose_state {
            0
        } else {
            self.max_restarts
        }
    }
}

/// Filebeat's log file naming.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scheme {
    /// filebeat, filebeat.1 … by rename.
    #[value(name = "7x")]
    V7,
    /// filebeat-YYYYMMDD[-N].ndjson, a new file per rotation.
    #[value(name = "8x")]
    V8,
    /// Even workers 7x, odd workers 8x.
    Mixed,
}

/// What a restarted Filebeat does with its log at start-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum OnStart {
    /// A new current file (7.x renames the old one to filebeat.1).
    Rotate,
    /// Goes on appending to the current file of the previous incarnation.
    Append,
    /// Workers 0 and 1 of every four rotate, 2 and 3 append (with `--scheme
    /// mixed`, every scheme meets both).
    Mixed,
}

impl OnStart {
    /// Whether worker `index` rotates at start-up.
    fn rotates(self, index: usize) -> bool {
        match self {
            OnStart::Rotate => true,
            OnStart::Append => false,
            OnStart::Mixed => index % 4 < 2,
        }
    }
}

/// What the incarnations plant, as asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum PlantArg {
    /// One line of a one-shot rule (the classic message).
    Single,
    /// The not-finished message every ~1 s, under a persistence rule.
    Loop,
    /// Metrics reports with events waiting and none acked, under `--max-stall`.
    Stall,
    /// At every start, the one-shot start-up failure no restart cures.
    Startup,
    /// Each incarnation the next of single, loop and stall.
    Mixed,
}

/// What one incarnation plants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Kind {
    #[default]
    Single,
    Loop,
    Stall,
    Startup,
}

const KINDS: [Kind; 3] = [Kind::Single, Kind::Loop, Kind::Stall];

impl Kind {
    /// The kind of a pod's `incarnation`-th incarnation.
    fn of(plant: PlantArg, index: usize, incarnation: u32) -> Kind {
        match plant {
            PlantArg::Single => Kind::Single,
            PlantArg::Loop => Kind::Loop,
            PlantArg::Stall => Kind::Stall,
            PlantArg::Startup => Kind::Startup,
            PlantArg::Mixed => KINDS[(index + incarnation as usize) % KINDS.len()],
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Single => "single",
            Kind::Loop => "loop",
            Kind::Stall => "stall",
            Kind::Startup => "startup",
        }
    }

    /// What the crash-loop guard knows its trip by: the rule's literal, as
    /// the state's history records it and `ready` names it (a single line
    /// and a loop share one; a stall is known by the metrics report's).
    fn rule(self) -> &'static str {
        match self {
            Kind::Single | Kind::Loop => STUCK,
            Kind::Stall => logprobe::stall::REPORT,
            Kind::Startup => STARTUP_FAILURE,
        }
    }

    /// How long after a start its plant is due, about.
    fn after(self, stuck_after: Duration) -> Duration {
        match self {
            Kind::Startup => STARTUP_AFTER,
            _ => stuck_after,
        }
    }

    /// How long a plant must go on before it trips, with room for a late
    /// line: no plant begins so late that it could not trip before the end.
    fn lead(self) -> Duration {
        let ns = match self {
            Kind::Single | Kind::Startup => 0,
            Kind::Loop => PERSIST_NS + 3 * SEC_NS,
            Kind::Stall => MAX_STALL_NS + 3 * SEC_NS,
        };
        Duration::from_nanos(ns as u64)
    }
}

fn duration(s: &str) -> Result<Duration, String> {
    let ns = parse_duration(s)?;
    Ok(Duration::from_nanos(ns.max(0) as u64))
}

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

/// xorshift64*: enough randomness for timings and cuts.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    /// `d` scaled by a factor in [0.5, 1.5).
    fn around(&mut self, d: Duration) -> Duration {
        d.mul_f64(0.5 + self.below(1000) as f64 / 1000.0)
    }
}

/// A plant of a writer: a stuck line, or the start of a loop or a stall.
#[derive(Debug, Clone)]
struct Plant {
    id: String,
    kind: Kind,
    incarnation: u32,
    /// When its writing began.
    at: Instant,
    /// The time its first line carries, ns since the epoch.
    first_ns: i64,
    detected: Option<Instant>,
    /// Detected as a trip the crash-loop guard held back.
    held: bool,
}

impl Plant {
    /// Whether a trip (the probe's JSON `match` or `held`) is this plant's:
    /// its line, its rule, and for a loop or a stall a span that begins within it.
    fn explains(&self, m: &serde_json::Value) -> bool {
        let (evidence, line) = (&m["evidence"], m["line"].as_str().unwrap_or_default());
        let rule = evidence["rule"].as_str().unwrap_or_default();
        let span = |min: i64| {
            let (first, last) = (evidence["first"].as_i64(), evidence["last"].as_i64());
            first
                .zip(last)
                .is_some_and(|(f, l)| f >= self.first_ns && l - f >= min)
        };
        let names_it = line.contains(&format!("({})", self.id));
        match self.kind {
            Kind::Single | Kind::Startup => rule == "count" && names_it,
            Kind::Loop => rule == "persist" && names_it && span(PERSIST_NS),
            Kind::Stall => rule == "stall" && span(MAX_STALL_NS),
        }
    }
}

/// What a pod's writer and prober share.
#[derive(Debug, Default)]
struct Pod {
    /// Start of the current incarnation, ns since the epoch.
    since: i64,
    incarnation: u32,
    /// What the current incarnation plants (and so how it is probed).
    kind: Kind,
    restart_requested: bool,
    plants: Vec<Plant>,
    /// The model of the state's history: the rules that tripped each
    /// restarted incarnation, held back or not (none: restarted without a trip).
    history: Vec<Vec<&'static str>>,
    /// The rule the crash-loop guard must hold back in this incarnation.
    guarded: Option<&'static str>,
}

impl Pod {
    /// The rule the guard holds back after `history`: one that tripped
    /// (held back or not) each of the last `k` incarnations (none when `k` is 0).
    fn uncured(history: &[Vec<&'static str>], k: u32) -> Option<&'static str> {
        let k = k as usize;
        if k == 0 {
            return None;
        }
        let last = history.get(history.len().checked_sub(k)?..)?;
        last.last()?
            .iter()
            .copied()
            .find(|rule| last.iter().all(|rules| rules.contains(rule)))
    }

    /// The most restarts in a row on one rule.
    fn streak(&self) -> usize {
        let mut best = 0;
        for (i, rules) in self.history.iter().enumerate() {
            for rule in rules {
                let run = self.history[..=i]
                    .iter()
                    .rev()
                    .take_while(|r| r.contains(rule))
                    .count();
                best = best.max(run);
            }
        }
        best
    }
}

/// What a prober counted.
#[derive(Debug, Default)]
struct Tally {
    runs: u64,
    /// Runs that timed out, exited other than 0 or 1, or reported an error.
    errors: u64,
    timeouts: u64,
    latencies: Vec<Duration>,
    /// Exit 1 naming no plant of the incarnation, and restarts with no
    /// failing trip of a plant behind them.
    false_trips: Vec<String>,
    /// Answers that disagree with the crash-loop guard's model: a trip it
    /// should have held, a hold it should not, a wrong readiness.
    guard_faults: Vec<String>,
    restarts: u64,
}

/// Emulated Filebeat writing one pod's log.
struct Writer {
    scheme: Scheme,
    logs: PathBuf,
    pod_name: String,
    /// Live files, oldest first.
    files: Vec<PathBuf>,
    size: u64,
    day_index: Option<(String, u32)>,
    line: u64,
    /// The latest time a line carried, ns since the epoch.
    last_ns: i64,
}

impl Writer {
    fn new(scheme: Scheme, logs: PathBuf, index: usize) -> Writer {
        Writer {
            scheme,
            logs,
            pod_name: format!("pod-{index}"),
            files: Vec::new(),
            size: 0,
            day_index: None,
            line: 0,
            last_ns: i64::MIN,
        }
    }

    fn current(&self) -> &Path {
        self.files.last().expect("a current file")
    }

    /// Opens the next file: at start, at rotation and at restart.
    fn rotate(&mut self, keep: usize) -> std::io::Result<()> {
        match self.scheme {
            Scheme::V7 | Scheme::Mixed => {
                // filebeat.{keep-1} is deleted, filebeat.N → filebeat.N+1,
                // filebeat → filebeat.1; oldest first, so no name is overwritten.
                let live = self.files.len();
                let mut next = Vec::new();
                for (age, f) in self.files.iter().enumerate() {
                    let n = live - age; // the number it gets
                    if n >= keep {
                        fs::remove_file(f)?;
                    } else {
                        let to = self.logs.join(format!("filebeat.{n}"));
                        fs::rename(f, &to)?;
                        next.push(to);
                    }
                }
                next.push(self.logs.join("filebeat"));
                self.files = next;
            }
            Scheme::V8 => {
                let date: String = format_rfc3339(now_ns())[..10]
                    .chars()
                    .filter(char::is_ascii_digit)
                    .collect();
                let n = match &self.day_index {
                    Some((d, n)) if *d == date => n + 1,
                    _ => 0,
                };
                self.day_index = Some((date.clone(), n));
                let name = if n == 0 {
                    format!("filebeat-{date}.ndjson")
                } else {
                    format!("filebeat-{date}-{n}.ndjson")
                };
                self.files.push(self.logs.join(name));
                while self.files.len() > keep {
                    fs::remove_file(self.files.remove(0))?;
                }
            }
        }
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.current())?;
        self.size = 0;
        Ok(())
    }

    /// A line of `what` at `t` (ns), in this writer's layout.
    fn format(&mut self, what: Line, t: i64) -> String {
        self.line += 1;
        self.last_ns = self.last_ns.max(t);
        let (t, n, pod) = (line_time(t), self.line, &self.pod_name);
        let v8 = self.scheme == Scheme::V8;
        match what {
            Line::Stuck(id) if v8 => format!(
                "{{\"log.level\":\"error\",\"@timestamp\":\"{t}\",\"log.logger\":\"autodiscover\",\"message\":\"Error creating runner from config: {STUCK} ({id})\"}}\n"
            ),
            Line::Stuck(id) => format!(
                "{t}\tERROR\t[autodiscover]\tcfgfile/list.go:95\tError creating runner from config: {STUCK} ({id})\n"
            ),
            Line::Startup(id) if v8 => format!(
                "{{\"log.level\":\"info\",\"@timestamp\":\"{t}\",\"log.logger\":\"add_kubernetes_metadata\",\"log.origin\":{{\"file.name\":\"add_kubernetes_metadata/kubernetes.go\",\"file.line\":126}},\"message\":\"{STARTUP_FAILURE}: {NO_CLUSTER} ({id})\",\"service.name\":\"filebeat\",\"ecs.version\":\"1.6.0\"}}\n"
            ),
            Line::Startup(id) => format!(
                "{t}\tINFO\tadd_kubernetes_metadata/kubernetes.go:70\t{STARTUP_FAILURE}: {NO_CLUSTER} ({id})\n"
            ),
            Line::Report(r) if v8 => format!(
                "{{\"log.level\":\"info\",\"@timestamp\":\"{t}\",\"log.logger\":\"monitoring\",\"log.origin\":{{\"file.name\":\"log/log.go\",\"file.line\":192}},\"message\":\"Non-zero metrics in the last 30s\",\"service.name\":\"filebeat\",\"monitoring\":{{\"metrics\":{},\"ecs.version\":\"1.6.0\"}},\"ecs.version\":\"1.6.0\"}}\n",
                r.metrics()
            ),
            Line::Report(r) => format!(
                "{t}\tINFO\t[monitoring]\tlog/log.go:145\tNon-zero metrics in the last 30s\t{{\"monitoring\": {{\"metrics\": {}}}}}\n",
                r.metrics()
            ),
            Line::Filler if v8 => format!(
                "{{\"log.level\":\"info\",\"@timestamp\":\"{t}\",\"log.logger\":\"input.harvester\",\"message\":\"Harvester started for paths: [/var/log/containers/*.log]\",\"n\":{n},\"pod\":\"{pod}\"}}\n"
            ),
            Line::Filler => format!(
                "{t}\tINFO\tlog/harvester.go:302\tHarvester started for file: /var/log/containers/app-{n}.log\n"
            ),
        }
    }

    /// Writes a line in one to three pieces, as a slow writer may leave it.
    fn write_line(&mut self, line: &str, rng: &mut Rng) -> std::io::Result<()> {
        let b = line.as_bytes();
        let c1 = rng.below(b.len() as u64) as usize;
        let c2 = c1 + rng.below((b.len() - c1) as u64) as usize;
        let mut f = OpenOptions::new().append(true).open(self.current())?;
        for piece in [&b[..c1], &b[c1..c2], &b[c2..]] {
            if piece.is_empty() {
                continue;
            }
            f.write_all(piece)?;
            if rng.below(8) == 0 {
                thread::sleep(Duration::from_micros(rng.below(500)));
            }
        }
        self.size += b.len() as u64;
        Ok(())
    }
}

/// Why the start-up failure's processor gave up, as Filebeat says it.
const NO_CLUSTER: &str = "unable to build kube config due to error: invalid configuration: no configuration has been provided";

/// A line's own time as Filebeat writes it: RFC 3339 in milliseconds, UTC.
fn line_time(ns: i64) -> String {
    let ms = ns.div_euclid(1_000_000);
    let whole = format_rfc3339(ms.div_euclid(1000) * SEC_NS);
    let date_time = whole.strip_suffix('Z').unwrap_or(&whole);
    format!("{date_time}.{:03}Z", ms.rem_euclid(1000))
}

/// `ns` as a line's time reads back: to the millisecond.
fn to_ms(ns: i64) -> i64 {
    ns.div_euclid(1_000_000) * 1_000_000
}

/// What a writer writes next.
#[derive(Debug, Clone, Copy)]
enum Line<'a> {
    /// A line no rule matches.
    Filler,
    /// The not-finished message, naming a plant or a burst.
    Stuck(&'a str),
    /// The start-up failure, naming its plant.
    Startup(&'a str),
    /// A metrics report.
    Report(Report),
}

/// A metrics report's values.
#[derive(Debug, Clone, Copy)]
enum Report {
    /// Events acked in the period.
    Healthy { active: u64, acked: u64 },
    /// Events waiting, none acked, failed or retried.
    Stalled { active: u64 },
}

impl Report {
    /// The `monitoring.metrics` object, as Filebeat nests it.
    fn metrics(self) -> String {
        match self {
            Report::Healthy { active, acked } => format!(
                "{{\"filebeat\":{{\"events\":{{\"added\":{acked},\"done\":{acked}}},\"harvester\":{{\"open_files\":3,\"running\":3}}}},\"libbeat\":{{\"output\":{{\"events\":{{\"acked\":{acked},\"active\":0,\"batches\":1,\"total\":{acked}}}}},\"pipeline\":{{\"clients\":1,\"events\":{{\"active\":{active},\"published\":{acked},\"total\":{acked}}}}}}},\"registrar\":{{\"states\":{{\"current\":12}}}}}}"
            ),
            Report::Stalled { active } => format!(
                "{{\"filebeat\":{{\"harvester\":{{\"open_files\":3,\"running\":3}}}},\"libbeat\":{{\"output\":{{\"events\":{{\"active\":0}}}},\"pipeline\":{{\"clients\":1,\"events\":{{\"active\":{active}}},\"queue\":{{\"max_events\":4096}}}}}},\"registrar\":{{\"states\":{{\"current\":12}}}}}}"
            ),
        }
    }
}

/// Sets a new incarnation start, keeping file and line times (a clock tick
/// coarse) clear of it, what it plants and what the guard must hold back;
/// returns the kind and the start.
fn new_incarnation(pod: &Mutex<Pod>, args: &Args, index: usize) -> (Kind, i64) {
    thread::sleep(Duration::from_millis(20));
    let mut p = pod.lock().unwrap();
    p.since = now_ns();
    p.incarnation += 1;
    p.kind = Kind::of(args.plant, index, p.incarnation);
    p.guarded = Pod::uncured(&p.history, args.guard_k());
    p.restart_requested = false;
    let started = (p.kind, p.since);
    drop(p);
    thread::sleep(Duration::from_millis(20));
    started
}

/// What a writer thread is handed.
struct WriterJob {
    index: usize,
    logs: PathBuf,
    pod: Arc<Mutex<Pod>>,
    stop: Arc<AtomicBool>,
    /// No plant begins so late that it could not trip before this.
    plant_until: Instant,
    rng: Rng,
}

fn writer_thread(args: &Args, job: WriterJob) -> std::io::Result<()> {
    let WriterJob {
        index,
        logs,
        pod,
        stop,
        plant_until,
        mut rng,
    } = job;
    let scheme = match args.scheme {
        Scheme::Mixed if index % 2 == 1 => Scheme::V8,
        Scheme::Mixed => Scheme::V7,
        s => s,
    };
    let mut w = Writer::new(scheme, logs, index);
    let mut script = start(args, &mut w, &pod, index, &mut rng)?;
    let gap = Duration::from_secs(1) / args.write_rate.max(1);
    while !stop.load(Ordering::Relaxed) {
        if pod.lock().unwrap().restart_requested {
            // kubelet restarts the container: a new incarnation.
            script = start(args, &mut w, &pod, index, &mut rng)?;
        }
        let line = script.next_line(&mut w, &pod, &mut rng, plant_until);
        w.write_line(&line, &mut rng)?;
        if w.size >= args.rotate_bytes {
            w.rotate(args.keep_files)?;
        }
        thread::sleep(rng.around(gap));
    }
    Ok(())
}

/// Filebeat (re)starts: a new incarnation, a new file (at the first start,
/// or rotating at start-up) or the same one, a new script. Every line of the
/// earlier incarnations must carry a time before the new start, or the
/// probe could not tell them from this one's.
fn start(
    args: &Args,
    w: &mut Writer,
    pod: &Mutex<Pod>,
    index: usize,
    rng: &mut Rng,
) -> std::io::Result<Script> {
    let (kind, since) = new_incarnation(pod, args, index);
    if w.files.is_empty() || args.on_start.rotates(index) {
        w.rotate(args.keep_files)?;
    }
    if w.last_ns >= since {
        return Err(std::io::Error::other(format!(
            "{}: a line of an earlier incarnation carries {}, not before the new --since {}",
            w.pod_name,
            line_time(w.last_ns),
            line_time(since)
        )));
    }
    Ok(Script::new(kind, index, kind.after(args.stuck_after), rng))
}

/// A run of stalled reports in a healthy writer spans less than this (half
/// of `--max-stall`), by the reports' own times.
const BLIP_NS: i64 = MAX_STALL_NS / 2;
/// A burst of the not-finished message spans less than this (half the
/// persistence); bursts, and the last burst and a loop, are further apart
/// than this (more than the gap bound).
const BURST_NS: i64 = PERSIST_NS / 2;
const HOLE_NS: i64 = GAP_NS + SEC_NS / 2;

/// What a writer plants in one incarnation, and the healthy noise around it.
struct Script {
    kind: Kind,
    index: usize,
    plant_at: Instant,
    /// The plant's id once it began: a loop or a stall goes on until the restart.
    planted: Option<String>,
    next_report: Instant,
    next_loop: Instant,
    /// Time of the first stalled report of a short run (noise), while it lasts.
    blip: Option<i64>,
    next_blip: Instant,
    /// Time of the first line of a burst of the not-finished message (noise,
    /// in loop incarnations before the plant), while it lasts.
    burst: Option<i64>,
    /// Time of the latest burst line.
    burst_last: i64,
    next_burst: Instant,
}

impl Script {
    fn new(kind: Kind, index: usize, stuck_after: Duration, rng: &mut Rng) -> Script {
        let now = Instant::now();
        Script {
            kind,
            index,
            plant_at: now + rng.around(stuck_after),
            planted: None,
            next_report: now,
            next_loop: now,
            blip: None,
            next_blip: now + rng.around(Duration::from_secs(3)),
            burst: None,
            burst_last: i64::MIN / 2,
            next_burst: now + rng.around(Duration::from_secs(2)),
        }
    }

    /// The next line: the plant when it is due, a loop's line, a metrics
    /// report, a burst's line, else a line no rule matches.
    fn next_line(
        &mut self,
        w: &mut Writer,
        pod: &Mutex<Pod>,
        rng: &mut Rng,
        until: Instant,
    ) -> String {
        let (now, t) = (Instant::now(), to_ms(now_ns()));
        if self.plant_due(now, t, until) {
            return self.begin_plant(w, pod, (now, t), rng);
        }
        if self.kind == Kind::Loop
            && now >= self.next_loop
            && let Some(id) = self.planted.clone()
        {
            self.next_loop = now + rng.around(LOOP_EVERY);
            return w.format(Line::Stuck(&id), t);
        }
        if now >= self.next_report {
            self.next_report = now + rng.around(REPORT_EVERY);
            let report = self.report(now, t, rng);
            return w.format(Line::Report(report), t);
        }
        match self.burst_line(now, t, rng) {
            Some(id) => w.format(Line::Stuck(&id), t),
            None => w.format(Line::Filler, t),
        }
    }

    /// Whether the plant begins now: it is time, there is time for it to
    /// trip, and no noise of its kind is under way that it would join.
    fn plant_due(&self, now: Instant, t: i64, until: Instant) -> bool {
        let clear = match self.kind {
            Kind::Single | Kind::Startup => true,
            Kind::Loop => self.burst.is_none() && t - self.burst_last > HOLE_NS,
            Kind::Stall => self.blip.is_none(),
        };
        self.planted.is_none() && now >= self.plant_at && now + self.kind.lead() < until && clear
    }

    /// The plant's first line, recorded before it is written, so a probe
    /// that finds the line finds the record.
    fn begin_plant(
        &mut self,
        w: &mut Writer,
        pod: &Mutex<Pod>,
        (now, t): (Instant, i64),
        rng: &mut Rng,
    ) -> String {
        let mut p = pod.lock().unwrap();
        let id = format!("{}-{}-{}", self.kind.name(), self.index, p.plants.len() + 1);
        let incarnation = p.incarnation;
        p.plants.push(Plant {
            id: id.clone(),
            kind: self.kind,
            incarnation,
            at: now,
            first_ns: t,
            detected: None,
            held: false,
        });
        drop(p);
        let line = match self.kind {
            Kind::Stall => {
                self.next_report = now + rng.around(REPORT_EVERY);
                w.format(Line::Report(Report::Stalled { active: 4096 }), t)
            }
            Kind::Startup => w.format(Line::Startup(&id), t),
            Kind::Single | Kind::Loop => {
                self.next_loop = now + rng.around(LOOP_EVERY);
                w.format(Line::Stuck(&id), t)
            }
        };
        self.planted = Some(id);
        line
    }

    /// A metrics report: stalled through a stall plant; else healthy (events
    /// acked), but for short runs of stalled reports now and then.
    fn report(&mut self, now: Instant, t: i64, rng: &mut Rng) -> Report {
        let stalled = Report::Stalled {
            active: 1 + rng.below(5000),
        };
        if self.kind == Kind::Stall && self.planted.is_some() {
            return stalled;
        }
        match self.blip {
            Some(first) if t - first < BLIP_NS && rng.below(2) == 0 => return stalled,
            Some(_) => self.blip = None,
            None if now >= self.next_blip => {
                self.blip = Some(t);
                self.next_blip = now + rng.around(Duration::from_secs(3));
                return stalled;
            }
            None => {}
        }
        Report::Healthy {
            active: rng.below(300),
            acked: 1 + rng.below(2000),
        }
    }

    /// A line of a burst of the not-finished message (one or two lines less
    /// than [`BURST_NS`] apart, bursts more than [`HOLE_NS`] apart), in a
    /// loop incarnation before its plant: churn that must not trip.
    fn burst_line(&mut self, now: Instant, t: i64, rng: &mut Rng) -> Option<String> {
        if self.kind != Kind::Loop || self.planted.is_some() || now < self.next_burst {
            return None;
        }
        match self.burst.take() {
            Some(first) if t - first < BURST_NS => {}
            Some(_) => return None,
            None if t - self.burst_last > HOLE_NS => self.burst = Some(t),
            None => return None,
        }
        self.burst_last = t;
        let next = if self.burst.is_some() { 500 } else { 4000 };
        self.next_burst = now + rng.around(Duration::from_millis(next));
        Some(format!("churn-{}-{}", self.index, t / 1_000_000))
    }
}

/// One probe run: exit code (None when killed at the timeout), stdout, latency.
fn probe(exe: &Path, argv: &[String], timeout: Duration) -> (Option<i32>, String, Duration) {
    let started = Instant::now();
    let child = Command::new(exe)
        .args(argv)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => return (Some(-1), format!("cannot start: {e}"), started.elapsed()),
    };
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                let elapsed = started.elapsed();
                let mut out = String::new();
                if let Some(mut s) = child.stdout.take() {
                    let _ = std::io::Read::read_to_string(&mut s, &mut out);
                }
                return (status.code(), out, elapsed);
            }
            Ok(None) if started.elapsed() >= timeout => {
                let _ = child.kill();
                let _ = child.wait();
                return (None, String::new(), started.elapsed());
            }
            Ok(None) => thread::sleep(Duration::from_micros(200)),
            Err(e) => return (Some(-1), format!("wait: {e}"), started.elapsed()),
        }
    }
}

/// The arguments of a probe run of a pod: the filebeat preset's file names
/// in the pod's log directory, its stuck message as a one-shot rule, or in a
/// retry-loop incarnation as a persistence rule (the pod's patterns file), or
/// in a start-up failure's the preset's one-shot rule of it; `--max-stall`,
/// `--max-restarts` and `--since`.
fn probe_args(root: &Path, kind: Kind, max_restarts: u32, since: i64) -> Vec<String> {
    let logs = root.join("logs");
    let mut base: Vec<String> = vec!["check".into(), "--preset".into(), "none".into()];
    for path in FILEBEAT.paths {
        let name = Path::new(path).file_name().expect("a file name");
        base.push("--log".into());
        base.push(logs.join(name).display().to_string());
    }
    let state = root.join("state.json").display().to_string();
    let rules = match kind {
        Kind::Loop => [
            "--patterns-file".into(),
            rules_file(root).display().to_string(),
        ],
        Kind::Single | Kind::Stall => ["--pattern".into(), STUCK.into()],
        Kind::Startup => ["--pattern".into(), STARTUP_FAILURE.into()],
    };
    base.extend(rules);
    let rest = [
        "--max-stall",
        MAX_STALL,
        "--max-restarts",
        &max_restarts.to_string(),
        "--format",
        "json",
        "--state",
        &state,
        "--since",
        &since_arg(since),
    ];
    base.extend(rest.map(String::from));
    base
}

/// The arguments of a readiness run of a pod in the incarnation since `since`.
fn ready_args(root: &Path, since: i64) -> Vec<String> {
    let state = root.join("state.json").display().to_string();
    ["ready", "--state", &state, "--since", &since_arg(since)]
        .map(String::from)
        .to_vec()
}

/// `--since` of an incarnation's start, to the nanosecond.
fn since_arg(since: i64) -> String {
    format!(
        "@{}.{:09}",
        since.div_euclid(SEC_NS),
        since.rem_euclid(SEC_NS)
    )
}

/// The patterns file of retry-loop incarnations.
fn rules_file(root: &Path) -> PathBuf {
    root.join("loop.rules")
}

fn prober_thread(
    args: &Args,
    exe: &Path,
    root: &Path,
    pod: Arc<Mutex<Pod>>,
    stop: Arc<AtomicBool>,
) -> Tally {
    let mut tally = Tally::default();
    let mut failures = 0;
    let mut next = Instant::now();
    while tick(&mut next, args.period, &stop) {
        let (since, incarnation, kind) = {
            let p = pod.lock().unwrap();
            (p.since, p.incarnation, p.kind)
        };
        let argv = probe_args(root, kind, args.max_restarts, since);
        let (code, out, latency) = probe(exe, &argv, args.timeout);
        tally.runs += 1;
        tally.latencies.push(latency);
        let failed = judge(code, &out, incarnation, root, &pod, &mut tally);
        failures = if failed { failures + 1 } else { 0 };
        if failures >= args.failure_threshold {
            failures = 0;
            restart(args, root, incarnation, &pod, &stop, &mut tally);
            next = Instant::now() + args.period;
        }
    }
    tally
}

/// Whether a run failed, as kubelet counts it; a trip must be explained by a
/// plant of this incarnation ([`Plant::explains`]), anything else is a false
/// trip, and must fail or be held as the guard's model says.
fn judge(
    code: Option<i32>,
    out: &str,
    incarnation: u32,
    root: &Path,
    pod: &Mutex<Pod>,
    tally: &mut Tally,
) -> bool {
    let json: serde_json::Value = serde_json::from_str(out.trim()).unwrap_or_default();
    match code {
        Some(0) => {
            if json["status"] != "healthy" {
                tally.errors += 1;
            } else {
                judge_healthy(&json, incarnation, root, pod, tally);
            }
            false
        }
        Some(1) => {
            judge_trip(&json, out, incarnation, root, pod, tally);
            true
        }
        None => {
            tally.timeouts += 1;
            tally.errors += 1;
            true
        }
        Some(_) => {
            tally.errors += 1;
            true
        }
    }
}

/// A trip (exit 1): its plant is detected, unless the guard should have held
/// its rule back; a trip no plant explains is a false trip.
fn judge_trip(
    json: &serde_json::Value,
    out: &str,
    incarnation: u32,
    root: &Path,
    pod: &Mutex<Pod>,
    tally: &mut Tally,
) {
    let mut p = pod.lock().unwrap();
    let guarded = p.guarded;
    let plant = p
        .plants
        .iter_mut()
        .find(|pl| pl.incarnation == incarnation && pl.explains(&json["match"]));
    let Some(pl) = plant else {
        let what = json["message"].as_str().unwrap_or(out.trim());
        tally
            .false_trips
            .push(format!("{}: {what}", root.display()));
        return;
    };
    pl.detected.get_or_insert_with(Instant::now);
    if guarded == Some(pl.kind.rule()) {
        tally.guard_faults.push(format!(
            "{}: {} failed liveness, but {:?} tripped each of the last incarnations: the guard should hold it",
            root.display(),
            pl.id,
            pl.kind.rule()
        ));
    }
}

/// A healthy run (exit 0): it carries the guard's reason exactly when the
/// model holds a rule back, and a held trip must be a plant of that rule.
fn judge_healthy(
    json: &serde_json::Value,
    incarnation: u32,
    root: &Path,
    pod: &Mutex<Pod>,
    tally: &mut Tally,
) {
    let mut p = pod.lock().unwrap();
    let guarded = p.guarded;
    let busy = json["message"]
        .as_str()
        .is_some_and(|m| m.starts_with("HEALTHY: another run"));
    if !busy && json["guard"].is_string() != guarded.is_some() {
        tally.guard_faults.push(format!(
            "{}: incarnation {incarnation}: the guard should hold {guarded:?}, the run says {}",
            root.display(),
            json["guard"]
        ));
    }
    if !json["held"].is_object() {
        return;
    }
    let plant = p
        .plants
        .iter_mut()
        .find(|pl| pl.incarnation == incarnation && pl.explains(&json["held"]));
    match plant {
        Some(pl) if guarded == Some(pl.kind.rule()) => {
            pl.detected.get_or_insert_with(Instant::now);
            pl.held = true;
        }
        _ => tally.guard_faults.push(format!(
            "{}: incarnation {incarnation}: held a trip the guard should not hold ({guarded:?}): {}",
            root.display(),
            json["held"]["line"]
        )),
    }
}

/// kubelet restarts the container at the failure threshold: a restart with
/// no trip of a plant behind it is a false trip. The model's history
/// records the rule that tripped. Probing pauses until the new incarnation runs.
fn restart(
    args: &Args,
    root: &Path,
    incarnation: u32,
    pod: &Mutex<Pod>,
    stop: &AtomicBool,
    tally: &mut Tally,
) {
    tally.restarts += 1;
    let mut p = pod.lock().unwrap();
    let of_this = |pl: &&Plant| pl.incarnation == incarnation && pl.detected.is_some();
    let mut tripped: Vec<&'static str> = p
        .plants
        .iter()
        .filter(of_this)
        .map(|pl| pl.kind.rule())
        .collect();
    tripped.sort_unstable();
    tripped.dedup();
    if !p.plants.iter().filter(of_this).any(|pl| !pl.held) {
        // Timeouts or errors alone got Filebeat restarted.
        tally.false_trips.push(format!(
            "{}: restarted after {} failures without a trip of a plant",
            root.display(),
            args.failure_threshold
        ));
    }
    p.history.push(tripped);
    if args.lose_state {
        let _ = fs::remove_file(root.join("state.json"));
    }
    p.restart_requested = true;
    drop(p);
    while pod.lock().unwrap().restart_requested && !stop.load(Ordering::Relaxed) {
        thread::sleep(Duration::from_millis(1));
    }
}

/// What a readiness thread counted.
#[derive(Debug, Default)]
struct ReadyTally {
    runs: u64,
    /// Runs answering NOT READY.
    not_ready: u64,
    /// Runs killed at the timeout or exiting other than 0 or 1.
    errors: u64,
    /// Runs that overlapped a restart, whose answer is not checked.
    straddled: u64,
    /// Answers that disagree with the guard's model.
    faults: Vec<String>,
}

/// kubelet's readiness probe of a pod: `logprobe ready` every
/// `--ready-period`, each answer checked against the guard's model.
fn ready_thread(
    args: &Args,
    exe: &Path,
    root: &Path,
    pod: Arc<Mutex<Pod>>,
    stop: Arc<AtomicBool>,
) -> ReadyTally {
    let mut tally = ReadyTally::default();
    let mut next = Instant::now();
    while tick(&mut next, args.ready_period, &stop) {
        let (since, incarnation, guarded) = {
            let p = pod.lock().unwrap();
            (p.since, p.incarnation, p.guarded)
        };
        let (code, out, _) = probe(exe, &ready_args(root, since), args.timeout);
        if pod.lock().unwrap().incarnation != incarnation {
            tally.straddled += 1;
            continue;
        }
        tally.runs += 1;
        match code {
            Some(0 | 1) => {
                tally.not_ready += u64::from(code == Some(1));
                let fault = readiness_fault(code, &out, guarded);
                let at = || format!("{}: incarnation {incarnation}: ", root.display());
                tally.faults.extend(fault.map(|f| at() + &f));
            }
            _ => tally.errors += 1,
        }
    }
    tally
}

/// What is wrong with a readiness answer (exit `code`, output `out`) when
/// the guard should hold `guarded` back: NOT READY in one line naming the
/// rule, else READY.
fn readiness_fault(code: Option<i32>, out: &str, guarded: Option<&str>) -> Option<String> {
    let line = out.trim_end();
    let one_line = !line.contains('\n');
    let ok = match guarded {
        Some(rule) => {
            code == Some(1)
                && one_line
                && line.starts_with("NOT READY:")
                && line.contains(&rule_label(rule))
        }
        None => code == Some(0) && one_line && line.starts_with("READY:"),
    };
    let want = match guarded {
        Some(rule) => format!("NOT READY for {rule:?}"),
        None => "READY".to_string(),
    };
    (!ok).then(|| format!("ready should say {want}; it exited {code:?} with {line:?}"))
}

/// Waits for the next tick of `period` after `next`, looking at `stop` at
/// least every 50 ms; false once stopped.
fn tick(next: &mut Instant, period: Duration, stop: &AtomicBool) -> bool {
    loop {
        if stop.load(Ordering::Relaxed) {
            return false;
        }
        let now = Instant::now();
        if now >= *next {
            *next += period;
            return true;
        }
        thread::sleep((*next - now).min(Duration::from_millis(50)));
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn show(d: Duration) -> String {
    if d < Duration::from_millis(10) {
        format!("{:.2}ms", d.as_secs_f64() * 1000.0)
    } else if d < Duration::from_secs(1) {
        format!("{}ms", d.as_millis())
    } else if d < Duration::from_secs(60) {
        format!("{:.2}s", d.as_secs_f64())
    } else {
        format_duration(d.as_nanos() as i64)
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let exe = match &args.logprobe {
        Some(p) => p.clone(),
        None => std::env::current_exe()
            .map(|p| p.with_file_name("logprobe"))
            .unwrap_or_else(|_| PathBuf::from("logprobe")),
    };
    if !exe.is_file() {
        eprintln!(
            "logprobe-stress: {}: no such executable (give --logprobe)",
            exe.display()
        );
        return ExitCode::from(2);
    }
    if args.workers == 0 || args.keep_files < 2 {
        eprintln!("logprobe-stress: --workers must be at least 1 and --keep-files at least 2");
        return ExitCode::from(2);
    }
    let seed = args.seed.unwrap_or_else(|| now_ns() as u64);
    let (root, remove) = work_dir(&args);
    print_header(&args, &root, seed);
    let code = match run_pods(Arc::new(args), &exe, &root, seed) {
        Ok(r) => r.print(),
        Err(e) => {
            eprintln!("logprobe-stress: {e}");
            ExitCode::from(2)
        }
    };
    if remove {
        let _ = fs::remove_dir_all(&root);
    } else {
        println!("files kept in {}", root.display());
    }
    code
}

/// The first line: what this run does, and where.
fn print_header(args: &Args, root: &Path, seed: u64) {
    println!(
        "logprobe-stress: {} workers for {}, scheme {:?}, on start {:?}{}, plant {:?}, max-restarts {}, period {}, ready period {}, timeout {}, {} lines/s, rotate at {} bytes, keep {}, in {}, seed {seed}",
        args.workers,
        show(args.duration),
        args.scheme,
        args.on_start,
        if args.lose_state {
            " losing the state"
        } else {
            ""
        },
        args.plant,
        args.max_restarts,
        show(args.period),
        show(args.ready_period),
        show(args.timeout),
        args.write_rate,
        args.rotate_bytes,
        args.keep_files,
        root.display()
    );
}

/// Where the pods' files go, and whether to remove them at the end.
fn work_dir(args: &Args) -> (PathBuf, bool) {
    if let Some(d) = &args.dir {
        return (d.clone(), false);
    }
    // tmpfs when there is one: on a disk, the state's fsync per run
    // under heavy load can stall whole runs in the file system's journal,
    // which measures the disk, not the probe (give --dir for that).
    let shm = Path::new("/dev/shm");
    let base = if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    };
    let dir = base.join(format!("logprobe-stress-{}", std::process::id()));
    (dir, true)
}

/// What a whole run found.
struct Results {
    elapsed: Duration,
    total: Tally,
    ready: ReadyTally,
    writer_errors: usize,
    /// Every plant of every pod.
    plants: Vec<Plant>,
    /// How each pod ended.
    pods: Vec<PodEnd>,
    /// The kinds planted: each must have been detected at least once.
    kinds: Vec<Kind>,
    /// [`Args::guard_k`].
    guard_k: u32,
    plant: PlantArg,
}

/// How one pod ended.
struct PodEnd {
    name: String,
    restarts: u64,
    /// The most restarts in a row on one rule.
    streak: usize,
    /// The rule the guard should hold back at the end.
    guarded: Option<&'static str>,
    /// The last readiness run, after the end, said NOT READY.
    not_ready: bool,
}

/// A pod's threads.
struct PodThreads {
    /// The pod's directory.
    dir: PathBuf,
    pod: Arc<Mutex<Pod>>,
    writer: Handle<std::io::Result<()>>,
    prober: Handle<Tally>,
    ready: Handle<ReadyTally>,
}

/// Runs every pod's writer and prober for the duration, then gathers what they saw.
fn run_pods(args: Arc<Args>, exe: &Path, root: &Path, seed: u64) -> Result<Results, String> {
    let started = Instant::now();
    // No plant so late that its detection cannot fit before the end (a
    // loop's or a stall's own span comes on top: `Kind::lead`).
    let detect = args.timeout + args.period * (args.failure_threshold + 2) + Duration::from_secs(1);
    let plant_until = (started + args.duration)
        .checked_sub(detect)
        .unwrap_or(started);
    let stop = Arc::new(AtomicBool::new(false));
    let mut pods = Vec::new();
    for index in 0..args.workers {
        let job = WriterJob {
            index,
            logs: root.join(format!("pod-{index}")).join("logs"),
            pod: Arc::new(Mutex::new(Pod::default())),
            stop: stop.clone(),
            plant_until,
            rng: Rng((seed ^ (index as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)) | 1),
        };
        pods.push(spawn_pod(&args, exe, job)?);
    }
    thread::sleep(args.duration);
    stop.store(true, Ordering::Relaxed);
    Ok(gather(&args, exe, started.elapsed(), pods))
}

/// Makes a pod's directories and patterns file, and starts its writer,
/// prober and readiness prober.
fn spawn_pod(args: &Arc<Args>, exe: &Path, job: WriterJob) -> Result<PodThreads, String> {
    let dir = job
        .logs
        .parent()
        .expect("the pod's directory")
        .to_path_buf();
    let fail = |e: std::io::Error| format!("{}: {e}", dir.display());
    fs::create_dir_all(&job.logs).map_err(fail)?;
    fs::write(rules_file(&dir), format!("{LOOP_RULE}{STUCK}\n")).map_err(fail)?;
    let (pod, stop) = (job.pod.clone(), job.stop.clone());
    let a = args.clone();
    let writer = thread::spawn(move || writer_thread(&a, job));
    let (a, p, s, e, d) = (
        args.clone(),
        pod.clone(),
        stop.clone(),
        exe.to_path_buf(),
        dir.clone(),
    );
    let prober = thread::spawn(move || {
        first_incarnation(&p);
        prober_thread(&a, &e, &d, p, s)
    });
    let (a, p, e, d) = (args.clone(), pod.clone(), exe.to_path_buf(), dir.clone());
    let ready = thread::spawn(move || {
        first_incarnation(&p);
        ready_thread(&a, &e, &d, p, stop)
    });
    Ok(PodThreads {
        dir,
        pod,
        writer,
        prober,
        ready,
    })
}

/// Waits for the writer to set the first incarnation.
fn first_incarnation(pod: &Mutex<Pod>) {
    while pod.lock().unwrap().incarnation == 0 {
        thread::sleep(Duration::from_millis(1));
    }
}

type Handle<T> = thread::JoinHandle<T>;

/// Joins the threads, asks each pod's readiness once more, and adds up what they saw.
fn gather(args: &Args, exe: &Path, elapsed: Duration, pods: Vec<PodThreads>) -> Results {
    let mut r = Results {
        elapsed,
        total: Tally::default(),
        ready: ReadyTally::default(),
        writer_errors: 0,
        plants: Vec::new(),
        pods: Vec::new(),
        kinds: match args.plant {
            PlantArg::Mixed => KINDS.to_vec(),
            plant => vec![Kind::of(plant, 0, 0)],
        },
        guard_k: args.guard_k(),
        plant: args.plant,
    };
    for pod in pods {
        let t = pod.prober.join().expect("prober");
        r.add(t, pod.ready.join().expect("readiness prober"));
        if let Err(e) = pod.writer.join().expect("writer") {
            eprintln!("logprobe-stress: writer: {e}");
            r.writer_errors += 1;
        }
        let p = pod.pod.lock().unwrap();
        r.plants.extend(p.plants.iter().cloned());
        let end = final_readiness(exe, &pod.dir, &p, &mut r.total.guard_faults);
        r.pods.push(end);
    }
    r.total.latencies.sort();
    r
}

/// How a pod ended: its restarts, and a last readiness run, checked, once
/// nothing changes any more.
fn final_readiness(exe: &Path, dir: &Path, p: &Pod, faults: &mut Vec<String>) -> PodEnd {
    let (code, out, _) = probe(exe, &ready_args(dir, p.since), Duration::from_secs(10));
    if let Some(f) = readiness_fault(code, &out, p.guarded) {
        faults.push(format!("{}: at the end: {f}", dir.display()));
    }
    PodEnd {
        name: dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        restarts: p.history.len() as u64,
        streak: p.streak(),
        guarded: p.guarded,
        not_ready: code == Some(1),
    }
}

/// At most this many faults of a kind are shown.
const MAX_SHOWN: usize = 20;

/// The faults of a kind, each under `label`, the first [`MAX_SHOWN`] of them.
fn capped(label: &str, faults: &[String]) -> Vec<String> {
    let mut out: Vec<String> = faults
        .iter()
        .take(MAX_SHOWN)
        .map(|f| format!("{label}: {f}"))
        .collect();
    if faults.len() > MAX_SHOWN {
        out.push(format!("{label}: … and {} more", faults.len() - MAX_SHOWN));
    }
    out
}

/// p50, p99 and max of some durations.
fn spread(mut d: Vec<Duration>) -> String {
    d.sort();
    format!(
        "p50 {} p99 {} max {}",
        show(percentile(&d, 0.5)),
        show(percentile(&d, 0.99)),
        show(d.last().copied().unwrap_or_default())
    )
}

impl Results {
    /// Adds what a pod's prober and readiness prober counted.
    fn add(&mut self, t: Tally, ready: ReadyTally) {
        let total = &mut self.total;
        total.runs += t.runs;
        total.errors += t.errors;
        total.timeouts += t.timeouts;
        total.restarts += t.restarts;
        total.latencies.extend(t.latencies);
        total.false_trips.extend(t.false_trips);
        total.guard_faults.extend(t.guard_faults);
        total.guard_faults.extend(ready.faults);
        let r = &mut self.ready;
        r.runs += ready.runs;
        r.not_ready += ready.not_ready;
        r.errors += ready.errors;
        r.straddled += ready.straddled;
    }

    /// Times to detect the plants of `kind` (all kinds with `None`).
    fn detect_times(&self, kind: Option<Kind>) -> Vec<Duration> {
        self.plants
            .iter()
            .filter(|pl| kind.is_none_or(|k| pl.kind == k))
            .filter_map(|pl| pl.detected.map(|d| d.saturating_duration_since(pl.at)))
            .collect()
    }

    /// Plants of `kind`: how many, and how many were detected.
    fn count(&self, kind: Kind) -> (usize, usize) {
        let of_kind = self.plants.iter().filter(|pl| pl.kind == kind);
        let detected = of_kind.clone().filter(|pl| pl.detected.is_some()).count();
        (of_kind.count(), detected)
    }

    /// The missed plants, and the kinds planted but never detected.
    fn misses(&self) -> Vec<String> {
        let missed = self.plants.iter().filter(|pl| pl.detected.is_none());
        let mut out: Vec<String> = missed.map(|pl| format!("MISSED: {}", pl.id)).collect();
        for &k in &self.kinds {
            if self.count(k).1 == 0 {
                out.push(format!("NOT COVERED: no {} plant detected", k.name()));
            }
        }
        out
    }

    /// Restarts against `--max-restarts` K: never more than K in a row on
    /// one rule; with the permanent start-up failure, exactly K (with the
    /// guard on) or at least one (off, or the state lost at restarts).
    fn restart_faults(&self) -> Vec<String> {
        let k = self.guard_k;
        let startup = self.plant == PlantArg::Startup;
        let mut out = Vec::new();
        for pod in &self.pods {
            let (name, n) = (&pod.name, pod.restarts);
            if k > 0 && pod.streak > k as usize {
                out.push(format!(
                    "OVER THE LIMIT: {name} restarted {} times in a row on one rule, more than --max-restarts {k}",
                    pod.streak
                ));
            } else if startup && k > 0 && n > u64::from(k) {
                out.push(format!(
                    "OVER THE LIMIT: {name} restarted {n} times, more than --max-restarts {k}"
                ));
            } else if startup && k > 0 && n < u64::from(k) {
                out.push(format!(
                    "TOO FEW RESTARTS: {name} restarted {n} times, not --max-restarts {k} (the run ended first: run longer)"
                ));
            } else if startup && k == 0 && n == 0 {
                out.push(format!(
                    "NO RESTART: {name} never restarted with the guard off"
                ));
            }
        }
        out
    }

    /// Prints the figures and the verdict: any miss, false trip, guard
    /// fault or restart beyond the limit fails.
    fn print(&self) -> ExitCode {
        let t = &self.total;
        println!(
            "runs: {} ({:.1}/s); errors: {} ({:.2}%), of which timeouts: {}",
            t.runs,
            t.runs as f64 / self.elapsed.as_secs_f64(),
            t.errors,
            100.0 * t.errors as f64 / t.runs.max(1) as f64,
            t.timeouts
        );
        println!("run latency: {}", spread(t.latencies.clone()));
        self.print_plants();
        self.print_guard();
        let mut faults = self.misses();
        faults.extend(capped("FALSE TRIP", &t.false_trips));
        faults.extend(capped("GUARD FAULT", &t.guard_faults));
        faults.extend(self.restart_faults());
        for f in &faults {
            println!("{f}");
        }
        if !faults.is_empty() || self.writer_errors > 0 {
            println!("FAIL");
            return ExitCode::from(1);
        }
        println!("PASS");
        ExitCode::SUCCESS
    }

    /// Plants by kind, misses, false trips and times to detect.
    fn print_plants(&self) {
        let by_kind: Vec<String> = self
            .kinds
            .iter()
            .map(|&k| {
                let (n, d) = self.count(k);
                format!("{} {n} ({d} detected)", k.name())
            })
            .collect();
        let missed = self
            .plants
            .iter()
            .filter(|pl| pl.detected.is_none())
            .count();
        let held = self.plants.iter().filter(|pl| pl.held).count();
        println!(
            "planted: {} ({}); held by the guard: {held}; missed trips: {missed}; false trips: {}",
            self.plants.len(),
            by_kind.join(", "),
            self.total.false_trips.len()
        );
        println!("time to detect: {}", spread(self.detect_times(None)));
        for &k in &self.kinds {
            println!("  {}: {}", k.name(), spread(self.detect_times(Some(k))));
        }
    }

    /// Restarts per pod, readiness and the guard's faults.
    fn print_guard(&self) {
        let per_pod: Vec<String> = self.pods.iter().map(|p| p.restarts.to_string()).collect();
        let restarts = self.pods.iter().map(|p| p.restarts);
        let streak = self.pods.iter().map(|p| p.streak).max().unwrap_or(0);
        println!(
            "restarts: {}; per pod: max {}, min {} ({}); most in a row on one rule: {streak} (the guard holds after {}, 0: off)",
            self.total.restarts,
            restarts.clone().max().unwrap_or(0),
            restarts.min().unwrap_or(0),
            per_pod.join(" "),
            self.guard_k
        );
        let r = &self.ready;
        let not_ready = self.pods.iter().filter(|p| p.not_ready).count();
        let expected = self.pods.iter().filter(|p| p.guarded.is_some()).count();
        println!(
            "ready: {} runs ({:.1}/s), {} NOT READY, {} errors, {} across a restart (unchecked); \
             NotReady pods at the end: {not_ready} of {} (expected {expected}); guard faults: {}",
            r.runs,
            r.runs as f64 / self.elapsed.as_secs_f64(),
            r.not_ready,
            r.errors,
            r.straddled,
            self.pods.len(),
            self.total.guard_faults.len()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::File;

    #[test]
    fn rename_rotation_keeps_the_newest() {
        let d = std::env::temp_dir().join(format!("logprobe-stress-test-{}", std::process::id()));
        fs::create_dir_all(&d).unwrap();
        let mut w = Writer::new(Scheme::V7, d.clone(), 0);
        for i in 0..5 {
            w.rotate(3).unwrap();
            File::options()
                .append(true)
                .open(w.current())
                .unwrap()
                .write_all(format!("{i}\n").as_bytes())
                .unwrap();
        }
        let mut names: Vec<String> = fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["filebeat", "filebeat.1", "filebeat.2"]);
        assert_eq!(fs::read_to_string(d.join("filebeat.2")).unwrap(), "2\n");
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn line_times_are_in_milliseconds_and_read_back() {
        let ns = 1_795_687_200_123_456_789; // 2026-11-26T10:00:00.123456789Z
        assert_eq!(line_time(ns), "2026-11-26T10:00:00.123Z");
        let back = logprobe::timefmt::parse_time(&line_time(ns)).unwrap();
        assert_eq!(back, to_ms(ns));
    }

    #[test]
    fn a_trip_is_explained_by_its_plant_only() {
        let plant = |kind| Plant {
            id: "x-1".into(),
            kind,
            incarnation: 1,
            at: Instant::now(),
            first_ns: 10 * SEC_NS,
            detected: None,
            held: false,
        };
        let trip = |rule: &str, first: i64, last: i64, line: &str| {
            serde_json::json!({"line": line, "evidence": {
                "rule": rule, "first": first * SEC_NS, "last": last * SEC_NS}})
        };
        let (single, lp, stall) = (plant(Kind::Single), plant(Kind::Loop), plant(Kind::Stall));
        assert!(single.explains(&trip("count", 0, 0, "… finished (x-1)")));
        assert!(!single.explains(&trip("count", 0, 0, "… finished (x-12)")));
        assert!(lp.explains(&trip("persist", 10, 13, "(x-1)")));
        assert!(
            !lp.explains(&trip("persist", 9, 13, "(x-1)")),
            "began before the plant"
        );
        assert!(!lp.explains(&trip("count", 10, 13, "(x-1)")));
        assert!(stall.explains(&trip("stall", 11, 13, "report")));
        assert!(!stall.explains(&trip("stall", 9, 13, "report")));
        assert!(!stall.explains(&trip("persist", 11, 13, "report")));
        let startup = plant(Kind::Startup);
        assert!(startup.explains(&trip("count", 0, 0, "… kubernetes env: … (x-1)")));
        assert!(!startup.explains(&trip("count", 0, 0, "… kubernetes env: … (x-2)")));
    }

    #[test]
    fn the_start_up_failure_is_a_one_shot_rule_of_the_preset() {
        let rule = FILEBEAT.rules.iter().find(|r| r.literal == STARTUP_FAILURE);
        let one_shot = logprobe::rules::When::Count {
            threshold: 1,
            window_ns: None,
        };
        assert_eq!(rule.map(|r| r.when), Some(one_shot));
        for v8 in [false, true] {
            let scheme = if v8 { Scheme::V8 } else { Scheme::V7 };
            let mut w = Writer::new(scheme, PathBuf::new(), 0);
            let line = w.format(Line::Startup("startup-0-1"), 0);
            assert!(line.contains(&format!("{STARTUP_FAILURE}: ")), "{line}");
            assert!(line.starts_with(if v8 {
                "{"
            } else {
                "1970-01-01T00:00:00.000Z\t"
            }));
        }
    }

    #[test]
    fn the_model_of_the_guard() {
        let (a, b, none, ab) = (vec!["a"], vec!["b"], vec![], vec!["a", "b"]);
        let h = |v: &[&Vec<&'static str>]| v.iter().map(|r| (*r).clone()).collect::<Vec<_>>();
        assert_eq!(Pod::uncured(&h(&[&a, &a, &a]), 3), Some("a"));
        assert_eq!(Pod::uncured(&h(&[&b, &a, &a, &a]), 3), Some("a"));
        assert_eq!(Pod::uncured(&h(&[&a, &a]), 3), None, "too few");
        assert_eq!(Pod::uncured(&h(&[&a, &b, &a]), 3), None);
        assert_eq!(Pod::uncured(&h(&[&a, &none, &a, &a]), 3), None);
        assert_eq!(Pod::uncured(&h(&[&a, &a, &a]), 0), None, "off");
        // A held rule stays in its streak when another trips beside it.
        assert_eq!(Pod::uncured(&h(&[&a, &a, &ab]), 3), Some("a"));
        let pod = |history: Vec<Vec<&'static str>>| Pod {
            history,
            ..Pod::default()
        };
        assert_eq!(pod(h(&[&a, &a, &none, &b, &b, &b, &a])).streak(), 3);
        assert_eq!(pod(h(&[&none, &none])).streak(), 0);
        assert_eq!(pod(vec![]).streak(), 0);
    }

    #[test]
    fn readiness_answers_follow_the_model() {
        let not_ready = format!("NOT READY: \"{STARTUP_FAILURE}\" tripped each of the last 3\n");
        let guarded = Some(STARTUP_FAILURE);
        assert_eq!(readiness_fault(Some(1), &not_ready, guarded), None);
        assert!(readiness_fault(Some(0), "READY: x\n", guarded).is_some());
        assert!(readiness_fault(Some(1), "NOT READY: another rule\n", guarded).is_some());
        assert!(readiness_fault(Some(1), &format!("{not_ready}more\n"), guarded).is_some());
        assert_eq!(readiness_fault(Some(0), "READY: x\n", None), None);
        assert!(readiness_fault(Some(1), &not_ready, None).is_some());
        assert!(readiness_fault(None, "", None).is_some());
    }

    #[test]
    fn a_restart_rotates_or_appends() {
        let always: Vec<bool> = (0..4).map(|i| OnStart::Rotate.rotates(i)).collect();
        assert_eq!(always, [true; 4]);
        let mixed: Vec<bool> = (0..8).map(|i| OnStart::Mixed.rotates(i)).collect();
        assert_eq!(mixed, [true, true, false, false, true, true, false, false]);
        assert!(!OnStart::Append.rotates(0));
    }
}
