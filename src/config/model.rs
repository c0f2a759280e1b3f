//! The validated config: plain data the planner reads. Every entity keeps the
//! place it was declared, so later errors can point at it.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::diag::Location;

pub const DEFAULT_OWNER: &str = "berth";
pub const DEFAULT_DRIVER: &str = "bridge";
pub const DEFAULT_DOCKER_SOCKET: &str = "/var/run/docker.sock";
/// How long an idle SSH connection stays for the next run by default
/// (Ansible's `ControlPersist=60s`).
pub const DEFAULT_SSH_PERSIST: Duration = Duration::from_secs(60);
/// The longest `ssh_persist`.
pub const MAX_SSH_PERSIST: Duration = Duration::from_secs(24 * 3600);

#[derive(Debug, Clone)]
pub struct Config {
    /// `settings.owner`: the `berth.owner` label value.
    pub owner: String,
    /// `settings.partial`: `apply` applies every server it can, skipping
    /// (and naming) the others, as `apply --partial` does.
    pub partial: bool,
    /// `settings.strict`: a declared resource that matches nothing is a
    /// plan error, not a warning.
    pub strict: bool,
    /// `settings.ssh_persist`: how long an idle SSH connection stays for
    /// the next run to reuse (zero: off).
    pub ssh_persist: Duration,
    pub servers: Vec<Server>,
    pub destinations: Vec<Destination>,
    /// Applications and databases.
    pub resources: Vec<Resource>,
    /// Compose stacks (`[[service]]` tables, Coolify's word).
    pub stacks: Vec<Stack>,
    /// `[[alert]]` tables: where `watch` notifies what it cannot heal.
    pub alerts: Vec<super::Alert>,
    /// Which `destinations` live on each server, built on first use.
    pub by_server: ServerIndex,
}

/// The positions in `Config::destinations` of each server's destinations.
/// The planner asks for a server's destinations once per resource; a scan
/// of every destination each time made a plan of S servers, each with its
/// own resources and destinations, cost S³. Built on the first
/// [`Config::destinations_on`], so `destinations` must not change after
/// that; a clone starts unbuilt.
#[derive(Debug, Default)]
pub struct ServerIndex(OnceLock<HashMap<String, Vec<usize>>>);

impl Clone for ServerIndex {
    fn clone(&self) -> Self {
        ServerIndex::default()
    }
}

impl Config {
    pub fn server(&self, name: &str) -> Option<&Server> {
        self.servers.iter().find(|s| s.name == name)
    }

    /// The destination `name`: its first network when it is declared over
    /// a set of servers (`servers`), where it has one per server; use
    /// [`Config::destination_on`] or [`Config::instances`] there.
    pub fn destination(&self, name: &str) -> Option<&Destination> {
        self.destinations.iter().find(|d| d.name == name)
    }

    /// The destination `name`, if it lives on `server`.
    pub fn destination_on(&self, name: &str, server: &str) -> Option<&Destination> {
        self.positions(server)
            .iter()
            .map(|&i| &self.destinations[i])
            .find(|d| d.name == name)
    }

    /// Every network of the destination `name`: one per server it lives on.
    pub fn instances<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Destination> {
        self.destinations.iter().filter(move |d| d.name == name)
    }

    /// Every tag some server carries, sorted, each once.
    pub fn tags(&self) -> Vec<&str> {
        let mut tags: Vec<&str> = self
            .servers
            .iter()
            .flat_map(|s| s.tags.iter().map(String::as_str))
            .collect();
        tags.sort_unstable();
        tags.dedup();
        tags
    }

    pub fn destinations_on<'a>(&'a self, server: &'a str) -> impl Iterator<Item = &'a Destination> {
        self.positions(server)
            .iter()
            .map(|&i| &self.destinations[i])
    }

    /// Where `server`'s destinations sit in `destinations`, in config order.
    fn positions(&self, server: &str) -> &[usize] {
        let index = self.by_server.0.get_or_init(|| {
            let mut index: HashMap<String, Vec<usize>> = HashMap::new();
            for (i, d) in self.destinations.iter().enumerate() {
                index.entry(d.server.clone()).or_default().push(i);
            }
            index
        });
        index.get(server).map_or(&[], Vec::as_slice)
    }
}

