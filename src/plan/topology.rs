//! The shape a plan leaves behind, for diagrams: servers → destinations →
//! resources, each marked with what the plan does to it.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::model::{Action, Change};
use crate::config::Config;

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct Topology {
    pub servers: Vec<TopoServer>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct TopoServer {
    pub name: String,
    pub destinations: Vec<TopoDestination>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct TopoDestination {
    /// The destination's name; for a network being removed, its network name.
    pub name: String,
    pub network: String,
    pub state: TopoState,
    pub resources: Vec<TopoResource>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct TopoResource {
    pub kind: String,
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
    let on = |server: &str, network: &str, action: Action| {
        changes
            .iter()
            .any(|c| c.server == server && c.network == network && c.action == action)
    };
    let servers = config
        .servers
        .iter()
        .map(|s| {
            let mut destinations: Vec<TopoDestination> = config
                .destinations_on(&s.name)
                .map(|d| {
                    let state = if on(&s.name, &d.network, Action::CreateNetwork) {
                        TopoState::Added
                    } else if on(&s.name, &d.network, Action::ReplaceNetwork) {
                        TopoState::Changed
                    } else {
                        TopoState::Unchanged
                    };
                    let mut resources: Vec<TopoResource> = Vec::new();
                    let declared = config
                        .resources
                        .iter()
                        .filter(|r| r.destination == d.name)
                        .map(|r| (r.kind.to_string(), r.name.clone()))
                        .chain(
                            config
                                .services
                                .iter()
                                .filter(|x| x.destination == d.name)
                                .map(|x| ("service".to_string(), x.name.clone())),
                        );
                    for (kind, name) in declared {
                        let touched = |action: Action| {
                            changes.iter().any(|c| {
                                c.server == s.name
                                    && c.network == d.network
                                    && c.action == action
                                    && c.resource
                                        .as_ref()
                                        .is_some_and(|r| r.name == name && r.kind == kind)
                            })
                        };
                        let state = if touched(Action::Connect) || touched(Action::Clone) {
                            TopoState::Added
                        } else {
                            TopoState::Unchanged
                        };
                        resources.push(TopoResource { kind, name, state });
                    }
                    for c in changes.iter().filter(|c| {
                        c.server == s.name
                            && c.network == d.network
                            && c.action == Action::Disconnect
                    }) {
                        if let Some(r) = &c.resource {
                            resources.push(TopoResource {
                                kind: r.kind.clone(),
                                name: r.name.clone(),
                                state: TopoState::Removed,
                            });
                        }
                    }
                    TopoDestination {
                        name: d.name.clone(),
                        network: d.network.clone(),
                        state,
                        resources,
                    }
                })
                .collect();
            for c in changes
                .iter()
                .filter(|c| c.server == s.name && c.action == Action::RemoveNetwork)
            {
                destinations.push(TopoDestination {
                    name: c.destination.clone().unwrap_or_else(|| c.network.clone()),
                    network: c.network.clone(),
                    state: TopoState::Removed,
                    resources: c
                        .attached
                        .iter()
                        .map(|a| TopoResource {
                            kind: a.kind.clone(),
                            name: a.resource.clone().unwrap_or_else(|| a.container.clone()),
                            state: TopoState::Unchanged,
                        })
                        .collect(),
                });
            }
            TopoServer {
                name: s.name.clone(),
                destinations,
            }
        })
        .collect();
    Topology { servers }
}
