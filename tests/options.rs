//! Options: usage errors are one line naming the flag or file (exit 2);
//! patterns files, exceptions and case; the threshold within a window;
//! help and version.

use std::fs;
use std::time::Duration;

use crate::util::{Env, STUCK, benign_7x, log_time, s, stuck_7x, stuck_7x_at};

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
        assert_eq!(r.stderr.lines().count(), 1, "{r}");
        assert!(r.stdout.is_empty(), "{r}");
    }
    // A patterns file that is a directory, or not UTF-8.
    let r = e.run(&["-f", s(e.logs.path())]);
    r.expect(2).stderr_has("--patterns-file");
    let pf = e.root().join("p.txt");
    fs::write(&pf, b"ok\n\xff\xfe\n").unwrap();
    e.run(&["-f", s(&pf)])
        .expect(2)
        .stderr_has("p.txt:2: not valid UTF-8");
}

#[test]
fn patterns_file_exceptions_and_case() {
    let e = Env::new();
    let pf = e.root().join("patterns.txt");
    fs::write(&pf, "# stuck messages\n\nharvester could not be started\n").unwrap();
    let pf = s(&pf);
    e.logs.append(
        "filebeat",
        "x\tERROR\tHarvester could not be started on new file: too many open files\n",
    );
    e.check(&["-f", pf]).expect(0);
    let other_state = e.root().join("s2");
    e.check(&["-f", pf, "-i", "-s", s(&other_state)]).expect(1);
    let e = Env::new();
    e.logs
        .append("filebeat", format!("WARN\t{STUCK}\tretrying\n"));
    e.check(&["-x", "retrying"]).expect(0);
    e.logs.append("filebeat", stuck_7x());
    e.check(&["-x", "retrying"]).expect(1);
}

#[test]
fn threshold_within_a_window() {
    let e = Env::new();
    let args = ["-t", "3", "-w", "5m"];
    e.logs.append("filebeat", stuck_7x());
    e.logs.append("filebeat", stuck_7x());
    e.check(&args)
        .expect(0)
        .stdout_has("HEALTHY: 2 of 3 matching lines within 5m0s so far");
    e.logs.append("filebeat", benign_7x(0));
    e.check(&args).expect(0);
    e.logs.append("filebeat", stuck_7x());
    e.check(&args)
        .expect(1)
        .stdout_has("UNHEALTHY: 3 matching lines within 5m0s; last ");
}

#[test]
fn threshold_hits_expire_outside_the_window() {
    // By the lines' own times: two at one moment, the third two seconds later.
    let e = Env::new();
    e.logs.append("filebeat", stuck_7x_at(&log_time(131)));
    e.logs.append("filebeat", stuck_7x_at(&log_time(131)));
    e.check(&["-t", "3", "-w", "1s"]).expect(0);
    e.logs.append("filebeat", stuck_7x_at(&log_time(133)));
    e.check(&["-t", "3", "-w", "1s"])
        .expect(0)
        .stdout_has("1 of 3");
    // Lines without a time of their own take the time the probe saw them.
    let e = Env::new();
    let untimed = format!("WARN\t{STUCK}\tretrying\n");
    e.logs.append("filebeat", untimed.repeat(2));
    e.check(&["-t", "3", "-w", "1s"]).expect(0);
    std::thread::sleep(Duration::from_millis(1100));
    e.logs.append("filebeat", untimed);
    e.check(&["-t", "3", "-w", "1s"])
        .expect(0)
        .stdout_has("1 of 3");
}

#[test]
fn lines_with_one_time_fall_in_one_window_however_late_they_are_read() {
    let e = Env::new();
    let t = log_time(131);
    e.logs.append("filebeat", stuck_7x_at(&t));
    e.logs.append("filebeat", stuck_7x_at(&t));
    e.check(&["-t", "3", "-w", "1s"]).expect(0);
    std::thread::sleep(Duration::from_millis(1100));
    e.logs.append("filebeat", stuck_7x_at(&t));
    e.check(&["-t", "3", "-w", "1s"])
        .expect(1)
        .stdout_has("UNHEALTHY: 3 matching lines within 1s; last ");
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
