//! A pure model of what Docker does with each change: applied to a live
//! state, it gives the live state the change leaves behind. The planner uses
//! it to see past an interrupted apply (what a journal's restoration will
//! leave), and the property tests to check that applying a plan converges:
//! plan, apply the plan here, plan again → nothing to do.

use std::collections::BTreeMap;

use super::model::*;
use crate::config::NetworkSpec;
use crate::live::{Container, Endpoint, IpamPool, LiveState, Mount, Network, Snapshot, labels};

/// Applies every planned (not blocked) change of `plan` to `live`, in the
/// order the executor runs them (per server, by action).
pub fn apply_plan(live: &mut LiveState, plan: &Plan, owner: &str) {
    let mut changes: Vec<&Change> = plan.changes.iter().filter(|c| !c.is_blocked()).collect();
    changes.sort_by_key(|c| c.action());
    for c in changes {
        apply(live, c, owner);
    }
}

/// Applies one change to `live`, as Docker would carry it out.
pub fn apply(live: &mut LiveState, change: &Change, owner: &str) {
    match change {
        Change::Restore(r) => restore(live, r, owner),
        Change::CreateNetwork(c) => {
            if let Some(s) = snapshot(live, &c.server) {
                create_network(s, &c.network, &c.spec, owner, &c.destination);
            }
        }
        Change::ReplaceNetwork(c) => {
            if let Some(s) = snapshot(live, &c.server) {
                // Endpoints stay as they were: every attached container is
                // reconnected with the aliases it had.
                s.networks.retain(|n| n.name != c.network);
                create_network(s, &c.network, &c.spec, owner, &c.destination);
            }
        }
        Change::RemoveNetwork(c) => {
            if let Some(s) = snapshot(live, &c.server) {
                s.networks.retain(|n| n.name != c.network);
                for container in &mut s.containers {
                    container.networks.remove(&c.network);
                }
            }
        }
        Change::Connect(c) => {
            if let Some(s) = snapshot(live, &c.server) {
                attach(s, &c.container, &c.network, &c.aliases);
            }
        }
        Change::Disconnect(c) => {
            if let Some(s) = snapshot(live, &c.server) {
                if let Some(container) = s.containers.iter_mut().find(|x| x.name == c.container) {
                    container.networks.remove(&c.network);
                }
            }
        }
        Change::Clone(c) => clone(live, c, owner),
    }
}

/// A restoration: the interrupted change carried to its end (a replaced
/// network with every recorded container attached again with its aliases,
/// the new aliases, the whole clone, started).
pub fn restore(live: &mut LiveState, r: &Restore, owner: &str) {
    match &*r.record.change {
        Change::ReplaceNetwork(c) => {
            if let Some(s) = snapshot(live, &c.server) {
                s.networks.retain(|n| n.name != c.network);
                create_network(s, &c.network, &c.spec, owner, &c.destination);
                for m in &r.record.reattach {
                    attach(s, &m.container, &c.network, &m.aliases);
                }
            }
        }
        Change::Clone(c) => {
            // A partial clone is removed and made again, whole.
            if let Some(s) = snapshot(live, &c.server) {
                s.containers
                    .retain(|x| !c.clone.members.iter().any(|m| m.target == x.name));
            }
            clone(live, c, owner);
            if let Some(s) = snapshot(live, &c.server) {
                for m in c.clone.members.iter().filter(|m| m.start) {
                    if let Some(x) = s.containers.iter_mut().find(|x| x.name == m.target) {
                        x.running = true;
                    }
                }
            }
        }
        other => apply(live, other, owner),
    }
    if let Some(s) = snapshot(live, &r.server) {
        s.journals.retain(|j| j.name != r.journal);
    }
}

fn snapshot<'a>(live: &'a mut LiveState, server: &str) -> Option<&'a mut Snapshot> {
    live.servers.get_mut(server)?.as_mut().ok()
}

/// A network as berth creates it: its spec, berth's labels, and the
/// gateway the daemon picks when none is set.
fn create_network(
    s: &mut Snapshot,
    name: &str,
    spec: &NetworkSpec,
    owner: &str,
    destination: &str,
) {
    let mut labels = spec.labels.clone();
    labels.insert(labels::MANAGED.into(), "true".into());
    labels.insert(labels::OWNER.into(), owner.into());
    labels.insert(labels::DESTINATION.into(), destination.into());
    let ipam = spec
        .subnet
        .map(|subnet| IpamPool {
            subnet: Some(subnet),
            gateway: spec.gateway.or_else(|| subnet.hosts().next()),
        })
        .into_iter()
        .collect();
    s.networks.push(Network {
        id: format!("simulated-{name}"),
        name: name.to_string(),
        driver: spec.driver.clone(),
        internal: spec.internal,
        attachable: spec.attachable,
        ipam,
        labels,
    });
}

