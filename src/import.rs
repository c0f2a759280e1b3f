//! `berth import`: TOML for what runs on a server now, so a fleet that
//! Coolify, hand-run `docker` commands or berth itself set up can be brought
//! under (or back under) berth. Pure: a snapshot in, config text out,
//! written through `toml`'s serialiser.
//!
//! Everything berth can declare comes back: destinations by the name berth
//! labelled their network with, every network property a destination has,
//! applications and databases (Coolify's by their id labels), compose stacks
//! with `connect_to_predefined_networks` and `short_aliases`, and clones as
//! clones (from the `berth.*` labels on the copies berth made).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::config::{Address, DEFAULT_DRIVER, DEFAULT_OWNER, PARENT_OPTION, ResourceKind, Server};
use crate::live::swarm::Service;
use crate::live::{Container, Network, Snapshot, labels};

/// Networks that can be destinations: user-defined, not a compose stack's
/// own network, not Docker's or swarm's.
pub fn destination_networks(live: &Snapshot) -> Vec<&Network> {
    let mut nets: Vec<&Network> = live
        .networks
        .iter()
        .filter(|n| !n.is_predefined() && !matches!(n.name.as_str(), "ingress" | "docker_gwbridge"))
        .filter(|n| n.label("com.docker.compose.network").is_none())
        .collect();
    nets.sort_by(|a, b| a.name.cmp(&b.name));
    nets
}

/// Containers whose aliases the import needs (those on destination networks).
pub fn inspections(live: &Snapshot) -> Vec<String> {
    let nets: Vec<&str> = destination_networks(live)
        .iter()
        .map(|n| n.name.as_str())
        .collect();
    live.containers
        .iter()
        .filter(|c| c.networks.keys().any(|n| nets.contains(&n.as_str())))
        .map(|c| c.name.clone())
        .collect()
}

// ---------------------------------------------------------------------------
// The config file as import writes it
// ---------------------------------------------------------------------------

#[derive(Serialize, Default)]
struct Document {
    settings: Settings,
    server: Vec<ServerTable>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    destination: Vec<DestinationTable>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    application: Vec<ResourceTable>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    database: Vec<ResourceTable>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    service: Vec<ServiceTable>,
}

#[derive(Serialize, Default)]
struct Settings {
    owner: String,
}

#[derive(Serialize, Clone, PartialEq)]
struct ServerTable {
    name: String,
    address: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tags: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    docker_socket: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    identity_file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    known_hosts_file: Option<String>,
}

#[derive(Serialize, Clone, PartialEq)]
struct DestinationTable {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    server: Option<String>,
    /// A network with this name and spec on several servers: one table.
    #[serde(skip_serializing_if = "Option::is_none")]
    servers: Option<ServersValue>,
    network: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    driver: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    internal: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    attachable: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    subnet: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    gateway: Option<String>,
    /// Several servers' networks from one pool (`berth.subnet_pool`).
    #[serde(skip_serializing_if = "Option::is_none")]
    subnet_pool: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    subnet_prefix: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ip_range: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    enable_ipv6: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    subnet_v6: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    gateway_v6: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    extra_pools: Vec<PoolValue>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    aux_addresses: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ipam_driver: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    ipam_options: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    config_only: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    config_from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parent: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    options: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    labels: BTreeMap<String, String>,
    /// The guard berth recorded on the network (`berth.prevent_removal`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    prevent_removal: bool,
    /// The `berth.subnet_pool` label of the network: a fleet import
    /// groups networks of one pool whatever their subnets.
    #[serde(skip)]
    pool_label: Option<String>,
}

/// One pool of `extra_pools`.
#[derive(Serialize, Clone, PartialEq)]
struct PoolValue {
    subnet: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    gateway: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ip_range: Option<String>,
}

/// `servers = "*"` or `servers = [...]`.
#[derive(Serialize, Clone, PartialEq)]
#[serde(untagged)]
enum ServersValue {
    All(String),
    Listed(Vec<String>),
}

/// `[[application]]` / `[[database]]`
#[derive(Serialize, Clone, PartialEq)]
struct ResourceTable {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    destination: Option<String>,
    /// A container several destinations share (the same aliases on each).
    #[serde(skip_serializing_if = "Option::is_none")]
    destinations: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    container: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    swarm_service: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    match_labels: Option<BTreeMap<String, String>>,
    aliases: Vec<String>,
    #[serde(flatten)]
    endpoint: EndpointKeys,
    #[serde(skip_serializing_if = "Option::is_none")]
    clone_of: Option<String>,
}

