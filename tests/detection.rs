//! A stuck line trips the probe, the trip is sticky for the incarnation, and
//! the text line and the JSON report say which line, where.

use std::time::{Duration, SystemTime};

use crate::util::{Env, STUCK, benign_7x, since_at, stuck_7x};

#[test]
fn healthy_then_unhealthy_on_the_stuck_line() {
    let e = Env::new();
    e.logs.append("filebeat", benign_7x(1));
    e.check(&[]).expect(0).stdout_has("HEALTHY: no match in");
    let at = e.logs.size("filebeat");
    e.logs.append("filebeat", stuck_7x());
    let r = e.check(&[]);
    r.expect(1).stdout_has(&format!(
        "UNHEALTHY: \"{STUCK}\" in {}/filebeat at byte {at} (first seen ",
        e.logs.path().display()
    ));
    assert_eq!(r.stdout.lines().count(), 1);
    assert!(r.stdout.len() < 1024);
}

#[test]
fn json_report_has_the_match() {
    let e = Env::new();
    e.logs.append("filebeat", benign_7x(1));
    let at = e.logs.size("filebeat");
    e.logs.append("filebeat", stuck_7x());
    e.logs.append("filebeat", benign_7x(2));
    let j = e.check_json();
    assert_eq!(j["status"], "unhealthy");
    // The run reads on past the trip, without counting, to the end of the log.
    assert_eq!(j["scanned_bytes"].as_u64(), Some(e.logs.size("filebeat")));
    assert_eq!(j["match"]["pattern"], STUCK);
    assert_eq!(j["match"]["offset"].as_u64(), Some(at));
    assert_eq!(
        j["match"]["file"],
        e.logs.file("filebeat").display().to_string()
    );
    assert!(
        j["match"]["line"]
            .as_str()
            .unwrap()
            .contains("Z\\tERROR\\t[autodiscover]")
    );
    let j = e.check_json();
    assert_eq!(j["status"], "unhealthy");
    assert_eq!(j["scanned_bytes"].as_u64(), Some(0));
}

#[test]
fn the_trip_is_sticky_for_the_incarnation() {
    let e = Env::new();
    e.logs.append("filebeat", stuck_7x());
    let first = e.check(&[]);
    first.expect(1);
    for i in 0..5 {
        e.logs.append("filebeat", benign_7x(i));
        if i == 2 {
            e.logs.rotate_7x(Some(7));
        }
        let again = e.check(&[]);
        again.expect(1);
        assert_eq!(again.stdout, first.stdout, "run {i} changed the message");
    }
    // A new incarnation (a restart) forgets it; the old line is in a file modified before.
    let since = since_at(SystemTime::now() + Duration::from_secs(5));
    e.check(&[&since]).expect(0).stdout_has("HEALTHY");
}