#[derive(Debug, Clone)]
pub struct Server {
    pub name: String,
    pub address: Address,
    /// `tags`: the groups it belongs to (`servers = ["tag:web"]`).
    pub tags: Vec<String>,
    pub at: Location,
}

/// How berth reaches a server's Docker daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    /// `local`: `$DOCKER_HOST` when it is `unix://`, else the default socket.
    Local,
    /// `unix:///path/docker.sock`
    Unix(PathBuf),
    /// `ssh://user@host:port`, with the socket path on the server.
    Ssh {
        user: Option<String>,
        host: String,
        port: Option<u16>,
        docker_socket: String,
        identity_file: Option<String>,
        known_hosts_file: Option<String>,
    },
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Local => f.write_str("local"),
            Address::Unix(p) => write!(f, "unix://{}", p.display()),
            Address::Ssh {
                user, host, port, ..
            } => {
                f.write_str("ssh://")?;
                if let Some(u) = user {
                    write!(f, "{u}@")?;
                }
                f.write_str(host)?;
                if let Some(p) = port {
                    write!(f, ":{p}")?;
                }
                Ok(())
            }
        }
    }
}

/// The network properties berth manages. Docker cannot change any of them on
/// an existing network.
///
/// A property left unset (an empty map) is the daemon's choice and never
/// drift; a value given, `false` included, is compared and enforced.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct NetworkSpec {
    pub driver: String,
    pub internal: bool,
    pub attachable: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub subnet: Option<IpNet>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub gateway: Option<IpAddr>,
    /// The part of `subnet` container addresses come from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub ip_range: Option<IpNet>,
    /// Unset: the daemon's choice (never drift); `false` is enforced as
    /// much as `true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_ipv6: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub subnet_v6: Option<IpNet>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub gateway_v6: Option<IpAddr>,
    /// IPAM pools beyond the first of each family (`subnet`, `subnet_v6`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_pools: Vec<Pool>,
    /// Addresses kept from containers, by name; each in one of the pools.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(with = "BTreeMap<String, String>")]
    pub aux_addresses: BTreeMap<String, IpAddr>,
    /// The IPAM driver; unset: Docker's `default`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipam_driver: Option<String>,
    /// IPAM driver options the config names.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ipam_options: BTreeMap<String, String>,
    /// `local` or `swarm`; unset: the driver's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// A configuration-only network: it holds IPAM and options for
    /// networks made `config_from` it, and no container ever joins it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub config_only: bool,
    /// The configuration-only network this one takes its IPAM and options from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_from: Option<String>,
    /// macvlan / ipvlan: the host interface (the `parent` driver option).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// Driver options the config names.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
    /// The user's labels (berth adds its own on creation).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// The `subnet_pool` `subnet` was allocated from, recorded on the
    /// network as the `berth.subnet_pool` label when berth creates it;
    /// never compared with a live network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub subnet_pool: Option<IpNet>,
    /// `prevent_removal = true`, recorded on the network as the
    /// `berth.prevent_removal` label when berth creates it; never compared
    /// with a live network.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub prevent_removal: bool,
}

/// What a container's endpoint on a destination network asks of Docker
/// beyond its aliases (`docker network connect --ip --ip6 --link-local-ip
/// --driver-opt`). `None` is the daemon's choice and never compared; a
/// value, an empty list or map included, is enforced.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub ipv4_address: Option<std::net::Ipv4Addr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub ipv6_address: Option<std::net::Ipv6Addr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<Vec<String>>")]
    pub link_local_ips: Option<Vec<IpAddr>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver_opts: Option<BTreeMap<String, String>>,
}

impl EndpointSpec {
    /// Nothing asked for: the daemon's choice for everything.
    pub fn is_empty(&self) -> bool {
        *self == EndpointSpec::default()
    }

