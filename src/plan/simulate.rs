//! A pure model of what Docker does with each change: applied to a live
//! state, it gives the live state the change leaves behind. The planner uses
//! it to see past an interrupted apply (what a journal's restoration will
//! leave), and the property tests to check that applying a plan converges:
//! plan, apply the plan here, plan again → nothing to do.

use std::collections::BTreeMap;

use super::model::*;
use crate::config::{EndpointSpec, NetworkSpec};
use crate::live::swarm::{Service, ServiceNetwork, TaskNetwork};
use crate::live::{
    Container, Endpoint, Image, IpamPool, LiveState, Mount, Network, Requested, Snapshot, labels,
};

/// Applies every planned (not blocked) change of `plan` to `live`, in the
/// order the executor runs them (per server, by action).
pub fn apply_plan(live: &mut LiveState, plan: &Plan, owner: &str) {
    let mut changes: Vec<&Change> = plan.changes.iter().filter(|c| !c.is_blocked()).collect();
    changes.sort_by_key(|c| c.action());
    for c in changes {
        apply(live, c, owner);
    }
}

/// Applies one change to `live`, as Docker would carry it out. A step
/// Docker would refuse (a connect to a network that is not there, a copy
/// whose name is taken) changes nothing, as the executor's undo leaves it.
pub fn apply(live: &mut LiveState, change: &Change, owner: &str) {
    match change {
        Change::Restore(r) => restore(live, r, owner),
        Change::CreateNetwork(c) => {
            if let Some(s) = snapshot(live, &c.server) {
                if s.network(&c.network).is_none() {
                    create_network(s, &c.network, &c.spec, owner, &c.destination);
                }
            }
        }
        Change::ReplaceNetwork(c) => {
            if let Some(s) = snapshot(live, &c.server) {
                // Endpoints stay as they were: every attached container is
                // reconnected with the aliases it had.
                recreate(s, c, owner);
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
                let attached = s
                    .containers
                    .iter()
                    .any(|x| x.name == c.container && x.networks.contains_key(&c.network));
                // A plain connect of an attached container is refused; an
                // alias fix disconnects first.
                if c.live_aliases.is_some() || !attached {
                    attach(s, &c.container, &c.network, &c.aliases, &c.endpoint);
                }
            }
        }
        Change::Disconnect(c) => {
            if let Some(s) = snapshot(live, &c.server) {
                if let Some(container) = s.containers.iter_mut().find(|x| x.name == c.container) {
                    container.networks.remove(&c.network);
                }
            }
        }
        Change::Clone(c) => {
            if make(live, c, owner) {
                if let Some(s) = snapshot(live, &c.server) {
                    finish(s, c);
                }
            }
        }
        Change::UpdateService(c) => {
            if let Some(s) = snapshot(live, &c.server) {
                update_service(s, c);
            }
        }
        Change::CloneService(c) => {
            if let Some(s) = snapshot(live, &c.server) {
                clone_service(s, c, owner);
            }
        }
    }
}

