//! What every test module shares: a temporary directory laid out like a
//! Filebeat container's (and, on demand, like a node's pod logs), writers and
//! rotators that behave as Filebeat and the kubelet do, the real executable
//! run with a failure dump, its peak RSS, a seeded random generator, and the
//! lines Filebeat writes.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use logprobe::preset::{FILEBEAT, FILEBEAT_LOG_DIR};
use serde_json::Value;

/// The executable under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_logprobe");

/// The filebeat preset's stuck message (its first rule's literal).
pub const STUCK: &str = FILEBEAT.rules[0].literal;

/// The pod's UID in the fake node's mountinfo and pod-log directory name.
pub const POD_UID: &str = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";

/// GNU time, which measures a run's peak RSS (Debian package `time`).
const GNU_TIME: &str = "/usr/bin/time";

// ---------------------------------------------------------------------------
// Skipping

/// Whether the tests run in CI (`CI=true`), where nothing they need may be missing.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Something a test (or a part of it) needs is missing on this machine: prints
/// `SKIPPED <what>: <why>` for a user's clone, and fails under `CI=true`,
/// where it must be there. The caller returns (or skips the part) afterwards.
#[track_caller]
pub fn skip(what: &str, why: &str) {
    assert!(
        !in_ci(),
        "{what}: {why}; CI=true, where this must not be skipped"
    );
    eprintln!("SKIPPED {what}: {why}");
}

/// A test that cannot run because of what this host is (not of what it
/// lacks): prints `SKIPPED <what>: <why>`, under CI too.
pub fn skip_on_this_host(what: &str, why: &str) {
    eprintln!("SKIPPED {what}: {why}");
}

/// The emulator the tests and the executable they spawn run under, when
/// `LOGPROBE_EMULATED` names one (`scripts/test-arm64` sets `qemu-aarch64`).
pub fn emulated() -> Option<String> {
    std::env::var("LOGPROBE_EMULATED")
        .ok()
        .filter(|v| !v.is_empty())
}

/// Under an emulator (see [`emulated`]), prints `SKIPPED <what>: <why>, under
/// <emulator>` and returns true: for bounds that measure the hardware, not the
/// code (a run's peak RSS counts the emulator's memory; its wall time, the
/// emulator's speed).
pub fn skip_if_emulated(what: &str, why: &str) -> bool {
    let Some(emulator) = emulated() else {
        return false;
    };
    skip_on_this_host(what, &format!("{why}, under {emulator}"));
    true
}

/// Whether the tests run as root.
pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// `name`'s path in `PATH`.
pub fn which(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

// ---------------------------------------------------------------------------
// Knobs: how long the long tests run

/// An environment variable as a number, or `default`.
pub fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The property tests' configuration: `LOGPROBE_PROPTEST_CASES` cases (else
/// `default_cases`), failing cases' seeds kept in
/// `tests/<module>.proptest-regressions`, beside the test's source. (With
/// `tests/main.rs` there, proptest's default would be
/// `proptest-regressions/<module>.txt` at the crate root.)
pub fn proptest_config(default_cases: u32) -> proptest::test_runner::Config {
    proptest::test_runner::Config {
        cases: std::env::var("LOGPROBE_PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default_cases),
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::WithSource("proptest-regressions"),
        )),
        ..proptest::test_runner::Config::default()
    }
}

// ---------------------------------------------------------------------------
// Lines Filebeat writes

/// RFC 3339 with milliseconds, as Filebeat writes its lines' times, for
/// `secs` seconds after 2026-11-26T10:00:00Z.
pub fn log_time(secs: i64) -> String {
    let t = 1_795_687_200 + secs; // 2026-11-26T10:00:00Z
    let (h, m, s) = (t / 3600 % 24, t / 60 % 60, t % 60);
    let day = 26 + (t - 1_795_651_200) / 86_400;
    format!("2026-11-{day:02}T{h:02}:{m:02}:{s:02}.000Z")
}

/// The time now as Filebeat 7.x writes it at the start of a line (UTC, ms):
/// lines written by the Filebeat of this incarnation.
pub fn now_7x() -> String {
    let ns = now_ns();
    let secs = logprobe::timefmt::format_rfc3339(ns);
    let ms = ns.rem_euclid(1_000_000_000) / 1_000_000;
    format!("{}.{ms:03}Z", &secs[..secs.len() - 1])
}

