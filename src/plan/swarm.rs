//! Docker Swarm on a manager: services as resources, assigned through their
//! spec (swarm does not keep a network connected to a task container by
//! hand: the next task is made from the spec), `docker stack deploy` stacks
//! toggled the same way, service clones, the cluster-wide part of the
//! removal guard (tasks and services on every node), and overlays declared
//! on a server that is not a manager.

use std::collections::BTreeMap;

use super::model::*;
use crate::config::{Config, Destination, ResourceKind, Selector};
use crate::live::swarm::{
    Availability, FailureAction, NodeRole, NodeState, Service, ServiceMode, Swarm, UpdateOrder,
    UpdateState,
};
use crate::live::{Snapshot, labels};

/// The swarm a manager tells of, as the plan shows it.
pub fn summary(live: &Snapshot) -> Option<SwarmSummary> {
    let swarm = live.swarm.as_ref()?;
    Some(SwarmSummary {
        nodes: swarm
            .nodes
            .iter()
            .map(|n| SwarmNode {
                name: n.hostname.clone(),
                role: match n.role {
                    NodeRole::Manager => "manager",
                    NodeRole::Worker => "worker",
                }
                .to_string(),
                state: match n.state {
                    NodeState::Ready => "ready",
                    NodeState::Down => "down",
                    NodeState::Disconnected => "disconnected",
                    NodeState::Unknown => "unknown",
                }
                .to_string(),
                availability: match n.availability {
                    Availability::Active => "active",
                    Availability::Pause => "pause",
                    Availability::Drain => "drain",
                }
                .to_string(),
            })
            .collect(),
    })
}

/// An overlay destination, or a swarm service's, on a server that is not a
/// swarm manager; a swarm service (or a `docker stack` stack) assigned to a
/// destination that is not an overlay (its tasks can join nothing else).
pub fn overlay_errors(config: &Config, server: &str, live: &Snapshot) -> Vec<PlanError> {
    if let Some(swarm) = &live.swarm {
        return not_overlays(config, server, swarm);
    }
    let services = config
        .resources
        .iter()
        .filter(|r| matches!(r.selector, Selector::SwarmService(_)))
        .flat_map(|r| r.destinations_on(config, server).map(move |d| (r, d)))
        .filter(|(_, d)| d.spec.driver != "overlay")
        .map(|(r, d)| PlanError {
            server: server.to_string(),
            destination: Some(d.name.clone()),
            network: d.network.clone(),
            message: format!(
                "{} {} is a swarm service, but server {server} (of destination {}) is not a swarm manager",
                r.kind, r.name, d.name
            ),
            hint: "assign it to an overlay destination on a manager of its swarm".to_string(),
        });
    config
        .destinations_on(server)
        .filter(|d| d.spec.driver == "overlay")
        .map(|d| PlanError {
            server: server.to_string(),
            destination: Some(d.name.clone()),
            network: d.network.clone(),
            message: format!(
                "destination {} is an overlay network, but server {server} is not a swarm manager",
                d.name
            ),
            hint: "give the destination a server that is a manager of the swarm (berth creates the overlay there, once, for every node), or use driver = \"bridge\"".to_string(),
        })
        .chain(services)
        .collect()
}

fn not_overlays(config: &Config, server: &str, swarm: &Swarm) -> Vec<PlanError> {
    let services = config.resources.iter().filter_map(|r| match &r.selector {
        Selector::SwarmService(s) => Some((
            format!("swarm service {s}"),
            r.destinations_on(config, server).collect::<Vec<_>>(),
        )),
        _ => None,
    });
    let stacks = config
        .stacks
        .iter()
        .filter(|st| {
            swarm
                .services
                .iter()
                .any(|s| s.stack() == Some(st.project.as_str()))
        })
        .map(|st| {
            (
                format!("docker stack {}", st.project),
                config
                    .destination_on(&st.destination, server)
                    .into_iter()
                    .collect(),
            )
        });
    services
        .chain(stacks)
        .flat_map(|(what, dests)| {
            dests
                .into_iter()
                .filter(|d| d.spec.driver != "overlay")
                .map(move |d| PlanError {
                    server: server.to_string(),
                    destination: Some(d.name.clone()),
                    network: d.network.clone(),
                    message: format!(
                        "{what} is assigned to destination {}, a {} network: swarm tasks join overlay networks only",
                        d.name, d.spec.driver
                    ),
                    hint: "give the destination driver = \"overlay\" (and attachable = true for standalone containers beside the service)".to_string(),
                })
        })
        .collect()
}

