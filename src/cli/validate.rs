//! `berth validate`: load and check the config; contact no server.

use super::{Exit, SourceArgs, failed, warn};

pub fn run(args: &SourceArgs) -> Exit {
    match crate::ops::load(&args.spec()) {
        Ok(loaded) => {
            warn(&loaded.warnings);
            let config = loaded.config;
            let green = anstyle::AnsiColor::Green.on_default().bold();
            anstream::println!(
                "{green}The config is valid:{green:#} {} server(s), {} destination(s), {} application/database(s), {} service(s).",
                config.servers.len(),
                config.destinations.len(),
                config.resources.len(),
                config.stacks.len()
            );
            Exit::Ok
        }
        Err(e) => failed(&e),
    }
}
