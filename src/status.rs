//! `berth status` as data: every destination across the servers, its live
//! network and state, what is attached (kind, resource, state, health,
//! uptime), what its resources select but is not attached and what they
//! declare but the server lacks (drift), unused destinations, and
//! berth-owned networks no destination declares. Pure:
//! a config, a live state and the plan made of them in; the report out.

use std::collections::{BTreeMap, BTreeSet};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::config::{Config, Destination};
use crate::live::{Container, LiveState, Network, Snapshot, labels};
use crate::plan::{Action, AttachedKind, Missing, Plan, ResourceRef, ServerReading};

pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[schemars(title = "berth status (format_version 1)")]
pub struct Report {
    pub format_version: u32,
    pub servers: Vec<ServerReading>,
    pub destinations: Vec<DestinationStatus>,
    /// berth-owned networks (this owner's) that no destination declares:
    /// cleanup candidates, or removals a plan would make.
    pub orphans: Vec<Orphan>,
    /// Each thing that differs from the config, counted once: a change a
    /// plan would make now, a selected container that is not attached (and
    /// that no planned change attaches), a declared resource that matches
    /// nothing on its server. Anything but 0 is drift
    /// (`--detailed-exitcode` exits 2).
    pub drift: usize,
    /// `--usage`: how long sampling CPU and memory took, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage_ms: Option<u64>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DestinationState {
    /// The network exists as the config says (berth created it).
    Ok,
    /// The network does not exist.
    Missing,
    /// The network's live properties differ from the config.
    Differs,
    /// The network exists as the config says, but berth did not create it.
    Adopted,
    /// Its server could not be read.
    Unknown,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct DestinationStatus {
    pub server: String,
    pub address: String,
    pub name: String,
    pub network: String,
    pub state: DestinationState,
    /// Live driver, subnet and gateway (`null` when missing or unknown).
    pub driver: Option<String>,
    pub subnet: Option<String>,
    pub gateway: Option<String>,
    pub attached: Vec<AttachedStatus>,
    /// Containers a resource or stack of this destination selects that are
    /// not attached to its network.
    pub detached: Vec<Detached>,
    /// Resources and stacks declared on this destination whose selector
    /// matches nothing on its server, with the closest live names (drift).
    pub not_found: Vec<Missing>,
    /// Nothing is declared on it and nothing is attached: a cleanup
    /// candidate. A destination whose declared containers are only
    /// detached, or not found, is drift, not unused.
    pub unused: bool,
    /// Changes a plan would make to this destination now.
    pub changes: usize,
    /// `--usage`: summed over the attached containers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// An overlay on a swarm manager: the swarm services whose tasks join
    /// it, with their tasks on every node.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<ServiceStatus>,
}

/// A swarm service on a destination's overlay.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct ServiceStatus {
    pub service: String,
    pub kind: AttachedKind,
    pub resource: Option<String>,
    /// Tasks running, of those meant to run.
    pub running: u64,
    /// Replicas (replicated), or tasks meant to run (global).
    pub desired: u64,
    /// Its aliases on the overlay.
    pub aliases: Vec<String>,
    /// The last rolling update: `updating`, `paused`, `completed`,
    /// `rollback_started`, `rollback_paused`, `rollback_completed`.
    pub update: Option<String>,
    pub tasks: Vec<TaskStatus>,
}

/// A task meant to run, where it runs and how it does.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct TaskStatus {
    /// `web.1` (replicated) or `web.<task id>` (global).
    pub name: String,
    /// The node's host name; `null` while not scheduled.
    pub node: Option<String>,
    /// `running`, `pending`, `preparing`, `starting`, `failed`, …
    pub state: String,
    /// Why it failed or waits, as the manager says.
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct AttachedStatus {
    pub container: String,
    pub kind: AttachedKind,
    pub resource: Option<String>,
    /// `running`, `exited`, `restarting`, `created`, `paused`, `dead`.
    pub state: String,
    /// `healthy`, `unhealthy`, `starting`; `null` without a health check.
    pub health: Option<String>,
    /// As Docker says it (`3 hours`), when running.
    pub uptime: Option<String>,
    /// Its aliases on the network (without the short id Docker adds), when
    /// berth read them: a plan inspects the containers whose aliases it
    /// compares (those the config declares); absent for the others.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aliases: Option<Vec<String>>,
    /// `--usage`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct Detached {
    pub container: String,
    pub kind: AttachedKind,
    pub resource: String,
    pub state: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct Orphan {
    pub server: String,
    pub network: String,
    /// The destination it was created for (its `berth.destination` label).
    pub destination: Option<String>,
    pub attached: usize,
}

/// CPU and memory of a container (or summed over a destination).
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct Usage {
    /// Percent of one CPU (200 = two CPUs busy), from two samples.
    pub cpu_percent: f64,
    pub memory_bytes: u64,
}

/// Which destinations to show.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only these servers (all when `None`).
    pub servers: Option<BTreeSet<String>>,
    /// Only these destinations (all when `None`).
    pub destinations: Option<BTreeSet<String>>,
}

