//! `berth validate`: load and check the config; contact no server.

use super::{Exit, SourceArgs, load_config, warn};

pub fn run(args: &SourceArgs) -> Exit {
    match load_config(args) {
        Ok(loaded) => {
            warn(&loaded.warnings);
            let config = loaded.config;
            let green = anstyle::AnsiColor::Green.on_default().bold();
            anstream::println!(
                "{green}The config is valid:{green:#} {} server(s), {} destination(s), {} application/database(s), {} service(s).",
                config.servers.len(),
                config.destinations.len(),
                config.resources.len(),
                config.services.len()
            );
            Exit::Ok
        }
        Err(code) => code,
    }
}
