//! The shape a plan leaves behind, for diagrams: servers → destinations →
//! resources, each marked with what the plan (or, in a preview, the config
//! change under review) does to it.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::model::{Action, AttachedKind, Change};
use crate::config::Config;
use crate::config::diff::{ChangeKind, ConfigDiff};

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Topology {
    pub servers: Vec<TopoServer>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TopoServer {
    pub name: String,
    pub destinations: Vec<TopoDestination>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TopoDestination {
    /// The destination's name; for a network being removed, its network name.
    pub name: String,
    pub network: String,
    pub state: TopoState,
    pub resources: Vec<TopoResource>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TopoResource {
    pub kind: AttachedKind,
    pub name: String,
    pub state: TopoState,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum TopoState {
    Unchanged,
    Added,
    Changed,
    Removed,
}

pub fn topology(config: &Config, changes: &[Change]) -> Topology {
    let servers = config
        .servers
        .iter()
        .map(|s| {
            let on_server: Vec<&Change> = changes.iter().filter(|c| c.server() == s.name).collect();
            let mut destinations: Vec<TopoDestination> = config
                .destinations_on(&s.name)
                .map(|d| destination(config, &on_server, &d.name, &d.network))
                .collect();
            destinations.extend(on_server.iter().filter_map(|c| {
                match c {
                    Change::RemoveNetwork(r) => Some(TopoDestination {
                        name: r.destination.clone().unwrap_or_else(|| r.network.clone()),
                        network: r.network.clone(),
                        state: TopoState::Removed,
                        resources: r
                            .attached
                            .iter()
                            .map(|a| TopoResource {
                                kind: a.kind.clone(),
                                name: a.resource.clone().unwrap_or_else(|| a.container.clone()),
                                state: TopoState::Unchanged,
                            })
                            .collect(),
                    }),
                    _ => None,
                }
            }));
            TopoServer {
                name: s.name.clone(),
                destinations,
            }
        })
        .collect();
    Topology { servers }
}

/// What a change does to the resource it serves, as the diagram marks it:
/// from its verb's symbol (`+` added, `-` removed, `-/+` and `~` changed),
/// so the diagram says what the other views say. A swarm service update
/// that makes a service join or leave the network adds or removes it there.
fn effect(c: &Change) -> TopoState {
    if let Change::UpdateService(u) = c {
        let has =
            |list: &[super::model::ServiceNetworkRef]| list.iter().any(|n| n.network == u.network);
        match (has(&u.live_networks), has(&u.networks)) {
            (false, true) => return TopoState::Added,
            (true, false) => return TopoState::Removed,
            _ => {}
        }
    }
    match c.verb().symbol() {
        "+" => TopoState::Added,
        "-" => TopoState::Removed,
        _ => TopoState::Changed,
    }
}

/// Several changes to one resource: added or removed when they all agree,
/// else changed.
fn combine(a: TopoState, b: TopoState) -> TopoState {
    match (a, b) {
        (TopoState::Unchanged, x) | (x, TopoState::Unchanged) => x,
        (x, y) if x == y => x,
        _ => TopoState::Changed,
    }
}

/// One declared destination: added, changed or as it is, with its declared
/// resources (one node each, marked with what the plan does to it) and
/// those the plan detaches from it.
fn destination(config: &Config, changes: &[&Change], name: &str, network: &str) -> TopoDestination {
    let here: Vec<&Change> = changes
        .iter()
        .copied()
        .filter(|c| c.network() == network)
        .collect();
    let replaced = |c: &Change| match c {
        Change::ReplaceNetwork(_) => true,
        Change::Restore(r) => matches!(*r.record.change, Change::ReplaceNetwork(_)),
        _ => false,
    };
    let state = if here.iter().any(|c| c.action() == Action::CreateNetwork) {
        TopoState::Added
    } else if here.iter().any(|c| replaced(c)) {
        TopoState::Changed
    } else {
        TopoState::Unchanged
    };
    let declared = config
        .resources
        .iter()
        .filter(|r| r.belongs_to(name))
        .map(|r| (AttachedKind::from(r.kind), r.name.clone()))
        .chain(
            config
                .stacks
                .iter()
                .filter(|x| x.destination == name)
                .map(|x| (AttachedKind::Stack, x.name.clone())),
        );
    let mut resources: Vec<TopoResource> = declared
        .map(|(kind, name)| TopoResource {
            kind,
            name,
            state: TopoState::Unchanged,
        })
        .collect();
    for c in &here {
        let Some(r) = c.resource() else { continue };
        let kind = AttachedKind::from(r.kind);
        let effect = effect(c);
        match resources
            .iter_mut()
            .find(|x| x.kind == kind && x.name == r.name)
        {
            Some(x) => x.state = combine(x.state, effect),
            // Not declared here: what the plan detaches from it.
            None if effect == TopoState::Removed => resources.push(TopoResource {
                kind,
                name: r.name.clone(),
                state: effect,
            }),
            None => {}
        }
    }
    TopoDestination {
        name: name.to_string(),
        network: network.to_string(),
        state,
        resources,
    }
}

/// Marks what the config change adds or changes, so a preview's diagram
/// shows the change under review even where the live state already matches
/// (an adopted network, an attachment made by hand).
pub fn mark(topology: &mut Topology, diff: &ConfigDiff) {
    let state = |kind: &str, name: &str| {
        diff.entities
            .iter()
            .find(|e| e.kind.as_str() == kind && e.name == name)
            .map(|e| match e.change {
                ChangeKind::Added => TopoState::Added,
                ChangeKind::Removed => TopoState::Removed,
                ChangeKind::Changed => TopoState::Changed,
            })
    };
    for s in &mut topology.servers {
        for d in &mut s.destinations {
            if d.state == TopoState::Unchanged {
                d.state = state("destination", &d.name).unwrap_or(d.state);
            }
            for r in &mut d.resources {
                if r.state == TopoState::Unchanged {
                    r.state = state(&r.kind.as_str(), &r.name).unwrap_or(r.state);
                }
            }
        }
    }
}
