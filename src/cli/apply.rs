//! `berth apply`: show the plan, refuse when blocked or incomplete, ask,
//! apply, report every step.

use std::future::Future;
use std::io::{BufRead, IsTerminal, Write};
use std::sync::mpsc;
use std::time::Duration;

use super::progress::Spinners;
use super::{ApplyArgs, Exit, block_on, error, failed, interrupted};
use crate::ops::{
    Applied, ApplyObserver, ApplyOutcome, ApplyRequest, CancellationToken, Progress, Refusal, Step,
};
use crate::plan::{Plan, SkipReason, Skipped};
use crate::render::{self, View};

pub fn run(args: &ApplyArgs) -> Exit {
    let req = ApplyRequest {
        source: args.source.spec(),
        planfile: args.planfile.clone(),
        choices: args.choices.options(),
        fleet: args.ssh.apply(args.fleet.fleet()),
        lock_timeout: args.lock_timeout,
        partial: args.partial,
        target: args.target.target(),
    };
    watched(
        args.yes,
        View::from_verbose(args.verbose),
        |observer, cancel| async move { crate::ops::apply(&req, &observer, &cancel).await },
    )
}

/// Runs an apply watched from the terminal (asking first unless `yes`) and
/// reports what it did: `berth apply`, and the post-receive hook's apply.
pub(super) fn watched<F, Fut>(yes: bool, view: View, op: F) -> Exit
where
    F: FnOnce(Terminal, CancellationToken) -> Fut,
    Fut: Future<Output = Result<Applied, crate::ops::Error>>,
{
    let result = block_on(|cancel| {
        let observer = Terminal {
            spinners: Spinners::new(false),
            yes,
            view,
            cancel: cancel.clone(),
        };
        op(observer, cancel)
    });
    match result {
        None => interrupted(),
        Some(Err(e)) => failed(&e),
        Some(Ok(applied)) => outcome(&applied),
    }
}

/// What the run did, and its exit code.
fn outcome(applied: &Applied) -> Exit {
    for (server, why) in &applied.unreleased {
        error(
            format_args!("could not release the lock of server {server}: {why}"),
            Some(&format!("run `berth unlock --server {server}`")),
        );
    }
    let code = match &applied.outcome {
        ApplyOutcome::NothingToDo => Exit::Ok,
        ApplyOutcome::Declined => {
            // Nothing was applied anywhere: no servers were "skipped".
            anstream::println!("Apply cancelled: nothing changed.");
            return Exit::Error;
        }
        ApplyOutcome::Refused(refusal) => refused(refusal),
        ApplyOutcome::Done(report) => {
            anstream::println!("{}", render::apply_report(report));
            if report.interrupted {
                interrupted()
            } else if report.failed() {
                Exit::Error
            } else {
                Exit::Ok
            }
        }
    };
    partial(&applied.skipped, code)
}

/// A partial apply that skipped servers names them and never exits 0: 1
/// when one could not be read or its plan has errors, else 3 (blocked).
fn partial(skipped: &[Skipped], code: Exit) -> Exit {
    if skipped.is_empty() {
        return code;
    }
    let names: Vec<&str> = skipped.iter().map(|k| k.server.as_str()).collect();
    error(
        format_args!(
            "partial apply: server(s) {} skipped, left as they are",
            names.join(", ")
        ),
        Some("each server's reason is above; apply again once they are fixed"),
    );
    let unread = skipped
        .iter()
        .any(|k| matches!(k.reason, SkipReason::Unreachable(_) | SkipReason::Errors(_)));
    match code {
        Exit::Ok if unread => Exit::Error,
        Exit::Ok => Exit::Blocked,
        other => other,
    }
}

fn refused(refusal: &Refusal) -> Exit {
    match refusal {
        Refusal::Unreadable(servers) => {
            error(
                format_args!(
                    "nothing applied: server(s) {} could not be read",
                    servers.join(", ")
                ),
                Some(
                    "berth applies only when every server answered: see each server's error and hint above (`--partial` applies the others)",
                ),
            );
            Exit::Error
        }
        Refusal::Errors(_) => {
            error("nothing applied: the plan has errors (see above)", None);
            Exit::Error
        }
        Refusal::Blocked(n) => {
            error(
                format_args!("nothing applied: {n} change(s) are blocked (see the reasons above)"),
                Some("`--partial` applies the servers without blocked changes"),
            );
            Exit::Blocked
        }
        Refusal::Unconfirmed(why) => {
            error(why, Some("pass --yes to apply without asking"));
            Exit::Error
        }
    }
}

/// An apply watched from a terminal (or a log): spinners, the plan, the
/// question, each step as it finishes.
pub(super) struct Terminal {
    spinners: Spinners,
    yes: bool,
    /// How the plan is shown (`--verbose`).
    view: View,
    cancel: CancellationToken,
}

impl Progress for Terminal {
    fn server_started(&self, server: &str, doing: &str) {
        self.spinners.server_started(server, doing);
    }

    fn server_done(&self, server: &str, ok: bool) {
        self.spinners.server_done(server, ok);
    }
}

impl ApplyObserver for Terminal {
    fn note(&self, note: &str) {
        let cyan = anstyle::AnsiColor::Cyan.on_default().bold();
        self.spinners
            .println_err(&format!("{cyan}note:{cyan:#} {note}"));
    }

    fn planned(&self, plan: &Plan) {
        self.spinners.clear();
        super::plan::report_unread(plan);
        anstream::print!("{}", render::human(plan, self.view));
    }

    fn skipping(&self, skipped: &[Skipped]) {
        anstream::println!("\n{}", render::skipped(skipped));
    }

    fn confirm(&self, plan: &Plan) -> Result<bool, String> {
        let yes = self.yes || ask(plan.changes.len(), &self.cancel)?;
        if yes {
            anstream::println!("\nApplying:");
        }
        Ok(yes)
    }

    fn step(&self, step: &Step) {
        self.spinners.println(&render::step_line(step));
    }
}

/// Asks on a terminal (only `yes` is accepted); refuses when stdin is not
/// one. A cancelled run stops waiting for the answer.
fn ask(n: usize, cancel: &CancellationToken) -> Result<bool, String> {
    if !std::io::stdin().is_terminal() {
        return Err("refusing to apply without --yes: stdin is not a terminal".to_string());
    }
    print!("\nApply these {n} change(s)? Only `yes` is accepted: ");
    std::io::stdout().flush().map_err(|e| e.to_string())?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut answer = String::new();
        let read = std::io::stdin().lock().read_line(&mut answer);
        let _ = tx.send(read.map(|_| answer));
    });
    loop {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(answer) => return Ok(answer.map_err(|e| e.to_string())?.trim() == "yes"),
            Err(mpsc::RecvTimeoutError::Timeout) if cancel.is_cancelled() => return Ok(false),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => return Ok(false),
        }
    }
}
