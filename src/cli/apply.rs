//! `berth apply`: plan, refuse when blocked or incomplete, confirm, apply,
//! report every step.

use std::io::{BufRead, IsTerminal, Write};

use super::{ApplyArgs, Exit, error, load_config, refresh, runtime};
use crate::render;

pub fn run(args: &ApplyArgs) -> Exit {
    let saved = match &args.planfile {
        Some(path) => match read_plan(path) {
            Ok(p) => Some(p),
            Err(e) => {
                error(e, Some("make one with `berth plan --out FILE`"));
                return Exit::Error;
            }
        },
        None => None,
    };
    // A saved plan names where its config came from: read the same.
    let source = match &saved {
        Some(p) => source_of(&args.source, p),
        None => args.source.clone(),
    };
    let loaded = match load_config(&source) {
        Ok(l) => l,
        Err(code) => return code,
    };
    if let Some(p) = &saved {
        if p.source.commit.is_some() && p.source.commit != loaded.source.commit {
            error(
                format_args!(
                    "the plan was made from commit {}, but the config read now is at {}",
                    p.source.commit.as_deref().unwrap_or("?"),
                    loaded
                        .source
                        .commit
                        .as_deref()
                        .unwrap_or("the working tree")
                ),
                Some("apply the plan from the same commit (--ref), or make a new plan"),
            );
            return Exit::Error;
        }
    }
    if let Some(owner) = saved.as_ref().and_then(|p| p.owner.as_ref()) {
        if *owner != loaded.config.owner {
            error(
                format_args!(
                    "the plan was made for owner `{owner}`, the config says `{}`",
                    loaded.config.owner
                ),
                None,
            );
            return Exit::Error;
        }
    }
    let rt = runtime();
    let code = locked(&rt, args, loaded, saved);
    // Every exit path after the locks were taken comes through here.
    rt.block_on(crate::lock::release_all());
    code
}

/// Everything between taking the server locks and releasing them.
fn locked(
    rt: &tokio::runtime::Runtime,
    args: &ApplyArgs,
    loaded: super::Loaded,
    saved: Option<crate::plan::Plan>,
) -> Exit {
    let config = loaded.config;
    let me = crate::lock::me();
    let opts = crate::refresh::Options {
        parallelism: usize::from(args.fleet.parallelism),
        lock: Some((&me, args.lock_timeout)),
    };
    let refreshed = refresh(rt, &config, false, opts);
    let plan = match saved {
        Some(saved) => {
            let stale = stale(&config, &saved, &refreshed.live);
            if !stale.is_empty() {
                error(
                    format_args!(
                        "the saved plan is stale, nothing applied; the live state changed since it was made:\n  {}",
                        stale.join("\n  ")
                    ),
                    Some("run `berth plan --out FILE` again and review the new plan"),
                );
                return Exit::Error;
            }
            saved
        }
        None => super::build_plan(
            &config,
            &refreshed.live,
            args.choices.options(),
            loaded.source,
            loaded.warnings,
        ),
    };
    anstream::print!("{}", render::human(&plan));

    let failed: Vec<&str> = plan.failed_servers().map(|s| s.name.as_str()).collect();
    if !failed.is_empty() {
        error(
            format_args!(
                "nothing applied: server(s) {} could not be read",
                failed.join(", ")
            ),
            Some(
                "berth applies only when every server answered: see each server's error and hint above",
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

fn read_plan(path: &std::path::Path) -> Result<crate::plan::Plan, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let plan: crate::plan::Plan = serde_json::from_str(&text)
        .map_err(|e| format!("{} is not a berth plan: {e}", path.display()))?;
    if plan.format_version != crate::plan::FORMAT_VERSION {
        return Err(format!(
            "{} has format_version {}; this berth reads {}",
            path.display(),
            plan.format_version,
            crate::plan::FORMAT_VERSION
        ));
    }
    if plan.fingerprints.is_empty() {
        return Err(format!(
            "{} has no live-state fingerprints: it was not saved with `plan --out`",
            path.display()
        ));
    }
    Ok(plan)
}

/// The config source a saved plan was made from, for what flags leave open.
fn source_of(args: &super::SourceArgs, plan: &crate::plan::Plan) -> super::SourceArgs {
    let git = plan.source.kind == crate::plan::SourceKind::Git;
    let dir = if args.dir != std::path::Path::new(".") {
        args.dir.clone()
    } else {
        plan.source
            .path
            .clone()
            .unwrap_or_else(|| ".".into())
            .into()
    };
    super::SourceArgs {
        dir,
        repo: args
            .repo
            .clone()
            .or_else(|| plan.source.repo.clone().filter(|_| git).map(Into::into)),
        rev: args
            .rev
            .clone()
            .or_else(|| plan.source.commit.clone().filter(|_| git)),
    }
}

/// What changed on each server since the saved plan was made.
fn stale(
    config: &crate::config::Config,
    saved: &crate::plan::Plan,
    live: &crate::live::LiveState,
) -> Vec<String> {
    let mut out = Vec::new();
    for (server, then) in &saved.fingerprints {
        match live.servers.get(server) {
            Some(Ok(snapshot)) => {
                let now = crate::plan::fingerprint(config, server, snapshot);
                for what in crate::live::fingerprint_changes(then, &now) {
                    out.push(format!("server {server}: {what}"));
                }
            }
            _ => out.push(format!("server {server}: could not be read now")),
        }
    }
    out
}
