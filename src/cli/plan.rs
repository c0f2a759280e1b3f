//! `berth plan`: refresh every server, plan, render; exit code per DESIGN §3.

use super::{Exit, Format, PlanArgs, load_config, refresh, runtime};
use crate::plan::{Options, Plan};
use crate::render;

pub fn run(args: &PlanArgs) -> Exit {
    let loaded = match load_config(&args.source) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let config = loaded.config;
    let rt = runtime();
    let opts = crate::refresh::Options {
        parallelism: usize::from(args.fleet.parallelism),
        lock: None,
    };
    let refreshed = refresh(&rt, &config, args.format == Format::Json, opts);
    let mut plan = crate::plan::plan(
        &config,
        &refreshed.live,
        Options {
            allow_replace: args.allow_replace,
            no_image_transfer: args.no_image_transfer,
        },
    );
    plan.source = loaded.source;
    plan.warnings.splice(0..0, loaded.warnings);
    match args.format {
        Format::Human => anstream::print!("{}", render::human(&plan)),
        Format::Json => println!("{}", render::json(&plan)),
    }
    exit_code(&plan, args.detailed_exitcode)
}

/// 1 for errors or unreadable servers, 3 for blocked changes, 2 for changes
/// when asked, else 0.
pub fn exit_code(plan: &Plan, detailed: bool) -> Exit {
    if plan.failed_servers().next().is_some() || !plan.errors.is_empty() {
        Exit::Error
    } else if plan.blocked() > 0 {
        Exit::Blocked
    } else if detailed && plan.has_changes() {
        Exit::Changes
    } else {
        Exit::Ok
    }
}
