//! The `berth` binary: parse arguments, run the command, exit with its code.
//! Whatever a command opened (connections, tunnels, locks) is closed by the
//! command itself, on every path.

fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if let Some(code) = berthing::cli::generate_man(&args) {
        std::process::exit(code as i32);
    }
    let code = match berthing::cli::parse() {
        Ok(cli) => berthing::cli::run(cli),
        Err(code) => code,
    };
    std::process::exit(code as i32);
}
