//! `logprobe install DIR`: the init container's whole job.
//!
//! kubelet silently ignores an exec probe whose binary is missing, so the copy
//! is made under a temporary name, flushed, renamed into place with mode 0555,
//! and then run with `--version` to prove it works.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

use crate::exit::Exit;

/// `logprobe install DIR`: installs, prints what it did, returns the exit.
pub fn command(dir: &Path) -> Exit {
    match install(dir) {
        Ok(line) => {
            println!("{line}");
            Exit::Healthy
        }
        Err(e) => {
            crate::error::print(e);
            Exit::CouldNotCheck
        }
    }
}

/// Copies the running executable to `dir/logprobe` and checks the copy runs.
/// Returns the line to print.
///
/// # Errors
/// One line naming the path and what failed.
pub fn install(dir: &Path) -> Result<String, String> {
    let meta = fs::metadata(dir)
        .map_err(|e| format!("install: {}: {}", dir.display(), crate::error::io_text(&e)))?;
    if !meta.is_dir() {
        return Err(format!("install: {}: not a directory", dir.display()));
    }
    let exe = fs::read("/proc/self/exe").map_err(|e| {
        format!(
            "install: cannot read this executable (/proc/self/exe): {}",
            crate::error::io_text(&e)
        )
    })?;
    let dest = dir.join("logprobe");
    write_atomically(dir, &dest, &exe)
        .map_err(|e| format!("install: {}", crate::error::at_path(&dest, &e)))?;
    let run = Command::new(&dest).arg("--version").output().map_err(|e| {
        format!(
            "install: {}: the copy does not run: {}",
            dest.display(),
            crate::error::io_text(&e)
        )
    })?;
    let version = String::from_utf8_lossy(&run.stdout);
    if !run.status.success() || !version.starts_with("logprobe ") {
        return Err(format!(
            "install: {}: the copy does not run ({})",
            dest.display(),
            run.status
        ));
    }
    Ok(format!(
        "installed {} ({}, {} bytes)",
        dest.display(),
        version.trim(),
        exe.len()
    ))
}

/// Writes `bytes` to `dest` in `dir` with mode 0555: under a temporary name,
/// flushed, then renamed into place, so `dest` is never seen half-written.
fn write_atomically(dir: &Path, dest: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = dir.join(format!(".logprobe.{}.tmp", std::process::id()));
    let write = || -> io::Result<()> {
        let _ = fs::remove_file(&tmp);
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o700)
            .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_CLOEXEC)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.set_permissions(fs::Permissions::from_mode(0o555))?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, dest)?;
        if let Ok(d) = fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    };
    write().inspect_err(|_| {
        let _ = fs::remove_file(&tmp);
    })
}
