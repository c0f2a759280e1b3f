//! `berth unlock --server NAME`: break a lock left by a berth that is gone.

use super::{Exit, UnlockArgs, block_on, failed, interrupted};
use crate::ops::FleetOptions;

pub fn run(args: &UnlockArgs) -> Exit {
    let fleet = FleetOptions::one_server(args.timeout);
    let spec = args.source.spec();
    let result =
        block_on(
            |cancel| async move { crate::ops::unlock(&spec, &args.server, fleet, &cancel).await },
        );
    match result {
        None => interrupted(),
        Some(Err(e)) => failed(&e),
        Some(Ok(unlocked)) => {
            match unlocked.holder {
                Some(holder) => anstream::println!(
                    "Released the lock of server {} held by {holder}.",
                    unlocked.server
                ),
                None => anstream::println!("Server {} is not locked.", unlocked.server),
            }
            Exit::Ok
        }
    }
}
