//! Where the bytes come from.
//!
//! - [`files`]: log files named by path or glob (Filebeat's own logs), and
//!   the discovery every source goes through.
//! - [`pods`]: the kubelet's copy of the container's stderr and stdout.
//! - [`identity`]: which file is which between runs, and where to resume.

pub mod files;
pub mod identity;
pub mod pods;
