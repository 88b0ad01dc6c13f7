//! The state file: a broken one is set aside and rebuilt, it is private and
//! rewritten (by rename) only when something changed, a held lock gives the
//! known verdict without scanning, and `state show|reset` inspect and forget
//! it. State directory trouble and a symlinked state are in `faults`.

use std::fs::{self, File};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::time::Duration;

use crate::util::{Env, STUCK, benign_7x, s, stuck_7x};

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
        e.logs.append("filebeat", benign_7x(0));
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
        assert_eq!(e.state_json()["version"], 1, "{name}");
        // And the rebuilt state still catches what comes next.
        e.logs.append("filebeat", stuck_7x());
        e.check(&[]).expect(1);
    }
}

#[test]
fn the_state_is_private_and_not_rewritten_when_nothing_changed() {
    let e = Env::new();
    e.logs.append("filebeat", benign_7x(0));
    e.check(&[]).expect(0);
    let m1 = fs::metadata(e.state()).unwrap();
    assert_eq!(m1.permissions().mode() & 0o777, 0o600);
    std::thread::sleep(Duration::from_millis(20));
    e.check(&[]).expect(0);
    let m2 = fs::metadata(e.state()).unwrap();
    assert_eq!(
        (m1.ino(), m1.mtime_nsec()),
        (m2.ino(), m2.mtime_nsec()),
        "state rewritten with nothing new"
    );
    e.logs.append("filebeat", benign_7x(1));
    e.check(&[]).expect(0);
    assert_ne!(
        fs::metadata(e.state()).unwrap().ino(),
        m1.ino(),
        "state not replaced by rename"
    );
}

#[test]
fn a_held_lock_gives_the_known_verdict_without_scanning() {
    let e = Env::new();
    e.logs.append("filebeat", benign_7x(0));
    e.check(&[]).expect(0);
    let lock = File::options()
        .read(true)
        .write(true)
        .open(e.state().with_extension("json.lock"))
        .unwrap();
    lock.lock().unwrap();
    e.logs.append("filebeat", stuck_7x());
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
fn state_show_and_reset() {
    let e = Env::new();
    e.logs.append("filebeat", stuck_7x());
    e.check(&[]).expect(1);
    let st = e.state();
    let st = s(&st);
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
