//! Only log bytes written in this incarnation (since the container started)
//! count: older files and an older verdict never trip the probe, and the
//! default incarnation (the start of PID 1) is the same on every run.

use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::util::{BIN, Env, STUCK, benign_7x, since_ago, stuck_7x};

#[test]
fn files_from_an_earlier_incarnation_never_trip() {
    let e = Env::new();
    e.logs.append("filebeat.1", stuck_7x());
    e.logs.append("filebeat", stuck_7x());
    let old = SystemTime::now() - Duration::from_secs(3600);
    e.logs.set_mtime("filebeat.1", old);
    e.logs.set_mtime("filebeat", old);
    let since = since_ago(60);
    e.check(&[&since]).expect(0);
    // Even when the old current file is appended to after the start, its old bytes stay unread.
    e.logs.append("filebeat", benign_7x(1));
    e.check(&[&since]).expect(0);
    e.logs.append("filebeat", stuck_7x());
    e.check(&[&since]).expect(1);
}

#[test]
fn an_old_verdict_in_the_state_is_discarded_by_a_new_incarnation() {
    let e = Env::new();
    e.logs.append("filebeat", stuck_7x());
    e.check(&["--since", "@1000"]).expect(1);
    e.logs
        .set_mtime("filebeat", UNIX_EPOCH + Duration::from_secs(1500));
    e.check(&["--since", "@2000"]).expect(0);
    e.check(&["--since", "@2000"]).expect(0);
}

/// Regression: the incarnation's wall-clock start, computed from two clocks,
/// jitters by nanoseconds between runs; it must not be what identifies the
/// incarnation, or the sticky verdict is dropped on the next run.
#[test]
fn sticky_with_the_default_incarnation_over_many_runs() {
    let e = Env::new();
    e.logs.append("filebeat", stuck_7x());
    for i in 0..60 {
        // No --since: the default incarnation.
        let mut cmd = Command::new(BIN);
        cmd.args(["--preset", "none", "-p", STUCK])
            .args(e.preset_log_args())
            .arg("-s")
            .arg(e.state());
        let r = e.exec(cmd);
        assert_eq!(r.code(), 1, "run {i}\n{r}");
    }
}
