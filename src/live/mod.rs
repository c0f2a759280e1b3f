//! Live state: what runs on each server, as plain data (no Docker types).
//! Read with a fixed number of API calls per server; see `docker::snapshot`.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::IpNet;

pub mod locks;
pub mod swarm;

pub use locks::{Lock, Locks, ServerLocks};
pub use swarm::Swarm;

/// Label keys berth writes and reads.
pub mod labels {
    pub const MANAGED: &str = "berth.managed";
    pub const OWNER: &str = "berth.owner";
    pub const DESTINATION: &str = "berth.destination";
    pub const RESOURCE: &str = "berth.resource";
    pub const KIND: &str = "berth.kind";
    pub const CLONE_OF: &str = "berth.clone-of";
    /// On a network berth created with a subnet from a destination's
    /// `subnet_pool`: the pool.
    pub const SUBNET_POOL: &str = "berth.subnet_pool";
    /// `true` on a network whose destination had `prevent_removal = true`
    /// when berth created it: its removal is a plan error even once no
    /// destination declares it.
    pub const PREVENT_REMOVAL: &str = "berth.prevent_removal";
    /// On the marker `berth forget` writes (a never-started container):
    /// the id of the network this owner no longer manages.
    pub const FORGOTTEN: &str = "berth.forgotten";
    /// On that marker: the network's name, for a person reading it.
    pub const FORGOTTEN_NETWORK: &str = "berth.forgotten.network";
    pub const COMPOSE_PROJECT: &str = "com.docker.compose.project";
    pub const COMPOSE_SERVICE: &str = "com.docker.compose.service";
    pub const COOLIFY_TYPE: &str = "coolify.type";
    pub const COOLIFY_NAME: &str = "coolify.resourceName";
    /// The swarm service a task container belongs to.
    pub const SWARM_SERVICE: &str = "com.docker.swarm.service.name";
    /// Marks a journal container (its value: the change it records).
    pub const JOURNAL: &str = "berth.journal";
    /// A journal's record: what the interrupted change must restore (JSON).
    pub const JOURNAL_RECORD: &str = "berth.journal.record";
    /// On the networks, services and volumes of a `docker stack deploy`
    /// stack: the stack's name.
    pub const STACK_NAMESPACE: &str = "com.docker.stack.namespace";

    /// The labels of a copy berth makes (a clone's containers or service):
    /// whose it is, which destination and resource it serves, what it
    /// copies.
    pub fn of_copy(
        owner: &str,
        destination: &str,
        (kind, resource): (&str, &str),
        source: &str,
    ) -> std::collections::BTreeMap<String, String> {
        std::collections::BTreeMap::from([
            (MANAGED.to_string(), "true".to_string()),
            (OWNER.to_string(), owner.to_string()),
            (DESTINATION.to_string(), destination.to_string()),
            (RESOURCE.to_string(), resource.to_string()),
            (KIND.to_string(), kind.to_string()),
            (CLONE_OF.to_string(), source.to_string()),
        ])
    }

    /// The source of a copy berth made (a clone's container or service),
    /// from its `berth.managed` and `berth.clone-of` labels.
    pub fn clone_of(labels: &std::collections::BTreeMap<String, String>) -> Option<&str> {
        (labels.get(MANAGED).map(String::as_str) == Some("true"))
            .then(|| labels.get(CLONE_OF).map(String::as_str))
            .flatten()
    }

    /// A label value with control characters escaped (`\u{1b}`): labels are
    /// anyone's to write, so one printed on a terminal or in a TOML comment
    /// can neither drive the terminal nor break the file.
    pub fn printable(value: &str) -> String {
        let mut out = String::with_capacity(value.len());
        for c in value.chars() {
            if c.is_control() {
                out.extend(c.escape_default());
            } else {
                out.push(c);
            }
        }
        out
    }
}

/// Something that happened on a server (Docker's event stream).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Event {
    /// `container`, `network` or `service`.
    pub kind: String,
    /// `start`, `die`, `connect`, …
    pub action: String,
    /// The object's id (a container's, a network's, a service's).
    pub id: String,
    /// The container's, network's or service's name; its short id when
    /// Docker sent no name.
    pub name: String,
    /// Container events: the container's labels (Docker sends them with
    /// every container event, beside its own `image`, `exitCode`, …).
    /// Empty for networks and services.
    pub labels: BTreeMap<String, String>,
    /// A container's `rename`: the name it had.
    pub old_name: Option<String>,
    /// Network events: the container's id.
    pub container: Option<String>,
}

