//! `berth hook`: git push hooks. `pre-receive` plans the pushed commit of
//! the watched branch and prints the verdict; `post-receive` applies it
//! under the server locks; `install` writes both. The work is
//! [`crate::ops::hook`]'s; this file reads git's lines, renders, and maps
//! the verdict to the exit code git acts on.

use std::path::PathBuf;

use super::progress::Spinners;
use super::{Exit, HookArgs, HookCommand, InstallArgs, ReceiveArgs, block_on, failed, interrupted};
use crate::ops::hook::{InstallRequest, ReceiveRequest, Verdict};
use crate::render;

pub fn run(args: &HookArgs) -> Exit {
    match &args.command {
        HookCommand::PreReceive(h) => match request(h) {
            Ok(Some(req)) => pre_receive(&req),
            Ok(None) => Exit::Ok,
            Err(code) => code,
        },
        HookCommand::PostReceive(h) => match request(h) {
            Ok(Some(req)) => post_receive(req),
            Ok(None) => Exit::Ok,
            Err(code) => code,
        },
        HookCommand::Install(i) => install(i),
    }
}

/// The push to check or apply, from git's lines on stdin: `None` when the
/// push leaves the watched branch alone or deletes it.
fn request(h: &ReceiveArgs) -> Result<Option<ReceiveRequest>, Exit> {
    let input = std::io::read_to_string(std::io::stdin()).map_err(|e| {
        super::error(
            format_args!("cannot read git's ref updates on stdin: {e}"),
            None,
        );
        Exit::Error
    })?;
    let push = crate::ops::hook::pushed(&input, &h.branch).map_err(|e| failed(&e))?;
    Ok(push.map(|push| ReceiveRequest {
        push,
        dir: h.dir.clone(),
        repo: h
            .repo
            .clone()
            .or_else(|| std::env::var_os("GIT_DIR").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from(".")),
        fleet: h.ssh.apply(h.fleet.fleet()),
        lock_timeout: h.lock_timeout,
    }))
}

fn pre_receive(req: &ReceiveRequest) -> Exit {
    anstream::println!("{}", render::hook::checking(&req.push));
    let spinners = Spinners::new(false);
    let checked =
        block_on(
            |cancel| async move { crate::ops::hook::pre_receive(req, &spinners, &cancel).await },
        );
    let checked = match checked {
        None => return interrupted(),
        Some(Err(e)) => return failed(&e),
        Some(Ok(c)) => c,
    };
    if let Some(plan) = &checked.plan {
        anstream::print!("{}", render::human(plan, render::View::Grouped));
    }
    let said = render::hook::verdict(&req.push, &checked.verdict);
    match checked.verdict {
        Verdict::Accept | Verdict::AcceptSkipping(_) => {
            anstream::print!("{said}");
            Exit::Ok
        }
        Verdict::Reject(_) => {
            anstream::eprint!("{said}");
            Exit::Error
        }
    }
}

fn post_receive(req: ReceiveRequest) -> Exit {
    anstream::println!("{}", render::hook::applying(&req.push));
    let push = req.push.clone();
    let code = super::apply::watched(true, render::View::Grouped, |observer, cancel| async move {
        crate::ops::hook::post_receive(&req, &observer, &cancel).await
    });
    if code != Exit::Ok {
        anstream::eprint!("{}", render::hook::apply_incomplete(&push));
    }
    code
}

fn install(i: &InstallArgs) -> Exit {
    let req = InstallRequest {
        git_dir: i.git_dir.clone(),
        branch: i.branch.clone(),
        dir: i.dir.clone(),
        apply_on_push: i.apply_on_push,
    };
    match crate::ops::hook::install(&req) {
        Err(e) => failed(&e),
        Ok(installed) => {
            anstream::println!("{}", render::hook::installed(&installed, &i.branch));
            Exit::Ok
        }
    }
}