impl Filter {
    fn keeps(&self, d: &Destination) -> bool {
        self.server(&d.server)
            && self
                .destinations
                .as_ref()
                .is_none_or(|n| n.contains(&d.name))
    }

    fn server(&self, name: &str) -> bool {
        self.servers.as_ref().is_none_or(|s| s.contains(name))
    }
}

/// The status of every destination `filter` keeps.
pub fn status(
    config: &Config,
    live: &LiveState,
    plan: &Plan,
    filter: &Filter,
    usage: &BTreeMap<(String, String), Usage>,
) -> Report {
    let mut destinations = Vec::new();
    for d in config.destinations.iter().filter(|d| filter.keeps(d)) {
        let snapshot = live.servers.get(&d.server).and_then(|s| s.as_ref().ok());
        destinations.push(destination(config, d, snapshot, plan, usage));
    }
    let orphans = config
        .servers
        .iter()
        .filter(|s| filter.server(&s.name))
        .filter(|_| filter.destinations.is_none())
        .filter_map(|s| Some((s, live.servers.get(&s.name)?.as_ref().ok()?)))
        .flat_map(|(s, snapshot)| orphans(config, &s.name, snapshot))
        .collect();
    let servers: Vec<ServerReading> = plan
        .servers
        .iter()
        .filter(|s| filter.server(&s.name))
        .cloned()
        .collect();
    let drift = drift(plan, &servers, &destinations);
    Report {
        format_version: FORMAT_VERSION,
        servers,
        destinations,
        orphans,
        drift,
        usage_ms: None,
    }
}

/// Each drifted thing once: the plan's changes on the servers shown, the
/// detached containers no planned connect attaches, and each declared
/// resource not found (however many of its destinations list it).
fn drift(plan: &Plan, servers: &[ServerReading], destinations: &[DestinationStatus]) -> usize {
    let changes: Vec<_> = plan
        .changes
        .iter()
        .filter(|c| servers.iter().any(|s| s.name == c.server()))
        .collect();
    let mut detached = BTreeSet::new();
    let mut not_found: BTreeSet<(&str, &ResourceRef)> = BTreeSet::new();
    for d in destinations {
        for x in &d.detached {
            let connected = changes.iter().any(|c| {
                c.action() == Action::Connect
                    && c.server() == d.server
                    && c.network() == d.network
                    && c.container() == Some(x.container.as_str())
            });
            if !connected {
                detached.insert((&d.server, &d.network, &x.container));
            }
        }
        for m in &d.not_found {
            not_found.insert((&m.server, &m.resource));
        }
    }
    changes.len() + detached.len() + not_found.len()
}