/// Filebeat 7.x's autodiscover error, written now, without its newline;
/// `tail` follows the message.
pub fn stuck_7x_line(tail: &str) -> String {
    format!(
        "{}\tERROR\t[autodiscover]\tcfgfile/list.go:95\tError creating runner from config: {STUCK}{tail}",
        now_7x()
    )
}

/// A one-shot start-up failure that the filebeat preset trips on at once
/// (`add_kubernetes_metadata: could not detect kubernetes env`), 7.x text, written now.
pub fn one_shot_7x() -> String {
    format!(
        "{}\tERROR\t[kubernetes]\tadd_kubernetes_metadata/kubernetes.go:71\tadd_kubernetes_metadata: could not detect kubernetes env: unable to build kube config due to error: invalid configuration: no configuration has been provided",
        now_7x()
    )
}

/// Filebeat 7.x's autodiscover error, logged at `time` (see [`log_time`]).
pub fn stuck_7x_at(time: &str) -> String {
    let line = stuck_7x();
    format!("{time}{}", &line[line.find('\t').unwrap()..])
}

/// Filebeat 7.x's autodiscover error, as logged.
pub fn stuck_7x() -> String {
    format!(
        "{}\n",
        stuck_7x_line(": {Id: native::1308836-2049, Finished: false}")
    )
}

/// Filebeat 7.x's autodiscover error ending in `id`, to tell planted lines apart.
pub fn stuck_7x_id(id: &str) -> String {
    format!("{}\n", stuck_7x_line(&format!(" {id}")))
}

/// A benign Filebeat 7.x metrics line, written now.
pub fn benign_7x(i: usize) -> String {
    format!(
        "{}\tINFO\t[monitoring]\tlog/log.go:145\tNon-zero metrics in the last 30s\t{{\"n\":{i}}}\n",
        now_7x()
    )
}

/// A benign Filebeat 7.x metrics line, all of one length (for i < 10⁸).
pub fn metrics_7x(i: usize) -> String {
    format!(
        "2026-11-26T10:00:00.000Z\tINFO\t[monitoring]\tlog/log.go:145\tNon-zero metrics {i:08}\n"
    )
}

/// Filebeat 8.x's autodiscover error, as logged (ndjson).
pub fn stuck_8x() -> String {
    format!(
        "{{\"log.level\":\"error\",\"@timestamp\":\"2026-11-26T10:02:11.386Z\",\"log.logger\":\"autodiscover\",\"message\":\"Error creating runner from config: {STUCK}\",\"service.name\":\"filebeat\"}}\n"
    )
}

/// A benign Filebeat 8.x metrics line (ndjson).
pub fn benign_8x(i: usize) -> String {
    format!(
        "{{\"log.level\":\"info\",\"@timestamp\":\"2026-11-26T10:00:00.000Z\",\"log.logger\":\"monitoring\",\"message\":\"Non-zero metrics in the last 30s\",\"n\":{i}}}\n"
    )
}

/// A CRI record as the kubelet writes it: `<time> <stream> <P|F> <text>`.
pub fn cri(stream: &str, tag: &str, text: &str) -> String {
    format!("2026-11-26T10:00:00.123456789Z {stream} {tag} {text}\n")
}

/// A CRI record written now, as the runtime writes this incarnation's output.
pub fn cri_now(stream: &str, tag: &str, text: &str) -> String {
    let t = now_7x().replace('Z', "000000Z");
    format!("{t} {stream} {tag} {text}\n")
}

/// A CRI record written `secs` after 2026-11-26T10:00:00Z (see [`log_time`]).
pub fn cri_at(secs: i64, stream: &str, tag: &str, text: &str) -> String {
    let t = log_time(secs).replace(".000Z", ".000000000Z");
    format!("{t} {stream} {tag} {text}\n")
}

// ---------------------------------------------------------------------------
// Time

/// Now, in ns since the epoch.
pub fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64
}

