//! The removal guard: what is attached to a network and what it is, and the
//! dependencies Coolify's docs ask people to check by hand before removing
//! one. Names only: env values never leave this module.

use std::collections::BTreeMap;

use super::model::*;
use crate::config::{Config, ResourceKind, Selector};
use crate::live::{Container, Snapshot, labels};

/// Every container on `network`, running or stopped, with what it is.
/// On a swarm manager, services naming the network and tasks on every
/// node count too, each with its node.
pub fn attached(config: &Config, server: &str, live: &Snapshot, network: &str) -> Vec<Attached> {
    let local = live.attached_to(network).map(|c| {
        let (kind, resource) = classify(config, server, c);
        Attached {
            container: c.name.clone(),
            kind,
            resource,
            running: c.running,
            node: None,
            clone_of: clone_of(&c.labels).map(str::to_string),
        }
    });
    local
        .chain(super::swarm::attached(config, server, live, network))
        .collect()
}

/// The source of a copy berth made (a clone's container or service), from
/// its `berth.managed` and `berth.clone-of` labels.
pub fn clone_of(labels: &BTreeMap<String, String>) -> Option<&str> {
    (labels.get(labels::MANAGED).map(String::as_str) == Some("true"))
        .then(|| labels.get(labels::CLONE_OF).map(String::as_str))
        .flatten()
}

/// The resource a copy berth made serves, from its `berth.kind` and
/// `berth.resource` labels (whether or not the config still declares it).
pub fn berth_resource(labels: &BTreeMap<String, String>) -> Option<(AttachedKind, String)> {
    clone_of(labels)?;
    let kind = match labels.get(labels::KIND)?.as_str() {
        "application" => AttachedKind::Application,
        "database" => AttachedKind::Database,
        "service" => AttachedKind::Stack,
        _ => return None,
    };
    Some((kind, labels.get(labels::RESOURCE)?.clone()))
}

/// What a container is: from the config first, then berth's own labels (a
/// clone whose resource the config no longer declares), then Coolify's
/// labels (a clone keeps its source's), then compose's, else `unmanaged`.
pub fn classify(config: &Config, server: &str, c: &Container) -> (AttachedKind, Option<String>) {
    let on_server = |dest: &str| config.destination_on(dest, server).is_some();
    for r in config
        .resources
        .iter()
        .filter(|r| r.destinations_on(config, server).next().is_some())
    {
        if selects(r.kind, &r.name, &r.selector, c) {
            return (r.kind.into(), Some(r.name.clone()));
        }
    }
    let project = c.label(labels::COMPOSE_PROJECT);
    // A copy of an application keeps its source's compose labels.
    if let Some((kind, name)) = berth_resource(&c.labels) {
        if kind != AttachedKind::Stack {
            return (kind, Some(name));
        }
    }
    if let Some(s) = config
        .stacks
        .iter()
        .find(|s| on_server(&s.destination) && Some(s.project.as_str()) == project)
    {
        return (AttachedKind::Stack, Some(s.name.clone()));
    }
    if let Some((kind, name)) = berth_resource(&c.labels) {
        return (kind, Some(name));
    }
    if let Some(t) = c.label(labels::COOLIFY_TYPE) {
        let kind = match t {
            "application" => AttachedKind::Application,
            "database" => AttachedKind::Database,
            "service" => AttachedKind::Stack,
            other => AttachedKind::Coolify(other.to_string()),
        };
        let name = c.label(labels::COOLIFY_NAME).map(str::to_string);
        return (kind, name);
    }
    if let Some(p) = project {
        return (AttachedKind::Stack, Some(p.to_string()));
    }
    (AttachedKind::Unmanaged, None)
}

/// Does the `kind` resource `resource`'s selector pick this container? A
/// clone keeps its source's labels, so a label selector skips containers
/// that berth created for another resource — another name, or the same
/// name of another kind (an application and a database may share a name).
pub fn selects(kind: ResourceKind, resource: &str, selector: &Selector, c: &Container) -> bool {
    match selector {
        Selector::Name(n) => *n == c.name,
        // A task container of the service (on this node): it belongs to the
        // service, and berth never attaches it by itself.
        Selector::SwarmService(s) => c.label(labels::SWARM_SERVICE) == Some(s.as_str()),
        Selector::Labels(want) => {
            want.iter().all(|(k, v)| c.label(k) == Some(v))
                && c.label(labels::RESOURCE).is_none_or(|r| {
                    r == resource && c.label(labels::KIND).is_none_or(|k| k == kind.as_str())
                })
        }
    }
}

/// Warnings for each network the plan removes (or would, once unblocked).
pub fn removal_warnings(server: &str, live: &Snapshot, changes: &[Change]) -> Vec<Warning> {
    let mut out = Vec::new();
    let removed = changes.iter().filter_map(|c| match c {
        Change::RemoveNetwork(r) => Some(r.network.as_str()),
        _ => None,
    });
    for net in removed {
        let warn = |code: WarningCode, message: String| Warning::on(server, code, message);
        // Names that resolve on this network: container names and aliases.
        let mut names: Vec<String> = Vec::new();
        for a in live.attached_to(net) {
            names.push(a.name.clone());
            names.extend(a.aliases_on(net).unwrap_or_default());
        }
        names.sort();
        names.dedup();
        for other in live
            .containers
            .iter()
            .filter(|o| !o.networks.contains_key(net))
        {
            for (key, value) in other.env.iter().flatten() {
                let named: Vec<&str> = names
                    .iter()
                    .filter(|n| mentions(value, n))
                    .map(String::as_str)
                    .collect();
                if !named.is_empty() {
                    out.push(warn(
                        WarningCode::EnvReferencesNetwork,
                        format!(
                            "container {} has env {key} naming {} on network {net}: it stops resolving when {net} goes",
                            other.name,
                            named.join(", ")
                        ),
                    ));
                }
            }
        }
        for a in live.attached_to(net) {
            let others: Vec<&str> = a
                .networks
                .keys()
                .filter(|n| *n != net)
                .map(String::as_str)
                .collect();
            if !others.is_empty() {
                out.push(warn(
                    WarningCode::BridgesNetwork,
                    format!(
                        "container {} bridges {net} to {}",
                        a.name,
                        others.join(", ")
                    ),
                ));
            }
        }
        for p in &live.containers {
            let traefik = p.label("traefik.docker.network") == Some(net);
            let coolify = p.label("coolify.proxy") == Some("true") && p.networks.contains_key(net);
            if traefik || coolify {
                let how = if traefik {
                    format!("traefik.docker.network={net}")
                } else {
                    "coolify.proxy=true".to_string()
                };
                out.push(warn(
                    WarningCode::ProxyRoutesIntoNetwork,
                    format!("proxy {} routes into {net} ({how})", p.name),
                ));
            }
        }
    }
    out
}

/// Does `value` name `host` as a whole word (as in `postgres://u@pg:5432/db`)?
fn mentions(value: &str, host: &str) -> bool {
    value
        .split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .any(|word| word == host)
}

#[cfg(test)]
mod tests {
    use super::mentions;

    #[test]
    fn mentions_whole_host_names_only() {
        assert!(mentions("postgres://u:p@pg:5432/db", "pg"));
        assert!(mentions("pg", "pg"));
        assert!(!mentions("pgbouncer:6432", "pg"));
        assert!(!mentions("http://api-v2/", "api"));
    }
}
