//! When this incarnation of the container began: the start of PID 1 in the
//! probe's PID namespace (the container's init).
//!
//! `/proc/1/stat` gives the start in clock ticks since boot. The boot moment
//! is taken as `CLOCK_REALTIME − CLOCK_BOOTTIME`, read together, which is
//! exact to the microsecond, unlike `btime` in `/proc/stat` (whole seconds).
//! The result may lie up to one tick (10 ms) before the true start.

use nix::time::{ClockId, clock_gettime};
use nix::unistd::{SysconfVar, sysconf};

/// Start of PID 1 in ns since the epoch.
///
/// # Errors
/// `/proc` is not mounted or not readable.
pub fn pid1_start_ns() -> Result<i64, String> {
    let stat = std::fs::read_to_string("/proc/1/stat")
        .map_err(|e| format!("/proc/1/stat: {}", crate::io_error_text(&e)))?;
    start_ticks(&stat)
        .and_then(|ticks| {
            let hz = sysconf(SysconfVar::CLK_TCK)
                .ok()
                .flatten()
                .filter(|&h| h > 0)? as i64;
            let real = clock_gettime(ClockId::CLOCK_REALTIME).ok()?;
            let boot = clock_gettime(ClockId::CLOCK_BOOTTIME).ok()?;
            let ns = |t: nix::sys::time::TimeSpec| t.tv_sec() * 1_000_000_000 + t.tv_nsec();
            let booted = ns(real) - ns(boot);
            Some(booted + (ticks as i128 * 1_000_000_000 / hz as i128) as i64)
        })
        .ok_or_else(|| "/proc/1/stat: unexpected contents".to_string())
}

/// Field 22 (starttime) of a `/proc/<pid>/stat` line; the command name in
/// field 2 may hold spaces and parentheses, so fields are counted after the last `)`.
fn start_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_ascii_whitespace().nth(19)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_starttime_after_odd_command_names() {
        let line = "1 (we ird) name)) S 0 1 1 0 -1 4194560 1 2 3 4 5 6 7 8 20 0 1 0 12345 100 200";
        assert_eq!(start_ticks(line), Some(12345));
        assert_eq!(start_ticks("garbage"), None);
    }

    #[test]
    fn pid1_started_in_the_past() {
        let s = pid1_start_ns().unwrap();
        assert!(s > 0 && s <= crate::timefmt::now_ns());
    }
}
