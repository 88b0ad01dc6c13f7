//! Restarts that cure, and only those (SPEC §3b): after a restart no line
//! the earlier incarnation wrote counts, a small file's copytruncate copy is
//! read once, a restart is a new incarnation whoever shares the PID
//! namespace, and the crash-loop guard stops a restart that does not cure,
//! with `logprobe ready` saying why.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread::sleep;
use std::time::{Duration, SystemTime};

use crate::util::{BIN, Env, STUCK, at_ns, benign_7x, cri_now, now_7x, now_ns, stuck_7x};

/// `--since` at this moment: a restart now. Lines written so far are older
/// (their times have millisecond precision), and so are the files: a file's
/// modification time comes from the kernel's coarse clock, up to a tick
/// (10 ms) behind, so the new incarnation writes 25 ms later (a real
/// Filebeat takes far longer to start).
fn restart_now() -> String {
    sleep(Duration::from_millis(25));
    let since = format!("--since={}", at_ns(now_ns()));
    sleep(Duration::from_millis(25));
    since
}

/// Filebeat 8.x's autodiscover error, written now (ndjson).
fn stuck_8x_now() -> String {
    format!(
        "{{\"log.level\":\"error\",\"@timestamp\":\"{}\",\"log.logger\":\"autodiscover\",\"message\":\"Error creating runner from config: {STUCK}\",\"service.name\":\"filebeat\"}}\n",
        now_7x()
    )
}

#[test]
fn a_7x_file_that_keeps_growing_across_a_restart_trips_only_on_new_lines() {
    let e = Env::new();
    let first = restart_now();
    e.logs.append("filebeat", benign_7x(1));
    e.logs.append("filebeat", stuck_7x());
    e.check(&[&first]).expect(1);
    // The old incarnation goes on logging the same error after its last
    // run, then is restarted; Filebeat does not rotate at start-up here.
    for _ in 0..3 {
        e.logs.append("filebeat", stuck_7x());
    }
    let second = restart_now();
    e.logs.append("filebeat", benign_7x(2));
    e.check(&[&second])
        .expect(0)
        .stdout_has("HEALTHY: no match in");
    e.check(&[&second]).expect(0);
    // What the new incarnation logs counts.
    let at = e.logs.size("filebeat");
    e.logs.append("filebeat", stuck_7x());
    e.check(&[&second])
        .expect(1)
        .stdout_has(&format!("at byte {at} "));
}

#[test]
fn an_8x_file_that_keeps_growing_across_a_restart_trips_only_on_new_lines() {
    let e = Env::new();
    let name = e.logs.rotate_8x("20261201");
    let first = restart_now();
    e.logs.append(&name, stuck_8x_now());
    e.check(&[&first]).expect(1);
    e.logs.append(&name, stuck_8x_now());
    e.logs.append(&name, stuck_8x_now());
    let second = restart_now();
    e.check(&[&second]).expect(0);
    let at = e.logs.size(&name);
    e.logs.append(&name, stuck_8x_now());
    e.check(&[&second])
        .expect(1)
        .stdout_has(&format!("at byte {at} "));
}

#[test]
fn pod_log_records_from_before_the_restart_never_count() {
    let e = Env::node(true);
    let first = restart_now();
    e.pods.append("0.log", cri_now("stderr", "F", "starting"));
    e.run(&[&first]).expect(0);
    // Records the runtime wrote before the restart, in a file touched since.
    let one_shot = crate::util::one_shot_7x();
    e.pods.append("0.log", cri_now("stderr", "F", &one_shot));
    let second = restart_now();
    e.pods.set_mtime("0.log", SystemTime::now());
    e.run(&[&second]).expect(0);
    // The same failure, logged by the new incarnation, trips.
    e.pods.append("1.log", cri_now("stderr", "F", &one_shot));
    e.run(&[&second])
        .expect(1)
        .stdout_has("add_kubernetes_metadata");
}

