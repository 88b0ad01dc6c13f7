//! End-to-end tests of the `logprobe` executable, each in its own temporary
//! directory, with helpers that write, rotate and truncate logs the way
//! Filebeat does. On failure they print the command, the directory listing,
//! stdout, stderr and the state file.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, SystemTime};

use serde_json::Value;

const STUCK: &str = "Can only start an input when all related states are finished";

fn stuck_7x() -> String {
    format!(
        "2026-11-26T10:02:11.386Z\tERROR\t[autodiscover]\tcfgfile/list.go:95\tError creating runner from config: {STUCK}: {{Id: native::1308836-2049, Finished: false}}\n"
    )
}

fn benign_7x(i: usize) -> String {
    format!(
        "2026-11-26T10:00:{:02}.000Z\tINFO\t[monitoring]\tlog/log.go:145\tNon-zero metrics in the last 30s\t{{\"n\":{i}}}\n",
        i % 60
    )
}

fn stuck_8x() -> String {
    format!(
        "{{\"log.level\":\"error\",\"@timestamp\":\"2026-11-26T10:02:11.386Z\",\"log.logger\":\"autodiscover\",\"message\":\"Error creating runner from config: {STUCK}\",\"service.name\":\"filebeat\"}}\n"
    )
}

fn benign_8x(i: usize) -> String {
    format!(
        "{{\"log.level\":\"info\",\"@timestamp\":\"2026-11-26T10:00:00.000Z\",\"log.logger\":\"monitoring\",\"message\":\"Non-zero metrics in the last 30s\",\"n\":{i}}}\n"
    )
}

/// A temporary directory with a logs folder and a state path.
struct Env {
    dir: tempfile::TempDir,
}

/// What a run printed, with context for failure messages.
struct Run {
    out: Output,
    context: String,
}

impl Run {
    fn code(&self) -> i32 {
        self.out.status.code().unwrap_or(-1)
    }
    fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.stdout).into_owned()
    }
    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.out.stderr).into_owned()
    }
    #[track_caller]
    fn expect(&self, code: i32) -> &Self {
        assert_eq!(
            self.code(),
            code,
            "unexpected exit status\n{}",
            self.context
        );
        self
    }
    #[track_caller]
    fn stdout_has(&self, s: &str) -> &Self {
        assert!(
            self.stdout().contains(s),
            "stdout lacks {s:?}\n{}",
            self.context
        );
        self
    }
    #[track_caller]
    fn stderr_has(&self, s: &str) -> &Self {
        assert!(
            self.stderr().contains(s),
            "stderr lacks {s:?}\n{}",
            self.context
        );
        self
    }
    fn json(&self) -> Value {
        serde_json::from_str(self.stdout().trim())
            .unwrap_or_else(|e| panic!("not JSON ({e})\n{}", self.context))
    }
}

