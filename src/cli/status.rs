//! `berth status`: every destination, as it is now; exit 2 on drift when
//! asked.

use super::progress::Spinners;
use super::{Exit, StatusArgs, StatusFormat, block_on, failed, interrupted};
use crate::ops::StatusRequest;
use crate::render;

pub fn run(args: &StatusArgs) -> Exit {
    let req = StatusRequest {
        source: args.source.spec(),
        fleet: args.ssh.apply(args.fleet.fleet()),
        target: args.target.target(),
        usage: args.usage,
    };
    let spinners = Spinners::new(args.format != StatusFormat::Human);
    let result =
        block_on(|cancel| async move { crate::ops::status(&req, &spinners, &cancel).await });
    let status = match result {
        None => return interrupted(),
        Some(Err(e)) => return failed(&e),
        Some(Ok(s)) => s,
    };
    let view = render::View::from_verbose(args.verbose);
    match args.format {
        StatusFormat::Human => anstream::print!("{}", render::status::human(&status, view)),
        StatusFormat::Json => println!("{}", render::status::json(&status)),
        StatusFormat::Markdown => print!("{}", render::status::markdown(&status, view)),
        StatusFormat::Html => print!(
            "{}",
            render::html::page(&status, std::time::SystemTime::now())
        ),
    }
    if status.servers.iter().any(|s| s.error.is_some()) {
        Exit::Error
    } else if args.detailed_exitcode && status.drift > 0 {
        Exit::Changes
    } else {
        Exit::Ok
    }
}
