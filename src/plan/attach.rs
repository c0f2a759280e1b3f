//! Assignments: which containers must be attached to which destination
//! network with which aliases (applications, databases, compose stacks), and
//! the `connect` / `disconnect` changes that follow.

use std::collections::{BTreeMap, HashMap};

use super::guard::{classify, selects};
use super::model::*;
use crate::config::{Config, EndpointSpec, ResourceKind, Selector};
use crate::live::{Container, Snapshot, labels};

/// One network a container must be on, and with which aliases.
#[derive(Debug, Clone, PartialEq)]
pub struct Attachment {
    pub network: String,
    pub destination: String,
    pub aliases: Vec<String>,
    /// Static addresses, link-local addresses, driver options.
    pub endpoint: EndpointSpec,
    pub resource: ResourceRef,
}

/// Every container a resource or stack on `server` selects, by name, with
/// the networks it must be on (empty for a stack with
/// `connect_to_predefined_networks = false`: managed, but wanted nowhere).
pub fn selected(
    config: &Config,
    server: &str,
    live: &Snapshot,
) -> BTreeMap<String, Vec<Attachment>> {
    let mut out: BTreeMap<String, Vec<Attachment>> = BTreeMap::new();
    // A resource that names its container finds it by name, not by a walk
    // of every container (100 resources × 100 containers was a tenth of a
    // plan's CPU).
    let by_name: HashMap<&str, &Container> = live
        .containers
        .iter()
        .map(|c| (c.name.as_str(), c))
        .collect();
    // Swarm services are assigned through their spec (`swarm`), never
    // container by container.
    for r in config.resources.iter().filter(|r| !r.is_swarm_service()) {
        let candidates: Vec<&Container> = match &r.selector {
            Selector::Name(n) => by_name.get(n.as_str()).copied().into_iter().collect(),
            _ => live.containers.iter().collect(),
        };
        for dest in r.destinations_on(config, server) {
            for c in candidates
                .iter()
                .copied()
                .filter(|c| selects(r.kind, &r.name, &r.selector, c))
            {
                let attachment = Attachment {
                    network: dest.network.clone(),
                    destination: dest.name.clone(),
                    aliases: r.aliases.clone(),
                    endpoint: r.endpoint.clone(),
                    resource: ResourceRef::new(r.kind, &r.name),
                };
                merge(out.entry(c.name.clone()).or_default(), attachment);
            }
        }
    }
    for s in &config.stacks {
        let Some(dest) = config.destination_on(&s.destination, server) else {
            continue;
        };
        for c in stack(live, &s.project) {
            let attachments = out.entry(c.name.clone()).or_default();
            if s.connect_to_predefined_networks {
                let service = c.label(labels::COMPOSE_SERVICE).unwrap_or(&c.name);
                let attachment = Attachment {
                    network: dest.network.clone(),
                    destination: dest.name.clone(),
                    aliases: stack_aliases(s, service),
                    endpoint: s.attachments.get(service).cloned().unwrap_or_default(),
                    resource: ResourceRef::new(ResourceKind::Stack, &s.name),
                };
                merge(attachments, attachment);
            }
        }
    }
    out
}

/// A stack container's aliases on its destination: `<service>-<project>`,
/// and with `short_aliases` the compose service name alone.
fn stack_aliases(s: &crate::config::Stack, service: &str) -> Vec<String> {
    let mut aliases = vec![format!("{service}-{}", s.project)];
    if s.short_aliases {
        aliases.push(service.to_string());
    }
    aliases
}

/// Two stacks on one destination whose short aliases name the same thing:
/// each alias would resolve to both, so it is an error naming both.
pub fn short_alias_conflicts(config: &Config, server: &str, live: &Snapshot) -> Vec<PlanError> {
    let mut by_alias: BTreeMap<(&str, String), Vec<&str>> = BTreeMap::new();
    for s in config
        .stacks
        .iter()
        .filter(|s| s.short_aliases && s.connect_to_predefined_networks)
    {
        let Some(dest) = config.destination_on(&s.destination, server) else {
            continue;
        };
        for c in stack(live, &s.project) {
            let service = c.label(labels::COMPOSE_SERVICE).unwrap_or(&c.name);
            let stacks = by_alias
                .entry((dest.name.as_str(), service.to_string()))
                .or_default();
            if !stacks.contains(&s.name.as_str()) {
                stacks.push(&s.name);
            }
        }
    }
    by_alias
        .into_iter()
        .filter(|(_, stacks)| stacks.len() > 1)
        .map(|((destination, alias), stacks)| {
            let dest = config.destination_on(destination, server);
            PlanError {
                server: server.to_string(),
                destination: Some(destination.to_string()),
                network: dest.map(|d| d.network.clone()).unwrap_or_default(),
                message: format!(
                    "the short alias `{alias}` of services {} collides on destination {destination}: it would resolve to both",
                    stacks.join(" and ")
                ),
                hint: "set short_aliases = false on all but one of them (their <service>-<project> aliases stay unique), or rename a compose service".to_string(),
            }
        })
        .collect()
}

