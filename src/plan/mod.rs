//! The planner: `plan(&Config, &LiveState) -> Plan`. Pure, synchronous, no I/O:
//! every behaviour here is tested on hand-built data.
//!
//! Per server: the networks themselves (`networks`), then what must be
//! attached where (`attach`), and what the config declares but the server
//! lacks (`missing`); `guard` classifies attached containers and
//! finds the dependencies worth a warning before a removal.

mod attach;
mod clone;
mod guard;
pub mod journal;
mod missing;
mod model;
mod networks;
mod scope;
pub mod simulate;
mod swarm;
mod topology;

pub use attach::{Attachment, selected};
pub use clone::needs_images;
pub use guard::classify;
pub use model::*;
pub use networks::{differences, removal_candidates};
pub use scope::Scope;
pub use swarm::{describe_rollout, service_kind};
pub use topology::{TopoDestination, TopoResource, TopoServer, TopoState, Topology, mark};

use std::collections::{BTreeMap, BTreeSet};

use crate::config::Config;
use crate::live::LiveState;

/// Choices that change what the planner allows.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(deny_unknown_fields)]
pub struct Options {
    /// Let `replace_network` proceed while containers are attached: they are
    /// disconnected, the network recreated, and they are reconnected.
    pub allow_replace: bool,
    /// Block clones whose image would have to be streamed to another server.
    pub no_image_transfer: bool,
    /// `--strict`: a declared resource that matches nothing on its server
    /// is an error, not a warning (as `settings.strict` makes it).
    #[serde(default)]
    pub strict: bool,
}

impl Options {
    /// Every mode the planner has: default, `--allow-replace`,
    /// `--no-image-transfer` (what the property and fuzz tests plan in).
    pub const ALL: [Options; 3] = [
        Options {
            allow_replace: false,
            no_image_transfer: false,
            strict: false,
        },
        Options {
            allow_replace: true,
            no_image_transfer: false,
            strict: false,
        },
        Options {
            allow_replace: false,
            no_image_transfer: true,
            strict: false,
        },
    ];
}

pub fn plan(config: &Config, live: &LiveState, opts: Options) -> Plan {
    let mut p = Plan {
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
    };
    // Interrupted changes first: the rest is planned against the state
    // their restoration leaves.
    let mut restores: BTreeMap<String, Vec<Change>> = BTreeMap::new();
    for server in &config.servers {
        if let Some(Ok(snapshot)) = live.servers.get(&server.name) {
            let r = journal::restores(config, &server.name, snapshot, &mut p.errors);
            restores.insert(server.name.clone(), r);
        }
    }
    let all: Vec<Change> = restores.values().flatten().cloned().collect();
    let restored;
    let live = if all.is_empty() {
        live
    } else {
        restored = journal::restored(live, &all, &config.owner);
        &restored
    };
    for server in &config.servers {
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
        p.servers.push(ServerStatus {
            name: server.name.clone(),
            address: server.address.to_string(),
            status,
            error,
            swarm: match state {
                Some(Ok(s)) => swarm::summary(s),
                _ => None,
            },
        });
        if let Some(Ok(snapshot)) = state {
            let net_changes = networks::plan(config, &server.name, snapshot, opts, &mut p.errors);
            let (clones, clone_warnings) = clone::plan(config, &server.name, live, opts);
            // Assignments are planned against the state the clones (and
            // the networks made before them) leave: a copy that other
            // resources select too is attached for them in the same plan,
            // not by the next one.
            let cloned = after_clones(live, &net_changes, &clones, &config.owner);
            let (here, all) = match &cloned {
                Some(after) => match after.servers.get(&server.name) {
                    Some(Ok(s)) => (s, after),
                    _ => (snapshot, live),
                },
                None => (snapshot, live),
            };
            p.errors
                .extend(attach::short_alias_conflicts(config, &server.name, here));
            p.errors
                .extend(swarm::overlay_errors(config, &server.name, snapshot));
            let (services, service_missing) = swarm::plan(config, &server.name, snapshot);
            let assignments = attach::plan(config, &server.name, here);
            p.warnings.extend(guard::removal_warnings(
                &server.name,
                snapshot,
                &net_changes,
            ));
            p.warnings.extend(clone_warnings);
            p.changes
                .extend(restores.remove(&server.name).unwrap_or_default());
            p.changes.extend(net_changes);
            p.changes.extend(clones);
            p.changes.extend(assignments);
            p.changes.extend(services);
            p.missing
                .extend(missing::resources(config, &server.name, here, all));
            p.missing.extend(service_missing);
        }
    }
    let (warnings, errors) = missing::report(config, opts.strict || config.strict, &p.missing);
    p.warnings.extend(warnings);
    p.errors.extend(errors);
    p.summary = summarize(&p.changes);
    p.topology = Some(topology::topology(config, &p.changes));
    p
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

fn summarize(changes: &[Change]) -> BTreeMap<String, usize> {
    let mut summary = BTreeMap::new();
    for c in changes {
        let key = match c.status() {
            Status::Planned => c.action().as_str(),
            Status::Blocked => "blocked",
        };
        *summary.entry(key.to_string()).or_insert(0) += 1;
    }
    summary
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
mod tests;

/// The digest of what this config's plan depends on, on one server: its
/// destinations' and berth's own networks, the containers on them, and the
/// containers the config selects. Changes elsewhere on a busy server do not
/// make a saved plan stale.
pub fn fingerprint(
    config: &Config,
    server: &str,
    live: &crate::live::Snapshot,
) -> BTreeMap<String, String> {
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
