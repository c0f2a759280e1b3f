//! Command-line interface: one thin file per command. Each parses its
//! arguments, calls one operation of [`crate::ops`], renders the result and
//! maps it to an exit code (ARCHITECTURE.md § Exit codes). Nothing here
//! talks to Docker, SSH or the locks directly.

mod apply;
mod args;
mod hook;
mod import;
mod plan;
mod progress;
mod status;
mod unlock;
mod validate;
mod watch;

use std::future::Future;

use clap::CommandFactory;

pub use args::*;

use crate::ops::{CancellationToken, Error};

/// Exit codes (a contract: scripts depend on them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Success; for `plan`, nothing blocked.
    Ok = 0,
    /// Bad config, unreachable server, Docker error.
    Error = 1,
    /// `plan --detailed-exitcode` found changes.
    Changes = 2,
    /// The plan has blocked changes; `apply` applied nothing.
    Blocked = 3,
    /// Interrupted (Ctrl-C, SIGTERM): locks released, nothing more applied.
    Interrupted = 130,
}

/// Parses the command line; a usage error (unknown flag, bad value) exits 1,
/// since 2 means "changes" to `plan --detailed-exitcode`.
pub fn parse() -> Result<Cli, Exit> {
    use clap::Parser;
    Cli::try_parse().map_err(|e| {
        let _ = e.print();
        if e.use_stderr() {
            Exit::Error
        } else {
            Exit::Ok
        }
    })
}

pub fn run(cli: Cli) -> Exit {
    match cli.command {
        Command::Validate(args) => validate::run(&args),
        Command::Plan(args) => plan::run(&args),
        Command::Apply(args) => apply::run(&args),
        Command::Import(args) => import::run(&args),
        Command::Status(args) => status::run(&args),
        Command::Watch(args) => watch::run(&args),
        Command::Hook(args) => hook::run(&args),
        Command::Unlock(args) => unlock::run(&args),
        Command::Schema { which } => {
            let schema = match which {
                SchemaKind::Config => crate::config::schema(),
                SchemaKind::Plan => crate::plan::schema(),
                SchemaKind::Status => crate::status::schema(),
            };
            println!(
                "{}",
                serde_json::to_string_pretty(&schema).expect("schema is JSON")
            );
            Exit::Ok
        }
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "berth", &mut std::io::stdout());
            Exit::Ok
        }
        Command::GenerateMan { dir } => {
            let written = std::fs::create_dir_all(&dir)
                .and_then(|()| clap_mangen::generate_to(Cli::command(), &dir));
            match written {
                Ok(()) => Exit::Ok,
                Err(e) => {
                    error(
                        format_args!("cannot write man pages to {}: {e}", dir.display()),
                        None,
                    );
                    Exit::Error
                }
            }
        }
    }
}

/// Prints an error (and an optional hint) to stderr.
pub fn error(msg: impl std::fmt::Display, hint: Option<&str>) {
    let red = anstyle::AnsiColor::Red.on_default().bold();
    anstream::eprintln!("{red}error:{red:#} {msg}");
    if let Some(h) = hint {
        let cyan = anstyle::AnsiColor::Cyan.on_default().bold();
        anstream::eprintln!("  {cyan}hint:{cyan:#} {h}");
    }
}

/// Prints why an operation failed (every located problem of an invalid
/// config) and gives its exit code.
pub fn failed(e: &Error) -> Exit {
    match e {
        Error::Interrupted => return interrupted(),
        Error::Config(d) => anstream::eprintln!("{}", d.render(true)),
        Error::InvalidBase { diagnostics, .. } => {
            anstream::eprintln!("{}", diagnostics.render(true));
            error(e, None);
        }
        _ => error(e, e.hint().as_deref()),
    }
    Exit::Error
}

/// Ctrl-C or SIGTERM ended the run.
pub fn interrupted() -> Exit {
    error(
        "interrupted: server locks released, nothing more was applied",
        None,
    );
    Exit::Interrupted
}

/// Prints config warnings to stderr.
pub fn warn(warnings: &[crate::plan::Warning]) {
    let yellow = anstyle::AnsiColor::Yellow.on_default().bold();
    for w in warnings {
        anstream::eprintln!("{yellow}warning:{yellow:#} {}", w.message);
    }
}

/// Runs an operation to completion on a runtime of its own. The first
/// Ctrl-C or SIGTERM cancels it (it finishes the step under way, releases
/// its locks and returns); a second one drops it at once (its session still
/// releases the locks). `None` when it was dropped.
pub fn block_on<F, T>(op: impl FnOnce(CancellationToken) -> F) -> Option<T>
where
    F: Future<Output = T>,
{
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime starts");
    let cancel = CancellationToken::new();
    let fut = op(cancel.clone());
    rt.block_on(async {
        tokio::select! {
            out = fut => Some(out),
            () = signals(cancel) => None,
        }
    })
}

/// Cancels `cancel` on the first Ctrl-C or SIGTERM; returns on the second.
async fn signals(cancel: CancellationToken) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        return std::future::pending().await;
    };
    for _ in 0..2 {
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
        cancel.cancel();
    }
}
