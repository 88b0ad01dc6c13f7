//! `logprobe-stress`: runs the real `logprobe` executable the way kubelet
//! does, against emulated Filebeat processes, and checks every verdict.
//!
//! Each worker is one pod: a writer thread emulates Filebeat (7.x rename
//! rotation or 8.x new-file rotation, lines cut into partial writes, deletion
//! beyond keepfiles) and plants a stuck line at a known moment; a prober
//! thread runs `logprobe` at a period, kills it at the timeout, counts
//! consecutive failures and, at the failure threshold, restarts the emulated
//! Filebeat: a new incarnation (`--since`), rotating on startup.
//!
//! It prints runs per second, the error rate, run latency (p50, p99, max),
//! stuck lines planted, missed and falsely reported, restarts and time to
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
    /// Mean time from a (re)start of Filebeat to its stuck line.
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

/// A stuck line written by a writer.
#[derive(Debug, Clone)]
struct Plant {
    id: String,
    incarnation: u32,
    /// When its writing began.
    at: Instant,
    detected: Option<Instant>,
}

/// What a pod's writer and prober share.
#[derive(Debug, Default)]
struct Pod {
    /// Start of the current incarnation, ns since the epoch.
    since: i64,
    incarnation: u32,
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

    fn format(&mut self, stuck: Option<&str>) -> String {
        self.line += 1;
        let t = format_rfc3339(now_ns());
        match (self.scheme, stuck) {
            (Scheme::V8, None) => format!(
                "{{\"log.level\":\"info\",\"@timestamp\":\"{t}\",\"log.logger\":\"monitoring\",\"message\":\"Non-zero metrics in the last 30s\",\"n\":{},\"pod\":\"{}\"}}\n",
                self.line, self.pod_name
            ),
            (Scheme::V8, Some(id)) => format!(
                "{{\"log.level\":\"error\",\"@timestamp\":\"{t}\",\"log.logger\":\"autodiscover\",\"message\":\"Error creating runner from config: {STUCK} ({id})\"}}\n"
            ),
            (_, None) => format!(
                "{t}\tINFO\t[monitoring]\tlog/log.go:145\tNon-zero metrics in the last 30s\t{{\"n\":{}}}\n",
                self.line
            ),
            (_, Some(id)) => format!(
                "{t}\tERROR\t[autodiscover]\tcfgfile/list.go:95\tError creating runner from config: {STUCK} ({id})\n"
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

/// Sets a new incarnation start, keeping file times (a clock tick coarse) clear of it.
fn new_incarnation(pod: &Mutex<Pod>) {
    thread::sleep(Duration::from_millis(20));
    let mut p = pod.lock().unwrap();
    p.since = now_ns();
    p.incarnation += 1;
    p.restart_requested = false;
    drop(p);
    thread::sleep(Duration::from_millis(20));
}

/// What a writer thread is handed.
struct WriterJob {
    index: usize,
    logs: PathBuf,
    pod: Arc<Mutex<Pod>>,
    stop: Arc<AtomicBool>,
    /// No stuck line is planted after this.
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
    let mut w = Writer {
        scheme,
        logs,
        pod_name: format!("pod-{index}"),
        files: Vec::new(),
        size: 0,
        day_index: None,
        line: 0,
    };
    new_incarnation(&pod);
    w.rotate(args.keep_files)?;
    let mut plant_at = Instant::now() + rng.around(args.stuck_after);
    let mut plants = 0;
    let gap = Duration::from_secs(1) / args.write_rate.max(1);
    while !stop.load(Ordering::Relaxed) {
        if pod.lock().unwrap().restart_requested {
            // kubelet restarts the container: a new incarnation, rotate on startup.
            new_incarnation(&pod);
            w.rotate(args.keep_files)?;
            plant_at = Instant::now() + rng.around(args.stuck_after);
        }
        let now = Instant::now();
        let line = if now >= plant_at && now < plant_until && !planted_here(&pod) {
            plants += 1;
            plant(&mut w, &pod, format!("stuck-{index}-{plants}"))
        } else {
            w.format(None)
        };
        w.write_line(&line, &mut rng)?;
        if w.size >= args.rotate_bytes {
            w.rotate(args.keep_files)?;
        }
        thread::sleep(rng.around(gap));
    }
    Ok(())
}

/// Whether the current incarnation already has its stuck line.
fn planted_here(pod: &Mutex<Pod>) -> bool {
    let p = pod.lock().unwrap();
    p.plants.iter().any(|pl| pl.incarnation == p.incarnation)
}

/// A stuck line, recorded before it is written, so a probe that finds the
/// line finds the record.
fn plant(w: &mut Writer, pod: &Mutex<Pod>, id: String) -> String {
    let line = w.format(Some(&id));
    let mut p = pod.lock().unwrap();
    let incarnation = p.incarnation;
    p.plants.push(Plant {
        id,
        incarnation,
        at: Instant::now(),
        detected: None,
    });
    line
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

/// The arguments of every probe run of a pod, but `--since`: the filebeat
/// preset's file names in the pod's log directory, its stuck message.
fn probe_args(root: &Path) -> Vec<String> {
    let logs = root.join("logs");
    let mut base: Vec<String> = vec!["check".into(), "--preset".into(), "none".into()];
    for path in FILEBEAT.paths {
        let name = Path::new(path).file_name().expect("a file name");
        base.push("--log".into());
        base.push(logs.join(name).display().to_string());
    }
    let state = root.join("state.json").display().to_string();
    base.extend(["--pattern", STUCK, "--format", "json", "--state", &state].map(String::from));
    base
}

fn prober_thread(
    args: &Args,
    exe: &Path,
    root: &Path,
    pod: Arc<Mutex<Pod>>,
    stop: Arc<AtomicBool>,
) -> Tally {
    let base = probe_args(root);
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
        let (since, incarnation) = {
            let p = pod.lock().unwrap();
            (p.since, p.incarnation)
        };
        let mut argv = base.clone();
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

/// Whether a run failed, as kubelet counts it; a trip must name a stuck line
/// planted in this incarnation, anything else is a false trip.
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
            let line = json["match"]["line"].as_str().unwrap_or_default();
            let mut p = pod.lock().unwrap();
            let plant = p
                .plants
                .iter_mut()
                .find(|pl| pl.incarnation == incarnation && line.contains(&format!("({})", pl.id)));
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
        "logprobe-stress: {} workers for {}, scheme {:?}, period {}, timeout {}, {} lines/s, rotate at {} bytes, keep {}, in {}, seed {seed}",
        args.workers,
        show(args.duration),
        args.scheme,
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
    planted: usize,
    missed: Vec<String>,
    detect_times: Vec<Duration>,
}

/// Runs every pod's writer and prober for the duration, then gathers what they saw.
fn run_pods(args: Arc<Args>, exe: &Path, root: &Path, seed: u64) -> Result<Results, String> {
    let started = Instant::now();
    // No stuck line so late that its detection cannot fit before the end.
    let detect = args.timeout + args.period * (args.failure_threshold + 2) + Duration::from_secs(1);
    let plant_until = (started + args.duration)
        .checked_sub(detect)
        .unwrap_or(started);
    let stop = Arc::new(AtomicBool::new(false));
    let mut pods = Vec::new();
    let mut writers = Vec::new();
    let mut probers = Vec::new();
    for index in 0..args.workers {
        let dir = root.join(format!("pod-{index}"));
        fs::create_dir_all(dir.join("logs")).map_err(|e| format!("{}: {e}", dir.display()))?;
        let pod = Arc::new(Mutex::new(Pod::default()));
        pods.push(pod.clone());
        let job = WriterJob {
            index,
            logs: dir.join("logs"),
            pod: pod.clone(),
            stop: stop.clone(),
            plant_until,
            rng: Rng((seed ^ (index as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)) | 1),
        };
        let a = args.clone();
        writers.push(thread::spawn(move || writer_thread(&a, job)));
        let (a, p, s, exe) = (args.clone(), pod, stop.clone(), exe.to_path_buf());
        probers.push(thread::spawn(move || {
            // Let the writer set the first incarnation.
            while p.lock().unwrap().incarnation == 0 {
                thread::sleep(Duration::from_millis(1));
            }
            prober_thread(&a, &exe, &dir, p, s)
        }));
    }
    thread::sleep(args.duration);
    stop.store(true, Ordering::Relaxed);
    Ok(gather(started.elapsed(), &pods, probers, writers))
}

type Handle<T> = thread::JoinHandle<T>;

/// Joins the threads and adds up what they saw.
fn gather(
    elapsed: Duration,
    pods: &[Arc<Mutex<Pod>>],
    probers: Vec<Handle<Tally>>,
    writers: Vec<Handle<std::io::Result<()>>>,
) -> Results {
    let mut total = Tally::default();
    for h in probers {
        let t = h.join().expect("prober");
        total.runs += t.runs;
        total.errors += t.errors;
        total.timeouts += t.timeouts;
        total.restarts += t.restarts;
        total.latencies.extend(t.latencies);
        total.false_trips.extend(t.false_trips);
    }
    let mut writer_errors = 0;
    for h in writers {
        if let Err(e) = h.join().expect("writer") {
            eprintln!("logprobe-stress: writer: {e}");
            writer_errors += 1;
        }
    }
    let mut r = Results {
        elapsed,
        total,
        writer_errors,
        planted: 0,
        missed: Vec::new(),
        detect_times: Vec::new(),
    };
    for p in pods {
        for pl in &p.lock().unwrap().plants {
            r.planted += 1;
            match pl.detected {
                Some(d) => r.detect_times.push(d.saturating_duration_since(pl.at)),
                None => r.missed.push(pl.id.clone()),
            }
        }
    }
    r.total.latencies.sort();
    r.detect_times.sort();
    r
}

impl Results {
    /// Prints the figures and the verdict: any miss or false trip fails.
    fn print(&self) -> ExitCode {
        let (t, l) = (&self.total, &self.total.latencies);
        println!(
            "runs: {} ({:.1}/s); errors: {} ({:.2}%), of which timeouts: {}",
            t.runs,
            t.runs as f64 / self.elapsed.as_secs_f64(),
            t.errors,
            100.0 * t.errors as f64 / t.runs.max(1) as f64,
            t.timeouts
        );
        println!(
            "run latency: p50 {} p99 {} max {}",
            show(percentile(l, 0.5)),
            show(percentile(l, 0.99)),
            show(l.last().copied().unwrap_or_default())
        );
        println!(
            "stuck lines planted: {}; missed trips: {}; false trips: {}; restarts: {}",
            self.planted,
            self.missed.len(),
            t.false_trips.len(),
            t.restarts
        );
        let d = &self.detect_times;
        println!(
            "time to detect: p50 {} p99 {} max {}",
            show(percentile(d, 0.5)),
            show(percentile(d, 0.99)),
            show(d.last().copied().unwrap_or_default())
        );
        for m in &self.missed {
            println!("MISSED: {m}");
        }
        for f in &t.false_trips {
            println!("FALSE TRIP: {f}");
        }
        if !self.missed.is_empty() || !t.false_trips.is_empty() || self.writer_errors > 0 {
            println!("FAIL");
            return ExitCode::from(1);
        }
        println!("PASS");
        ExitCode::SUCCESS
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
        let mut w = Writer {
            scheme: Scheme::V7,
            logs: d.clone(),
            pod_name: "p".into(),
            files: Vec::new(),
            size: 0,
            day_index: None,
            line: 0,
        };
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
}