/// What an endpoint asked for beyond aliases, as the config writes it
/// (`ipv4_address`, …): only what the endpoint set.
#[derive(Serialize, Clone, PartialEq, Default)]
struct EndpointKeys {
    #[serde(skip_serializing_if = "Option::is_none")]
    ipv4_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ipv6_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    link_local_ips: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    driver_opts: Option<BTreeMap<String, String>>,
}

impl EndpointKeys {
    /// The keys of `c`'s endpoint on `network`; static addresses only when
    /// `addresses` (one container on one destination).
    fn of(c: &Container, network: &str, addresses: bool) -> EndpointKeys {
        let Some(r) = c.requested_on(network) else {
            return EndpointKeys::default();
        };
        let addresses = addresses.then_some(r);
        EndpointKeys {
            ipv4_address: addresses.and_then(|r| r.ipv4_address.map(|a| a.to_string())),
            ipv6_address: addresses.and_then(|r| r.ipv6_address.map(|a| a.to_string())),
            link_local_ips: addresses
                .filter(|r| !r.link_local_ips.is_empty())
                .map(|r| r.link_local_ips.iter().map(ToString::to_string).collect()),
            driver_opts: (!r.driver_opts.is_empty()).then(|| r.driver_opts.clone()),
        }
    }

    fn is_empty(&self) -> bool {
        *self == EndpointKeys::default()
    }
}

/// `[[service]]`: a compose stack.
#[derive(Serialize, Clone, PartialEq)]
struct ServiceTable {
    name: String,
    destination: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    project: Option<String>,
    connect_to_predefined_networks: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    short_aliases: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    clone_of: Option<String>,
    /// By compose service: what its endpoint asked for beyond aliases.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    attachments: BTreeMap<String, EndpointKeys>,
}

// ---------------------------------------------------------------------------
// What runs, sorted into the things a config declares
// ---------------------------------------------------------------------------

const COOLIFY_MANAGED: &str = "coolify.managed";
const COOLIFY_PULL_REQUEST: &str = "coolify.pullRequestId";
/// Driver options the daemon sets by itself (never a user's choice).
const DAEMON_OPTIONS: &[&str] = &["com.docker.network.driver.overlay.vxlanid_list"];

/// A destination: a network, and the name the config gives it.
struct Dest<'a> {
    name: String,
    net: &'a Network,
}

/// How a resource picks its containers.
enum Pick<'a> {
    /// One container by name.
    Named(&'a Container),
    /// Coolify's: by its id label (and pull request 0).
    Labels(BTreeMap<String, String>),
    /// A compose project (or a `docker stack deploy` stack).
    Stack(&'a str),
    /// A swarm service, by name.
    Swarm(&'a Service),
}

/// One thing the config will declare: an application, a database or a
/// stack, with its containers.
struct Unit<'a> {
    kind: ResourceKind,
    /// The name it asks for (made unique when the tables are written).
    base: String,
    pick: Pick<'a>,
    containers: Vec<&'a Container>,
    /// Swarm services (on a manager): the unit's, or its stack's.
    services: Vec<&'a Service>,
    /// A copy berth made: the source's name (`berth.clone-of`) and the
    /// destination it was made for (`berth.destination`).
    clone: Option<(String, String)>,
    /// A clone names it as its source: it keeps one destination.
    source: bool,
}

impl Unit<'_> {
    fn is_clone(&self) -> bool {
        self.clone.is_some()
    }

    /// Does a container or service of it join `network`?
    fn on(&self, network: &str) -> bool {
        self.containers
            .iter()
            .any(|c| c.networks.contains_key(network))
            || self
                .services
                .iter()
                .any(|s| s.aliases_on(network).is_some())
    }

    /// Its aliases on `network`, as the first of its containers or
    /// services there has them.
    fn aliases_on(&self, network: &str) -> Vec<String> {
        let services = self
            .services
            .iter()
            .find_map(|s| s.aliases_on(network).map(<[String]>::to_vec));
        self.containers
            .iter()
            .find_map(|c| c.aliases_on(network))
            .or(services)
            .unwrap_or_default()
    }

    /// A stack's members on `network` that answer to their compose
    /// service's name alone there too.
    fn short_aliases_on(&self, network: &str, project: &str) -> bool {
        let containers = self.containers.iter().any(|c| {
            let service = c.label(labels::COMPOSE_SERVICE).unwrap_or(&c.name);
            c.aliases_on(network)
                .is_some_and(|a| a.iter().any(|a| a == service))
        });
        let services = self.services.iter().any(|s| {
            let service = s
                .name
                .strip_prefix(&format!("{project}_"))
                .unwrap_or(&s.name);
            s.aliases_on(network)
                .is_some_and(|a| a.iter().any(|a| a == service))
        });
        containers || services
    }
}

