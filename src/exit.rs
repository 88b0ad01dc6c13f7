//! The probe's exit codes: what kubelet and scripts act on.
//!
//! kubelet treats any non-zero exit of an exec probe as a failure, so only
//! [`Exit::Unhealthy`] and, when asked for with `--on-error fail`,
//! [`Exit::CouldNotCheck`] are ever returned by a run that parsed its options.

/// How a run of `logprobe` ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Exit {
    /// Healthy: no trip in this incarnation (or the probe could not check and
    /// `--on-error pass` is in force).
    Healthy = 0,
    /// Unhealthy: a pattern tripped the probe (sticky until the container
    /// restarts), or the watched logs have been silent for too long.
    Unhealthy = 1,
    /// Usage or configuration error: a bad flag, an empty pattern, an
    /// unreadable patterns file. Nothing was scanned.
    Usage = 2,
    /// The probe could not check (unreadable log or state), with `--on-error fail`.
    CouldNotCheck = 3,
}

impl Exit {
    /// The numeric exit status.
    pub fn code(self) -> u8 {
        self as u8
    }
}
