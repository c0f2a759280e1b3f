//! `berth forget NETWORK... --server NAME`: stop managing networks berth
//! created, without removing them.

use super::{Exit, ForgetArgs, block_on, failed, interrupted};
use crate::ops::{FleetOptions, ForgetRequest, Forgot};

pub fn run(args: &ForgetArgs) -> Exit {
    let req = ForgetRequest {
        source: args.source.spec(),
        server: args.server.clone(),
        networks: args.networks.clone(),
        fleet: FleetOptions::one_server(args.timeout),
    };
    let result = block_on(|cancel| async move { crate::ops::forget(&req, &cancel).await });
    let forgotten = match result {
        None => return interrupted(),
        Some(Err(e)) => return failed(&e),
        Some(Ok(f)) => f,
    };
    let (server, owner) = (&forgotten.server, &forgotten.owner);
    let mut exit = Exit::Ok;
    for (net, forgot) in &forgotten.networks {
        match forgot {
            Forgot::Now { marker, .. } => anstream::println!(
                "Forgot network {net} on server {server}: owner {owner} no longer manages it; it stays as it is (marker {marker})."
            ),
            Forgot::Already { marker, .. } => anstream::println!(
                "Network {net} on server {server} is forgotten already (marker {marker})."
            ),
            Forgot::Missing => {
                anstream::eprintln!("error: no network {net} on server {server}");
                exit = Exit::Error;
            }
            Forgot::NotOwned { owner: other } => {
                anstream::eprintln!(
                    "error: network {net} on server {server} is not berth's (owner {owner}){}: there is nothing to forget\n  hint: berth never removes or changes a network it did not create",
                    other
                        .as_deref()
                        .map(|o| format!("; its berth owner is `{o}`"))
                        .unwrap_or_default()
                );
                exit = Exit::Error;
            }
            Forgot::NoImage => {
                anstream::eprintln!(
                    "error: server {server} has no image to make the marker container from\n  hint: pull or load any image there (the marker is never started), then run forget again"
                );
                exit = Exit::Error;
            }
        }
    }
    exit
}
