//! `berth validate`: load and check the config; contact no server.

use super::{Exit, SourceArgs, failed, warn};

pub fn run(args: &SourceArgs) -> Exit {
    match crate::ops::load(&args.spec()) {
        Ok(loaded) => {
            warn(&loaded.warnings);
            let config = loaded.config;
            let green = anstyle::AnsiColor::Green.on_default().bold();
            // A destination over a set of servers is one network per server.
            let mut declared: Vec<&str> = config
                .destinations
                .iter()
                .map(|d| d.name.as_str())
                .collect();
            declared.dedup();
            let networks = match config.destinations.len() {
                n if n == declared.len() => String::new(),
                n => format!(" ({n} networks)"),
            };
            anstream::println!(
                "{green}The config is valid:{green:#} {} server(s), {} destination(s){networks}, {} application/database(s), {} service(s).",
                config.servers.len(),
                declared.len(),
                config.resources.len(),
                config.stacks.len()
            );
            Exit::Ok
        }
        Err(e) => failed(&e),
    }
}
