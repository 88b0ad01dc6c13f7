//! Only complete lines count, however the bytes arrive: a line written in
//! two halves across runs, a pattern across the edge of a mapping window.

use crate::util::{Env, STUCK, benign_7x, stuck_7x};

#[test]
fn a_line_written_in_two_halves_across_runs() {
    let e = Env::new();
    e.logs.append("filebeat", benign_7x(0));
    let at = e.logs.size("filebeat");
    let line = stuck_7x();
    let (a, b) = line.split_at(90);
    e.logs.append("filebeat", a);
    e.check(&[]).expect(0);
    let st = e.state_json();
    assert_eq!(
        st["files"][0]["offset"].as_u64(),
        Some(at),
        "offset stays just past the last newline"
    );
    e.logs.append("filebeat", b);
    let j = e.check_json();
    assert_eq!(j["status"], "unhealthy");
    assert_eq!(j["match"]["offset"].as_u64(), Some(at));
}

#[test]
fn a_pattern_straddling_a_window_edge() {
    // Default 4 MiB window: the stuck message crosses the 4 MiB boundary.
    let e = Env::new();
    let window = logprobe::config::DEFAULT_MAP_WINDOW;
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
    e.logs.append("filebeat", &data);
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
    e.logs.append("filebeat", &data);
    let r = e.check(&[
        "--format",
        "json",
        "--map-window",
        "100",
        "--max-line",
        "30",
    ]);
    let j = r.json();
    assert_eq!(j["status"], "unhealthy", "{r}");
    assert_eq!(j["match"]["offset"].as_u64(), Some(at as u64));
}