/// A `--since` value for `ns` since the epoch, to the nanosecond.
pub fn at_ns(ns: i64) -> String {
    format!(
        "@{}.{:09}",
        ns.div_euclid(1_000_000_000),
        ns.rem_euclid(1_000_000_000)
    )
}

/// `--since=@<t in whole seconds>`.
pub fn since_at(t: SystemTime) -> String {
    format!(
        "--since=@{}",
        t.duration_since(UNIX_EPOCH).unwrap().as_secs()
    )
}

/// `--since=@<now − secs>`.
pub fn since_ago(secs: u64) -> String {
    since_at(SystemTime::now() - Duration::from_secs(secs))
}

// ---------------------------------------------------------------------------
// A seeded random generator

/// A small, seedable generator (xorshift64*), so that a failure can be
/// replayed with `LOGPROBE_FAULT_SEED`.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }

    /// Seeded from `LOGPROBE_FAULT_SEED`, else the clock; prints the seed.
    pub fn from_env(test: &str) -> Rng {
        let seed = std::env::var("LOGPROBE_FAULT_SEED")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| now_ns() as u64);
        println!("{test}: LOGPROBE_FAULT_SEED={seed}");
        Rng::new(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

// ---------------------------------------------------------------------------
// Log directories, written and rotated as Filebeat and the kubelet do

/// A directory of log files: Filebeat's, or a container's pod logs.
#[derive(Debug, Clone)]
pub struct LogDir(PathBuf);

impl LogDir {
    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// Appends to `name`, creating it, as a logger's `O_APPEND` write does.
    pub fn append(&self, name: &str, data: impl AsRef<[u8]>) {
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.file(name))
            .unwrap()
            .write_all(data.as_ref())
            .unwrap();
    }

    /// The size of `name`, 0 when it does not exist.
    pub fn size(&self, name: &str) -> u64 {
        fs::metadata(self.file(name)).map_or(0, |m| m.len())
    }

    pub fn set_mtime(&self, name: &str, t: SystemTime) {
        set_mtime(&self.file(name), t);
    }

    /// Truncates `name` in place (logrotate's copytruncate, without the copy).
    pub fn truncate(&self, name: &str) {
        OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(self.file(name))
            .unwrap();
    }

    /// Filebeat 7.x's rotation: `filebeat.N` → `filebeat.N+1` …, `filebeat`
    /// → `filebeat.1`, a new empty `filebeat`; with `keep`, files that would
    /// be numbered beyond it are deleted (`keepfiles`), else none.
    pub fn rotate_7x(&self, keep: Option<usize>) {
        let mut n = 0;
        while self.file(&format!("filebeat.{}", n + 1)).exists() {
            n += 1;
        }
        for i in (1..=n).rev() {
            let from = self.file(&format!("filebeat.{i}"));
            if keep.is_some_and(|k| i + 1 > k) {
                fs::remove_file(from).unwrap();
            } else {
                fs::rename(from, self.file(&format!("filebeat.{}", i + 1))).unwrap();
            }
        }
        if self.file("filebeat").exists() {
            fs::rename(self.file("filebeat"), self.file("filebeat.1")).unwrap();
        }
        File::create(self.file("filebeat")).unwrap();
    }

    /// Filebeat 8.x's rotation: a new, empty `filebeat-<day>-<N>.ndjson`
    /// after the day's last one; returns its name.
    pub fn rotate_8x(&self, day: &str) -> String {
        let name = |n: usize| match n {
            0 => format!("filebeat-{day}.ndjson"),
            n => format!("filebeat-{day}-{n}.ndjson"),
        };
        let next = (0..).find(|&n| !self.file(&name(n)).exists()).unwrap();
        File::create(self.file(&name(next))).unwrap();
        name(next)
    }

    /// The kubelet's rotation of a container log: `name` → `name.<stamp>`,
    /// and the runtime reopens a new, empty `name`.
    pub fn rotate_cri(&self, name: &str, stamp: &str) {
        fs::rename(self.file(name), self.file(&format!("{name}.{stamp}"))).unwrap();
        File::create(self.file(name)).unwrap();
    }
}

pub fn set_mtime(path: &Path, t: SystemTime) {
    File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(t)
        .unwrap();
}