/// Lines without a time of their own: a tripped run reads on without
/// counting, so only what was written after the last run before the
/// restart counts after it (the bound the README states).
#[test]
fn lines_without_a_time_count_after_a_restart_only_when_written_after_the_last_run() {
    let e = Env::new();
    let line = |n: u32| format!("worker {n}: {STUCK}\n");
    let app = |since: &str| {
        e.run(&[
            "--preset",
            "none",
            "-l",
            &e.logs.file("app.log").display().to_string(),
            "-p",
            STUCK,
            since,
        ])
    };
    let first = restart_now();
    e.logs.append("app.log", line(1));
    app(&first).expect(1).stdout_has("worker 1");
    // More of them while tripped: the sticky runs read them without counting.
    e.logs.append("app.log", line(2).repeat(3));
    app(&first).expect(1).stdout_has("worker 1");
    let second = restart_now();
    app(&second).expect(0);
    // Written after the last run of the old incarnation, before the restart:
    // the one probe period at risk. It counts when the new incarnation writes
    // to the file before its first run (a file untouched since the start is
    // skipped whole).
    e.logs.append("app.log", line(3));
    let third = restart_now();
    e.logs.append("app.log", "worker 4: fine\n");
    app(&third).expect(1).stdout_has("worker 3");
    e.logs.append("app.log", line(5));
    let fourth = restart_now();
    app(&fourth).expect(0);
    e.logs.append("app.log", "worker 6: fine\n");
    app(&fourth).expect(0);
}

#[test]
fn a_small_files_copytruncate_copy_is_read_once() {
    let e = Env::new();
    let log = e.logs.file("app.log").display().to_string();
    let glob = format!("{log}*");
    let check = || e.run(&["--preset", "none", "-l", &glob, "-p", STUCK, "-t", "3"]);
    e.logs.append("app.log", format!("one {STUCK}\n"));
    check().expect(0).stdout_has("1 of 3");
    // logrotate's copytruncate: copy (after one more line), then truncate.
    e.logs.append("app.log", format!("two {STUCK}\n"));
    fs::copy(e.logs.file("app.log"), e.logs.file("app.log.1")).unwrap();
    e.logs.truncate("app.log");
    assert!(e.logs.size("app.log.1") < 1024);
    check().expect(0).stdout_has("2 of 3");
    e.logs.append("app.log", format!("three {STUCK}\n"));
    check().expect(1).stdout_has("3 matching lines");
}

#[test]
fn two_small_files_that_begin_alike_are_not_taken_for_each_other() {
    let e = Env::new();
    let glob = format!("{}*", e.logs.file("app.log").display());
    let check = || e.run(&["--preset", "none", "-l", &glob, "-p", STUCK, "-t", "3"]);
    let first = format!("started {STUCK}\n");
    e.logs.append("app.log", &first);
    check().expect(0).stdout_has("1 of 3");
    // A new file begins with the same line, and the first is deleted: the
    // new one is new, read whole. (Made first, it has an inode of its own: a
    // file under the old inode that begins alike is the old one renamed.)
    e.logs.append("app.log.new", format!("{first}benign\n"));
    fs::remove_file(e.logs.file("app.log")).unwrap();
    check().expect(0).stdout_has("2 of 3");
    // And a small file still whole beside a new one that begins like it.
    let f = Env::new();
    let glob = format!("{}*", f.logs.file("app.log").display());
    let check = || f.run(&["--preset", "none", "-l", &glob, "-p", STUCK, "-t", "3"]);
    f.logs.append("app.log", &first);
    check().expect(0).stdout_has("1 of 3");
    f.logs.append("app.log.new", format!("{first}benign\n"));
    check().expect(0).stdout_has("2 of 3");
}

// ---------------------------------------------------------------------------
// The incarnation, whoever shares the PID namespace

/// A fake `/proc`: processes with a start time (in clock ticks since boot),
/// a cgroup and a mount namespace.
struct FakeProc(PathBuf);

impl FakeProc {
    fn new(e: &Env) -> FakeProc {
        let p = FakeProc(e.root().join("proc-fake"));
        let random = p.0.join("sys/kernel/random");
        fs::create_dir_all(&random).unwrap();
        fs::write(
            random.join("boot_id"),
            "6a1e0d6c-0000-4000-8000-000000000001\n",
        )
        .unwrap();
        p
    }

    /// Process `pid`, started `ticks` after boot, in container `mnt` (its
    /// cgroup and mount namespace; `None`: a node process whose namespace
    /// cannot be read).
    fn process(&self, pid: u32, ticks: u64, mnt: Option<u64>) -> &Self {
        self.process_in(pid, ticks, mnt.unwrap_or(99), mnt.is_some())
    }

