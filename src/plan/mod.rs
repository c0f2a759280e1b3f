//! The planner: `plan(&Config, &LiveState) -> Plan`. Pure, synchronous, no I/O:
//! every behaviour here is tested on hand-built data.

mod model;

pub use model::*;

use std::collections::BTreeMap;

use crate::config::{Config, Destination, NetworkSpec, ResourceKind, Selector};
use crate::live::{Container, LiveState, Network, Snapshot, labels};

/// Choices that change what the planner allows.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Let `replace_network` proceed while containers are attached: they are
    /// disconnected, the network recreated, and they are reconnected.
    pub allow_replace: bool,
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
    };
    for server in &config.servers {
        let state = live.servers.get(&server.name);
        let (status, error) = match state {
            Some(Ok(_)) => (ServerHealth::Ok, None),
            Some(Err(e)) => (ServerHealth::Error, Some(e.clone())),
            None => (ServerHealth::Error, Some("not refreshed".to_string())),
        };
        p.servers.push(ServerStatus {
            name: server.name.clone(),
            address: server.address.to_string(),
            status,
            error,
        });
        if let Some(Ok(snapshot)) = state {
            plan_server(config, &server.name, snapshot, opts, &mut p);
        }
    }
    p.summary = summarize(&p.changes);
    p
}

fn summarize(changes: &[Change]) -> BTreeMap<String, usize> {
    let mut summary = BTreeMap::new();
    for c in changes {
        let key = match c.status {
            Status::Planned => c.action.as_str(),
            Status::Blocked => "blocked",
        };
        *summary.entry(key.to_string()).or_insert(0) += 1;
    }
    summary
}

fn plan_server(config: &Config, server: &str, live: &Snapshot, opts: Options, p: &mut Plan) {
    for dest in config.destinations_on(server) {
        match live.network(&dest.network) {
            None => {
                let mut c = Change::new(Action::CreateNetwork, server, &dest.network);
                c.destination = Some(dest.name.clone());
                c.spec = Some(dest.spec.clone());
                p.changes.push(c);
            }
            Some(net) if net.owned_by(&config.owner) => {
                let differences = differences(&dest.spec, net, true);
                if !differences.is_empty() {
                    p.changes
                        .push(replace(config, server, dest, live, differences, opts));
                }
            }
            Some(net) => {
                let differences = differences(&dest.spec, net, false);
                if !differences.is_empty() {
                    p.errors
                        .push(adoption_conflict(config, server, dest, net, &differences));
                }
            }
        }
    }
    for net in &live.networks {
        let declared = config
            .destinations_on(server)
            .any(|d| d.network == net.name);
        if declared || !net.owned_by(&config.owner) || net.is_predefined() {
            continue;
        }
        let mut c = Change::new(Action::RemoveNetwork, server, &net.name);
        c.destination = net.label(labels::DESTINATION).map(str::to_string);
        c.attached = attached(config, server, live, &net.name);
        if !c.attached.is_empty() {
            c.status = Status::Blocked;
            c.reasons = c
                .attached
                .iter()
                .map(|a| format!("container {} is attached to {}", a.describe(), net.name))
                .collect();
        }
        p.changes.push(c);
    }
}

fn replace(
    config: &Config,
    server: &str,
    dest: &Destination,
    live: &Snapshot,
    differences: Vec<Difference>,
    opts: Options,
) -> Change {
    let mut c = Change::new(Action::ReplaceNetwork, server, &dest.network);
    c.destination = Some(dest.name.clone());
    c.spec = Some(dest.spec.clone());
    c.attached = attached(config, server, live, &dest.network);
    let what: Vec<String> = differences
        .iter()
        .map(|d| format!("{} {} → {}", d.property, d.live, d.desired))
        .collect();
    c.differences = differences;
    if !c.attached.is_empty() {
        let names: Vec<String> = c.attached.iter().map(Attached::describe).collect();
        if opts.allow_replace {
            c.reasons.push(format!(
                "will disconnect, recreate and reconnect with their aliases: {}",
                names.join(", ")
            ));
        } else {
            c.status = Status::Blocked;
            c.reasons.push(format!(
                "Docker cannot change {} of a network in place; it must be recreated, but {} container{} {} attached: {}",
                what.join(", "),
                names.len(),
                if names.len() == 1 { "" } else { "s" },
                if names.len() == 1 { "is" } else { "are" },
                names.join(", ")
            ));
            c.reasons.push(
                "apply with --allow-replace to disconnect them, recreate the network and reconnect them with their aliases".to_string(),
            );
        }
    }
    c
}