/// `application` or `database`: berth's `berth.kind` on its copies, else
/// Coolify's `coolify.type`.
fn kind_of(c: &Container) -> ResourceKind {
    match c.label(labels::KIND).or(c.label(labels::COOLIFY_TYPE)) {
        Some("database") => ResourceKind::Database,
        _ => ResourceKind::Application,
    }
}

/// Coolify's id label of a container it manages: (`coolify.applicationId`
/// or `coolify.databaseId`, its value).
fn coolify_id(c: &Container) -> Option<(&'static str, &str)> {
    if c.label(COOLIFY_MANAGED) != Some("true") {
        return None;
    }
    let key = match c.label(labels::COOLIFY_TYPE)? {
        "application" => "coolify.applicationId",
        "database" => "coolify.databaseId",
        _ => return None,
    };
    Some((key, c.label(key)?))
}

/// A copy berth made for a resource: its (source, destination) labels.
fn clone_labels(c: &Container) -> Option<(String, String)> {
    copy_of(&c.labels)
}

/// The (source, destination) of a copy berth made, from its labels.
fn copy_of(l: &BTreeMap<String, String>) -> Option<(String, String)> {
    l.get(labels::RESOURCE)?;
    let source = l.get(labels::CLONE_OF)?;
    Some((
        clean(source),
        l.get(labels::DESTINATION).cloned().unwrap_or_default(),
    ))
}

/// The containers of `live` as units, sorted: stacks by project, Coolify's
/// resources by id, the rest (and berth's copies) by name. Preview
/// deployments are left out, with a note.
fn units<'a>(live: &'a Snapshot, notes: &mut Vec<String>) -> Vec<Unit<'a>> {
    let mut stacks: BTreeMap<&str, Vec<&Container>> = BTreeMap::new();
    let mut coolify: BTreeMap<(ResourceKind, &str, &str), Vec<&Container>> = BTreeMap::new();
    let mut out = Vec::new();
    // A swarm task's container is its service's: the service is the unit.
    for c in live
        .containers
        .iter()
        .filter(|c| c.label(labels::SWARM_SERVICE).is_none())
    {
        let project = c.label(labels::COMPOSE_PROJECT);
        match (coolify_id(c), project) {
            (None, Some(project)) => stacks.entry(project).or_default().push(c),
            (Some(_), _) if c.label(COOLIFY_PULL_REQUEST).is_some_and(|p| p != "0") => {
                notes.push(format!(
                    "{}: a preview deployment (coolify.pullRequestId={}); its resource selects pull request 0 only",
                    c.name,
                    c.label(COOLIFY_PULL_REQUEST).unwrap_or_default()
                ));
            }
            (Some((key, id)), _) if clone_labels(c).is_none() => {
                coolify.entry((kind_of(c), key, id)).or_default().push(c)
            }
            _ => out.push(single(c)),
        }
    }
    out.extend(coolify.into_iter().map(|(k, group)| coolify_unit(k, group)));
    out.extend(stacks.into_iter().map(|(p, group)| stack_unit(p, group)));
    out.extend(swarm_units(live));
    out.sort_by(|a, b| (a.kind, &a.base).cmp(&(b.kind, &b.base)));
    out
}

fn single(c: &Container) -> Unit<'_> {
    let clone = clone_labels(c);
    Unit {
        kind: kind_of(c),
        base: match &clone {
            Some(_) => c.label(labels::RESOURCE).unwrap_or(&c.name).to_string(),
            None => c.name.clone(),
        },
        pick: Pick::Named(c),
        containers: vec![c],
        services: Vec::new(),
        clone,
        source: false,
    }
}