    /// Process `pid` of container `group`, whose mount namespace can be read or not.
    fn process_in(&self, pid: u32, ticks: u64, group: u64, ns_readable: bool) -> &Self {
        let dir = self.0.join(pid.to_string());
        fs::create_dir_all(dir.join("ns")).unwrap();
        fs::write(
            dir.join("stat"),
            format!(
                "{pid} (proc {pid}) S 0 1 1 0 -1 4194560 1 2 3 4 5 6 7 8 20 0 1 0 {ticks} 100 200\n"
            ),
        )
        .unwrap();
        fs::write(dir.join("cgroup"), format!("0::/kubepods/pod/c{group}\n")).unwrap();
        if ns_readable {
            symlink(format!("mnt:[{group}]"), dir.join("ns/mnt")).unwrap();
        }
        self
    }

    fn remove(&self, pid: u32) -> &Self {
        fs::remove_dir_all(self.0.join(pid.to_string())).unwrap();
        self
    }

    /// The probe itself is `pid`.
    fn me(&self, pid: u32) -> &Self {
        let link = self.0.join("self");
        let _ = fs::remove_file(&link);
        symlink(pid.to_string(), link).unwrap();
        self
    }

    fn arg(&self) -> String {
        format!("--proc-root={}", self.0.display())
    }
}

/// A check with this container's own incarnation (no `--since`), read from `proc`.
fn check_in(e: &Env, proc: &FakeProc) -> crate::util::Run {
    let mut cmd = Command::new(BIN);
    cmd.args(["--preset", "none", "-p", STUCK, "--format", "json"])
        .args(e.preset_log_args())
        .arg("-s")
        .arg(e.state())
        .arg(proc.arg());
    e.exec(cmd)
}

