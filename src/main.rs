//! The `logprobe` executable: parse, run, exit.
//!
//! kubelet starts it every 10 s in every Filebeat pod, so it skips the Rust
//! runtime's start-up (`#![no_main]`): that only installs a stack-overflow
//! handler, whose set-up reads `/proc/self/maps`, and ignores SIGPIPE, which
//! is done here. Arguments come from glibc as usual.

#![no_main]

use std::ffi::{c_char, c_int};
use std::io::Write;

use clap::error::ErrorKind;
use logprobe::exit::Exit;
use nix::sys::signal::{SigHandler, Signal, signal};

/// The C entry point.
// SAFETY: exporting `main` unmangled is what `#![no_main]` asks for; nothing
// else in the program defines that symbol.
#[unsafe(no_mangle)]
pub extern "C" fn main(_argc: c_int, _argv: *const *const c_char) -> c_int {
    // SAFETY: ignoring SIGPIPE installs no handler; a closed pipe then gives
    // EPIPE instead of killing the probe, as under the usual Rust runtime.
    let _ = unsafe { signal(Signal::SIGPIPE, SigHandler::SigIgn) };
    let code = run();
    let _ = std::io::stdout().flush();
    c_int::from(code)
}

fn run() -> u8 {
    let cli = match logprobe::cli::parse(std::env::args_os().collect()) {
        Ok(c) => c,
        Err(e) => match e.kind() {
            ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                let _ = e.print();
                return Exit::Healthy.code();
            }
            _ => {
                logprobe::error::print(logprobe::cli::error_line(&e));
                return Exit::Usage.code();
            }
        },
    };
    logprobe::run(cli).code()
}