/// An emulated Filebeat in a thread: appends benign 7.x lines in up to three
/// writes each (as a slow writer may leave them), rotates by rename every
/// 16 KiB keeping every file, and plants stuck lines on request.
pub struct Writer {
    stop: Arc<AtomicBool>,
    /// Set to a line id to plant; the writer clears it and, once the line is
    /// whole on disk, records when the write of its last piece began.
    plant: Arc<Mutex<Option<String>>>,
    planted: Arc<Mutex<Vec<(String, Instant)>>>,
    handle: Option<thread::JoinHandle<()>>,
}

impl Writer {
    pub fn start(logs: LogDir, seed: u64) -> Writer {
        let stop = Arc::new(AtomicBool::new(false));
        let plant: Arc<Mutex<Option<String>>> = Arc::new(Mutex::new(None));
        let planted = Arc::new(Mutex::new(Vec::new()));
        let (s, p, d) = (stop.clone(), plant.clone(), planted.clone());
        let handle = thread::spawn(move || {
            let mut rng = Rng::new(seed);
            let mut i = 0;
            let mut size = 0usize;
            while !s.load(Ordering::Relaxed) {
                let planting = p.lock().unwrap().take();
                let line = match &planting {
                    Some(id) => stuck_7x_id(id),
                    None => metrics_7x(i),
                };
                i += 1;
                let bytes = line.as_bytes();
                let cut1 = rng.below(bytes.len() as u64) as usize;
                let cut2 = cut1 + rng.below((bytes.len() - cut1) as u64) as usize;
                let mut last_write = Instant::now();
                for piece in [&bytes[..cut1], &bytes[cut1..cut2], &bytes[cut2..]] {
                    if rng.below(4) == 0 {
                        thread::sleep(Duration::from_micros(rng.below(300)));
                    }
                    last_write = Instant::now();
                    logs.append("filebeat", piece);
                }
                if let Some(id) = planting {
                    // No run can have the whole line before its last piece's write began.
                    d.lock().unwrap().push((id, last_write));
                }
                size += bytes.len();
                if size > 16 << 10 {
                    logs.rotate_7x(None);
                    size = 0;
                }
                thread::sleep(Duration::from_micros(200));
            }
        });
        Writer {
            stop,
            plant,
            planted,
            handle: Some(handle),
        }
    }

    /// Plants a stuck line and waits until it is complete on disk; returns
    /// when the write of its last piece began (no run can have it earlier).
    pub fn plant(&self, id: &str) -> Instant {
        *self.plant.lock().unwrap() = Some(id.to_string());
        loop {
            if let Some((_, at)) = self.planted.lock().unwrap().iter().find(|(p, _)| p == id) {
                return *at;
            }
            thread::sleep(Duration::from_micros(100));
        }
    }

    pub fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.take().unwrap().join().unwrap();
    }
}

// ---------------------------------------------------------------------------
// The environment

/// A temporary directory for one test:
///
/// ```text
/// logs/                  Filebeat's log directory (the preset's, moved here)
/// state/state.json       the state file
/// var/log/pods/…/filebeat/, proc/self/mountinfo   a node, with `Env::node`
/// ```
///
/// Runs of the executable get `--state`, `--since @0` and `--pod-root` (this
/// directory) unless their arguments say otherwise.
pub struct Env {
    root: tempfile::TempDir,
    /// Filebeat's log directory.
    pub logs: LogDir,
    /// This container's pod-log directory on the node (made by [`Env::node`]).
    pub pods: LogDir,
}

impl Env {
    /// In the default temporary directory.
    pub fn new() -> Env {
        Env::in_dir(tempfile::tempdir().unwrap())
    }

    /// On tmpfs when there is one (cheap fsync, for tests that run the probe
    /// thousands of times), else in the default temporary directory.
    pub fn on_tmpfs() -> Env {
        let shm = Path::new("/dev/shm");
        if shm.is_dir()
            && let Ok(d) = tempfile::tempdir_in(shm)
        {
            return Env::in_dir(d);
        }
        Env::new()
    }

