//! Fault injection against the real `logprobe` executable: SIGKILL at random
//! moments, a log truncated while mapped (SIGBUS), a state directory that is
//! unwritable, full or a symbolic link, many runs at once on one state, and
//! hostile input. Each test states its pass condition above it and asserts it.
//!
//! Tests that need root or mounts print why and return when they cannot run.
//! `LOGPROBE_FAULT_KILLS` (default 1000) and `LOGPROBE_FAULT_ROUNDS` (default
//! 1) make the kill and SIGBUS tests longer.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::symlink;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_logprobe");
const STUCK: &str = "Can only start an input when all related states are finished";

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// A small, seedable generator (xorshift64*), so a failure can be replayed
/// with `LOGPROBE_FAULT_SEED`.
struct Rng(u64);

impl Rng {
    fn new(test: &str) -> Rng {
        let seed = std::env::var("LOGPROBE_FAULT_SEED")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| {
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
            });
        println!("{test}: LOGPROBE_FAULT_SEED={seed}");
        Rng(seed | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64
}

fn since_arg(ns: i64) -> String {
    format!("@{}.{:09}", ns / 1_000_000_000, ns % 1_000_000_000)
}

/// A directory on tmpfs when there is one (cheap fsync), else in the default temp dir.
fn fast_tmp() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir()
        && let Ok(d) = tempfile::tempdir_in(shm)
    {
        return d;
    }
    tempfile::tempdir().unwrap()
}

/// A probe setup: a log directory watched 7.x- and 8.x-style, and a state file.
struct Setup {
    logs: PathBuf,
    state: PathBuf,
}

impl Setup {
    fn new(root: &Path) -> Setup {
        let logs = root.join("logs");
        fs::create_dir_all(&logs).unwrap();
        fs::create_dir_all(root.join("state")).unwrap();
        Setup {
            logs,
            state: root.join("state/state.json"),
        }
    }

    fn args(&self, since: i64) -> Vec<OsString> {
        let mut a: Vec<OsString> = vec!["check".into(), "--preset".into(), "none".into()];
        for l in ["filebeat", "filebeat.[0-9]*", "filebeat-*"] {
            a.push("--log".into());
            a.push(self.logs.join(l).into());
        }
        a.extend(["--pattern", STUCK, "--since", &since_arg(since)].map(OsString::from));
        a.push("--state".into());
        a.push(self.state.clone().into());
        a
    }

    fn command(&self, since: i64, extra: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.args(self.args(since)).args(extra);
        if !extra.contains(&"--format") {
            c.args(["--format", "json"]);
        }
        c.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c
    }

    fn state_bytes(&self) -> Option<Vec<u8>> {
        fs::read(&self.state).ok()
    }

    /// The state file parses, or does not exist.
    #[track_caller]
    fn assert_state_parses(&self) {
        if let Some(b) = self.state_bytes()
            && let Err(e) = logprobe::state::parse(&b)
        {
            panic!(
                "state file {} does not parse ({e}): {:?}",
                self.state.display(),
                String::from_utf8_lossy(&b)
            );
        }
    }
}

/// What a finished run said, with its peak memory.
#[derive(Debug)]
struct Ran {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    elapsed: Duration,
    max_rss_kib: i64,
}

impl Ran {
    fn json(&self) -> Value {
        serde_json::from_str(self.stdout.trim()).unwrap_or_else(|e| {
            panic!("stdout is not one JSON object ({e}): {self:?}");
        })
    }
}

fn read_all(mut r: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut v = Vec::new();
        let _ = r.read_to_end(&mut v);
        String::from_utf8_lossy(&v).into_owned()
    })
}