impl Env {
    fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("logs")).unwrap();
        Env { dir }
    }
    fn logs(&self) -> PathBuf {
        self.dir.path().join("logs")
    }
    fn log(&self, name: &str) -> PathBuf {
        self.logs().join(name)
    }
    fn state(&self) -> PathBuf {
        self.dir.path().join("state.json")
    }
    fn append(&self, name: &str, data: &str) {
        self.append_bytes(name, data.as_bytes());
    }
    fn append_bytes(&self, name: &str, data: &[u8]) {
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log(name))
            .unwrap();
        f.write_all(data).unwrap();
    }
    fn size(&self, name: &str) -> u64 {
        fs::metadata(self.log(name)).map(|m| m.len()).unwrap_or(0)
    }
    /// 7.x rotation: filebeat.N → filebeat.N+1 …, filebeat → filebeat.1, oldest beyond `keep` deleted.
    fn rotate_7x(&self, keep: usize) {
        let _ = fs::remove_file(self.log(&format!("filebeat.{keep}")));
        for n in (1..keep).rev() {
            let _ = fs::rename(
                self.log(&format!("filebeat.{n}")),
                self.log(&format!("filebeat.{}", n + 1)),
            );
        }
        fs::rename(self.log("filebeat"), self.log("filebeat.1")).unwrap();
        File::create(self.log("filebeat")).unwrap();
    }
    fn set_mtime(&self, name: &str, t: SystemTime) {
        File::options()
            .write(true)
            .open(self.log(name))
            .unwrap()
            .set_modified(t)
            .unwrap();
    }
    /// Runs logprobe with `--state` and `--since @0` unless the args give them.
    fn run(&self, args: &[&str]) -> Run {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_logprobe"));
        cmd.args(args);
        if !args.iter().any(|a| *a == "--state" || *a == "-s")
            && !matches!(args.first(), Some(&"install" | &"state"))
        {
            cmd.arg("--state").arg(self.state());
        }
        if !args.iter().any(|a| a.starts_with("--since"))
            && !matches!(args.first(), Some(&"install" | &"state"))
        {
            cmd.arg("--since").arg("@0");
        }
        self.exec(cmd)
    }
    fn exec(&self, mut cmd: Command) -> Run {
        let out = cmd.output().unwrap();
        let listing: Vec<String> = walk(self.dir.path())
            .into_iter()
            .map(|p| {
                format!(
                    "  {} ({} bytes)",
                    p.display(),
                    fs::symlink_metadata(&p).map(|m| m.len()).unwrap_or(0)
                )
            })
            .collect();
        let context = format!(
            "command: {cmd:?}\nexit: {:?}\nfiles:\n{}\nstdout:\n{}\nstderr:\n{}\nstate:\n{}",
            out.status,
            listing.join("\n"),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            fs::read_to_string(self.state()).unwrap_or_else(|e| format!("({e})")),
        );
        Run { out, context }
    }
    /// The default check of these tests: the filebeat preset's patterns on this env's logs.
    fn check(&self, extra: &[&str]) -> Run {
        let glob = format!("{}/filebeat*", self.logs().display());
        let mut args = vec!["-l", glob.as_str()];
        args.extend_from_slice(extra);
        self.run(&args)
    }
    fn check_json(&self) -> Value {
        self.check(&["--format", "json"]).json()
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut v = Vec::new();
    if let Ok(rd) = fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() && !p.is_symlink() {
                v.extend(walk(&p));
            } else {
                v.push(p);
            }
        }
    }
    v.sort();
    v
}

fn is_root() -> bool {
    nix::unistd::Uid::effective().is_root()
}

#[test]
fn healthy_then_unhealthy_on_the_stuck_line() {
    let e = Env::new();
    e.append("filebeat", &benign_7x(1));
    e.check(&[]).expect(0).stdout_has("HEALTHY: no match in");
    let at = e.size("filebeat");
    e.append("filebeat", &stuck_7x());
    let r = e.check(&[]);
    r.expect(1).stdout_has(&format!(
        "UNHEALTHY: \"{STUCK}\" in {}/filebeat at byte {at} (first seen ",
        e.logs().display()
    ));
    assert_eq!(r.stdout().lines().count(), 1);
    assert!(r.stdout().len() < 1024);
}

#[test]
fn json_report_has_the_match() {
    let e = Env::new();
    e.append("filebeat", &benign_7x(1));
    let at = e.size("filebeat");
    e.append("filebeat", &stuck_7x());
    e.append("filebeat", &benign_7x(2));
    let j = e.check_json();
    assert_eq!(j["status"], "unhealthy");
    assert_eq!(
        j["scanned_bytes"].as_u64(),
        Some(at + stuck_7x().len() as u64)
    );
    assert_eq!(j["match"]["pattern"], STUCK);
    assert_eq!(j["match"]["offset"].as_u64(), Some(at));
    assert_eq!(j["match"]["file"], e.log("filebeat").display().to_string());
    assert!(
        j["match"]["line"]
            .as_str()
            .unwrap()
            .starts_with("2026-11-26T10:02:11.386Z\\tERROR")
    );
    let j = e.check_json();
    assert_eq!(j["status"], "unhealthy");
    assert_eq!(j["scanned_bytes"].as_u64(), Some(0));
}

#[test]
fn rotation_7x_between_runs_keeps_the_offset_with_the_inode() {
    let e = Env::new();
    for i in 0..50 {
        e.append("filebeat", &benign_7x(i));
    }
    e.check(&[]).expect(0);
    let at = e.size("filebeat");
    e.append("filebeat", &stuck_7x());
    e.rotate_7x(7);
    e.append("filebeat", &benign_7x(99));
    let j = e.check_json();
    assert_eq!(j["status"], "unhealthy", "{j}");
    assert_eq!(
        j["match"]["file"],
        e.log("filebeat.1").display().to_string()
    );
    assert_eq!(j["match"]["offset"].as_u64(), Some(at));
    // Only new bytes were scanned: oldest first, so the rotated file's tail,
    // where the run stopped, tripped.
    assert_eq!(j["scanned_bytes"].as_u64(), Some(stuck_7x().len() as u64));
}

