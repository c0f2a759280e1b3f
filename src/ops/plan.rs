//! `plan`: read every server, plan, and for a pull-request preview add the
//! config change and contact servers only as the base says; optionally save
//! the plan for `apply PLANFILE`.

use std::path::PathBuf;

use super::load::{Loaded, SourceSpec};
use super::preview::Preview;
use super::{CancellationToken, Error, FleetOptions, Progress};
use crate::config::Config;
use crate::live::LiveState;
use crate::plan::{Plan, SourceInfo, Warning};
use crate::session::Session;

/// What to plan, and how.
#[derive(Debug, Clone)]
pub struct PlanRequest {
    pub source: SourceSpec,
    /// Pull-request preview: the base revision of the config change.
    pub base: Option<String>,
    pub choices: crate::plan::Options,
    pub fleet: FleetOptions,
    /// Also save the plan here, for `apply PLANFILE`.
    pub out: Option<PathBuf>,
    /// `--server`/`--destination`: contact and plan only these.
    pub target: crate::plan::Target,
}

/// A plan, and where it was saved.
#[derive(Debug)]
pub struct Planned {
    pub plan: Plan,
    pub saved: Option<PathBuf>,
    /// The config's `settings.partial`: an apply of this plan would skip
    /// the servers it cannot apply and apply the others.
    pub partial: bool,
}

pub async fn plan(
    req: &PlanRequest,
    progress: &dyn Progress,
    cancel: &CancellationToken,
) -> Result<Planned, Error> {
    let mut loaded = super::load(&req.source)?;
    let preview = match &req.base {
        Some(rev) => Some(super::preview::preview(&req.source, &mut loaded, rev)?),
        None => None,
    };
    let skipped = preview
        .as_ref()
        .map(|p| p.skipped.clone())
        .unwrap_or_default();
    let targeted = super::targeted(&loaded.config, &req.target)?;
    let mut contacted = match &targeted {
        Some((_, cut)) => cut.clone(),
        None => loaded.config.clone(),
    };
    contacted.servers.retain(|s| !skipped.contains(&s.name));
    let mut session = Session::new(super::fleet_for(req.fleet, &contacted)?, cancel.clone());
    let mut live = session.read(&contacted, None, progress).await?;
    session.close().await;
    if let Some((selection, _)) = &targeted {
        super::mark_not_targeted(&mut live, selection);
    }
    for name in skipped {
        live.skipped.insert(
            name,
            "not contacted: this server is new in the change under review".to_string(),
        );
    }
    let config = loaded.config.clone();
    let mut plan = assemble(loaded, preview, &live, req.choices);
    if let Some((selection, _)) = &targeted {
        crate::plan::restrict(&mut plan, selection, &req.target);
    }
    if let Some(path) = &req.out {
        super::saved::save(&mut plan, &config, &live, req.choices, path)?;
    }
    Ok(Planned {
        plan,
        saved: req.out.clone(),
        partial: config.partial,
    })
}

/// The plan of a loaded config against a live state, with the config
/// change of a preview when one was made. Pure.
pub fn assemble(
    loaded: Loaded,
    preview: Option<Preview>,
    live: &LiveState,
    choices: crate::plan::Options,
) -> Plan {
    let mut plan = build(
        &loaded.config,
        live,
        choices,
        loaded.source,
        loaded.warnings,
    );
    if let Some(p) = preview {
        if let Some(t) = plan.topology.as_mut() {
            crate::plan::mark(t, &p.config_diff);
        }
        plan.config_diff = Some(p.config_diff);
    }
    plan
}

/// The plan of `config` against `live`, naming its source, with the
/// config's own warnings first.
pub(super) fn build(
    config: &Config,
    live: &LiveState,
    choices: crate::plan::Options,
    source: SourceInfo,
    warnings: Vec<Warning>,
) -> Plan {
    let mut plan = crate::plan::plan(config, live, choices);
    plan.source = source;
    plan.warnings.splice(0..0, warnings);
    plan
}