/// Two resources may select one container on one network: it gets the
/// aliases of both.
fn merge(attachments: &mut Vec<Attachment>, new: Attachment) {
    match attachments.iter_mut().find(|a| a.network == new.network) {
        Some(a) => {
            for alias in new.aliases {
                if !a.aliases.contains(&alias) {
                    a.aliases.push(alias);
                }
            }
            a.endpoint.merge(&new.endpoint);
        }
        None => attachments.push(new),
    }
}

pub(super) fn stack<'a>(
    live: &'a Snapshot,
    project: &'a str,
) -> impl Iterator<Item = &'a Container> {
    live.containers
        .iter()
        .filter(move |c| c.label(labels::COMPOSE_PROJECT) == Some(project))
}

/// The connects and disconnects of one server's assignments.
pub fn plan(config: &Config, server: &str, live: &Snapshot) -> Vec<Change> {
    let mut changes = Vec::new();
    for (name, wanted) in &selected(config, server, live) {
        let Some(c) = live.containers.iter().find(|c| &c.name == name) else {
            continue;
        };
        let mut connects = 0;
        for w in wanted {
            let mut connect = Connect {
                server: server.to_string(),
                destination: w.destination.clone(),
                network: w.network.clone(),
                container: c.name.clone(),
                aliases: w.aliases.clone(),
                endpoint: w.endpoint.clone(),
                live_aliases: None,
                resource: w.resource.clone(),
                status: ChangeStatus::Planned,
                reasons: Vec::new(),
            };
            if !c.networks.contains_key(&w.network) {
                connects += 1;
                changes.push(Change::Connect(connect));
            } else if let Some(live_aliases) = c.aliases_on(&w.network) {
                if !same_set(&live_aliases, &w.aliases) {
                    connect.reasons.push(format!(
                        "aliases differ: live [{}], desired [{}]; Docker cannot edit aliases in place, so berth disconnects and connects again",
                        live_aliases.join(", "),
                        w.aliases.join(", ")
                    ));
                }
                let settings = c.requested_on(&w.network).map_or_else(Vec::new, |r| {
                    w.endpoint.differences(
                        r.ipv4_address,
                        r.ipv6_address,
                        &r.link_local_ips,
                        &r.driver_opts,
                    )
                });
                if !settings.is_empty() {
                    let aliases = if connect.reasons.is_empty() {
                        " with the same aliases"
                    } else {
                        ""
                    };
                    connect.reasons.push(format!(
                        "endpoint settings differ ({}); Docker cannot change them in place, so berth disconnects and connects again{aliases}",
                        settings.join("; ")
                    ));
                }
                if !connect.reasons.is_empty() {
                    connect.live_aliases = Some(live_aliases);
                    changes.push(Change::Connect(connect));
                }
            }
        }
        // Owned networks of other declared destinations it no longer
        // belongs to. Networks no destination declares are the removal
        // guard's business: berth never empties them on its own.
        let mut remaining = c.networks.len() + connects;
        for net in c.networks.keys() {
            let owned = live.network(net).is_some_and(|n| n.owned_by(&config.owner));
            let Some(dest) = config.destinations_on(server).find(|d| &d.network == net) else {
                continue;
            };
            if !owned || wanted.iter().any(|w| &w.network == net) {
                continue;
            }
            if remaining <= 1 {
                continue; // never its last network
            }
            remaining -= 1;
            let (reason, resource) = why_not_here(config, server, c, wanted);
            changes.push(Change::Disconnect(Disconnect {
                server: server.to_string(),
                destination: dest.name.clone(),
                network: net.clone(),
                container: c.name.clone(),
                resource,
                status: ChangeStatus::Planned,
                reasons: vec![reason],
            }));
        }
    }
    changes
}

/// Why a selected container leaves a network, and the resource it is.
fn why_not_here(
    config: &Config,
    server: &str,
    c: &Container,
    wanted: &[Attachment],
) -> (String, ResourceRef) {
    if let Some(w) = wanted.first() {
        return (
            format!(
                "{} {} belongs to destination {} now",
                w.resource.kind, w.resource.name, w.destination
            ),
            w.resource.clone(),
        );
    }
    // Wanted nowhere: a stack with connect_to_predefined_networks = false.
    let (kind, name) = match classify(config, server, c) {
        (AttachedKind::Application, Some(n)) => (ResourceKind::Application, n),
        (AttachedKind::Database, Some(n)) => (ResourceKind::Database, n),
        (_, name) => (ResourceKind::Stack, name.unwrap_or_default()),
    };
    (
        format!("{kind} {name} has connect_to_predefined_networks = false"),
        ResourceRef::new(kind, &name),
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
