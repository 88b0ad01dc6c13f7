//! The `logprobe` executable: parse, run, exit.

use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;
use logprobe::cli::Cli;
use logprobe::exit::Exit;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => match e.kind() {
            ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                let _ = e.print();
                return ExitCode::SUCCESS;
            }
            _ => {
                // One line, naming the flag: kubelet shows only what fits in an event.
                let text = e.render().to_string();
                let first = text.lines().next().unwrap_or("invalid arguments");
                let first = first.strip_prefix("error: ").unwrap_or(first);
                eprintln!("logprobe: {first} (see logprobe --help)");
                return ExitCode::from(Exit::Usage.code());
            }
        },
    };
    ExitCode::from(logprobe::run(cli).code())
}
