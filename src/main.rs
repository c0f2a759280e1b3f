//! The `berth` binary: parse arguments, run the command, exit with its code.

use clap::Parser;

fn main() {
    let cli = berthing::cli::Cli::parse();
    let code = berthing::cli::run(cli);
    std::process::exit(code as i32);
}
