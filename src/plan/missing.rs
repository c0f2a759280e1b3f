//! Declared but not found: a resource or stack whose selector (container
//! name, `match_labels`, compose project) matches nothing, running or
//! stopped, on a server it is assigned to, with the live names closest to
//! what the config says (did you mean); and how a plan reports each: a
//! `declared_not_found` warning, or with strict mode an error. A clone not
//! made yet is the clone planner's, and a server not read has no entry.

use super::guard::selects;
use super::model::*;
use super::suggest::{SUGGESTIONS, closest, note};
use crate::config::{Config, ResourceKind, Selector};
use crate::live::{LiveState, Snapshot, labels};

/// Declared resources and stacks with no container on `server`.
pub fn resources(config: &Config, server: &str, live: &Snapshot, all: &LiveState) -> Vec<Missing> {
    let mut out = Vec::new();
    // Containers another declared resource selects are no typo's fix.
    let claimed = super::attach::selected(config, server, live);
    // Declared clones are the clone planner's business; swarm services
    // are `swarm`'s.
    for r in config
        .resources
        .iter()
        .filter(|r| r.clone_of.is_none() && !r.is_swarm_service())
    {
        if r.destinations_on(config, server).next().is_none() {
            continue;
        }
        if live
            .containers
            .iter()
            .any(|c| selects(r.kind, &r.name, &r.selector, c))
        {
            continue;
        }
        let (selector, absent, suggestions) = match &r.selector {
            Selector::Name(n) => (
                n.clone(),
                format!("no container {n} on server {server}"),
                closest(
                    n,
                    live.containers
                        .iter()
                        .map(|c| c.name.as_str())
                        .filter(|c| !claimed.contains_key(*c)),
                ),
            ),
            Selector::Labels(l) => {
                let pairs = l
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(",");
                (
                    pairs.clone(),
                    format!("no container labelled {pairs} on server {server}"),
                    label_suggestions(l, live),
                )
            }
            Selector::SwarmService(s) => (
                format!("swarm service {s}"),
                format!("no swarm service {s} on server {server}"),
                Vec::new(),
            ),
        };
        let others = elsewhere(all, server, |c| selects(r.kind, &r.name, &r.selector, c));
        if over_set_elsewhere(config, server, &others, |d| r.belongs_to(d)) {
            continue;
        }
        let (note, suggestions) = if others.is_empty() {
            (
                note(
                    &absent,
                    &suggestions,
                    "deploy it, and the next plan connects it",
                ),
                suggestions,
            )
        } else {
            (
                format!(
                    "it runs on server {}; berth never moves a resource: declare a resource with clone_of = \"{}\" to run a copy on {server}",
                    others.join(", "),
                    r.name
                ),
                Vec::new(),
            )
        };
        out.push(Missing {
            resource: ResourceRef::new(r.kind, &r.name),
            server: server.to_string(),
            selector,
            note: Some(note),
            suggestions,
        });
    }
    for s in config.stacks.iter().filter(|s| s.clone_of.is_none()) {
        if config.destination_on(&s.destination, server).is_none() {
            continue;
        }
        let swarm_stacks = || {
            live.swarm
                .iter()
                .flat_map(|sw| sw.services.iter().filter_map(|s| s.stack()))
        };
        if super::attach::stack(live, &s.project).next().is_some()
            || swarm_stacks().any(|p| p == s.project)
        {
            continue;
        }
        let others = elsewhere(all, server, |c| {
            c.label(labels::COMPOSE_PROJECT) == Some(s.project.as_str())
        });
        if over_set_elsewhere(config, server, &others, |d| d == s.destination) {
            continue;
        }
        let declared = |p: &str| config.stacks.iter().any(|s| s.project == p);
        let projects = live
            .containers
            .iter()
            .filter_map(|c| c.label(labels::COMPOSE_PROJECT))
            .chain(swarm_stacks())
            .filter(|p| !declared(p));
        let suggestions = closest(&s.project, projects);
        out.push(Missing {
            resource: ResourceRef::new(ResourceKind::Stack, &s.name),
            server: server.to_string(),
            selector: format!("{}={}", labels::COMPOSE_PROJECT, s.project),
            note: Some(note(
                &format!(
                    "no container of compose project {} on server {server}",
                    s.project
                ),
                &suggestions,
                "deploy it, and the next plan connects it",
            )),
            suggestions,
        });
    }
    out
}

