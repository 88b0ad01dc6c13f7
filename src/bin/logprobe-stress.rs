//! `logprobe-stress`: runs the real `logprobe` executable the way kubelet
//! does, against emulated Filebeat processes, and checks every verdict.
//!
//! Each worker is one pod: a writer thread emulates Filebeat (7.x rename
//! rotation or 8.x new-file rotation, lines cut into partial writes, deletion
//! beyond keepfiles, a metrics report every ~0.2 s) and, in each incarnation,
//! plants one of (`--plant`): a single stuck line of a one-shot rule, a retry
//! loop of the not-finished message (a persistence rule), or a silent stall
//! (metrics reports with events waiting and none acked). A prober thread runs
//! `logprobe` at a period, kills it at the timeout, counts consecutive
//! failures and, at the failure threshold, restarts the emulated Filebeat: a
//! new incarnation (`--since`), rotating on startup. Times are scaled down
//! (persist 3 s, gap 2 s, `--max-stall 2s`) so that plants trip in seconds;
//! the healthy writer adds noise that must not trip: short bursts of the
//! not-finished message and short runs of stalled reports.
//!
//! It prints runs per second, the error rate, run latency (p50, p99, max),
//! plants by kind, missed and false trips (a trip must name its plant: its
//! line, its rule and a span within the plant), restarts per pod and time to
//! detect, and exits 1 on any miss or false trip (2 on bad arguments).

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::{Parser, ValueEnum};
use logprobe::preset::FILEBEAT;
use logprobe::timefmt::{format_duration, format_rfc3339, parse_duration};

/// The stuck message the emulated Filebeat plants: the filebeat preset's.
const STUCK: &str = FILEBEAT.rules[0].literal;

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum PlantArg {
    /// One line of a one-shot rule (the classic message).
    Single,
    /// The not-finished message every ~1 s, under a persistence rule.
    Loop,
    /// Metrics reports with events waiting and none acked, under `--max-stall`.
    Stall,
    /// Each incarnation the next of the three.
    Mixed,
}

/// What one incarnation plants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Kind {
    #[default]
    Single,
    Loop,
    Stall,
}

const KINDS: [Kind; 3] = [Kind::Single, Kind::Loop, Kind::Stall];

impl Kind {
    /// The kind of a pod's `incarnation`-th incarnation.
    fn of(plant: PlantArg, index: usize, incarnation: u32) -> Kind {
        match plant {
            PlantArg::Single => Kind::Single,
            PlantArg::Loop => Kind::Loop,
            PlantArg::Stall => Kind::Stall,
            PlantArg::Mixed => KINDS[(index + incarnation as usize) % KINDS.len()],
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Single => "single",
            Kind::Loop => "loop",
            Kind::Stall => "stall",
        }
    }