fn incarnation_id(e: &Env) -> String {
    e.state_json()["incarnation_id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn with_share_process_namespace_a_restart_is_a_new_incarnation() {
    let e = Env::new();
    let proc = FakeProc::new(&e);
    // PID 1 is the pod's pause process, in a mount namespace of its own.
    proc.process(1, 100, Some(1))
        .process(7, 200, Some(2))
        .process(9, 300, Some(2))
        .me(9);
    e.logs.append("filebeat", stuck_7x());
    let r = check_in(&e, &proc);
    assert_eq!(r.code(), 1, "{r}");
    assert!(
        incarnation_id(&e).ends_with(":7:200"),
        "{}",
        incarnation_id(&e)
    );
    assert_eq!(
        check_in(&e, &proc).code(),
        1,
        "sticky in the same container"
    );
    // Filebeat's container restarts; the pause process stays.
    proc.remove(7)
        .remove(9)
        .process(12, 500, Some(3))
        .process(14, 600, Some(3))
        .me(14);
    let r = check_in(&e, &proc);
    assert_eq!(
        r.code(),
        0,
        "a new container is not unhealthy at its first probe\n{r}"
    );
    assert!(incarnation_id(&e).ends_with(":12:500"));
}

/// The container's first process may be one the probe cannot inspect (it
/// gained capabilities the probe lacks): its cgroup still places it, and a
/// passing process (another probe run, a `kubectl exec` shell) is never
/// taken for it.
#[test]
fn a_first_process_that_cannot_be_inspected_is_placed_by_its_cgroup() {
    let e = Env::new();
    let proc = FakeProc::new(&e);
    proc.process(1, 100, Some(1))
        .process_in(7, 200, 2, false)
        .process(50, 300, Some(2))
        .process(60, 400, Some(2))
        .me(60);
    e.logs.append("filebeat", stuck_7x());
    assert_eq!(check_in(&e, &proc).code(), 1);
    assert!(
        incarnation_id(&e).ends_with(":7:200"),
        "{}",
        incarnation_id(&e)
    );
    // The other processes come and go: the same incarnation, still tripped.
    proc.remove(50)
        .remove(60)
        .process(70, 500, Some(2))
        .process(80, 600, Some(2))
        .me(80);
    assert_eq!(check_in(&e, &proc).code(), 1, "sticky");
    assert!(incarnation_id(&e).ends_with(":7:200"));
}

#[test]
fn with_host_pid_the_container_is_dated_by_its_own_first_process() {
    let e = Env::new();
    let proc = FakeProc::new(&e);
    proc.process(1, 1, Some(99));
    for pid in 2..300 {
        // The node's processes; some namespaces cannot be read.
        proc.process(pid, pid.into(), (pid % 7 != 0).then_some(99));
    }
    proc.process(4000, 5000, Some(2))
        .process(4001, 5001, Some(2))
        .process(4100, 9000, Some(2))
        .me(4100);
    e.logs.append("filebeat", stuck_7x());
    assert_eq!(check_in(&e, &proc).code(), 1);
    assert!(incarnation_id(&e).ends_with(":4000:5000"));
    // While the process the state remembers lives, it stays the incarnation
    // and the node's processes are not looked at again: even one that
    // claimed to be older (which no real process can become) changes nothing.
    proc.process(3000, 10, Some(2));
    assert_eq!(check_in(&e, &proc).code(), 1);
    assert!(incarnation_id(&e).ends_with(":4000:5000"));
    proc.remove(3000);
    proc.remove(4000).remove(4001).remove(4100);
    proc.process(4200, 9500, Some(3))
        .process(4300, 9600, Some(3))
        .me(4300);
    let r = check_in(&e, &proc);
    assert_eq!(r.code(), 0, "{r}");
    assert!(incarnation_id(&e).ends_with(":4200:9500"));
}

#[test]
fn in_a_pod_of_its_own_the_incarnation_is_pid_1_and_since_overrides_it() {
    let e = Env::new();
    let proc = FakeProc::new(&e);
    proc.process(1, 400, Some(2))
        .process(50, 900, Some(2))
        .me(50);
    e.logs.append("filebeat", benign_7x(1));
    check_in(&e, &proc).expect(0);
    assert!(incarnation_id(&e).ends_with(":1:400"));
    // Without its own namespace to compare with, PID 1 is taken.
    fs::remove_file(proc.0.join("50/ns/mnt")).unwrap();
    fs::remove_dir_all(proc.0.join("1/ns")).unwrap();
    check_in(&e, &proc).expect(0);
    assert!(incarnation_id(&e).ends_with(":1:400"));
    // No other process in the probe's namespace: it cannot tell, and says so.
    let elsewhere = Env::new();
    let lone = FakeProc::new(&elsewhere);
    lone.process(1, 1, Some(1)).process(60, 2, Some(5)).me(60);
    let r = check_in(&e, &lone);
    assert_eq!(r.code(), 0, "{r}");
    assert_eq!(r.json()["status"], "error");
    r.stdout_has("cannot tell when this container started");
    // --since needs no /proc.
    let mut cmd = e.command(&["--preset", "none", "-p", STUCK, "--since", "@1000"]);
    cmd.args(e.preset_log_args()).arg(lone.arg());
    e.exec(cmd).expect(0);
    assert_eq!(incarnation_id(&e), "since:1000000000000");
}

// ---------------------------------------------------------------------------
// The crash-loop guard

/// One incarnation of a Filebeat that logs the same failure at every start:
/// its restart, its line, and the liveness check that follows.
fn start_failing(e: &Env, extra: &[&str]) -> (String, crate::util::Run) {
    let since = restart_now();
    e.logs.append("filebeat", stuck_7x());
    let mut args = vec![since.as_str()];
    args.extend_from_slice(extra);
    let r = e.check(&args);
    (since, r)
}

fn ready(e: &Env, since: &str) -> crate::util::Run {
    e.run(&["ready", since])
}

#[test]
fn a_failure_that_comes_back_at_every_start_restarts_exactly_k_times() {
    let e = Env::new();
    for k in 1..=3 {
        let (since, r) = start_failing(&e, &[]);
        r.expect(1);
        ready(&e, &since).expect(0).stdout_has("READY: ");
        if k > 1 {
            ready(&e, &since).stdout_has(&format!("tripped the last {}", k - 1));
        }
    }
    // The fourth start: the same rule tripped each of the last 3.
    let (since, r) = start_failing(&e, &["--format", "json"]);
    let v = r.json();
    assert_eq!(r.code(), 0, "{v}");
    assert_eq!(v["held"]["pattern"], STUCK);
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .starts_with("HEALTHY (crash-loop guard): ")
    );
    let nr = ready(&e, &since);
    nr.expect(1)
        .stdout_has("NOT READY: ")
        .stdout_has("tripped each of the last 3 incarnations")
        .stdout_has("does not cure");
    assert_eq!(nr.stdout.lines().count(), 1);
    assert!(nr.stdout.len() < 1024, "{}", nr.stdout.len());
    // Sticky: later runs of the held incarnation stay healthy and not ready.
    e.logs.append("filebeat", stuck_7x());
    e.check(&[&since])
        .expect(0)
        .stdout_has("HEALTHY (crash-loop guard): ");
    ready(&e, &since).expect(1);
    // And so on for every later start, as long as the failure comes back.
    let (since, r) = start_failing(&e, &[]);
    r.expect(0);
    ready(&e, &since).expect(1);
}

