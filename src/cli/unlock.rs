//! `berth unlock --server NAME [--legacy]`: break this owner's lock left by
//! a berth that is gone.

use super::{Exit, UnlockArgs, block_on, failed, interrupted};
use crate::ops::{FleetOptions, UnlockRequest};

pub fn run(args: &UnlockArgs) -> Exit {
    let req = UnlockRequest {
        source: args.source.spec(),
        server: args.server.clone(),
        legacy: args.legacy,
        fleet: FleetOptions::one_server(args.timeout),
    };
    let result = block_on(|cancel| async move { crate::ops::unlock(&req, &cancel).await });
    match result {
        None => interrupted(),
        Some(Err(e)) => failed(&e),
        Some(Ok(unlocked)) => {
            let (server, owner) = (&unlocked.server, &unlocked.owner);
            match &unlocked.holder {
                Some(holder) => anstream::println!(
                    "Released the lock of owner {owner} on server {server} held by {holder}."
                ),
                None => anstream::println!("Server {server} is not locked for owner {owner}."),
            }
            match (&unlocked.legacy_holder, args.legacy) {
                (Some(holder), _) => anstream::println!(
                    "Released the legacy lock `berth-lock` (every owner) on server {server} held by {holder}."
                ),
                (None, true) => {
                    anstream::println!("Server {server} has no legacy lock `berth-lock`.")
                }
                (None, false) => {}
            }
            Exit::Ok
        }
    }
}