#[test]
fn rotation_8x_new_file_between_runs() {
    let e = Env::new();
    e.append("filebeat-20261126.ndjson", &benign_8x(0));
    e.check(&[]).expect(0);
    let at = e.size("filebeat-20261126.ndjson");
    e.append("filebeat-20261126.ndjson", &stuck_8x());
    e.append("filebeat-20261126-1.ndjson", &benign_8x(1));
    let j = e.check_json();
    assert_eq!(j["status"], "unhealthy", "{j}");
    assert_eq!(
        j["match"]["file"],
        e.log("filebeat-20261126.ndjson").display().to_string()
    );
    assert_eq!(j["match"]["offset"].as_u64(), Some(at));
}

#[test]
fn several_rotations_between_two_runs_find_the_line_once() {
    let e = Env::new();
    e.append("filebeat", &benign_7x(0));
    e.check(&["-t", "2"]).expect(0);
    // Three rotations; the stuck line ends up in filebeat.2.
    e.append("filebeat", &benign_7x(1));
    e.rotate_7x(7);
    e.append("filebeat", &stuck_7x());
    e.rotate_7x(7);
    e.append("filebeat", &benign_7x(2));
    e.rotate_7x(7);
    e.append("filebeat", &benign_7x(3));
    let r = e.check(&["-t", "2"]);
    r.expect(0)
        .stdout_has("HEALTHY: 1 of 2 matching lines so far");
    e.check(&["-t", "2"])
        .expect(0)
        .stdout_has("HEALTHY: 1 of 2 matching lines so far");
    e.append("filebeat", &stuck_7x());
    e.check(&["-t", "2"])
        .expect(1)
        .stdout_has("UNHEALTHY: 2 matching lines; last ");
}

#[test]
fn rotation_deletes_beyond_keepfiles_and_state_forgets_them() {
    let e = Env::new();
    e.append("filebeat", &benign_7x(0));
    for i in 0..5 {
        e.rotate_7x(2);
        e.append("filebeat", &benign_7x(i));
        e.check(&[]).expect(0);
    }
    let st: Value = serde_json::from_str(&fs::read_to_string(e.state()).unwrap()).unwrap();
    assert_eq!(st["files"].as_array().unwrap().len(), 3, "{st}");
}

#[test]
fn a_line_written_in_two_halves_across_runs() {
    let e = Env::new();
    e.append("filebeat", &benign_7x(0));
    let at = e.size("filebeat");
    let line = stuck_7x();
    let (a, b) = line.split_at(90);
    e.append("filebeat", a);
    e.check(&[]).expect(0);
    let st: Value = serde_json::from_str(&fs::read_to_string(e.state()).unwrap()).unwrap();
    assert_eq!(
        st["files"][0]["offset"].as_u64(),
        Some(at),
        "offset stays just past the last newline"
    );
    e.append("filebeat", b);
    let j = e.check_json();
    assert_eq!(j["status"], "unhealthy");
    assert_eq!(j["match"]["offset"].as_u64(), Some(at));
}

#[test]
fn a_pattern_straddling_a_window_edge() {
    // Default 4 MiB window: the stuck message crosses the 4 MiB boundary.
    let e = Env::new();
    let window = 4 << 20;
    let prefix = "x".repeat(100);
    let mut filled = 0usize;
    let mut data = String::new();
    while filled + 200 < window - 50 {
        let l = format!("{prefix}{filled}\n");
        filled += l.len();
        data.push_str(&l);
    }
    let pad = window - 20 - filled;
    data.push_str(&"y".repeat(pad));
    data.push_str(&format!("{STUCK}\n"));
    e.append("filebeat", &data);
    let j = e.check_json();
    assert_eq!(j["status"], "unhealthy", "{}", j["message"]);
    assert_eq!(j["match"]["offset"].as_u64(), Some(filled as u64));
    // And with tiny windows everywhere, through the hidden tuning flags.
    let e = Env::new();
    let mut data = String::new();
    for i in 0..40 {
        data.push_str(&format!("line {i}\n"));
    }
    let at = data.len();
    data.push_str(&format!("tail {STUCK} end\n"));
    e.append("filebeat", &data);
    let r = e.check(&[
        "--format",
        "json",
        "--map-window",
        "100",
        "--max-line",
        "30",
    ]);
    let j = r.json();
    assert_eq!(j["status"], "unhealthy", "{}", r.context);
    assert_eq!(j["match"]["offset"].as_u64(), Some(at as u64));
}

