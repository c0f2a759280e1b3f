//! The operations every front end calls: the CLI's commands, the git hooks
//! and long-running loops. Each takes plain requests, returns data and typed
//! errors, and never prints; progress, confirmation and step reports go
//! through the observer traits the caller implements. A run's connections,
//! tunnels and locks belong to its [`Session`](crate::session::Session).

mod apply;
mod forget;
pub mod hook;
mod import;
pub mod listen;
mod load;
mod locks;
mod plan;
mod preview;
pub(crate) mod saved;
mod status;
mod unlock;
mod watch;

use std::path::PathBuf;

pub use apply::{Applied, ApplyObserver, ApplyOutcome, ApplyRequest, Refusal, apply};
pub use forget::{ForgetRequest, Forgot, Forgotten, forget};
pub use import::{ImportFrom, import};
pub use listen::{Held, Listen, TokenSource, WatchBoard, WatchPages};
pub use load::{Loaded, SourceSpec, check, load};
pub use locks::{LocksRequest, locks};
pub use plan::{PlanRequest, Planned, assemble, plan};
pub use preview::{Preview, compare};
pub use saved::parse as parse_saved_plan;
pub use status::{StatusRequest, status};
pub use unlock::{UnlockRequest, Unlocked, unlock};
pub use watch::{DeliveryOutcome, WatchEvent, WatchObserver, WatchRequest, alert_problems, watch};

pub use crate::execute::{Outcome, Report, Step};
pub use crate::session::{FleetOptions, Interrupted, Progress, Quiet};
pub use tokio_util::sync::CancellationToken;

use crate::diag::Diagnostics;

/// Why an operation could not do its job.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The config could not be read (no directory, no files, a git error).
    #[error("{error}")]
    Source {
        error: crate::source::SourceError,
        hint: &'static str,
    },
    /// The config (or a compose file it names) is invalid: every problem,
    /// located.
    #[error("the config has {} problem(s)", .0.errors.len())]
    Config(Diagnostics),
    /// `--base` names no readable config.
    #[error("{message}")]
    Base { message: String, hint: String },
    /// The base of a preview is invalid, so its servers cannot be trusted.
    #[error("the base revision {rev} has an invalid config (above): its servers cannot be trusted")]
    InvalidBase {
        rev: String,
        diagnostics: Diagnostics,
    },
    #[error("no server named `{name}` in the config")]
    UnknownServer { name: String, known: Vec<String> },
    #[error("no destination named `{name}` in the config")]
    UnknownDestination { name: String, known: Vec<String> },
    /// A single-server operation failed on its server.
    #[error("server {server}: {message}")]
    Server {
        server: String,
        message: String,
        hint: Option<String>,
    },
    /// A saved plan that cannot be applied.
    #[error("{message}")]
    SavedPlan { message: String, hint: String },
    #[error("cannot write {}: {cause}", path.display())]
    Write {
        path: PathBuf,
        cause: std::io::Error,
    },
    /// A line of git's ref updates (a receive hook's stdin) that is not
    /// `<old> <new> <ref>`.
    #[error("line {line} of git's ref updates is not `<old> <new> <ref>` ({why}): {text:?}")]
    RefUpdate {
        line: usize,
        text: String,
        why: String,
    },
    /// `hook install` was given something that is not a directory.
    #[error("{} is not a git directory", path.display())]
    NotGitDir { path: PathBuf },
    #[error("cannot make {} executable: {cause}", path.display())]
    Executable {
        path: PathBuf,
        cause: std::io::Error,
    },
    /// berth cannot name its own executable (for the hook scripts to run).
    #[error("cannot find berth's own path: {0}")]
    OwnPath(std::io::Error),
    /// The metrics listener could not start.
    #[error("cannot serve metrics on {address}: {cause}")]
    Metrics { address: String, cause: String },
    /// `watch --listen` cannot serve: the address cannot be bound, or a
    /// token is needed and missing or unreadable.
    #[error("watch --listen {address}: {message}")]
    Listen {
        address: String,
        message: String,
        hint: String,
    },
    /// SSH connections are to be kept for the next run, and the control
    /// directory they would be kept in cannot be used (not private, not the
    /// user's, cannot be created).
    #[error("{message}")]
    SshControl { message: String, hint: String },
    /// `--server`/`--destination` select nothing they could mean.
    #[error("{0}")]
    Target(crate::plan::TargetError),
    /// An `[[alert]]` whose URL cannot be read (its variable unset, its
    /// file unreadable) or is not an http(s) URL: named, never shown.
    #[error("{0}")]
    Alert(crate::alert::AlertError),
    /// Cancelled (Ctrl-C, SIGTERM): locks released, nothing more done.
    #[error("interrupted")]
    Interrupted,
}

