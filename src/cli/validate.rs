//! `berth validate`: load and check the config; contact no server.

use super::{Exit, SourceArgs, failed, warn};

pub fn run(args: &SourceArgs) -> Exit {
    match crate::ops::load(&args.spec()) {
        Ok(loaded) => {
            warn(&loaded.warnings);
            let config = loaded.config;
            // A receiver's URL is read where watch runs, not where the
            // config is checked: a warning here, an error at watch start.
            let yellow = anstyle::AnsiColor::Yellow.on_default().bold();
            for problem in crate::ops::alert_problems(&config) {
                anstream::eprintln!(
                    "{yellow}warning:{yellow:#} {problem} (watch will not start without it)"
                );
                if let Some(hint) = problem.hint() {
                    let cyan = anstyle::AnsiColor::Cyan.on_default().bold();
                    anstream::eprintln!("  {cyan}hint:{cyan:#} {hint}");
                }
            }
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
            let alerts = match config.alerts.len() {
                0 => String::new(),
                n => format!(", {n} alert(s)"),
            };
            anstream::println!(
                "{green}The config is valid:{green:#} {} server(s), {} destination(s){networks}, {} application/database(s), {} service(s){alerts}.",
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