/// Attaches (or re-attaches, for an alias fix) a container with aliases.
fn attach(s: &mut Snapshot, container: &str, network: &str, aliases: &[String]) {
    if let Some(c) = s.containers.iter_mut().find(|c| c.name == container) {
        c.networks.insert(
            network.to_string(),
            Endpoint {
                aliases: Some(aliases.to_vec()),
            },
        );
    }
}

/// The containers a clone creates on its server: each a copy of its source
/// (image, env, labels) with fresh volumes, on the destination network (a
/// stack: on its own `<project>_default` network, and on the destination
/// when asked).
fn clone(live: &mut LiveState, c: &CloneResource, owner: &str) {
    let spec = &c.clone;
    let sources: BTreeMap<String, Container> = live
        .servers
        .get(&spec.source_server)
        .and_then(|s| s.as_ref().ok())
        .map(|s| {
            s.containers
                .iter()
                .map(|x| (x.name.clone(), x.clone()))
                .collect()
        })
        .unwrap_or_default();
    let Some(target) = snapshot(live, &c.server) else {
        return;
    };
    if let Some(project) = &spec.target_project {
        let name = format!("{project}_default");
        if target.network(&name).is_none() {
            target.networks.push(Network {
                id: format!("simulated-{name}"),
                name,
                driver: "bridge".into(),
                internal: false,
                attachable: false,
                ipam: Vec::new(),
                labels: BTreeMap::from([
                    ("com.docker.compose.network".into(), "default".into()),
                    (labels::COMPOSE_PROJECT.into(), project.clone()),
                ]),
            });
        }
    }
    for m in &spec.members {
        if target.containers.iter().any(|x| x.name == m.target) {
            continue;
        }
        let source = sources.get(&m.source).cloned().unwrap_or_default();
        target.containers.push(copy(c, m, source, owner));
    }
}

fn copy(c: &CloneResource, m: &CloneMember, source: Container, owner: &str) -> Container {
    let spec = &c.clone;
    let mut labels: BTreeMap<String, String> = source
        .labels
        .into_iter()
        .filter(|(k, _)| spec.target_project.is_some() || !k.starts_with("com.docker.compose."))
        .collect();
    labels.extend([
        (labels::MANAGED.to_string(), "true".to_string()),
        (labels::OWNER.to_string(), owner.to_string()),
        (labels::DESTINATION.to_string(), c.destination.clone()),
        (labels::RESOURCE.to_string(), c.resource.name.clone()),
        (labels::KIND.to_string(), c.resource.kind.to_string()),
        (labels::CLONE_OF.to_string(), spec.source.name.clone()),
    ]);
    let mut networks = BTreeMap::new();
    match &spec.target_project {
        Some(project) => {
            labels.insert(labels::COMPOSE_PROJECT.into(), project.clone());
            let service = m.service.clone().unwrap_or_else(|| m.target.clone());
            networks.insert(
                format!("{project}_default"),
                Endpoint {
                    aliases: Some(vec![service.clone()]),
                },
            );
            if spec.connect_to_destination {
                networks.insert(
                    c.network.clone(),
                    Endpoint {
                        aliases: Some(vec![format!("{service}-{project}")]),
                    },
                );
            }
        }
        None => {
            networks.insert(
                c.network.clone(),
                Endpoint {
                    aliases: Some(c.aliases.clone().unwrap_or_default()),
                },
            );
        }
    }
    let mounts = m
        .volumes
        .iter()
        .map(|v| Mount::Volume {
            name: v.target.clone(),
            path: v.path.clone(),
        })
        .chain(
            source
                .mounts
                .into_iter()
                .flatten()
                .filter(|x| matches!(x, Mount::Bind { .. })),
        )
        .collect();
    Container {
        id: format!("simulated{}", m.target),
        name: m.target.clone(),
        image: m.image.clone(),
        image_id: source.image_id,
        running: m.start,
        state: if m.start { "running" } else { "created" }.to_string(),
        status: String::new(),
        labels,
        networks,
        env: source.env,
        mounts: Some(mounts),
        ports: Some(m.ports.clone()),
    }
}
