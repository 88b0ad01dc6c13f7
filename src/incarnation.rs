//! When this incarnation of the container began: the start of the oldest
//! process in the probe's own container.
//!
//! A process is in this container when it shares the probe's cgroup (which
//! anyone may read in `/proc/<pid>/cgroup`) and, where the probe may inspect
//! it, its mount namespace. That holds whoever shares the PID namespace: with
//! `shareProcessNamespace: true` PID 1 is the pod's pause process, and with
//! `hostPID: true` it is the node's init, but each is in a cgroup and a mount
//! namespace of its own. When PID 1 is in the container (the usual pod), it
//! is taken without looking further; else every visible process is looked
//! at, once: the state remembers the process found, which stays the oldest
//! while it lives. With neither its cgroup nor its mount namespace readable,
//! the probe takes PID 1.
//!
//! `/proc/<pid>/stat` gives the start in clock ticks since boot. The boot
//! moment is taken as `CLOCK_REALTIME − CLOCK_BOOTTIME`, read together,
//! which is exact to the microsecond, unlike `btime` in `/proc/stat` (whole
//! seconds). The result may lie up to one tick (10 ms) before the true start.
//!
//! That wall-clock value differs by nanoseconds between runs (two clocks read
//! one after the other) and moves when the clock is stepped, so it is never
//! compared between runs: an incarnation is identified by the boot's ID, the
//! process's PID and its start in ticks, which are exact.

use std::path::{Path, PathBuf};

use nix::time::{ClockId, clock_gettime};
use nix::unistd::{SysconfVar, sysconf};

/// The current incarnation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incarnation {
    /// What identifies it across runs.
    pub id: String,
    /// Its start, ns since the epoch (compared with file modification times
    /// and line times).
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

    /// The incarnation of this container, read from `proc` (`/proc`, or a
    /// fake one in tests). `last` is the ID the state remembers: when its
    /// process is still there, in this mount namespace, with the same start,
    /// it is still the oldest (a process never gets older), and no other
    /// process is looked at.
    ///
    /// # Errors
    /// `proc` is not mounted or not readable, or the clocks cannot be read.
    pub fn of_container(proc: &Path, last: Option<&str>) -> Result<Incarnation, String> {
        let boot =
            std::fs::read_to_string(proc.join("sys/kernel/random/boot_id")).unwrap_or_default();
        let boot = boot.trim();
        let (pid, ticks) = container_init(proc, last.and_then(|l| remembered(l, boot)))?;
        let start_ns = start_ns(ticks).ok_or_else(|| "cannot read the clocks".to_string())?;
        Ok(Incarnation {
            id: format!("init:{boot}:{pid}:{ticks}"),
            start_ns,
        })
    }
}

/// The PID and start of the process an incarnation ID of this boot names.
fn remembered(id: &str, boot: &str) -> Option<(u32, u64)> {
    let rest = id
        .strip_prefix("init:")?
        .strip_prefix(boot)?
        .strip_prefix(':')?;
    let (pid, ticks) = rest.split_once(':')?;
    Some((pid.parse().ok()?, ticks.parse().ok()?))
}

/// What places a process in this container: its cgroup (which anyone may
/// read) and its mount namespace (which only a process allowed to inspect it
/// may read).
struct Ours {
    proc: PathBuf,
    cgroup: Option<String>,
    mnt: Option<PathBuf>,
}

impl Ours {
    fn of(proc: &Path) -> Ours {
        Ours {
            proc: proc.to_path_buf(),
            cgroup: std::fs::read_to_string(proc.join("self/cgroup")).ok(),
            mnt: std::fs::read_link(proc.join("self/ns/mnt")).ok(),
        }
    }

    /// Whether `pid` is in this container: in its cgroup, and in its mount
    /// namespace where that can be read; with neither of its own known,
    /// nothing is.
    fn has(&self, pid: u32) -> bool {
        let dir = self.proc.join(pid.to_string());
        if let Some(own) = &self.cgroup
            && std::fs::read_to_string(dir.join("cgroup")).ok().as_ref() != Some(own)
        {
            return false;
        }
        match (&self.mnt, std::fs::read_link(dir.join("ns/mnt"))) {
            (Some(own), Ok(ns)) => ns == *own,
            // Not allowed to inspect it: its cgroup decides.
            (Some(_), Err(_)) => self.cgroup.is_some(),
            (None, _) => self.cgroup.is_some(),
        }
    }
}

/// The PID and start (in ticks) of the container's first process; `last`,
/// when it still is.
fn container_init(proc: &Path, last: Option<(u32, u64)>) -> Result<(u32, u64), String> {
    let ours = Ours::of(proc);
    if (ours.cgroup.is_none() && ours.mnt.is_none()) || ours.has(1) {
        return Ok((1, start_of(proc, 1)?));
    }
    if let Some((pid, ticks)) = last
        && ours.has(pid)
        && start_of(proc, pid).ok() == Some(ticks)
    {
        return Ok((pid, ticks));
    }
    // The probe itself is never the container's first process.
    let me = std::fs::read_link(proc.join("self"))
        .ok()
        .and_then(|p| p.to_str()?.parse::<u32>().ok());
    let entries = std::fs::read_dir(proc)
        .map_err(|e| format!("{}: {}", proc.display(), crate::error::io_text(&e)))?;
    let oldest = entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| Some(pid) != me && ours.has(pid))
        // A process that ended since it was listed is skipped.
        .filter_map(|pid| Some((start_of(proc, pid).ok()?, pid)))
        .min();
    match oldest {
        Some((ticks, pid)) => Ok((pid, ticks)),
        None => Err(format!(
            "{}: no other process here is in this container's cgroup and mount namespace",
            proc.display()
        )),
    }
}

/// When process `pid` started, in clock ticks since boot.
fn start_of(proc: &Path, pid: u32) -> Result<u64, String> {
    let path = proc.join(format!("{pid}/stat"));
    let stat = std::fs::read_to_string(&path)
        .map_err(|e| format!("{}: {}", path.display(), crate::error::io_text(&e)))?;
    start_ticks(&stat).ok_or_else(|| format!("{}: unexpected contents", path.display()))
}

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
    fn reads_a_remembered_id_of_this_boot_only() {
        assert_eq!(remembered("init:b00t:42:9000", "b00t"), Some((42, 9000)));
        assert_eq!(remembered("init:other:42:9000", "b00t"), None);
        assert_eq!(remembered("since:5", "b00t"), None);
        assert_eq!(remembered("init:b00t:x:9000", "b00t"), None);
    }

    #[test]
    fn parses_starttime_after_odd_command_names() {
        let line = "1 (we ird) name)) S 0 1 1 0 -1 4194560 1 2 3 4 5 6 7 8 20 0 1 0 12345 100 200";
        assert_eq!(start_ticks(line), Some(12345));
        assert_eq!(start_ticks("garbage"), None);
    }

    #[test]
    fn this_container_started_in_the_past_and_is_the_same_every_time() {
        let proc = Path::new("/proc");
        let a = Incarnation::of_container(proc, None).unwrap();
        assert!(a.start_ns > 0 && a.start_ns <= crate::timefmt::now_ns());
        for _ in 0..100 {
            assert_eq!(Incarnation::of_container(proc, None).unwrap().id, a.id);
            assert_eq!(
                Incarnation::of_container(proc, Some(&a.id)).unwrap().id,
                a.id
            );
        }
    }
}
