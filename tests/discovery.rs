//! Which files are read: the globs' regular files, never Filebeat's raw
//! event files or compressed ones; a missing directory is healthy and says
//! so; an unreadable file is the probe's own trouble (`--on-error`).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use crate::util::{BIN, Env, benign_8x, is_root, skip, stuck_7x, stuck_8x, which};

#[test]
fn events_data_and_compressed_files_are_never_read() {
    let e = Env::new();
    e.logs
        .append("filebeat-events-data-20261126.ndjson", stuck_8x());
    e.logs.append("filebeat-20261125.ndjson.gz", stuck_8x());
    e.logs.append("filebeat-20261126.ndjson", benign_8x(0));
    let j = e.check_json();
    assert_eq!(j["status"], "healthy", "{j}");
    assert_eq!(j["files"].as_u64(), Some(1));
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
        e.logs.append("filebeat", stuck_7x());
        fs::set_permissions(e.logs.file("filebeat"), fs::Permissions::from_mode(0o000)).unwrap();
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
    let Some(setpriv) = which("setpriv") else {
        skip(
            "an_unreadable_log_file_follows_on_error",
            "setpriv (Debian package util-linux) not found",
        );
        return;
    };
    let e = Env::new();
    // nobody may enter the directories and write the state, but not read the log.
    let state = e.state();
    for dir in [e.root(), e.logs.path(), state.parent().unwrap()] {
        fs::set_permissions(dir, fs::Permissions::from_mode(0o777)).unwrap();
    }
    e.logs.append("filebeat", stuck_7x());
    fs::set_permissions(e.logs.file("filebeat"), fs::Permissions::from_mode(0o600)).unwrap();
    for (mode, code, text) in [
        ("pass", 0, "HEALTHY: could not check"),
        ("fail", 3, "ERROR: could not check"),
    ] {
        let mut cmd = Command::new(&setpriv);
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups", BIN])
            .args(e.preset_log_args())
            .args(["--since", "@0", "--on-error", mode, "--state"])
            .arg(e.state());
        let r = e.exec(cmd);
        r.expect(code)
            .stdout_has(text)
            .stderr_has("Permission denied")
            .stderr_has("filebeat");
    }
}