/// One resource per Coolify id, selected by that id (a redeploy's new
/// `<uuid>-<timestamp>` container stays selected).
fn coolify_unit<'a>(
    (kind, key, id): (ResourceKind, &str, &str),
    group: Vec<&'a Container>,
) -> Unit<'a> {
    let mut selector = BTreeMap::from([(key.to_string(), id.to_string())]);
    if group
        .iter()
        .any(|c| c.label(COOLIFY_PULL_REQUEST).is_some())
    {
        selector.insert(COOLIFY_PULL_REQUEST.to_string(), "0".to_string());
    }
    Unit {
        kind,
        base: group
            .iter()
            .find_map(|c| c.label(labels::COOLIFY_NAME))
            .unwrap_or(id)
            .to_string(),
        pick: Pick::Labels(selector),
        containers: group,
        services: Vec::new(),
        clone: None,
        source: false,
    }
}

/// A compose project; berth's copy of a stack carries its resource name.
fn stack_unit<'a>(project: &'a str, group: Vec<&'a Container>) -> Unit<'a> {
    let clone = group.iter().find_map(|c| clone_labels(c));
    let base = match &clone {
        Some(_) => group
            .iter()
            .find_map(|c| c.label(labels::RESOURCE))
            .unwrap_or(project),
        None => project,
    };
    Unit {
        kind: ResourceKind::Stack,
        base: base.to_string(),
        pick: Pick::Stack(project),
        containers: group,
        services: Vec::new(),
        clone,
        source: false,
    }
}

/// On a swarm manager: each `docker stack deploy` stack, and each other
/// service, by name (berth's copy of one by its resource name).
fn swarm_units(live: &Snapshot) -> Vec<Unit<'_>> {
    let Some(swarm) = &live.swarm else {
        return Vec::new();
    };
    let mut stacks: BTreeMap<&str, Vec<&Service>> = BTreeMap::new();
    let mut out = Vec::new();
    for s in &swarm.services {
        if let Some(project) = s.stack() {
            stacks.entry(project).or_default().push(s);
            continue;
        }
        let clone = copy_of(&s.labels);
        out.push(Unit {
            kind: match s.label(labels::KIND) {
                Some("database") => ResourceKind::Database,
                _ => ResourceKind::Application,
            },
            base: match &clone {
                Some(_) => s.label(labels::RESOURCE).unwrap_or(&s.name).to_string(),
                None => s.name.clone(),
            },
            pick: Pick::Swarm(s),
            containers: Vec::new(),
            services: vec![s],
            clone,
            source: false,
        });
    }
    out.extend(stacks.into_iter().map(|(project, services)| Unit {
        kind: ResourceKind::Stack,
        base: project.to_string(),
        pick: Pick::Stack(project),
        containers: Vec::new(),
        services,
        clone: None,
        source: false,
    }));
    out
}

// ---------------------------------------------------------------------------
// Clones: their sources by the name the copies recorded
// ---------------------------------------------------------------------------

/// What a copy shares with its source: the image, the environment and the
/// labels (berth's and compose's aside); for stacks, the compose services.
fn likeness(u: &Unit<'_>) -> Vec<String> {
    let mut out: Vec<String> = u
        .containers
        .iter()
        .map(|c| match u.kind {
            ResourceKind::Stack => c
                .label(labels::COMPOSE_SERVICE)
                .unwrap_or_default()
                .to_string(),
            _ => {
                let labels: BTreeMap<&String, &String> = c
                    .labels
                    .iter()
                    .filter(|(k, _)| !k.starts_with("berth.") && !k.starts_with("com.docker."))
                    .collect();
                format!("{}|{:?}|{labels:?}", c.image_id, c.env)
            }
        })
        .collect();
    out.extend(u.services.iter().map(|s| {
        let labels: BTreeMap<&String, &String> = s
            .labels
            .iter()
            .filter(|(k, _)| !k.starts_with("berth."))
            .collect();
        format!("{}|{labels:?}", s.image)
    }));
    out.sort();
    out.dedup();
    out
}