/// The peak RSS of a running process (`VmHWM`), in KiB.
fn peak_rss_kib(pid: nix::libc::pid_t) -> Option<i64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Runs a command to its end (SIGKILL after `timeout`), with its peak RSS.
///
/// The peak is the larger of `wait4`'s `ru_maxrss` and `VmHWM` sampled while
/// it runs; `ru_maxrss` alone would do, but Linux counts into it the memory
/// of the parent at the moment of `exec`, and this test process is large.
/// So `ru_maxrss` is used only while the test process itself is small.
fn run(mut cmd: Command, timeout: Duration) -> Ran {
    let started = Instant::now();
    let mut child = cmd.spawn().unwrap();
    let out = read_all(child.stdout.take().unwrap());
    let err = read_all(child.stderr.take().unwrap());
    let pid = child.id() as nix::libc::pid_t;
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value of this plain C struct.
    let mut usage: nix::libc::rusage = unsafe { std::mem::zeroed() };
    let own = peak_rss_kib(std::process::id() as nix::libc::pid_t).unwrap_or(i64::MAX);
    let mut sampled = 0;
    loop {
        if let Some(kib) = peak_rss_kib(pid) {
            sampled = sampled.max(kib);
        }
        // SAFETY: `status` and `usage` are valid for writes; the pid is our
        // child, not yet reaped (only this loop reaps it), so it cannot be reused.
        let r = unsafe { nix::libc::wait4(pid, &mut status, nix::libc::WNOHANG, &mut usage) };
        if r == pid {
            break;
        }
        assert!(r == 0, "wait4: {}", std::io::Error::last_os_error());
        if started.elapsed() > timeout {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        thread::sleep(Duration::from_micros(200));
    }
    let elapsed = started.elapsed();
    drop(child); // already reaped: dropping does not wait
    let status = std::process::ExitStatus::from_raw(status);
    Ran {
        code: status.code(),
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
        elapsed,
        max_rss_kib: if own < 32 << 10 {
            usage.ru_maxrss.max(sampled)
        } else {
            sampled
        },
    }
}

fn benign(i: usize) -> String {
    format!(
        "2026-11-26T10:00:00.000Z\tINFO\t[monitoring]\tlog/log.go:145\tNon-zero metrics {i:08}\n"
    )
}

fn stuck(id: &str) -> String {
    format!(
        "2026-11-26T10:02:11.386Z\tERROR\t[autodiscover]\tcfgfile/list.go:95\tError creating runner from config: {STUCK} {id}\n"
    )
}

fn append(path: &Path, bytes: &[u8]) {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap()
        .write_all(bytes)
        .unwrap();
}

/// Filebeat 7.x's rename chain, keeping everything (no deletion).
fn rotate_7x(logs: &Path) {
    let mut n = 0;
    while logs.join(format!("filebeat.{}", n + 1)).exists() {
        n += 1;
    }
    for i in (1..=n).rev() {
        fs::rename(
            logs.join(format!("filebeat.{i}")),
            logs.join(format!("filebeat.{}", i + 1)),
        )
        .unwrap();
    }
    if logs.join("filebeat").exists() {
        fs::rename(logs.join("filebeat"), logs.join("filebeat.1")).unwrap();
    }
    File::create(logs.join("filebeat")).unwrap();
}

/// Emulated Filebeat for the concurrent tests: appends benign lines in
/// pieces, rotating by rename, and plants stuck lines on request.
struct Writer {
    stop: Arc<AtomicBool>,
    /// Set to a line id to plant; the writer clears it and, once the line is
    /// whole on disk, records when the write of its last piece began.
    plant: Arc<Mutex<Option<String>>>,
    planted: Arc<Mutex<Vec<(String, Instant)>>>,
    handle: Option<thread::JoinHandle<()>>,
}

impl Writer {
    fn start(logs: PathBuf, seed: u64) -> Writer {
        let stop = Arc::new(AtomicBool::new(false));
        let plant: Arc<Mutex<Option<String>>> = Arc::new(Mutex::new(None));
        let planted = Arc::new(Mutex::new(Vec::new()));
        let (s, p, d) = (stop.clone(), plant.clone(), planted.clone());
        let handle = thread::spawn(move || {
            let mut rng = Rng(seed | 1);
            let mut i = 0;
            let mut size = 0usize;
            while !s.load(Ordering::Relaxed) {
                let planting = p.lock().unwrap().take();
                let line = match &planting {
                    Some(id) => stuck(id),
                    None => benign(i),
                };
                i += 1;
                // A line in up to three writes, as a slow writer may leave it.
                let bytes = line.as_bytes();
                let cut1 = rng.below(bytes.len() as u64) as usize;
                let cut2 = cut1 + rng.below((bytes.len() - cut1) as u64) as usize;
                let mut last_write = Instant::now();
                for piece in [&bytes[..cut1], &bytes[cut1..cut2], &bytes[cut2..]] {
                    if rng.below(4) == 0 {
                        thread::sleep(Duration::from_micros(rng.below(300)));
                    }
                    last_write = Instant::now();
                    append(&logs.join("filebeat"), piece);
                }
                if let Some(id) = planting {
                    // No run can have the whole line before its last piece's write began.
                    d.lock().unwrap().push((id, last_write));
                }
                size += bytes.len();
                if size > 16 << 10 {
                    rotate_7x(&logs);
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
    fn plant(&self, id: &str) -> Instant {
        *self.plant.lock().unwrap() = Some(id.to_string());
        loop {
            if let Some((_, at)) = self.planted.lock().unwrap().iter().find(|(p, _)| p == id) {
                return *at;
            }
            thread::sleep(Duration::from_micros(100));
        }
    }

    fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.take().unwrap().join().unwrap();
    }
}

/// One finished (not killed) run seen by the kill test.
struct Finished {
    ended: Instant,
    code: Option<i32>,
    stdout: String,
}

/// (a) SIGKILL at random moments of real runs, several in flight, while a
/// writer appends (lines cut into pieces) and rotates by rename.
///
/// Pass: at least `LOGPROBE_FAULT_KILLS` (default 1000) runs are killed
/// mid-run; after every kill the state file parses (never half-written);
/// with `--threshold 2`, every run that finished before the last write of
/// the second stuck line of its incarnation began exited 0 (a first stuck
/// line counted twice would trip: a doubled trip), every run that exited 1 names the
/// second stuck line (count 2), and an undisturbed run at the end of each
/// incarnation exits 1 naming it (no missed trip).
#[test]
fn sigkill_at_random_moments_never_corrupts_nor_misses_nor_doubles() {
    const TWO: &[&str] = &["--threshold", "2"];
    let wanted = env_number("LOGPROBE_FAULT_KILLS", 1000);
    let mut rng = Rng::new("sigkill");
    let root = fast_tmp();
    let s = Arc::new(Setup::new(root.path()));

    // How long an undisturbed run takes, to aim the kills.
    File::create(s.logs.join("filebeat")).unwrap();
    let mut typical = Duration::ZERO;
    for _ in 0..5 {
        let r = run(s.command(now_ns(), TWO), Duration::from_secs(30));
        typical = typical.max(r.elapsed);
    }
    let aim_us = (typical.as_micros() as u64 * 3 / 2).max(2_000);

    let kills = Arc::new(AtomicUsize::new(0));
    let mut incarnation = 0;
    while kills.load(Ordering::Relaxed) < wanted || incarnation < 3 {
        incarnation += 1;
        assert!(incarnation < 200, "too few kills landed: {kills:?}");
        // A new incarnation: Filebeat restarts, rotating on startup. File
        // times come from a clock that may lag a tick: keep clear of `since`.
        thread::sleep(Duration::from_millis(20));
        let since = now_ns();
        thread::sleep(Duration::from_millis(20));
        rotate_7x(&s.logs);
        let writer = Writer::start(s.logs.clone(), rng.next());
        let finished: Arc<Mutex<Vec<Finished>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let killers: Vec<_> = (0..4)
            .map(|k| {
                let (s, kills, finished, stop) =
                    (s.clone(), kills.clone(), finished.clone(), stop.clone());
                let mut rng = Rng(rng.next() ^ k);
                thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        let mut child: Child = s.command(since, TWO).spawn().unwrap();
                        thread::sleep(Duration::from_micros(rng.below(aim_us)));
                        let _ = child.kill();
                        let status = child.wait().unwrap();
                        let mut stdout = String::new();
                        let _ = child.stdout.take().unwrap().read_to_string(&mut stdout);
                        if status.signal() == Some(9) {
                            kills.fetch_add(1, Ordering::Relaxed);
                        } else {
                            finished.lock().unwrap().push(Finished {
                                ended: Instant::now(),
                                code: status.code(),
                                stdout,
                            });
                        }
                        s.assert_state_parses();
                    }
                })
            })
            .collect();
        let first = format!("first-{incarnation}");
        let second = format!("second-{incarnation}");
        let target = kills.load(Ordering::Relaxed) + wanted / 4 + 1;
        let wait_kills = |n: usize| {
            let t = Instant::now();
            while kills.load(Ordering::Relaxed) < n && t.elapsed() < Duration::from_secs(60) {
                thread::sleep(Duration::from_millis(5));
            }
        };
        wait_kills(target - wanted / 8);
        writer.plant(&first);
        wait_kills(target);
        let second_at = writer.plant(&second);
        wait_kills(target + wanted / 8);
        stop.store(true, Ordering::Relaxed);
        for k in killers {
            k.join().unwrap();
        }
        writer.stop();

        for f in finished.lock().unwrap().iter() {
            match f.code {
                Some(0) => {}
                Some(1) => {
                    assert!(
                        f.ended > second_at,
                        "a trip before the second stuck line was written: {}",
                        f.stdout
                    );
                    assert!(
                        f.stdout.contains(&second) && f.stdout.contains("\"count\":2"),
                        "a trip on the wrong line (a doubled count?): {}",
                        f.stdout
                    );
                }
                other => panic!("exit {other:?}: {}", f.stdout),
            }
        }
        let last = run(s.command(since, TWO), Duration::from_secs(30));
        assert_eq!(last.code, Some(1), "missed trip: {last:?}");
        let j = last.json();
        assert!(
            j["match"]["line"].as_str().unwrap().contains(&second) && j["match"]["count"] == 2,
            "{last:?}"
        );
    }
    println!(
        "{} kills over {incarnation} incarnations (aim 0–{aim_us} µs)",
        kills.load(Ordering::Relaxed)
    );
}

/// (b) A log file truncated while mapped (SIGBUS), at random moments of the
/// scan of a 64 MiB file.
///
/// Pass: every run exits 0 under `--on-error pass` (never 1: the file holds
/// no stuck line); a run that reports the truncation leaves the state file
/// byte for byte as it was; the next run, after a stuck line is appended at
/// the truncation point, exits 1 naming that offset; and at least one run
/// met the SIGBUS (else the test proved nothing).
#[test]
fn file_truncated_while_mapped_is_never_a_false_failure() {
    let rounds = 10 * env_number("LOGPROBE_FAULT_ROUNDS", 1);
    let mut rng = Rng::new("sigbus");
    let root = fast_tmp();
    let s = Setup::new(root.path());
    let log = s.logs.join("filebeat");
    // 64-byte lines, so the truncation point is a line boundary; each file
    // opens with its own line, as Filebeat's open with their own timestamps.
    let line = format!("{:<63}\n", "2026-11-26T10:00:00.000Z\tINFO\tbenign");
    let block = line.repeat((1 << 20) / 64);
    let make_log = |n: usize| {
        let _ = fs::remove_file(&log);
        let mut f = File::create(&log).unwrap();
        let first = format!("2026-11-26T10:00:00.000Z\tINFO\tlog file {n}");
        f.write_all(format!("{first:<63}\n").as_bytes()).unwrap();
        f.write_all(&block.as_bytes()[64..]).unwrap();
        for _ in 1..64 {
            f.write_all(block.as_bytes()).unwrap();
        }
    };
    let keep = 4096u64;

    // How long an undisturbed scan of the whole file takes.
    make_log(rounds);
    let mut since = now_ns() - 1_000_000_000;
    let full = run(
        s.command(since, &["--budget", "60s"]),
        Duration::from_secs(120),
    );
    assert_eq!(full.code, Some(0), "{full:?}");
    let scan_us = full.elapsed.as_micros() as u64;

    let mut sigbus = 0;
    for round in 0..rounds {
        since = now_ns() - 1_000_000_000;
        make_log(round);
        let before = s.state_bytes();
        let child = s.command(since, &["--budget", "60s"]).spawn().unwrap();
        thread::sleep(Duration::from_micros(
            scan_us / 20 + rng.below(scan_us * 9 / 10),
        ));
        OpenOptions::new()
            .write(true)
            .open(&log)
            .unwrap()
            .set_len(keep)
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "round {round}: {out:?}");
        if stdout.contains("truncated while being read") {
            sigbus += 1;
            assert_eq!(
                s.state_bytes(),
                before,
                "round {round}: state changed by a SIGBUS run"
            );
        }
        s.assert_state_parses();
        append(&log, stuck(&format!("after-{round}")).as_bytes());
        let next = run(s.command(since, &[]), Duration::from_secs(30));
        assert_eq!(next.code, Some(1), "round {round}: {next:?}");
        assert_eq!(next.json()["match"]["offset"], keep, "{next:?}");
    }
    println!("{sigbus} of {rounds} runs met SIGBUS (scan {scan_us} µs)");
    assert!(sigbus > 0, "no run met the truncation while mapped");
}

/// A mount that is undone when dropped.
struct Mount(PathBuf);

impl Mount {
    /// Runs `mount ARGS TARGET`; `None` (with the reason printed) when it fails.
    fn new(args: &[&str], target: &Path) -> Option<Mount> {
        let out = Command::new("mount").args(args).arg(target).output();
        match out {
            Ok(o) if o.status.success() => Some(Mount(target.to_path_buf())),
            Ok(o) => {
                println!(
                    "skipping: mount {args:?} failed: {}",
                    String::from_utf8_lossy(&o.stderr).trim()
                );
                None
            }
            Err(e) => {
                println!("skipping: cannot run mount: {e}");
                None
            }
        }
    }
}

impl Mount {
    /// Changes the mount's options; false (with the reason printed) when it fails.
    fn remount(&self, options: &str) -> bool {
        let out = Command::new("mount")
            .args(["-o", options])
            .arg(&self.0)
            .output();
        match out {
            Ok(o) if o.status.success() => true,
            Ok(o) => {
                println!(
                    "skipping: mount -o {options} failed: {}",
                    String::from_utf8_lossy(&o.stderr).trim()
                );
                false
            }
            Err(e) => {
                println!("skipping: cannot run mount: {e}");
                false
            }
        }
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Runs a check with both `--on-error` modes and asserts: exit 0 with pass
/// and 3 with fail, a warning on stderr naming the state path and `why`.
#[track_caller]
fn assert_could_not_check(s: &Setup, since: i64, why: &str) {
    for (mode, code) in [("pass", 0), ("fail", 3)] {
        let r = run(
            s.command(since, &["--on-error", mode, "--format", "text"]),
            Duration::from_secs(30),
        );
        assert_eq!(r.code, Some(code), "--on-error {mode}: {r:?}");
        assert!(
            r.stderr.contains(&*s.state.to_string_lossy()) && r.stderr.contains(why),
            "--on-error {mode}: stderr lacks the path or {why:?}: {r:?}"
        );
        assert!(
            r.stdout.starts_with(if code == 0 {
                "HEALTHY: could not check"
            } else {
                "ERROR: could not check"
            }),
            "{r:?}"
        );
    }
}

/// (c) The state directory is a regular file, read-only (a read-only bind
/// mount, as root), full (a small tmpfs, as root), or the state path is a
/// symbolic link to another file.
///
/// Pass: in each case exit 0 with `--on-error pass` and 3 with
/// `--on-error fail`, a warning on stderr naming the state path and the
/// reason, and whatever the path leads to (the file, the old state, the
/// symlink's target) left untouched.
#[test]
fn state_directory_trouble_is_reported_per_on_error() {
    let root = tempfile::tempdir().unwrap();
    let s = Setup::new(root.path());
    append(&s.logs.join("filebeat"), benign(1).as_bytes());
    let since = now_ns() - 60_000_000_000;

    // A file where the state directory should be.
    let file_dir = root.path().join("not-a-dir");
    fs::write(&file_dir, b"keep me").unwrap();
    let blocked = Setup {
        logs: s.logs.clone(),
        state: file_dir.join("state.json"),
    };
    assert_could_not_check(&blocked, since, "Not a directory");
    assert_eq!(fs::read(&file_dir).unwrap(), b"keep me");

    // The state path a symbolic link to another file.
    let precious = root.path().join("precious");
    fs::write(&precious, b"not a state").unwrap();
    let link = Setup {
        logs: s.logs.clone(),
        state: root.path().join("state/link.json"),
    };
    symlink(&precious, &link.state).unwrap();
    assert_could_not_check(&link, since, "symbolic link");
    assert_eq!(fs::read(&precious).unwrap(), b"not a state");
    assert!(fs::symlink_metadata(&link.state).unwrap().is_symlink());

    if !is_root() {
        println!("skipping the read-only and full cases: they need root (mount)");
        return;
    }

    // Read-only: a state written earlier stays as it was.
    let ro_dir = root.path().join("ro");
    fs::create_dir(&ro_dir).unwrap();
    let ro = Setup {
        logs: s.logs.clone(),
        state: ro_dir.join("state.json"),
    };
    let first = run(ro.command(since, &[]), Duration::from_secs(30));
    assert_eq!(first.code, Some(0), "{first:?}");
    append(&s.logs.join("filebeat"), benign(2).as_bytes());
    let saved = ro.state_bytes().unwrap();
    if let Some(bind) = Mount::new(&["--bind", &ro_dir.to_string_lossy()], &ro_dir)
        && bind.remount("remount,bind,ro")
    {
        assert_could_not_check(&ro, since, "Read-only file system");
        assert_eq!(ro.state_bytes().unwrap(), saved);
        println!("read-only state directory: checked");
    }

    // Full: a 64 KiB tmpfs filled to the last byte; the old state stays.
    let full_dir = root.path().join("full");
    fs::create_dir(&full_dir).unwrap();
    if let Some(_tmpfs) = Mount::new(&["-t", "tmpfs", "-o", "size=64k", "tmpfs"], &full_dir) {
        let full = Setup {
            logs: s.logs.clone(),
            state: full_dir.join("state.json"),
        };
        let first = run(full.command(since, &[]), Duration::from_secs(30));
        assert_eq!(first.code, Some(0), "{first:?}");
        append(&s.logs.join("filebeat"), benign(3).as_bytes());
        let saved = full.state_bytes().unwrap();
        let mut filler = File::create(full_dir.join("filler")).unwrap();
        let page = [b'x'; 4096];
        while filler.write_all(&page).is_ok() {}
        let _ = filler.write_all(&page[..1]);
        assert_could_not_check(&full, since, "No space left on device");
        assert_eq!(full.state_bytes().unwrap(), saved);
        println!("full state directory: checked");
    }
}

/// (d) Ten runs at once on one state, in 24 waves, while a writer appends
/// and rotates; a stuck line appears in some waves, and the incarnation
/// changes every six waves.
///
/// Pass: the state always parses; every run exits 0 or 1; a run that ended
/// before the last write of the incarnation's stuck line began exits 0; every run that
/// exits 1 names that line; and after a wave that planted it, an
/// undisturbed run exits 1 naming it.
#[test]
fn many_runs_at_once_on_one_state() {
    let mut rng = Rng::new("concurrent");
    let root = fast_tmp();
    let s = Arc::new(Setup::new(root.path()));
    let mut writer: Option<Writer> = None;
    let mut since = 0;
    let mut planted: Option<(String, Instant)> = None;
    for wave in 0..24 {
        if wave % 6 == 0 {
            // Filebeat restarts: a new incarnation, rotating on startup.
            if let Some(w) = writer.take() {
                w.stop();
            }
            thread::sleep(Duration::from_millis(20));
            since = now_ns();
            thread::sleep(Duration::from_millis(20));
            rotate_7x(&s.logs);
            writer = Some(Writer::start(s.logs.clone(), rng.next()));
            planted = None;
        }
        let writer = writer.as_ref().unwrap();
        let plant_now = planted.is_none() && rng.below(3) == 0;
        let runs: Vec<_> = (0..10)
            .map(|_| {
                let s = s.clone();
                thread::spawn(move || {
                    let r = run(s.command(since, &[]), Duration::from_secs(60));
                    (Instant::now(), r)
                })
            })
            .collect();
        if plant_now {
            thread::sleep(Duration::from_micros(rng.below(20_000)));
            let id = format!("wave-{wave}");
            let at = writer.plant(&id);
            planted = Some((id, at));
        }
        for h in runs {
            let (ended, r) = h.join().unwrap();
            match (r.code, &planted) {
                (Some(0), _) => {}
                (Some(1), Some((id, at))) => {
                    assert!(ended > *at, "wave {wave}: a trip before the line: {r:?}");
                    assert!(r.stdout.contains(id.as_str()), "wave {wave}: {r:?}");
                }
                _ => panic!("wave {wave}: {r:?} (planted {planted:?})"),
            }
            s.assert_state_parses();
        }
        if let Some((id, _)) = &planted {
            let r = run(s.command(since, &[]), Duration::from_secs(60));
            assert_eq!(r.code, Some(1), "wave {wave}: missed trip: {r:?}");
            assert!(r.stdout.contains(id.as_str()), "wave {wave}: {r:?}");
        }
    }
    if let Some(w) = writer {
        w.stop();
    }
}

/// (e1) A 1 GiB line with no newline (a sparse file), then its newline
/// after a stuck message at its very end.
///
/// Pass: every run ends within 3 s (a 400 ms budget, startup and a debug
/// build's slack) with a peak RSS under 64 MiB (4 MiB map windows); the runs
/// together scan the whole line within 300 runs; the stuck message at its
/// end trips the probe at offset 0.
#[test]
fn a_one_gib_line_without_newline_is_bounded() {
    let root = tempfile::tempdir().unwrap();
    let s = Setup::new(root.path());
    let log = s.logs.join("filebeat");
    let f = File::create(&log).unwrap();
    f.set_len(1 << 30).unwrap();
    drop(f);
    let since = now_ns() - 60_000_000_000;
    let mut runs = 0;
    loop {
        let r = run(s.command(since, &[]), Duration::from_secs(30));
        runs += 1;
        assert_eq!(r.code, Some(0), "{r:?}");
        assert!(
            r.elapsed < Duration::from_secs(3),
            "run {runs} took {:?}",
            r.elapsed
        );
        assert!(
            r.max_rss_kib < 64 << 10,
            "run {runs}: peak RSS {} KiB",
            r.max_rss_kib
        );
        if r.json()["pending_bytes"] == 0 {
            break;
        }
        assert!(
            runs < 300,
            "the 1 GiB line is not scanned after {runs} runs"
        );
    }
    append(&log, format!("{STUCK}\n").as_bytes());
    let r = run(s.command(since, &[]), Duration::from_secs(30));
    assert_eq!(r.code, Some(1), "{r:?}");
    assert_eq!(r.json()["match"]["offset"], 0);
    assert!(r.max_rss_kib < 64 << 10, "peak RSS {} KiB", r.max_rss_kib);
    println!("1 GiB line scanned in {runs} runs");
}

/// (e2) NUL bytes and invalid UTF-8 around and between matches.
///
/// Pass: lines of NULs and invalid UTF-8 never trip; the stuck line holding
/// them trips at its offset; the report is valid UTF-8 JSON whose line shows
/// the bytes escaped (`\u{0}`, `\xff`); the text line stays under 1 KiB.
#[test]
fn nul_bytes_and_invalid_utf8() {
    let root = tempfile::tempdir().unwrap();
    let s = Setup::new(root.path());
    let log = s.logs.join("filebeat");
    let since = now_ns() - 60_000_000_000;
    let noise: Vec<u8> = [
        &b"\0\0\xff\xfe\xc3("[..],
        &[0u8; 300],
        b"\n",
        &[0xff; 2000],
        b"\n",
    ]
    .concat();
    append(&log, &noise);
    let r = run(s.command(since, &[]), Duration::from_secs(30));
    assert_eq!(r.code, Some(0), "{r:?}");
    let offset = fs::metadata(&log).unwrap().len();
    let line = [
        &b"\0\xff\t"[..],
        STUCK.as_bytes(),
        b"\0\xc3\x28",
        &[0xff; 3000],
        b"\n",
    ]
    .concat();
    append(&log, &line);
    let r = run(s.command(since, &[]), Duration::from_secs(30));
    assert_eq!(r.code, Some(1), "{r:?}");
    let j = r.json();
    assert_eq!(j["match"]["offset"], offset);
    let shown = j["match"]["line"].as_str().unwrap();
    assert!(shown.starts_with("\\u{0}\\xff\\t"), "{shown}");
    let text = run(
        s.command(since, &["--format", "text"]),
        Duration::from_secs(30),
    );
    assert_eq!(text.code, Some(1));
    let first = text.stdout.lines().next().unwrap();
    assert!(first.len() < 1024, "{} bytes: {first}", first.len());
}

/// (e3) 100 000 rotated files in the log directory, one line each, then a
/// stuck line in the current file.
///
/// Pass: every run ends within 10 s (debug build) with a peak RSS under
/// 256 MiB; the state file stays under 2 MiB; within 30 runs the probe
/// trips on the stuck line in the current file, and on nothing else.
#[test]
fn a_hundred_thousand_rotated_files() {
    let root = fast_tmp();
    let s = Setup::new(root.path());
    for i in 1..=100_000 {
        fs::write(s.logs.join(format!("filebeat.{i}")), benign(i)).unwrap();
    }
    let since = now_ns() - 60_000_000_000;
    append(&s.logs.join("filebeat"), stuck("current").as_bytes());
    let mut tripped = None;
    for runs in 1..=30 {
        let r = run(s.command(since, &[]), Duration::from_secs(60));
        assert!(
            r.elapsed < Duration::from_secs(10),
            "run {runs} took {:?}",
            r.elapsed
        );
        assert!(
            r.max_rss_kib < 256 << 10,
            "run {runs}: peak RSS {} KiB",
            r.max_rss_kib
        );
        let size = fs::metadata(&s.state).map(|m| m.len()).unwrap_or(0);
        assert!(size < 2 << 20, "state is {size} bytes");
        match r.code {
            Some(0) => {}
            Some(1) => {
                tripped = Some(r);
                break;
            }
            _ => panic!("{r:?}"),
        }
    }
    let r = tripped.expect("no trip within 30 runs");
    assert!(r.stdout.contains("current"), "{r:?}");
}

/// (e4) A patterns file of 10 000 patterns.
///
/// Pass: a run over 1 MiB of benign lines ends within 5 s (debug build) with
/// a peak RSS under 256 MiB and exits 0; a line holding the last pattern trips.
#[test]
fn ten_thousand_patterns() {
    let root = tempfile::tempdir().unwrap();
    let s = Setup::new(root.path());
    let pf = root.path().join("patterns.txt");
    let pats: String = (0..10_000)
        .map(|i| format!("stuck message number {i:05} seen\n"))
        .collect();
    fs::write(&pf, pats).unwrap();
    let log = s.logs.join("filebeat");
    let body: String = (0..12_000).map(benign).collect();
    append(&log, body.as_bytes());
    let since = now_ns() - 60_000_000_000;
    let pf_arg = pf.to_string_lossy().into_owned();
    let r = run(
        s.command(since, &["--patterns-file", &pf_arg]),
        Duration::from_secs(60),
    );
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(r.elapsed < Duration::from_secs(5), "took {:?}", r.elapsed);
    assert!(r.max_rss_kib < 256 << 10, "peak RSS {} KiB", r.max_rss_kib);
    append(&log, b"x stuck message number 09999 seen\n");
    let r = run(
        s.command(since, &["--patterns-file", &pf_arg]),
        Duration::from_secs(60),
    );
    assert_eq!(r.code, Some(1), "{r:?}");
    assert_eq!(
        r.json()["match"]["pattern"],
        "stuck message number 09999 seen"
    );
    println!("10 000 patterns: {:?}, {} KiB", r.elapsed, r.max_rss_kib);
}
