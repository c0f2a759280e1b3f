//! The `berth` binary: parse arguments, run the command, exit with its code.
//! Whatever a command opened (connections, tunnels, locks) is closed by the
//! command itself, on every path.

fn main() {
    let code = match berthing::cli::parse() {
        Ok(cli) => berthing::cli::run(cli),
        Err(code) => code,
    };
    std::process::exit(code as i32);
}
