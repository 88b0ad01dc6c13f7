//! SIGBUS from a log file truncated while mapped: an orderly exit, never a false failure.
//!
//! The handler only calls async-signal-safe functions (`write`, `_exit`). The
//! state is written after a scan completes, so exiting here changes nothing:
//! the next run sees the shorter file, takes it for a new one, and is right.

use std::sync::atomic::{AtomicUsize, Ordering};

use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};

/// (exit status, stdout text) for each of: text/pass, text/fail, json/pass, json/fail.
const MESSAGES: [(i32, &str); 4] = [
    (
        0,
        "HEALTHY: could not check: a log file was truncated while being read; state unchanged, the next run rereads it (--on-error pass)\n",
    ),
    (
        3,
        "ERROR: could not check: a log file was truncated while being read; state unchanged, the next run rereads it\n",
    ),
    (
        0,
        "{\"status\":\"error\",\"exit\":0,\"scanned_bytes\":0,\"message\":\"could not check: a log file was truncated while being read; state unchanged, the next run rereads it\"}\n",
    ),
    (
        3,
        "{\"status\":\"error\",\"exit\":3,\"scanned_bytes\":0,\"message\":\"could not check: a log file was truncated while being read; state unchanged, the next run rereads it\"}\n",
    ),
];

static CHOICE: AtomicUsize = AtomicUsize::new(0);

extern "C" fn on_sigbus(_: nix::libc::c_int) {
    let (code, msg) = MESSAGES[CHOICE.load(Ordering::Relaxed) % MESSAGES.len()];
    let warn = b"logprobe: SIGBUS: a log file shrank while mapped\n";
    // SAFETY: write(2) and _exit(2) are async-signal-safe; the buffers are statics.
    unsafe {
        nix::libc::write(2, warn.as_ptr().cast(), warn.len());
        nix::libc::write(1, msg.as_ptr().cast(), msg.len());
        nix::libc::_exit(code);
    }
}

/// Installs the handler; `json` and `fail` choose what it prints and the exit status.
pub fn install(json: bool, fail: bool) {
    CHOICE.store(usize::from(json) * 2 + usize::from(fail), Ordering::Relaxed);
    let action = SigAction::new(
        SigHandler::Handler(on_sigbus),
        SaFlags::empty(),
        SigSet::empty(),
    );
    // SAFETY: the handler is async-signal-safe (see above) and replaces the
    // default action, which would kill the process with no explanation.
    let _ = unsafe { sigaction(Signal::SIGBUS, &action) };
}