    /// Static addresses (IPv4, IPv6, link-local): each must be unique on
    /// its network.
    pub fn addresses(&self) -> Vec<IpAddr> {
        self.ipv4_address
            .map(IpAddr::V4)
            .into_iter()
            .chain(self.ipv6_address.map(IpAddr::V6))
            .chain(self.link_local_ips.iter().flatten().copied())
            .collect()
    }

    /// `ipv4 10.0.0.5, driver_opts {a=b}`, for plan text; empty when nothing
    /// is asked for.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(a) = self.ipv4_address {
            parts.push(format!("ipv4 {a}"));
        }
        if let Some(a) = self.ipv6_address {
            parts.push(format!("ipv6 {a}"));
        }
        if let Some(l) = &self.link_local_ips {
            let l: Vec<String> = l.iter().map(ToString::to_string).collect();
            parts.push(format!("link-local [{}]", l.join(", ")));
        }
        if let Some(o) = &self.driver_opts {
            let o: Vec<String> = o.iter().map(|(k, v)| format!("{k}={v}")).collect();
            parts.push(format!("driver_opts {{{}}}", o.join(", ")));
        }
        parts.join(", ")
    }

    /// How an endpoint that asked for these (`ipv4`, `ipv6`, link-local
    /// addresses, driver options: its `IPAMConfig` and `DriverOpts`)
    /// differs from `self`: one line per key `self` sets and the endpoint
    /// does not match; keys `self` leaves unset are never compared.
    pub fn differences(
        &self,
        ipv4: Option<IpAddr>,
        ipv6: Option<IpAddr>,
        link_local: &[IpAddr],
        driver_opts: &BTreeMap<String, String>,
    ) -> Vec<String> {
        let show = |a: Option<IpAddr>| a.map_or_else(|| "none".to_string(), |a| a.to_string());
        let list = |l: &[IpAddr]| {
            let l: Vec<String> = l.iter().map(ToString::to_string).collect();
            format!("[{}]", l.join(", "))
        };
        let opts = |o: &BTreeMap<String, String>| {
            let o: Vec<String> = o.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!("{{{}}}", o.join(", "))
        };
        let mut out = Vec::new();
        if let Some(want) = self.ipv4_address.map(IpAddr::V4) {
            if ipv4 != Some(want) {
                out.push(format!("ipv4_address: live {}, desired {want}", show(ipv4)));
            }
        }
        if let Some(want) = self.ipv6_address.map(IpAddr::V6) {
            if ipv6 != Some(want) {
                out.push(format!("ipv6_address: live {}, desired {want}", show(ipv6)));
            }
        }
        if let Some(want) = &self.link_local_ips {
            let mut a = want.clone();
            let mut b = link_local.to_vec();
            a.sort();
            a.dedup();
            b.sort();
            b.dedup();
            if a != b {
                out.push(format!(
                    "link_local_ips: live {}, desired {}",
                    list(link_local),
                    list(want)
                ));
            }
        }
        if let Some(want) = &self.driver_opts {
            if want != driver_opts {
                out.push(format!(
                    "driver_opts: live {}, desired {}",
                    opts(driver_opts),
                    opts(want)
                ));
            }
        }
        out
    }

    /// Fills what `self` leaves to the daemon from `other` (two resources
    /// selecting one container on one network).
    pub fn merge(&mut self, other: &EndpointSpec) {
        self.ipv4_address = self.ipv4_address.or(other.ipv4_address);
        self.ipv6_address = self.ipv6_address.or(other.ipv6_address);
        if self.link_local_ips.is_none() {
            self.link_local_ips.clone_from(&other.link_local_ips);
        }
        if self.driver_opts.is_none() {
            self.driver_opts.clone_from(&other.driver_opts);
        }
    }
}