/// Gives each clone's source the name (and kind) the clone records
/// (`berth.clone-of`, `berth.kind`): a unit already called so, else the one
/// unit the copy is like. Nothing on a container berth did not make says
/// it is a database: a database's copy says so of its source. A clone whose
/// source cannot be told keeps no `clone_of` (a note says so): the config
/// stays valid.
fn name_sources(units: &mut [Unit<'_>], notes: &mut Vec<String>) {
    let wanted: Vec<(usize, String)> = units
        .iter()
        .enumerate()
        .filter_map(|(i, u)| Some((i, u.clone.as_ref()?.0.clone())))
        .collect();
    for (i, source) in wanted {
        let kind = units[i].kind;
        let stack = |k: ResourceKind| k == ResourceKind::Stack;
        let could_be = |u: &Unit<'_>| !u.is_clone() && stack(u.kind) == stack(kind);
        let named: Vec<usize> = (0..units.len())
            .filter(|&j| could_be(&units[j]) && units[j].base == source)
            .collect();
        let found = match named[..] {
            [j] => Some(j),
            _ if units.iter().any(|u| u.kind == kind && u.base == source) => None,
            _ => {
                let like = likeness(&units[i]);
                let alike: Vec<usize> = (0..units.len())
                    .filter(|&j| could_be(&units[j]) && likeness(&units[j]) == like)
                    .collect();
                match alike[..] {
                    [j] => Some(j),
                    _ => {
                        notes.push(format!(
                            "{kind} {}: a copy of {kind} `{source}`, which does not run here under that name; add `clone_of = \"<its name>\"` to keep it a clone",
                            units[i].base
                        ));
                        units[i].clone = None;
                        None
                    }
                }
            }
        };
        if let Some(j) = found {
            units[j].base = source;
            units[j].kind = kind;
        }
        if units[i].is_clone() {
            let base = units[i].clone.as_ref().map(|(s, _)| s.clone());
            for u in units.iter_mut() {
                if u.kind == kind && !u.is_clone() && Some(&u.base) == base.as_ref() {
                    u.source = true;
                }
            }
        }
    }
    // Sources first, so that each gets the name its clones record.
    units.sort_by_key(|u| u.is_clone());
}

// ---------------------------------------------------------------------------
// Writing the tables
// ---------------------------------------------------------------------------

/// `base` made a name: printable, no spaces, not empty.
fn clean(base: &str) -> String {
    let clean: String = base
        .chars()
        .map(|c| {
            if c.is_control() || c.is_whitespace() {
                '-'
            } else {
                c
            }
        })
        .collect();
    if clean.is_empty() {
        "resource".to_string()
    } else {
        clean
    }
}

/// Resource names as they are handed out: valid and unique per kind.
#[derive(Default)]
struct Names {
    taken: BTreeMap<ResourceKind, BTreeSet<String>>,
}

impl Names {
    /// `base` made a name (printable, no spaces) and unique for `kind`;
    /// taken again on another network, it gets the network's name, then a
    /// number.
    fn take(&mut self, kind: ResourceKind, base: &str, network: &str) -> String {
        let clean = clean(base);
        let taken = self.taken.entry(kind).or_default();
        let mut name = clean.clone();
        if taken.contains(&name) {
            name = format!("{clean}-{network}");
        }
        let mut n = 2;
        while taken.contains(&name) {
            name = format!("{clean}-{network}-{n}");
            n += 1;
        }
        taken.insert(name.clone());
        name
    }
}

/// The destinations of `live`: a network berth created keeps the name its
/// `berth.destination` label records, any other is named after itself.
fn destinations(live: &Snapshot) -> Vec<Dest<'_>> {
    let mut taken = BTreeSet::new();
    let mut out = Vec::new();
    for net in destination_networks(live) {
        let labelled = net
            .label(labels::DESTINATION)
            .filter(|d| !d.trim().is_empty() && !d.chars().any(char::is_control));
        // Network names are unique, but a label may name another network's
        // destination: then the network's own name, then `-2`, `-3`, …
        let candidates = labelled
            .into_iter()
            .map(str::to_string)
            .chain(std::iter::once(net.name.clone()))
            .chain((2..).map(|n| format!("{}-{n}", net.name)));
        let name = candidates
            .into_iter()
            .find(|c| !taken.contains(c))
            .expect("an endless list of names has a free one");
        taken.insert(name.clone());
        out.push(Dest { name, net });
    }
    out
}