#[test]
fn the_guard_holds_only_its_rule_and_other_rules_still_trip() {
    let e = Env::new();
    for _ in 0..3 {
        start_failing(&e, &["-p", "OTHER FAILURE"]).1.expect(1);
    }
    let (since, r) = start_failing(&e, &["-p", "OTHER FAILURE"]);
    r.expect(0);
    e.logs
        .append("filebeat", format!("{} ERROR OTHER FAILURE\n", now_7x()));
    e.check(&[&since, "-p", "OTHER FAILURE"])
        .expect(1)
        .stdout_has("\"OTHER FAILURE\"");
    // The other rule's trip does not break the held rule's streak.
    let (since, r) = start_failing(&e, &["-p", "OTHER FAILURE"]);
    r.expect(0).stdout_has("HEALTHY (crash-loop guard): ");
    ready(&e, &since).expect(1);
}

#[test]
fn a_healthy_or_other_incarnation_breaks_the_streak() {
    let e = Env::new();
    start_failing(&e, &[]).1.expect(1);
    start_failing(&e, &[]).1.expect(1);
    // An incarnation that did not trip.
    let since = restart_now();
    e.logs.append("filebeat", benign_7x(1));
    e.check(&[&since]).expect(0);
    start_failing(&e, &[]).1.expect(1);
    start_failing(&e, &[]).1.expect(1);
    let (since, r) = start_failing(&e, &[]);
    r.expect(1);
    ready(&e, &since).expect(0).stdout_has("tripped the last 2");
}

#[test]
fn max_restarts_sets_k_and_zero_turns_the_guard_off() {
    let e = Env::new();
    start_failing(&e, &["--max-restarts", "1"]).1.expect(1);
    let (since, r) = start_failing(&e, &["--max-restarts", "1"]);
    r.expect(0).stdout_has("tripped the last incarnation");
    ready(&e, &since).expect(1);
    let e = Env::new();
    for _ in 0..6 {
        let (since, r) = start_failing(&e, &["--max-restarts", "0"]);
        r.expect(1);
        ready(&e, &since).expect(0).stdout_has("guard is off");
    }
    let bad = e.check(&["--max-restarts", "21"]);
    bad.expect(2).stderr_has("--max-restarts");
    e.check(&["--max-restarts", "x"]).expect(2);
}

#[test]
fn state_reset_or_a_long_healthy_incarnation_clears_the_history() {
    let e = Env::new();
    for _ in 0..3 {
        start_failing(&e, &[]).1.expect(1);
    }
    let (since, _) = start_failing(&e, &[]);
    ready(&e, &since).expect(1);
    let s = e.state().display().to_string();
    e.run(&["state", "reset", "-s", &s]).expect(0);
    ready(&e, &since).expect(0);
    // Again, then an incarnation that has run more than an hour without tripping.
    for _ in 0..3 {
        start_failing(&e, &[]).1.expect(1);
    }
    let (since, _) = start_failing(&e, &[]);
    ready(&e, &since).expect(1);
    let hour_ago = format!("--since={}", at_ns(now_ns() - 3_700_000_000_000));
    ready(&e, &hour_ago).expect(0);
    e.logs.append("filebeat", benign_7x(2));
    e.check(&[&hour_ago]).expect(0);
    assert!(
        e.state_json().get("history").is_none(),
        "{}",
        e.state_json()
    );
}

#[test]
fn ready_says_when_the_guard_cannot_work_and_never_fails_on_its_own_trouble() {
    let e = Env::new();
    let s = e.state().display().to_string();
    // No state yet.
    e.run(&["ready"]).expect(0).stdout_has("no state at");
    // A state on the container's own file system (the device of its root).
    start_failing(&e, &[]).1.expect(1);
    let here = format!("--root={}", e.root().display());
    e.run(&["ready", &here])
        .expect(0)
        .stdout_has("the container's own file system");
    // On a volume (another device than the root): nothing to say.
    let other = Path::new("/proc");
    let r = e.run(&["ready", &format!("--root={}", other.display())]);
    r.expect(0);
    assert!(!r.stdout.contains("own file system"), "{r}");
    // A state that is not one: ready, saying the guard is not checked.
    fs::write(&s, "not json").unwrap();
    e.run(&["ready"]).expect(0).stdout_has("not checked");
    e.run(&["ready", "--since", "yesterday"])
        .expect(2)
        .stderr_has("--since");
}
