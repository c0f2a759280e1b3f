//! `berth hook`: git push hooks. `pre-receive` validates and plans the
//! pushed commit of the watched branch and rejects the push when the config
//! is invalid, a server cannot be read, the plan has errors (with
//! `[settings] strict = true`, a declared resource that matches nothing is
//! one), or a change is blocked.
//! `post-receive` applies it under the server locks. `install` writes both.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use super::progress::Spinners;
use super::{Exit, Format, HookArgs, HookCommand, block_on, error, failed, interrupted};
use crate::ops::{ApplyRequest, PlanRequest, SourceSpec};

pub fn run(args: &HookArgs) -> Exit {
    match &args.command {
        HookCommand::PreReceive(h) => receive(h, true),
        HookCommand::PostReceive(h) => receive(h, false),
        HookCommand::Install(i) => install(i),
    }
}

/// The watched branch's new commit, from git's `<old> <new> <ref>` lines.
fn pushed(branch: &str) -> Result<Option<String>, String> {
    let watched = format!("refs/heads/{branch}");
    let mut new = None;
    for line in std::io::stdin().lock().lines() {
        let line = line.map_err(|e| format!("reading git's ref updates: {e}"))?;
        let parts: Vec<&str> = line.split_whitespace().collect();
        if let [_, to, name] = parts[..] {
            if name == watched && !to.chars().all(|c| c == '0') {
                new = Some(to.to_string());
            }
        }
    }
    Ok(new)
}

fn receive(h: &super::ReceiveArgs, pre: bool) -> Exit {
    let commit = match pushed(&h.branch) {
        Ok(Some(c)) => c,
        Ok(None) => return Exit::Ok, // another branch, or the branch deleted
        Err(e) => {
            error(e, None);
            return Exit::Error;
        }
    };
    let repo = h
        .repo
        .clone()
        .or_else(|| std::env::var_os("GIT_DIR").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("."));
    let source = SourceSpec {
        dir: h.dir.clone(),
        repo: Some(repo),
        rev: Some(commit.clone()),
    };
    let short: String = commit.chars().take(12).collect();
    if pre {
        println!(
            "berth: planning {} at {short} against the live servers",
            h.branch
        );
        pre_receive(h, source, &short)
    } else {
        println!("berth: applying {} at {short}", h.branch);
        let code = super::apply::apply(
            &ApplyRequest {
                source,
                planfile: None,
                choices: Default::default(),
                fleet: h.fleet.fleet(),
                lock_timeout: h.lock_timeout,
                partial: false,
            },
            true,
        );
        if code != Exit::Ok {
            error(
                format_args!("berth: applying {short} did not complete (above)"),
                None,
            );
        }
        code
    }
}

/// Plans the pushed commit; accepts the push when the plan is clean.
fn pre_receive(h: &super::ReceiveArgs, source: SourceSpec, short: &str) -> Exit {
    let req = PlanRequest {
        source,
        base: None,
        choices: Default::default(),
        fleet: h.fleet.fleet(),
        out: None,
    };
    let spinners = Spinners::new(false);
    let mut errors = 0;
    let code =
        match block_on(|cancel| async move { crate::ops::plan(&req, &spinners, &cancel).await }) {
            None => return interrupted(),
            Some(Err(e)) => failed(&e),
            Some(Ok(planned)) => {
                super::plan::report_unread(&planned.plan);
                super::plan::print(&planned.plan, Format::Human);
                errors = planned.plan.errors.len();
                super::plan::exit_code(&planned.plan, false)
            }
        };
    match code {
        Exit::Error if errors > 0 => {
            error(
                format_args!(
                    "push rejected: the plan for {short} has {errors} error(s) (above); nothing was applied"
                ),
                Some(
                    "fix what each error names (with [settings] strict = true, a declared resource that matches nothing is one), then push again",
                ),
            );
            Exit::Error
        }
        Exit::Ok | Exit::Changes => {
            println!("berth: the plan for {short} is clean; the push is accepted");
            Exit::Ok
        }
        Exit::Blocked => {
            error(
                format_args!(
                    "push rejected: the plan for {short} has blocked changes (reasons above); nothing was applied"
                ),
                Some(
                    "resolve what blocks them (e.g. detach the containers named above), then push again",
                ),
            );
            Exit::Error
        }
        Exit::Error => {
            error(
                format_args!(
                    "push rejected: the config at {short} is invalid, or a server could not be read (above)"
                ),
                None,
            );
            Exit::Error
        }
        Exit::Interrupted => Exit::Interrupted,
    }
}

fn install(i: &super::InstallArgs) -> Exit {
    let hooks = i.git_dir.join("hooks");
    if !i.git_dir.is_dir() {
        error(
            format_args!("{} is not a git directory", i.git_dir.display()),
            Some("pass the bare repository (or the .git directory) that receives pushes"),
        );
        return Exit::Error;
    }
    let berth = match std::env::current_exe().and_then(std::fs::canonicalize) {
        Ok(p) => p,
        Err(e) => {
            error(format_args!("cannot find berth's own path: {e}"), None);
            return Exit::Error;
        }
    };
    let mut written = Vec::new();
    let mut hooks_to_write = vec![("pre-receive", "pre-receive")];
    if i.apply_on_push {
        hooks_to_write.push(("post-receive", "post-receive"));
    }
    for (file, sub) in hooks_to_write {
        let script = format!(
            "#!/bin/sh\n# Installed by `berth hook install`: {what}\nexec {berth} hook {sub} --branch {branch} --dir {dir}\n",
            what = if sub == "pre-receive" {
                "rejects a push whose config is invalid or whose plan is blocked."
            } else {
                "applies the pushed commit of the watched branch."
            },
            berth = quote(&berth),
            branch = quote(Path::new(&i.branch)),
            dir = quote(&i.dir),
        );
        let path = hooks.join(file);
        if let Err(e) = std::fs::create_dir_all(&hooks).and_then(|_| std::fs::write(&path, script))
        {
            error(format_args!("cannot write {}: {e}", path.display()), None);
            return Exit::Error;
        }
        use std::os::unix::fs::PermissionsExt;
        if let Err(e) = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)) {
            error(
                format_args!("cannot make {} executable: {e}", path.display()),
                None,
            );
            return Exit::Error;
        }
        written.push(path.display().to_string());
    }
    println!(
        "Installed {} for branch {}.",
        written.join(" and "),
        i.branch
    );
    Exit::Ok
}

/// Single-quoted for sh.
fn quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', r"'\''"))
}
