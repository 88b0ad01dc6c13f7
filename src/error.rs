//! The probe's own trouble, as one line: `logprobe: <what>: <why>`.
//!
//! kubelet shows a probe's output in the pod's events, and an operator reads
//! it in `kubectl describe pod`: every error names the flag, file or path at
//! fault, fits on one line, and starts with [`PREFIX`].

use std::fmt;

/// What every line logprobe writes to stderr starts with.
pub const PREFIX: &str = "logprobe: ";

/// One line of trouble, naming the flag, file or path at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(String);

impl Error {
    /// The line, without the prefix.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<String> for Error {
    fn from(line: String) -> Error {
        // One line, whatever the cause said.
        Error(line.replace(['\n', '\r'], " "))
    }
}

impl From<&str> for Error {
    fn from(line: &str) -> Error {
        Error::from(line.to_string())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Writes `line` to stderr behind the prefix.
pub fn print(line: impl fmt::Display) {
    eprintln!("{PREFIX}{line}");
}

/// Writes a warning to stderr behind the prefix.
pub fn warn(line: impl fmt::Display) {
    eprintln!("{PREFIX}warning: {line}");
}

/// An I/O error as one short phrase, without Rust's `(os error N)` suffix.
pub fn io_text(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// `<path>: <I/O error>`, the shape of every per-file error.
pub fn at_path(path: &std::path::Path, e: &std::io::Error) -> String {
    format!("{}: {}", path.display(), io_text(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_without_the_os_error_number() {
        let e = std::io::Error::from_raw_os_error(nix::libc::ENOENT);
        assert_eq!(io_text(&e), "No such file or directory");
        assert_eq!(Error::from("a\nb").as_str(), "a b");
    }
}