    fn in_dir(root: tempfile::TempDir) -> Env {
        let logs = LogDir(root.path().join("logs"));
        let pods = LogDir(root.path().join(format!(
            "var/log/pods/kube-system_filebeat-x7k2p_{POD_UID}/{}",
            logprobe::preset::DEFAULT_CONTAINER
        )));
        fs::create_dir(logs.path()).unwrap();
        fs::create_dir(root.path().join("state")).unwrap();
        Env { root, logs, pods }
    }

    /// Also a fake node under this directory: the pod-log directory and,
    /// with `uid_in_mountinfo`, the mountinfo line that names the pod's UID.
    pub fn node(uid_in_mountinfo: bool) -> Env {
        let e = Env::new();
        fs::create_dir_all(e.pods.path()).unwrap();
        if uid_in_mountinfo {
            fs::create_dir_all(e.root().join("proc/self")).unwrap();
            fs::write(
                e.root().join("proc/self/mountinfo"),
                format!("812 790 254:1 /var/lib/kubelet/pods/{POD_UID}/etc-hosts /etc/hosts rw,relatime - ext4 /dev/vda1 rw\n"),
            )
            .unwrap();
        }
        e
    }

    pub fn root(&self) -> &Path {
        self.root.path()
    }

    pub fn state(&self) -> PathBuf {
        self.root().join("state/state.json")
    }