fn destination_table(server: &str, d: &Dest<'_>) -> DestinationTable {
    let n = d.net;
    // A network made `config_from` another has that one's IPAM, IPv6 and
    // options: they come back on the configuration network's table.
    let from = (!n.config_from.is_empty()).then(|| n.config_from.clone());
    let own = from.is_none();
    let first = |v6: bool| {
        n.ipam
            .iter()
            .position(|p| p.subnet.is_some_and(|s| s.addr().is_ipv6() == v6))
    };
    let (i4, i6) = (first(false), first(true).filter(|_| n.enable_ipv6));
    let (v4, v6) = if own {
        (i4.map(|i| &n.ipam[i]), i6.map(|i| &n.ipam[i]))
    } else {
        (None, None)
    };
    let extra_pools: Vec<PoolValue> = n
        .ipam
        .iter()
        .enumerate()
        .filter(|(i, _)| own && Some(*i) != i4 && Some(*i) != i6)
        // An IPv6 pool on a network without IPv6 is not one a config gives.
        .filter_map(|(_, p)| {
            p.subnet
                .filter(|s| n.enable_ipv6 || s.addr().is_ipv4())
                .map(|s| (s, p))
        })
        .map(|(s, p)| PoolValue {
            subnet: s.to_string(),
            gateway: p.gateway.map(|g| g.to_string()),
            ip_range: p.ip_range.map(|r| r.to_string()),
        })
        .collect();
    let parent_driver = matches!(n.driver.as_str(), "macvlan" | "ipvlan") || n.config_only;
    let parent = n
        .options
        .get(PARENT_OPTION)
        .filter(|_| own && parent_driver)
        .cloned();
    let default_scope = match n.driver.as_str() {
        "overlay" => Some("swarm"),
        "bridge" | "macvlan" | "ipvlan" | "host" | "null" => Some("local"),
        _ => None,
    };
    DestinationTable {
        name: d.name.clone(),
        server: Some(server.to_string()),
        servers: None,
        network: n.name.clone(),
        driver: (n.driver != DEFAULT_DRIVER && !n.config_only).then(|| n.driver.clone()),
        internal: n.internal,
        attachable: n.attachable,
        subnet: v4.and_then(|p| p.subnet).map(|s| s.to_string()),
        gateway: v4.and_then(|p| p.gateway).map(|g| g.to_string()),
        subnet_pool: None,
        subnet_prefix: None,
        ip_range: v4.and_then(|p| p.ip_range).map(|r| r.to_string()),
        enable_ipv6: own && n.enable_ipv6,
        subnet_v6: v6.and_then(|p| p.subnet).map(|s| s.to_string()),
        gateway_v6: v6.and_then(|p| p.gateway).map(|g| g.to_string()),
        extra_pools,
        aux_addresses: n
            .ipam
            .iter()
            .filter(|_| own)
            .flat_map(|p| p.aux_addresses.iter())
            .map(|(k, v)| (k.clone(), v.to_string()))
            .collect(),
        ipam_driver: (own && !n.ipam_driver.is_empty() && n.ipam_driver != "default")
            .then(|| n.ipam_driver.clone()),
        ipam_options: if own {
            n.ipam_options.clone()
        } else {
            BTreeMap::new()
        },
        scope: (!n.config_only
            && !n.scope.is_empty()
            && default_scope.is_some_and(|s| s != n.scope))
        .then(|| n.scope.clone()),
        config_only: n.config_only,
        config_from: from,
        parent,
        options: n
            .options
            .iter()
            .filter(|_| own)
            .filter(|(k, _)| !DAEMON_OPTIONS.contains(&k.as_str()))
            .filter(|(k, _)| !(parent_driver && k.as_str() == PARENT_OPTION))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        labels: n
            .labels
            .iter()
            .filter(|(k, _)| !k.starts_with("berth."))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        prevent_removal: n.label(labels::PREVENT_REMOVAL) == Some("true"),
        pool_label: n
            .label(labels::SUBNET_POOL)
            .filter(|_| v4.is_some_and(|p| p.ip_range.is_none()))
            .map(str::to_string),
    }
}

