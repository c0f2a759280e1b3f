//! Assignments: which containers must be attached to which destination
//! network with which aliases (applications, databases, compose stacks), and
//! the `connect` / `disconnect` changes and `missing` notes that follow.

use std::collections::BTreeMap;

use super::guard::selects;
use super::model::*;
use crate::config::{Config, ResourceKind, Selector};
use crate::live::{Container, LiveState, Snapshot, labels};

/// One network a container must be on.
#[derive(Debug, Clone, PartialEq)]
pub struct Want {
    pub network: String,
    pub destination: String,
    pub aliases: Vec<String>,
    pub resource: ResourceRef,
}

pub struct Attach {
    pub changes: Vec<Change>,
    pub missing: Vec<Missing>,
}

/// Every container a resource or stack on `server` selects, with the
/// networks it must be on (empty for a stack with
/// `connect_to_predefined_networks = false`: managed, but wanted nowhere).
pub fn desired(config: &Config, server: &str, live: &Snapshot) -> BTreeMap<String, Vec<Want>> {
    let mut out: BTreeMap<String, Vec<Want>> = BTreeMap::new();
    for r in &config.resources {
        let Some(dest) = config.destination_on(&r.destination, server) else {
            continue;
        };
        for c in live
            .containers
            .iter()
            .filter(|c| selects(&r.name, &r.selector, c))
        {
            let want = Want {
                network: dest.network.clone(),
                destination: dest.name.clone(),
                aliases: r.aliases.clone(),
                resource: ResourceRef::new(r.kind, &r.name),
            };
            add(out.entry(c.name.clone()).or_default(), want);
        }
    }
    for s in &config.services {
        let Some(dest) = config.destination_on(&s.destination, server) else {
            continue;
        };
        for c in stack(live, &s.project) {
            let wants = out.entry(c.name.clone()).or_default();
            if s.connect_to_predefined_networks {
                let service = c.label(labels::COMPOSE_SERVICE).unwrap_or(&c.name);
                let want = Want {
                    network: dest.network.clone(),
                    destination: dest.name.clone(),
                    aliases: vec![format!("{service}-{}", s.project)],
                    resource: ResourceRef::new(ResourceKind::Service, &s.name),
                };
                add(wants, want);
            }
        }
    }
    out
}

/// Two resources may select one container on one network: it gets the
/// aliases of both.
fn add(wants: &mut Vec<Want>, want: Want) {
    match wants.iter_mut().find(|w| w.network == want.network) {
        Some(w) => {
            for a in want.aliases {
                if !w.aliases.contains(&a) {
                    w.aliases.push(a);
                }
            }
        }
        None => wants.push(want),
    }
}

fn stack<'a>(live: &'a Snapshot, project: &'a str) -> impl Iterator<Item = &'a Container> {
    live.containers
        .iter()
        .filter(move |c| c.label(labels::COMPOSE_PROJECT) == Some(project))
}

pub fn plan(config: &Config, server: &str, live: &Snapshot, all: &LiveState) -> Attach {
    let mut changes = Vec::new();
    let wanted = desired(config, server, live);
    for (name, wants) in &wanted {
        let Some(c) = live.containers.iter().find(|c| &c.name == name) else {
            continue;
        };
        let mut connects = 0;
        for w in wants {
            let mut change = Change::new(Action::Connect, server, &w.network);
            change.destination = Some(w.destination.clone());
            change.container = Some(c.name.clone());
            change.aliases = Some(w.aliases.clone());
            change.resource = Some(w.resource.clone());
            if !c.networks.contains_key(&w.network) {
                connects += 1;
                changes.push(change);
            } else if let Some(live_aliases) = c.aliases_on(&w.network) {
                if !same_set(&live_aliases, &w.aliases) {
                    change.reasons.push(format!(
                        "aliases differ: live [{}], desired [{}]; Docker cannot edit aliases in place, so berth disconnects and connects again",
                        live_aliases.join(", "),
                        w.aliases.join(", ")
                    ));
                    change.live_aliases = Some(live_aliases);
                    changes.push(change);
                }
            }
        }
        // Owned networks of other declared destinations it no longer
        // belongs to. Networks no destination declares are the removal
        // guard's business: berth never empties them on its own.
        let mut remaining = c.networks.len() + connects;
        for net in c.networks.keys() {
            let owned = live.network(net).is_some_and(|n| n.owned_by(&config.owner));
            let declared = config.destinations_on(server).any(|d| &d.network == net);
            if !owned || !declared || wants.iter().any(|w| &w.network == net) {
                continue;
            }
            if remaining <= 1 {
                continue; // never its last network
            }
            remaining -= 1;
            let mut change = Change::new(Action::Disconnect, server, net);
            change.container = Some(c.name.clone());
            change.destination = config
                .destinations_on(server)
                .find(|d| &d.network == net)
                .map(|d| d.name.clone());
            let (reason, resource) = why_not_here(config, server, c, wants);
            change.resource = resource;
            change.reasons.push(reason);
            changes.push(change);
        }
    }
    Attach {
        changes,
        missing: missing(config, server, live, all),
    }
}