#[test]
fn the_trip_is_sticky_for_the_incarnation() {
    let e = Env::new();
    e.append("filebeat", &stuck_7x());
    let first = e.check(&[]);
    first.expect(1);
    for i in 0..5 {
        e.append("filebeat", &benign_7x(i));
        if i == 2 {
            e.rotate_7x(7);
        }
        let again = e.check(&[]);
        again.expect(1);
        assert_eq!(
            again.stdout(),
            first.stdout(),
            "run {i} changed the message"
        );
    }
    // A new incarnation (a restart) forgets it; the old line is in a file modified before.
    let later = SystemTime::now() + Duration::from_secs(5);
    let since = format!(
        "--since=@{}",
        later
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    );
    e.check(&[&since]).expect(0).stdout_has("HEALTHY");
}

#[test]
fn files_from_an_earlier_incarnation_never_trip() {
    let e = Env::new();
    e.append("filebeat.1", &stuck_7x());
    e.append("filebeat", &stuck_7x());
    let old = SystemTime::now() - Duration::from_secs(3600);
    e.set_mtime("filebeat.1", old);
    e.set_mtime("filebeat", old);
    let since = format!(
        "--since=@{}",
        (SystemTime::now() - Duration::from_secs(60))
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    );
    e.check(&[&since]).expect(0);
    // Even when the old current file is appended to after the start, its old bytes stay unread.
    e.append("filebeat", &benign_7x(1));
    e.check(&[&since]).expect(0);
    e.append("filebeat", &stuck_7x());
    e.check(&[&since]).expect(1);
}

#[test]
fn an_old_verdict_in_the_state_is_discarded_by_a_new_incarnation() {
    let e = Env::new();
    e.append("filebeat", &stuck_7x());
    e.check(&["--since", "@1000"]).expect(1);
    e.set_mtime(
        "filebeat",
        SystemTime::UNIX_EPOCH + Duration::from_secs(1500),
    );
    e.check(&["--since", "@2000"]).expect(0);
    e.check(&["--since", "@2000"]).expect(0);
}

#[test]
fn events_data_and_compressed_files_are_never_read() {
    let e = Env::new();
    e.append("filebeat-events-data-20261126.ndjson", &stuck_8x());
    e.append("filebeat-20261125.ndjson.gz", &stuck_8x());
    e.append("filebeat-20261126.ndjson", &benign_8x(0));
    let j = e.check_json();
    assert_eq!(j["status"], "healthy", "{j}");
    assert_eq!(j["files"].as_u64(), Some(1));
}

#[test]
fn copytruncate_is_read_from_the_start() {
    let e = Env::new();
    for i in 0..20 {
        e.append("filebeat", &benign_7x(i));
    }
    e.check(&[]).expect(0);
    // Truncate in place, then a short write: the file is now shorter than the offset.
    OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(e.log("filebeat"))
        .unwrap();
    e.append("filebeat", &stuck_7x());
    let j = e.check_json();
    assert_eq!(j["status"], "unhealthy", "{j}");
    assert_eq!(j["match"]["offset"].as_u64(), Some(0));
}

#[test]
fn a_reused_inode_is_a_new_file() {
    let e = Env::new();
    e.append("filebeat", &"A".repeat(50));
    e.append("filebeat", "\n");
    for i in 0..10 {
        e.append("filebeat", &benign_7x(i));
    }
    e.check(&[]).expect(0);
    // Truncated and rewritten past the old offset with other content: fingerprint differs.
    let mut data = stuck_7x();
    while data.len() < 2000 {
        data.push_str(&benign_7x(7));
    }
    fs::write(e.log("filebeat"), &data).unwrap();
    let j = e.check_json();
    assert_eq!(j["status"], "unhealthy", "{j}");
    assert_eq!(j["match"]["offset"].as_u64(), Some(0));
}

#[test]
fn bad_state_files_are_set_aside_and_rebuilt() {
    let cases: &[(&str, &[u8], &str)] = &[
        ("empty", b"", "is empty"),
        (
            "truncated",
            b"{\"version\":1,\"config\":\"ab",
            "not valid state JSON",
        ),
        ("garbage", b"\x00\xff garbage", "not valid state JSON"),
        (
            "future",
            b"{\"version\":9,\"files\":[]}",
            "format version 9",
        ),
        ("foreign", b"{\"hello\":\"world\"}", "no format version"),
    ];
    for (name, bytes, why) in cases {
        let e = Env::new();
        e.append("filebeat", &benign_7x(0));
        fs::write(e.state(), bytes).unwrap();
        let r = e.check(&[]);
        r.expect(0)
            .stdout_has("HEALTHY")
            .stderr_has(why)
            .stderr_has("set aside");
        assert_eq!(
            fs::read(e.state().with_extension("json.bad")).unwrap(),
            *bytes,
            "{name}"
        );
        let st: Value = serde_json::from_str(&fs::read_to_string(e.state()).unwrap()).unwrap();
        assert_eq!(st["version"], 1, "{name}");
        // And the rebuilt state still catches what comes next.
        e.append("filebeat", &stuck_7x());
        e.check(&[]).expect(1);
    }
}