fn destination(
    config: &Config,
    d: &Destination,
    live: Option<&Snapshot>,
    plan: &Plan,
    usage: &BTreeMap<(String, String), Usage>,
) -> DestinationStatus {
    let address = config
        .server(&d.server)
        .map(|s| s.address.to_string())
        .unwrap_or_default();
    let net = live.and_then(|l| l.network(&d.network));
    let state = match (live, net) {
        (None, _) => DestinationState::Unknown,
        (Some(_), None) => DestinationState::Missing,
        (Some(_), Some(n)) => {
            let owned = n.owned_by(&config.owner);
            if !crate::plan::differences(&d.spec, n, owned).is_empty() {
                DestinationState::Differs
            } else if owned {
                DestinationState::Ok
            } else {
                DestinationState::Adopted
            }
        }
    };
    let used = |c: &Container| usage.get(&(d.server.clone(), c.name.clone())).copied();
    let attached: Vec<AttachedStatus> = live
        .map(|l| l.attached_to(&d.network).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .map(|c| {
            let (kind, resource) = crate::plan::classify(config, &d.server, c);
            AttachedStatus {
                container: c.name.clone(),
                kind,
                resource,
                state: c.state.clone(),
                health: c.health().map(str::to_string),
                uptime: c.uptime().map(str::to_string),
                aliases: c.aliases_on(&d.network),
                usage: used(c),
            }
        })
        .collect();
    let detached = live.map_or_else(Vec::new, |l| detached(config, d, l));
    let not_found: Vec<Missing> = plan
        .missing
        .iter()
        .filter(|m| m.server == d.server && declares(config, d, &m.resource))
        .cloned()
        .collect();
    let declared = config.resources.iter().any(|r| r.belongs_to(&d.name))
        || config.stacks.iter().any(|s| s.destination == d.name);
    let changes = plan
        .changes
        .iter()
        .filter(|c| c.server() == d.server && c.network() == d.network)
        .count();
    let total = attached
        .iter()
        .filter_map(|a| a.usage)
        .reduce(|a, b| Usage {
            cpu_percent: a.cpu_percent + b.cpu_percent,
            memory_bytes: a.memory_bytes + b.memory_bytes,
        });
    let pool = net.and_then(|n| n.ipam.first());
    let services = live.map_or_else(Vec::new, |l| services(config, d, l));
    DestinationStatus {
        server: d.server.clone(),
        address,
        name: d.name.clone(),
        network: d.network.clone(),
        state,
        driver: net.map(|n| n.driver.clone()),
        subnet: pool.and_then(|p| p.subnet).map(|s| s.to_string()),
        gateway: pool.and_then(|p| p.gateway).map(|g| g.to_string()),
        unused: live.is_some() && attached.is_empty() && services.is_empty() && !declared,
        attached,
        detached,
        not_found,
        changes,
        usage: total,
        services,
    }
}

/// Is `resource` declared on destination `d`?
fn declares(config: &Config, d: &Destination, resource: &ResourceRef) -> bool {
    match resource.kind {
        crate::config::ResourceKind::Stack => config
            .stacks
            .iter()
            .any(|s| s.name == resource.name && s.destination == d.name),
        kind => config
            .resources
            .iter()
            .any(|r| r.kind == kind && r.name == resource.name && r.belongs_to(&d.name)),
    }
}

/// The swarm services on `d`'s overlay (its server a manager).
fn services(config: &Config, d: &Destination, live: &Snapshot) -> Vec<ServiceStatus> {
    use crate::live::swarm::ServiceMode;
    let Some(swarm) = &live.swarm else {
        return Vec::new();
    };
    swarm
        .services_on(&d.network)
        .map(|s| {
            let (kind, resource) = crate::plan::service_kind(config, &d.server, s);
            let (meant, running) = swarm.meant_to_run(&s.id);
            let desired = match s.mode {
                ServiceMode::Replicated { replicas } => replicas,
                _ => meant.len() as u64,
            };
            let tasks = meant
                .iter()
                .map(|t| TaskStatus {
                    name: match t.slot {
                        Some(slot) => format!("{}.{slot}", s.name),
                        None => format!("{}.{}", s.name, &t.id[..t.id.len().min(12)]),
                    },
                    node: t
                        .node_id
                        .as_deref()
                        .and_then(|n| swarm.node(n))
                        .map(|n| n.hostname.clone()),
                    state: t.state.as_str().to_string(),
                    error: t.error.clone(),
                })
                .collect();
            ServiceStatus {
                service: s.name.clone(),
                kind,
                resource,
                running,
                desired,
                aliases: s
                    .aliases_on(&d.network)
                    .map(<[String]>::to_vec)
                    .unwrap_or_default(),
                update: s.update_state.map(|u| u.as_str().to_string()),
                tasks,
            }
        })
        .collect()
}

/// Containers this destination's resources and stacks select that are not
/// on its network (a stack only when it is to be connected).
fn detached(config: &Config, d: &Destination, live: &Snapshot) -> Vec<Detached> {
    let selected = crate::plan::selected(config, &d.server, live);
    let mut out = Vec::new();
    for (name, wanted) in &selected {
        let Some(w) = wanted.iter().find(|w| w.network == d.network) else {
            continue;
        };
        let Some(c) = live.containers.iter().find(|c| &c.name == name) else {
            continue;
        };
        if !c.networks.contains_key(&d.network) {
            out.push(Detached {
                container: c.name.clone(),
                kind: w.resource.kind.into(),
                resource: w.resource.name.clone(),
                state: c.state.clone(),
            });
        }
    }
    out
}

fn orphans(config: &Config, server: &str, live: &Snapshot) -> Vec<Orphan> {
    crate::plan::removal_candidates(config, server, live)
        .map(|n: &Network| Orphan {
            server: server.to_string(),
            network: n.name.clone(),
            destination: n.label(labels::DESTINATION).map(str::to_string),
            attached: live.attached_to(&n.name).count(),
        })
        .collect()
}

/// The JSON schema of `berth status --format json` (`schemas/status.schema.json`).
pub fn schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Report)).expect("a schema is JSON")
}
