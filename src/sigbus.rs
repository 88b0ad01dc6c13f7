//! SIGBUS from a log file truncated while mapped: an orderly exit, never a false failure.
//!
//! Before its first mapping a run arms the handler with the report it would
//! give ([`crate::report::TRUNCATED_WHILE_MAPPED`], rendered by
//! [`crate::report`] like any other) and its exit status. The handler only
//! calls async-signal-safe functions (`write`, `_exit`) on that prepared text.
//! The state is written after a scan completes, so exiting here changes
//! nothing: the next run sees the shorter file, takes it for a new one, and is right.

use std::sync::atomic::{AtomicI32, AtomicPtr, AtomicUsize, Ordering};

use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};

static STDOUT: AtomicPtr<u8> = AtomicPtr::new(std::ptr::null_mut());
static STDOUT_LEN: AtomicUsize = AtomicUsize::new(0);
static CODE: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_sigbus(_: nix::libc::c_int) {
    let warn = b"logprobe: SIGBUS: a log file shrank while mapped\n";
    let text = STDOUT.load(Ordering::Acquire);
    let len = STDOUT_LEN.load(Ordering::Relaxed);
    // SAFETY: write(2) and _exit(2) are async-signal-safe; `warn` is a static
    // and `text` is null or points to `len` bytes leaked by `arm`, never freed.
    unsafe {
        nix::libc::write(2, warn.as_ptr().cast(), warn.len());
        if !text.is_null() {
            nix::libc::write(1, text.cast(), len);
        }
        nix::libc::_exit(CODE.load(Ordering::Relaxed));
    }
}

/// Installs the handler: on SIGBUS, `stdout` is written and the process exits
/// with `code`. Called once per run, before the first mapping.
pub fn arm(code: u8, stdout: String) {
    let text: &'static mut [u8] = Box::leak(stdout.into_bytes().into_boxed_slice());
    STDOUT_LEN.store(text.len(), Ordering::Relaxed);
    CODE.store(i32::from(code), Ordering::Relaxed);
    STDOUT.store(text.as_mut_ptr(), Ordering::Release);
    let action = SigAction::new(
        SigHandler::Handler(on_sigbus),
        SaFlags::empty(),
        SigSet::empty(),
    );
    // SAFETY: the handler is async-signal-safe (see above) and replaces the
    // default action, which would kill the process with no explanation.
    let _ = unsafe { sigaction(Signal::SIGBUS, &action) };
}
