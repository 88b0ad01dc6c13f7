//! Where the bytes come from.
//!
//! - [`files`]: log files named by path or glob (Filebeat's own logs).

pub mod files;