#[test]
fn a_missing_log_directory_is_healthy_and_says_so() {
    let e = Env::new();
    let r = e.run(&[
        "-l",
        "/nonexistent/dir/filebeat*",
        "-l",
        "/nonexistent/filebeat",
    ]);
    r.expect(0).stdout_has(
        "HEALTHY: no log file found (/nonexistent/dir/filebeat*, /nonexistent/filebeat)",
    );
}

#[test]
fn an_unreadable_log_file_follows_on_error() {
    if !is_root() {
        // As a normal user, permissions suffice.
        let e = Env::new();
        e.append("filebeat", &stuck_7x());
        fs::set_permissions(e.log("filebeat"), fs::Permissions::from_mode(0o000)).unwrap();
        e.check(&[])
            .expect(0)
            .stdout_has("could not check")
            .stderr_has("Permission denied");
        e.check(&["--on-error", "fail"])
            .expect(3)
            .stdout_has("ERROR: could not check");
        return;
    }
    // As root, drop to nobody with setpriv so that file permissions apply.
    let Ok(setpriv) = which("setpriv") else {
        eprintln!("SKIPPED an_unreadable_log_file_follows_on_error: setpriv not found");
        return;
    };
    let e = Env::new();
    fs::set_permissions(e.dir.path(), fs::Permissions::from_mode(0o777)).unwrap();
    fs::set_permissions(e.logs(), fs::Permissions::from_mode(0o777)).unwrap();
    e.append("filebeat", &stuck_7x());
    fs::set_permissions(e.log("filebeat"), fs::Permissions::from_mode(0o600)).unwrap();
    for (mode, code, text) in [
        ("pass", 0, "HEALTHY: could not check"),
        ("fail", 3, "ERROR: could not check"),
    ] {
        let mut cmd = Command::new(&setpriv);
        cmd.args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            env!("CARGO_BIN_EXE_logprobe"),
        ])
        .arg("-l")
        .arg(format!("{}/filebeat*", e.logs().display()))
        .args(["--since", "@0", "--on-error", mode, "--state"])
        .arg(e.state());
        let r = e.exec(cmd);
        r.expect(code)
            .stdout_has(text)
            .stderr_has("Permission denied")
            .stderr_has("filebeat");
    }
}

fn which(name: &str) -> Result<PathBuf, ()> {
    std::env::var_os("PATH")
        .and_then(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join(name))
                .find(|p| p.is_file())
        })
        .ok_or(())
}

#[test]
fn usage_errors_are_one_line_naming_the_flag_or_file() {
    let e = Env::new();
    let cases: &[(&[&str], &str)] = &[
        (&["--bogus"], "'--bogus'"),
        (&["-p", ""], "--pattern: empty pattern"),
        (&["-x", ""], "--except: empty pattern"),
        (
            &["-f", "/nonexistent/patterns"],
            "--patterns-file: /nonexistent/patterns: No such file",
        ),
        (&["-t", "0"], "--threshold"),
        (&["-t", "many"], "--threshold"),
        (&["-w", "5"], "--window"),
        (&["--budget", "soon"], "--budget"),
        (&["--since", "yesterday"], "--since"),
        (&["--format", "xml"], "--format"),
        (&["--on-error", "maybe"], "--on-error"),
        (&["--preset", "none", "-p", "x"], "--log"),
        (&["--preset", "none", "-l", "/x"], "--pattern"),
        (&["install"], "required arguments were not provided: <DIR>"),
        (&["check", "--threshold"], "'--threshold <N>'"),
    ];
    for (args, needle) in cases {
        let r = e.run(args);
        r.expect(2).stderr_has(needle);
        assert_eq!(r.stderr().lines().count(), 1, "{}", r.context);
        assert!(r.stdout().is_empty(), "{}", r.context);
    }
    // A patterns file that is a directory, or not UTF-8.
    let r = e.run(&["-f", e.logs().to_str().unwrap()]);
    r.expect(2).stderr_has("--patterns-file");
    fs::write(e.dir.path().join("p.txt"), b"ok\n\xff\xfe\n").unwrap();
    e.run(&["-f", e.dir.path().join("p.txt").to_str().unwrap()])
        .expect(2)
        .stderr_has("p.txt:2: not valid UTF-8");
}