/// A resource whose destinations here are declared over a set of servers
/// runs wherever it runs on the set: absent here is no problem when it
/// runs on another server it has a destination on.
fn over_set_elsewhere(
    config: &Config,
    server: &str,
    others: &[String],
    belongs: impl Fn(&str) -> bool,
) -> bool {
    let here: Vec<_> = config
        .destinations_on(server)
        .filter(|d| belongs(&d.name))
        .collect();
    !here.is_empty()
        && here.iter().all(|d| d.group.is_some())
        && others.iter().any(|o| {
            config
                .destinations_on(o)
                .any(|d| d.group.is_some() && belongs(&d.name))
        })
}

/// The other servers (read) where a container `wanted` runs.
fn elsewhere(
    all: &LiveState,
    server: &str,
    wanted: impl Fn(&crate::live::Container) -> bool,
) -> Vec<String> {
    all.servers
        .iter()
        .filter(|(name, _)| name.as_str() != server)
        .filter(|(_, state)| {
            state
                .as_ref()
                .is_ok_and(|s| s.containers.iter().any(&wanted))
        })
        .map(|(name, _)| name.clone())
        .collect()
}

/// For each wanted label no container carries: the closest values of that
/// key seen on the server (`key=value`), or when no container has the key,
/// the closest keys (`key=wanted value`).
fn label_suggestions(
    want: &std::collections::BTreeMap<String, String>,
    live: &Snapshot,
) -> Vec<String> {
    let mut out = Vec::new();
    for (k, v) in want {
        if live.containers.iter().any(|c| c.label(k) == Some(v)) {
            continue;
        }
        let values: Vec<&str> = live.containers.iter().filter_map(|c| c.label(k)).collect();
        if values.is_empty() {
            let keys = live
                .containers
                .iter()
                .flat_map(|c| c.labels.keys().map(String::as_str));
            out.extend(closest(k, keys).into_iter().map(|key| format!("{key}={v}")));
        } else {
            out.extend(
                closest(v, values.into_iter())
                    .into_iter()
                    .map(|value| format!("{k}={value}")),
            );
        }
    }
    out.truncate(SUGGESTIONS);
    out
}

/// How the plan tells each declared resource it did not find: a
/// `declared_not_found` warning, or in strict mode (`--strict`,
/// `settings.strict`) an error, which makes `plan` exit 1 and `apply`
/// refuse.
pub fn report(
    config: &Config,
    strict: bool,
    missing: &[Missing],
) -> (Vec<Warning>, Vec<PlanError>) {
    let mut warnings = Vec::new();
    let mut errors = Vec::new();
    for m in missing {
        if strict {
            let dest = destination(config, m);
            errors.push(PlanError {
                server: m.server.clone(),
                destination: dest.map(|d| d.name.clone()),
                network: dest.map(|d| d.network.clone()).unwrap_or_default(),
                message: m.describe(),
                hint: "fix the name in the config, deploy it, or remove it from the config; strict mode (--strict, or [settings] strict = true) makes a declared resource that matches nothing an error".to_string(),
            });
        } else {
            warnings.push(Warning {
                code: WarningCode::DeclaredNotFound,
                message: m.describe(),
                file: declared_in(config, &m.resource),
                server: Some(m.server.clone()),
                resource: Some(m.resource.clone()),
                suggestions: m.suggestions.clone(),
            });
        }
    }
    (warnings, errors)
}

/// The first destination on its server of the resource `m` is about.
fn destination<'a>(config: &'a Config, m: &'a Missing) -> Option<&'a crate::config::Destination> {
    match m.resource.kind {
        ResourceKind::Stack => config
            .stacks
            .iter()
            .find(|s| s.name == m.resource.name)
            .and_then(|s| config.destination_on(&s.destination, &m.server)),
        kind => config
            .resources
            .iter()
            .find(|r| r.kind == kind && r.name == m.resource.name)
            .and_then(|r| r.destinations_on(config, &m.server).next()),
    }
}

/// The config file that declares `resource`.
fn declared_in(config: &Config, resource: &ResourceRef) -> Option<String> {
    match resource.kind {
        ResourceKind::Stack => config
            .stacks
            .iter()
            .find(|s| s.name == resource.name)
            .map(|s| s.at.file.clone()),
        kind => config
            .resources
            .iter()
            .find(|r| r.kind == kind && r.name == resource.name)
            .map(|r| r.at.file.clone()),
    }
}