fn why_not_here(
    config: &Config,
    server: &str,
    c: &Container,
    wants: &[Want],
) -> (String, Option<ResourceRef>) {
    if let Some(w) = wants.first() {
        return (
            format!(
                "{} {} belongs to destination {} now",
                w.resource.kind, w.resource.name, w.destination
            ),
            Some(w.resource.clone()),
        );
    }
    let (kind, name) = super::guard::classify(config, server, c);
    let name = name.unwrap_or_default();
    (
        format!("{kind} {name} has connect_to_predefined_networks = false"),
        Some(ResourceRef::new(kind, &name)),
    )
}

fn same_set(a: &[String], b: &[String]) -> bool {
    let mut a: Vec<&String> = a.iter().collect();
    let mut b: Vec<&String> = b.iter().collect();
    a.sort();
    a.dedup();
    b.sort();
    b.dedup();
    a == b
}

/// Declared resources and stacks with no container on their server.
fn missing(config: &Config, server: &str, live: &Snapshot, all: &LiveState) -> Vec<Missing> {
    let mut out = Vec::new();
    let elsewhere = |resource: &str, selector: &Selector| -> Vec<String> {
        all.servers
            .iter()
            .filter(|(name, _)| name.as_str() != server)
            .filter(|(_, state)| {
                state
                    .as_ref()
                    .is_ok_and(|s| s.containers.iter().any(|c| selects(resource, selector, c)))
            })
            .map(|(name, _)| name.clone())
            .collect()
    };
    // Declared clones are the clone planner's business.
    for r in config.resources.iter().filter(|r| r.clone_of.is_none()) {
        if config.destination_on(&r.destination, server).is_none() {
            continue;
        }
        if live
            .containers
            .iter()
            .any(|c| selects(&r.name, &r.selector, c))
        {
            continue;
        }
        let container = match &r.selector {
            Selector::Name(n) => n.clone(),
            Selector::Labels(l) => l
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(","),
        };
        let others = elsewhere(&r.name, &r.selector);
        let note = if !others.is_empty() {
            Some(format!(
                "it runs on server {}; berth never moves a resource: declare a resource with clone_of = \"{}\" to run a copy on {server}",
                others.join(", "),
                r.name
            ))
        } else {
            Some(format!(
                "no container {container} on server {server}; deploy it, and the next plan connects it"
            ))
        };
        out.push(Missing {
            resource: ResourceRef::new(r.kind, &r.name),
            server: server.to_string(),
            container,
            note,
        });
    }
    for s in config.services.iter().filter(|s| s.clone_of.is_none()) {
        if config.destination_on(&s.destination, server).is_none() {
            continue;
        }
        if stack(live, &s.project).next().is_some() {
            continue;
        }
        out.push(Missing {
            resource: ResourceRef::new(ResourceKind::Service, &s.name),
            server: server.to_string(),
            container: format!("{}={}", labels::COMPOSE_PROJECT, s.project),
            note: Some(format!(
                "no container of compose project {} on server {server}",
                s.project
            )),
        });
    }
    out
}