/// A restoration, as `execute::restore` rolls forward from whatever the
/// interruption left: a replaced network exists in its new shape with every
/// recorded container attached again with its recorded aliases (containers
/// attached since keep theirs); an alias fix has its new aliases; a clone
/// whose copies all exist is attached and started, a partial one is removed
/// and made again, whole.
pub fn restore(live: &mut LiveState, r: &Restore, owner: &str) {
    match &*r.record.change {
        Change::ReplaceNetwork(c) => {
            if let Some(s) = snapshot(live, &c.server) {
                let stale = s.network(&c.network).map(|n| {
                    // A network taken over is replaced while it is not berth's.
                    !n.owned_by(owner) || !super::networks::differences(&c.spec, n, true).is_empty()
                });
                match stale {
                    None => create_network(s, &c.network, &c.spec, owner, &c.destination),
                    Some(true) => {
                        recreate(s, c, owner);
                        // Recorded containers were disconnected with the rest:
                        // they come back with their recorded aliases.
                        for x in &mut s.containers {
                            if r.record.reattach.iter().any(|m| m.container == x.name) {
                                x.networks.remove(&c.network);
                            }
                        }
                    }
                    Some(false) => {}
                }
                for m in &r.record.reattach {
                    let attached = s
                        .containers
                        .iter()
                        .any(|x| x.name == m.container && x.networks.contains_key(&c.network));
                    if !attached {
                        attach(s, &m.container, &c.network, &m.aliases, &m.endpoint);
                    }
                }
            }
        }
        Change::Connect(c) => {
            if let Some(s) = snapshot(live, &c.server) {
                attach(s, &c.container, &c.network, &c.aliases, &c.endpoint);
            }
        }
        Change::Clone(c) => {
            let complete = snapshot(live, &c.server).is_some_and(|s| {
                c.clone
                    .members
                    .iter()
                    .all(|m| s.containers.iter().any(|x| x.name == m.target))
            });
            let made = complete || {
                if let Some(s) = snapshot(live, &c.server) {
                    s.containers
                        .retain(|x| !c.clone.members.iter().any(|m| m.target == x.name));
                }
                make(live, c, owner)
            };
            if made {
                if let Some(s) = snapshot(live, &c.server) {
                    finish(s, c);
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
    if let Some(pool) = spec.subnet_pool {
        labels.insert(labels::SUBNET_POOL.into(), pool.to_string());
    }
    if spec.prevent_removal {
        labels.insert(labels::PREVENT_REMOVAL.into(), "true".into());
    }
    let ipam = spec
        .pools()
        .into_iter()
        .map(|p| IpamPool {
            subnet: Some(p.subnet),
            gateway: p.gateway.or_else(|| p.subnet.hosts().next()),
            ip_range: p.ip_range,
            aux_addresses: spec
                .aux_addresses
                .iter()
                .filter(|(_, ip)| p.subnet.contains(*ip))
                .map(|(k, ip)| (k.clone(), *ip))
                .collect(),
        })
        .collect();
    s.networks.push(Network {
        id: format!("simulated-{name}"),
        name: name.to_string(),
        driver: spec.driver.clone(),
        internal: spec.internal,
        attachable: spec.attachable,
        ipam,
        enable_ipv6: spec.enable_ipv6.unwrap_or(false),
        options: spec.driver_options(),
        labels,
        ipam_driver: spec
            .ipam_driver
            .clone()
            .unwrap_or_else(|| "default".to_string()),
        ipam_options: spec.ipam_options.clone(),
        scope: spec.scope.clone().unwrap_or_else(|| "local".to_string()),
        config_only: spec.config_only,
        config_from: spec.config_from.clone().unwrap_or_default(),
    });
}

/// A berth-owned network removed and created again in its new shape;
/// the containers' endpoints are left for the caller to settle.
fn recreate(s: &mut Snapshot, c: &ReplaceNetwork, owner: &str) {
    s.networks.retain(|n| n.name != c.network);
    create_network(s, &c.network, &c.spec, owner, &c.destination);
}

/// Attaches (or re-attaches, for an alias fix) a container with aliases;
/// Docker refuses a network that is not there.
fn attach(
    s: &mut Snapshot,
    container: &str,
    network: &str,
    aliases: &[String],
    endpoint: &EndpointSpec,
) {
    if s.network(network).is_none() {
        return;
    }
    if let Some(c) = s.containers.iter_mut().find(|c| c.name == container) {
        c.networks.insert(
            network.to_string(),
            Endpoint {
                aliases: Some(aliases.to_vec()),
                requested: Some(requested(endpoint)),
            },
        );
    }
}

/// What an endpoint connected with `endpoint` asked Docker for.
pub fn requested(endpoint: &EndpointSpec) -> Requested {
    Requested {
        ipv4_address: endpoint.ipv4_address.map(Into::into),
        ipv6_address: endpoint.ipv6_address.map(Into::into),
        link_local_ips: endpoint.link_local_ips.clone().unwrap_or_default(),
        driver_opts: endpoint.driver_opts.clone().unwrap_or_default(),
    }
}

/// The executor's `make`: the images streamed when the plan says so, the
/// stack's own `<project>_default` network (reused when it is already the
/// project's), and each copy, created (not started) on that one network.
/// Returns false when Docker would refuse a step (a source gone, a name
/// taken, a network of the stack's name that is not the stack's, no
/// destination network): the executor's undo then leaves nothing behind.
fn make(live: &mut LiveState, c: &CloneResource, owner: &str) -> bool {
    let spec = &c.clone;
    let sources: Option<Vec<Container>> = live
        .servers
        .get(&spec.source_server)
        .and_then(|s| s.as_ref().ok())
        .and_then(|s| {
            spec.members
                .iter()
                .map(|m| s.containers.iter().find(|x| x.name == m.source).cloned())
                .collect()
        });
    let Some(sources) = sources else {
        return false;
    };
    let Some(target) = snapshot(live, &c.server) else {
        return false;
    };
    if spec.image_transfer {
        for (m, src) in spec.members.iter().zip(&sources) {
            if let Some(images) = &mut target.images {
                if !images
                    .iter()
                    .any(|i| i.id == src.image_id || i.tags.contains(&m.image))
                {
                    images.push(Image {
                        id: src.image_id.clone(),
                        tags: vec![m.image.clone()],
                    });
                }
            }
        }
    }
    let taken = spec
        .members
        .iter()
        .any(|m| target.containers.iter().any(|x| x.name == m.target));
    let to_destination = spec.target_project.is_none() || spec.connect_to_destination;
    if taken || (to_destination && target.network(&c.network).is_none()) {
        return false;
    }
    let network = match &spec.target_project {
        Some(project) => {
            let name = format!("{project}_default");
            let same: Vec<&Network> = target.networks.iter().filter(|n| n.name == name).collect();
            match same.as_slice() {
                [] => target.networks.push(Network {
                    id: format!("simulated-{name}"),
                    name: name.clone(),
                    driver: "bridge".into(),
                    internal: false,
                    attachable: false,
                    ipam: Vec::new(),
                    enable_ipv6: false,
                    options: BTreeMap::new(),
                    labels: BTreeMap::from([
                        ("com.docker.compose.network".into(), "default".into()),
                        (labels::COMPOSE_PROJECT.into(), project.clone()),
                        (labels::CLONE_OF.into(), spec.source.name.clone()),
                    ]),
                    ..Default::default()
                }),
                [one] if one.label(labels::COMPOSE_PROJECT) == Some(project.as_str()) => {}
                _ => return false,
            }
            name
        }
        None => c.network.clone(),
    };
    for (m, source) in spec.members.iter().zip(sources) {
        target.containers.push(copy(c, m, source, owner, &network));
    }
    true
}

/// The executor's `finish`: a stack's copies attached to the destination
/// when asked (`<service>-<project>`), and every copy whose source runs
/// started.
fn finish(s: &mut Snapshot, c: &CloneResource) {
    let spec = &c.clone;
    if let (Some(project), true) = (&spec.target_project, spec.connect_to_destination) {
        for m in &spec.members {
            let unattached = s
                .containers
                .iter()
                .any(|x| x.name == m.target && !x.networks.contains_key(&c.network));
            if unattached {
                let alias = format!("{}-{project}", m.service.as_deref().unwrap_or(&m.target));
                attach(s, &m.target, &c.network, &[alias], &EndpointSpec::default());
            }
        }
    }
    for m in spec.members.iter().filter(|m| m.start) {
        if let Some(x) = s.containers.iter_mut().find(|x| x.name == m.target) {
            x.running = true;
            x.state = "running".to_string();
        }
    }
}

/// One copy as `docker::create_copy` makes it: the source's labels (less
/// compose's, unless it is a stack) under berth's own, its env, fresh
/// volumes for named ones and the same bind mounts, the ports the plan
/// keeps; on one network, with the clone's aliases (a stack member: its
/// compose service, or none).
fn copy(
    c: &CloneResource,
    m: &CloneMember,
    source: Container,
    owner: &str,
    network: &str,
) -> Container {
    let spec = &c.clone;
    let mut labels: BTreeMap<String, String> = source
        .labels
        .into_iter()
        .filter(|(k, _)| spec.target_project.is_some() || !k.starts_with("com.docker.compose."))
        .collect();
    labels.extend(labels::of_copy(
        owner,
        &c.destination,
        (c.resource.kind.as_str(), &c.resource.name),
        &spec.source.name,
    ));
    let aliases = match &spec.target_project {
        Some(project) => {
            labels.insert(labels::COMPOSE_PROJECT.into(), project.clone());
            m.service.iter().cloned().collect()
        }
        None => c.aliases.clone().unwrap_or_default(),
    };
    let networks = BTreeMap::from([(
        network.to_string(),
        Endpoint {
            aliases: Some(aliases),
            requested: Some(Requested::default()),
        },
    )]);
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
        running: false,
        state: "created".to_string(),
        status: String::new(),
        labels,
        networks,
        env: source.env,
        mounts: Some(mounts),
        ports: Some(m.ports.clone()),
    }
}

/// The service's spec names the networks of the change; the manager's
/// rollout gives every task of the service the same.
fn update_service(s: &mut Snapshot, c: &UpdateService) {
    let networks: Vec<ServiceNetwork> = c
        .networks
        .iter()
        .map(|n| ServiceNetwork {
            network: n.network.clone(),
            id: s
                .network(&n.network)
                .map_or_else(|| n.network.clone(), |x| x.id.clone()),
            aliases: n.aliases.clone(),
        })
        .collect();
    let Some(swarm) = s.swarm.as_mut() else {
        return;
    };
    let Some(service) = swarm.services.iter_mut().find(|x| x.name == c.service) else {
        return;
    };
    service.networks = networks;
    service.version += 1;
    let (id, networks) = (service.id.clone(), service.networks.clone());
    for t in swarm
        .tasks
        .iter_mut()
        .filter(|t| t.service_id.as_deref() == Some(id.as_str()))
    {
        t.networks = networks
            .iter()
            .map(|n| TaskNetwork {
                network: n.network.clone(),
                id: n.id.clone(),
                addresses: Vec::new(),
            })
            .collect();
    }
}

/// A new service from the source's spec, as the executor sends it: the
/// destination's network only, fresh volumes, no published ports.
fn clone_service(s: &mut Snapshot, c: &CloneService, owner: &str) {
    let network_id = s
        .network(&c.network)
        .map_or_else(|| c.network.clone(), |x| x.id.clone());
    let Some(swarm) = s.swarm.as_mut() else {
        return;
    };
    if swarm.service(&c.service).is_some() {
        return;
    }
    let Some(source) = swarm.service(&c.source).cloned() else {
        return;
    };
    let mut labels: BTreeMap<String, String> = source
        .labels
        .into_iter()
        .filter(|(k, _)| !k.starts_with("com.docker.stack."))
        .collect();
    labels.extend(labels::of_copy(
        owner,
        &c.destination,
        (c.resource.kind.as_str(), &c.resource.name),
        &c.source,
    ));
    let mounts = source
        .mounts
        .into_iter()
        .map(|m| match m {
            Mount::Volume { name, path } => Mount::Volume {
                name: c
                    .volumes
                    .iter()
                    .find(|v| v.source == name)
                    .map_or(name, |v| v.target.clone()),
                path,
            },
            bind => bind,
        })
        .collect();
    swarm.services.push(Service {
        id: format!("simulated-{}", c.service),
        name: c.service.clone(),
        version: 1,
        labels,
        networks: vec![ServiceNetwork {
            network: c.network.clone(),
            id: network_id,
            aliases: c.aliases.clone(),
        }],
        published_ports: Vec::new(),
        update_state: None,
        mounts,
        ..source
    });
    swarm
        .services
        .sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
}
