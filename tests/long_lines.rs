//! Lines without a newline far longer than a mapping window are scanned in
//! pieces, in bounded memory and time, and count once.

use std::fs::File;
use std::io::Write;
use std::time::Duration;

use crate::util::{Env, STUCK, at_ns, benign_7x, now_ns};

/// A 64 MiB line with the stuck message 40 MiB in, scanned in one run.
///
/// Pass: the run trips at offset 0 showing the message, with a peak RSS
/// under 16 MiB; when the line goes on and ends, it does not count again.
#[test]
fn a_64_mib_line_without_newline_in_bounded_memory() {
    let e = Env::new();
    let mut f = File::create(e.logs.file("filebeat")).unwrap();
    let chunk = vec![b'z'; 1 << 20];
    for i in 0..64 {
        if i == 40 {
            // The pattern somewhere in the middle of the long line.
            f.write_all(STUCK.as_bytes()).unwrap();
        }
        f.write_all(&chunk).unwrap();
    }
    drop(f);
    let r = e.check(&["--budget", "60s", "--format", "json"]);
    let j = r.json();
    assert_eq!(r.code(), 1, "{j}");
    assert_eq!(j["match"]["offset"].as_u64(), Some(0));
    assert!(j["match"]["line"].as_str().unwrap().contains(STUCK));
    // 4 MiB mapping windows: far below the 64 MiB line, with room for the (debug) executable.
    r.assert_peak_rss_below(16 * 1024, "the 64 MiB line");
    // The line goes on, then ends: it must not count twice.
    e.logs.append("filebeat", "zzz\n");
    e.logs.append("filebeat", benign_7x(0));
    let j = e.check_json();
    assert_eq!(j["match"]["offset"].as_u64(), Some(0), "{j}");
}

/// A 1 GiB line with no newline (a sparse file), then its newline after a
/// stuck message at its very end, with the default budget.
///
/// Pass: every run ends within 3 s (a 400 ms budget, startup and a debug
/// build's slack) with a peak RSS under 64 MiB (4 MiB map windows); the runs
/// together scan the whole line within 300 runs; the stuck message at its
/// end trips the probe at offset 0.
#[test]
fn a_one_gib_line_without_newline_is_bounded() {
    let e = Env::new();
    let f = File::create(e.logs.file("filebeat")).unwrap();
    f.set_len(1 << 30).unwrap();
    drop(f);
    let since = at_ns(now_ns() - 60_000_000_000);
    let args = ["--since", since.as_str(), "--format", "json"];
    let mut runs = 0;
    loop {
        let r = e.check(&args);
        runs += 1;
        r.expect(0);
        r.assert_elapsed_below(Duration::from_secs(3), &format!("run {runs}"));
        r.assert_peak_rss_below(64 << 10, &format!("run {runs}"));
        if r.json()["pending_bytes"] == 0 {
            break;
        }
        assert!(
            runs < 300,
            "the 1 GiB line is not scanned after {runs} runs"
        );
    }
    e.logs.append("filebeat", format!("{STUCK}\n"));
    let r = e.check(&args);
    r.expect(1);
    assert_eq!(r.json()["match"]["offset"], 0, "{r}");
    r.assert_peak_rss_below(64 << 10, "the tripping run");
    println!("1 GiB line scanned in {runs} runs");
}