/// Services and tasks attached to `network` anywhere in the swarm, each
/// with its node; tasks whose container is already in this server's own
/// list are left out (they are counted as containers).
pub fn attached(config: &Config, server: &str, live: &Snapshot, network: &str) -> Vec<Attached> {
    let Some(swarm) = &live.swarm else {
        return Vec::new();
    };
    let local: Vec<&str> = live.containers.iter().map(|c| c.id.as_str()).collect();
    let mut out = Vec::new();
    for s in swarm.services_on(network) {
        let (kind, resource) = service_kind(config, server, s);
        let running = swarm
            .tasks_of(&s.id)
            .any(|t| t.desired_state == crate::live::swarm::TaskState::Running);
        out.push(Attached {
            container: format!("service {}", s.name),
            kind,
            resource,
            running,
            node: None,
            clone_of: labels::clone_of(&s.labels).map(str::to_string),
        });
    }
    for t in swarm.attached_to(network) {
        if t.container_id
            .as_deref()
            .is_some_and(|id| local.contains(&id))
        {
            continue;
        }
        let node = t
            .node_id
            .as_deref()
            .and_then(|n| swarm.node(n))
            .map(|n| n.hostname.clone());
        let service = t
            .service_id
            .as_deref()
            .and_then(|id| swarm.services.iter().find(|s| s.id == id));
        let (kind, resource, name, clone_of) = match service {
            Some(s) => {
                let (kind, resource) = service_kind(config, server, s);
                let name = match t.slot {
                    Some(slot) => format!("task {}.{slot}", s.name),
                    None => format!("task {}.{}", s.name, short(&t.id)),
                };
                let clone_of = labels::clone_of(&s.labels).map(str::to_string);
                (kind, resource, name, clone_of)
            }
            // An attachment task names its container once the node
            // started it; until then only the task is known.
            None => (
                AttachedKind::Unmanaged,
                None,
                match t.container_id.as_deref() {
                    Some(id) => format!("container {}", short(id)),
                    None => format!("task {}", short(&t.id)),
                },
                None,
            ),
        };
        out.push(Attached {
            container: name,
            kind,
            resource,
            running: t.state == crate::live::swarm::TaskState::Running,
            node,
            clone_of,
        });
    }
    out
}

fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}

/// What a swarm service is: a declared resource, a stack's service, or
/// unmanaged.
pub fn service_kind(config: &Config, server: &str, s: &Service) -> (AttachedKind, Option<String>) {
    for r in &config.resources {
        if r.selector == Selector::SwarmService(s.name.clone())
            && r.destinations_on(config, server).next().is_some()
        {
            return (r.kind.into(), Some(r.name.clone()));
        }
    }
    // A service berth made (a clone) whose resource is no longer declared.
    if s.label(labels::MANAGED) == Some("true") && s.label(labels::OWNER) == Some(&config.owner) {
        let kind = match s.label(labels::KIND) {
            Some("application") => Some(AttachedKind::Application),
            Some("database") => Some(AttachedKind::Database),
            _ => None,
        };
        if let (Some(kind), Some(name)) = (kind, s.label(labels::RESOURCE)) {
            return (kind, Some(name.to_string()));
        }
    }
    if let Some(ns) = s.stack() {
        let name = config
            .stacks
            .iter()
            .find(|x| x.project == ns)
            .map_or_else(|| ns.to_string(), |x| x.name.clone());
        return (AttachedKind::Stack, Some(name));
    }
    (AttachedKind::Unmanaged, None)
}