#[test]
fn patterns_file_exceptions_and_case() {
    let e = Env::new();
    let pf = e.dir.path().join("patterns.txt");
    fs::write(&pf, "# stuck messages\n\nharvester could not be started\n").unwrap();
    let pf = pf.to_str().unwrap();
    e.append(
        "filebeat",
        "x\tERROR\tHarvester could not be started on new file: too many open files\n",
    );
    e.check(&["-f", pf]).expect(0);
    e.check(&[
        "-f",
        pf,
        "-i",
        "-s",
        e.dir.path().join("s2").to_str().unwrap(),
    ])
    .expect(1);
    let e = Env::new();
    e.append("filebeat", &format!("WARN\t{STUCK}\tretrying\n"));
    e.check(&["-x", "retrying"]).expect(0);
    e.append("filebeat", &stuck_7x());
    e.check(&["-x", "retrying"]).expect(1);
}

#[test]
fn threshold_within_a_window() {
    let e = Env::new();
    let args = ["-t", "3", "-w", "5m"];
    e.append("filebeat", &stuck_7x());
    e.append("filebeat", &stuck_7x());
    e.check(&args)
        .expect(0)
        .stdout_has("HEALTHY: 2 of 3 matching lines within 5m0s so far");
    e.append("filebeat", &benign_7x(0));
    e.check(&args).expect(0);
    e.append("filebeat", &stuck_7x());
    e.check(&args)
        .expect(1)
        .stdout_has("UNHEALTHY: 3 matching lines within 5m0s; last ");
}

#[test]
fn threshold_hits_expire_outside_the_window() {
    let e = Env::new();
    e.append("filebeat", &stuck_7x());
    e.append("filebeat", &stuck_7x());
    e.check(&["-t", "3", "-w", "1s"]).expect(0);
    std::thread::sleep(Duration::from_millis(1100));
    e.append("filebeat", &stuck_7x());
    e.check(&["-t", "3", "-w", "1s"])
        .expect(0)
        .stdout_has("1 of 3");
}

#[test]
fn a_64_mib_line_without_newline_in_bounded_memory() {
    let e = Env::new();
    let mut f = File::create(e.log("filebeat")).unwrap();
    let chunk = vec![b'z'; 1 << 20];
    for i in 0..64 {
        if i == 40 {
            // The pattern somewhere in the middle of the long line.
            f.write_all(STUCK.as_bytes()).unwrap();
        }
        f.write_all(&chunk).unwrap();
    }
    drop(f);
    let glob = format!("{}/filebeat*", e.logs().display());
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_logprobe"));
    cmd.args([
        "-l", &glob, "--since", "@0", "--budget", "60s", "--format", "json", "--state",
    ])
    .arg(e.state());
    let (status, stdout, max_rss_kib) = run_measured(cmd);
    let j: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(status, 1, "{j}");
    assert_eq!(j["match"]["offset"].as_u64(), Some(0));
    assert!(j["match"]["line"].as_str().unwrap().contains(STUCK));
    // 4 MiB mapping windows: far below the 64 MiB line, with room for the (debug) executable.
    match max_rss_kib {
        Some(kib) => assert!(kib < 16 * 1024, "peak RSS {kib} KiB"),
        None => {
            eprintln!("SKIPPED the peak RSS bound: /usr/bin/time (Debian package time) is missing")
        }
    }
    // The line goes on, then ends: it must not count twice.
    e.append("filebeat", "zzz\n");
    e.append("filebeat", &benign_7x(0));
    let j = e.check_json();
    assert_eq!(j["match"]["offset"].as_u64(), Some(0), "{j}");
}

/// Runs a command under GNU time, returning its exit status, stdout and
/// peak RSS in KiB (`None` when /usr/bin/time is missing). Measuring from
/// here with `wait4` would not do: a child spawned by this (large,
/// multi-threaded) test process inherits its peak RSS across `exec`.
fn run_measured(cmd: Command) -> (i32, String, Option<i64>) {
    let time = Path::new("/usr/bin/time");
    if !time.exists() {
        let mut cmd = cmd;
        let out = cmd.output().unwrap();
        return (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            None,
        );
    }
    let report = tempfile::NamedTempFile::new().unwrap();
    let mut timed = Command::new(time);
    timed
        .arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(report.path())
        .arg(cmd.get_program())
        .args(cmd.get_args());
    let out = timed.output().unwrap();
    let rss = fs::read_to_string(report.path())
        .unwrap()
        .trim()
        .lines()
        .last()
        .and_then(|l| l.parse().ok());
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        rss,
    )
}

