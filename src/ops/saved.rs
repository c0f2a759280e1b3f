//! Saved plans (`plan --out`, `apply PLANFILE`): what a saved plan records,
//! how it is read back (it is untrusted input), and the checks that refuse
//! one that no longer describes what would be applied.

use std::collections::BTreeMap;
use std::path::Path;

use super::Error;
use super::load::{Loaded, SourceSpec};
use crate::config::Config;
use crate::live::LiveState;
use crate::plan::{FORMAT_VERSION, Plan, SourceKind};

/// The berth version that writes and reads saved plans.
const VERSION: &str = env!("CARGO_PKG_VERSION");

fn invalid(message: String) -> Error {
    Error::SavedPlan {
        message,
        hint: "make one with `berth plan --out FILE`".to_string(),
    }
}

/// Records what `apply PLANFILE` checks, and writes the plan.
pub fn save(
    plan: &mut Plan,
    config: &Config,
    live: &LiveState,
    choices: crate::plan::Options,
    path: &Path,
) -> Result<(), Error> {
    let text = to_text(plan, config, live, choices);
    std::fs::write(path, text).map_err(|cause| Error::Write {
        path: path.to_path_buf(),
        cause,
    })
}

/// The saved plan's text: `plan` with what `apply PLANFILE` checks.
pub(crate) fn to_text(
    plan: &mut Plan,
    config: &Config,
    live: &LiveState,
    choices: crate::plan::Options,
) -> String {
    plan.owner = Some(config.owner.clone());
    plan.berth_version = Some(VERSION.to_string());
    plan.options = Some(choices);
    plan.fingerprints = live
        .servers
        .iter()
        .filter_map(|(name, s)| {
            Some((
                name.clone(),
                crate::plan::fingerprint(config, name, s.as_ref().ok()?),
            ))
        })
        .collect();
    serde_json::to_string_pretty(plan).expect("a plan serializes")
}

/// Reads a saved plan from `path`.
pub fn read(path: &Path) -> Result<Plan, Error> {
    let bytes =
        std::fs::read(path).map_err(|e| invalid(format!("cannot read {}: {e}", path.display())))?;
    parse(&path.display().to_string(), &bytes)
}

/// Parses a saved plan (`name` is how errors call it): its version first,
/// then the whole of it, strictly. The bytes are untrusted input: any of
/// them gives a plan or an error, never a panic.
pub fn parse(name: &str, bytes: &[u8]) -> Result<Plan, Error> {
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| invalid(format!("{name} is not a berth plan: {e}")))?;
    let format = value
        .get("format_version")
        .and_then(serde_json::Value::as_u64);
    if format != Some(u64::from(FORMAT_VERSION)) {
        return Err(invalid(format!(
            "{name} has format_version {}; this berth reads {FORMAT_VERSION}",
            format.map_or("none".to_string(), |v| v.to_string())
        )));
    }
    match value
        .get("berth_version")
        .and_then(serde_json::Value::as_str)
    {
        Some(v) if v == VERSION => {}
        other => {
            return Err(Error::SavedPlan {
                message: format!(
                    "{name} was saved by another berth version ({}); this is berth {VERSION}",
                    other.unwrap_or("unknown")
                ),
                hint:
                    "plan again with this berth (`berth plan --out FILE`) and review the new plan"
                        .to_string(),
            });
        }
    }
    let plan: Plan = serde_json::from_value(value)
        .map_err(|e| invalid(format!("{name} is not a berth plan: {e}")))?;
    if plan.fingerprints.is_empty() {
        return Err(invalid(format!(
            "{name} has no live-state fingerprints: it was not saved with `plan --out`"
        )));
    }
    Ok(plan)
}

