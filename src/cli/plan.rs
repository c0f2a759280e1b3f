//! `berth plan`: plan every server and render the plan; with `--base`, a
//! pull-request preview. Exit codes per docs/reference.md § Exit codes.

use super::progress::Spinners;
use super::{Exit, Format, PlanArgs, block_on, failed, interrupted};
use crate::ops::PlanRequest;
use crate::plan::Plan;
use crate::render::{self, View};

pub fn run(args: &PlanArgs) -> Exit {
    let req = PlanRequest {
        source: args.source.spec(),
        base: args.base.clone(),
        choices: args.choices.options(),
        fleet: args.ssh.apply(args.fleet.fleet()),
        out: args.out.clone(),
        target: args.target.target(),
    };
    let spinners = Spinners::new(args.format != Format::Human);
    let planned =
        block_on(|cancel| async move { crate::ops::plan(&req, &spinners, &cancel).await });
    let planned = match planned {
        None => return interrupted(),
        Some(Err(e)) => {
            if args.format == Format::Markdown {
                print_error_comment(&e);
            }
            return failed(&e);
        }
        Some(Ok(p)) => p,
    };
    report_unread(&planned.plan);
    if let Some(path) = &planned.saved {
        eprintln!(
            "Saved the plan to {}; apply exactly it with `berth apply {}`.",
            path.display(),
            path.display()
        );
    }
    print(&planned.plan, args.format, View::from_verbose(args.verbose));
    exit_code(&planned.plan, args.detailed_exitcode)
}

/// A pull-request comment whose verdict is the error, on stdout.
fn print_error_comment(e: &crate::ops::Error) {
    let (message, details) = match e.diagnostics() {
        Some(d) => (
            format!("{e}"),
            Some(anstream::adapter::strip_str(&d.render(false)).to_string()),
        ),
        None => (e.to_string(), None),
    };
    print!(
        "{}",
        render::markdown_error(&message, details.as_deref(), e.hint().as_deref())
    );
}

/// Renders the plan on stdout.
pub fn print(plan: &Plan, format: Format, view: View) {
    match format {
        Format::Human => anstream::print!("{}", render::human(plan, view)),
        Format::Json => println!("{}", render::json(plan)),
        Format::Markdown => print!("{}", render::markdown(plan, view)),
    }
}

/// Names each server that could not be read, on stderr.
pub fn report_unread(plan: &Plan) {
    for s in plan.failed_servers() {
        super::error(
            format_args!(
                "server {}: {}",
                s.name,
                s.error.as_deref().unwrap_or("not read")
            ),
            None,
        );
    }
}

/// 1 for errors or unreadable servers, 3 for blocked changes, 2 for changes
/// when asked, else 0. A declared resource that matches nothing changes
/// nothing here as a warning; strict mode makes it an error (1).
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
