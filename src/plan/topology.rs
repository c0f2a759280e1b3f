//! The shape a plan leaves behind, for diagrams: servers → destinations →
//! resources, each marked with what the plan (or, in a preview, the config
//! change under review) does to it.

use super::model::{
    Action, AttachedKind, Change, TopoDestination, TopoResource, TopoServer, TopoState, Topology,
};
use crate::config::Config;
use crate::config::diff::{ChangeKind, ConfigDiff};

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

/// One declared destination: added, changed or as it is, with its declared
/// resources and those the plan detaches from it.
fn destination(config: &Config, changes: &[&Change], name: &str, network: &str) -> TopoDestination {
    let here: Vec<&Change> = changes
        .iter()
        .copied()
        .filter(|c| c.network() == network)
        .collect();
    let has = |action: Action| here.iter().any(|c| c.action() == action);
    let state = if has(Action::CreateNetwork) {
        TopoState::Added
    } else if has(Action::ReplaceNetwork) {
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
        .map(|(kind, name)| {
            let added = here.iter().any(|c| {
                matches!(c.action(), Action::Connect | Action::Clone)
                    && c.resource()
                        .is_some_and(|r| r.name == name && AttachedKind::from(r.kind) == kind)
            });
            TopoResource {
                kind,
                name,
                state: if added {
                    TopoState::Added
                } else {
                    TopoState::Unchanged
                },
            }
        })
        .collect();
    resources.extend(here.iter().filter_map(|c| match c {
        Change::Disconnect(d) => Some(TopoResource {
            kind: d.resource.kind.into(),
            name: d.resource.name.clone(),
            state: TopoState::Removed,
        }),
        _ => None,
    }));
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
