//! `berth apply`: plan, refuse when blocked or incomplete, confirm, apply,
//! report every step.

use std::io::{BufRead, IsTerminal, Write};

use super::{ApplyArgs, Exit, error, load_config, refresh, runtime};
use crate::plan::Options;
use crate::render;

pub fn run(args: &ApplyArgs) -> Exit {
    let loaded = match load_config(&args.source) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let rt = runtime();
    let code = locked(&rt, args, loaded);
    // Every exit path after the locks were taken comes through here.
    rt.block_on(crate::lock::release_all());
    code
}

/// Everything between taking the server locks and releasing them.
fn locked(rt: &tokio::runtime::Runtime, args: &ApplyArgs, loaded: super::Loaded) -> Exit {
    let config = loaded.config;
    let me = crate::lock::me();
    let opts = crate::refresh::Options {
        parallelism: usize::from(args.fleet.parallelism),
        lock: Some((&me, args.lock_timeout)),
    };
    let refreshed = refresh(rt, &config, false, opts);
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
    anstream::print!("{}", render::human(&plan));

    let failed: Vec<&str> = plan.failed_servers().map(|s| s.name.as_str()).collect();
    if !failed.is_empty() {
        error(
            format_args!(
                "nothing applied: server(s) {} could not be read",
                failed.join(", ")
            ),
            Some(
                "berth applies only when every server answered; fix the connection and run apply again",
            ),
        );
        return Exit::Error;
    }
    if !plan.errors.is_empty() {
        error("nothing applied: the plan has errors (see above)", None);
        return Exit::Error;
    }
    if plan.blocked() > 0 {
        error(
            format_args!(
                "nothing applied: {} change(s) are blocked (see the reasons above)",
                plan.blocked()
            ),
            None,
        );
        return Exit::Blocked;
    }
    if !plan.has_changes() {
        return Exit::Ok;
    }
    if !args.yes {
        match confirm(plan.changes.len()) {
            Ok(true) => {}
            Ok(false) => {
                anstream::println!("Apply cancelled: nothing changed.");
                return Exit::Error;
            }
            Err(msg) => {
                error(msg, Some("pass --yes to apply without asking"));
                return Exit::Error;
            }
        }
    }
    anstream::println!("\nApplying:");
    let spinners = super::progress::Spinners::new(false);
    let on_step = |step: &crate::apply::Step| spinners.println(&render::step_line(step));
    let report = rt.block_on(crate::apply::apply(
        &plan,
        &config.owner,
        &refreshed.clients,
        crate::apply::Options {
            parallelism: usize::from(args.fleet.parallelism),
            progress: &spinners,
            on_step: &on_step,
        },
    ));
    spinners.clear();
    anstream::println!("{}", render::apply_report(&report));
    if report.failed() {
        Exit::Error
    } else {
        Exit::Ok
    }
}

/// Asks on a terminal; refuses when stdin is not one.
fn confirm(n: usize) -> Result<bool, String> {
    if !std::io::stdin().is_terminal() {
        return Err("refusing to apply without --yes: stdin is not a terminal".to_string());
    }
    print!("\nApply these {n} change(s)? Only `yes` is accepted: ");
    std::io::stdout().flush().map_err(|e| e.to_string())?;
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| e.to_string())?;
    Ok(answer.trim() == "yes")
}