fn server_table(server: &Server) -> ServerTable {
    let mut table = ServerTable {
        name: server.name.clone(),
        address: server.address.to_string(),
        tags: server.tags.clone(),
        docker_socket: None,
        identity_file: None,
        known_hosts_file: None,
    };
    if let Address::Ssh {
        docker_socket,
        identity_file,
        known_hosts_file,
        ..
    } = &server.address
    {
        table.docker_socket = Some(docker_socket.clone());
        table.identity_file = identity_file.clone();
        table.known_hosts_file = known_hosts_file.clone();
    }
    table
}

/// The destinations a unit's containers are attached to; a copy berth made
/// first on the destination it was made for, attached or not.
fn unit_destinations<'d, 'a>(u: &Unit<'_>, dests: &'d [Dest<'a>]) -> Vec<&'d Dest<'a>> {
    let made_for = u
        .clone
        .as_ref()
        .and_then(|(_, d)| dests.iter().find(|x| x.name == *d));
    let attached = dests.iter().filter(|d| {
        Some(d.name.as_str()) != made_for.map(|m| m.name.as_str()) && u.on(&d.net.name)
    });
    made_for.into_iter().chain(attached).collect()
}

/// The tables for an application or database: one per destination its
/// containers are on, each with the aliases they have there; one with
/// `destinations` when it has the same aliases on several (neither a clone
/// nor a clone's source: those have one destination).
fn resource_tables(u: &Unit<'_>, dests: &[Dest<'_>], names: &mut Names) -> Vec<ResourceTable> {
    let on = unit_destinations(u, dests);
    let aliases: Vec<Vec<String>> = on.iter().map(|d| u.aliases_on(&d.net.name)).collect();
    let settings = on.iter().any(|d| {
        u.containers
            .iter()
            .any(|c| !EndpointKeys::of(c, &d.net.name, true).is_empty())
    });
    if on.len() > 1
        && !u.is_clone()
        && !u.source
        && !settings
        && aliases.windows(2).all(|w| w[0] == w[1])
    {
        let name = names.take(u.kind, &u.base, &on[0].net.name);
        let all = on.iter().map(|d| d.name.clone()).collect();
        return vec![resource_table(
            u,
            name,
            (None, Some(all)),
            &aliases[0],
            None,
            None,
        )];
    }
    let mut out = Vec::new();
    for (i, (d, aliases)) in on.into_iter().zip(&aliases).enumerate() {
        let name = names.take(u.kind, &u.base, &d.net.name);
        let clone_of = u.clone.as_ref().filter(|_| i == 0).map(|(s, _)| s.clone());
        out.push(resource_table(
            u,
            name,
            (Some(d.name.clone()), None),
            aliases,
            clone_of,
            Some(&d.net.name),
        ));
    }
    out
}

/// One `[[application]]`/`[[database]]` table of `u`.
fn resource_table(
    u: &Unit<'_>,
    name: String,
    (destination, destinations): (Option<String>, Option<Vec<String>>),
    aliases: &[String],
    clone_of: Option<String>,
    network: Option<&str>,
) -> ResourceTable {
    let (container, swarm_service, match_labels) = match &u.pick {
        Pick::Named(c) => ((c.name != name).then(|| c.name.clone()), None, None),
        Pick::Swarm(s) => (None, Some(s.name.clone()), None),
        Pick::Labels(selector) => (None, None, Some(selector.clone())),
        Pick::Stack(_) => (None, None, None),
    };
    // One named container on one destination may keep a static address;
    // a label selector (a redeploy's new container beside the old one) or
    // a shared container may not.
    let endpoint = match (&u.pick, network) {
        (Pick::Named(c), Some(net)) => EndpointKeys::of(c, net, true),
        (Pick::Labels(_), Some(net)) => u
            .containers
            .iter()
            .map(|c| EndpointKeys::of(c, net, false))
            .find(|k| !k.is_empty())
            .unwrap_or_default(),
        _ => EndpointKeys::default(),
    };
    ResourceTable {
        name,
        destination,
        destinations,
        container,
        swarm_service,
        match_labels,
        aliases: aliases.to_vec(),
        endpoint,
        clone_of,
    }
}