/// `update_service` and `clone_service` changes for one manager, and the
/// declared services it does not run.
pub fn plan(config: &Config, server: &str, live: &Snapshot) -> (Vec<Change>, Vec<Missing>) {
    let Some(swarm) = &live.swarm else {
        return (Vec::new(), Vec::new());
    };
    let mut changes = Vec::new();
    let mut missing = Vec::new();
    // The destinations each service is to be on, with its aliases there.
    let mut wanted: BTreeMap<&str, Vec<(&Destination, Vec<String>)>> = BTreeMap::new();
    let mut managed: BTreeMap<&str, ResourceRef> = BTreeMap::new();
    for r in &config.resources {
        let Selector::SwarmService(name) = &r.selector else {
            continue;
        };
        let dests: Vec<&Destination> = r.destinations_on(config, server).collect();
        if dests.is_empty() {
            continue;
        }
        let resource = ResourceRef::new(r.kind, &r.name);
        if swarm.service(name).is_none() {
            if let Some(source) = &r.clone_of {
                changes.extend(clone(config, server, swarm, r, name, source, dests[0]));
            } else {
                // Services another resource or stack declares are no
                // typo's fix.
                let claimed = |s: &Service| {
                    config
                        .resources
                        .iter()
                        .any(|r| matches!(&r.selector, Selector::SwarmService(n) if *n == s.name))
                        || s.stack()
                            .is_some_and(|p| config.stacks.iter().any(|st| st.project == p))
                };
                let suggestions = super::suggest::closest(
                    name,
                    swarm
                        .services
                        .iter()
                        .filter(|s| !claimed(s))
                        .map(|s| s.name.as_str()),
                );
                missing.push(Missing {
                    resource: resource.clone(),
                    server: server.to_string(),
                    selector: format!("swarm service {name}"),
                    note: Some(super::suggest::note(
                        &format!("no swarm service {name} on manager {server}"),
                        &suggestions,
                        "create it, and the next plan attaches it",
                    )),
                    suggestions,
                });
            }
            continue;
        }
        managed.insert(name.as_str(), resource.clone());
        for d in dests {
            wanted
                .entry(name.as_str())
                .or_default()
                .push((d, r.aliases.clone()));
        }
    }
    for st in &config.stacks {
        let Some(dest) = config.destination_on(&st.destination, server) else {
            continue;
        };
        for s in swarm
            .services
            .iter()
            .filter(|s| s.stack() == Some(st.project.as_str()))
        {
            let resource = ResourceRef::new(ResourceKind::Stack, &st.name);
            managed.insert(s.name.as_str(), resource.clone());
            if st.connect_to_predefined_networks {
                let service = s
                    .name
                    .strip_prefix(&format!("{}_", st.project))
                    .unwrap_or(&s.name);
                let mut aliases = vec![format!("{service}-{}", st.project)];
                if st.short_aliases {
                    aliases.push(service.to_string());
                }
                wanted
                    .entry(s.name.as_str())
                    .or_default()
                    .push((dest, aliases));
            } else {
                wanted.entry(s.name.as_str()).or_default();
            }
        }
    }
    for (name, resource) in managed {
        let Some(service) = swarm.service(name) else {
            continue;
        };
        let wants = wanted.get(name).map(Vec::as_slice).unwrap_or_default();
        if let Some(c) = update(config, server, live, service, wants, resource) {
            changes.push(c);
        }
    }
    (changes, missing)
}

/// The update that gives `service` the networks its destinations call for
/// (and takes it off berth-owned networks of declared destinations it no
/// longer belongs to), or `None` when its spec already says so.
fn update(
    config: &Config,
    server: &str,
    live: &Snapshot,
    service: &Service,
    wants: &[(&Destination, Vec<String>)],
    resource: ResourceRef,
) -> Option<Change> {
    let now: Vec<ServiceNetworkRef> = service
        .networks
        .iter()
        .map(|n| ServiceNetworkRef {
            network: n.network.clone(),
            aliases: n.aliases.clone(),
        })
        .collect();
    let mut after: Vec<ServiceNetworkRef> = Vec::new();
    let mut touched: Option<&Destination> = None;
    for n in &now {
        let declared = config
            .destinations_on(server)
            .find(|d| d.network == n.network);
        let owned = live
            .network(&n.network)
            .is_some_and(|x| x.owned_by(&config.owner));
        let wanted = wants.iter().any(|(d, _)| d.network == n.network);
        match declared {
            // A destination it no longer belongs to: it leaves.
            Some(d) if owned && !wanted => touched = touched.or(Some(d)),
            _ => after.push(n.clone()),
        }
    }
    for (d, aliases) in wants {
        let mut aliases = aliases.clone();
        aliases.sort();
        aliases.dedup();
        match after.iter_mut().find(|n| n.network == d.network) {
            Some(n) => {
                let mut have = n.aliases.clone();
                have.sort();
                if have != aliases {
                    n.aliases = aliases;
                    touched = touched.or(Some(*d));
                }
            }
            None => {
                after.push(ServiceNetworkRef {
                    network: d.network.clone(),
                    aliases,
                });
                touched = touched.or(Some(*d));
            }
        }
    }
    let dest = touched?;
    let rollout = rollout(service);
    let mut reasons = vec![format!(
        "a rolling update of swarm service {}: {}",
        service.name,
        describe_rollout(&rollout)
    )];
    let last_update = service
        .update_state
        .filter(|u| !matches!(u, UpdateState::Completed | UpdateState::Updating))
        .map(|u| u.as_str().to_string());
    if let Some(u) = &last_update {
        reasons.push(format!(
            "its last rolling update ended {u}: see `docker service ps {}` before applying",
            service.name
        ));
    }
    Some(Change::UpdateService(UpdateService {
        server: server.to_string(),
        destination: dest.name.clone(),
        network: dest.network.clone(),
        service: service.name.clone(),
        resource,
        networks: after,
        live_networks: now,
        rollout,
        last_update,
        status: ChangeStatus::Planned,
        reasons,
    }))
}

