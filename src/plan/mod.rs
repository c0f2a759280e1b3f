//! The planner: `plan(&Config, &LiveState) -> Plan`. Pure, synchronous, no I/O:
//! every behaviour here is tested on hand-built data.
//!
//! Per server: the networks themselves (`networks`), then what must be
//! attached where (`attach`), and what the config declares but the server
//! lacks (`missing`); `guard` classifies attached containers and
//! finds the dependencies worth a warning before a removal.

pub mod affected;
mod attach;
mod clone;
mod consent;
mod guard;
pub mod journal;
mod missing;
mod model;
mod networks;
mod partial;
mod pools;
mod scope;
pub mod simulate;
mod suggest;
mod swarm;
mod target;
mod topology;

pub use attach::{Attachment, selected};
pub use clone::needs_images;
pub use guard::classify;
pub use model::*;
pub use networks::{differences, removal_candidates};
pub use partial::{SkipReason, Skipped, skipped, without};
pub use scope::Scope;
pub use swarm::{describe_rollout, service_kind};
pub use target::{Selection, TargetError, only_affected, restrict, select};
pub use topology::mark;

use std::collections::{BTreeMap, BTreeSet};

use crate::config::{Config, Server};
use crate::live::{LiveState, Snapshot};

/// What it takes to bring the servers of `live` to `config`: first the
/// restorations of interrupted changes, then, per server read, its
/// networks, clones, assignments and swarm services.
pub fn plan(config: &Config, live: &LiveState, opts: Options) -> Plan {
    let mut p = empty();
    // Each server's subnet from a destination's pool, given the servers read.
    let resolved = pools::resolve(config, live, &mut p.errors, &mut p.warnings);
    let config = resolved.as_ref().unwrap_or(config);
    // Interrupted changes first: the rest is planned against the state
    // their restoration leaves.
    let (mut restores, restored) = restorations(config, live, &mut p.errors);
    let live = restored.as_ref().unwrap_or(live);
    for server in &config.servers {
        let mut reading = server_reading(server, live);
        reading.depends_on = clone::depends_on(config, &server.name, live);
        p.servers.push(reading);
        if let Some(Ok(snapshot)) = live.servers.get(&server.name) {
            p.changes
                .extend(restores.remove(&server.name).unwrap_or_default());
            plan_server(config, &server.name, snapshot, live, opts, &mut p);
        }
    }
    let (warnings, errors) = missing::report(config, opts.strict || config.strict, &p.missing);
    p.warnings.extend(warnings);
    p.errors.extend(errors);
    p.summary = model::summarize(&p.changes);
    p.topology = Some(topology::topology(config, &p.changes));
    p
}

/// A plan with nothing in it yet.
fn empty() -> Plan {
    Plan {
        format_version: FORMAT_VERSION,
        source: SourceInfo::default(),
        servers: Vec::new(),
        changes: Vec::new(),
        missing: Vec::new(),
        warnings: Vec::new(),
        errors: Vec::new(),
        summary: BTreeMap::new(),
        config_diff: None,
        fingerprints: BTreeMap::new(),
        owner: None,
        topology: None,
        berth_version: None,
        options: None,
        target: None,
        unaffected: Vec::new(),
    }
}

/// The `restore` changes of every server's journals, by server (a journal
/// that cannot be trusted is an error instead), and the live state they
/// leave, when there are any.
fn restorations(
    config: &Config,
    live: &LiveState,
    errors: &mut Vec<PlanError>,
) -> (BTreeMap<String, Vec<Change>>, Option<LiveState>) {
    let mut restores: BTreeMap<String, Vec<Change>> = BTreeMap::new();
    for server in &config.servers {
        if let Some(Ok(snapshot)) = live.servers.get(&server.name) {
            let r = journal::restores(config, &server.name, snapshot, errors);
            restores.insert(server.name.clone(), r);
        }
    }
    let all: Vec<Change> = restores.values().flatten().cloned().collect();
    let restored = (!all.is_empty()).then(|| journal::restored(live, &all, &config.owner));
    (restores, restored)
}

/// How reading `server` went: read, failed (why), or skipped.
fn server_reading(server: &Server, live: &LiveState) -> ServerReading {
    let state = live.servers.get(&server.name);
    let (status, error) = match state {
        _ if live.skipped.contains_key(&server.name) => (
            ServerHealth::Skipped,
            live.skipped.get(&server.name).cloned(),
        ),
        Some(Ok(_)) => (ServerHealth::Ok, None),
        Some(Err(e)) => (ServerHealth::Error, Some(e.clone())),
        None => (ServerHealth::Error, Some("not refreshed".to_string())),
    };
    ServerReading {
        name: server.name.clone(),
        address: server.address.to_string(),
        status,
        error,
        swarm: match state {
            Some(Ok(s)) => swarm::summary(s),
            _ => None,
        },
        depends_on: Vec::new(),
    }
}

