//! `--max-silence`: unhealthy while no watched log has grown for that long
//! within this incarnation; not sticky.

use std::time::{Duration, SystemTime};

use crate::util::{Env, cri, since_ago};

#[test]
fn silence_trips_and_clears() {
    let e = Env::node(true);
    e.pods.append("0.log", cri("stderr", "F", "metrics"));
    let ten_min_ago = SystemTime::now() - Duration::from_secs(600);
    e.pods.set_mtime("0.log", ten_min_ago);
    let since = since_ago(3600);
    let args = [since.as_str(), "--max-silence", "5m", "--format", "json"];
    let r = e.run(&args);
    let v = r.json();
    assert_eq!(r.code(), 1, "{v}");
    let msg = v["message"].as_str().unwrap();
    assert!(
        msg.starts_with("UNHEALTHY: no watched log has grown for 10m"),
        "{msg}"
    );
    assert!(msg.contains("--max-silence 5m0s"), "{msg}");
    assert!(v["silent_since"].is_string());
    // Not sticky: growth clears it.
    e.pods.append("0.log", cri("stderr", "F", "metrics again"));
    let r = e.run(&args);
    assert_eq!(r.code(), 0, "{}", r.json());
    // A recent start counts as growth: silence is measured within the incarnation.
    e.pods.set_mtime("0.log", ten_min_ago);
    let recent = since_ago(60);
    e.run(&[recent.as_str(), "--max-silence", "5m", "--format", "json"])
        .expect(0);
    e.run(&[recent.as_str(), "--max-silence", "30s", "--format", "json"])
        .expect(1);
}