    /// The state file, parsed as JSON.
    pub fn state_json(&self) -> Value {
        let text = fs::read_to_string(self.state()).unwrap();
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("state is not JSON ({e}): {text}"))
    }

    /// The filebeat preset's log globs, moved into `logs/`.
    pub fn preset_globs(&self) -> Vec<String> {
        FILEBEAT
            .paths
            .iter()
            .map(|p| {
                let name = p
                    .strip_prefix(FILEBEAT_LOG_DIR)
                    .and_then(|n| n.strip_prefix('/'))
                    .unwrap_or_else(|| panic!("{p} is not in {FILEBEAT_LOG_DIR}"));
                self.logs.file(name).display().to_string()
            })
            .collect()
    }

    /// `-l GLOB` for each of [`Env::preset_globs`].
    pub fn preset_log_args(&self) -> Vec<String> {
        self.preset_globs()
            .into_iter()
            .flat_map(|g| ["-l".to_string(), g])
            .collect()
    }

    /// The executable with `args`, and for `check` `--state`, `--since @0`
    /// and `--pod-root` unless `args` give them (for `ready`, `--state`).
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.args(args);
        if matches!(
            args.first(),
            Some(&"install" | &"state" | &"replay" | &"preset")
        ) {
            return cmd;
        }
        let given = |flags: &[&str]| {
            args.iter().any(|a| {
                flags
                    .iter()
                    .any(|f| a == f || a.starts_with(&format!("{f}=")))
            })
        };
        if !given(&["--state", "-s"]) {
            cmd.arg("--state").arg(self.state());
        }
        if args.first() == Some(&"ready") {
            return cmd;
        }
        if !given(&["--since"]) {
            cmd.args(["--since", "@0"]);
        }
        if !given(&["--pod-root"]) {
            cmd.arg("--pod-root").arg(self.root());
        }
        cmd
    }

    /// Runs the executable with `args` (see [`Env::command`]).
    pub fn run(&self, args: &[&str]) -> Run {
        self.exec(self.command(args))
    }

    /// The default check of these tests: the classic rule, [`STUCK`] that
    /// trips on one line (`--preset none -p STUCK`, so `-t`/`-w` apply to it),
    /// on the filebeat preset's globs moved into `logs/`, then `extra`. The
    /// preset's own rules are tested in `tests/preset.rs`.
    pub fn check(&self, extra: &[&str]) -> Run {
        let logs = self.preset_log_args();
        let mut args: Vec<&str> = vec!["--preset", "none", "-p", STUCK];
        args.extend(logs.iter().map(String::as_str));
        args.extend_from_slice(extra);
        self.run(&args)
    }

    /// The filebeat preset itself (its rules, the stall detector) on its
    /// globs moved into `logs/`, then `extra`.
    pub fn preset_check(&self, extra: &[&str]) -> Run {
        let logs = self.preset_log_args();
        let mut args: Vec<&str> = logs.iter().map(String::as_str).collect();
        args.extend_from_slice(extra);
        self.run(&args)
    }

    /// [`Env::check`] with `--format json`, parsed.
    pub fn check_json(&self) -> Value {
        self.check(&["--format", "json"]).json()
    }

    /// Runs `cmd` to its end (see [`Env::exec_for`]), within five minutes.
    pub fn exec(&self, cmd: Command) -> Run {
        self.exec_for(cmd, Duration::from_secs(300))
    }

    /// Runs `cmd` with stdin closed, killing it after `timeout`, and returns
    /// what it printed, how long it took, its peak RSS and the failure dump.
    ///
    /// The peak RSS comes from GNU time (`/usr/bin/time -f %M`), which forks
    /// and execs the command and reports the `ru_maxrss` that `wait4` gives
    /// it. Calling `wait4` from here would not do: at `exec`, Linux counts
    /// into a process's `ru_maxrss` the peak RSS of the memory it had before,
    /// and a child spawned by this test process (std uses `posix_spawn`,
    /// whose child shares the parent's memory until `exec`) would report at
    /// least this large, multi-threaded process's peak. GNU time's child
    /// starts from GNU time's own small memory, about 1 MiB (`time -f %M
    /// true`), so what it reports is the command's own peak whenever that is
    /// larger. Without GNU time, the peak is unknown.
    pub fn exec_for(&self, cmd: Command, timeout: Duration) -> Run {
        let shown = format!("{cmd:?}");
        let report = tempfile::NamedTempFile::new().unwrap();
        let mut wrapped = if Path::new(GNU_TIME).exists() {
            let mut t = Command::new(GNU_TIME);
            t.arg("-f")
                .arg("%M")
                .arg("-o")
                .arg(report.path())
                .arg(cmd.get_program())
                .args(cmd.get_args());
            for (k, v) in cmd.get_envs() {
                match v {
                    Some(v) => t.env(k, v),
                    None => t.env_remove(k),
                };
            }
            if let Some(d) = cmd.get_current_dir() {
                t.current_dir(d);
            }
            t
        } else {
            cmd
        };
        // Its own process group, so that a timeout kills GNU time's child too.
        wrapped
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let started = Instant::now();
        let mut child = wrapped.spawn().unwrap();
        let out = read_all(child.stdout.take().unwrap());
        let err = read_all(child.stderr.take().unwrap());
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if started.elapsed() > timeout {
                let _ = nix::sys::signal::killpg(
                    nix::unistd::Pid::from_raw(child.id() as i32),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
            thread::sleep(Duration::from_micros(200));
        };
        let elapsed = started.elapsed();
        let peak_rss_kib = fs::read_to_string(report.path())
            .ok()
            .and_then(|r| r.trim().lines().last()?.trim().parse().ok());
        let (stdout, stderr) = (out.join().unwrap(), err.join().unwrap());
        let context = format!(
            "command: {shown}\nexit: {status:?} after {elapsed:?}, peak RSS {peak_rss_kib:?} KiB\nfiles:\n{}\nstdout:\n{stdout}\nstderr:\n{stderr}\nstate:\n{}",
            listing(self.root()),
            cut(
                &fs::read_to_string(self.state()).unwrap_or_else(|e| format!("({e})")),
                16 << 10
            ),
        );
        Run {
            status,
            stdout,
            stderr,
            elapsed,
            peak_rss_kib,
            context,
        }
    }
}

fn read_all(mut r: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut v = Vec::new();
        let _ = r.read_to_end(&mut v);
        String::from_utf8_lossy(&v).into_owned()
    })
}

fn cut(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes in all)", &s[..end], s.len())
}

/// Every file under `dir` with its size, the first 200 of them.
fn listing(dir: &Path) -> String {
    const SHOWN: usize = 200;
    let mut paths = Vec::new();
    walk(dir, &mut paths);
    paths.sort();
    let mut lines: Vec<String> = paths
        .iter()
        .take(SHOWN)
        .map(|p| {
            let len = fs::symlink_metadata(p).map_or(0, |m| m.len());
            format!("  {} ({len} bytes)", p.display())
        })
        .collect();
    if paths.len() > SHOWN {
        lines.push(format!("  … and {} more", paths.len() - SHOWN));
    }
    lines.join("\n")
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            walk(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// A finished run of the executable.
pub struct Run {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
    /// Peak RSS in KiB; `None` without GNU time.
    pub peak_rss_kib: Option<u64>,
    /// The failure dump: command, files, stdout, stderr, state.
    context: String,
}

/// The failure dump.
impl fmt::Display for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.context)
    }
}