#[test]
fn nul_bytes_and_invalid_utf8_are_scanned_and_escaped() {
    let e = Env::new();
    e.append_bytes("filebeat", b"\x00\x00\xff\xfe binary junk\n");
    let at = e.size("filebeat");
    let mut line = b"\x01\xff\x00 ".to_vec();
    line.extend_from_slice(STUCK.as_bytes());
    line.extend_from_slice(b"\x1b[0m\n");
    e.append_bytes("filebeat", &line);
    let r = e.check(&[]);
    r.expect(1)
        .stdout_has(&format!("at byte {at}"))
        .stdout_has("\\u{1}\\xff\\u{0} Can only")
        .stdout_has("\\u{1b}[0m");
}

#[test]
fn the_state_is_private_and_not_rewritten_when_nothing_changed() {
    let e = Env::new();
    e.append("filebeat", &benign_7x(0));
    e.check(&[]).expect(0);
    let m1 = fs::metadata(e.state()).unwrap();
    assert_eq!(m1.permissions().mode() & 0o777, 0o600);
    std::thread::sleep(Duration::from_millis(20));
    e.check(&[]).expect(0);
    let m2 = fs::metadata(e.state()).unwrap();
    use std::os::unix::fs::MetadataExt;
    assert_eq!(
        (m1.ino(), m1.mtime_nsec()),
        (m2.ino(), m2.mtime_nsec()),
        "state rewritten with nothing new"
    );
    e.append("filebeat", &benign_7x(1));
    e.check(&[]).expect(0);
    assert_ne!(
        fs::metadata(e.state()).unwrap().ino(),
        m1.ino(),
        "state not replaced by rename"
    );
}

#[test]
fn a_symlinked_state_is_refused_and_its_target_untouched() {
    let e = Env::new();
    e.append("filebeat", &stuck_7x());
    let target = e.dir.path().join("precious");
    fs::write(&target, "do not touch").unwrap();
    std::os::unix::fs::symlink(&target, e.state()).unwrap();
    e.check(&[])
        .expect(0)
        .stdout_has("could not check")
        .stderr_has("symbolic link");
    e.check(&["--on-error", "fail"]).expect(3);
    assert_eq!(fs::read_to_string(&target).unwrap(), "do not touch");
}

#[test]
fn a_held_lock_gives_the_known_verdict_without_scanning() {
    let e = Env::new();
    e.append("filebeat", &benign_7x(0));
    e.check(&[]).expect(0);
    let lock = File::options()
        .read(true)
        .write(true)
        .open(e.state().with_extension("json.lock"))
        .unwrap();
    lock.lock().unwrap();
    e.append("filebeat", &stuck_7x());
    e.check(&[])
        .expect(0)
        .stdout_has("another run is checking")
        .stderr_has("holds the lock");
    lock.unlock().unwrap();
    e.check(&[]).expect(1);
    lock.lock().unwrap();
    e.check(&[]).expect(1).stdout_has("UNHEALTHY");
}

#[test]
fn a_budget_spreads_a_large_backlog_over_runs() {
    let e = Env::new();
    let mut data = String::new();
    while data.len() < 24 << 20 {
        data.push_str(&benign_7x(data.len()));
    }
    e.append("filebeat", &data);
    e.append("filebeat", &stuck_7x());
    let mut runs = 0;
    loop {
        runs += 1;
        let r = e.check(&["--budget", "1ms", "--format", "json"]);
        let j = r.json();
        if j["status"] == "unhealthy" {
            assert_eq!(j["match"]["offset"].as_u64(), Some(data.len() as u64));
            break;
        }
        assert_eq!(j["status"], "healthy", "{}", r.context);
        assert!(
            j["message"]
                .as_str()
                .unwrap()
                .contains("budget 1ms reached"),
            "{}",
            r.context
        );
        assert!(runs < 20, "never finished\n{}", r.context);
    }
    assert!(runs > 1, "the budget did not stop the first run");
}

