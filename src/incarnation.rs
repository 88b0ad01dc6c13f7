//! When this incarnation of the container began: the start of PID 1 in the
//! probe's PID namespace (the container's init).
//!
//! `/proc/1/stat` gives the start in clock ticks since boot. The boot moment
//! is taken as `CLOCK_REALTIME − CLOCK_BOOTTIME`, read together, which is
//! exact to the microsecond, unlike `btime` in `/proc/stat` (whole seconds).
//! The result may lie up to one tick (10 ms) before the true start.
//!
//! That wall-clock value differs by nanoseconds between runs (two clocks read
//! one after the other) and moves when the clock is stepped, so it is never
//! compared between runs: an incarnation is identified by the boot's ID and
//! PID 1's start in ticks, which are exact.

/// The current incarnation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incarnation {
    /// What identifies it across runs.
    pub id: String,
    /// Its start, ns since the epoch (compared with file modification times).
    pub start_ns: i64,
}

impl Incarnation {
    /// The incarnation `--since` names.
    pub fn since(start_ns: i64) -> Incarnation {
        Incarnation {
            id: format!("since:{start_ns}"),
            start_ns,
        }
    }

    /// The incarnation of PID 1 in this PID namespace.
    ///
    /// # Errors
    /// `/proc` is not mounted or not readable.
    pub fn pid1() -> Result<Incarnation, String> {
        let stat = std::fs::read_to_string("/proc/1/stat")
            .map_err(|e| format!("/proc/1/stat: {}", crate::error::io_text(&e)))?;
        let ticks =
            start_ticks(&stat).ok_or_else(|| "/proc/1/stat: unexpected contents".to_string())?;
        let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap_or_default();
        let start_ns = start_ns(ticks).ok_or_else(|| "cannot read the clocks".to_string())?;
        Ok(Incarnation {
            id: format!("pid1:{}:{ticks}", boot.trim()),
            start_ns,
        })
    }
}

use nix::time::{ClockId, clock_gettime};
use nix::unistd::{SysconfVar, sysconf};

/// Wall-clock time, in ns since the epoch, of `ticks` clock ticks after boot.
fn start_ns(ticks: u64) -> Option<i64> {
    let hz = sysconf(SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .filter(|&h| h > 0)? as i64;
    let real = clock_gettime(ClockId::CLOCK_REALTIME).ok()?;
    let boot = clock_gettime(ClockId::CLOCK_BOOTTIME).ok()?;
    let ns = |t: nix::sys::time::TimeSpec| t.tv_sec() * 1_000_000_000 + t.tv_nsec();
    let booted = ns(real) - ns(boot);
    Some(booted + (ticks as i128 * 1_000_000_000 / hz as i128) as i64)
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
    fn pid1_started_in_the_past_and_is_the_same_every_time() {
        let a = Incarnation::pid1().unwrap();
        assert!(a.start_ns > 0 && a.start_ns <= crate::timefmt::now_ns());
        for _ in 0..100 {
            assert_eq!(Incarnation::pid1().unwrap().id, a.id);
        }
    }
}