/// Everything planned on one server that was read (`snapshot`, in `live`):
/// its networks, clones, assignments and swarm services, with their
/// warnings, errors and missing resources.
fn plan_server(
    config: &Config,
    server: &str,
    snapshot: &Snapshot,
    live: &LiveState,
    opts: Options,
    p: &mut Plan,
) {
    let net_changes = networks::plan(config, server, snapshot, opts, &mut p.errors);
    let (clones, clone_warnings) = clone::plan(config, server, live, opts);
    // Assignments are planned against the state the clones (and the
    // networks made before them) leave: a copy that other resources select
    // too is attached for them in the same plan, not by the next one.
    let cloned = after_clones(live, &net_changes, &clones, &config.owner);
    let (here, all) = match &cloned {
        Some(after) => match after.servers.get(server) {
            Some(Ok(s)) => (s, after),
            _ => (snapshot, live),
        },
        None => (snapshot, live),
    };
    p.errors
        .extend(attach::short_alias_conflicts(config, server, here));
    p.errors
        .extend(swarm::overlay_errors(config, server, snapshot));
    let (services, service_missing) = swarm::plan(config, server, snapshot);
    let assignments = attach::plan(config, server, here);
    p.warnings
        .extend(guard::removal_warnings(server, snapshot, &net_changes));
    p.warnings.extend(clone_warnings);
    p.changes.extend(net_changes);
    p.changes.extend(clones);
    p.changes.extend(assignments);
    p.changes.extend(services);
    p.missing
        .extend(missing::resources(config, server, here, all));
    p.missing.extend(service_missing);
}

/// `live` as the planned clones leave it, with the networks created or
/// replaced before them (the executor's order); `None` when no clone is
/// planned.
fn after_clones(
    live: &LiveState,
    networks: &[Change],
    clones: &[Change],
    owner: &str,
) -> Option<LiveState> {
    if clones.iter().all(Change::is_blocked) {
        return None;
    }
    let mut after = live.clone();
    for c in networks.iter().chain(clones).filter(|c| !c.is_blocked()) {
        if matches!(
            c.action(),
            Action::CreateNetwork | Action::ReplaceNetwork | Action::Clone
        ) {
            simulate::apply(&mut after, c, owner);
        }
    }
    Some(after)
}

/// Containers whose details (aliases, env, mounts) the planner needs beyond
/// the list calls, by name: those attached to a network they are declared
/// on (to compare aliases), sources of clones still to be made, and every
/// container when a removal is pending (to find what depends on the network).
pub fn inspections(config: &Config, server: &str, all: &LiveState) -> BTreeSet<String> {
    let Some(Ok(live)) = all.servers.get(server) else {
        return BTreeSet::new();
    };
    if networks::removal_candidates(config, server, live)
        .next()
        .is_some()
    {
        return live.containers.iter().map(|c| c.name.clone()).collect();
    }
    let attached = attach::selected(config, server, live)
        .into_iter()
        .filter(|(name, wanted)| {
            live.containers.iter().any(|c| {
                &c.name == name && wanted.iter().any(|w| c.networks.contains_key(&w.network))
            })
        })
        .map(|(name, _)| name);
    attached
        .chain(clone::sources_to_inspect(config, server, all))
        .collect()
}

#[cfg(test)]
mod fleet_tests;
#[cfg(test)]
mod tests;

/// The digest of what this config's plan depends on, on one server: its
/// destinations' and berth's own networks, the containers on them, and the
/// containers the config selects. Changes elsewhere on a busy server do not
/// make a saved plan stale.
pub fn fingerprint(config: &Config, server: &str, live: &Snapshot) -> BTreeMap<String, String> {
    let networks: BTreeSet<&str> = live
        .networks
        .iter()
        .filter(|n| {
            n.owned_by(&config.owner) || config.destinations_on(server).any(|d| d.network == n.name)
        })
        .map(|n| n.name.as_str())
        .chain(config.destinations_on(server).map(|d| d.network.as_str()))
        .collect();
    let selected = attach::selected(config, server, live);
    let containers: BTreeSet<&str> = live
        .containers
        .iter()
        .filter(|c| {
            selected.contains_key(&c.name)
                || c.networks.keys().any(|n| networks.contains(n.as_str()))
        })
        .map(|c| c.name.as_str())
        .collect();
    live.fingerprint()
        .into_iter()
        .filter(|(key, _)| match key.split_once(':') {
            Some(("network", n)) => networks.contains(n),
            Some(("container", c)) => containers.contains(c),
            _ => true,
        })
        .collect()
}
