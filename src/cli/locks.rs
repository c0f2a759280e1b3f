//! `berth locks`: every server lock held across the fleet; exit 1 when a
//! server could not be read (the others are listed all the same).

use super::progress::Spinners;
use super::{Exit, ListFormat, LocksArgs, block_on, failed, interrupted};
use crate::ops::LocksRequest;
use crate::render;

pub fn run(args: &LocksArgs) -> Exit {
    let req = LocksRequest {
        source: args.source.spec(),
        fleet: args.ssh.apply(args.fleet.fleet()),
    };
    let spinners = Spinners::new(args.format != ListFormat::Human);
    let result =
        block_on(|cancel| async move { crate::ops::locks(&req, &spinners, &cancel).await });
    let locks = match result {
        None => return interrupted(),
        Some(Err(e)) => return failed(&e),
        Some(Ok(locks)) => locks,
    };
    match args.format {
        ListFormat::Human => anstream::print!("{}", render::locks::human(&locks)),
        ListFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&locks).expect("locks serialize")
        ),
    }
    if locks.servers.iter().any(|s| s.error.is_some()) {
        Exit::Error
    } else {
        Exit::Ok
    }
}