fn adoption_conflict(
    config: &Config,
    server: &str,
    dest: &Destination,
    net: &Network,
    differences: &[Difference],
) -> PlanError {
    let owner = match (net.label(labels::MANAGED), net.label(labels::OWNER)) {
        (Some("true"), Some(other)) => format!(
            "it belongs to berth owner `{other}`, not `{}`",
            config.owner
        ),
        _ => "berth did not create it".to_string(),
    };
    let what: Vec<String> = differences
        .iter()
        .map(|d| {
            format!(
                "{} is {} live but {} in the config",
                d.property, d.live, d.desired
            )
        })
        .collect();
    PlanError {
        server: server.to_string(),
        destination: Some(dest.name.clone()),
        network: dest.network.clone(),
        message: format!(
            "network {} on server {} differs from destination {} ({}), and {owner}, so berth will not change it",
            dest.network,
            server,
            dest.name,
            what.join("; ")
        ),
        hint: "make the destination match the live network, or remove the network by hand so berth creates it".to_string(),
    }
}

/// Properties of `spec` that the live network does not have. Unset optional
/// properties are daemon defaults, never drift. For networks berth does not
/// own, only the labels the config names are compared.
pub fn differences(spec: &NetworkSpec, live: &Network, owned: bool) -> Vec<Difference> {
    let mut out = Vec::new();
    let mut diff = |property: &str, live: String, desired: String| {
        if live != desired {
            out.push(Difference {
                property: property.to_string(),
                live,
                desired,
            });
        }
    };
    diff("driver", live.driver.clone(), spec.driver.clone());
    diff(
        "internal",
        live.internal.to_string(),
        spec.internal.to_string(),
    );
    diff(
        "attachable",
        live.attachable.to_string(),
        spec.attachable.to_string(),
    );
    let pools = || {
        let s: Vec<String> = live
            .ipam
            .iter()
            .filter_map(|p| p.subnet)
            .map(|n| n.to_string())
            .collect();
        if s.is_empty() {
            "none".to_string()
        } else {
            s.join(",")
        }
    };
    if let Some(subnet) = spec.subnet {
        let has = live.ipam.iter().any(|p| p.subnet == Some(subnet));
        diff(
            "subnet",
            pools(),
            if has { pools() } else { subnet.to_string() },
        );
    }
    if let Some(gw) = spec.gateway {
        let pool = live
            .ipam
            .iter()
            .find(|p| spec.subnet.is_none() || p.subnet == spec.subnet);
        let live_gw = pool
            .and_then(|p| p.gateway)
            .map_or("none".to_string(), |g| g.to_string());
        diff("gateway", live_gw, gw.to_string());
    }
    let live_labels: BTreeMap<&String, &String> = live
        .labels
        .iter()
        .filter(|(k, _)| !k.starts_with("berth."))
        .filter(|(k, _)| owned || spec.labels.contains_key(*k))
        .collect();
    let desired_labels: BTreeMap<&String, &String> = spec.labels.iter().collect();
    if live_labels != desired_labels {
        let show = |m: &BTreeMap<&String, &String>| {
            if m.is_empty() {
                "{}".to_string()
            } else {
                let kv: Vec<String> = m.iter().map(|(k, v)| format!("{k}={v}")).collect();
                format!("{{{}}}", kv.join(", "))
            }
        };
        diff("labels", show(&live_labels), show(&desired_labels));
    }
    out
}

/// Every container on `network`, running or stopped, with what it is.
fn attached(config: &Config, server: &str, live: &Snapshot, network: &str) -> Vec<Attached> {
    live.attached_to(network)
        .map(|c| {
            let (kind, resource) = classify(config, server, c);
            Attached {
                container: c.name.clone(),
                kind,
                resource,
                running: c.running,
            }
        })
        .collect()
}

/// What a container is: from the config first, then Coolify's labels, then
/// compose's, else `unmanaged`.
pub fn classify(config: &Config, server: &str, c: &Container) -> (String, Option<String>) {
    let on_server = |dest: &str| config.destination(dest).is_some_and(|d| d.server == server);
    for r in config
        .resources
        .iter()
        .filter(|r| on_server(&r.destination))
    {
        let matches = match &r.selector {
            Selector::Name(n) => *n == c.name,
            Selector::Labels(want) => want.iter().all(|(k, v)| c.label(k) == Some(v)),
        };
        if matches {
            return (r.kind.to_string(), Some(r.name.clone()));
        }
    }
    let project = c.label(labels::COMPOSE_PROJECT);
    if let Some(s) = config
        .services
        .iter()
        .find(|s| on_server(&s.destination) && Some(s.project.as_str()) == project)
    {
        return (ResourceKind::Service.to_string(), Some(s.name.clone()));
    }
    if let Some(t) = c.label(labels::COOLIFY_TYPE) {
        let kind = match t {
            "application" | "database" | "service" => t.to_string(),
            _ => format!("coolify {t}"),
        };
        let name = c.label(labels::COOLIFY_NAME).map(str::to_string);
        return (kind, name);
    }
    if let Some(p) = project {
        return (ResourceKind::Service.to_string(), Some(p.to_string()));
    }
    ("unmanaged".to_string(), None)
}

#[cfg(test)]
mod tests;
