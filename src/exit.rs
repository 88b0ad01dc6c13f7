//! The probe's exit codes: what kubelet and scripts act on.
//!
//! kubelet treats any non-zero exit of an exec probe as a failure, so only
//! [`Exit::Unhealthy`] and, when asked for with `--on-error fail`,
//! [`Exit::CouldNotCheck`] are ever returned by a run that parsed its options.
//! [`exit_for`] is the one mapping from a verdict to its exit.

use serde::{Serialize, Serializer};

use crate::cli::OnError;
use crate::verdict::Status;

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

/// The exit status is reported as its number.
impl Serialize for Exit {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(self.code())
    }
}

/// The exit of a verdict: the probe's own trouble fails only with `--on-error fail`.
pub fn exit_for(status: Status, on_error: OnError) -> Exit {
    match (status, on_error) {
        (Status::Healthy, _) | (Status::Error, OnError::Pass) => Exit::Healthy,
        (Status::Unhealthy, _) => Exit::Unhealthy,
        (Status::Error, OnError::Fail) => Exit::CouldNotCheck,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_fail_makes_trouble_fail() {
        assert_eq!(exit_for(Status::Error, OnError::Pass), Exit::Healthy);
        assert_eq!(exit_for(Status::Error, OnError::Fail), Exit::CouldNotCheck);
        assert_eq!(exit_for(Status::Unhealthy, OnError::Pass), Exit::Unhealthy);
        assert_eq!(exit_for(Status::Healthy, OnError::Fail), Exit::Healthy);
    }
}
