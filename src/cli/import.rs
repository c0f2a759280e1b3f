//! `berth import --server NAME` (or `--address ADDRESS`, no config needed):
//! print TOML for what runs on a server now.

use super::{Exit, ImportArgs, block_on, failed, interrupted};
use crate::ops::{Fleet, ImportFrom};

pub fn run(args: &ImportArgs) -> Exit {
    let from = match (&args.address, &args.server) {
        (Some(address), name) => ImportFrom::Address {
            address: address.clone(),
            name: name.clone().unwrap_or_else(|| "local".to_string()),
        },
        (None, Some(name)) => ImportFrom::Declared(name.clone()),
        // clap requires one of the two.
        (None, None) => ImportFrom::Declared(String::new()),
    };
    let spinner = super::progress::spinner(format!("reading server {}", from.name()));
    let fleet = Fleet::one_server(args.timeout);
    let spec = args.source.spec();
    let from = &from;
    let result =
        block_on(|cancel| async move { crate::ops::import(&spec, from, fleet, &cancel).await });
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