impl Run {
    /// The exit status, -1 when killed by a signal.
    pub fn code(&self) -> i32 {
        self.status.code().unwrap_or(-1)
    }

    #[track_caller]
    pub fn expect(&self, code: i32) -> &Self {
        assert_eq!(self.code(), code, "unexpected exit status\n{self}");
        self
    }

    #[track_caller]
    pub fn stdout_has(&self, s: &str) -> &Self {
        assert!(self.stdout.contains(s), "stdout lacks {s:?}\n{self}");
        self
    }

    #[track_caller]
    pub fn stderr_has(&self, s: &str) -> &Self {
        assert!(self.stderr.contains(s), "stderr lacks {s:?}\n{self}");
        self
    }

    /// Stdout as one JSON object.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("stdout is not one JSON object ({e})\n{self}"))
    }

    /// Asserts that the run took less than `limit`; under an emulator, skips
    /// the bound.
    #[track_caller]
    pub fn assert_elapsed_below(&self, limit: Duration, what: &str) {
        if skip_if_emulated(
            &format!("the {limit:?} bound of {what}"),
            "wall time measures the emulator's speed",
        ) {
            return;
        }
        assert!(
            self.elapsed < limit,
            "{what} took {:?}\n{self}",
            self.elapsed
        );
    }

    /// Asserts that the peak RSS was under `kib` KiB; without GNU time,
    /// skips the bound (see [`skip`]), and under an emulator too.
    #[track_caller]
    pub fn assert_peak_rss_below(&self, kib: u64, what: &str) {
        if skip_if_emulated(
            &format!("the peak RSS bound of {what}"),
            "the emulator's own memory counts",
        ) {
            return;
        }
        match self.peak_rss_kib {
            Some(peak) => assert!(peak < kib, "{what}: peak RSS {peak} KiB\n{self}"),
            None => skip(
                &format!("the peak RSS bound of {what}"),
                "/usr/bin/time (Debian package time) is missing",
            ),
        }
    }
}

/// A file name as `&str` (the tests' paths are UTF-8).
pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

// ---------------------------------------------------------------------------
// The shared samples

/// A labelled line: (file, the line, label, broad label).
pub type Sample = (String, Vec<u8>, String, String);

/// The labelled lines of `../shared/samples` (which CI and the project's
/// developers have beside this folder); `None` (skipped, failing under
/// `CI=true`) when it is missing.
pub fn samples() -> Option<Vec<Sample>> {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/samples");
    let labels = match fs::read_to_string(shared.join("labels.tsv")) {
        Ok(l) => l,
        Err(e) => {
            skip(
                "the shared samples",
                &format!(
                    "{}/labels.tsv: {e} (../shared/samples is beside this folder only for CI and developers)",
                    shared.display()
                ),
            );
            return None;
        }
    };
    let rows = labels
        .lines()
        .skip(1)
        .map(|row| {
            let cols: Vec<&str> = row.split('\t').collect();
            let n = cols[1].parse::<usize>().unwrap();
            let text = fs::read(shared.join(cols[0])).unwrap();
            let line = text.split(|&b| b == b'\n').nth(n - 1).unwrap().to_vec();
            (
                cols[0].to_string(),
                line,
                cols[2].to_string(),
                cols[3].to_string(),
            )
        })
        .collect();
    Some(rows)
}

/// The log file a sample from `file` goes into (7.x text or 8.x ndjson).
pub fn sample_log_name(file: &str) -> &'static str {
    if file.ends_with(".ndjson") {
        "filebeat-20261126.ndjson"
    } else {
        "filebeat"
    }
}

/// The line with its leading time replaced by `time`.
pub fn at_time(line: &[u8], time: &str) -> Vec<u8> {
    let end = line.iter().position(|&b| b == b'\t' || b == b' ').unwrap();
    let mut v = time.as_bytes().to_vec();
    v.extend_from_slice(&line[end..]);
    v.push(b'\n');
    v
}