#[test]
fn state_show_and_reset() {
    let e = Env::new();
    e.append("filebeat", &stuck_7x());
    e.check(&[]).expect(1);
    let st = e.state();
    let st = st.to_str().unwrap();
    let r = e.run(&["state", "show", "--state", st]);
    r.expect(0)
        .stdout_has("verdict: UNHEALTHY")
        .stdout_has("filebeat: scanned to byte");
    let j = e
        .run(&["state", "show", "--state", st, "--format", "json"])
        .json();
    assert_eq!(j["state"]["trip"]["pattern"], STUCK);
    e.run(&["state", "reset", "--state", st])
        .expect(0)
        .stdout_has("forgot");
    assert!(!e.state().exists());
    // Forgotten: the same incarnation rescans and trips again.
    e.check(&[]).expect(1);
    e.run(&["state", "show", "--state", "/nonexistent/state.json"])
        .expect(3)
        .stderr_has("no such state");
}

#[test]
fn install_copies_an_executable_that_runs() {
    let e = Env::new();
    let dest = e.dir.path().join("probe");
    fs::create_dir(&dest).unwrap();
    e.run(&["install", dest.to_str().unwrap()])
        .expect(0)
        .stdout_has("installed");
    let exe = dest.join("logprobe");
    assert_eq!(
        fs::metadata(&exe).unwrap().permissions().mode() & 0o777,
        0o555
    );
    let v = Command::new(&exe).arg("--version").output().unwrap();
    assert!(String::from_utf8_lossy(&v.stdout).starts_with("logprobe "));
    // Again over the existing copy (an init container that runs twice).
    e.run(&["install", dest.to_str().unwrap()]).expect(0);
    assert_eq!(
        fs::read_dir(&dest).unwrap().count(),
        1,
        "temporary file left behind"
    );
    let r = e.run(&["install", "/nonexistent/dir"]);
    assert_ne!(r.code(), 0);
    r.stderr_has("/nonexistent/dir");
    let r = e.run(&["install", exe.to_str().unwrap()]);
    assert_ne!(r.code(), 0);
    r.stderr_has("not a directory");
}

/// The filebeat preset's patterns against real lines users posted: every line
/// labelled `stuck` trips, none labelled benign in the broad sense does.
#[test]
fn preset_against_the_shared_samples() {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/samples");
    let Ok(labels) = fs::read_to_string(shared.join("labels.tsv")) else {
        eprintln!(
            "SKIPPED preset_against_the_shared_samples: ../shared/samples is not here (only CI and developers have it)"
        );
        return;
    };
    let mut checked = (0, 0);
    for row in labels.lines().skip(1) {
        let cols: Vec<&str> = row.split('\t').collect();
        let (file, n, label, broad) =
            (cols[0], cols[1].parse::<usize>().unwrap(), cols[2], cols[3]);
        let text = fs::read(shared.join(file)).unwrap();
        let line = text.split(|&b| b == b'\n').nth(n - 1).unwrap();
        let e = Env::new();
        let name = if file.ends_with(".ndjson") {
            "filebeat-20261126.ndjson"
        } else {
            "filebeat"
        };
        let mut data = line.to_vec();
        data.push(b'\n');
        e.append_bytes(name, &data);
        let r = e.check(&[]);
        if label == "stuck" {
            r.expect(1);
            checked.0 += 1;
        } else if broad == "benign" {
            r.expect(0);
            checked.1 += 1;
        }
    }
    assert!(checked.0 >= 3 && checked.1 >= 80, "{checked:?}");
}

#[test]
fn help_and_version() {
    let e = Env::new();
    let r = e.run(&["--help"]);
    r.expect(0);
    for flag in [
        "--log",
        "--pattern",
        "--patterns-file",
        "--except",
        "--ignore-case",
        "--preset",
        "--state",
        "--threshold",
        "--window",
        "--budget",
        "--since",
        "--format",
        "--on-error",
    ] {
        r.stdout_has(flag);
    }
    e.run(&["--version"]).expect(0).stdout_has("logprobe ");
    e.run(&["check", "--help"])
        .expect(0)
        .stdout_has("--threshold");
}

/// Regression: the incarnation's wall-clock start, computed from two clocks,
/// jitters by nanoseconds between runs; it must not be what identifies the
/// incarnation, or the sticky verdict is dropped on the next run.
#[test]
fn sticky_with_the_default_incarnation_over_many_runs() {
    let e = Env::new();
    e.append("filebeat", &stuck_7x());
    for i in 0..60 {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_logprobe"));
        cmd.arg("-l")
            .arg(format!("{}/filebeat*", e.logs().display()))
            .arg("-s")
            .arg(e.state());
        let r = e.exec(cmd);
        assert_eq!(r.code(), 1, "run {i}\n{}", r.context);
    }
}
