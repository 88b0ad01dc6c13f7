//! Rotation between runs: Filebeat 7.x renames (`filebeat` → `filebeat.1` …)
//! and deletes beyond keepfiles, 8.x starts new files, logrotate's
//! copytruncate shrinks the file in place, and a reused inode is a new file.
//! The offset follows the file (device, inode and first bytes), not its name.

use std::fs;

use crate::util::{Env, benign_7x, benign_8x, stuck_7x, stuck_8x};

#[test]
fn rotation_7x_between_runs_keeps_the_offset_with_the_inode() {
    let e = Env::new();
    for i in 0..50 {
        e.logs.append("filebeat", benign_7x(i));
    }
    e.check(&[]).expect(0);
    let at = e.logs.size("filebeat");
    e.logs.append("filebeat", stuck_7x());
    e.logs.rotate_7x(Some(7));
    e.logs.append("filebeat", benign_7x(99));
    let j = e.check_json();
    assert_eq!(j["status"], "unhealthy", "{j}");
    assert_eq!(
        j["match"]["file"],
        e.logs.file("filebeat.1").display().to_string()
    );
    assert_eq!(j["match"]["offset"].as_u64(), Some(at));
    // Only new bytes were scanned, oldest first: the rotated file's tail,
    // which tripped, then (read on without counting) the new current file.
    assert_eq!(
        j["scanned_bytes"].as_u64(),
        Some((stuck_7x().len() + benign_7x(99).len()) as u64)
    );
}

#[test]
fn rotation_8x_new_file_between_runs() {
    let e = Env::new();
    e.logs.append("filebeat-20261126.ndjson", benign_8x(0));
    e.check(&[]).expect(0);
    let at = e.logs.size("filebeat-20261126.ndjson");
    e.logs.append("filebeat-20261126.ndjson", stuck_8x());
    let next = e.logs.rotate_8x("20261126");
    assert_eq!(next, "filebeat-20261126-1.ndjson");
    e.logs.append(&next, benign_8x(1));
    let j = e.check_json();
    assert_eq!(j["status"], "unhealthy", "{j}");
    assert_eq!(
        j["match"]["file"],
        e.logs
            .file("filebeat-20261126.ndjson")
            .display()
            .to_string()
    );
    assert_eq!(j["match"]["offset"].as_u64(), Some(at));
}

#[test]
fn several_rotations_between_two_runs_find_the_line_once() {
    let e = Env::new();
    e.logs.append("filebeat", benign_7x(0));
    e.check(&["-t", "2"]).expect(0);
    // Three rotations; the stuck line ends up in filebeat.2.
    e.logs.append("filebeat", benign_7x(1));
    e.logs.rotate_7x(Some(7));
    e.logs.append("filebeat", stuck_7x());
    e.logs.rotate_7x(Some(7));
    e.logs.append("filebeat", benign_7x(2));
    e.logs.rotate_7x(Some(7));
    e.logs.append("filebeat", benign_7x(3));
    let r = e.check(&["-t", "2"]);
    r.expect(0)
        .stdout_has("HEALTHY: 1 of 2 matching lines so far");
    e.check(&["-t", "2"])
        .expect(0)
        .stdout_has("HEALTHY: 1 of 2 matching lines so far");
    e.logs.append("filebeat", stuck_7x());
    e.check(&["-t", "2"])
        .expect(1)
        .stdout_has("UNHEALTHY: 2 matching lines; last ");
}

#[test]
fn rotation_deletes_beyond_keepfiles_and_state_forgets_them() {
    let e = Env::new();
    e.logs.append("filebeat", benign_7x(0));
    for i in 0..5 {
        e.logs.rotate_7x(Some(2));
        e.logs.append("filebeat", benign_7x(i));
        e.check(&[]).expect(0);
    }
    let st = e.state_json();
    assert_eq!(st["files"].as_array().unwrap().len(), 3, "{st}");
}

#[test]
fn copytruncate_is_read_from_the_start() {
    let e = Env::new();
    for i in 0..20 {
        e.logs.append("filebeat", benign_7x(i));
    }
    e.check(&[]).expect(0);
    // Truncate in place, then a short write: the file is now shorter than the offset.
    e.logs.truncate("filebeat");
    e.logs.append("filebeat", stuck_7x());
    let j = e.check_json();
    assert_eq!(j["status"], "unhealthy", "{j}");
    assert_eq!(j["match"]["offset"].as_u64(), Some(0));
}

#[test]
fn a_reused_inode_is_a_new_file() {
    let e = Env::new();
    e.logs.append("filebeat", "A".repeat(50));
    e.logs.append("filebeat", "\n");
    for i in 0..10 {
        e.logs.append("filebeat", benign_7x(i));
    }
    e.check(&[]).expect(0);
    // Truncated and rewritten past the old offset with other content: fingerprint differs.
    let mut data = stuck_7x();
    while data.len() < 2000 {
        data.push_str(&benign_7x(7));
    }
    fs::write(e.logs.file("filebeat"), &data).unwrap();
    let j = e.check_json();
    assert_eq!(j["status"], "unhealthy", "{j}");
    assert_eq!(j["match"]["offset"].as_u64(), Some(0));
}