impl NetworkSpec {
    /// Every IPAM pool the spec declares: the IPv4 one (`subnet`), the IPv6
    /// one (`subnet_v6`), then `extra_pools`, in that order.
    pub fn pools(&self) -> Vec<Pool> {
        let first_v4 = self.subnet.map(|subnet| Pool {
            subnet,
            gateway: self.gateway,
            ip_range: self.ip_range,
        });
        let first_v6 = self.subnet_v6.map(|subnet| Pool {
            subnet,
            gateway: self.gateway_v6,
            ip_range: None,
        });
        first_v4
            .into_iter()
            .chain(first_v6)
            .chain(self.extra_pools.iter().cloned())
            .collect()
    }

    /// Every driver option the network is created with: `options` and
    /// `parent`.
    pub fn driver_options(&self) -> BTreeMap<String, String> {
        let mut options = self.options.clone();
        if let Some(parent) = &self.parent {
            options.insert(PARENT_OPTION.to_string(), parent.clone());
        }
        options
    }
}

/// The driver option `parent` sets (macvlan, ipvlan).
pub const PARENT_OPTION: &str = "parent";

/// One IPAM pool: a subnet, with its gateway and the range container
/// addresses come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Pool {
    #[schemars(with = "String")]
    pub subnet: IpNet,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub gateway: Option<IpAddr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub ip_range: Option<IpNet>,
}

/// A destination's network on one server. A destination declared over a
/// set of servers (`servers = [...]` or `"*"`) is one `Destination` per
/// server of the set, each with the same name, network and spec: names are
/// unique per server, not across the config.
#[derive(Debug, Clone)]
pub struct Destination {
    pub name: String,
    pub server: String,
    pub network: String,
    /// With a `subnet_pool`, `spec.subnet` is `None` here: the planner
    /// allocates each server's subnet (`plan::pools`).
    pub spec: NetworkSpec,
    /// `servers = ...`: the set as declared. `None` for `server = "..."`.
    pub group: Option<Group>,
    /// `subnet_pool` and `subnet_prefix`.
    pub pool: Option<SubnetPool>,
    /// `manage = true`: berth takes over the network when it did not
    /// create it (never another berth owner's).
    pub manage: bool,
    /// `prevent_removal = true`: where the key is written
    /// (`file:line:col`), for the plan error that names it. The spec's
    /// `prevent_removal` says the same.
    pub prevent_removal: Option<String>,
    pub at: Location,
}

/// A destination's set of servers as the config writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// `*`, or the entries of the list (server names, `tag:NAME`).
    pub declared: Members,
    /// Every server of the set, in the config's order.
    pub servers: Vec<String>,
    /// Where `servers` is written.
    pub at: Location,
}

/// `servers = "*"` or `servers = [...]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Members {
    All,
    Listed(Vec<String>),
}

impl Members {
    /// As the config writes it: `*`, or `tag:web, db-1`.
    pub fn text(&self) -> String {
        match self {
            Members::All => "*".to_string(),
            Members::Listed(list) => list.join(", "),
        }
    }
}

/// `subnet_pool` with `subnet_prefix`: each server's subnet is a
/// `prefix`-bit block of `pool`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubnetPool {
    pub pool: IpNet,
    pub prefix: u8,
}

impl SubnetPool {
    /// How many subnets the pool holds (saturating).
    pub fn slots(&self) -> u128 {
        let bits = u32::from(self.prefix.saturating_sub(self.pool.prefix_len()));
        1u128.checked_shl(bits.min(127)).unwrap_or(u128::MAX)
    }

    /// The `i`-th subnet of the pool, if it holds that many.
    pub fn slot(&self, i: u128) -> Option<IpNet> {
        if i >= self.slots() {
            return None;
        }
        match self.pool {
            IpNet::V4(p) => {
                let host_bits = 32 - u32::from(self.prefix);
                let base = u32::from(p.network());
                let addr = base.checked_add(u32::try_from(i).ok()?.checked_shl(host_bits)?)?;
                ipnet::Ipv4Net::new(addr.into(), self.prefix)
                    .ok()
                    .map(IpNet::V4)
            }
            IpNet::V6(p) => {
                let host_bits = 128 - u32::from(self.prefix);
                let base = u128::from(p.network());
                let offset = if host_bits >= 128 { 0 } else { i << host_bits };
                let addr = base.checked_add(offset)?;
                ipnet::Ipv6Net::new(addr.into(), self.prefix)
                    .ok()
                    .map(IpNet::V6)
            }
        }
    }
}