impl Event {
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels.get(key).map(String::as_str)
    }
}

/// Every declared server, by name: its snapshot or why it could not be read.
#[derive(Debug, Clone, Default)]
pub struct LiveState {
    pub servers: BTreeMap<String, Result<Snapshot, String>>,
    /// Servers deliberately not contacted, and why.
    pub skipped: BTreeMap<String, String>,
}

/// One server's networks and containers (stopped ones included), its
/// images when a clone from another server may need them, the journals
/// of changes an earlier apply did not finish, and when the server is a
/// swarm manager, its swarm.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    pub networks: Vec<Network>,
    pub containers: Vec<Container>,
    pub images: Option<Vec<Image>>,
    pub journals: Vec<Journal>,
    /// Nodes, services and tasks, read when the engine is a swarm manager;
    /// `None` on any other engine (not in a swarm, or a worker). Not part of
    /// the fingerprint: no plan reads it yet.
    pub swarm: Option<Swarm>,
}

/// A journal: before the first destructive step of a multi-step change
/// (a network replaced, aliases fixed, a clone made), berth leaves on the
/// server a created, never-started container (network mode `none`) whose
/// labels record what the change must leave behind; it removes it when the
/// change completes. One the next run finds means an apply was interrupted.
/// The container list the plan already reads carries it: no extra call.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Journal {
    /// The journal container's name.
    pub name: String,
    pub labels: BTreeMap<String, String>,
}

impl Journal {
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels.get(key).map(String::as_str)
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Image {
    pub id: String,
    pub tags: Vec<String>,
}

impl Snapshot {
    /// Is the image (by id or by one of its references) on this server?
    /// `None` when images were not read.
    pub fn has_image(&self, id: &str, reference: &str) -> Option<bool> {
        let images = self.images.as_ref()?;
        Some(
            images
                .iter()
                .any(|i| i.id == id || i.tags.iter().any(|t| t == reference)),
        )
    }
}

impl Snapshot {
    pub fn network(&self, name: &str) -> Option<&Network> {
        self.networks.iter().find(|n| n.name == name)
    }

