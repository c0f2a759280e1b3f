//! `berth import --server NAME`: print TOML for what runs on a server now.

use super::{Exit, ImportArgs, block_on, failed, interrupted};
use crate::ops::FleetOptions;

pub fn run(args: &ImportArgs) -> Exit {
    let spinner = super::progress::spinner(format!("reading server {}", args.server));
    let fleet = FleetOptions::one_server(args.timeout);
    let spec = args.source.spec();
    let result =
        block_on(
            |cancel| async move { crate::ops::import(&spec, &args.server, fleet, &cancel).await },
        );
    spinner.finish_and_clear();
    match result {
        None => interrupted(),
        Some(Err(e)) => failed(&e),
        Some(Ok(toml)) => {
            print!("{toml}");
            Exit::Ok
        }
    }
}