impl Error {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Source { hint, .. } => Some(hint.to_string()),
            Error::Base { hint, .. }
            | Error::SavedPlan { hint, .. }
            | Error::SshControl { hint, .. }
            | Error::Listen { hint, .. } => Some(hint.clone()),
            Error::UnknownServer { known, .. } => {
                Some(format!("declared servers: {}", known.join(", ")))
            }
            Error::UnknownDestination { known, .. } => {
                Some(format!("declared destinations: {}", known.join(", ")))
            }
            Error::Server { hint, .. } => hint.clone(),
            Error::Target(e) => Some(e.hint()),
            Error::Alert(e) => Some(e.hint()),
            Error::RefUpdate { .. } => Some(
                "receive hooks read what git writes on their stdin: run them from git, or feed them `<old-sha> <new-sha> refs/heads/<branch>` lines".to_string(),
            ),
            Error::NotGitDir { .. } => Some(
                "pass the bare repository (or the .git directory) that receives pushes".to_string(),
            ),
            _ => None,
        }
    }

    /// The located problems, for errors about the config itself.
    pub fn diagnostics(&self) -> Option<&Diagnostics> {
        match self {
            Error::Config(d) | Error::InvalidBase { diagnostics: d, .. } => Some(d),
            _ => None,
        }
    }
}

/// The selection of `target` in `config` (`None` for the whole config),
/// and the config cut down to the servers the run contacts.
pub(crate) fn targeted(
    config: &crate::config::Config,
    target: &crate::plan::Target,
) -> Result<Option<(crate::plan::Selection, crate::config::Config)>, Error> {
    scoped(config, target, None)
}

/// [`targeted`], further limited to the servers a change `affected`
/// (`plan --base`, the push hooks; `None`: every server).
pub(crate) fn scoped(
    config: &crate::config::Config,
    target: &crate::plan::Target,
    affected: Option<&std::collections::BTreeSet<String>>,
) -> Result<Option<(crate::plan::Selection, crate::config::Config)>, Error> {
    if target.is_empty() && affected.is_none() {
        return Ok(None);
    }
    let mut selection = if target.is_empty() {
        crate::plan::Selection::all(config)
    } else {
        crate::plan::select(config, target).map_err(Error::Target)?
    };
    if let Some(affected) = affected {
        selection = crate::plan::only_affected(config, selection, affected);
    }
    let contacted = selection.contacted();
    let mut cut = config.clone();
    cut.servers.retain(|s| contacted.contains(&s.name));
    Ok(Some((selection, cut)))
}

/// `fleet` with `ssh_persist` settled for `config`. When connections are
/// kept and a server of `config` is reached over SSH, the control
/// directory is checked here, once: a directory berth must refuse is one
/// error for the run, not one per server.
pub(crate) fn fleet_for(
    fleet: FleetOptions,
    config: &crate::config::Config,
) -> Result<FleetOptions, Error> {
    let fleet = fleet.for_config(config);
    let keeps = fleet.ssh_persist.is_some_and(|d| !d.is_zero());
    let over_ssh = config
        .servers
        .iter()
        .any(|s| matches!(s.address, crate::config::Address::Ssh { .. }));
    if keeps && over_ssh {
        crate::ssh::control_ready().map_err(|e| Error::SshControl {
            message: e.message,
            hint: e.hint,
        })?;
    }
    Ok(fleet)
}

/// Marks the servers a target leaves out as skipped, not targeted, and
/// those a change leaves unaffected as skipped, unaffected.
pub(crate) fn mark_not_targeted(
    live: &mut crate::live::LiveState,
    selection: &crate::plan::Selection,
) {
    for name in &selection.not_targeted {
        live.servers.remove(name);
        live.skipped.insert(
            name.clone(),
            "not targeted (--server/--destination)".to_string(),
        );
    }
    for name in &selection.unaffected {
        live.servers.remove(name);
        live.skipped.insert(
            name.clone(),
            "unaffected by the change: not contacted (--all plans it too)".to_string(),
        );
    }
}

impl From<Interrupted> for Error {
    fn from(_: Interrupted) -> Self {
        Error::Interrupted
    }
}

impl Error {
    fn server(server: &str, e: &crate::docker::DockerError) -> Error {
        Error::Server {
            server: server.to_string(),
            message: e.to_string(),
            hint: e.hint(),
        }
    }
}