    /// Containers with an endpoint on `network`, running or not.
    pub fn attached_to<'a>(&'a self, network: &'a str) -> impl Iterator<Item = &'a Container> {
        self.containers
            .iter()
            .filter(move |c| c.networks.contains_key(network))
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Network {
    pub id: String,
    pub name: String,
    pub driver: String,
    pub internal: bool,
    pub attachable: bool,
    /// IPAM pools as the daemon reports them (IPv4 and IPv6 alike).
    pub ipam: Vec<IpamPool>,
    pub enable_ipv6: bool,
    /// Driver options, the daemon's own defaults included.
    pub options: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
    /// The IPAM driver (`default` unless another was asked for; empty when
    /// the daemon did not say).
    pub ipam_driver: String,
    /// The IPAM driver's options.
    pub ipam_options: BTreeMap<String, String>,
    /// `local`, `swarm` or `global` (empty when the daemon did not say).
    pub scope: String,
    /// A configuration-only network (`docker network create --config-only`).
    pub config_only: bool,
    /// The configuration-only network this one takes its configuration
    /// from (`--config-from`); empty when none.
    pub config_from: String,
}

impl Network {
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels.get(key).map(String::as_str)
    }

    /// Created by a berth whose `settings.owner` is `owner`.
    pub fn owned_by(&self, owner: &str) -> bool {
        self.label(labels::MANAGED) == Some("true") && self.label(labels::OWNER) == Some(owner)
    }

    /// Networks Docker provides itself; never destinations' business to remove.
    pub fn is_predefined(&self) -> bool {
        matches!(self.name.as_str(), "bridge" | "host" | "none")
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct IpamPool {
    pub subnet: Option<IpNet>,
    pub gateway: Option<IpAddr>,
    pub ip_range: Option<IpNet>,
    /// Addresses of the pool kept from containers (`--aux-address`), by name.
    pub aux_addresses: BTreeMap<String, IpAddr>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Container {
    pub id: String,
    /// Without Docker's leading `/`.
    pub name: String,
    pub image: String,
    pub image_id: String,
    pub running: bool,
    /// Docker's state word: `running`, `exited`, `restarting`, `created`,
    /// `paused`, `dead` (empty when unknown).
    pub state: String,
    /// Docker's own summary from the list call: `Up 3 hours (healthy)`,
    /// `Exited (0) 2 days ago`.
    pub status: String,
    pub labels: BTreeMap<String, String>,
    /// Network name → endpoint.
    pub networks: BTreeMap<String, Endpoint>,
    /// Environment as `(name, value)`, when the container was inspected.
    /// Values stay in memory: no output ever shows them.
    pub env: Option<Vec<(String, String)>>,
    /// Mounts and published ports, when the container was inspected.
    pub mounts: Option<Vec<Mount>>,
    pub ports: Option<Vec<String>>,
}

impl Container {
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels.get(key).map(String::as_str)
    }

    /// Docker's health check verdict, as the list call's status tells it:
    /// `healthy`, `unhealthy`, `starting`; `None` without a health check.
    pub fn health(&self) -> Option<&'static str> {
        let s = self.status.as_str();
        if s.contains("(healthy)") {
            Some("healthy")
        } else if s.contains("(unhealthy)") {
            Some("unhealthy")
        } else if s.contains("(health: starting)") {
            Some("starting")
        } else {
            None
        }
    }

    /// How long it has been up, as Docker says it (`3 hours`), when running.
    pub fn uptime(&self) -> Option<&str> {
        let rest = self.status.strip_prefix("Up ")?;
        let up = rest.split(" (").next().unwrap_or(rest).trim();
        // Docker capitalises the words that follow "Up" in these three.
        Some(match up {
            "Less than a second" => "less than a second",
            "About a minute" => "about a minute",
            "About an hour" => "about an hour",
            other => other,
        })
    }

    /// What its endpoint on `network` asked for. `None` when not inspected.
    pub fn requested_on(&self, network: &str) -> Option<&Requested> {
        self.networks.get(network)?.requested.as_ref()
    }

    /// Aliases on `network` as a user set them: without the short container
    /// id Docker adds by itself. `None` when not inspected.
    pub fn aliases_on(&self, network: &str) -> Option<Vec<String>> {
        let aliases = self.networks.get(network)?.aliases.as_ref()?;
        Some(
            aliases
                .iter()
                .filter(|a| !is_short_id(&self.id, a))
                .cloned()
                .collect(),
        )
    }
}

/// The `/containers/{id}/json` details berth needs for some containers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Inspected {
    pub env: Vec<(String, String)>,
    /// Network name → aliases.
    pub aliases: BTreeMap<String, Vec<String>>,
    /// Network name → what the endpoint asked for.
    pub requested: BTreeMap<String, Requested>,
    pub mounts: Vec<Mount>,
    /// Published host ports, as `host_ip:host_port->port/proto`.
    pub ports: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mount {
    /// A named volume (anonymous ones have generated names and are skipped).
    Volume { name: String, path: String },
    /// A host path.
    Bind { source: String, path: String },
}

impl Snapshot {
    /// Merges inspect results (by container name) into the snapshot; a
    /// container whose inspect found it gone (`None`) leaves the snapshot.
    pub fn enrich(&mut self, details: BTreeMap<String, Option<Inspected>>) {
        self.containers
            .retain(|c| !matches!(details.get(&c.name), Some(None)));
        for c in &mut self.containers {
            if let Some(Some(d)) = details.get(&c.name) {
                c.env = Some(d.env.clone());
                c.mounts = Some(d.mounts.clone());
                c.ports = Some(d.ports.clone());
                for (net, ep) in &mut c.networks {
                    ep.aliases = Some(d.aliases.get(net).cloned().unwrap_or_default());
                    ep.requested = Some(d.requested.get(net).cloned().unwrap_or_default());
                }
            }
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Endpoint {
    /// Aliases when known: the container list call does not report them
    /// (Docker 20.10); an inspect does.
    pub aliases: Option<Vec<String>>,
    /// What the endpoint asked Docker for (its `IPAMConfig` and
    /// `DriverOpts`) when known: an inspect tells it; the list call on
    /// Engine 20.10 leaves out what a `network connect` asked for.
    pub requested: Option<Requested>,
}

/// An endpoint's requested settings, as `docker network connect --ip --ip6
/// --link-local-ip --driver-opt` set them (not the addresses the daemon
/// chose on its own).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Requested {
    pub ipv4_address: Option<IpAddr>,
    pub ipv6_address: Option<IpAddr>,
    pub link_local_ips: Vec<IpAddr>,
    pub driver_opts: BTreeMap<String, String>,
}

impl Snapshot {
    /// A digest of each object the planner reads (`network:<name>`,
    /// `container:<name>`, `images`), so a saved plan can tell what changed
    /// since it was made. Env values are not part of it.
    pub fn fingerprint(&self) -> BTreeMap<String, String> {
        use sha2::{Digest, Sha256};
        let digest = |text: String| {
            let hash = Sha256::digest(text.as_bytes());
            hash.iter()
                .take(8)
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        };
        let mut out = BTreeMap::new();
        for n in &self.networks {
            let ipam: Vec<String> = n
                .ipam
                .iter()
                .map(|p| format!("{:?}/{:?}", p.subnet, p.gateway))
                .collect();
            out.insert(
                format!("network:{}", n.name),
                digest(format!(
                    "{}|{}|{}|{}|{:?}|{:?}",
                    n.id, n.driver, n.internal, n.attachable, ipam, n.labels
                )),
            );
        }
        for c in &self.containers {
            let nets: Vec<String> = c
                .networks
                .iter()
                .map(|(k, e)| format!("{k}={:?}/{:?}", e.aliases, e.requested))
                .collect();
            out.insert(
                format!("container:{}", c.name),
                digest(format!(
                    "{}|{}|{}|{:?}|{:?}|{:?}|{:?}",
                    c.id, c.image_id, c.running, c.labels, nets, c.mounts, c.ports
                )),
            );
        }
        if let Some(images) = &self.images {
            let mut ids: Vec<&String> = images.iter().map(|i| &i.id).collect();
            ids.sort();
            out.insert("images".to_string(), digest(format!("{ids:?}")));
        }
        out
    }
}

/// What differs between two fingerprints of one server: `container pg
/// (changed)`, `network n (added)`.
pub fn fingerprint_changes(
    saved: &BTreeMap<String, String>,
    now: &BTreeMap<String, String>,
) -> Vec<String> {
    let show = |key: &str, what: &str| format!("{} ({what})", key.replacen(':', " ", 1));
    let mut out = Vec::new();
    for (k, v) in now {
        match saved.get(k) {
            None => out.push(show(k, "appeared")),
            Some(old) if old != v => out.push(show(k, "changed")),
            Some(_) => {}
        }
    }
    for k in saved.keys().filter(|k| !now.contains_key(*k)) {
        out.push(show(k, "gone"));
    }
    out
}

/// Docker (before API 1.44) adds the container's 12-character short id as
/// an alias by itself; it is not one a user set.
pub fn is_short_id(container_id: &str, alias: &str) -> bool {
    alias.len() == 12 && container_id.starts_with(alias)
}

#[cfg(test)]
mod tests {
    use super::{Container, is_short_id};

    #[test]
    fn uptime_reads_as_a_phrase_after_up() {
        let up = |status: &str| {
            Container {
                status: status.into(),
                ..Default::default()
            }
            .uptime()
            .map(str::to_string)
        };
        assert_eq!(up("Up 3 hours (healthy)").as_deref(), Some("3 hours"));
        assert_eq!(
            up("Up Less than a second").as_deref(),
            Some("less than a second")
        );
        assert_eq!(up("Up About a minute").as_deref(), Some("about a minute"));
        assert_eq!(up("Exited (0) 2 minutes ago"), None);
    }

    #[test]
    fn only_the_twelve_character_id_prefix_is_dockers_own_alias() {
        let id = "dbcafe0123456789abcdef";
        assert!(is_short_id(id, "dbcafe012345"));
        assert!(
            !is_short_id(id, "db"),
            "a user's alias that happens to prefix the id"
        );
        assert!(!is_short_id(id, "dbcafe0123456"));
    }
}
