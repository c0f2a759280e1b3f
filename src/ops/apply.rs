//! `apply`: lock and read every server, plan (or take a saved plan that is
//! still fresh), refuse when anything is blocked, erroneous or unread (or,
//! partial, set those servers and what depends on them aside), ask, apply,
//! report every step. Locks are held from before each server is read until
//! the run ends, whichever way it ends.

use std::path::PathBuf;
use std::time::Duration;

use super::load::SourceSpec;
use super::{CancellationToken, Error, FleetOptions, Progress, Report, Step};
use crate::plan::{Plan, Skipped};
use crate::session::Session;

/// What to apply, and how.
#[derive(Debug, Clone)]
pub struct ApplyRequest {
    pub source: SourceSpec,
    /// A plan saved by `plan --out`: apply exactly it, unless stale.
    pub planfile: Option<PathBuf>,
    pub choices: crate::plan::Options,
    pub fleet: FleetOptions,
    /// How long to wait for another berth's lock on a server.
    pub lock_timeout: Duration,
    /// `--partial`: apply every server that can be applied by itself and
    /// skip the others (also when the config's `settings.partial` says so).
    pub partial: bool,
    /// `--server`/`--destination`: contact, lock and change only these
    /// (a saved plan's own target wins).
    pub target: crate::plan::Target,
}

/// Who watches an apply: progress, the plan before anything happens, the
/// confirmation, and each step as it finishes.
pub trait ApplyObserver: Progress {
    /// Something berth did on its own that the user should hear of, e.g. a
    /// lock left by a dead berth of this machine broken.
    fn note(&self, note: &str);
    /// The plan about to be applied (or refused).
    fn planned(&self, plan: &Plan);
    /// A partial apply leaves these servers as they are (called before
    /// `confirm`, only when there are any).
    fn skipping(&self, skipped: &[Skipped]);
    /// Whether to apply `plan`; `Err` when no one can be asked.
    fn confirm(&self, plan: &Plan) -> Result<bool, String>;
    /// A step finished.
    fn step(&self, step: &Step);
}

/// Why nothing was applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// These servers could not be read.
    Unreadable(Vec<String>),
    /// The plan has this many errors (conflicts berth will not resolve).
    Errors(usize),
    /// This many changes are blocked.
    Blocked(usize),
    /// Confirmation was needed but no one could be asked.
    Unconfirmed(String),
}

#[derive(Debug)]
pub enum ApplyOutcome {
    Refused(Refusal),
    /// The servers already match the config.
    NothingToDo,
    /// The user said no.
    Declined,
    Done(Report),
}

/// The plan, what became of it, and the locks that could not be released.
#[derive(Debug)]
pub struct Applied {
    pub plan: Plan,
    pub outcome: ApplyOutcome,
    /// Servers whose lock could not be released, with why.
    pub unreleased: Vec<(String, String)>,
    /// A partial apply: the servers it left as they are, with why (empty
    /// otherwise). `outcome` is about the others.
    pub skipped: Vec<Skipped>,
}

pub async fn apply(
    req: &ApplyRequest,
    observer: &dyn ApplyObserver,
    cancel: &CancellationToken,
) -> Result<Applied, Error> {
    let saved = req
        .planfile
        .as_deref()
        .map(super::saved::read)
        .transpose()?;
    // A saved plan names where its config came from: read the same.
    let source = match &saved {
        Some(p) => super::saved::source_of(&req.source, p),
        None => req.source.clone(),
    };
    let loaded = super::load(&source)?;
    if let Some(p) = &saved {
        super::saved::check_source(p, &loaded)?;
    }
    // A saved plan applies exactly the target it was planned with.
    let target = match &saved {
        Some(p) => p.target.clone().unwrap_or_default(),
        None => req.target.clone(),
    };
    let targeted = super::targeted(&loaded.config, &target)?;
    let mut session = Session::new(super::fleet_for(req.fleet, &loaded.config)?, cancel.clone());
    let contacted = match &targeted {
        Some((selection, cut)) => {
            session.set_read_only(selection.read_only.clone());
            cut
        }
        None => &loaded.config,
    };
    let mut live = session
        .read(contacted, Some(req.lock_timeout), observer)
        .await?;
    if let Some((selection, _)) = &targeted {
        super::mark_not_targeted(&mut live, selection);
    }
    for note in session.take_notes() {
        observer.note(&note);
    }
    // A saved plan is planned again with the choices it was made with,
    // and applied only when that gives the same changes.
    let choices = saved
        .as_ref()
        .and_then(|p| p.options)
        .unwrap_or(req.choices);
    let config = loaded.config.clone();
    let mut plan = super::plan::build(&config, &live, choices, loaded.source, loaded.warnings);
    if let Some((selection, _)) = &targeted {
        crate::plan::restrict(&mut plan, selection, &target);
    }
    if let Some(saved) = &saved {
        super::saved::check_same(&config, saved, &plan, &live)?;
    }
    observer.planned(&plan);
    // Partial: what can be applied by itself is, the rest is set aside.
    let (skipped, applicable) = if req.partial || config.partial {
        let skipped = crate::plan::skipped(&plan);
        let applicable = crate::plan::without(&plan, &skipped);
        (skipped, applicable)
    } else {
        (Vec::new(), plan.clone())
    };
    let refusal = if skipped.is_empty() {
        gate(&plan)
    } else {
        observer.skipping(&skipped);
        None
    };
    let outcome = match refusal {
        Some(refusal) => ApplyOutcome::Refused(refusal),
        None if !applicable.has_changes() => ApplyOutcome::NothingToDo,
        None => match observer.confirm(&applicable) {
            _ if cancel.is_cancelled() => return Err(Error::Interrupted),
            Ok(false) => ApplyOutcome::Declined,
            Err(why) => ApplyOutcome::Refused(Refusal::Unconfirmed(why)),
            Ok(true) => ApplyOutcome::Done(
                crate::execute::execute(&applicable, &config.owner, &session, observer, &|s| {
                    observer.step(s)
                })
                .await,
            ),
        },
    };
    let unreleased = session.close().await;
    Ok(Applied {
        plan,
        outcome,
        unreleased,
        skipped,
    })
}

/// Why a plan must not be applied: a server unread, an error, a block.
/// The pre-receive hook's verdict (`hook::verdict`) rejects exactly these.
pub(super) fn gate(plan: &Plan) -> Option<Refusal> {
    let unread: Vec<String> = plan.failed_servers().map(|s| s.name.clone()).collect();
    if !unread.is_empty() {
        Some(Refusal::Unreadable(unread))
    } else if !plan.errors.is_empty() {
        Some(Refusal::Errors(plan.errors.len()))
    } else if plan.blocked() > 0 {
        Some(Refusal::Blocked(plan.blocked()))
    } else {
        None
    }
}