    /// How long a plant must go on before it trips, with room for a late
    /// line: no plant begins so late that it could not trip before the end.
    fn lead(self) -> Duration {
        let ns = match self {
            Kind::Single => 0,
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
}

impl Plant {
    /// Whether a trip (the probe's JSON) is this plant's: its line, its
    /// rule, and for a loop or a stall a span that begins within it.
    fn explains(&self, json: &serde_json::Value) -> bool {
        let m = &json["match"];
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
            Kind::Single => rule == "count" && names_it,
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
}

/// What a prober counted.
#[derive(Debug, Default)]
struct Tally {
    runs: u64,
    /// Runs that timed out, exited other than 0 or 1, or reported an error.
    errors: u64,
    timeouts: u64,
    latencies: Vec<Duration>,
    /// Exit 1 naming no stuck line of the incarnation, and restarts with no
    /// stuck line behind them.
    false_trips: Vec<String>,
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
        let (t, n, pod) = (line_time(t), self.line, &self.pod_name);
        let v8 = self.scheme == Scheme::V8;
        match what {
            Line::Stuck(id) if v8 => format!(
                "{{\"log.level\":\"error\",\"@timestamp\":\"{t}\",\"log.logger\":\"autodiscover\",\"message\":\"Error creating runner from config: {STUCK} ({id})\"}}\n"
            ),
            Line::Stuck(id) => format!(
                "{t}\tERROR\t[autodiscover]\tcfgfile/list.go:95\tError creating runner from config: {STUCK} ({id})\n"
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

/// Sets a new incarnation start, keeping file times (a clock tick coarse)
/// clear of it, and what it plants; returns that.
fn new_incarnation(pod: &Mutex<Pod>, plant: PlantArg, index: usize) -> Kind {
    thread::sleep(Duration::from_millis(20));
    let mut p = pod.lock().unwrap();
    p.since = now_ns();
    p.incarnation += 1;
    p.kind = Kind::of(plant, index, p.incarnation);
    p.restart_requested = false;
    let kind = p.kind;
    drop(p);
    thread::sleep(Duration::from_millis(20));
    kind
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
            // kubelet restarts the container: a new incarnation, rotate on startup.
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

/// Filebeat (re)starts: a new incarnation, a new file, a new script.
fn start(
    args: &Args,
    w: &mut Writer,
    pod: &Mutex<Pod>,
    index: usize,
    rng: &mut Rng,
) -> std::io::Result<Script> {
    let kind = new_incarnation(pod, args.plant, index);
    w.rotate(args.keep_files)?;
    Ok(Script::new(kind, index, args.stuck_after, rng))
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
            Kind::Single => true,
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
        });
        drop(p);
        let line = match self.kind {
            Kind::Stall => {
                self.next_report = now + rng.around(REPORT_EVERY);
                w.format(Line::Report(Report::Stalled { active: 4096 }), t)
            }
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

/// The arguments of a probe run of a pod, but `--since`: the filebeat
/// preset's file names in the pod's log directory, its stuck message as a
/// one-shot rule, or in a retry-loop incarnation as a persistence rule (the
/// pod's patterns file), and `--max-stall`.
fn probe_args(root: &Path, kind: Kind) -> Vec<String> {
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
    };
    base.extend(rules);
    let rest = [
        "--max-stall",
        MAX_STALL,
        "--format",
        "json",
        "--state",
        &state,
    ];
    base.extend(rest.map(String::from));
    base
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
    while !stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        if now < next {
            thread::sleep((next - now).min(Duration::from_millis(50)));
            continue;
        }
        next += args.period;
        let (since, incarnation, kind) = {
            let p = pod.lock().unwrap();
            (p.since, p.incarnation, p.kind)
        };
        let mut argv = probe_args(root, kind);
        argv.push("--since".into());
        argv.push(format!(
            "@{}.{:09}",
            since.div_euclid(1_000_000_000),
            since.rem_euclid(1_000_000_000)
        ));
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
/// plant of this incarnation ([`Plant::explains`]), anything else is a false trip.
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
            }
            false
        }
        Some(1) => {
            let mut p = pod.lock().unwrap();
            let plant = p
                .plants
                .iter_mut()
                .find(|pl| pl.incarnation == incarnation && pl.explains(&json));
            match plant {
                Some(pl) => {
                    pl.detected.get_or_insert_with(Instant::now);
                }
                None => tally.false_trips.push(format!(
                    "{}: {}",
                    root.display(),
                    json["message"].as_str().unwrap_or(out.trim())
                )),
            }
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

/// kubelet restarts the container at the failure threshold: a restart with
/// no stuck line detected behind it is a false trip. Probing pauses until
/// the new incarnation runs.
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
    let cause = p
        .plants
        .iter()
        .any(|pl| pl.incarnation == incarnation && pl.detected.is_some());
    if !cause {
        // Timeouts or errors alone got Filebeat restarted.
        tally.false_trips.push(format!(
            "{}: restarted after {} failures without a stuck line",
            root.display(),
            args.failure_threshold
        ));
    }
    p.restart_requested = true;
    drop(p);
    while pod.lock().unwrap().restart_requested && !stop.load(Ordering::Relaxed) {
        thread::sleep(Duration::from_millis(1));
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
    println!(
        "logprobe-stress: {} workers for {}, scheme {:?}, plant {:?}, period {}, timeout {}, {} lines/s, rotate at {} bytes, keep {}, in {}, seed {seed}",
        args.workers,
        show(args.duration),
        args.scheme,
        args.plant,
        show(args.period),
        show(args.timeout),
        args.write_rate,
        args.rotate_bytes,
        args.keep_files,
        root.display()
    );
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
    writer_errors: usize,
    /// Every plant of every pod.
    plants: Vec<Plant>,
    /// Restarts of each pod.
    restarts: Vec<u64>,
    /// The kinds planted: each must have been detected at least once.
    kinds: Vec<Kind>,
}

/// A pod's threads.
struct PodThreads {
    pod: Arc<Mutex<Pod>>,
    writer: Handle<std::io::Result<()>>,
    prober: Handle<Tally>,
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
    Ok(gather(&args, started.elapsed(), pods))
}

/// Makes a pod's directories and patterns file, and starts its writer and prober.
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
    let (a, p, exe) = (args.clone(), pod.clone(), exe.to_path_buf());
    let prober = thread::spawn(move || {
        // Let the writer set the first incarnation.
        while p.lock().unwrap().incarnation == 0 {
            thread::sleep(Duration::from_millis(1));
        }
        prober_thread(&a, &exe, &dir, p, stop)
    });
    Ok(PodThreads {
        pod,
        writer,
        prober,
    })
}

type Handle<T> = thread::JoinHandle<T>;

/// Joins the threads and adds up what they saw.
fn gather(args: &Args, elapsed: Duration, pods: Vec<PodThreads>) -> Results {
    let mut r = Results {
        elapsed,
        total: Tally::default(),
        writer_errors: 0,
        plants: Vec::new(),
        restarts: Vec::new(),
        kinds: KINDS
            .into_iter()
            .filter(|&k| args.plant == PlantArg::Mixed || Kind::of(args.plant, 0, 0) == k)
            .collect(),
    };
    for pod in pods {
        let t = pod.prober.join().expect("prober");
        let total = &mut r.total;
        total.runs += t.runs;
        total.errors += t.errors;
        total.timeouts += t.timeouts;
        total.restarts += t.restarts;
        total.latencies.extend(t.latencies);
        total.false_trips.extend(t.false_trips);
        r.restarts.push(t.restarts);
        if let Err(e) = pod.writer.join().expect("writer") {
            eprintln!("logprobe-stress: writer: {e}");
            r.writer_errors += 1;
        }
        r.plants
            .extend(pod.pod.lock().unwrap().plants.iter().cloned());
    }
    r.total.latencies.sort();
    r
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

    /// Prints the figures and the verdict: any miss or false trip fails.
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
        let misses = self.misses();
        for m in &misses {
            println!("{m}");
        }
        for f in &t.false_trips {
            println!("FALSE TRIP: {f}");
        }
        if !misses.is_empty() || !t.false_trips.is_empty() || self.writer_errors > 0 {
            println!("FAIL");
            return ExitCode::from(1);
        }
        println!("PASS");
        ExitCode::SUCCESS
    }

    /// Plants by kind, misses, false trips, restarts and times to detect.
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
        println!(
            "planted: {} ({}); missed trips: {missed}; false trips: {}",
            self.plants.len(),
            by_kind.join(", "),
            self.total.false_trips.len()
        );
        let per_pod: Vec<String> = self.restarts.iter().map(u64::to_string).collect();
        println!(
            "restarts: {}; per pod: {}",
            self.total.restarts,
            per_pod.join(" ")
        );
        println!("time to detect: {}", spread(self.detect_times(None)));
        for &k in &self.kinds {
            println!("  {}: {}", k.name(), spread(self.detect_times(Some(k))));
        }
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
        };
        let trip = |rule: &str, first: i64, last: i64, line: &str| {
            serde_json::json!({"match": {"line": line, "evidence": {
                "rule": rule, "first": first * SEC_NS, "last": last * SEC_NS}}})
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
    }
}