fn rollout(s: &Service) -> Rollout {
    let (parallelism, order, failure) = s.update.map_or((1, "stop-first", "pause"), |u| {
        (
            u.parallelism,
            match u.order {
                UpdateOrder::StopFirst => "stop-first",
                UpdateOrder::StartFirst => "start-first",
            },
            match u.failure_action {
                FailureAction::Pause => "pause",
                FailureAction::Continue => "continue",
                FailureAction::Rollback => "rollback",
            },
        )
    });
    let (mode, replicas) = match s.mode {
        ServiceMode::Replicated { replicas } => ("replicated", Some(replicas)),
        ServiceMode::Global => ("global", None),
        ServiceMode::ReplicatedJob => ("replicated-job", None),
        ServiceMode::GlobalJob => ("global-job", None),
    };
    Rollout {
        mode: mode.to_string(),
        replicas,
        parallelism,
        order: order.to_string(),
        failure_action: failure.to_string(),
    }
}

/// `3 replicas replaced 1 at a time, stop-first; on failure: pause`
pub fn describe_rollout(r: &Rollout) -> String {
    let tasks = match r.replicas {
        Some(n) => format!("{n} replica(s)"),
        None => format!("{} tasks", r.mode),
    };
    let pace = if r.parallelism == 0 {
        "all at once".to_string()
    } else {
        format!("{} at a time", r.parallelism)
    };
    format!(
        "{tasks} replaced {pace}, {}; on failure: {}",
        r.order, r.failure_action
    )
}

/// A clone of a service: a new service from the source's spec.
fn clone(
    config: &Config,
    server: &str,
    swarm: &Swarm,
    r: &crate::config::Resource,
    name: &str,
    source: &str,
    dest: &Destination,
) -> Option<Change> {
    let src_resource = config
        .resources
        .iter()
        .find(|x| x.kind == r.kind && x.name == source)?;
    let Selector::SwarmService(src_name) = &src_resource.selector else {
        return None;
    };
    let mut status = ChangeStatus::Planned;
    let mut reasons = Vec::new();
    let (image, volumes, dropped_ports) = match swarm.service(src_name) {
        Some(s) => (
            s.image.clone(),
            s.mounts
                .iter()
                .filter_map(|m| match m {
                    crate::live::Mount::Volume { name: v, path } => Some(VolumeCopy {
                        source: v.clone(),
                        target: format!("{v}-{}", r.name),
                        path: path.clone(),
                    }),
                    crate::live::Mount::Bind { .. } => None,
                })
                .collect(),
            s.published_ports.clone(),
        ),
        None => {
            status = ChangeStatus::Blocked;
            reasons.push(format!(
                "source swarm service {src_name} does not exist on manager {server}: nothing to clone"
            ));
            (String::new(), Vec::new(), Vec::new())
        }
    };
    if status == ChangeStatus::Planned {
        reasons.push(format!(
            "a new service from {src_name}'s spec on {}: fresh volumes, never the data",
            dest.network
        ));
    }
    Some(Change::CloneService(CloneService {
        server: server.to_string(),
        destination: dest.name.clone(),
        network: dest.network.clone(),
        service: name.to_string(),
        aliases: r.aliases.clone(),
        resource: ResourceRef::new(r.kind, &r.name),
        source: src_name.clone(),
        source_resource: ResourceRef::new(src_resource.kind, &src_resource.name),
        image,
        volumes,
        dropped_ports,
        status,
        reasons,
    }))
}
