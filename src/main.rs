//! The `berth` binary: parse arguments, run the command, close what it
//! opened, exit with its code.

use clap::Parser;

fn main() {
    let cli = berthing::cli::Cli::parse();
    let code = berthing::cli::run(cli);
    // SSH tunnels close here on every normal exit; Ctrl-C closes them in
    // the signal handler.
    berthing::ssh::close_all();
    std::process::exit(code as i32);
}