/// What a declared resource is. A compose stack is written `[[service]]`
/// (Coolify's word) and shown as `service`; inside berth it is a stack, so
/// that "service" stays free for Swarm services.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ResourceKind {
    Application,
    Database,
    #[serde(rename = "service")]
    Stack,
}

impl ResourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::Application => "application",
            ResourceKind::Database => "database",
            ResourceKind::Stack => "service",
        }
    }
}

impl fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which live containers (or swarm service) a resource is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// One container by name.
    Name(String),
    /// Every container carrying all these labels.
    Labels(BTreeMap<String, String>),
    /// A Docker Swarm service by name (its tasks run on any node).
    SwarmService(String),
}

/// Which destinations a resource's containers belong to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// `destination = "prod"`
    One(String),
    /// `destinations = ["a", "b"]`: a container shared by these.
    Listed(Vec<String>),
    /// `destinations = "*"`: shared by every destination of each server it
    /// runs on, new ones included.
    Everywhere,
}

/// An application or a database.
#[derive(Debug, Clone)]
pub struct Resource {
    pub kind: ResourceKind,
    pub name: String,
    pub placement: Placement,
    pub selector: Selector,
    pub aliases: Vec<String>,
    /// `ipv4_address`, `ipv6_address`, `link_local_ips`, `driver_opts`.
    pub endpoint: EndpointSpec,
    pub clone_of: Option<String>,
    pub at: Location,
}

impl Resource {
    /// The destinations on `server` its containers must be attached to.
    pub fn destinations_on<'a>(
        &'a self,
        config: &'a Config,
        server: &'a str,
    ) -> impl Iterator<Item = &'a Destination> + 'a {
        config
            .destinations_on(server)
            .filter(move |d| self.belongs_to(&d.name))
    }

    /// Does it belong to the destination named `destination`?
    pub fn belongs_to(&self, destination: &str) -> bool {
        match &self.placement {
            Placement::One(d) => d == destination,
            Placement::Listed(list) => list.iter().any(|d| d == destination),
            Placement::Everywhere => true,
        }
    }

    /// A Docker Swarm service, assigned through its spec.
    pub fn is_swarm_service(&self) -> bool {
        matches!(self.selector, Selector::SwarmService(_))
    }

    /// Shared by every destination of its server (`destinations = "*"`).
    pub fn everywhere(&self) -> bool {
        self.placement == Placement::Everywhere
    }

    /// Its destinations as the config writes them: `prod`, `a, b`, `*`.
    pub fn placement_text(&self) -> String {
        match &self.placement {
            Placement::One(d) => d.clone(),
            Placement::Listed(list) => list.join(", "),
            Placement::Everywhere => "*".to_string(),
        }
    }
}

/// A compose stack (a `[[service]]` table).
#[derive(Debug, Clone)]
pub struct Stack {
    pub name: String,
    pub destination: String,
    pub project: String,
    pub connect_to_predefined_networks: bool,
    /// The compose service name alone as an alias too.
    pub short_aliases: bool,
    pub compose_file: Option<FileRef>,
    pub clone_of: Option<String>,
    /// `attachments`: by compose service name, what its endpoint on the
    /// destination network asks beyond aliases.
    pub attachments: BTreeMap<String, EndpointSpec>,
    pub at: Location,
}

/// A file of the repository that the config names, and where it names it.
#[derive(Debug, Clone)]
pub struct FileRef {
    /// Relative to the repository root.
    pub path: String,
    pub at: Location,
}

/// A compose file a `[[service]]` table names.
#[derive(Debug, Clone)]
pub struct StackFile {
    /// The service (stack) that names it.
    pub stack: String,
    pub file: FileRef,
    /// The compose services its `attachments` name, and where: each must be
    /// a service of the file.
    pub attachments: Vec<(String, Location)>,
}
