//! `logprobe install DIR`: copies the executable for an init container,
//! atomically, runnable, again over an existing copy; errors name the path.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use crate::util::{Env, s};

#[test]
fn install_copies_an_executable_that_runs() {
    let e = Env::new();
    let dest = e.root().join("probe");
    fs::create_dir(&dest).unwrap();
    e.run(&["install", s(&dest)])
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
    e.run(&["install", s(&dest)]).expect(0);
    assert_eq!(
        fs::read_dir(&dest).unwrap().count(),
        1,
        "temporary file left behind"
    );
    let r = e.run(&["install", "/nonexistent/dir"]);
    assert_ne!(r.code(), 0, "{r}");
    r.stderr_has("/nonexistent/dir");
    let r = e.run(&["install", s(&exe)]);
    assert_ne!(r.code(), 0, "{r}");
    r.stderr_has("not a directory");
}