/// The table for a compose stack: on the destination it is attached to (or
/// was made for), connected when its containers are there, with short
/// aliases when they answer to their service names there too.
fn service_table(
    u: &Unit<'_>,
    project: &str,
    dests: &[Dest<'_>],
    names: &mut Names,
) -> Option<ServiceTable> {
    let attached = unit_destinations(u, dests);
    let dest = attached.first().copied().or(dests.first())?;
    let name = names.take(u.kind, &u.base, &dest.net.name);
    Some(ServiceTable {
        project: (name != project).then(|| project.to_string()),
        name,
        destination: dest.name.clone(),
        connect_to_predefined_networks: u.on(&dest.net.name),
        short_aliases: u.short_aliases_on(&dest.net.name, project),
        clone_of: u.clone.as_ref().map(|(s, _)| s.clone()),
        attachments: u
            .containers
            .iter()
            .filter_map(|c| {
                let keys = EndpointKeys::of(c, &dest.net.name, true);
                let service = c.label(labels::COMPOSE_SERVICE)?;
                (!keys.is_empty()).then(|| (service.to_string(), keys))
            })
            .collect(),
    })
}

/// The owner to write: the config's, else the one owner of the networks
/// berth created here, else berth's default.
fn owner_of(owner: Option<&str>, live: &Snapshot) -> String {
    if let Some(owner) = owner {
        return owner.to_string();
    }
    let owners: BTreeSet<&str> = live
        .networks
        .iter()
        .filter(|n| n.label(labels::MANAGED) == Some("true"))
        .filter_map(|n| n.label(labels::OWNER))
        .filter(|o| !o.is_empty() && !o.chars().any(char::is_whitespace))
        .collect();
    match owners.into_iter().collect::<Vec<_>>()[..] {
        [one] => one.to_string(),
        _ => DEFAULT_OWNER.to_string(),
    }
}

/// The whole config for `server` as its snapshot shows it. `owner` is the
/// config's `settings.owner`; `None` (no config) takes the one owner of the
/// networks berth created there.
pub fn import(owner: Option<&str>, server: &Server, live: &Snapshot) -> String {
    let (doc, notes) = document(owner, server, live);
    render(&server.name, &doc, &notes)
}

/// The config of one server, and the notes about it.
fn document(owner: Option<&str>, server: &Server, live: &Snapshot) -> (Document, Vec<String>) {
    let mut notes = Vec::new();
    let dests = destinations(live);
    let mut units = units(live, &mut notes);
    name_sources(&mut units, &mut notes);
    let mut doc = Document {
        settings: Settings {
            owner: owner_of(owner, live),
        },
        server: vec![server_table(server)],
        destination: dests
            .iter()
            .map(|d| destination_table(&server.name, d))
            .collect(),
        application: Vec::new(),
        database: Vec::new(),
        service: Vec::new(),
    };
    let mut names = Names::default();
    for u in &units {
        add(&mut doc, u, &dests, &mut names, &mut notes);
    }
    (doc, notes)
}

/// Adds the tables of one unit to the document.
fn add(
    doc: &mut Document,
    u: &Unit<'_>,
    dests: &[Dest<'_>],
    names: &mut Names,
    notes: &mut Vec<String>,
) {
    match (&u.pick, u.kind) {
        (Pick::Stack(project), _) => match service_table(u, project, dests, names) {
            Some(table) => doc.service.push(table),
            None => notes.push(format!(
                "compose project {project}: no destination network on this server to assign it to"
            )),
        },
        (_, ResourceKind::Database) => doc.database.extend(resource_tables(u, dests, names)),
        _ => doc.application.extend(resource_tables(u, dests, names)),
    }
}

fn render(server: &str, doc: &Document, notes: &[String]) -> String {
    let mut out = format!(
        "#:schema ./schemas/berth.schema.json\n# What runs on server {server} now (berth import).\n# `berth plan` with this config shows no changes for this server.\n"
    );
    finish(out.split_off(0), doc, notes)
}

fn finish(mut out: String, doc: &Document, notes: &[String]) -> String {
    for note in notes {
        // A TOML comment holds no control character but tab; notes quote
        // label values, which anyone can set.
        let line = labels::printable(note);
        out.push_str(&format!("# {line}\n"));
    }
    out.push('\n');
    out.push_str(&toml::to_string(doc).expect("import tables serialize as TOML"));
    out
}

mod fleet;
pub use fleet::import_fleet;

#[cfg(test)]
mod tests;