/// The config source a saved plan was made from, for what flags leave open.
pub fn source_of(spec: &SourceSpec, plan: &Plan) -> SourceSpec {
    let git = plan.source.kind == SourceKind::Git;
    let dir = if spec.dir != Path::new(".") {
        spec.dir.clone()
    } else {
        plan.source
            .path
            .clone()
            .unwrap_or_else(|| ".".into())
            .into()
    };
    SourceSpec {
        dir,
        repo: spec
            .repo
            .clone()
            .or_else(|| plan.source.repo.clone().filter(|_| git).map(Into::into)),
        rev: spec
            .rev
            .clone()
            .or_else(|| plan.source.commit.clone().filter(|_| git)),
    }
}

/// The config read now must be the one the plan was made from.
pub fn check_source(saved: &Plan, loaded: &Loaded) -> Result<(), Error> {
    if saved.source.commit.is_some() && saved.source.commit != loaded.source.commit {
        return Err(Error::SavedPlan {
            message: format!(
                "the plan was made from commit {}, but the config read now is at {}",
                saved.source.commit.as_deref().unwrap_or("?"),
                loaded
                    .source
                    .commit
                    .as_deref()
                    .unwrap_or("the working tree")
            ),
            hint: "apply the plan from the same commit (--ref), or make a new plan".to_string(),
        });
    }
    if let Some(owner) = &saved.owner {
        if *owner != loaded.config.owner {
            return Err(Error::SavedPlan {
                message: format!(
                    "the plan was made for owner `{owner}`, the config says `{}`",
                    loaded.config.owner
                ),
                hint: "apply it with the config it was made from".to_string(),
            });
        }
    }
    Ok(())
}

/// A saved plan is a record of what was reviewed, not an instruction:
/// apply plans again and goes ahead only when the changes it would make now
/// are the saved ones, else refuses naming each difference (and what
/// changed on the servers since, when the fingerprints tell).
pub fn check_same(
    config: &Config,
    saved: &Plan,
    now: &Plan,
    live: &LiveState,
) -> Result<(), Error> {
    let listed = |p: &Plan| -> Vec<String> {
        let mut v: Vec<String> = p.changes.iter().map(identity).collect();
        v.sort();
        v
    };
    let (then, now) = (listed(saved), listed(now));
    if then == now {
        return Ok(());
    }
    let mut lines: Vec<String> = Vec::new();
    for c in then.iter().filter(|c| !now.contains(c)) {
        lines.push(format!("saved, but not what berth would do now: {c}"));
    }
    for c in now.iter().filter(|c| !then.contains(c)) {
        lines.push(format!("not in the saved plan: {c}"));
    }
    for what in stale(config, &saved.fingerprints, live) {
        lines.push(format!("changed since the plan was saved: {what}"));
    }
    Err(Error::SavedPlan {
        message: format!(
            "the saved plan is stale, nothing applied; berth would not make the same changes now:\n  {}",
            lines.join("\n  ")
        ),
        hint: "run `berth plan --out FILE` again and review the new plan".to_string(),
    })
}

/// What a change does, in the terms a review checks: action, server,
/// network, container, aliases, resource.
fn identity(c: &crate::plan::Change) -> String {
    use crate::plan::Change;
    let mut s = format!(
        "{} {} on server {}",
        c.action().as_str(),
        c.network(),
        c.server()
    );
    if let Some(container) = c.container() {
        s.push_str(&format!(", container {container}"));
    }
    let aliases = match c {
        Change::Connect(c) => Some(c.aliases.clone()),
        Change::Clone(c) => c.aliases.clone(),
        _ => None,
    };
    if let Some(mut aliases) = aliases {
        aliases.sort();
        s.push_str(&format!(", aliases [{}]", aliases.join(", ")));
    }
    if let Some(r) = c.resource() {
        s.push_str(&format!(", {} {}", r.kind, r.name));
    }
    if c.is_blocked() {
        s.push_str(&format!(" (blocked: {})", c.reasons().join("; ")));
    }
    s
}

/// What changed on each server since the saved plan was made.
fn stale(
    config: &Config,
    fingerprints: &BTreeMap<String, BTreeMap<String, String>>,
    live: &LiveState,
) -> Vec<String> {
    let mut out = Vec::new();
    for (server, then) in fingerprints {
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
