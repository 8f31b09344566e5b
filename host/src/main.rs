//! The `nudge` command line: see `nudge --help`.
//!
//! Exit status: 0 on success, 2 on a usage error (from clap), 1 on any other error, which
//! is printed as one line `error: <cause>` naming the file or argument at fault.

mod cli;

use clap::Parser;

fn main() {
    let args = cli::Cli::parse();
    if let Err(e) = cli::run(args) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
